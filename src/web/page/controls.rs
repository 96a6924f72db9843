//! The page's controls, generated from the run config's keys so every knob the core has is
//! offered with its range, and nothing is listed twice.

use super::super::dom::escape;
use crate::playground::{PageState, SHARED_KEYS};
use crate::run::{FieldKind, ModelKind, RunConfig};

/// Datasets shipped in `datasets/`.
pub const DATASETS: [&str; 2] = ["wiki-29k", "brown-29k"];

/// Knobs shown on each model's card; the rest are under "more".
const MAIN_KNOBS: [&str; 7] = [
    "lr",
    "batch",
    "dropout",
    "hidden",
    "layers",
    "activation",
    "loss",
];

fn label(key: &str) -> &str {
    match key {
        "dataset" => "Dataset",
        "sample" => "Sample (windows, 0 = all)",
        "split" => "Split",
        "val_fraction" => "Validation fraction",
        "context" => "Context (sentences)",
        "seed" => "Seed",
        "epochs" => "Epochs",
        "lr" => "Learning rate",
        "batch" => "Batch",
        "dropout" => "Dropout",
        "hidden" => "Hidden width",
        "layers" => "Layers",
        "activation" => "Activation",
        "loss" => "Loss",
        "heads" => "Heads",
        "ff" => "Feed-forward width",
        "scale_input" => "√d input scaling",
        "residual" => "Residual",
        "temperature" => "InfoNCE temperature",
        "beta1" => "Adam β1",
        "beta2" => "Adam β2",
        "eps" => "Adam ε",
        other => other,
    }
}

/// Whether a knob means anything for a model.
fn applies(model: ModelKind, key: &str) -> bool {
    match key {
        "heads" | "ff" | "scale_input" => model.is_transformer(),
        "residual" => model == ModelKind::Mlp,
        "model" => false,
        k => !SHARED_KEYS.contains(&k),
    }
}

/// One input; `model` is `None` for a shared key.
fn input(model: Option<ModelKind>, key: &str, kind: FieldKind, value: &str) -> String {
    let model_attr = model.map_or(String::new(), |m| format!(" data-model=\"{m}\""));
    let id = match model {
        Some(m) => format!("knob-{m}-{key}"),
        None => format!("shared-{key}"),
    };
    let attrs = format!("id=\"{id}\" data-key=\"{key}\"{model_attr}");
    let field = match kind {
        FieldKind::Bool => format!(
            "<input type=\"checkbox\" {attrs}{}>",
            if value == "true" { " checked" } else { "" }
        ),
        FieldKind::Choice(allowed) => choice(&attrs, allowed.split(", "), value),
        FieldKind::Text if key == "dataset" => {
            let mut names: Vec<&str> = DATASETS.to_vec();
            if !names.contains(&value) {
                names.push(value);
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

fn choice<'a>(attrs: &str, options: impl Iterator<Item = &'a str>, value: &str) -> String {
    let options: String = options
        .map(|o| {
            format!(
                "<option value=\"{0}\"{1}>{0}</option>",
                escape(o),
                if o == value { " selected" } else { "" }
            )
        })
        .collect();
    format!("<select {attrs}>{options}</select>")
}

/// The shared controls (dataset, sample, split, ...).
pub fn shared_html(state: &PageState) -> String {
    let c = &state.configs[0];
    RunConfig::keys()
        .filter(|(k, _)| SHARED_KEYS.contains(k))
        .map(|(k, kind)| input(None, k, kind, &c.get(k).unwrap_or_default()))
        .collect()
}

/// A model's knobs: the main ones, then the rest under "more".
pub fn knobs_html(state: &PageState, model: ModelKind) -> String {
    let c = state.config(model);
    let mut main = String::new();
    let mut more = String::new();
    for (k, kind) in RunConfig::keys().filter(|(k, _)| applies(model, k)) {
        let html = input(Some(model), k, kind, &c.get(k).unwrap_or_default());
        if MAIN_KNOBS.contains(&k) {
            main.push_str(&html);
        } else {
            more.push_str(&html);
        }
    }
    format!("{main}<details><summary>more</summary>{more}</details>")
}
