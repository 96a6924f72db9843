//! `lvm experiment`: every run of a playground link, trained natively side by side, or listed
//! one config a line for a cluster's job array.

use super::train::{ranking_table, run, RunFiles};
use super::DataArgs;
use crate::config::RunConfig;
use crate::data::windows::Windows;
use crate::experiment::labels::labels;
use crate::experiment::page_state::PageState;
use crate::train::checkpoint::Precision;
use crate::train::log::RunLog;
use crate::train::{native_clock, Trainer};
use anyhow::{bail, Context, Result};
use candle_core::Device;
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Args)]
pub struct ExperimentArgs {
    /// A playground link, or its query string (`runs=mlp,mlp&2.context=10…`, or an older
    /// `models=…` link).
    #[arg(long)]
    url: String,
    /// Train nothing: print each training's whole run config (one line per run and seed),
    /// for `lvm train --url "$(sed -n "${SLURM_ARRAY_TASK_ID}p" runs.txt)"`.
    #[arg(long)]
    list: bool,
    /// Trainings at once (each its own thread; with --threads N each uses N for products).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    #[command(flatten)]
    data: DataArgs,
    /// Folder for the runs: one sub-folder per training (run.json, checkpoint, state).
    #[arg(long, default_value = "runs/experiment")]
    out: PathBuf,
    /// Store checkpoints' weights as float16.
    #[arg(long)]
    f16: bool,
}

/// One training of the experiment: a run with one of its seeds.
struct Training {
    config: RunConfig,
    dir: PathBuf,
    tag: String,
}

pub fn experiment(args: &ExperimentArgs) -> Result<()> {
    let query = args
        .url
        .rsplit_once('?')
        .map_or(args.url.as_str(), |(_, q)| q);
    let (state, errors) = PageState::from_query(query);
    if !errors.is_empty() {
        let list: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        bail!(
            "--url: the link has problems (the page would open it with defaults for these; \
             here nothing runs):\n{}",
            list.join("\n")
        );
    }
    let names = labels(&state.runs);
    let trainings: Vec<Training> = state
        .trainings()
        .into_iter()
        .enumerate()
        .map(|(k, (run, config))| {
            let tag = match state.runs[run].repeats {
                1 => names[run].clone(),
                _ => format!("{} · seed {}", names[run], config.seed),
            };
            Training {
                dir: args.out.join(format!("{:02}-{}", k + 1, slug(&tag))),
                tag,
                config,
            }
        })
        .collect();
    if args.list {
        for t in &trainings {
            println!("{}", t.config.to_query());
        }
        return Ok(());
    }
    let precision = if args.f16 {
        Precision::F16
    } else {
        Precision::F32
    };
    // Windows by context length: runs that read the same context share one copy.
    let mut trainings = trainings;
    let mut windows: Vec<(usize, Windows)> = Vec::new();
    for k in 0..trainings.len() {
        let context = trainings[k].config.context;
        if !windows.iter().any(|(c, _)| *c == context) {
            let mut config = trainings[k].config.clone();
            let w = args.data.load(&mut config, &Default::default())?;
            windows.push((context, w));
            // A bare .npy names the data by its file; every run trains on it.
            for t in &mut trainings {
                t.config.dataset = config.dataset.clone();
            }
        }
    }
    println!(
        "{} runs, {} trainings, {} at a time, into {}",
        state.runs.len(),
        trainings.len(),
        args.jobs.max(1),
        args.out.display()
    );
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<RunLog>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.clamp(1, trainings.len().max(1)) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(t) = trainings.get(k) else { break };
                let w = &windows
                    .iter()
                    .find(|(c, _)| *c == t.config.context)
                    .expect("loaded above")
                    .1;
                let result = train_one(t, w, precision);
                if let Err(e) = &result {
                    eprintln!("[{}] {e:#}", t.tag);
                }
                results.lock().expect("no panic holds it").push((k, result));
            });
        }
    });
    let mut results = results.into_inner().expect("no panic holds it");
    results.sort_by_key(|(k, _)| *k);
    let mut logs = Vec::new();
    let mut failed = Vec::new();
    for (k, result) in results {
        match result {
            Ok(log) => logs.push(log),
            Err(_) => failed.push(trainings[k].tag.clone()),
        }
    }
    println!();
    print!("{}", ranking_table(&logs));
    if !failed.is_empty() {
        bail!(
            "{} of {} trainings failed: {}",
            failed.len(),
            trainings.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

fn train_one(t: &Training, windows: &Windows, precision: Precision) -> Result<RunLog> {
    std::fs::create_dir_all(&t.dir).with_context(|| format!("creating {}", t.dir.display()))?;
    let trainer = Trainer::new(&t.config, windows, &Device::Cpu, native_clock)?;
    let files = RunFiles::train(&t.dir, precision);
    let (log, outcome) = run(trainer, windows, Some(&files), Some(&t.tag))?;
    outcome.map(|()| log)
}

/// A folder name from a label: "Transformer · lr 1e-4" -> "transformer-lr-1e-4".
fn slug(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if c == '-' || !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn folder_names() {
        assert_eq!(slug("Transformer · lr 1e-4"), "transformer-lr-1e-4");
        assert_eq!(slug("MLP · context 20 #2"), "mlp-context-20-2");
        assert_eq!(
            slug("Transformer-InfoNCE · 3 seeds · seed 43"),
            "transformer-infonce-3-seeds-seed-43"
        );
    }
}
