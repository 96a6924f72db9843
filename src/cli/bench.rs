//! `lvm bench`: training and inference speed of each model on real windows.

use super::{threads, ConfigArgs, DataArgs, ModelList};
use crate::train::bench::{matmul_rate, measure, Speed, STUDY_PRODUCTS};
use crate::train::native_clock;
use anyhow::Result;
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
    /// Timed repetitions of each study model's largest matrix product alone (0: skip).
    #[arg(long, default_value_t = 20)]
    products: usize,
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    println!("threads: {}", threads());
    let mut speeds: Vec<(&str, Speed)> = Vec::new();
    println!(
        "{:<20} {:>6} {:>14} {:>15} {:>14} {:>15}",
        "model", "batch", "train ms/step", "train samples/s", "infer ms/batch", "infer samples/s"
    );
    for kind in args.models.kinds()? {
        let mut config = args.config.config_for(Some(kind))?;
        let windows = args.data.load(&mut config, &args.config)?;
        let s = measure(&config, &windows, native_clock, args.warmup, args.steps)?;
        println!(
            "{:<20} {:>6} {:>14.1} {:>15.0} {:>14.1} {:>15.0}",
            kind.display_name(),
            s.batch,
            s.train_ms_per_step,
            s.train_samples_per_second,
            s.infer_ms_per_batch,
            s.infer_samples_per_second
        );
        speeds.push((kind.display_name(), s));
    }
    println!("\nwhere a training step goes (ms per step, share of the step):");
    println!(
        "{:<20} {:>14} {:>16} {:>14} {:>14}",
        "model", "batch", "forward+loss", "backward", "Adam"
    );
    for (name, s) in speeds {
        let p = s.train_phases_ms;
        let cell = |ms: f64| {
            format!(
                "{ms:.1} ({:.0}%)",
                100.0 * ms / s.train_ms_per_step.max(1e-12)
            )
        };
        println!(
            "{:<20} {:>14} {:>16} {:>14} {:>14}",
            name,
            cell(p.batch),
            cell(p.forward),
            cell(p.backward),
            cell(p.optimizer)
        );
    }
    if args.products > 0 {
        println!(
            "\nmatrix products alone (the models' float32 matmul, {} each):",
            args.products
        );
        println!(
            "{:<26} {:>28} {:>9} {:>9}",
            "product", "[m, k] · [k, n]", "ms", "GFLOP/s"
        );
        for product in STUDY_PRODUCTS {
            let r = matmul_rate(product, native_clock, args.products)?;
            let shape = format!(
                "[{}, {}] · [{}, {}]",
                product.m, product.k, product.k, product.n
            );
            println!(
                "{:<26} {:>28} {:>9.2} {:>9.1}",
                product.what, shape, r.ms, r.gflops
            );
        }
    }
    Ok(())
}
