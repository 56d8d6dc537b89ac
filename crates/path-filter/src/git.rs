//! The git side: resolving and fetching commits, finding merge-bases in
//! shallow clones, and listing changed files.
//!
//! Every command runs with `-c core.quotepath=off`, reads NUL-separated
//! output (`-z`) and puts `--` before paths, so any file name git accepts
//! (spaces, quotes, newlines, non-ASCII, a leading dash) comes through as is.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context as _, Result, bail};
use bitvault_runner::command;

use crate::filter::ChangedFile;

/// The all-zero object name GitHub sends for "no commit".
pub const NULL_SHA: &str = "0000000000000000000000000000000000000000";

/// A work tree, driven through the `git` program.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
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

/// Parses `git diff --name-status -z` (with `--no-renames`: one path per entry).
pub fn parse_name_status(out: &[u8]) -> Result<Vec<ChangedFile>> {
    let mut files = Vec::new();
    let mut fields = out.split(|b| *b == 0).filter(|f| !f.is_empty());
    while let Some(status) = fields.next() {
        let status =
            std::str::from_utf8(status).context("git printed a status that is not text")?;
        let Some(path) = fields.next() else {
            bail!("git printed a status without a path");
        };
        let path = String::from_utf8(path.to_vec()).map_err(|e| {
            anyhow::anyhow!(
                "a changed file's name is not UTF-8: {:?}",
                String::from_utf8_lossy(e.as_bytes())
            )
        })?;
        files.push(ChangedFile::new(path, status_word(status)));
    }
    Ok(files)
}

fn is_hex_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Git {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Git {
            dir: dir.into(),
            remote: "origin".to_string(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        c.arg("-C")
            .arg(&self.dir)
            .args([
                "-c",
                "core.quotepath=off",
                "-c",
                "advice.detachedHead=false",
            ])
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        c
    }

    fn output(&self, args: &[&str]) -> Result<Output> {
        command::debug(&format!("git {}", args.join(" ")));
        self.command(args)
            .output()
            .context("cannot run `git`: is git installed and on PATH?")
    }

    /// Runs git and returns stdout; a failure carries git's message.
    fn run(&self, args: &[&str]) -> Result<Vec<u8>> {
        let out = self.output(args)?;
        if !out.status.success() {
            bail!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out.stdout)
    }

    fn ok(&self, args: &[&str]) -> bool {
        self.output(args).is_ok_and(|o| o.status.success())
    }

    fn text(&self, args: &[&str]) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.run(args)?).trim().to_string())
    }

    /// A work tree git can use (and will agree to: `safe.directory`).
    pub fn is_work_tree(&self) -> bool {
        self.output(&["rev-parse", "--is-inside-work-tree"])
            .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"))
    }

    pub fn has_remote(&self) -> bool {
        self.ok(&["remote", "get-url", &self.remote])
    }

    pub fn is_shallow(&self) -> bool {
        self.text(&["rev-parse", "--is-shallow-repository"])
            .is_ok_and(|s| s == "true")
    }

    /// The commit `rev` names, if it is here.
    pub fn commit(&self, rev: &str) -> Option<String> {
        let spec = format!("{rev}^{{commit}}");
        self.text(&[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ])
        .ok()
        .filter(|s| !s.is_empty())
    }

    pub fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        self.text(&["merge-base", a, b])
            .ok()
            .filter(|s| !s.is_empty())
    }

    pub fn is_ancestor(&self, a: &str, b: &str) -> bool {
        self.ok(&["merge-base", "--is-ancestor", a, b])
    }

    fn fetch(&self, extra: &[&str], what: &[&str]) -> Result<()> {
        let mut args = vec!["fetch", "--no-tags", "--no-write-fetch-head", "--quiet"];
        args.extend_from_slice(extra);
        args.push(&self.remote);
        args.extend_from_slice(what);
        self.run(&args).map(|_| ())
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
                self.dir.display(),
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
        let out = self.run(&[
            "diff",
            "--no-renames",
            "--name-status",
            "-z",
            "--no-ext-diff",
            base,
            head,
            "--",
        ])?;
        parse_name_status(&out)
    }

    /// Uncommitted changes: work tree and index against HEAD, plus untracked
    /// files that are not ignored (as `added`).
    pub fn uncommitted(&self) -> Result<Vec<ChangedFile>> {
        let mut files = if self.commit("HEAD").is_some() {
            parse_name_status(&self.run(&[
                "diff",
                "--no-renames",
                "--name-status",
                "-z",
                "--no-ext-diff",
                "HEAD",
                "--",
            ])?)?
        } else {
            // No commit yet: everything in the index is new.
            self.list_files()?
        };
        let untracked = self.run(&["ls-files", "-z", "--others", "--exclude-standard", "--"])?;
        for p in untracked.split(|b| *b == 0).filter(|p| !p.is_empty()) {
            let path =
                String::from_utf8(p.to_vec()).context("an untracked file's name is not UTF-8")?;
            files.push(ChangedFile::new(path, "added"));
        }
        Ok(files)
    }

    /// Every tracked file, as `added` (an initial push).
    pub fn list_files(&self) -> Result<Vec<ChangedFile>> {
        let out = self.run(&["ls-files", "-z", "--"])?;
        out.split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| {
                String::from_utf8(p.to_vec())
                    .map(|p| ChangedFile::new(p, "added"))
                    .context("a file's name is not UTF-8")
            })
            .collect()
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
            None => {
                let out = self.run(&[
                    "ls-tree",
                    "-r",
                    "-z",
                    "--name-only",
                    "--full-tree",
                    commit,
                    "--",
                ])?;
                out.split(|b| *b == 0)
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        String::from_utf8(p.to_vec())
                            .map(|p| ChangedFile::new(p, "added"))
                            .context("a file's name is not UTF-8")
                    })
                    .collect()
            }
        }
    }

    /// The checked-out branch, else an exact tag, else the commit.
    pub fn current_ref(&self) -> Result<String> {
        let branch = self.text(&["rev-parse", "--abbrev-ref", "HEAD"])?;
        if !branch.is_empty() && branch != "HEAD" {
            return Ok(branch);
        }
        if let Ok(tag) = self.text(&["describe", "--tags", "--exact-match"])
            && !tag.is_empty()
        {
            return Ok(tag);
        }
        self.text(&["rev-parse", "HEAD"])
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
