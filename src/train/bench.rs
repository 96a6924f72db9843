//! Speed of one model on real windows: training steps and inference batches, timed by the
//! caller's clock; and the rate of the matrix products alone at the models' shapes, which
//! bounds how fast a step can be. `lvm bench` prints both natively; the playground's worker
//! posts them from inside the browser, so both measure the same thing.

use crate::config::RunConfig;
use crate::data::windows::Windows;
use crate::models::product::{matmul_with, Kernel};
use crate::models::Mode;
use crate::train::{Clock, StepPhases, TrainError, Trainer};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// What [`measure`] found: means over the timed steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Speed {
    pub batch: usize,
    pub train_ms_per_step: f64,
    pub train_samples_per_second: f64,
    /// Where a training step goes, in ms per step.
    pub train_phases_ms: StepPhases,
    /// Each timed step's ms, in order: shows drift that a mean hides.
    pub train_step_ms: Vec<f64>,
    /// One evaluation-mode forward pass over a training batch.
    pub infer_ms_per_batch: f64,
    pub infer_samples_per_second: f64,
}

/// Times `steps` optimiser steps and `steps` inference batches of a fresh run of `config`,
/// each after `warmup` untimed ones (allocator and caches warm up). A step that ends an epoch
/// also evaluates the validation split, so it is left out of the timing.
pub fn measure(
    config: &RunConfig,
    windows: &Windows,
    clock: Clock,
    warmup: usize,
    steps: usize,
) -> Result<Speed, TrainError> {
    // Enough epochs that the timed steps never run out.
    let config = RunConfig {
        epochs: 1000,
        ..config.clone()
    };
    let trainer = &mut Trainer::new(&config, windows, &Device::Cpu, clock)?;
    for _ in 0..warmup {
        trainer.step()?;
    }
    let (mut seconds, mut samples, mut timed) = (0.0, 0usize, 0usize);
    let mut phases = StepPhases::default();
    let mut train_step_ms = Vec::with_capacity(steps);
    for _ in 0..steps {
        let t = clock();
        let report = trainer.step()?;
        if report.epoch_end.is_none() {
            let dt = clock() - t;
            train_step_ms.push(1000.0 * dt);
            seconds += dt;
            samples += report.batch_size;
            timed += 1;
            let p = report.phases;
            phases.batch += p.batch;
            phases.forward += p.forward;
            phases.backward += p.backward;
            phases.optimizer += p.optimizer;
        }
    }
    let per_step_ms = 1000.0 / timed.max(1) as f64;
    let train_phases_ms = StepPhases {
        batch: phases.batch * per_step_ms,
        forward: phases.forward * per_step_ms,
        backward: phases.backward * per_step_ms,
        optimizer: phases.optimizer * per_step_ms,
    };

    let batch = trainer.config().batch.min(trainer.split().train.len());
    let indices: Vec<usize> = (0..batch).collect();
    let (x, _) = trainer.split().train.batch(&indices, &Device::Cpu)?;
    for _ in 0..warmup {
        trainer.model().forward(&x, &mut Mode::Eval)?;
    }
    let t = clock();
    for _ in 0..steps {
        trainer.model().forward(&x, &mut Mode::Eval)?;
    }
    let infer_seconds = clock() - t;
    Ok(Speed {
        batch,
        train_ms_per_step: seconds * per_step_ms,
        train_samples_per_second: samples as f64 / seconds.max(1e-12),
        train_phases_ms,
        train_step_ms,
        infer_ms_per_batch: 1000.0 * infer_seconds / steps.max(1) as f64,
        infer_samples_per_second: (batch * steps) as f64 / infer_seconds.max(1e-12),
    })
}

/// The largest matrix product of each study model, `[m, k] · [k, n]`, at its study batch:
/// most of a training step is products like these (60-65 % under `perf`), so their rate
/// bounds a step's.
pub const STUDY_PRODUCTS: [Product; 3] = [
    Product {
        what: "MLP first layer",
        m: 128,
        k: 5 * 768,
        n: 1024,
    },
    Product {
        what: "LSTM gates",
        m: 128,
        k: 1024,
        n: 4 * 1024,
    },
    Product {
        what: "Transformer feed-forward",
        m: 64 * 5,
        k: 512,
        n: 2048,
    },
];

/// One matrix product's shape, and what it is in a model.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Product {
    pub what: &'static str,
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

/// What [`matmul_rate`] found for one product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductRate {
    pub what: String,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub ms: f64,
    pub gflops: f64,
    /// The kernel timed (`models::product::Kernel::name`).
    #[serde(default)]
    pub kernel: String,
    /// On wasm32, the other kernel on the same product, timed right after: the ratio that
    /// keeps the default (`models::product::Kernel`).
    #[serde(default)]
    pub other: Option<OtherRate>,
}

/// The other kernel's rate on a product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OtherRate {
    pub kernel: String,
    pub gflops: f64,
}

/// Times `reps` of the models' float32 matmul (`models::product`) at `product`'s shape after one
/// untimed product (which packs nothing ahead: the kernels pack inside every call, as in
/// training); on wasm32 the other kernel's too, the same way, right after.
pub fn matmul_rate(
    product: Product,
    clock: Clock,
    reps: usize,
) -> Result<ProductRate, candle_core::Error> {
    let Product { m, k, n, .. } = product;
    // Values in [-0.5, 0.5): no denormals or infinities, which would time other paths.
    let values = |len: usize, seed: usize| -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7919 + seed) % 1024) as f32 / 1024.0 - 0.5)
            .collect()
    };
    let a = Tensor::from_vec(values(m * k, 1), (m, k), &Device::Cpu)?;
    let b = Tensor::from_vec(values(k * n, 2), (k, n), &Device::Cpu)?;
    let rate = |kernel: Kernel| -> Result<(f64, f64), candle_core::Error> {
        matmul_with(&a, &b, kernel)?;
        let t = clock();
        for _ in 0..reps {
            matmul_with(&a, &b, kernel)?;
        }
        let seconds = (clock() - t).max(1e-12);
        let flops = 2.0 * (m * k * n) as f64 * reps as f64;
        Ok((1000.0 * seconds / reps.max(1) as f64, flops / seconds / 1e9))
    };
    let (ms, gflops) = rate(Kernel::DEFAULT)?;
    let other = if cfg!(target_arch = "wasm32") {
        let kernel = Kernel::DEFAULT.other();
        Some(OtherRate {
            kernel: kernel.name().to_string(),
            gflops: rate(kernel)?.1,
        })
    } else {
        None
    };
    Ok(ProductRate {
        what: product.what.to_string(),
        m,
        k,
        n,
        ms,
        gflops,
        kernel: Kernel::DEFAULT.name().to_string(),
        other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelKind;
    use std::cell::Cell;

    thread_local! {
        static TICKS: Cell<f64> = const { Cell::new(0.0) };
    }

    /// A clock that advances one second per reading, so every figure is exact.
    fn ticking() -> f64 {
        TICKS.with(|t| {
            t.set(t.get() + 1.0);
            t.get()
        })
    }

    #[test]
    fn figures_follow_the_clock() {
        let dim = 16;
        let rows: Vec<f32> = (0..200 * dim)
            .map(|i| ((i * 7919) % 97) as f32 - 48.0)
            .collect();
        let windows = Windows::from_stream(rows, dim, 3).unwrap();
        let mut cfg = RunConfig::for_model(ModelKind::Mlp);
        cfg.context = 3;
        cfg.hidden = 8;
        cfg.batch = 10;
        let speed = measure(&cfg, &windows, ticking, 1, 4).unwrap();
        assert_eq!(speed.batch, 10);
        // Each timed step reads the outer clock twice around the trainer's own four readings
        // (five phases apart), and no step of these four ends an epoch of 18 steps.
        assert_eq!(speed.train_ms_per_step, 6000.0);
        assert_eq!(speed.train_samples_per_second, 10.0 / 6.0);
        assert_eq!(speed.train_phases_ms.forward, 1000.0);
        assert_eq!(speed.train_step_ms, vec![6000.0; 4]);
        // Four inference batches between two readings: 1 s for 40 windows.
        assert_eq!(speed.infer_ms_per_batch, 250.0);
        assert_eq!(speed.infer_samples_per_second, 40.0);
    }

    #[test]
    fn matmul_rate_follows_the_clock() {
        let product = Product {
            what: "test",
            m: 4,
            k: 8,
            n: 16,
        };
        // One reading before and one after 5 products: 1 s for 5 × 2·4·8·16 flops.
        let rate = matmul_rate(product, ticking, 5).unwrap();
        assert_eq!(rate.ms, 200.0);
        assert_eq!(rate.gflops, 5.0 * 2.0 * 512.0 / 1e9);
    }

    #[test]
    fn study_products_are_the_models_layers() {
        use crate::models::Model;
        // Each product's weight is a real parameter of its model, stored [n, k] as PyTorch does,
        // and m is the rows it multiplies at the study's batch.
        let weight = |kind, name: &str| {
            let model = Model::new(&RunConfig::for_model(kind), 768, &Device::Cpu).unwrap();
            let var = model.params().get(name).unwrap().clone();
            var.as_tensor().dims().to_vec()
        };
        let [mlp, lstm, transformer] = STUDY_PRODUCTS;
        assert_eq!(weight(ModelKind::Mlp, "net.0.weight"), [mlp.n, mlp.k]);
        assert_eq!(
            weight(ModelKind::Lstm, "lstm.weight_hh_l0"),
            [lstm.n, lstm.k]
        );
        assert_eq!(
            weight(ModelKind::Transformer, "encoder.layers.0.linear1.weight"),
            [transformer.n, transformer.k]
        );
        assert_eq!(mlp.m, RunConfig::for_model(ModelKind::Mlp).batch);
        assert_eq!(lstm.m, RunConfig::for_model(ModelKind::Lstm).batch);
        let t = RunConfig::for_model(ModelKind::Transformer);
        assert_eq!(transformer.m, t.batch * t.context);
    }
}
