//! The playground page's whole state, as its URL query string.
//!
//! A page compares several runs that share their data (dataset, sample, split, context, seed,
//! epochs) and differ in their model and its knobs. The query holds the shared keys once,
//! each model's own knobs under its name (`lstm.lr=0.0005`), which models are selected, and
//! two page options. Every selected model's knobs are written, so a link keeps meaning the
//! same runs even if a default changes later. Like [`RunConfig::from_query_lenient`], decoding
//! is bounded, never panics, and keeps every key it can, naming each one it cannot use.

use crate::run::{split_query, ConfigError, ModelKind, RunConfig};

/// Keys every run on the page shares (one control each).
pub const SHARED_KEYS: [&str; 7] = [
    "dataset",
    "sample",
    "split",
    "val_fraction",
    "context",
    "seed",
    "epochs",
];

/// Most `key=value` pairs in a page query: shared keys, four models' knobs and the options.
pub const MAX_PAGE_PAIRS: usize = 128;

/// Windows drawn for a page run by default: the first MLP epoch takes seconds in a browser;
/// `sample=0` trains on every window, as the study does.
pub const DEFAULT_SAMPLE: usize = 4000;
pub const DEFAULT_EPOCHS: usize = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct PageState {
    /// One config per model, in [`ModelKind::ALL`] order; shared keys are equal in all four.
    pub configs: [RunConfig; 4],
    /// Models to train, in [`ModelKind::ALL`] order.
    pub selected: Vec<ModelKind>,
    /// Start training as soon as the page has its data (`autostart=1`).
    pub autostart: bool,
    /// Hide the controls, for a class that should only watch (`hide=controls`).
    pub hide_controls: bool,
}

impl Default for PageState {
    fn default() -> Self {
        let configs = ModelKind::ALL.map(|m| {
            let mut c = RunConfig::for_model(m);
            c.sample = DEFAULT_SAMPLE;
            c.epochs = DEFAULT_EPOCHS;
            c
        });
        Self {
            configs,
            selected: vec![ModelKind::Mlp, ModelKind::Lstm, ModelKind::Transformer],
            autostart: false,
            hide_controls: false,
        }
    }
}

fn index(model: ModelKind) -> usize {
    ModelKind::ALL.iter().position(|&m| m == model).unwrap()
}

fn is_shared(key: &str) -> bool {
    SHARED_KEYS.contains(&key)
}

impl PageState {
    pub fn config(&self, model: ModelKind) -> &RunConfig {
        &self.configs[index(model)]
    }

    /// The configs of the selected models: the runs the Train button starts.
    pub fn runs(&self) -> Vec<RunConfig> {
        self.selected
            .iter()
            .map(|&m| self.config(m).clone())
            .collect()
    }

    /// Sets a shared key on every model.
    pub fn set_shared(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        if !is_shared(key) {
            return Err(ConfigError::new(key, "is not a shared parameter".into()));
        }
        // Check once so a bad value leaves all four configs as they were.
        let mut first = self.configs[0].clone();
        first.set(key, value)?;
        for c in &mut self.configs {
            c.set(key, value)?;
        }
        Ok(())
    }

    /// Sets one model's own knob.
    pub fn set_knob(
        &mut self,
        model: ModelKind,
        key: &str,
        value: &str,
    ) -> Result<(), ConfigError> {
        if is_shared(key) || key == "model" {
            return Err(ConfigError::new(
                key,
                "is shared by all models, not a model's knob".into(),
            ));
        }
        self.configs[index(model)]
            .set(key, value)
            .map_err(|e| ConfigError::new(&format!("{model}.{}", e.key), e.message))
    }

    pub fn select(&mut self, model: ModelKind, on: bool) {
        self.selected.retain(|&m| m != model);
        if on {
            self.selected.push(model);
        }
        self.selected.sort_by_key(|&m| index(m));
    }

    /// The query string: shared keys, `models`, each selected model's knobs, the options.
    pub fn to_query(&self) -> String {
        let shared = &self.configs[0];
        let mut parts: Vec<String> = SHARED_KEYS
            .iter()
            .map(|k| format!("{k}={}", shared.get(k).unwrap_or_default()))
            .collect();
        let models: Vec<&str> = self.selected.iter().map(|m| m.as_str()).collect();
        parts.push(format!("models={}", models.join(",")));
        for &m in &self.selected {
            let c = self.config(m);
            for (key, _) in RunConfig::keys() {
                if !is_shared(key) && key != "model" {
                    parts.push(format!("{m}.{key}={}", c.get(key).unwrap_or_default()));
                }
            }
        }
        if self.autostart {
            parts.push("autostart=1".into());
        }
        if self.hide_controls {
            parts.push("hide=controls".into());
        }
        parts.join("&")
    }

    /// Lenient decoding: every key that cannot be used keeps its default and is reported.
    pub fn from_query(query: &str) -> (Self, Vec<ConfigError>) {
        let mut state = Self::default();
        let (pairs, mut errors) = split_query(query, MAX_PAGE_PAIRS);
        for (key, value) in &pairs {
            if let Err(e) = state.apply(key, value) {
                errors.push(e);
            }
        }
        (state, errors)
    }

    fn apply(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        match key {
            "models" => {
                let mut selected = Vec::new();
                for name in value.split(',').filter(|s| !s.is_empty()) {
                    match name.parse::<ModelKind>() {
                        Ok(m) if !selected.contains(&m) => selected.push(m),
                        Ok(_) => {}
                        Err(()) => {
                            return Err(ConfigError::new(
                                key,
                                format!(
                                    "'{}' is not one of {}",
                                    name.chars().take(40).collect::<String>(),
                                    ModelKind::ALLOWED
                                ),
                            ))
                        }
                    }
                }
                selected.sort_by_key(|&m| index(m));
                self.selected = selected;
                Ok(())
            }
            "autostart" => {
                self.autostart = parse_flag(key, value)?;
                Ok(())
            }
            "hide" => match value {
                "controls" => {
                    self.hide_controls = true;
                    Ok(())
                }
                "" | "none" => {
                    self.hide_controls = false;
                    Ok(())
                }
                _ => Err(ConfigError::new(
                    key,
                    format!(
                        "'{}' is not one of controls, none",
                        value.chars().take(40).collect::<String>()
                    ),
                )),
            },
            _ if is_shared(key) => self.set_shared(key, value),
            _ => match key
                .split_once('.')
                .map(|(m, k)| (m.parse::<ModelKind>(), k))
            {
                Some((Ok(model), knob)) if RunConfig::keys().any(|(k, _)| k == knob) => {
                    self.set_knob(model, knob, value)
                }
                _ => Err(ConfigError::new(
                    key,
                    format!(
                        "is not a known parameter (known: models, autostart, hide, {}, and \
                         <model>.<knob> such as mlp.lr)",
                        SHARED_KEYS.join(", ")
                    ),
                )),
            },
        }
    }
}

fn parse_flag(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(ConfigError::new(
            key,
            format!(
                "'{}' is not one of 1, 0",
                value.chars().take(40).collect::<String>()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{Activation, MAX_QUERY_LEN};

    #[test]
    fn round_trip() {
        let mut s = PageState::default();
        s.set_shared("sample", "1234").unwrap();
        s.set_shared("seed", "7").unwrap();
        s.set_knob(ModelKind::Lstm, "lr", "0.0005").unwrap();
        s.set_knob(ModelKind::Mlp, "activation", "gelu").unwrap();
        s.select(ModelKind::TransformerInfonce, true);
        s.select(ModelKind::Lstm, false);
        s.autostart = true;
        s.hide_controls = true;
        let q = s.to_query();
        let (back, errors) = PageState::from_query(&q);
        assert!(errors.is_empty(), "{errors:?}");
        // The deselected LSTM's knob is not in the link; everything selected is.
        let mut expected = s.clone();
        expected.configs[1].lr = RunConfig::for_model(ModelKind::Lstm).lr;
        assert_eq!(back, expected, "{q}");
        assert_eq!(back.config(ModelKind::Mlp).activation, Activation::Gelu);
        assert!(back.runs().iter().all(|c| c.sample == 1234 && c.seed == 7));
        assert!(q.len() < MAX_QUERY_LEN);
    }

    #[test]
    fn all_four_models_fit_in_a_link() {
        let mut s = PageState::default();
        s.select(ModelKind::TransformerInfonce, true);
        let q = s.to_query();
        let (back, errors) = PageState::from_query(&q);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(back, s);
        assert_eq!(back.runs().len(), 4);
        assert_eq!(back.runs()[3].lr, 1e-4);
    }

    #[test]
    fn bad_keys_are_named_and_the_rest_is_kept() {
        let (s, errors) = PageState::from_query(
            "?sample=99&mlp.lr=banana&bogus=1&lstm.hidden=3&models=mlp,cnn&transformer.heads=7&seed=5&seed=6",
        );
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "seed",
                "mlp.lr",
                "bogus",
                "lstm.hidden",
                "models",
                "transformer.heads"
            ]
        );
        assert!(errors[0].message.contains("more than once"));
        assert!(errors[1].to_string().contains("parameter 'mlp.lr'"));
        assert_eq!(s.config(ModelKind::Mlp).sample, 99);
        assert_eq!(s.config(ModelKind::Lstm).sample, 99);
        assert_eq!(s.config(ModelKind::Mlp).lr, 1e-3);
        assert_eq!(s.config(ModelKind::Transformer).heads, 8);
        assert_eq!(s.config(ModelKind::Mlp).seed, 5);
        assert_eq!(s.selected, PageState::default().selected);
    }

    #[test]
    fn a_shared_key_cannot_be_set_per_model() {
        let (_, errors) = PageState::from_query("mlp.sample=5&lstm.model=mlp");
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn bounded_and_never_panics() {
        let long = "a".repeat(MAX_QUERY_LEN + 1);
        assert_eq!(PageState::from_query(&long).1.len(), 1);
        let many = vec!["x=1"; 500].join("&");
        assert!(PageState::from_query(&many).1.len() <= MAX_PAGE_PAIRS + 1);
        let mut x = 0x9e3779b97f4a7c15u64;
        let alphabet = b"=&%.,_-09azmlpstrnfoi\xc3\xa9?+";
        for _ in 0..20_000 {
            let len = (x % 60) as usize;
            let mut bytes = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                bytes.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            let q = String::from_utf8_lossy(&bytes);
            let (s, _) = PageState::from_query(&q);
            for c in &s.configs {
                c.validate().unwrap();
            }
        }
    }
}
