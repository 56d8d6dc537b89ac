//! Every `uses:` in our workflows and actions is pinned by full commit SHA (or
//! is a local `./` path), our own actions included, so a caller who pins a
//! reusable workflow by SHA never runs code that moves under it.

use std::path::PathBuf;

use serde_norway::Value;

use crate::composite::root;

fn files() -> Vec<PathBuf> {
    let mut out = vec![root().join("action.yml")];
    for dir in [".github/workflows", "actions"] {
        for entry in walk(&root().join(dir)) {
            if entry.file_name().is_some_and(|n| n == "action.yml")
                || (dir == ".github/workflows"
                    && entry.extension().is_some_and(|e| e == "yml" || e == "yaml"))
            {
                out.push(entry);
            }
        }
    }
    out
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn uses(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                if k.as_str() == Some("uses")
                    && let Some(s) = v.as_str()
                {
                    out.push(s.to_string());
                }
                uses(v, out);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|v| uses(v, out)),
        _ => {}
    }
}

/// Why `uses` is not acceptable, or `None`.
fn unpinned(uses: &str) -> Option<&'static str> {
    if uses.starts_with("./") {
        return None;
    }
    if let Some(image) = uses.strip_prefix("docker://") {
        return (!image.contains("@sha256:")).then_some("a Docker image not pinned by digest");
    }
    match uses.rsplit_once('@') {
        Some((_, r)) if r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()) => None,
        Some(_) => Some("pinned by a tag or branch, not a full commit SHA"),
        None => Some("not pinned at all"),
    }
}

#[test]
fn every_uses_is_pinned_by_full_sha() {
    let mut bad = Vec::new();
    let mut own = std::collections::BTreeSet::new();
    let mut seen = 0;
    for file in files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: Value = serde_norway::from_str(&text).unwrap();
        let mut all = Vec::new();
        uses(&doc, &mut all);
        for u in all {
            seen += 1;
            if let Some(why) = unpinned(&u) {
                bad.push(format!("{}: `{u}`: {why}", file.display()));
            }
            if u.starts_with("bitvault/") {
                own.insert(
                    u.rsplit_once('@')
                        .map(|(_, r)| r.to_string())
                        .unwrap_or_default(),
                );
            }
        }
    }
    assert!(seen > 10, "found only {seen} uses: the walk is broken");
    assert!(bad.is_empty(), "unpinned uses:\n{}", bad.join("\n"));
    assert!(
        own.len() <= 1,
        "our own actions are pinned to different commits {own:?}: run scripts/pin-own-actions.sh"
    );
}

#[test]
fn the_check_catches_unpinned_uses() {
    assert!(unpinned("bitvault/setup@v1").is_some());
    assert!(unpinned("actions/checkout@main").is_some());
    assert!(unpinned("actions/checkout").is_some());
    assert!(unpinned("docker://alpine:3").is_some());
    assert!(unpinned("actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683").is_none());
    assert!(unpinned("./actions/path-filter").is_none());
}
