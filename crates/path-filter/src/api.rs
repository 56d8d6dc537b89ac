//! A pull request's files from the GitHub REST API, for runs without a
//! usable checkout. Never silently short: the API lists at most 3000 files.

use anyhow::{Result, bail};
use bitvault_github::GitHub;
use bitvault_github::models::repos::DiffEntry;
use bitvault_runner::command;
use serde::Deserialize;

use crate::filter::ChangedFile;

/// The most files `GET /repos/{o}/{r}/pulls/{n}/files` returns.
pub const API_FILE_LIMIT: u64 = 3000;

#[derive(Debug, Deserialize)]
struct Row {
    filename: String,
    status: String,
    previous_filename: Option<String>,
}

impl Row {
    /// The status as GitHub writes it (`added`, `removed`, `renamed`, ...).
    fn of(e: DiffEntry) -> Row {
        let status = serde_json::to_value(&e.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{:?}", e.status).to_lowercase());
        Row {
            filename: e.filename,
            status,
            previous_filename: e.previous_filename,
        }
    }
}

/// Turns API rows into changed files as dorny does: `removed` is
/// `deleted`; a rename is the new name added and the old name deleted.
fn rows_to_files(rows: Vec<Row>, out: &mut Vec<ChangedFile>) {
    for r in rows {
        match r.status.as_str() {
            "renamed" => {
                out.push(ChangedFile::new(r.filename, "added"));
                if let Some(prev) = r.previous_filename {
                    out.push(ChangedFile::new(prev, "deleted"));
                }
            }
            "removed" => out.push(ChangedFile::new(r.filename, "deleted")),
            other => {
                let s = other.to_string();
                out.push(ChangedFile::new(r.filename, s));
            }
        }
    }
}

/// Lists the files of pull request `number` in `repo` (`owner/name`).
pub fn pull_request_files(
    api_url: &str,
    repo: &str,
    number: u64,
    token: &str,
    changed_files: Option<u64>,
) -> Result<Vec<ChangedFile>> {
    if let Some(n) = changed_files.filter(|n| *n > API_FILE_LIMIT) {
        bail!(
            "pull request #{number} changes {n} files but the GitHub API lists at most {API_FILE_LIMIT}: check the repository out (actions/checkout) so path-filter can use git, and leave `changes-from` at `auto` or set it to `git`"
        );
    }
    let _g = command::group(&format!(
        "Fetching the files of pull request #{number} from the GitHub API"
    ));
    let gh = GitHub::with_token(api_url, token, "`pull-requests: read`")?;
    let (owner, name) = repo
        .split_once('/')
        .ok_or_else(|| anyhow::anyhow!("GITHUB_REPOSITORY {repo:?} is not `owner/name`"))?;
    let repo = gh.repo(owner, name);
    let mut files = Vec::new();
    let mut rows_seen: u64 = 0;
    for page in 1.. {
        let rows: Vec<Row> = repo
            .pull_request_files(number, page)?
            .into_iter()
            .map(Row::of)
            .collect();
        let n = rows.len() as u64;
        command::info(&format!("received {n} files (page {page})"));
        rows_seen += n;
        rows_to_files(rows, &mut files);
        if n < 100 {
            break;
        }
    }
    if rows_seen >= API_FILE_LIMIT {
        bail!(
            "the GitHub API stopped at {API_FILE_LIMIT} files for pull request #{number}, so the list may be incomplete: check the repository out (actions/checkout) so path-filter can use git"
        );
    }
    if let Some(n) = changed_files.filter(|n| *n != rows_seen) {
        command::warning(&format!(
            "the event says pull request #{number} changes {n} files but the GitHub API listed {rows_seen}; the pull request may have changed since the event was sent"
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_rows_like_dorny() {
        let rows: Vec<Row> = serde_json::from_str(
            r#"[{"filename":"a","status":"added"},{"filename":"b","status":"removed"},
                {"filename":"new","status":"renamed","previous_filename":"old"},{"filename":"c","status":"modified"}]"#,
        )
        .unwrap();
        let mut out = Vec::new();
        rows_to_files(rows, &mut out);
        let got: Vec<(&str, &str)> = out
            .iter()
            .map(|f| (f.path.as_str(), f.status.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "added"),
                ("b", "deleted"),
                ("new", "added"),
                ("old", "deleted"),
                ("c", "modified")
            ]
        );
    }

    #[test]
    fn refuses_more_than_the_api_can_list() {
        let err = pull_request_files("http://127.0.0.1:9", "o/r", 1, "t", Some(3001)).unwrap_err();
        assert!(err.to_string().contains("at most 3000"), "{err}");
    }
}
