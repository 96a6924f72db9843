//! What the page knows of each training (one run, one seed), built from its worker's events,
//! and of each run's card (its seeds together): plain Rust, so the page's bookkeeping is
//! tested natively and the browser layer only moves messages and draws.

use crate::config::RunConfig;
use crate::data::cosine::{Baselines, CosineSummary};
use crate::experiment::ranking::{Entry, Outcome};
use crate::experiment::spread::{band, Spread};
use crate::session::messages::{Continuation, Event, Example, RunState};
use crate::train::log::{EpochMetrics, RunLog};

/// Where a training is.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Waiting for a free worker (at most one a core train at once).
    Queued,
    /// Worker starting, or the dataset or weights still loading.
    Loading(String),
    Run(RunState),
    /// Pretrained weights evaluated.
    Evaluated,
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Started {
    pub params: usize,
    pub train_windows: usize,
    pub val_windows: usize,
    pub steps_per_epoch: usize,
    pub total_steps: u64,
    pub baselines: Baselines,
}

/// The latest progress report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub step: u64,
    pub epoch: usize,
    pub step_in_epoch: usize,
    pub steps_per_epoch: usize,
    pub loss: f32,
    pub samples_per_second: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pretrained {
    pub params: usize,
    pub val_windows: usize,
    pub val: CosineSummary,
    pub prediction_similarity: f32,
    pub baselines: Baselines,
}

/// Where a training's curves come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Trained in this tab.
    Live,
    /// A run log stored with shipped weights, or opened from a file (`lvm train`'s run.json).
    Log(Box<RunLog>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Training {
    pub config: RunConfig,
    pub phase: Phase,
    pub source: Source,
    pub started: Option<Started>,
    pub progress: Option<Progress>,
    pub epochs: Vec<EpochMetrics>,
    pub best_epoch: Option<usize>,
    pub examples: Vec<Example>,
    pub pretrained: Option<Pretrained>,
    /// Threads its worker was given for matrix products (0: it has no worker yet).
    pub threads: usize,
    /// Its model's continuation of the user's text, or why there is none.
    pub continuation: Option<Result<Continuation, String>>,
    /// The last save in the browser: after which epoch and its bytes, or why it failed.
    pub saved: Option<Result<(usize, u64), String>>,
    /// The epoch a saved state it continues had reached.
    pub resumed_from: Option<usize>,
}

impl Training {
    pub fn queued(config: RunConfig) -> Self {
        Self {
            config,
            phase: Phase::Queued,
            source: Source::Live,
            started: None,
            progress: None,
            epochs: Vec::new(),
            best_epoch: None,
            examples: Vec::new(),
            pretrained: None,
            threads: 0,
            continuation: None,
            saved: None,
            resumed_from: None,
        }
    }

    /// A finished run shown from its log, as if it had trained here.
    pub fn from_log(log: RunLog) -> Self {
        let mut t = Self::queued(log.config.clone());
        t.show_log(log);
        t.phase = Phase::Run(RunState::Finished);
        t
    }

    /// Shows a log's curves at once (shipped weights' log, before they are re-evaluated).
    pub fn show_log(&mut self, log: RunLog) {
        self.epochs = log.epochs.clone();
        self.best_epoch = log.best_epoch;
        self.started = Some(Started {
            params: log.params,
            train_windows: log.train_windows,
            val_windows: log.val_windows,
            steps_per_epoch: 0,
            total_steps: log.step_losses.len() as u64,
            baselines: log.baselines.clone(),
        });
        self.source = Source::Log(Box::new(log));
    }

    pub fn is_over(&self) -> bool {
        match self.phase {
            Phase::Run(state) => state.is_over(),
            Phase::Failed(_) | Phase::Evaluated => true,
            Phase::Queued | Phase::Loading(_) => false,
        }
    }

    /// Holding a worker: started and not yet over.
    pub fn is_active(&self) -> bool {
        !matches!(self.phase, Phase::Queued) && !self.is_over()
    }

    /// A crash of the worker; the first, more specific message is kept.
    pub fn crashed(&mut self, message: String) {
        if !matches!(self.phase, Phase::Failed(_)) {
            self.phase = Phase::Failed(message);
        }
    }

    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Started {
                params,
                train_windows,
                val_windows,
                steps_per_epoch,
                total_steps,
                baselines,
                ..
            } => {
                self.started = Some(Started {
                    params,
                    train_windows,
                    val_windows,
                    steps_per_epoch,
                    total_steps,
                    baselines,
                });
                self.phase = Phase::Run(RunState::Paused);
            }
            Event::Progress {
                step,
                epoch,
                step_in_epoch,
                steps_per_epoch,
                loss,
                samples_per_second,
            } => {
                self.progress = Some(Progress {
                    step,
                    epoch,
                    step_in_epoch,
                    steps_per_epoch,
                    loss,
                    samples_per_second,
                })
            }
            Event::Epoch {
                metrics,
                best_epoch,
            } => {
                self.epochs.push(metrics);
                self.best_epoch = best_epoch;
            }
            Event::Examples { examples } => self.examples = examples,
            Event::Continued { result } => self.continuation = Some(result),
            Event::Saved { epoch, result } => self.saved = Some(result.map(|bytes| (epoch, bytes))),
            Event::Resumed { log } => {
                let done = log.epochs.len();
                if let Some(s) = &self.started {
                    self.progress = Some(Progress {
                        step: log.step_losses.len() as u64,
                        epoch: done,
                        step_in_epoch: s.steps_per_epoch,
                        steps_per_epoch: s.steps_per_epoch,
                        loss: log.step_losses.last().copied().unwrap_or(f32::NAN),
                        samples_per_second: 0.0,
                    });
                }
                self.epochs = log.epochs;
                self.best_epoch = log.best_epoch;
                self.resumed_from = Some(done);
            }
            Event::State { state } => {
                if !matches!(self.phase, Phase::Failed(_)) {
                    self.phase = Phase::Run(state);
                }
            }
            // The first failure is the cause; later ones are consequences.
            Event::Failed { message, .. } => self.crashed(message),
            Event::Pretrained {
                params,
                val_windows,
                val,
                prediction_similarity,
                baselines,
                log,
                ..
            } => {
                if let Some(log) = log {
                    if !matches!(self.source, Source::Log(_)) {
                        self.show_log(*log);
                    }
                }
                self.pretrained = Some(Pretrained {
                    params,
                    val_windows,
                    val,
                    prediction_similarity,
                    baselines,
                });
                self.phase = Phase::Evaluated;
            }
        }
    }

    pub fn params(&self) -> Option<usize> {
        self.started
            .as_ref()
            .map(|s| s.params)
            .or(self.pretrained.as_ref().map(|p| p.params))
    }

    pub fn baselines(&self) -> Option<&Baselines> {
        self.pretrained
            .as_ref()
            .map(|p| &p.baselines)
            .or(self.started.as_ref().map(|s| &s.baselines))
    }

    /// The shipped full-data ridge figure for this training's windows, if it has one
    /// (`ridge::shipped`: the tab cannot afford the solve itself).
    pub fn ridge(&self) -> Option<f32> {
        let s = self.started.as_ref()?;
        crate::data::ridge::shipped(&self.config, s.train_windows, s.val_windows)
    }

    /// What the ranking counts: the evaluated figure for loaded weights, else the best epoch.
    pub fn outcome(&self) -> Option<Outcome> {
        let o = match &self.source {
            Source::Live => Outcome::of_epochs(&self.epochs, self.best_epoch),
            // Seconds measured elsewhere, not in this tab.
            Source::Log(log) => Outcome::of_log(log).map(|o| Outcome {
                samples_per_second: None,
                ..o
            }),
        };
        if let Some(p) = &self.pretrained {
            let best_epoch = o.as_ref().map_or(0, |o| o.best_epoch);
            return Some(Outcome {
                best_val: p.val.mean,
                best_epoch,
                prediction_similarity: p.prediction_similarity,
                seconds_per_epoch: None,
                samples_per_second: None,
                retrieval: None,
            });
        }
        o
    }
}

/// The cores the page shares among its trainings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cores {
    /// `navigator.hardwareConcurrency`.
    pub count: usize,
    /// Whether a worker may use several threads (a cross-origin-isolated page, which has
    /// shared memory); if not, every training is one worker on one thread.
    pub threaded: bool,
}

impl Cores {
    /// The page's one line on how runs use the cores here. `not_isolated` is why the page is
    /// not cross-origin isolated when the site's boot script knows (`www/boot.js`: a hard
    /// reload, no service worker, …); without it, the server sent no headers.
    pub fn note(&self, not_isolated: Option<&str>) -> String {
        if self.threaded {
            return format!(
                "Threads: the {} cores are shared among the runs training at once; one run \
                 alone multiplies its matrices on all {}.",
                self.count, self.count
            );
        }
        let why = not_isolated.unwrap_or(
            "its server sends no Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy \
             headers",
        );
        format!(
            "Threads: this page is not cross-origin isolated ({why}), so each run trains on one \
             thread; several runs still train at once."
        )
    }
}

/// Which queued trainings get a worker now, in order, each with its thread count.
///
/// Without threads: the first ones queued, one thread each, as many as there are cores less
/// one for the page beside those already active. With threads, the cores that active
/// trainings do not hold are shared among as many of the first queued ones as there are
/// such cores: one training gets them all, four share them, and the earlier ones get any
/// remainder. (A training's worker is idle while its pool multiplies, and its pool idles
/// while it runs elementwise maps, so the page needs no core of its own.)
pub fn to_start(trainings: &[&Training], cores: Cores) -> Vec<(usize, usize)> {
    let active = trainings.iter().filter(|t| t.is_active());
    let queued = trainings
        .iter()
        .enumerate()
        .filter(|(_, t)| t.phase == Phase::Queued)
        .map(|(i, _)| i);
    if !cores.threaded {
        let pool = cores.count.saturating_sub(1).max(1);
        return queued
            .take(pool.saturating_sub(active.count()))
            .map(|i| (i, 1))
            .collect();
    }
    let held: usize = active.map(|t| t.threads.max(1)).sum();
    let free = cores.count.max(1).saturating_sub(held);
    let chosen: Vec<usize> = queued.take(free).collect();
    let n = chosen.len().max(1);
    chosen
        .into_iter()
        .enumerate()
        .map(|(k, i)| (i, free / n + usize::from(k < free % n)))
        .collect()
}

/// A run's row in the ranking from its seeds' trainings.
pub fn entry(label: &str, trainings: &[&Training]) -> Entry {
    Entry {
        label: label.to_string(),
        params: trainings.iter().find_map(|t| t.params()).unwrap_or(0),
        baseline: trainings
            .iter()
            .find_map(|t| t.baselines())
            .map_or(f32::NAN, |b| b.best().1),
        outcomes: trainings.iter().filter_map(|t| t.outcome()).collect(),
    }
}

/// A run's validation and training curves, each epoch's spread over its seeds.
pub type Curves = (Vec<Spread>, Vec<Spread>);

/// A run's validation and training curves over its seeds: per epoch the mean and the range,
/// for the epochs every seed has reached.
pub fn curves(trainings: &[&Training]) -> Curves {
    let of = |f: fn(&EpochMetrics) -> f64| {
        let per_seed: Vec<Vec<f64>> = trainings
            .iter()
            .filter(|t| !t.epochs.is_empty())
            .map(|t| t.epochs.iter().map(f).collect())
            .collect();
        band(&per_seed)
    };
    (of(|e| e.val.mean as f64), of(|e| e.train_cosine as f64))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::cosine::Histogram;

    fn summary(mean: f32) -> CosineSummary {
        CosineSummary {
            mean,
            histogram: Histogram::of(&[mean]),
        }
    }

    fn baselines() -> Baselines {
        Baselines {
            copy_last: summary(0.45),
            mean_context: summary(0.41),
            train_mean: summary(0.22),
        }
    }

    fn epoch(epoch: usize, val: f32) -> EpochMetrics {
        EpochMetrics {
            epoch,
            train_loss: 0.5,
            train_cosine: val + 0.1,
            val: summary(val),
            prediction_similarity: 0.3,
            seconds: 2.0,
            samples_per_second: 50.0,
        }
    }

    /// A training that started (99 params, 90/10 windows, 3 steps an epoch) and finished
    /// with these validation cosines.
    pub(crate) fn trained(vals: &[f32]) -> Training {
        let mut t = Training::queued(RunConfig::default());
        t.apply(Event::Started {
            config: String::new(),
            params: 99,
            train_windows: 90,
            val_windows: 10,
            steps_per_epoch: 3,
            total_steps: 3 * vals.len() as u64,
            baselines: baselines(),
        });
        let mut best: Option<(usize, f32)> = None;
        for (i, &v) in vals.iter().enumerate() {
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((i + 1, v));
            }
            t.apply(Event::Epoch {
                metrics: epoch(i + 1, v),
                best_epoch: best.map(|b| b.0),
            });
        }
        t.apply(Event::State {
            state: RunState::Finished,
        });
        t
    }

    #[test]
    fn the_threads_note_says_why_a_page_trains_on_one_thread() {
        let isolated = Cores {
            count: 4,
            threaded: true,
        };
        assert!(isolated.note(None).contains("the 4 cores are shared"));
        assert_eq!(isolated.note(Some("ignored")), isolated.note(None));
        let plain = Cores {
            threaded: false,
            ..isolated
        };
        assert!(plain
            .note(None)
            .contains("(its server sends no Cross-Origin-Opener-Policy"));
        let note = plain.note(Some("a hard reload bypassed the service worker"));
        assert!(note.contains("not cross-origin isolated (a hard reload bypassed the service"));
        assert!(note.ends_with("each run trains on one thread; several runs still train at once."));
    }

    #[test]
    fn events_build_a_training() {
        let mut t = Training::queued(RunConfig::default());
        assert!(!t.is_active() && !t.is_over() && t.outcome().is_none());
        t.phase = Phase::Loading("starting".into());
        assert!(t.is_active());
        let t = trained(&[0.40, 0.47, 0.44]);
        assert!(t.is_over());
        let o = t.outcome().unwrap();
        assert_eq!((o.best_val, o.best_epoch), (0.47, 2));
        assert_eq!(t.params(), Some(99));
    }

    #[test]
    fn a_resumed_run_shows_what_it_had_done_and_its_saves() {
        let before = trained(&[0.40, 0.47]);
        let log = RunLog {
            config: RunConfig::default(),
            params: 99,
            train_windows: 90,
            val_windows: 10,
            baselines: baselines(),
            epochs: before.epochs.clone(),
            best_epoch: Some(2),
            step_losses: vec![0.9, 0.8, 0.7, 0.6, 0.5, 0.25],
            retrieval: None,
        };
        let mut t = trained(&[]);
        t.apply(Event::Resumed { log: Box::new(log) });
        assert_eq!(t.epochs, before.epochs);
        assert_eq!((t.best_epoch, t.resumed_from), (Some(2), Some(2)));
        let p = t.progress.unwrap();
        assert_eq!((p.step, p.epoch, p.step_in_epoch, p.loss), (6, 2, 3, 0.25));
        t.apply(Event::Saved {
            epoch: 3,
            result: Ok(1234),
        });
        assert_eq!(t.saved, Some(Ok((3, 1234))));
        t.apply(Event::Saved {
            epoch: 4,
            result: Err("Not saved: full".into()),
        });
        assert_eq!(t.saved, Some(Err("Not saved: full".into())));
        assert!(t.is_over(), "a failed save does not fail the run");
    }

    #[test]
    fn the_first_failure_is_the_cause() {
        let mut t = trained(&[0.4]);
        t.apply(Event::Failed {
            cause: crate::session::messages::Cause::NonFinite,
            message: "step 3: the loss is not finite".into(),
        });
        t.crashed("the worker crashed".into());
        t.apply(Event::State {
            state: RunState::Running,
        });
        assert_eq!(
            t.phase,
            Phase::Failed("step 3: the loss is not finite".into())
        );
    }

    #[test]
    fn a_log_shows_at_once_and_pretrained_figures_replace_its_best() {
        let log = RunLog {
            config: RunConfig::default(),
            params: 7,
            train_windows: 90,
            val_windows: 10,
            baselines: baselines(),
            epochs: vec![epoch(1, 0.41), epoch(2, 0.43)],
            best_epoch: Some(2),
            step_losses: vec![0.5; 6],
            retrieval: None,
        };
        let mut t = Training::queued(RunConfig::default());
        t.show_log(log.clone());
        assert_eq!(t.epochs.len(), 2);
        assert_eq!(t.outcome().unwrap().best_val, 0.43);
        t.apply(Event::Pretrained {
            config: String::new(),
            params: 7,
            val_windows: 10,
            val: summary(0.4301),
            prediction_similarity: 0.2,
            baselines: baselines(),
            log: Some(Box::new(log.clone())),
        });
        assert_eq!(t.phase, Phase::Evaluated);
        let o = t.outcome().unwrap();
        assert_eq!((o.best_val, o.best_epoch), (0.4301, 2));
        let opened = Training::from_log(log);
        assert!(opened.is_over());
        assert_eq!(opened.outcome().unwrap().best_val, 0.43);
    }

    #[test]
    fn the_pool_starts_the_first_queued_while_it_has_room() {
        let mut ts: Vec<Training> = (0..8)
            .map(|_| Training::queued(RunConfig::default()))
            .collect();
        let one_thread = |count| Cores {
            count,
            threaded: false,
        };
        let start = |ts: &[Training], cores| to_start(&ts.iter().collect::<Vec<_>>(), cores);
        assert_eq!(start(&ts, one_thread(4)), [(0, 1), (1, 1), (2, 1)]);
        for i in [0, 1, 2] {
            ts[i].phase = Phase::Loading("starting".into());
        }
        assert!(start(&ts, one_thread(4)).is_empty(), "the pool is full");
        ts[1] = trained(&[0.4]);
        assert_eq!(
            start(&ts, one_thread(4)),
            [(3, 1)],
            "a finished training frees its worker"
        );
        ts[3].phase = Phase::Run(RunState::Stopped);
        ts[4].phase = Phase::Failed("no".into());
        assert_eq!(start(&ts, one_thread(4)), [(5, 1)]);
        assert_eq!(start(&ts, one_thread(1)), [], "one core: one worker");
    }

    #[test]
    fn threaded_trainings_share_the_free_cores() {
        let queued = |n| -> Vec<Training> {
            (0..n)
                .map(|_| Training::queued(RunConfig::default()))
                .collect()
        };
        let cores = |count| Cores {
            count,
            threaded: true,
        };
        let start = |ts: &[Training], c| to_start(&ts.iter().collect::<Vec<_>>(), c);
        assert_eq!(start(&queued(1), cores(8)), [(0, 8)], "one run gets all");
        assert_eq!(
            start(&queued(3), cores(8)),
            [(0, 3), (1, 3), (2, 2)],
            "the earlier ones get the remainder"
        );
        assert_eq!(
            start(&queued(4), cores(2)),
            [(0, 1), (1, 1)],
            "at most one training a core"
        );
        let mut ts = queued(3);
        ts[0].phase = Phase::Loading("starting".into());
        ts[0].threads = 6;
        assert_eq!(
            start(&ts, cores(8)),
            [(1, 1), (2, 1)],
            "what is held is not free"
        );
        ts[1].phase = Phase::Loading("starting".into());
        ts[1].threads = 2;
        assert_eq!(start(&ts, cores(8)), [], "all 8 held");
        ts[0] = trained(&[0.4]);
        assert_eq!(start(&ts, cores(8)), [(2, 6)], "a finished one frees its 6");
    }

    #[test]
    fn seeds_make_one_entry_and_one_band() {
        let (a, b) = (trained(&[0.40, 0.46]), trained(&[0.42, 0.44, 0.45]));
        let e = entry("MLP · 2 seeds", &[&a, &b]);
        assert_eq!(e.outcomes.len(), 2);
        assert_eq!((e.params, e.baseline), (99, 0.45));
        let (val, train) = curves(&[&a, &b]);
        assert_eq!(val.len(), 2);
        assert!((val[0].mean - 0.41).abs() < 1e-6);
        assert!((val[1].min - 0.44).abs() < 1e-6 && (val[1].max - 0.46).abs() < 1e-6);
        assert!((train[1].mean - 0.55).abs() < 1e-6);
    }
}
