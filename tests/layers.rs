//! The crate's layers import only downward, and no module imports itself in a loop.
//!
//! Reads every `crate::…` and `super::…` path in `src/` (comments aside), resolves it to the
//! module file it names, and fails naming the file, the line and the path when
//! - a module imports from a layer above its own (the order is `LAYERS` below, the same as
//!   `docs/architecture.md`), or from a layer beside it (`cli` and `web` never meet), or
//! - modules import each other in a loop (a parent's own `mod`/`pub use` of its children
//!   does not count: that is what a folder is).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom first. A folder may import from its own layer and any layer listed before it; the
/// last entries share one rank, as neither may import the other.
const LAYERS: &[&[&str]] = &[
    &["base"],
    &["config"],
    &["data"],
    &["models"],
    &["train"],
    &["session"],
    &["experiment"],
    &["cli", "web"],
    &["bin"],
];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|r| r.contains(&layer))
}

/// One `crate::`/`super::` path found in a file.
#[derive(Debug, Clone)]
struct Import {
    line: usize,
    text: String,
    /// The module file it resolves to (relative to `src/`).
    target: PathBuf,
}

/// A source file's module path: `src/data/windows.rs` is `[data, windows]`,
/// `src/web/page/mod.rs` is `[web, page]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap();
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

/// The deepest module file `segments` names, walking down from `src/`.
fn resolve(src: &Path, segments: &[String]) -> Option<PathBuf> {
    let mut dir = PathBuf::new();
    let mut found = None;
    for s in segments {
        let file = dir.join(format!("{s}.rs"));
        let folder = dir.join(s).join("mod.rs");
        if src.join(&file).is_file() {
            found = Some(file);
        } else if src.join(&folder).is_file() {
            found = Some(folder);
        } else {
            break;
        }
        dir = dir.join(s);
    }
    found
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The `::`-separated paths starting at `start` in `line`, a `{…}` group expanded one level
/// deep (`crate::a::{b, c::d}` gives `a::b` and `a::c::d`).
fn paths_at(line: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    for root in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(pos) = line[from..].find(root) {
            let at = from + pos;
            from = at + root.len();
            // Only whole words: not `my_crate::`, and `super::super::` once, from its first.
            if at > 0 && (is_ident(bytes[at - 1] as char) || line[..at].ends_with("::")) {
                continue;
            }
            let rest = &line[at..];
            let end = rest
                .find(|c: char| !(is_ident(c) || c == ':'))
                .unwrap_or(rest.len());
            let head = rest[..end].trim_end_matches(':');
            let segments: Vec<String> = head.split("::").map(str::to_string).collect();
            if rest[end..].starts_with('{') && rest[..end].ends_with("::") {
                let close = rest[end..].find('}').map_or(rest.len(), |c| end + c);
                for item in rest[end + 1..close].split(',') {
                    let item = item.trim();
                    if item.is_empty() || item == "self" {
                        out.push((head.to_string(), segments.clone()));
                        continue;
                    }
                    let item = item.split(" as ").next().unwrap().trim();
                    let mut s = segments.clone();
                    s.extend(item.split("::").map(str::to_string));
                    out.push((format!("{head}::{item}"), s));
                }
            } else {
                out.push((head.to_string(), segments));
            }
        }
    }
    out
}

/// Every Rust file under `src/`, relative to it.
fn sources(src: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, src: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(src).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(src, src, &mut out);
    out.sort();
    out
}

/// Each file's imports, resolved.
fn imports(src: &Path) -> BTreeMap<PathBuf, Vec<Import>> {
    let mut all = BTreeMap::new();
    for rel in sources(src) {
        let text = std::fs::read_to_string(src.join(&rel)).unwrap();
        let here = module_path(&rel);
        let mut found = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for (text, segments) in paths_at(code) {
                let mut base = here.clone();
                let mut rest = segments.as_slice();
                if rest[0] == "crate" {
                    base.clear();
                    rest = &rest[1..];
                }
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                let mut full = base;
                full.extend(rest.iter().cloned());
                // A path to the crate root itself (`crate::Foo`) names lib.rs.
                let target = resolve(src, &full).unwrap_or_else(|| PathBuf::from("lib.rs"));
                found.push(Import {
                    line: n + 1,
                    text,
                    target,
                });
            }
        }
        all.insert(rel, found);
    }
    all
}

fn layer_of(rel: &Path) -> Option<String> {
    let first = rel.iter().next()?.to_string_lossy().into_owned();
    (rel.iter().count() > 1).then_some(first)
}

/// Each import that goes up a layer or across to a layer of the same rank.
fn upward(all: &BTreeMap<PathBuf, Vec<Import>>) -> Vec<String> {
    let mut wrong = Vec::new();
    for (file, list) in all {
        let Some(from) = layer_of(file) else { continue };
        let Some(from_rank) = rank(&from) else {
            wrong.push(format!(
                "src/{}: folder `{from}` is in no layer",
                file.display()
            ));
            continue;
        };
        for i in list {
            let Some(to) = layer_of(&i.target) else {
                continue;
            };
            let Some(to_rank) = rank(&to) else { continue };
            if to_rank > from_rank || (to_rank == from_rank && to != from) {
                wrong.push(format!(
                    "src/{}:{}: `{}` imports from layer `{to}`, above or beside its own layer `{from}`",
                    file.display(),
                    i.line,
                    i.text
                ));
            }
        }
    }
    wrong
}

/// Import loops between files, each as the chain of imports that closes it.
fn loops(all: &BTreeMap<PathBuf, Vec<Import>>) -> Vec<String> {
    // Edges file -> file, keeping the first import line that makes each; a parent folder's
    // edges into its own children are its `mod`/re-exports, not a dependency.
    let mut edges: BTreeMap<&PathBuf, BTreeMap<&PathBuf, &Import>> = BTreeMap::new();
    for (file, list) in all {
        let folder = file.parent().unwrap_or(Path::new(""));
        let is_parent = file
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        for i in list {
            if &i.target == file || (is_parent && i.target.starts_with(folder)) {
                continue;
            }
            edges.entry(file).or_default().entry(&i.target).or_insert(i);
        }
    }
    // Depth-first search; a back edge closes a loop.
    let mut found = BTreeSet::new();
    let mut state: BTreeMap<&PathBuf, u8> = BTreeMap::new(); // 1 on the stack, 2 done
    fn visit<'a>(
        node: &'a PathBuf,
        edges: &BTreeMap<&'a PathBuf, BTreeMap<&'a PathBuf, &'a Import>>,
        state: &mut BTreeMap<&'a PathBuf, u8>,
        stack: &mut Vec<&'a PathBuf>,
        found: &mut BTreeSet<String>,
    ) {
        state.insert(node, 1);
        stack.push(node);
        if let Some(next) = edges.get(node) {
            for &to in next.keys() {
                match state.get(to) {
                    Some(1) => {
                        let start = stack.iter().position(|n| *n == to).unwrap();
                        let mut chain: Vec<&PathBuf> = stack[start..].to_vec();
                        chain.push(to);
                        let steps: Vec<String> = chain
                            .windows(2)
                            .map(|w| {
                                let i = edges[w[0]][w[1]];
                                format!("src/{}:{} `{}`", w[0].display(), i.line, i.text)
                            })
                            .collect();
                        found.insert(format!("loop: {}", steps.join(" -> ")));
                    }
                    Some(_) => {}
                    None => visit(to, edges, state, stack, found),
                }
            }
        }
        stack.pop();
        state.insert(node, 2);
    }
    let nodes: Vec<&PathBuf> = all.keys().collect();
    for node in nodes {
        if !state.contains_key(node) {
            visit(node, &edges, &mut state, &mut Vec::new(), &mut found);
        }
    }
    found.into_iter().collect()
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn layers_import_only_downward() {
    let wrong = upward(&imports(&src()));
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_module_imports_itself_in_a_loop() {
    let found = loops(&imports(&src()));
    assert!(found.is_empty(), "import loops:\n{}", found.join("\n"));
}

#[test]
fn every_folder_of_src_is_a_layer() {
    for entry in std::fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                rank(&name).is_some(),
                "src/{name}/ is in no layer of tests/layers.rs"
            );
        } else {
            assert_eq!(
                path.file_name().unwrap(),
                "lib.rs",
                "{} lies outside the layers",
                path.display()
            );
        }
    }
}

/// The checker itself, on a crate made up here: an upward import and a loop are both found,
/// with their file and line; a downward import and a parent's re-export are not.
#[test]
fn the_checker_finds_an_upward_import_and_a_loop() {
    let dir = std::env::temp_dir().join(format!("layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = [
        ("lib.rs", "pub mod data;\npub mod train;\n"),
        (
            "data/mod.rs",
            "pub mod windows;\npub mod ridge;\npub use windows::Windows;\n",
        ),
        (
            "data/windows.rs",
            "// use crate::train::Trainer; (a comment)\nuse super::ridge::Ridge;\n",
        ),
        ("data/ridge.rs", "use crate::data::windows::Windows;\n"),
        ("train/mod.rs", "use crate::data::Windows;\n"),
        (
            "train/adam.rs",
            "use crate::{data::ridge::Ridge, train::Trainer};\n",
        ),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let all = imports(&dir);
    assert!(upward(&all).is_empty(), "{:?}", upward(&all));
    let found = loops(&all);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("src/data/windows.rs:2 `super::ridge::Ridge`"),
        "{}",
        found[0]
    );
    assert!(
        found[0].contains("src/data/ridge.rs:1 `crate::data::windows::Windows`"),
        "{}",
        found[0]
    );

    std::fs::write(dir.join("data/ridge.rs"), "use crate::train::adam;\n").unwrap();
    let wrong = upward(&imports(&dir));
    assert_eq!(
        wrong,
        ["src/data/ridge.rs:1: `crate::train::adam` imports from layer `train`, above or beside its own layer `data`"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
