//! What can go wrong in gitops-bump's own layers (the plan and the checkout flow).
//! Messages say what is wrong and what to do next.

use std::path::PathBuf;

use bitvault_registry::DigestParseError;
use bitvault_yamlpatch::KeyPathError;

/// Everything that can go wrong. A variant whose message already holds an inner error
/// does not also give it as its `source`, so a report that prints the chain of causes
/// says each thing once.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The digest given is not `sha256:` + 64 lower-case hex characters.
    #[error("invalid digest `{}`: {}", .0.input(), .0.reason())]
    Digest(DigestParseError),
    /// The key path could not be parsed.
    #[error(transparent)]
    KeyPath(#[from] KeyPathError),
    /// The file is not valid YAML.
    #[error("not valid YAML: {0}")]
    Parse(String),
    /// Something the change needs is not there (a list entry, a digest to promote, a
    /// previous digest to roll back to, the file's history).
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
    #[error("{}: {inner}", path.display())]
    InFile {
        /// The file, relative to the checkout or repository.
        path: PathBuf,
        /// What went wrong in it.
        inner: Box<Error>,
    },
    /// Reading or writing a file failed.
    #[error("{context}: {error}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        error: std::io::Error,
    },
    /// Running `git` failed.
    #[error("{0}")]
    Git(bitvault_git::Error),
}

impl From<DigestParseError> for Error {
    fn from(e: DigestParseError) -> Error {
        Error::Digest(e)
    }
}

impl From<bitvault_git::Error> for Error {
    fn from(e: bitvault_git::Error) -> Error {
        Error::Git(e)
    }
}

impl From<bitvault_yamlpatch::Error> for Error {
    fn from(e: bitvault_yamlpatch::Error) -> Error {
        use bitvault_yamlpatch::Error as E;
        match e {
            E::KeyPath(e) => Error::KeyPath(e),
            E::Parse(m) => Error::Parse(m),
            E::NotFound(m) => Error::NotFound(m),
            E::Unsupported(m) => Error::Unsupported(m),
            E::Verification(m) => Error::Verification(m),
            E::InFile { path, inner } => Error::InFile {
                path,
                inner: Box::new(Error::from(*inner)),
            },
        }
    }
}

impl Error {
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

#[cfg(test)]
mod tests {
    use super::*;
    use bitvault_registry::Digest;

    #[test]
    fn digest_message_names_the_input_and_the_reason() {
        let e = Error::from(Digest::parse("latest").unwrap_err());
        assert!(e.to_string().starts_with("invalid digest `latest`: "));
        assert!(e.to_string().contains("looks like a tag"), "{e}");
    }

    #[test]
    fn a_file_error_says_its_message_once_in_the_chain() {
        let inner = bitvault_yamlpatch::Error::Unsupported("`image` is an alias".into())
            .in_file("envs/prod/values.yaml");
        let e = anyhow::Error::from(Error::from(inner));
        assert_eq!(e.chain().count(), 1, "{e:?}");
        assert_eq!(e.to_string(), "envs/prod/values.yaml: `image` is an alias");
    }
}
