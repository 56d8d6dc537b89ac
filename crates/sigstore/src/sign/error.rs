//! What can go wrong while signing.

/// Why signing failed. One line each, saying which service and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The signing config names no usable Fulcio or Rekor (v1).
    #[error("signing config is unusable: {0}")]
    Config(String),
    /// The identity token is not a JWT with the claims Sigstore needs.
    #[error("identity token is invalid: {0}")]
    Token(String),
    /// Fulcio did not issue a certificate.
    #[error("fulcio did not issue a signing certificate: {0}")]
    Fulcio(String),
    /// Rekor did not log an entry.
    #[error("rekor did not log the signature: {0}")]
    Rekor(String),
    /// Anything else: key generation, encoding.
    #[error("signing failed: {0}")]
    Internal(String),
}
