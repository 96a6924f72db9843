//! What BERT and MPNet share: a post-LayerNorm Transformer encoder layer (self-attention with
//! an additive bias, then a GELU feed-forward), with HF's weight layout.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

pub(super) struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    pub(super) fn load(vb: VarBuilder, inp: usize, out: usize) -> Result<Self> {
        Ok(Self {
            weight: vb.get((out, inp), "weight")?,
            bias: vb.get(out, "bias")?,
        })
    }

    /// `[b, t, in]` -> `[b, t, out]`.
    pub(super) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, inp) = x.dims3()?;
        x.reshape((b * t, inp))?
            .matmul(&self.weight.t()?)?
            .broadcast_add(&self.bias)?
            .reshape((b, t, ()))
    }
}

pub(super) struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    pub(super) fn load(vb: VarBuilder, d: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: vb.get(d, "weight")?,
            bias: vb.get(d, "bias")?,
            eps: eps as f32,
        })
    }

    pub(super) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // Inference only: the fused kernel (it has no backward pass, none is needed here).
        candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, self.eps)
    }
}

pub(super) struct Layer {
    pub(super) q: Linear,
    pub(super) k: Linear,
    pub(super) v: Linear,
    pub(super) o: Linear,
    pub(super) attn_norm: LayerNorm,
    pub(super) intermediate: Linear,
    pub(super) output: Linear,
    pub(super) out_norm: LayerNorm,
    pub(super) heads: usize,
}

impl Layer {
    /// `bias` broadcasts to `[b, heads, t, t]`: the padding mask (and MPNet's relative
    /// positions).
    pub(super) fn forward(&self, x: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (b, t, h) = x.dims3()?;
        let hd = h / self.heads;
        let heads = |y: Tensor| -> Result<Tensor> {
            y.reshape((b, t, self.heads, hd))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = heads(self.q.forward(x)?)?;
        let k = heads(self.k.forward(x)?)?;
        let v = heads(self.v.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?.broadcast_add(bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
        let x = self.attn_norm.forward(&(self.o.forward(&ctx)? + x)?)?;
        let ff = self.intermediate.forward(&x)?.gelu_erf()?;
        self.out_norm.forward(&(self.output.forward(&ff)? + x)?)
    }
}
