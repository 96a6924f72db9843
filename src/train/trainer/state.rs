//! A run's whole state between two epochs, so a stopped run continues exactly where it was.
//!
//! A 30-epoch run of the study's models takes hours on one core; a session, a laptop lid or
//! a shared machine may stop it part-way. Continuing from the best checkpoint would not do:
//! Adam's moments and the two random streams (batch order, dropout) decide every later step,
//! so a resumed run must restore them all to give the same bits as one that never stopped.
//!
//! The state is a safetensors file. Tensors, all float32 (a float16 copy would change the
//! continuation): `model.<name>` (the current weights), `best.<name>` (the best epoch's),
//! `adam.m.<name>` and `adam.v.<name>` (absent before the first step). Metadata keys:
//! `format` (= [`STATE_FORMAT`]), `config` (the URL query), `dim`, `log` (the [`RunLog`] so
//! far as JSON: epochs, best epoch, step losses, baselines), `adam_steps`, and
//! `shuffle_rng` / `dropout_rng` (each generator's four state words in hex).

use super::{TrainError, Trainer};
use crate::base::rng::Rng;
use crate::config::RunConfig;
use crate::data::windows::Windows;
use crate::models::NamedTensor;
use crate::train::checkpoint::{self, CheckpointError, Precision};
use crate::train::log::RunLog;
use candle_core::Device;
use safetensors::tensor::{Dtype, SafeTensors};
use std::collections::HashMap;

pub const STATE_FORMAT: &str = "lvm-playground-train-state/1";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("not a readable safetensors file: {0}")]
    Safetensors(String),
    #[error("not an LVM Playground training state (metadata 'format' is {0:?}, expected {STATE_FORMAT:?})")]
    Format(Option<String>),
    #[error("training state metadata '{key}' is invalid: {message}")]
    Metadata { key: &'static str, message: String },
    #[error("training state tensors: {0}")]
    Tensors(String),
    #[error(
        "the data differs from the data this run started on ({0}); resume it with the same \
         dataset"
    )]
    OtherData(String),
    #[error("a run can be saved only between two epochs (this one is at step {step_in_epoch} of epoch {epoch})")]
    MidEpoch { epoch: usize, step_in_epoch: usize },
    #[error("the run stopped on a non-finite value; there is nothing sound to continue")]
    Failed,
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("{0}")]
    Train(#[from] TrainError),
}

impl From<candle_core::Error> for StateError {
    fn from(e: candle_core::Error) -> Self {
        StateError::Train(e.into())
    }
}

impl Trainer {
    /// The whole run as bytes, between two epochs (or before the first step).
    pub fn save_state(&self) -> Result<Vec<u8>, StateError> {
        if self.failed.is_some() {
            return Err(StateError::Failed);
        }
        if self.cursor < self.order.len() {
            return Err(StateError::MidEpoch {
                epoch: self.epoch,
                step_in_epoch: self.epoch_steps,
            });
        }
        let current = self.model.params().snapshot()?;
        let mut tensors: Vec<(String, &[usize], &[f32])> = Vec::new();
        for t in &current {
            tensors.push((format!("model.{}", t.name), &t.shape, &t.values));
        }
        if let Some((_, best)) = &self.best {
            for t in best {
                tensors.push((format!("best.{}", t.name), &t.shape, &t.values));
            }
        }
        for (t, (m, v)) in current.iter().zip(self.adam.moments()) {
            tensors.push((format!("adam.m.{}", t.name), &t.shape, m));
            tensors.push((format!("adam.v.{}", t.name), &t.shape, v));
        }
        let meta = HashMap::from([
            ("format".to_string(), STATE_FORMAT.to_string()),
            ("config".to_string(), self.cfg.to_query()),
            ("dim".to_string(), self.model.dim().to_string()),
            (
                "log".to_string(),
                serde_json::to_string(&self.log()).expect("a run log always serialises"),
            ),
            ("adam_steps".to_string(), self.adam.steps().to_string()),
            ("shuffle_rng".to_string(), rng_hex(&self.shuffle_rng)),
            ("dropout_rng".to_string(), rng_hex(&self.dropout_rng)),
        ]);
        Ok(checkpoint::serialize(&tensors, Precision::F32, meta)?)
    }

    /// Continues a run saved by [`Trainer::save_state`] on the same data: the next step is the
    /// one the saved run would have taken, to the bit. `windows` must be the data the run
    /// started on (checked against its baselines and split sizes).
    pub fn resume(
        bytes: &[u8],
        windows: &Windows,
        device: &Device,
        clock: super::Clock,
    ) -> Result<Self, StateError> {
        let saved = SavedState::parse(bytes)?;
        if windows.dim() != saved.dim {
            return Err(StateError::OtherData(format!(
                "the run has {}-D vectors, the data {}-D",
                saved.dim,
                windows.dim()
            )));
        }
        let mut trainer = Trainer::new(&saved.config, windows, device, clock)?;
        check_same_data(&trainer, &saved.log)?;

        let names: Vec<(String, Vec<usize>)> = trainer
            .model
            .params()
            .entries()
            .iter()
            .map(|(n, v)| (n.clone(), v.dims().to_vec()))
            .collect();
        let mut tensors = saved.tensors;
        let current = take_all(&mut tensors, "model.", &names)?;
        trainer.model.params().restore(&current)?;

        let log = saved.log;
        let epochs = log.epochs.len();
        trainer.best = match log.best_epoch {
            Some(e) if (1..=epochs).contains(&e) => {
                Some((e, take_all(&mut tensors, "best.", &names)?))
            }
            None if epochs == 0 => None,
            other => {
                return Err(meta_error(
                    "log",
                    format!("best epoch {other:?} with {epochs} epochs done"),
                ))
            }
        };
        let steps = epochs as u64 * trainer.steps_per_epoch() as u64;
        if log.step_losses.len() as u64 != steps || saved.adam_steps != steps {
            return Err(meta_error(
                "log",
                format!(
                    "{epochs} epochs of {} steps, but {} step losses and {} Adam steps",
                    trainer.steps_per_epoch(),
                    log.step_losses.len(),
                    saved.adam_steps
                ),
            ));
        }
        if steps > 0 {
            let m = take_all(&mut tensors, "adam.m.", &names)?;
            let v = take_all(&mut tensors, "adam.v.", &names)?;
            let moments = m.into_iter().zip(v).map(|(m, v)| (m.values, v.values));
            trainer.adam.restore(steps, moments.collect());
        }
        if let Some(extra) = tensors.keys().min() {
            return Err(StateError::Tensors(format!("unexpected tensor '{extra}'")));
        }
        trainer.shuffle_rng = saved.shuffle_rng;
        trainer.dropout_rng = saved.dropout_rng;
        trainer.step = steps;
        trainer.epoch = epochs;
        trainer.history = log.epochs;
        trainer.step_losses = log.step_losses;
        Ok(trainer)
    }

    /// Trains for `epochs` in all instead of the config's count: a finished run goes on, with
    /// the same results as a run configured for `epochs` from the start (the random streams
    /// do not depend on the count).
    pub fn extend_to(&mut self, epochs: usize) -> Result<(), TrainError> {
        if epochs < self.history.len() {
            let done = format!("the run has already done {} epochs", self.history.len());
            return Err(crate::config::ConfigError::new("epochs", done).into());
        }
        let mut cfg = self.cfg.clone();
        cfg.epochs = epochs;
        cfg.validate()?;
        self.cfg = cfg;
        Ok(())
    }
}

/// The run config a saved state was made with, read from its header alone (to find its data
/// before [`Trainer::resume`]).
pub fn saved_config(bytes: &[u8]) -> Result<RunConfig, StateError> {
    Ok(header(bytes)?.1)
}

/// The longest header a saved state's summary is read from (a state's header holds its run
/// log; a 100-epoch run of 1,000 steps an epoch writes about 2 MB).
pub const MAX_STATE_HEADER: usize = 16 << 20;

/// The header length a state file's first 8 bytes give, bounded by [`MAX_STATE_HEADER`]: how
/// much of the file [`saved_log`] needs.
pub fn header_len(first: &[u8]) -> Result<usize, StateError> {
    let n: [u8; 8] = first
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StateError::Safetensors("shorter than its 8-byte header length".into()))?;
    let n = u64::from_le_bytes(n);
    if n > MAX_STATE_HEADER as u64 {
        return Err(StateError::Safetensors(format!(
            "a header of {n} bytes; at most {MAX_STATE_HEADER}"
        )));
    }
    Ok(8 + n as usize)
}

/// The run log of a saved state, from the file's first [`header_len`] bytes and its length
/// alone: what the page lists of each saved run without reading its tensors. A file whose
/// tensors do not end where its length does (a write cut short) is refused.
pub fn saved_log(head: &[u8], file_len: u64) -> Result<RunLog, StateError> {
    #[derive(serde::Deserialize)]
    struct Entry {
        data_offsets: (u64, u64),
    }
    let end = header_len(head)?;
    let json = head
        .get(8..end)
        .ok_or_else(|| StateError::Safetensors("the header is cut short".into()))?;
    let mut fields: HashMap<String, serde_json::Value> = serde_json::from_slice(json)
        .map_err(|e| StateError::Safetensors(format!("the header is not JSON: {e}")))?;
    let meta: HashMap<String, String> = match fields.remove("__metadata__") {
        Some(m) => serde_json::from_value(m)
            .map_err(|e| StateError::Safetensors(format!("its metadata: {e}")))?,
        None => HashMap::new(),
    };
    let mut data_len = 0;
    for (name, value) in fields {
        let entry: Entry = serde_json::from_value(value)
            .map_err(|e| StateError::Tensors(format!("'{name}': {e}")))?;
        data_len = data_len.max(entry.data_offsets.1);
    }
    if end as u64 + data_len != file_len {
        return Err(StateError::Safetensors(format!(
            "{file_len} bytes, but its header describes {}: the file is cut short or damaged",
            end as u64 + data_len
        )));
    }
    let config = config_of(&meta)?;
    log_of(&meta, &config)
}

/// A state's metadata and run config, after checking its format.
fn header(bytes: &[u8]) -> Result<(HashMap<String, String>, RunConfig), StateError> {
    let (_, metadata) =
        SafeTensors::read_metadata(bytes).map_err(|e| StateError::Safetensors(e.to_string()))?;
    let meta = metadata.metadata().clone().unwrap_or_default();
    let config = config_of(&meta)?;
    Ok((meta, config))
}

/// The run config in a state's metadata, after checking its format.
fn config_of(meta: &HashMap<String, String>) -> Result<RunConfig, StateError> {
    if meta.get("format").map(String::as_str) != Some(STATE_FORMAT) {
        return Err(StateError::Format(meta.get("format").cloned()));
    }
    let query = meta
        .get("config")
        .ok_or_else(|| meta_error("config", "missing".into()))?;
    RunConfig::from_query(query).map_err(|e| meta_error("config", e.to_string()))
}

/// The run log in a state's metadata, which must be of the state's `config`.
fn log_of(meta: &HashMap<String, String>, config: &RunConfig) -> Result<RunLog, StateError> {
    let log: RunLog = serde_json::from_str(
        meta.get("log")
            .ok_or_else(|| meta_error("log", "missing".into()))?,
    )
    .map_err(|e| meta_error("log", e.to_string()))?;
    if log.config != *config {
        return Err(meta_error("log", "its config is not the state's".into()));
    }
    Ok(log)
}

/// What a state file holds, checked on its own (before it meets a model and data).
struct SavedState {
    config: RunConfig,
    dim: usize,
    log: RunLog,
    adam_steps: u64,
    shuffle_rng: Rng,
    dropout_rng: Rng,
    tensors: HashMap<String, NamedTensor>,
}

impl SavedState {
    fn parse(bytes: &[u8]) -> Result<Self, StateError> {
        let (meta, config) = header(bytes)?;
        let get = |key: &'static str| {
            meta.get(key)
                .map(String::as_str)
                .ok_or_else(|| meta_error(key, "missing".into()))
        };
        let dim = get("dim")?
            .parse::<usize>()
            .ok()
            .filter(|&d| (1..=65_536).contains(&d))
            .ok_or_else(|| meta_error("dim", "not an integer in 1..=65536".into()))?;
        let log = log_of(&meta, &config)?;
        let adam_steps = get("adam_steps")?
            .parse::<u64>()
            .map_err(|e| meta_error("adam_steps", e.to_string()))?;
        let shuffle_rng = parse_rng("shuffle_rng", get("shuffle_rng")?)?;
        let dropout_rng = parse_rng("dropout_rng", get("dropout_rng")?)?;
        let st =
            SafeTensors::deserialize(bytes).map_err(|e| StateError::Safetensors(e.to_string()))?;
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(StateError::Tensors(format!(
                    "'{name}' is {:?}; a training state is float32 throughout",
                    view.dtype()
                )));
            }
            // The checkpoint decoder checks every value is finite.
            let one = checkpoint::load_tensor(&name, &view)?;
            tensors.insert(name, one);
        }
        Ok(Self {
            config,
            dim,
            log,
            adam_steps,
            shuffle_rng,
            dropout_rng,
            tensors,
        })
    }
}

/// The tensors `<prefix><name>` for every parameter, in the model's order, each with the
/// parameter's shape.
fn take_all(
    tensors: &mut HashMap<String, NamedTensor>,
    prefix: &str,
    params: &[(String, Vec<usize>)],
) -> Result<Vec<NamedTensor>, StateError> {
    params
        .iter()
        .map(|(name, shape)| {
            let key = format!("{prefix}{name}");
            let mut t = tensors
                .remove(&key)
                .ok_or_else(|| StateError::Tensors(format!("'{key}' is missing")))?;
            if t.shape != *shape {
                return Err(StateError::Tensors(format!(
                    "'{key}' has shape {:?}, the model's is {shape:?}",
                    t.shape
                )));
            }
            t.name = name.clone();
            Ok(t)
        })
        .collect()
}

/// The split sizes and baselines are a fingerprint of the data: other vectors give others.
fn check_same_data(trainer: &Trainer, log: &RunLog) -> Result<(), StateError> {
    let split = trainer.split();
    if (split.train.len(), split.val.len()) != (log.train_windows, log.val_windows) {
        return Err(StateError::OtherData(format!(
            "{} train / {} validation windows now, {} / {} then",
            split.train.len(),
            split.val.len(),
            log.train_windows,
            log.val_windows
        )));
    }
    let (now, then) = (trainer.baselines(), &log.baselines);
    for (name, a, b) in [
        ("copy-last", now.copy_last.mean, then.copy_last.mean),
        (
            "mean-of-context",
            now.mean_context.mean,
            then.mean_context.mean,
        ),
        ("train-mean", now.train_mean.mean, then.train_mean.mean),
    ] {
        if (a - b).abs() > 1e-6 {
            return Err(StateError::OtherData(format!(
                "{name} baseline {a:.6} now, {b:.6} then"
            )));
        }
    }
    Ok(())
}

fn rng_hex(rng: &Rng) -> String {
    let s = rng.state();
    format!("{:016x},{:016x},{:016x},{:016x}", s[0], s[1], s[2], s[3])
}

fn parse_rng(key: &'static str, text: &str) -> Result<Rng, StateError> {
    let words: Vec<u64> = text
        .split(',')
        .map(|w| u64::from_str_radix(w, 16))
        .collect::<Result<_, _>>()
        .map_err(|e| meta_error(key, e.to_string()))?;
    let words: [u64; 4] = words
        .try_into()
        .map_err(|_| meta_error(key, "expected four hex words".into()))?;
    Rng::from_state(words).ok_or_else(|| meta_error(key, "all zero".into()))
}

fn meta_error(key: &'static str, message: String) -> StateError {
    StateError::Metadata { key, message }
}
