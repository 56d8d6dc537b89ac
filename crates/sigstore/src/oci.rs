//! Where signatures live in a registry, in the layouts cosign reads.
//!
//! - Sigstore bundles (v0.3) attached to the image as OCI 1.1 referrers, with
//!   the artifact type and annotations cosign 3 writes
//!   ([`bundle_artifact`], [`read_bundles`]).
//! - cosign's legacy layout: an image manifest tagged `sha256-<hex>.sig`
//!   whose layers are simple-signing payloads, each annotated with its
//!   signature, certificate, chain and Rekor SET bundle ([`append_legacy`],
//!   [`read_legacy`]).

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bitvault_registry::{Artifact, ArtifactBlob, Client, Digest, Error, Repository};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::sign::statement::SimpleSignature;

/// A Sigstore bundle v0.3: the referrer's artifact type and its layer's media type.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// What the bundle holds (`dsse-envelope` or `message-signature`).
pub const ANNOTATION_CONTENT: &str = "dev.sigstore.bundle.content";
/// The in-toto predicate type of a DSSE bundle.
pub const ANNOTATION_PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";
/// When the referrer was made.
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// A legacy `.sig` layer's media type.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Legacy layer annotation: the base64 signature over the payload.
pub const ANNOTATION_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// Legacy layer annotation: the signing certificate, PEM.
pub const ANNOTATION_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// Legacy layer annotation: the rest of the chain, PEM.
pub const ANNOTATION_CHAIN: &str = "dev.sigstore.cosign/chain";
/// Legacy layer annotation: the Rekor SET bundle.
pub const ANNOTATION_REKOR_BUNDLE: &str = "dev.sigstore.cosign/bundle";

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// The referrer artifact for a DSSE bundle, as cosign 3 attaches it.
pub fn bundle_artifact(bundle_json: &str, predicate_type: &str, created: &str) -> Artifact {
    let annotations = BTreeMap::from([
        (ANNOTATION_CONTENT.to_string(), "dsse-envelope".to_string()),
        (
            ANNOTATION_PREDICATE_TYPE.to_string(),
            predicate_type.to_string(),
        ),
        (ANNOTATION_CREATED.to_string(), created.to_string()),
    ]);
    Artifact {
        artifact_type: BUNDLE_MEDIA_TYPE.into(),
        blobs: vec![ArtifactBlob {
            media_type: BUNDLE_MEDIA_TYPE.into(),
            data: bundle_json.as_bytes().to_vec(),
            annotations: BTreeMap::new(),
        }],
        annotations,
    }
}

/// A bundle read back from a subject's referrers.
#[derive(Debug, Clone)]
pub struct StoredBundle {
    /// The referrer manifest.
    pub manifest: Digest,
    /// Its `dev.sigstore.bundle.predicateType`, if annotated.
    pub predicate_type: Option<String>,
    /// The bundle JSON.
    pub json: Vec<u8>,
}

/// Every Sigstore bundle attached to `subject`, optionally only those
/// annotated with `predicate_type`.
pub async fn read_bundles(
    client: &Client,
    repo: &Repository,
    subject: &Digest,
    predicate_type: Option<&str>,
) -> Result<Vec<StoredBundle>> {
    let referrers = client
        .referrers(repo, subject, Some(BUNDLE_MEDIA_TYPE))
        .await
        .with_context(|| format!("cannot list the referrers of {repo}@{subject}"))?;
    let mut out = Vec::new();
    for entry in referrers.manifests {
        let annotated = entry
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_PREDICATE_TYPE))
            .cloned();
        // The fallback tag index may lose annotations (cosign#4641): only
        // skip on a predicate that is known and different.
        if let (Some(want), Some(have)) = (predicate_type, annotated.as_deref())
            && want != have
        {
            continue;
        }
        let digest = Digest::parse(&entry.digest)
            .with_context(|| format!("referrer of {subject} has a bad digest"))?;
        let manifest = client.get_manifest(repo, &digest).await?;
        let doc: Value = serde_json::from_slice(&manifest.bytes)
            .with_context(|| format!("referrer {digest} is not JSON"))?;
        let Some(layer) = doc["layers"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["mediaType"] == BUNDLE_MEDIA_TYPE))
        else {
            continue;
        };
        let Some(blob) = layer["digest"].as_str().and_then(|d| Digest::parse(d).ok()) else {
            continue;
        };
        let json = match layer["size"].as_u64() {
            Some(size) => client.get_blob_sized(repo, &blob, size).await?,
            None => client.get_blob(repo, &blob).await?,
        };
        let predicate_type = annotated.or_else(|| {
            doc["annotations"][ANNOTATION_PREDICATE_TYPE]
                .as_str()
                .map(str::to_string)
        });
        out.push(StoredBundle {
            manifest: digest,
            predicate_type,
            json,
        });
    }
    Ok(out)
}

/// The `sha256-<hex>.sig` tag of a manifest digest.
pub fn legacy_tag(subject: &Digest) -> String {
    format!("sha256-{}.sig", subject.hex())
}

/// One layer of a legacy `.sig` manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyLayer {
    /// The simple-signing payload.
    pub payload: Vec<u8>,
    /// `dev.cosignproject.cosign/signature`.
    pub signature_b64: String,
    /// `dev.sigstore.cosign/certificate`.
    pub certificate_pem: String,
    /// `dev.sigstore.cosign/chain`.
    pub chain_pem: String,
    /// `dev.sigstore.cosign/bundle`.
    pub rekor_bundle: Option<String>,
}

impl LegacyLayer {
    /// The layer cosign writes for a simple signature.
    pub fn from_signature(sig: &SimpleSignature) -> Result<Self> {
        Ok(Self {
            payload: sig.payload.clone(),
            signature_b64: sig.signature_b64.clone(),
            certificate_pem: sig.certificate_pem.clone(),
            chain_pem: sig.chain_pem.clone(),
            rekor_bundle: Some(cosign_rekor_bundle(&sig.bundle_json)?),
        })
    }

    fn annotations(&self) -> Value {
        let mut a = json!({
            ANNOTATION_SIGNATURE: self.signature_b64,
            ANNOTATION_CERTIFICATE: self.certificate_pem,
            ANNOTATION_CHAIN: self.chain_pem,
        });
        if let Some(b) = &self.rekor_bundle {
            a[ANNOTATION_REKOR_BUNDLE] = Value::from(b.as_str());
        }
        a
    }

    /// This signature as a Sigstore bundle v0.1 (certificate, message
    /// signature, Rekor entry with its SET and no inclusion proof), which is
    /// what the legacy annotations carry, for the verifier.
    pub fn to_bundle_json(&self) -> Result<String> {
        let rekor: Value = serde_json::from_str(
            self.rekor_bundle
                .as_deref()
                .context("the .sig layer has no Rekor bundle annotation: it was never logged")?,
        )
        .context("the .sig layer's Rekor bundle is not JSON")?;
        let p = &rekor["Payload"];
        let log_id = hex::decode(p["logID"].as_str().unwrap_or_default())
            .context("the Rekor bundle's logID is not hex")?;
        let leaf = pem_certificates(&self.certificate_pem)
            .into_iter()
            .next()
            .context("the .sig layer's certificate is not PEM")?;
        let bundle = json!({
            "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
            "verificationMaterial": {
                "x509CertificateChain": {"certificates": [{"rawBytes": B64.encode(leaf)}]},
                "tlogEntries": [{
                    "logIndex": p["logIndex"].as_u64().unwrap_or_default().to_string(),
                    "logId": {"keyId": B64.encode(log_id)},
                    "kindVersion": {"kind": "hashedrekord", "version": "0.0.1"},
                    "integratedTime": p["integratedTime"].as_i64().unwrap_or_default().to_string(),
                    "inclusionPromise": {"signedEntryTimestamp": rekor["SignedEntryTimestamp"]},
                    "canonicalizedBody": p["body"],
                }],
            },
            "messageSignature": {
                "messageDigest": {
                    "algorithm": "SHA2_256",
                    "digest": B64.encode(sha2::Sha256::digest(&self.payload)),
                },
                "signature": self.signature_b64,
            },
        });
        Ok(bundle.to_string())
    }
}

/// The certificates of a PEM text, DER.
fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            if let Some(b) = body.take()
                && let Ok(der) = B64.decode(b)
            {
                out.push(der);
            }
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    out
}

/// cosign's `dev.sigstore.cosign/bundle` annotation, from the Rekor entry of
/// a Sigstore bundle: `{"SignedEntryTimestamp", "Payload": {"body",
/// "integratedTime", "logIndex", "logID"}}`.
pub fn cosign_rekor_bundle(bundle_json: &str) -> Result<String> {
    let bundle: Value = serde_json::from_str(bundle_json).context("bundle is not JSON")?;
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    let set = entry["inclusionPromise"]["signedEntryTimestamp"]
        .as_str()
        .context("the Rekor entry has no signed entry timestamp (SET)")?;
    let log_id = B64
        .decode(entry["logId"]["keyId"].as_str().unwrap_or_default())
        .context("the Rekor entry's log id is not base64")?;
    let number = |v: &Value| -> Result<i64> {
        match v {
            Value::String(s) => s.parse().context("not a number"),
            Value::Number(n) => n.as_i64().context("not an integer"),
            _ => bail!("missing"),
        }
    };
    let out = json!({
        "SignedEntryTimestamp": set,
        "Payload": {
            "body": entry["canonicalizedBody"],
            "integratedTime": number(&entry["integratedTime"]).context("integratedTime")?,
            "logIndex": number(&entry["logIndex"]).context("logIndex")?,
            "logID": hex::encode(log_id),
        }
    });
    Ok(out.to_string())
}

/// The `.sig` manifest of `subject` and its layers; `None` when there is none.
pub async fn read_legacy(
    client: &Client,
    repo: &Repository,
    subject: &Digest,
) -> Result<Option<(Value, Vec<LegacyLayer>)>> {
    let tag = legacy_tag(subject);
    let reference = repo.at_tag(&tag)?;
    let digest = match client.resolve(&reference).await {
        Ok(d) => d,
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {reference}")),
    };
    let manifest = client.get_manifest(repo, &digest).await?;
    let doc: Value = serde_json::from_slice(&manifest.bytes)
        .with_context(|| format!("{reference} is not a JSON manifest"))?;
    let mut layers = Vec::new();
    for layer in doc["layers"].as_array().into_iter().flatten() {
        if layer["mediaType"] != SIMPLE_SIGNING_MEDIA_TYPE {
            continue;
        }
        let Some(blob) = layer["digest"].as_str().and_then(|d| Digest::parse(d).ok()) else {
            continue;
        };
        let a = &layer["annotations"];
        let text = |k: &str| a[k].as_str().unwrap_or_default().to_string();
        let payload = match layer["size"].as_u64() {
            Some(size) => client.get_blob_sized(repo, &blob, size).await?,
            None => client.get_blob(repo, &blob).await?,
        };
        layers.push(LegacyLayer {
            payload,
            signature_b64: text(ANNOTATION_SIGNATURE),
            certificate_pem: text(ANNOTATION_CERTIFICATE),
            chain_pem: text(ANNOTATION_CHAIN),
            rekor_bundle: a[ANNOTATION_REKOR_BUNDLE].as_str().map(str::to_string),
        });
    }
    Ok(Some((doc, layers)))
}

/// Append `layer` to the `.sig` manifest of `subject` (creating it), keeping
/// the layers already there. Returns false, writing nothing, when
/// `already_there` says an existing layer is equivalent.
///
/// Two jobs appending at once could each write a manifest lacking the
/// other's layer; after writing, the tag is read back and the append is
/// retried until our layer is in it.
pub async fn append_legacy(
    client: &Client,
    repo: &Repository,
    subject: &Digest,
    layer: &LegacyLayer,
    already_there: &(dyn Fn(&LegacyLayer) -> bool + Sync),
) -> Result<bool> {
    let tag = legacy_tag(subject);
    let (payload_digest, _) = client.push_blob(repo, &layer.payload).await?;
    for _ in 0..5 {
        let existing = read_legacy(client, repo, subject).await?;
        let mut descriptors: Vec<Value> = Vec::new();
        if let Some((doc, layers)) = &existing {
            if layers.iter().any(|l| l == layer) {
                return Ok(true);
            }
            if layers.iter().any(already_there) {
                return Ok(false);
            }
            descriptors = doc["layers"].as_array().cloned().unwrap_or_default();
        }
        descriptors.push(json!({
            "mediaType": SIMPLE_SIGNING_MEDIA_TYPE,
            "size": layer.payload.len(),
            "digest": payload_digest.as_str(),
            "annotations": layer.annotations(),
        }));
        // The config cosign writes: an empty image whose diff_ids are the layers.
        let diff_ids: Vec<&Value> = descriptors.iter().map(|d| &d["digest"]).collect();
        let config = json!({
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "config": {},
        });
        let config_bytes = serde_json::to_vec(&config)?;
        let (config_digest, _) = client.push_blob(repo, &config_bytes).await?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": config_bytes.len(), "digest": config_digest.as_str()},
            "layers": descriptors,
        });
        let bytes = serde_json::to_vec(&manifest)?;
        let pushed = client.push_manifest(repo, OCI_MANIFEST, &bytes).await?;
        client.tag(repo, &pushed.digest, &tag).await?;
        if let Some((_, layers)) = read_legacy(client, repo, subject).await?
            && layers.iter().any(|l| l == layer)
        {
            return Ok(true);
        }
    }
    bail!("{repo}:{tag}: other writers kept replacing the signature manifest; retry the job")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rekor_bundle_is_cosigns_shape() {
        let bundle = json!({"verificationMaterial": {"tlogEntries": [{
            "logIndex": "7", "logId": {"keyId": B64.encode([0xab, 0xcd])},
            "integratedTime": "1700000000",
            "inclusionPromise": {"signedEntryTimestamp": "U0VU"},
            "canonicalizedBody": "Ym9keQ==",
        }]}});
        let out: Value =
            serde_json::from_str(&cosign_rekor_bundle(&bundle.to_string()).unwrap()).unwrap();
        assert_eq!(
            out,
            json!({"SignedEntryTimestamp": "U0VU", "Payload": {"body": "Ym9keQ==", "integratedTime": 1700000000, "logIndex": 7, "logID": "abcd"}})
        );
    }

    #[test]
    fn bundle_artifact_carries_cosign_annotations() {
        let a = bundle_artifact(
            "{}",
            "https://sigstore.dev/cosign/sign/v1",
            "2024-01-01T00:00:00Z",
        );
        assert_eq!(a.artifact_type, BUNDLE_MEDIA_TYPE);
        assert_eq!(a.blobs[0].media_type, BUNDLE_MEDIA_TYPE);
        assert_eq!(a.annotations[ANNOTATION_CONTENT], "dsse-envelope");
        assert_eq!(
            a.annotations[ANNOTATION_PREDICATE_TYPE],
            "https://sigstore.dev/cosign/sign/v1"
        );
    }
}
