//! The encoder worker (the `encoder` binary, kept apart so the training worker, which every
//! run loads, carries no tokenizer): it answers `ToWorker::Embed`. It downloads a sentence
//! encoder's three files (once per browser: they stay in the Cache API), checks its weights'
//! sha256, and embeds the sentences that came beside the message with `crate::data::embed`, the code
//! `lvm embed` runs natively, reporting progress as it goes. It speaks the training worker's
//! protocol and framing (`worker::read`, `worker::send_with_bytes`).

use super::fetch::{evict, fetch_cached};
use super::worker::{fail, listen, read, send_with_bytes};
use crate::data::embed::{self, Embedder, FILES};
use crate::session::messages::Cause;
use crate::session::protocol::{vectors_to_bytes, EmbedRequest, FromWorker, ToWorker};
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;

/// Starts the encoder worker (one thread: candle's products here run on this one).
pub fn start() {
    listen("the encoder worker", on_message, 1);
}

fn on_message(data: JsValue) {
    match read(&data) {
        Ok((ToWorker::Embed(request), Some(sentences))) => {
            wasm_bindgen_futures::spawn_local(async move {
                if let Err((cause, e)) =
                    run(&request, &sentences, super::now, send_with_bytes).await
                {
                    fail(cause, e);
                }
            })
        }
        Ok((ToWorker::Embed(_), None)) => {
            fail(Cause::Protocol, "'embed' came without its sentences".into())
        }
        Ok(_) => fail(
            Cause::Protocol,
            "the encoder worker only embeds: send 'embed'".into(),
        ),
        Err(e) => fail(Cause::Protocol, e),
    }
}

/// Most sentences one request may hold (a long book); each is one vector.
const MAX_SENTENCES: usize = 200_000;
/// Sentences per forward pass: length-sorted batches pad little.
const BATCH: usize = 16;

/// Embeds `sentences` (a JSON array of strings); `send` gets the progress and the result,
/// whose vectors come back as little-endian float32 bytes.
pub async fn run(
    request: &EmbedRequest,
    sentences: &[u8],
    now: impl Fn() -> f64,
    send: impl Fn(&FromWorker, Option<Vec<u8>>) -> Result<(), String>,
) -> Result<(), (Cause, String)> {
    let info = embed::find(&request.encoder)
        .ok_or_else(|| (Cause::Protocol, format!("no encoder '{}'", request.encoder)))?;
    let texts: Vec<String> = serde_json::from_slice(sentences).map_err(|e| {
        (
            Cause::Protocol,
            format!("the sentences are not a JSON array of strings ({e})"),
        )
    })?;
    if texts.len() > MAX_SENTENCES {
        return Err((
            Cause::Protocol,
            format!("{} sentences; at most {MAX_SENTENCES}", texts.len()),
        ));
    }
    let progress = |status: String, fraction: f64| {
        // Progress that does not arrive only leaves the bar behind; the result is checked.
        let _ = send(&FromWorker::Embedding { status, fraction }, None);
    };
    let mut files = Vec::new();
    for name in FILES {
        let url = format!("{}{name}", request.files);
        let shown = |loaded: f64, total: Option<f64>| {
            let status = match total {
                Some(t) => format!(
                    "downloading {} ({name}): {:.1} of {:.1} MB",
                    info.name,
                    loaded / 1e6,
                    t / 1e6
                ),
                None => format!("downloading {} ({name}): {:.1} MB", info.name, loaded / 1e6),
            };
            progress(status, total.map_or(0.0, |t| loaded / t.max(1.0)));
        };
        let bytes = fetch_cached(&url, &shown).await.map_err(|e| {
            (
                Cause::Worker,
                format!(
                    "the encoder {} is not served here ({e}); `scripts/fetch_model.py --model {}` \
                     puts it where the page's build finds it",
                    info.name, info.name
                ),
            )
        })?;
        files.push(bytes.to_vec());
    }
    let weights = files.pop().unwrap_or_default();
    let got = format!("{:x}", Sha256::digest(&weights));
    if got != info.sha256 {
        evict(&format!("{}model.safetensors", request.files)).await;
        return Err((
            Cause::CorruptData,
            format!(
                "{}'s model.safetensors has sha256 {got}, not the official release's {}; it \
                 was removed from the cache",
                info.name, info.sha256
            ),
        ));
    }
    progress(format!("loading {}", info.name), 0.0);
    let embedder = Embedder::from_bytes(info, &files[0], &files[1], weights)
        .map_err(|e| (Cause::CorruptData, e))?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let started = now();
    let total = refs.len();
    let vectors = embedder
        .embed(&refs, BATCH, |done| {
            let seconds = (now() - started).max(1e-9);
            progress(
                format!(
                    "embedded {done} of {total} sentences, {:.1} sentences/s",
                    done as f64 / seconds
                ),
                done as f64 / total.max(1) as f64,
            );
        })
        .map_err(|e| (Cause::Worker, e))?;
    send(
        &FromWorker::Embedded {
            count: total,
            dim: info.dim,
            seconds: now() - started,
        },
        Some(vectors_to_bytes(&vectors)),
    )
    .map_err(|e| (Cause::Worker, e))
}
