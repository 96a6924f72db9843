//! A dataset from the user's own files: sentence vectors (`.npy` `[N, D]`, float32 or float16,
//! any D) and, optionally, their texts; or a whole dataset folder in this project's format.
//! The CLI (`lvm dataset import`) and the page's drop zone both come here, so they accept and
//! refuse the same files with the same words.
//!
//! Texts are one of:
//! - `.jsonl` of JSON strings, one sentence a line;
//! - `.jsonl` of `{"title", "sentences": [...]}` objects, one document a line (what
//!   `lvm dataset build` reads), which also gives the document boundaries;
//! - plain text, one sentence a line, blank lines between documents.
//!
//! A user dataset is named `sha256-<hex>` after its vectors file's bytes: training reads only
//! the vectors, so the name says exactly what a run trained on, and a link to it can say which
//! file it needs.

use crate::config::OWN_PREFIX;
use crate::data::dataset::{Dataset, Document, EmbeddingInfo, Manifest, Source, MANIFEST};
use crate::data::npy::{self, DType};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Largest vectors file accepted (the page's download limit too).
pub const MAX_VECTORS_BYTES: usize = 512 * 1024 * 1024;
/// Largest texts file accepted.
pub const MAX_TEXTS_BYTES: usize = 256 * 1024 * 1024;
/// Widest vectors a model here can read.
pub const MAX_DIM: usize = 65_536;
/// Rows named one by one in a problem before "and N more".
const LISTED_ROWS: usize = 5;

/// The name a dataset gets from its vectors file's bytes.
pub fn own_name(vectors: &[u8]) -> String {
    format!("{OWN_PREFIX}{:x}", Sha256::digest(vectors))
}

/// One file the user gave: its name (for messages and to tell what it holds) and bytes.
#[derive(Clone, Copy)]
pub struct Given<'a> {
    pub file: &'a str,
    pub bytes: &'a [u8],
}

/// A dataset ready to store: its name and its three files in this project's format.
#[derive(Clone, Debug)]
pub struct Imported {
    pub name: String,
    pub manifest: Manifest,
    pub vectors: Vec<u8>,
    /// `texts.jsonl`, when texts were given.
    pub texts: Option<Vec<u8>>,
    /// What is worth knowing but does not stop it (vectors renormalised, few windows).
    pub warnings: Vec<String>,
}

/// Every problem found, each naming its file; nothing is imported while there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems(pub Vec<String>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for Problems {}

/// Sorts what the user gave into vectors, texts and a manifest by file name, and imports them.
pub fn import_files(files: &[Given]) -> Result<Imported, Problems> {
    let base = |g: &Given| base_name(g.file).to_string();
    let pick = |want: &dyn Fn(&str) -> bool| -> Result<Option<Given>, Problems> {
        let found: Vec<&Given> = files.iter().filter(|g| want(&base(g))).collect();
        match found[..] {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(Problems(vec![format!(
                "{} were given together; give one",
                found
                    .iter()
                    .map(|g| base(g))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )])),
        }
    };
    let vectors = pick(&|n| n.ends_with(".npy"))?;
    let manifest = pick(&|n| n == MANIFEST)?;
    let texts = pick(&|n| n.ends_with(".jsonl") || n.ends_with(".txt"))?;
    let Some(vectors) = vectors else {
        return Err(Problems(vec![
            "no .npy file of sentence vectors among the files given".into(),
        ]));
    };
    match manifest {
        Some(m) => import_folder(m.bytes, vectors, texts),
        None => import_vectors(vectors, texts),
    }
}

/// A dataset folder in this project's format, checked by the loader the shipped ones go
/// through, and stored as given.
pub fn import_folder(
    manifest: &[u8],
    vectors: Given,
    texts: Option<Given>,
) -> Result<Imported, Problems> {
    let checked = Dataset::from_bytes(manifest, vectors.bytes, texts.map(|t| t.bytes))
        .map_err(|e| Problems(vec![e.to_string()]))?;
    let warnings = few_windows(checked.manifest.count).into_iter().collect();
    Ok(Imported {
        name: own_name(vectors.bytes),
        manifest: checked.manifest,
        vectors: vectors.bytes.to_vec(),
        texts: texts.map(|t| t.bytes.to_vec()),
        warnings,
    })
}

/// Raw vectors (and texts): every check runs and every problem is listed.
pub fn import_vectors(vectors: Given, texts: Option<Given>) -> Result<Imported, Problems> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let file = vectors.file;
    let array = if vectors.bytes.len() > MAX_VECTORS_BYTES {
        problems.push(format!(
            "{file}: {} bytes is more than the {MAX_VECTORS_BYTES} allowed",
            vectors.bytes.len()
        ));
        None
    } else {
        match npy::read(vectors.bytes) {
            Ok(a) => Some(a),
            Err(e) => {
                problems.push(format!("{file}: {e}"));
                None
            }
        }
    };
    let mut shape = None;
    let mut data = Vec::new();
    let mut dtype = DType::F32;
    if let Some(array) = array {
        match array.shape[..] {
            [n, d] if n >= 1 && (1..=MAX_DIM).contains(&d) => {
                shape = Some((n, d));
                dtype = array.dtype;
                data = array.data;
            }
            _ => problems.push(format!(
                "{file}: shape {:?} is not [N, D] with N ≥ 1 and D in 1..={MAX_DIM}",
                array.shape
            )),
        }
    }
    if let Some((_, d)) = shape {
        let (mut not_finite, mut zero, mut renormalised) = (Vec::new(), Vec::new(), 0usize);
        for (row, v) in data.chunks_exact_mut(d).enumerate() {
            if !v.iter().all(|x| x.is_finite()) {
                not_finite.push(row);
                continue;
            }
            let norm = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt() as f32;
            if norm == 0.0 || !norm.is_normal() {
                zero.push(row);
                continue;
            }
            if (norm - 1.0).abs() > 1e-3 {
                renormalised += 1;
            }
            v.iter_mut().for_each(|x| *x /= norm);
        }
        if !not_finite.is_empty() {
            problems.push(format!(
                "{file}: {} not finite (NaN or infinity)",
                rows(&not_finite)
            ));
        }
        if !zero.is_empty() {
            problems.push(format!(
                "{file}: {} zero (a zero vector has no direction to predict)",
                rows(&zero)
            ));
        }
        if renormalised > 0 {
            warnings.push(format!(
                "{renormalised} vectors were scaled to unit length (cosines are unchanged)"
            ));
        }
    }
    let documents = match texts {
        Some(t) => match read_texts(t) {
            Ok(docs) => Some(docs),
            Err(e) => {
                problems.push(e);
                None
            }
        },
        None => None,
    };
    if let (Some((n, _)), Some(docs)) = (shape, &documents) {
        let sentences: usize = docs.iter().map(|d| d.sentences.len()).sum();
        if sentences != n {
            problems.push(format!(
                "{} has {sentences} sentences for the {n} vectors of {file}",
                texts.map_or("", |t| t.file)
            ));
        }
    }
    let Some((count, dim)) = shape.filter(|_| problems.is_empty()) else {
        return Err(Problems(problems));
    };
    warnings.extend(few_windows(count));
    let title = stem(file);
    let name = own_name(vectors.bytes);
    // Without texts the stream is one document, titled after the file.
    let layout: Vec<(String, usize)> = match &documents {
        Some(docs) => docs
            .iter()
            .map(|d| (d.title.clone(), d.sentences.len()))
            .collect(),
        None => vec![(title.clone(), count)],
    };
    let texts_jsonl = documents.map(|docs| {
        crate::data::dataset::texts_jsonl(
            docs.iter().flat_map(|d| &d.sentences).map(String::as_str),
        )
    });
    let mut start = 0;
    let documents = layout
        .into_iter()
        .map(|(title, count)| {
            let doc = Document {
                title,
                category: String::new(),
                start,
                count,
            };
            start += count;
            doc
        })
        .collect();
    let manifest = Manifest {
        name: title,
        description: format!("{count} sentence vectors of your own ({dim}-D)"),
        source: Source {
            package: format!("your file {file}"),
            version: name.clone(),
            license: "as the vectors' owner states".into(),
            attribution: String::new(),
        },
        embedding: EmbeddingInfo {
            model: "unknown (imported)".into(),
            sha256: String::new(),
            pooling: "unknown".into(),
            max_tokens: 0,
        },
        dim,
        count,
        dtype: if dtype == DType::F16 {
            "float16"
        } else {
            "float32"
        }
        .into(),
        documents,
        build_command: format!("lvm dataset import --vectors {file}"),
    };
    Ok(Imported {
        name,
        vectors: npy::write(&[count, dim], &data, dtype),
        manifest,
        texts: texts_jsonl,
        warnings,
    })
}

/// A text embedded on the page: its documents' sentences (in order) and their vectors
/// (`[sentences, encoder.dim]`), as a dataset in the encoder's space named `title`.
pub fn from_embedded(
    title: &str,
    docs: &[Vec<String>],
    vectors: &[f32],
    encoder: &crate::data::embed::EncoderInfo,
) -> Result<Imported, Problems> {
    let count = docs.iter().map(Vec::len).sum::<usize>();
    let npy = npy::write(&[count, encoder.dim], vectors, DType::F32);
    let mut jsonl = String::new();
    for (i, sentences) in docs.iter().enumerate() {
        let line =
            serde_json::json!({ "title": format!("{title} {}", i + 1), "sentences": sentences });
        jsonl += &line.to_string();
        jsonl.push('\n');
    }
    let (vectors_file, texts_file) = (format!("{title}.npy"), format!("{title}.jsonl"));
    let mut d = import_vectors(
        Given {
            file: &vectors_file,
            bytes: &npy,
        },
        Some(Given {
            file: &texts_file,
            bytes: jsonl.as_bytes(),
        }),
    )?;
    let m = &mut d.manifest;
    m.embedding = encoder.manifest_entry();
    m.description = format!(
        "{count} sentences of a text embedded on the page with {}",
        encoder.name
    );
    m.source.package = "a text pasted on the page".into();
    m.build_command = format!(
        "lvm dataset build --docs <the text as {{\"title\", \"sentences\"}} lines> --encoder {}",
        encoder.name
    );
    Ok(d)
}

/// "rows 3, 17 and 40 are" / "row 3 is", naming at most a few.
fn rows(list: &[usize]) -> String {
    let shown: Vec<String> = list
        .iter()
        .take(LISTED_ROWS)
        .map(usize::to_string)
        .collect();
    match list.len() {
        1 => format!("vector {} is", shown[0]),
        n if n <= LISTED_ROWS => format!("vectors {} are", shown.join(", ")),
        n => format!("{n} vectors ({}, …) are", shown.join(", ")),
    }
}

/// Fewer validation windows than this make a mean cosine that says little about a model.
const FEW_VALIDATION_WINDOWS: usize = 50;

/// A warning when `count` sentences are too few to compare models on (with the default split).
pub fn few_windows(count: usize) -> Option<String> {
    let config = crate::config::RunConfig::default();
    let windows = count.saturating_sub(config.context);
    let val = (windows as f64 * config.val_fraction).round() as usize;
    (val < FEW_VALIDATION_WINDOWS).then(|| {
        format!(
            "{count} sentences make {windows} windows of {} and the next, about {val} of them \
             for validation: too few to tell models apart (aim for {FEW_VALIDATION_WINDOWS}+ \
             validation windows, about {} sentences)",
            config.context,
            (FEW_VALIDATION_WINDOWS as f64 / config.val_fraction).ceil() as usize + config.context
        )
    })
}

/// A document's title and sentences, however the texts file gave them.
#[derive(Deserialize)]
struct Doc {
    title: String,
    sentences: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonLine {
    Sentence(String),
    /// `lvm dataset build`'s lines; their other fields (a category) are ignored here.
    Document {
        title: String,
        sentences: Vec<String>,
    },
}

/// Reads a texts file into documents (one document when it gives no boundaries).
fn read_texts(texts: Given) -> Result<Vec<Doc>, String> {
    let file = texts.file;
    if texts.bytes.len() > MAX_TEXTS_BYTES {
        return Err(format!(
            "{file}: {} bytes is more than the {MAX_TEXTS_BYTES} allowed",
            texts.bytes.len()
        ));
    }
    let text = std::str::from_utf8(texts.bytes).map_err(|e| format!("{file}: not UTF-8: {e}"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if file.ends_with(".jsonl") {
        // One kind throughout: sentence lines (one document) or document lines.
        let mut docs: Vec<Doc> = Vec::new();
        let mut loose: Vec<String> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = format!("{file} line {}", i + 1);
            match serde_json::from_str::<JsonLine>(line) {
                Ok(JsonLine::Sentence(s)) if docs.is_empty() => loose.push(s),
                Ok(JsonLine::Document { title, sentences }) if loose.is_empty() => {
                    if sentences.is_empty() {
                        return Err(format!("{at}: a document with no sentences"));
                    }
                    docs.push(Doc { title, sentences });
                }
                Ok(_) => {
                    return Err(format!(
                        "{at}: sentence lines and document lines are mixed; use one kind"
                    ))
                }
                Err(_) => {
                    return Err(format!(
                        "{at}: neither a JSON string nor a {{\"title\", \"sentences\"}} object"
                    ))
                }
            }
        }
        if !loose.is_empty() {
            docs.push(Doc {
                title: stem(file),
                sentences: loose,
            });
        }
        return non_empty(file, docs);
    }
    // Plain text: blank lines separate documents.
    let mut docs = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        let line = line.trim();
        if line.is_empty() {
            if !current.is_empty() {
                docs.push(Doc {
                    title: format!("{} {}", stem(file), docs.len() + 1),
                    sentences: std::mem::take(&mut current),
                });
            }
        } else {
            current.push(line.to_string());
        }
    }
    if docs.len() == 1 {
        docs[0].title = stem(file);
    }
    non_empty(file, docs)
}

fn non_empty(file: &str, docs: Vec<Doc>) -> Result<Vec<Doc>, String> {
    if docs.is_empty() {
        Err(format!("{file}: no sentences in it"))
    } else {
        Ok(docs)
    }
}

/// A file's name without its folders.
fn base_name(file: &str) -> &str {
    file.rsplit(['/', '\\']).next().unwrap_or(file)
}

/// A file's name without its folders and its extension.
fn stem(file: &str) -> String {
    let base = base_name(file);
    base.rsplit_once('.').map_or(base, |(s, _)| s).to_string()
}
