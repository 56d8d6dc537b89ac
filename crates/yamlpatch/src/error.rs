//! What can go wrong when editing a file. Messages say what is wrong and what to do.

use std::path::PathBuf;

use crate::keypath::KeyPathError;

/// Everything that can go wrong in an edit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key path could not be parsed.
    #[error(transparent)]
    KeyPath(#[from] KeyPathError),
    /// The file is not valid YAML.
    #[error("not valid YAML: {0}")]
    Parse(String),
    /// Something the edit needs is not in the file (a list entry, a file among the
    /// sources).
    #[error("{0}")]
    NotFound(String),
    /// The file has a shape that cannot be edited without changing more than one value.
    #[error("{0}")]
    Unsupported(String),
    /// The edit was made but re-parsing showed that more than the target value changed.
    /// Nothing was written. This is a bug guard.
    #[error("{0}")]
    Verification(String),
    /// An error about one file. The message already holds the inner error, so the
    /// inner error is not also given as the `source` (a report that prints the chain of
    /// causes would say it twice).
    #[error("{}: {inner}", path.display())]
    InFile {
        /// The file, as given to the edit.
        path: PathBuf,
        /// What went wrong in it.
        inner: Box<Error>,
    },
}

impl Error {
    /// This error, about the file `path` (kept as is when it already names a file).
    pub fn in_file(self, path: impl Into<PathBuf>) -> Error {
        match self {
            e @ Error::InFile { .. } => e,
            e => Error::InFile {
                path: path.into(),
                inner: Box::new(e),
            },
        }
    }

    /// The error without the file wrapper, for matching on the kind.
    pub fn root(&self) -> &Error {
        match self {
            Error::InFile { inner, .. } => inner.root(),
            e => e,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
