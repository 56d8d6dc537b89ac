//! Outputs, log and step summary from the match results.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use bitvault_runner::{Env, command};

use crate::changes::Changes;
use crate::filter::{ChangedFile, FilterSet};
use crate::list::ListFormat;

/// Files shown per filter in the log; the rest are counted.
const LOGGED_FILES: usize = 50;

/// The outputs, in dorny's order: per filter `<name>`, `<name>_count` and
/// (when listing) `<name>_files`, then `changes` unless a filter took the
/// name.
pub fn outputs(
    filters: &FilterSet,
    files: &[ChangedFile],
    matched: &[Vec<usize>],
    format: ListFormat,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut changes = Vec::new();
    for (name, hits) in filters.names().zip(matched) {
        if !hits.is_empty() {
            changes.push(name);
        }
        out.push((name.to_string(), (!hits.is_empty()).to_string()));
        out.push((format!("{name}_count"), hits.len().to_string()));
        let names: Vec<&str> = hits.iter().map(|i| files[*i].path.as_str()).collect();
        if let Some(v) = format.format(&names) {
            out.push((format!("{name}_files"), v));
        }
    }
    if !filters.names().any(|n| n == "changes") {
        out.push((
            "changes".to_string(),
            serde_json::to_string(&changes).expect("strings serialize"),
        ));
    } else {
        command::info("the `changes` output is not set: a filter is named `changes`");
    }
    out
}

pub fn log_results(filters: &FilterSet, files: &[ChangedFile], matched: &[Vec<usize>]) {
    for (name, hits) in filters.names().zip(matched) {
        let _g = command::group(&format!("Filter {name} = {}", !hits.is_empty()));
        if hits.is_empty() {
            command::info("Matching files: none");
            continue;
        }
        command::info("Matching files:");
        for i in hits.iter().take(LOGGED_FILES) {
            command::info(&format!("{} [{}]", files[*i].path, files[*i].status));
        }
        if hits.len() > LOGGED_FILES {
            command::info(&format!("... and {} more", hits.len() - LOGGED_FILES));
        }
    }
}

/// Writes `{filter: [files]}` as JSON under RUNNER_TEMP (or the system
/// temporary directory) and returns its path.
pub fn write_files_json(
    env: &Env,
    filters: &FilterSet,
    files: &[ChangedFile],
    matched: &[Vec<usize>],
) -> Result<PathBuf> {
    let mut map = serde_json::Map::new();
    for (name, hits) in filters.names().zip(matched) {
        let list: Vec<serde_json::Value> = hits
            .iter()
            .map(|i| serde_json::Value::String(files[*i].path.clone()))
            .collect();
        map.insert(name.to_string(), serde_json::Value::Array(list));
    }
    let dir = env.path("RUNNER_TEMP").unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = dir.join(format!(
        "path-filter-files-{}-{nanos}.json",
        std::process::id()
    ));
    let text = serde_json::to_string(&serde_json::Value::Object(map)).expect("json serializes");
    std::fs::write(&path, text)
        .with_context(|| format!("cannot write the matching files to {}", path.display()))?;
    Ok(path)
}

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// The step summary: what was compared, and a table of filters.
pub fn summary(filters: &FilterSet, matched: &[Vec<usize>], changes: &Changes) -> String {
    let mut md = String::from("### path-filter\n\n");
    md.push_str(&format!(
        "{} changed file{} ({}).\n\n",
        changes.files.len(),
        if changes.files.len() == 1 { "" } else { "s" },
        cell(&changes.compared).replace("\\`", "`")
    ));
    md.push_str("| Filter | Changed | Files |\n|---|---|---:|\n");
    for (name, hits) in filters.names().zip(matched) {
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(name),
            if hits.is_empty() { "no" } else { "**yes**" },
            hits.len()
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Mode;

    #[test]
    fn outputs_and_summary() {
        let (f, _) = FilterSet::parse(
            "a|b: '**/*.md'\nchanges: 'src/**'\nnone: 'x/**'\n",
            Mode::Some,
        )
        .unwrap();
        let files = vec![
            ChangedFile::new("src/a.rs", "added"),
            ChangedFile::new("doc/it's.md", "modified"),
        ];
        let m = f.matches(&files).unwrap();
        let out = outputs(&f, &files, &m, ListFormat::Csv);
        let get = |k: &str| out.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("a|b"), Some("true"));
        assert_eq!(get("a|b_files"), Some("\"doc/it's.md\""));
        assert_eq!(get("changes"), Some("true"));
        assert_eq!(get("none_count"), Some("0"));
        assert_eq!(get("none_files"), Some(""));
        assert_eq!(out.iter().filter(|(n, _)| n == "changes").count(), 1);
        let s = summary(
            &f,
            &m,
            &Changes {
                files,
                compared: "push `a..b`".into(),
            },
        );
        assert!(s.contains("| a\\|b | **yes** | 1 |"), "{s}");
        assert!(s.contains("2 changed files (push `a..b`)"), "{s}");
        insta::assert_snapshot!(s);
    }
}
