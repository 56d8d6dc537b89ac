//! The verification API on real bundles from the conformance vectors: the
//! three ways to pass an artifact, the policy's identity and CI-claim checks,
//! what a verified bundle reports, and the `bitvault verify` entry point.

use std::path::{Path, PathBuf};

use bitvault_sigstore::verify::{
    Artifact, CertificateIdentity, IdentityMatch, Policy, Signer, TrustedRoot, VerifyArgs,
    VerifyError, verify_artifact, verify_file_cli, verify_with_key,
};
use sha2::Digest as _;

const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GITHUB: &str = "https://token.actions.githubusercontent.com";
const REPOSITORY: &str =
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon";

fn vectors() -> PathBuf {
    let shared = std::env::var_os("BITVAULT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("conformance/sigstore");
    assert!(
        dir.join("bundle-verify").is_dir(),
        "the Sigstore conformance vectors are missing at {}; set BITVAULT_SHARED",
        dir.display()
    );
    dir
}

fn case_file(case: &str, file: &str) -> PathBuf {
    vectors().join("bundle-verify").join(case).join(file)
}

fn bundle(case: &str) -> Vec<u8> {
    std::fs::read(case_file(case, "bundle.sigstore.json")).unwrap()
}

fn a_txt() -> Vec<u8> {
    std::fs::read(vectors().join("a.txt")).unwrap()
}

fn verify_v03(policy: &Policy) -> Result<bitvault_sigstore::verify::VerifiedBundle, VerifyError> {
    verify_artifact(
        &bundle("happy-path-v0.3"),
        Artifact::Bytes(&a_txt()),
        policy,
        &TrustedRoot::production(),
    )
}

#[test]
fn bytes_digest_and_file_give_the_same_answer() {
    let root = TrustedRoot::production();
    let policy = Policy::new(BEACON, GITHUB);
    let bundle = bundle("happy-path-v0.3");
    let sha = hex::encode(sha2::Sha256::digest(a_txt()));
    let from_bytes = verify_artifact(&bundle, Artifact::Bytes(&a_txt()), &policy, &root).unwrap();
    let from_digest = verify_artifact(&bundle, Artifact::Digest(&sha), &policy, &root).unwrap();
    let path = vectors().join("a.txt");
    let from_file = verify_artifact(&bundle, Artifact::File(&path), &policy, &root).unwrap();
    assert_eq!(from_bytes, from_digest);
    assert_eq!(from_bytes, from_file);
    assert_eq!(from_bytes.artifact_sha256, sha);

    let wrong = hex::encode(sha2::Sha256::digest(b"something else"));
    let err = verify_artifact(&bundle, Artifact::Digest(&wrong), &policy, &root).unwrap_err();
    assert_eq!(
        err.to_string(),
        "artifact does not match the bundle: message digest in bundle does not match artifact hash"
    );
    let err = verify_artifact(&bundle, Artifact::Digest("abc"), &policy, &root).unwrap_err();
    assert_eq!(
        err.to_string(),
        "artifact digest \"abc\" is not a SHA-256 digest (64 hex characters)"
    );
    let missing = Path::new("/nonexistent/a.txt");
    let err = verify_artifact(&bundle, Artifact::File(missing), &policy, &root).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read artifact /nonexistent/a.txt:"),
        "{err}"
    );
}

#[test]
fn reports_signer_claims_log_entry_and_time() {
    let verified = verify_v03(&Policy::new(BEACON, GITHUB)).unwrap();
    let Signer::Certificate(signer) = &verified.signer else {
        panic!("expected a certificate signer, got {:?}", verified.signer);
    };
    assert_eq!(
        signer,
        &CertificateIdentity {
            identity: BEACON.into(),
            issuer: GITHUB.into(),
            source_repository: Some(REPOSITORY.into()),
            source_repository_ref: Some("refs/heads/main".into()),
            source_repository_digest: Some("c7b3dfb335f051e1c86bda4c716fac97df62ad81".into()),
            build_signer_uri: Some(BEACON.into()),
            build_signer_digest: Some("c7b3dfb335f051e1c86bda4c716fac97df62ad81".into()),
            run_invocation_uri: Some(format!("{REPOSITORY}/actions/runs/8347481628/attempts/1")),
        }
    );
    assert_eq!(verified.log_index, Some(79571823));
    let integrated = verified
        .integrated_time
        .expect("a Rekor v1 entry has an integrated time");
    assert!(verified.verified_times.contains(&integrated));
    assert_eq!(verified.statement, None);
    assert_eq!(
        verified.summary(),
        format!(
            "verified sha256:{}: signed by {BEACON} (issuer {GITHUB}), rekor log index 79571823",
            verified.artifact_sha256
        )
    );
}

#[test]
fn identity_and_issuer_mismatches_say_what_was_found() {
    let other = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
    let err = verify_v03(&Policy::new(other, GITHUB)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("certificate identity {BEACON} does not match expected {other}")
    );
    let err = verify_v03(&Policy::new(BEACON, "https://accounts.google.com")).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "certificate OIDC issuer {GITHUB} does not match expected https://accounts.google.com"
        )
    );

    let mut policy = Policy::new("", GITHUB);
    policy.identity = IdentityMatch::Regex(
        regex::Regex::new("^https://github.com/sigstore-conformance/.*@refs/heads/main$").unwrap(),
    );
    verify_v03(&policy).unwrap();
    policy.identity = IdentityMatch::Regex(regex::Regex::new("^https://github.com/acme/").unwrap());
    assert_eq!(
        verify_v03(&policy).unwrap_err().to_string(),
        format!(
            "certificate identity {BEACON} does not match expected /^https://github.com/acme//"
        )
    );
}

#[test]
fn ci_claims_are_checked_against_fulcio_extensions() {
    let mut policy = Policy::new(BEACON, GITHUB);
    policy.source_repository =
        Some("sigstore-conformance/extremely-dangerous-public-oidc-beacon".into());
    policy.source_ref = Some("refs/heads/main".into());
    policy.workflow = Some(".github/workflows/extremely-dangerous-oidc-beacon.yml".into());
    verify_v03(&policy).unwrap();

    policy.source_ref = Some("refs/tags/v1".into());
    assert_eq!(
        verify_v03(&policy).unwrap_err().to_string(),
        "certificate source repository ref refs/heads/main does not match expected refs/tags/v1"
    );
    policy.source_ref = None;
    policy.source_repository = Some("https://github.com/acme/app".into());
    assert_eq!(
        verify_v03(&policy).unwrap_err().to_string(),
        format!(
            "certificate source repository {REPOSITORY} does not match expected https://github.com/acme/app"
        )
    );
    policy.source_repository = None;
    policy.workflow = Some(".github/workflows/release.yml".into());
    assert_eq!(
        verify_v03(&policy).unwrap_err().to_string(),
        format!(
            "certificate workflow (build signer URI) {BEACON} does not match expected .github/workflows/release.yml"
        )
    );
}

#[test]
fn dsse_bundle_reports_its_in_toto_statement() {
    let artifact = a_txt();
    let verified = verify_artifact(
        &bundle("happy-path-intoto-in-dsse-v3"),
        Artifact::Bytes(&artifact),
        &Policy::new(BEACON, GITHUB),
        &TrustedRoot::production(),
    )
    .unwrap();
    let statement = verified.statement.expect("DSSE statement");
    assert_eq!(statement.predicate_type, "https://slsa.dev/provenance/v1");
    assert_eq!(
        statement.json["subject"][0]["digest"]["sha256"],
        hex::encode(sha2::Sha256::digest(&artifact))
    );
}

#[test]
fn key_and_certificate_bundles_need_the_matching_entry_point() {
    let root = TrustedRoot::production();
    let key = std::fs::read_to_string(case_file("managed-key-happy-path", "key.pub")).unwrap();
    let verified = verify_with_key(
        &bundle("managed-key-happy-path"),
        Artifact::Bytes(&a_txt()),
        &key,
        &root,
    )
    .unwrap();
    assert_eq!(verified.signer, Signer::PublicKey);

    let err = verify_with_key(
        &bundle("happy-path-v0.3"),
        Artifact::Bytes(&a_txt()),
        &key,
        &root,
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::CertificateRequired), "{err}");
    let err = verify_with_key(
        &bundle("managed-key-happy-path"),
        Artifact::Bytes(&a_txt()),
        "not pem",
        &root,
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("public key is invalid: "),
        "{err}"
    );
}

fn cli_args(case: &str) -> VerifyArgs {
    VerifyArgs {
        bundle: case_file(case, "bundle.sigstore.json"),
        artifact: vectors().join("a.txt").display().to_string(),
        certificate_identity: Some(BEACON.into()),
        certificate_oidc_issuer: Some(GITHUB.into()),
        ..VerifyArgs::default()
    }
}

#[test]
fn cli_verifies_files_digests_keys_and_custom_roots() {
    let verified = verify_file_cli(&cli_args("happy-path-v0.3")).unwrap();
    let mut by_digest = cli_args("happy-path-v0.3");
    by_digest.artifact = format!("sha256:{}", verified.artifact_sha256);
    assert_eq!(verify_file_cli(&by_digest).unwrap(), verified);

    // A staging-instance bundle fails on the embedded production root and
    // verifies with its own root, given as a bare root or a ClientTrustConfig.
    let mut rekor2 = cli_args("rekor2-happy-path");
    let err = verify_file_cli(&rekor2).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Timestamp(_) | VerifyError::TransparencyLog(_)
        ),
        "{err}"
    );
    rekor2.trusted_root = Some(case_file("rekor2-happy-path", "trusted_root.json"));
    verify_file_cli(&rekor2).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("trust_config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"mediaType":"application/vnd.dev.sigstore.clienttrustconfig.v0.1+json","trustedRoot":{},"signingConfig":{}}}"#,
            std::fs::read_to_string(case_file("rekor2-happy-path", "trusted_root.json")).unwrap(),
            std::fs::read_to_string(vectors().join("production_signing_config.v0.2.json")).unwrap(),
        ),
    )
    .unwrap();
    rekor2.trusted_root = Some(config);
    verify_file_cli(&rekor2).unwrap();

    let mut keyed = cli_args("managed-key-happy-path");
    keyed.certificate_identity = None;
    keyed.certificate_oidc_issuer = None;
    keyed.key = Some(case_file("managed-key-happy-path", "key.pub"));
    assert_eq!(verify_file_cli(&keyed).unwrap().signer, Signer::PublicKey);
    keyed.key = None;
    keyed.certificate_identity_regexp = Some(".*".into());
    keyed.certificate_oidc_issuer = Some(GITHUB.into());
    assert_eq!(
        verify_file_cli(&keyed).unwrap_err().to_string(),
        "bundle is signed with a public key, not a Fulcio certificate: verify it with the signer's public key (--key)"
    );
}
