//! The ranking table, one function for `lvm compare`, `lvm experiment` and the page: runs
//! ranked by best validation cosine (the mean over their seeds), each next to the best baseline
//! on its windows, with the spread over seeds and which runs lie within each other's seed noise.

use crate::base::format::group_digits;
use crate::data::cosine::Baselines;
use crate::experiment::spread::Spread;
use crate::train::log::{EpochMetrics, Retrieval, RunLog};

/// What one training (one seed) of a run reached, as the table needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub best_val: f32,
    pub best_epoch: usize,
    pub prediction_similarity: f32,
    /// Mean over the epochs trained; `None` for weights only evaluated.
    pub seconds_per_epoch: Option<f64>,
    pub samples_per_second: Option<f64>,
    pub retrieval: Option<Retrieval>,
}

impl Outcome {
    /// From a run's epochs so far; `None` until an epoch has finished.
    pub fn of_epochs(epochs: &[EpochMetrics], best_epoch: Option<usize>) -> Option<Self> {
        let best = epochs.get(best_epoch?.checked_sub(1)?)?;
        let n = epochs.len() as f64;
        Some(Self {
            best_val: best.val.mean,
            best_epoch: best.epoch,
            prediction_similarity: best.prediction_similarity,
            seconds_per_epoch: Some(epochs.iter().map(|e| e.seconds).sum::<f64>() / n),
            samples_per_second: Some(epochs.iter().map(|e| e.samples_per_second).sum::<f64>() / n),
            retrieval: None,
        })
    }

    pub fn of_log(log: &RunLog) -> Option<Self> {
        Self::of_epochs(&log.epochs, log.best_epoch).map(|o| Self {
            retrieval: log.retrieval.clone(),
            ..o
        })
    }
}

/// One run of an experiment: its label, size, baseline and every seed's outcome so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub label: String,
    pub params: usize,
    /// The best baseline on this run's validation windows (`Baselines::best`): copy-last
    /// across articles, mean-of-context inside one long document.
    pub baseline: f32,
    pub outcomes: Vec<Outcome>,
}

/// A row of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Index of the entry this row is for.
    pub entry: usize,
    pub label: String,
    pub params: usize,
    /// Best validation cosine over the seeds that have an epoch; `None` before any.
    pub best: Option<Spread>,
    /// Mean best minus the best baseline: above zero means the model learned more than copying
    /// or averaging the context gives.
    pub margin: Option<f64>,
    /// Best epochs of the seeds ("6", or "5-7" when they differ).
    pub best_epoch: Option<String>,
    pub seconds_per_epoch: Option<f64>,
    pub samples_per_second: Option<f64>,
    pub prediction_similarity: Option<f64>,
    pub retrieval: Option<Retrieval>,
    /// Entries whose best cosine lies within this run's seed noise (ranges over seeds meet).
    pub within_noise_of: Vec<usize>,
}

/// A row's figures as the table shows them, `dash` where there is none yet: one format for
/// the CLI's text table and the page's.
#[derive(Clone, Debug, PartialEq)]
pub struct Cells {
    pub params: String,
    pub best: String,
    pub margin: String,
    pub best_epoch: String,
    pub seconds_per_epoch: String,
    pub samples_per_second: String,
    pub prediction_similarity: String,
    pub retrieval_at_1: String,
    pub retrieval_at_10: String,
}

impl Row {
    pub fn cells(&self, dash: &str) -> Cells {
        let dash = || dash.to_string();
        Cells {
            params: group_digits(self.params),
            best: self.best.as_ref().map_or_else(dash, format_best),
            margin: self.margin.map_or_else(dash, |m| format!("{m:+.4}")),
            best_epoch: self.best_epoch.clone().unwrap_or_else(dash),
            seconds_per_epoch: self
                .seconds_per_epoch
                .map_or_else(dash, |s| format!("{s:.1}")),
            samples_per_second: self
                .samples_per_second
                .map_or_else(dash, |s| format!("{s:.0}")),
            prediction_similarity: self
                .prediction_similarity
                .map_or_else(dash, |s| format!("{s:.3}")),
            retrieval_at_1: self
                .retrieval
                .as_ref()
                .map_or_else(dash, |x| format!("{:.4}", x.at_1)),
            retrieval_at_10: self
                .retrieval
                .as_ref()
                .map_or_else(dash, |x| format!("{:.4}", x.at_10)),
        }
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = values.collect();
    Spread::of(&v).map(|s| s.mean)
}

/// The rows, best first; runs without a finished epoch last, in their order.
pub fn rank(entries: &[Entry]) -> Vec<Row> {
    let mut rows: Vec<Row> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let o = &e.outcomes;
            let best = Spread::of(&o.iter().map(|o| o.best_val as f64).collect::<Vec<_>>());
            let epochs = (
                o.iter().map(|o| o.best_epoch).min(),
                o.iter().map(|o| o.best_epoch).max(),
            );
            let retrieval = match o
                .iter()
                .filter_map(|o| o.retrieval.as_ref())
                .collect::<Vec<_>>()
            {
                r if r.len() == o.len() && !r.is_empty() => Some(Retrieval {
                    at_1: r.iter().map(|x| x.at_1).sum::<f32>() / r.len() as f32,
                    at_10: r.iter().map(|x| x.at_10).sum::<f32>() / r.len() as f32,
                }),
                _ => None,
            };
            Row {
                entry: i,
                label: e.label.clone(),
                params: e.params,
                best,
                margin: best.map(|b| b.mean - e.baseline as f64),
                best_epoch: match epochs {
                    (Some(a), Some(b)) if a == b => Some(a.to_string()),
                    (Some(a), Some(b)) => Some(format!("{a}-{b}")),
                    _ => None,
                },
                seconds_per_epoch: mean(o.iter().filter_map(|o| o.seconds_per_epoch)),
                samples_per_second: mean(o.iter().filter_map(|o| o.samples_per_second)),
                prediction_similarity: mean(o.iter().map(|o| o.prediction_similarity as f64)),
                retrieval,
                within_noise_of: Vec::new(),
            }
        })
        .collect();
    let spreads: Vec<Option<Spread>> = rows.iter().map(|r| r.best).collect();
    for row in &mut rows {
        if let Some(me) = spreads[row.entry] {
            row.within_noise_of = spreads
                .iter()
                .enumerate()
                .filter(|&(j, s)| j != row.entry && s.is_some_and(|s| me.within_noise(&s)))
                .map(|(j, _)| j)
                .collect();
        }
    }
    // Stable: equal figures keep the experiment's order.
    rows.sort_by(|a, b| {
        let key = |r: &Row| r.best.map_or(f64::NEG_INFINITY, |s| s.mean);
        key(b).total_cmp(&key(a))
    });
    rows
}

/// "0.4269" for one seed, "0.4269 ± 0.0012" for several.
pub fn format_best(s: &Spread) -> String {
    if s.n > 1 {
        format!("{:.4} ± {:.4}", s.mean, s.half_range())
    } else {
        format!("{:.4}", s.mean)
    }
}

/// The table as text, then the baselines of the first run's data.
pub fn text_table(rows: &[Row], baselines: Option<&Baselines>) -> String {
    let width = rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(5)
        .max(21);
    let mut out = format!(
        "{:<4} {:<width$} {:>12} {:>17} {:>12} {:>10} {:>9} {:>10} {:>9} {:>7} {:>7}\n",
        "rank",
        "run",
        "params",
        "best val cos",
        "vs baseline",
        "best epoch",
        "s/epoch",
        "samples/s",
        "pred sim",
        "R@1",
        "R@10"
    );
    for (i, r) in rows.iter().enumerate() {
        let c = r.cells("-");
        out += &format!(
            "{:<4} {:<width$} {:>12} {:>17} {:>12} {:>10} {:>9} {:>10} {:>9} {:>7} {:>7}\n",
            i + 1,
            r.label,
            c.params,
            c.best,
            c.margin,
            c.best_epoch,
            c.seconds_per_epoch,
            c.samples_per_second,
            c.prediction_similarity,
            c.retrieval_at_1,
            c.retrieval_at_10,
        );
    }
    if let Some(b) = baselines {
        for (name, v) in [
            ("baseline: copy-last", b.copy_last.mean),
            ("baseline: mean-of-ctx", b.mean_context.mean),
            ("baseline: train-mean", b.train_mean.mean),
        ] {
            out += &format!("{:<4} {:<width$} {:>12} {:>17.4}\n", "", name, "0", v);
        }
        out += &format!(
            "vs baseline: best val cos minus {}, the best baseline on these windows\n",
            b.best().0
        );
    }
    let label = |j: usize| {
        rows.iter()
            .find(|r| r.entry == j)
            .map_or(String::new(), |r| r.label.clone())
    };
    for r in rows.iter().filter(|r| !r.within_noise_of.is_empty()) {
        let others: Vec<String> = r.within_noise_of.iter().map(|&j| label(j)).collect();
        out += &format!(
            "{} is within seed noise of {}\n",
            r.label,
            others.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(best_val: f32, best_epoch: usize) -> Outcome {
        Outcome {
            best_val,
            best_epoch,
            prediction_similarity: 0.5,
            seconds_per_epoch: Some(2.0),
            samples_per_second: Some(100.0),
            retrieval: None,
        }
    }

    fn entry(label: &str, vals: &[(f32, usize)]) -> Entry {
        Entry {
            label: label.into(),
            params: 1000,
            baseline: 0.45,
            outcomes: vals.iter().map(|&(v, e)| outcome(v, e)).collect(),
        }
    }

    #[test]
    fn cells_show_each_figure_once_formatted_and_dashes_before_any() {
        let rows = rank(&[entry("B", &[(0.47, 4), (0.49, 6)]), entry("none", &[])]);
        let c = rows[0].cells("–");
        assert_eq!(
            [&c.params, &c.best, &c.margin, &c.best_epoch],
            ["1,000", "0.4800 ± 0.0100", "+0.0300", "4-6"]
        );
        assert_eq!(
            [
                &c.seconds_per_epoch,
                &c.samples_per_second,
                &c.prediction_similarity
            ],
            ["2.0", "100", "0.500"]
        );
        assert_eq!([&c.retrieval_at_1, &c.retrieval_at_10], ["–", "–"]);
        let none = rows[1].cells("-");
        assert_eq!(
            [&none.best, &none.margin, &none.best_epoch],
            ["-", "-", "-"]
        );
    }

    #[test]
    fn ranked_by_mean_with_spread_and_noise() {
        let rows = rank(&[
            entry("A", &[(0.40, 3)]),
            entry("B", &[(0.46, 5), (0.44, 7), (0.45, 6)]),
            entry("C", &[]),
            entry("D", &[(0.455, 4)]),
        ]);
        let order: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(order, ["D", "B", "A", "C"]);
        let b = &rows[1];
        let s = b.best.unwrap();
        assert_eq!(s.n, 3);
        assert!((s.mean - 0.45).abs() < 1e-6 && (s.half_range() - 0.01).abs() < 1e-6);
        assert!(b.margin.unwrap().abs() < 1e-6);
        assert_eq!(b.best_epoch.as_deref(), Some("5-7"));
        // D (one seed, 0.455) lies inside B's range over its seeds; A does not.
        assert_eq!(b.within_noise_of, [3]);
        assert_eq!(rows[0].within_noise_of, [1]);
        assert!(rows[2].within_noise_of.is_empty());
        assert!(rows[3].best.is_none() && rows[3].margin.is_none());
        let text = text_table(&rows, None);
        assert!(text.contains("0.4500 ± 0.0100"), "{text}");
        assert!(text.contains("B is within seed noise of D"), "{text}");
        assert!(text.contains("+0.0050"), "{text}");
    }
}
