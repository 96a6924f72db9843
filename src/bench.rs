//! Speed of one model on real windows: training steps and inference batches, timed by the
//! caller's clock. `lvm bench` prints it natively; the playground's worker posts it from
//! inside the browser, so both measure the same thing.

use crate::data::Windows;
use crate::models::Mode;
use crate::run::RunConfig;
use crate::train::{Clock, StepPhases, TrainError, Trainer};
use candle_core::Device;
use serde::Serialize;

/// What [`measure`] found: means over the timed steps.
#[derive(Clone, Debug, Serialize)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::ModelKind;
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
}
