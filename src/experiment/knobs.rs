//! The page's knobs as words: each config key's label, which keys a model uses, and which
//! are shown on a run's card rather than under "more". The browser layer only turns these
//! into inputs.

use crate::config::ModelKind;
use crate::experiment::page_state::DATA_KEYS;

/// Datasets shipped in `datasets/`, offered before the user's own.
pub const DATASETS: [&str; 2] = ["wiki-29k", "brown-29k"];

/// Knobs shown on each run's card; the rest are under "more".
const MAIN_KNOBS: [&str; 11] = [
    "lr",
    "batch",
    "context",
    "epochs",
    "seed",
    "hidden",
    "layers",
    "activation",
    "loss",
    "skip",
    "dropout",
];

/// Whether `key` is shown on the card itself rather than under "more".
pub fn is_main(key: &str) -> bool {
    MAIN_KNOBS.contains(&key)
}

/// What the page calls a config key (the key itself when it has no label).
pub fn label(key: &str) -> &str {
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
        "skip" => "Skip from baseline",
        "patience" => "Patience (epochs, 0 = off)",
        "warmup" => "Warm-up (steps)",
        "windows" => "Windows (all, or within one document)",
        "model" => "Model",
        other => other,
    }
}

/// Whether a per-run knob means anything for `model`. The data keys are shared by every run
/// and `model` has its own control, so neither is a per-run knob.
pub fn applies(model: ModelKind, key: &str) -> bool {
    match key {
        "heads" | "ff" | "scale_input" => model.is_transformer(),
        "residual" => model == ModelKind::Mlp,
        "hidden" | "layers" | "activation" | "dropout" => model != ModelKind::Linear,
        "model" => false,
        k => !DATA_KEYS.contains(&k),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;

    #[test]
    fn every_key_has_a_label_of_its_own() {
        let labels: Vec<&str> = RunConfig::keys().map(|(k, _)| label(k)).collect();
        for (k, _) in RunConfig::keys() {
            assert_ne!(label(k), k, "'{k}' has no label");
        }
        let mut unique = labels.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), labels.len(), "two keys share a label");
    }

    #[test]
    fn the_main_knobs_are_config_keys_every_model_but_linear_uses() {
        let keys: Vec<&str> = RunConfig::keys().map(|(k, _)| k).collect();
        for k in MAIN_KNOBS {
            assert!(keys.contains(&k), "'{k}' is not a config key");
            assert!(applies(ModelKind::Mlp, k), "'{k}' shown but not used");
        }
    }

    #[test]
    fn each_model_is_offered_only_what_it_uses() {
        let offered = |m: ModelKind| -> Vec<&str> {
            RunConfig::keys()
                .map(|(k, _)| k)
                .filter(|k| applies(m, k))
                .collect()
        };
        let linear = offered(ModelKind::Linear);
        for k in [
            "hidden",
            "layers",
            "activation",
            "dropout",
            "heads",
            "residual",
        ] {
            assert!(!linear.contains(&k), "linear offered '{k}'");
        }
        assert!(linear.contains(&"skip") && linear.contains(&"lr"));
        assert!(offered(ModelKind::Mlp).contains(&"residual"));
        assert!(!offered(ModelKind::Lstm).contains(&"heads"));
        for m in ModelKind::ALL {
            let keys = offered(m);
            assert!(!keys.contains(&"model"));
            for k in DATA_KEYS {
                assert!(!keys.contains(&k), "{m:?} offered the shared key '{k}'");
            }
            if m.is_transformer() {
                assert!(keys.contains(&"heads") && keys.contains(&"ff"));
            }
        }
    }
}
