//! The user's own datasets as the page lists them (the browser keeps their files; see
//! `web/page/own_data.rs`).

use crate::config::OWN_PREFIX;
use crate::data::dataset::Manifest;

/// A stored dataset, as the dataset control lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnDataset {
    /// `sha256-…`, what the URL says.
    pub name: String,
    /// The manifest's name, its size and the hash's first digits.
    pub label: String,
}

/// "mine, 300 × 384 (sha256-1a2b3c4d…)".
pub fn label(name: &str, manifest: &Manifest) -> String {
    format!(
        "{}, {} × {} ({}…)",
        manifest.name,
        manifest.count,
        manifest.dim,
        &name[..name.len().min(OWN_PREFIX.len() + 8)]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_names_the_data_its_size_and_the_hash() {
        let shipped = include_bytes!("../../datasets/brown-29k/manifest.json");
        let mut manifest = Manifest::parse(shipped).unwrap();
        (manifest.name, manifest.count, manifest.dim) = ("mine".into(), 300, 384);
        let name = format!("sha256-{}", "1a2b3c4d".repeat(8));
        assert_eq!(
            label(&name, &manifest),
            "mine, 300 × 384 (sha256-1a2b3c4d…)"
        );
    }
}
