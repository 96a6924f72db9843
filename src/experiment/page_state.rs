//! The playground page's whole state, as its URL query string: an experiment, i.e. an ordered
//! list of runs.
//!
//! Every run is a whole [`RunConfig`] (any model, any knob, its own context, epochs and seed)
//! plus how many seeds it repeats over. The runs share their data (dataset, sample, split,
//! validation fraction: one download, one set of windows), so those keys are the page's
//! alone. The query holds the page's keys once, `runs=` with each run's model in order, and
//! for run `i` (1-based) only the keys that differ from its model's defaults, as `i.key`:
//!
//! ```text
//! dataset=wiki-29k&sample=4000&…&epochs=10&runs=transformer,transformer&2.lr=0.0001
//! ```
//!
//! Links written before experiments existed (`models=mlp,lstm&lstm.lr=…`, one run per model
//! kind) still open the same runs: `<model>.<key>` sets that key for every run of the model.
//! Like [`RunConfig::from_query_lenient`], decoding is bounded, never panics, and keeps every
//! key it can, naming each one it cannot use.

use crate::config::{split_query, ConfigError, ModelKind, RunConfig};
use crate::experiment::lessons::{Lesson, Shipped};

/// The keys that describe the data; every run on a page shares them.
pub const DATA_KEYS: [&str; 5] = ["dataset", "sample", "split", "val_fraction", "windows"];

/// Keys the page's shared controls set on every run at once: the data, and three that a run
/// may also set for itself.
pub const SHARED_KEYS: [&str; 8] = [
    "dataset",
    "sample",
    "split",
    "val_fraction",
    "windows",
    "context",
    "seed",
    "epochs",
];

/// Most runs on one page.
pub const MAX_RUNS: usize = 12;
/// Most seeds one run repeats over.
pub const MAX_REPEATS: usize = 5;
/// Most `key=value` pairs in a page query: an old link with four models' every knob is 70.
pub const MAX_PAGE_PAIRS: usize = 160;

/// Windows drawn for a page run by default: the first MLP epoch takes seconds in a browser;
/// `sample=0` trains on every window, as the study does.
pub const DEFAULT_SAMPLE: usize = 4000;
pub const DEFAULT_EPOCHS: usize = 10;

/// One run of an experiment: a config, trained over `repeats` seeds (`seed`, `seed + 1`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    pub config: RunConfig,
    pub repeats: usize,
}

impl RunSpec {
    /// The config of each repeat: the same run with seeds `seed`, `seed + 1`, ….
    pub fn seeds(&self) -> Vec<RunConfig> {
        (0..self.repeats as u64)
            .map(|k| RunConfig {
                seed: self.config.seed.wrapping_add(k),
                ..self.config.clone()
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PageState {
    /// The page's values of the shared keys, and the defaults a new run starts from.
    pub base: RunConfig,
    /// The experiment, in order; at most [`MAX_RUNS`].
    pub runs: Vec<RunSpec>,
    /// Start training as soon as the page has its data (`autostart=1`).
    pub autostart: bool,
    /// Hide the controls, for a class that should only watch (`hide=controls`).
    pub hide_controls: bool,
    /// The lesson this page tells (`lesson=collapse`): its story, and its runs' shipped logs.
    pub lesson: Option<&'static str>,
}

impl Default for PageState {
    fn default() -> Self {
        let base = RunConfig {
            sample: DEFAULT_SAMPLE,
            epochs: DEFAULT_EPOCHS,
            ..RunConfig::default()
        };
        let mut state = Self {
            base,
            runs: Vec::new(),
            autostart: false,
            hide_controls: false,
            lesson: None,
        };
        for model in [ModelKind::Mlp, ModelKind::Lstm, ModelKind::Transformer] {
            state.runs.push(state.new_run(model));
        }
        state
    }
}

fn is_shared(key: &str) -> bool {
    SHARED_KEYS.contains(&key)
}

fn is_data(key: &str) -> bool {
    DATA_KEYS.contains(&key)
}

fn known_key(key: &str) -> bool {
    RunConfig::keys().any(|(k, _)| k == key)
}

impl PageState {
    /// A run of `model` with the study's settings and the page's shared values.
    pub fn template(&self, model: ModelKind) -> RunConfig {
        let mut c = RunConfig::for_model(model);
        for key in SHARED_KEYS {
            if let Some(v) = self.base.get(key) {
                let _ = c.set(key, &v);
            }
        }
        c
    }

    pub fn new_run(&self, model: ModelKind) -> RunSpec {
        RunSpec {
            config: self.template(model),
            repeats: 1,
        }
    }

    /// Every training the page starts: each run's repeats, in order, as (run index, config).
    pub fn trainings(&self) -> Vec<(usize, RunConfig)> {
        self.runs
            .iter()
            .enumerate()
            .flat_map(|(i, r)| r.seeds().into_iter().map(move |c| (i, c)))
            .collect()
    }

    pub fn add_run(&mut self, model: ModelKind) -> Result<usize, ConfigError> {
        self.check_room()?;
        self.runs.push(self.new_run(model));
        Ok(self.runs.len() - 1)
    }

    /// Runs for run logs opened on the page (`lvm train`'s run.json, from here or a cluster):
    /// logs whose configs differ only in consecutive seeds become one run repeated over them.
    /// The logs must share their data; the page takes it (every run then trains on it).
    /// Returns, per log, the run it belongs to; nothing changes if any log cannot be shown.
    pub fn add_logged(&mut self, configs: &[RunConfig]) -> Result<Vec<usize>, ConfigError> {
        let mut page = self.clone();
        if let Some(first) = configs.first() {
            for key in DATA_KEYS {
                let value = first.get(key).unwrap_or_default();
                page.set_shared(key, &value)?;
            }
        }
        let placed = page.place_logged(configs)?;
        *self = page;
        Ok(placed)
    }

    fn place_logged(&mut self, configs: &[RunConfig]) -> Result<Vec<usize>, ConfigError> {
        let mut runs = self.runs.clone();
        let opened = runs.len();
        let mut placed = vec![0; configs.len()];
        // By seed, so that seeds 42, 43, 44 of one config join up whatever the files' order.
        let mut order: Vec<usize> = (0..configs.len()).collect();
        order.sort_by_key(|&n| configs[n].seed);
        let unseeded = |c: &RunConfig| RunConfig {
            seed: 0,
            ..c.clone()
        };
        for n in order {
            let c = &configs[n];
            c.validate()?;
            if let Some(key) = DATA_KEYS.iter().find(|k| c.get(k) != self.base.get(k)) {
                return Err(ConfigError::new(
                    key,
                    format!(
                        "log {} is a run on other data than log 1 ({key} {} against {}): one \
                         page shows runs on one dataset, sample and split",
                        n + 1,
                        c.get(key).unwrap_or_default(),
                        self.base.get(key).unwrap_or_default()
                    ),
                ));
            }
            // A run repeated over seeds s, s+1, …: the next seed joins it, so the page's link
            // trains exactly the logged runs.
            let joins = (opened..runs.len()).find(|&i| {
                let r = &runs[i];
                unseeded(&r.config) == unseeded(c)
                    && r.repeats < MAX_REPEATS
                    && r.config.seed.checked_add(r.repeats as u64) == Some(c.seed)
            });
            placed[n] = match joins {
                Some(i) => {
                    runs[i].repeats += 1;
                    i
                }
                None => {
                    if runs.len() >= MAX_RUNS {
                        return Err(ConfigError::new(
                            "runs",
                            format!("at most {MAX_RUNS} runs on one page"),
                        ));
                    }
                    runs.push(RunSpec {
                        config: c.clone(),
                        repeats: 1,
                    });
                    runs.len() - 1
                }
            };
        }
        self.runs = runs;
        Ok(placed)
    }

    /// A copy of run `i`, placed right after it.
    pub fn duplicate(&mut self, i: usize) -> Result<usize, ConfigError> {
        self.check_room()?;
        let run = self.run(i)?.clone();
        self.runs.insert(i + 1, run);
        Ok(i + 1)
    }

    pub fn remove(&mut self, i: usize) -> Result<(), ConfigError> {
        self.run(i)?;
        if self.runs.len() == 1 {
            return Err(ConfigError::new(
                "runs",
                "an experiment keeps at least one run".into(),
            ));
        }
        self.runs.remove(i);
        Ok(())
    }

    fn check_room(&self) -> Result<(), ConfigError> {
        if self.runs.len() >= MAX_RUNS {
            return Err(ConfigError::new(
                "runs",
                format!("at most {MAX_RUNS} runs on one page"),
            ));
        }
        Ok(())
    }

    fn run(&self, i: usize) -> Result<&RunSpec, ConfigError> {
        self.runs
            .get(i)
            .ok_or_else(|| ConfigError::new("runs", format!("there is no run {}", i + 1)))
    }

    /// Sets a shared key on the page and on every run.
    pub fn set_shared(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        if !is_shared(key) {
            return Err(ConfigError::new(key, "is not a shared parameter".into()));
        }
        // Check every run first so a bad value leaves them all as they were.
        let mut base = self.base.clone();
        base.set(key, value)?;
        let mut runs = self.runs.clone();
        for (i, r) in runs.iter_mut().enumerate() {
            r.config
                .set(key, value)
                .map_err(|e| ConfigError::new(&format!("{}.{}", i + 1, e.key), e.message))?;
        }
        self.base = base;
        self.runs = runs;
        Ok(())
    }

    /// Sets one key of run `i` (0-based); `model` switches the run to that model's defaults.
    pub fn set_run_key(&mut self, i: usize, key: &str, value: &str) -> Result<(), ConfigError> {
        let name = |k: &str| format!("{}.{k}", i + 1);
        self.run(i)?;
        if is_data(key) {
            return Err(ConfigError::new(
                &name(key),
                "is the page's data, shared by every run".into(),
            ));
        }
        match key {
            "model" => {
                let model = value.parse::<ModelKind>().map_err(|()| {
                    ConfigError::new(
                        &name(key),
                        format!(
                            "'{}' is not one of {}",
                            value.chars().take(40).collect::<String>(),
                            ModelKind::ALLOWED
                        ),
                    )
                })?;
                self.runs[i].config = self.template(model);
                Ok(())
            }
            "repeats" => {
                self.runs[i].repeats =
                    parse_repeats(value).map_err(|m| ConfigError::new(&name(key), m))?;
                Ok(())
            }
            _ => self.runs[i]
                .config
                .set(key, value)
                .map_err(|e| ConfigError::new(&name(&e.key), e.message)),
        }
    }

    /// The keys run `i` writes into the link: those that differ from its model's defaults.
    pub fn run_delta(&self, i: usize) -> Vec<(&'static str, String)> {
        let Some(run) = self.runs.get(i) else {
            return Vec::new();
        };
        let template = self.template(run.config.model);
        let mut delta: Vec<(&'static str, String)> = RunConfig::keys()
            .map(|(k, _)| k)
            .filter(|&k| k != "model" && !is_data(k))
            .filter_map(|k| {
                let v = run.config.get(k)?;
                (Some(&v) != template.get(k).as_ref()).then_some((k, v))
            })
            .collect();
        if run.repeats != 1 {
            delta.push(("repeats", run.repeats.to_string()));
        }
        delta
    }

    /// The query string: the shared keys, `runs`, each run's own keys, the options.
    pub fn to_query(&self) -> String {
        // A key added later is left out at the value links without it meant, so the links of
        // every earlier page read as they did.
        let mut parts: Vec<String> = SHARED_KEYS
            .iter()
            .map(|&k| (k, self.base.get(k).unwrap_or_default()))
            .filter(|(k, v)| !crate::config::LATER_KEYS.contains(&(k, v.as_str())))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let models: Vec<&str> = self.runs.iter().map(|r| r.config.model.as_str()).collect();
        parts.push(format!("runs={}", models.join(",")));
        for i in 0..self.runs.len() {
            for (k, v) in self.run_delta(i) {
                parts.push(format!("{}.{k}={}", i + 1, encode_value(&v)));
            }
        }
        if let Some(id) = self.lesson {
            parts.push(format!("lesson={id}"));
        }
        if self.autostart {
            parts.push("autostart=1".into());
        }
        if self.hide_controls {
            parts.push("hide=controls".into());
        }
        parts.join("&")
    }

    /// A lesson's experiment (its runs, without the lesson's page settings).
    pub fn of_lesson(lesson: &Lesson) -> Self {
        Self::from_query(lesson.query).0
    }

    /// A lesson's shipped logs as paths under the site root, per run in order: a campaign
    /// run's one per seed it repeats over, from its own seed up.
    pub fn lesson_logs(lesson: &Lesson) -> Vec<Vec<String>> {
        let state = Self::of_lesson(lesson);
        lesson
            .logs
            .iter()
            .zip(&state.runs)
            .map(|(shipped, run)| match *shipped {
                Shipped::Log(path) => vec![path.to_string()],
                Shipped::Campaign(name) => (run.config.seed..)
                    .take(run.repeats)
                    .map(|seed| {
                        let dataset = &run.config.dataset;
                        format!("datasets/{dataset}/runs/campaign-{name}-seed{seed}.json")
                    })
                    .collect(),
            })
            .collect()
    }

    /// Lenient decoding: every key that cannot be used keeps its default and is reported.
    pub fn from_query(query: &str) -> (Self, Vec<ConfigError>) {
        let (pairs, mut errors) = split_query(query, MAX_PAGE_PAIRS);
        let has = |k: &str| pairs.iter().any(|(key, _)| key == k);
        if !has("runs") && !has("models") {
            // A bare lesson link (`?lesson=linear`) opens the lesson's runs: its query first,
            // this link's own keys after it (they win).
            let lesson = pairs
                .iter()
                .find(|(k, _)| k == "lesson")
                .and_then(|(_, v)| crate::experiment::lessons::find(v));
            if let Some(l) = lesson {
                let query = query.trim_start_matches('?');
                return Self::from_query(&format!("{}&{query}", l.query));
            }
        }
        let mut state = Self::default();
        // The page's keys first, then per-model keys, then the list of runs, then each run's
        // own keys: the order of the pairs in the link does not matter.
        let mut models: Vec<(ModelKind, &str, &str)> = Vec::new();
        let mut run_keys: Vec<(usize, &str, &str, &str)> = Vec::new();
        let mut list: Option<(&str, &str)> = None;
        for (key, value) in &pairs {
            let (key, value) = (key.as_str(), value.as_str());
            let result = match key {
                "runs" | "models" => match list {
                    Some((other, _)) => Err(ConfigError::new(
                        key,
                        format!("a link lists its runs once (it has {other} already)"),
                    )),
                    None => {
                        list = Some((key, value));
                        Ok(())
                    }
                },
                "autostart" => parse_flag(key, value).map(|on| state.autostart = on),
                "lesson" => match crate::experiment::lessons::find(value) {
                    Some(lesson) => {
                        state.lesson = Some(lesson.id);
                        Ok(())
                    }
                    None => Err(ConfigError::new(
                        key,
                        format!(
                            "'{}' is not one of {}",
                            value.chars().take(40).collect::<String>(),
                            crate::experiment::lessons::LESSONS
                                .iter()
                                .map(|l| l.id)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )),
                },
                "hide" => parse_hide(value).map(|on| state.hide_controls = on),
                _ if is_shared(key) => state.base.set(key, value),
                _ => match key.split_once('.') {
                    Some((prefix, knob)) => match (prefix.parse::<usize>(), prefix.parse()) {
                        (Ok(n), _) => {
                            run_keys.push((n, knob, value, key));
                            Ok(())
                        }
                        (_, Ok(model))
                            if known_key(knob) && knob != "model" && !is_shared(knob) =>
                        {
                            models.push((model, knob, value));
                            Ok(())
                        }
                        (_, Ok(_)) if is_shared(knob) || knob == "model" => Err(ConfigError::new(
                            key,
                            "is shared by all runs of a page, not a model's knob".into(),
                        )),
                        _ => Err(unknown(key)),
                    },
                    None => Err(unknown(key)),
                },
            };
            if let Err(e) = result {
                errors.push(e);
            }
        }
        // A bad shared value was reported; the rest of the base still checks together.
        let mut templates: Vec<RunConfig> =
            ModelKind::ALL.iter().map(|&m| state.template(m)).collect();
        for (model, knob, value) in models {
            let t = &mut templates[model_index(model)];
            if let Err(e) = t.set(knob, value) {
                errors.push(ConfigError::new(&format!("{model}.{}", e.key), e.message));
            }
        }
        let template = |m: ModelKind| templates[model_index(m)].clone();
        match list {
            Some((key, value)) => {
                match parse_models(key, value) {
                    Ok(mut kinds) => {
                        if key == "models" {
                            // Old links: one run per model kind, in the page's order of kinds.
                            kinds.sort_by_key(|&m| model_index(m));
                            kinds.dedup();
                        }
                        if kinds.len() > MAX_RUNS {
                            errors.push(ConfigError::new(
                            key,
                            format!("{} runs; at most {MAX_RUNS} on one page, the rest are left out", kinds.len()),
                        ));
                            kinds.truncate(MAX_RUNS);
                        }
                        if !kinds.is_empty() || key == "models" {
                            state.runs = kinds
                                .into_iter()
                                .map(|m| RunSpec {
                                    config: template(m),
                                    repeats: 1,
                                })
                                .collect();
                        }
                    }
                    Err(e) => {
                        errors.push(e);
                        state.runs = default_runs(&template);
                    }
                }
            }
            None => state.runs = default_runs(&template),
        }
        if state.runs.is_empty() {
            // `models=` with nothing ticked opened an empty page before; a run is needed now.
            state.runs = vec![RunSpec {
                config: template(ModelKind::Mlp),
                repeats: 1,
            }];
        }
        for (n, knob, value, key) in run_keys {
            let result = match n.checked_sub(1).filter(|&i| i < state.runs.len()) {
                Some(_) if knob == "model" => Err(ConfigError::new(
                    key,
                    "a run's model is given in runs=".into(),
                )),
                Some(i) => state.set_run_key(i, knob, value),
                None => Err(ConfigError::new(
                    key,
                    format!("there is no run {n} (the link lists {})", state.runs.len()),
                )),
            };
            if let Err(e) = result {
                errors.push(ConfigError::new(key, e.message));
            }
        }
        (state, errors)
    }
}

fn default_runs(template: &dyn Fn(ModelKind) -> RunConfig) -> Vec<RunSpec> {
    [ModelKind::Mlp, ModelKind::Lstm, ModelKind::Transformer]
        .into_iter()
        .map(|m| RunSpec {
            config: template(m),
            repeats: 1,
        })
        .collect()
}

fn model_index(model: ModelKind) -> usize {
    ModelKind::ALL.iter().position(|&m| m == model).unwrap_or(0)
}

fn unknown(key: &str) -> ConfigError {
    ConfigError::new(
        key,
        format!(
            "is not a known parameter (known: runs, lesson, autostart, hide, {}, and <run>.<key> \
             such as 2.lr or <model>.<key> such as mlp.lr)",
            SHARED_KEYS.join(", ")
        ),
    )
}

fn parse_models(key: &str, value: &str) -> Result<Vec<ModelKind>, ConfigError> {
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|name| {
            name.parse::<ModelKind>().map_err(|()| {
                ConfigError::new(
                    key,
                    format!(
                        "'{}' is not one of {}",
                        name.chars().take(40).collect::<String>(),
                        ModelKind::ALLOWED
                    ),
                )
            })
        })
        .collect()
}

fn parse_repeats(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_REPEATS).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{}' is not an integer in 1..={MAX_REPEATS}",
            value.chars().take(40).collect::<String>()
        )),
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

fn parse_hide(value: &str) -> Result<bool, ConfigError> {
    match value {
        "controls" => Ok(true),
        "" | "none" => Ok(false),
        _ => Err(ConfigError::new(
            "hide",
            format!(
                "'{}' is not one of controls, none",
                value.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// Percent-encodes what a query value cannot hold as it is (values are config values, so
/// this is rare: a dataset name is plain already).
fn encode_value(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'&' | b'=' | b'%' | b'+' | b'#' | b' ' => format!("%{b:02X}"),
            _ => (b as char).to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Activation, Skip, MAX_QUERY_LEN};
    use crate::experiment::lessons::{find, LESSONS};

    fn open(query: &str) -> PageState {
        let (s, errors) = PageState::from_query(query);
        assert!(errors.is_empty(), "{query}: {errors:?}");
        s
    }

    #[test]
    fn an_experiment_round_trips_compactly() {
        let mut s = PageState::default();
        s.set_shared("sample", "1234").unwrap();
        s.set_shared("seed", "7").unwrap();
        s.runs = vec![s.new_run(ModelKind::Transformer)];
        s.duplicate(0).unwrap();
        s.set_run_key(1, "lr", "0.0001").unwrap();
        s.add_run(ModelKind::Mlp).unwrap();
        s.set_run_key(2, "context", "20").unwrap();
        s.set_run_key(2, "repeats", "3").unwrap();
        s.set_run_key(2, "activation", "gelu").unwrap();
        s.set_run_key(2, "skip", "last").unwrap();
        s.autostart = true;
        s.hide_controls = true;
        let q = s.to_query();
        assert_eq!(
            q,
            "dataset=wiki-29k&sample=1234&split=ordered&val_fraction=0.1&context=5&seed=7&\
             epochs=10&runs=transformer,transformer,mlp&2.lr=0.0001&3.context=20&\
             3.activation=gelu&3.skip=last&3.repeats=3&autostart=1&hide=controls"
        );
        let back = open(&q);
        assert_eq!(back, s);
        let mlp = &back.runs[2];
        assert_eq!((mlp.config.context, mlp.config.seed), (20, 7));
        assert_eq!(mlp.config.activation, Activation::Gelu);
        assert_eq!(mlp.config.skip, Skip::Last);
        assert_eq!(
            mlp.seeds().iter().map(|c| c.seed).collect::<Vec<_>>(),
            [7, 8, 9]
        );
        assert_eq!(back.trainings().len(), 5);
        assert_eq!(back.runs[1].config.lr, 1e-4);
        assert_eq!(back.runs[0].config.lr, 1e-3);
    }

    #[test]
    fn links_with_the_new_keys_round_trip() {
        let q = "dataset=brown-29k&sample=0&split=ordered&val_fraction=0.1&windows=within&\
                 context=5&seed=42&epochs=30&runs=linear,mlp,transformer&1.skip=mean&\
                 2.patience=5&3.lr=0.001&3.warmup=400";
        let s = open(q);
        assert_eq!(s.to_query(), q.replace("3.lr=0.001&", ""));
        assert_eq!(open(&s.to_query()), s);
        assert!(s
            .runs
            .iter()
            .all(|r| r.config.windows == crate::config::WindowsKind::Within));
        let models: Vec<ModelKind> = s.runs.iter().map(|r| r.config.model).collect();
        assert_eq!(
            models,
            [ModelKind::Linear, ModelKind::Mlp, ModelKind::Transformer]
        );
        assert_eq!(
            (s.runs[1].config.patience, s.runs[2].config.warmup),
            (5, 400)
        );
        // windows is the page's data: no run sets it alone.
        let (_, errors) = PageState::from_query("runs=mlp&1.windows=within");
        assert_eq!(errors[0].key, "1.windows");
        // At its default a link leaves it out, as every link before it did.
        let mut s = PageState::default();
        assert!(!s.to_query().contains("windows"));
        s.set_shared("windows", "within").unwrap();
        assert!(s.to_query().contains("&windows=within&"));
        s.set_shared("windows", "all").unwrap();
        assert_eq!(s, PageState::default());
    }

    #[test]
    fn the_four_comparisons_fit_in_one_link_each() {
        for q in [
            "runs=transformer,transformer&2.lr=0.0001",
            "runs=mlp,mlp,mlp&2.context=10&3.context=20",
            "runs=mlp,mlp&2.loss=infonce",
            "runs=mlp,lstm&1.repeats=3&2.repeats=3",
        ] {
            let s = open(q);
            assert_eq!(open(&s.to_query()), s, "{q}");
        }
        let s = open("runs=mlp,mlp,mlp&2.context=10&3.context=20");
        assert_eq!(
            s.runs.iter().map(|r| r.config.context).collect::<Vec<_>>(),
            [5, 10, 20]
        );
    }

    #[test]
    fn twelve_runs_with_every_knob_changed_fit() {
        let mut s = PageState::default();
        s.runs.clear();
        for k in 0..MAX_RUNS {
            let i = s.add_run(ModelKind::ALL[k % 4]).unwrap();
            for (key, value) in [
                ("lr", "0.00033"),
                ("dropout", "0.25"),
                ("hidden", "256"),
                ("layers", "2"),
                ("activation", "silu"),
                ("seed", "123456789"),
                ("epochs", "30"),
                ("context", "10"),
                ("skip", "mean"),
                ("repeats", "5"),
            ] {
                s.set_run_key(i, key, value).unwrap();
            }
        }
        assert!(s.add_run(ModelKind::Mlp).is_err());
        let q = s.to_query();
        assert!(q.len() < MAX_QUERY_LEN, "{}", q.len());
        assert_eq!(open(&q), s);
    }

    #[test]
    fn a_bare_lesson_link_opens_the_lessons_runs() {
        let lesson = find("linear").unwrap();
        let (bare, errors) = PageState::from_query("?lesson=linear&hide=controls");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(bare.runs, PageState::of_lesson(lesson).runs);
        assert_eq!((bare.lesson, bare.hide_controls), (Some("linear"), true));
        // The link's own keys win over the lesson's.
        let (own, _) = PageState::from_query("lesson=linear&epochs=2");
        assert!(own.runs.iter().all(|r| r.config.epochs == 2));
        // A link with its runs keeps them.
        let (listed, _) = PageState::from_query("lesson=linear&runs=mlp");
        assert_eq!(listed.runs.len(), 1);
    }

    #[test]
    fn shared_controls_set_every_run() {
        let mut s = open("runs=mlp,lstm&2.context=10");
        s.set_shared("context", "7").unwrap();
        assert!(s.runs.iter().all(|r| r.config.context == 7));
        assert!(s.set_shared("lr", "0.1").is_err());
        // A value no run can take leaves them all as they were.
        assert!(s.set_shared("epochs", "0").is_err());
        assert!(s.runs.iter().all(|r| r.config.epochs == 10));
        assert_eq!(
            s.set_run_key(0, "dataset", "brown-29k").unwrap_err().key,
            "1.dataset"
        );
    }

    #[test]
    fn switching_a_runs_model_takes_that_models_defaults() {
        let mut s = open("context=8&runs=mlp&1.lr=0.01");
        s.set_run_key(0, "model", "transformer-infonce").unwrap();
        let c = &s.runs[0].config;
        assert_eq!((c.lr, c.batch, c.context), (1e-4, 64, 8));
    }

    #[test]
    fn remove_and_duplicate_keep_order() {
        let mut s = open("runs=mlp,lstm,transformer");
        s.duplicate(1).unwrap();
        s.set_run_key(2, "lr", "0.0005").unwrap();
        let models: Vec<ModelKind> = s.runs.iter().map(|r| r.config.model).collect();
        assert_eq!(
            models,
            [
                ModelKind::Mlp,
                ModelKind::Lstm,
                ModelKind::Lstm,
                ModelKind::Transformer
            ]
        );
        s.remove(0).unwrap();
        assert_eq!(s.runs[1].config.lr, 0.0005);
        let mut one = open("runs=mlp");
        assert!(one.remove(0).is_err());
        assert!(one.remove(5).is_err());
    }

    #[test]
    fn opened_logs_become_runs_with_their_seeds() {
        let mut s = open("sample=0&runs=mlp");
        let mut c = s.template(ModelKind::Transformer);
        c.epochs = 30;
        let seeds: Vec<RunConfig> = (0..3)
            .map(|k| RunConfig {
                seed: 42 + k,
                ..c.clone()
            })
            .collect();
        let mut other = c.clone();
        other.lr = 1e-4;
        let logs = [seeds[2].clone(), other, seeds[0].clone(), seeds[1].clone()];
        // Taken by seed: the lr-1e-4 run (seed 42) comes first, then seeds 42, 43, 44.
        assert_eq!(s.add_logged(&logs).unwrap(), [2, 1, 2, 2]);
        assert_eq!(s.runs.len(), 3);
        assert_eq!((s.runs[2].repeats, s.runs[2].config.seed), (3, 42));
        // Seeds 42, 43, 44: the repeated run's own seeds, so its link trains the same runs.
        assert_eq!(
            s.runs[2].seeds().iter().map(|c| c.seed).collect::<Vec<_>>(),
            [42, 43, 44]
        );
        let before = s.clone();
        let mut brown = c.clone();
        brown.dataset = "brown-29k".into();
        let e = s.add_logged(&[c.clone(), brown.clone()]).unwrap_err();
        assert!(e.message.contains("other data"), "{e}");
        assert_eq!(s, before, "nothing changes");
        // Logs of other data than the page's: the page takes their data.
        let mut sampled = open("sample=4000&runs=mlp");
        assert_eq!(sampled.add_logged(&[brown]).unwrap(), [1]);
        assert_eq!(
            (sampled.base.sample, sampled.base.dataset.as_str()),
            (0, "brown-29k")
        );
        assert!(sampled.runs.iter().all(|r| r.config.sample == 0));
        // Seeds that do not follow on are runs of their own.
        let mut far = c.clone();
        far.seed = 50;
        assert_eq!(s.add_logged(&[far]).unwrap(), [3]);
    }

    /// Links as the page wrote them before experiments (every knob of each ticked model).
    const OLD_DEFAULT: &str = include_str!("../../tests/fixtures/links/old-default.txt");
    const OLD_CUSTOM: &str = include_str!("../../tests/fixtures/links/old-custom.txt");

    #[test]
    fn old_links_open_the_same_runs() {
        let s = open(OLD_DEFAULT.trim());
        assert_eq!(s, PageState::default());
        let s = open(OLD_CUSTOM.trim());
        let models: Vec<ModelKind> = s.runs.iter().map(|r| r.config.model).collect();
        assert_eq!(
            models,
            [
                ModelKind::Mlp,
                ModelKind::Transformer,
                ModelKind::TransformerInfonce
            ]
        );
        assert!(s.hide_controls && !s.autostart);
        for r in &s.runs {
            let mut want = RunConfig::for_model(r.config.model);
            want.sample = 2000;
            want.epochs = 3;
            match r.config.model {
                ModelKind::Mlp => want.activation = Activation::Gelu,
                ModelKind::Transformer => want.lr = 1e-4,
                _ => {}
            }
            assert_eq!(r.config, want);
        }
        // Rewritten in the new form, the link still means the same runs.
        assert_eq!(open(&s.to_query()), s);
    }

    #[test]
    fn old_links_keep_their_order_of_models() {
        let s = open("models=transformer,mlp,mlp&lstm.lr=0.0005");
        let models: Vec<ModelKind> = s.runs.iter().map(|r| r.config.model).collect();
        assert_eq!(models, [ModelKind::Mlp, ModelKind::Transformer]);
        // A model knob applies to every run of that model in a new link too.
        let s = open("runs=lstm,lstm&lstm.lr=0.0005&2.lr=0.0002");
        assert_eq!(s.runs[0].config.lr, 0.0005);
        assert_eq!(s.runs[1].config.lr, 0.0002);
    }

    #[test]
    fn bad_keys_are_named_and_the_rest_is_kept() {
        let (s, errors) = PageState::from_query(
            "?sample=99&runs=mlp,lstm&1.lr=banana&bogus=1&2.hidden=3&3.lr=0.1&transformer.heads=7&\
             1.repeats=9&2.dataset=x&seed=5&seed=6&models=mlp&1.model=lstm",
        );
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "seed",
                "bogus",
                "models",
                "transformer.heads",
                "1.lr",
                "2.hidden",
                "3.lr",
                "1.repeats",
                "2.dataset",
                "1.model"
            ]
        );
        assert!(errors[0].message.contains("more than once"));
        assert!(errors[6].message.contains("there is no run 3"));
        assert!(errors[4].to_string().contains("parameter '1.lr'"));
        assert_eq!(s.runs.len(), 2);
        assert!(s
            .runs
            .iter()
            .all(|r| r.config.sample == 99 && r.config.seed == 5));
        assert_eq!(s.runs[0].config.lr, 1e-3);
        assert_eq!(s.runs[0].repeats, 1);
        assert_eq!(s.runs[1].config.hidden, 1024);
    }

    #[test]
    fn too_many_runs_are_cut_and_named() {
        let list = ["mlp"; 20].join(",");
        let (s, errors) = PageState::from_query(&format!("runs={list}"));
        assert_eq!(s.runs.len(), MAX_RUNS);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("at most 12"), "{errors:?}");
    }

    #[test]
    fn bounded_and_never_panics() {
        let long = "a".repeat(MAX_QUERY_LEN + 1);
        assert_eq!(PageState::from_query(&long).1.len(), 1);
        let many = vec!["x=1"; 500].join("&");
        assert!(PageState::from_query(&many).1.len() <= MAX_PAGE_PAIRS + 1);
        let mut x = 0x9e3779b97f4a7c15u64;
        let alphabet = b"=&%.,_-0129azmlpstrnfoiu\xc3\xa9?+";
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
            assert!((1..=MAX_RUNS).contains(&s.runs.len()));
            for r in &s.runs {
                r.config.validate().unwrap();
                assert!((1..=MAX_REPEATS).contains(&r.repeats));
            }
            // Whatever opened, its own link opens it again.
            assert_eq!(PageState::from_query(&s.to_query()), (s.clone(), vec![]));
        }
    }

    #[test]
    fn every_lesson_opens_cleanly_with_a_log_slot_per_run() {
        assert!((4..=8).contains(&LESSONS.len()));
        for l in LESSONS {
            let (state, errors) = PageState::from_query(&l.link());
            assert!(errors.is_empty(), "{}: {errors:?}", l.id);
            assert!(state.hide_controls);
            assert_eq!(state.runs.len(), l.logs.len(), "{}", l.id);
            assert!(l.story.iter().all(|s| s.ends_with('.')), "{}", l.id);
            assert_eq!(find(l.id).map(|f| f.id), Some(l.id));
        }
    }

    /// Each shipped log is a full-data run of the lesson's run (its config but the sample and
    /// epochs, which the live retraining shrinks), one per seed the run repeats over, in order.
    #[test]
    fn shipped_logs_are_runs_of_the_lessons_configs() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for l in LESSONS {
            let state = PageState::of_lesson(l);
            for (run, logs) in state.runs.iter().zip(PageState::lesson_logs(l)) {
                assert_eq!(logs.len(), run.repeats, "{}: a log per seed", l.id);
                for (path, seed) in logs.iter().zip(run.config.seed..) {
                    let text = std::fs::read_to_string(root.join(path))
                        .unwrap_or_else(|e| panic!("{}: {path}: {e}", l.id));
                    let log: crate::train::log::RunLog = serde_json::from_str(&text).unwrap();
                    let mut want = run.config.clone();
                    (want.sample, want.epochs, want.seed) =
                        (log.config.sample, log.config.epochs, seed);
                    assert_eq!(log.config, want, "{}: {path}", l.id);
                    assert_eq!(log.config.sample, 0, "{}: {path} is a full-data run", l.id);
                }
            }
        }
    }
}
