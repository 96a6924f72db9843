//! `lvm train`, `lvm eval` and `lvm compare`.

use super::{group_digits, threads, ConfigArgs, DataArgs, ModelList};
use crate::config::RunConfig;
use crate::data::windows::{Split, Windows};
use crate::experiment::labels::labels;
use crate::experiment::page_state::{RunSpec, DATA_KEYS};
use crate::experiment::ranking::{rank, text_table, Entry, Outcome};
use crate::train::checkpoint::{self, Precision};
use crate::train::log::{EpochMetrics, RunLog};
use crate::train::{evaluate, native_clock, retrieval, saved_config, TrainError, Trainer};
use anyhow::{anyhow, bail, Context, Result};
use candle_core::Device;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    data: DataArgs,
    /// Folder for checkpoint.safetensors (best epoch), run.json and state.safetensors (the
    /// whole run after its last finished epoch, for --resume).
    #[arg(long, default_value = "runs/latest")]
    out: PathBuf,
    /// Store the checkpoint's weights as float16 (half the size).
    #[arg(long)]
    f16: bool,
    /// Continue the run in this folder from its last finished epoch (its state.safetensors),
    /// with the same results as if it had never stopped. Only --epochs may be given, to train
    /// a run for longer; the checkpoint keeps its precision.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "f16"])]
    resume: Option<PathBuf>,
}

#[derive(Args)]
pub struct EvalArgs {
    /// A checkpoint written by `lvm train` (or the playground).
    #[arg(long)]
    checkpoint: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Show this many validation windows: context, true next sentence, and the dataset's
    /// sentences nearest to the prediction (needs a dataset folder with texts).
    #[arg(long, default_value_t = 0)]
    examples: usize,
}

#[derive(Args)]
pub struct CompareArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    models: ModelList,
    /// Folder for each model's run log (`<model>.json`) and checkpoint.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Train nothing: print the table from these run logs (`run.json` of `lvm train`, or a
    /// shipped `pretrained/<model>.json`), all of one dataset.
    #[arg(long, num_args = 1.., conflicts_with_all = ["out", "models"])]
    logs: Vec<PathBuf>,
}

pub fn train(args: &TrainArgs) -> Result<()> {
    if let Some(dir) = &args.resume {
        return resume(args, dir);
    }
    let mut config = args.config.config_for(None)?;
    let windows = args.data.load(&mut config, &args.config)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let precision = if args.f16 {
        Precision::F16
    } else {
        Precision::F32
    };
    fits_in_memory(&config, &windows)?;
    let trainer = Trainer::new(&config, &windows, &Device::Cpu, native_clock)?;
    let (_, outcome) = run(
        trainer,
        &windows,
        Some(&RunFiles::train(&args.out, precision)),
        None,
    )?;
    outcome
}

/// `lvm train --resume DIR`: the run's own config and data, from its saved state.
fn resume(args: &TrainArgs, dir: &Path) -> Result<()> {
    let files = RunFiles::train(dir, Precision::F32);
    let state_file = files.state.as_ref().expect("a train run has a state file");
    let bytes = std::fs::read(state_file).with_context(|| {
        format!(
            "reading {} (written after each epoch by `lvm train`)",
            state_file.display()
        )
    })?;
    let given = args.config.pairs()?;
    if let Some((key, _)) = given.iter().find(|(k, _)| k != "epochs") {
        bail!("--resume continues the run's own config; only --epochs may change (not {key})");
    }
    let mut config = saved_config(&bytes).with_context(|| format!("{}", state_file.display()))?;
    let windows = args.data.load(&mut config, &ConfigArgs::default())?;
    let mut trainer = Trainer::resume(&bytes, &windows, &Device::Cpu, native_clock)
        .with_context(|| format!("{}", state_file.display()))?;
    if let Some((_, epochs)) = given.iter().find(|(k, _)| k == "epochs") {
        let epochs = epochs
            .parse()
            .map_err(|_| anyhow!("--epochs: '{epochs}' is not a whole number"))?;
        trainer.extend_to(epochs)?;
    }
    // The run wrote its best checkpoint after its first epoch; keep that precision.
    let precision = match std::fs::read(&files.checkpoint) {
        Ok(ckpt) => checkpoint::precision(&ckpt)
            .with_context(|| format!("{}", files.checkpoint.display()))?,
        Err(_) => Precision::F32,
    };
    println!(
        "resuming {} after epoch {} of {}",
        dir.display(),
        trainer.epoch(),
        trainer.config().epochs
    );
    let (_, outcome) = run(
        trainer,
        &windows,
        Some(&RunFiles { precision, ..files }),
        None,
    )?;
    outcome
}

/// Where a run's best checkpoint, its log and (for `lvm train`) its state go.
pub(super) struct RunFiles {
    checkpoint: PathBuf,
    log: PathBuf,
    state: Option<PathBuf>,
    precision: Precision,
}

impl RunFiles {
    /// The files of `lvm train` in `dir`.
    pub(super) fn train(dir: &Path, precision: Precision) -> Self {
        Self {
            checkpoint: dir.join("checkpoint.safetensors"),
            log: dir.join("run.json"),
            state: Some(dir.join("state.safetensors")),
            precision,
        }
    }
}

/// Trains one run to the end with a progress bar, printing a line per epoch. A run stopped by
/// a NaN still returns its log (its best epoch so far is kept) together with the error.
/// With `files`, the log, best checkpoint and state are rewritten after every epoch, so a
/// long run that is killed keeps what it had and can be resumed; the final write adds
/// retrieval to the log. With a `tag` (runs training side by side) there is no progress bar
/// and every line starts with the tag.
pub(super) fn run(
    mut trainer: Trainer,
    windows: &Windows,
    files: Option<&RunFiles>,
    tag: Option<&str>,
) -> Result<(RunLog, Result<()>)> {
    let config = trainer.config().clone();
    let split = trainer.split();
    let prefix = tag.map_or(String::new(), |t| format!("[{t}] "));
    macro_rules! say {
        ($($arg:tt)*) => { println!("{prefix}{}", format!($($arg)*)) };
    }
    say!(
        "{} ({} parameters) on {}: {} train / {} validation windows, {} epochs of {} steps, {} thread(s)",
        config.model.display_name(),
        group_digits(trainer.model().param_count()),
        config.dataset,
        split.train.len(),
        split.val.len(),
        config.epochs,
        trainer.steps_per_epoch(),
        threads(),
    );
    say!("config: {}", config.to_query());
    let b = trainer.baselines();
    say!(
        "baselines (val cosine): copy-last {:.4}, mean-of-context {:.4}, train-mean {:.4}",
        b.copy_last.mean,
        b.mean_context.mean,
        b.train_mean.mean
    );
    let bar = if tag.is_some() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(trainer.total_steps())
    };
    bar.set_position(trainer.steps_done());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps  {msg}  elapsed {elapsed}  ETA {eta}",
        )
        .expect("valid template"),
    );
    let started = native_clock();
    let mut samples = 0usize;
    let outcome = loop {
        if trainer.is_finished() {
            break Ok(());
        }
        match trainer.step() {
            Ok(report) => {
                samples += report.batch_size;
                let rate = samples as f64 / (native_clock() - started).max(1e-9);
                bar.set_position(report.step);
                bar.set_message(format!(
                    "epoch {} loss {:.4}  {rate:.0} samples/s",
                    report.epoch, report.loss
                ));
                if let Some(m) = report.epoch_end {
                    bar.suspend(|| say!("{}", epoch_line(&m)));
                    if let Some(files) = files {
                        save_run(&trainer, &trainer.log(), files)?;
                        if let Some(state) = &files.state {
                            write_whole(state, &trainer.save_state()?)?;
                        }
                    }
                }
            }
            Err(e) => break Err(e),
        }
    };
    bar.finish_and_clear();
    if trainer.stopped_early() {
        say!(
            "stopped after epoch {}: {} epochs without a new best validation cosine (patience {})",
            trainer.epoch(),
            config.patience,
            config.patience
        );
    }
    let outcome = match outcome {
        Ok(()) => Ok(()),
        Err(e @ TrainError::NonFinite { .. }) => Err(anyhow::Error::new(e)),
        Err(e) => return Err(e.into()),
    };
    if let Some(best) = trainer.best_epoch() {
        say!(
            "best epoch {}: val cosine {:.4} (train cosine {:.4})",
            best.epoch,
            best.val.mean,
            best.train_cosine
        );
    }
    let mut log = trainer.log();
    if trainer.best_weights().is_some() {
        trainer.restore_best()?;
        let r = trainer.retrieval()?;
        say!(
            "retrieval of the true next sentence among all {} (best epoch): @1 {:.4}, @10 {:.4}",
            windows.rows().len() / windows.dim(),
            r.at_1,
            r.at_10
        );
        log.retrieval = Some(r);
    }
    if let Some(files) = files {
        save_run(&trainer, &log, files)?;
        say!("run log: {}", files.log.display());
        match log.best_epoch {
            Some(epoch) => say!("checkpoint (epoch {epoch}): {}", files.checkpoint.display()),
            None => say!("no epoch finished: no checkpoint written"),
        }
    }
    Ok((log, outcome))
}

fn epoch_line(m: &EpochMetrics) -> String {
    format!(
        "epoch {:>3}  loss {:.4}  train cos {:.4}  val cos {:.4}  pred sim {:.3}  {:.1}s  {:.0} samples/s",
        m.epoch, m.train_loss, m.train_cosine, m.val.mean, m.prediction_similarity, m.seconds, m.samples_per_second
    )
}

/// Writes the run log and the best epoch's weights (when an epoch has finished).
fn save_run(trainer: &Trainer, log: &RunLog, files: &RunFiles) -> Result<()> {
    write_whole(&files.log, serde_json::to_string_pretty(&log)?.as_bytes())?;
    if let Some(weights) = trainer.best_weights() {
        let bytes = checkpoint::save(
            trainer.config(),
            trainer.model().dim(),
            weights,
            Some(log),
            files.precision,
        )?;
        write_whole(&files.checkpoint, &bytes)?;
    }
    Ok(())
}

/// Writes a file so that a reader (or a resume after a kill) sees the old one or the new
/// one, never half of each: a sibling temporary file renamed over it.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", path.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

pub fn eval(args: &EvalArgs) -> Result<()> {
    let bytes = std::fs::read(&args.checkpoint)
        .with_context(|| format!("reading {}", args.checkpoint.display()))?;
    let ckpt =
        checkpoint::load(&bytes).with_context(|| format!("{}", args.checkpoint.display()))?;
    let mut config = ckpt.config.clone();
    let windows = args.data.load(&mut config, &ConfigArgs::default())?;
    if windows.dim() != ckpt.dim {
        anyhow::bail!(
            "the checkpoint expects {}-D vectors; {} holds {}-D",
            ckpt.dim,
            args.data.describe(),
            windows.dim()
        );
    }
    let model = ckpt.into_model(&Device::Cpu)?;
    let split = Split::new(&windows, &config)?;
    let e = evaluate(&model, &split, &Device::Cpu)?;
    println!(
        "{} ({} parameters), {} validation windows of {}",
        config.model.display_name(),
        group_digits(model.param_count()),
        split.val.len(),
        config.dataset
    );
    println!("val cosine          {:.4}", e.val.mean);
    println!("prediction sim.     {:.4}", e.prediction_similarity);
    println!("copy-last           {:.4}", e.baselines.copy_last.mean);
    println!("mean-of-context     {:.4}", e.baselines.mean_context.mean);
    println!("train-mean          {:.4}", e.baselines.train_mean.mean);
    let r = retrieval(&model, &split.val, &Device::Cpu)?;
    println!(
        "retrieval @1 / @10  {:.4} / {:.4}  (the true next sentence among all {} rows)",
        r.at_1,
        r.at_10,
        windows.rows().len() / windows.dim()
    );
    if args.examples > 0 {
        let dir = args.data.dataset_dir(&config).ok_or_else(|| {
            anyhow::anyhow!("--examples needs a dataset folder with texts, not a bare .npy")
        })?;
        let dataset = super::dataset::load_dir(&dir, true)?;
        let texts = dataset
            .texts
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("{} has no texts.jsonl", dir.display()))?;
        for k in 0..args.examples.min(split.val.len()) {
            let i = k * split.val.len() / args.examples;
            let one = split.val.select(&[i]);
            let pred = crate::train::predict(&model, &one, &Device::Cpu)?;
            let target = one.target_row(0);
            println!("\n-- validation window {i}");
            for sentence in &texts[target - config.context..target] {
                println!("   context  {sentence}");
            }
            println!("   next     {}", texts[target]);
            for n in dataset.nearest(&pred, 3) {
                let mark = if n.index == target {
                    " (the true next sentence)"
                } else {
                    ""
                };
                println!("   nearest  {:.3}  {}{mark}", n.cosine, texts[n.index]);
            }
        }
    }
    Ok(())
}

pub fn compare(args: &CompareArgs) -> Result<()> {
    if !args.logs.is_empty() {
        let logs = read_logs(&args.logs)?;
        print!("{}", ranking_table(&logs));
        if let Some(first) = logs.first() {
            let mut config = first.config.clone();
            match args.data.load(&mut config, &args.config) {
                Ok(windows) => ridge_row(&config, &windows, &logs)?,
                Err(e) => println!("     baseline: ridge     (not computed: {e:#})"),
            }
        }
        return Ok(());
    }
    let kinds = args.models.kinds()?;
    let mut logs: Vec<RunLog> = Vec::new();
    let mut failures = Vec::new();
    for kind in kinds {
        let mut config = args.config.config_for(Some(kind))?;
        let windows = args.data.load(&mut config, &args.config)?;
        let files = match &args.out {
            Some(out) => {
                std::fs::create_dir_all(out)
                    .with_context(|| format!("creating {}", out.display()))?;
                Some(RunFiles {
                    checkpoint: out.join(format!("{}.safetensors", kind.as_str())),
                    log: out.join(format!("{}.json", kind.as_str())),
                    state: None,
                    precision: Precision::F32,
                })
            }
            None => None,
        };
        fits_in_memory(&config, &windows)?;
        let trainer = Trainer::new(&config, &windows, &Device::Cpu, native_clock)?;
        let (log, outcome) = run(trainer, &windows, files.as_ref(), None)?;
        if let Err(e) = outcome {
            eprintln!("{}: {e:#}", kind.display_name());
            failures.push(kind.display_name());
        }
        logs.push(log);
        println!();
    }
    print!("{}", ranking_table(&logs));
    if let Some(first) = logs.first() {
        let mut config = first.config.clone();
        let windows = args.data.load(&mut config, &args.config)?;
        ridge_row(&config, &windows, &logs)?;
    }
    if !failures.is_empty() {
        anyhow::bail!(
            "stopped on a non-finite loss or gradient: {}",
            failures.join(", ")
        );
    }
    Ok(())
}

/// The ridge-regression baseline on the logs' split (`crate::data::ridge`: λ chosen on the training
/// windows), and each run's best margin over it.
fn ridge_row(config: &RunConfig, windows: &Windows, logs: &[RunLog]) -> Result<()> {
    let split = Split::new(windows, config)?;
    let r = match crate::data::ridge::baseline(&split.train, &split.val) {
        Ok(r) => r,
        Err(e) => {
            println!("     baseline: ridge     (not computed: {e})");
            return Ok(());
        }
    };
    println!(
        "     baseline: ridge     {:>12} {:>17.4}   (λ {:.3} = α {} chosen on the last {} of {} \
         training windows)",
        group_digits((config.context * windows.dim() + 1) * windows.dim()),
        r.val,
        r.lambda,
        r.alpha,
        r.tail_windows,
        split.train.len()
    );
    let mut margins: Vec<String> = Vec::new();
    for log in logs {
        if let Some(best) = log.best() {
            margins.push(format!(
                "{} seed {} {:+.4}",
                log.config.model.display_name(),
                log.config.seed,
                best.val.mean - r.val
            ));
        }
    }
    if !margins.is_empty() {
        println!("     vs ridge: {}", margins.join(", "));
    }
    Ok(())
}

/// Run logs written by `lvm train`, checked to share one dataset and split (so one set of
/// baselines describes them all).
pub(super) fn read_logs(paths: &[PathBuf]) -> Result<Vec<RunLog>> {
    let mut logs: Vec<RunLog> = Vec::with_capacity(paths.len());
    for path in paths {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let log: RunLog = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a run log", path.display()))?;
        if let Some(first) = logs.first() {
            let same = DATA_KEYS
                .iter()
                .all(|k| first.config.get(k) == log.config.get(k));
            if !same {
                anyhow::bail!(
                    "{} is a run on other data ({}) than the first log ({}): one table per \
                     dataset, split and sample",
                    path.display(),
                    log.config.dataset,
                    first.config.dataset
                );
            }
        }
        logs.push(log);
    }
    Ok(logs)
}

/// The ranking table of run logs: logs whose configs differ only in their seed are one run
/// repeated over seeds (mean ± spread); each run is labelled by what sets it apart.
pub(super) fn ranking_table(logs: &[RunLog]) -> String {
    let mut groups: Vec<(RunSpec, Vec<&RunLog>)> = Vec::new();
    for log in logs {
        let unseeded = RunConfig {
            seed: 0,
            ..log.config.clone()
        };
        match groups.iter_mut().find(|(spec, _)| {
            RunConfig {
                seed: 0,
                ..spec.config.clone()
            } == unseeded
        }) {
            Some((spec, members)) => {
                spec.repeats += 1;
                members.push(log);
            }
            None => groups.push((
                RunSpec {
                    config: log.config.clone(),
                    repeats: 1,
                },
                vec![log],
            )),
        }
    }
    let specs: Vec<RunSpec> = groups.iter().map(|(s, _)| s.clone()).collect();
    let entries: Vec<Entry> = labels(&specs)
        .into_iter()
        .zip(&groups)
        .map(|(label, (_, members))| Entry {
            label,
            params: members[0].params,
            baseline: members[0].baselines.best().1,
            outcomes: members.iter().filter_map(|l| Outcome::of_log(l)).collect(),
        })
        .collect();
    text_table(&rank(&entries), logs.first().map(|l| &l.baselines))
}

/// Refuses a run whose memory floor (`crate::train::memory`) exceeds what this machine has available
/// (Linux's MemAvailable; elsewhere nothing is checked), before anything is allocated.
fn fits_in_memory(config: &RunConfig, windows: &Windows) -> Result<()> {
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    });
    if let Some(kib) = available {
        // The data is loaded already: MemAvailable no longer counts it.
        crate::train::memory::check(
            config,
            windows.dim(),
            0,
            kib * 1024,
            "this machine (available)",
        )
        .map_err(anyhow::Error::msg)?;
    }
    Ok(())
}
