//! The study's Transformers: the context projected to d_model, sinusoidal positions added
//! (unscaled, as the study did), post-LN layers, the last position through the head.
//!
//! `Transformer` uses `nn.TransformerEncoder` layers; `Transformer-InfoNCE` uses
//! `nn.TransformerDecoder` layers (causal self-attention over the embedded context, then
//! cross-attention with that same embedded context as memory) plus a final LayerNorm.
//! PyTorch names (batch_first, norm_first=False):
//! ```text
//! input_proj                      Linear(dim, d)
//! encoder.layers.{i}.self_attn    in_proj_weight [3d, d], in_proj_bias, out_proj.{weight,bias}
//! encoder.layers.{i}.linear1      Linear(d, ff)
//! encoder.layers.{i}.linear2      Linear(ff, d)
//! encoder.layers.{i}.norm1/norm2  LayerNorm(d)
//! decoder.layers.{i}.self_attn / multihead_attn / linear1 / linear2 / norm1..norm3
//! decoder.norm                    LayerNorm(d)   (the decoder's final norm)
//! head.0 Linear(d, d), head.3 Linear(d, dim)
//! ```
//! The positional table is a constant, not a parameter (a non-persistent buffer in PyTorch).
//! With the study's values (dim 768, d 512, 8 heads, ff 2048, 4 layers): 13,659,904 parameters
//! (encoder) and 17,867,520 (decoder).

use super::layers::{
    activate, causal_mask, sinusoidal_positions, Head, LayerNorm, Linear, Mode, MultiheadAttention,
};
use super::params::Params;
use crate::base::rng::Rng;
use crate::config::{Activation, RunConfig};
use candle_core::{Device, Result, Tensor};

/// The feed-forward block shared by encoder and decoder layers.
struct FeedForward {
    linear1: Linear,
    linear2: Linear,
    act: Activation,
}

impl FeedForward {
    fn new(
        params: &mut Params,
        prefix: &str,
        d: usize,
        ff: usize,
        act: Activation,
        rng: &mut Rng,
    ) -> Result<Self> {
        Ok(Self {
            linear1: Linear::new(params, &format!("{prefix}.linear1"), d, ff, rng)?,
            linear2: Linear::new(params, &format!("{prefix}.linear2"), ff, d, rng)?,
            act,
        })
    }

    fn forward(&self, x: &Tensor, dropout: f32, mode: &mut Mode) -> Result<Tensor> {
        let h = mode.dropout(&activate(&self.linear1.forward(x)?, self.act)?, dropout)?;
        self.linear2.forward(&h)
    }
}

/// One post-LN layer; `cross` is present in decoder layers.
struct Layer {
    self_attn: MultiheadAttention,
    cross: Option<(MultiheadAttention, LayerNorm)>,
    ff: FeedForward,
    norm1: LayerNorm,
    norm_ff: LayerNorm,
    dropout: f32,
}

impl Layer {
    fn new(
        params: &mut Params,
        prefix: &str,
        cfg: &RunConfig,
        decoder: bool,
        rng: &mut Rng,
    ) -> Result<Self> {
        let (d, p) = (cfg.hidden, cfg.dropout as f32);
        let self_attn =
            MultiheadAttention::new(params, &format!("{prefix}.self_attn"), d, cfg.heads, p, rng)?;
        // Created in PyTorch's state_dict order.
        let cross_attn = if decoder {
            Some(MultiheadAttention::new(
                params,
                &format!("{prefix}.multihead_attn"),
                d,
                cfg.heads,
                p,
                rng,
            )?)
        } else {
            None
        };
        let ff = FeedForward::new(params, prefix, d, cfg.ff, cfg.activation, rng)?;
        let norm1 = LayerNorm::new(params, &format!("{prefix}.norm1"), d, rng)?;
        let cross = match cross_attn {
            Some(attn) => Some((
                attn,
                LayerNorm::new(params, &format!("{prefix}.norm2"), d, rng)?,
            )),
            None => None,
        };
        let ff_norm_name = if decoder { "norm3" } else { "norm2" };
        let norm_ff = LayerNorm::new(params, &format!("{prefix}.{ff_norm_name}"), d, rng)?;
        Ok(Self {
            self_attn,
            cross,
            ff,
            norm1,
            norm_ff,
            dropout: p,
        })
    }

    fn forward(
        &self,
        x: &Tensor,
        memory: &Tensor,
        mask: Option<&Tensor>,
        mode: &mut Mode,
    ) -> Result<Tensor> {
        let a = self.self_attn.forward(x, x, mask, mode)?;
        let mut x = self
            .norm1
            .forward(&(x + mode.dropout(&a, self.dropout)?)?)?;
        if let Some((attn, norm)) = &self.cross {
            let a = attn.forward(&x, memory, None, mode)?;
            x = norm.forward(&(&x + mode.dropout(&a, self.dropout)?)?)?;
        }
        let f = self.ff.forward(&x, self.dropout, mode)?;
        self.norm_ff
            .forward(&(&x + mode.dropout(&f, self.dropout)?)?)
    }
}

pub struct Transformer {
    input_proj: Linear,
    layers: Vec<Layer>,
    final_norm: Option<LayerNorm>,
    head: Head,
    d_model: usize,
    scale_input: bool,
    decoder: bool,
}

impl Transformer {
    pub fn new(
        params: &mut Params,
        cfg: &RunConfig,
        dim: usize,
        decoder: bool,
        rng: &mut Rng,
    ) -> Result<Self> {
        let d = cfg.hidden;
        let input_proj = Linear::new(params, "input_proj", dim, d, rng)?;
        let stack = if decoder { "decoder" } else { "encoder" };
        let layers = (0..cfg.layers)
            .map(|i| Layer::new(params, &format!("{stack}.layers.{i}"), cfg, decoder, rng))
            .collect::<Result<Vec<_>>>()?;
        let final_norm = if decoder {
            Some(LayerNorm::new(params, "decoder.norm", d, rng)?)
        } else {
            None
        };
        let head = Head::new(params, d, d, dim, cfg.activation, cfg.dropout as f32, rng)?;
        Ok(Self {
            input_proj,
            layers,
            final_norm,
            head,
            d_model: d,
            scale_input: cfg.scale_input,
            decoder,
        })
    }

    /// The decoder's self-attention sees no later position (the encoder's sees all); its
    /// cross-attention always sees the whole embedded context.
    fn self_attention_mask(&self, t: usize, device: &Device) -> Result<Option<Tensor>> {
        if self.decoder {
            causal_mask(t, device).map(Some)
        } else {
            Ok(None)
        }
    }

    /// `x` `[batch, context, dim]` -> `[batch, dim]`, not normalised.
    pub fn forward(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let t = x.dim(1)?;
        let device: &Device = x.device();
        let mut h = self.input_proj.forward(x)?;
        if self.scale_input {
            h = (h * (self.d_model as f64).sqrt())?;
        }
        let h = h.broadcast_add(&sinusoidal_positions(t, self.d_model, device)?)?;
        let mask = self.self_attention_mask(t, device)?;
        let mut y = h.clone();
        for layer in &self.layers {
            y = layer.forward(&y, &h, mask.as_ref(), mode)?;
        }
        if let Some(norm) = &self.final_norm {
            y = norm.forward(&y)?;
        }
        let last = y.narrow(1, t - 1, 1)?.squeeze(1)?;
        self.head.forward(&last, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelKind;

    fn small(kind: ModelKind) -> Transformer {
        let mut cfg = RunConfig::for_model(kind);
        (cfg.hidden, cfg.heads, cfg.ff, cfg.layers) = (16, 2, 32, 1);
        let mut params = Params::new(&Device::Cpu);
        let decoder = kind == ModelKind::TransformerInfonce;
        Transformer::new(&mut params, &cfg, 8, decoder, &mut Rng::new(7)).unwrap()
    }

    /// Largest |a - b| at each of the `t` positions of `[1, t, d]` tensors.
    fn per_position(a: &Tensor, b: &Tensor) -> Vec<f32> {
        let d = (a - b).unwrap().abs().unwrap().max(2).unwrap();
        d.squeeze(0).unwrap().to_vec1().unwrap()
    }

    /// One layer with the model's own mask: a change to the last position's input leaves
    /// the earlier positions' outputs as they were (causal self-attention), while a change to
    /// the last position of the memory reaches position 0 (cross-attention sees it all). With
    /// the mask removed (`self_attention_mask` returning `None`) the first check fails; with
    /// a mask on the cross-attention too, the second.
    #[test]
    fn decoder_is_causal_in_self_attention_only() {
        let m = small(ModelKind::TransformerInfonce);
        let dev = Device::Cpu;
        let mask = m.self_attention_mask(5, &dev).unwrap();
        let layer = &m.layers[0];
        let h = Tensor::randn(0f32, 1.0, (1, 5, 16), &dev).unwrap();
        let last = Tensor::ones((1, 1, 16), candle_core::DType::F32, &dev).unwrap();
        let h2 = h.slice_assign(&[0..1, 4..5, 0..16], &last).unwrap();
        let run = |x: &Tensor, memory: &Tensor| {
            layer
                .forward(x, memory, mask.as_ref(), &mut Mode::Eval)
                .unwrap()
        };
        let y = run(&h, &h);
        let changed_input = per_position(&y, &run(&h2, &h));
        assert!(
            changed_input[..4].iter().all(|&d| d == 0.0),
            "{changed_input:?}"
        );
        assert!(changed_input[4] > 1e-4, "{changed_input:?}");
        let changed_memory = per_position(&y, &run(&h, &h2));
        assert!(
            changed_memory.iter().all(|&d| d > 1e-4),
            "{changed_memory:?}"
        );
        // The encoder has no mask: the same change reaches every position.
        let enc = small(ModelKind::Transformer);
        assert!(enc.self_attention_mask(5, &dev).unwrap().is_none());
    }
}
