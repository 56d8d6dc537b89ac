//! Property tests of what reads untrusted Sigstore input: bundles (JSON, their
//! certificates, tlog entries, DSSE envelopes and in-toto statements), trusted
//! roots and client trust configs, cosign's legacy `.sig` layers. Arbitrary bytes,
//! bundle-shaped JSON and mutations of real bundles (signed in the test against the
//! local Sigstore stack) never panic; a mutated bundle never verifies for another
//! artifact, and when it still verifies for its own, it proves what the original did.
//! Each test prints how many inputs it ran (`scripts/props-counts.sh` collects the lines).

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bitvault_sigstore::oci::{LegacyLayer, cosign_rekor_bundle};
use bitvault_sigstore::sign::{KeylessSigner, Services, ToSign};
use bitvault_sigstore::verify::{
    Artifact, ClientTrustConfig, Policy, TrustedRoot, VerifiedBundle, verify_artifact,
    verify_with_key,
};
use bitvault_sigstore_local::{GithubClaims, LocalSigstore, SIGSTORE_AUDIENCE};
use bitvault_testkit::props::{apply, edits, run};
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::Digest as _;

/// Real bundles, signed once per test binary against the local stack (which is
/// stopped again: verification is offline).
struct Fixture {
    root: TrustedRoot,
    trust_json: String,
    policy: Policy,
    /// A DSSE (in-toto) bundle and the digest of its subject.
    dsse: String,
    dsse_sha256: String,
    /// A message-signature bundle and the payload it signs.
    simple: String,
    payload: Vec<u8>,
    /// The legacy `.sig` layer of the same signature.
    legacy: LegacyLayer,
    /// The signing certificate (DER) and its public key (PEM).
    leaf_der: Vec<u8>,
    key_pem: String,
    /// What the unmodified bundles verify to.
    dsse_verified: VerifiedBundle,
    simple_verified: VerifiedBundle,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let stack = LocalSigstore::start().expect("the local Sigstore stack starts");
        let trust_json = stack.client_trust_config();
        let trust = ClientTrustConfig::from_json(&trust_json).unwrap();
        let policy = Policy::new(GithubClaims::default().identity(), stack.issuer_url());
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dsse_sha256 = sha256_hex(b"image");
        let (signed, simple) = runtime.block_on(async {
            let services = Services::from_client_trust_config(&trust).unwrap();
            let token = stack.mint_token(&GithubClaims::default(), SIGSTORE_AUDIENCE);
            let signer = KeylessSigner::new(&services, &token).await.unwrap();
            // Other entries first, so the bundles' log indexes are not 0 (a missing
            // logIndex reads as 0).
            let others: Vec<ToSign> = (0..3)
                .map(|i| ToSign::signature("ghcr.io/acme/other", sha256_hex(&[i])))
                .collect();
            signer.attest(others).await.unwrap();
            let signed = signer
                .attest(vec![ToSign::provenance(
                    "ghcr.io/acme/app",
                    dsse_sha256.clone(),
                    json!({"buildDefinition": {"buildType": "https://bitvault.dev/build/v1"}}),
                )])
                .await
                .unwrap();
            let simple = signer
                .sign_simple_signing("ghcr.io/acme/app", &format!("sha256:{dsse_sha256}"))
                .await
                .unwrap();
            (signed, simple)
        });
        drop(stack);
        let root = trust.trusted_root;
        assert_eq!(
            signed[0].log_index, 3,
            "the DSSE bundle is the log's fourth entry"
        );
        let dsse = signed[0].bundle_json.clone();
        let dsse_verified = verify_artifact(
            dsse.as_bytes(),
            Artifact::Digest(&dsse_sha256),
            &policy,
            &root,
        )
        .expect("the DSSE bundle just signed verifies");
        let simple_verified = verify_artifact(
            simple.bundle_json.as_bytes(),
            Artifact::Bytes(&simple.payload),
            &policy,
            &root,
        )
        .expect("the message-signature bundle just signed verifies");
        let leaf_der = pem_der(&simple.certificate_pem);
        let key_pem = public_key_pem(&leaf_der);
        Fixture {
            legacy: LegacyLayer::from_signature(&simple).unwrap(),
            root,
            trust_json,
            policy,
            dsse,
            dsse_sha256,
            simple: simple.bundle_json,
            payload: simple.payload,
            leaf_der,
            key_pem,
            dsse_verified,
            simple_verified,
        }
    })
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    B64.decode(body).unwrap()
}

fn public_key_pem(cert_der: &[u8]) -> String {
    use x509_cert::der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(cert_der).unwrap();
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        B64.encode(spki)
    )
}

/// Every way in for a bundle, with the artifact it is checked against; whether the
/// keyless one verified.
fn verify_all(bundle: &[u8], artifact: Artifact<'_>) -> Option<VerifiedBundle> {
    let f = fixture();
    let _ = verify_with_key(bundle, artifact, &f.key_pem, &f.root);
    let _ = cosign_rekor_bundle(&String::from_utf8_lossy(bundle));
    verify_artifact(bundle, artifact, &f.policy, &f.root).ok()
}

fn other_sha256() -> String {
    sha256_hex(b"another artifact")
}

#[test]
fn arbitrary_bytes_are_refused() {
    let f = fixture();
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        "[{}\\[\\]\":,a-zA-Z0-9+/= ]{0,120}".prop_map(String::into_bytes),
    ];
    run("sigstore arbitrary bytes", 1500, bytes, |bytes| {
        let text = String::from_utf8_lossy(&bytes);
        assert!(TrustedRoot::from_json(&text).is_err(), "{text}");
        assert!(ClientTrustConfig::from_json(&text).is_err(), "{text}");
        let _ = verify_with_key(&bytes, Artifact::Bytes(&bytes), &text, &f.root);
        let _ = cosign_rekor_bundle(&text);
        let other = other_sha256();
        assert!(verify_all(&bytes, Artifact::Digest(&other)).is_none());
        assert!(verify_all(&bytes, Artifact::Digest(&f.dsse_sha256)).is_none());
        false
    });
}

/// A small JSON value of any shape.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
        b64_bytes(0..48).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn b64_bytes(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), len).prop_map(|b| B64.encode(b))
}

/// A base64 field: random bytes, real material (whole, cut or with a flipped bit),
/// not base64 at all, or not a string.
fn b64_field(real: Vec<u8>) -> impl Strategy<Value = Value> {
    let cut = real.clone();
    let flipped = real.clone();
    let len = real.len().max(1);
    prop_oneof![
        3 => b64_bytes(0..96).prop_map(Value::from),
        2 => Just(Value::from(B64.encode(&real))),
        2 => (0..len).prop_map(move |n| Value::from(B64.encode(&cut[..n]))),
        2 => (0..len, 0u8..8).prop_map(move |(i, bit)| {
            let mut b = flipped.clone();
            if let Some(x) = b.get_mut(i) {
                *x ^= 1 << bit;
            }
            Value::from(B64.encode(b))
        }),
        1 => "[!-~]{0,20}".prop_map(Value::from),
        1 => json_value(),
    ]
}

fn number_field() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| Value::from(n.to_string())),
        any::<u64>().prop_map(|n| Value::from(n.to_string())),
        any::<i64>().prop_map(Value::from),
        "[0-9a-z-]{0,25}".prop_map(Value::from),
        json_value(),
    ]
}

/// Drops the keys whose value is null, so missing fields are generated too.
fn object(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn maybe<S: Strategy<Value = Value>>(s: S) -> impl Strategy<Value = Value> {
    prop::option::weighted(0.8, s).prop_map(|v| v.unwrap_or(Value::Null))
}

fn tlog_entry(real: &Value) -> impl Strategy<Value = Value> + use<> {
    let real_b64 = |key: &str| {
        real.pointer(key)
            .and_then(Value::as_str)
            .and_then(|s| B64.decode(s).ok())
            .unwrap_or_default()
    };
    (
        maybe(number_field()),
        maybe(b64_field(real_b64("/logId/keyId")).prop_map(|k| json!({"keyId": k}))),
        maybe(
            (
                prop_oneof![
                    Just("hashedrekord".to_string()),
                    Just("dsse".to_string()),
                    Just("intoto".to_string()),
                    "[a-z]{0,8}"
                ],
                prop_oneof![
                    Just("0.0.1".to_string()),
                    Just("0.0.2".to_string()),
                    "[0-9.]{0,6}"
                ],
            )
                .prop_map(|(k, v)| json!({"kind": k, "version": v})),
        ),
        maybe(number_field()),
        maybe(
            b64_field(real_b64("/inclusionPromise/signedEntryTimestamp"))
                .prop_map(|s| json!({"signedEntryTimestamp": s})),
        ),
        maybe(
            (
                number_field(),
                b64_field(vec![0; 32]),
                number_field(),
                prop::collection::vec(b64_bytes(0..40).prop_map(Value::from), 0..4),
                "[ -~\\n]{0,80}",
            )
                .prop_map(|(i, root, size, hashes, checkpoint)| {
                    json!({"logIndex": i, "rootHash": root, "treeSize": size, "hashes": hashes,
                           "checkpoint": {"envelope": checkpoint}})
                }),
        ),
        maybe(b64_field(real_b64("/canonicalizedBody"))),
    )
        .prop_map(|(index, log_id, kind, time, promise, proof, body)| {
            object(vec![
                ("logIndex", index),
                ("logId", log_id),
                ("kindVersion", kind),
                ("integratedTime", time),
                ("inclusionPromise", promise),
                ("inclusionProof", proof),
                ("canonicalizedBody", body),
            ])
        })
}

/// An in-toto statement with random subjects and predicate.
fn statement() -> impl Strategy<Value = Vec<u8>> {
    let subject = (
        "[a-z./:]{0,16}",
        prop_oneof![
            Just(fixture().dsse_sha256.clone()),
            Just(other_sha256()),
            "[0-9a-f]{0,64}"
        ],
    )
        .prop_map(|(name, sha)| json!({"name": name, "digest": {"sha256": sha}}));
    let statement = (
        prop_oneof![
            Just("https://in-toto.io/Statement/v1".to_string()),
            "[a-z:/.]{0,20}"
        ],
        prop::collection::vec(subject, 0..3),
        prop_oneof![
            Just("https://slsa.dev/provenance/v1".to_string()),
            "[ -~]{0,12}"
        ],
        json_value(),
    )
        .prop_map(|(ty, subject, pt, predicate)| {
            serde_json::to_vec(
                &json!({"_type": ty, "subject": subject, "predicateType": pt, "predicate": predicate}),
            )
            .unwrap()
        });
    prop_oneof![
        4 => statement,
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn content(
    dsse_sig: Vec<u8>,
    simple_sig: Vec<u8>,
) -> impl Strategy<Value = Vec<(&'static str, Value)>> {
    let message = (
        maybe(
            (
                prop_oneof![Just("SHA2_256".to_string()), "[A-Z0-9_]{0,10}"],
                b64_field(sha2::Sha256::digest(b"another artifact").to_vec()),
            )
                .prop_map(|(a, d)| json!({"algorithm": a, "digest": d})),
        ),
        maybe(b64_field(simple_sig)),
    )
        .prop_map(|(digest, sig)| {
            vec![(
                "messageSignature",
                object(vec![("messageDigest", digest), ("signature", sig)]),
            )]
        })
        .boxed();
    let signature = (
        b64_field(dsse_sig),
        maybe("[ -~]{0,8}".prop_map(Value::from)),
    )
        .prop_map(|(sig, keyid)| object(vec![("sig", sig), ("keyid", keyid)]));
    let dsse = (
        statement().prop_map(|s| Value::from(B64.encode(s))),
        prop_oneof![
            Just("application/vnd.in-toto+json".to_string()),
            "[a-z/.+-]{0,24}"
        ],
        prop::collection::vec(signature, 0..3),
    )
        .prop_map(|(payload, ty, sigs)| {
            vec![(
                "dsseEnvelope",
                json!({"payload": payload, "payloadType": ty, "signatures": sigs}),
            )]
        })
        .boxed();
    prop_oneof![
        3 => message.clone(),
        3 => dsse.clone(),
        1 => (message, dsse).prop_map(|(mut m, d)| { m.extend(d); m }),
        1 => Just(Vec::new()),
    ]
}

/// JSON shaped like a bundle: media type, verification material (certificate,
/// chain or public key, tlog entries, timestamps), message signature or DSSE
/// envelope, each field random, real, damaged or missing.
fn bundle_json() -> impl Strategy<Value = Value> {
    let f = fixture();
    let real: Value = serde_json::from_str(&f.dsse).unwrap();
    let real_simple: Value = serde_json::from_str(&f.simple).unwrap();
    let real_entry = real["verificationMaterial"]["tlogEntries"][0].clone();
    let dsse_sig = real
        .pointer("/dsseEnvelope/signatures/0/sig")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .unwrap_or_default();
    let simple_sig = real_simple
        .pointer("/messageSignature/signature")
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .unwrap_or_default();
    let media_type = prop_oneof![
        Just(Value::from("application/vnd.dev.sigstore.bundle.v0.3+json")),
        Just(Value::from(
            "application/vnd.dev.sigstore.bundle+json;version=0.2"
        )),
        Just(Value::from(
            "application/vnd.dev.sigstore.bundle+json;version=0.1"
        )),
        "[ -~]{0,30}".prop_map(Value::from),
        json_value(),
    ];
    let cert = b64_field(f.leaf_der.clone())
        .prop_map(|c| json!({"rawBytes": c}))
        .boxed();
    let material = prop_oneof![
        cert.clone().prop_map(|c| ("certificate", c)),
        prop::collection::vec(cert, 0..3)
            .prop_map(|c| ("x509CertificateChain", json!({"certificates": c}))),
        "[ -~]{0,16}".prop_map(|h| ("publicKey", json!({"hint": h}))),
        json_value().prop_map(|v| ("certificate", v)),
    ];
    let material = (
        maybe(material.prop_map(|(k, v)| json!({ k: v }))),
        prop::collection::vec(tlog_entry(&real_entry), 0..3),
        maybe(
            prop::collection::vec(
                b64_bytes(0..64).prop_map(|t| json!({"signedTimestamp": t})),
                0..2,
            )
            .prop_map(|t| json!({"rfc3161Timestamps": t})),
        ),
    )
        .prop_map(|(mut m, entries, ts)| {
            if !m.is_object() {
                m = json!({});
            }
            m["tlogEntries"] = Value::Array(entries);
            if !ts.is_null() {
                m["timestampVerificationData"] = ts;
            }
            m
        });
    (
        maybe(media_type),
        maybe(material),
        content(dsse_sig, simple_sig),
    )
        .prop_map(|(media_type, material, content)| {
            let mut fields = vec![
                ("mediaType", media_type),
                ("verificationMaterial", material),
            ];
            fields.extend(content);
            object(fields)
        })
}

#[test]
fn bundle_shaped_json_is_refused() {
    let f = fixture();
    run(
        "sigstore bundle-shaped JSON",
        1500,
        bundle_json(),
        |bundle| {
            let bytes = serde_json::to_vec(&bundle).unwrap();
            let other = other_sha256();
            assert!(
                verify_all(&bytes, Artifact::Digest(&other)).is_none(),
                "{bundle}"
            );
            assert!(
                verify_all(&bytes, Artifact::Bytes(&f.payload)).is_none(),
                "{bundle}"
            );
            verify_all(&bytes, Artifact::Digest(&f.dsse_sha256)).is_some()
        },
    );
}

/// A mutated bundle never verifies for another artifact; when it verifies for its
/// own, it proves what the original proved.
fn check_mutant(mutant: &[u8], own: Artifact<'_>, original: &VerifiedBundle) -> bool {
    let other_sha256 = other_sha256();
    let other = match own {
        Artifact::Bytes(_) => Artifact::Bytes(b"another artifact"),
        _ => Artifact::Digest(&other_sha256),
    };
    assert!(
        verify_all(mutant, other).is_none(),
        "a mutated bundle verified for another artifact:\n{}",
        String::from_utf8_lossy(mutant)
    );
    match verify_all(mutant, own) {
        Some(v) => {
            assert_eq!(
                v.signer,
                original.signer,
                "{}",
                String::from_utf8_lossy(mutant)
            );
            assert_eq!(v.artifact_sha256, original.artifact_sha256);
            assert_eq!(
                v.integrated_time,
                original.integrated_time,
                "{}",
                String::from_utf8_lossy(mutant)
            );
            assert_eq!(v.statement, original.statement);
            assert_eq!(
                v.log_index,
                original.log_index,
                "{}",
                String::from_utf8_lossy(mutant)
            );
            true
        }
        None => false,
    }
}

#[test]
fn byte_mutations_of_real_bundles_never_verify_for_another_artifact() {
    let f = fixture();
    let dsse_own = Artifact::Digest(&f.dsse_sha256);
    assert!(check_mutant(f.dsse.as_bytes(), dsse_own, &f.dsse_verified));
    let simple_own = Artifact::Bytes(&f.payload);
    assert!(check_mutant(
        f.simple.as_bytes(),
        simple_own,
        &f.simple_verified
    ));
    let which = any::<bool>();
    run(
        "sigstore bundle byte mutations",
        700,
        (which, edits()),
        |(dsse, edits)| {
            if dsse {
                check_mutant(
                    &apply(f.dsse.as_bytes(), &edits),
                    dsse_own,
                    &f.dsse_verified,
                )
            } else {
                check_mutant(
                    &apply(f.simple.as_bytes(), &edits),
                    simple_own,
                    &f.simple_verified,
                )
            }
        },
    );
}

/// Every JSON pointer into `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        _ => {}
    }
}

/// A structural change at one place of a document.
#[derive(Debug, Clone)]
enum Change {
    Replace(Value),
    Remove,
    /// Flip a bit of a base64 string's decoded bytes.
    FlipDecoded(prop::sample::Index, u8),
    /// Cut a base64 string's decoded bytes.
    CutDecoded(prop::sample::Index),
}

fn change_at(doc: &Value, pointer: &str, change: &Change) -> Value {
    let mut doc = doc.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match change {
        Change::Replace(v) => *doc.pointer_mut(pointer).unwrap() = v.clone(),
        Change::Remove => match doc.pointer_mut(parent).unwrap() {
            Value::Object(m) => {
                m.remove(&key.replace("~1", "/").replace("~0", "~"));
            }
            Value::Array(a) => {
                a.remove(key.parse::<usize>().unwrap());
            }
            _ => unreachable!("a pointer's parent is a container"),
        },
        Change::FlipDecoded(i, _) | Change::CutDecoded(i) => {
            let target = doc.pointer_mut(pointer).unwrap();
            let Some(mut bytes) = target.as_str().and_then(|s| B64.decode(s).ok()) else {
                return doc;
            };
            if bytes.is_empty() {
                return doc;
            }
            let i = i.index(bytes.len());
            match change {
                Change::FlipDecoded(_, bit) => bytes[i] ^= 1 << bit,
                _ => bytes.truncate(i),
            }
            *target = Value::from(B64.encode(bytes));
        }
    }
    doc
}

/// The pointers of `doc` (every one, and those of base64 strings) and a change at one
/// of them.
fn field_change(doc: &Value) -> impl Strategy<Value = (String, Change)> + use<> {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let b64: Vec<String> = all
        .iter()
        .filter(|p| {
            doc.pointer(p)
                .and_then(Value::as_str)
                .is_some_and(|s| s.len() >= 8 && B64.decode(s).is_ok())
        })
        .cloned()
        .collect();
    let anywhere = (
        prop::sample::select(all),
        prop_oneof![
            2 => json_value().prop_map(Change::Replace),
            1 => Just(Change::Remove),
        ],
    );
    let decoded = (
        prop::sample::select(b64),
        prop_oneof![
            3 => (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Change::FlipDecoded(i, b)),
            1 => any::<prop::sample::Index>().prop_map(Change::CutDecoded),
        ],
    );
    prop_oneof![anywhere, decoded]
}

#[test]
fn field_mutations_of_real_bundles_never_verify_for_another_artifact() {
    let f = fixture();
    let dsse: Value = serde_json::from_str(&f.dsse).unwrap();
    let simple: Value = serde_json::from_str(&f.simple).unwrap();
    let mutant = prop_oneof![
        field_change(&dsse).prop_map(|(p, c)| (true, p, c)),
        field_change(&simple).prop_map(|(p, c)| (false, p, c)),
    ];
    run(
        "sigstore bundle field mutations",
        400,
        mutant,
        |(is_dsse, pointer, change)| {
            let (doc, own, original) = if is_dsse {
                (&dsse, Artifact::Digest(&f.dsse_sha256), &f.dsse_verified)
            } else {
                (&simple, Artifact::Bytes(&f.payload), &f.simple_verified)
            };
            let m = serde_json::to_vec(&change_at(doc, &pointer, &change)).unwrap();
            check_mutant(&m, own, original)
        },
    );
}

#[test]
fn trust_roots_and_legacy_layers_parse_or_refuse() {
    let f = fixture();
    let trust: Value = serde_json::from_str(&f.trust_json).unwrap();
    let mut paths = Vec::new();
    pointers(&trust, String::new(), &mut paths);
    let change = prop_oneof![
        2 => json_value().prop_map(Change::Replace),
        1 => Just(Change::Remove),
        2 => (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Change::FlipDecoded(i, b)),
    ];
    run(
        "sigstore trust config mutations",
        400,
        (prop::sample::select(paths), change),
        |(pointer, change)| {
            let doc = change_at(&trust, &pointer, &change);
            let text = doc.to_string();
            let root = TrustedRoot::from_json(&doc["trustedRoot"].to_string());
            ClientTrustConfig::from_json(&text).is_ok() && root.is_ok()
        },
    );

    let rekor: Value = serde_json::from_str(f.legacy.rekor_bundle.as_deref().unwrap()).unwrap();
    let mut rekor_paths = Vec::new();
    pointers(&rekor, String::new(), &mut rekor_paths);
    let legacy = (
        prop_oneof![
            Just(f.payload.clone()),
            prop::collection::vec(any::<u8>(), 0..64)
        ],
        prop_oneof![
            Just(f.legacy.signature_b64.clone()),
            b64_bytes(0..72),
            "[ -~]{0,12}"
        ],
        prop_oneof![
            Just(f.legacy.certificate_pem.clone()),
            b64_bytes(0..200).prop_map(|b| format!(
                "-----BEGIN CERTIFICATE-----\n{b}\n-----END CERTIFICATE-----\n"
            )),
            "[ -~\\n]{0,40}"
        ],
        prop_oneof![
            Just(None),
            Just(f.legacy.rekor_bundle.clone()),
            "[ -~]{0,40}".prop_map(Some),
            (prop::sample::select(rekor_paths), json_value()).prop_map(move |(p, v)| Some(
                change_at(&rekor, &p, &Change::Replace(v)).to_string()
            )),
        ],
    );
    run(
        "sigstore legacy .sig layers",
        300,
        legacy,
        |(payload, signature_b64, certificate_pem, rekor_bundle)| {
            let layer = LegacyLayer {
                payload,
                signature_b64,
                certificate_pem,
                chain_pem: String::new(),
                rekor_bundle,
            };
            let Ok(bundle) = layer.to_bundle_json() else {
                return false;
            };
            let other = other_sha256();
            assert!(verify_all(bundle.as_bytes(), Artifact::Digest(&other)).is_none());
            verify_all(bundle.as_bytes(), Artifact::Bytes(&layer.payload)).is_some()
        },
    );
}
