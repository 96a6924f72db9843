//! Checkpoints: a model's weights as safetensors, with the run config and run log in the
//! file's metadata, read and written as bytes (the browser has no file paths).
//!
//! Tensor names are PyTorch's `state_dict` keys, so `model.load_state_dict(safetensors.torch.
//! load_file(path))` works on the equivalent `nn.Module`. Metadata keys: `format`
//! (= [`FORMAT`]), `config` (the run's URL query string), `dim` (vector width) and `log`
//! (the [`RunLog`] as JSON).

use crate::config::RunConfig;
use crate::models::{Model, NamedTensor, Snapshot};
use crate::train::log::RunLog;
use candle_core::Device;
use half::f16;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;

pub const FORMAT: &str = "lvm-playground-checkpoint/1";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a readable safetensors file: {0}")]
    Safetensors(String),
    #[error("not an LVM Playground checkpoint (metadata 'format' is {0:?}, expected {FORMAT:?})")]
    Format(Option<String>),
    #[error("checkpoint metadata '{key}' is invalid: {message}")]
    Metadata { key: &'static str, message: String },
    #[error("checkpoint is for a different model: {0}")]
    Mismatch(String),
    #[error("tensor '{name}' has dtype {dtype}; only F32 and F16 are supported")]
    DType { name: String, dtype: String },
    #[error("tensor '{0}' holds NaN or infinite values")]
    NonFinite(String),
    #[error("{0}")]
    Candle(#[from] candle_core::Error),
}

/// How weights are stored on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    F32,
    /// Half the size; what the shipped pretrained weights use.
    F16,
}

/// A decoded checkpoint.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub config: RunConfig,
    pub dim: usize,
    pub log: Option<RunLog>,
    pub tensors: Snapshot,
}

/// Serialises weights (in the model's parameter order) with the run's config and log.
pub fn save(
    config: &RunConfig,
    dim: usize,
    tensors: &[NamedTensor],
    log: Option<&RunLog>,
    precision: Precision,
) -> Result<Vec<u8>, CheckpointError> {
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("config".to_string(), config.to_query());
    meta.insert("dim".to_string(), dim.to_string());
    if let Some(log) = log {
        meta.insert(
            "log".to_string(),
            serde_json::to_string(log).expect("a run log always serialises"),
        );
    }
    let named: Vec<_> = tensors
        .iter()
        .map(|t| (t.name.clone(), t.shape.as_slice(), t.values.as_slice()))
        .collect();
    serialize(&named, precision, meta)
}

/// Named float32 tensors (name, shape, values) as safetensors bytes stored in `precision`,
/// with string metadata: the one writer of checkpoints and training states.
pub(crate) fn serialize(
    tensors: &[(String, &[usize], &[f32])],
    precision: Precision,
    meta: HashMap<String, String>,
) -> Result<Vec<u8>, CheckpointError> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, values)| match precision {
            Precision::F32 => values.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Precision::F16 => values
                .iter()
                .flat_map(|x| f16::from_f32(*x).to_le_bytes())
                .collect(),
        })
        .collect();
    let dtype = match precision {
        Precision::F32 => Dtype::F32,
        Precision::F16 => Dtype::F16,
    };
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            TensorView::new(dtype, shape.to_vec(), b)
                .map(|v| (name.clone(), v))
                .map_err(|e| CheckpointError::Safetensors(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::tensor::serialize(views, Some(meta))
        .map_err(|e| CheckpointError::Safetensors(e.to_string()))
}

/// How a checkpoint's weights are stored, from its header alone.
pub fn precision(bytes: &[u8]) -> Result<Precision, CheckpointError> {
    let (_, metadata) = SafeTensors::read_metadata(bytes)
        .map_err(|e| CheckpointError::Safetensors(e.to_string()))?;
    let dtypes: Vec<Dtype> = metadata.tensors().values().map(|t| t.dtype).collect();
    match dtypes.first() {
        Some(Dtype::F16) if dtypes.iter().all(|d| *d == Dtype::F16) => Ok(Precision::F16),
        Some(Dtype::F32) if dtypes.iter().all(|d| *d == Dtype::F32) => Ok(Precision::F32),
        _ => Err(CheckpointError::Safetensors(format!(
            "expected all-F32 or all-F16 tensors, found {dtypes:?}"
        ))),
    }
}

/// Parses and checks a checkpoint (any model); [`Checkpoint::into_model`] checks it fits.
pub fn load(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
    let (_, metadata) = SafeTensors::read_metadata(bytes)
        .map_err(|e| CheckpointError::Safetensors(e.to_string()))?;
    let meta = metadata.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(CheckpointError::Format(meta.get("format").cloned()));
    }
    let get = |key: &'static str| {
        meta.get(key).ok_or(CheckpointError::Metadata {
            key,
            message: "missing".into(),
        })
    };
    let config = RunConfig::from_query(get("config")?).map_err(|e| CheckpointError::Metadata {
        key: "config",
        message: e.to_string(),
    })?;
    let dim = get("dim")?
        .parse::<usize>()
        .ok()
        .filter(|&d| (1..=65_536).contains(&d))
        .ok_or(CheckpointError::Metadata {
            key: "dim",
            message: "not an integer in 1..=65536".into(),
        })?;
    let log = match meta.get("log") {
        Some(json) => Some(
            serde_json::from_str(json).map_err(|e| CheckpointError::Metadata {
                key: "log",
                message: e.to_string(),
            })?,
        ),
        None => None,
    };
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::Safetensors(e.to_string()))?;
    let mut tensors = Vec::new();
    for (name, view) in st.tensors() {
        tensors.push(load_tensor(&name, &view)?);
    }
    Ok(Checkpoint {
        config,
        dim,
        log,
        tensors,
    })
}

/// One stored tensor as float32 values, refused if any value is NaN or infinite.
pub(crate) fn load_tensor(name: &str, view: &TensorView) -> Result<NamedTensor, CheckpointError> {
    Ok(NamedTensor {
        values: decode(name, view)?,
        shape: view.shape().to_vec(),
        name: name.to_string(),
    })
}

fn decode(name: &str, view: &TensorView) -> Result<Vec<f32>, CheckpointError> {
    let data = view.data();
    let values: Vec<f32> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        other => {
            return Err(CheckpointError::DType {
                name: name.to_string(),
                dtype: format!("{other:?}"),
            })
        }
    };
    if !values.iter().all(|v| v.is_finite()) {
        return Err(CheckpointError::NonFinite(name.to_string()));
    }
    Ok(values)
}

impl Checkpoint {
    /// Builds the checkpoint's model and loads its weights, checking that every tensor the
    /// model has is present with the right shape and that there are no others.
    pub fn into_model(self, device: &Device) -> Result<Model, CheckpointError> {
        let model = Model::new(&self.config, self.dim, device)?;
        let mut by_name: HashMap<String, NamedTensor> = self
            .tensors
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect();
        let mut ordered = Vec::with_capacity(by_name.len());
        for (name, var) in model.params().entries() {
            let t = by_name
                .remove(name)
                .ok_or_else(|| CheckpointError::Mismatch(format!("tensor '{name}' is missing")))?;
            if t.shape != var.dims() {
                return Err(CheckpointError::Mismatch(format!(
                    "tensor '{name}' has shape {:?}, the {} expects {:?}",
                    t.shape,
                    self.config.model.display_name(),
                    var.dims()
                )));
            }
            ordered.push(t);
        }
        if let Some(extra) = by_name.keys().min() {
            return Err(CheckpointError::Mismatch(format!(
                "unexpected tensor '{extra}' for a {}",
                self.config.model.display_name()
            )));
        }
        model.params().restore(&ordered)?;
        Ok(model)
    }
}
