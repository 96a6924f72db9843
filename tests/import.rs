//! The user's own files (`lvm_playground::data::import`, shared by the page's drop zone and `lvm
//! dataset import`): good ones become a dataset the shipped loader accepts, and every bad case
//! is refused with a message that names the file and the problem.

use lvm_playground::config::is_own;
use lvm_playground::data::dataset::Dataset;
use lvm_playground::data::import::{import_files, own_name, Given, Imported};
use lvm_playground::data::npy::{self, DType};

fn vectors(rows: &[Vec<f32>], dtype: DType) -> Vec<u8> {
    let dim = rows[0].len();
    let data: Vec<f32> = rows.iter().flatten().copied().collect();
    npy::write(&[rows.len(), dim], &data, dtype)
}

/// `n` distinct, non-unit 3-D vectors.
fn rows(n: usize) -> Vec<Vec<f32>> {
    (0..n)
        .map(|i| vec![1.0 + i as f32, 2.0, -0.5 * i as f32])
        .collect()
}

fn import(files: &[(&str, &[u8])]) -> Result<Imported, Vec<String>> {
    let given: Vec<Given> = files
        .iter()
        .map(|&(file, bytes)| Given { file, bytes })
        .collect();
    import_files(&given).map_err(|p| p.0)
}

fn problems(files: &[(&str, &[u8])]) -> Vec<String> {
    import(files).expect_err("refused")
}

/// The stored files go through the loader the shipped datasets go through.
fn reload(d: &Imported) -> Dataset {
    let manifest = serde_json::to_vec(&d.manifest).unwrap();
    Dataset::from_bytes(&manifest, &d.vectors, d.texts.as_deref()).expect("loads back")
}

#[test]
fn vectors_and_texts_become_a_dataset_named_by_the_vectors_sha256() {
    let npy = vectors(&rows(8), DType::F32);
    let texts = (0..8)
        .map(|i| format!("Sentence {i}.\n"))
        .collect::<String>();
    let d = import(&[("mine.npy", &npy), ("mine.txt", texts.as_bytes())]).unwrap();
    assert_eq!(d.name, own_name(&npy));
    assert!(is_own(&d.name), "{}", d.name);
    assert_eq!(d.name.len(), "sha256-".len() + 64);
    assert_eq!((d.manifest.count, d.manifest.dim), (8, 3));
    assert_eq!(d.manifest.dtype, "float32");
    assert_eq!(d.manifest.name, "mine");
    let loaded = reload(&d);
    for i in 0..8 {
        let v = loaded.vector(i);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-6, "row {i} norm {norm}");
        // Same direction as given.
        let given = &rows(8)[i];
        let g: f32 = given.iter().map(|x| x * x).sum::<f32>().sqrt();
        for (a, b) in v.iter().zip(given) {
            assert!((a - b / g).abs() < 1e-6);
        }
    }
    assert_eq!(loaded.texts.unwrap()[7], "Sentence 7.");
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("8 vectors were scaled")),
        "{:?}",
        d.warnings
    );
    assert!(
        d.warnings.iter().any(|w| w.contains("too few")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn float16_vectors_stay_float16_and_unit_vectors_are_not_reported() {
    let unit: Vec<Vec<f32>> = (0..3)
        .map(|i| {
            let mut v = vec![0.0; 4];
            v[i] = 1.0;
            v
        })
        .collect();
    let npy = vectors(&unit, DType::F16);
    let d = import(&[("v.npy", &npy)]).unwrap();
    assert_eq!(d.manifest.dtype, "float16");
    assert!(d.texts.is_none());
    assert!(!d.warnings.iter().any(|w| w.contains("scaled")));
    assert_eq!(d.manifest.documents.len(), 1);
    assert_eq!(d.manifest.documents[0].count, 3);
    reload(&d);
}

#[test]
fn document_boundaries_come_from_blank_lines_or_document_lines() {
    let npy = vectors(&rows(5), DType::F32);
    let txt = "A one.\nA two.\n\n\nB one.\nB two.\nB three.\n";
    let d = import(&[("v.npy", &npy), ("t.txt", txt.as_bytes())]).unwrap();
    let docs: Vec<(usize, usize)> = d
        .manifest
        .documents
        .iter()
        .map(|x| (x.start, x.count))
        .collect();
    assert_eq!(docs, [(0, 2), (2, 3)]);

    let jsonl = concat!(
        r#"{"title": "A", "sentences": ["a1", "a2", "a3"]}"#,
        "\n",
        r#"{"title": "B", "category": "x", "sentences": ["b1", "b2"]}"#,
        "\n"
    );
    let d = import(&[("v.npy", &npy), ("t.jsonl", jsonl.as_bytes())]).unwrap();
    let titles: Vec<&str> = d
        .manifest
        .documents
        .iter()
        .map(|x| x.title.as_str())
        .collect();
    assert_eq!(titles, ["A", "B"]);
    assert_eq!(reload(&d).texts.unwrap(), ["a1", "a2", "a3", "b1", "b2"]);

    let strings = "\"s1\"\n\"s2\"\n\"s3\"\n\"s4\"\n\"s5\"\n";
    let d = import(&[("v.npy", &npy), ("t.jsonl", strings.as_bytes())]).unwrap();
    assert_eq!(d.manifest.documents.len(), 1);
}

#[test]
fn every_problem_with_the_vectors_is_named_at_once() {
    let mut r = rows(10);
    r[2] = vec![0.0, 0.0, 0.0];
    r[4] = vec![f32::NAN, 1.0, 0.0];
    r[7] = vec![0.0, f32::INFINITY, 0.0];
    r[9] = vec![0.0, 0.0, 0.0];
    let npy = vectors(&r, DType::F32);
    let texts = "one\ntwo\n";
    let p = problems(&[("bad.npy", &npy), ("bad.txt", texts.as_bytes())]);
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(
        p[0].starts_with("bad.npy: vectors 4, 7 are not finite"),
        "{p:?}"
    );
    assert!(p[1].starts_with("bad.npy: vectors 2, 9 are zero"), "{p:?}");
    assert_eq!(
        p[2],
        "bad.txt has 2 sentences for the 10 vectors of bad.npy"
    );
}

#[test]
fn many_bad_rows_are_counted_not_all_listed() {
    let r = vec![vec![0.0f32, 0.0]; 20];
    let p = problems(&[("z.npy", &vectors(&r, DType::F32))]);
    assert_eq!(
        p,
        ["z.npy: 20 vectors (0, 1, 2, 3, 4, …) are zero (a zero vector has no direction to predict)"]
    );
}

#[test]
fn shapes_that_are_not_rows_of_vectors_are_refused() {
    let one_d = npy::write(&[6], &[1.0; 6], DType::F32);
    assert_eq!(
        problems(&[("a.npy", &one_d)]),
        ["a.npy: shape [6] is not [N, D] with N ≥ 1 and D in 1..=65536"]
    );
    let three_d = npy::write(&[2, 2, 2], &[1.0; 8], DType::F32);
    assert!(problems(&[("a.npy", &three_d)])[0].contains("shape [2, 2, 2]"));
    let empty = npy::write(&[0, 4], &[], DType::F32);
    assert!(problems(&[("a.npy", &empty)])[0].contains("shape [0, 4]"));
}

#[test]
fn files_that_are_not_float_npy_are_refused_with_the_readers_reason() {
    assert_eq!(
        problems(&[("x.npy", b"hello")]),
        ["x.npy: not a .npy file (missing the \\x93NUMPY magic)"]
    );
    let good = vectors(&rows(4), DType::F32);
    let truncated = &good[..good.len() - 5];
    assert!(problems(&[("x.npy", truncated)])[0].starts_with("x.npy: .npy data is"));
    // float64, as np.save writes by default.
    let mut f64_npy = good.clone();
    let at = good.windows(3).position(|w| w == b"<f4").unwrap();
    f64_npy[at..at + 3].copy_from_slice(b"<f8");
    let p = problems(&[("x.npy", &f64_npy)]);
    assert!(p[0].contains("unsupported dtype <f8"), "{p:?}");
}

#[test]
fn bad_texts_are_named_by_file_and_line() {
    let npy = vectors(&rows(3), DType::F32);
    let cases: [(&str, &[u8], &str); 5] = [
        ("t.txt", b"\xff\xfe bad", "t.txt: not UTF-8"),
        (
            "t.jsonl",
            b"\"a\"\n{not json}\n",
            "t.jsonl line 2: neither a JSON string",
        ),
        (
            "t.jsonl",
            b"\"a\"\n{\"title\": \"T\", \"sentences\": [\"b\", \"c\"]}\n",
            "t.jsonl line 2: sentence lines and document lines are mixed",
        ),
        (
            "t.jsonl",
            b"{\"title\": \"T\", \"sentences\": []}\n",
            "t.jsonl line 1: a document with no sentences",
        ),
        ("t.txt", b"\n\n  \n", "t.txt: no sentences in it"),
    ];
    for (file, bytes, want) in cases {
        let p = problems(&[("v.npy", &npy), (file, bytes)]);
        assert!(p[0].starts_with(want), "{file}: {p:?}");
    }
}

#[test]
fn the_files_given_must_be_one_of_each() {
    let npy = vectors(&rows(3), DType::F32);
    assert_eq!(
        problems(&[("t.txt", b"a\nb\nc\n")]),
        ["no .npy file of sentence vectors among the files given"]
    );
    assert_eq!(
        problems(&[("a.npy", &npy), ("dir/b.npy", &npy)]),
        ["a.npy and b.npy were given together; give one"]
    );
}

#[test]
fn a_dataset_folder_goes_through_the_shipped_loader() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/brown-29k/");
    let read = |f: &str| std::fs::read(format!("{dir}{f}")).unwrap();
    let (manifest, npy, texts) = (
        read("manifest.json"),
        read("vectors.npy"),
        read("texts.jsonl"),
    );
    let d = import(&[
        ("brown-29k/manifest.json", &manifest),
        ("brown-29k/vectors.npy", &npy),
        ("brown-29k/texts.jsonl", &texts),
    ])
    .unwrap();
    assert_eq!(d.name, own_name(&npy));
    assert_eq!(d.vectors, npy, "a folder is stored as given");
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(reload(&d).manifest.name, "brown-29k");

    // A manifest that disagrees with its vectors.
    let mut m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    m["dim"] = 384.into();
    let bad = serde_json::to_vec(&m).unwrap();
    let p = problems(&[("manifest.json", &bad), ("vectors.npy", &npy)]);
    assert!(p[0].starts_with("vectors.npy: shape"), "{p:?}");
}

#[test]
fn only_sha256_names_are_own_datasets() {
    assert!(!is_own("wiki-29k"));
    assert!(!is_own("sha256-abc"));
    assert!(!is_own(&format!("sha256-{}", "g".repeat(64))));
    assert!(is_own(&own_name(b"")));
    assert_eq!(
        own_name(b""),
        "sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn an_embedded_text_becomes_a_dataset_in_its_encoders_space() {
    use lvm_playground::data::embed::MINILM;
    let docs = lvm_playground::data::sentences::paragraphs(
        "The first sentence. The second one!\n\nA new paragraph starts here.\n",
    );
    assert_eq!(
        docs,
        [
            vec!["The first sentence.", "The second one!"],
            vec!["A new paragraph starts here."]
        ]
    );
    let vectors: Vec<f32> = (0..3 * 384).map(|i| ((i % 7) as f32) - 2.5).collect();
    let d = lvm_playground::data::import::from_embedded("pasted text", &docs, &vectors, &MINILM)
        .unwrap();
    assert_eq!((d.manifest.count, d.manifest.dim), (3, 384));
    assert_eq!(
        d.manifest.embedding.model,
        "sentence-transformers/all-MiniLM-L6-v2"
    );
    assert_eq!(d.manifest.embedding.max_tokens, 256);
    let titles: Vec<&str> = d
        .manifest
        .documents
        .iter()
        .map(|x| x.title.as_str())
        .collect();
    assert_eq!(titles, ["pasted text 1", "pasted text 2"]);
    let loaded = reload(&d);
    assert_eq!(loaded.texts.unwrap()[2], "A new paragraph starts here.");
    // Named by the vectors it stores, as a file given with these bytes would be.
    assert_eq!(
        d.name,
        own_name(&npy::write(&[3, 384], &vectors, DType::F32))
    );
}
