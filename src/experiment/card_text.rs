//! What a run's card says: its status line, progress fraction, numbers and parameter count,
//! as text the browser layer only puts in place. The numbers line carries `<b>` marks (the
//! figure a reader looks for); everything in it is numbers or fixed words.

use crate::base::format::group_digits;
use crate::experiment::card::{Curves, Phase, Source, Training};
use crate::session::messages::RunState;

/// One training's status line: "training on 2 threads: epoch 2/10, step …", "queued", …
pub fn status(t: &Training) -> String {
    let on = match t.threads {
        0 => String::new(),
        1 => " on 1 thread".to_string(),
        n => format!(" on {n} threads"),
    };
    match &t.phase {
        Phase::Queued => "queued: waiting for a free worker".to_string(),
        Phase::Loading(s) => s.clone(),
        Phase::Run(state) => {
            let word = match state {
                RunState::Paused => "paused",
                RunState::Running => "training",
                RunState::Stopped => "stopped",
                RunState::Finished => "finished",
                RunState::Failed => "failed",
            };
            match t.progress {
                Some(p) => format!(
                    "{word}{on}: epoch {}/{}, step {}/{} (total {}), loss {:.4}, {:.0} samples/s",
                    p.epoch,
                    t.config.epochs,
                    p.step_in_epoch,
                    p.steps_per_epoch,
                    p.step,
                    p.loss,
                    p.samples_per_second
                ),
                None => format!("{word}{on}"),
            }
        }
        Phase::Evaluated => "pretrained weights, evaluated here".to_string(),
        Phase::Failed(_) => "failed".to_string(),
    }
}

/// How far a training is, 0 to 1.
pub fn fraction(t: &Training) -> f64 {
    match (&t.phase, t.progress, &t.started) {
        (Phase::Evaluated | Phase::Run(RunState::Finished), _, _) => 1.0,
        (_, Some(p), Some(s)) => p.step as f64 / s.total_steps.max(1) as f64,
        _ => 0.0,
    }
}

/// A card's status line and progress: one training's own, or each seed's named and their
/// mean progress.
pub fn card_status(trainings: &[&Training]) -> (String, f64) {
    match trainings {
        [] => ("not started".to_string(), 0.0),
        [t] => (status(t), fraction(t)),
        many => (
            many.iter()
                .map(|t| format!("seed {}: {}", t.config.seed, status(t)))
                .collect::<Vec<_>>()
                .join(" · "),
            many.iter().map(|t| fraction(t)).sum::<f64>() / many.len() as f64,
        ),
    }
}

/// "17,581,824 params", or nothing before the model is built.
pub fn params(trainings: &[&Training]) -> String {
    trainings
        .iter()
        .find_map(|t| t.params())
        .map_or(String::new(), |p| format!("{} params", group_digits(p)))
}

/// The card's figures for training `t` of run `run` (1-based): evaluated weights, a stored
/// log's best epoch, the latest epoch, or the windows it will train on.
pub fn numbers(run: usize, t: &Training) -> String {
    if let Some(p) = &t.pretrained {
        let stored = match &t.source {
            Source::Log(log) => log.best().map_or(String::new(), |b| {
                format!(
                    " (stated at training: {:.4}, epoch {})",
                    b.val.mean, b.epoch
                )
            }),
            Source::Live => String::new(),
        };
        return format!(
            "val cosine <b class=\"val\" data-run=\"{run}\">{:.4}</b>{stored} on {} windows · prediction similarity {:.3}",
            p.val.mean,
            p.val_windows,
            p.prediction_similarity
        );
    }
    if let Source::Log(log) = &t.source {
        return log.best().map_or(String::new(), |b| {
            format!(
                "stored run log ({}: {} training / {} validation windows, {} epochs): best val cosine <b class=\"stored\">{:.4}</b> at epoch {} · train {:.4} · prediction similarity {:.3}",
                match log.config.sample {
                    0 => "full data".to_string(),
                    n => format!("sample of {}", group_digits(n)),
                },
                group_digits(log.train_windows),
                group_digits(log.val_windows),
                log.epochs.len(),
                b.val.mean,
                b.epoch,
                b.train_cosine,
                b.prediction_similarity
            )
        });
    }
    match (t.epochs.last(), &t.started) {
        (Some(e), started) => format!(
            "epoch {}: val cosine <b class=\"val\">{:.4}</b> · train {:.4} · prediction similarity {:.3}{}",
            e.epoch,
            e.val.mean,
            e.train_cosine,
            e.prediction_similarity,
            started.as_ref().map_or(String::new(), |s| format!(
                " · {} training / {} validation windows",
                s.train_windows, s.val_windows
            ))
        ),
        (None, Some(s)) => format!(
            "{} training / {} validation windows, {} steps per epoch",
            s.train_windows, s.val_windows, s.steps_per_epoch
        ),
        _ => String::new(),
    }
}

/// The values under the pointer at `epoch` (1-based): each run's validation cosine (± its
/// seeds' half-range) and training cosine.
pub fn at_epoch(epoch: usize, runs: &[(&str, Curves)]) -> String {
    let parts: Vec<String> = runs
        .iter()
        .filter_map(|(label, (val, train))| {
            let (v, t) = (val.get(epoch.checked_sub(1)?)?, train.get(epoch - 1)?);
            let spread = if v.n > 1 {
                format!(" ± {:.4}", v.half_range())
            } else {
                String::new()
            };
            Some(format!(
                "{label} val {:.4}{spread}, train {:.4}",
                v.mean, t.mean
            ))
        })
        .collect();
    format!("epoch {epoch}: {}", parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;
    use crate::experiment::card::tests::trained;
    use crate::experiment::card::Progress;
    use crate::experiment::spread::Spread;

    fn running(threads: usize, step: u64) -> Training {
        let mut t = trained(&[0.4]);
        t.phase = Phase::Run(RunState::Running);
        t.threads = threads;
        t.progress = Some(Progress {
            step,
            epoch: 1,
            step_in_epoch: 2,
            steps_per_epoch: 3,
            loss: 0.51234,
            samples_per_second: 99.6,
        });
        t
    }

    #[test]
    fn the_status_line_says_where_a_training_is_and_on_how_many_threads() {
        let epochs = RunConfig::default().epochs;
        assert_eq!(
            status(&running(2, 2)),
            format!(
                "training on 2 threads: epoch 1/{epochs}, step 2/3 (total 2), loss 0.5123, 100 samples/s"
            )
        );
        assert!(status(&running(1, 2)).starts_with("training on 1 thread: "));
        assert!(status(&running(0, 2)).starts_with("training: "));
        let mut t = running(1, 2);
        t.progress = None;
        t.phase = Phase::Run(RunState::Paused);
        assert_eq!(status(&t), "paused on 1 thread");
        t.phase = Phase::Failed("the loss is not finite".into());
        assert_eq!(status(&t), "failed");
        assert_eq!(
            status(&Training::queued(RunConfig::default())),
            "queued: waiting for a free worker"
        );
    }

    #[test]
    fn a_cards_progress_is_its_seeds_mean_and_its_status_names_each_seed() {
        // trained(&[0.4]) has 3 steps in all; a finished training is whole.
        let (one, two) = (running(1, 1), trained(&[0.4]));
        assert!((fraction(&one) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(fraction(&two), 1.0);
        assert_eq!(fraction(&Training::queued(RunConfig::default())), 0.0);
        let mut other = two.clone();
        other.config.seed = 43;
        let (text, mean) = card_status(&[&one, &other]);
        assert!((mean - 2.0 / 3.0).abs() < 1e-12);
        let seed = one.config.seed;
        assert!(text.starts_with(&format!("seed {seed}: training on 1 thread: epoch 1/")));
        assert!(text.ends_with(" · seed 43: finished"), "{text}");
        assert_eq!(card_status(&[]), ("not started".to_string(), 0.0));
    }

    #[test]
    fn numbers_show_the_latest_epoch_or_the_windows_before_one() {
        let t = trained(&[0.4, 0.45678]);
        assert_eq!(
            numbers(1, &t),
            "epoch 2: val cosine <b class=\"val\">0.4568</b> · train 0.5568 · prediction \
             similarity 0.300 · 90 training / 10 validation windows"
        );
        let fresh = trained(&[]);
        assert_eq!(
            numbers(1, &fresh),
            "90 training / 10 validation windows, 3 steps per epoch"
        );
        assert_eq!(numbers(1, &Training::queued(RunConfig::default())), "");
        assert_eq!(
            params(&[&Training::queued(RunConfig::default()), &t]),
            "99 params"
        );
        assert_eq!(params(&[]), "");
    }

    #[test]
    fn a_stored_log_shows_its_best_epoch_and_sample() {
        let mut t = trained(&[0.4, 0.5, 0.45]);
        let mut log = crate::train::log::RunLog {
            config: RunConfig::default(),
            params: 99,
            train_windows: 10800,
            val_windows: 1200,
            baselines: t.started.clone().unwrap().baselines,
            epochs: t.epochs.clone(),
            best_epoch: Some(2),
            step_losses: vec![],
            retrieval: None,
        };
        log.config.sample = 12000;
        t.source = Source::Log(Box::new(log));
        assert_eq!(
            numbers(3, &t),
            "stored run log (sample of 12,000: 10,800 training / 1,200 validation windows, 3 epochs): best val cosine <b class=\"stored\">0.5000\
             </b> at epoch 2 · train 0.6000 · prediction similarity 0.300"
        );
    }

    #[test]
    fn the_hover_line_names_each_run_with_its_spread_at_that_epoch() {
        let one = |v: f64| Spread::of(&[v]).unwrap();
        let runs = [
            (
                "MLP",
                (vec![one(0.4), one(0.45)], vec![one(0.5), one(0.55)]),
            ),
            (
                "LSTM",
                (vec![Spread::of(&[0.41, 0.43]).unwrap()], vec![one(0.5)]),
            ),
        ];
        assert_eq!(
            at_epoch(1, &runs),
            "epoch 1: MLP val 0.4000, train 0.5000 · LSTM val 0.4200 ± 0.0100, train 0.5000"
        );
        assert_eq!(at_epoch(2, &runs), "epoch 2: MLP val 0.4500, train 0.5500");
        assert_eq!(at_epoch(0, &runs), "epoch 0: ");
    }
}
