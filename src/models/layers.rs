//! Building blocks shared by the models, each equal to its PyTorch counterpart in parameter
//! names, layout, default initialisation and arithmetic.
//!
//! candle-nn's fused `layer_norm` and `softmax_last_dim` have no backward pass, so the
//! differentiable compositions are used here.

use super::params::{Init, Params};
use crate::base::rng::Rng;
use crate::config::Activation;
use candle_core::{Result, Tensor, D};

/// Training (dropout on, masks drawn from the run's dropout stream) or evaluation.
pub enum Mode<'a> {
    Train(&'a mut Rng),
    Eval,
}

impl Mode<'_> {
    /// Inverted dropout with a mask from the seeded stream; identity in evaluation.
    pub fn dropout(&mut self, x: &Tensor, p: f32) -> Result<Tensor> {
        match self {
            Mode::Train(rng) if p > 0.0 => {
                let mask = rng.dropout_mask(x.elem_count(), p);
                x * Tensor::from_vec(mask, x.shape(), x.device())?
            }
            _ => Ok(x.clone()),
        }
    }
}

/// The parameter-name prefix of the head's final Linear.
pub const HEAD_OUTPUT: &str = "head.3";

/// `nn.Linear(in, out)`: `{prefix}.weight` `[out, in]`, `{prefix}.bias` `[out]`.
pub struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    pub fn new(
        params: &mut Params,
        prefix: &str,
        inp: usize,
        out: usize,
        rng: &mut Rng,
    ) -> Result<Self> {
        let init = Init::linear(inp);
        let weight = params.add(&format!("{prefix}.weight"), &[out, inp], init, rng)?;
        let bias = params.add(&format!("{prefix}.bias"), &[out], init, rng)?;
        Ok(Self { weight, bias })
    }

    /// An affine map from existing tensors (e.g. rows of a fused projection).
    pub fn from_tensors(weight: Tensor, bias: Tensor) -> Self {
        Self { weight, bias }
    }

    /// Applies to the last dimension of an input of any rank.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let inp = dims[dims.len() - 1];
        let out = self.weight.dim(0)?;
        let rows = x.elem_count() / inp;
        let y = super::affine::linear(&x.reshape((rows, inp))?, &self.weight, &self.bias)?;
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().expect("rank >= 1") = out;
        y.reshape(out_dims)
    }
}

/// `nn.LayerNorm(d)` (eps 1e-5): `{prefix}.weight` = 1, `{prefix}.bias` = 0.
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
}

impl LayerNorm {
    pub fn new(params: &mut Params, prefix: &str, d: usize, rng: &mut Rng) -> Result<Self> {
        let weight = params.add(&format!("{prefix}.weight"), &[d], Init::Ones, rng)?;
        let bias = params.add(&format!("{prefix}.bias"), &[d], Init::Zeros, rng)?;
        Ok(Self { weight, bias })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, 1e-5)
    }
}

pub fn activate(x: &Tensor, act: Activation) -> Result<Tensor> {
    match act {
        Activation::Relu => x.relu(),
        // PyTorch's nn.GELU() default is the exact (erf) form.
        Activation::Gelu => x.gelu_erf(),
        Activation::Silu => x.silu(),
    }
}

/// `F.normalize(x, dim=-1)`: x / max(‖x‖, 1e-12).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.maximum(1e-12)?;
    x.broadcast_div(&norm)
}

/// The study's output head: `Linear(inp, hidden) -> act -> Dropout -> Linear(hidden, out)`,
/// as an `nn.Sequential` named `head` (`head.0`, `head.3`). Its output is not normalised:
/// [`crate::models::Model::forward`] adds the skip connection, then normalises.
pub struct Head {
    fc1: Linear,
    fc2: Linear,
    act: Activation,
    dropout: f32,
}

impl Head {
    pub fn new(
        params: &mut Params,
        inp: usize,
        hidden: usize,
        out: usize,
        act: Activation,
        dropout: f32,
        rng: &mut Rng,
    ) -> Result<Self> {
        Ok(Self {
            fc1: Linear::new(params, "head.0", inp, hidden, rng)?,
            fc2: Linear::new(params, HEAD_OUTPUT, hidden, out, rng)?,
            act,
            dropout,
        })
    }

    pub fn forward(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let h = activate(&self.fc1.forward(x)?, self.act)?;
        let h = mode.dropout(&h, self.dropout)?;
        self.fc2.forward(&h)
    }
}

/// `nn.MultiheadAttention(d, heads, dropout, batch_first=True)`:
/// `{prefix}.in_proj_weight` `[3d, d]` (Xavier-uniform; rows q, k, v), `{prefix}.in_proj_bias`
/// `[3d]` (zeros), `{prefix}.out_proj.weight` `[d, d]` (Linear default), `{prefix}.out_proj.bias`
/// (zeros).
pub struct MultiheadAttention {
    q: Linear,
    kv: Linear,
    out: Linear,
    heads: usize,
    dropout: f32,
}

impl MultiheadAttention {
    pub fn new(
        params: &mut Params,
        prefix: &str,
        d: usize,
        heads: usize,
        dropout: f32,
        rng: &mut Rng,
    ) -> Result<Self> {
        let w = params.add(
            &format!("{prefix}.in_proj_weight"),
            &[3 * d, d],
            Init::xavier_uniform(d, 3 * d),
            rng,
        )?;
        let b = params.add(
            &format!("{prefix}.in_proj_bias"),
            &[3 * d],
            Init::Zeros,
            rng,
        )?;
        let ow = params.add(
            &format!("{prefix}.out_proj.weight"),
            &[d, d],
            Init::linear(d),
            rng,
        )?;
        let ob = params.add(&format!("{prefix}.out_proj.bias"), &[d], Init::Zeros, rng)?;
        Ok(Self {
            q: Linear::from_tensors(w.narrow(0, 0, d)?, b.narrow(0, 0, d)?),
            kv: Linear::from_tensors(w.narrow(0, d, 2 * d)?, b.narrow(0, d, 2 * d)?),
            out: Linear::from_tensors(ow, ob),
            heads,
            dropout,
        })
    }

    /// `query` `[b, tq, d]` attends over `memory` `[b, tk, d]`; `mask` `[tq, tk]` is added to the
    /// scores (0 or -inf).
    pub fn forward(
        &self,
        query: &Tensor,
        memory: &Tensor,
        mask: Option<&Tensor>,
        mode: &mut Mode,
    ) -> Result<Tensor> {
        let (b, tq, d) = query.dims3()?;
        let tk = memory.dim(1)?;
        let hd = d / self.heads;
        let split_heads = |x: Tensor, t: usize| -> Result<Tensor> {
            x.reshape((b, t, self.heads, hd))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split_heads((self.q.forward(query)? * (1.0 / (hd as f64).sqrt()))?, tq)?;
        let kv = self.kv.forward(memory)?;
        let k = split_heads(kv.narrow(2, 0, d)?, tk)?;
        let v = split_heads(kv.narrow(2, d, d)?, tk)?;
        let mut scores = q.matmul(&k.t()?)?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let attn = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let attn = mode.dropout(&attn, self.dropout)?;
        let ctx = attn.matmul(&v)?.transpose(1, 2)?.reshape((b, tq, d))?;
        self.out.forward(&ctx)
    }
}

/// Sinusoidal positions `[t, d]` (Vaswani et al.): sin on even, cos on odd features.
pub fn sinusoidal_positions(t: usize, d: usize, device: &candle_core::Device) -> Result<Tensor> {
    let mut pe = vec![0f32; t * d];
    for pos in 0..t {
        for i in (0..d).step_by(2) {
            let freq = (-(i as f64) * (10000f64.ln()) / d as f64).exp();
            let angle = pos as f64 * freq;
            pe[pos * d + i] = angle.sin() as f32;
            if i + 1 < d {
                pe[pos * d + i + 1] = angle.cos() as f32;
            }
        }
    }
    Tensor::from_vec(pe, (t, d), device)
}

/// `[t, t]` additive mask hiding later positions (`nn.Transformer.generate_square_subsequent_mask`).
pub fn causal_mask(t: usize, device: &candle_core::Device) -> Result<Tensor> {
    let m: Vec<f32> = (0..t * t)
        .map(|k| {
            if k % t > k / t {
                f32::NEG_INFINITY
            } else {
                0.0
            }
        })
        .collect();
    Tensor::from_vec(m, (t, t), device)
}
