//! The Sigstore conformance bundle-verification vectors, offline.
//!
//! Each folder of `conformance/sigstore/bundle-verify/` is one case, read as
//! `conformance/sigstore/SOURCES.md` describes: `_fail` cases must be rejected
//! and every other case must verify. A rejection must also be for the reason the
//! case is about, so each `_fail` case is checked against the kind of error it
//! is expected to produce, and re-run with the identity its certificate really
//! carries, so that it cannot pass this suite merely by naming someone else.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bitvault_sigstore::verify::{
    Artifact, Policy, Signer, TrustedRoot, VerifiedBundle, VerifyError, verify_artifact,
    verify_with_key,
};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// SOURCES.md says 72, but the shared copy holds 70 case folders (72 is the
/// folder's link count: 70 cases plus `.` and `..`). Pinned so that a case
/// going missing is noticed.
const CASE_COUNT: usize = 70;

/// Cases whose outcome differs from the upstream expectation because the
/// libraries cannot do what the case needs: (case, outcome we give, why).
/// Each listed case is still run, and must still behave as listed.
const EXCEPTIONS: &[(&str, Outcome, &str)] = &[];

/// The error each `_fail` case must be rejected with (the `VerifyError`
/// variant), so that it fails for the reason it exists.
const EXPECTED_REJECTIONS: &[(&str, &str)] = &[
    // Rejected first for its checkpoint-less inclusion proof; see
    // `fail_cases_fail_for_their_own_reason` for the empty chain itself.
    ("bundle-empty-certificate-chain_fail", "Bundle"),
    ("bundle-from-wrong-instance_fail", "TransparencyLog"),
    ("bundle-invalid-base64-signature_fail", "Bundle"),
    ("bundle-malformed-json_fail", "Bundle"),
    ("bundle-negative-log-index_fail", "Bundle"),
    ("bundle-unknown-version_fail", "Bundle"),
    ("bundle-with-root-cert_fail", "Bundle"),
    ("checkpoint-bad-keyhint_fail", "TransparencyLog"),
    // sigstore-bundle compares the proof's root hash with the checkpoint's
    // while checking the bundle's structure.
    ("checkpoint-wrong-roothash_fail", "Bundle"),
    ("dsse-invalid-sig_fail", "Signature"),
    ("dsse-mismatch-envelope_fail", "TransparencyLog"),
    ("dsse-mismatch-sig_fail", "TransparencyLog"),
    ("inclusion-proof-corrupted-hash_fail", "TransparencyLog"),
    // The altered key is inside the log entry body, which the SET signs.
    ("incorrect-public-key_fail", "TransparencyLog"),
    ("integrated-time-in-future_fail", "Certificate"),
    ("intoto-expired-certificate_fail", "Certificate"),
    ("intoto-log-entry-mismatch_fail", "TransparencyLog"),
    ("intoto-missing-inclusion-proof_fail", "Bundle"),
    (
        "intoto-set-outside-signing-cert-validity_fail",
        "Certificate",
    ),
    (
        "intoto-tsa-timestamp-outside-cert-validity_fail",
        "Certificate",
    ),
    ("invalid-checkpoint-signature_fail", "TransparencyLog"),
    ("invalid-ct-key_fail", "Certificate"),
    // Rejected for its checkpoint-less inclusion proof: without a signed
    // checkpoint the stale proof has nothing trustworthy to be checked against.
    ("invalid-inclusion-proof_fail", "Bundle"),
    ("managed-key-no-key_fail", "KeyRequired"),
    // The "wrong key" is not a P-256 key at all: it cannot be loaded.
    ("managed-key-wrong-key_fail", "Key"),
    ("message-digest-mismatch_fail", "ArtifactMismatch"),
    ("rekor2-checkpoint-missing-log-signature_fail", "Bundle"),
    ("rekor2-checkpoint-missing-origin_fail", "Bundle"),
    ("rekor2-checkpoint-missing-root-hash_fail", "Bundle"),
    ("rekor2-checkpoint-missing-size_fail", "Bundle"),
    (
        "rekor2-checkpoint-no-matching-signature_fail",
        "TransparencyLog",
    ),
    ("rekor2-dsse-invalid-sig_fail", "Signature"),
    ("rekor2-dsse-mismatch-envelope_fail", "ArtifactMismatch"),
    ("rekor2-dsse-mismatch-sig_fail", "TransparencyLog"),
    ("rekor2-no-inclusion-proof_fail", "Bundle"),
    ("rekor2-no-timestamp_fail", "Timestamp"),
    (
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
        "Timestamp",
    ),
    (
        "rekor2-timestamp-outside-tsa-cert-validity_fail",
        "Timestamp",
    ),
    ("rekor2-timestamp-payload-mismatch_fail", "Timestamp"),
    (
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "Timestamp",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
        "Timestamp",
    ),
    // Its timestamp is line-wrapped base64, which we refuse to parse; see
    // `fail_cases_fail_for_their_own_reason` for the timestamp itself.
    ("rekor2-timestamp-with-incorrect-time_fail", "Bundle"),
    ("set-invalid-signature_fail", "TransparencyLog"),
    ("signature-mismatch_fail", "Signature"),
    ("trust-root-tlog-missing-validity-start_fail", "TrustedRoot"),
    ("wrong-hashedrekord-artifact_fail", "ArtifactMismatch"),
    ("wrong-hashedrekord-cert-and-sig_fail", "TransparencyLog"),
    ("wrong-hashedrekord-entry_fail", "ArtifactMismatch"),
    ("wrong-material_fail", "ArtifactMismatch"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Verified,
    Rejected,
}

fn conformance_dir() -> PathBuf {
    let shared = std::env::var_os("BITVAULT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("conformance/sigstore");
    assert!(
        dir.join("bundle-verify").is_dir(),
        "the Sigstore conformance vectors are missing: expected {}/bundle-verify; set BITVAULT_SHARED to the shared directory that holds conformance/sigstore",
        dir.display()
    );
    dir
}

struct Case {
    name: String,
    expected: Outcome,
    bundle: Vec<u8>,
    artifact: Vec<u8>,
    identity: String,
    issuer: String,
    key: Option<String>,
    /// The case's own trust root; the production root when `None`.
    trusted_root: Option<PathBuf>,
}

fn read_optional(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn load_case(dir: &Path, default_artifact: &[u8]) -> Case {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let trusted_root = Some(dir.join("trusted_root.json")).filter(|p| p.exists());
    Case {
        expected: if name.ends_with("_fail") {
            Outcome::Rejected
        } else {
            Outcome::Verified
        },
        bundle: std::fs::read(dir.join("bundle.sigstore.json")).unwrap(),
        artifact: std::fs::read(dir.join("artifact")).unwrap_or_else(|_| default_artifact.to_vec()),
        identity: read_optional(&dir.join("identity"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| DEFAULT_IDENTITY.to_string()),
        issuer: read_optional(&dir.join("issuer"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| DEFAULT_ISSUER.to_string()),
        key: read_optional(&dir.join("key.pub")),
        trusted_root,
        name,
    }
}

fn verify_case(case: &Case, identity: &str, issuer: &str) -> Result<VerifiedBundle, VerifyError> {
    // A trust root we refuse to load rejects the case, with that reason.
    let root = match &case.trusted_root {
        Some(path) => TrustedRoot::from_file(path)?,
        None => TrustedRoot::production(),
    };
    let artifact = Artifact::Bytes(&case.artifact);
    match &case.key {
        Some(pem) => verify_with_key(&case.bundle, artifact, pem, &root),
        None => verify_artifact(
            &case.bundle,
            artifact,
            &Policy::new(identity, issuer),
            &root,
        ),
    }
}

fn variant(error: &VerifyError) -> String {
    let debug = format!("{error:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The identity and issuer the bundle's leaf certificate claims, unverified.
fn certificate_claims(bundle: &[u8]) -> Option<(String, String)> {
    let bundle = sigstore_types::Bundle::from_json(std::str::from_utf8(bundle).ok()?).ok()?;
    let info = sigstore_crypto::parse_certificate_info(bundle.signing_certificate()?).ok()?;
    Some((info.identity?.as_str().to_string(), info.issuer?))
}

/// Further checks on a verified case: what it reports must be what was signed.
fn check_verified(case: &Case, verified: &VerifiedBundle) -> Result<(), String> {
    use sha2::Digest as _;
    let sha = hex::encode(sha2::Sha256::digest(&case.artifact));
    if verified.artifact_sha256 != sha {
        return Err(format!(
            "reported artifact sha256 {} != {sha}",
            verified.artifact_sha256
        ));
    }
    match (&verified.signer, &case.key) {
        (Signer::PublicKey, Some(_)) => {}
        (Signer::Certificate(c), None)
            if c.identity == case.identity && c.issuer == case.issuer => {}
        (signer, _) => return Err(format!("unexpected signer {signer:?}")),
    }
    if verified.verified_times.is_empty() && case.key.is_none() {
        return Err("no verified signing time reported".into());
    }
    let bundle: serde_json::Value = serde_json::from_slice(&case.bundle).unwrap();
    if let Some(envelope) = bundle.get("dsseEnvelope") {
        let statement = verified
            .statement
            .as_ref()
            .ok_or("DSSE bundle reported no statement")?;
        if envelope["payloadType"] == "application/vnd.in-toto+json"
            && (statement.predicate_type.is_empty()
                || statement.json["predicateType"] != statement.predicate_type.as_str())
        {
            return Err(format!(
                "statement predicate type {:?} not reported",
                statement.predicate_type
            ));
        }
    }
    let entries = bundle["verificationMaterial"]["tlogEntries"].as_array();
    let first_index = entries
        .and_then(|e| e.first())
        .and_then(|e| e["logIndex"].as_str())
        .and_then(|s| s.parse::<u64>().ok());
    if first_index.is_some() && verified.log_index != first_index {
        return Err(format!(
            "log index {:?} != bundle's {first_index:?}",
            verified.log_index
        ));
    }
    Ok(())
}

#[test]
fn sigstore_conformance_bundle_verify() {
    let dir = conformance_dir();
    let default_artifact = std::fs::read(dir.join("a.txt")).expect("conformance a.txt");
    let mut case_dirs: Vec<PathBuf> = std::fs::read_dir(dir.join("bundle-verify"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("bundle.sigstore.json").exists())
        .collect();
    case_dirs.sort();
    assert_eq!(
        case_dirs.len(),
        CASE_COUNT,
        "expected {CASE_COUNT} cases in {}",
        dir.display()
    );

    let mut table = String::new();
    let mut problems = Vec::new();
    let mut agreed = 0;
    for case_dir in &case_dirs {
        let case = load_case(case_dir, &default_artifact);
        let result = verify_case(&case, &case.identity, &case.issuer);
        let got = if result.is_ok() {
            Outcome::Verified
        } else {
            Outcome::Rejected
        };
        let reason = match &result {
            Ok(v) => v.summary(),
            Err(e) => format!("[{}] {e}", variant(e)),
        };
        let exception = EXCEPTIONS.iter().find(|(name, ..)| *name == case.name);
        let wanted = exception.map_or(case.expected, |(_, outcome, _)| *outcome);
        let mut notes = Vec::new();
        if got != wanted {
            notes.push(format!("expected {wanted:?}, got {got:?}"));
        }
        match &result {
            Ok(verified) => {
                if let Err(e) = check_verified(&case, verified) {
                    notes.push(e);
                }
            }
            Err(error) if case.expected == Outcome::Rejected => {
                let kind = variant(error);
                match EXPECTED_REJECTIONS
                    .iter()
                    .find(|(name, _)| *name == case.name)
                {
                    Some((_, want)) if *want != kind => {
                        notes.push(format!("rejected with {kind}, expected {want}"))
                    }
                    Some(_) => {}
                    None => notes.push(format!("no expected rejection listed (got {kind})")),
                }
                // Rejected for naming the wrong signer is not the point of any
                // case; with the certificate's own identity it must still fail.
                let own_identity = certificate_claims(&case.bundle).filter(|_| case.key.is_none());
                if let Some(Ok(v)) = own_identity.map(|(id, iss)| verify_case(&case, &id, &iss)) {
                    notes.push(format!("verifies with its own identity: {}", v.summary()));
                }
            }
            Err(_) => {}
        }
        if notes.is_empty() {
            agreed += 1;
        } else {
            problems.push(format!("{}: {}", case.name, notes.join("; ")));
        }
        writeln!(
            table,
            "| {:<58} | {:<8} | {:<8} | {}{} |",
            case.name,
            format!("{:?}", case.expected),
            format!("{got:?}"),
            if notes.is_empty() { "" } else { "MISMATCH: " },
            reason
        )
        .unwrap();
    }
    println!("| case | expected | got | reason |\n|---|---|---|---|\n{table}");
    println!("{agreed}/{} cases as expected", case_dirs.len());
    for (name, outcome, why) in EXCEPTIONS {
        println!("exception: {name} -> {outcome:?}: {why}");
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Remove every tlog entry's inclusion proof, keeping its inclusion promise
/// (SET): what a v0.1 bundle is allowed to carry.
fn without_inclusion_proofs(bundle: &mut serde_json::Value) {
    for entry in bundle["verificationMaterial"]["tlogEntries"]
        .as_array_mut()
        .unwrap()
    {
        entry.as_object_mut().unwrap().remove("inclusionProof");
    }
}

/// Undo `base64`'s 76-column line wrapping in the RFC 3161 timestamps.
fn unwrap_timestamps(bundle: &mut serde_json::Value) {
    let data = &mut bundle["verificationMaterial"]["timestampVerificationData"];
    for ts in data["rfc3161Timestamps"].as_array_mut().unwrap() {
        let joined: String = ts["signedTimestamp"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .collect();
        ts["signedTimestamp"] = joined.into();
    }
}

/// Some `_fail` cases carry a second, incidental defect that we reject first:
/// three old bundles have inclusion proofs without the checkpoint the bundle
/// format requires, and one has line-wrapped base64. Repair only that
/// incidental defect and the case must still be rejected, now for the defect
/// it was written to exercise. The repair itself must be harmless: the same
/// repair on a good bundle still verifies.
#[test]
fn fail_cases_fail_for_their_own_reason() {
    type Repair = fn(&mut serde_json::Value);
    let cases: &[(&str, Repair, Outcome, &str)] = &[
        (
            "happy-path-v0.1",
            without_inclusion_proofs,
            Outcome::Verified,
            "",
        ),
        (
            "bundle-empty-certificate-chain_fail",
            without_inclusion_proofs,
            Outcome::Rejected,
            "Bundle",
        ),
        (
            "bundle-with-root-cert_fail",
            without_inclusion_proofs,
            Outcome::Rejected,
            "Bundle",
        ),
        (
            "rekor2-happy-path",
            unwrap_timestamps,
            Outcome::Verified,
            "",
        ),
        (
            "rekor2-timestamp-with-incorrect-time_fail",
            unwrap_timestamps,
            Outcome::Rejected,
            "Certificate",
        ),
    ];
    let dir = conformance_dir();
    let default_artifact = std::fs::read(dir.join("a.txt")).unwrap();
    let mut problems = Vec::new();
    for (name, repair, want, want_kind) in cases {
        let mut case = load_case(&dir.join("bundle-verify").join(name), &default_artifact);
        let mut json: serde_json::Value = serde_json::from_slice(&case.bundle).unwrap();
        repair(&mut json);
        case.bundle = serde_json::to_vec(&json).unwrap();
        let result = verify_case(&case, &case.identity, &case.issuer);
        let line = match &result {
            Ok(v) => format!("{name} (repaired): verified: {}", v.summary()),
            Err(e) => format!("{name} (repaired): [{}] {e}", variant(e)),
        };
        println!("{line}");
        let ok = match (&result, want) {
            (Ok(_), Outcome::Verified) => true,
            (Err(e), Outcome::Rejected) => variant(e) == *want_kind,
            _ => false,
        };
        if !ok {
            problems.push(format!("{line} (expected {want:?} {want_kind})"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
