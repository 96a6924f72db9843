//! The candle MPNet against sentence-transformers: every fixture sentence's vector must match
//! the reference (tests/fixtures/mpnet/expected.npy, made by scripts/make_mpnet_fixture.py)
//! with cosine >= 0.9999. Needs the model: scripts/fetch_model.py (run by .ci/run).

#![cfg(not(target_arch = "wasm32"))]

use lvm_playground::embed::{default_model_dir, Embedder, MAX_TOKENS};
use lvm_playground::metrics::cosine;
use std::path::PathBuf;

#[test]
fn matches_sentence_transformers() {
    let dir = default_model_dir();
    assert!(
        dir.join("model.safetensors").exists(),
        "no model in {}: run scripts/fetch_model.py (bash .ci/run does)",
        dir.display()
    );
    let embedder = Embedder::load(&dir).unwrap();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mpnet");
    let sentences: Vec<String> =
        serde_json::from_slice(&std::fs::read(fixture.join("sentences.json")).unwrap()).unwrap();
    let expected =
        lvm_playground::npy::read(&std::fs::read(fixture.join("expected.npy")).unwrap()).unwrap();
    assert_eq!(expected.shape, vec![sentences.len(), 768]);
    assert!(sentences.len() >= 20);
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let counts = embedder.token_counts(&texts).unwrap();
    assert_eq!(
        *counts.iter().max().unwrap(),
        MAX_TOKENS,
        "one text must be truncated at 384 tokens"
    );

    // Batched by length (with padding) and one at a time must both match.
    let batched = embedder.embed(&texts, 8, |_| {}).unwrap();
    for (i, text) in texts.iter().enumerate() {
        let want = &expected.data[i * 768..(i + 1) * 768];
        let got = &batched[i * 768..(i + 1) * 768];
        let c = cosine(got, want);
        assert!(
            c >= 0.9999,
            "sentence {i} {text:?}: cosine {c} with the reference"
        );
        let alone = embedder.embed_batch(&[text]).unwrap();
        assert!(cosine(&alone, want) >= 0.9999, "sentence {i} alone");
    }
}
