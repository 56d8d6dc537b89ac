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

    /// Writes the files of `outcome` that changed. Every target is checked first
    /// ([`Checkout::inside`]), so a link anywhere refuses the run before any write.
    pub fn write(&self, outcome: &Outcome) -> Result<()> {
        let changed: Vec<_> = outcome.files.iter().filter(|f| f.changed()).collect();
        let paths = changed
            .iter()
            .map(|f| self.inside(&f.path))
            .collect::<Result<Vec<_>>>()?;
        for (file, path) in changed.iter().zip(paths) {
            std::fs::write(&path, &file.after).map_err(|error| Error::Io {
                context: format!("cannot write {}", path.display()),
                error,
            })?;
        }
        Ok(())
    }
}

impl Checkout {
    /// `rel` under the checkout, refused when it is a symbolic link or when its
    /// directory resolves outside the checkout (a link in the path): the edit must land
    /// in the checkout's own file, never wherever a link points (L3).
    pub fn inside(&self, rel: &Path) -> Result<PathBuf> {
        let path = self.root.join(rel);
        let refuse = |why: String| Error::InFile {
            path: rel.to_path_buf(),
            inner: Box::new(Error::Invalid(why)),
        };
        if let Ok(meta) = std::fs::symlink_metadata(&path)
            && meta.file_type().is_symlink()
        {
            let to = std::fs::read_link(&path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            return Err(refuse(format!(
                "is a symbolic link (to `{to}`); gitops-bump does not read or write through links. Replace the link with the file itself, or point `file` at the real file inside the checkout"
            )));
        }
        let (Some(parent), Ok(root)) = (path.parent(), self.root.canonicalize()) else {
            return Ok(path);
        };
        if let Ok(dir) = parent.canonicalize()
            && !dir.starts_with(&root)
        {
            return Err(refuse(format!(
                "its directory resolves to {}, outside the checkout {} (a symbolic link in the path); gitops-bump only edits files inside the checkout. Replace the link with the directory itself",
                dir.display(),
                root.display()
            )));
        }
        Ok(path)
    }
}

impl Source for Checkout {
    type Error = Error;

    fn read(&mut self, rel: &Path) -> Result<String> {
        let path = self.inside(rel)?;
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
