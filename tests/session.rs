//! The worker protocol: commands in, events out, a run paused, stepped, stopped or failed
//! between any two steps.

mod common;

use candle_core::Device;
use common::{cyclic_windows, small_config, zero_clock};
use lvm_playground::config::ModelKind;
use lvm_playground::session::messages::Cause;
use lvm_playground::session::messages::{Command, Event, RunState};
use lvm_playground::session::Session;
use lvm_playground::train::Trainer;

fn session(epochs: usize) -> (Session, Event) {
    let windows = cyclic_windows(105, 8, 5); // 90 train windows: 6 steps of 16 an epoch
    let mut cfg = small_config(ModelKind::Mlp);
    cfg.epochs = epochs;
    let trainer = Trainer::new(&cfg, &windows, &Device::Cpu, zero_clock).unwrap();
    Session::new(trainer, zero_clock, 2)
}

fn steps(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { step, .. } => Some(*step),
            _ => None,
        })
        .collect()
}

#[test]
fn starts_paused_and_describes_the_run() {
    let (mut s, started) = session(2);
    match started {
        Event::Started {
            steps_per_epoch,
            total_steps,
            train_windows,
            ..
        } => {
            assert_eq!((steps_per_epoch, total_steps, train_windows), (6, 12, 90));
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(s.state(), RunState::Paused);
    assert!(s.work(100).is_empty(), "a paused run does not train");
    assert_eq!(s.trainer().steps_done(), 0);
}

#[test]
fn run_pause_step_and_finish() {
    let (mut s, _) = session(2);
    assert_eq!(
        s.command(Command::Run),
        vec![Event::State {
            state: RunState::Running
        }]
    );
    let events = s.work(3);
    assert_eq!(steps(&events), vec![2], "progress every 2 steps");
    assert_eq!(
        s.command(Command::Pause),
        vec![Event::State {
            state: RunState::Paused
        }]
    );
    assert!(s.work(5).is_empty());
    let events = s.command(Command::Step);
    assert_eq!(steps(&events), vec![4], "a single step always reports");
    assert_eq!(s.trainer().steps_done(), 4);
    s.command(Command::Run);
    let events = s.work(100);
    let epochs: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::Epoch { metrics, .. } => Some(metrics.epoch),
            _ => None,
        })
        .collect();
    assert_eq!(epochs, vec![1, 2]);
    assert_eq!(
        events.last(),
        Some(&Event::State {
            state: RunState::Finished
        })
    );
    assert_eq!(s.trainer().steps_done(), 12);
    // Over: commands change nothing.
    assert_eq!(
        s.command(Command::Run),
        vec![Event::State {
            state: RunState::Finished
        }]
    );
    assert!(s.work(10).is_empty());
}

#[test]
fn stop_ends_the_run() {
    let (mut s, _) = session(3);
    s.command(Command::Step);
    assert_eq!(
        s.command(Command::Stop),
        vec![Event::State {
            state: RunState::Stopped
        }]
    );
    assert_eq!(
        s.command(Command::Step),
        vec![Event::State {
            state: RunState::Stopped
        }]
    );
    assert_eq!(s.trainer().steps_done(), 1);
}

#[test]
fn a_failing_run_reports_and_stops() {
    let dim = 8;
    let mut rows = common::cyclic_stream(40, dim, 7, 3);
    rows[20 * dim..21 * dim].fill(3.0e38);
    let windows = lvm_playground::data::windows::Windows::from_stream(rows, dim, 5).unwrap();
    let mut cfg = small_config(ModelKind::Mlp);
    cfg.batch = 40;
    let trainer = Trainer::new(&cfg, &windows, &Device::Cpu, zero_clock).unwrap();
    let (mut s, _) = Session::new(trainer, zero_clock, 1);
    s.command(Command::Run);
    let events = s.work(10);
    assert!(
        matches!(&events[0], Event::Failed { cause: Cause::NonFinite, message } if message.contains("step 1: the loss is not finite")),
        "{events:?}"
    );
    assert_eq!(s.state(), RunState::Failed);
}

#[test]
fn events_serialise_as_the_page_reads_them() {
    let json = serde_json::to_string(&Event::State {
        state: RunState::Running,
    })
    .unwrap();
    assert_eq!(json, r#"{"type":"state","state":"running"}"#);
}

#[test]
fn every_epoch_shows_examples_and_the_export_reloads() {
    use lvm_playground::session::{evaluate_checkpoint, NEIGHBOURS};
    use lvm_playground::train::checkpoint;
    use lvm_playground::train::log::RunLog;

    let (mut s, _) = session(2);
    s.command(Command::Run);
    let events = s.work(100);
    let examples: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Examples { examples } => Some(examples.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(examples.len(), 2, "one set per epoch");
    for e in &examples[1] {
        assert_eq!(e.context, (e.target - 5..e.target).collect::<Vec<_>>());
        assert_eq!(e.nearest.len(), NEIGHBOURS);
        assert!(e.nearest.windows(2).all(|w| w[0].cosine >= w[1].cosine));
        // The true next sentence is one of the rows searched, so the best hit is at least as close.
        assert!(e.nearest[0].cosine >= e.cosine - 1e-6);
    }

    let export = s.export().unwrap();
    let log: RunLog = serde_json::from_str(&export.log_json).unwrap();
    assert_eq!(log.epochs.len(), 2);
    assert_eq!(export.log_csv.lines().count(), 3);
    assert!(export.log_csv.starts_with("model,epoch,"));
    let ckpt = checkpoint::load(&export.weights).unwrap();
    assert_eq!(ckpt.log.as_ref().unwrap(), &log);

    // The exported (best) weights, loaded and evaluated, give the best epoch's val cosine.
    let events = evaluate_checkpoint(ckpt, &cyclic_windows(105, 8, 5)).unwrap();
    match &events[0] {
        Event::Pretrained {
            val, log: Some(l), ..
        } => {
            let best = l.best().unwrap().val.mean;
            assert!((val.mean - best).abs() < 1e-6, "{} vs {best}", val.mean);
        }
        e => panic!("{e:?}"),
    }
    assert!(matches!(&events[1], Event::Examples { examples } if examples.len() == 3));
    for e in &events {
        let back: Event = serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap();
        assert_eq!(&back, e);
    }
}

/// "Continue my text": the model reads the last `context` sentences typed, and its prediction's
/// nearest sentences are those it finds for the same window of the dataset.
#[test]
fn a_typed_text_is_continued_by_the_model_and_by_copy_last() {
    use lvm_playground::data::dataset::nearest;
    use lvm_playground::session::NEIGHBOURS;
    let (mut s, _) = session(1);
    s.command(Command::Run);
    s.work(100);
    let windows = cyclic_windows(105, 8, 5);
    let rows = windows.rows();
    // Sentences 9..16 of the dataset typed again: the model reads 11..16.
    let typed = &rows[9 * 8..16 * 8];
    let Event::Continued { result: Ok(c) } = s.continuation(typed) else {
        panic!("no continuation");
    };
    let same_window = s.trainer().predict(&windows.select(&[11])).unwrap();
    assert_eq!(c.nearest, nearest(rows, 8, &same_window, NEIGHBOURS));
    assert_eq!(c.copy_last.len(), NEIGHBOURS);
    assert!(c.copy_last[0].cosine > 0.9999, "{:?}", c.copy_last);
    assert_eq!(
        c.copy_last,
        nearest(rows, 8, &rows[15 * 8..16 * 8], NEIGHBOURS)
    );

    let Event::Continued { result: Err(e) } = s.continuation(&rows[..3 * 8]) else {
        panic!("three sentences continued");
    };
    assert_eq!(e, "this model reads 5 sentences; the text has 3");
    let Event::Continued { result: Err(e) } = s.continuation(&rows[..8 * 6 + 3]) else {
        panic!("a ragged vector continued");
    };
    assert_eq!(e, "51 numbers are not whole 8-D sentence vectors");
    // Asking changes nothing: the run is where it was.
    assert_eq!(s.state(), RunState::Finished);
}

/// What the worker and the JS API start from: a session built from a config and a dataset
/// (here the shipped brown-29k, on a sample), which trains and, saved and resumed on the same
/// dataset, goes on to the same bits as the session that never stopped.
#[test]
fn a_session_builds_itself_from_a_config_and_a_dataset_and_resumes_on_it() {
    use lvm_playground::config::RunConfig;
    use lvm_playground::data::dataset::Dataset;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/brown-29k");
    let read = |f: &str| std::fs::read(root.join(f)).unwrap();
    let dataset = Dataset::from_bytes(&read("manifest.json"), &read("vectors.npy"), None).unwrap();
    let config =
        RunConfig::from_query("dataset=brown-29k&model=linear&sample=300&epochs=2").unwrap();

    let (mut whole, started) = Session::on(&config, &dataset, zero_clock).unwrap();
    match started {
        Event::Started {
            config: c,
            train_windows,
            val_windows,
            ..
        } => {
            assert_eq!(c, config.to_query());
            assert_eq!((train_windows, val_windows), (270, 30));
        }
        other => panic!("{other:?}"),
    }
    whole.command(Command::Run);
    while whole.state() == RunState::Running {
        whole.work(100);
    }
    assert_eq!(whole.state(), RunState::Finished);

    let (mut first, _) = Session::on(&config, &dataset, zero_clock).unwrap();
    first.command(Command::Run);
    let mut epochs = 0;
    while epochs < 1 {
        epochs += first
            .work(1)
            .iter()
            .filter(|e| matches!(e, Event::Epoch { .. }))
            .count();
    }
    let state = first.trainer().save_state().unwrap();
    let (mut rest, _) = Session::resumed_on(&state, &dataset, zero_clock).unwrap();
    // It holds the saved epoch (a fresh session would hold none, and reach the same bits).
    assert_eq!(
        rest.trainer().log().epochs,
        first.trainer().log().epochs[..1]
    );
    rest.command(Command::Run);
    while rest.state() == RunState::Running {
        rest.work(100);
    }
    let figures = |s: &Session| {
        let mut log = s.trainer().log().clone();
        for e in &mut log.epochs {
            (e.seconds, e.samples_per_second) = (0.0, 0.0);
        }
        serde_json::to_string(&log).unwrap()
    };
    assert_eq!(figures(&rest), figures(&whole));
    assert_eq!(rest.trainer().log().epochs.len(), 2);
}
