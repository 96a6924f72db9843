//! Memory estimates: the parameter count is exact (it equals the built model's), and a run
//! that cannot fit a worker's 4 GiB is refused with its figures.

use candle_core::Device;
use lvm_playground::config::{ModelKind, RunConfig};
use lvm_playground::models::Model;
use lvm_playground::train::memory::{check, estimate, param_count, save_fits, WASM32_BYTES};

#[test]
fn the_parameter_count_equals_the_built_models() {
    for model in ModelKind::ALL {
        for (dim, hidden, layers, ff) in [(8, 16, 1, 32), (12, 24, 3, 8), (5, 8, 2, 16)] {
            let mut cfg = RunConfig::for_model(model);
            cfg.hidden = hidden;
            cfg.layers = layers;
            cfg.ff = ff;
            cfg.heads = 4;
            cfg.context = 3;
            let built = Model::new(&cfg, dim, &Device::Cpu).unwrap().param_count();
            assert_eq!(
                param_count(&cfg, dim) as usize,
                built,
                "{model:?} {dim} {hidden} {layers}"
            );
        }
    }
    // The study's four, as docs/study.md states them, and the linear map: 5·768·768 + 768.
    let study: Vec<u64> = ModelKind::ALL
        .iter()
        .map(|&m| param_count(&RunConfig::for_model(m), 768))
        .collect();
    assert_eq!(
        study,
        [4_720_384, 17_581_824, 13_659_904, 17_867_520, 2_949_888]
    );
}

#[test]
fn the_study_fits_a_worker_and_an_oversized_lstm_is_refused_with_its_figures() {
    for model in ModelKind::ALL {
        let e = check(
            &RunConfig::for_model(model),
            768,
            29_322,
            WASM32_BYTES,
            "a worker",
        )
        .unwrap();
        assert!(e.total() < WASM32_BYTES / 4, "{model:?}: {e:?}");
    }
    let mut cfg = RunConfig::for_model(ModelKind::Lstm);
    cfg.hidden = 8192;
    cfg.layers = 16;
    let e = estimate(&cfg, 768, 29_322);
    // 16 layers of 4·8192·(in + 8192) + 8·8192 weights, and the head.
    assert_eq!(e.params, 8_421_122_816);
    let message = check(&cfg, 768, 29_322, WASM32_BYTES, "a browser worker (wasm32)").unwrap_err();
    assert!(
        message.starts_with("this run needs at least 158.9 GiB and a browser worker (wasm32) has 4.0 GiB: 8,421,122,816 parameters take 156.9 GiB"),
        "{message}"
    );
    assert!(
        message.ends_with("make hidden, layers or batch smaller"),
        "{message}"
    );
}

#[test]
fn a_state_too_big_to_save_beside_the_run_is_named() {
    // 10M parameters: 200 MB to make their state file.
    assert!(save_fits(1 << 30, 10_000_000, WASM32_BYTES).is_ok());
    let e = save_fits(WASM32_BYTES - (100 << 20), 10_000_000, WASM32_BYTES).unwrap_err();
    assert_eq!(
        e,
        "this run's state needs 191 MiB more beside the 3.9 GiB the worker holds, over its 4.0 GiB"
    );
}
