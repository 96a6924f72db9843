//! The playground page: controls whose state lives in the URL, one worker per run, live
//! plots, a ranking table and examples. All training happens in the workers; this thread only
//! routes messages and draws, so it stays responsive.

mod controls;
mod runs;
mod view;

use super::dom::{self, by_id};
use super::fetch::{self, describe};
use crate::dataset::{parse_texts, Manifest};
use crate::playground::PageState;
use crate::run::ModelKind;
use gloo::events::EventListener;
use runs::{ExportKind, Phase, Reply, RunView};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement, HtmlSelectElement};

/// A downloaded dataset: its files are in the Cache API, where workers read them; the page
/// keeps what it shows (the manifest and the texts for examples).
pub struct Files {
    pub name: String,
    pub manifest: Manifest,
    pub texts: Vec<String>,
}

/// URL prefix of a dataset's files (Trunk copies `datasets/` into `dist/`).
fn dataset_url(name: &str) -> String {
    format!("datasets/{name}/")
}

pub enum Data {
    Loading {
        name: String,
        status: String,
        fraction: f64,
    },
    Ready(Rc<Files>),
    Failed {
        name: String,
        message: String,
    },
}

/// What to do once the dataset is there.
#[derive(Clone, Copy, PartialEq)]
enum Start {
    Train,
    Step,
}

pub struct App {
    state: PageState,
    runs: Vec<(u64, RunView)>,
    next_id: u64,
    data: Data,
    pending_start: Option<Start>,
    /// Problems with the link or a control, shown at the top.
    notices: Vec<String>,
    render_scheduled: bool,
}

thread_local! {
    static APP: RefCell<Option<App>> = const { RefCell::new(None) };
}

fn with_app<R>(f: impl FnOnce(&mut App) -> R) -> Option<R> {
    APP.with(|a| a.borrow_mut().as_mut().map(f))
}

/// Builds the page from the URL and starts loading its dataset.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("LVM Playground: {info}").into());
    }));
    let search = dom::window().location().search().unwrap_or_default();
    let (state, errors) = PageState::from_query(&search);
    let notices = if errors.is_empty() {
        Vec::new()
    } else {
        let mut n = vec![
            "This link has problems; these parameters use their defaults instead:".to_string(),
        ];
        n.extend(errors.iter().map(|e| e.to_string()));
        n
    };
    view::skeleton(&state);
    let app = App {
        state,
        runs: Vec::new(),
        next_id: 0,
        data: Data::Failed {
            name: String::new(),
            message: "not loaded".into(),
        },
        pending_start: None,
        notices,
        render_scheduled: false,
    };
    let autostart = app.state.autostart;
    APP.with(|a| *a.borrow_mut() = Some(app));
    with_app(|app| app.write_url());
    listen();
    enable_shared_buttons();
    load_dataset();
    if autostart {
        with_app(|app| app.train(Start::Train));
    }
    schedule_render();
}

/// index.html ships the shared buttons disabled: a click before the page listens would be lost
/// without a word (and a test's click right after the page opens would be, too).
fn enable_shared_buttons() {
    for action in ["train", "pause", "resume", "step", "stop", "copy-link"] {
        let selector = format!("#controls button[data-action=\"{action}\"]");
        if let Ok(Some(b)) = dom::document().query_selector(&selector) {
            if let Ok(b) = b.dyn_into::<web_sys::HtmlButtonElement>() {
                b.set_disabled(false);
            }
        }
    }
}

fn listen() {
    let doc = dom::document();
    EventListener::new(&doc, "change", |e| {
        if let Some(target) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) {
            on_change(&target);
        }
    })
    .forget();
    EventListener::new(&doc, "click", |e| {
        let target = e.target().and_then(|t| t.dyn_into::<Element>().ok());
        if let Some(button) = target.and_then(|t| t.closest("[data-action]").ok().flatten()) {
            let action = button.get_attribute("data-action").unwrap_or_default();
            let model = button
                .get_attribute("data-model")
                .and_then(|m| m.parse::<ModelKind>().ok());
            on_action(&action, model);
        }
    })
    .forget();
}

fn value_of(target: &Element) -> String {
    if let Some(input) = target.dyn_ref::<HtmlInputElement>() {
        if input.type_() == "checkbox" {
            return input.checked().to_string();
        }
        return input.value();
    }
    if let Some(select) = target.dyn_ref::<HtmlSelectElement>() {
        return select.value();
    }
    String::new()
}

fn on_change(target: &Element) {
    let value = value_of(target);
    if let Some(model) = target
        .get_attribute("data-select")
        .and_then(|m| m.parse::<ModelKind>().ok())
    {
        with_app(|app| {
            app.state.select(model, value == "true");
            app.write_url();
        });
        return;
    }
    let Some(key) = target.get_attribute("data-key") else {
        return;
    };
    let model = target
        .get_attribute("data-model")
        .and_then(|m| m.parse::<ModelKind>().ok());
    let reload = with_app(|app| {
        let result = match model {
            Some(m) => app.state.set_knob(m, &key, &value),
            None => app.state.set_shared(&key, &value),
        };
        let classes = target.class_list();
        match result {
            Ok(()) => {
                let _ = classes.remove_1("invalid");
                app.notices.clear();
                app.write_url();
                key == "dataset"
            }
            Err(e) => {
                let _ = classes.add_1("invalid");
                app.notices = vec![format!("{e}; the previous value is kept.")];
                false
            }
        }
    });
    if reload == Some(true) {
        load_dataset();
    }
    schedule_render();
}

fn on_action(action: &str, model: Option<ModelKind>) {
    match action {
        "train" => {
            with_app(|app| app.train(Start::Train));
        }
        "copy-link" => copy_link(),
        "pretrained" => {
            if let Some(m) = model {
                wasm_bindgen_futures::spawn_local(load_pretrained(m));
            }
        }
        "export-json" | "export-csv" | "export-weights" => {
            let kind = match action {
                "export-json" => ExportKind::Json,
                "export-csv" => ExportKind::Csv,
                _ => ExportKind::Weights,
            };
            if let Some(m) = model {
                with_app(|app| app.export(m, kind));
            }
        }
        "pause" | "resume" | "step" | "stop" => {
            with_app(|app| app.command(action, model));
        }
        _ => {}
    }
    schedule_render();
}

impl App {
    fn write_url(&self) {
        let url = format!("?{}", self.state.to_query());
        if let Ok(history) = dom::window().history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
        }
        if let Ok(input) = by_id("share-link").dyn_into::<HtmlInputElement>() {
            input.set_value(&dom::window().location().href().unwrap_or_default());
        }
    }

    fn spawn(&mut self, model: ModelKind) -> Result<u64, String> {
        let id = self.next_id;
        self.next_id += 1;
        let config = self.state.config(model).clone();
        let view = RunView::spawn(model, config, move |reply| on_reply(id, reply))?;
        self.runs.retain(|(_, r)| r.model != model);
        self.runs.push((id, view));
        self.runs
            .sort_by_key(|(_, r)| ModelKind::ALL.iter().position(|&m| m == r.model));
        Ok(id)
    }

    /// New runs of the selected models, replacing any earlier ones.
    fn train(&mut self, how: Start) {
        let files = match &self.data {
            Data::Ready(files) if files.name == self.state.configs[0].dataset => files.clone(),
            _ => {
                self.pending_start = Some(how);
                return;
            }
        };
        self.pending_start = None;
        if self.state.selected.is_empty() {
            self.notices = vec!["Tick at least one model to train.".into()];
            return;
        }
        self.runs.clear();
        for model in self.state.selected.clone() {
            match self.spawn(model) {
                Ok(id) => {
                    let query = self.state.config(model).to_query();
                    if let Some(run) = self.run_by_id(id) {
                        run.send_with_bytes(
                            "init",
                            &[("config", &query), ("dataset", &dataset_url(&files.name))],
                            &[],
                        );
                        run.command(if how == Start::Train { "run" } else { "step" });
                    }
                }
                Err(e) => self.notices = vec![e],
            }
        }
    }

    fn run_by_id(&mut self, id: u64) -> Option<&mut RunView> {
        self.runs.iter_mut().find(|(i, _)| *i == id).map(|(_, r)| r)
    }

    fn command(&mut self, action: &str, model: Option<ModelKind>) {
        let trainable = |r: &RunView| matches!(r.phase, Phase::Run(_)) && !r.is_over();
        if action == "step" && !self.runs.iter().any(|(_, r)| trainable(r)) {
            self.train(Start::Step);
            return;
        }
        let kind = if action == "resume" { "run" } else { action };
        for (_, run) in &mut self.runs {
            if model.is_none_or(|m| m == run.model) && trainable(run) {
                run.command(kind);
            }
        }
    }

    fn export(&mut self, model: ModelKind, kind: ExportKind) {
        let Some((_, run)) = self.runs.iter_mut().find(|(_, r)| r.model == model) else {
            self.notices = vec![format!(
                "Train the {} before exporting it.",
                model.display_name()
            )];
            return;
        };
        if run.started.is_none() {
            self.notices = vec![format!(
                "Only a run trained here can be exported; the {} has none yet.",
                model.display_name()
            )];
            return;
        }
        run.export = Some(kind);
        run.send(
            js_sys::JSON::parse(r#"{"type":"export"}"#).unwrap_or(JsValue::NULL),
            js_sys::Array::new(),
        );
    }
}

fn on_reply(id: u64, reply: Reply) {
    let export = with_app(|app| {
        let dataset = app.state.configs[0].dataset.clone();
        let run = app.run_by_id(id)?;
        let model = run.model;
        let corrupt = matches!(&reply, Reply::Event(e) if matches!(&**e,
            crate::session::Event::Failed { message } if message.starts_with("the dataset download is corrupt")));
        let out = run.apply(reply);
        if corrupt {
            app.data = Data::Failed {
                name: dataset.clone(),
                message: "The downloaded dataset is corrupt; it was removed from the cache. \
                          Reload the page to download it again."
                    .into(),
            };
            let name = dataset.clone();
            wasm_bindgen_futures::spawn_local(async move {
                for file in ["manifest.json", "vectors.npy", "texts.jsonl"] {
                    fetch::evict(&format!("{}{file}", dataset_url(&name))).await;
                }
            });
        }
        out.map(|o| (model, dataset, o))
    })
    .flatten();
    if let Some((model, dataset, (kind, weights, json, csv))) = export {
        let base = format!("lvm-{model}-{dataset}");
        let _ = match kind {
            ExportKind::Json => {
                dom::download(&format!("{base}.json"), "application/json", json.as_bytes())
            }
            ExportKind::Csv => dom::download(&format!("{base}.csv"), "text/csv", csv.as_bytes()),
            ExportKind::Weights => dom::download(
                &format!("{base}.safetensors"),
                "application/octet-stream",
                &weights,
            ),
        };
    }
    schedule_render();
}

/// Downloads the current dataset (from the cache when it is there), then starts any run that
/// was waiting for it.
fn load_dataset() {
    let Some(name) = with_app(|app| {
        let name = app.state.configs[0].dataset.clone();
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
        let still_wanted = with_app(|app| app.state.configs[0].dataset == name).unwrap_or(false);
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
        });
        schedule_render();
    });
}

async fn download_dataset(name: &str) -> Result<Files, String> {
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

/// "Load pretrained": downloads the model's shipped weights for the current dataset and
/// evaluates them in a worker on their own run's validation windows.
async fn load_pretrained(model: ModelKind) {
    let Some((id, dataset)) = with_app(|app| {
        let dataset = app.state.configs[0].dataset.clone();
        app.spawn(model)
            .map(|id| (id, dataset))
            .map_err(|e| app.notices = vec![e])
            .ok()
    })
    .flatten() else {
        return;
    };
    let url = format!("datasets/{dataset}/pretrained/{model}.safetensors");
    let set_phase = |phase: Phase| {
        with_app(|app| {
            if let Some(run) = app.run_by_id(id) {
                run.phase = phase;
            }
        });
        schedule_render();
    };
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
    let weights = match fetch::fetch_cached(&url, &progress).await {
        Ok(w) => w,
        Err(e) => {
            set_phase(Phase::Failed(format!(
                "No pretrained {} weights for {dataset} could be loaded: {e}",
                model.display_name()
            )));
            return;
        }
    };
    // The dataset may still be downloading.
    let files = loop {
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
        "evaluating on the validation windows…".into(),
    ));
    with_app(|app| {
        if let Some(run) = app.run_by_id(id) {
            run.send_with_bytes(
                "pretrained",
                &[("dataset", &dataset_url(&files.name))],
                &[("checkpoint", &weights)],
            );
        }
    });
}

fn copy_link() {
    let href = dom::window().location().href().unwrap_or_default();
    if let Ok(input) = by_id("share-link").dyn_into::<HtmlInputElement>() {
        input.set_value(&href);
        input.select();
    }
    let clipboard = dom::window().navigator().clipboard();
    let promise = clipboard.write_text(&href);
    wasm_bindgen_futures::spawn_local(async move {
        let text = match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => "Link copied.".to_string(),
            Err(e) => format!("Copy the link above ({}).", describe(&e)),
        };
        dom::set_text("share-status", &text);
    });
}

/// Redraws once per animation frame however many messages arrive.
fn schedule_render() {
    let already =
        with_app(|app| std::mem::replace(&mut app.render_scheduled, true)).unwrap_or(true);
    if already {
        return;
    }
    let callback = Closure::once_into_js(|| {
        with_app(|app| {
            app.render_scheduled = false;
            view::render(app);
        });
    });
    let _ = dom::window().request_animation_frame(callback.unchecked_ref());
}
