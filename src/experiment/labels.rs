//! Names for the runs of an experiment that say what sets each apart from its siblings
//! ("Transformer · lr 1e-4", "MLP · context 20"), generated from the configs, never typed.

use crate::config::RunConfig;
use crate::experiment::page_state::{RunSpec, DATA_KEYS};

/// One label per run, in order. A key is named on a run when it varies among the runs of the
/// same model, or when it varies across the experiment and this run sets it away from its
/// model's default. Runs that are still indistinguishable get "#2", "#3", ….
pub fn labels(runs: &[RunSpec]) -> Vec<String> {
    let deltas: Vec<Vec<(&'static str, Option<String>)>> = runs.iter().map(delta).collect();
    let keys: Vec<&'static str> = RunConfig::keys()
        .map(|(k, _)| k)
        .filter(|&k| k != "model" && !DATA_KEYS.contains(&k))
        .collect();
    let value_of = |run: usize, key: &str| -> Option<String> {
        deltas[run]
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.clone())
    };
    let varies = |members: &[usize], key: &str| {
        members
            .windows(2)
            .any(|w| value_of(w[0], key) != value_of(w[1], key))
    };
    let all: Vec<usize> = (0..runs.len()).collect();
    let mut out: Vec<String> = runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            let model = run.config.model;
            let siblings: Vec<usize> = all
                .iter()
                .copied()
                .filter(|&j| runs[j].config.model == model)
                .collect();
            let mut parts = vec![model.display_name().to_string()];
            for &key in &keys {
                let named =
                    varies(&siblings, key) || (varies(&all, key) && value_of(i, key).is_some());
                if named {
                    parts.push(describe(key, &run.config.get(key).unwrap_or_default()));
                }
            }
            if run.repeats > 1 {
                parts.push(format!("{} seeds", run.repeats));
            }
            parts.join(" · ")
        })
        .collect();
    // Identical runs (a duplicate not yet changed) are told apart by their place.
    for i in 0..out.len() {
        let same: Vec<usize> = (i + 1..out.len()).filter(|&j| out[j] == out[i]).collect();
        for (n, j) in same.into_iter().enumerate() {
            out[j] = format!("{} #{}", out[j], n + 2);
        }
    }
    out
}

/// Each key's value where it differs from the model's study default (`None` where equal).
fn delta(run: &RunSpec) -> Vec<(&'static str, Option<String>)> {
    let defaults = RunConfig::for_model(run.config.model);
    RunConfig::keys()
        .map(|(k, _)| {
            let v = run.config.get(k);
            (k, if v != defaults.get(k) { v } else { None })
        })
        .collect()
}

/// "lr 1e-4", "context 20", "√d scaling", "activation gelu".
fn describe(key: &str, value: &str) -> String {
    let value = match value.parse::<f64>() {
        Ok(x) if value.contains('.') || value.contains('e') => short_number(x),
        _ => value.to_string(),
    };
    match (key, value.as_str()) {
        ("scale_input", "true") => "√d scaling".into(),
        ("scale_input", _) => "no √d scaling".into(),
        ("residual", "true") => "residual".into(),
        ("residual", _) => "no residual".into(),
        (k, v) => format!("{k} {v}"),
    }
}

/// 0.0001 -> "1e-4", 0.00025 -> "2.5e-4", 0.25 -> "0.25".
pub fn short_number(x: f64) -> String {
    if x != 0.0 && x.abs() < 0.01 {
        let exp = x.abs().log10().floor() as i32;
        let mantissa = x / 10f64.powi(exp);
        let m = format!("{mantissa:.3}");
        let m = m.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e{exp}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelKind;
    use crate::experiment::page_state::PageState;

    fn page(query: &str) -> PageState {
        let (s, errors) = PageState::from_query(query);
        assert!(errors.is_empty(), "{errors:?}");
        s
    }

    #[test]
    fn the_four_comparisons() {
        let s = page("runs=transformer,transformer&2.lr=0.0001");
        assert_eq!(
            labels(&s.runs),
            ["Transformer · lr 1e-3", "Transformer · lr 1e-4"]
        );
        let s = page("runs=mlp,mlp,mlp&2.context=10&3.context=20");
        assert_eq!(
            labels(&s.runs),
            ["MLP · context 5", "MLP · context 10", "MLP · context 20"]
        );
        let s = page("runs=mlp,mlp&2.loss=infonce");
        assert_eq!(labels(&s.runs), ["MLP · loss cosine", "MLP · loss infonce"]);
        let s = page("runs=mlp&1.repeats=3");
        assert_eq!(labels(&s.runs), ["MLP · 3 seeds"]);
    }

    #[test]
    fn the_study_needs_no_more_than_model_names() {
        // Hidden width and batch differ between these runs, but only as their models'
        // defaults do.
        let s = page("runs=mlp,lstm,transformer,transformer-infonce");
        assert_eq!(
            labels(&s.runs),
            ["MLP", "LSTM", "Transformer", "Transformer-InfoNCE"]
        );
    }

    #[test]
    fn a_key_set_on_one_model_is_named_there_only() {
        let s = page("runs=mlp,transformer,transformer&2.scale_input=true&3.skip=last");
        assert_eq!(
            labels(&s.runs),
            [
                "MLP",
                "Transformer · √d scaling · skip none",
                "Transformer · no √d scaling · skip last"
            ]
        );
    }

    #[test]
    fn duplicates_are_numbered() {
        let mut s = page("runs=lstm");
        s.duplicate(0).unwrap();
        s.add_run(ModelKind::Lstm).unwrap();
        assert_eq!(labels(&s.runs), ["LSTM", "LSTM #2", "LSTM #3"]);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short_number(0.0001), "1e-4");
        assert_eq!(short_number(0.00025), "2.5e-4");
        assert_eq!(short_number(1e-8), "1e-8");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(0.1), "0.1");
        assert_eq!(short_number(0.07), "0.07");
        assert_eq!(describe("lr", "0.001"), "lr 1e-3");
        assert_eq!(describe("hidden", "2048"), "hidden 2048");
    }

    #[test]
    fn the_collapse_lessons_runs_are_told_apart() {
        let names = labels(
            &PageState::of_lesson(crate::experiment::lessons::find("collapse").unwrap()).runs,
        );
        assert_eq!(
            names,
            [
                "Transformer · skip none · lr 1e-3 · patience 0",
                "Transformer · skip none · lr 1e-4 · patience 5 · 3 seeds",
                "Transformer · skip last · lr 1e-3 · patience 0"
            ]
        );
    }
}
