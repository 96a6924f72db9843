//! Cosine similarity and what is scored with it: the per-sample distribution, the mean,
//! and the baselines a model must beat before it has learned anything.

use crate::data::windows::Windows;
use serde::{Deserialize, Serialize};

/// Cosine similarity of two vectors (0 when either is zero). Accumulates in f64 so the
/// baselines do not depend on summation order.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        dot += x as f64 * y as f64;
        na += x as f64 * x as f64;
        nb += y as f64 * y as f64;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        (dot / (na.sqrt() * nb.sqrt())) as f32
    }
}

/// Counts of per-sample cosines in equal bins over [-1, 1].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u32>,
}

impl Histogram {
    pub const BINS: usize = 40;

    pub fn of(values: &[f32]) -> Self {
        let (lo, hi) = (-1.0f32, 1.0f32);
        let mut counts = vec![0u32; Self::BINS];
        for &v in values {
            let t = ((v - lo) / (hi - lo) * Self::BINS as f32).floor();
            let bin = (t.max(0.0) as usize).min(Self::BINS - 1);
            counts[bin] += 1;
        }
        Self { lo, hi, counts }
    }
}

/// Mean and distribution of per-sample cosines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CosineSummary {
    pub mean: f32,
    pub histogram: Histogram,
}

impl CosineSummary {
    pub fn of(values: &[f32]) -> Self {
        let mean = if values.is_empty() {
            0.0
        } else {
            (values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64) as f32
        };
        Self {
            mean,
            histogram: Histogram::of(values),
        }
    }
}

/// Predictors that learn nothing, scored on the validation windows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baselines {
    /// Predict the last context vector.
    pub copy_last: CosineSummary,
    /// Predict the (normalised) mean of the context vectors.
    pub mean_context: CosineSummary,
    /// Predict the mean training target: the best constant vector, what a collapsed model
    /// outputs.
    pub train_mean: CosineSummary,
}

impl Baselines {
    pub fn compute(train: &Windows, val: &Windows) -> Self {
        let dim = val.dim();
        let mut mean_target = vec![0f64; dim];
        for i in 0..train.len() {
            for (m, &x) in mean_target.iter_mut().zip(train.target_of(i)) {
                *m += x as f64;
            }
        }
        let mean_target: Vec<f32> = mean_target.iter().map(|&m| m as f32).collect();
        let (mut last, mut mean, mut constant) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..val.len() {
            let ctx = val.context_of(i);
            let target = val.target_of(i);
            last.push(cosine(&ctx[ctx.len() - dim..], target));
            let mut avg = vec![0f32; dim];
            for row in ctx.chunks_exact(dim) {
                for (a, &x) in avg.iter_mut().zip(row) {
                    *a += x;
                }
            }
            mean.push(cosine(&avg, target));
            constant.push(cosine(&mean_target, target));
        }
        Self {
            copy_last: CosineSummary::of(&last),
            mean_context: CosineSummary::of(&mean),
            train_mean: CosineSummary::of(&constant),
        }
    }

    /// The strongest of the three with its name: what a model must beat to have learned
    /// anything the data does not give away (copy-last across articles, mean-of-context
    /// inside one long document).
    pub fn best(&self) -> (&'static str, f32) {
        [
            ("copy-last", self.copy_last.mean),
            ("mean-of-context", self.mean_context.mean),
            ("train-mean", self.train_mean.mean),
        ]
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("three baselines")
    }
}

/// Mean pairwise cosine of unit vectors, via the norm of their sum:
/// ‖Σp‖² = n + Σ_{i≠j} p_i·p_j.
pub fn mean_pairwise_cosine(unit_rows: &[f32], dim: usize) -> f32 {
    let n = unit_rows.len() / dim;
    if n < 2 {
        return 1.0;
    }
    let mut sum = vec![0f64; dim];
    let mut self_dots = 0f64;
    for row in unit_rows.chunks_exact(dim) {
        for (s, &x) in sum.iter_mut().zip(row) {
            *s += x as f64;
        }
        self_dots += row.iter().map(|&x| x as f64 * x as f64).sum::<f64>();
    }
    let total: f64 = sum.iter().map(|s| s * s).sum();
    ((total - self_dots) / (n as f64 * (n as f64 - 1.0))) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_values() {
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 2.0]), 0.0);
        assert!((cosine(&[1.0, 1.0], &[2.0, 2.0]) - 1.0).abs() < 1e-7);
        assert!((cosine(&[1.0, 0.0], &[-3.0, 0.0]) + 1.0).abs() < 1e-7);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn histogram_bins() {
        let h = Histogram::of(&[-1.0, -0.99, 0.0, 0.999, 1.0]);
        assert_eq!(h.counts.iter().sum::<u32>(), 5);
        assert_eq!(h.counts[0], 2);
        assert_eq!(h.counts[20], 1);
        assert_eq!(h.counts[39], 2);
    }

    #[test]
    fn baselines_by_hand() {
        // dim 2, context 1: stream a, b, c, d.
        let rows = vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0];
        let w = Windows::from_stream(rows, 2, 1).unwrap();
        let train = w.select(&[0, 1]); // targets (0,1), (1,1)
        let val = w.select(&[2]); // context (1,1), target (1,0)
        let b = Baselines::compute(&train, &val);
        let s = 1.0 / 2f32.sqrt();
        assert!((b.copy_last.mean - s).abs() < 1e-6);
        assert!((b.mean_context.mean - s).abs() < 1e-6);
        // mean target (0.5, 1) vs (1, 0): 0.5 / sqrt(1.25).
        assert!((b.train_mean.mean - 0.5 / 1.25f32.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn the_best_baseline_is_the_highest_with_its_name() {
        let b = |last: f32, mean: f32, constant: f32| Baselines {
            copy_last: CosineSummary::of(&[last]),
            mean_context: CosineSummary::of(&[mean]),
            train_mean: CosineSummary::of(&[constant]),
        };
        assert_eq!(b(0.45, 0.40, 0.20).best(), ("copy-last", 0.45));
        assert_eq!(b(0.33, 0.42, 0.26).best(), ("mean-of-context", 0.42));
        assert_eq!(b(0.10, 0.20, 0.30).best(), ("train-mean", 0.30));
    }

    #[test]
    fn pairwise_similarity() {
        assert!((mean_pairwise_cosine(&[1.0, 0.0, 1.0, 0.0, 1.0, 0.0], 2) - 1.0).abs() < 1e-6);
        assert!(mean_pairwise_cosine(&[1.0, 0.0, 0.0, 1.0], 2).abs() < 1e-6);
        assert!((mean_pairwise_cosine(&[1.0, 0.0, -1.0, 0.0], 2) + 1.0).abs() < 1e-6);
    }
}
