//! The trainable parameters of a model, by name, in a fixed order.
//!
//! Names and shapes are those of PyTorch's `state_dict` for the equivalent `nn.Module` (each
//! model's module documents its names), so a checkpoint loads into PyTorch unchanged.

use crate::base::rng::Rng;
use candle_core::{Device, Result, Tensor, Var};

/// How a parameter starts, following PyTorch's defaults.
#[derive(Clone, Copy, Debug)]
pub enum Init {
    /// U(-bound, bound): `nn.Linear` (bound 1/sqrt(fan_in)), `nn.LSTM` (1/sqrt(hidden)),
    /// Xavier-uniform (sqrt(6/(fan_in+fan_out))).
    Uniform(f32),
    Zeros,
    Ones,
}

impl Init {
    /// `nn.Linear`'s weight and bias: kaiming_uniform(a=sqrt(5)) reduces to U(±1/sqrt(fan_in)).
    pub fn linear(fan_in: usize) -> Self {
        Init::Uniform(1.0 / (fan_in as f32).sqrt())
    }

    pub fn xavier_uniform(fan_in: usize, fan_out: usize) -> Self {
        Init::Uniform((6.0 / (fan_in + fan_out) as f32).sqrt())
    }
}

pub struct Params {
    device: Device,
    entries: Vec<(String, Var)>,
}

impl Params {
    pub fn new(device: &Device) -> Self {
        Self {
            device: device.clone(),
            entries: Vec::new(),
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Creates a parameter, drawing its initial values from `rng` in row-major order.
    pub fn add(
        &mut self,
        name: &str,
        shape: &[usize],
        init: Init,
        rng: &mut Rng,
    ) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let values = match init {
            Init::Uniform(bound) => rng.uniform_vec(n, bound),
            Init::Zeros => vec![0.0; n],
            Init::Ones => vec![1.0; n],
        };
        let var = Var::from_tensor(&Tensor::from_vec(values, shape, &self.device)?)?;
        let tensor = var.as_tensor().clone();
        debug_assert!(self.get(name).is_none(), "duplicate parameter {name}");
        self.entries.push((name.to_string(), var));
        Ok(tensor)
    }

    pub fn get(&self, name: &str) -> Option<&Var> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn entries(&self) -> &[(String, Var)] {
        &self.entries
    }

    /// Total number of scalar parameters.
    pub fn count(&self) -> usize {
        self.entries.iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// Sets one parameter to zeros.
    pub fn zero(&self, name: &str) -> Result<()> {
        let var = self
            .get(name)
            .ok_or_else(|| candle_core::Error::Msg(format!("no parameter {name}")))?;
        var.set(&var.zeros_like()?)
    }

    /// A copy of every parameter's values (e.g. the best epoch's weights).
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.entries
            .iter()
            .map(|(name, var)| {
                Ok(NamedTensor {
                    name: name.clone(),
                    shape: var.dims().to_vec(),
                    values: var.as_tensor().flatten_all()?.to_vec1::<f32>()?,
                })
            })
            .collect()
    }

    /// Overwrites every parameter from a snapshot with exactly the same names and shapes.
    pub fn restore(&self, snapshot: &[NamedTensor]) -> Result<()> {
        if snapshot.len() != self.entries.len() {
            candle_core::bail!(
                "snapshot has {} tensors, model has {}",
                snapshot.len(),
                self.entries.len()
            );
        }
        for ((name, var), t) in self.entries.iter().zip(snapshot) {
            if *name != t.name || var.dims() != t.shape.as_slice() {
                candle_core::bail!(
                    "snapshot tensor {} {:?} does not match model tensor {name} {:?}",
                    t.name,
                    t.shape,
                    var.dims()
                );
            }
            var.set(&Tensor::from_slice(
                &t.values,
                t.shape.as_slice(),
                &self.device,
            )?)?;
        }
        Ok(())
    }
}

/// One parameter's values outside candle.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

pub type Snapshot = Vec<NamedTensor>;
