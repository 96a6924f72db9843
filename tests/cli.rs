//! The `lvm` binary on a real-shaped `.npy`, as a user runs it.

mod common;

use lvm_playground::data::npy::{self, DType};
use lvm_playground::train::checkpoint::{self, Precision};
use std::path::PathBuf;
use std::process::Command;

fn lvm(args: &[&str]) -> (bool, String) {
    lvm_with_env(&[], args)
}

fn lvm_with_env(env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvm"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvm-cli-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A run's `run.json` with its timings zeroed: what must repeat to the bit.
fn run_log(dir: &std::path::Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    for e in v["epochs"].as_array_mut().unwrap() {
        e["seconds"] = 0.into();
        e["samples_per_second"] = 0.into();
    }
    v
}

/// A run's checkpointed tensors, by name.
fn run_weights(dir: &std::path::Path) -> lvm_playground::models::Snapshot {
    let bytes = std::fs::read(dir.join("checkpoint.safetensors")).unwrap();
    let mut t = checkpoint::load(&bytes).unwrap().tensors;
    t.sort_by(|a, b| a.name.cmp(&b.name));
    t
}

/// `dir/cycle.npy`: 200 rows of a 7-vector cycle, 32-D, stored as `dtype`.
fn cycle_npy(dir: &std::path::Path, dtype: DType) -> PathBuf {
    let data = dir.join("cycle.npy");
    let rows = common::cyclic_stream(200, 32, 7, 4);
    std::fs::write(&data, npy::write(&[200, 32], &rows, dtype)).unwrap();
    data
}

#[test]
fn models_prints_the_study_counts() {
    let (ok, out) = lvm(&["models"]);
    assert!(ok, "{out}");
    for line in [
        "MLP                       4,720,384",
        "LSTM                     17,581,824",
        "Transformer              13,659,904",
        "Transformer-InfoNCE      17,867,520",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
}

#[test]
fn train_eval_compare_on_an_npy() {
    let dir = temp_dir("train");
    let data = cycle_npy(&dir, DType::F16);
    let data = data.to_str().unwrap();
    let out_dir = dir.join("run");
    let small = [
        "--set",
        "hidden=32",
        "--set",
        "ff=64",
        "--set",
        "heads=4",
        "--batch",
        "16",
    ];

    let mut args = vec![
        "train",
        "--data",
        data,
        "--model",
        "mlp",
        "--epochs",
        "2",
        "--out",
        out_dir.to_str().unwrap(),
    ];
    args.extend(small);
    let (ok, out) = lvm(&args);
    assert!(ok, "{out}");
    assert!(out.contains("epoch   2"), "{out}");
    assert!(out.contains("dataset=cycle&"), "{out}");
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(log["epochs"].as_array().unwrap().len(), 2);
    assert_eq!(log["train_windows"], 175);

    let ckpt = out_dir.join("checkpoint.safetensors");
    let (ok, out) = lvm(&[
        "eval",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--data",
        data,
    ]);
    assert!(ok, "{out}");
    let best = log["epochs"][log["best_epoch"].as_u64().unwrap() as usize - 1]["val"]["mean"]
        .as_f64()
        .unwrap();
    assert!(
        out.contains(&format!("val cosine          {best:.4}")),
        "{best}\n{out}"
    );
    // The checkpoint's retrieval is the one the finished run logged.
    let (at_1, at_10) = (
        log["retrieval"]["at_1"].as_f64().unwrap(),
        log["retrieval"]["at_10"].as_f64().unwrap(),
    );
    assert!(
        out.contains(&format!("retrieval @1 / @10  {at_1:.4} / {at_10:.4}")),
        "{at_1} {at_10}\n{out}"
    );

    let cmp = dir.join("compare");
    let mut args = vec![
        "compare",
        "--data",
        data,
        "--models",
        "mlp,lstm",
        "--epochs",
        "1",
        "--out",
        cmp.to_str().unwrap(),
    ];
    args.extend(small);
    let (ok, out) = lvm(&args);
    assert!(ok, "{out}");
    assert!(
        out.contains("rank run") && out.contains("baseline: copy-last"),
        "{out}"
    );

    // Under it, the ridge baseline on the same split, with each run's margin over it.
    assert!(out.contains("baseline: ridge") && out.contains("vs ridge: MLP seed 42"));

    // The same table again from the run logs alone, without training (the data only for
    // the ridge row).
    let (mlp_log, lstm_log) = (cmp.join("mlp.json"), cmp.join("lstm.json"));
    let (ok, table) = lvm(&[
        "compare",
        "--data",
        data,
        "--logs",
        mlp_log.to_str().unwrap(),
        lstm_log.to_str().unwrap(),
    ]);
    assert!(ok, "{table}");
    assert!(
        table.starts_with("rank run") && out.ends_with(&table),
        "{out}\n{table}"
    );
    // Without the data the table is the same; the ridge row says why it is missing.
    let (ok, alone) = lvm(&[
        "compare",
        "--logs",
        mlp_log.to_str().unwrap(),
        lstm_log.to_str().unwrap(),
    ]);
    assert!(
        ok && alone.contains("baseline: ridge     (not computed"),
        "{alone}"
    );

    // Logs of other data cannot share one table (their baselines differ).
    let other = cmp.join("other.json");
    let text = std::fs::read_to_string(&lstm_log).unwrap();
    std::fs::write(
        &other,
        text.replace("\"dataset\": \"cycle\"", "\"dataset\": \"other\""),
    )
    .unwrap();
    let (ok, err) = lvm(&[
        "compare",
        "--logs",
        mlp_log.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("other data (other)"), "{err}");

    let mut args = vec![
        "bench", "--data", data, "--models", "mlp", "--steps", "2", "--warmup", "1",
    ];
    args.extend(small);
    let (ok, out) = lvm(&args);
    assert!(ok, "{out}");
    assert!(out.contains("train samples/s"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_stopped_run_resumes_to_the_same_results() {
    let dir = temp_dir("resume");
    let data = cycle_npy(&dir, DType::F32);
    let data = data.to_str().unwrap();
    let (whole, part) = (dir.join("whole"), dir.join("part"));
    let train = |out: &PathBuf, epochs: &str| {
        lvm(&[
            "train",
            "--data",
            data,
            "--model",
            "transformer",
            "--set",
            "hidden=32",
            "--set",
            "ff=64",
            "--set",
            "heads=4",
            "--set",
            "layers=1",
            "--batch",
            "16",
            "--epochs",
            epochs,
            "--f16",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let (ok, out) = train(&whole, "3");
    assert!(ok, "{out}");
    // A run of 1 epoch stands for one killed after its first epoch: both leave the same files.
    let (ok, out) = train(&part, "1");
    assert!(ok, "{out}");
    let part_dir = part.to_str().unwrap();
    let (ok, out) = lvm(&[
        "train", "--resume", part_dir, "--data", data, "--epochs", "3",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("after epoch 1 of 3") && out.contains("epoch   3"),
        "{out}"
    );
    assert!(!out.contains("epoch   1 "), "epoch 1 trained again:\n{out}");

    assert_eq!(run_log(&part), run_log(&whole));
    // The checkpoints differ only in the log's timings: same float16 weights.
    let ckpt = std::fs::read(part.join("checkpoint.safetensors")).unwrap();
    assert_eq!(checkpoint::precision(&ckpt).unwrap(), Precision::F16);
    assert!(
        run_weights(&part) == run_weights(&whole),
        "the weights differ"
    );

    // Only the length of a run may change on resuming it.
    let (ok, out) = lvm(&["train", "--resume", part_dir, "--data", data, "--lr", "0.1"]);
    assert!(
        !ok && out.contains("only --epochs may change (not lr)"),
        "{out}"
    );
    let (ok, out) = lvm(&[
        "train", "--resume", part_dir, "--data", data, "--epochs", "2",
    ]);
    assert!(!ok && out.contains("already done 3 epochs"), "{out}");
    let (ok, out) = lvm(&["train", "--resume", dir.to_str().unwrap(), "--data", data]);
    assert!(!ok && out.contains("state.safetensors"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

/// Matrix products split rows and columns among threads, never a sum, and elementwise maps
/// write disjoint elements, so neither pool's size changes a single bit. The model is wide
/// enough for both to go parallel: 320-row products above gemm's threading threshold and maps
/// over candle's 64K-element one.
#[test]
fn the_thread_count_does_not_change_the_numbers() {
    let dir = temp_dir("threads");
    let data = cycle_npy(&dir, DType::F32);
    let run = |name: &str, threads: &str, env: &[(&str, &str)]| {
        let out_dir = dir.join(name);
        let (ok, out) = lvm_with_env(
            env,
            &[
                "--threads",
                threads,
                "train",
                "--data",
                data.to_str().unwrap(),
                "--model",
                "transformer",
                "--set",
                "hidden=256",
                "--set",
                "ff=1024",
                "--set",
                "heads=4",
                "--set",
                "layers=1",
                "--batch",
                "64",
                "--epochs",
                "2",
                "--out",
                out_dir.to_str().unwrap(),
            ],
        );
        assert!(ok, "{out}");
        (run_log(&out_dir), run_weights(&out_dir))
    };
    let one = run("one", "1", &[]);
    let two = run("two", "2", &[]);
    let two_maps_too = run("two-maps-too", "2", &[("CANDLE_NUM_THREADS", "2")]);
    assert_eq!(one.0, two.0);
    assert_eq!(one.0, two_maps_too.0);
    assert!(
        one.1 == two.1 && one.1 == two_maps_too.1,
        "the weights differ"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = temp_dir("bad");
    let bad = dir.join("bad.npy");
    std::fs::write(&bad, b"\x93NUMPY\x01\x00garbage").unwrap();
    let (ok, out) = lvm(&["train", "--data", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        out.contains("bad.npy") && out.contains("truncated"),
        "{out}"
    );
    let (ok, out) = lvm(&["train", "--data", "x.npy", "--url", "model=mlp&lr=7"]);
    assert!(!ok);
    assert!(out.contains("parameter 'lr'"), "{out}");
    let (ok, out) = lvm(&["models", "--set", "activation=tanh"]);
    assert!(!ok);
    assert!(
        out.contains("'tanh' is not one of relu, gelu, silu"),
        "{out}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn dataset_import_train_and_corruption() {
    let dir = temp_dir("dataset");
    let vectors = dir.join("v.npy");
    let rows = common::cyclic_stream(120, 32, 7, 9);
    std::fs::write(&vectors, npy::write(&[120, 32], &rows, DType::F32)).unwrap();
    let texts = dir.join("t.txt");
    std::fs::write(
        &texts,
        (0..120)
            .map(|i| format!("sentence {i}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let ds = dir.join("cyc");
    let (ok, out) = lvm(&[
        "dataset",
        "import",
        "--vectors",
        vectors.to_str().unwrap(),
        "--texts",
        texts.to_str().unwrap(),
        "--name",
        "cyc",
        "--out",
        ds.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    // Stored in the dtype given; too small a dataset is said to be.
    assert!(
        out.contains("cyc: 120 sentences in 1 documents, 32-D float32"),
        "{out}"
    );
    assert!(out.contains("too few to tell models apart"), "{out}");
    assert!(
        out.contains("consecutive sentences, same document"),
        "{out}"
    );

    let run = dir.join("run");
    let (ok, out) = lvm(&[
        "train",
        "--dataset",
        ds.to_str().unwrap(),
        "--model",
        "mlp",
        "--epochs",
        "2",
        "--batch",
        "16",
        "--set",
        "hidden=32",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("dataset=cyc&"), "{out}");
    assert!(
        out.contains("retrieval of the true next sentence among all 120"),
        "{out}"
    );

    // A truncated vectors file is named in the error, and nothing trains.
    let bytes = std::fs::read(ds.join("vectors.npy")).unwrap();
    std::fs::write(ds.join("vectors.npy"), &bytes[..bytes.len() - 10]).unwrap();
    let (ok, out) = lvm(&["train", "--dataset", ds.to_str().unwrap(), "--epochs", "1"]);
    assert!(!ok);
    assert!(out.contains("vectors.npy: .npy data is"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}

/// A page link's runs, listed one config a line (a cluster's job array), each trained with
/// `lvm train`, gathered with `lvm compare --logs`; and the same link trained side by side by
/// `lvm experiment`, to the same bits.
#[test]
fn an_experiment_link_lists_trains_and_gathers() {
    let dir = temp_dir("experiment");
    let data = cycle_npy(&dir, DType::F32);
    let data = data.to_str().unwrap();
    let link = "https://example.org/?dataset=cycle&sample=0&epochs=2&runs=mlp,mlp\
                &1.hidden=32&1.batch=16&1.repeats=2&2.hidden=32&2.batch=16&2.lr=0.01";
    let (ok, list) = lvm(&["experiment", "--url", link, "--list"]);
    assert!(ok, "{list}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    let configs: Vec<lvm_playground::config::RunConfig> = lines
        .iter()
        .map(|l| lvm_playground::config::RunConfig::from_query(l).unwrap())
        .collect();
    assert_eq!(
        configs.iter().map(|c| (c.seed, c.lr)).collect::<Vec<_>>(),
        [(42, 0.001), (43, 0.001), (42, 0.01)]
    );
    assert!(configs.iter().all(|c| c.hidden == 32 && c.epochs == 2));

    // The array: one `lvm train` per line.
    let mut logs = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        let out = dir.join(format!("task-{}", k + 1));
        let (ok, text) = lvm(&[
            "train",
            "--data",
            data,
            "--url",
            line,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{text}");
        logs.push(out.join("run.json"));
    }
    let mut args = vec!["compare", "--logs"];
    args.extend(logs.iter().map(|p| p.to_str().unwrap()));
    let (ok, table) = lvm(&args);
    assert!(ok, "{table}");
    let row = |label: &str| {
        table
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("no row {label:?} in\n{table}"))
            .to_string()
    };
    // The two seeds are one row with their spread; each row is named by what differs.
    assert!(row("MLP · lr 1e-3 · 2 seeds").contains(" ± "), "{table}");
    assert!(!row("MLP · lr 0.01").contains(" ± "), "{table}");
    assert!(table.contains("baseline: copy-last"), "{table}");

    // Natively, two at a time: each training repeats its array task to the bit.
    let exp = dir.join("exp");
    let (ok, out) = lvm(&[
        "experiment",
        "--url",
        link,
        "--data",
        data,
        "--jobs",
        "2",
        "--out",
        exp.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("MLP · lr 1e-3 · 2 seeds"), "{out}");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&exp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    for (k, d) in dirs.iter().enumerate() {
        assert_eq!(
            run_log(d),
            run_log(&dir.join(format!("task-{}", k + 1))),
            "{}",
            d.display()
        );
    }
    // A link with a bad key trains nothing and names it.
    let (ok, err) = lvm(&["experiment", "--url", "runs=mlp&1.lr=banana", "--list"]);
    assert!(!ok && err.contains("parameter '1.lr'"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

/// A run that cannot fit this machine's available memory is refused before anything is
/// allocated, with its figures.
#[test]
fn an_oversized_run_is_refused_with_its_estimate() {
    let dir = temp_dir("oversized");
    let data = cycle_npy(&dir, DType::F32);
    let (ok, out) = lvm(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "lstm",
        "--set",
        "hidden=8192",
        "--set",
        "layers=16",
        "--out",
        dir.join("run").to_str().unwrap(),
    ]);
    assert!(!ok, "{out}");
    assert!(out.contains("this run needs at least"), "{out}");
    assert!(out.contains("and this machine (available) has"), "{out}");
    assert!(!dir.join("run/run.json").exists());
    std::fs::remove_dir_all(dir).ok();
}
