//! Parity with dorny/paths-filter v3: the same filters YAML and changed
//! files must give the same outputs (names, values, order) as
//! `tests/node/dorny-oracle.js`, a mirror of dorny's published filter and
//! list-format semantics on the same npm packages. Needs node and
//! `npm ci --prefix crates/path-filter/tests/node`; skipped loudly without.

mod common;

use bitvault_path_filter::filter::{ChangedFile, FilterSet, Mode};
use bitvault_path_filter::list::ListFormat;
use bitvault_path_filter::report;
use common::{Rng, node_ready, run_node};
use serde_json::{Value, json};

const NAMES: &[&str] = &[
    "src",
    "docs",
    "backend",
    "web",
    "changes",
    "10",
    "2",
    "a|b",
    "with space",
    "ci",
    "x_y",
    "ünï",
];
const PATTERNS: &[&str] = &[
    "src/**",
    "docs/**",
    "**/*.md",
    "**/*.{js,ts}",
    "*.json",
    ".github/**",
    "!**/*.md",
    "!docs/**",
    "web/*",
    "**/test/**",
    "{src,lib}/**/*.rs",
    "!(*.md)",
    "**",
    "*",
    "README.md",
    "pkg/a/b/**",
    "[a-c]*/**",
    "**/*.y?(a)ml",
    "lib/**/!(*.spec).ts",
    "a b/**",
    "**/ünï*",
];
const STATUSES: &[&str] = &[
    "added", "modified", "deleted", "renamed", "copied", "unmerged",
];
const STATUS_KEYS: &[&str] = &[
    "added",
    "modified",
    "deleted",
    "added|modified",
    "ADDED | Deleted",
    "renamed|copied",
];
const SEGMENTS: &[&str] = &[
    "src",
    "docs",
    "web",
    "lib",
    "test",
    "pkg",
    "a",
    "b",
    ".github",
    "a b",
    "ünï",
    "x.md",
    "y.ts",
    "z.js",
    "main.rs",
    "c.json",
    "d.yaml",
    "e.yml",
    "f.spec.ts",
    "README.md",
    "it's.md",
    "q\"t.js",
    "-dash.rs",
    "$x",
];

fn yaml_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn random_item(rng: &mut Rng, depth: usize) -> String {
    match rng.below(if depth > 1 { 3 } else { 4 }) {
        0 => yaml_str(rng.pick(PATTERNS)),
        1 => {
            let n = 1 + rng.below(3);
            let items: Vec<String> = (0..n).map(|_| yaml_str(rng.pick(PATTERNS))).collect();
            format!("[{}]", items.join(", "))
        }
        2 => {
            let key = rng.pick(STATUS_KEYS);
            let pats: Vec<String> = (0..1 + rng.below(2))
                .map(|_| yaml_str(rng.pick(PATTERNS)))
                .collect();
            if rng.below(2) == 0 {
                format!("{{ {}: {} }}", yaml_str(key), pats[0])
            } else {
                format!("{{ {}: [{}] }}", yaml_str(key), pats.join(", "))
            }
        }
        _ => {
            let n = 1 + rng.below(3);
            let items: Vec<String> = (0..n).map(|_| random_item(rng, depth + 1)).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

fn random_filters(rng: &mut Rng) -> String {
    let mut yaml = String::new();
    let mut used = Vec::new();
    let n = 1 + rng.below(5);
    for i in 0..n {
        let name = rng.pick(NAMES);
        if used.contains(&name) {
            continue;
        }
        used.push(name);
        if i > 0 && rng.below(4) == 0 {
            // An alias of the first filter, nested in a list.
            yaml.push_str(&format!(
                "{}:\n  - *first\n  - {}\n",
                yaml_str(name),
                yaml_str(rng.pick(PATTERNS))
            ));
        } else if i == 0 {
            yaml.push_str(&format!(
                "{}: &first {}\n",
                yaml_str(name),
                random_item(rng, 1)
            ));
        } else {
            yaml.push_str(&format!("{}: {}\n", yaml_str(name), random_item(rng, 0)));
        }
    }
    yaml
}

fn random_files(rng: &mut Rng, allow_newlines: bool) -> Vec<(String, String)> {
    let n = rng.below(14);
    (0..n)
        .map(|_| {
            let segs: Vec<&str> = (0..1 + rng.below(4)).map(|_| rng.pick(SEGMENTS)).collect();
            let mut p = segs.join("/");
            if allow_newlines && rng.below(8) == 0 {
                p.push_str("\nx");
            }
            (p, rng.pick(STATUSES).to_string())
        })
        .collect()
}

fn ours(case: &Value) -> Value {
    let mode = if case["quantifier"] == "every" {
        Mode::Every
    } else {
        Mode::Some
    };
    let format = ListFormat::parse(case["format"].as_str().unwrap()).unwrap();
    let (filters, _warnings) = match FilterSet::parse(case["filters"].as_str().unwrap(), mode) {
        Ok(f) => f,
        Err(e) => return json!({ "error": format!("{e:#}") }),
    };
    let files: Vec<ChangedFile> = case["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| ChangedFile::new(f[0].as_str().unwrap(), f[1].as_str().unwrap()))
        .collect();
    let outputs = report::outputs(&filters, &files, &filters.matches(&files).unwrap(), format);
    json!({ "outputs": outputs })
}

#[test]
fn outputs_match_dorny() {
    if !node_ready("outputs_match_dorny") {
        return;
    }
    let mut rng = Rng(0x00d0_4e11);
    let formats = ["none", "csv", "json", "shell", "escape"];
    let mut cases = Vec::new();
    for _ in 0..500 {
        let format = rng.pick(&formats);
        // Names with line breaks are quoted on purpose where dorny is unsafe
        // (see `list`): they are compared only where the formats agree.
        let newlines = matches!(format, "none" | "json");
        cases.push(json!({
            "filters": random_filters(&mut rng),
            "quantifier": if rng.below(3) == 0 { "every" } else { "some" },
            "format": format,
            "files": random_files(&mut rng, newlines),
        }));
    }
    // Hand-picked shapes: integer-like names first, a `changes` filter,
    // empty lists under both quantifiers, errors dorny also raises.
    for (filters, q) in [
        ("b: 'x/**'\n10: '**'\na: '**'\n2: 'src/**'\n", "some"),
        ("changes: '**'\nother: 'docs/**'\n", "some"),
        ("e: []\n", "some"),
        ("e: []\n", "every"),
        ("a: 1\n", "some"),
        ("a:\n  added: 3\n", "some"),
        ("a: [\n", "some"),
    ] {
        cases.push(json!({
            "filters": filters, "quantifier": q, "format": "csv",
            "files": [["src/a.rs", "added"], ["docs/b c.md", "modified"]],
        }));
    }
    let want: Vec<Value> = serde_json::from_str(&run_node(
        "dorny-oracle.js",
        &Value::Array(cases.clone()).to_string(),
    ))
    .unwrap();
    let mut failures = Vec::new();
    for (case, want) in cases.iter().zip(&want) {
        let got = ours(case);
        let same = match (want.get("error"), got.get("error")) {
            (Some(_), Some(_)) => true,
            (None, None) => got["outputs"] == want["outputs"],
            _ => false,
        };
        if !same {
            failures.push(format!("case {case}\n  dorny: {want}\n  ours:  {got}"));
        }
    }
    eprintln!(
        "compared {} filter configurations with the dorny oracle",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
