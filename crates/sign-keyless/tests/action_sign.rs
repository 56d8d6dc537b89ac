//! `run_sign` and `run_verify` end to end: a real registry (testkit), the
//! local Sigstore stack, and the runner's token endpoint, through the
//! actions' declared inputs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use bitvault_registry::{Client, ClientOptions, Digest, Reference};
use bitvault_runner::{Env, Step};
use bitvault_sign_keyless::{SPEC as SIGN_SPEC, run as run_sign};
use bitvault_sigstore_local::{GithubClaims, LocalSigstore};
use bitvault_testkit::{Registry, make_image};
use bitvault_verify::{SPEC as VERIFY_SPEC, run as run_verify};
use serde_json::{Value, json};

struct Setup {
    stack: LocalSigstore,
    registry: Registry,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        bitvault_testkit::require_tools();
        let stack = LocalSigstore::start().expect("local stack starts");
        let registry = Registry::start();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("trust.json"), stack.client_trust_config()).unwrap();
        Setup {
            stack,
            registry,
            dir,
        }
    }

    fn trust(&self) -> String {
        self.dir.path().join("trust.json").display().to_string()
    }

    fn env(&self, with_token: bool) -> Env {
        let mut pairs = vec![
            ("GITHUB_REPOSITORY", "acme/app".to_string()),
            (
                "GITHUB_SHA",
                "0123456789abcdef0123456789abcdef01234567".to_string(),
            ),
            ("GITHUB_REF", "refs/heads/main".to_string()),
            ("GITHUB_RUN_ID", "4242".to_string()),
            ("GITHUB_RUN_ATTEMPT", "1".to_string()),
            ("GITHUB_EVENT_NAME", "push".to_string()),
            ("RUNNER_TEMP", self.dir.path().display().to_string()),
        ];
        if with_token {
            pairs.push((
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                self.stack.token_request_url(),
            ));
            pairs.push((
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                self.stack.token_request_token().to_string(),
            ));
        }
        Env::from_pairs(pairs.into_iter().map(|(k, v)| (k.to_string(), v)))
    }

    fn sign(&self, inputs: &[(&str, &str)]) -> anyhow::Result<Step> {
        self.sign_with(inputs, true)
    }

    fn sign_with(&self, inputs: &[(&str, &str)], with_token: bool) -> anyhow::Result<Step> {
        let mut flags = flags(inputs);
        flags.insert("trust-config".into(), self.trust());
        let mut step = Step::new(&SIGN_SPEC, &flags, self.env(with_token))?;
        run_sign(&mut step)?;
        Ok(step)
    }

    fn verify(&self, inputs: &[(&str, &str)]) -> anyhow::Result<Step> {
        let mut flags = flags(inputs);
        flags.insert("trusted-root".into(), self.trust());
        flags
            .entry("certificate-identity".into())
            .or_insert_with(|| GithubClaims::default().identity());
        flags.insert(
            "certificate-oidc-issuer".into(),
            self.stack.issuer_url().to_string(),
        );
        let mut step = Step::new(&VERIFY_SPEC, &flags, self.env(false))?;
        run_verify(&mut step)?;
        Ok(step)
    }

    fn inspect(&self, reference: &str) -> Value {
        serde_json::from_slice(&self.registry.inspect_raw(reference)).unwrap()
    }

    /// Two platform images and an OCI index over them; returns the
    /// index's and the platforms' digests.
    fn multi_arch(&self, repo: &str) -> (String, Vec<String>) {
        let platforms: Vec<String> = ["amd64", "arm64"]
            .iter()
            .map(|arch| make_image(&self.registry, repo, arch, arch))
            .collect();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let client = Client::new(ClientOptions::default()).unwrap();
        let r = Reference::parse(&format!("{}/{repo}", self.registry.host())).unwrap();
        let repository = r.repository().clone();
        let index = rt.block_on(async {
            let mut manifests = Vec::new();
            for (digest, arch) in platforms.iter().zip(["amd64", "arm64"]) {
                let d = Digest::parse(digest).unwrap();
                let m = client.get_manifest(&repository, &d).await.unwrap();
                manifests.push(json!({
                    "mediaType": m.media_type,
                    "digest": digest,
                    "size": m.bytes.len(),
                    "platform": {"architecture": arch, "os": "linux"},
                }));
            }
            let index = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": manifests,
            });
            let bytes = serde_json::to_vec(&index).unwrap();
            client
                .push_manifest(
                    &repository,
                    "application/vnd.oci.image.index.v1+json",
                    &bytes,
                )
                .await
                .unwrap()
                .digest
        });
        (index.to_string(), platforms)
    }

    fn image(&self, repo: &str, digest: &str) -> String {
        format!("{}/{repo}@{digest}", self.registry.host())
    }
}

fn flags(inputs: &[(&str, &str)]) -> BTreeMap<String, String> {
    inputs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn output(step: &Step, name: &str) -> String {
    step.outputs()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap()
}

/// The referrers tag index of `digest` (this registry has no referrers API).
fn referrers(s: &Setup, repo: &str, digest: &str) -> Vec<Value> {
    let index = s.inspect(&format!(
        "{}/{repo}:sha256-{}",
        s.registry.host(),
        hex(digest)
    ));
    index["manifests"].as_array().cloned().unwrap_or_default()
}

fn sig_layers(s: &Setup, repo: &str, digest: &str) -> Vec<Value> {
    let m = s.inspect(&format!(
        "{}/{repo}:sha256-{}.sig",
        s.registry.host(),
        hex(digest)
    ));
    m["layers"].as_array().cloned().unwrap_or_default()
}

fn predicate_types(entries: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = entries
        .iter()
        .map(|e| {
            assert_eq!(
                e["artifactType"],
                "application/vnd.dev.sigstore.bundle.v0.3+json"
            );
            assert_eq!(
                e["annotations"]["dev.sigstore.bundle.content"],
                "dsse-envelope"
            );
            e["annotations"]["dev.sigstore.bundle.predicateType"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

/// The summary with what changes from run to run replaced: the registry's port, the
/// digests (named), and Rekor log indexes (entries are made concurrently).
fn normalise(text: &str, host: &str, names: &[(String, String)]) -> String {
    let mut text = text.replace(host, "<registry>");
    for (digest, name) in names {
        text = text.replace(digest.as_str(), name);
    }
    let index = regex::Regex::new(r"\| \d+ ").unwrap();
    index.replace_all(&text, "| <log-index> ").into_owned()
}

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
    panic!("sigstore-python is missing: set BITVAULT_SIGSTORE_PYTHON");
}

#[test]
fn signs_an_index_recursively_verifies_and_rerun_adds_nothing() {
    let s = Setup::new();
    let (index, platforms) = s.multi_arch("app");
    let image = s.image("app", &index);
    let step = s
        .sign(&[("images", &image), ("recursive", "true")])
        .unwrap();
    assert_eq!(s.stack.request_count("fulcio.signingCert"), 1);
    // 3 manifests x (signature + provenance + legacy)
    assert_eq!(s.stack.request_count("rekor.createEntry"), 9);

    let signed: Vec<Value> = serde_json::from_str(&output(&step, "signed")).unwrap();
    assert_eq!(signed.len(), 3);
    assert_eq!(signed[0]["identity"], GithubClaims::default().identity());
    assert_eq!(signed[0]["reused"], false);
    let paths = output(&step, "bundle-paths");
    assert_eq!(paths.lines().count(), 6);
    for p in paths.lines() {
        assert!(std::path::Path::new(p).is_file(), "{p}");
    }
    assert!(step.summary_text().contains(&index));
    let mut names = vec![(index.clone(), "<index>".to_owned())];
    for (i, p) in platforms.iter().enumerate() {
        names.push((p.clone(), format!("<platform-{}>", i + 1)));
    }
    insta::assert_snapshot!(
        "summary_recursive",
        normalise(step.summary_text(), &s.registry.host(), &names)
    );

    for digest in std::iter::once(&index).chain(&platforms) {
        assert_eq!(
            predicate_types(&referrers(&s, "app", digest)),
            [
                "https://sigstore.dev/cosign/sign/v1",
                "https://slsa.dev/provenance/v1"
            ],
            "{digest}"
        );
        let layers = sig_layers(&s, "app", digest);
        assert_eq!(layers.len(), 1, "{digest}");
        let l = &layers[0];
        assert_eq!(
            l["mediaType"],
            "application/vnd.dev.cosign.simplesigning.v1+json"
        );
        for a in [
            "dev.cosignproject.cosign/signature",
            "dev.sigstore.cosign/certificate",
            "dev.sigstore.cosign/chain",
        ] {
            assert!(
                l["annotations"][a].as_str().is_some_and(|v| !v.is_empty()),
                "{a}"
            );
        }
        let rekor: Value = serde_json::from_str(
            l["annotations"]["dev.sigstore.cosign/bundle"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert!(rekor["SignedEntryTimestamp"].is_string());
        assert!(rekor["Payload"]["logIndex"].is_u64());
        assert!(rekor["Payload"]["integratedTime"].is_i64());
        assert!(rekor["Payload"]["body"].is_string());
        assert!(rekor["Payload"]["logID"].is_string());

        let v = s
            .verify(&[
                ("image", &s.image("app", digest)),
                ("require", "signature,provenance"),
                ("source-repository", "acme/app"),
                ("workflow", ".github/workflows/release.yml"),
            ])
            .unwrap();
        let verified: Value = serde_json::from_str(&output(&v, "verified")).unwrap();
        // the bundle and the legacy .sig layer
        assert_eq!(
            verified["signatures"].as_array().unwrap().len(),
            2,
            "{verified}"
        );
        assert_eq!(verified["provenance"].as_array().unwrap().len(), 1);
        assert_eq!(output(&v, "identity"), GithubClaims::default().identity());
        if digest == &index {
            insta::assert_snapshot!(
                "verify_summary_index",
                normalise(v.summary_text(), &s.registry.host(), &names)
            );
        }
    }

    // Same digests again: everything is found, nothing is signed or written.
    let again = s
        .sign(&[("images", &image), ("recursive", "true")])
        .unwrap();
    assert_eq!(s.stack.request_count("fulcio.signingCert"), 1);
    assert_eq!(s.stack.request_count("rekor.createEntry"), 9);
    let signed: Vec<Value> = serde_json::from_str(&output(&again, "signed")).unwrap();
    assert!(signed.iter().all(|e| e["reused"] == true), "{signed:?}");
    insta::assert_snapshot!(
        "summary_rerun",
        normalise(again.summary_text(), &s.registry.host(), &names)
    );
    for digest in std::iter::once(&index).chain(&platforms) {
        assert_eq!(referrers(&s, "app", digest).len(), 2);
        assert_eq!(sig_layers(&s, "app", digest).len(), 1);
    }
}

#[test]
fn sigstore_python_verifies_the_attached_bundle() {
    let s = Setup::new();
    let digest = make_image(&s.registry, "py", "v1", "amd64");
    s.sign(&[("images", &s.image("py", &digest)), ("provenance", "false")])
        .unwrap();
    let entries = referrers(&s, "py", &digest);
    assert_eq!(entries.len(), 1);
    // Read the bundle back from the registry.
    let manifest = s.inspect(&format!(
        "{}/py@{}",
        s.registry.host(),
        entries[0]["digest"].as_str().unwrap()
    ));
    let blob = manifest["layers"][0]["digest"].as_str().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = Client::new(ClientOptions::default()).unwrap();
    let r = Reference::parse(&format!("{}/py", s.registry.host())).unwrap();
    let bytes = rt
        .block_on(client.get_blob(r.repository(), &Digest::parse(blob).unwrap()))
        .unwrap();
    let bundle = s.dir.path().join("from-registry.sigstore.json");
    std::fs::write(&bundle, bytes).unwrap();
    let out = Command::new(sigstore_python())
        .arg("--trust-config")
        .arg(s.trust())
        .args(["verify", "identity", "--bundle"])
        .arg(&bundle)
        .args(["--cert-identity", &GithubClaims::default().identity()])
        .args(["--cert-oidc-issuer", s.stack.issuer_url()])
        .arg(&digest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn clear_errors_for_tag_missing_token_wrong_identity_and_missing_provenance() {
    let s = Setup::new();
    let digest = make_image(&s.registry, "errs", "v1", "amd64");

    let tag = format!("{}/errs:v1", s.registry.host());
    let err = s.sign(&[("images", &tag)]).unwrap_err().to_string();
    assert!(err.contains("digests only"), "{err}");

    let err = format!(
        "{:#}",
        s.sign_with(&[("images", &s.image("errs", &digest))], false)
            .unwrap_err()
    );
    assert!(err.contains("permissions: id-token: write"), "{err}");

    s.sign(&[
        ("images", &s.image("errs", &digest)),
        ("provenance", "false"),
    ])
    .unwrap();
    assert_eq!(referrers(&s, "errs", &digest).len(), 1);

    let err = s
        .verify(&[
            ("image", &s.image("errs", &digest)),
            ("require", "provenance"),
        ])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no verified SLSA provenance"), "{err}");

    let evil = "https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main";
    let err = s
        .verify(&[
            ("image", &s.image("errs", &digest)),
            ("certificate-identity", evil),
        ])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no verified signature") && err.contains("does not match"),
        "{err}"
    );

    // The bundle written to RUNNER_TEMP verifies as a file too.
    let bundle = std::fs::read_dir(s.dir.path())
        .unwrap()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("bitvault-sign-keyless")
        })
        .unwrap()
        .path();
    let file = std::fs::read_dir(bundle)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    s.verify(&[
        ("bundle", &file.display().to_string()),
        ("artifact", &digest),
    ])
    .unwrap();
}
