//! Drawing the page from the app's state: the controls and one card per run when the
//! experiment changes, then cards, plots, the ranking table and the examples on every
//! animation frame that has news.

use super::super::dom::{self, by_id, escape, set_hidden, set_text};
use super::super::plot::{self, Band, Level, Series};
use super::controls;
use super::{App, Card, Data};
use crate::config::ModelKind;
use crate::data::dataset::Neighbour;
use crate::experiment::card::{curves, entry, Cores, Phase, Training};
use crate::experiment::own_datasets::OwnDataset;
use crate::experiment::page_state::PageState;
use crate::experiment::ranking::rank;
use crate::experiment::{card_text, data_status};
use std::collections::BTreeMap;
use wasm_bindgen::JsCast;
use web_sys::{HtmlButtonElement, HtmlCanvasElement, HtmlProgressElement};

/// A distinct colour per run, by its place in the experiment.
const PALETTE: [&str; 12] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#393b79", "#637939",
];

pub fn color(run: usize) -> &'static str {
    PALETTE[run % PALETTE.len()]
}

/// One line on how runs use the cores here (`Cores::note`).
pub fn threads_note(cores: Cores, not_isolated: Option<&str>) {
    set_text("threads-note", &cores.note(not_isolated));
}

/// The controls and the cards, built from the URL's state.
pub fn skeleton(state: &PageState) {
    let options: String = ModelKind::ALL
        .iter()
        .map(|m| format!("<option value=\"{m}\">{}</option>", m.display_name()))
        .collect();
    by_id("add-model").set_inner_html(&options);
    let menu: String = crate::experiment::lessons::LESSONS
        .iter()
        .map(|l| {
            format!(
                "<li><a href=\"?{}\">{}</a></li>",
                escape(&l.link()),
                escape(l.title)
            )
        })
        .collect();
    by_id("lessons-menu").set_inner_html(&menu);
    if let Some(lesson) = state.lesson.and_then(crate::experiment::lessons::find) {
        let story: String = lesson
            .story
            .iter()
            .map(|s| format!("<p>{}</p>", escape(s)))
            .collect();
        by_id("lesson").set_inner_html(&format!(
            "<h2>Lesson: {}</h2>{story}<p class=\"note\">The curves are runs on the full \
             data (every window, not a sample; up to 30 epochs) shipped with the page; Train retrains every run here, \
             on a sample of {} windows.</p><p><button data-action=\"train\" class=\"primary\">\
             Retrain live on a sample</button></p>",
            escape(lesson.title),
            state.base.sample
        ));
        set_hidden("lesson", false);
    }
    cards(state, &[]);
    if state.hide_controls {
        let _ = dom::document()
            .body()
            .map(|b| b.class_list().add_1("hide-controls"));
    }
}

/// One card per run, rebuilt when runs are added, removed or change model; with them the
/// shared controls and the list of the user's stored datasets.
pub fn cards(state: &PageState, own: &[OwnDataset]) {
    by_id("shared").set_inner_html(&controls::shared_html(state, own));
    let stored: String = own
        .iter()
        .map(|o| {
            format!(
                "<li>{} <button data-action=\"forget-own\" data-dataset=\"{}\">Forget</button></li>",
                escape(&o.label),
                escape(&o.name)
            )
        })
        .collect();
    by_id("own-list").set_inner_html(&stored);
    let html: String = (0..state.runs.len())
        .map(|i| {
            let n = i + 1;
            format!(
                r#"<article class="card" id="card-{n}" style="--color:{color}">
  <header><h3 id="label-{n}"></h3><span class="params" id="params-{n}"></span></header>
  <div class="knobs control">{knobs}</div>
  <div class="buttons control">
    <button data-action="duplicate" data-run="{n}">Duplicate</button>
    <button data-action="remove" data-run="{n}">Remove</button>
  </div>
  <div class="status" id="status-{n}">not started</div>
  <progress id="progress-{n}" max="1" value="0"></progress>
  <div class="numbers" id="numbers-{n}"></div>
  <canvas id="hist-{n}" width="300" height="80" title="per-window validation cosine: bars = model, line = copy-last"></canvas>
  <div class="error" id="error-{n}" role="alert" hidden></div>
  <div class="saved" id="saved-{n}" role="status"></div>
  <div class="buttons">
    <button data-action="pause" data-run="{n}" class="control">Pause</button>
    <button data-action="resume" data-run="{n}" class="control">Resume</button>
    <button data-action="step" data-run="{n}" class="control">Step</button>
    <button data-action="stop" data-run="{n}" class="control">Stop</button>
    <button data-action="pretrained" data-run="{n}">Load pretrained</button>
    <button data-action="resume-saved" data-run="{n}" hidden></button>
  </div>
  <div class="buttons">Export:
    <button data-action="export-json" data-run="{n}">log JSON</button>
    <button data-action="export-csv" data-run="{n}">log CSV</button>
    <button data-action="export-weights" data-run="{n}">weights</button>
  </div>
</article>"#,
                color = color(i),
                knobs = controls::knobs_html(state, i),
            )
        })
        .collect();
    by_id("cards").set_inner_html(&html);
}

pub fn render(app: &App) {
    render_notices(app);
    render_data(app);
    let labels = app.labels();
    for (i, card) in app.cards.iter().enumerate() {
        render_card(i, &labels[i], card);
        render_saved(app, i, card);
    }
    set_text("saved-status", &app.saved.describe());
    render_curves(app, &labels);
    render_table(app, &labels);
    render_examples(app, &labels);
    render_continuations(app, &labels);
}

fn render_notices(app: &App) {
    let html: String = app
        .notices
        .iter()
        .map(|n| format!("<li>{}</li>", escape(n)))
        .collect();
    by_id("notices").set_inner_html(&html);
    set_hidden("notices", app.notices.is_empty());
}

pub fn render_data(app: &App) {
    let progress: Option<HtmlProgressElement> = by_id("data-progress").dyn_into().ok();
    let (text, fraction, failed) = match &app.data {
        Data::Unloaded { name } => (data_status::unloaded(name), 0.0, false),
        Data::Loading {
            name,
            status,
            fraction,
        } => (data_status::loading(name, status), *fraction, false),
        Data::Ready(f) => {
            let run = app.state.template(ModelKind::Mlp);
            (data_status::ready(&f.name, &f.manifest, &run), 1.0, false)
        }
        Data::Failed { name, message } => {
            if crate::config::is_own(name) {
                let _ = by_id("own-data").set_attribute("open", "");
            }
            (data_status::failed(name, message), 0.0, true)
        }
    };
    set_text("data-status", &text);
    let _ = by_id("data-status")
        .class_list()
        .toggle_with_force("error", failed);
    if let Some(p) = progress {
        p.set_value(fraction);
    }
}

fn trainings(card: &Card) -> Vec<&Training> {
    card.slots.iter().map(|s| &s.training).collect()
}

fn render_card(i: usize, label: &str, card: &Card) {
    let n = i + 1;
    set_text(&format!("label-{n}"), label);
    let ts = trainings(card);
    let (status, fraction) = card_text::card_status(&ts);
    set_text(&format!("status-{n}"), &status);
    if let Ok(p) = by_id(&format!("progress-{n}")).dyn_into::<HtmlProgressElement>() {
        p.set_value(fraction);
    }
    let numbers = ts
        .first()
        .map_or(String::new(), |t| card_text::numbers(n, t));
    by_id(&format!("numbers-{n}")).set_inner_html(&numbers);
    let error = ts.iter().find_map(|t| match &t.phase {
        Phase::Failed(m) => Some(m.clone()),
        _ => None,
    });
    set_text(&format!("error-{n}"), error.as_deref().unwrap_or(""));
    set_hidden(&format!("error-{n}"), error.is_none());
    set_text(&format!("params-{n}"), &card_text::params(&ts));
    let active = ts
        .iter()
        .any(|t| matches!(t.phase, Phase::Run(_) | Phase::Queued) && !t.is_over());
    for action in ["pause", "resume", "stop"] {
        disable(n, action, !active);
    }
    if let Ok(canvas) = by_id(&format!("hist-{n}")).dyn_into::<HtmlCanvasElement>() {
        let first = ts.first();
        let hist = first.and_then(|t| {
            t.pretrained
                .as_ref()
                .map(|p| &p.val.histogram)
                .or(t.epochs.last().map(|e| &e.val.histogram))
        });
        match hist {
            Some(h) => plot::histogram(
                &canvas,
                h,
                first
                    .and_then(|t| t.baselines())
                    .map(|b| &b.copy_last.histogram),
                color(i),
            ),
            None => plot::clear(&canvas),
        }
    }
}

/// A card's line about saving, and its resume button when resuming is offered.
fn render_saved(app: &App, i: usize, card: &Card) {
    let n = i + 1;
    let stored: Vec<_> = app.state.runs[i]
        .seeds()
        .iter()
        .map(|c| app.saved.of(c))
        .collect();
    let (label, line) = crate::experiment::saved_runs::card_view(&trainings(card), &stored);
    set_text(&format!("saved-{n}"), &line);
    let selector = format!("#card-{n} button[data-action=\"resume-saved\"]");
    if let Ok(Some(button)) = dom::document().query_selector(&selector) {
        button.set_text_content(label.as_deref());
        let _ = match label {
            Some(_) => button.remove_attribute("hidden"),
            None => button.set_attribute("hidden", ""),
        };
    }
}

fn disable(n: usize, action: &str, off: bool) {
    let selector = format!("#card-{n} button[data-action=\"{action}\"]");
    if let Ok(Some(b)) = dom::document().query_selector(&selector) {
        if let Ok(b) = b.dyn_into::<HtmlButtonElement>() {
            b.set_disabled(off);
        }
    }
}

fn render_curves(app: &App, labels: &[String]) {
    let Ok(canvas) = by_id("curves").dyn_into::<HtmlCanvasElement>() else {
        return;
    };
    let mut series = Vec::new();
    let mut bands = Vec::new();
    let mut legend = String::new();
    for (i, card) in app.cards.iter().enumerate() {
        let ts = trainings(card);
        let (val, train) = curves(&ts);
        if val.is_empty() {
            continue;
        }
        let c = color(i);
        let tag = if ts.iter().any(|t| t.pretrained.is_some()) {
            " (pretrained)"
        } else {
            ""
        };
        let points = |s: &[crate::experiment::spread::Spread]| -> Vec<(f64, f64)> {
            s.iter()
                .enumerate()
                .map(|(e, x)| ((e + 1) as f64, x.mean))
                .collect()
        };
        if val.iter().any(|s| s.n > 1) {
            bands.push(Band {
                color: c,
                points: val
                    .iter()
                    .enumerate()
                    .map(|(e, x)| ((e + 1) as f64, x.min, x.max))
                    .collect(),
            });
        }
        series.push(Series {
            color: c,
            dashed: false,
            points: points(&val),
        });
        series.push(Series {
            color: c,
            dashed: true,
            points: points(&train),
        });
        let label = escape(&labels[i]);
        let seeds = if ts.len() > 1 {
            format!(" (mean of {} seeds, band = their range)", ts.len())
        } else {
            String::new()
        };
        legend.push_str(&format!(
            "<span style=\"color:{c}\">━ {label}{tag} validation{seeds}</span> <span style=\"color:{c}\">┅ {label} training</span><br>"
        ));
    }
    // Baselines of the first run with data (runs share their data; a run with another context
    // length has its own windows, and its margin in the table uses its own baselines).
    let first = app
        .cards
        .iter()
        .flat_map(|c| &c.slots)
        .map(|s| &s.training)
        .find(|t| t.baselines().is_some());
    let mut levels: Vec<Level> = first
        .and_then(|t| t.baselines())
        .map(|b| {
            vec![
                Level {
                    label: "copy-last",
                    value: b.copy_last.mean as f64,
                },
                Level {
                    label: "mean-of-context",
                    value: b.mean_context.mean as f64,
                },
                Level {
                    label: "train-mean",
                    value: b.train_mean.mean as f64,
                },
            ]
        })
        .unwrap_or_default();
    // Ridge only where the curves are a shipped dataset's full data: its solve is a native job.
    let ridge = first.and_then(|t| t.ridge());
    if let Some(ridge) = ridge {
        levels.push(Level {
            label: "ridge",
            value: ridge as f64,
        });
    }
    if !levels.is_empty() {
        let named: Vec<String> = levels
            .iter()
            .map(|l| format!("{} {:.4}", l.label, l.value))
            .collect();
        legend.push_str(&format!(
            "<span class=\"levels\">grey lines, what needs no training: {}{}</span>",
            named.join(" · "),
            if ridge.is_some() {
                " (ridge: the full data's closed-form fit, `lvm dataset check`)"
            } else {
                ""
            }
        ));
    }
    plot::curves(
        &canvas,
        plotted_epochs(app),
        &series,
        &bands,
        &levels,
        app.zoom,
    );
    by_id("legend").set_inner_html(&legend);
}

/// The curves' values at one epoch, for the hover line under the plot.
pub fn hover(app: &App, css_x: f64) {
    let Ok(canvas) = by_id("curves").dyn_into::<HtmlCanvasElement>() else {
        return;
    };
    let labels = app.labels();
    let Some(epoch) = plot::epoch_at(&canvas, plotted_epochs(app), css_x) else {
        set_text("curve-hover", "");
        return;
    };
    let curves: Vec<_> = app
        .cards
        .iter()
        .zip(&labels)
        .map(|(card, label)| (label.as_str(), curves(&trainings(card))))
        .collect();
    set_text("curve-hover", &card_text::at_epoch(epoch, &curves));
}

/// The epochs the curves' axis spans: the longest run's.
fn plotted_epochs(app: &App) -> usize {
    app.cards
        .iter()
        .flat_map(|c| &c.slots)
        .map(|s| s.training.config.epochs.max(s.training.epochs.len()))
        .chain(app.state.runs.iter().map(|r| r.config.epochs))
        .max()
        .unwrap_or(app.state.base.epochs)
}

fn render_table(app: &App, labels: &[String]) {
    let entries: Vec<_> = app
        .cards
        .iter()
        .enumerate()
        .map(|(i, card)| {
            let mut label = labels[i].clone();
            if card.slots.iter().any(|s| s.training.pretrained.is_some()) {
                label.push_str(" (pretrained)");
            }
            entry(&label, &trainings(card))
        })
        .collect();
    let rows = rank(&entries);
    let html: String = rows
        .iter()
        .filter(|r| r.best.is_some())
        .enumerate()
        .map(|(k, r)| {
            let noise = if r.within_noise_of.is_empty() {
                String::new()
            } else {
                let others: Vec<String> = r
                    .within_noise_of
                    .iter()
                    .map(|&j| escape(&labels[j]))
                    .collect();
                format!("within seed noise of {}", others.join(", "))
            };
            let c = r.cells("–");
            format!(
                "<tr data-run=\"{n}\"><td>{rank}</td><td style=\"color:{colour}\">{label}</td><td>{}</td><td class=\"best\">{}</td><td class=\"margin\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"noise\">{noise}</td></tr>",
                c.params,
                c.best,
                c.margin,
                c.best_epoch,
                c.seconds_per_epoch,
                c.samples_per_second,
                c.prediction_similarity,
                n = r.entry + 1,
                rank = k + 1,
                colour = color(r.entry),
                label = escape(&r.label),
            )
        })
        .collect();
    by_id("ranking-body").set_inner_html(&html);
}

/// A window's context rows and each run's prediction for it.
type Predictions<'a> = (
    Vec<usize>,
    Vec<(usize, &'a crate::session::messages::Example)>,
);

/// Dataset sentences nearest a prediction, as list items with their cosines; `target`, when
/// given, is marked as the true next sentence.
fn neighbours_html(near: &[Neighbour], texts: &[String], target: Option<usize>) -> String {
    near.iter()
        .map(|n| {
            format!(
                "<li><span class=\"cos\">{:.3}</span> {}{}</li>",
                n.cosine,
                escape(texts.get(n.index).map_or("?", String::as_str)),
                if Some(n.index) == target {
                    " <b>(the true next sentence)</b>"
                } else {
                    ""
                }
            )
        })
        .collect()
}

fn render_examples(app: &App, labels: &[String]) {
    let Data::Ready(files) = &app.data else {
        return;
    };
    let text = |i: usize| files.texts.get(i).map_or("?", |s| s.as_str());
    // Group every run's prediction (its first seed's) by the window it is for.
    let mut by_target: BTreeMap<usize, Predictions> = BTreeMap::new();
    for (i, card) in app.cards.iter().enumerate() {
        let Some(slot) = card.slots.first() else {
            continue;
        };
        for e in &slot.training.examples {
            let entry = by_target
                .entry(e.target)
                .or_insert_with(|| (e.context.clone(), Vec::new()));
            entry.1.push((i, e));
        }
    }
    let html: String = by_target
        .iter()
        .map(|(&target, (context, preds))| {
            let ctx: String = context
                .iter()
                .map(|&i| format!("<li>{}</li>", escape(text(i))))
                .collect();
            let preds: String = preds
                .iter()
                .map(|(i, e)| {
                    let near = neighbours_html(&e.nearest, &files.texts, Some(target));
                    format!(
                        "<div class=\"pred\" style=\"--color:{}\"><b>{}</b> prediction: cosine {:.3} with the true next sentence; nearest sentences:<ol>{near}</ol></div>",
                        color(*i),
                        escape(&labels[*i]),
                        e.cosine
                    )
                })
                .collect();
            format!(
                "<div class=\"example\"><div class=\"context\">Context:<ol>{ctx}</ol></div><div class=\"truth\">True next: <q>{}</q></div>{preds}</div>",
                escape(text(target))
            )
        })
        .collect();
    by_id("examples-list").set_inner_html(&html);
}

/// "Continue my text": each run's continuation (its first seed's), next to copy-last's.
fn render_continuations(app: &App, labels: &[String]) {
    let Data::Ready(files) = &app.data else {
        return;
    };
    let list = |near: &[Neighbour]| neighbours_html(near, &files.texts, None);
    let mut copy_last = None;
    let mut html = String::new();
    for (i, card) in app.cards.iter().enumerate() {
        let Some(result) = card
            .slots
            .first()
            .and_then(|s| s.training.continuation.as_ref())
        else {
            continue;
        };
        let body = match result {
            Ok(c) => {
                copy_last.get_or_insert_with(|| list(&c.copy_last));
                format!(
                    "nearest sentences to its prediction:<ol>{}</ol>",
                    list(&c.nearest)
                )
            }
            Err(e) => format!("no continuation: {}", escape(e)),
        };
        html.push_str(&format!(
            "<div class=\"pred\" data-run=\"{}\" style=\"--color:{}\"><b>{}</b>: {body}</div>",
            i + 1,
            color(i),
            escape(&labels[i])
        ));
    }
    if let Some(copy) = copy_last {
        html.push_str(&format!(
            "<div class=\"pred copy-last\"><b>copy-last</b> (your last sentence again): nearest \
             sentences:<ol>{copy}</ol></div>"
        ));
    }
    by_id("continue-list").set_inner_html(&html);
}
