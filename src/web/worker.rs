//! The training worker: one run per dedicated Web Worker, so runs train on separate cores and
//! the page stays responsive.
//!
//! Messages in: `{type: "init", config, dataset}` (a run's query string and the URL prefix of
//! its dataset's files, which the worker fetches itself, from the Cache API the page filled,
//! so the page never copies the vectors), `{type: "pretrained", checkpoint, dataset}`,
//! `{type: "export"}`, `{type: "bench", config, dataset, warmup, steps}` (speed of one model,
//! for `tests/e2e/bench.mjs`), `{type: "products", reps}` (the study's matrix products alone),
//! and the session's JSON commands as strings (queued while an `init` is still loading).
//! Messages out: the session's events as JSON strings, `{type: "export", weights, json, csv}`,
//! and `{"type": "bench", "speed": ...}` and `{"type": "products", "rates": [...]}` as JSON
//! strings. The worker trains one step at a time
//! and yields to its event loop between steps, which is what lets a pause or stop land
//! between any two steps.

use super::api::{pretrained_events, Run};
use super::fetch::fetch_cached;
use crate::bench::{matmul_rate, measure, STUDY_PRODUCTS};
use crate::dataset::Dataset;
use crate::run::RunConfig;
use crate::session::{Command, Event};
use js_sys::{Object, Reflect, Uint8Array};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, MessageEvent};

thread_local! {
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
    static LOOPING: RefCell<bool> = const { RefCell::new(false) };
    /// Commands that arrived while `init` was loading the dataset (`None`: not loading).
    static WAITING: RefCell<Option<Vec<Command>>> = const { RefCell::new(None) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(event: &Event) {
    if let Ok(json) = serde_json::to_string(event) {
        let _ = scope().post_message(&JsValue::from_str(&json));
    }
}

fn fail(message: String) {
    post(&Event::Failed { message });
}

/// Installs the message handler, then says "ready": messages sent before `onmessage` is set
/// would be lost.
pub fn start() {
    // A panic aborts the module; tell the page why before that happens.
    std::panic::set_hook(Box::new(|info| {
        fail(format!("the worker crashed: {info}"));
    }));
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| on_message(e.data()));
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    let _ = scope().post_message(&JsValue::from_str(r#"{"type":"ready"}"#));
}

fn bytes(msg: &JsValue, key: &str) -> Result<Vec<u8>, String> {
    let value = Reflect::get(msg, &JsValue::from_str(key)).map_err(|_| format!("no '{key}'"))?;
    value
        .dyn_into::<Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|_| format!("'{key}' is not a Uint8Array"))
}

fn string(msg: &JsValue, key: &str) -> Option<String> {
    Reflect::get(msg, &JsValue::from_str(key)).ok()?.as_string()
}

/// A whole number from the message, or `default` where it is missing or not a number.
fn count(msg: &JsValue, key: &str, default: usize) -> usize {
    Reflect::get(msg, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_f64())
        .map_or(default, |v| v as usize)
}

fn on_message(msg: JsValue) {
    if let Some(json) = msg.as_string() {
        match Command::from_json(&json) {
            Ok(command) => on_command(command),
            Err(e) => fail(e),
        }
        return;
    }
    match string(&msg, "type").as_deref() {
        Some("init") => {
            WAITING.with(|w| *w.borrow_mut() = Some(Vec::new()));
            wasm_bindgen_futures::spawn_local(async move {
                let result = init(&msg).await;
                let waiting = WAITING.with(|w| w.borrow_mut().take()).unwrap_or_default();
                match result {
                    Ok(()) => waiting.into_iter().for_each(on_command),
                    Err(e) => fail(e),
                }
            });
        }
        Some("pretrained") => wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = pretrained(&msg).await {
                fail(e);
            }
        }),
        Some("bench") => wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = bench(&msg).await {
                fail(e);
            }
        }),
        Some("products") => {
            if let Err(e) = products(&msg) {
                fail(e);
            }
        }
        Some("export") => {
            if let Err(e) = export() {
                fail(e);
            }
        }
        other => fail(format!("unknown message type {other:?}")),
    }
}

/// The dataset under the message's `dataset` URL prefix (from the cache the page filled).
async fn dataset(msg: &JsValue) -> Result<Dataset, String> {
    let base = string(msg, "dataset").ok_or("no 'dataset'")?;
    let quiet = |_: f64, _: Option<f64>| {};
    let manifest = fetch_cached(&format!("{base}manifest.json"), &quiet).await?;
    let vectors = fetch_cached(&format!("{base}vectors.npy"), &quiet).await?;
    Dataset::from_bytes(&manifest.to_vec(), &vectors.to_vec(), None)
        .map_err(|e| format!("the dataset download is corrupt: {e}"))
}

async fn init(msg: &JsValue) -> Result<(), String> {
    let query = string(msg, "config").ok_or("no 'config'")?;
    let cfg = RunConfig::from_query(&query).map_err(|e| e.to_string())?;
    let run = Run::on(&cfg, &dataset(msg).await?)?;
    post(run.started_event());
    RUN.with(|r| *r.borrow_mut() = Some(run));
    Ok(())
}

async fn pretrained(msg: &JsValue) -> Result<(), String> {
    let checkpoint = bytes(msg, "checkpoint")?;
    let events = pretrained_events(&checkpoint, &dataset(msg).await?)
        .map_err(|e| format!("the pretrained weights cannot be used: {e}"))?;
    events.iter().for_each(post);
    Ok(())
}

/// Times training steps and inference batches of the message's config in this worker, as
/// `lvm bench` does natively.
async fn bench(msg: &JsValue) -> Result<(), String> {
    let query = string(msg, "config").ok_or("no 'config'")?;
    let cfg = RunConfig::from_query(&query).map_err(|e| e.to_string())?;
    let windows = dataset(msg)
        .await?
        .windows(cfg.context)
        .map_err(|e| e.to_string())?;
    let speed = measure(
        &cfg,
        &windows,
        super::now,
        count(msg, "warmup", 3),
        count(msg, "steps", 10),
    )
    .map_err(|e| e.to_string())?;
    // The worker's whole linear memory afterwards (it never shrinks): what the run needed.
    let memory_bytes = core::arch::wasm32::memory_size::<0>() * 65536;
    let json = serde_json::json!({ "type": "bench", "speed": speed, "memory_bytes": memory_bytes })
        .to_string();
    scope()
        .post_message(&JsValue::from_str(&json))
        .map_err(|_| "could not send the benchmark".to_string())
}

/// Times the study's largest matrix products alone in this worker, as `lvm bench` does.
fn products(msg: &JsValue) -> Result<(), String> {
    let reps = count(msg, "reps", 5);
    let rates = STUDY_PRODUCTS
        .into_iter()
        .map(|p| matmul_rate(p, super::now, reps))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let json = serde_json::json!({ "type": "products", "rates": rates }).to_string();
    scope()
        .post_message(&JsValue::from_str(&json))
        .map_err(|_| "could not send the products' rates".to_string())
}

fn export() -> Result<(), String> {
    let export = RUN.with(|r| match r.borrow().as_ref() {
        Some(run) => run.export_all(),
        None => Err("no run to export yet".into()),
    })?;
    let out = Object::new();
    let set = |k: &str, v: &JsValue| Reflect::set(&out, &JsValue::from_str(k), v);
    let ok = set("type", &"export".into()).is_ok()
        && set("weights", &Uint8Array::from(&export.weights[..])).is_ok()
        && set("json", &export.log_json.into()).is_ok()
        && set("csv", &export.log_csv.into()).is_ok();
    if !ok {
        return Err("could not build the export message".into());
    }
    scope()
        .post_message(&out)
        .map_err(|_| "could not send the export".to_string())
}

fn on_command(command: Command) {
    let queued = WAITING.with(|w| match w.borrow_mut().as_mut() {
        Some(queue) => {
            queue.push(command);
            true
        }
        None => false,
    });
    if queued {
        return;
    }
    let events = RUN.with(|r| {
        r.borrow_mut()
            .as_mut()
            .map(|run| run.session_mut().command(command))
    });
    match events {
        Some(events) => events.iter().for_each(post),
        None => fail("no run yet: send 'init' first".into()),
    }
    let looping = LOOPING.with(|l| *l.borrow());
    if !looping && RUN.with(|r| r.borrow().as_ref().is_some_and(Run::is_running)) {
        LOOPING.with(|l| *l.borrow_mut() = true);
        wasm_bindgen_futures::spawn_local(train_loop());
    }
}

/// One step, then a turn of the event loop so commands get through, until the run stops.
async fn train_loop() {
    loop {
        let events = RUN.with(|r| {
            r.borrow_mut()
                .as_mut()
                .filter(|run| run.is_running())
                .map(|run| run.session_mut().work(1))
        });
        let Some(events) = events else { break };
        events.iter().for_each(post);
        yield_to_event_loop().await;
    }
    LOOPING.with(|l| *l.borrow_mut() = false);
}

/// Resolves on the next macrotask: a message to ourselves through a `MessageChannel`, which
/// unlike `setTimeout(0)` is not clamped to 4 ms.
async fn yield_to_event_loop() {
    let Ok(channel) = MessageChannel::new() else {
        return;
    };
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        channel.port1().set_onmessage(Some(&resolve));
    });
    let _ = channel.port2().post_message(&JsValue::NULL);
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
