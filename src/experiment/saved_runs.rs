//! Runs saved in the browser: after every epoch a training worker stores its run's whole
//! training state (`Trainer::save_state`, the bytes `lvm train` writes as `state.safetensors`)
//! in the origin's private file system, so a reload, a closed tab or a dead worker loses at
//! most the epoch in progress. This is what the page and the worker agree on: where a run is
//! stored, and what the page shows of it, read from the state's header alone.

use crate::config::RunConfig;
use crate::experiment::card::{Phase, Source, Training};
use crate::session::messages::RunState;
use crate::train::log::RunLog;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The folder of the origin private file system that holds the saved runs.
pub const DIR: &str = "runs";

/// The file a run is saved in: named after its whole config (dataset and seed included), so
/// a link names its saved runs and two runs never share a file.
pub fn file_name(config: &RunConfig) -> String {
    format!(
        "{:x}.safetensors",
        Sha256::digest(config.to_query().as_bytes())
    )
}

/// What the page knows of one saved run.
#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    /// Epochs done when it was saved.
    pub epochs: usize,
    /// Epochs its config asks for.
    pub of: usize,
    /// The file's size.
    pub bytes: u64,
}

impl Saved {
    /// A run that patience stopped is finished: it has as many epochs as it will have.
    pub fn from_log(log: &RunLog, bytes: u64) -> Self {
        Self {
            epochs: log.epochs.len(),
            of: if log.stopped_early() {
                log.epochs.len()
            } else {
                log.config.epochs
            },
            bytes,
        }
    }

    pub fn is_finished(&self) -> bool {
        self.epochs >= self.of
    }
}

/// The runs saved in this browser, as the page lists them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SavedRuns {
    /// By file name.
    pub runs: HashMap<String, Saved>,
    /// Files that could not be read as a saved run, and their bytes.
    pub unreadable: Vec<(String, u64)>,
    /// Why the storage could not be listed at all.
    pub error: Option<String>,
}

impl SavedRuns {
    /// What a run's config has saved.
    pub fn of(&self, config: &RunConfig) -> Option<&Saved> {
        self.runs.get(&file_name(config))
    }

    /// A worker's report that it saved `config`'s run after `epoch` in `bytes`.
    pub fn record(&mut self, config: &RunConfig, epoch: usize, bytes: u64) {
        let saved = Saved {
            epochs: epoch,
            of: config.epochs,
            bytes,
        };
        self.runs.insert(file_name(config), saved);
    }

    /// The line beside "Forget saved runs".
    pub fn describe(&self) -> String {
        if let Some(e) = &self.error {
            return format!("Saved runs cannot be listed: {e}.");
        }
        let bytes = self.runs.values().map(|s| s.bytes).sum::<u64>()
            + self.unreadable.iter().map(|(_, b)| b).sum::<u64>();
        let mut line = describe_all(self.runs.len() + self.unreadable.len(), bytes);
        if !self.unreadable.is_empty() {
            line.push_str(&format!(
                " {} of them cannot be read (a damaged file); forgetting removes it.",
                self.unreadable.len()
            ));
        }
        line
    }
}

/// What a card shows of its seeds' saved runs (`stored`, in the order of its seeds): the label
/// of its resume button when resuming is offered, and the line about saving.
///
/// Resuming is offered while none of the card's trainings holds a worker and they have not all
/// finished here: after a reload, a crash, a stop.
pub fn card_view(trainings: &[&Training], stored: &[Option<&Saved>]) -> (Option<String>, String) {
    let found: Vec<&Saved> = stored.iter().flatten().copied().collect();
    let finished_here = !trainings.is_empty()
        && trainings
            .iter()
            .all(|t| t.phase == Phase::Run(RunState::Finished) && matches!(t.source, Source::Live));
    let offered = !trainings.iter().any(|t| t.is_active()) && !finished_here;
    let label = resume_label(&found).filter(|_| offered);
    let failed = trainings
        .iter()
        .find_map(|t| t.saved.as_ref().and_then(|s| s.as_ref().err()));
    let resumed = trainings
        .first()
        .and_then(|t| t.resumed_from)
        .map_or(String::new(), |n| format!(" Resumed from epoch {n}."));
    let line = match (failed, trainings.first().and_then(|t| t.saved.as_ref())) {
        (Some(e), _) => e.clone(),
        (None, Some(Ok((epoch, bytes)))) => format!(
            "Saved in this browser after epoch {epoch} ({}).{resumed}",
            megabytes(*bytes)
        ),
        _ if !resumed.is_empty() => resumed.trim_start().to_string(),
        _ => match found.first() {
            Some(s) => format!(
                "Saved in this browser: epoch {} of {} ({}).",
                s.epochs,
                s.of,
                megabytes(s.bytes)
            ),
            None => String::new(),
        },
    };
    (label, line)
}

/// The label of a card's button for its seeds' saved runs (each resumes from its own epoch;
/// the label names the earliest).
pub fn resume_label(saved: &[&Saved]) -> Option<String> {
    let earliest = saved.iter().map(|s| s.epochs).min()?;
    Some(if saved.iter().all(|s| s.is_finished()) {
        format!("Reopen saved run ({earliest} epochs, finished)")
    } else {
        format!("Resume from epoch {earliest}")
    })
}

/// "2 saved runs, 18.3 MB", for the line beside "Forget saved runs".
pub fn describe_all(files: usize, bytes: u64) -> String {
    match files {
        0 => "No runs saved in this browser.".to_string(),
        1 => format!("1 saved run, {}.", megabytes(bytes)),
        n => format!("{n} saved runs, {}.", megabytes(bytes)),
    }
}

pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The message a failed save of `bytes` shows: the run trains on, unsaved. `error` is the
/// browser's (a `DOMException`'s name and message), `free` what its storage estimate leaves
/// (a full quota comes as a `QuotaExceededError`, or as an `AbortError` of the write).
pub fn not_saved(error: &str, bytes: u64, free: Option<u64>) -> String {
    let full = error.contains("QuotaExceeded") || free.is_some_and(|f| f < bytes);
    let why = if full {
        let room = match free {
            Some(f) if f < bytes => format!(", {} free", megabytes(f)),
            _ => String::new(),
        };
        format!(
            "the browser's storage for this page is full (the run's state is {}{room}); \
             \"Forget saved runs\" frees what saved runs hold",
            megabytes(bytes)
        )
    } else if error.contains("Security") || error.contains("NotAllowed") {
        "this browser gives the page no storage (a private window or a site setting may \
         forbid it)"
            .to_string()
    } else {
        format!("the browser could not store it: {error}")
    };
    unsaved(&why)
}

/// Why a training does not save: the same run (the same link in another tab, say) is
/// training elsewhere in this browser and owns the saved file (`lock_name`).
pub const OWNED_ELSEWHERE: &str = "another tab of this browser is training this same run and \
     saves it; this tab's training would overwrite it, so it does not save until that one \
     stops";

/// The Web Lock that a training holds while it owns the saved file `file` (`file_name`).
pub fn lock_name(file: &str) -> String {
    format!("lvm-playground/{DIR}/{file}")
}

/// What a card says when its run's state could not be saved, for `why`.
pub fn unsaved(why: &str) -> String {
    format!("Not saved: {why}. Training goes on unsaved.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_names_one_file_and_labels_say_what_resuming_does() {
        let a = RunConfig::from_query("model=mlp&seed=1").unwrap();
        let b = RunConfig::from_query("model=mlp&seed=2").unwrap();
        assert_ne!(file_name(&a), file_name(&b));
        // The same run however its link was written.
        let a2 = RunConfig::from_query("seed=1&model=mlp").unwrap();
        assert_eq!(file_name(&a), file_name(&a2));
        assert_eq!(file_name(&a).len(), 64 + ".safetensors".len());

        let one = Saved {
            epochs: 1,
            of: 3,
            bytes: 1,
        };
        let two = Saved {
            epochs: 2,
            of: 3,
            bytes: 1,
        };
        let done = Saved {
            epochs: 3,
            of: 3,
            bytes: 1,
        };
        assert_eq!(resume_label(&[]), None);
        assert_eq!(resume_label(&[&two, &one]).unwrap(), "Resume from epoch 1");
        assert_eq!(
            resume_label(&[&done]).unwrap(),
            "Reopen saved run (3 epochs, finished)"
        );
        assert_eq!(describe_all(0, 0), "No runs saved in this browser.");
        assert_eq!(describe_all(2, 18_345_678), "2 saved runs, 18.3 MB.");
        assert_eq!(
            not_saved("QuotaExceededError: …", 20_000_000, Some(1 << 40)),
            "Not saved: the browser's storage for this page is full (the run's state is 20.0 \
             MB); \"Forget saved runs\" frees what saved runs hold. Training goes on unsaved."
        );
        let aborted = not_saved("AbortError: data pipe", 20_000_000, Some(900_000));
        assert!(aborted.contains("is full (the run's state is 20.0 MB, 0.9 MB free)"));
        assert!(not_saved("AbortError: x", 20, Some(900_000)).contains("could not store it: Abort"));
        assert!(not_saved("SecurityError: no", 1, None).contains("no storage"));
        assert!(
            not_saved("InvalidStateError: x", 1, None).ends_with("x. Training goes on unsaved.")
        );
    }

    #[test]
    fn a_card_offers_resuming_when_no_worker_holds_its_run() {
        let cfg = RunConfig::from_query("model=mlp&epochs=3").unwrap();
        let stored = Saved {
            epochs: 1,
            of: 3,
            bytes: 2_500_000,
        };
        let at = [Some(&stored)];
        // After a reload: nothing trained here yet.
        let (label, line) = card_view(&[], &at);
        assert_eq!(label.as_deref(), Some("Resume from epoch 1"));
        assert_eq!(line, "Saved in this browser: epoch 1 of 3 (2.5 MB).");
        assert_eq!(card_view(&[], &[None]), (None, String::new()));

        let mut t = Training::queued(cfg);
        t.phase = Phase::Run(RunState::Running);
        t.saved = Some(Ok((2, 2_600_000)));
        t.resumed_from = Some(1);
        let (label, line) = card_view(&[&t], &at);
        assert_eq!(label, None, "not while its worker trains it");
        assert_eq!(
            line,
            "Saved in this browser after epoch 2 (2.6 MB). Resumed from epoch 1."
        );
        // A crashed worker: offered again.
        t.crashed("the worker crashed".into());
        assert_eq!(
            card_view(&[&t], &at).0.as_deref(),
            Some("Resume from epoch 1")
        );
        // Finished here: nothing to resume.
        t.phase = Phase::Run(RunState::Finished);
        assert_eq!(card_view(&[&t], &at).0, None);
        // A failed save is what the line says, whatever saved before.
        let mut u = t.clone();
        u.saved = Some(Err(not_saved("QuotaExceededError: full", 1, None)));
        assert!(card_view(&[&t, &u], &at)
            .1
            .starts_with("Not saved: the browser's storage"));
    }

    #[test]
    fn the_list_counts_every_file_and_names_unreadable_ones() {
        let cfg = RunConfig::from_query("model=mlp&epochs=10").unwrap();
        let mut all = SavedRuns::default();
        assert_eq!(all.describe(), "No runs saved in this browser.");
        all.record(&cfg, 2, 1_000_000);
        assert_eq!(
            all.of(&cfg),
            Some(&Saved {
                epochs: 2,
                of: 10,
                bytes: 1_000_000
            })
        );
        assert_eq!(all.describe(), "1 saved run, 1.0 MB.");
        all.unreadable.push(("x.safetensors".into(), 500_000));
        assert_eq!(
            all.describe(),
            "2 saved runs, 1.5 MB. 1 of them cannot be read (a damaged file); forgetting removes it."
        );
        all.error = Some("SecurityError: no".into());
        assert!(all.describe().starts_with("Saved runs cannot be listed"));
    }
}
