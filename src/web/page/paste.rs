//! "Embed a text": the user's text, split into sentences by `crate::sentences` (the rules the
//! shipped datasets were split by), embedded in a worker by a sentence encoder on candle, and
//! kept as one of the user's datasets (`own`). A text embedded once is not embedded again: its
//! dataset's name is kept under the text's hash.

use super::super::dom::{by_id, set_text};
use super::super::fetch;
use super::own;
use super::runs::{Reply, Taken, WorkerLink};
use super::with_app;
use crate::embed::{EncoderInfo, MINILM};
use crate::protocol::{EmbedRequest, ToWorker};
use sha2::{Digest, Sha256};
use wasm_bindgen::JsCast;
use web_sys::{HtmlProgressElement, HtmlTextAreaElement};

/// Pasted text is embedded with the small encoder: a 91 MB download, not MPNet's 438 MB.
pub const TEXT_ENCODER: &EncoderInfo = &MINILM;
/// Longest text taken (a long book is a few MB).
const MAX_TEXT_BYTES: usize = 8 * 1024 * 1024;

/// A text waiting for its vectors.
pub struct Pending {
    link: WorkerLink,
    docs: Vec<Vec<String>>,
    key: String,
}

/// Where the encoder's files are served (Trunk's build copies them from the fetch script's
/// folder), absolute as `dataset_url` is.
pub fn encoder_url(info: &EncoderInfo) -> String {
    let relative = format!("models/{}/", info.name);
    let page = super::super::dom::window()
        .location()
        .href()
        .unwrap_or_default();
    web_sys::Url::new_with_base(&relative, &page).map_or(relative, |u| u.href())
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
    let docs = crate::sentences::paragraphs(&text);
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
            if own::stored(&name).await {
                status(
                    false,
                    "This text was embedded before; its dataset is used.",
                    1.0,
                );
                return own::switch_to(&name).await;
            }
        }
        start(docs, key, count);
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

fn start(docs: Vec<Vec<String>>, key: String, count: usize) {
    let sentences: Vec<&String> = docs.iter().flatten().collect();
    let json = serde_json::to_vec(&sentences).expect("strings serialise");
    let mut link = match WorkerLink::spawn("lvm-embed", None, on_reply) {
        Ok(link) => link,
        Err(e) => return status(true, &e, 0.0),
    };
    let request = ToWorker::Embed(EmbedRequest {
        encoder: TEXT_ENCODER.name.into(),
        files: encoder_url(TEXT_ENCODER),
    });
    if let Err(e) = link.post_with_bytes(&request, &js_sys::Uint8Array::from(&json[..])) {
        return status(true, &e, 0.0);
    }
    status(
        false,
        &format!("{count} sentences; starting {}…", TEXT_ENCODER.name),
        0.0,
    );
    with_app(|app| app.embedding = Some(Pending { link, docs, key }));
}

fn on_reply(reply: Reply) {
    let finished = with_app(|app| {
        let pending = app.embedding.as_mut()?;
        match pending.link.take(reply) {
            Taken::Nothing | Taken::Export(..) => None,
            Taken::Other(Reply::Embedding(text, fraction)) => {
                status(false, &text, fraction);
                None
            }
            Taken::Other(Reply::Embedded {
                vectors,
                count,
                dim,
                seconds,
            }) => Some(
                app.embedding
                    .take()
                    .map(|p| (p, vectors, count, dim, seconds)),
            ),
            Taken::Crashed(message) => {
                app.embedding = None;
                status(true, &format!("The embedding failed: {message}"), 0.0);
                None
            }
            Taken::Event(event) => {
                if let crate::session::Event::Failed { message, .. } = *event {
                    app.embedding = None;
                    status(true, &format!("The embedding failed: {message}"), 0.0);
                }
                None
            }
            Taken::Other(_) => None,
        }
    })
    .flatten()
    .flatten();
    if let Some((pending, bytes, count, dim, seconds)) = finished {
        wasm_bindgen_futures::spawn_local(finish(pending, bytes, count, dim, seconds));
    }
}

async fn finish(pending: Pending, bytes: Vec<u8>, count: usize, dim: usize, seconds: f64) {
    let vectors: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if dim != TEXT_ENCODER.dim || vectors.len() != count * dim {
        return status(
            true,
            &format!(
                "The worker sent {} numbers for {count} × {dim}.",
                vectors.len()
            ),
            0.0,
        );
    }
    let imported =
        match crate::import::from_embedded("pasted text", &pending.docs, &vectors, TEXT_ENCODER) {
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
    let _ = fetch::store(&memo_url(&pending.key), name.as_bytes()).await;
    own::adopt(imported, Some(how)).await;
}

fn status(error: bool, text: &str, fraction: f64) {
    set_text("embed-status", text);
    let _ = by_id("embed-status")
        .class_list()
        .toggle_with_force("error", error);
    if let Ok(p) = by_id("embed-progress").dyn_into::<HtmlProgressElement>() {
        p.set_value(fraction);
    }
}
