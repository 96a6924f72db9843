//! One training's worker: starting it, posting to it (queued until it says "ready"), and
//! decoding what it sends. What the messages mean for the page is `crate::card`'s business.

use super::super::fetch::describe;
use crate::session::Event;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// Script Trunk writes for the `worker` binary (`data-loader-shim` in www/index.html).
const WORKER_SCRIPT: &str = "./worker_loader.js";

/// What "Export" asked for, remembered until the worker's reply arrives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExportKind {
    Json,
    Csv,
    Weights,
}

/// A message from a worker, decoded.
pub enum Reply {
    Ready,
    Event(Box<Event>),
    Export {
        weights: Vec<u8>,
        json: String,
        csv: String,
    },
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
    pub export: Option<ExportKind>,
    _handlers: Handlers,
}

impl Drop for WorkerLink {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

pub fn decode(data: JsValue) -> Reply {
    if let Some(json) = data.as_string() {
        if json == r#"{"type":"ready"}"# {
            return Reply::Ready;
        }
        return match serde_json::from_str::<Event>(&json) {
            Ok(e) => Reply::Event(Box::new(e)),
            Err(e) => Reply::Crashed(format!("the worker sent an unreadable message ({e})")),
        };
    }
    let get = |k: &str| Reflect::get(&data, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
    match get("weights").dyn_into::<Uint8Array>() {
        Ok(w) => Reply::Export {
            weights: w.to_vec(),
            json: get("json").as_string().unwrap_or_default(),
            csv: get("csv").as_string().unwrap_or_default(),
        },
        Err(_) => Reply::Crashed("the worker sent an unknown message".into()),
    }
}

impl WorkerLink {
    /// Starts a worker named `name`; `on_reply` gets every message it sends, and its crash.
    pub fn spawn(name: &str, on_reply: impl Fn(Reply) + Clone + 'static) -> Result<Self, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Classic);
        options.set_name(name);
        let worker = Worker::new_with_options(WORKER_SCRIPT, &options)
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

    pub fn command(&mut self, command: crate::session::Command) -> Result<(), String> {
        let json = serde_json::to_string(&command).map_err(|e| e.to_string())?;
        self.send(JsValue::from_str(&json), Array::new())
    }

    /// Sends `{type, ...fields}` with `bytes` fields copied and transferred.
    pub fn send_with_bytes(
        &mut self,
        kind: &str,
        text: &[(&str, &str)],
        bytes: &[(&str, &Uint8Array)],
    ) -> Result<(), String> {
        let msg = Object::new();
        let transfer = Array::new();
        let _ = Reflect::set(&msg, &"type".into(), &kind.into());
        for (k, v) in text {
            let _ = Reflect::set(&msg, &(*k).into(), &(*v).into());
        }
        for (k, v) in bytes {
            // A copy per worker: the page keeps its own for the next run.
            let copy = v.slice(0, v.length());
            transfer.push(&copy.buffer());
            let _ = Reflect::set(&msg, &(*k).into(), &copy);
        }
        self.send(msg.into(), transfer)
    }

    /// Handles what only the link needs (ready, exports); returns the rest for the card.
    pub fn take(&mut self, reply: Reply) -> Taken {
        match reply {
            Reply::Ready => {
                self.ready = true;
                for (m, t) in std::mem::take(&mut self.queue) {
                    if let Err(e) = self.send(m, t) {
                        return Taken::Crashed(e);
                    }
                }
                Taken::Nothing
            }
            Reply::Crashed(message) => {
                self.worker.terminate();
                Taken::Crashed(message)
            }
            Reply::Export { weights, json, csv } => match self.export.take() {
                Some(kind) => Taken::Export(kind, weights, json, csv),
                None => Taken::Nothing,
            },
            Reply::Event(event) => Taken::Event(event),
        }
    }
}

/// What a reply means beyond the link.
pub enum Taken {
    Nothing,
    Event(Box<Event>),
    Crashed(String),
    Export(ExportKind, Vec<u8>, String, String),
}
