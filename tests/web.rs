//! The core on wasm32, in headless Chromium: the models' forward and backward passes, a few
//! training steps, determinism and checkpoints, so the browser path is tested, not assumed.
//!
//! Run with `CHROMEDRIVER=/usr/bin/chromedriver cargo test --release --target
//! wasm32-unknown-unknown --test web` (the runner is set in `.cargo/config.toml`).

#![cfg(target_arch = "wasm32")]

mod common;

use candle_core::Device;
use common::{cyclic_windows, small_config, zero_clock};
use lvm_playground::config::{ModelKind, RunConfig};
use lvm_playground::models::Model;
use lvm_playground::train::checkpoint::{self, Precision};
use lvm_playground::train::Trainer;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn study_parameter_counts() {
    let count = |k| {
        Model::new(&RunConfig::for_model(k), 768, &Device::Cpu)
            .unwrap()
            .param_count()
    };
    assert_eq!(count(ModelKind::Mlp), 4_720_384);
    assert_eq!(count(ModelKind::Lstm), 17_581_824);
    assert_eq!(count(ModelKind::Transformer), 13_659_904);
    assert_eq!(count(ModelKind::TransformerInfonce), 17_867_520);
}

#[wasm_bindgen_test]
fn every_model_trains_a_few_steps() {
    let windows = common::learnable_windows(300, 16, 5);
    for model in ModelKind::ALL {
        let mut cfg = small_config(model);
        cfg.epochs = 6;
        let mut t = Trainer::new(&cfg, &windows, &Device::Cpu, zero_clock).unwrap();
        let first = t.step().unwrap().loss;
        while !t.is_finished() {
            t.step().unwrap();
        }
        let log = t.log();
        let last = *log.step_losses.last().unwrap();
        assert!(
            last.is_finite() && last < first,
            "{model:?}: {first} -> {last}"
        );
        assert!(
            log.best().unwrap().val.mean > log.baselines.copy_last.mean,
            "{model:?}"
        );
    }
}

#[wasm_bindgen_test]
fn same_config_same_bits_in_the_browser() {
    let windows = cyclic_windows(150, 16, 5);
    let mut cfg = small_config(ModelKind::Transformer);
    cfg.dropout = 0.3;
    cfg.epochs = 1;
    let run = || {
        let mut t = Trainer::new(&cfg, &windows, &Device::Cpu, zero_clock).unwrap();
        t.run_epoch().unwrap();
        t.log()
            .step_losses
            .iter()
            .map(|x| x.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[wasm_bindgen_test]
fn checkpoint_round_trip() {
    let windows = cyclic_windows(120, 16, 5);
    let mut t = Trainer::new(
        &small_config(ModelKind::Lstm),
        &windows,
        &Device::Cpu,
        zero_clock,
    )
    .unwrap();
    t.run_epoch().unwrap();
    let weights = t.model().params().snapshot().unwrap();
    let bytes = checkpoint::save(t.config(), 16, &weights, Some(&t.log()), Precision::F32).unwrap();
    let model = checkpoint::load(&bytes)
        .unwrap()
        .into_model(&Device::Cpu)
        .unwrap();
    assert!(model.params().snapshot().unwrap() == weights);
    assert!(checkpoint::load(&bytes[..100]).is_err());
}

#[wasm_bindgen_test]
fn dataset_loader_validates_in_the_browser() {
    use lvm_playground::data::dataset::Dataset;
    use lvm_playground::data::npy::{write, DType};
    let rows = common::cyclic_stream(12, 8, 7, 2);
    let manifest = serde_json::json!({
        "name": "t", "description": "d",
        "source": {"package": "p", "version": "1", "license": "CC0", "attribution": "a"},
        "embedding": {"model": "m", "sha256": "0", "pooling": "mean", "max_tokens": 384},
        "dim": 8, "count": 12, "dtype": "float16",
        "documents": [{"title": "x", "start": 0, "count": 12}],
        "build_command": "none"
    })
    .to_string();
    let vectors = write(&[12, 8], &rows, DType::F16);
    let texts: String = (0..12).map(|i| format!("\"s{i}\"\n")).collect();
    let d = Dataset::from_bytes(manifest.as_bytes(), &vectors, Some(texts.as_bytes())).unwrap();
    assert_eq!(d.windows(5).unwrap().len(), 7);
    assert_eq!(d.nearest(d.vector(3), 1)[0].index % 7, 3);
    let err =
        Dataset::from_bytes(manifest.as_bytes(), &vectors[..vectors.len() - 1], None).unwrap_err();
    assert!(err.to_string().starts_with("vectors.npy: "), "{err}");
    let err = Dataset::from_bytes(b"{}", &vectors, None).unwrap_err();
    assert!(err.to_string().starts_with("manifest.json: "), "{err}");
}

#[wasm_bindgen_test]
fn worker_protocol_in_the_browser() {
    use lvm_playground::session::messages::{Command, Event, RunState};
    use lvm_playground::session::Session;
    let windows = cyclic_windows(105, 8, 5);
    let mut cfg = small_config(ModelKind::Lstm);
    cfg.epochs = 2;
    let trainer = Trainer::new(&cfg, &windows, &Device::Cpu, zero_clock).unwrap();
    let (mut s, started) = Session::new(trainer, zero_clock, 3);
    assert!(matches!(
        started,
        Event::Started {
            total_steps: 12,
            ..
        }
    ));
    s.command(Command::Step);
    assert_eq!(s.trainer().steps_done(), 1);
    s.command(Command::Run);
    let mut epochs = 0;
    while s.state() == RunState::Running {
        for e in s.work(4) {
            // Every event crosses postMessage as JSON.
            assert!(serde_json::to_string(&e)
                .unwrap()
                .starts_with(r#"{"type":""#));
            epochs += usize::from(matches!(e, Event::Epoch { .. }));
        }
    }
    assert_eq!((s.state(), epochs), (RunState::Finished, 2));
}

/// The models' own matrix kernel in the browser's simd128 gives the bits of its portable form
/// (the naive loop's, tested natively) on shapes over every edge of its tiles and blocks; with
/// relaxed SIMD's fused multiply-add it agrees to float tolerance.
#[wasm_bindgen_test]
fn the_simd128_kernel_equals_the_portable_one() {
    use lvm_playground::models::kernel::{product, Operand, Portable, Simd128};
    for (m, n, k) in [(1, 1, 1), (7, 13, 257), (97, 25, 300), (130, 200, 600)] {
        let vals = |len: usize, s: f32| (0..len).map(|i| (i as f32 * s).sin()).collect::<Vec<_>>();
        let (a, b) = (vals(m * k, 0.37), vals(k * n, 0.11));
        let operand = |v: &[f32], row_stride: usize| Operand {
            ptr: v.as_ptr(),
            row_stride: row_stride as isize,
            col_stride: 1,
        };
        let (mut simd, mut portable) = (vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
        let (a, b) = (operand(&a, k), operand(&b, n));
        unsafe {
            product::<Simd128>((m, n, k), a, b, simd.as_mut_ptr(), 0..n);
            product::<Portable>((m, n, k), a, b, portable.as_mut_ptr(), 0..n);
        }
        if cfg!(target_feature = "relaxed-simd") {
            let worst = simd
                .iter()
                .zip(&portable)
                .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
                .fold(0f32, f32::max);
            assert!(worst < 1e-5, "[{m}, {k}] · [{k}, {n}]: {worst}");
        } else {
            assert!(
                simd.iter()
                    .zip(&portable)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "[{m}, {k}] · [{k}, {n}]"
            );
        }
    }
}
