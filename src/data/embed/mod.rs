//! Sentence embeddings with a sentence-transformers encoder on candle, natively and in a
//! browser worker: all-mpnet-base-v2 (768-D, the shipped datasets' space; 438 MB) and
//! all-MiniLM-L6-v2 (384-D; 91 MB), for text the user pastes.
//!
//! Sentence vector = mean of the encoder's last hidden states over non-padding tokens,
//! L2-normalised, at most `max_tokens` tokens — exactly what sentence-transformers computes.

pub mod bert;
mod layers;
pub mod mpnet;

use bert::{Bert, BertConfig};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use mpnet::{mean_pool_normalized, MpNet, MpNetConfig};
use tokenizers::{Encoding, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

/// An encoder this project knows: where its files come from and what it computes.
#[derive(Debug, PartialEq, Eq)]
pub struct EncoderInfo {
    /// The sentence-transformers name, and the folder its files live in.
    pub name: &'static str,
    /// sha256 of the official release's `model.safetensors`.
    pub sha256: &'static str,
    /// sentence-transformers' `max_seq_length`.
    pub max_tokens: usize,
    pub dim: usize,
}

impl EncoderInfo {
    /// What a dataset's manifest records of vectors this encoder made.
    pub fn manifest_entry(&self) -> crate::data::dataset::EmbeddingInfo {
        crate::data::dataset::EmbeddingInfo {
            model: format!("sentence-transformers/{}", self.name),
            sha256: self.sha256.into(),
            pooling: "mean over non-padding tokens, L2-normalised".into(),
            max_tokens: self.max_tokens,
        }
    }
}

pub const MPNET: EncoderInfo = EncoderInfo {
    name: "all-mpnet-base-v2",
    sha256: "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    max_tokens: 384,
    dim: 768,
};

pub const MINILM: EncoderInfo = EncoderInfo {
    name: "all-MiniLM-L6-v2",
    sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    max_tokens: 256,
    dim: 384,
};

pub const ENCODERS: [&EncoderInfo; 2] = [&MPNET, &MINILM];

/// The files of an encoder's folder.
pub const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

pub fn find(name: &str) -> Option<&'static EncoderInfo> {
    ENCODERS.into_iter().find(|e| e.name == name)
}

/// Where scripts/fetch_model.py puts an encoder: `$LVM_CACHE/<name>`, by default
/// `~/.cache/lvm-playground/<name>`.
#[cfg(not(target_arch = "wasm32"))]
pub fn model_dir(info: &EncoderInfo) -> std::path::PathBuf {
    use std::path::PathBuf;
    let cache = std::env::var_os("LVM_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/lvm-playground")
        });
    cache.join(info.name)
}

enum Model {
    MpNet(MpNet),
    Bert(Bert),
}

pub struct Embedder {
    model: Model,
    tokenizer: Tokenizer,
    pad_id: u32,
    info: &'static EncoderInfo,
    device: Device,
}

impl Embedder {
    /// Loads a sentence-transformers folder: `config.json`, `model.safetensors`,
    /// `tokenizer.json`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(dir: &std::path::Path, info: &'static EncoderInfo) -> anyhow::Result<Self> {
        use anyhow::Context;
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .with_context(|| format!("reading {}", dir.join(name).display()))
        };
        Self::from_bytes(
            info,
            &read("config.json")?,
            &read("tokenizer.json")?,
            read("model.safetensors")?,
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))
    }

    /// The encoder from its three files' bytes (the browser has no folders).
    pub fn from_bytes(
        info: &'static EncoderInfo,
        config: &[u8],
        tokenizer: &[u8],
        weights: Vec<u8>,
    ) -> Result<Self, String> {
        let mut tokenizer =
            Tokenizer::from_bytes(tokenizer).map_err(|e| format!("parsing tokenizer.json: {e}"))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: info.max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| e.to_string())?;
        tokenizer.with_padding(None);
        let device = Device::Cpu;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| format!("reading model.safetensors: {e}"))?;
        let loading = |e: candle_core::Error| format!("loading {} weights: {e}", info.name);
        let parsing = |e: serde_json::Error| format!("parsing config.json: {e}");
        let (model, pad_id) = if info == &MPNET {
            let config: MpNetConfig = serde_json::from_slice(config).map_err(parsing)?;
            let pad = config.pad_token_id;
            (
                Model::MpNet(MpNet::load(vb, &config).map_err(loading)?),
                pad,
            )
        } else {
            let config: BertConfig = serde_json::from_slice(config).map_err(parsing)?;
            (Model::Bert(Bert::load(vb, &config).map_err(loading)?), 0)
        };
        Ok(Self {
            model,
            tokenizer,
            pad_id,
            info,
            device,
        })
    }

    pub fn info(&self) -> &'static EncoderInfo {
        self.info
    }

    /// Width of the sentence vectors.
    pub fn dim(&self) -> usize {
        self.info.dim
    }

    /// Number of tokens each text becomes (with the special tokens, after truncation).
    pub fn token_counts(&self, texts: &[&str]) -> Result<Vec<usize>, String> {
        Ok(self
            .encode(texts)?
            .iter()
            .map(|e| e.get_ids().len())
            .collect())
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Encoding>, String> {
        // One at a time: the batch form runs on rayon, which a wasm worker without threads
        // does not have.
        texts
            .iter()
            .map(|t| self.tokenizer.encode(*t, true))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("tokenizing: {e}"))
    }

    /// Embeds one batch: row-major `[texts.len(), dim]` unit vectors.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<f32>, String> {
        let encodings = self.encode(texts)?;
        self.embed_encodings(&encodings.iter().collect::<Vec<_>>())
    }

    /// Pads the encodings to the longest and runs the model: `[len, dim]` unit vectors.
    fn embed_encodings(&self, encodings: &[&Encoding]) -> Result<Vec<f32>, String> {
        if encodings.is_empty() {
            return Ok(Vec::new());
        }
        let t = encodings
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(0);
        let (mut ids, mut mask) = (Vec::new(), Vec::new());
        for e in encodings {
            let mut row = e.get_ids().to_vec();
            let mut m = vec![1u32; row.len()];
            row.resize(t, self.pad_id);
            m.resize(t, 0);
            ids.push(row);
            mask.push(m);
        }
        let run = || -> candle_core::Result<Vec<f32>> {
            let hidden: Tensor = match &self.model {
                Model::MpNet(m) => m.forward(&ids, &mask, &self.device)?,
                Model::Bert(m) => m.forward(&ids, &mask, &self.device)?,
            };
            mean_pool_normalized(&hidden, &mask)?
                .flatten_all()?
                .to_vec1::<f32>()
        };
        run().map_err(|e| format!("{}: {e}", self.info.name))
    }

    /// Embeds any number of texts in batches of similar length (less padding), calling
    /// `progress(done)` after each batch. Output order = input order.
    pub fn embed(
        &self,
        texts: &[&str],
        batch: usize,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<f32>, String> {
        // Tokenised once: the lengths order the batches, the encodings feed the model.
        let encodings = self.encode(texts)?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let dim = self.info.dim;
        let mut out = vec![0f32; texts.len() * dim];
        let mut done = 0;
        for chunk in order.chunks(batch.max(1)) {
            let in_batch: Vec<&Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
            let vectors = self.embed_encodings(&in_batch)?;
            for (row, &i) in chunk.iter().enumerate() {
                out[i * dim..(i + 1) * dim].copy_from_slice(&vectors[row * dim..(row + 1) * dim]);
            }
            done += chunk.len();
            progress(done);
        }
        Ok(out)
    }
}
