//! `lvm bench`: training and inference speed of each model on real windows.

use super::{threads, ConfigArgs, DataArgs, ModelList};
use crate::models::Mode;
use crate::train::{native_clock, StepPhases, Trainer};
use anyhow::Result;
use candle_core::Device;
use clap::Args;

#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    models: ModelList,
    /// Timed steps per model (after the warm-up).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Untimed steps first (allocator and caches warm up).
    #[arg(long, default_value_t = 3)]
    warmup: usize,
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    println!("threads: {}", threads());
    let mut profiles = Vec::new();
    println!(
        "{:<20} {:>6} {:>14} {:>15} {:>14} {:>15}",
        "model", "batch", "train ms/step", "train samples/s", "infer ms/batch", "infer samples/s"
    );
    for kind in args.models.kinds()? {
        let mut config = args.config.config_for(Some(kind))?;
        // Enough epochs that the timed steps never run out.
        config.epochs = 1000;
        let windows = args.data.load(&mut config, &args.config)?;
        let mut trainer = Trainer::new(&config, &windows, &Device::Cpu, native_clock)?;
        let batch = config.batch.min(trainer.split().train.len());

        for _ in 0..args.warmup {
            trainer.step()?;
        }
        let (mut seconds, mut samples, mut timed) = (0.0, 0usize, 0usize);
        let mut phases = StepPhases::default();
        for _ in 0..args.steps {
            let t = native_clock();
            let report = trainer.step()?;
            // An epoch boundary also evaluates; time only the step itself.
            if report.epoch_end.is_none() {
                seconds += native_clock() - t;
                samples += report.batch_size;
                timed += 1;
                let p = report.phases;
                phases.batch += p.batch;
                phases.forward += p.forward;
                phases.backward += p.backward;
                phases.optimizer += p.optimizer;
            }
        }
        let train_ms = 1000.0 * seconds / timed.max(1) as f64;
        let train_rate = samples as f64 / seconds.max(1e-12);

        let indices: Vec<usize> = (0..batch).collect();
        let (x, _) = trainer.split().train.batch(&indices, &Device::Cpu)?;
        for _ in 0..args.warmup {
            trainer.model().forward(&x, &mut Mode::Eval)?;
        }
        let t = native_clock();
        for _ in 0..args.steps {
            trainer.model().forward(&x, &mut Mode::Eval)?;
        }
        let infer_seconds = native_clock() - t;
        let infer_ms = 1000.0 * infer_seconds / args.steps.max(1) as f64;
        let infer_rate = (batch * args.steps) as f64 / infer_seconds.max(1e-12);
        println!(
            "{:<20} {:>6} {:>14.1} {:>15.0} {:>14.1} {:>15.0}",
            kind.display_name(),
            batch,
            train_ms,
            train_rate,
            infer_ms,
            infer_rate
        );
        profiles.push((kind, phases, seconds, timed.max(1) as f64));
    }
    println!("\nwhere a training step goes (ms per step, share of the step):");
    println!(
        "{:<20} {:>14} {:>16} {:>14} {:>14}",
        "model", "batch", "forward+loss", "backward", "Adam"
    );
    for (kind, p, total, n) in profiles {
        let cell = |x: f64| {
            format!(
                "{:.1} ({:.0}%)",
                1000.0 * x / n,
                100.0 * x / total.max(1e-12)
            )
        };
        println!(
            "{:<20} {:>14} {:>16} {:>14} {:>14}",
            kind.display_name(),
            cell(p.batch),
            cell(p.forward),
            cell(p.backward),
            cell(p.optimizer)
        );
    }
    Ok(())
}
