//! Real Helm values files: set a digest next to every image in them and check that the
//! only difference is that one value, line by line and in meaning.

use std::path::PathBuf;

use bitvault_yamlpatch::{KeyPath, Target, get_value, set_value};
use serde_norway::{Mapping, Value};
use similar::{ChangeTag, TextDiff};

const D: &str = "sha256:abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd";

fn corpus_dir() -> PathBuf {
    let dir = match std::env::var_os("BITVAULT_SHARED") {
        Some(shared) => PathBuf::from(shared).join("corpus/helm-values"),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/helm-values")
        }
    };
    assert!(
        dir.is_dir(),
        "the Helm values corpus is missing at {}: check out the shared directory beside the repository \
         (../shared from the workspace root) or set BITVAULT_SHARED to the directory that contains corpus/helm-values",
        dir.display()
    );
    dir
}

fn load(src: &str) -> Value {
    serde_norway::from_str(src).expect("corpus file parses")
}

/// Key paths (through mappings only) of every mapping with `repository` and `tag`, and of
/// every `image` mapping with a `digest`.
fn image_paths(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let Value::Mapping(map) = value else { return };
    let has = |k: &str| map.contains_key(k);
    let is_image = path.last().is_some_and(|k| k == "image");
    if (has("repository") && has("tag")) || (is_image && has("digest")) {
        out.push(path.clone());
    }
    for (k, v) in map {
        if let Value::String(k) = k {
            path.push(k.clone());
            image_paths(v, path, out);
            path.pop();
        }
    }
}

fn set_in(value: &mut Value, path: &[String], new: Value) {
    let Value::Mapping(map) = value else {
        panic!("not a mapping at {path:?}")
    };
    let slot = map
        .entry(Value::String(path[0].clone()))
        .or_insert(Value::Null);
    if path.len() == 1 {
        *slot = new;
    } else {
        if slot.is_null() {
            *slot = Value::Mapping(Mapping::new());
        }
        set_in(slot, &path[1..], new);
    }
}

#[test]
fn every_image_in_the_corpus_changes_one_value_only() {
    let digest = D;
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the corpus to hold Helm values files, found {files:?}"
    );
    let mut total = 0;
    let mut added = 0;
    let mut replaced = 0;
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(file).unwrap();
        let before = load(&src);
        let mut paths = Vec::new();
        image_paths(&before, &mut Vec::new(), &mut paths);
        for (i, path) in paths.into_iter().enumerate() {
            let mut segments = path.clone();
            segments.push("digest".into());
            let key = KeyPath::from_segments(segments.clone());
            let target = Target::Helm(key.clone());
            let old = get_value(&src, &target).unwrap();
            let edited = set_value(&src, &target, digest)
                .unwrap_or_else(|e| panic!("{name}: setting {key}: {e}"));
            let after = &edited.text;
            total += 1;

            // Line by line: one line added, or one line replaced by the same line with the new value.
            let diff = TextDiff::from_lines(src.as_str(), after.as_str());
            let removed: Vec<&str> = diff
                .iter_all_changes()
                .filter(|c| c.tag() == ChangeTag::Delete)
                .map(|c| c.value())
                .collect();
            let inserted: Vec<&str> = diff
                .iter_all_changes()
                .filter(|c| c.tag() == ChangeTag::Insert)
                .map(|c| c.value())
                .collect();
            assert_eq!(inserted.len(), 1, "{name} {key}: inserted {inserted:?}");
            let new_line = inserted[0];
            assert!(new_line.contains(D), "{name} {key}: {new_line:?}");
            match &old {
                None if removed.is_empty() => {
                    added += 1;
                    assert_eq!(
                        new_line.trim_start(),
                        format!("digest: {D}\n"),
                        "{name} {key}"
                    );
                }
                old => {
                    replaced += 1;
                    assert_eq!(removed.len(), 1, "{name} {key}: removed {removed:?}");
                    let old = old.as_deref().unwrap_or("");
                    assert_eq!(
                        new_line.replacen(D, old, 1),
                        removed[0],
                        "{name} {key}: the changed line differs by more than the value"
                    );
                }
            }

            // In meaning: the re-parsed file equals the original with only that value set.
            let mut expected = before.clone();
            set_in(&mut expected, &segments, Value::String(D.into()));
            assert!(
                load(after) == expected,
                "{name} {key}: re-parsed file differs beyond the digest"
            );
            assert_eq!(
                get_value(after, &target).unwrap().as_deref(),
                Some(D),
                "{name} {key}"
            );

            // The same file with a BOM and CRLF line endings gets the same edit (checked
            // for the first images of each file only, to keep debug runs short).
            if i >= 3 {
                continue;
            }
            let crlf = format!("\u{feff}{}", src.replace('\n', "\r\n"));
            let edited_crlf = set_value(&crlf, &target, digest)
                .unwrap_or_else(|e| panic!("{name} (CRLF): setting {key}: {e}"));
            assert_eq!(
                edited_crlf.text,
                format!("\u{feff}{}", after.replace('\n', "\r\n")),
                "{name} (CRLF) {key}"
            );
        }
    }
    eprintln!(
        "corpus: {} files, {total} image paths ({added} added, {replaced} replaced)",
        files.len()
    );
    assert!(
        total >= 40,
        "expected many image paths in the corpus, found {total}"
    );
    assert!(added > 0 && replaced > 0);
}

/// Every mapping, empty mapping and empty value in the corpus (sampled evenly, to keep
/// debug test runs short) as a place to add `digest`: the shapes real files have.
fn all_mapping_paths(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Mapping(map) => {
            if !path.is_empty() && !map.contains_key("digest") {
                out.push(path.clone());
            }
            for (k, v) in map {
                if let Value::String(k) = k {
                    path.push(k.clone());
                    all_mapping_paths(v, path, out);
                    path.pop();
                }
            }
        }
        Value::Null if !path.is_empty() => out.push(path.clone()),
        _ => {}
    }
}

#[test]
fn adding_a_key_under_any_mapping_in_the_corpus_adds_one_line() {
    let digest = D;
    let mut total = 0;
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let file = entry.unwrap().path();
        if file.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(&file).unwrap();
        let before = load(&src);
        let mut paths = Vec::new();
        all_mapping_paths(&before, &mut Vec::new(), &mut paths);
        let step = paths.len().div_ceil(30).max(1);
        for path in paths.iter().step_by(step) {
            let mut segments = path.clone();
            segments.push("digest".into());
            let key = KeyPath::from_segments(segments.clone());
            let edited = match set_value(&src, &Target::Helm(key.clone()), digest) {
                Ok(edited) => edited,
                // Anchored, shared mappings are refused on purpose.
                Err(e) if e.to_string().contains("reused elsewhere") => continue,
                Err(e) => panic!("{name}: setting {key}: {e}"),
            };
            total += 1;
            let diff = TextDiff::from_lines(src.as_str(), edited.text.as_str());
            let changes: Vec<(ChangeTag, &str)> = diff
                .iter_all_changes()
                .filter(|c| c.tag() != ChangeTag::Equal)
                .map(|c| (c.tag(), c.value()))
                .collect();
            let inserts = changes.iter().filter(|c| c.0 == ChangeTag::Insert).count();
            let deletes = changes.len() - inserts;
            // One line added or changed; `key: ~` becomes `key:` plus the new line.
            let null_to_mapping = deletes == 1
                && inserts == 2
                && ["~", "null", "Null", "NULL"]
                    .iter()
                    .any(|t| changes[0].1.replacen(&format!(" {t}"), "", 1) == changes[1].1);
            assert!(
                (inserts == 1 && deletes <= 1) || null_to_mapping,
                "{name} {key}: expected one added or changed line, got {changes:?}"
            );
            let mut expected = before.clone();
            set_in(&mut expected, &segments, Value::String(D.into()));
            assert!(
                load(&edited.text) == expected,
                "{name} {key}: meaning changed"
            );
        }
    }
    eprintln!("corpus: added digest under {total} mappings");
    assert!(total >= 200, "expected to try many mappings, tried {total}");
}
