//! One Sigstore bundle verified against a trusted root and a policy: the artifact, the
//! signer, and the in-toto statement it carries.

use std::io::Read;
use std::path::Path;

use sha2::Digest as _;
use sigstore_types::bundle::VerificationMaterialContent;
use sigstore_types::{Bundle, SignatureContent};
use sigstore_verify::{
    PublicKeyVerificationPolicy, VerificationPolicy, VerificationResult, Verifier,
};

use super::chain;
use super::error::VerifyError;
use super::policy::{CertificateIdentity, Policy};
use super::trust::TrustedRoot;
use crate::media::IN_TOTO_PAYLOAD_TYPE;

/// The file, or its digest, that a bundle is checked against.
///
/// For a DSSE bundle (an in-toto attestation) this is the statement's
/// subject, not the statement itself.
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// The artifact's SHA-256 digest, as 64 hex characters. Enough for ECDSA
    /// and RSA signatures; Ed25519 signs the whole message and needs the bytes.
    Digest(&'a str),
    /// A file, read once in constant memory.
    File(&'a Path),
}

/// Who signed a verified bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// A Fulcio certificate (keyless signing), whose claims passed the policy.
    Certificate(CertificateIdentity),
    /// The public key the caller supplied.
    PublicKey,
}

/// An in-toto statement carried by a verified DSSE bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The statement's `predicateType`, e.g. `https://slsa.dev/provenance/v1`.
    pub predicate_type: String,
    /// The whole statement (`_type`, `subject`, `predicateType`, `predicate`).
    pub json: serde_json::Value,
}

/// What verification proved.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedBundle {
    /// Who signed.
    pub signer: Signer,
    /// SHA-256 of the artifact that was verified, lowercase hex.
    pub artifact_sha256: String,
    /// Index of the bundle's entry in the Rekor log, if it has one.
    pub log_index: Option<u64>,
    /// When Rekor (v1) integrated the entry, as Unix seconds, authenticated
    /// by the log's signed entry timestamp.
    pub integrated_time: Option<i64>,
    /// Every authenticated signing time (RFC 3161 timestamps and the
    /// integrated time), as Unix seconds.
    pub verified_times: Vec<i64>,
    /// For a DSSE bundle, the in-toto statement that was signed.
    pub statement: Option<Statement>,
}

impl VerifiedBundle {
    /// One line for a person: who signed, and where it was logged.
    pub fn summary(&self) -> String {
        let who = match &self.signer {
            Signer::Certificate(c) => format!("signed by {} (issuer {})", c.identity, c.issuer),
            Signer::PublicKey => "signed with the given public key".to_string(),
        };
        let logged = match self.log_index {
            Some(index) => format!(", rekor log index {index}"),
            None => String::new(),
        };
        let statement = match &self.statement {
            Some(s) => format!(", in-toto predicate {}", s.predicate_type),
            None => String::new(),
        };
        format!(
            "verified sha256:{}: {who}{logged}{statement}",
            self.artifact_sha256
        )
    }
}

/// Verify a keyless (Fulcio certificate) bundle for `artifact`, and that its
/// signer satisfies `policy`.
pub fn verify_artifact(
    bundle_json: &[u8],
    artifact: Artifact<'_>,
    policy: &Policy,
    trusted_root: &TrustedRoot,
) -> Result<VerifiedBundle, VerifyError> {
    let bundle = parse_bundle(bundle_json)?;
    if matches!(
        bundle.verification_material.content,
        VerificationMaterialContent::PublicKey(_)
    ) {
        return Err(VerifyError::KeyRequired);
    }
    chain::reject_root_in_chain(&bundle.verification_material.content)?;
    // The cryptography is checked for any identity first, so a forged bundle
    // is reported as forged; the policy is then applied to the certificate
    // that verified, with regex and CI-claim checks sigstore-verify lacks.
    let checked = run(
        &bundle,
        artifact,
        &VerificationPolicy::any_identity(),
        trusted_root,
    )?;
    let certificate = checked.result.certificate().ok_or_else(|| {
        VerifyError::Certificate("verification did not yield a signing certificate".into())
    })?;
    let result = &checked.result;
    if !result.certificate_verified() || !result.sct_verified() || !result.tlog_verified() {
        // any_identity() verifies all three; this guards against a future
        // default change silently weakening what "verified" means here.
        return Err(VerifyError::Certificate(
            "certificate chain, SCT or transparency log was not verified".into(),
        ));
    }
    let signer = CertificateIdentity::from_certificate(certificate)?;
    policy.check(&signer)?;
    Ok(checked.into_verified(&bundle, Signer::Certificate(signer)))
}

/// Verify a bundle signed with a managed key (`cosign sign-blob --key`) for
/// `artifact`, with the signer's PEM public key (`-----BEGIN PUBLIC KEY-----`).
pub fn verify_with_key(
    bundle_json: &[u8],
    artifact: Artifact<'_>,
    public_key_pem: &str,
    trusted_root: &TrustedRoot,
) -> Result<VerifiedBundle, VerifyError> {
    let key = sigstore_types::DerPublicKey::from_pem(public_key_pem)
        .map_err(|e| VerifyError::Key(e.to_string()))?;
    let bundle = parse_bundle(bundle_json)?;
    if !matches!(
        bundle.verification_material.content,
        VerificationMaterialContent::PublicKey(_)
    ) {
        return Err(VerifyError::CertificateRequired);
    }
    let checked = run(
        &bundle,
        artifact,
        &PublicKeyVerificationPolicy::new(key),
        trusted_root,
    )?;
    if !checked.result.tlog_verified() {
        return Err(VerifyError::TransparencyLog(
            "transparency log inclusion was not verified".into(),
        ));
    }
    Ok(checked.into_verified(&bundle, Signer::PublicKey))
}

fn parse_bundle(json: &[u8]) -> Result<Bundle, VerifyError> {
    let json = std::str::from_utf8(json)
        .map_err(|e| VerifyError::Bundle(format!("not UTF-8 JSON: {e}")))?;
    Bundle::from_json(json).map_err(|e| VerifyError::Bundle(e.to_string()))
}

struct Checked {
    result: VerificationResult,
    artifact_sha256: String,
}

impl Checked {
    fn into_verified(self, bundle: &Bundle, signer: Signer) -> VerifiedBundle {
        let statement = match &bundle.content {
            SignatureContent::DsseEnvelope(envelope)
                if envelope.payload_type == IN_TOTO_PAYLOAD_TYPE =>
            {
                // sigstore-verify has already parsed the payload as an
                // in-toto statement to bind the artifact to its subject.
                serde_json::from_slice::<serde_json::Value>(envelope.payload.as_bytes())
                    .ok()
                    .map(|json| Statement {
                        predicate_type: json["predicateType"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        json,
                    })
            }
            _ => None,
        };
        VerifiedBundle {
            signer,
            artifact_sha256: self.artifact_sha256,
            log_index: bundle
                .verification_material
                .tlog_entries
                .first()
                .map(|entry| entry.log_index.get()),
            integrated_time: self.result.integrated_time().map(|t| t.as_second()),
            verified_times: self
                .result
                .verified_timestamps()
                .iter()
                .map(|t| t.as_second())
                .collect(),
            statement,
        }
    }
}

fn run<P>(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    policy: &P,
    trusted_root: &TrustedRoot,
) -> Result<Checked, VerifyError>
where
    P: sigstore_verify::Policy + ?Sized,
{
    crate::crypto::install();
    let verifier = Verifier::new(&trusted_root.inner).map_err(VerifyError::from_sigstore)?;
    let (result, artifact_sha256) = match artifact {
        Artifact::Bytes(bytes) => (
            verifier.verify(bytes, bundle, policy),
            hex::encode(sha2::Sha256::digest(bytes)),
        ),
        Artifact::Digest(hex_digest) => {
            let digest = sigstore_types::Sha256Hash::from_hex(hex_digest).map_err(|_| {
                VerifyError::Usage(format!(
                    "artifact digest {hex_digest:?} is not a SHA-256 digest (64 hex characters)"
                ))
            })?;
            (verifier.verify(digest, bundle, policy), digest.to_hex())
        }
        Artifact::File(path) => return verify_file(&verifier, path, bundle, policy),
    };
    Ok(Checked {
        result: result.map_err(VerifyError::from_sigstore)?,
        artifact_sha256,
    })
}

/// Stream the file through the verifier, hashing it on the way for the report.
fn verify_file<P>(
    verifier: &Verifier,
    path: &Path,
    bundle: &Bundle,
    policy: &P,
) -> Result<Checked, VerifyError>
where
    P: sigstore_verify::Policy + ?Sized,
{
    let read_error = |e: std::io::Error| VerifyError::Read {
        what: "artifact",
        path: path.to_path_buf(),
        detail: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut reader = HashingReader {
        inner: file,
        hasher: sha2::Sha256::new(),
    };
    match verifier.verify_reader(&mut reader, bundle, policy) {
        Ok(result) => Ok(Checked {
            result,
            artifact_sha256: hex::encode(reader.hasher.finalize()),
        }),
        // Schemes that sign the whole message (Ed25519) refuse a stream
        // before reading it: fall back to the bytes.
        Err(sigstore_verify::Error::UnsupportedArtifact(_)) => {
            let bytes = std::fs::read(path).map_err(read_error)?;
            let result = verifier
                .verify(bytes.as_slice(), bundle, policy)
                .map_err(VerifyError::from_sigstore)?;
            Ok(Checked {
                result,
                artifact_sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            })
        }
        Err(sigstore_verify::Error::ArtifactRead(e)) => Err(read_error(e)),
        Err(e) => Err(VerifyError::from_sigstore(e)),
    }
}

struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
