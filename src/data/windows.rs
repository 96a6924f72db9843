//! Training windows: `context` consecutive sentence vectors and the vector that follows.
//!
//! Vectors are stored once, as a stream of rows; a window is just the index of its first row,
//! so any context length works without copying (nothing stores six copies of a vector).
//! A `[N, context+1, dim]` array of precomputed windows is supported too: there each window's
//! rows are simply contiguous in their own block.

use crate::base::rng::{Rng, Stream};
use crate::config::{RunConfig, SplitKind, WindowsKind};
use candle_core::{Device, Result as CResult, Tensor};
use std::sync::Arc;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DataError {
    #[error("{0}")]
    Npy(#[from] crate::data::npy::NpyError),
    #[error("expected a [N, dim] chunk stream or [N, context+1, dim] windows, got shape {0:?}")]
    Rank(Vec<usize>),
    #[error("the windows hold a context of {found} but the run asks for {wanted}")]
    Context { found: usize, wanted: usize },
    #[error("{rows} vectors make no window of context {context} (need at least {})", context + 1)]
    TooShort { rows: usize, context: usize },
    #[error("vector {row} is not finite (NaN or infinity)")]
    NonFinite { row: usize },
    #[error("vector {row} is all zeros")]
    Zero { row: usize },
    #[error("the documents cover {covered} vectors but the data has {rows}")]
    Documents { rows: usize, covered: usize },
    #[error(
        "the split leaves {train} training and {val} validation windows; both need at least one"
    )]
    EmptySplit { train: usize, val: usize },
}

/// A set of windows over shared vector rows.
#[derive(Clone, Debug)]
pub struct Windows {
    rows: Arc<[f32]>,
    dim: usize,
    context: usize,
    /// First row of each window.
    starts: Vec<usize>,
    /// The document of each row, when the data has documents (a dataset's manifest); data
    /// without them is one document.
    documents: Option<Arc<[u32]>>,
}

impl Windows {
    /// Every window of a chunk stream `[rows, dim]`: `rows - context` of them.
    pub fn from_stream(
        rows: impl Into<Arc<[f32]>>,
        dim: usize,
        context: usize,
    ) -> Result<Self, DataError> {
        let rows: Arc<[f32]> = rows.into();
        let n = rows.len().checked_div(dim).unwrap_or(0);
        if n <= context {
            return Err(DataError::TooShort { rows: n, context });
        }
        check_rows(&rows, dim)?;
        Ok(Self {
            rows,
            dim,
            context,
            starts: (0..n - context).collect(),
            documents: None,
        })
    }

    /// `count` precomputed windows of `context + 1` rows each, stored back to back.
    pub fn from_blocks(
        rows: Vec<f32>,
        count: usize,
        context: usize,
        dim: usize,
    ) -> Result<Self, DataError> {
        if count == 0 {
            return Err(DataError::TooShort { rows: 0, context });
        }
        check_rows(&rows, dim)?;
        Ok(Self {
            rows: rows.into(),
            dim,
            context,
            starts: (0..count).map(|i| i * (context + 1)).collect(),
            documents: None,
        })
    }

    /// From a `.npy`: `[N, dim]` is a chunk stream, `[N, context+1, dim]` precomputed windows.
    pub fn from_npy(bytes: &[u8], context: usize) -> Result<Self, DataError> {
        let array = crate::data::npy::read(bytes)?;
        match array.shape[..] {
            [_, dim] if dim > 0 => Self::from_stream(array.data, dim, context),
            [n, len, dim] if dim > 0 => {
                if len != context + 1 {
                    return Err(DataError::Context {
                        found: len.saturating_sub(1),
                        wanted: context,
                    });
                }
                Self::from_blocks(array.data, n, context, dim)
            }
            _ => Err(DataError::Rank(array.shape)),
        }
    }

    /// The same windows over rows that fall into documents of `counts` rows each, in order
    /// (a dataset manifest's documents). Counts that do not tile the rows are an error.
    pub fn with_documents(mut self, counts: &[usize]) -> Result<Self, DataError> {
        let n = self.rows.len() / self.dim;
        let total: usize = counts.iter().sum();
        if total != n || counts.contains(&0) {
            return Err(DataError::Documents {
                rows: n,
                covered: total,
            });
        }
        let mut documents = Vec::with_capacity(n);
        for (k, &count) in counts.iter().enumerate() {
            documents.extend(std::iter::repeat_n(k as u32, count));
        }
        self.documents = Some(documents.into());
        Ok(self)
    }

    /// Whether window `i`'s context and target lie in one document (always, for data
    /// without documents).
    pub fn is_within(&self, i: usize) -> bool {
        match &self.documents {
            Some(doc) => doc[self.starts[i]] == doc[self.starts[i] + self.context],
            None => true,
        }
    }

    /// The indices of the windows a run uses: all, or those inside one document.
    pub fn kept(&self, kind: WindowsKind) -> Vec<usize> {
        match kind {
            WindowsKind::All => (0..self.len()).collect(),
            WindowsKind::Within => (0..self.len()).filter(|&i| self.is_within(i)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn context(&self) -> usize {
        self.context
    }

    /// The `context * dim` values of window `i`'s context, oldest first.
    pub fn context_of(&self, i: usize) -> &[f32] {
        let s = self.starts[i] * self.dim;
        &self.rows[s..s + self.context * self.dim]
    }

    /// The vector window `i` should predict.
    pub fn target_of(&self, i: usize) -> &[f32] {
        let s = (self.starts[i] + self.context) * self.dim;
        &self.rows[s..s + self.dim]
    }

    /// All vector rows the windows draw from (for a stream: every sentence, in order).
    pub fn rows(&self) -> &[f32] {
        &self.rows
    }

    /// Row index of window `i`'s target within [`Windows::rows`].
    pub fn target_row(&self, i: usize) -> usize {
        self.starts[i] + self.context
    }

    /// The windows at `indices`, sharing the same rows.
    pub fn select(&self, indices: &[usize]) -> Self {
        Self {
            rows: self.rows.clone(),
            dim: self.dim,
            context: self.context,
            starts: indices.iter().map(|&i| self.starts[i]).collect(),
            documents: self.documents.clone(),
        }
    }

    /// Contexts `[b, context, dim]` and targets `[b, dim]` for the windows at `indices`.
    pub fn batch(&self, indices: &[usize], device: &Device) -> CResult<(Tensor, Tensor)> {
        let mut x = Vec::with_capacity(indices.len() * self.context * self.dim);
        let mut y = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            x.extend_from_slice(self.context_of(i));
            y.extend_from_slice(self.target_of(i));
        }
        Ok((
            Tensor::from_vec(x, (indices.len(), self.context, self.dim), device)?,
            Tensor::from_vec(y, (indices.len(), self.dim), device)?,
        ))
    }
}

fn check_rows(rows: &[f32], dim: usize) -> Result<(), DataError> {
    for (row, v) in rows.chunks_exact(dim).enumerate() {
        if !v.iter().all(|x| x.is_finite()) {
            return Err(DataError::NonFinite { row });
        }
        if v.iter().all(|&x| x == 0.0) {
            return Err(DataError::Zero { row });
        }
    }
    Ok(())
}

/// The training and validation windows of a run.
#[derive(Clone, Debug)]
pub struct Split {
    pub train: Windows,
    pub val: Windows,
}

impl Split {
    /// Applies the run's windows, sample and split to all windows of a dataset.
    ///
    /// Windows: `within` keeps only the windows inside one document, in order; the sample and
    /// split then apply to those. Sample: `cfg.sample` windows drawn at random (seeded), kept in stream order. Split: as the
    /// study, the first floor((1 - val_fraction) * N) windows in order train and the rest
    /// validate (29,317 -> 26,385 / 2,932); or the same cut after a seeded shuffle.
    pub fn new(all: &Windows, cfg: &RunConfig) -> Result<Self, DataError> {
        let mut indices: Vec<usize> = all.kept(cfg.windows);
        if cfg.sample > 0 && cfg.sample < indices.len() {
            let mut rng = Rng::stream(cfg.seed, Stream::Sample);
            // Partial Fisher-Yates: the first `sample` slots become a uniform random subset.
            for i in 0..cfg.sample {
                let j = i + rng.below(indices.len() - i);
                indices.swap(i, j);
            }
            indices.truncate(cfg.sample);
            indices.sort_unstable();
        }
        if cfg.split == SplitKind::Random {
            Rng::stream(cfg.seed, Stream::Split).shuffle(&mut indices);
        }
        let n = indices.len();
        let n_train = ((n as f64) * (1.0 - cfg.val_fraction)).floor() as usize;
        let (train, val) = indices.split_at(n_train.min(n));
        if train.is_empty() || val.is_empty() {
            return Err(DataError::EmptySplit {
                train: train.len(),
                val: val.len(),
            });
        }
        let (mut train, mut val) = (train.to_vec(), val.to_vec());
        train.sort_unstable();
        val.sort_unstable();
        Ok(Self {
            train: all.select(&train),
            val: all.select(&val),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::npy::{write, DType};

    fn stream(n: usize, dim: usize) -> Vec<f32> {
        (0..n * dim).map(|i| 1.0 + i as f32).collect()
    }

    #[test]
    fn study_split_sizes() {
        // 29,322 chunks -> 29,317 windows -> 26,385 train / 2,932 validation.
        let w = Windows::from_stream(stream(29_322, 2), 2, 5).unwrap();
        assert_eq!(w.len(), 29_317);
        let s = Split::new(&w, &RunConfig::default()).unwrap();
        assert_eq!((s.train.len(), s.val.len()), (26_385, 2_932));
        // Ordered: validation is the tail of the stream.
        assert_eq!(s.val.target_of(s.val.len() - 1), w.target_of(29_316));
        assert_eq!(s.train.context_of(0), w.context_of(0));
    }

    #[test]
    fn windows_slide_over_the_stream() {
        let w = Windows::from_stream(stream(8, 3), 3, 5).unwrap();
        assert_eq!(w.len(), 3);
        assert_eq!(w.context_of(1), &stream(8, 3)[3..18]);
        assert_eq!(w.target_of(1), &stream(8, 3)[18..21]);
        let (x, y) = w.batch(&[2, 0], &Device::Cpu).unwrap();
        assert_eq!(x.dims(), &[2, 5, 3]);
        assert_eq!(
            y.to_vec2::<f32>().unwrap(),
            vec![w.target_of(2).to_vec(), w.target_of(0).to_vec()]
        );
        let w10 = Windows::from_stream(stream(30, 3), 3, 10).unwrap();
        assert_eq!(w10.len(), 20);
    }

    #[test]
    fn npy_stream_and_blocks() {
        let data = stream(12, 4);
        let w = Windows::from_npy(&write(&[12, 4], &data, DType::F32), 5).unwrap();
        assert_eq!((w.len(), w.dim()), (7, 4));
        let blocks = Windows::from_npy(&write(&[2, 6, 4], &data[..48], DType::F32), 5).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks.target_of(1), &data[44..48]);
        assert_eq!(blocks.context_of(1), &data[24..44]);
        let err = Windows::from_npy(&write(&[2, 6, 4], &data[..48], DType::F32), 10).unwrap_err();
        assert_eq!(
            err,
            DataError::Context {
                found: 5,
                wanted: 10
            }
        );
        let err = Windows::from_npy(&write(&[48], &data[..48], DType::F32), 5).unwrap_err();
        assert_eq!(err, DataError::Rank(vec![48]));
    }

    #[test]
    fn bad_vectors_are_named() {
        let mut data = stream(10, 2);
        data[7] = f32::NAN;
        assert_eq!(
            Windows::from_stream(data, 2, 5).unwrap_err(),
            DataError::NonFinite { row: 3 }
        );
        let mut data = stream(10, 2);
        data[8] = 0.0;
        data[9] = 0.0;
        assert_eq!(
            Windows::from_stream(data, 2, 5).unwrap_err(),
            DataError::Zero { row: 4 }
        );
        assert!(matches!(
            Windows::from_stream(stream(5, 2), 2, 5),
            Err(DataError::TooShort { .. })
        ));
    }

    #[test]
    fn within_keeps_the_windows_inside_one_document() {
        // Documents of 3, 8, 1 and 8 rows: rows 0-2, 3-10, 11, 12-19.
        let w = Windows::from_stream(stream(20, 2), 2, 2)
            .unwrap()
            .with_documents(&[3, 8, 1, 8])
            .unwrap();
        assert_eq!(w.len(), 18);
        let kept = w.kept(WindowsKind::Within);
        // Context rows s, s+1 and target s+2 in one document.
        let want: Vec<usize> = [0].into_iter().chain(3..=8).chain(12..=17).collect();
        assert_eq!(kept, want);
        assert_eq!(w.kept(WindowsKind::All), (0..18).collect::<Vec<_>>());
        // The split cuts the 13 kept windows: 11 train, 2 validate, none crossing a boundary.
        let cfg = RunConfig {
            windows: WindowsKind::Within,
            context: 2,
            ..RunConfig::default()
        };
        let s = Split::new(&w, &cfg).unwrap();
        assert_eq!((s.train.len(), s.val.len()), (11, 2));
        assert_eq!(s.val.starts, [16, 17]);
        assert!((0..s.train.len()).all(|i| s.train.is_within(i)));
        // A sample draws from the kept windows only.
        let w = Windows::from_stream(stream(1000, 2), 2, 5)
            .unwrap()
            .with_documents(&[10; 100])
            .unwrap();
        assert_eq!(w.kept(WindowsKind::Within).len(), 500);
        let cfg = RunConfig {
            windows: WindowsKind::Within,
            sample: 100,
            ..RunConfig::default()
        };
        let s = Split::new(&w, &cfg).unwrap();
        assert_eq!((s.train.len(), s.val.len()), (90, 10));
        assert!(s
            .train
            .starts
            .iter()
            .chain(&s.val.starts)
            .all(|&r| r % 10 < 5));
        // Data without documents is one document: every window stays.
        let plain = Windows::from_stream(stream(20, 2), 2, 2).unwrap();
        assert_eq!(plain.kept(WindowsKind::Within).len(), 18);
        assert_eq!(
            plain.clone().with_documents(&[3, 8]).unwrap_err(),
            DataError::Documents {
                rows: 20,
                covered: 11
            }
        );
        assert!(plain.with_documents(&[20, 0]).is_err());
    }

    #[test]
    fn sample_and_random_split_are_seeded() {
        let w = Windows::from_stream(stream(1005, 2), 2, 5).unwrap();
        let mut cfg = RunConfig {
            sample: 100,
            ..RunConfig::default()
        };
        let a = Split::new(&w, &cfg).unwrap();
        let b = Split::new(&w, &cfg).unwrap();
        assert_eq!((a.train.len(), a.val.len()), (90, 10));
        assert_eq!(a.train.starts, b.train.starts);
        assert!(a.train.starts.windows(2).all(|p| p[0] < p[1]));
        assert!(a.train.starts.last() < a.val.starts.first());
        cfg.split = SplitKind::Random;
        let r = Split::new(&w, &cfg).unwrap();
        assert!(r.train.starts.last() > r.val.starts.first());
        cfg.seed += 1;
        assert_ne!(Split::new(&w, &cfg).unwrap().train.starts, r.train.starts);
        let tiny = Windows::from_stream(stream(6, 2), 2, 5).unwrap(); // one window
        assert!(matches!(
            Split::new(&tiny, &RunConfig::default()),
            Err(DataError::EmptySplit { .. })
        ));
    }
}
