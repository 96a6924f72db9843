//! Checkpoints: round trip, float16, and every kind of bad file.

mod common;

use candle_core::{Device, Tensor};
use common::{cyclic_windows, small_config, zero_clock};
use lvm_playground::config::ModelKind;
use lvm_playground::models::{Mode, Model};
use lvm_playground::train::checkpoint::{self, CheckpointError, Precision};
use lvm_playground::train::Trainer;

fn trained(model: ModelKind) -> Trainer {
    let windows = cyclic_windows(120, 16, 5);
    let mut cfg = small_config(model);
    cfg.epochs = 1;
    let mut t = Trainer::new(&cfg, &windows, &Device::Cpu, zero_clock).unwrap();
    t.run_epoch().unwrap();
    t
}

fn outputs(model: &Model) -> Vec<f32> {
    let x = Tensor::from_vec(
        common::cyclic_stream(10, 16, 7, 5),
        (2, 5, 16),
        &Device::Cpu,
    )
    .unwrap();
    model
        .forward(&x, &mut Mode::Eval)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

#[test]
fn round_trip_every_model() {
    for kind in ModelKind::ALL {
        let t = trained(kind);
        let log = t.log();
        let weights = t.model().params().snapshot().unwrap();
        let bytes = checkpoint::save(t.config(), 16, &weights, Some(&log), Precision::F32).unwrap();
        let ckpt = checkpoint::load(&bytes).unwrap();
        assert_eq!(&ckpt.config, t.config());
        assert_eq!(ckpt.log.as_ref(), Some(&log));
        let model = ckpt.into_model(&Device::Cpu).unwrap();
        assert!(model.params().snapshot().unwrap() == weights);
        assert_eq!(outputs(&model), outputs(t.model()), "{kind:?}");
    }
}

#[test]
fn float16_is_close() {
    let t = trained(ModelKind::Transformer);
    let weights = t.model().params().snapshot().unwrap();
    let f32_bytes = checkpoint::save(t.config(), 16, &weights, None, Precision::F32).unwrap();
    let bytes = checkpoint::save(t.config(), 16, &weights, None, Precision::F16).unwrap();
    assert!(bytes.len() < f32_bytes.len() * 6 / 10);
    let model = checkpoint::load(&bytes)
        .unwrap()
        .into_model(&Device::Cpu)
        .unwrap();
    let (a, b) = (outputs(&model), outputs(t.model()));
    let max_diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(max_diff < 5e-3, "{max_diff}");
}

#[test]
fn bad_files_are_clear_errors() {
    let t = trained(ModelKind::Mlp);
    let weights = t.model().params().snapshot().unwrap();
    let bytes = checkpoint::save(t.config(), 16, &weights, None, Precision::F32).unwrap();

    let err = checkpoint::load(&bytes[..bytes.len() - 3]).unwrap_err();
    assert!(matches!(err, CheckpointError::Safetensors(_)), "{err}");
    assert!(matches!(
        checkpoint::load(b"not a checkpoint"),
        Err(CheckpointError::Safetensors(_))
    ));
    assert!(matches!(
        checkpoint::load(&[]),
        Err(CheckpointError::Safetensors(_))
    ));

    // A safetensors file from elsewhere (no format metadata).
    let other = safetensors::tensor::serialize(
        [(
            "w",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &[0u8; 4])
                .unwrap(),
        )],
        None,
    )
    .unwrap();
    assert!(matches!(
        checkpoint::load(&other),
        Err(CheckpointError::Format(None))
    ));

    // An MLP's tensors under an LSTM's config: the wrong model.
    let lstm_cfg = small_config(ModelKind::Lstm);
    let wrong = checkpoint::save(&lstm_cfg, 16, &weights, None, Precision::F32).unwrap();
    let err = checkpoint::load(&wrong)
        .unwrap()
        .into_model(&Device::Cpu)
        .unwrap_err();
    assert!(
        err.to_string().contains("lstm.weight_ih_l0") && err.to_string().contains("missing"),
        "{err}"
    );

    // Right names, wrong shapes (another hidden width).
    let mut wider = t.config().clone();
    wider.hidden = 32;
    let err =
        checkpoint::load(&checkpoint::save(&wider, 16, &weights, None, Precision::F32).unwrap())
            .unwrap()
            .into_model(&Device::Cpu)
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint is for a different model: tensor 'net.0.weight' has shape [64, 80], the MLP expects [32, 80]"
    );

    // An extra tensor.
    let mut extra = weights.clone();
    extra.push(lvm_playground::models::NamedTensor {
        name: "stray".into(),
        shape: vec![1],
        values: vec![0.0],
    });
    let err =
        checkpoint::load(&checkpoint::save(t.config(), 16, &extra, None, Precision::F32).unwrap())
            .unwrap()
            .into_model(&Device::Cpu)
            .unwrap_err();
    assert!(
        err.to_string().contains("unexpected tensor 'stray'"),
        "{err}"
    );

    // NaN weights.
    let mut nan = weights.clone();
    nan[0].values[3] = f32::NAN;
    let err =
        checkpoint::load(&checkpoint::save(t.config(), 16, &nan, None, Precision::F32).unwrap())
            .unwrap_err();
    assert!(
        matches!(err, CheckpointError::NonFinite(ref n) if n == "net.0.weight"),
        "{err}"
    );

    // Fuzz: flipped bytes anywhere never panic.
    let mut rng = lvm_playground::base::rng::Rng::new(2);
    for _ in 0..300 {
        let mut b = bytes.clone();
        let i = rng.below(b.len().min(4096));
        b[i] ^= 1 << rng.below(8);
        if let Ok(c) = checkpoint::load(&b) {
            let _ = c.into_model(&Device::Cpu);
        }
    }
}
