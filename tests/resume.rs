//! Saving a run between epochs and continuing it: the same bits as a run that never stopped,
//! and a clear refusal of a state that is damaged or belongs to other data.

mod common;

use candle_core::Device;
use common::{cyclic_windows, small_config, zero_clock};
use lvm_playground::config::{ModelKind, RunConfig};
use lvm_playground::data::windows::Windows;
use lvm_playground::models::Snapshot;
use lvm_playground::train::checkpoint::{self, Precision};
use lvm_playground::train::log::RunLog;
use lvm_playground::train::{header_len, saved_log, StateError, Trainer, MAX_STATE_HEADER};

fn finish(t: &mut Trainer) -> (RunLog, Snapshot, Snapshot) {
    while !t.is_finished() {
        t.step().unwrap();
    }
    (
        t.log(),
        t.model().params().snapshot().unwrap(),
        t.best_weights().unwrap().clone(),
    )
}

fn bits(s: &Snapshot) -> Vec<Vec<u32>> {
    s.iter()
        .map(|t| t.values.iter().map(|x| x.to_bits()).collect())
        .collect()
}

/// A run of `model` after one epoch, and its saved state.
fn one_epoch(model: ModelKind, windows: &Windows) -> (Trainer, Vec<u8>) {
    let mut t = Trainer::new(&config(model), windows, &Device::Cpu, zero_clock).unwrap();
    t.run_epoch().unwrap();
    let state = t.save_state().unwrap();
    (t, state)
}

/// Its best weights as a checkpoint (not a training state).
fn checkpoint_of(t: &Trainer) -> Vec<u8> {
    checkpoint::save(
        t.config(),
        16,
        t.best_weights().unwrap(),
        Some(&t.log()),
        Precision::F32,
    )
    .unwrap()
}

fn config(model: ModelKind) -> RunConfig {
    let mut cfg = small_config(model);
    cfg.epochs = 3;
    cfg.dropout = 0.3; // the dropout stream must continue where it was
    cfg
}

#[test]
fn a_resumed_run_gives_the_bits_of_one_that_never_stopped() {
    let windows = cyclic_windows(160, 16, 5);
    for model in ModelKind::ALL {
        let cfg = config(model);
        let mut whole = Trainer::new(&cfg, &windows, &Device::Cpu, zero_clock).unwrap();
        let (log, weights, best) = finish(&mut whole);

        // Stopped after every possible epoch, including before the first step.
        for stop_after in 0..cfg.epochs {
            let mut first = Trainer::new(&cfg, &windows, &Device::Cpu, zero_clock).unwrap();
            for _ in 0..stop_after {
                first.run_epoch().unwrap();
            }
            let state = first.save_state().unwrap();
            drop(first);
            let mut resumed = Trainer::resume(&state, &windows, &Device::Cpu, zero_clock).unwrap();
            assert_eq!(resumed.epoch(), stop_after);
            assert_eq!(
                resumed.steps_done(),
                (stop_after * resumed.steps_per_epoch()) as u64
            );
            let (log2, weights2, best2) = finish(&mut resumed);
            let losses = |l: &RunLog| {
                l.step_losses
                    .iter()
                    .map(|x| x.to_bits())
                    .collect::<Vec<_>>()
            };
            assert_eq!(losses(&log2), losses(&log), "{model:?} after {stop_after}");
            assert_eq!(log2, log, "{model:?} after {stop_after}");
            assert_eq!(
                bits(&weights2),
                bits(&weights),
                "{model:?} after {stop_after}"
            );
            assert_eq!(bits(&best2), bits(&best), "{model:?} after {stop_after}");
        }
    }
}

#[test]
fn a_finished_run_extended_equals_a_longer_run() {
    let windows = cyclic_windows(160, 16, 5);
    let cfg = config(ModelKind::Transformer);
    let mut short = Trainer::new(&cfg, &windows, &Device::Cpu, zero_clock).unwrap();
    finish(&mut short);
    let state = short.save_state().unwrap();

    let mut longer_cfg = cfg.clone();
    longer_cfg.epochs = 5;
    let mut longer = Trainer::new(&longer_cfg, &windows, &Device::Cpu, zero_clock).unwrap();
    let (log, weights, _) = finish(&mut longer);

    let mut extended = Trainer::resume(&state, &windows, &Device::Cpu, zero_clock).unwrap();
    assert!(extended.is_finished());
    assert!(extended.extend_to(2).is_err(), "fewer epochs than done");
    extended.extend_to(5).unwrap();
    let (log2, weights2, _) = finish(&mut extended);
    assert_eq!(log2, log);
    assert_eq!(bits(&weights2), bits(&weights));
}

#[test]
fn a_run_is_saved_only_between_epochs() {
    let windows = cyclic_windows(160, 16, 5);
    let mut t = Trainer::new(&config(ModelKind::Mlp), &windows, &Device::Cpu, zero_clock).unwrap();
    t.step().unwrap();
    let err = t.save_state().unwrap_err();
    assert!(
        matches!(
            err,
            StateError::MidEpoch {
                epoch: 1,
                step_in_epoch: 1
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("between two epochs"), "{err}");
}

#[test]
fn a_damaged_or_foreign_state_is_refused_with_a_clear_error() {
    let windows = cyclic_windows(160, 16, 5);
    let (t, state) = one_epoch(ModelKind::Lstm, &windows);
    let resume = |bytes: &[u8], w: &Windows| {
        Trainer::resume(bytes, w, &Device::Cpu, zero_clock)
            .err()
            .expect("refused")
            .to_string()
    };

    // Cut short anywhere.
    for len in [0, 7, 100, state.len() / 2, state.len() - 1] {
        let msg = resume(&state[..len], &windows);
        assert!(msg.contains("safetensors"), "{len}: {msg}");
    }
    // A checkpoint is not a training state.
    let ckpt = checkpoint_of(&t);
    let msg = resume(&ckpt, &windows);
    assert!(
        msg.contains("not an LVM Playground training state"),
        "{msg}"
    );
    // Other vectors of the same shape: the baselines differ.
    let other = Windows::from_stream(common::cyclic_stream(160, 16, 7, 99), 16, 5).unwrap();
    let msg = resume(&state, &other);
    assert!(
        msg.contains("data differs") && msg.contains("baseline"),
        "{msg}"
    );
    // Other vector width.
    let msg = resume(&state, &cyclic_windows(160, 8, 5));
    assert!(msg.contains("16-D") && msg.contains("8-D"), "{msg}");
    // A NaN in an Adam moment: the first f32 of the tensor data (after the 8-byte header
    // length and the header) belongs to some tensor, all of which must be finite.
    let header = u64::from_le_bytes(state[..8].try_into().unwrap()) as usize;
    let mut bad = state.clone();
    bad[8 + header..8 + header + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let msg = resume(&bad, &windows);
    assert!(msg.contains("NaN or infinite"), "{msg}");
    // The random streams' words are checked.
    let text = String::from_utf8_lossy(&state[8..8 + header]).to_string();
    let start = text.find("\"shuffle_rng\":\"").unwrap() + 15;
    let mut bad = state.clone();
    bad[8 + start] = b'z';
    let msg = resume(&bad, &windows);
    assert!(msg.contains("'shuffle_rng' is invalid"), "{msg}");
}

#[test]
fn a_saved_runs_log_is_read_from_its_header_alone() {
    let (t, state) = one_epoch(ModelKind::Mlp, &cyclic_windows(160, 16, 5));
    let end = header_len(&state[..8]).unwrap();
    assert!(
        end < state.len() / 2,
        "the header is a small part of the file"
    );
    let len = state.len() as u64;
    assert_eq!(saved_log(&state[..end], len).unwrap(), t.log());
    // The whole file reads the same.
    assert_eq!(saved_log(&state, len).unwrap(), t.log());
    // A file cut short or grown is refused, by its length alone.
    for other in [len - 1, len + 4, end as u64] {
        let e = saved_log(&state[..end], other).unwrap_err().to_string();
        assert!(e.contains("cut short or damaged"), "{other}: {e}");
    }
    // Too little of the header, or a header longer than the bound.
    assert!(saved_log(&state[..end - 1], len).is_err());
    assert!(header_len(&state[..7]).is_err());
    let huge = ((MAX_STATE_HEADER + 1) as u64).to_le_bytes();
    assert!(header_len(&huge)
        .unwrap_err()
        .to_string()
        .contains("at most"));
    // A checkpoint's header is not a training state's.
    let ckpt = checkpoint_of(&t);
    let e = saved_log(&ckpt, ckpt.len() as u64).unwrap_err().to_string();
    assert!(e.contains("not an LVM Playground training state"), "{e}");
}
