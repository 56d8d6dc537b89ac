//! Differential test: our globs against real picomatch 2.3.1 (`dot: true`),
//! the matcher dorny/paths-filter v3 uses. Needs node and
//! `npm ci --prefix crates/path-filter/tests/node`; skipped loudly without.

mod common;

use std::collections::HashMap;

use bitvault_path_filter::glob::{Glob, GlobSet, Matches};
use common::{Rng, node_ready, run_node};

const TABLE_PATTERNS: &[&str] = &[
    "**",
    "*",
    "**/*",
    "**/*.js",
    "*.js",
    "*.*",
    ".*",
    "**/.*",
    "*/*",
    "**/*.*",
    "src/**",
    "src/**/*",
    "src/**/*.rs",
    "src/*",
    "src/**/test/**",
    "./src/**",
    "a/**/b",
    "**/b",
    "a/**",
    "a/*/b",
    "**/a/**",
    "a/{b,c}/d",
    "{a,b}",
    "{a,b}/**",
    "*.{js,ts}",
    "**/*.{yml,yaml}",
    "file{1..3}.txt",
    "{1..10}",
    "{a..c}",
    "{c..a}",
    "{a}",
    "a{,b}",
    "[abc]",
    "[a-c]/*",
    "[!a]",
    "[^a]",
    "[^a]/b",
    "[[:alpha:]]*",
    "[[:digit:]]",
    "[]",
    "[z-a]",
    "a[",
    "a]",
    "!*.md",
    "!**/*.md",
    "!src/**",
    "!!a",
    "!(a)",
    "!(*.md)",
    "!(*.d).ts",
    "**/!(*.d).ts",
    "@(a|b)",
    "+(a|b)",
    "*(a|b)",
    "?(a|b)",
    "a/!(b)/c",
    "a|b",
    "(a|b)",
    "a+",
    "a?",
    "?",
    "??",
    "a?c",
    "\\*",
    "\\?",
    "a\\ b",
    "\\[a]",
    "a b",
    "\"a*\"",
    "a$b",
    "^a",
    "a.b",
    "a..b",
    "a/.b",
    ".github/**",
    ".github/workflows/*.yml",
    "**/.github/**",
    "*.",
    "*..*",
    "é/**",
    "a\\/b",
    "a\\.b",
    "a\\\\b",
    "a**b",
    "a/**b",
    "**a",
    "a/**/",
    "a/",
    "/a",
    "**/",
    "***",
    "**/**",
    "a/**/**/b",
    "+(*.js)",
    "*(a)b",
    "@(*.js|*.ts)",
    "!(a|b)/c",
    "(?=a)a",
    "x{a,b",
    "x}",
];

const TABLE_PATHS: &[&str] = &[
    "a",
    "b",
    "c",
    "ab",
    "a.js",
    "a.ts",
    "a.md",
    "a.d.ts",
    "b.ts",
    "src/a.rs",
    "src/x/y.rs",
    "src",
    "srcx/a",
    "src/test/a",
    "a/b",
    "a/c/d",
    "a/b/d",
    "a/x/y/b",
    "b/a/c",
    ".github/workflows/ci.yml",
    ".hidden",
    "x/.hidden",
    "file2.txt",
    "file4.txt",
    "1",
    "5",
    "10",
    "!a",
    "[abc]",
    "a b",
    "a*",
    "a$b",
    "^a",
    "a.b",
    "a..b",
    "é/x",
    "a/b/c",
    "a|b",
    "(a|b)",
    "aa",
    "a+",
    "*",
    "?",
    "a ",
    "a/.b",
    "x.yml",
    "d/e.yaml",
    "a.",
    "a..",
    "a\nb",
    "a/./b",
    "a//b",
    "a/",
    "/a",
    ".",
    "..",
    "a\\b",
    "x{a",
    "x}",
    "[z-a]",
    "a[",
    "a]",
    "[]",
];

const PATTERN_ATOMS: &[&str] = &[
    "a",
    "b",
    "ab",
    ".",
    "*",
    "**",
    "?",
    "/",
    "/",
    "/",
    "{",
    "}",
    ",",
    "..",
    "[",
    "]",
    "!",
    "^",
    "(",
    ")",
    "|",
    "@(",
    "+(",
    "*(",
    "?(",
    "!(",
    "-",
    "\\",
    "1",
    "3",
    "x y",
    "é",
    ".js",
    "[a-c]",
    "[!a]",
    "[^b]",
    "[[:alpha:]]",
    "{a,b}",
    "{1..3}",
    "$",
    "+",
    "\"",
    ":",
    "'",
    "**/",
    "/**",
    "/**/",
    "./",
];

const PATH_SEGMENTS: &[&str] = &[
    "a", "b", "ab", "a.js", "b.md", ".hidden", "x y", "é", "1", "2", "a-b", "[a]", "a{b}", "!a",
    "(a)", "a.b.c", "...a", "a.", " ", "-x", "ba", "aab", ".js", "a|b", "a+b", "'q'", "\"d\"",
];

fn random_pattern(rng: &mut Rng) -> String {
    let n = 1 + rng.below(6);
    (0..n).map(|_| rng.pick(PATTERN_ATOMS)).collect()
}

fn random_path(rng: &mut Rng) -> String {
    let n = 1 + rng.below(4);
    let segs: Vec<&str> = (0..n).map(|_| rng.pick(PATH_SEGMENTS)).collect();
    segs.join("/")
}

fn ours(cache: &mut HashMap<String, Option<Glob>>, pattern: &str, path: &str) -> serde_json::Value {
    let g = cache
        .entry(pattern.to_string())
        .or_insert_with(|| Glob::new(pattern).ok());
    match g {
        Some(g) => match g.is_match(path) {
            Ok(b) => serde_json::Value::Bool(b),
            Err(e) => serde_json::Value::String(e.to_string()),
        },
        None => serde_json::Value::String("throw".into()),
    }
}

#[test]
fn globs_match_like_picomatch() {
    if !node_ready("globs_match_like_picomatch") {
        return;
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for p in TABLE_PATTERNS {
        for path in TABLE_PATHS {
            pairs.push((p.to_string(), path.to_string()));
        }
    }
    let mut rng = Rng(0x005e_ed0f_9a7e);
    for _ in 0..3000 {
        let p = random_pattern(&mut rng);
        for _ in 0..12 {
            let path = if rng.below(3) == 0 {
                // Paths the pattern's own words are likely to hit.
                p.replace(
                    [
                        '*', '?', '[', ']', '{', '}', '(', ')', '!', '@', '+', '|', '\\', ',',
                    ],
                    "a",
                )
                .trim_matches('/')
                .to_string()
            } else {
                random_path(&mut rng)
            };
            if !path.is_empty() {
                pairs.push((p.clone(), path));
            }
        }
    }
    let input = serde_json::json!({ "pairs": pairs }).to_string();
    let answers: Vec<serde_json::Value> =
        serde_json::from_str(&run_node("picomatch-oracle.js", &input)).unwrap();
    assert_eq!(answers.len(), pairs.len());
    let mut failures = Vec::new();
    let mut cache = HashMap::new();
    for ((p, path), want) in pairs.iter().zip(&answers) {
        let got = ours(&mut cache, p, path);
        if &got != want {
            failures.push(format!(
                "pattern {p:?} path {path:?}: picomatch {want}, ours {got}"
            ));
        }
    }
    // The same answers through one GlobSet holding every pattern (the
    // literal-index path used for filters).
    let mut distinct: Vec<String> = cache
        .iter()
        .filter(|(_, g)| g.is_some())
        .map(|(p, _)| p.clone())
        .collect();
    distinct.sort();
    let index: HashMap<&str, usize> = distinct
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i))
        .collect();
    let set = GlobSet::new(distinct.iter().map(|p| cache[p].clone().unwrap()).collect());
    let mut m = Matches::default();
    for ((p, path), want) in pairs.iter().zip(&answers) {
        if let Some(&i) = index.get(p.as_str()) {
            let got = match set.matches_into(path, &mut m) {
                Ok(()) => serde_json::Value::Bool(m.get(i)),
                Err(e) => serde_json::Value::String(e.to_string()),
            };
            if got != *want {
                failures.push(format!(
                    "(set) pattern {p:?} path {path:?}: picomatch {want}, ours {got}"
                ));
            }
        }
    }
    eprintln!(
        "compared {} (pattern, path) pairs with picomatch",
        pairs.len()
    );
    assert!(
        failures.is_empty(),
        "{} differences, first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
