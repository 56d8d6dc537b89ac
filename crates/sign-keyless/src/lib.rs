//! Sigstore for files: verify a Sigstore bundle against the file it signs,
//! offline, the way `bitvault verify` does; and sign image digests keyless
//! ([`sign::KeylessSigner`]: one Fulcio certificate per run, bundles v0.3).
//!
//! [`verify::verify_artifact`] checks a keyless bundle (a Fulcio certificate,
//! a Rekor entry, timestamps) and that its signer matches a
//! [`verify::VerifyPolicy`]; [`verify::verify_with_key`] checks a bundle signed
//! with a managed key. Both answer with what was proven, or one line saying why
//! not.
//!
//! ```no_run
//! use bitvault_sign_keyless::verify::{verify_file_cli, VerifyArgs};
//!
//! let verified = verify_file_cli(&VerifyArgs {
//!     bundle: "app.tar.gz.sigstore.json".into(),
//!     artifact: "app.tar.gz".into(),
//!     certificate_identity: Some(
//!         "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0".into(),
//!     ),
//!     certificate_oidc_issuer: Some("https://token.actions.githubusercontent.com".into()),
//!     ..VerifyArgs::default()
//! })?;
//! println!("{}", verified.summary());
//! # Ok::<(), bitvault_sign_keyless::verify::VerifyError>(())
//! ```

mod action;
mod crypto;
pub mod oci;
pub mod provenance;
pub mod sign;
pub mod verify;
mod verify_action;

pub use action::{SIGN_SPEC, run_sign};
pub use verify_action::{VERIFY_SPEC, run_verify};
