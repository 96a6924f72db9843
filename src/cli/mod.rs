//! The native command line (`lvm`): models, train, eval, compare, bench.

mod bench;
mod dataset;
mod experiment;
mod train;

pub use crate::base::format::group_digits;
use crate::config::{ModelKind, RunConfig};
use crate::data::windows::Windows;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lvm",
    version,
    about = "Train and compare latent vector models (next-sentence-embedding predictors)"
)]
struct Cli {
    /// Threads for matrix products (default: all cores). Sets RAYON_NUM_THREADS; elementwise
    /// maps stay on one thread unless CANDLE_NUM_THREADS says otherwise.
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print each model's parameter count for a config (the study's by default).
    Models(ConfigArgs),
    /// Train one model; writes the best epoch's checkpoint and a JSON run log.
    Train(train::TrainArgs),
    /// Score a checkpoint on its run's validation split, next to the baselines.
    Eval(train::EvalArgs),
    /// Train several models on the same data and print the study's ranking table.
    Compare(train::CompareArgs),
    /// Train every run of a playground link side by side (or list their configs).
    Experiment(experiment::ExperimentArgs),
    /// Measure ms/step and samples/s of training and inference for each model.
    Bench(bench::BenchArgs),
    /// Embed sentences with all-mpnet-base-v2 into a .npy.
    Embed(dataset::EmbedArgs),
    /// Build, import or check a dataset folder.
    #[command(subcommand)]
    Dataset(dataset::DatasetCommand),
}

/// How a run is configured on the command line: a URL query, shortcuts, and `--set`.
/// Later sources override earlier ones: `--url`, then the shortcuts, then `--set`.
#[derive(Args, Clone, Default)]
pub struct ConfigArgs {
    /// A run's query string, as in the playground's address bar (e.g. "model=lstm&lr=0.0003").
    #[arg(long)]
    url: Option<String>,
    /// mlp, lstm, transformer or transformer-infonce.
    #[arg(long)]
    model: Option<String>,
    #[arg(long)]
    epochs: Option<String>,
    /// Windows to use, drawn at random (0 = all).
    #[arg(long)]
    sample: Option<String>,
    #[arg(long)]
    seed: Option<String>,
    #[arg(long)]
    lr: Option<String>,
    #[arg(long)]
    batch: Option<String>,
    #[arg(long)]
    context: Option<String>,
    /// Any run-config key, repeatable: --set dropout=0.2 --set activation=gelu.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

impl ConfigArgs {
    /// The `(key, value)` pairs these arguments give, later sources overriding earlier ones.
    fn pairs(&self) -> Result<Vec<(String, String)>> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: &str| {
            pairs.retain(|(key, _)| key != k);
            pairs.push((k.to_string(), v.to_string()));
        };
        if let Some(url) = &self.url {
            let query = url.rsplit_once('?').map_or(url.as_str(), |(_, q)| q);
            let (_, errors) = RunConfig::from_query_lenient(query);
            if let Some(e) = errors.first() {
                bail!("--url: {e}");
            }
            for part in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                put(k, v);
            }
        }
        let shortcuts = [
            ("model", &self.model),
            ("epochs", &self.epochs),
            ("sample", &self.sample),
            ("seed", &self.seed),
            ("lr", &self.lr),
            ("batch", &self.batch),
            ("context", &self.context),
        ];
        for (k, v) in shortcuts {
            if let Some(v) = v {
                put(k, v);
            }
        }
        for s in &self.set {
            let (k, v) = s
                .split_once('=')
                .ok_or_else(|| anyhow!("--set {s}: expected KEY=VALUE"))?;
            put(k, v);
        }
        Ok(pairs)
    }

    /// The run config for `model` (overriding any model the arguments name).
    pub fn config_for(&self, model: Option<ModelKind>) -> Result<RunConfig> {
        let mut pairs = self.pairs()?;
        if let Some(model) = model {
            pairs.retain(|(k, _)| k != "model");
            pairs.push(("model".into(), model.as_str().into()));
        }
        let (config, errors) = RunConfig::from_pairs(&pairs);
        if let Some(e) = errors.into_iter().next() {
            bail!("{e}");
        }
        Ok(config)
    }

    fn names_dataset(&self) -> bool {
        self.pairs()
            .map(|p| p.iter().any(|(k, _)| k == "dataset"))
            .unwrap_or(false)
    }
}

/// Which models a command runs.
#[derive(Args, Clone)]
pub struct ModelList {
    /// Models, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "mlp,lstm,transformer,transformer-infonce"
    )]
    models: Vec<String>,
}

impl ModelList {
    pub fn kinds(&self) -> Result<Vec<ModelKind>> {
        self.models
            .iter()
            .map(|m| {
                m.parse::<ModelKind>()
                    .map_err(|()| anyhow!("--models: '{m}' is not one of {}", ModelKind::ALLOWED))
            })
            .collect()
    }
}

/// Where the vectors come from: a dataset folder (by default `datasets/<the config's
/// dataset>`) or a bare `.npy`.
#[derive(Args, Clone)]
pub struct DataArgs {
    /// A dataset folder (manifest.json, vectors.npy); default datasets/<config dataset>.
    #[arg(long, value_name = "DIR", conflicts_with = "data")]
    dataset: Option<PathBuf>,
    /// Vectors as .npy instead: a [N, dim] chunk stream (windows slide over it) or
    /// [N, context+1, dim] precomputed windows; float32 or float16.
    #[arg(long, value_name = "FILE.npy")]
    data: Option<PathBuf>,
}

impl DataArgs {
    /// Reads the windows for `config` and sets its dataset name: the manifest's name, or the
    /// `.npy` file's stem unless the config names one.
    pub fn load(&self, config: &mut RunConfig, config_args: &ConfigArgs) -> Result<Windows> {
        if let Some(file) = &self.data {
            let bytes =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let windows = Windows::from_npy(&bytes, config.context)
                .with_context(|| format!("{}", file.display()))?;
            if !config_args.names_dataset() {
                if let Some(name) = dataset_name(file) {
                    config.dataset = name;
                }
            }
            return Ok(windows);
        }
        let dir = self
            .dataset_dir(config)
            .expect("a folder when there is no --data");
        let dataset = dataset::load_dir(&dir, false)?;
        config.dataset = dataset.manifest.name.clone();
        dataset
            .windows(config.context)
            .with_context(|| format!("{}", dir.display()))
    }

    /// The dataset folder these arguments name (`None` for a bare `.npy`).
    pub fn dataset_dir(&self, config: &RunConfig) -> Option<PathBuf> {
        match &self.data {
            Some(_) => None,
            None => Some(
                self.dataset
                    .clone()
                    .unwrap_or_else(|| Path::new("datasets").join(&config.dataset)),
            ),
        }
    }

    /// A short description for error messages.
    pub fn describe(&self) -> String {
        match (&self.data, &self.dataset) {
            (Some(f), _) => f.display().to_string(),
            (_, Some(d)) => d.display().to_string(),
            _ => "the dataset".into(),
        }
    }
}

/// A run-config dataset name from a file name ("wiki.f16.npy" -> "wiki.f16").
fn dataset_name(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    RunConfig::from_query(&format!("dataset={name}"))
        .ok()
        .map(|c| c.dataset)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        // Read by candle's CPU kernels on first use; nothing has run yet.
        std::env::set_var("RAYON_NUM_THREADS", n.max(1).to_string());
    }
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // candle runs matrix products on rayon's pool and elementwise maps on a second pool of
        // its own, as large by default, whose workers spin for 25,000 iterations after every
        // map. The spinning worker takes a core from the matrix product that follows: on two
        // cores, maps on one thread made training steps 6-11 % and inference 18-22 % faster for
        // every model (docs/speed.md). The maps write disjoint elements, so the numbers are the
        // same bits either way (tests/cli.rs).
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    let result = match cli.command {
        Command::Models(args) => print_models(&args),
        Command::Train(args) => train::train(&args),
        Command::Eval(args) => train::eval(&args),
        Command::Compare(args) => train::compare(&args),
        Command::Experiment(args) => experiment::experiment(&args),
        Command::Bench(args) => bench::bench(&args),
        Command::Embed(args) => dataset::embed(&args),
        Command::Dataset(command) => dataset::run(&command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_models(args: &ConfigArgs) -> Result<()> {
    let dim = 768;
    println!("{:<22} {:>12}", "model", "parameters");
    for kind in ModelKind::ALL {
        let config = args.config_for(Some(kind))?;
        let model = crate::models::Model::new(&config, dim, &candle_core::Device::Cpu)?;
        println!(
            "{:<22} {:>12}",
            kind.display_name(),
            group_digits(model.param_count())
        );
    }
    Ok(())
}

/// Cores the matrix products will use.
pub fn threads() -> usize {
    candle_core::utils::get_num_threads()
}
