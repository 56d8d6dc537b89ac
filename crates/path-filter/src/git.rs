//! The git side: resolving and fetching commits, finding merge-bases in
//! shallow clones, and listing changed files.
//!
//! Every command runs through [`bitvault_git::Git`]: `core.quotepath=off`,
//! NUL-separated output (`-z`), `--end-of-options` before refs and `--`
//! before paths, so any file name git accepts (spaces, quotes, newlines,
//! non-ASCII, a leading dash) comes through as is.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use bitvault_runner::command;

use crate::filter::ChangedFile;

/// The all-zero object name GitHub sends for "no commit".
pub const NULL_SHA: &str = "0000000000000000000000000000000000000000";

/// A work tree, driven through the `git` program.
#[derive(Debug, Clone)]
pub struct Git {
    git: bitvault_git::Git,
    remote: String,
}

fn status_word(letter: &str) -> &'static str {
    match letter.as_bytes().first() {
        Some(b'A') => "added",
        Some(b'C') => "copied",
        Some(b'D') => "deleted",
        Some(b'M') => "modified",
        Some(b'R') => "renamed",
        Some(b'U') => "unmerged",
        _ => "unknown",
    }
}

fn changed(entries: Vec<bitvault_git::NameStatus>) -> Vec<ChangedFile> {
    entries
        .into_iter()
        .map(|e| ChangedFile::new(e.path, status_word(&e.status)))
        .collect()
}

fn added(paths: Vec<String>) -> Vec<ChangedFile> {
    paths
        .into_iter()
        .map(|p| ChangedFile::new(p, "added"))
        .collect()
}

/// Parses `git diff --name-status -z` (with `--no-renames`: one path per entry).
pub fn parse_name_status(out: &[u8]) -> Result<Vec<ChangedFile>> {
    let entries =
        bitvault_git::parse_name_status(out).map_err(|e| anyhow::anyhow!("git printed {e}"))?;
    Ok(changed(entries))
}

fn is_hex_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn trace(line: &str) {
    command::debug(line);
}

impl Git {
    pub fn new(dir: impl Into<std::path::PathBuf>) -> Self {
        Git {
            git: bitvault_git::Git::new(dir).with_trace(trace),
            remote: "origin".to_string(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.git.dir()
    }

    /// A work tree git can use (and will agree to: `safe.directory`).
    pub fn is_work_tree(&self) -> bool {
        self.git.is_work_tree()
    }

    pub fn has_remote(&self) -> bool {
        self.git.has_remote(&self.remote)
    }

    pub fn is_shallow(&self) -> bool {
        self.git.is_shallow()
    }

    /// The commit `rev` names, if it is here.
    pub fn commit(&self, rev: &str) -> Option<String> {
        self.git.commit(rev)
    }

    pub fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        self.git.merge_base(a, b)
    }

    pub fn is_ancestor(&self, a: &str, b: &str) -> bool {
        self.git.is_ancestor(a, b)
    }

    fn fetch(&self, extra: &[&str], what: &[&str]) -> Result<()> {
        Ok(self.git.fetch(&self.remote, extra, what)?)
    }

    /// Resolves a branch, tag or commit name to a commit here, fetching it
    /// from `origin` (shallowly) when missing. Branches prefer the remote's
    /// copy, as dorny does.
    pub fn resolve(&self, name: &str, depth: u64) -> Result<String> {
        let candidates = [
            format!("refs/remotes/{}/{name}", self.remote),
            format!("refs/heads/{name}"),
            format!("refs/tags/{name}"),
        ];
        let local = |git: &Git| {
            if is_hex_sha(name) {
                return git.commit(name);
            }
            candidates.iter().find_map(|c| git.commit(c)).or_else(|| {
                // A full ref (`refs/pull/1/head`) or anything else git names.
                name.starts_with("refs/")
                    .then(|| git.commit(name))
                    .flatten()
            })
        };
        if let Some(c) = local(self) {
            return Ok(c);
        }
        if !self.has_remote() {
            bail!(
                "`{name}` is not a commit, branch or tag in {} and there is no `{}` remote to fetch it from",
                self.dir().display(),
                self.remote
            );
        }
        let depth_arg = format!("--depth={depth}");
        let deepen = if self.is_shallow() {
            vec![depth_arg.as_str()]
        } else {
            Vec::new()
        };
        command::info(&format!("fetching {name} from {}", self.remote));
        if is_hex_sha(name) {
            self.fetch(&deepen, &[name])?;
        } else {
            let branch = format!("+refs/heads/{name}:{}", candidates[0]);
            let tag = format!("+refs/tags/{name}:refs/tags/{name}");
            let full = format!("+{name}:{name}");
            let attempts: Vec<&str> = if name.starts_with("refs/") {
                vec![&full]
            } else {
                vec![&branch, &tag]
            };
            let mut last = None;
            for refspec in attempts {
                match self.fetch(&deepen, &[refspec]) {
                    Ok(()) => {
                        last = None;
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            if let Some(e) = last {
                return Err(e.context(format!("cannot fetch `{name}` from {}", self.remote)));
            }
        }
        local(self).with_context(|| format!("fetched `{name}` but it is not a commit"))
    }

    /// Finds the merge-base of two commits, deepening a shallow clone as
    /// needed: the depth doubles from `initial_depth` up to a cap, then the
    /// whole history is fetched once before giving up.
    pub fn merge_base_deepening(
        &self,
        base: &str,
        head: &str,
        initial_depth: u64,
    ) -> Result<String> {
        if let Some(mb) = self.merge_base(base, head) {
            return Ok(mb);
        }
        let mut depth = initial_depth.max(1);
        for _ in 0..10 {
            if !self.is_shallow() {
                break;
            }
            command::info(&format!(
                "no merge-base of {base} and {head} yet: deepening the clone by {depth} commits"
            ));
            let arg = format!("--deepen={depth}");
            self.fetch(&[&arg], &[base, head])
                .context("cannot deepen the shallow clone to find the merge-base")?;
            if let Some(mb) = self.merge_base(base, head) {
                return Ok(mb);
            }
            depth = depth.saturating_mul(2);
        }
        if self.is_shallow() {
            command::info("fetching the whole history to find the merge-base");
            self.fetch(&["--unshallow"], &[base, head])
                .context("cannot unshallow the clone")?;
            if let Some(mb) = self.merge_base(base, head) {
                return Ok(mb);
            }
        }
        bail!(
            "{base} and {head} have no common history (no merge-base), so there is no set of changes between them; check the `base` input or the event's commits"
        )
    }

    /// `git diff --no-renames --name-status -z base head`: a rename is a
    /// deletion plus an addition, as in dorny.
    pub fn diff(&self, base: &str, head: &str) -> Result<Vec<ChangedFile>> {
        Ok(changed(self.git.diff_name_status(base, head)?))
    }

    /// Uncommitted changes: work tree and index against HEAD, plus untracked
    /// files that are not ignored (as `added`).
    pub fn uncommitted(&self) -> Result<Vec<ChangedFile>> {
        let mut files = if self.commit("HEAD").is_some() {
            changed(self.git.diff_name_status_worktree("HEAD")?)
        } else {
            // No commit yet: everything in the index is new.
            self.list_files()?
        };
        files.extend(added(self.git.untracked_files()?));
        Ok(files)
    }

    /// Every tracked file, as `added` (an initial push).
    pub fn list_files(&self) -> Result<Vec<ChangedFile>> {
        Ok(added(self.git.tracked_files()?))
    }

    /// The files of one commit against its first parent (all `added` for a
    /// root commit).
    pub fn commit_changes(&self, commit: &str, depth: u64) -> Result<Vec<ChangedFile>> {
        let parent = format!("{commit}^1");
        if self.commit(&parent).is_none() && self.is_shallow() {
            let arg = format!("--deepen={}", depth.max(1));
            let _ = self.fetch(&[&arg], &[commit]);
        }
        match self.commit(&parent) {
            Some(p) => self.diff(&p, commit),
            None => Ok(added(self.git.tree_files(commit)?)),
        }
    }

    /// The checked-out branch, else an exact tag, else the commit.
    pub fn current_ref(&self) -> Result<String> {
        if let Some(branch) = self.git.current_branch()? {
            return Ok(branch);
        }
        if let Some(tag) = self.git.exact_tag() {
            return Ok(tag);
        }
        Ok(self.git.text(&["rev-parse", "HEAD"])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_status() {
        let out = b"M\0src/a b.rs\0A\0-dash\0D\0new\nline\0R100\0x\0T\0link\0X\0odd\0";
        let files = parse_name_status(out).unwrap();
        let got: Vec<(&str, &str)> = files
            .iter()
            .map(|f| (f.path.as_str(), f.status.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("src/a b.rs", "modified"),
                ("-dash", "added"),
                ("new\nline", "deleted"),
                ("x", "renamed"),
                ("link", "unknown"),
                ("odd", "unknown")
            ]
        );
    }
}
