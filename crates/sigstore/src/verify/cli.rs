//! A file's verification as `bitvault verify --bundle --artifact` asks for
//! it: [`VerifyArgs`] (the options, as typed values) resolved into keyless or
//! key verification; and [`PolicyOptions`], the identity options every
//! verification of this crate shares, resolved into a [`Policy`] with one
//! message per inconsistency.
//!
//! The `verify` action crate parses its inputs into these; this module reads
//! the files, picks keyless or key verification, and returns what was proven
//! or why not.

use std::path::{Path, PathBuf};

use super::bundle::{Artifact, VerifiedBundle, verify_artifact, verify_with_key};
use super::error::VerifyError;
use super::policy::{IdentityMatch, Policy};
use super::trust::TrustedRoot;

/// The options of `bitvault verify`.
#[derive(Debug, Clone, Default)]
pub struct VerifyArgs {
    /// `--bundle`: the Sigstore bundle (`.sigstore.json`).
    pub bundle: PathBuf,
    /// `--artifact`: the signed file, or `sha256:<hex>` for its digest.
    pub artifact: String,
    /// `--certificate-identity`: the exact signer identity.
    pub certificate_identity: Option<String>,
    /// `--certificate-identity-regexp`: a regular expression the signer
    /// identity must match (unanchored, as in cosign).
    pub certificate_identity_regexp: Option<String>,
    /// `--certificate-oidc-issuer`: the OIDC issuer of the identity.
    pub certificate_oidc_issuer: Option<String>,
    /// `--source-repository`: the repository the artifact was built from.
    pub source_repository: Option<String>,
    /// `--source-ref`: the ref the artifact was built from.
    pub source_ref: Option<String>,
    /// `--workflow`: the workflow that signed.
    pub workflow: Option<String>,
    /// `--trusted-root`: a `trusted_root.json` or ClientTrustConfig; the
    /// Sigstore public-good root when absent.
    pub trusted_root: Option<PathBuf>,
    /// `--key`: verify with this PEM public key instead of a certificate.
    pub key: Option<PathBuf>,
}

impl VerifyArgs {
    /// The identity options among these.
    pub fn policy_options(&self) -> PolicyOptions {
        PolicyOptions {
            certificate_identity: self.certificate_identity.clone(),
            certificate_identity_regexp: self.certificate_identity_regexp.clone(),
            certificate_oidc_issuer: self.certificate_oidc_issuer.clone(),
            source_repository: self.source_repository.clone(),
            source_ref: self.source_ref.clone(),
            workflow: self.workflow.clone(),
        }
    }
}

/// Who must have signed, as given: the inputs (or flags) of the same names in
/// `verify` and in the gitops-bump signature gate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyOptions {
    /// `certificate-identity`: the exact signer identity.
    pub certificate_identity: Option<String>,
    /// `certificate-identity-regexp`: a regular expression the identity must
    /// match (unanchored, as in cosign).
    pub certificate_identity_regexp: Option<String>,
    /// `certificate-oidc-issuer`: the identity's OIDC issuer.
    pub certificate_oidc_issuer: Option<String>,
    /// `source-repository`: the repository the signer's workflow ran in.
    pub source_repository: Option<String>,
    /// `source-ref`: the ref it ran on.
    pub source_ref: Option<String>,
    /// `workflow`: the workflow that signed.
    pub workflow: Option<String>,
}

impl PolicyOptions {
    /// Whether any option is set.
    fn any(&self) -> bool {
        self.certificate_identity.is_some()
            || self.certificate_identity_regexp.is_some()
            || self.certificate_oidc_issuer.is_some()
            || self.source_repository.is_some()
            || self.source_ref.is_some()
            || self.workflow.is_some()
    }

    /// The keyless policy: an identity (exact or regexp, not both), an
    /// issuer, and the claims to check.
    pub fn policy(&self) -> Result<Policy, VerifyError> {
        let usage = |msg: &str| Err(VerifyError::Usage(msg.to_string()));
        let identity = match (
            &self.certificate_identity,
            &self.certificate_identity_regexp,
        ) {
            (Some(exact), None) => IdentityMatch::Exact(exact.clone()),
            (None, Some(pattern)) => {
                IdentityMatch::Regex(regex::Regex::new(pattern).map_err(|e| {
                    VerifyError::Usage(format!(
                        "--certificate-identity-regexp is not a valid regular expression: {e}"
                    ))
                })?)
            }
            (Some(_), Some(_)) => {
                return usage(
                    "pass either --certificate-identity or --certificate-identity-regexp, not both",
                );
            }
            (None, None) => {
                return usage(
                    "--certificate-identity (or --certificate-identity-regexp) is required to say who must have signed, or --key for a key-signed bundle",
                );
            }
        };
        let Some(issuer) = self.certificate_oidc_issuer.clone() else {
            return usage(
                "--certificate-oidc-issuer is required, e.g. https://token.actions.githubusercontent.com for GitHub Actions",
            );
        };
        Ok(Policy {
            identity,
            issuer,
            source_repository: self.source_repository.clone(),
            source_ref: self.source_ref.clone(),
            workflow: self.workflow.clone(),
        })
    }
}

/// Verify a file's bundle with these options. Does not print or exit.
pub fn verify_file_cli(args: &VerifyArgs) -> Result<VerifiedBundle, VerifyError> {
    let plan = Plan::from_args(args)?;
    let trusted_root = match &args.trusted_root {
        Some(path) => TrustedRoot::from_file(path)?,
        None => TrustedRoot::production(),
    };
    let bundle = read("bundle", &args.bundle)?;
    let artifact = match args.artifact.strip_prefix("sha256:") {
        Some(digest) => Artifact::Digest(digest),
        None => Artifact::File(Path::new(&args.artifact)),
    };
    match plan {
        Plan::Key(path) => {
            let pem = String::from_utf8(read("public key", path)?)
                .map_err(|_| VerifyError::Key(format!("{} is not a PEM file", path.display())))?;
            verify_with_key(&bundle, artifact, &pem, &trusted_root)
        }
        Plan::Keyless(policy) => verify_artifact(&bundle, artifact, &policy, &trusted_root),
    }
}

/// The keyless policy these options ask for (identity, issuer, claims),
/// refusing `key`: image signatures are keyless.
pub fn keyless_policy(args: &VerifyArgs) -> Result<Policy, VerifyError> {
    match Plan::from_args(args)? {
        Plan::Keyless(policy) => Ok(policy),
        Plan::Key(_) => Err(VerifyError::Usage(
            "--key verifies a file's bundle; image signatures are keyless: pass --certificate-identity and --certificate-oidc-issuer".into(),
        )),
    }
}

enum Plan<'a> {
    Key(&'a Path),
    Keyless(Policy),
}

impl<'a> Plan<'a> {
    fn from_args(args: &'a VerifyArgs) -> Result<Self, VerifyError> {
        let options = args.policy_options();
        if let Some(key) = &args.key {
            if options.any() {
                return Err(VerifyError::Usage(
                    "--key cannot be combined with certificate options: a key-signed bundle has no certificate to check".into(),
                ));
            }
            return Ok(Self::Key(key));
        }
        Ok(Self::Keyless(options.policy()?))
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, VerifyError> {
    std::fs::read(path).map_err(|e| VerifyError::Read {
        what,
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> VerifyArgs {
        VerifyArgs {
            bundle: "b.sigstore.json".into(),
            artifact: "a.txt".into(),
            certificate_identity: Some(
                "https://github.com/acme/app/.github/workflows/r.yml@refs/heads/main".into(),
            ),
            certificate_oidc_issuer: Some("https://token.actions.githubusercontent.com".into()),
            ..VerifyArgs::default()
        }
    }

    fn usage_error(args: &VerifyArgs) -> String {
        match Plan::from_args(args) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("expected a usage error"),
        }
    }

    #[test]
    fn keyless_needs_identity_and_issuer() {
        assert!(matches!(Plan::from_args(&args()), Ok(Plan::Keyless(_))));
        let mut a = args();
        a.certificate_oidc_issuer = None;
        assert!(usage_error(&a).starts_with("--certificate-oidc-issuer is required"));
        let mut a = args();
        a.certificate_identity = None;
        assert!(
            usage_error(&a).starts_with(
                "--certificate-identity (or --certificate-identity-regexp) is required"
            )
        );
        a.certificate_identity_regexp = Some("(".into());
        assert!(
            usage_error(&a)
                .starts_with("--certificate-identity-regexp is not a valid regular expression")
        );
        a.certificate_identity_regexp = Some("^https://github.com/acme/".into());
        assert!(matches!(
            Plan::from_args(&a),
            Ok(Plan::Keyless(Policy {
                identity: IdentityMatch::Regex(_),
                ..
            }))
        ));
        a.certificate_identity = Some("x".into());
        assert_eq!(
            usage_error(&a),
            "pass either --certificate-identity or --certificate-identity-regexp, not both"
        );
    }

    #[test]
    fn key_excludes_certificate_options() {
        let mut a = args();
        a.key = Some("key.pub".into());
        assert!(usage_error(&a).starts_with("--key cannot be combined with certificate options"));
        a.certificate_identity = None;
        a.certificate_oidc_issuer = None;
        assert!(matches!(Plan::from_args(&a), Ok(Plan::Key(_))));
    }

    #[test]
    fn missing_files_are_named() {
        let mut a = args();
        a.bundle = "/nonexistent/b.sigstore.json".into();
        let err = verify_file_cli(&a).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot read bundle /nonexistent/b.sigstore.json:"),
            "{err}"
        );
    }
}
