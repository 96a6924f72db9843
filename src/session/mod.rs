//! A training run driven by messages: the protocol between the page and a run's worker.
//!
//! Plain Rust, so it is tested natively; the browser worker only moves these messages across
//! `postMessage` as JSON and calls [`Session::work`] between messages, which is what lets the
//! page pause, resume, single-step and stop a run between any two optimiser steps.
//! `messages` holds what the page and a run say to each other, `protocol` the page–worker
//! envelope around them.

pub mod messages;
pub mod protocol;

use crate::config::RunConfig;
use crate::data::dataset::{nearest, Dataset};
use crate::data::windows::{Split, Windows};
use crate::models::Model;
use crate::session::messages::{Command, Continuation, Event, Example, RunState};
use crate::train::checkpoint::{self, Checkpoint, Precision};
use crate::train::{evaluate, predict, Clock, TrainError, Trainer};
use candle_core::Device;

/// Validation windows shown as examples, and nearest sentences listed for each prediction.
pub const EXAMPLES: usize = 3;
pub const NEIGHBOURS: usize = 3;

/// Which validation windows serve as examples: evenly spread, the same for every model.
pub fn example_windows(val_len: usize) -> Vec<usize> {
    (0..EXAMPLES.min(val_len))
        .map(|k| (2 * k + 1) * val_len / (2 * EXAMPLES))
        .collect()
}

/// The model's predictions for the example windows of `val`.
pub fn examples(model: &Model, val: &Windows, device: &Device) -> Result<Vec<Example>, TrainError> {
    let picks = example_windows(val.len());
    let windows = val.select(&picks);
    let pred = predict(model, &windows, device)?;
    let dim = val.dim();
    Ok(pred
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, p)| {
            let target = windows.target_row(i);
            Example {
                context: (target - windows.context()..target).collect(),
                target,
                cosine: crate::data::cosine::cosine(p, windows.target_of(i)),
                nearest: nearest(windows.rows(), dim, p, NEIGHBOURS),
            }
        })
        .collect())
}

/// The model's continuation of `typed` (the user's sentence vectors, row-major, oldest
/// first; it reads the last `context`), searched among `rows` (the dataset's vectors).
pub fn continuation(
    model: &Model,
    context: usize,
    typed: &[f32],
    rows: &[f32],
    device: &Device,
) -> Result<Continuation, String> {
    let dim = model.dim();
    let n = typed.len() / dim.max(1);
    if typed.len() != n * dim {
        return Err(format!(
            "{} numbers are not whole {dim}-D sentence vectors",
            typed.len()
        ));
    }
    if n < context {
        return Err(format!(
            "this model reads {context} sentences; the text has {n}"
        ));
    }
    // One window: the last `context` sentences and a stand-in target (never looked at).
    let last = &typed[(n - 1) * dim..];
    let mut stream = typed[(n - context) * dim..].to_vec();
    stream.extend_from_slice(last);
    let window = Windows::from_stream(stream, dim, context).map_err(|e| e.to_string())?;
    let prediction = predict(model, &window, device).map_err(|e| e.to_string())?;
    Ok(Continuation {
        nearest: nearest(rows, dim, &prediction, NEIGHBOURS),
        copy_last: nearest(rows, dim, last, NEIGHBOURS),
    })
}

/// A run's results in the three forms the page exports.
pub struct Export {
    /// safetensors (float32), best epoch's weights, config and log in the metadata.
    pub weights: Vec<u8>,
    pub log_json: String,
    pub log_csv: String,
}

/// Loads a checkpoint and evaluates it on its own run's split of `all` (windows of its context
/// length over the dataset it names): the events the page shows for "Load pretrained".
pub fn evaluate_checkpoint(ckpt: Checkpoint, all: &Windows) -> Result<Vec<Event>, String> {
    if ckpt.dim != all.dim() {
        return Err(format!(
            "the weights read {}-D vectors; this dataset has {}-D vectors",
            ckpt.dim,
            all.dim()
        ));
    }
    if ckpt.config.context != all.context() {
        return Err(format!(
            "the weights read {} sentences of context; the windows given have {}",
            ckpt.config.context,
            all.context()
        ));
    }
    let config = ckpt.config.clone();
    let log = ckpt.log.clone().map(Box::new);
    let device = Device::Cpu;
    let model = ckpt.into_model(&device).map_err(|e| e.to_string())?;
    let split = Split::new(all, &config).map_err(|e| e.to_string())?;
    let eval = evaluate(&model, &split, &device).map_err(|e| e.to_string())?;
    let examples = examples(&model, &split.val, &device).map_err(|e| e.to_string())?;
    Ok(vec![
        Event::Pretrained {
            config: config.to_query(),
            params: model.param_count(),
            val_windows: split.val.len(),
            val: eval.val,
            prediction_similarity: eval.prediction_similarity,
            baselines: eval.baselines,
            log,
        },
        Event::Examples { examples },
    ])
}

pub struct Session {
    trainer: Trainer,
    state: RunState,
    clock: Clock,
    /// A progress event every this many steps (and after every single step).
    report_every: u64,
    /// Clock and samples at the last progress event, for samples/s.
    since: (f64, usize),
    samples: usize,
}

impl Session {
    /// A paused session training `config` on `dataset`, and the event that describes it:
    /// what the worker and the JS API both start from. The trainer reports every step.
    pub fn on(
        config: &RunConfig,
        dataset: &Dataset,
        clock: Clock,
    ) -> Result<(Self, Event), TrainError> {
        let windows = dataset.windows(config.context)?;
        let trainer = Trainer::new(config, &windows, &Device::Cpu, clock)?;
        Ok(Self::new(trainer, clock, 1))
    }

    /// A run saved with `save_state` continued on the same dataset: the same bits as a run
    /// that never stopped.
    pub fn resumed_on(
        state: &[u8],
        dataset: &Dataset,
        clock: Clock,
    ) -> Result<(Self, Event), String> {
        let config = crate::train::saved_config(state).map_err(|e| e.to_string())?;
        let windows = dataset.windows(config.context).map_err(|e| e.to_string())?;
        let trainer =
            Trainer::resume(state, &windows, &Device::Cpu, clock).map_err(|e| e.to_string())?;
        Ok(Self::new(trainer, clock, 1))
    }

    /// A paused session for `trainer`, and the event that describes it.
    pub fn new(trainer: Trainer, clock: Clock, report_every: u64) -> (Self, Event) {
        let started = Event::Started {
            config: trainer.config().to_query(),
            params: trainer.model().param_count(),
            train_windows: trainer.split().train.len(),
            val_windows: trainer.split().val.len(),
            steps_per_epoch: trainer.steps_per_epoch(),
            total_steps: trainer.total_steps(),
            baselines: trainer.baselines().clone(),
        };
        let session = Self {
            trainer,
            state: RunState::Paused,
            clock,
            report_every: report_every.max(1),
            since: (clock(), 0),
            samples: 0,
        };
        (session, started)
    }

    pub fn state(&self) -> RunState {
        self.state
    }

    /// What a run continued from a saved state had done (`Event::Resumed`).
    pub fn resumed(&self) -> Event {
        Event::Resumed {
            log: Box::new(self.trainer.log()),
        }
    }

    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    /// The run so far: the best epoch's weights (the current ones before the first epoch
    /// ends), and the log as JSON and CSV.
    pub fn export(&self) -> Result<Export, TrainError> {
        let model = self.trainer.model();
        let current;
        let weights = match self.trainer.best_weights() {
            Some(best) => best,
            None => {
                current = model.params().snapshot()?;
                &current
            }
        };
        let log = self.trainer.log();
        let bytes = checkpoint::save(
            self.trainer.config(),
            model.dim(),
            weights,
            Some(&log),
            Precision::F32,
        )
        .map_err(|e| TrainError::Candle(candle_core::Error::Msg(e.to_string())))?;
        Ok(Export {
            weights: bytes,
            log_json: serde_json::to_string_pretty(&log).unwrap_or_default(),
            log_csv: log.to_csv(),
        })
    }

    /// The model's continuation of the user's sentence vectors, with its current weights.
    pub fn continuation(&self, typed: &[f32]) -> Event {
        let t = &self.trainer;
        Event::Continued {
            result: continuation(
                t.model(),
                t.config().context,
                typed,
                t.split().train.rows(),
                &Device::Cpu,
            ),
        }
    }

    /// Applies a command. A run that is over ignores everything and says so.
    pub fn command(&mut self, command: Command) -> Vec<Event> {
        if self.state.is_over() {
            return vec![Event::State { state: self.state }];
        }
        match command {
            Command::Run => self.set(RunState::Running),
            Command::Pause => self.set(RunState::Paused),
            Command::Stop => self.set(RunState::Stopped),
            Command::Step => {
                let mut events = self.set(RunState::Paused);
                events.extend(self.advance(1, true));
                events
            }
        }
    }

    /// Trains up to `max_steps` steps if running; the worker calls this between messages.
    pub fn work(&mut self, max_steps: usize) -> Vec<Event> {
        if self.state != RunState::Running {
            return Vec::new();
        }
        self.advance(max_steps, false)
    }

    fn set(&mut self, state: RunState) -> Vec<Event> {
        if self.state == state {
            return Vec::new();
        }
        self.state = state;
        if state == RunState::Running {
            self.since = ((self.clock)(), self.samples);
        }
        vec![Event::State { state }]
    }

    fn advance(&mut self, max_steps: usize, report_each: bool) -> Vec<Event> {
        let mut events = Vec::new();
        for _ in 0..max_steps {
            match self.trainer.step() {
                Ok(r) => {
                    self.samples += r.batch_size;
                    if report_each || r.step % self.report_every == 0 || r.epoch_end.is_some() {
                        let now = (self.clock)();
                        let (t0, s0) = self.since;
                        events.push(Event::Progress {
                            step: r.step,
                            epoch: r.epoch,
                            step_in_epoch: r.step_in_epoch,
                            steps_per_epoch: r.steps_per_epoch,
                            loss: r.loss,
                            samples_per_second: (self.samples - s0) as f64 / (now - t0).max(1e-9),
                        });
                        self.since = (now, self.samples);
                    }
                    if let Some(metrics) = r.epoch_end {
                        events.push(Event::Epoch {
                            metrics,
                            best_epoch: self.trainer.best_epoch().map(|m| m.epoch),
                        });
                        match examples(
                            self.trainer.model(),
                            &self.trainer.split().val,
                            &Device::Cpu,
                        ) {
                            Ok(examples) => events.push(Event::Examples { examples }),
                            Err(e) => events.push(Event::failed(&e)),
                        }
                    }
                    if self.trainer.is_finished() {
                        events.extend(self.set(RunState::Finished));
                        break;
                    }
                }
                Err(TrainError::Finished(_)) => {
                    events.extend(self.set(RunState::Finished));
                    break;
                }
                Err(e) => {
                    events.push(Event::failed(&e));
                    events.extend(self.set(RunState::Failed));
                    break;
                }
            }
        }
        events
    }
}
