//! The study's LSTM: a stacked LSTM over the context, its last hidden state through the head.
//!
//! PyTorch equivalent: `lstm = nn.LSTM(dim, hidden, num_layers=layers, batch_first=True)` then
//! `head` on `output[:, -1]`. Parameter names and layouts are PyTorch's:
//! ```text
//! lstm.weight_ih_l{k} [4*hidden, in]   gates stacked in PyTorch's order i, f, g, o
//! lstm.weight_hh_l{k} [4*hidden, hidden]
//! lstm.bias_ih_l{k}   [4*hidden]       two biases a gate, as PyTorch keeps them
//! lstm.bias_hh_l{k}   [4*hidden]
//! head.0 Linear(hidden, hidden), head.3 Linear(hidden, dim)
//! ```
//! All LSTM weights start U(±1/sqrt(hidden)). With the study's values (dim 768, hidden 1024,
//! 2 layers): 17,581,824 parameters.

use super::layers::{Head, Linear, Mode};
use super::params::{Init, Params};
use crate::rng::Rng;
use crate::run::RunConfig;
use candle_core::{Result, Tensor};

struct LstmLayer {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
}

pub struct Lstm {
    layers: Vec<LstmLayer>,
    hidden: usize,
    head: Head,
}

impl Lstm {
    pub fn new(params: &mut Params, cfg: &RunConfig, dim: usize, rng: &mut Rng) -> Result<Self> {
        let h = cfg.hidden;
        let init = Init::Uniform(1.0 / (h as f32).sqrt());
        let mut layers = Vec::with_capacity(cfg.layers);
        for k in 0..cfg.layers {
            let inp = if k == 0 { dim } else { h };
            let w_ih = params.add(&format!("lstm.weight_ih_l{k}"), &[4 * h, inp], init, rng)?;
            let w_hh = params.add(&format!("lstm.weight_hh_l{k}"), &[4 * h, h], init, rng)?;
            let b_ih = params.add(&format!("lstm.bias_ih_l{k}"), &[4 * h], init, rng)?;
            let b_hh = params.add(&format!("lstm.bias_hh_l{k}"), &[4 * h], init, rng)?;
            layers.push(LstmLayer {
                w_ih,
                w_hh,
                b_ih,
                b_hh,
            });
        }
        let head = Head::new(params, h, h, dim, cfg.activation, cfg.dropout as f32, rng)?;
        Ok(Self {
            layers,
            hidden: h,
            head,
        })
    }

    /// `x` `[batch, context, dim]` -> unit vectors `[batch, dim]`.
    pub fn forward(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let h_size = self.hidden;
        let mut seq = x.clone();
        let mut h = Tensor::zeros((b, h_size), x.dtype(), x.device())?;
        for (k, layer) in self.layers.iter().enumerate() {
            let last_layer = k + 1 == self.layers.len();
            // The input part of every time step in one matmul; the biases are summed here, not
            // at construction, because the optimiser updates them in place.
            let input = Linear::from_tensors(layer.w_ih.clone(), (&layer.b_ih + &layer.b_hh)?);
            let gates_x = input.forward(&seq)?; // [b, t, 4h]
            h = Tensor::zeros((b, h_size), x.dtype(), x.device())?;
            let mut c = h.clone();
            let mut outputs = Vec::with_capacity(t);
            for step in 0..t {
                let gates = (gates_x.narrow(1, step, 1)?.squeeze(1)?
                    + super::affine::matmul_t(&h, &layer.w_hh)?)?;
                let i = candle_nn::ops::sigmoid(&gates.narrow(1, 0, h_size)?)?;
                let f = candle_nn::ops::sigmoid(&gates.narrow(1, h_size, h_size)?)?;
                let g = gates.narrow(1, 2 * h_size, h_size)?.tanh()?;
                let o = candle_nn::ops::sigmoid(&gates.narrow(1, 3 * h_size, h_size)?)?;
                c = ((f * &c)? + (i * g)?)?;
                h = (o * c.tanh()?)?;
                if !last_layer {
                    outputs.push(h.clone());
                }
            }
            if !last_layer {
                seq = Tensor::stack(&outputs, 1)?;
            }
        }
        self.head.forward(&h, mode)
    }
}
