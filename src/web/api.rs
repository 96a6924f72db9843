//! The trainer for plain JS pages (`wasm-pack build --target web` → `pkg/`), and what the
//! playground's worker runs: a [`Session`] over a dataset given as bytes.
//!
//! ```js
//! import init, { Run } from "./pkg/lvm_playground.js";
//! await init();
//! const run = new Run("model=mlp&sample=2000&epochs=2", manifestBytes, vectorsBytes);
//! run.command('{"type":"run"}');
//! while (run.state() === "running") for (const e of run.work(1)) console.log(e);
//! ```

use crate::config::RunConfig;
use crate::data::dataset::Dataset;
use crate::session::messages::{Event, RunState};
use crate::session::protocol::ToWorker;
use crate::session::{evaluate_checkpoint, Session};
use wasm_bindgen::prelude::*;

/// One training run in this thread.
#[wasm_bindgen]
pub struct Run {
    session: Session,
    started: Event,
}

fn to_js(events: &[Event]) -> Result<JsValue, JsError> {
    serde_wasm_bindgen::to_value(events).map_err(|e| JsError::new(&e.to_string()))
}

#[wasm_bindgen]
impl Run {
    /// A paused run of `config` (a URL query string, strictly parsed) on a dataset's
    /// `manifest.json` and `vectors.npy` bytes. Errors name the bad parameter or file.
    #[wasm_bindgen(constructor)]
    pub fn new(config: &str, manifest: &[u8], vectors: &[u8]) -> Result<Run, JsError> {
        let cfg = RunConfig::from_query(config).map_err(|e| JsError::new(&e.to_string()))?;
        let dataset = Dataset::from_bytes(manifest, vectors, None)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Self::on(&cfg, &dataset).map_err(|e| JsError::new(&e))
    }

    /// The `started` event: parameters, windows, steps and baselines.
    pub fn started(&self) -> Result<JsValue, JsError> {
        serde_wasm_bindgen::to_value(&self.started).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Applies a JSON command (`{"type":"run"|"pause"|"step"|"stop"}`); returns the events.
    pub fn command(&mut self, json: &str) -> Result<JsValue, JsError> {
        let command = ToWorker::from_json(json)
            .map_err(|e| JsError::new(&e))?
            .command()
            .ok_or_else(|| {
                JsError::new(
                    "not a command: expected {\"type\": \"run\"|\"pause\"|\"step\"|\"stop\"}",
                )
            })?;
        to_js(&self.session.command(command))
    }

    /// Trains up to `steps` steps if running; returns the events.
    pub fn work(&mut self, steps: usize) -> Result<JsValue, JsError> {
        to_js(&self.session.work(steps))
    }

    /// "paused", "running", "stopped", "finished" or "failed".
    pub fn state(&self) -> String {
        serde_json::to_value(self.session.state())
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    /// Continues a run saved by `saveState` on the same dataset's bytes: the same bits as a
    /// run that never stopped.
    pub fn resume(state: &[u8], manifest: &[u8], vectors: &[u8]) -> Result<Run, JsError> {
        let dataset = Dataset::from_bytes(manifest, vectors, None)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Self::resumed(state, &dataset).map_err(|e| JsError::new(&e))
    }

    /// The whole run (weights, best weights, Adam's moments, random streams, log) as the
    /// `state.safetensors` bytes `lvm train` writes; only between two epochs.
    #[wasm_bindgen(js_name = saveState)]
    pub fn save_state(&self) -> Result<Vec<u8>, JsError> {
        self.session
            .trainer()
            .save_state()
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// The best epoch's weights as safetensors (config and log in the metadata).
    #[wasm_bindgen(js_name = exportWeights)]
    pub fn export_weights(&self) -> Result<Vec<u8>, JsError> {
        Ok(self.export()?.weights)
    }

    /// The run log as JSON.
    #[wasm_bindgen(js_name = exportLog)]
    pub fn export_log(&self) -> Result<String, JsError> {
        Ok(self.export()?.log_json)
    }

    /// One row per epoch, as CSV.
    #[wasm_bindgen(js_name = exportCsv)]
    pub fn export_csv(&self) -> Result<String, JsError> {
        Ok(self.export()?.log_csv)
    }
}

impl Run {
    pub(crate) fn on(cfg: &RunConfig, dataset: &Dataset) -> Result<Run, String> {
        let (session, started) =
            Session::on(cfg, dataset, super::now).map_err(|e| e.to_string())?;
        Ok(Run { session, started })
    }

    /// A saved run continued (its `started` event describes it; `Session::resumed` says what
    /// it had done).
    pub(crate) fn resumed(state: &[u8], dataset: &Dataset) -> Result<Run, String> {
        let (session, started) = Session::resumed_on(state, dataset, super::now)?;
        Ok(Run { session, started })
    }

    pub(crate) fn started_event(&self) -> &Event {
        &self.started
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    pub(crate) fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    pub(crate) fn is_running(&self) -> bool {
        self.session.state() == RunState::Running
    }

    fn export(&self) -> Result<crate::session::Export, JsError> {
        self.session
            .export()
            .map_err(|e| JsError::new(&e.to_string()))
    }

    pub(crate) fn export_all(&self) -> Result<crate::session::Export, String> {
        self.session.export().map_err(|e| e.to_string())
    }
}

/// Loads weights (safetensors bytes) and evaluates them on their own run's validation windows
/// of the dataset; returns the `pretrained` and `examples` events.
#[wasm_bindgen(js_name = evaluatePretrained)]
pub fn evaluate_pretrained(
    checkpoint: &[u8],
    manifest: &[u8],
    vectors: &[u8],
) -> Result<JsValue, JsError> {
    let dataset =
        Dataset::from_bytes(manifest, vectors, None).map_err(|e| JsError::new(&e.to_string()))?;
    to_js(&pretrained_events(checkpoint, &dataset).map_err(|e| JsError::new(&e))?)
}

pub(crate) fn pretrained_events(
    checkpoint: &[u8],
    dataset: &Dataset,
) -> Result<Vec<Event>, String> {
    let ckpt = crate::train::checkpoint::load(checkpoint).map_err(|e| e.to_string())?;
    // Windows of the context length the weights were trained with.
    let windows = dataset
        .windows(ckpt.config.context)
        .map_err(|e| e.to_string())?;
    evaluate_checkpoint(ckpt, &windows)
}
