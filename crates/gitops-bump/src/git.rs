//! The history of one file, read with the `git` command line.

use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};
use crate::modes::Version;

fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "core.quotepath=false"])
        .args(args)
        .output()
        .map_err(|e| {
            Error::Git(format!(
                "cannot run git (is it installed and on PATH?): {e}"
            ))
        })?;
    if !out.status.success() {
        return Err(Error::Git(format!(
            "git {} failed in {}: {}",
            args.join(" "),
            root.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// Every committed version of `rel` (relative to `root`), newest first, following
/// renames. Commits where the file cannot be read (deleted, not UTF-8) are skipped.
pub fn file_history(root: &Path, rel: &Path) -> Result<Vec<Version>> {
    let rel_str = rel
        .to_str()
        .ok_or_else(|| Error::Invalid(format!("{} is not a UTF-8 path", rel.display())))?;
    // `%x1e` separates commits; `--name-only` gives the file's path at each commit
    // (relative to the top of the repository, which is what `git show <sha>:<path>` wants).
    let log = git(
        root,
        &[
            "log",
            "--follow",
            "--format=%x1e%H",
            "--name-only",
            "--",
            rel_str,
        ],
    )?;
    let log = String::from_utf8_lossy(&log);
    let mut versions = Vec::new();
    for chunk in log.split('\u{1e}').filter(|c| !c.trim().is_empty()) {
        let mut lines = chunk.lines().map(str::trim).filter(|l| !l.is_empty());
        let (Some(commit), Some(path)) = (lines.next(), lines.next()) else {
            continue;
        };
        let Ok(text) = git(root, &["show", &format!("{commit}:{path}")]) else {
            continue;
        };
        if let Ok(text) = String::from_utf8(text) {
            versions.push(Version {
                commit: commit.to_string(),
                text,
            });
        }
    }
    if versions.is_empty() {
        return Err(Error::NotFound(format!(
            "{} has no committed history in {}; commit it first",
            rel.display(),
            root.display()
        )));
    }
    Ok(versions)
}
