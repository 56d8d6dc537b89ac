use std::path::PathBuf;

use crate::{DigestError, KeyPathError};

/// Everything that can go wrong. Messages say what is wrong and what to do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The digest given is not `sha256:` + 64 lower-case hex characters.
    #[error(transparent)]
    Digest(#[from] DigestError),
    /// The key path could not be parsed.
    #[error(transparent)]
    KeyPath(#[from] KeyPathError),
    /// The file is not valid YAML.
    #[error("not valid YAML: {0}")]
    Parse(String),
    /// Something the edit needs is not in the file (a list entry, a digest to promote, a
    /// previous digest to roll back to).
    #[error("{0}")]
    NotFound(String),
    /// The file has a shape that cannot be edited without changing more than one value.
    #[error("{0}")]
    Unsupported(String),
    /// The edit was made but re-parsing showed that more than the target value changed.
    /// Nothing was written. This is a bug guard.
    #[error("{0}")]
    Verification(String),
    /// Bad arguments: a file template without `{{env}}`, an unsafe environment name, ...
    #[error("{0}")]
    Invalid(String),
    /// An error about one file.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file, as given to the edit.
        path: PathBuf,
        /// What went wrong in it.
        #[source]
        source: Box<Error>,
    },
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Running `git` failed.
    #[error("{0}")]
    Git(String),
}

impl Error {
    pub(crate) fn in_file(self, path: impl Into<PathBuf>) -> Error {
        match self {
            e @ Error::InFile { .. } => e,
            e => Error::InFile {
                path: path.into(),
                source: Box::new(e),
            },
        }
    }

    /// The error without the file wrapper, for matching on the kind.
    pub fn root(&self) -> &Error {
        match self {
            Error::InFile { source, .. } => source.root(),
            e => e,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
