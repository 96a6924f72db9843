//! Drawing the page from the app's state: the skeleton once, then cards, plots, the ranking
//! table and the examples on every animation frame that has news.

use super::super::dom::{self, by_id, escape, set_hidden, set_text};
use super::super::plot::{self, Level, Series};
use super::controls;
use super::runs::{Phase, RunView};
use super::{App, Data};
use crate::metrics::group_digits;
use crate::playground::PageState;
use crate::run::ModelKind;
use crate::session::RunState;
use std::collections::BTreeMap;
use wasm_bindgen::JsCast;
use web_sys::{HtmlButtonElement, HtmlCanvasElement, HtmlProgressElement};

pub fn color(model: ModelKind) -> &'static str {
    match model {
        ModelKind::Mlp => "#1f77b4",
        ModelKind::Lstm => "#d62728",
        ModelKind::Transformer => "#2ca02c",
        ModelKind::TransformerInfonce => "#9467bd",
    }
}

/// The controls and one card per model, built once from the URL's state.
pub fn skeleton(state: &PageState) {
    by_id("shared").set_inner_html(&controls::shared_html(state));
    let cards: String = ModelKind::ALL
        .iter()
        .map(|&m| {
            let checked = if state.selected.contains(&m) { " checked" } else { "" };
            format!(
                r#"<article class="card" id="card-{m}" style="--color:{color}">
  <header><label class="control"><input type="checkbox" data-select="{m}"{checked}> train</label>
    <h3>{name}</h3><span class="params" id="params-{m}"></span></header>
  <div class="knobs control">{knobs}</div>
  <div class="status" id="status-{m}">not started</div>
  <progress id="progress-{m}" max="1" value="0"></progress>
  <div class="numbers" id="numbers-{m}"></div>
  <canvas id="hist-{m}" width="300" height="80" title="per-window validation cosine: bars = model, line = copy-last"></canvas>
  <div class="error" id="error-{m}" role="alert" hidden></div>
  <div class="buttons">
    <button data-action="pause" data-model="{m}" class="control">Pause</button>
    <button data-action="resume" data-model="{m}" class="control">Resume</button>
    <button data-action="step" data-model="{m}" class="control">Step</button>
    <button data-action="stop" data-model="{m}" class="control">Stop</button>
    <button data-action="pretrained" data-model="{m}">Load pretrained</button>
  </div>
  <div class="buttons">Export:
    <button data-action="export-json" data-model="{m}">log JSON</button>
    <button data-action="export-csv" data-model="{m}">log CSV</button>
    <button data-action="export-weights" data-model="{m}">weights</button>
  </div>
</article>"#,
                color = color(m),
                name = m.display_name(),
                knobs = controls::knobs_html(state, m),
            )
        })
        .collect();
    by_id("cards").set_inner_html(&cards);
    if state.hide_controls {
        let _ = dom::document()
            .body()
            .map(|b| b.class_list().add_1("hide-controls"));
    }
}

pub fn render(app: &App) {
    render_notices(app);
    render_data(app);
    for m in ModelKind::ALL {
        render_card(m, app.runs.iter().map(|(_, r)| r).find(|r| r.model == m));
    }
    render_curves(app);
    render_table(app);
    render_examples(app);
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
        Data::Loading {
            name,
            status,
            fraction,
        } => (format!("Loading {name}: {status}"), *fraction, false),
        Data::Ready(f) => (
            format!(
                "{}: {} sentences from {} documents ({}), embedded with {}. Ready.",
                f.name,
                f.manifest.count,
                f.manifest.documents.len(),
                f.manifest.source.package,
                f.manifest.embedding.model
            ),
            1.0,
            false,
        ),
        Data::Failed { name, message } => (format!("{name}: {message}"), 0.0, true),
    };
    set_text("data-status", &text);
    let _ = by_id("data-status")
        .class_list()
        .toggle_with_force("error", failed);
    if let Some(p) = progress {
        p.set_value(fraction);
    }
}

fn seconds_per_epoch(run: &RunView) -> Option<f64> {
    let n = run.epochs.len();
    (n > 0).then(|| run.epochs.iter().map(|e| e.seconds).sum::<f64>() / n as f64)
}

/// Training throughput: the epochs' own figure once there is one (a progress report that ends
/// an epoch also counts the evaluation's time), else the latest progress report's.
fn samples_per_second(run: &RunView) -> Option<f64> {
    let n = run.epochs.len();
    if n > 0 {
        return Some(run.epochs.iter().map(|e| e.samples_per_second).sum::<f64>() / n as f64);
    }
    run.progress.map(|p| p.5)
}

fn render_card(model: ModelKind, run: Option<&RunView>) {
    let (status, fraction, numbers, error) = match run {
        None => ("not started".to_string(), 0.0, String::new(), None),
        Some(r) => {
            let status = match &r.phase {
                Phase::Loading(s) => s.clone(),
                Phase::Run(state) => {
                    let word = match state {
                        RunState::Paused => "paused",
                        RunState::Running => "training",
                        RunState::Stopped => "stopped",
                        RunState::Finished => "finished",
                        RunState::Failed => "failed",
                    };
                    match r.progress {
                        Some((step, epoch, k, n, loss, sps)) => format!(
                            "{word}: epoch {epoch}/{}, step {k}/{n} (total {step}), loss {loss:.4}, {sps:.0} samples/s",
                            r.config.epochs
                        ),
                        None => word.to_string(),
                    }
                }
                Phase::Evaluated => "pretrained weights, evaluated here".to_string(),
                Phase::Failed(_) => "failed".to_string(),
            };
            let fraction = match (&r.phase, r.progress, &r.started) {
                (Phase::Evaluated, _, _) => 1.0,
                (_, Some((step, ..)), Some(s)) => step as f64 / s.total_steps.max(1) as f64,
                _ => 0.0,
            };
            let numbers = card_numbers(r);
            let error = match &r.phase {
                Phase::Failed(m) => Some(m.clone()),
                _ => None,
            };
            (status, fraction, numbers, error)
        }
    };
    set_text(&format!("status-{model}"), &status);
    if let Ok(p) = by_id(&format!("progress-{model}")).dyn_into::<HtmlProgressElement>() {
        p.set_value(fraction);
    }
    by_id(&format!("numbers-{model}")).set_inner_html(&numbers);
    set_text(&format!("error-{model}"), error.as_deref().unwrap_or(""));
    set_hidden(&format!("error-{model}"), error.is_none());
    let params = run.and_then(|r| {
        r.started
            .as_ref()
            .map(|s| s.params)
            .or(r.pretrained.as_ref().map(|p| p.params))
    });
    set_text(
        &format!("params-{model}"),
        &params.map_or(String::new(), |p| format!("{} params", group_digits(p))),
    );
    let active = run.is_some_and(|r| matches!(r.phase, Phase::Run(_)) && !r.is_over());
    for action in ["pause", "resume", "stop"] {
        disable(model, action, !active);
    }
    if let Ok(canvas) = by_id(&format!("hist-{model}")).dyn_into::<HtmlCanvasElement>() {
        let hist = run.and_then(|r| {
            r.pretrained
                .as_ref()
                .map(|p| &p.val.histogram)
                .or(r.epochs.last().map(|e| &e.val.histogram))
        });
        match hist {
            Some(h) => plot::histogram(
                &canvas,
                h,
                run.and_then(|r| r.baselines())
                    .map(|b| &b.copy_last.histogram),
                color(model),
            ),
            None => {
                if let Some(ctx) = canvas
                    .get_context("2d")
                    .ok()
                    .flatten()
                    .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
                {
                    ctx.clear_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
                }
            }
        }
    }
}

fn disable(model: ModelKind, action: &str, off: bool) {
    let selector = format!("#card-{model} button[data-action=\"{action}\"]");
    if let Ok(Some(b)) = dom::document().query_selector(&selector) {
        if let Ok(b) = b.dyn_into::<HtmlButtonElement>() {
            b.set_disabled(off);
        }
    }
}

fn card_numbers(r: &RunView) -> String {
    if let Some(p) = &r.pretrained {
        let trained = p
            .log
            .as_ref()
            .and_then(|l| l.best())
            .map_or(String::new(), |b| {
                format!(
                    " (stated at training: {:.4}, epoch {})",
                    b.val.mean, b.epoch
                )
            });
        return format!(
            "val cosine <b class=\"val\" data-model=\"{}\">{:.4}</b>{trained} on {} windows · prediction similarity {:.3}",
            r.model, p.val.mean, p.val_windows, p.prediction_similarity
        );
    }
    match (r.epochs.last(), &r.started) {
        (Some(e), _) => format!(
            "epoch {}: val cosine <b class=\"val\">{:.4}</b> · train {:.4} · prediction similarity {:.3}",
            e.epoch, e.val.mean, e.train_cosine, e.prediction_similarity
        ),
        (None, Some(s)) => format!(
            "{} training / {} validation windows, {} steps per epoch",
            s.train_windows, s.val_windows, s.steps_per_epoch
        ),
        _ => String::new(),
    }
}

fn render_curves(app: &App) {
    let Ok(canvas) = by_id("curves").dyn_into::<HtmlCanvasElement>() else {
        return;
    };
    let runs: Vec<&RunView> = app.runs.iter().map(|(_, r)| r).collect();
    let mut series = Vec::new();
    let mut legend = String::new();
    for r in &runs {
        if r.epochs.is_empty() {
            continue;
        }
        let c = color(r.model);
        let tag = if r.pretrained.is_some() {
            " (pretrained)"
        } else {
            ""
        };
        series.push(Series {
            color: c,
            dashed: false,
            points: r
                .epochs
                .iter()
                .map(|e| (e.epoch as f64, e.val.mean as f64))
                .collect(),
        });
        series.push(Series {
            color: c,
            dashed: true,
            points: r
                .epochs
                .iter()
                .map(|e| (e.epoch as f64, e.train_cosine as f64))
                .collect(),
        });
        legend.push_str(&format!(
            "<span style=\"color:{c}\">━ {0}{tag} validation</span> <span style=\"color:{c}\">┅ {0} training</span><br>",
            r.model.display_name()
        ));
    }
    // Baselines of the first training run (all training runs share their data).
    let baselines = runs
        .iter()
        .find(|r| r.started.is_some())
        .or(runs.first())
        .and_then(|r| r.baselines());
    let levels: Vec<Level> = baselines
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
    let epochs = runs
        .iter()
        .map(|r| r.config.epochs.max(r.epochs.len()))
        .max()
        .unwrap_or(app.state.configs[0].epochs);
    plot::curves(&canvas, epochs, &series, &levels);
    by_id("legend").set_inner_html(&legend);
}

fn render_table(app: &App) {
    let mut rows: Vec<&RunView> = app
        .runs
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r.best_val().is_some())
        .collect();
    rows.sort_by(|a, b| {
        b.best_val()
            .partial_cmp(&a.best_val())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let html: String = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let params = r
                .started
                .as_ref()
                .map(|s| s.params)
                .or(r.pretrained.as_ref().map(|p| p.params))
                .unwrap_or(0);
            let copy_last = r.baselines().map(|b| b.copy_last.mean).unwrap_or(f32::NAN);
            let best = r.best_val().unwrap_or(f32::NAN);
            let similarity = r
                .pretrained
                .as_ref()
                .map(|p| p.prediction_similarity)
                .or(r.best_epoch.and_then(|b| r.epochs.get(b - 1)).map(|e| e.prediction_similarity));
            format!(
                "<tr data-model=\"{m}\"><td>{rank}</td><td>{name}{tag}</td><td>{params}</td><td class=\"best\">{best:.4}</td><td>{delta:+.4}</td><td>{epoch}</td><td>{secs}</td><td>{sps}</td><td>{sim}</td></tr>",
                m = r.model,
                rank = i + 1,
                name = r.model.display_name(),
                tag = if r.pretrained.is_some() { " (pretrained)" } else { "" },
                params = group_digits(params),
                delta = best - copy_last,
                epoch = r.best_epoch.map_or("–".into(), |e| e.to_string()),
                secs = seconds_per_epoch(r).map_or("–".into(), |s| format!("{s:.1}")),
                sps = if r.pretrained.is_some() { "–".into() } else { samples_per_second(r).map_or("–".into(), |s| format!("{s:.0}")) },
                sim = similarity.map_or("–".into(), |s| format!("{s:.3}")),
            )
        })
        .collect();
    by_id("ranking-body").set_inner_html(&html);
}

/// A window's context rows and each model's prediction for it.
type Predictions<'a> = (Vec<usize>, Vec<(ModelKind, &'a crate::session::Example)>);

fn render_examples(app: &App) {
    let Data::Ready(files) = &app.data else {
        return;
    };
    let text = |i: usize| files.texts.get(i).map_or("?", |s| s.as_str());
    // Group every model's prediction by the window it is for.
    let mut by_target: BTreeMap<usize, Predictions> = BTreeMap::new();
    for (_, r) in &app.runs {
        for e in &r.examples {
            let entry = by_target
                .entry(e.target)
                .or_insert_with(|| (e.context.clone(), Vec::new()));
            entry.1.push((r.model, e));
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
                .map(|(m, e)| {
                    let near: String = e
                        .nearest
                        .iter()
                        .map(|n| {
                            format!(
                                "<li><span class=\"cos\">{:.3}</span> {}{}</li>",
                                n.cosine,
                                escape(text(n.index)),
                                if n.index == target { " <b>(the true next sentence)</b>" } else { "" }
                            )
                        })
                        .collect();
                    format!(
                        "<div class=\"pred\" style=\"--color:{}\"><b>{}</b> prediction: cosine {:.3} with the true next sentence; nearest sentences:<ol>{near}</ol></div>",
                        color(*m),
                        m.display_name(),
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
