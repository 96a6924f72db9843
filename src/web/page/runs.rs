//! One training's worker: starting it, posting to it (queued until it says "ready"), and
//! decoding what it sends. What the messages mean for the page is `crate::experiment::card`'s business.

use super::super::fetch::describe;
use crate::experiment::scheduler::ExportKind;
use crate::session::protocol::{FromWorker, ToWorker};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// Script Trunk writes for the `worker` binary (`data-loader-shim` in www/index.html): one
/// thread, for a page without shared memory.
const WORKER_SCRIPT: &str = "./worker_loader.js";
/// The worker built with wasm threads (scripts/build_threads.sh), a module worker that takes
/// its thread count from its URL.
const THREADED_WORKER_SCRIPT: &str = "./threads/worker.js";
/// The sentence-encoder worker (the `encoder` binary): the tokenizer and encoders stay out of
/// the training worker, which every run loads.
const ENCODER_SCRIPT: &str = "./encoder_loader.js";

/// Which worker to start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WorkerKind {
    /// A training worker on one thread.
    Single,
    /// A training worker whose products use a pool of this many threads.
    Threaded(usize),
    /// The sentence encoder.
    Encoder,
}

/// What a worker's link hears: a message, with the bytes that came beside it (an export's
/// weights, embedded vectors), or the worker's end.
pub enum Reply {
    Message(FromWorker, Option<Vec<u8>>),
    Crashed(String),
}

/// The worker's message and error handlers, kept alive as long as the card's run.
type Handlers = (
    Closure<dyn FnMut(MessageEvent)>,
    Closure<dyn FnMut(ErrorEvent)>,
);

pub struct WorkerLink {
    worker: Worker,
    ready: bool,
    /// Messages (and their transfer lists) waiting for the worker's "ready".
    queue: Vec<(JsValue, Array)>,
    /// What "Export" asked for, remembered until the worker's reply arrives.
    pub export: Option<ExportKind>,
    _handlers: Handlers,
}

impl Drop for WorkerLink {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// A worker's message: a `FromWorker` JSON string, or `[json, bytes]` for an export or
/// embedded vectors.
pub fn decode(data: JsValue) -> Reply {
    let (json, bytes) = match (data.as_string(), data.dyn_ref::<Array>()) {
        (Some(json), _) => (json, None),
        (None, Some(parts)) if parts.length() == 2 => (
            parts.get(0).as_string().unwrap_or_default(),
            parts
                .get(1)
                .dyn_into::<Uint8Array>()
                .ok()
                .map(|b| b.to_vec()),
        ),
        _ => return Reply::Crashed("the worker sent an unknown message".into()),
    };
    match FromWorker::from_json(&json) {
        Ok(message) => Reply::Message(message, bytes),
        Err(e) => Reply::Crashed(e),
    }
}

impl WorkerLink {
    /// Starts a worker of `kind` named `name`; `on_reply` gets every message it sends, and
    /// its crash.
    pub fn spawn(
        name: &str,
        kind: WorkerKind,
        on_reply: impl Fn(Reply) + Clone + 'static,
    ) -> Result<Self, String> {
        let options = WorkerOptions::new();
        options.set_name(name);
        let script = match kind {
            WorkerKind::Threaded(n) => {
                options.set_type(WorkerType::Module);
                format!("{THREADED_WORKER_SCRIPT}?threads={n}")
            }
            WorkerKind::Single => {
                options.set_type(WorkerType::Classic);
                WORKER_SCRIPT.to_string()
            }
            WorkerKind::Encoder => {
                options.set_type(WorkerType::Classic);
                ENCODER_SCRIPT.to_string()
            }
        };
        let worker = Worker::new_with_options(&script, &options)
            .map_err(|e| format!("could not start a worker: {}", describe(&e)))?;
        let reply = on_reply.clone();
        let onmessage =
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| reply(decode(e.data())));
        let onerror =
            Closure::<dyn FnMut(ErrorEvent)>::new(move |e: ErrorEvent| {
                e.prevent_default();
                let message = e.message();
                // Out of memory aborts the module without a panic message: say what it likely was.
                on_reply(Reply::Crashed(format!(
                "the worker crashed, most likely out of memory (a worker has at most 4 GiB; try \
                 a smaller model or sample). The browser said: {}",
                if message.is_empty() { "nothing" } else { &message }
            )));
            });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        Ok(Self {
            worker,
            ready: false,
            queue: Vec::new(),
            export: None,
            _handlers: (onmessage, onerror),
        })
    }

    /// Sends (or queues until the worker is ready) a message, transferring `transfer`.
    pub fn send(&mut self, message: JsValue, transfer: Array) -> Result<(), String> {
        if self.ready {
            self.worker
                .post_message_with_transfer(&message, &transfer)
                .map_err(|e| format!("could not reach the worker: {}", describe(&e)))
        } else {
            self.queue.push((message, transfer));
            Ok(())
        }
    }

    pub fn post(&mut self, message: &ToWorker) -> Result<(), String> {
        self.send(JsValue::from_str(&message.to_json()), Array::new())
    }

    /// Posts `[json, bytes]`, transferring a copy of `bytes` (the page keeps its own).
    pub fn post_with_bytes(
        &mut self,
        message: &ToWorker,
        bytes: &Uint8Array,
    ) -> Result<(), String> {
        let copy = bytes.slice(0, bytes.length());
        let data = Array::of2(&JsValue::from_str(&message.to_json()), &copy);
        self.send(data.into(), Array::of1(&copy.buffer()))
    }

    /// Handles what only the link needs: "ready" sends the queued messages, a crash ends the
    /// worker. Everything else is for the card (`None`: nothing is).
    pub fn take(&mut self, reply: Reply) -> Option<Reply> {
        match reply {
            Reply::Message(FromWorker::Ready { .. }, _) => {
                self.ready = true;
                for (m, t) in std::mem::take(&mut self.queue) {
                    if let Err(e) = self.send(m, t) {
                        self.worker.terminate();
                        return Some(Reply::Crashed(e));
                    }
                }
                None
            }
            Reply::Crashed(message) => {
                self.worker.terminate();
                Some(Reply::Crashed(message))
            }
            other => Some(other),
        }
    }
}

/// A message the page did not expect of this worker, as a crash's words.
pub fn unexpected(message: &FromWorker) -> String {
    format!(
        "the worker sent a message the page does not expect: {}",
        message.to_json().chars().take(60).collect::<String>()
    )
}
