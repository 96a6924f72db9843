//! What a run reports, epoch by epoch: the JSON run log (also stored in checkpoints).

use crate::data::cosine::{Baselines, CosineSummary};
use serde::{Deserialize, Serialize};

/// Metrics after one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps (with dropout, as trained).
    pub train_loss: f32,
    /// Mean cosine on the training windows, evaluated without dropout.
    pub train_cosine: f32,
    /// Mean cosine on the validation windows and its distribution.
    pub val: CosineSummary,
    /// How similar the model's predictions are to each other (mean pairwise cosine over the
    /// validation predictions): near 1 means the model outputs a constant vector.
    pub prediction_similarity: f32,
    pub seconds: f64,
    pub samples_per_second: f64,
}

/// Everything a run reports, as written to the JSON run log and into checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunLog {
    pub config: crate::config::RunConfig,
    pub params: usize,
    pub train_windows: usize,
    pub val_windows: usize,
    pub baselines: Baselines,
    pub epochs: Vec<EpochMetrics>,
    /// 1-based epoch with the highest validation cosine.
    pub best_epoch: Option<usize>,
    /// The training loss of every step, in order.
    pub step_losses: Vec<f32>,
    /// Retrieval of the true next sentence among all sentences, with the best epoch's weights
    /// (computed once at the end of a run: it costs a pass over the whole stream).
    #[serde(default)]
    pub retrieval: Option<Retrieval>,
}

/// How often the true next sentence is the nearest (or among the 10 nearest) of all the
/// dataset's sentences to the prediction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retrieval {
    pub at_1: f32,
    pub at_10: f32,
}

impl RunLog {
    /// One row per epoch, for a spreadsheet.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "model,epoch,train_loss,train_cosine,val_cosine,prediction_similarity,seconds,samples_per_second,best\n",
        );
        for e in &self.epochs {
            out.push_str(&format!(
                "{},{},{},{},{},{},{:.3},{:.1},{}\n",
                self.config.model,
                e.epoch,
                e.train_loss,
                e.train_cosine,
                e.val.mean,
                e.prediction_similarity,
                e.seconds,
                e.samples_per_second,
                Some(e.epoch) == self.best_epoch
            ));
        }
        out
    }

    /// The best epoch's metrics.
    pub fn best(&self) -> Option<&EpochMetrics> {
        self.epochs.get(self.best_epoch?.checked_sub(1)?)
    }

    /// Whether `patience` ended the run before its last epoch (what `Trainer::stopped_early`
    /// says of the trainer that wrote the log).
    pub fn stopped_early(&self) -> bool {
        let (done, patience) = (self.epochs.len(), self.config.patience);
        match self.best_epoch {
            Some(best) if patience > 0 && done < self.config.epochs => {
                done.saturating_sub(best) >= patience
            }
            _ => false,
        }
    }
}
