//! A trainer that advances one optimiser step at a time, so a caller (the CLI's loop, a web
//! worker between messages) can report, pause and resume between any two steps.

use super::adam::{with_f32, Adam};
use super::loss::{cosine_loss, infonce_loss};
use crate::base::rng::{Rng, Stream};
use crate::config::{LossKind, RunConfig};
use crate::data::cosine::{cosine, mean_pairwise_cosine, Baselines, CosineSummary};
use crate::data::windows::{Split, Windows};
use crate::models::{Mode, Model, Snapshot};
use crate::train::log::{EpochMetrics, Retrieval, RunLog};
use candle_core::Device;

mod state;
pub use state::{header_len, saved_config, saved_log, StateError, MAX_STATE_HEADER, STATE_FORMAT};

/// Seconds from an arbitrary fixed origin. Passed in because the clock differs between a
/// native process and a browser worker.
pub type Clock = fn() -> f64;

/// Windows evaluated per forward pass when computing metrics.
const EVAL_BATCH: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid run config: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("data: {0}")]
    Data(#[from] crate::data::windows::DataError),
    #[error(
        "step {step}: the {what} is not finite (NaN or infinity). The learning rate ({lr}) is \
         probably too high for this model: lower it and train again. Training stopped; the \
         weights are those before step {step}."
    )]
    NonFinite { step: u64, what: String, lr: f64 },
    #[error("the run has finished all {0} epochs")]
    Finished(usize),
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
}

/// What one step did.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// 1-based step count over the whole run.
    pub step: u64,
    /// 1-based epoch this step belongs to.
    pub epoch: usize,
    /// Steps done in this epoch / steps an epoch has.
    pub step_in_epoch: usize,
    pub steps_per_epoch: usize,
    pub loss: f32,
    pub batch_size: usize,
    /// Metrics, when this step finished an epoch.
    pub epoch_end: Option<EpochMetrics>,
    /// Where the step's time went (seconds by the trainer's clock), for profiling.
    pub phases: StepPhases,
}

/// Seconds spent in each part of one optimiser step.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepPhases {
    /// Gathering the batch's windows into tensors.
    pub batch: f64,
    /// Forward pass and loss.
    pub forward: f64,
    pub backward: f64,
    /// Gradient check and Adam update.
    pub optimizer: f64,
}

pub struct Trainer {
    cfg: RunConfig,
    model: Model,
    adam: Adam,
    split: Split,
    baselines: Baselines,
    device: Device,
    clock: Clock,
    shuffle_rng: Rng,
    dropout_rng: Rng,
    /// Training-window order of the current epoch and how far into it we are.
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    epoch_loss: f64,
    epoch_steps: usize,
    epoch_started: f64,
    step: u64,
    history: Vec<EpochMetrics>,
    step_losses: Vec<f32>,
    best: Option<(usize, Snapshot)>,
    failed: Option<String>,
}

impl Trainer {
    /// Sets up a run on all windows of a dataset: applies the sample and split, builds the
    /// model with its seeded initial weights, and scores the baselines.
    pub fn new(
        cfg: &RunConfig,
        windows: &Windows,
        device: &Device,
        clock: Clock,
    ) -> Result<Self, TrainError> {
        cfg.validate()?;
        if windows.context() != cfg.context {
            return Err(crate::data::windows::DataError::Context {
                found: windows.context(),
                wanted: cfg.context,
            }
            .into());
        }
        let split = Split::new(windows, cfg)?;
        let model = Model::new(cfg, windows.dim(), device)?;
        let baselines = Baselines::compute(&split.train, &split.val);
        Ok(Self {
            adam: Adam::new(cfg.lr, cfg.beta1, cfg.beta2, cfg.eps),
            cfg: cfg.clone(),
            model,
            baselines,
            device: device.clone(),
            clock,
            shuffle_rng: Rng::stream(cfg.seed, Stream::Shuffle),
            dropout_rng: Rng::stream(cfg.seed, Stream::Dropout),
            order: Vec::new(),
            cursor: split.train.len(), // an epoch starts on the first step
            split,
            epoch: 0,
            epoch_loss: 0.0,
            epoch_steps: 0,
            epoch_started: 0.0,
            step: 0,
            history: Vec::new(),
            step_losses: Vec::new(),
            best: None,
            failed: None,
        })
    }

    pub fn config(&self) -> &RunConfig {
        &self.cfg
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn split(&self) -> &Split {
        &self.split
    }

    pub fn baselines(&self) -> &Baselines {
        &self.baselines
    }

    pub fn history(&self) -> &[EpochMetrics] {
        &self.history
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.split.train.len().div_ceil(self.cfg.batch)
    }

    pub fn total_steps(&self) -> u64 {
        (self.steps_per_epoch() * self.cfg.epochs) as u64
    }

    pub fn steps_done(&self) -> u64 {
        self.step
    }

    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.history.len()
    }

    /// Every epoch done, or stopped early: `patience` epochs have passed without a new best
    /// validation cosine.
    pub fn is_finished(&self) -> bool {
        self.history.len() >= self.cfg.epochs || self.stopped_early()
    }

    /// Whether `patience` stopped the run before its last epoch (epochs since the best one
    /// reached it).
    pub fn stopped_early(&self) -> bool {
        let done = self.history.len();
        match (&self.best, self.cfg.patience) {
            (Some((best, _)), patience) if patience > 0 => {
                done < self.cfg.epochs && done - best >= patience
            }
            _ => false,
        }
    }

    /// The learning rate of optimiser step `step` (1-based): the configured one, ramped up
    /// linearly over the first `warmup` steps (lr · step / warmup).
    pub fn lr_at(cfg: &RunConfig, step: u64) -> f64 {
        if cfg.warmup == 0 || step >= cfg.warmup as u64 {
            cfg.lr
        } else {
            cfg.lr * step as f64 / cfg.warmup as f64
        }
    }

    /// The best epoch so far (1-based) and its metrics.
    pub fn best_epoch(&self) -> Option<&EpochMetrics> {
        let (epoch, _) = self.best.as_ref()?;
        self.history.get(epoch - 1)
    }

    /// One optimiser step on the next batch; finishing an epoch evaluates it.
    pub fn step(&mut self) -> Result<StepReport, TrainError> {
        if let Some(msg) = &self.failed {
            return Err(TrainError::NonFinite {
                step: self.step + 1,
                what: msg.clone(),
                lr: self.cfg.lr,
            });
        }
        if self.is_finished() {
            return Err(TrainError::Finished(self.cfg.epochs));
        }
        if self.cursor >= self.order.len() {
            self.order = (0..self.split.train.len()).collect();
            self.shuffle_rng.shuffle(&mut self.order);
            self.cursor = 0;
            self.epoch += 1;
            self.epoch_loss = 0.0;
            self.epoch_steps = 0;
            self.epoch_started = (self.clock)();
        }
        let t0 = (self.clock)();
        let end = (self.cursor + self.cfg.batch).min(self.order.len());
        let (x, y) = self
            .split
            .train
            .batch(&self.order[self.cursor..end], &self.device)?;
        let batch_size = end - self.cursor;
        let t1 = (self.clock)();

        let pred = self
            .model
            .forward(&x, &mut Mode::Train(&mut self.dropout_rng))?;
        let loss = match self.cfg.loss {
            LossKind::Cosine => cosine_loss(&pred, &y)?,
            LossKind::Infonce => infonce_loss(&pred, &y, self.cfg.temperature)?,
        };
        let loss_value = loss.to_scalar::<f32>()?;
        if !loss_value.is_finite() {
            return Err(self.fail("loss".to_string()));
        }
        let t2 = (self.clock)();
        let grads = loss.backward()?;
        let t3 = (self.clock)();
        self.adam.lr = Self::lr_at(&self.cfg, self.step + 1);
        if let Err(bad) = self.adam.step(self.model.params(), &grads)? {
            return Err(self.fail(format!("gradient of {}", bad.param)));
        }
        let phases = StepPhases {
            batch: t1 - t0,
            forward: t2 - t1,
            backward: t3 - t2,
            optimizer: (self.clock)() - t3,
        };
        self.step += 1;
        self.step_losses.push(loss_value);
        self.cursor = end;
        self.epoch_loss += loss_value as f64;
        self.epoch_steps += 1;
        let epoch_end = if self.cursor >= self.order.len() {
            Some(self.finish_epoch()?)
        } else {
            None
        };
        Ok(StepReport {
            step: self.step,
            epoch: self.epoch,
            step_in_epoch: self.epoch_steps,
            steps_per_epoch: self.steps_per_epoch(),
            loss: loss_value,
            batch_size,
            epoch_end,
            phases,
        })
    }

    fn fail(&mut self, what: String) -> TrainError {
        self.failed = Some(what.clone());
        TrainError::NonFinite {
            step: self.step + 1,
            what,
            lr: self.cfg.lr,
        }
    }

    /// Steps until the current epoch ends (or the run is finished), returning its metrics.
    pub fn run_epoch(&mut self) -> Result<EpochMetrics, TrainError> {
        loop {
            if let Some(m) = self.step()?.epoch_end {
                return Ok(m);
            }
        }
    }

    fn finish_epoch(&mut self) -> Result<EpochMetrics, TrainError> {
        let train_seconds = (self.clock)() - self.epoch_started;
        let val_pred = self.predict(&self.split.val)?;
        let val_cos = row_cosines(&val_pred, &self.split.val);
        let train_pred = self.predict(&self.split.train)?;
        let train_cos = row_cosines(&train_pred, &self.split.train);
        let metrics = EpochMetrics {
            epoch: self.epoch,
            train_loss: (self.epoch_loss / self.epoch_steps.max(1) as f64) as f32,
            train_cosine: CosineSummary::of(&train_cos).mean,
            val: CosineSummary::of(&val_cos),
            prediction_similarity: mean_pairwise_cosine(&val_pred, self.model.dim()),
            seconds: train_seconds,
            samples_per_second: self.split.train.len() as f64 / train_seconds.max(1e-9),
        };
        let better = match self.best_epoch() {
            Some(best) => metrics.val.mean > best.val.mean,
            None => true,
        };
        if better {
            self.best = Some((self.epoch, self.model.params().snapshot()?));
        }
        self.history.push(metrics.clone());
        Ok(metrics)
    }

    /// The model's predictions (evaluation mode) for every window of `windows`.
    pub fn predict(&self, windows: &Windows) -> Result<Vec<f32>, TrainError> {
        predict(&self.model, windows, &self.device)
    }

    /// The run so far, as the JSON run log records it.
    pub fn log(&self) -> RunLog {
        RunLog {
            config: self.cfg.clone(),
            params: self.model.param_count(),
            train_windows: self.split.train.len(),
            val_windows: self.split.val.len(),
            baselines: self.baselines.clone(),
            epochs: self.history.clone(),
            best_epoch: self.best.as_ref().map(|(e, _)| *e),
            step_losses: self.step_losses.clone(),
            retrieval: None,
        }
    }

    /// Retrieval@1 and @10 of the model's current validation predictions among all rows of
    /// the data (for a dataset: every sentence).
    pub fn retrieval(&self) -> Result<Retrieval, TrainError> {
        retrieval(&self.model, &self.split.val, &self.device)
    }

    /// The best epoch's weights (the study keeps the best validation epoch).
    pub fn best_weights(&self) -> Option<&Snapshot> {
        self.best.as_ref().map(|(_, s)| s)
    }

    /// Puts the best epoch's weights into the model.
    pub fn restore_best(&self) -> Result<(), TrainError> {
        if let Some((_, snapshot)) = &self.best {
            self.model.params().restore(snapshot)?;
        }
        Ok(())
    }
}

/// A model's predictions (evaluation mode, batches of 256) for every window, row-major
/// `[len, dim]`.
pub fn predict(model: &Model, windows: &Windows, device: &Device) -> Result<Vec<f32>, TrainError> {
    let mut out = Vec::with_capacity(windows.len() * model.dim());
    let indices: Vec<usize> = (0..windows.len()).collect();
    for chunk in indices.chunks(EVAL_BATCH) {
        let (x, _) = windows.batch(chunk, device)?;
        let pred = model.forward(&x, &mut Mode::Eval)?;
        with_f32(&pred, |p| out.extend_from_slice(p))?;
    }
    Ok(out)
}

/// Retrieval@1 and @10 of a model's predictions for `windows` among all rows of their data
/// (for a dataset: every sentence). Native only in practice: it scores every window against
/// every row, which is too slow for the page.
pub fn retrieval(
    model: &Model,
    windows: &Windows,
    device: &Device,
) -> Result<Retrieval, TrainError> {
    let pred = predict(model, windows, device)?;
    let truth: Vec<usize> = (0..windows.len()).map(|i| windows.target_row(i)).collect();
    let r = crate::train::retrieval::retrieval_at(
        windows.rows(),
        windows.dim(),
        &pred,
        &truth,
        &[1, 10],
    )?;
    Ok(Retrieval {
        at_1: r[0],
        at_10: r[1],
    })
}

/// Validation metrics of a model on a split: what `lvm eval` and a loaded checkpoint report.
pub fn evaluate(model: &Model, split: &Split, device: &Device) -> Result<Evaluation, TrainError> {
    let pred = predict(model, &split.val, device)?;
    Ok(Evaluation {
        val: CosineSummary::of(&row_cosines(&pred, &split.val)),
        prediction_similarity: mean_pairwise_cosine(&pred, model.dim()),
        baselines: Baselines::compute(&split.train, &split.val),
    })
}

/// A model's validation metrics next to the baselines.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Evaluation {
    pub val: CosineSummary,
    pub prediction_similarity: f32,
    pub baselines: Baselines,
}

/// Cosine of each predicted row with its window's target.
fn row_cosines(pred: &[f32], windows: &Windows) -> Vec<f32> {
    pred.chunks_exact(windows.dim())
        .enumerate()
        .map(|(i, p)| cosine(p, windows.target_of(i)))
        .collect()
}
