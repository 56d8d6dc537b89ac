//! The checkout flow: a request on a local checkout. Files and history are read from the
//! work tree and `git` ([`bitvault_git`]); the plan is [`crate::plan::plan`], the same as
//! the GitHub flow's; changed files are written in place. No commit, no network.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plan::{Outcome, Source, Version, plan};
use crate::request::Request;

/// A checkout directory (the `path` input): the root of a work tree or a directory in one.
#[derive(Debug, Clone)]
pub struct Checkout {
    root: PathBuf,
    git: bitvault_git::Git,
}

impl Checkout {
    /// The checkout at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Checkout {
        let root = root.into();
        Checkout {
            git: bitvault_git::Git::new(&root),
            root,
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Plans `req` on this checkout and writes the changed files in place.
    pub fn apply(&mut self, req: &Request) -> Result<Outcome> {
        let outcome = plan(req, self)?;
        self.write(&outcome)?;
        Ok(outcome)
    }

    /// Writes the files of `outcome` that changed.
    pub fn write(&self, outcome: &Outcome) -> Result<()> {
        for file in outcome.files.iter().filter(|f| f.changed()) {
            let path = self.root.join(&file.path);
            std::fs::write(&path, &file.after).map_err(|error| Error::Io {
                context: format!("cannot write {}", path.display()),
                error,
            })?;
        }
        Ok(())
    }
}

impl Source for Checkout {
    type Error = Error;

    fn read(&mut self, rel: &Path) -> Result<String> {
        let path = self.root.join(rel);
        std::fs::read_to_string(&path).map_err(|error| Error::Io {
            context: format!(
                "cannot read {} (check `path` and the `file` template)",
                path.display()
            ),
            error,
        })
    }

    /// Every committed version of `rel`, newest first, following renames. Commits where
    /// the file cannot be read (deleted, not UTF-8) are skipped.
    fn history(&mut self, rel: &Path) -> Result<Vec<Version>> {
        let rel_str = rel
            .to_str()
            .ok_or_else(|| Error::Invalid(format!("{} is not a UTF-8 path", rel.display())))?;
        let mut versions = Vec::new();
        for (commit, path) in self.git.file_log(rel_str)? {
            let Ok(text) = self.git.show_file(&commit, &path) else {
                continue;
            };
            if let Ok(text) = String::from_utf8(text) {
                versions.push(Version { commit, text });
            }
        }
        if versions.is_empty() {
            return Err(Error::NotFound(format!(
                "{} has no committed history in {}; commit it first",
                rel.display(),
                self.root.display()
            )));
        }
        Ok(versions)
    }
}
