//! The closed-form ridge regression baseline: least squares from the flattened context
//! (`context · dim` numbers) to the next vector, with an unpenalised intercept, the prediction
//! L2-normalised. It is what the `linear` model would reach if trained to the optimum of a
//! squared loss, in one solve: a model that does not beat it has learned nothing a linear map
//! could not.
//!
//! The regularisation λ is chosen on the **training** windows only: fitted on their first 90%
//! (in order, as the study splits), scored on the last 10% (mean cosine of the normalised
//! prediction), for λ = α · (mean diagonal of the centred Gram matrix) and each α of
//! [`ALPHAS`]; the best α is then refitted on all training windows. The validation windows
//! are scored once, by that final fit.
//!
//! Cost: the Gram matrix `XᵀX` (`p = context · dim`, 3,840 for the study) over the training
//! windows is one pass of float32 matrix products (about 8·10¹¹ flops on wiki-29k), then
//! each α a Cholesky factorisation and two triangular solves in float64 (about 2·10¹⁰
//! multiply-adds each): about a minute natively on one thread, too much for a browser tab.

use crate::config::{RunConfig, SplitKind, WindowsKind};
use crate::data::cosine::cosine;
use crate::data::windows::Windows;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// The α tried: λ = α · mean diagonal of the centred Gram matrix.
pub const ALPHAS: [f64; 7] = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0];
/// Windows per Gram-matrix product.
const CHUNK: usize = 1024;

/// Sums over a set of windows: enough to solve a ridge regression for any λ.
#[derive(Clone)]
struct Gram {
    n: usize,
    p: usize,
    d: usize,
    /// `XᵀX`, `[p, p]`.
    xtx: Vec<f64>,
    /// `XᵀY`, `[p, d]`.
    xty: Vec<f64>,
    xsum: Vec<f64>,
    ysum: Vec<f64>,
}

impl Gram {
    fn of(w: &Windows, indices: &[usize]) -> candle_core::Result<Self> {
        let (p, d) = (w.context() * w.dim(), w.dim());
        let mut g = Gram {
            n: indices.len(),
            p,
            d,
            xtx: vec![0.0; p * p],
            xty: vec![0.0; p * d],
            xsum: vec![0.0; p],
            ysum: vec![0.0; d],
        };
        for chunk in indices.chunks(CHUNK) {
            let mut x = Vec::with_capacity(chunk.len() * p);
            let mut y = Vec::with_capacity(chunk.len() * d);
            for &i in chunk {
                x.extend_from_slice(w.context_of(i));
                y.extend_from_slice(w.target_of(i));
            }
            for row in x.chunks_exact(p) {
                for (s, &v) in g.xsum.iter_mut().zip(row) {
                    *s += v as f64;
                }
            }
            for row in y.chunks_exact(d) {
                for (s, &v) in g.ysum.iter_mut().zip(row) {
                    *s += v as f64;
                }
            }
            let xt = Tensor::from_vec(x, (chunk.len(), p), &Device::Cpu)?;
            let yt = Tensor::from_vec(y, (chunk.len(), d), &Device::Cpu)?;
            let xtx = xt.t()?.matmul(&xt)?.flatten_all()?.to_vec1::<f32>()?;
            let xty = xt.t()?.matmul(&yt)?.flatten_all()?.to_vec1::<f32>()?;
            for (s, v) in g.xtx.iter_mut().zip(xtx) {
                *s += v as f64;
            }
            for (s, v) in g.xty.iter_mut().zip(xty) {
                *s += v as f64;
            }
        }
        Ok(g)
    }

    fn plus(&self, o: &Gram) -> Gram {
        let add = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x + y).collect();
        Gram {
            n: self.n + o.n,
            p: self.p,
            d: self.d,
            xtx: add(&self.xtx, &o.xtx),
            xty: add(&self.xty, &o.xty),
            xsum: add(&self.xsum, &o.xsum),
            ysum: add(&self.ysum, &o.ysum),
        }
    }

    /// The centred Gram matrix `Σ (x - x̄)(x - x̄)ᵀ` and `Σ (x - x̄)(y - ȳ)ᵀ`.
    fn centred(&self) -> (Vec<f64>, Vec<f64>) {
        let (p, d, n) = (self.p, self.d, self.n.max(1) as f64);
        let mut c = self.xtx.clone();
        for i in 0..p {
            for j in 0..p {
                c[i * p + j] -= self.xsum[i] * self.xsum[j] / n;
            }
        }
        let mut cy = self.xty.clone();
        for i in 0..p {
            for j in 0..d {
                cy[i * d + j] -= self.xsum[i] * self.ysum[j] / n;
            }
        }
        (c, cy)
    }

    /// The scale λ is relative to: the centred Gram matrix's mean diagonal.
    fn scale(c: &[f64], p: usize) -> f64 {
        (0..p).map(|i| c[i * p + i]).sum::<f64>() / p as f64
    }

    /// The ridge solution for `λ = alpha · scale`.
    fn solve(&self, alpha: f64) -> Result<RidgeFit, String> {
        let (p, d) = (self.p, self.d);
        let (mut c, cy) = self.centred();
        let lambda = alpha * Self::scale(&c, p);
        for i in 0..p {
            c[i * p + i] += lambda;
        }
        let w = solve_spd(&mut c, &cy, p, d)?;
        let n = self.n.max(1) as f64;
        let mut bias: Vec<f64> = self.ysum.iter().map(|s| s / n).collect();
        for i in 0..p {
            let xm = self.xsum[i] / n;
            for j in 0..d {
                bias[j] -= xm * w[i * d + j];
            }
        }
        Ok(RidgeFit {
            lambda,
            p,
            d,
            weights: w,
            bias,
        })
    }
}

/// Solves `A W = B` for a symmetric positive definite `A` `[p, p]` (overwritten by its
/// Cholesky factor) and `B` `[p, d]`, in float64.
pub fn solve_spd(a: &mut [f64], b: &[f64], p: usize, d: usize) -> Result<Vec<f64>, String> {
    // Cholesky, row by row: L[i][j] = (A[i][j] - L[i][..j]·L[j][..j]) / L[j][j].
    for i in 0..p {
        for j in 0..=i {
            let (ri, rj) = (i * p, j * p);
            let s = a[ri + j] - dot(&a[ri..ri + j], &a[rj..rj + j]);
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return Err(format!(
                        "the regularised Gram matrix is not positive definite (pivot {i}: {s})"
                    ));
                }
                a[ri + i] = s.sqrt();
            } else {
                a[ri + j] = s / a[rj + j];
            }
        }
    }
    // L Z = B, then Lᵀ W = Z, a row of d right-hand sides at a time.
    let mut z = b.to_vec();
    for i in 0..p {
        let (done, rest) = z.split_at_mut(i * d);
        let row = &mut rest[..d];
        for j in 0..i {
            axpy(row, -a[i * p + j], &done[j * d..(j + 1) * d]);
        }
        let inv = 1.0 / a[i * p + i];
        row.iter_mut().for_each(|v| *v *= inv);
    }
    for i in (0..p).rev() {
        let (head, later) = z.split_at_mut((i + 1) * d);
        let row = &mut head[i * d..];
        for j in i + 1..p {
            axpy(row, -a[j * p + i], &later[(j - i - 1) * d..(j - i) * d]);
        }
        let inv = 1.0 / a[i * p + i];
        row.iter_mut().for_each(|v| *v *= inv);
    }
    Ok(z)
}

/// A dot product with four accumulators, so the compiler can vectorise it.
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let tail: f64 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in xc.zip(yc) {
        for k in 0..4 {
            acc[k] += a[k] * b[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}

fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (v, &u) in y.iter_mut().zip(x) {
        *v += a * u;
    }
}

/// A fitted ridge regression: `ŷ = normalize(x W + b)`.
pub struct RidgeFit {
    pub lambda: f64,
    p: usize,
    d: usize,
    /// `[p, d]`.
    weights: Vec<f64>,
    bias: Vec<f64>,
}

impl RidgeFit {
    /// Fits on the windows at `indices` of `w` for `λ = alpha · scale`.
    pub fn fit(w: &Windows, indices: &[usize], alpha: f64) -> Result<Self, String> {
        Gram::of(w, indices)
            .map_err(|e| e.to_string())?
            .solve(alpha)
    }

    /// The raw prediction (before normalisation) for one flattened context.
    pub fn predict_raw(&self, context: &[f32]) -> Vec<f64> {
        let mut out = self.bias.clone();
        for (i, &x) in context.iter().enumerate().take(self.p) {
            axpy(
                &mut out,
                x as f64,
                &self.weights[i * self.d..(i + 1) * self.d],
            );
        }
        out
    }

    /// The cosine of each window's prediction with its target (cosine ignores the norm, so
    /// the normalised prediction scores the same).
    pub fn cosines(&self, w: &Windows) -> Result<Vec<f32>, String> {
        let (p, d) = (self.p, self.d);
        let weights: Vec<f32> = self.weights.iter().map(|&v| v as f32).collect();
        let wt = Tensor::from_vec(weights, (p, d), &Device::Cpu).map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(w.len());
        let indices: Vec<usize> = (0..w.len()).collect();
        for chunk in indices.chunks(CHUNK) {
            let mut x = Vec::with_capacity(chunk.len() * p);
            for &i in chunk {
                x.extend_from_slice(w.context_of(i));
            }
            let pred = Tensor::from_vec(x, (chunk.len(), p), &Device::Cpu)
                .and_then(|x| x.matmul(&wt))
                .and_then(|y| y.to_vec2::<f32>())
                .map_err(|e| e.to_string())?;
            for (row, &i) in pred.iter().zip(chunk) {
                let row: Vec<f32> = row
                    .iter()
                    .zip(&self.bias)
                    .map(|(&v, &b)| v + b as f32)
                    .collect();
                out.push(cosine(&row, w.target_of(i)));
            }
        }
        Ok(out)
    }
}

/// The ridge baseline of a run's split: λ chosen on the training windows, the validation
/// windows scored once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RidgeBaseline {
    /// Mean validation cosine of the final fit (on all training windows).
    pub val: f32,
    /// The α chosen, and λ for the final fit.
    pub alpha: f64,
    pub lambda: f64,
    /// Each α tried and its mean cosine on the held-out tail of the training windows.
    pub selection: Vec<(f64, f32)>,
    /// Training windows the selection fitted on / scored on.
    pub fit_windows: usize,
    pub tail_windows: usize,
}

/// Ridge regression on `train`, λ chosen on its last 10% (fitted on the first 90%), scored
/// on `val`. `val` is never looked at before the final fit.
pub fn baseline(train: &Windows, val: &Windows) -> Result<RidgeBaseline, String> {
    let n = train.len();
    let n_fit = n * 9 / 10;
    if n_fit == 0 || n_fit == n {
        return Err(format!(
            "{n} training windows are too few to choose λ on a held-out tenth"
        ));
    }
    let fit_idx: Vec<usize> = (0..n_fit).collect();
    let tail_idx: Vec<usize> = (n_fit..n).collect();
    let err = |e: candle_core::Error| e.to_string();
    let g_fit = Gram::of(train, &fit_idx).map_err(err)?;
    let g_tail = Gram::of(train, &tail_idx).map_err(err)?;
    let tail = train.select(&tail_idx);
    let mut selection = Vec::new();
    for alpha in ALPHAS {
        let score = match g_fit.solve(alpha) {
            Ok(fit) => mean(&fit.cosines(&tail)?),
            Err(_) => f32::NEG_INFINITY,
        };
        selection.push((alpha, score));
    }
    let (alpha, _) = selection
        .iter()
        .copied()
        .fold((ALPHAS[0], f32::NEG_INFINITY), |best, s| {
            if s.1 > best.1 {
                s
            } else {
                best
            }
        });
    let fit = g_fit.plus(&g_tail).solve(alpha)?;
    Ok(RidgeBaseline {
        val: mean(&fit.cosines(val)?),
        alpha,
        lambda: fit.lambda,
        selection,
        fit_windows: n_fit,
        tail_windows: n - n_fit,
    })
}

fn mean(v: &[f32]) -> f32 {
    (v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64) as f32
}

/// A shipped dataset's full-data ridge figure, as `lvm dataset check datasets/<name>` printed
/// it (kept in `results/ridge/<name>.txt`; a test reads it back). The page cannot afford the
/// solve (1,102 s natively for wiki-29k), so it draws these where its curves are the full
/// data's: the study's split and context, and the same training and validation windows.
pub struct Shipped {
    pub dataset: &'static str,
    pub windows: WindowsKind,
    pub train_windows: usize,
    pub val_windows: usize,
    pub cosine: f32,
}

pub const SHIPPED: [Shipped; 4] = [
    Shipped {
        dataset: "wiki-29k",
        windows: WindowsKind::All,
        train_windows: 26385,
        val_windows: 2932,
        cosine: 0.4619,
    },
    Shipped {
        dataset: "wiki-29k",
        windows: WindowsKind::Within,
        train_windows: 1618,
        val_windows: 180,
        cosine: 0.5156,
    },
    Shipped {
        dataset: "brown-29k",
        windows: WindowsKind::All,
        train_windows: 26385,
        val_windows: 2932,
        cosine: 0.4233,
    },
    Shipped {
        dataset: "brown-29k",
        windows: WindowsKind::Within,
        train_windows: 25188,
        val_windows: 2799,
        cosine: 0.4272,
    },
];

/// The shipped ridge figure for a run's data, if it has one: only the study's split (ordered,
/// 10% validation, context 5) on all of a shipped dataset's windows of that kind, which the
/// window counts confirm (a sample or another split has other windows and another ridge).
pub fn shipped(config: &RunConfig, train_windows: usize, val_windows: usize) -> Option<f32> {
    if config.context != 5 || config.split != SplitKind::Ordered || config.val_fraction != 0.1 {
        return None;
    }
    SHIPPED
        .iter()
        .find(|s| {
            s.dataset == config.dataset
                && s.windows == config.windows
                && s.train_windows == train_windows
                && s.val_windows == val_windows
        })
        .map(|s| s.cosine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::rng::Rng;

    /// The figures the page draws are the ones `lvm dataset check` printed, to its 4 digits.
    #[test]
    fn shipped_figures_are_the_recorded_ones() {
        for s in &SHIPPED {
            let path = format!(
                "{}/results/ridge/{}.txt",
                env!("CARGO_MANIFEST_DIR"),
                s.dataset
            );
            let text = std::fs::read_to_string(&path).unwrap();
            let line = format!(
                "windows={}: {} train / {} validation windows: ridge {:.4} ",
                s.windows, s.train_windows, s.val_windows, s.cosine
            );
            assert!(text.contains(&line), "{path} lacks {line:?}");
        }
    }

    #[test]
    fn shipped_only_for_the_full_data_split() {
        let mut c = RunConfig {
            dataset: "wiki-29k".into(),
            ..RunConfig::default()
        };
        assert_eq!(shipped(&c, 26385, 2932), Some(0.4619));
        // A sample has other windows.
        assert_eq!(shipped(&c, 3600, 400), None);
        c.windows = WindowsKind::Within;
        assert_eq!(shipped(&c, 1618, 180), Some(0.5156));
        c.context = 10;
        assert_eq!(shipped(&c, 1618, 180), None);
        c.context = 5;
        c.split = SplitKind::Random;
        assert_eq!(shipped(&c, 1618, 180), None);
        c.split = SplitKind::Ordered;
        c.dataset = "mine".into();
        assert_eq!(shipped(&c, 1618, 180), None);
    }

    fn random_windows(rows: usize, dim: usize, context: usize, seed: u64) -> Windows {
        let mut rng = Rng::new(seed);
        // A next vector that depends on the last one (plus noise), so the fit has something
        // to find.
        let mut data: Vec<f32> = Vec::with_capacity(rows * dim);
        for r in 0..rows {
            for j in 0..dim {
                let prev = if r > 0 {
                    data[(r - 1) * dim + (j + 1) % dim]
                } else {
                    0.0
                };
                data.push(0.8 * prev + rng.uniform(-0.5, 0.5) + 0.01);
            }
        }
        Windows::from_stream(data, dim, context).unwrap()
    }

    /// The normal equations with an intercept column, unpenalised, solved by Gaussian
    /// elimination with partial pivoting, straight from the windows.
    #[allow(clippy::needless_range_loop)] // rows r and col of one matrix, side by side
    fn direct(w: &Windows, idx: &[usize], lambda: f64) -> (Vec<Vec<f64>>, Vec<f64>) {
        let (p, d) = (w.context() * w.dim(), w.dim());
        let q = p + 1;
        let mut a = vec![vec![0.0f64; q]; q];
        let mut b = vec![vec![0.0f64; d]; q];
        for &i in idx {
            let mut x: Vec<f64> = w.context_of(i).iter().map(|&v| v as f64).collect();
            x.push(1.0);
            for r in 0..q {
                for c in 0..q {
                    a[r][c] += x[r] * x[c];
                }
                for (c, &y) in w.target_of(i).iter().enumerate() {
                    b[r][c] += x[r] * y as f64;
                }
            }
        }
        for (r, row) in a.iter_mut().enumerate().take(p) {
            row[r] += lambda;
        }
        for col in 0..q {
            let piv = (col..q)
                .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
                .unwrap();
            a.swap(col, piv);
            b.swap(col, piv);
            for r in 0..q {
                if r != col {
                    let f = a[r][col] / a[col][col];
                    for c in 0..q {
                        a[r][c] -= f * a[col][c];
                    }
                    for c in 0..d {
                        b[r][c] -= f * b[col][c];
                    }
                }
            }
        }
        let sol: Vec<Vec<f64>> = (0..q)
            .map(|r| b[r].iter().map(|v| v / a[r][r]).collect())
            .collect();
        (sol[..p].to_vec(), sol[p].clone())
    }

    #[test]
    fn matches_a_direct_solve() {
        let w = random_windows(60, 3, 2, 7);
        let idx: Vec<usize> = (0..w.len()).collect();
        for alpha in [1e-3, 0.1, 10.0] {
            let fit = RidgeFit::fit(&w, &idx, alpha).unwrap();
            let (weights, bias) = direct(&w, &idx, fit.lambda);
            for (i, row) in weights.iter().enumerate() {
                for (j, &v) in row.iter().enumerate() {
                    let got = fit.weights[i * 3 + j];
                    assert!(
                        (got - v).abs() < 1e-4,
                        "alpha {alpha} W[{i}][{j}] {got} vs {v}"
                    );
                }
            }
            for (j, &v) in bias.iter().enumerate() {
                assert!(
                    (fit.bias[j] - v).abs() < 1e-4,
                    "bias {j}: {} vs {v}",
                    fit.bias[j]
                );
            }
            // Its predictions are the solve's.
            let raw = fit.predict_raw(w.context_of(5));
            let ctx = w.context_of(5);
            for (j, &r) in raw.iter().enumerate() {
                let want = bias[j] + (0..6).map(|i| ctx[i] as f64 * weights[i][j]).sum::<f64>();
                assert!((r - want).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn spd_solve_is_exact_on_a_small_system() {
        // A = [[4, 2], [2, 3]], B = [[2], [1]]: W = [[0.5], [0]].
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let w = solve_spd(&mut a, &[2.0, 1.0], 2, 1).unwrap();
        assert!((w[0] - 0.5).abs() < 1e-12 && w[1].abs() < 1e-12, "{w:?}");
        let mut bad = vec![1.0, 2.0, 2.0, 1.0];
        assert!(solve_spd(&mut bad, &[1.0, 1.0], 2, 1).is_err());
    }

    #[test]
    fn lambda_is_chosen_on_training_windows_only() {
        let w = random_windows(400, 4, 3, 11);
        let train = w.select(&(0..300).collect::<Vec<_>>());
        let val_a = w.select(&(300..w.len()).collect::<Vec<_>>());
        // Validation windows of other data entirely: the choice cannot change.
        let other = random_windows(100, 4, 3, 99);
        let a = baseline(&train, &val_a).unwrap();
        let b = baseline(&train, &other).unwrap();
        assert_eq!(
            (a.alpha, a.lambda, &a.selection),
            (b.alpha, b.lambda, &b.selection)
        );
        assert_ne!(a.val, b.val);
        assert_eq!((a.fit_windows, a.tail_windows), (270, 30));
        // The choice is the best α on the held-out tail of the training windows.
        let fit_idx: Vec<usize> = (0..270).collect();
        let tail = train.select(&(270..300).collect::<Vec<_>>());
        let scores: Vec<f32> = ALPHAS
            .iter()
            .map(|&alpha| {
                mean(
                    &RidgeFit::fit(&train, &fit_idx, alpha)
                        .unwrap()
                        .cosines(&tail)
                        .unwrap(),
                )
            })
            .collect();
        let best = scores
            .iter()
            .enumerate()
            .max_by(|x, y| x.1.total_cmp(y.1))
            .unwrap()
            .0;
        assert_eq!(a.alpha, ALPHAS[best]);
        for ((_, got), want) in a.selection.iter().zip(&scores) {
            assert!((got - want).abs() < 1e-5);
        }
        // And it learns the dependence: above copy-last on these windows.
        let b = crate::data::cosine::Baselines::compute(&train, &val_a);
        assert!(
            a.val > b.copy_last.mean,
            "{} vs {}",
            a.val,
            b.copy_last.mean
        );
    }
}
