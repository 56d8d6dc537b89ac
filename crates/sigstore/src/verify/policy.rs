//! Who must have signed: the identity policy a verified certificate is checked
//! against, and the Fulcio certificate claims it is checked on.
//!
//! The claims come from Fulcio's X.509 extensions under `1.3.6.1.4.1.57264.1`
//! (see Fulcio's `docs/oid-info.md`); `sigstore-crypto` decodes them.

use super::error::VerifyError;

/// How the certificate's identity (its Subject Alternative Name) must match.
#[derive(Debug, Clone)]
pub enum IdentityMatch {
    /// The SAN (URI or email) equals this string.
    Exact(String),
    /// The SAN matches this regular expression. As with cosign's
    /// `--certificate-identity-regexp`, the match is unanchored: write `^...$`
    /// to pin the whole identity.
    Regex(regex::Regex),
}

impl IdentityMatch {
    fn matches(&self, identity: &str) -> bool {
        match self {
            Self::Exact(expected) => identity == expected,
            Self::Regex(re) => re.is_match(identity),
        }
    }
}

impl std::fmt::Display for IdentityMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(value) => f.write_str(value),
            Self::Regex(re) => write!(f, "/{}/", re.as_str()),
        }
    }
}

/// What a keyless signature must prove about its signer.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The certificate identity: for GitHub Actions, the workflow URI
    /// `https://github.com/OWNER/REPO/.github/workflows/FILE@REF`.
    pub identity: IdentityMatch,
    /// The OIDC issuer that vouched for the identity (Fulcio extension
    /// `.1.8`, or the legacy `.1.1`), e.g.
    /// `https://token.actions.githubusercontent.com`.
    pub issuer: String,
    /// The source repository (`.1.12`), as its URL
    /// (`https://github.com/OWNER/REPO`) or as `OWNER/REPO`.
    pub source_repository: Option<String>,
    /// The source repository ref (`.1.14`), e.g. `refs/heads/main`.
    pub source_ref: Option<String>,
    /// The workflow that signed (`.1.9`, Build Signer URI, without its `@REF`),
    /// as a URL or as a path in the source repository such as
    /// `.github/workflows/release.yml`.
    pub workflow: Option<String>,
}

impl Policy {
    /// Require `identity` exactly, issued by `issuer`, with no claim checks.
    pub fn new(identity: impl Into<String>, issuer: impl Into<String>) -> Self {
        Self {
            identity: IdentityMatch::Exact(identity.into()),
            issuer: issuer.into(),
            source_repository: None,
            source_ref: None,
            workflow: None,
        }
    }

    /// Check a verified certificate's claims against this policy.
    pub(crate) fn check(&self, signer: &CertificateIdentity) -> Result<(), VerifyError> {
        if !self.identity.matches(&signer.identity) {
            return Err(VerifyError::IdentityMismatch {
                expected: self.identity.to_string(),
                actual: signer.identity.clone(),
            });
        }
        if signer.issuer != self.issuer {
            return Err(VerifyError::IssuerMismatch {
                expected: self.issuer.clone(),
                actual: signer.issuer.clone(),
            });
        }
        if let Some(expected) = &self.source_repository {
            let actual = claim(&signer.source_repository, SOURCE_REPOSITORY, expected)?;
            if !repository_matches(expected, actual) {
                return Err(mismatch(SOURCE_REPOSITORY, expected, actual));
            }
        }
        if let Some(expected) = &self.source_ref {
            let actual = claim(&signer.source_repository_ref, SOURCE_REF, expected)?;
            if expected != actual {
                return Err(mismatch(SOURCE_REF, expected, actual));
            }
        }
        if let Some(expected) = &self.workflow {
            let actual = claim(&signer.build_signer_uri, BUILD_SIGNER, expected)?;
            if !workflow_matches(expected, actual, signer.source_repository.as_deref()) {
                return Err(mismatch(BUILD_SIGNER, expected, actual));
            }
        }
        Ok(())
    }
}

/// The signer a verified certificate names: its identity, its issuer, and the
/// Fulcio CI claims that say which build produced the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateIdentity {
    /// Subject Alternative Name (URI or email).
    pub identity: String,
    /// OIDC issuer (`.1.8`, or legacy `.1.1`).
    pub issuer: String,
    /// Source repository URI (`.1.12`).
    pub source_repository: Option<String>,
    /// Source repository ref (`.1.14`).
    pub source_repository_ref: Option<String>,
    /// Source repository commit (`.1.13`).
    pub source_repository_digest: Option<String>,
    /// Build Signer URI (`.1.9`): the workflow that signed, with its ref.
    pub build_signer_uri: Option<String>,
    /// Build Signer digest (`.1.10`): the commit of that workflow.
    pub build_signer_digest: Option<String>,
    /// Run invocation URI (`.1.21`): the CI run that signed.
    pub run_invocation_uri: Option<String>,
}

impl CertificateIdentity {
    pub(crate) fn from_certificate(
        cert: &sigstore_crypto::CertificateInfo,
    ) -> Result<Self, VerifyError> {
        // Fulcio always sets both; a certificate without them was not issued
        // for a Sigstore identity and cannot satisfy any policy.
        let identity = cert.identity.as_ref().ok_or_else(|| {
            VerifyError::Certificate(
                "certificate has no email or URI subject alternative name".into(),
            )
        })?;
        let issuer = cert.issuer.as_ref().ok_or_else(|| {
            VerifyError::Certificate(
                "certificate has no OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8 or .1.1)"
                    .into(),
            )
        })?;
        let claims = &cert.ci_claims;
        Ok(Self {
            identity: identity.as_str().to_string(),
            issuer: issuer.clone(),
            source_repository: claims.source_repository_uri.clone(),
            source_repository_ref: claims.source_repository_ref.clone(),
            source_repository_digest: claims.source_repository_digest.clone(),
            build_signer_uri: claims.build_signer_uri.clone(),
            build_signer_digest: claims.build_signer_digest.clone(),
            run_invocation_uri: claims.run_invocation_uri.clone(),
        })
    }
}

struct Claim {
    name: &'static str,
    oid: &'static str,
}

const SOURCE_REPOSITORY: Claim = Claim {
    name: "source repository",
    oid: "1.3.6.1.4.1.57264.1.12",
};
const SOURCE_REF: Claim = Claim {
    name: "source repository ref",
    oid: "1.3.6.1.4.1.57264.1.14",
};
const BUILD_SIGNER: Claim = Claim {
    name: "workflow (build signer URI)",
    oid: "1.3.6.1.4.1.57264.1.9",
};

fn claim<'a>(
    value: &'a Option<String>,
    claim: Claim,
    expected: &str,
) -> Result<&'a str, VerifyError> {
    value.as_deref().ok_or_else(|| VerifyError::ClaimMissing {
        claim: claim.name,
        oid: claim.oid,
        expected: expected.to_string(),
    })
}

fn mismatch(claim: Claim, expected: &str, actual: &str) -> VerifyError {
    VerifyError::ClaimMismatch {
        claim: claim.name,
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
}

/// `https://github.com/o/r` matches itself and the short form `o/r`.
fn repository_matches(expected: &str, actual: &str) -> bool {
    expected == actual || url_path(actual) == Some(expected)
}

/// The path after `scheme://host/`, if `url` has that shape.
fn url_path(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split_once('/')?.1)
}

/// The Build Signer URI is `<repository URL>/<workflow path>@<ref>`: match the
/// whole URI, the URI without its ref, or the path inside the repository.
fn workflow_matches(expected: &str, build_signer_uri: &str, repository: Option<&str>) -> bool {
    let without_ref = build_signer_uri
        .split_once('@')
        .map_or(build_signer_uri, |(uri, _)| uri);
    if expected == build_signer_uri || expected == without_ref {
        return true;
    }
    repository
        .and_then(|repo| without_ref.strip_prefix(repo)?.strip_prefix('/'))
        .is_some_and(|path| path == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKFLOW: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1";

    fn signer() -> CertificateIdentity {
        CertificateIdentity {
            identity: WORKFLOW.into(),
            issuer: "https://token.actions.githubusercontent.com".into(),
            source_repository: Some("https://github.com/acme/app".into()),
            source_repository_ref: Some("refs/tags/v1".into()),
            source_repository_digest: Some("0123abcd".into()),
            build_signer_uri: Some(WORKFLOW.into()),
            build_signer_digest: Some("0123abcd".into()),
            run_invocation_uri: None,
        }
    }

    fn policy() -> Policy {
        Policy::new(WORKFLOW, "https://token.actions.githubusercontent.com")
    }

    fn err(policy: &Policy) -> String {
        policy.check(&signer()).unwrap_err().to_string()
    }

    #[test]
    fn exact_identity_and_issuer() {
        policy().check(&signer()).unwrap();
        let mut p = policy();
        p.identity = IdentityMatch::Exact("https://github.com/acme/other".into());
        assert_eq!(
            err(&p),
            format!(
                "certificate identity {WORKFLOW} does not match expected https://github.com/acme/other"
            )
        );
        let mut p = policy();
        p.issuer = "https://accounts.google.com".into();
        assert_eq!(
            err(&p),
            "certificate OIDC issuer https://token.actions.githubusercontent.com does not match expected https://accounts.google.com"
        );
    }

    #[test]
    fn regex_identity_is_unanchored_like_cosign() {
        let mut p = policy();
        p.identity = IdentityMatch::Regex(regex::Regex::new("acme/app/").unwrap());
        p.check(&signer()).unwrap();
        p.identity = IdentityMatch::Regex(regex::Regex::new("^acme/app/").unwrap());
        assert_eq!(
            err(&p),
            format!("certificate identity {WORKFLOW} does not match expected /^acme/app//")
        );
    }

    #[test]
    fn source_repository_accepts_url_or_owner_repo() {
        for ok in ["https://github.com/acme/app", "acme/app"] {
            let mut p = policy();
            p.source_repository = Some(ok.into());
            p.check(&signer()).unwrap();
        }
        let mut p = policy();
        p.source_repository = Some("acme/ap".into());
        assert_eq!(
            err(&p),
            "certificate source repository https://github.com/acme/app does not match expected acme/ap"
        );
    }

    #[test]
    fn source_ref_and_workflow() {
        let mut p = policy();
        p.source_ref = Some("refs/tags/v1".into());
        for ok in [
            WORKFLOW,
            "https://github.com/acme/app/.github/workflows/release.yml",
            ".github/workflows/release.yml",
        ] {
            p.workflow = Some(ok.into());
            p.check(&signer()).unwrap();
        }
        p.workflow = Some(".github/workflows/ci.yml".into());
        assert_eq!(
            err(&p),
            format!(
                "certificate workflow (build signer URI) {WORKFLOW} does not match expected .github/workflows/ci.yml"
            )
        );
        let mut p = policy();
        p.source_ref = Some("refs/heads/main".into());
        assert_eq!(
            err(&p),
            "certificate source repository ref refs/tags/v1 does not match expected refs/heads/main"
        );
    }

    #[test]
    fn missing_claim_names_the_extension() {
        let mut s = signer();
        s.source_repository = None;
        let mut p = policy();
        p.source_repository = Some("acme/app".into());
        assert_eq!(
            p.check(&s).unwrap_err().to_string(),
            "certificate has no source repository claim (Fulcio extension 1.3.6.1.4.1.57264.1.12), so it cannot match expected acme/app"
        );
    }
}
