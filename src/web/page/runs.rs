//! One model's card on the page: its worker and what the worker has reported.

use super::super::fetch::describe;
use crate::metrics::{Baselines, CosineSummary, EpochMetrics, RunLog};
use crate::run::{ModelKind, RunConfig};
use crate::session::{Event, Example, RunState};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// Script Trunk writes for the `worker` binary (`data-loader-shim` in www/index.html).
const WORKER_SCRIPT: &str = "./worker_loader.js";

/// Where a card's run is.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Worker starting, or the dataset or weights still loading.
    Loading(String),
    Run(RunState),
    /// Pretrained weights evaluated.
    Evaluated,
    Failed(String),
}

/// What "Export" asked for, remembered until the worker's reply arrives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExportKind {
    Json,
    Csv,
    Weights,
}

pub struct Started {
    pub params: usize,
    pub train_windows: usize,
    pub val_windows: usize,
    pub steps_per_epoch: usize,
    pub total_steps: u64,
    pub baselines: Baselines,
}

pub struct Pretrained {
    pub params: usize,
    pub val_windows: usize,
    pub val: CosineSummary,
    pub prediction_similarity: f32,
    pub baselines: Baselines,
    pub log: Option<Box<RunLog>>,
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

pub struct RunView {
    pub model: ModelKind,
    pub config: RunConfig,
    worker: Worker,
    ready: bool,
    /// Messages (and their transfer lists) waiting for the worker's "ready".
    queue: Vec<(JsValue, Array)>,
    pub phase: Phase,
    pub started: Option<Started>,
    /// (step, epoch, step in epoch, steps per epoch, loss, samples/s)
    pub progress: Option<(u64, usize, usize, usize, f32, f64)>,
    pub epochs: Vec<EpochMetrics>,
    pub best_epoch: Option<usize>,
    pub examples: Vec<Example>,
    pub pretrained: Option<Pretrained>,
    pub export: Option<ExportKind>,
    _handlers: Handlers,
}

impl Drop for RunView {
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

impl RunView {
    /// Starts a worker for `model`; `on_reply` gets every message it sends, and its crash.
    pub fn spawn(
        model: ModelKind,
        config: RunConfig,
        on_reply: impl Fn(Reply) + Clone + 'static,
    ) -> Result<Self, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Classic);
        options.set_name(&format!("lvm-{model}"));
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
            model,
            config,
            worker,
            ready: false,
            queue: Vec::new(),
            phase: Phase::Loading("starting a worker…".into()),
            started: None,
            progress: None,
            epochs: Vec::new(),
            best_epoch: None,
            examples: Vec::new(),
            pretrained: None,
            export: None,
            _handlers: (onmessage, onerror),
        })
    }

    /// Sends (or queues until the worker is ready) a message, transferring `transfer`.
    pub fn send(&mut self, message: JsValue, transfer: Array) {
        if self.ready {
            if let Err(e) = self.worker.post_message_with_transfer(&message, &transfer) {
                self.phase = Phase::Failed(format!("could not reach the worker: {}", describe(&e)));
            }
        } else {
            self.queue.push((message, transfer));
        }
    }

    pub fn command(&mut self, kind: &str) {
        self.send(
            JsValue::from_str(&format!(r#"{{"type":"{kind}"}}"#)),
            Array::new(),
        );
    }

    /// Sends `{type, ...fields}` with `bytes` fields copied and transferred.
    pub fn send_with_bytes(
        &mut self,
        kind: &str,
        text: &[(&str, &str)],
        bytes: &[(&str, &Uint8Array)],
    ) {
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
        self.send(msg.into(), transfer);
    }

    pub fn is_over(&self) -> bool {
        matches!(
            self.phase,
            Phase::Run(RunState::Finished | RunState::Stopped | RunState::Failed)
                | Phase::Failed(_)
                | Phase::Evaluated
        )
    }

    /// Applies a worker's reply; returns an export to hand to the user, if any.
    pub fn apply(&mut self, reply: Reply) -> Option<(ExportKind, Vec<u8>, String, String)> {
        match reply {
            Reply::Ready => {
                self.ready = true;
                for (m, t) in std::mem::take(&mut self.queue) {
                    self.send(m, t);
                }
            }
            Reply::Crashed(message) => {
                // Keep the first, more specific message (a panic's text arrives before the trap).
                if !matches!(self.phase, Phase::Failed(_)) {
                    self.phase = Phase::Failed(message);
                }
                self.worker.terminate();
            }
            Reply::Export { weights, json, csv } => {
                return self.export.take().map(|k| (k, weights, json, csv));
            }
            Reply::Event(event) => self.apply_event(*event),
        }
        None
    }

    fn apply_event(&mut self, event: Event) {
        match event {
            Event::Started {
                params,
                train_windows,
                val_windows,
                steps_per_epoch,
                total_steps,
                baselines,
                ..
            } => {
                self.started = Some(Started {
                    params,
                    train_windows,
                    val_windows,
                    steps_per_epoch,
                    total_steps,
                    baselines,
                });
                self.phase = Phase::Run(RunState::Paused);
            }
            Event::Progress {
                step,
                epoch,
                step_in_epoch,
                steps_per_epoch,
                loss,
                samples_per_second,
            } => {
                self.progress = Some((
                    step,
                    epoch,
                    step_in_epoch,
                    steps_per_epoch,
                    loss,
                    samples_per_second,
                ))
            }
            Event::Epoch {
                metrics,
                best_epoch,
            } => {
                self.epochs.push(metrics);
                self.best_epoch = best_epoch;
            }
            Event::Examples { examples } => self.examples = examples,
            Event::State { state } => {
                if !matches!(self.phase, Phase::Failed(_)) {
                    self.phase = Phase::Run(state);
                }
            }
            // The first failure is the cause; later ones (e.g. a command to a run that never
            // started) are consequences.
            Event::Failed { message } => {
                if !matches!(self.phase, Phase::Failed(_)) {
                    self.phase = Phase::Failed(message)
                }
            }
            Event::Pretrained {
                params,
                val_windows,
                val,
                prediction_similarity,
                baselines,
                log,
                ..
            } => {
                if let Some(log) = &log {
                    self.epochs = log.epochs.clone();
                    self.best_epoch = log.best_epoch;
                }
                self.pretrained = Some(Pretrained {
                    params,
                    val_windows,
                    val,
                    prediction_similarity,
                    baselines,
                    log,
                });
                self.phase = Phase::Evaluated;
            }
        }
    }

    /// The best validation cosine so far: the evaluated one for pretrained weights.
    pub fn best_val(&self) -> Option<f32> {
        if let Some(p) = &self.pretrained {
            return Some(p.val.mean);
        }
        self.best_epoch
            .and_then(|b| self.epochs.get(b - 1))
            .map(|e| e.val.mean)
    }

    pub fn baselines(&self) -> Option<&Baselines> {
        self.pretrained
            .as_ref()
            .map(|p| &p.baselines)
            .or(self.started.as_ref().map(|s| &s.baselines))
    }
}
