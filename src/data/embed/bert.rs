//! BERT (the encoder of all-MiniLM-L6-v2) on candle, for inference: HF `modeling_bert.py`'s
//! `BertModel` without its pooler (sentence-transformers mean-pools the last hidden states).
//!
//! Embeddings are word + absolute position (0, 1, …) + token type (always 0 for one
//! sentence), then LayerNorm; each layer is the post-LayerNorm encoder layer MPNet shares, with
//! the padding mask as its only attention bias.

use super::layers::{padding_bias, AttentionNames, Layer, LayerNorm};
use candle_core::{Device, Result, Tensor};
use candle_nn::{Embedding, Module, VarBuilder};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub hidden_act: Option<String>,
}

/// BERT names its attention weights `attention.self.{query,key,value}` and
/// `attention.output.dense`.
const ATTENTION: AttentionNames = AttentionNames {
    q: "self.query",
    k: "self.key",
    v: "self.value",
    o: "output.dense",
    norm: "output.LayerNorm",
};

fn load_layer(vb: VarBuilder, c: &BertConfig) -> Result<Layer> {
    Layer::load(
        vb,
        &ATTENTION,
        c.hidden_size,
        c.intermediate_size,
        c.num_attention_heads,
        c.layer_norm_eps,
    )
}

pub struct Bert {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
}

impl Bert {
    pub fn load(vb: VarBuilder, config: &BertConfig) -> Result<Self> {
        if config.hidden_act.as_deref().is_some_and(|a| a != "gelu") {
            candle_core::bail!("BERT with activation {:?} (only gelu)", config.hidden_act);
        }
        // sentence-transformers saves the bare encoder; a full BertModel prefixes "bert.".
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else {
            vb.pp("bert")
        };
        let h = config.hidden_size;
        let emb = vb.pp("embeddings");
        let table = |rows: usize, name: &str| -> Result<Embedding> {
            Ok(Embedding::new(emb.get((rows, h), name)?, h))
        };
        Ok(Self {
            word_embeddings: table(config.vocab_size, "word_embeddings.weight")?,
            position_embeddings: table(
                config.max_position_embeddings,
                "position_embeddings.weight",
            )?,
            token_type_embeddings: table(config.type_vocab_size, "token_type_embeddings.weight")?,
            embed_norm: LayerNorm::load(emb.pp("LayerNorm"), h, config.layer_norm_eps)?,
            layers: (0..config.num_hidden_layers)
                .map(|i| load_layer(vb.pp(format!("encoder.layer.{i}")), config))
                .collect::<Result<Vec<_>>>()?,
        })
    }

    /// Last hidden states `[b, t, hidden]` for token ids `[b, t]` with `mask` `[b, t]`
    /// (1 = token, 0 = padding).
    pub fn forward(&self, ids: &[Vec<u32>], mask: &[Vec<u32>], device: &Device) -> Result<Tensor> {
        let b = ids.len();
        let t = ids.first().map_or(0, Vec::len);
        let flat: Vec<u32> = ids.iter().flatten().copied().collect();
        let ids = Tensor::from_vec(flat, (b, t), device)?;
        let positions = Tensor::arange(0u32, t as u32, device)?.unsqueeze(0)?;
        let types = Tensor::zeros((b, t), candle_core::DType::U32, device)?;
        let x = self
            .word_embeddings
            .forward(&ids)?
            .broadcast_add(&self.position_embeddings.forward(&positions)?)?
            .add(&self.token_type_embeddings.forward(&types)?)?;
        let mut x = self.embed_norm.forward(&x)?;
        let bias = padding_bias(mask, device)?;
        for layer in &self.layers {
            x = layer.forward(&x, &bias)?;
        }
        Ok(x)
    }
}
