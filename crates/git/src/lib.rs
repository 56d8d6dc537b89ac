//! The one way bitvault runs `git`: every action and test that reads a repository goes
//! through [`Git`].
//!
//! The rules, applied here once so that no caller has to remember them:
//! - output that lists paths is read NUL-separated (`-z`), so any name git accepts
//!   (spaces, quotes, newlines, non-ASCII, a leading dash) comes through as is;
//! - a ref or commit that comes from a user is put after `--end-of-options`, so a name
//!   like `--output=x` is a name, never an option; paths go after `--`;
//! - `core.quotepath=off`, `LC_ALL=C`, no terminal prompt, no stdin;
//! - a failure is an [`Error`] that names the command, the directory and git's own
//!   message (stderr), so the user sees why.
//!
//! ```no_run
//! # fn main() -> Result<(), bitvault_git::Error> {
//! let git = bitvault_git::Git::new(".");
//! let head = git.commit("HEAD").expect("a commit");
//! for change in git.diff_name_status(&format!("{head}^"), &head)? {
//!     println!("{} {}", change.status, change.path);
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Why a git command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `git` could not be started.
    #[error("cannot run `git` (is git installed and on PATH?): {source}")]
    Spawn {
        /// The error from the operating system.
        #[source]
        source: std::io::Error,
    },
    /// git ran and failed.
    #[error("`git {command}` failed in {}: {stderr}", dir.display())]
    Failed {
        /// The arguments, joined with spaces.
        command: String,
        /// The directory git ran in.
        dir: PathBuf,
        /// git's message, trimmed.
        stderr: String,
    },
    /// git printed something that is not what the command prints.
    #[error("`git {command}` printed {what}")]
    Output {
        /// The arguments, joined with spaces.
        command: String,
        /// What was wrong with it.
        what: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One entry of `git diff --name-status`: a status letter (`A`, `M`, `D`, `R100`...) and
/// a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameStatus {
    /// The status as git prints it.
    pub status: String,
    /// The path, relative to the top of the work tree.
    pub path: String,
}

/// A repository (or a directory inside one), driven through the `git` program.
#[derive(Clone)]
pub struct Git {
    dir: PathBuf,
    config: Vec<String>,
    trace: Option<fn(&str)>,
}

impl fmt::Debug for Git {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Git")
            .field("dir", &self.dir)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn is_hex_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn nul_fields(out: &[u8]) -> impl Iterator<Item = &[u8]> {
    out.split(|b| *b == 0).filter(|f| !f.is_empty())
}

impl Git {
    /// git in `dir` (`git -C dir`).
    pub fn new(dir: impl Into<PathBuf>) -> Git {
        Git {
            dir: dir.into(),
            config: vec![
                "core.quotepath=off".into(),
                "advice.detachedHead=false".into(),
            ],
            trace: None,
        }
    }

    /// Adds `-c key=value` to every command (e.g. a commit identity in tests).
    pub fn with_config(mut self, key: &str, value: &str) -> Git {
        self.config.push(format!("{key}={value}"));
        self
    }

    /// Calls `trace` with each command line before it runs (e.g. a debug log).
    pub fn with_trace(mut self, trace: fn(&str)) -> Git {
        self.trace = Some(trace);
        self
    }

    /// The directory git runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        c.arg("-C").arg(&self.dir);
        for kv in &self.config {
            c.arg("-c").arg(kv);
        }
        c.args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        c
    }

    fn output(&self, args: &[&str]) -> Result<Output> {
        if let Some(trace) = self.trace {
            trace(&format!("git {}", args.join(" ")));
        }
        self.command(args)
            .output()
            .map_err(|source| Error::Spawn { source })
    }

    /// Runs `git ARGS` and returns stdout; a failure carries git's message.
    ///
    /// This is the escape hatch for commands without a method here (test set-up:
    /// `init`, `add`, `commit`...). Put user-provided refs after `--end-of-options` and
    /// paths after `--`, and ask for `-z` when the output lists paths.
    pub fn run(&self, args: &[&str]) -> Result<Vec<u8>> {
        let out = self.output(args)?;
        if !out.status.success() {
            return Err(Error::Failed {
                command: args.join(" "),
                dir: self.dir.clone(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out.stdout)
    }

    /// Whether `git ARGS` exits with success (for questions like `--is-ancestor`).
    pub fn succeeds(&self, args: &[&str]) -> bool {
        self.output(args).is_ok_and(|o| o.status.success())
    }

    /// `git ARGS`, stdout as text without surrounding whitespace.
    pub fn text(&self, args: &[&str]) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.run(args)?).trim().to_string())
    }

    fn paths(&self, args: &[&str]) -> Result<Vec<String>> {
        let out = self.run(args)?;
        nul_fields(&out)
            .map(|p| {
                String::from_utf8(p.to_vec()).map_err(|_| Error::Output {
                    command: args.join(" "),
                    what: format!(
                        "a file name that is not UTF-8: {:?}",
                        String::from_utf8_lossy(p)
                    ),
                })
            })
            .collect()
    }

    /// Whether `dir` is inside a work tree git agrees to use (`safe.directory`).
    pub fn is_work_tree(&self) -> bool {
        self.output(&["rev-parse", "--is-inside-work-tree"])
            .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"true"))
    }

    /// Whether the remote `name` exists.
    pub fn has_remote(&self, name: &str) -> bool {
        self.succeeds(&["remote", "get-url", "--end-of-options", name])
    }

    /// Whether the repository is a shallow clone.
    pub fn is_shallow(&self) -> bool {
        self.text(&["rev-parse", "--is-shallow-repository"])
            .is_ok_and(|s| s == "true")
    }

    /// The commit `rev` names, if it is here (`rev-parse --verify rev^{commit}`).
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

    /// The best common ancestor of `a` and `b`, if they share history here.
    pub fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        self.text(&["merge-base", "--end-of-options", a, b])
            .ok()
            .filter(|s| !s.is_empty())
    }

    /// Whether `a` is an ancestor of (or equal to) `b`.
    pub fn is_ancestor(&self, a: &str, b: &str) -> bool {
        self.succeeds(&["merge-base", "--is-ancestor", "--end-of-options", a, b])
    }

    /// `git fetch --no-tags --no-write-fetch-head --quiet OPTIONS -- REMOTE REFSPECS`.
    /// `options` are this program's own (`--depth=3`, `--unshallow`), never user input.
    pub fn fetch(&self, remote: &str, options: &[&str], refspecs: &[&str]) -> Result<()> {
        let mut args = vec!["fetch", "--no-tags", "--no-write-fetch-head", "--quiet"];
        args.extend_from_slice(options);
        args.push("--end-of-options");
        args.push(remote);
        args.extend_from_slice(refspecs);
        self.run(&args).map(|_| ())
    }

    /// `git diff --no-renames --name-status -z base head`: a rename is a deletion plus an
    /// addition.
    pub fn diff_name_status(&self, base: &str, head: &str) -> Result<Vec<NameStatus>> {
        let args = [
            "diff",
            "--no-renames",
            "--name-status",
            "-z",
            "--no-ext-diff",
            "--end-of-options",
            base,
            head,
            "--",
        ];
        parse_name_status(&self.run(&args)?).map_err(|what| Error::Output {
            command: args.join(" "),
            what,
        })
    }

    /// The work tree and index against `base` (`git diff --name-status -z base`).
    pub fn diff_name_status_worktree(&self, base: &str) -> Result<Vec<NameStatus>> {
        let args = [
            "diff",
            "--no-renames",
            "--name-status",
            "-z",
            "--no-ext-diff",
            "--end-of-options",
            base,
            "--",
        ];
        parse_name_status(&self.run(&args)?).map_err(|what| Error::Output {
            command: args.join(" "),
            what,
        })
    }

    /// Tracked files (`git ls-files -z`).
    pub fn tracked_files(&self) -> Result<Vec<String>> {
        self.paths(&["ls-files", "-z", "--"])
    }

    /// Untracked files that are not ignored.
    pub fn untracked_files(&self) -> Result<Vec<String>> {
        self.paths(&["ls-files", "-z", "--others", "--exclude-standard", "--"])
    }

    /// Every file in the tree of `commit`, from the top of the repository.
    pub fn tree_files(&self, commit: &str) -> Result<Vec<String>> {
        self.paths(&[
            "ls-tree",
            "-r",
            "-z",
            "--name-only",
            "--full-tree",
            "--end-of-options",
            commit,
        ])
    }

    /// The commits that changed `path` (relative to [`Git::dir`]), newest first,
    /// following renames: each with the file's path at that commit, relative to the top
    /// of the repository (what [`Git::show_file`] takes).
    pub fn file_log(&self, path: &str) -> Result<Vec<(String, String)>> {
        let args = [
            "log",
            "--follow",
            "-z",
            "--format=%H",
            "--name-only",
            "--end-of-options",
            "--",
            path,
        ];
        let out = self.run(&args)?;
        let bad = |what: String| Error::Output {
            command: args.join(" "),
            what,
        };
        // `-z`: `<sha>\0\n<path>\0` per commit; a commit without a name (a merge) is
        // `<sha>\0`. Names always start with the newline, so they cannot pass for a sha.
        let mut entries = Vec::new();
        let mut fields = nul_fields(&out).peekable();
        while let Some(header) = fields.next() {
            let sha = String::from_utf8_lossy(header).trim().to_string();
            if !is_hex_sha(&sha) {
                return Err(bad(format!("{sha:?} where a commit id was expected")));
            }
            if let Some(name) = fields.next_if(|f| f.first() == Some(&b'\n')) {
                let name = String::from_utf8(name[1..].to_vec()).map_err(|_| {
                    bad(format!(
                        "a file name that is not UTF-8: {:?}",
                        String::from_utf8_lossy(name)
                    ))
                })?;
                entries.push((sha, name));
            }
        }
        Ok(entries)
    }

    /// The content of `path` (from the top of the repository) at `commit`.
    pub fn show_file(&self, commit: &str, path: &str) -> Result<Vec<u8>> {
        self.run(&["show", "--end-of-options", &format!("{commit}:{path}")])
    }

    /// The checked-out branch, if any (not on a detached HEAD).
    pub fn current_branch(&self) -> Result<Option<String>> {
        let branch = self.text(&["rev-parse", "--abbrev-ref", "HEAD"])?;
        Ok(Some(branch).filter(|b| !b.is_empty() && b != "HEAD"))
    }

    /// A tag that points exactly at HEAD, if any.
    pub fn exact_tag(&self) -> Option<String> {
        self.text(&["describe", "--tags", "--exact-match"])
            .ok()
            .filter(|t| !t.is_empty())
    }
}

/// Parses `git diff --name-status -z` output (with `--no-renames`: one path per entry).
pub fn parse_name_status(out: &[u8]) -> Result<Vec<NameStatus>, String> {
    let mut entries = Vec::new();
    let mut fields = nul_fields(out);
    while let Some(status) = fields.next() {
        let status = std::str::from_utf8(status)
            .map_err(|_| "a status that is not text".to_string())?
            .to_string();
        let Some(path) = fields.next() else {
            return Err("a status without a path".into());
        };
        let path = String::from_utf8(path.to_vec()).map_err(|e| {
            format!(
                "a changed file's name that is not UTF-8: {:?}",
                String::from_utf8_lossy(e.as_bytes())
            )
        })?;
        entries.push(NameStatus { status, path });
    }
    Ok(entries)
}
