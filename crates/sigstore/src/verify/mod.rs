//! Verify a Sigstore bundle against a file: the signature, the certificate
//! chain to Fulcio, the transparency log entry, timestamps, and who signed.
//!
//! The cryptographic checks are `sigstore-verify`'s; this module chooses the
//! trust root, applies bitvault's identity policy (which also covers Fulcio's
//! CI claims: source repository, ref and workflow) to the certificate that
//! verified, and reports what was proven.
//!
//! ```no_run
//! use bitvault_sigstore::verify::{verify_artifact, Artifact, TrustedRoot, Policy};
//!
//! let bundle = std::fs::read("app.tar.gz.sigstore.json")?;
//! let artifact = std::fs::read("app.tar.gz")?;
//! let mut policy = Policy::new(
//!     "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0",
//!     "https://token.actions.githubusercontent.com",
//! );
//! policy.source_repository = Some("acme/app".into());
//! let verified = verify_artifact(
//!     &bundle,
//!     Artifact::Bytes(&artifact),
//!     &policy,
//!     &TrustedRoot::production(),
//! )?;
//! println!("{}", verified.summary());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bundle;
mod chain;
mod cli;
mod error;
mod image;
mod policy;
pub(crate) mod trust;

pub use crate::media::IN_TOTO_PAYLOAD_TYPE;
pub use bundle::{Artifact, Signer, Statement, VerifiedBundle, verify_artifact, verify_with_key};
pub use cli::{PolicyOptions, VerifyArgs, keyless_policy, verify_file_cli};
pub use error::VerifyError;
pub use image::{
    Found, Layout, Requirement, Requirements, Stored, Verification, check_image, check_legacy,
    image, read_image,
};
pub use policy::{CertificateIdentity, IdentityMatch, Policy};
pub use trust::{
    CLIENT_TRUST_CONFIG_MEDIA_TYPE, ClientTrustConfig, PRODUCTION_TRUSTED_ROOT_JSON,
    TRUSTED_ROOT_MEDIA_TYPE, TrustedRoot,
};
