//! The user's words, split into sentences by `crate::data::sentences` (the rules the shipped datasets
//! were split by) and embedded in a worker by a sentence encoder on candle:
//! - "Embed a text": the vectors become one of the user's datasets (`own`); a text embedded
//!   once is not embedded again (its dataset's name is kept under the text's hash);
//! - "Continue my text": the vectors go to every trained run's worker, whose model predicts
//!   the sentence after them (`Event::Continued`; the view lists its nearest sentences).

use super::super::dom::{by_id, set_text};
use super::super::fetch;
use super::own_data;
use super::runs::{Reply, WorkerKind, WorkerLink};
use super::with_app;
use crate::data::embed::{EncoderInfo, MINILM};
use crate::session::messages::Event;
use crate::session::protocol::{EmbedRequest, FromWorker, ToWorker};
use sha2::{Digest, Sha256};
use wasm_bindgen::JsCast;
use web_sys::{HtmlProgressElement, HtmlTextAreaElement};

/// Pasted text is embedded with the small encoder: a 91 MB download, not MPNet's 438 MB.
pub const TEXT_ENCODER: &EncoderInfo = &MINILM;
/// Longest text taken (a long book is a few MB).
const MAX_TEXT_BYTES: usize = 8 * 1024 * 1024;

/// A text waiting for its vectors, and what they are for.
pub struct Pending {
    link: WorkerLink,
    purpose: Purpose,
}

enum Purpose {
    /// A dataset of the text's documents; `key` remembers it.
    Dataset { docs: Vec<Vec<String>>, key: String },
    /// The runs' continuations.
    Continue,
}

/// The ids of a purpose's status line and progress bar.
type Ids = (&'static str, &'static str);
const EMBED_IDS: Ids = ("embed-status", "embed-progress");
const CONTINUE_IDS: Ids = ("continue-status", "continue-progress");

impl Purpose {
    fn ids(&self) -> Ids {
        match self {
            Purpose::Dataset { .. } => EMBED_IDS,
            Purpose::Continue => CONTINUE_IDS,
        }
    }
}

/// Where the encoder's files are served (Trunk's build copies them from the fetch script's
/// folder), absolute as `dataset_url` is.
pub fn encoder_url(info: &EncoderInfo) -> String {
    super::absolute(format!("models/{}/", info.name))
}

/// The cache entry that remembers which dataset a text became.
fn memo_url(key: &str) -> String {
    format!("{}embedded/{key}", encoder_url(TEXT_ENCODER))
}

/// The "Embed" button: splits the text, then reuses its dataset or starts a worker on it.
pub fn embed_text() {
    let text = by_id("own-text")
        .dyn_into::<HtmlTextAreaElement>()
        .map(|t| t.value())
        .unwrap_or_default();
    if text.len() > MAX_TEXT_BYTES {
        return status(
            true,
            &format!(
                "The text is {} bytes; at most {MAX_TEXT_BYTES}.",
                text.len()
            ),
            0.0,
        );
    }
    let docs = crate::data::sentences::paragraphs(&text);
    let count: usize = docs.iter().map(Vec::len).sum();
    if count == 0 {
        return status(true, "There are no sentences in the text.", 0.0);
    }
    let key = format!(
        "{:x}",
        Sha256::digest(format!("{}\n{text}", TEXT_ENCODER.name))
    );
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(name) = fetch::cached(&memo_url(&key)).await {
            let name = String::from_utf8(name.to_vec()).unwrap_or_default();
            if own_data::stored(&name).await {
                status(
                    false,
                    "This text was embedded before; its dataset is used.",
                    1.0,
                );
                return own_data::switch_to(&name).await;
            }
        }
        let sentences: Vec<String> = docs.iter().flatten().cloned().collect();
        start(Purpose::Dataset { docs, key }, &sentences, TEXT_ENCODER);
    });
}

/// A `.txt` dropped on the text box becomes its text.
pub async fn read_into_box(files: web_sys::FileList) {
    let Some(file) = files.item(0) else { return };
    if file.size() > MAX_TEXT_BYTES as f64 {
        return status(true, &format!("{} is too long a text.", file.name()), 0.0);
    }
    match wasm_bindgen_futures::JsFuture::from(file.text()).await {
        Ok(text) => {
            if let Ok(area) = by_id("own-text").dyn_into::<HtmlTextAreaElement>() {
                area.set_value(&text.as_string().unwrap_or_default());
            }
        }
        Err(e) => status(true, &fetch::describe(&e), 0.0),
    }
}

/// The "Continue" button: embeds the typed sentences with the dataset's own encoder, then asks
/// every trained run.
pub fn continue_text() {
    let text = by_id("continue-text")
        .dyn_into::<HtmlTextAreaElement>()
        .map(|t| t.value())
        .unwrap_or_default();
    let ids = CONTINUE_IDS;
    let encoder = with_app(|app| match &app.data {
        super::Data::Ready(files) => {
            let model = &files.manifest.embedding.model;
            crate::data::embed::ENCODERS
                .into_iter()
                .find(|e| model.ends_with(&format!("/{}", e.name)))
                .ok_or(format!(
                    "This dataset's vectors come from {model}, an encoder the page does not \
                     have; the typed sentences cannot be put in its space."
                ))
        }
        _ => Err("The dataset is not loaded yet.".into()),
    })
    .unwrap_or(Err("The page is not ready.".into()));
    let encoder = match encoder {
        Ok(e) => e,
        Err(e) => return status_at(ids, true, &e, 0.0),
    };
    let sentences = crate::data::sentences::split(&text);
    if sentences.is_empty() {
        return status_at(ids, true, "Type a few sentences first.", 0.0);
    }
    with_app(|app| {
        for slot in app.cards.iter_mut().flat_map(|c| &mut c.slots) {
            slot.training.continuation = None;
        }
    });
    start(Purpose::Continue, &sentences, encoder);
}

fn start(purpose: Purpose, sentences: &[String], encoder: &'static EncoderInfo) {
    let ids = purpose.ids();
    let json = serde_json::to_vec(sentences).expect("strings serialise");
    let mut link = match WorkerLink::spawn("lvm-encoder", WorkerKind::Encoder, on_reply) {
        Ok(link) => link,
        Err(e) => return status_at(ids, true, &e, 0.0),
    };
    let request = ToWorker::Embed(EmbedRequest {
        encoder: encoder.name.into(),
        files: encoder_url(encoder),
    });
    if let Err(e) = link.post_with_bytes(&request, &js_sys::Uint8Array::from(&json[..])) {
        return status_at(ids, true, &e, 0.0);
    }
    status_at(
        ids,
        false,
        &format!("{} sentences; starting {}…", sentences.len(), encoder.name),
        0.0,
    );
    // A newer request replaces one still running (its worker ends with its link).
    with_app(|app| app.embedding = Some(Pending { link, purpose }));
}

fn on_reply(reply: Reply) {
    let finished = with_app(|app| {
        let pending = app.embedding.as_mut()?;
        let ids = pending.purpose.ids();
        let status = |error, text: &str, fraction| status_at(ids, error, text, fraction);
        let failed = |app: &mut super::App, message: &str| {
            app.embedding = None;
            status(true, &format!("The embedding failed: {message}"), 0.0);
            None
        };
        match pending.link.take(reply) {
            None => None,
            Some(Reply::Message(
                FromWorker::Embedding {
                    status: text,
                    fraction,
                },
                _,
            )) => {
                status(false, &text, fraction);
                None
            }
            Some(Reply::Message(
                FromWorker::Embedded {
                    count,
                    dim,
                    seconds,
                },
                Some(vectors),
            )) => Some(
                app.embedding
                    .take()
                    .map(|p| (p, vectors, count, dim, seconds)),
            ),
            Some(Reply::Crashed(message)) => failed(app, &message),
            Some(Reply::Message(
                FromWorker::Event {
                    event: Event::Failed { message, .. },
                },
                _,
            )) => failed(app, &message),
            Some(Reply::Message(other, _)) => failed(app, &super::runs::unexpected(&other)),
        }
    })
    .flatten()
    .flatten();
    if let Some((pending, bytes, count, dim, seconds)) = finished {
        wasm_bindgen_futures::spawn_local(finish(pending, bytes, count, dim, seconds));
    }
}

async fn finish(pending: Pending, bytes: Vec<u8>, count: usize, dim: usize, seconds: f64) {
    let vectors = crate::session::protocol::vectors_from_bytes(&bytes);
    let ids = pending.purpose.ids();
    if vectors.len() != count * dim {
        return status_at(
            ids,
            true,
            &format!(
                "The worker sent {} numbers for {count} × {dim}.",
                vectors.len()
            ),
            0.0,
        );
    }
    let (docs, key) = match pending.purpose {
        Purpose::Dataset { docs, key } => (docs, key),
        Purpose::Continue => return ask_runs(&bytes, count, seconds),
    };
    let imported =
        match crate::data::import::from_embedded("pasted text", &docs, &vectors, TEXT_ENCODER) {
            Ok(d) => d,
            Err(p) => return status(true, &p.to_string(), 0.0),
        };
    let name = imported.name.clone();
    let how = format!(
        "Embedded {count} sentences with {} in {seconds:.1} s ({:.1} sentences/s) in a worker; \
         kept in this browser as {name}.",
        TEXT_ENCODER.name,
        count as f64 / seconds.max(1e-9)
    );
    status(false, &how, 1.0);
    // A failure to remember only means the text is embedded again next time.
    let _ = fetch::store(&memo_url(&key), name.as_bytes()).await;
    own_data::adopt(imported, Some(how)).await;
}

/// Sends the typed sentences' vectors to every run whose worker holds a model.
fn ask_runs(vectors: &[u8], count: usize, seconds: f64) {
    let bytes = js_sys::Uint8Array::from(vectors);
    let asked = with_app(|app| {
        let mut asked = 0;
        for slot in app.cards.iter_mut().flat_map(|c| &mut c.slots) {
            let trained = matches!(slot.training.phase, crate::experiment::card::Phase::Run(_));
            if let (true, Some(link)) = (trained, slot.link.as_mut()) {
                if link.post_with_bytes(&ToWorker::Continue, &bytes).is_ok() {
                    asked += 1;
                }
            }
        }
        asked
    })
    .unwrap_or(0);
    let ids = CONTINUE_IDS;
    if asked == 0 {
        return status_at(
            ids,
            true,
            "No run has a model yet: train one (or more), then continue.",
            1.0,
        );
    }
    status_at(
        ids,
        false,
        &format!("Embedded {count} sentences in {seconds:.1} s; {asked} run(s) asked."),
        1.0,
    );
    super::schedule_render();
}

/// The "Embed a text" status line.
fn status(error: bool, text: &str, fraction: f64) {
    status_at(EMBED_IDS, error, text, fraction);
}

fn status_at((line, bar): Ids, error: bool, text: &str, fraction: f64) {
    set_text(line, text);
    let _ = by_id(line).class_list().toggle_with_force("error", error);
    if let Ok(p) = by_id(bar).dyn_into::<HtmlProgressElement>() {
        p.set_value(fraction);
    }
}
