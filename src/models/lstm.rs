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
use crate::base::rng::Rng;
use crate::config::RunConfig;
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

    /// `x` `[batch, context, dim]` -> `[batch, dim]`, not normalised.
    pub fn forward(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        self.head.forward(&self.last_hidden(x)?, mode)
    }

    /// The last layer's hidden state after the last time step, `[batch, hidden]`.
    fn last_hidden(&self, x: &Tensor) -> Result<Tensor> {
        let (_, t, _) = x.dims3()?;
        let h_size = self.hidden;
        let mut seq = x.clone();
        let mut last = None;
        for (k, layer) in self.layers.iter().enumerate() {
            let last_layer = k + 1 == self.layers.len();
            // The input part of every time step in one matmul; the biases are summed here, not
            // at construction, because the optimiser updates them in place.
            let input = Linear::from_tensors(layer.w_ih.clone(), (&layer.b_ih + &layer.b_hh)?);
            let gates_x = input.forward(&seq)?; // [b, t, 4h]

            // The state starts at zero, so the first step has no recurrent product and no
            // forget term: skipping them gives the same bits and saves a fifth of the
            // recurrent matmuls (PyTorch computes them).
            let mut state: Option<(Tensor, Tensor)> = None; // (h, c)
            let mut outputs = Vec::with_capacity(t);
            for step in 0..t {
                let gates_x = gates_x.narrow(1, step, 1)?.squeeze(1)?;
                let gates = match &state {
                    Some((h, _)) => (gates_x + super::affine::matmul_t(h, &layer.w_hh)?)?,
                    None => gates_x,
                };
                let i = candle_nn::ops::sigmoid(&gates.narrow(1, 0, h_size)?)?;
                let g = gates.narrow(1, 2 * h_size, h_size)?.tanh()?;
                let o = candle_nn::ops::sigmoid(&gates.narrow(1, 3 * h_size, h_size)?)?;
                let c = match &state {
                    Some((_, c)) => {
                        let f = candle_nn::ops::sigmoid(&gates.narrow(1, h_size, h_size)?)?;
                        ((f * c)? + (i * g)?)?
                    }
                    None => (i * g)?,
                };
                let h = (o * c.tanh()?)?;
                if !last_layer {
                    outputs.push(h.clone());
                }
                state = Some((h, c));
            }
            if !last_layer {
                seq = Tensor::stack(&outputs, 1)?;
            }
            last = state.map(|(h, _)| h);
        }
        match last {
            Some(h) => Ok(h),
            None => candle_core::bail!("an LSTM needs at least one layer and one time step"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelKind;
    use candle_core::Device;

    fn sigmoid(x: f32) -> f32 {
        1.0 / (1.0 + (-x).exp())
    }

    /// PyTorch's documented LSTM, one window at a time in plain loops, starting from
    /// h = c = 0 and computing every term (the recurrent product of step 0 included).
    fn textbook(lstm: &Lstm, window: &[Vec<f32>]) -> Vec<f32> {
        let n = lstm.hidden;
        let mut seq = window.to_vec();
        for layer in &lstm.layers {
            let w_ih = layer.w_ih.to_vec2::<f32>().unwrap();
            let w_hh = layer.w_hh.to_vec2::<f32>().unwrap();
            let (b_ih, b_hh) = (
                layer.b_ih.to_vec1::<f32>().unwrap(),
                layer.b_hh.to_vec1::<f32>().unwrap(),
            );
            let (mut h, mut c) = (vec![0f32; n], vec![0f32; n]);
            let mut out = Vec::new();
            for x in &seq {
                let gate = |r: usize| {
                    let dot =
                        |w: &[f32], v: &[f32]| w.iter().zip(v).map(|(a, b)| a * b).sum::<f32>();
                    dot(&w_ih[r], x) + b_ih[r] + dot(&w_hh[r], &h) + b_hh[r]
                };
                let mut next_h = vec![0f32; n];
                for j in 0..n {
                    // Gates stacked i, f, g, o.
                    let (i, f) = (sigmoid(gate(j)), sigmoid(gate(n + j)));
                    let (g, o) = (gate(2 * n + j).tanh(), sigmoid(gate(3 * n + j)));
                    c[j] = f * c[j] + i * g;
                    next_h[j] = o * c[j].tanh();
                }
                h = next_h;
                out.push(h.clone());
            }
            seq = out;
        }
        seq.pop().unwrap()
    }

    #[test]
    fn matches_the_textbook_equations() {
        let mut cfg = RunConfig::for_model(ModelKind::Lstm);
        cfg.hidden = 6;
        cfg.layers = 2;
        let (dim, context, batch) = (4, 3, 2);
        let mut params = Params::new(&Device::Cpu);
        let lstm = Lstm::new(&mut params, &cfg, dim, &mut Rng::new(7)).unwrap();
        let x = Tensor::randn(0f32, 1.0, (batch, context, dim), &Device::Cpu).unwrap();
        let got = lstm.last_hidden(&x).unwrap().to_vec2::<f32>().unwrap();
        for (window, got) in x.to_vec3::<f32>().unwrap().iter().zip(&got) {
            let want = textbook(&lstm, window);
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-6, "{got:?}\n{want:?}");
            }
        }
    }
}
