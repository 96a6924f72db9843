//! What the page fetches and opens: its dataset, a card's pretrained weights, a lesson's
//! stored run logs, and run logs the user drops on it. Each lands in the app's state; the
//! workers do the heavy work.

use super::super::fetch::{self, describe};
use super::runs::{WorkerKind, WorkerLink};
use super::{dataset_url, on_reply, schedule_render, view, with_app, Card, Data, Files, Slot};
use crate::data::dataset::{parse_texts, Manifest};
use crate::experiment::card::{Phase, Training};
use crate::experiment::lessons::Lesson;
use crate::experiment::page_state::PageState;
use crate::session::messages::Command;
use crate::session::protocol::{DatasetAt, ToWorker};
use crate::train::log::RunLog;
use std::rc::Rc;

/// Downloads the current dataset (from the cache when it is there), then starts any run that
/// was waiting for it.
pub fn load_dataset() {
    let Some(name) = with_app(|app| {
        let name = app.state.base.dataset.clone();
        app.data = Data::Loading {
            name: name.clone(),
            status: "starting download…".into(),
            fraction: 0.0,
        };
        name
    }) else {
        return;
    };
    schedule_render();
    wasm_bindgen_futures::spawn_local(async move {
        let result = download_dataset(&name).await;
        let still_wanted = with_app(|app| app.state.base.dataset == name).unwrap_or(false);
        if !still_wanted {
            return;
        }
        with_app(|app| {
            app.data = match result {
                Ok(files) => Data::Ready(Rc::new(files)),
                Err(message) => Data::Failed { name, message },
            };
            if let (Data::Ready(_), Some(how)) = (&app.data, app.pending_start) {
                app.train(how);
            }
            app.pump();
        });
        schedule_render();
    });
}

async fn download_dataset(name: &str) -> Result<Files, String> {
    if crate::config::is_own(name) {
        return stored_dataset(name).await;
    }
    let mut got = Vec::new();
    // Rough shares of the total size, for one progress bar over three files.
    let files = [
        ("manifest.json", 0.0, 0.02),
        ("vectors.npy", 0.02, 0.92),
        ("texts.jsonl", 0.94, 0.06),
    ];
    for (file, before, share) in files {
        let url = format!("{}{file}", dataset_url(name));
        let progress = |loaded: f64, total: Option<f64>| {
            let (status, part) = match total {
                Some(t) if t > 0.0 => (
                    format!("{file}: {:.1} of {:.1} MB", loaded / 1e6, t / 1e6),
                    loaded / t,
                ),
                _ => (format!("{file}: {:.1} MB", loaded / 1e6), 0.5),
            };
            with_app(|app| {
                app.data = Data::Loading {
                    name: name.to_string(),
                    status,
                    fraction: before + share * part,
                };
            });
            schedule_render();
        };
        got.push(fetch::fetch_cached(&url, &progress).await?);
    }
    let texts_bytes = got.pop().unwrap_or_default().to_vec();
    // The vectors are in the cache now, for the workers; the page needs none of them.
    got.pop();
    let manifest_bytes = got.pop().unwrap_or_default();
    let checked = Manifest::parse(&manifest_bytes.to_vec()).and_then(|manifest| {
        parse_texts(&texts_bytes, manifest.count).map(|texts| (manifest, texts))
    });
    match checked {
        Ok((manifest, texts)) => Ok(Files {
            name: name.to_string(),
            manifest,
            texts,
        }),
        Err(e) => {
            for file in ["manifest.json", "vectors.npy", "texts.jsonl"] {
                fetch::evict(&format!("{}{file}", dataset_url(name))).await;
            }
            Err(format!("The downloaded dataset is corrupt ({e}); it was removed from the cache. Reload to download it again."))
        }
    }
}

/// A user's dataset: only ever from this browser's storage, where `own` put it.
async fn stored_dataset(name: &str) -> Result<Files, String> {
    let base = dataset_url(name);
    let Some(manifest) = fetch::cached(&format!("{base}manifest.json")).await else {
        return Err(format!(
            "this link trains on your own dataset, which is not in this browser. Give its \
             vectors under “Use your own data” (pick or drop the .npy file whose sha256 is {}, \
             with its texts if it had them; for a pasted text, paste the same text under \
             “Embed a text”: it embeds to the same vectors); nothing is uploaded.",
            &name[crate::config::OWN_PREFIX.len()..]
        ));
    };
    let manifest = Manifest::parse(&manifest.to_vec()).map_err(|e| e.to_string())?;
    let texts = match fetch::cached(&format!("{base}texts.jsonl")).await {
        Some(bytes) => parse_texts(&bytes.to_vec(), manifest.count).map_err(|e| e.to_string())?,
        None => (0..manifest.count)
            .map(|i| format!("(sentence {i}: no texts were given)"))
            .collect(),
    };
    Ok(Files {
        name: name.to_string(),
        manifest,
        texts,
    })
}

/// "Load pretrained": shows the shipped run log of the card's model at once, then downloads
/// its weights and evaluates them in a worker on their own run's validation windows.
pub async fn load_pretrained(run: usize) {
    let Some((id, model, dataset, file)) = with_app(|app| {
        let card = app.cards.get_mut(run)?;
        let config = app.state.runs.get(run)?.config.clone();
        if crate::config::is_own(&config.dataset) {
            app.notices = vec![
                "Pretrained weights are shipped for the shipped datasets only; Train trains on \
                 your own data here."
                    .into(),
            ];
            return None;
        }
        app.next_id += 1;
        let id = app.next_id;
        let (model, dataset) = (config.model, config.dataset.clone());
        let file = match config.skip {
            crate::config::Skip::None => model.to_string(),
            skip => format!("{model}-skip-{skip}"),
        };
        let link = match WorkerLink::spawn(
            &format!("lvm-pretrained-{model}"),
            WorkerKind::Single,
            move |reply| on_reply(id, reply),
        ) {
            Ok(link) => Some(link),
            Err(e) => {
                app.notices = vec![e];
                None
            }
        };
        let mut training = Training::queued(config);
        training.phase = Phase::Loading("downloading the stored run log…".into());
        card.slots = vec![Slot {
            id,
            training,
            link,
            start: Command::Pause,
            resume: false,
        }];
        Some((id, model, dataset, file))
    })
    .flatten() else {
        schedule_render();
        return;
    };
    let set_phase = |phase: Phase| {
        with_app(|app| {
            if let Some(slot) = app.slot_by_id(id) {
                slot.training.phase = phase;
            }
        });
        schedule_render();
    };
    let base = format!("datasets/{dataset}/pretrained/{file}");
    // The log is a few hundred kB; its curves show while the weights download.
    if let Ok(bytes) = fetch::fetch_cached(&format!("{base}.json"), &|_, _| {}).await {
        if let Ok(log) = serde_json::from_slice::<RunLog>(&bytes.to_vec()) {
            with_app(|app| {
                if let Some(slot) = app.slot_by_id(id) {
                    slot.training.show_log(log);
                }
            });
        }
    }
    set_phase(Phase::Loading("downloading weights…".into()));
    let progress = |loaded: f64, total: Option<f64>| {
        let text = match total {
            Some(t) => format!(
                "downloading weights: {:.1} of {:.1} MB",
                loaded / 1e6,
                t / 1e6
            ),
            None => format!("downloading weights: {:.1} MB", loaded / 1e6),
        };
        set_phase(Phase::Loading(text));
    };
    let weights = match fetch::fetch_cached(&format!("{base}.safetensors"), &progress).await {
        Ok(w) => w,
        Err(e) => {
            set_phase(Phase::Failed(format!(
                "No pretrained {} weights for {dataset} could be loaded: {e}",
                model.display_name()
            )));
            return;
        }
    };
    // The dataset may still be downloading, or not be asked for yet.
    let files = loop {
        let unloaded = with_app(|app| matches!(app.data, Data::Unloaded { .. })).unwrap_or(false);
        if unloaded {
            load_dataset();
        }
        match with_app(|app| match &app.data {
            Data::Ready(f) if f.name == dataset => Some(Ok(f.clone())),
            Data::Failed { message, .. } => Some(Err(message.clone())),
            _ => None,
        })
        .flatten()
        {
            Some(Ok(files)) => break files,
            Some(Err(message)) => {
                set_phase(Phase::Failed(format!(
                    "the dataset is not available: {message}"
                )));
                return;
            }
            None => gloo::timers::future::TimeoutFuture::new(200).await,
        }
    };
    set_phase(Phase::Loading(
        "stored curves shown; evaluating the weights on the validation windows here…".into(),
    ));
    with_app(|app| {
        if let Some(slot) = app.slot_by_id(id) {
            if let Some(link) = &mut slot.link {
                let request = ToWorker::Pretrained(DatasetAt {
                    dataset: dataset_url(&files.name),
                });
                let sent = link.post_with_bytes(&request, &weights);
                if let Err(e) = sent {
                    slot.training.crashed(e);
                }
            }
        }
    });
}

/// Largest run log read (a 30-epoch log of the study's models is about 300 kB).
const MAX_LOG_BYTES: f64 = 32e6;

/// "Open results": run logs (`lvm train`'s run.json, from a cluster or an export here) shown
/// as runs of this page, as if trained here.
pub async fn open_results(files: web_sys::FileList) {
    let mut logs = Vec::new();
    let mut problems = Vec::new();
    for k in 0..files.length().min(60) {
        let Some(file) = files.item(k) else { continue };
        let name = file.name();
        if file.size() > MAX_LOG_BYTES {
            problems.push(format!(
                "{name}: {:.0} MB is too big for a run log",
                file.size() / 1e6
            ));
            continue;
        }
        let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
        match text.map(|t| t.as_string().unwrap_or_default()) {
            Ok(text) => match serde_json::from_str::<RunLog>(&text) {
                Ok(log) => logs.push(log),
                Err(e) => problems.push(format!("{name} is not a run log ({e})")),
            },
            Err(e) => problems.push(format!("{name} could not be read ({})", describe(&e))),
        }
    }
    let reload = with_app(|app| {
        let dataset = app.state.base.dataset.clone();
        let configs: Vec<_> = logs.iter().map(|l| l.config.clone()).collect();
        match app.state.add_logged(&configs) {
            Ok(placed) => {
                app.cards.resize_with(app.state.runs.len(), Card::default);
                // Seeds in order within each run, as its trainings are.
                let mut order: Vec<usize> = (0..logs.len()).collect();
                order.sort_by_key(|&n| logs[n].config.seed);
                let mut logs: Vec<Option<RunLog>> = logs.into_iter().map(Some).collect();
                for n in order {
                    if let Some(log) = logs[n].take() {
                        app.next_id += 1;
                        app.cards[placed[n]].slots.push(Slot {
                            id: app.next_id,
                            training: Training::from_log(log),
                            link: None,
                            start: Command::Pause,
                            resume: false,
                        });
                    }
                }
                app.write_url();
                view::cards(&app.state, &app.own);
            }
            Err(e) => problems.push(format!("These run logs cannot be shown: {e}")),
        }
        app.notices = problems;
        app.state.base.dataset != dataset
    });
    if reload == Some(true) {
        load_dataset();
    }
    schedule_render();
}

/// A lesson's shipped full-data run logs, shown on their cards as if trained here: a run's
/// seeds in order, so a run repeated over seeds shows its band.
pub async fn show_lesson_logs(lesson: &'static Lesson) {
    for (i, paths) in PageState::lesson_logs(lesson).iter().enumerate() {
        let mut logs = Vec::new();
        for path in paths.iter() {
            let shown = match fetch::fetch_cached(path, &|_, _| {}).await {
                Ok(bytes) => serde_json::from_slice::<RunLog>(&bytes.to_vec())
                    .map_err(|e| format!("{path} is not a run log ({e})")),
                Err(e) => Err(e),
            };
            match shown {
                Ok(log) => logs.push(log),
                Err(e) => {
                    with_app(|app| app.notices.push(format!("The lesson's stored curves: {e}")));
                    break;
                }
            }
        }
        with_app(|app| {
            // A run the user already started here keeps its own curves; a run missing one of
            // its seeds shows none rather than a band over fewer seeds than its label says.
            let card = app.cards.get_mut(i).filter(|c| c.slots.is_empty());
            if let Some(card) = card.filter(|_| logs.len() == paths.len()) {
                for log in logs {
                    app.next_id += 1;
                    card.slots.push(Slot {
                        id: app.next_id,
                        training: Training::from_log(log),
                        link: None,
                        start: Command::Pause,
                        resume: false,
                    });
                }
            }
        });
        schedule_render();
    }
}
