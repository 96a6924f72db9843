//! Small learnable data made inside the tests (the shipped paths use real embeddings only).

#![allow(dead_code)]

use lvm_playground::base::rng::Rng;
use lvm_playground::config::{ModelKind, RunConfig};
use lvm_playground::data::windows::Windows;

/// A stream that cycles through `period` fixed random unit vectors: the next vector is fully
/// determined by the last one, so a model can learn it while copy-last and the mean cannot.
pub fn cyclic_stream(rows: usize, dim: usize, period: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let basis: Vec<Vec<f32>> = (0..period)
        .map(|_| {
            let v: Vec<f32> = (0..dim).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect()
        })
        .collect();
    (0..rows).flat_map(|i| basis[i % period].clone()).collect()
}

/// Windows over a cycle of 23 vectors: long enough that a batch of 16 rarely holds the same
/// target twice, which InfoNCE would have to treat as a negative.
pub fn learnable_windows(rows: usize, dim: usize, context: usize) -> Windows {
    Windows::from_stream(cyclic_stream(rows, dim, 23, 1), dim, context).unwrap()
}

/// Windows over a cycle of 7 vectors.
pub fn cyclic_windows(rows: usize, dim: usize, context: usize) -> Windows {
    Windows::from_stream(cyclic_stream(rows, dim, 7, 1), dim, context).unwrap()
}

/// A scaled-down config of `model` that trains in well under a second a step.
pub fn small_config(model: ModelKind) -> RunConfig {
    let mut c = RunConfig::for_model(model);
    c.hidden = if model.is_transformer() { 32 } else { 64 };
    c.ff = 64;
    c.heads = 4;
    c.batch = 16;
    c.epochs = 3;
    c.layers = if model == ModelKind::Mlp { 1 } else { 2 };
    if model == ModelKind::TransformerInfonce {
        c.lr = 1e-3;
    }
    c
}

/// A fixed clock: tests never depend on wall time.
pub fn zero_clock() -> f64 {
    0.0
}
