//! What BERT and MPNet share: a post-LayerNorm Transformer encoder layer (self-attention with
//! an additive bias, then a GELU feed-forward), with HF's weight layout.

use candle_core::{Device, Result, Tensor};

/// The attention bias of padding, `[b, 1, 1, t]`: 0 where `mask` (`[b][t]`, 1 = token) has a
/// token, the lowest float where it has padding.
pub(super) fn padding_bias(mask: &[Vec<u32>], device: &Device) -> Result<Tensor> {
    let (b, t) = (mask.len(), mask.first().map_or(0, Vec::len));
    let bias: Vec<f32> = mask
        .iter()
        .flatten()
        .map(|&m| if m == 1 { 0.0 } else { f32::MIN })
        .collect();
    Tensor::from_vec(bias, (b, 1, 1, t), device)
}
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

/// Where a model keeps a layer's attention weights (under `attention.`).
pub(super) struct AttentionNames {
    pub q: &'static str,
    pub k: &'static str,
    pub v: &'static str,
    pub o: &'static str,
    pub norm: &'static str,
}

pub(super) struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
    heads: usize,
}

impl Layer {
    /// The layer under `vb` (`encoder.layer.N`): attention named by `names`, then HF's
    /// `intermediate.dense`, `output.dense` and `output.LayerNorm`.
    pub(super) fn load(
        vb: VarBuilder,
        names: &AttentionNames,
        hidden: usize,
        intermediate: usize,
        heads: usize,
        eps: f64,
    ) -> Result<Self> {
        let h = hidden;
        let attn = vb.pp("attention");
        Ok(Self {
            q: Linear::load(attn.pp(names.q), h, h)?,
            k: Linear::load(attn.pp(names.k), h, h)?,
            v: Linear::load(attn.pp(names.v), h, h)?,
            o: Linear::load(attn.pp(names.o), h, h)?,
            attn_norm: LayerNorm::load(attn.pp(names.norm), h, eps)?,
            intermediate: Linear::load(vb.pp("intermediate.dense"), h, intermediate)?,
            output: Linear::load(vb.pp("output.dense"), intermediate, h)?,
            out_norm: LayerNorm::load(vb.pp("output.LayerNorm"), h, eps)?,
            heads,
        })
    }

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
