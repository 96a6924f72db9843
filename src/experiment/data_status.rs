//! The line under the dataset control: what the page's dataset is and where its download
//! stands. Plain text; the browser layer only puts it in place.

use crate::config::{is_own, RunConfig, WindowsKind};
use crate::data::dataset::Manifest;
use crate::experiment::own_datasets;

/// A shipped dataset's name, or a user dataset's label (its sha256 is too long to read).
pub fn shown_name(name: &str, manifest: Option<&Manifest>) -> String {
    match manifest {
        Some(m) if is_own(name) => own_datasets::label(name, m),
        _ if is_own(name) => format!("{}…", name.chars().take(15).collect::<String>()),
        _ => name.to_string(),
    }
}

pub fn unloaded(name: &str) -> String {
    format!(
        "{}: not downloaded yet; it downloads when a run trains.",
        shown_name(name, None)
    )
}

pub fn loading(name: &str, status: &str) -> String {
    format!("Loading {}: {status}", shown_name(name, None))
}

pub fn failed(name: &str, message: &str) -> String {
    format!("{}: {message}", shown_name(name, None))
}

/// A loaded dataset: its size and source, how many of its windows of `run`'s context stay
/// inside one document (and whether the runs keep only those), then "Ready." and, for a
/// dataset too small to rank runs, why.
pub fn ready(name: &str, manifest: &Manifest, run: &RunConfig) -> String {
    let (all, within) = manifest.window_counts(run.context);
    let mut text = format!(
        "{}: {} sentences from {} documents ({}), embedded with {}. {within} of its {all} \
         windows of {} sentences lie inside one document ({:.0}%){}. Ready.",
        shown_name(name, Some(manifest)),
        manifest.count,
        manifest.documents.len(),
        manifest.source.package,
        manifest.embedding.model,
        run.context,
        100.0 * within as f64 / all.max(1) as f64,
        if run.windows == WindowsKind::Within {
            "; this page's runs keep only those"
        } else {
            ""
        }
    );
    if let Some(w) = crate::data::import::few_windows(manifest.count) {
        text.push_str(&format!(" Note: {w}; the baselines still show."));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brown() -> Manifest {
        Manifest::parse(include_bytes!("../../datasets/brown-29k/manifest.json")).unwrap()
    }

    #[test]
    fn a_ready_dataset_says_its_size_its_windows_and_ready() {
        let m = brown();
        let mut run = RunConfig::default();
        let (all, within) = m.window_counts(run.context);
        let text = ready("brown-29k", &m, &run);
        assert!(text.starts_with(&format!(
            "brown-29k: {} sentences from {} documents (",
            m.count,
            m.documents.len()
        )));
        assert!(text.ends_with(&format!(
            "{within} of its {all} windows of 5 sentences lie inside one document ({:.0}%). Ready.",
            100.0 * within as f64 / all as f64
        )));
        run.windows = WindowsKind::Within;
        assert!(
            ready("brown-29k", &m, &run).ends_with("; this page's runs keep only those. Ready.")
        );
    }

    #[test]
    fn a_small_own_dataset_is_named_by_its_label_and_warned_about() {
        let mut m = brown();
        (m.name, m.count) = ("mine".into(), 40);
        m.documents.truncate(1);
        (m.documents[0].start, m.documents[0].count) = (0, 40);
        let name = format!("sha256-{}", "ab".repeat(32));
        let text = ready(&name, &m, &RunConfig::default());
        assert!(
            text.starts_with("mine, 40 × 768 (sha256-abababab…): 40 sentences"),
            "{text}"
        );
        assert!(text.contains(" Ready. Note: "), "{text}");
        assert!(text.ends_with("; the baselines still show."));
        assert_eq!(
            unloaded(&name),
            "sha256-abababab…: not downloaded yet; it downloads when a run trains."
        );
        assert_eq!(
            loading("wiki-29k", "12 of 45 MB"),
            "Loading wiki-29k: 12 of 45 MB"
        );
        assert_eq!(failed("wiki-29k", "offline"), "wiki-29k: offline");
    }
}
