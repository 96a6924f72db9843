//! The page's controls as HTML, generated from the run config's keys so every knob the core
//! has is offered with its range, and nothing is listed twice (their labels, and which a
//! model uses: `crate::experiment::knobs`).

use super::super::dom::escape;
use crate::config::{FieldKind, ModelKind, RunConfig};
use crate::experiment::knobs::{applies, is_main, label, DATASETS};
use crate::experiment::own_datasets::OwnDataset;
use crate::experiment::page_state::{PageState, MAX_REPEATS};

/// One input; `run` (1-based) is `None` for a shared key. The dataset control offers the
/// shipped datasets and the user's own (`own`).
fn input(
    run: Option<usize>,
    key: &str,
    kind: FieldKind,
    value: &str,
    own: &[OwnDataset],
) -> String {
    let run_attr = run.map_or(String::new(), |n| format!(" data-run=\"{n}\""));
    let id = match run {
        Some(n) => format!("knob-{n}-{key}"),
        None => format!("shared-{key}"),
    };
    let attrs = format!("id=\"{id}\" data-key=\"{key}\"{run_attr}");
    let field = match kind {
        FieldKind::Bool => format!(
            "<input type=\"checkbox\" {attrs}{}>",
            if value == "true" { " checked" } else { "" }
        ),
        FieldKind::Choice(allowed) => choice(&attrs, allowed.split(", ").map(|o| (o, o)), value),
        FieldKind::Text if key == "dataset" => {
            let mut names: Vec<(&str, &str)> = DATASETS.iter().map(|&d| (d, d)).collect();
            names.extend(own.iter().map(|o| (o.name.as_str(), o.label.as_str())));
            if !names.iter().any(|(n, _)| *n == value) {
                names.push((value, value));
            }
            choice(&attrs, names.into_iter(), value)
        }
        FieldKind::Integer { lo, hi } => format!(
            "<input type=\"number\" {attrs} min=\"{lo}\" max=\"{hi}\" step=\"1\" value=\"{}\">",
            escape(value)
        ),
        FieldKind::Number { lo, hi } => format!(
            "<input type=\"number\" {attrs} min=\"{lo}\" max=\"{hi}\" step=\"any\" value=\"{}\">",
            escape(value)
        ),
        FieldKind::Text => format!("<input type=\"text\" {attrs} value=\"{}\">", escape(value)),
    };
    format!(
        "<label class=\"knob\" for=\"{id}\"><span>{}</span>{field}</label>",
        label(key)
    )
}

/// A select of (value, label) options.
fn choice<'a>(
    attrs: &str,
    options: impl Iterator<Item = (&'a str, &'a str)>,
    value: &str,
) -> String {
    let options: String = options
        .map(|(o, label)| {
            format!(
                "<option value=\"{}\"{}>{}</option>",
                escape(o),
                if o == value { " selected" } else { "" },
                escape(label)
            )
        })
        .collect();
    format!("<select {attrs}>{options}</select>")
}

/// The shared controls (dataset, sample, split, ...): each sets its key on every run.
pub fn shared_html(state: &PageState, own: &[OwnDataset]) -> String {
    let c = &state.base;
    RunConfig::keys()
        .filter(|(k, _)| crate::experiment::page_state::SHARED_KEYS.contains(k))
        .map(|(k, kind)| input(None, k, kind, &c.get(k).unwrap_or_default(), own))
        .collect()
}

/// Run `i`'s model, repeats and knobs: the main ones, then the rest under "more".
pub fn knobs_html(state: &PageState, i: usize) -> String {
    let Some(run) = state.runs.get(i) else {
        return String::new();
    };
    let (n, c, model) = (i + 1, &run.config, run.config.model);
    let mut main = input(
        Some(n),
        "model",
        FieldKind::Choice(ModelKind::ALLOWED),
        model.as_str(),
        &[],
    );
    main.push_str(&format!(
        "<label class=\"knob\" for=\"knob-{n}-repeats\"><span>Seeds</span><input type=\"number\" \
         id=\"knob-{n}-repeats\" data-key=\"repeats\" data-run=\"{n}\" min=\"1\" max=\"{MAX_REPEATS}\" \
         step=\"1\" value=\"{}\"></label>",
        run.repeats
    ));
    let mut more = String::new();
    for (k, kind) in RunConfig::keys().filter(|(k, _)| applies(model, k)) {
        let html = input(Some(n), k, kind, &c.get(k).unwrap_or_default(), &[]);
        if is_main(k) {
            main.push_str(&html);
        } else {
            more.push_str(&html);
        }
    }
    format!("{main}<details><summary>more</summary>{more}</details>")
}
