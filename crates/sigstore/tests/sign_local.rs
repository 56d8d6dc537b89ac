//! Keyless signing against the local Sigstore stack, checked by our verifier
//! and by sigstore-python (both directions).

use std::path::PathBuf;
use std::process::Command;

use bitvault_sigstore::sign::{KeylessSigner, Services, ToSign, github_identity_token};
use bitvault_sigstore::verify::{
    Artifact, ClientTrustConfig, Policy, VerifyError, verify_artifact,
};
use bitvault_sigstore_local::{GithubClaims, LocalSigstore, SIGSTORE_AUDIENCE};
use sha2::Digest as _;

struct Setup {
    stack: LocalSigstore,
    trust: ClientTrustConfig,
    dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let stack = LocalSigstore::start().expect("local stack starts");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("trust.json"), stack.client_trust_config()).unwrap();
    let trust = ClientTrustConfig::from_json(&stack.client_trust_config()).unwrap();
    Setup { stack, trust, dir }
}

fn digest(seed: &str) -> String {
    hex::encode(sha2::Sha256::digest(seed.as_bytes()))
}

fn policy(stack: &LocalSigstore) -> Policy {
    Policy::new(GithubClaims::default().identity(), stack.issuer_url())
}

async fn signer(s: &Setup) -> KeylessSigner {
    let services = Services::from_client_trust_config(&s.trust).unwrap();
    let token = s
        .stack
        .mint_token(&GithubClaims::default(), SIGSTORE_AUDIENCE);
    KeylessSigner::new(&services, &token).await.unwrap()
}

/// The sigstore-python CLI: `BITVAULT_SIGSTORE_PYTHON`, else the repository's
/// tool venvs.
fn sigstore_python() -> PathBuf {
    if let Some(path) = std::env::var_os("BITVAULT_SIGSTORE_PYTHON") {
        return PathBuf::from(path);
    }
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools");
    for venv in ["venv", "sigstore-venv"] {
        let cli = tools.join(venv).join("bin/sigstore");
        if cli.is_file() {
            return cli;
        }
    }
    panic!(
        "sigstore-python is missing: `pip install sigstore==4.5.1` into .tools/venv, \
         or set BITVAULT_SIGSTORE_PYTHON to its `sigstore` CLI"
    );
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("sigstore-python runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_certificate_signs_every_digest_and_our_verifier_accepts_them() {
    let s = setup();
    let signer = signer(&s).await;
    let items: Vec<ToSign> = (0..5)
        .map(|i| ToSign::signature(format!("ghcr.io/acme/app-{i}"), digest(&i.to_string())))
        .chain([ToSign::provenance(
            "ghcr.io/acme/app",
            format!("sha256:{}", digest("prov")),
            serde_json::json!({"buildDefinition": {"buildType": "https://bitvault.dev/build/v1"}}),
        )])
        .collect();
    let signed = signer.attest(items.clone()).await.unwrap();
    assert_eq!(s.stack.request_count("fulcio.signingCert"), 1);
    assert_eq!(s.stack.request_count("rekor.createEntry"), 6);
    assert_eq!(signed.len(), 6);

    let root = &s.trust.trusted_root;
    for (item, bundle) in items.iter().zip(&signed) {
        assert_eq!(bundle.name, item.name);
        let json: serde_json::Value = serde_json::from_str(&bundle.bundle_json).unwrap();
        assert_eq!(
            json["mediaType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        let verified = verify_artifact(
            bundle.bundle_json.as_bytes(),
            Artifact::Digest(&bundle.sha256),
            &policy(&s.stack),
            root,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", bundle.name));
        assert_eq!(
            verified.statement.unwrap().predicate_type,
            item.predicate_type
        );
    }

    let mut wrong = policy(&s.stack);
    wrong.identity = bitvault_sigstore::verify::IdentityMatch::Exact(
        "https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main".into(),
    );
    let refused = verify_artifact(
        signed[0].bundle_json.as_bytes(),
        Artifact::Digest(&signed[0].sha256),
        &wrong,
        root,
    );
    assert!(
        matches!(refused, Err(VerifyError::IdentityMismatch { .. })),
        "{refused:?}"
    );
    // Another digest is not what was signed.
    assert!(
        verify_artifact(
            signed[0].bundle_json.as_bytes(),
            Artifact::Digest(&digest("other")),
            &policy(&s.stack),
            root,
        )
        .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn simple_signing_bundle_verifies_over_the_payload() {
    let s = setup();
    let signer = signer(&s).await;
    let manifest = format!("sha256:{}", digest("manifest"));
    let sig = signer
        .sign_simple_signing("ghcr.io/acme/app", &manifest)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&sig.payload).contains(&manifest));
    assert!(sig.chain_pem.contains("BEGIN CERTIFICATE"));
    verify_artifact(
        sig.bundle_json.as_bytes(),
        Artifact::Bytes(&sig.payload),
        &policy(&s.stack),
        &s.trust.trusted_root,
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn runner_token_endpoint_gives_a_token_fulcio_accepts() {
    let s = setup();
    let token = github_identity_token(
        &s.stack.token_request_url(),
        s.stack.token_request_token(),
        SIGSTORE_AUDIENCE,
    )
    .await
    .unwrap();
    let services = Services::from_client_trust_config(&s.trust).unwrap();
    KeylessSigner::new(&services, &token).await.unwrap();
    assert!(
        github_identity_token(&s.stack.token_request_url(), "wrong", SIGSTORE_AUDIENCE)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigstore_python_verifies_what_we_sign() {
    let s = setup();
    let signer = signer(&s).await;
    let sha = digest("image");
    let signed = signer
        .attest(vec![ToSign::signature("ghcr.io/acme/app", sha.clone())])
        .await
        .unwrap();
    let bundle = s.dir.path().join("ours.sigstore.json");
    std::fs::write(&bundle, &signed[0].bundle_json).unwrap();
    let payload = s.dir.path().join("payload");
    let sig = signer
        .sign_simple_signing("ghcr.io/acme/app", &format!("sha256:{sha}"))
        .await
        .unwrap();
    std::fs::write(&payload, &sig.payload).unwrap();
    let simple = s.dir.path().join("simple.sigstore.json");
    std::fs::write(&simple, &sig.bundle_json).unwrap();

    let cli = sigstore_python();
    for (bundle, input) in [
        (&bundle, format!("sha256:{sha}")),
        (&simple, payload.display().to_string()),
    ] {
        run(Command::new(&cli)
            .arg("--trust-config")
            .arg(s.dir.path().join("trust.json"))
            .args(["verify", "identity", "--bundle"])
            .arg(bundle)
            .args(["--cert-identity", &GithubClaims::default().identity()])
            .args(["--cert-oidc-issuer", s.stack.issuer_url()])
            .arg(input));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn we_verify_what_sigstore_python_signs() {
    let s = setup();
    let artifact = s.dir.path().join("a.txt");
    std::fs::write(&artifact, b"signed by sigstore-python\n").unwrap();
    let bundle = s.dir.path().join("a.txt.sigstore.json");
    let token = s
        .stack
        .mint_token(&GithubClaims::default(), SIGSTORE_AUDIENCE);
    run(Command::new(sigstore_python())
        .arg("--trust-config")
        .arg(s.dir.path().join("trust.json"))
        .args(["sign", "--identity-token", &token, "--bundle"])
        .arg(&bundle)
        .arg(&artifact));
    let verified = verify_artifact(
        &std::fs::read(&bundle).unwrap(),
        Artifact::File(&artifact),
        &policy(&s.stack),
        &s.trust.trusted_root,
    )
    .unwrap();
    assert_eq!(verified.log_index, Some(0));
    assert_eq!(s.stack.request_count("fulcio.signingCert"), 1);
}

/// The identity token never goes to Fulcio over plain http on another host, and
/// nothing is sent to Rekor over it either (L7): refused before any request.
#[tokio::test(flavor = "multi_thread")]
async fn fulcio_and_rekor_over_plain_http_are_refused_off_loopback() {
    let s = setup();
    let token = s
        .stack
        .mint_token(&GithubClaims::default(), SIGSTORE_AUDIENCE);
    let local = Services::from_client_trust_config(&s.trust).unwrap();
    let before = s.stack.request_count("fulcio.signingCert");
    for (services, input) in [
        (
            Services {
                fulcio_url: "http://fulcio.example".into(),
                rekor_url: local.rekor_url.clone(),
            },
            "fulcio-url",
        ),
        (
            Services {
                fulcio_url: local.fulcio_url.clone(),
                rekor_url: "http://rekor.example".into(),
            },
            "rekor-url",
        ),
    ] {
        let Err(e) = KeylessSigner::new(&services, &token).await else {
            panic!("{input} over plain http was accepted");
        };
        let e = e.to_string();
        assert!(
            e.contains(&format!("input `{input}`")) && e.contains("use an https:// URL"),
            "{e}"
        );
    }
    assert_eq!(
        s.stack.request_count("fulcio.signingCert"),
        before,
        "no certificate asked for"
    );
}
