//! MPNet (the encoder of all-mpnet-base-v2) on candle, for inference.
//!
//! BERT-like, with these differences (Song et al. 2020; HF `modeling_mpnet.py`):
//! - attention weights are named `attention.attn.{q,k,v,o}`;
//! - one relative-position bias table (`encoder.relative_attention_bias`, 32 buckets x 12 heads,
//!   T5-style bucketing, max distance 128) is computed once and added in every layer;
//! - position ids start at padding_idx + 1 = 2 (RoBERTa style), padding tokens get 1;
//! - no token-type embeddings; LayerNorm eps 1e-5.

use super::layers::{padding_bias, AttentionNames, Layer, LayerNorm};
use candle_core::{DType, Device, Result, Tensor, D};
use candle_nn::{Embedding, Module, VarBuilder};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct MpNetConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub layer_norm_eps: f64,
    pub relative_attention_num_buckets: usize,
    pub pad_token_id: u32,
}

/// MPNet names its attention weights `attention.attn.{q,k,v,o}`.
const ATTENTION: AttentionNames = AttentionNames {
    q: "attn.q",
    k: "attn.k",
    v: "attn.v",
    o: "attn.o",
    norm: "LayerNorm",
};

fn load_layer(vb: VarBuilder, c: &MpNetConfig) -> Result<Layer> {
    Layer::load(
        vb,
        &ATTENTION,
        c.hidden_size,
        c.intermediate_size,
        c.num_attention_heads,
        c.layer_norm_eps,
    )
}

pub struct MpNet {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    embed_norm: LayerNorm,
    relative_attention_bias: Tensor,
    layers: Vec<Layer>,
    config: MpNetConfig,
}

/// HF's `relative_position_bucket` (bidirectional, T5-style) for `relative = key - query`.
pub fn relative_position_bucket(relative: i64, num_buckets: usize, max_distance: usize) -> usize {
    let half = (num_buckets / 2) as i64;
    let n = -relative;
    let mut bucket = if n < 0 { half } else { 0 };
    let n = n.abs();
    let max_exact = half / 2;
    if n < max_exact {
        bucket += n;
    } else {
        // Computed in f32 and truncated, as PyTorch does with `.to(torch.long)`.
        let scaled = ((n as f32 / max_exact as f32).ln()
            / (max_distance as f32 / max_exact as f32).ln()
            * (half - max_exact) as f32) as i64;
        bucket += (max_exact + scaled).min(half - 1);
    }
    bucket as usize
}

impl MpNet {
    pub fn load(vb: VarBuilder, config: &MpNetConfig) -> Result<Self> {
        // sentence-transformers saves the bare encoder; a full MPNetModel prefixes "mpnet.".
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else {
            vb.pp("mpnet")
        };
        let h = config.hidden_size;
        let emb = vb.pp("embeddings");
        let layers = (0..config.num_hidden_layers)
            .map(|i| load_layer(vb.pp(format!("encoder.layer.{i}")), config))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            word_embeddings: Embedding::new(
                emb.get((config.vocab_size, h), "word_embeddings.weight")?,
                h,
            ),
            position_embeddings: Embedding::new(
                emb.get(
                    (config.max_position_embeddings, h),
                    "position_embeddings.weight",
                )?,
                h,
            ),
            embed_norm: LayerNorm::load(emb.pp("LayerNorm"), h, config.layer_norm_eps)?,
            relative_attention_bias: vb.get(
                (
                    config.relative_attention_num_buckets,
                    config.num_attention_heads,
                ),
                "encoder.relative_attention_bias.weight",
            )?,
            layers,
            config: config.clone(),
        })
    }

    /// Last hidden states `[b, t, hidden]` for token ids `[b, t]` with `mask` `[b, t]`
    /// (1 = token, 0 = padding).
    pub fn forward(&self, ids: &[Vec<u32>], mask: &[Vec<u32>], device: &Device) -> Result<Tensor> {
        let b = ids.len();
        let t = ids.first().map_or(0, Vec::len);
        let pad = self.config.pad_token_id;
        let flat_ids: Vec<u32> = ids.iter().flatten().copied().collect();
        // Position ids: padding_idx + running count of real tokens; padding gets padding_idx.
        let mut positions = Vec::with_capacity(b * t);
        for row in ids {
            let mut count = 0;
            for &id in row {
                if id != pad {
                    count += 1;
                    positions.push(pad + count);
                } else {
                    positions.push(pad);
                }
            }
        }
        let ids_t = Tensor::from_vec(flat_ids, (b, t), device)?;
        let pos_t = Tensor::from_vec(positions, (b, t), device)?;
        let x =
            (self.word_embeddings.forward(&ids_t)? + self.position_embeddings.forward(&pos_t)?)?;
        let mut x = self.embed_norm.forward(&x)?;

        // Relative-position bias [heads, t, t], computed once for all layers, plus the mask.
        let heads = self.config.num_attention_heads;
        let table = self.relative_attention_bias.to_vec2::<f32>()?;
        let mut rel = vec![0f32; heads * t * t];
        for qi in 0..t {
            for ki in 0..t {
                let bucket = relative_position_bucket(
                    ki as i64 - qi as i64,
                    self.config.relative_attention_num_buckets,
                    128,
                );
                for hh in 0..heads {
                    rel[(hh * t + qi) * t + ki] = table[bucket][hh];
                }
            }
        }
        let rel = Tensor::from_vec(rel, (1, heads, t, t), device)?;
        let bias = rel
            .broadcast_add(&padding_bias(mask, device)?)?
            .contiguous()?;
        for layer in &self.layers {
            x = layer.forward(&x, &bias)?;
        }
        Ok(x)
    }
}

/// Mean of the hidden states over real tokens, L2-normalised: the sentence vectors
/// `[b, hidden]`.
pub fn mean_pool_normalized(hidden: &Tensor, mask: &[Vec<u32>]) -> Result<Tensor> {
    let (b, t, _) = hidden.dims3()?;
    let m: Vec<f32> = mask.iter().flatten().map(|&x| x as f32).collect();
    let m = Tensor::from_vec(m, (b, t, 1), hidden.device())?.to_dtype(DType::F32)?;
    let summed = hidden.broadcast_mul(&m)?.sum(1)?;
    let counts = m.sum(1)?.maximum(1e-9)?;
    let mean = summed.broadcast_div(&counts)?;
    let norm = mean.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.maximum(1e-12)?;
    mean.broadcast_div(&norm)
}

#[cfg(test)]
mod tests {
    use super::relative_position_bucket;

    #[test]
    fn buckets_match_hf() {
        // Values from HF's relative_position_bucket(num_buckets=32, max_distance=128).
        let b = |r| relative_position_bucket(r, 32, 128);
        assert_eq!(b(0), 0);
        assert_eq!(b(-1), 1); // key before query: n = 1 > 0
        assert_eq!(b(1), 17); // key after query: n = -1 < 0 -> +16
        assert_eq!(b(-7), 7);
        assert_eq!(b(-8), 8);
        assert_eq!(b(-12), 9); // 8 + floor(ln(1.5)/ln(16) * 8) = 8 + 1
        assert_eq!(b(-127), 15);
        assert_eq!(b(-1000), 15);
        assert_eq!(b(1000), 31);
    }
}
