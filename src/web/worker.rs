//! The training worker: one run per dedicated Web Worker, so runs train on separate cores and
//! the page stays responsive. Built with the `threads` feature (scripts/build_threads.sh) it
//! also runs its matrix products and Adam on a rayon pool of further workers
//! (`start_threaded`); everything else stays on its own thread.
//!
//! It speaks `crate::session::protocol`: `ToWorker` messages in, `FromWorker` messages out, each a JSON
//! string, with a checkpoint (in) or exported weights (out) beside it as a transferred buffer
//! (`[json, bytes]`). `init` names the dataset's URL prefix; the worker fetches the files itself,
//! from the Cache API the page filled, so the page never copies the vectors. Commands that
//! arrive while `init` is still loading wait for it. The worker trains one step at a time and
//! yields to its event loop between steps, which is what lets a pause or stop land between any
//! two steps. After every epoch it stores the run's whole state in the browser
//! (`crate::experiment::saved_runs`), and `init` with `resume` continues such a state.

use super::api::{pretrained_events, Run};
use super::fetch::fetch_cached;
use super::opfs;
use crate::config::RunConfig;
use crate::data::dataset::Dataset;
use crate::experiment::saved_runs;
use crate::session::messages::{Cause, Command, Event};
use crate::session::protocol::{
    vectors_from_bytes, BenchReply, BenchRequest, ExportedLog, FromWorker, Init, ToWorker,
};
use crate::train::bench::{matmul_rate, measure, STUDY_PRODUCTS};
use crate::train::memory::{WASM32_BYTES, WORKER};
use js_sys::{Array, Uint8Array};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, MessageEvent};

/// Everything a training worker holds between messages. A worker runs its messages one at a
/// time on its own thread (the rayon pool never touches this), so one value, borrowed only for
/// the synchronous part of each message and never across an `await`, is the whole state.
#[derive(Default)]
struct Worker {
    run: Option<Run>,
    /// Whether `train_loop` is scheduled: there is never more than one.
    looping: bool,
    /// Commands that arrived while `init` was loading the dataset (`None`: not loading).
    waiting: Option<Vec<Command>>,
    /// The newest state waiting to be stored; older ones are dropped when writes fall behind.
    to_save: Option<PendingSave>,
    /// Whether `write_saves` is under way.
    saving: bool,
    /// The saved run this worker's training owns (`super::lock`): until it owns the file it is
    /// about to write, it asks again at every save, and writes nothing.
    owned: Option<String>,
}

struct PendingSave {
    file: String,
    epoch: usize,
    bytes: Vec<u8>,
}

thread_local! {
    static STATE: RefCell<Worker> = RefCell::new(Worker::default());
}

/// `f` on the worker's state. Never call it across an `await`, nor from inside `f`.
fn with<R>(f: impl FnOnce(&mut Worker) -> R) -> R {
    STATE.with(|w| f(&mut w.borrow_mut()))
}

pub(super) fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

pub(super) fn send(message: &FromWorker) {
    let _ = scope().post_message(&JsValue::from_str(&message.to_json()));
}

/// `message`, with `bytes` beside it as a transferred buffer when there are any.
pub(super) fn send_with_bytes(message: &FromWorker, bytes: Option<Vec<u8>>) -> Result<(), String> {
    let Some(bytes) = bytes else {
        send(message);
        return Ok(());
    };
    let buffer = Uint8Array::from(&bytes[..]);
    scope()
        .post_message_with_transfer(
            &Array::of2(&JsValue::from_str(&message.to_json()), &buffer),
            &Array::of1(&buffer.buffer()),
        )
        .map_err(|_| format!("could not send its {} bytes to the page", bytes.len()))
}

fn post(event: &Event) {
    send(&FromWorker::Event {
        event: event.clone(),
    });
}

pub(super) fn fail(cause: Cause, message: String) {
    post(&Event::Failed { cause, message });
}

/// Starts the training worker.
pub fn start() {
    listen("the worker", on_message, crate::base::threads::get());
}

/// Sets a panic hook that names `worker` in its crash message, installs `on_message`, then
/// says "ready" with its `threads`: messages sent before `onmessage` is set would be lost.
pub(super) fn listen(worker: &'static str, on_message: fn(JsValue), threads: usize) {
    // A panic aborts the module; tell the page why before that happens.
    std::panic::set_hook(Box::new(move |info| {
        fail(Cause::Worker, format!("{worker} crashed: {info}"));
    }));
    let handler =
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| on_message(e.data()));
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    send(&FromWorker::Ready { threads });
}

/// The entry of the worker built with threads (`www/threads-worker.js` calls it): starts a
/// rayon pool of `threads` Web Workers on this module's shared memory, has every matrix
/// product use it, then starts as `start` does. One thread needs no pool.
#[cfg(feature = "threads")]
#[wasm_bindgen(js_name = startThreadedWorker)]
pub async fn start_threaded(threads: usize) -> Result<(), JsValue> {
    let running = if threads > 1 {
        wasm_bindgen_futures::JsFuture::from(wasm_bindgen_rayon::init_thread_pool(threads)).await?;
        // What the pool really runs on: one task on each of its threads, each answering with
        // its index. `Ready` reports this count, not the one asked for.
        rayon::broadcast(|thread| thread.index()).len()
    } else {
        1
    };
    crate::base::threads::set(running);
    start();
    Ok(())
}

/// A message: its JSON, and the bytes that came beside it (`[json, bytes]`).
pub(super) fn read(data: &JsValue) -> Result<(ToWorker, Option<Vec<u8>>), String> {
    if let Some(json) = data.as_string() {
        return ToWorker::from_json(&json).map(|m| (m, None));
    }
    let parts = data
        .dyn_ref::<Array>()
        .filter(|a| a.length() == 2)
        .ok_or("not a message for a worker: expected a JSON string or [json, bytes]")?;
    let json = parts
        .get(0)
        .as_string()
        .ok_or("not a message: [json, bytes] without json")?;
    let bytes = parts
        .get(1)
        .dyn_into::<Uint8Array>()
        .map_err(|_| "not a message: [json, bytes] whose bytes are not a Uint8Array")?;
    ToWorker::from_json(&json).map(|m| (m, Some(bytes.to_vec())))
}

fn on_message(data: JsValue) {
    let (message, bytes) = match read(&data) {
        Ok(m) => m,
        Err(e) => return fail(Cause::Protocol, e),
    };
    match message {
        ToWorker::Init(init) => {
            with(|w| w.waiting = Some(Vec::new()));
            wasm_bindgen_futures::spawn_local(async move {
                let result = start_run(&init).await;
                let waiting = with(|w| w.waiting.take()).unwrap_or_default();
                match result {
                    Ok(()) => waiting.into_iter().for_each(on_command),
                    Err((cause, e)) => fail(cause, e),
                }
            });
        }
        ToWorker::Pretrained(at) => wasm_bindgen_futures::spawn_local(async move {
            let Some(checkpoint) = bytes else {
                return fail(
                    Cause::Protocol,
                    "'pretrained' came without its checkpoint".into(),
                );
            };
            if let Err((cause, e)) = pretrained(&at.dataset, &checkpoint).await {
                fail(cause, e);
            }
        }),
        ToWorker::Bench(request) => wasm_bindgen_futures::spawn_local(async move {
            if let Err((cause, e)) = bench(&request).await {
                fail(cause, e);
            }
        }),
        ToWorker::Embed(_) => fail(
            Cause::Protocol,
            "'embed' goes to the encoder worker, not a training worker".into(),
        ),
        ToWorker::Continue => {
            let typed = vectors_from_bytes(&bytes.unwrap_or_default());
            let event = with(|w| w.run.as_ref().map(|run| run.session().continuation(&typed)));
            post(&event.unwrap_or(Event::Continued {
                result: Err("this worker holds no trained model".into()),
            }));
        }
        ToWorker::Products { reps } => {
            if let Err(e) = products(reps) {
                fail(Cause::Worker, e);
            }
        }
        ToWorker::Export => {
            if let Err(e) = export() {
                fail(Cause::Protocol, e);
            }
        }
        ToWorker::Command(command) => on_command(command),
    }
}

type Failure = (Cause, String);

/// The dataset under a URL prefix (from the cache the page filled).
async fn dataset(base: &str) -> Result<Dataset, Failure> {
    let quiet = |_: f64, _: Option<f64>| {};
    let worker = |e: String| (Cause::Worker, e);
    let manifest = fetch_cached(&format!("{base}manifest.json"), &quiet)
        .await
        .map_err(worker)?;
    let vectors = fetch_cached(&format!("{base}vectors.npy"), &quiet)
        .await
        .map_err(worker)?;
    Dataset::from_bytes(&manifest.to_vec(), &vectors.to_vec(), None).map_err(|e| {
        (
            Cause::CorruptData,
            format!("the dataset download is corrupt: {e}"),
        )
    })
}

async fn start_run(init: &Init) -> Result<(), Failure> {
    let cfg = init.config.clone();
    let data = dataset(&init.dataset).await?;
    // The page checks this before it starts a worker; a worker asked directly checks too.
    crate::train::memory::check(
        &cfg,
        data.manifest.dim,
        data.manifest.count,
        WASM32_BYTES,
        WORKER,
    )
    .map_err(|e| (Cause::Config, e))?;
    let run = if init.resume {
        let cannot = |e: String| {
            (
                Cause::Worker,
                format!("the saved run cannot be resumed: {e}"),
            )
        };
        let run = Run::resumed(&saved_state(&cfg).await.map_err(cannot)?, &data).map_err(cannot)?;
        if run.session().trainer().config() != &cfg {
            return Err(cannot("its file holds another run's config".into()));
        }
        run
    } else {
        Run::on(&cfg, &data).map_err(|e| (Cause::Config, e))?
    };
    post(run.started_event());
    if init.resume {
        post(&run.session().resumed());
    }
    with(|w| w.run = Some(run));
    Ok(())
}

/// The bytes of the run saved in this browser under `cfg`.
async fn saved_state(cfg: &RunConfig) -> Result<Vec<u8>, String> {
    let none = || "no run with this config is saved in this browser".to_string();
    let dir = opfs::folder(saved_runs::DIR, false)
        .await?
        .ok_or_else(none)?;
    let file = opfs::file(&dir, &saved_runs::file_name(cfg))
        .await?
        .ok_or_else(none)?;
    opfs::read(&file, None).await
}

/// After an epoch, the run's whole state goes to the browser's storage. Training does not wait
/// for the write; if writes fall behind, only the newest state is written.
fn save_after(events: &[Event]) {
    let Some(epoch) = events.iter().rev().find_map(|e| match e {
        Event::Epoch { metrics, .. } => Some(metrics.epoch),
        _ => None,
    }) else {
        return;
    };
    let state = with(|w| {
        w.run.as_ref().map(|run| {
            let trainer = run.session().trainer();
            let memory_now = (core::arch::wasm32::memory_size::<0>() * 65536) as u64;
            let bytes = crate::train::memory::save_fits(
                memory_now,
                trainer.model().param_count() as u64,
                WASM32_BYTES,
            )
            .and_then(|()| trainer.save_state().map_err(|e| e.to_string()));
            (saved_runs::file_name(trainer.config()), bytes)
        })
    });
    match state {
        Some((file, Ok(bytes))) => {
            let start_writing = with(|w| {
                w.to_save = Some(PendingSave { file, epoch, bytes });
                !std::mem::replace(&mut w.saving, true)
            });
            if start_writing {
                wasm_bindgen_futures::spawn_local(write_saves());
            }
        }
        Some((_, Err(e))) => post(&Event::Saved {
            epoch,
            result: Err(saved_runs::unsaved(&e)),
        }),
        None => {}
    }
}

async fn write_saves() {
    while let Some(PendingSave {
        file: name,
        epoch,
        bytes,
    }) = with(|w| w.to_save.take())
    {
        if with(|w| w.owned.as_deref() != Some(name.as_str())) {
            match super::lock::hold(&saved_runs::lock_name(&name)).await {
                Ok(true) => with(|w| w.owned = Some(name.clone())),
                Ok(false) => {
                    post(&Event::Saved {
                        epoch,
                        result: Err(saved_runs::unsaved(saved_runs::OWNED_ELSEWHERE)),
                    });
                    continue;
                }
                Err(e) => {
                    post(&Event::Saved {
                        epoch,
                        result: Err(saved_runs::not_saved(&e, bytes.len() as u64, None)),
                    });
                    continue;
                }
            }
        }
        let written = match opfs::folder(saved_runs::DIR, true).await {
            Ok(Some(dir)) => opfs::write(&dir, &name, &bytes).await,
            Ok(None) => Err(format!(
                "the folder '{}' could not be made",
                saved_runs::DIR
            )),
            Err(e) => Err(e),
        };
        let result = match written {
            Ok(()) => Ok(bytes.len() as u64),
            // Chromium reports a full quota as one of several errors; the estimate tells.
            Err(e) => Err(saved_runs::not_saved(
                &e,
                bytes.len() as u64,
                opfs::free_bytes().await,
            )),
        };
        post(&Event::Saved { epoch, result });
    }
    with(|w| w.saving = false);
}

async fn pretrained(dataset_at: &str, checkpoint: &[u8]) -> Result<(), Failure> {
    let events = pretrained_events(checkpoint, &dataset(dataset_at).await?).map_err(|e| {
        (
            Cause::Weights,
            format!("the pretrained weights cannot be used: {e}"),
        )
    })?;
    events.iter().for_each(post);
    Ok(())
}

/// Times training steps and inference batches of the request's config in this worker, as
/// `lvm bench` does natively.
async fn bench(request: &BenchRequest) -> Result<(), Failure> {
    let cfg = request.config.clone();
    let windows = dataset(&request.dataset)
        .await?
        .windows(cfg.context)
        .map_err(|e| (Cause::Config, e.to_string()))?;
    let speed = measure(&cfg, &windows, super::now, request.warmup, request.steps)
        .map_err(|e| (Cause::Worker, e.to_string()))?;
    // The worker's whole linear memory afterwards (it never shrinks): what the run needed.
    let memory_bytes = core::arch::wasm32::memory_size::<0>() * 65536;
    send(&FromWorker::Bench(BenchReply {
        speed,
        memory_bytes,
    }));
    Ok(())
}

/// Times the study's largest matrix products alone in this worker, as `lvm bench` does.
fn products(reps: usize) -> Result<(), String> {
    let rates = STUDY_PRODUCTS
        .into_iter()
        .map(|p| matmul_rate(p, super::now, reps))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let tile_gflops =
        crate::models::kernel::tile_rate::<crate::models::kernel::Vector>(super::now, 2000 * reps);
    send(&FromWorker::Products { rates, tile_gflops });
    Ok(())
}

fn export() -> Result<(), String> {
    let export = with(|w| match w.run.as_ref() {
        Some(run) => run.export_all(),
        None => Err("no run to export yet".into()),
    })?;
    let message = FromWorker::Export(ExportedLog {
        json: export.log_json,
        csv: export.log_csv,
    });
    send_with_bytes(&message, Some(export.weights))
        .map_err(|e| format!("could not send the export: {e}"))
}

fn on_command(command: Command) {
    enum Then {
        Wait,
        Ran(Vec<Event>, bool),
        NoRun,
    }
    let then = with(|w| {
        if let Some(queue) = w.waiting.as_mut() {
            queue.push(command);
            return Then::Wait;
        }
        let Some(run) = w.run.as_mut() else {
            return Then::NoRun;
        };
        let events = run.session_mut().command(command);
        // Start the loop once: a second one would step the run twice per turn.
        let start_loop = run.is_running() && !std::mem::replace(&mut w.looping, true);
        Then::Ran(events, start_loop)
    });
    match then {
        Then::Wait => {}
        Then::NoRun => fail(Cause::Protocol, "no run yet: send 'init' first".into()),
        Then::Ran(events, start_loop) => {
            events.iter().for_each(post);
            save_after(&events);
            if start_loop {
                wasm_bindgen_futures::spawn_local(train_loop());
            }
        }
    }
}

/// One step, then a turn of the event loop so commands get through, until the run stops.
async fn train_loop() {
    loop {
        let events = with(|w| {
            let events = w
                .run
                .as_mut()
                .filter(|run| run.is_running())
                .map(|run| run.session_mut().work(1));
            // Cleared in the same borrow that finds the run stopped, so a command arriving
            // after this turn starts a new loop.
            w.looping &= events.is_some();
            events
        });
        let Some(events) = events else { break };
        events.iter().for_each(post);
        save_after(&events);
        yield_to_event_loop().await;
    }
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
