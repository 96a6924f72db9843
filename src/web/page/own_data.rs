//! The user's own datasets: files dropped on the page or picked, checked by `crate::data::import`
//! (the CLI's checks), and kept in the Cache API under the URL a shipped dataset's download
//! would have, so workers read them exactly as they read a shipped one and a reload keeps
//! them. Nothing leaves the browser.

use super::super::dom::{by_id, escape};
use super::super::fetch::{self, describe};
use super::{dataset_url, load_dataset, schedule_render, view, with_app};
use crate::data::dataset::{Manifest, MANIFEST, TEXTS, VECTORS};
use crate::data::import::{self, Given, Imported};
use crate::experiment::own_datasets::{label, OwnDataset};
use wasm_bindgen_futures::JsFuture;
use web_sys::FileList;

/// The stored datasets, from the cache's keys.
pub async fn list() -> Vec<OwnDataset> {
    let mut out = Vec::new();
    for url in fetch::cached_urls().await {
        let Some(name) = url
            .strip_suffix(&format!("/{MANIFEST}"))
            .and_then(|u| u.rsplit('/').next())
            .filter(|n| crate::config::is_own(n))
        else {
            continue;
        };
        if let Some(bytes) = fetch::cached(&url).await {
            if let Ok(m) = Manifest::parse(&bytes.to_vec()) {
                out.push(OwnDataset {
                    label: label(name, &m),
                    name: name.to_string(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

/// Re-reads the stored datasets into the app and redraws the dataset control.
pub async fn refresh() {
    let own = list().await;
    with_app(|app| {
        app.own = own;
        view::cards(&app.state, &app.own);
    });
    schedule_render();
}

/// The largest file read at all: the vectors' limit (texts and manifests are smaller still).
const MAX_FILE_BYTES: f64 = import::MAX_VECTORS_BYTES as f64;

/// Imports what the user dropped or picked; on success, stores it and makes it the dataset of
/// every run. Any problem is listed and nothing changes.
pub async fn import_files(files: FileList) {
    show(false, "Reading the files…");
    let mut read: Vec<(String, Vec<u8>)> = Vec::new();
    let mut problems = Vec::new();
    for k in 0..files.length() {
        let Some(file) = files.item(k) else { continue };
        let name = file.name();
        if file.size() > MAX_FILE_BYTES {
            problems.push(format!(
                "{name}: {:.0} MB is more than the {:.0} MB a file may have",
                file.size() / 1e6,
                MAX_FILE_BYTES / 1e6
            ));
            continue;
        }
        match JsFuture::from(file.array_buffer()).await {
            Ok(buffer) => read.push((name, js_sys::Uint8Array::new(&buffer).to_vec())),
            Err(e) => problems.push(format!("{name} could not be read ({})", describe(&e))),
        }
    }
    let given: Vec<Given> = read
        .iter()
        .map(|(file, bytes)| Given { file, bytes })
        .collect();
    let imported = match problems.is_empty() {
        true => import::import_files(&given).map_err(|p| p.0),
        false => Err(problems),
    };
    let imported = match imported {
        Ok(d) => d,
        Err(problems) => return refuse(&problems),
    };
    adopt(imported, None).await;
}

/// Stores an imported dataset and makes it the dataset of every run; `how` says where it came
/// from (for a pasted text: the encoder and its speed).
pub(super) async fn adopt(imported: Imported, how: Option<String>) {
    if let Err(e) = keep(&imported).await {
        return refuse(&[format!(
            "{e}. Nothing was loaded: free some space for this site, or use the CLI \
             (`lvm dataset import`)."
        )]);
    }
    let mut text = how.unwrap_or_else(|| {
        format!(
            "Loaded {} as {}: {} sentences of {}-D{}. It is kept in this browser (nothing was \
             uploaded); links to it name it by its vectors' sha256.",
            imported.manifest.name,
            imported.name,
            imported.manifest.count,
            imported.manifest.dim,
            if imported.texts.is_some() {
                " with their texts"
            } else {
                ", no texts"
            },
        )
    });
    for w in &imported.warnings {
        text.push_str(&format!(" Note: {w}."));
    }
    show(false, &text);
    switch_to(&imported.name).await;
}

/// Whether a dataset is stored here (it is listed by its manifest).
pub(super) async fn stored(name: &str) -> bool {
    crate::config::is_own(name)
        && fetch::cached(&format!("{}{MANIFEST}", dataset_url(name)))
            .await
            .is_some()
}

/// Makes a stored dataset the dataset of every run.
pub(super) async fn switch_to(name: &str) {
    let wanted = with_app(|app| app.state.base.dataset.clone()).unwrap_or_default();
    refresh().await;
    with_app(|app| {
        if crate::config::is_own(&wanted) && wanted != name {
            app.notices = vec![format!(
                "The link asked for {wanted}; the data given is {name}, so the runs use that \
                 instead."
            )];
        }
        // Through the shared control's own path, so the URL and every run follow.
        if let Err(e) = app.state.set_shared("dataset", name) {
            app.notices = vec![e.to_string()];
        }
        app.write_url();
        view::cards(&app.state, &app.own);
    });
    load_dataset();
}

/// Stores the three files; the manifest last, since a dataset is listed by its manifest.
async fn keep(d: &Imported) -> Result<(), String> {
    let base = dataset_url(&d.name);
    fetch::store(&format!("{base}{VECTORS}"), &d.vectors).await?;
    if let Some(texts) = &d.texts {
        fetch::store(&format!("{base}{TEXTS}"), texts).await?;
    } else {
        // A dataset given again without texts has none.
        fetch::evict(&format!("{base}{TEXTS}")).await;
    }
    let manifest = serde_json::to_vec_pretty(&d.manifest).map_err(|e| e.to_string())?;
    fetch::store(&format!("{base}{MANIFEST}"), &manifest).await
}

/// Forgets a stored dataset.
pub async fn forget(name: String) {
    let base = dataset_url(&name);
    for file in [MANIFEST, VECTORS, TEXTS] {
        fetch::evict(&format!("{base}{file}")).await;
    }
    show(false, &format!("Forgot {name}."));
    refresh().await;
    load_dataset();
}

fn refuse(problems: &[String]) {
    let items: String = problems
        .iter()
        .map(|p| format!("<li>{}</li>", escape(p)))
        .collect();
    by_id("own-status").set_inner_html(&format!(
        "<p>These files were not loaded; nothing changed:</p><ul>{items}</ul>"
    ));
    mark(true);
}

fn show(error: bool, text: &str) {
    by_id("own-status").set_inner_html(&format!("<p>{}</p>", escape(text)));
    mark(error);
}

fn mark(error: bool) {
    let _ = by_id("own-status")
        .class_list()
        .toggle_with_force("error", error);
    let _ = by_id("own-data").set_attribute("open", "");
}
