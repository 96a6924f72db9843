//! The messages of a training driven by messages: commands from the page, events back,
//! and why a run failed. Plain data, so the session, the page–worker protocol and the page
//! all speak them without knowing each other.

use crate::data::cosine::{Baselines, CosineSummary};
use crate::data::dataset::Neighbour;
use crate::train::log::{EpochMetrics, RunLog};
use crate::train::TrainError;
use serde::{Deserialize, Serialize};

/// From the page to a run (read from JSON by `ToWorker::from_json`, the one decoder).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Command {
    /// Train until paused, stopped or finished.
    Run,
    Pause,
    /// One optimiser step, then pause.
    Step,
    /// End the run for good; its best epoch is kept.
    Stop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    Paused,
    Running,
    /// Stopped by the user before the last epoch.
    Stopped,
    Finished,
    Failed,
}

impl RunState {
    /// Stopped, finished or failed: nothing more will happen to the run.
    pub fn is_over(self) -> bool {
        matches!(
            self,
            RunState::Stopped | RunState::Finished | RunState::Failed
        )
    }
}

/// From a run to the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Event {
    /// Sent once, before any step.
    Started {
        config: String,
        params: usize,
        train_windows: usize,
        val_windows: usize,
        steps_per_epoch: usize,
        total_steps: u64,
        baselines: Baselines,
    },
    /// Every few steps while training.
    Progress {
        step: u64,
        epoch: usize,
        step_in_epoch: usize,
        steps_per_epoch: usize,
        loss: f32,
        samples_per_second: f64,
    },
    Epoch {
        metrics: EpochMetrics,
        best_epoch: Option<usize>,
    },
    /// After every epoch (and for loaded weights): what the model predicts for a few
    /// validation windows.
    Examples {
        examples: Vec<Example>,
    },
    /// Weights loaded from a checkpoint, evaluated on their own run's validation windows.
    Pretrained {
        config: String,
        params: usize,
        val_windows: usize,
        val: CosineSummary,
        prediction_similarity: f32,
        baselines: Baselines,
        /// The run log stored with the weights: how they were trained.
        log: Option<Box<RunLog>>,
    },
    /// Sent after `Started` when the run continues a saved state: what it had done.
    Resumed {
        log: Box<RunLog>,
    },
    /// After an epoch: the run's state was stored in the browser (`bytes`), or why not (the
    /// run trains on either way).
    Saved {
        epoch: usize,
        result: Result<u64, String>,
    },
    /// What the model predicts after the user's own sentences ("continue my text"), or why
    /// it cannot (the run goes on either way).
    Continued {
        result: Result<Continuation, String>,
    },
    State {
        state: RunState,
    },
    Failed {
        cause: Cause,
        message: String,
    },
}

impl Event {
    /// A training error as the page sees it: why, in a type, and in words.
    pub fn failed(e: &TrainError) -> Self {
        let cause = match e {
            TrainError::Config(_) => Cause::Config,
            TrainError::Data(_) => Cause::CorruptData,
            TrainError::NonFinite { .. } => Cause::NonFinite,
            TrainError::Finished(_) => Cause::Protocol,
            TrainError::Candle(_) => Cause::Worker,
        };
        Event::Failed {
            cause,
            message: e.to_string(),
        }
    }
}

/// One validation window and a model's prediction for it, as row indices of the dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// The context sentences, oldest first.
    pub context: Vec<usize>,
    /// The true next sentence.
    pub target: usize,
    /// Cosine of the prediction with the true next sentence.
    pub cosine: f32,
    /// The dataset sentences nearest the prediction, best first.
    pub nearest: Vec<Neighbour>,
}

/// A model's guess at the sentence after the user's own, as the dataset sentences nearest it,
/// next to copy-last's (the nearest to the last sentence typed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    /// The dataset sentences nearest the model's prediction, best first.
    pub nearest: Vec<Neighbour>,
    /// The dataset sentences nearest the last sentence typed, best first.
    pub copy_last: Vec<Neighbour>,
}

/// Why a run failed, so the page can act on it (a corrupt download is evicted from the
/// cache) without reading the message's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// The run config cannot be used.
    Config,
    /// The dataset's files are damaged (a NaN in the vectors, a bad manifest).
    CorruptData,
    /// A NaN or infinity in a loss or gradient.
    NonFinite,
    /// Pretrained weights that cannot be used on this data.
    Weights,
    /// A message the worker cannot read, or one it cannot act on now.
    Protocol,
    /// The worker itself: a panic, out of memory, a message that could not be sent.
    Worker,
}
