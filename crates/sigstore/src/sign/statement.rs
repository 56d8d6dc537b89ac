//! What gets signed: in-toto statements v1 about one subject, and cosign's
//! legacy simple-signing payload.

use serde_json::{Value, json};

use super::error::SignError;
pub use crate::media::{
    COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_STATEMENT_TYPE, SLSA_PROVENANCE_PREDICATE_TYPE,
};

/// One statement to sign: a subject (name and SHA-256) and a predicate.
#[derive(Debug, Clone, PartialEq)]
pub struct ToSign {
    /// The subject's name, e.g. `ghcr.io/acme/app`.
    pub name: String,
    /// The subject's SHA-256: 64 hex characters, with or without `sha256:`.
    pub sha256: String,
    /// The predicate type URI.
    pub predicate_type: String,
    /// The predicate.
    pub predicate: Value,
}

impl ToSign {
    /// A signature of the subject (cosign's `sign/v1` predicate, empty).
    pub fn signature(name: impl Into<String>, sha256: impl Into<String>) -> Self {
        Self::new(name, sha256, COSIGN_SIGN_PREDICATE_TYPE, json!({}))
    }

    /// SLSA provenance v1 for the subject.
    pub fn provenance(
        name: impl Into<String>,
        sha256: impl Into<String>,
        predicate: Value,
    ) -> Self {
        Self::new(name, sha256, SLSA_PROVENANCE_PREDICATE_TYPE, predicate)
    }

    /// Any predicate.
    pub fn new(
        name: impl Into<String>,
        sha256: impl Into<String>,
        predicate_type: impl Into<String>,
        predicate: Value,
    ) -> Self {
        let sha256: String = sha256.into();
        Self {
            name: name.into(),
            sha256: sha256
                .strip_prefix("sha256:")
                .unwrap_or(&sha256)
                .to_string(),
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// The statement's JSON bytes, as they go into the envelope.
    pub fn statement_json(&self) -> Result<Vec<u8>, SignError> {
        check_sha256(&self.sha256)?;
        let statement = json!({
            "_type": IN_TOTO_STATEMENT_TYPE,
            "subject": [{"name": self.name, "digest": {"sha256": self.sha256}}],
            "predicateType": self.predicate_type,
            "predicate": self.predicate,
        });
        serde_json::to_vec(&statement).map_err(|e| SignError::Internal(e.to_string()))
    }
}

fn check_sha256(hex: &str) -> Result<(), SignError> {
    if hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(SignError::Internal(format!(
            "{hex:?} is not a SHA-256 digest (64 lower-case hex characters)"
        )))
    }
}

/// cosign's simple-signing payload for an image, byte for byte as cosign
/// writes it (key order, `"optional":null`).
pub fn simple_signing_payload(
    docker_reference: &str,
    manifest_digest: &str,
) -> Result<Vec<u8>, SignError> {
    let hex = manifest_digest.strip_prefix("sha256:").ok_or_else(|| {
        SignError::Internal(format!("{manifest_digest:?} is not a sha256:<hex> digest"))
    })?;
    check_sha256(hex)?;
    Ok(format!(
        r#"{{"critical":{{"identity":{{"docker-reference":{}}},"image":{{"docker-manifest-digest":{}}},"type":"cosign container image signature"}},"optional":null}}"#,
        Value::from(docker_reference),
        Value::from(manifest_digest),
    )
    .into_bytes())
}

/// A cosign legacy ("simple signing") signature.
#[derive(Debug, Clone)]
pub struct SimpleSignature {
    /// The exact payload bytes that were signed (the `.sig` layer's content).
    pub payload: Vec<u8>,
    /// The base64 DER ECDSA signature (the layer's
    /// `dev.cosignproject.cosign/signature` annotation).
    pub signature_b64: String,
    /// The leaf certificate, PEM (`dev.sigstore.cosign/certificate`).
    pub certificate_pem: String,
    /// The rest of the chain, PEM (`dev.sigstore.cosign/chain`).
    pub chain_pem: String,
    /// A message-signature bundle over the payload (hashedrekord).
    pub bundle_json: String,
    /// Where Rekor logged it.
    pub log_index: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_signing_payload_is_cosigns() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let payload = simple_signing_payload("ghcr.io/acme/app", &digest).unwrap();
        assert_eq!(
            String::from_utf8(payload).unwrap(),
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"ghcr.io/acme/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
            )
        );
    }

    #[test]
    fn statement_names_one_subject() {
        let s = ToSign::signature("ghcr.io/acme/app", format!("sha256:{}", "cd".repeat(32)));
        let json: Value = serde_json::from_slice(&s.statement_json().unwrap()).unwrap();
        assert_eq!(json["subject"][0]["digest"]["sha256"], "cd".repeat(32));
        assert_eq!(json["predicateType"], COSIGN_SIGN_PREDICATE_TYPE);
        assert!(ToSign::signature("x", "nothex").statement_json().is_err());
    }
}
