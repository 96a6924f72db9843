//! The playground page: an experiment (a list of runs) whose state lives in the URL, a pool of
//! workers (one training each, at most one a core), live plots, a ranking table and examples.
//! All training happens in the workers; this thread only routes messages and draws, so it
//! stays responsive. What a card knows is `crate::experiment::card`; this module owns the workers.

mod controls;
mod loads;
mod own_data;
mod runs;
mod saved;
mod text;
mod view;

use super::dom::{self, by_id};
use super::fetch::{self, describe};
use super::plot;
use crate::config::{ConfigError, ModelKind, RunConfig};
use crate::data::dataset::Manifest;
use crate::experiment::card::{to_start, Cores, Phase, Training};
use crate::experiment::labels::labels;
use crate::experiment::lessons;
use crate::experiment::page_state::PageState;
use crate::experiment::saved_runs::SavedRuns;
use crate::experiment::scheduler::{
    plan_command, CommandPlan, ExportKind, PageAction, Scheduled, Start,
};
use crate::experiment::y_axis;
use crate::session::messages::{Cause, Command, Event};
use crate::session::protocol::{FromWorker, Init, ToWorker};
use crate::train::memory::{self, WASM32_BYTES, WORKER};
use gloo::events::{EventListener, EventListenerOptions};
use loads::{load_dataset, load_pretrained, open_results, show_lesson_logs};
use runs::{Reply, WorkerKind, WorkerLink};
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

/// URL prefix of a dataset's files (Trunk copies `datasets/` into `dist/`), absolute: a worker
/// resolves a relative URL against its own script's, and the threaded one lives in `threads/`.
fn dataset_url(name: &str) -> String {
    absolute(format!("datasets/{name}/"))
}

/// `relative` resolved against the page's URL.
fn absolute(relative: String) -> String {
    let page = dom::window().location().href().unwrap_or_default();
    web_sys::Url::new_with_base(&relative, &page).map_or(relative, |u| u.href())
}

pub enum Data {
    /// Not downloaded yet: a page that opens on a lesson's stored curves needs no dataset, and
    /// it is the largest download (45 MB of vectors); it starts when a run needs it.
    Unloaded {
        name: String,
    },
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

/// One training of a run (one seed): what it has reported, and its worker once it has one.
pub struct Slot {
    id: u64,
    pub training: Training,
    link: Option<WorkerLink>,
    /// The command it starts with when the pool gives it a worker.
    start: Command,
    /// Its worker continues the state saved in this browser.
    resume: bool,
}

/// A run's card: its seeds' trainings.
#[derive(Default)]
pub struct Card {
    pub slots: Vec<Slot>,
}

pub struct App {
    state: PageState,
    /// One per run, in the experiment's order.
    cards: Vec<Card>,
    next_id: u64,
    /// What the trainings' workers share.
    cores: Cores,
    data: Data,
    pending_start: Option<Start>,
    /// Problems with the link or a control, shown at the top.
    notices: Vec<String>,
    /// The user's datasets stored in this browser, for the dataset control.
    own: Vec<crate::experiment::own_datasets::OwnDataset>,
    /// A text being embedded (for a dataset, or to continue it).
    embedding: Option<text::Pending>,
    /// The runs saved in this browser.
    saved: SavedRuns,
    render_scheduled: bool,
    /// The curves plot's y range as zoomed by a drag (`None`: every value shown).
    zoom: Option<(f64, f64)>,
    /// Where a drag on the curves plot began (a canvas row).
    drag_from: Option<f64>,
}

thread_local! {
    static APP: RefCell<Option<App>> = const { RefCell::new(None) };
}

fn with_app<R>(f: impl FnOnce(&mut App) -> R) -> Option<R> {
    APP.with(|a| a.borrow_mut().as_mut().map(f))
}

/// The cores, and whether workers can share memory with their thread pools (a
/// cross-origin-isolated page, the headers `./serve.sh` sends).
fn cores() -> Cores {
    let window = dom::window();
    Cores {
        count: window.navigator().hardware_concurrency() as usize,
        // web-sys has no binding for it.
        threaded: js_sys::Reflect::get(&window, &"crossOriginIsolated".into())
            .is_ok_and(|v| v.is_truthy()),
    }
}

/// Builds the page from the URL and starts loading its dataset, once the site's boot script
/// (`www/boot.js`) has settled whether the page is cross-origin isolated.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("LVM Playground: {info}").into());
    }));
    wasm_bindgen_futures::spawn_local(async {
        let not_isolated = boot().await;
        build(not_isolated.as_deref());
    });
}

/// What `window.lvmBoot` resolves to: why the page is not isolated, if it is not and the boot
/// script knows. It never resolves when the script reloads the page for isolation, so nothing
/// starts that the reload would end. No boot script (the page embedded elsewhere): `None`.
async fn boot() -> Option<String> {
    let boot = js_sys::Reflect::get(&dom::window(), &"lvmBoot".into()).ok()?;
    let promise = boot.dyn_into::<js_sys::Promise>().ok()?;
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .ok()?
        .as_string()
}

fn build(not_isolated: Option<&str>) {
    let search = dom::window().location().search().unwrap_or_default();
    let (mut state, errors) = PageState::from_query(&search);
    if search.trim_start_matches('?').is_empty() {
        // A newcomer's first view: the study's models as trained on the full data, against
        // the baselines, at once; Train retrains them here on a sample.
        state.lesson = Some("baselines");
    }
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
    let cores = cores();
    view::threads_note(cores, not_isolated);
    let data = Data::Unloaded {
        name: state.base.dataset.clone(),
    };
    let app = App {
        cards: state.runs.iter().map(|_| Card::default()).collect(),
        state,
        next_id: 0,
        cores,
        data,
        pending_start: None,
        notices,
        own: Vec::new(),
        embedding: None,
        saved: SavedRuns::default(),
        render_scheduled: false,
        zoom: None,
        drag_from: None,
    };
    let autostart = app.state.autostart;
    let lesson = app.state.lesson;
    APP.with(|a| *a.borrow_mut() = Some(app));
    with_app(|app| app.write_url());
    listen();
    enable_shared_buttons();
    // A lesson shows stored curves: its dataset waits until a run needs it (Train, Load
    // pretrained). A link to runs is a link to train them: their dataset comes at once.
    if lesson.is_none() {
        load_dataset();
    }
    wasm_bindgen_futures::spawn_local(own_data::refresh());
    wasm_bindgen_futures::spawn_local(saved::refresh());
    if let Some(lesson) = lesson.and_then(lessons::find) {
        wasm_bindgen_futures::spawn_local(show_lesson_logs(lesson));
    }
    if autostart {
        with_app(|app| app.train(Start::Train));
    }
    schedule_render();
}

/// index.html ships the shared buttons disabled: a click before the page listens would be lost
/// without a word (and a test's click right after the page opens would be, too).
fn enable_shared_buttons() {
    for action in [
        "train",
        "pause",
        "resume",
        "step",
        "stop",
        "copy-link",
        "add-run",
        "forget-saved",
        "embed-text",
        "continue-text",
    ] {
        let selector = format!("button[data-action=\"{action}\"]:not([data-run])");
        let Ok(buttons) = dom::document().query_selector_all(&selector) else {
            continue;
        };
        for k in 0..buttons.length() {
            if let Some(b) = buttons
                .item(k)
                .and_then(|b| b.dyn_into::<web_sys::HtmlButtonElement>().ok())
            {
                b.set_disabled(false);
            }
        }
    }
}

fn listen() {
    let doc = dom::document();
    // Files dropped anywhere on the page: a dataset when they hold a .npy, else run logs (as
    // "Open results" and "Use your own data" take them). Not passive: the browser would open a
    // dropped file itself.
    let active = EventListenerOptions::enable_prevent_default;
    EventListener::new_with_options(&doc, "dragover", active(), |e| e.prevent_default()).forget();
    EventListener::new_with_options(&doc, "drop", active(), |e| {
        e.prevent_default();
        let files = e
            .dyn_ref::<web_sys::DragEvent>()
            .and_then(|d| d.data_transfer())
            .and_then(|t| t.files());
        let on_text_box = e
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .is_some_and(|t| t.id() == "own-text");
        if let Some(files) = files {
            let names = (0..files.length())
                .filter_map(|k| files.item(k))
                .map(|f| f.name());
            if on_text_box {
                wasm_bindgen_futures::spawn_local(text::read_into_box(files));
            } else if names.into_iter().any(|n| n.ends_with(".npy")) {
                wasm_bindgen_futures::spawn_local(own_data::import_files(files));
            } else {
                wasm_bindgen_futures::spawn_local(open_results(files));
            }
        }
    })
    .forget();
    // Values under the pointer on the curves plot; a vertical drag zooms its y range (mouse,
    // pen or finger: pointer events), a double-click shows every value again.
    let curves = by_id("curves");
    let row = |e: &web_sys::Event| {
        let canvas = e.target()?.dyn_into::<web_sys::HtmlCanvasElement>().ok()?;
        let m = e.dyn_ref::<web_sys::MouseEvent>()?;
        Some((plot::canvas_row(&canvas, m.offset_y() as f64), canvas))
    };
    EventListener::new(&curves, "pointerdown", move |e| {
        if let Some((r, _)) = row(e) {
            with_app(|app| app.drag_from = Some(r));
        }
    })
    .forget();
    EventListener::new(&curves, "pointerup", move |e| {
        let Some((to, canvas)) = row(e) else { return };
        let drawn = canvas.get_attribute("data-y-range").and_then(|r| {
            let (lo, hi) = r.split_once(',')?;
            Some((lo.parse::<f64>().ok()?, hi.parse::<f64>().ok()?))
        });
        let (top, bottom) = plot::plot_rows(&canvas);
        let zoomed = with_app(|app| {
            let from = app.drag_from.take()?;
            let z = y_axis::zoom(drawn?, top, bottom, from, to)?;
            app.zoom = Some(z);
            Some(())
        });
        if zoomed.flatten().is_some() {
            schedule_render();
        }
    })
    .forget();
    // A drag released off the plot is no zoom.
    EventListener::new(&curves, "pointerleave", |_| {
        with_app(|app| app.drag_from = None);
    })
    .forget();
    EventListener::new(&curves, "dblclick", |_| {
        with_app(|app| app.zoom = None);
        schedule_render();
    })
    .forget();
    EventListener::new(&curves, "mousemove", |e| {
        if let Some(m) = e.dyn_ref::<web_sys::MouseEvent>() {
            let x = m.offset_x() as f64;
            with_app(|app| view::hover(app, x));
        }
    })
    .forget();
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
            if action == "forget-own" {
                let name = button.get_attribute("data-dataset").unwrap_or_default();
                wasm_bindgen_futures::spawn_local(own_data::forget(name));
                return;
            }
            if let Some(action) = PageAction::parse(&action, run_of(&button)) {
                on_action(action);
            }
        }
    })
    .forget();
}

/// The run (0-based) an element belongs to, from its 1-based `data-run`.
fn run_of(element: &Element) -> Option<usize> {
    element
        .get_attribute("data-run")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| n.checked_sub(1))
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
    if target.id() == "own-files" {
        if let Some(files) = target.dyn_ref::<HtmlInputElement>().and_then(|i| i.files()) {
            wasm_bindgen_futures::spawn_local(own_data::import_files(files));
        }
        return;
    }
    if target.id() == "open-results" {
        if let Some(files) = target.dyn_ref::<HtmlInputElement>().and_then(|i| i.files()) {
            wasm_bindgen_futures::spawn_local(open_results(files));
        }
        return;
    }
    let value = value_of(target);
    let Some(key) = target.get_attribute("data-key") else {
        return;
    };
    let run = run_of(target);
    let outcome = with_app(|app| {
        let result = match run {
            Some(i) => app.state.set_run_key(i, &key, &value),
            None => app.state.set_shared(&key, &value),
        };
        let classes = target.class_list();
        match result {
            Ok(()) => {
                let _ = classes.remove_1("invalid");
                app.notices.clear();
                app.write_url();
                // A shared key or a model changes what other inputs show.
                if run.is_none() || key == "model" {
                    view::cards(&app.state, &app.own);
                }
                Some(key == "dataset")
            }
            Err(e) => {
                let _ = classes.add_1("invalid");
                app.notices = vec![format!("{e}; the previous value is kept.")];
                None
            }
        }
    });
    if outcome == Some(Some(true)) {
        load_dataset();
    }
    schedule_render();
}

fn on_action(action: PageAction) {
    match action {
        PageAction::Train => {
            with_app(|app| app.train(Start::Train));
        }
        PageAction::CopyLink => copy_link(),
        PageAction::ForgetSaved => wasm_bindgen_futures::spawn_local(saved::forget()),
        PageAction::ResumeSaved(i) => {
            with_app(|app| app.train(Start::Resume(i)));
        }
        PageAction::EmbedText => text::embed_text(),
        PageAction::ContinueText => text::continue_text(),
        PageAction::AddRun => {
            let model = dom::document()
                .get_element_by_id("add-model")
                .map(|e| value_of(&e))
                .and_then(|m| m.parse::<ModelKind>().ok())
                .unwrap_or(ModelKind::Mlp);
            with_app(|app| app.edit(|s| s.add_run(model).map(Edit::Insert)));
        }
        PageAction::Duplicate(i) => {
            with_app(|app| app.edit(|s| s.duplicate(i).map(Edit::Insert)));
        }
        PageAction::Remove(i) => {
            with_app(|app| app.edit(|s| s.remove(i).map(|()| Edit::Remove(i))));
        }
        PageAction::Pretrained(i) => wasm_bindgen_futures::spawn_local(load_pretrained(i)),
        PageAction::Export(i, kind) => {
            with_app(|app| app.export(i, kind));
        }
        PageAction::Command(command, run) => {
            with_app(|app| app.command(command, run));
        }
    }
    schedule_render();
}

/// What a change to the list of runs did, so the cards follow.
enum Edit {
    Insert(usize),
    Remove(usize),
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

    /// Adds, duplicates or removes a run; a removed run's trainings end with it.
    fn edit(&mut self, f: impl FnOnce(&mut PageState) -> Result<Edit, ConfigError>) {
        match f(&mut self.state) {
            Ok(Edit::Insert(i)) => self.cards.insert(i, Card::default()),
            Ok(Edit::Remove(i)) => {
                self.cards.remove(i);
                self.pump();
            }
            Err(e) => {
                self.notices = vec![e.to_string()];
                return;
            }
        }
        self.notices.clear();
        self.write_url();
        view::cards(&self.state, &self.own);
    }

    pub fn labels(&self) -> Vec<String> {
        labels(&self.state.runs)
    }

    fn slot_by_id(&mut self, id: u64) -> Option<&mut Slot> {
        self.cards
            .iter_mut()
            .flat_map(|c| c.slots.iter_mut())
            .find(|s| s.id == id)
    }

    /// New trainings of every run and seed, replacing any earlier ones (or, to resume, of one
    /// run, from the states saved in this browser where there are any); as many start as the
    /// pool has workers, the rest queue.
    fn train(&mut self, how: Start) {
        let (dim, rows) = match &self.data {
            Data::Ready(files) if files.name == self.state.base.dataset => {
                (files.manifest.dim, files.manifest.count)
            }
            data => {
                if matches!(data, Data::Unloaded { .. }) {
                    // After this borrow of the app ends.
                    wasm_bindgen_futures::spawn_local(async { load_dataset() });
                }
                self.pending_start = Some(how);
                return;
            }
        };
        self.pending_start = None;
        let start = how.command();
        let mut slot = |config: RunConfig, resume: bool| {
            self.next_id += 1;
            // A run that cannot fit a worker is refused here, before any starts.
            let fits = memory::check(&config, dim, rows, WASM32_BYTES, WORKER);
            let mut training = Training::queued(config);
            if let Err(e) = fits {
                training.crashed(format!("Not started: {e}."));
            }
            Slot {
                id: self.next_id,
                training,
                link: None,
                start,
                resume,
            }
        };
        match how {
            Start::Resume(i) => {
                let (Some(run), true) = (self.state.runs.get(i), i < self.cards.len()) else {
                    return;
                };
                self.cards[i] = Card {
                    slots: run
                        .seeds()
                        .into_iter()
                        .map(|config| {
                            let resume = self.saved.of(&config).is_some();
                            slot(config, resume)
                        })
                        .collect(),
                };
            }
            Start::Train | Start::Step => {
                self.cards = self
                    .state
                    .runs
                    .iter()
                    .map(|run| Card {
                        slots: run.seeds().into_iter().map(|c| slot(c, false)).collect(),
                    })
                    .collect();
            }
        }
        self.pump();
    }

    /// Gives queued trainings a worker while the pool has room.
    fn pump(&mut self) {
        let Data::Ready(files) = &self.data else {
            return;
        };
        let dataset = dataset_url(&files.name);
        let mut slots: Vec<&mut Slot> = self.cards.iter_mut().flat_map(|c| &mut c.slots).collect();
        let chosen = to_start(
            &slots.iter().map(|s| &s.training).collect::<Vec<_>>(),
            self.cores,
        );
        for (i, threads) in chosen {
            let slot = &mut slots[i];
            let id = slot.id;
            slot.training.threads = threads;
            let name = format!("lvm-{}-{}", slot.training.config.model, id);
            let kind = match self.cores.threaded {
                true => WorkerKind::Threaded(threads),
                false => WorkerKind::Single,
            };
            match WorkerLink::spawn(&name, kind, move |reply| on_reply(id, reply)) {
                Ok(mut link) => {
                    slot.training.phase = Phase::Loading("starting a worker…".into());
                    let init = ToWorker::Init(Init {
                        config: slot.training.config.clone(),
                        dataset: dataset.clone(),
                        resume: slot.resume,
                    });
                    let sent = link
                        .post(&init)
                        .and_then(|()| link.post(&slot.start.into()));
                    if let Err(e) = sent {
                        slot.training.crashed(e);
                    }
                    slot.link = Some(link);
                }
                Err(e) => slot.training.crashed(e),
            }
        }
    }

    /// Pause, resume, step or stop, as `scheduler::plan_command` decides.
    fn command(&mut self, command: Command, run: Option<usize>) {
        let mut links = Vec::new();
        let mut scheduled = Vec::new();
        for (i, card) in self.cards.iter_mut().enumerate() {
            for slot in &mut card.slots {
                links.push(&mut slot.link);
                scheduled.push(Scheduled {
                    run: i,
                    training: &mut slot.training,
                    start: &mut slot.start,
                });
            }
        }
        match plan_command(&mut scheduled, command, run) {
            CommandPlan::StartStepping => {
                self.train(Start::Step);
                return;
            }
            CommandPlan::Post(indices) => {
                for i in indices {
                    if let Some(link) = links[i].as_mut() {
                        if let Err(e) = link.post(&command.into()) {
                            scheduled[i].training.crashed(e);
                        }
                    }
                }
            }
        }
        self.pump();
    }

    fn export(&mut self, run: usize, kind: ExportKind) {
        let slot = self.cards.get_mut(run).and_then(|c| {
            c.slots
                .iter_mut()
                .find(|s| s.training.started.is_some() && s.link.is_some())
        });
        let Some(slot) = slot else {
            self.notices = vec![format!(
                "Only a run trained here can be exported; run {} has none yet.",
                run + 1
            )];
            return;
        };
        let Some(link) = &mut slot.link else { return };
        link.export = Some(kind);
        if let Err(e) = link.post(&ToWorker::Export) {
            self.notices = vec![e];
        }
    }
}

fn on_reply(id: u64, reply: Reply) {
    let export = with_app(|app| {
        let dataset = app.state.base.dataset.clone();
        let slot = app.slot_by_id(id)?;
        let model = slot.training.config.model;
        let config = slot.training.config.clone();
        let link = slot.link.as_mut()?;
        let mut corrupt = false;
        let mut export = None;
        let mut saved_now = None;
        match link.take(reply) {
            None => {}
            Some(Reply::Crashed(message)) => slot.training.crashed(message),
            Some(Reply::Message(FromWorker::Export(log), Some(weights))) => {
                export = link
                    .export
                    .take()
                    .map(|kind| (kind, weights, log.json, log.csv));
            }
            Some(Reply::Message(FromWorker::Event { event }, _)) => {
                corrupt = matches!(
                    &event,
                    Event::Failed {
                        cause: Cause::CorruptData,
                        ..
                    }
                );
                if let Event::Saved {
                    epoch,
                    result: Ok(bytes),
                } = &event
                {
                    saved_now = Some((*epoch, *bytes));
                }
                slot.training.apply(event);
            }
            Some(Reply::Message(other, _)) => slot.training.crashed(runs::unexpected(&other)),
        }
        if slot.training.is_over() {
            // A worker came free.
            app.pump();
        }
        if let Some((epoch, bytes)) = saved_now {
            app.saved.record(&config, epoch, bytes);
        }
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
        export.map(|e| (model, dataset, e))
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
