//! Sentence embeddings with all-mpnet-base-v2, natively (the model is 438 MB: datasets are
//! embedded once, offline, and the browser only ever loads the resulting vectors).
//!
//! Sentence vector = mean of MPNet's last hidden states over non-padding tokens,
//! L2-normalised, at most 384 tokens — exactly what sentence-transformers computes.

pub mod mpnet;

use anyhow::{Context, Result};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use mpnet::{mean_pool_normalized, MpNet, MpNetConfig};
use std::path::Path;
use tokenizers::{Encoding, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

/// sentence-transformers' `max_seq_length` for all-mpnet-base-v2.
pub const MAX_TOKENS: usize = 384;

/// The official release's `model.safetensors`.
pub const MODEL_SHA256: &str = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658";

/// Where scripts/fetch_model.py puts the model: `$LVM_CACHE/all-mpnet-base-v2`, by default
/// `~/.cache/lvm-playground/all-mpnet-base-v2`.
pub fn default_model_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    let cache = std::env::var_os("LVM_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/lvm-playground")
        });
    cache.join("all-mpnet-base-v2")
}

pub struct Embedder {
    model: MpNet,
    tokenizer: Tokenizer,
    pad_id: u32,
    dim: usize,
    device: Device,
}

impl Embedder {
    /// Loads a sentence-transformers folder: `config.json`, `model.safetensors`,
    /// `tokenizer.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .with_context(|| format!("reading {}", dir.join(name).display()))
        };
        let config: MpNetConfig =
            serde_json::from_slice(&read("config.json")?).context("parsing config.json")?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| anyhow::anyhow!("parsing tokenizer.json: {e}"))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        tokenizer.with_padding(None);
        let device = Device::Cpu;
        let vb =
            VarBuilder::from_buffered_safetensors(read("model.safetensors")?, DType::F32, &device)
                .context("reading model.safetensors")?;
        let model = MpNet::load(vb, &config).context("loading MPNet weights")?;
        Ok(Self {
            model,
            tokenizer,
            pad_id: config.pad_token_id,
            dim: config.hidden_size,
            device,
        })
    }

    /// Width of the sentence vectors (768).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of tokens each text becomes (with the special tokens, after truncation).
    pub fn token_counts(&self, texts: &[&str]) -> Result<Vec<usize>> {
        Ok(self
            .encode(texts)?
            .iter()
            .map(|e| e.get_ids().len())
            .collect())
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Encoding>> {
        self.tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))
    }

    /// Embeds one batch: row-major `[texts.len(), 768]` unit vectors.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<f32>> {
        let encodings = self.encode(texts)?;
        self.embed_encodings(&encodings.iter().collect::<Vec<_>>())
    }

    /// Pads the encodings to the longest and runs the model: `[len, dim]` unit vectors.
    fn embed_encodings(&self, encodings: &[&Encoding]) -> Result<Vec<f32>> {
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
        let hidden = self.model.forward(&ids, &mask, &self.device)?;
        let pooled = mean_pool_normalized(&hidden, &mask)?;
        Ok(pooled.flatten_all()?.to_vec1::<f32>()?)
    }

    /// Embeds any number of texts in batches of similar length (less padding), calling
    /// `progress(done)` after each batch. Output order = input order.
    pub fn embed(
        &self,
        texts: &[&str],
        batch: usize,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<f32>> {
        // Tokenised once: the lengths order the batches, the encodings feed the model.
        let encodings = self.encode(texts)?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let dim = self.dim;
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
