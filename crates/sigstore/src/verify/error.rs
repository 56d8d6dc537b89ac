//! What can go wrong while verifying.

use std::path::PathBuf;

/// Why a bundle was not accepted. Each message is one line that says what
/// was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The bundle could not be parsed, or its structure is not valid.
    #[error("bundle is invalid: {0}")]
    Bundle(String),
    /// Keyless verification was asked for, but the bundle was signed with a key.
    #[error(
        "bundle is signed with a public key, not a Fulcio certificate: verify it with the signer's public key (--key)"
    )]
    KeyRequired,
    /// Key verification was asked for, but the bundle holds a certificate.
    #[error(
        "bundle is signed with a Fulcio certificate, not a public key: verify it with --certificate-identity and --certificate-oidc-issuer instead of --key"
    )]
    CertificateRequired,
    /// The public key given to verify with is unusable.
    #[error("public key is invalid: {0}")]
    Key(String),
    /// The bundle does not describe this artifact.
    #[error("artifact does not match the bundle: {0}")]
    ArtifactMismatch(String),
    /// The signature does not verify.
    #[error("signature is invalid: {0}")]
    Signature(String),
    /// The signing certificate is not trusted (chain, validity, SCT).
    #[error("signing certificate is not trusted: {0}")]
    Certificate(String),
    /// The transparency log entry does not verify.
    #[error("transparency log entry is not valid: {0}")]
    TransparencyLog(String),
    /// No trustworthy signing time could be established.
    #[error("signing time is not verified: {0}")]
    Timestamp(String),
    /// The trusted root could not be used.
    #[error("trusted root is invalid: {0}")]
    TrustedRoot(String),
    /// The certificate was issued to someone else.
    #[error("certificate identity {actual} does not match expected {expected}")]
    IdentityMismatch {
        /// What the policy asked for.
        expected: String,
        /// What the certificate says.
        actual: String,
    },
    /// The certificate's identity was vouched for by another OIDC issuer.
    #[error("certificate OIDC issuer {actual} does not match expected {expected}")]
    IssuerMismatch {
        /// What the policy asked for.
        expected: String,
        /// What the certificate says.
        actual: String,
    },
    /// A Fulcio CI claim differs from the policy.
    #[error("certificate {claim} {actual} does not match expected {expected}")]
    ClaimMismatch {
        /// The claim, e.g. "source repository".
        claim: &'static str,
        /// What the policy asked for.
        expected: String,
        /// What the certificate says.
        actual: String,
    },
    /// The policy checks a Fulcio CI claim the certificate does not carry.
    #[error(
        "certificate has no {claim} claim (Fulcio extension {oid}), so it cannot match expected {expected}"
    )]
    ClaimMissing {
        /// The claim, e.g. "source repository".
        claim: &'static str,
        /// The Fulcio extension OID that carries it.
        oid: &'static str,
        /// What the policy asked for.
        expected: String,
    },
    /// The request itself is inconsistent (for example conflicting options).
    #[error("{0}")]
    Usage(String),
    /// An input file could not be read.
    #[error("cannot read {what} {}: {detail}", path.display())]
    Read {
        /// Which input: "bundle", "artifact", "trusted root", ...
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        detail: String,
    },
}

impl VerifyError {
    /// The message without the category prefix, for wrapping in another one.
    pub(crate) fn detail(&self) -> String {
        match self {
            Self::TrustedRoot(detail) | Self::Bundle(detail) => detail.clone(),
            other => other.to_string(),
        }
    }

    pub(crate) fn from_sigstore(error: sigstore_verify::Error) -> Self {
        use sigstore_verify::Error as E;
        let detail = error.to_string();
        match error {
            E::SignatureInvalid(detail) => Self::Signature(detail),
            E::ArtifactMismatch(detail) => Self::ArtifactMismatch(detail),
            E::Certificate(e) => Self::Certificate(e.to_string()),
            E::TransparencyLog(e) => Self::TransparencyLog(e.to_string()),
            E::Timestamp(e) => Self::Timestamp(e.to_string()),
            E::InvalidTrustRoot(detail) => Self::TrustedRoot(detail),
            E::TrustRoot(e) => Self::TrustedRoot(e.to_string()),
            E::TrustedCertificate(e) => Self::TrustedRoot(format!("invalid certificate: {e}")),
            E::InvalidBundle(detail) | E::UnsupportedBundle(detail) => Self::Bundle(detail),
            E::Bundle(e) => Self::Bundle(e.to_string()),
            E::UnsupportedArtifact(detail) => Self::Usage(format!(
                "{detail}; pass the artifact file instead of its digest"
            )),
            E::ArtifactRead(e) => Self::ArtifactMismatch(format!("failed to read artifact: {e}")),
            // A signature that fails to parse or to verify surfaces from the
            // crypto layer; say so rather than leak the layer's name.
            E::Crypto(e) => Self::Signature(e.to_string()),
            _ => Self::Bundle(detail),
        }
    }
}
