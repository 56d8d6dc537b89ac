//! Rekor v1: an in-memory RFC 6962 Merkle tree of `hashedrekord` and `dsse`
//! (0.0.1) entries, with inclusion proofs, signed checkpoints (signed note
//! format) and signed entry timestamps.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use x509_cert::der::{Decode as _, Encode as _};

type Hash = [u8; 32];

pub(crate) struct Log {
    key: p256::ecdsa::SigningKey,
    pub public_key_der: Vec<u8>,
    pub log_id: Hash,
    tree_id: i64,
    origin: String,
    leaves: Vec<Hash>,
    entries: Vec<Stored>,
    by_uuid: HashMap<String, usize>,
}

struct Stored {
    body: Vec<u8>,
    integrated_time: i64,
}

/// Why an entry was not accepted.
pub(crate) enum Rejected {
    /// 400: the entry is malformed or its signature does not verify.
    Invalid(String),
    /// 409: the same entry is already in the log, at this UUID.
    Conflict(String),
}

fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(l: &Hash, r: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962 MTH.
fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// RFC 6962 PATH(m, D[n]).
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(root(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(root(&leaves[..k]));
        p
    }
}

fn pem_cert_to_key(b64_pem: &str) -> Result<(String, p256::ecdsa::VerifyingKey), String> {
    let pem = B64
        .decode(b64_pem)
        .map_err(|e| format!("verifier is not base64: {e}"))?;
    let pem = String::from_utf8(pem).map_err(|_| "verifier is not PEM".to_string())?;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let der = B64
        .decode(body.trim())
        .map_err(|e| format!("verifier PEM is not base64: {e}"))?;
    let cert = x509_cert::Certificate::from_der(&der)
        .map_err(|e| format!("verifier is not an X.509 certificate: {e}"))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| e.to_string())?;
    let key =
        <p256::ecdsa::VerifyingKey as p256::pkcs8::DecodePublicKey>::from_public_key_der(&spki)
            .map_err(|e| format!("only ECDSA P-256 signing keys are supported: {e}"))?;
    // Rekor stores the verifier in canonical form (Go's PEM encoding of the
    // DER), whatever line layout the client sent; clients compare against it.
    Ok((B64.encode(crate::ca::cert_pem(&der)), key))
}

fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Check a proposed entry and return its canonicalised body.
fn canonicalize(proposed: &Value) -> Result<Vec<u8>, String> {
    let kind = proposed["kind"].as_str().unwrap_or_default();
    let version = proposed["apiVersion"].as_str().unwrap_or_default();
    let spec = &proposed["spec"];
    match (kind, version) {
        ("hashedrekord", "0.0.1") => {
            let algorithm = spec["data"]["hash"]["algorithm"]
                .as_str()
                .unwrap_or_default();
            if algorithm != "sha256" {
                return Err(format!("unsupported hash algorithm {algorithm:?}"));
            }
            let digest = hex::decode(spec["data"]["hash"]["value"].as_str().unwrap_or_default())
                .map_err(|e| format!("data.hash.value is not hex: {e}"))?;
            if digest.len() != 32 {
                return Err("data.hash.value is not a SHA-256 digest".into());
            }
            let sig_b64 = spec["signature"]["content"].as_str().unwrap_or_default();
            let sig = B64
                .decode(sig_b64)
                .map_err(|e| format!("signature is not base64: {e}"))?;
            let (verifier, key) = pem_cert_to_key(
                spec["signature"]["publicKey"]["content"]
                    .as_str()
                    .unwrap_or_default(),
            )?;
            let sig = p256::ecdsa::Signature::from_der(&sig)
                .map_err(|e| format!("signature is not DER ECDSA: {e}"))?;
            key.verify_prehash(&digest, &sig)
                .map_err(|_| "signature does not verify against the artifact hash".to_string())?;
            let body = json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": "sha256", "value": hex::encode(&digest)}},
                    "signature": {"content": sig_b64, "publicKey": {"content": verifier}},
                },
            });
            Ok(serde_json::to_vec(&body).expect("json"))
        }
        ("dsse", "0.0.1") => {
            let content = &spec["proposedContent"];
            let envelope_str = content["envelope"]
                .as_str()
                .ok_or("proposedContent.envelope is missing")?;
            let envelope: Value = serde_json::from_str(envelope_str)
                .map_err(|e| format!("envelope is not JSON: {e}"))?;
            let payload = B64
                .decode(envelope["payload"].as_str().unwrap_or_default())
                .map_err(|e| format!("payload is not base64: {e}"))?;
            let payload_type = envelope["payloadType"].as_str().unwrap_or_default();
            let verifiers = content["verifiers"]
                .as_array()
                .filter(|v| !v.is_empty())
                .ok_or("proposedContent.verifiers is missing")?;
            let keys = verifiers
                .iter()
                .map(|v| pem_cert_to_key(v.as_str().unwrap_or_default()))
                .collect::<Result<Vec<_>, _>>()?;
            let message = pae(payload_type, &payload);
            let mut signatures = Vec::new();
            for sig in envelope["signatures"].as_array().into_iter().flatten() {
                let sig_b64 = sig["sig"].as_str().unwrap_or_default();
                let raw = B64
                    .decode(sig_b64)
                    .map_err(|e| format!("signature is not base64: {e}"))?;
                let parsed = p256::ecdsa::Signature::from_der(&raw)
                    .map_err(|e| format!("signature is not DER ECDSA: {e}"))?;
                let (verifier, _) = keys
                    .iter()
                    .find(|(_, k)| k.verify(&message, &parsed).is_ok())
                    .ok_or("envelope signature does not verify against any verifier")?;
                signatures.push(json!({"signature": sig_b64, "verifier": verifier}));
            }
            if signatures.is_empty() {
                return Err("envelope has no signatures".into());
            }
            let body = json!({
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope_str))},
                    "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&payload))},
                    "signatures": signatures,
                },
            });
            Ok(serde_json::to_vec(&body).expect("json"))
        }
        _ => Err(format!(
            "unsupported entry kind {kind:?} version {version:?}: this log accepts hashedrekord and dsse 0.0.1"
        )),
    }
}

impl Log {
    pub fn new(host: &str) -> Self {
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let public_key_der = crate::ca::spki_der_p256(key.verifying_key());
        let log_id = Sha256::digest(&public_key_der).into();
        let tree_id = i64::from_be_bytes(rand::random::<[u8; 8]>()).abs();
        Self {
            key,
            public_key_der,
            log_id,
            tree_id,
            origin: format!("{host} - {tree_id}"),
            leaves: Vec::new(),
            entries: Vec::new(),
            by_uuid: HashMap::new(),
        }
    }

    /// Add a proposed entry. Returns its UUID.
    pub fn add(&mut self, proposed: &Value) -> Result<String, Rejected> {
        let body = canonicalize(proposed).map_err(Rejected::Invalid)?;
        let leaf = leaf_hash(&body);
        let uuid = hex::encode(leaf);
        if self.by_uuid.contains_key(&uuid) {
            return Err(Rejected::Conflict(uuid));
        }
        let integrated_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        self.by_uuid.insert(uuid.clone(), self.entries.len());
        self.leaves.push(leaf);
        self.entries.push(Stored {
            body,
            integrated_time,
        });
        Ok(uuid)
    }

    pub fn index_of(&self, uuid: &str) -> Option<usize> {
        // Sharded logs prefix the tree ID (16 hex); accept both forms.
        let uuid = if uuid.len() == 80 { &uuid[16..] } else { uuid };
        self.by_uuid.get(uuid).copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn sign(&self, data: &[u8]) -> Vec<u8> {
        let sig: p256::ecdsa::Signature = self.key.sign(data);
        sig.to_der().as_bytes().to_vec()
    }

    /// A signed note for the current tree head.
    pub fn checkpoint(&self) -> String {
        let note = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.leaves.len(),
            B64.encode(root(&self.leaves))
        );
        let mut sig = self.log_id[..4].to_vec();
        sig.extend(self.sign(note.as_bytes()));
        let name = self.origin.split(' ').next().unwrap_or_default();
        format!("{note}\n\u{2014} {name} {}\n", B64.encode(sig))
    }

    /// `{uuid: entry}` as Rekor answers, proof against the current tree.
    pub fn entry_json(&self, index: usize) -> Value {
        let stored = &self.entries[index];
        let body = B64.encode(&stored.body);
        let log_id = hex::encode(self.log_id);
        // The SET signs the RFC 8785 form of these four fields: sorted keys,
        // no whitespace.
        let set_payload = format!(
            r#"{{"body":{},"integratedTime":{},"logID":{},"logIndex":{}}}"#,
            Value::from(body.as_str()),
            stored.integrated_time,
            Value::from(log_id.as_str()),
            index
        );
        let set = B64.encode(self.sign(set_payload.as_bytes()));
        let hashes: Vec<String> = path(index, &self.leaves).iter().map(hex::encode).collect();
        json!({
            hex::encode(self.leaves[index]): {
                "body": body,
                "integratedTime": stored.integrated_time,
                "logID": log_id,
                "logIndex": index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": self.checkpoint(),
                        "hashes": hashes,
                        "logIndex": index,
                        "rootHash": hex::encode(root(&self.leaves)),
                        "treeSize": self.leaves.len(),
                    },
                    "signedEntryTimestamp": set,
                },
            }
        })
    }

    /// The canonical body a proposed entry would get, for search by entry.
    pub fn find(&self, proposed: &Value) -> Option<usize> {
        let body = canonicalize(proposed).ok()?;
        self.index_of(&hex::encode(leaf_hash(&body)))
    }

    pub fn info(&self) -> Value {
        json!({
            "rootHash": hex::encode(root(&self.leaves)),
            "treeSize": self.leaves.len(),
            "signedTreeHead": self.checkpoint(),
            "treeID": self.tree_id.to_string(),
            "inactiveShards": [],
        })
    }

    pub fn public_key_pem(&self) -> String {
        let b64 = B64.encode(&self.public_key_der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Check every inclusion proof of trees of size 1..=9 by recomputing the
    /// root the way RFC 9162 section 2.1.3.2 verifies it.
    #[test]
    fn inclusion_proofs_recompute_the_root() {
        for n in 1..=9usize {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&[i as u8])).collect();
            let expected = root(&leaves);
            for m in 0..n {
                let proof = path(m, &leaves);
                let (mut fnode, mut snode) = (m, n - 1);
                let mut r = leaves[m];
                for p in &proof {
                    if fnode % 2 == 1 || fnode == snode {
                        r = node_hash(p, &r);
                        while fnode % 2 == 0 && fnode != 0 {
                            fnode >>= 1;
                            snode >>= 1;
                        }
                    } else {
                        r = node_hash(&r, p);
                    }
                    fnode >>= 1;
                    snode >>= 1;
                }
                assert_eq!(r, expected, "n={n} m={m}");
            }
        }
    }
}
