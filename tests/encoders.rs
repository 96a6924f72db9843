//! The candle encoders against sentence-transformers: every fixture sentence's vector must
//! match the reference (tests/fixtures/encoders/<name>.npy, made by
//! scripts/make_encoder_fixture.py) with cosine >= 0.9999, batched with padding and alone.
//! Needs the models: scripts/fetch_model.py for each (run by .ci/run).

#![cfg(not(target_arch = "wasm32"))]

use lvm_playground::data::cosine::cosine;
use lvm_playground::data::embed::{model_dir, Embedder, EncoderInfo, MINILM, MPNET};
use std::path::PathBuf;

fn matches_sentence_transformers(info: &'static EncoderInfo) {
    let dir = model_dir(info);
    assert!(
        dir.join("model.safetensors").exists(),
        "no model in {}: run scripts/fetch_model.py --model {} (bash .ci/run does)",
        dir.display(),
        info.name
    );
    let embedder = Embedder::load(&dir, info).unwrap();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoders");
    let sentences: Vec<String> =
        serde_json::from_slice(&std::fs::read(fixture.join("sentences.json")).unwrap()).unwrap();
    let expected = lvm_playground::data::npy::read(
        &std::fs::read(fixture.join(format!("{}.npy", info.name))).unwrap(),
    )
    .unwrap();
    let dim = info.dim;
    assert_eq!(expected.shape, vec![sentences.len(), dim]);
    assert!(sentences.len() >= 20);
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let counts = embedder.token_counts(&texts).unwrap();
    assert_eq!(
        *counts.iter().max().unwrap(),
        info.max_tokens,
        "one text must be truncated at {} tokens",
        info.max_tokens
    );

    let batched = embedder.embed(&texts, 8, |_| {}).unwrap();
    for (i, text) in texts.iter().enumerate() {
        let want = &expected.data[i * dim..(i + 1) * dim];
        let got = &batched[i * dim..(i + 1) * dim];
        let c = cosine(got, want);
        assert!(
            c >= 0.9999,
            "{} sentence {i} {text:?}: cosine {c} with the reference",
            info.name
        );
        let alone = embedder.embed_batch(&[text]).unwrap();
        assert!(cosine(&alone, want) >= 0.9999, "sentence {i} alone");
    }
}

#[test]
fn mpnet_matches_sentence_transformers() {
    matches_sentence_transformers(&MPNET);
}

#[test]
fn minilm_matches_sentence_transformers() {
    matches_sentence_transformers(&MINILM);
}
