//! The run config: one struct that describes a training run completely.
//!
//! The same struct travels as JSON (run logs, checkpoint metadata) and as a URL query string
//! (the browser puts it in the address bar; the CLI accepts it with `--url`). Encoding writes
//! every key, so a shared link keeps meaning the same run even if a default changes later.
//! Decoding is bounded, never panics, and names the key and its allowed range on error;
//! missing keys take the model's defaults (the study's settings).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest query string accepted; a full config encodes to about 300 bytes.
pub const MAX_QUERY_LEN: usize = 4096;
/// Most `key=value` pairs accepted in one query string.
pub const MAX_QUERY_PAIRS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    Mlp,
    Lstm,
    Transformer,
    TransformerInfonce,
    /// Not in the study: one Linear(context·dim → dim), then L2 normalisation.
    Linear,
}

impl ModelKind {
    /// Every model, the study's four first (links name a model by its place in this list).
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Mlp,
        ModelKind::Lstm,
        ModelKind::Transformer,
        ModelKind::TransformerInfonce,
        ModelKind::Linear,
    ];

    /// The study's four models (what `lvm compare` trains by default).
    pub const STUDY: [ModelKind; 4] = [
        ModelKind::Mlp,
        ModelKind::Lstm,
        ModelKind::Transformer,
        ModelKind::TransformerInfonce,
    ];

    /// The name the study's table uses.
    pub fn display_name(self) -> &'static str {
        match self {
            ModelKind::Mlp => "MLP",
            ModelKind::Lstm => "LSTM",
            ModelKind::Transformer => "Transformer",
            ModelKind::TransformerInfonce => "Transformer-InfoNCE",
            ModelKind::Linear => "Linear",
        }
    }

    pub fn is_transformer(self) -> bool {
        matches!(self, ModelKind::Transformer | ModelKind::TransformerInfonce)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Relu,
    Gelu,
    Silu,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// 1 - cosine(prediction, target), averaged over the batch.
    Cosine,
    /// InfoNCE with in-batch negatives.
    Infonce,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitKind {
    /// The study's split: windows in stream order, the first part trains, the rest validates.
    Ordered,
    /// A seeded random permutation of the windows before the cut.
    Random,
}

/// Which windows of the data a run uses (a data key: every run of a page shares it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowsKind {
    /// Every window sliding over the whole stream, across document boundaries (the study).
    #[default]
    All,
    /// Only the windows whose context and target lie in one document (the dataset manifest's
    /// documents; data without documents is one document).
    Within,
}

macro_rules! named_enum {
    ($ty:ty, $allowed:expr, [$($variant:path => $name:literal),+ $(,)?]) => {
        impl $ty {
            pub const ALLOWED: &'static str = $allowed;
            pub fn as_str(self) -> &'static str {
                match self { $($variant => $name),+ }
            }
        }
        impl FromStr for $ty {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($name => Ok($variant),)+ _ => Err(()) }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// What the model's output is added to before the final normalisation. `None` is the study:
/// the prediction is the network's output alone. With `Last` or `Mean` the network learns a
/// correction to a baseline, and its final Linear starts at zero so an untrained run predicts
/// exactly that baseline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Skip {
    #[default]
    None,
    /// normalize(last context vector + f(context)).
    Last,
    /// normalize(normalize(mean of the context) + f(context)).
    Mean,
}

named_enum!(ModelKind, "mlp, lstm, transformer, transformer-infonce, linear", [
    ModelKind::Mlp => "mlp",
    ModelKind::Lstm => "lstm",
    ModelKind::Transformer => "transformer",
    ModelKind::TransformerInfonce => "transformer-infonce",
    ModelKind::Linear => "linear",
]);
named_enum!(Activation, "relu, gelu, silu", [
    Activation::Relu => "relu",
    Activation::Gelu => "gelu",
    Activation::Silu => "silu",
]);
named_enum!(LossKind, "cosine, infonce", [
    LossKind::Cosine => "cosine",
    LossKind::Infonce => "infonce",
]);
named_enum!(Skip, "none, last, mean", [
    Skip::None => "none",
    Skip::Last => "last",
    Skip::Mean => "mean",
]);
named_enum!(WindowsKind, "all, within", [
    WindowsKind::All => "all",
    WindowsKind::Within => "within",
]);
named_enum!(SplitKind, "ordered, random", [
    SplitKind::Ordered => "ordered",
    SplitKind::Random => "random",
]);

/// Everything that determines a run. Two runs with equal configs on the same data give
/// bit-identical results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Dataset name (a folder under `datasets/` or a file the caller resolves).
    pub dataset: String,
    /// Number of windows to use, drawn at random (seeded) and kept in stream order; 0 = all.
    pub sample: usize,
    pub model: ModelKind,
    /// Context length: sentences the model reads before predicting the next.
    pub context: usize,
    /// MLP hidden width / LSTM hidden size / Transformer d_model.
    pub hidden: usize,
    /// MLP hidden layers / LSTM layers / Transformer encoder or decoder layers.
    pub layers: usize,
    /// Attention heads (Transformers).
    pub heads: usize,
    /// Feed-forward width inside each Transformer layer.
    pub ff: usize,
    /// Activation wherever the study uses ReLU.
    pub activation: Activation,
    pub dropout: f64,
    /// Residual connections between equal-width MLP hidden layers.
    pub residual: bool,
    /// Multiply the projected input by sqrt(d_model) before adding positions (Transformers).
    pub scale_input: bool,
    /// A skip connection from a baseline to the output. Absent from logs and checkpoints
    /// written before it existed, which are the study's models (`none`).
    #[serde(default)]
    pub skip: Skip,
    pub loss: LossKind,
    /// InfoNCE temperature.
    pub temperature: f64,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub batch: usize,
    pub epochs: usize,
    /// Stop after this many epochs without a new best validation cosine; 0 = never (the
    /// study). Absent from logs written before it existed.
    #[serde(default)]
    pub patience: usize,
    /// Linear learning-rate warm-up over this many optimiser steps (step s of the run uses
    /// lr · min(1, s / warmup)); 0 = none (the study).
    #[serde(default)]
    pub warmup: usize,
    pub seed: u64,
    pub split: SplitKind,
    /// Fraction of windows that validate.
    pub val_fraction: f64,
    /// All windows, or only those inside one document.
    #[serde(default)]
    pub windows: WindowsKind,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self::for_model(ModelKind::Mlp)
    }
}

impl RunConfig {
    /// The study's settings for one model.
    pub fn for_model(model: ModelKind) -> Self {
        let (hidden, layers, batch, lr, loss) = match model {
            ModelKind::Mlp => (1024, 1, 128, 1e-3, LossKind::Cosine),
            ModelKind::Lstm => (1024, 2, 128, 1e-3, LossKind::Cosine),
            ModelKind::Transformer => (512, 4, 64, 1e-3, LossKind::Cosine),
            ModelKind::TransformerInfonce => (512, 4, 64, 1e-4, LossKind::Infonce),
            // hidden and layers mean nothing to it; the MLP's values keep links short.
            ModelKind::Linear => (1024, 1, 128, 1e-3, LossKind::Cosine),
        };
        Self {
            dataset: "wiki-29k".into(),
            sample: 0,
            model,
            context: 5,
            hidden,
            layers,
            heads: 8,
            ff: 2048,
            activation: Activation::Relu,
            dropout: 0.1,
            residual: false,
            scale_input: false,
            skip: Skip::None,
            loss,
            temperature: 0.07,
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            batch,
            epochs: 30,
            patience: 0,
            warmup: 0,
            seed: 42,
            split: SplitKind::Ordered,
            val_fraction: 0.1,
            windows: WindowsKind::All,
        }
    }

    /// The query string that describes this run (every key, fixed order). Keys added after
    /// links were first shared ([`LATER_KEYS`]) are written only when they are not at the value
    /// that means what those links meant, so every earlier run keeps its query string (and the
    /// sha256 its saved state is filed under).
    pub fn to_query(&self) -> String {
        FIELDS
            .iter()
            .map(|f| (f.key, (f.get)(self)))
            .filter(|(k, v)| !LATER_KEYS.iter().any(|(lk, lv)| lk == k && lv == v))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Strict decoding: the first problem is an error.
    pub fn from_query(query: &str) -> Result<Self, ConfigError> {
        let (config, mut errors) = Self::from_query_lenient(query);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(errors.swap_remove(0))
        }
    }

    /// Lenient decoding for the browser: every key that cannot be used keeps its default and
    /// is reported, so a half-broken link still opens with as much of the run as it names.
    pub fn from_query_lenient(query: &str) -> (Self, Vec<ConfigError>) {
        let (pairs, mut errors) = split_query(query, MAX_QUERY_PAIRS);
        let (config, more) = Self::from_pairs(&pairs);
        errors.extend(more);
        (config, errors)
    }

    /// Builds a config from decoded `(key, value)` pairs, each key at most once: the model's
    /// defaults, then every pair applied. Keys that cannot be used keep their defaults and are
    /// reported.
    pub fn from_pairs(pairs: &[(String, String)]) -> (Self, Vec<ConfigError>) {
        let mut errors = Vec::new();
        // The model decides the defaults of the other keys, so it is read first.
        let mut config = Self::default();
        if let Some((_, v)) = pairs.iter().find(|(k, _)| k == "model") {
            match v.parse::<ModelKind>() {
                Ok(model) => config = Self::for_model(model),
                Err(()) => errors.push(ConfigError::new(
                    "model",
                    format!("'{}' is not one of {}", clip(v), ModelKind::ALLOWED),
                )),
            }
        }
        for (k, v) in pairs.iter().filter(|(k, _)| k != "model") {
            match FIELDS.iter().find(|f| f.key == k) {
                Some(field) => {
                    if let Err(msg) = (field.set)(&mut config, v) {
                        errors.push(ConfigError::new(k, msg));
                    }
                }
                None => errors.push(ConfigError::new(
                    k,
                    format!(
                        "is not a known parameter (known: {})",
                        FIELDS.iter().map(|f| f.key).collect::<Vec<_>>().join(", ")
                    ),
                )),
            }
        }
        // Keys that are each fine but together impossible fall back to the model's defaults.
        for err in config.cross_check() {
            let defaults = Self::for_model(config.model);
            if let Some(field) = FIELDS.iter().find(|f| f.key == err.key) {
                let _ = (field.set)(&mut config, &(field.get)(&defaults));
            }
            errors.push(err);
        }
        (config, errors)
    }

    /// Every key, in the order `to_query` writes them, with the values it takes.
    pub fn keys() -> impl Iterator<Item = (&'static str, FieldKind)> {
        FIELDS.iter().map(|f| (f.key, f.kind))
    }

    /// The value of one key as the query string writes it.
    pub fn get(&self, key: &str) -> Option<String> {
        FIELDS.iter().find(|f| f.key == key).map(|f| (f.get)(self))
    }

    /// Sets one key from its query-string form; on error the config is unchanged. Changing
    /// `model` keeps the other values (use [`RunConfig::for_model`] for its defaults).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let field = FIELDS
            .iter()
            .find(|f| f.key == key)
            .ok_or_else(|| ConfigError::new(key, "is not a known parameter".to_string()))?;
        let mut next = self.clone();
        (field.set)(&mut next, value).map_err(|m| ConfigError::new(key, m))?;
        if let Some(err) = next.cross_check().into_iter().next() {
            return Err(err);
        }
        *self = next;
        Ok(())
    }

    /// Checks every field's range and the constraints between fields.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for field in FIELDS {
            let mut copy = self.clone();
            (field.set)(&mut copy, &(field.get)(self))
                .map_err(|m| ConfigError::new(field.key, m))?;
        }
        match self.cross_check().into_iter().next() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    fn cross_check(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if self.model.is_transformer() && !self.hidden.is_multiple_of(self.heads) {
            errors.push(ConfigError::new(
                "heads",
                format!("must divide hidden ({}) for a Transformer", self.hidden),
            ));
        }
        if self.model.is_transformer() && !self.hidden.is_multiple_of(2) {
            errors.push(ConfigError::new(
                "hidden",
                "must be even for sinusoidal positions".to_string(),
            ));
        }
        if self.loss == LossKind::Infonce && self.batch < 2 {
            errors.push(ConfigError::new(
                "batch",
                "must be at least 2 for InfoNCE (in-batch negatives)".to_string(),
            ));
        }
        errors
    }
}

/// Serde for a `RunConfig` field written as its query string: the page–worker messages carry
/// a typed config that reads, on the wire, like the link it came from (and that a script
/// writes by hand); decoding is the strict [`RunConfig::from_query`].
pub mod as_query {
    use super::RunConfig;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(config: &RunConfig, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&config.to_query())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RunConfig, D::Error> {
        let query = String::deserialize(d)?;
        RunConfig::from_query(&query).map_err(serde::de::Error::custom)
    }
}

/// A problem with one key of a run config.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", if key.is_empty() { message.clone() } else { format!("parameter '{key}': {message}") })]
pub struct ConfigError {
    /// The offending key ("" for the query string as a whole).
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: &str, message: String) -> Self {
        Self {
            key: key.chars().take(64).collect(),
            message,
        }
    }
}

type Getter = fn(&RunConfig) -> String;
type Setter = fn(&mut RunConfig, &str) -> Result<(), String>;

struct Field {
    key: &'static str,
    kind: FieldKind,
    get: Getter,
    set: Setter,
}

/// What values a key takes, so a form can offer the right input for it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldKind {
    Integer {
        lo: u64,
        hi: u64,
    },
    Number {
        lo: f64,
        hi: f64,
    },
    Bool,
    /// One of these names (comma-separated).
    Choice(&'static str),
    Text,
}

fn parse_usize(v: &str, lo: usize, hi: usize) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(x) if (lo..=hi).contains(&x) => Ok(x),
        _ => Err(format!("'{}' is not an integer in {lo}..={hi}", clip(v))),
    }
}

fn parse_f64(v: &str, lo: f64, hi: f64) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= lo && x <= hi => Ok(x),
        _ => Err(format!("'{}' is not a number in [{lo}, {hi}]", clip(v))),
    }
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("'{}' is not one of true, false", clip(v))),
    }
}

fn parse_enum<T: FromStr>(v: &str, allowed: &str) -> Result<T, String> {
    v.parse::<T>()
        .map_err(|_| format!("'{}' is not one of {allowed}", clip(v)))
}

/// Prefix of a user dataset's name; the rest is the sha256 of its vectors file.
pub const OWN_PREFIX: &str = "sha256-";

/// Whether `dataset` names a user dataset rather than one shipped in `datasets/`.
pub fn is_own(dataset: &str) -> bool {
    dataset
        .strip_prefix(OWN_PREFIX)
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn parse_dataset(v: &str) -> Result<String, String> {
    let ok = is_own(v)
        || !v.is_empty()
            && v.len() <= 64
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            && !v.starts_with('.');
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!(
            "'{}' is not a dataset name (1-64 of a-z, A-Z, 0-9, '-', '_', '.', not starting with '.'; or sha256-<64 hex digits>)",
            clip(v)
        ))
    }
}

/// Error messages quote at most this much of a bad value.
fn clip(v: &str) -> String {
    let mut s: String = v.chars().take(40).collect();
    if s.len() < v.len() {
        s.push('…');
    }
    s
}

macro_rules! field {
    ($key:literal, $name:ident, usize, $lo:expr, $hi:expr) => {
        Field {
            key: $key,
            kind: FieldKind::Integer { lo: $lo, hi: $hi },
            get: |c| c.$name.to_string(),
            set: |c, v| {
                c.$name = parse_usize(v, $lo, $hi)?;
                Ok(())
            },
        }
    };
    ($key:literal, $name:ident, f64, $lo:expr, $hi:expr) => {
        Field {
            key: $key,
            kind: FieldKind::Number { lo: $lo, hi: $hi },
            get: |c| c.$name.to_string(),
            set: |c, v| {
                c.$name = parse_f64(v, $lo, $hi)?;
                Ok(())
            },
        }
    };
    ($key:literal, $name:ident, bool) => {
        Field {
            key: $key,
            kind: FieldKind::Bool,
            get: |c| c.$name.to_string(),
            set: |c, v| {
                c.$name = parse_bool(v)?;
                Ok(())
            },
        }
    };
    ($key:literal, $name:ident, enum $ty:ty) => {
        Field {
            key: $key,
            kind: FieldKind::Choice(<$ty>::ALLOWED),
            get: |c| c.$name.as_str().to_string(),
            set: |c, v| {
                c.$name = parse_enum::<$ty>(v, <$ty>::ALLOWED)?;
                Ok(())
            },
        }
    };
}

/// Keys added after links and run logs were first shared, with the value that means what a
/// link without them meant (the study's behaviour): `to_query` leaves them out at that value.
pub const LATER_KEYS: [(&str, &str); 3] = [("patience", "0"), ("warmup", "0"), ("windows", "all")];

/// Every key of the query string, in the order `to_query` writes them.
const FIELDS: &[Field] = &[
    Field {
        key: "dataset",
        kind: FieldKind::Text,
        get: |c| c.dataset.clone(),
        set: |c, v| {
            c.dataset = parse_dataset(v)?;
            Ok(())
        },
    },
    field!("sample", sample, usize, 0, 10_000_000),
    field!("model", model, enum ModelKind),
    field!("context", context, usize, 1, 64),
    field!("hidden", hidden, usize, 8, 8192),
    field!("layers", layers, usize, 1, 16),
    field!("heads", heads, usize, 1, 64),
    field!("ff", ff, usize, 8, 16384),
    field!("activation", activation, enum Activation),
    field!("dropout", dropout, f64, 0.0, 0.9),
    field!("residual", residual, bool),
    field!("scale_input", scale_input, bool),
    field!("skip", skip, enum Skip),
    field!("loss", loss, enum LossKind),
    field!("temperature", temperature, f64, 0.001, 10.0),
    field!("lr", lr, f64, 1e-7, 1.0),
    field!("beta1", beta1, f64, 0.0, 0.9999),
    field!("beta2", beta2, f64, 0.0, 0.99999),
    field!("eps", eps, f64, 1e-12, 1e-2),
    field!("batch", batch, usize, 1, 4096),
    field!("epochs", epochs, usize, 1, 1000),
    field!("patience", patience, usize, 0, 1000),
    field!("warmup", warmup, usize, 0, 10_000_000),
    Field {
        key: "seed",
        kind: FieldKind::Integer {
            lo: 0,
            hi: u64::MAX,
        },
        get: |c| c.seed.to_string(),
        set: |c, v| {
            c.seed = v
                .parse::<u64>()
                .map_err(|_| format!("'{}' is not an integer in 0..={}", clip(v), u64::MAX))?;
            Ok(())
        },
    },
    field!("split", split, enum SplitKind),
    field!("val_fraction", val_fraction, f64, 0.01, 0.5),
    field!("windows", windows, enum WindowsKind),
];

/// Splits a query string (with or without its `?`) into decoded `(key, value)` pairs, each key
/// once, bounded to [`MAX_QUERY_LEN`] bytes and `max_pairs` pairs. What cannot be used is
/// reported and left out.
pub fn split_query(query: &str, max_pairs: usize) -> (Vec<(String, String)>, Vec<ConfigError>) {
    let mut errors = Vec::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let query = query.strip_prefix('?').unwrap_or(query);
    if query.len() > MAX_QUERY_LEN {
        errors.push(ConfigError::new(
            "",
            format!(
                "query string is {} bytes; at most {MAX_QUERY_LEN} allowed",
                query.len()
            ),
        ));
        return (pairs, errors);
    }
    for (n, part) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
        if n >= max_pairs {
            errors.push(ConfigError::new(
                "",
                format!("more than {max_pairs} parameters"),
            ));
            break;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match (percent_decode(k), percent_decode(v)) {
            (Some(k), Some(v)) => {
                if pairs.iter().any(|(seen, _)| *seen == k) {
                    errors.push(ConfigError::new(&k, "given more than once".to_string()));
                } else {
                    pairs.push((k, v));
                }
            }
            _ => errors.push(ConfigError::new(
                &String::from_utf8_lossy(k.as_bytes()),
                "is not valid percent-encoded UTF-8".to_string(),
            )),
        }
    }
    (pairs, errors)
}

/// Decodes `%XX` escapes and `+` (space); `None` for a bad escape or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_model() {
        for model in ModelKind::ALL {
            let mut c = RunConfig::for_model(model);
            c.seed = u64::MAX;
            c.lr = 3.3e-4;
            c.dropout = 0.25;
            c.residual = true;
            let q = c.to_query();
            assert_eq!(RunConfig::from_query(&q).unwrap(), c, "{q}");
            assert_eq!(RunConfig::from_query(&format!("?{q}")).unwrap(), c);
        }
    }

    #[test]
    fn defaults_follow_the_model() {
        let c = RunConfig::from_query("model=transformer-infonce").unwrap();
        assert_eq!(c.batch, 64);
        assert_eq!(c.lr, 1e-4);
        assert_eq!(c.loss, LossKind::Infonce);
        assert_eq!(c.hidden, 512);
        // Order of keys does not matter.
        let c = RunConfig::from_query("batch=7&model=lstm").unwrap();
        assert_eq!((c.model, c.batch, c.hidden), (ModelKind::Lstm, 7, 1024));
        assert_eq!(RunConfig::from_query("").unwrap(), RunConfig::default());
    }

    #[test]
    fn errors_name_key_and_range() {
        let e = RunConfig::from_query("lr=5").unwrap_err();
        assert_eq!(e.key, "lr");
        assert!(e.message.contains("[0.0000001, 1]"), "{}", e.message);
        let e = RunConfig::from_query("bogus=1").unwrap_err();
        assert_eq!(e.key, "bogus");
        assert!(e.to_string().contains("not a known parameter"));
        let e = RunConfig::from_query("model=rnn").unwrap_err();
        assert!(e
            .message
            .contains("mlp, lstm, transformer, transformer-infonce"));
        let e = RunConfig::from_query("epochs=0").unwrap_err();
        assert_eq!(e.key, "epochs");
        assert!(e.message.contains("1..=1000"));
        let e = RunConfig::from_query("dropout=NaN").unwrap_err();
        assert_eq!(e.key, "dropout");
        let e = RunConfig::from_query("batch=3&batch=4").unwrap_err();
        assert!(e.message.contains("more than once"));
        let e = RunConfig::from_query("dataset=../etc").unwrap_err();
        assert_eq!(e.key, "dataset");
        let e = RunConfig::from_query("model=transformer&heads=7").unwrap_err();
        assert_eq!(e.key, "heads");
    }

    #[test]
    fn lenient_keeps_what_it_can() {
        let (c, errs) = RunConfig::from_query_lenient("model=lstm&epochs=abc&lr=0.01&zz=%ZZ");
        assert_eq!(c.model, ModelKind::Lstm);
        assert_eq!(c.epochs, 30);
        assert_eq!(c.lr, 0.01);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].key, "zz");
        assert_eq!(errs[1].key, "epochs");
        let (c, errs) = RunConfig::from_query_lenient("model=transformer&heads=7");
        assert_eq!(c.heads, 8);
        assert_eq!(errs.len(), 1);
    }

    #[test]
    fn bounded_and_never_panics() {
        let long = "a=".to_string() + &"x".repeat(MAX_QUERY_LEN);
        assert!(RunConfig::from_query(&long).is_err());
        let many = vec!["x=1"; 100].join("&");
        let (_, errs) = RunConfig::from_query_lenient(&many);
        assert!(errs.iter().any(|e| e.message.contains("more than 64")));
        // A cheap deterministic fuzz over awkward bytes.
        let alphabet: Vec<char> = "=&%+?az09.-_\u{e9}\u{1F600}\0 lrmodelbatch"
            .chars()
            .collect();
        let mut rng = crate::base::rng::Rng::new(1);
        for _ in 0..20_000 {
            let n = rng.below(40);
            let s: String = (0..n)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            let _ = RunConfig::from_query_lenient(&s);
        }
    }

    #[test]
    fn new_keys_round_trip_and_old_queries_are_unchanged() {
        // What every query and link said before these keys existed (the README's example).
        let lstm = "dataset=wiki-29k&sample=0&model=lstm&context=5&hidden=1024&layers=2&heads=8&\
                    ff=2048&activation=relu&dropout=0.1&residual=false&scale_input=false&\
                    skip=none&loss=cosine&temperature=0.07&lr=0.001&beta1=0.9&beta2=0.999&\
                    eps=0.00000001&batch=128&epochs=30&seed=42&split=ordered&val_fraction=0.1";
        let c = RunConfig::from_query(lstm).unwrap();
        assert_eq!(c, RunConfig::for_model(ModelKind::Lstm));
        assert_eq!((c.patience, c.warmup, c.windows), (0, 0, WindowsKind::All));
        assert_eq!(c.to_query(), lstm);
        // Set, they are written and read back.
        for model in ModelKind::ALL {
            let mut c = RunConfig::for_model(model);
            (c.patience, c.warmup, c.windows) = (5, 400, WindowsKind::Within);
            let q = c.to_query();
            assert!(
                q.contains("&patience=5&warmup=400&") && q.ends_with("&windows=within"),
                "{q}"
            );
            assert_eq!(RunConfig::from_query(&q).unwrap(), c);
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<RunConfig>(&json).unwrap(), c);
        }
        let c = RunConfig::from_query("model=linear&skip=last&windows=all&patience=0").unwrap();
        assert_eq!((c.model, c.skip), (ModelKind::Linear, Skip::Last));
        assert!(!c.to_query().contains("windows") && !c.to_query().contains("patience"));
        assert_eq!(
            RunConfig::from_query("windows=some").unwrap_err().message,
            "'some' is not one of all, within"
        );
        assert_eq!(
            RunConfig::from_query("patience=-1").unwrap_err().key,
            "patience"
        );
        assert_eq!(RunConfig::from_query("warmup=x").unwrap_err().key, "warmup");
        // A run log written before the keys existed reads as the study's behaviour.
        let mut old = serde_json::to_value(RunConfig::default()).unwrap();
        for key in ["patience", "warmup", "windows"] {
            old.as_object_mut().unwrap().remove(key);
        }
        assert_eq!(
            serde_json::from_value::<RunConfig>(old).unwrap(),
            RunConfig::default()
        );
    }

    #[test]
    fn json_round_trip_and_validate() {
        let c = RunConfig::for_model(ModelKind::Transformer);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<RunConfig>(&json).unwrap(), c);
        assert!(c.validate().is_ok());
        let mut bad = c.clone();
        bad.batch = 0;
        assert_eq!(bad.validate().unwrap_err().key, "batch");
    }
}
