//! The study's MLP: the context flattened, one or more hidden layers, a linear output.
//!
//! PyTorch equivalent (`net` is an `nn.Sequential`; with `layers` = L hidden layers):
//! ```text
//! net.0      Linear(context*dim, hidden)        net.0.weight [hidden, context*dim], net.0.bias
//! net.1/2    activation, Dropout
//! net.3k     Linear(hidden, hidden), k = 1..L-1  (residual: x + dropout(act(net.3k(x))))
//! net.3L     Linear(hidden, dim)                 (normalised by `Model::forward`)
//! ```
//! With the study's values (context 5, dim 768, hidden 1024, 1 layer): 4,720,384 parameters.

use super::layers::{activate, Linear, Mode};
use super::params::Params;
use crate::base::rng::Rng;
use crate::config::{Activation, RunConfig};
use candle_core::{Result, Tensor};

pub struct Mlp {
    hidden: Vec<Linear>,
    output: Linear,
    act: Activation,
    dropout: f32,
    residual: bool,
}

impl Mlp {
    pub fn new(params: &mut Params, cfg: &RunConfig, dim: usize, rng: &mut Rng) -> Result<Self> {
        let mut hidden = Vec::with_capacity(cfg.layers);
        for k in 0..cfg.layers {
            let inp = if k == 0 {
                cfg.context * dim
            } else {
                cfg.hidden
            };
            hidden.push(Linear::new(
                params,
                &format!("net.{}", 3 * k),
                inp,
                cfg.hidden,
                rng,
            )?);
        }
        let output = Linear::new(params, &Self::output_name(cfg.layers), cfg.hidden, dim, rng)?;
        Ok(Self {
            hidden,
            output,
            act: cfg.activation,
            dropout: cfg.dropout as f32,
            residual: cfg.residual,
        })
    }

    /// The parameter-name prefix of the final Linear.
    pub fn output_name(layers: usize) -> String {
        format!("net.{}", 3 * layers)
    }

    /// `x` `[batch, context, dim]` -> `[batch, dim]`, not normalised.
    pub fn forward(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let mut h = x.flatten_from(1)?;
        for (k, layer) in self.hidden.iter().enumerate() {
            let y = mode.dropout(&activate(&layer.forward(&h)?, self.act)?, self.dropout)?;
            h = if self.residual && k > 0 { (h + y)? } else { y };
        }
        self.output.forward(&h)
    }
}
