//! `lvm embed`, `lvm dataset build` and `lvm dataset import`: bring your own text or vectors.

use crate::data::dataset::{
    Dataset, Document, EmbeddingInfo, Manifest, Source, MANIFEST, TEXTS, VECTORS,
};
use crate::data::embed::{model_dir, Embedder, EncoderInfo};
use crate::data::npy::{self, DType};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Which encoder, and where it lives (see scripts/fetch_model.py).
#[derive(Args, Clone)]
pub struct ModelArgs {
    /// all-mpnet-base-v2 (768-D, the shipped datasets' space) or all-MiniLM-L6-v2 (384-D, what
    /// the page embeds pasted text with).
    #[arg(long, default_value = "all-mpnet-base-v2")]
    encoder: String,
    /// The encoder's folder (default: $LVM_CACHE or ~/.cache/lvm-playground, then the
    /// encoder's name).
    #[arg(long)]
    model_dir: Option<PathBuf>,
    /// Sentences per forward pass.
    #[arg(long, default_value_t = 32)]
    batch: usize,
}

impl ModelArgs {
    fn info(&self) -> Result<&'static EncoderInfo> {
        crate::data::embed::find(&self.encoder).with_context(|| {
            format!(
                "no encoder '{}' (all-mpnet-base-v2 or all-MiniLM-L6-v2)",
                self.encoder
            )
        })
    }

    fn dir(&self) -> Result<PathBuf> {
        Ok(self.model_dir.clone().unwrap_or(model_dir(self.info()?)))
    }

    fn load(&self) -> Result<Embedder> {
        let dir = self.dir()?;
        if !dir.join("model.safetensors").exists() {
            bail!(
                "no model in {}: run scripts/fetch_model.py first (or pass --model-dir)",
                dir.display()
            );
        }
        Embedder::load(&dir, self.info()?)
    }
}

#[derive(Args)]
pub struct EmbedArgs {
    /// Text to embed: JSONL documents ({"title", "sentences": [...]}) or plain text, one
    /// sentence a line.
    #[arg(long)]
    input: PathBuf,
    /// Output .npy, [N, dim] float32.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(Subcommand)]
pub enum DatasetCommand {
    /// Embed documents into a dataset folder (manifest.json, vectors.npy, texts.jsonl).
    Build(BuildArgs),
    /// Make a dataset folder from your own vectors (.npy [N, dim]) and optional texts.
    Import(ImportArgs),
    /// Check a dataset folder and print its statistics and baselines.
    Check(CheckArgs),
}

#[derive(Args)]
pub struct BuildArgs {
    /// JSONL, one document a line: {"title": ..., "category": ..., "sentences": [...]}, in
    /// stream order.
    #[arg(long)]
    docs: PathBuf,
    /// JSON with the dataset's name, description, source {package, version, license,
    /// attribution} and build_command.
    #[arg(long)]
    about: PathBuf,
    /// Keep only the first N sentences of the stream (0 = all).
    #[arg(long, default_value_t = 0)]
    limit: usize,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(Args)]
pub struct ImportArgs {
    /// Vectors, .npy [N, dim] float32 or float16, in stream order.
    #[arg(long)]
    vectors: PathBuf,
    /// Optional texts, one per vector: a .jsonl of strings or a plain text file, one a line.
    #[arg(long)]
    texts: Option<PathBuf>,
    #[arg(long)]
    name: String,
    #[arg(long, default_value = "imported vectors")]
    description: String,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct CheckArgs {
    /// A dataset folder.
    dir: PathBuf,
}

#[derive(Deserialize)]
struct DocLine {
    title: String,
    #[serde(default)]
    category: String,
    sentences: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct About {
    name: String,
    description: String,
    source: Source,
    build_command: String,
}

/// Reads documents: JSONL objects, or plain text (one sentence a line, blank lines between
/// documents).
fn read_docs(path: &Path) -> Result<Vec<DocLine>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim_start().starts_with('{') {
        return text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .with_context(|| format!("{} line {}", path.display(), i + 1))
            })
            .collect();
    }
    let mut docs = Vec::new();
    for (i, block) in text.split("\n\n").enumerate() {
        let sentences: Vec<String> = block
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        if !sentences.is_empty() {
            docs.push(DocLine {
                title: format!("document {}", i + 1),
                category: String::new(),
                sentences,
            });
        }
    }
    Ok(docs)
}

/// Embeds with a progress bar; prints sentences/s.
fn embed_all(embedder: &Embedder, texts: &[&str], batch: usize) -> Result<Vec<f32>> {
    let bar = ProgressBar::new(texts.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} sentences  {per_sec}  elapsed {elapsed}  ETA {eta}",
        )
        .expect("valid template"),
    );
    let started = crate::train::native_clock();
    // A long build is often run in the background: without a terminal the bar is hidden, so
    // print a line at every tenth instead.
    let tenth = texts.len().div_ceil(10).max(1);
    let mut next_line = tenth;
    let vectors = embedder
        .embed(texts, batch, |done| {
            bar.set_position(done as u64);
            if bar.is_hidden() && done >= next_line {
                let secs = crate::train::native_clock() - started;
                eprintln!(
                    "embedded {done}/{} sentences, {:.1} sentences/s",
                    texts.len(),
                    done as f64 / secs.max(1e-9)
                );
                next_line += tenth;
            }
        })
        .map_err(anyhow::Error::msg)?;
    bar.finish_and_clear();
    let secs = crate::train::native_clock() - started;
    println!(
        "embedded {} sentences in {secs:.1} s: {:.1} sentences/s ({} thread(s))",
        texts.len(),
        texts.len() as f64 / secs.max(1e-9),
        super::threads()
    );
    Ok(vectors)
}

pub fn embed(args: &EmbedArgs) -> Result<()> {
    let docs = read_docs(&args.input)?;
    let texts: Vec<&str> = docs
        .iter()
        .flat_map(|d| d.sentences.iter().map(String::as_str))
        .collect();
    let embedder = args.model.load()?;
    let vectors = embed_all(&embedder, &texts, args.model.batch)?;
    std::fs::write(
        &args.out,
        npy::write(&[texts.len(), embedder.dim()], &vectors, DType::F32),
    )
    .with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {}", args.out.display());
    Ok(())
}

pub fn run(command: &DatasetCommand) -> Result<()> {
    match command {
        DatasetCommand::Build(args) => build(args),
        DatasetCommand::Import(args) => import(args),
        DatasetCommand::Check(args) => check(&args.dir),
    }
}

fn build(args: &BuildArgs) -> Result<()> {
    let about: About = serde_json::from_slice(
        &std::fs::read(&args.about).with_context(|| format!("reading {}", args.about.display()))?,
    )
    .with_context(|| format!("parsing {}", args.about.display()))?;
    let mut docs = read_docs(&args.docs)?;
    // Keep whole documents up to the limit, cutting the last one short.
    if args.limit > 0 {
        let mut left = args.limit;
        docs.retain_mut(|d| {
            let keep = d.sentences.len().min(left);
            d.sentences.truncate(keep);
            left -= keep;
            keep > 0
        });
    }
    let texts: Vec<&str> = docs
        .iter()
        .flat_map(|d| d.sentences.iter().map(String::as_str))
        .collect();
    if args.limit > 0 && texts.len() < args.limit {
        bail!(
            "{} holds only {} sentences, fewer than --limit {}",
            args.docs.display(),
            texts.len(),
            args.limit
        );
    }
    let embedder = args.model.load()?;
    let info = args.model.info()?;
    let sha = sha256_file(&args.model.dir()?.join("model.safetensors"), info)?;
    let vectors = embed_all(&embedder, &texts, args.model.batch)?;
    let mut documents = Vec::with_capacity(docs.len());
    let mut start = 0;
    for d in &docs {
        documents.push(Document {
            title: d.title.clone(),
            category: d.category.clone(),
            start,
            count: d.sentences.len(),
        });
        start += d.sentences.len();
    }
    let manifest = Manifest {
        name: about.name,
        description: about.description,
        source: about.source,
        embedding: EmbeddingInfo {
            sha256: sha,
            ..info.manifest_entry()
        },
        dim: embedder.dim(),
        count: texts.len(),
        dtype: "float16".into(),
        documents,
        build_command: about.build_command,
    };
    write_dataset(&args.out, &manifest, &vectors, Some(&texts))
}

/// The page's drop zone and this command share `crate::data::import`: the same checks, the same
/// messages.
fn import(args: &ImportArgs) -> Result<()> {
    let read =
        |path: &Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let vectors = read(&args.vectors)?;
    let texts = args.texts.as_deref().map(read).transpose()?;
    let (vectors_name, texts_name) = (
        args.vectors.display().to_string(),
        args.texts.as_ref().map(|p| p.display().to_string()),
    );
    let imported = crate::data::import::import_vectors(
        crate::data::import::Given {
            file: &vectors_name,
            bytes: &vectors,
        },
        texts_name
            .as_deref()
            .zip(texts.as_deref())
            .map(|(file, bytes)| crate::data::import::Given { file, bytes }),
    )
    .map_err(|p| anyhow::anyhow!("{}", p.0.join("\n")))?;
    for w in &imported.warnings {
        println!("note: {w}");
    }
    let mut manifest = imported.manifest;
    manifest.name = args.name.clone();
    manifest.description = args.description.clone();
    manifest.build_command = format!(
        "lvm dataset import --vectors {vectors_name} --name {}",
        args.name
    );
    println!("{} (its name in the page's links)", imported.name);
    write_files(
        &args.out,
        &manifest,
        &imported.vectors,
        imported.texts.as_deref(),
    )
}

/// Writes the three files, then reads them back through the same validating loader the
/// trainer and the browser use.
fn write_dataset(
    out: &Path,
    manifest: &Manifest,
    vectors: &[f32],
    texts: Option<&[&str]>,
) -> Result<()> {
    let npy = npy::write(&[manifest.count, manifest.dim], vectors, DType::F16);
    let jsonl = texts.map(|t| crate::data::dataset::texts_jsonl(t.iter().copied()));
    write_files(out, manifest, &npy, jsonl.as_deref())
}

/// Writes a dataset folder's files as given, then reads them back through the validating
/// loader and prints the statistics.
fn write_files(
    out: &Path,
    manifest: &Manifest,
    vectors_npy: &[u8],
    texts_jsonl: Option<&[u8]>,
) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(
        out.join(MANIFEST),
        serde_json::to_string_pretty(manifest)? + "\n",
    )?;
    std::fs::write(out.join(VECTORS), vectors_npy)?;
    if let Some(texts) = texts_jsonl {
        std::fs::write(out.join(TEXTS), texts)?;
    }
    println!("wrote {}", out.display());
    check(out)
}

/// Loads and validates a dataset folder (its texts too when `with_texts`).
pub fn load_dir(dir: &Path, with_texts: bool) -> Result<Dataset> {
    let read = |name: &str| {
        std::fs::read(dir.join(name))
            .with_context(|| format!("reading {}", dir.join(name).display()))
    };
    let texts = if with_texts && dir.join(TEXTS).exists() {
        Some(read(TEXTS)?)
    } else {
        None
    };
    Dataset::from_bytes(&read(MANIFEST)?, &read(VECTORS)?, texts.as_deref())
        .with_context(|| format!("{}", dir.display()))
}

/// Prints a dataset's statistics: what a model must beat.
fn check(dir: &Path) -> Result<()> {
    let d = load_dir(dir, true)?;
    let m = &d.manifest;
    println!(
        "{}: {} sentences in {} documents, {}-D {}",
        m.name,
        m.count,
        m.documents.len(),
        m.dim,
        m.dtype
    );
    let st = crate::data::dataset::Statistics::of(&d);
    println!("mean cosine:");
    println!(
        "  consecutive sentences, same document  {:.4}",
        st.consecutive_same_document
    );
    println!(
        "  consecutive sentences, whole stream   {:.4}",
        st.consecutive_stream
    );
    println!(
        "  random pairs, different documents     {:.4}",
        st.random_pairs_different_documents
    );
    let line = |b: &crate::data::cosine::Baselines| {
        format!(
            "copy-last {:.4}  mean-of-context {:.4}  train-mean {:.4}",
            b.copy_last.mean, b.mean_context.mean, b.train_mean.mean
        )
    };
    if let Some(b) = &st.val_baselines {
        println!("baselines on the study's validation split (context 5, last 10% of windows):");
        println!("  all {} windows:            {}", st.val_windows, line(b));
    }
    if let Some(b) = &st.val_baselines_in_document {
        println!(
            "  {} in-document windows:    {}",
            st.val_windows_in_document,
            line(b)
        );
    }
    println!(
        "ridge regression (flattened context -> next vector, normalised; λ chosen on the last \
         10% of the training windows, never on validation):"
    );
    for windows in [
        crate::config::WindowsKind::All,
        crate::config::WindowsKind::Within,
    ] {
        let config = crate::config::RunConfig {
            windows,
            ..crate::config::RunConfig::default()
        };
        let split = crate::data::windows::Split::new(&d.windows(config.context)?, &config)?;
        let started = std::time::Instant::now();
        let r =
            crate::data::ridge::baseline(&split.train, &split.val).map_err(anyhow::Error::msg)?;
        println!(
            "  windows={windows}: {} train / {} validation windows: ridge {:.4} (α {}, λ {:.3}; \
             tail cosine by α: {}) in {:.0} s; copy-last {:.4}, mean-of-context {:.4}",
            split.train.len(),
            split.val.len(),
            r.val,
            r.alpha,
            r.lambda,
            r.selection
                .iter()
                .map(|(a, c)| format!("{a}: {c:.4}"))
                .collect::<Vec<_>>()
                .join(", "),
            started.elapsed().as_secs_f64(),
            crate::data::cosine::Baselines::compute(&split.train, &split.val)
                .copy_last
                .mean,
            crate::data::cosine::Baselines::compute(&split.train, &split.val)
                .mean_context
                .mean,
        );
    }
    Ok(())
}

fn sha256_file(path: &Path, info: &EncoderInfo) -> Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let got = format!("{:x}", Sha256::digest(&bytes));
    if got != info.sha256 {
        eprintln!(
            "warning: {} is not the official {} release (sha256 {got})",
            path.display(),
            info.name
        );
    }
    Ok(got)
}
