//! The action end to end: reports judged alone, and against the real docker-registry and
//! the local Sigstore stack, with sigstore-python as the independent verifier of the
//! vulnerability attestation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use bitvault_registry::{Client, ClientOptions, Digest, Reference};
use bitvault_runner::{Env, Failed, Step};
use bitvault_scan_gate::{SPEC, run};
use bitvault_sigstore::verify::{self, PolicyOptions, Requirements, TrustedRoot};
use bitvault_sigstore_local::{GithubClaims, LocalSigstore};
use bitvault_testkit::{Registry, make_image_by_digest};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus(rel: &str) -> PathBuf {
    let shared = std::env::var_os("BITVAULT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"));
    shared.join("corpus/scan-reports").join(rel)
}

fn env(dir: &Path, stack: Option<&LocalSigstore>) -> Env {
    let mut pairs = vec![
        ("GITHUB_REPOSITORY".to_owned(), "acme/app".to_owned()),
        ("RUNNER_TEMP".to_owned(), dir.display().to_string()),
    ];
    if let Some(stack) = stack {
        pairs.push((
            "ACTIONS_ID_TOKEN_REQUEST_URL".to_owned(),
            stack.token_request_url(),
        ));
        pairs.push((
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_owned(),
            stack.token_request_token().to_string(),
        ));
    }
    Env::from_pairs(pairs)
}

/// Runs the action; the step comes back also when the gate failed (with its verdict).
fn step(inputs: &[(&str, &str)], env: Env) -> (Step, Option<anyhow::Error>) {
    let flags: BTreeMap<String, String> = inputs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut step = Step::new(&SPEC, &flags, env).expect("inputs resolve");
    let err = run(&mut step).err();
    (step, err)
}

fn output(step: &Step, name: &str) -> String {
    step.outputs()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[test]
fn a_report_judged_alone_fails_with_its_findings_and_passes_once_they_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let report = corpus("trivy/alpine-39.json");
    let inputs = [("report", report.to_str().unwrap()), ("attach", "false")];
    let (failed, err) = step(&inputs, env(dir.path(), None));
    let err = err.expect("the gate fails");
    assert!(err.is::<Failed>(), "{err:#}");
    assert_eq!(
        err.to_string(),
        "the vulnerability gate failed: 2 finding(s) at critical/high with a fix fail the policy"
    );
    assert_eq!(output(&failed, "passed"), "false");
    let results: Value = serde_json::from_str(&output(&failed, "results")).unwrap();
    assert_eq!(results[0]["failing"].as_array().unwrap().len(), 2);
    assert_eq!(results[0]["counts"]["medium"], 4);
    let summary = failed
        .summary_text()
        .replace(report.to_str().unwrap(), "<report>");
    insta::assert_snapshot!("summary_failed", summary);

    let exceptions = dir.path().join(".trivyignore.yaml");
    std::fs::write(
        &exceptions,
        "vulnerabilities:\n  - id: CVE-2019-14697\n    reason: musl's x87 path is not built for amd64\n    expires: 2099-01-01\n",
    )
    .unwrap();
    let mut with = inputs.to_vec();
    with.push(("exceptions", exceptions.to_str().unwrap()));
    let (passed, err) = step(&with, env(dir.path(), None));
    assert!(err.is_none(), "{err:?}");
    assert_eq!(output(&passed, "passed"), "true");
    let summary = passed
        .summary_text()
        .replace(report.to_str().unwrap(), "<report>")
        .replace(exceptions.to_str().unwrap(), "<exceptions>");
    insta::assert_snapshot!("summary_passed_with_exceptions", summary);
}

#[test]
fn refusals_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let report = corpus("trivy/alpine-39.json");
    let refusal = |inputs: &[(&str, &str)]| {
        let (_, err) = step(inputs, env(dir.path(), None));
        format!("{:#}", err.expect("refused")).replace(report.to_str().unwrap(), "<report>")
    };
    let r = report.to_str().unwrap();
    let text = [
        refusal(&[("attach", "false")]),
        refusal(&[("report", r)]),
        refusal(&[("report", r), ("attach", "false"), ("fail-on", "severe")]),
        refusal(&[("images", "127.0.0.1:5000/app:v1"), ("report", r)]),
        refusal(&[
            (
                "images",
                &format!("127.0.0.1:5000/app@sha256:{}", "a".repeat(64)),
            ),
            ("report", r),
        ]),
    ]
    .join("\n");
    insta::assert_snapshot!("refusals", text);
}

fn trivy_report_for(image: &str, dir: &Path, name: &str, musl_fixed: bool) -> PathBuf {
    // alpine-39's real findings, as if trivy had scanned `image` by digest (trivy then
    // names the digest in ArtifactName).
    let mut raw: Value =
        serde_json::from_slice(&std::fs::read(corpus("trivy/alpine-39.json")).unwrap()).unwrap();
    raw["ArtifactName"] = Value::String(image.to_owned());
    // Scanned now, as trivy would stamp it.
    raw["CreatedAt"] = Value::String(now());
    if !musl_fixed {
        for r in raw["Results"].as_array_mut().unwrap() {
            for v in r["Vulnerabilities"].as_array_mut().unwrap() {
                if v["Severity"] == "CRITICAL" {
                    v["Severity"] = Value::String("MEDIUM".into());
                }
            }
        }
    }
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(&raw).unwrap()).unwrap();
    path
}

fn now() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn fallback_tag(registry: &Registry, repo: &str, subject: &str) -> Vec<Value> {
    let tag = subject.replace("sha256:", "sha256-");
    let raw = registry.inspect_raw(&format!("{}/{repo}:{tag}", registry.host()));
    let index: Value = serde_json::from_slice(&raw).unwrap();
    index["manifests"].as_array().unwrap().clone()
}

#[test]
fn a_passing_report_is_attached_and_signed_once_and_a_failing_one_attaches_nothing() {
    let stack = LocalSigstore::start().unwrap();
    let registry = Registry::start();
    let host = registry.host();
    let digest = make_image_by_digest(&host, None, "demo/app", "amd64", "scan-gate test\n");
    let image = format!("{host}/demo/app@{digest}");
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    std::fs::write(&trust, stack.client_trust_config()).unwrap();

    // Failing: nothing is attached (the fallback tag does not even exist).
    let bad = trivy_report_for(&image, dir.path(), "bad.json", true);
    let inputs = [
        ("images", image.as_str()),
        ("report", bad.to_str().unwrap()),
        ("trust-config", trust.to_str().unwrap()),
    ];
    let (_, err) = step(&inputs, env(dir.path(), Some(&stack)));
    let err = err.expect("fails");
    assert!(err.to_string().ends_with("; nothing was attached"), "{err}");
    let tag = format!("{host}/demo/app:{}", digest.replace("sha256:", "sha256-"));
    let probe = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{tag}"))
        .output()
        .unwrap();
    assert!(!probe.status.success(), "a failing gate attached something");
    assert_eq!(stack.request_count("fulcio.signingCert"), 0);

    // A report of another digest is refused.
    let other = format!("{host}/demo/app@sha256:{}", "c".repeat(64));
    let wrong = trivy_report_for(&other, dir.path(), "wrong.json", false);
    let (_, err) = step(
        &[
            ("images", image.as_str()),
            ("report", wrong.to_str().unwrap()),
            ("attest", "false"),
        ],
        env(dir.path(), None),
    );
    let err = format!("{:#}", err.expect("refused"));
    assert!(err.contains("which is none of the images given"), "{err}");

    // Passing: the report and its attestation, once.
    let good = trivy_report_for(&image, dir.path(), "good.json", false);
    let inputs = [
        ("images", image.as_str()),
        ("report", good.to_str().unwrap()),
        ("trust-config", trust.to_str().unwrap()),
    ];
    let (first, err) = step(&inputs, env(dir.path(), Some(&stack)));
    assert!(err.is_none(), "{err:?}");
    let listed = fallback_tag(&registry, "demo/app", &digest);
    let mut types: Vec<_> = listed
        .iter()
        .map(|m| m["artifactType"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "application/vnd.dev.bitvault.scan-report.v1+json",
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        ]
    );
    let bundle_ref = listed
        .iter()
        .find(|m| m["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json")
        .unwrap();
    assert_eq!(
        bundle_ref["annotations"]["dev.sigstore.bundle.predicateType"],
        "https://cosign.sigstore.dev/attestation/vuln/v1"
    );
    // sigstore-python verifies the bundle for the image digest.
    let manifest: Value = serde_json::from_slice(&registry.inspect_raw(&format!(
        "{host}/demo/app@{}",
        bundle_ref["digest"].as_str().unwrap()
    )))
    .unwrap();
    let blob = manifest["layers"][0]["digest"].as_str().unwrap();
    let client = Client::new(ClientOptions::default()).unwrap();
    let repo = Reference::parse(&format!("{host}/demo/app")).unwrap();
    let bundle_bytes =
        bitvault_http::block_on(client.get_blob(repo.repository(), &Digest::parse(blob).unwrap()))
            .unwrap();
    let bundle_path = dir.path().join("vuln.sigstore.json");
    std::fs::write(&bundle_path, &bundle_bytes).unwrap();
    let out = Command::new(root().join(".tools/venv/bin/sigstore"))
        .arg("--trust-config")
        .arg(&trust)
        .args(["verify", "identity", "--bundle"])
        .arg(&bundle_path)
        .args(["--cert-identity", &GithubClaims::default().identity()])
        .args(["--cert-oidc-issuer", stack.issuer_url()])
        .arg(&digest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The statement carries cosign's vuln predicate with the verdict.
    let bundle: Value = serde_json::from_slice(&bundle_bytes).unwrap();
    let payload = bundle["dsseEnvelope"]["payload"].as_str().unwrap();
    let statement: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        digest.trim_start_matches("sha256:")
    );
    let p = &statement["predicate"];
    assert_eq!(p["scanner"]["uri"], "pkg:github/aquasecurity/trivy@dev");
    assert_eq!(p["invocation"]["parameters"]["passed"], true);
    let finished = p["metadata"]["scanFinishedOn"].as_str().unwrap().to_owned();
    let stamped: Value = serde_json::from_slice(&std::fs::read(&good).unwrap()).unwrap();
    assert_eq!(finished, stamped["CreatedAt"].as_str().unwrap());
    assert_eq!(p["scanner"]["result"]["ArtifactName"], image);
    let fulcio = stack.request_count("fulcio.signingCert");
    assert_eq!(fulcio, 1);

    // `verify --require vuln-scan` passes with a day's max-age; with one second, after
    // a pause, the scan is stale and it fails.
    let subject = bitvault_sigstore::Subject::parse(&image, "image").unwrap();
    let root = TrustedRoot::from_json(&stack.trusted_root()).unwrap();
    let policy = PolicyOptions {
        certificate_identity: Some(GithubClaims::default().identity()),
        certificate_oidc_issuer: Some(stack.issuer_url().to_owned()),
        ..PolicyOptions::default()
    }
    .policy()
    .unwrap();
    let client = Client::new(ClientOptions::default()).unwrap();
    let require = |age: &str| {
        Requirements::parse(["vuln-scan"])
            .unwrap()
            .with_max_age(Some(Requirements::parse_max_age(age).unwrap()))
    };
    bitvault_http::block_on(verify::image(
        &client,
        &root,
        &subject,
        &policy,
        &require("24h"),
    ))
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let err = format!(
        "{:#}",
        bitvault_http::block_on(verify::image(
            &client,
            &root,
            &subject,
            &policy,
            &require("1s")
        ))
        .unwrap_err()
    );
    assert!(
        err.contains("no passing vulnerability scan no older than 1s"),
        "{err}"
    );
    assert!(
        err.contains(&format!("a passing scan finished {finished}")),
        "{err}"
    );
    // An image that was never scanned has no scan attestation at all.
    let unscanned = make_image_by_digest(&host, None, "demo/app", "arm64", "never scanned\n");
    let other = bitvault_sigstore::Subject::parse(&format!("{host}/demo/app@{unscanned}"), "image")
        .unwrap();
    let err = format!(
        "{:#}",
        bitvault_http::block_on(verify::image(
            &client,
            &root,
            &other,
            &policy,
            &require("24h")
        ))
        .unwrap_err()
    );
    assert!(
        err.contains("no verified vulnerability scan attestation"),
        "{err}"
    );

    // A re-run writes and signs nothing.
    let (second, err) = step(&inputs, env(dir.path(), Some(&stack)));
    assert!(err.is_none(), "{err:?}");
    assert_eq!(fallback_tag(&registry, "demo/app", &digest), listed);
    assert_eq!(stack.request_count("fulcio.signingCert"), fulcio);
    assert_eq!(output(&second, "results"), output(&first, "results"));
}
