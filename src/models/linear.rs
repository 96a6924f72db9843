//! A linear map (not in the study): the context flattened, one Linear to the next vector.
//!
//! PyTorch equivalent:
//! ```text
//! linear     Linear(context*dim, dim)           linear.weight [dim, context*dim], linear.bias
//! ```
//! normalised by `Model::forward` (with `skip`, after the baseline is added). With context 5
//! and dim 768: 5·768·768 + 768 = 2,949,888 parameters. If this does nearly as well as the
//! MLP, the task is nearly linear in the context, which is why a one-layer MLP suffices.

use super::layers::Linear;
use super::params::Params;
use crate::base::rng::Rng;
use crate::config::RunConfig;
use candle_core::{Result, Tensor};

/// The parameter-name prefix of the one Linear.
pub const NAME: &str = "linear";

pub struct LinearMap {
    linear: Linear,
}

impl LinearMap {
    pub fn new(params: &mut Params, cfg: &RunConfig, dim: usize, rng: &mut Rng) -> Result<Self> {
        Ok(Self {
            linear: Linear::new(params, NAME, cfg.context * dim, dim, rng)?,
        })
    }

    /// `x` `[batch, context, dim]` -> `[batch, dim]`, not normalised.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.linear.forward(&x.flatten_from(1)?)
    }
}
