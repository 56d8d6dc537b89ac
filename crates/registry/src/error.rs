//! The registry layer's error type.

use crate::credentials::{CredentialError, CredentialSource};
use crate::digest::DigestMismatch;

/// Everything that can go wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401/403 from the registry.
    #[error(
        "{registry}: access denied (http {status}) using {credentials}; run docker/login-action for {registry} or set username/password"
    )]
    Unauthorized {
        /// The registry, as written in references.
        registry: String,
        /// 401 or 403.
        status: u16,
        /// Which credentials were tried.
        credentials: CredentialSource,
    },
    /// Reading credentials failed.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// A tag or digest is needed but the reference has neither.
    #[error("{0} has no tag or digest; name one, e.g. {0}:<tag> or {0}@sha256:<hex>")]
    NoTagOrDigest(String),
    /// The manifest, blob or tag does not exist.
    #[error("{0}: not found")]
    NotFound(String),
    /// Content did not match its digest.
    #[error("{what}: {mismatch}; refusing it")]
    DigestMismatch {
        /// What was read.
        what: String,
        /// Expected and actual digests.
        mismatch: DigestMismatch,
    },
    /// The registry answered with an unexpected status.
    #[error("{method} {url}: http {status}: {message}")]
    Status {
        /// HTTP method.
        method: String,
        /// Request URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Registry's message (body, shortened).
        message: String,
    },
    /// The connection failed, after retries.
    #[error("{method} {url}: {message}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Request URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The registry answered more than a read accepts (see [`crate::limits`]).
    #[error(
        "registry {registry} answered {what} of more than {max} bytes ({why}) for {subject}; refusing to read it: the registry is broken or serves something other than was asked for"
    )]
    TooLarge {
        /// The registry, as written in references.
        registry: String,
        /// What the answer is: "a manifest", "a blob", "a referrers page".
        what: String,
        /// The cap, in bytes.
        max: u64,
        /// Why this cap: "the OCI limit", "the size its descriptor gives".
        why: String,
        /// What was asked for.
        subject: String,
    },
    /// The registry sent something that does not follow the OCI specifications.
    #[error("{what}: {message}")]
    Invalid {
        /// What was read.
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// Updating the referrers tag index did not converge.
    #[error(
        "{subject}: could not record referrer {artifact} in tag {tag} after {attempts} attempts; other writers keep replacing it, retry the job"
    )]
    ReferrersIndexContention {
        /// The subject.
        subject: String,
        /// The artifact manifest being recorded.
        artifact: String,
        /// The fallback tag.
        tag: String,
        /// Attempts made.
        attempts: u32,
    },
}

/// The registry layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
