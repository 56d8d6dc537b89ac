//! The action end to end against the real docker-registry (which has no referrers API,
//! so the `sha256-<hex>` tag index is used) and the local Sigstore stack, with
//! sigstore-python as the independent verifier of the attestations.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use bitvault_registry::{Client, ClientOptions, Digest, Reference};
use bitvault_runner::{Env, Step};
use bitvault_sbom_attach::{SPEC, run};
use bitvault_sigstore::verify::{self, PolicyOptions, Requirements, TrustedRoot};
use bitvault_sigstore_local::{GithubClaims, LocalSigstore};
use bitvault_testkit::Registry;
use common::*;
use serde_json::Value;

fn env(dir: &std::path::Path, stack: Option<&LocalSigstore>) -> Env {
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

fn step(inputs: &[(&str, &str)], env: Env) -> anyhow::Result<Step> {
    let flags: BTreeMap<String, String> = inputs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut step = Step::new(&SPEC, &flags, env)?;
    run(&mut step)?;
    Ok(step)
}

fn output(step: &Step, name: &str) -> String {
    step.outputs()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The summary with the registry's port and the digests (named in order of appearance)
/// replaced.
fn normalise(text: &str, host: &str) -> String {
    let text = text.replace(host, "<registry>");
    let digest = regex::Regex::new(r"sha256:[0-9a-f]{64}").unwrap();
    let mut seen: Vec<String> = Vec::new();
    digest
        .replace_all(&text, |c: &regex::Captures| {
            let d = c[0].to_owned();
            let n = match seen.iter().position(|s| *s == d) {
                Some(i) => i + 1,
                None => {
                    seen.push(d);
                    seen.len()
                }
            };
            format!("<digest-{n}>")
        })
        .into_owned()
}

fn fallback_tag(registry: &Registry, repo: &str, subject: &str) -> Vec<Value> {
    let tag = subject.replace("sha256:", "sha256-");
    let raw = registry.inspect_raw(&format!("{}/{repo}:{tag}", registry.host()));
    let index: Value = serde_json::from_slice(&raw).unwrap();
    index["manifests"].as_array().unwrap().clone()
}

#[test]
fn attaches_each_document_to_each_platform_once() {
    let registry = Registry::start();
    let host = registry.host();
    let index = push(&layout(), "multi", &host, "demo/app");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let image = format!("{host}/demo/app@{index}");
    let inputs = [
        ("images", image.as_str()),
        ("attest", "false"),
        ("output-dir", out.to_str().unwrap()),
    ];
    let first = step(&inputs, env(dir.path(), None)).unwrap();
    let sboms: Value = serde_json::from_str(&output(&first, "sboms")).unwrap();
    let sboms = sboms.as_array().unwrap();
    assert_eq!(sboms.len(), 2);
    for s in sboms {
        let digest = s["digest"].as_str().unwrap();
        let listed = fallback_tag(&registry, "demo/app", digest);
        let mut types: Vec<_> = listed
            .iter()
            .map(|m| m["artifactType"].as_str().unwrap().to_owned())
            .collect();
        types.sort();
        assert_eq!(
            types,
            ["application/spdx+json", "application/vnd.cyclonedx+json"]
        );
        for m in &listed {
            let a = &m["annotations"];
            assert!(a["org.opencontainers.image.created"].is_string());
            assert!(
                a["dev.bitvault.sbom.tool"]
                    .as_str()
                    .unwrap()
                    .starts_with("bitvault-sbom-attach ")
            );
        }
        // The referrer is what the output says, and its document is the file written.
        let cdx_ref = s["referrers"]["cyclonedx"]["document"].as_str().unwrap();
        assert!(listed.iter().any(|m| m["digest"] == cdx_ref));
        let manifest: Value =
            serde_json::from_slice(&registry.inspect_raw(&format!("{host}/demo/app@{cdx_ref}")))
                .unwrap();
        assert_eq!(manifest["subject"]["digest"], digest);
        assert_eq!(
            manifest["config"]["mediaType"],
            "application/vnd.oci.empty.v1+json"
        );
        let hex = digest.trim_start_matches("sha256:");
        let file = std::fs::read(out.join(format!("{hex}.cdx.json"))).unwrap();
        assert_eq!(
            manifest["layers"][0]["digest"].as_str().unwrap(),
            Digest::of(&file).as_str()
        );
        // The empty config was really uploaded.
        let rt = tokio::runtime::Runtime::new().unwrap();
        let client = Client::new(ClientOptions::default()).unwrap();
        let r = Reference::parse(&format!("{host}/demo/app")).unwrap();
        let empty = Digest::parse(manifest["config"]["digest"].as_str().unwrap()).unwrap();
        assert_eq!(
            rt.block_on(client.get_blob(r.repository(), &empty))
                .unwrap(),
            b"{}"
        );
    }
    assert!(
        first.summary_text().contains("| linux/amd64 |"),
        "{}",
        first.summary_text()
    );
    assert_eq!(output(&first, "sbom-paths").lines().count(), 4);
    insta::assert_snapshot!("summary_first_run", normalise(first.summary_text(), &host));

    // A second run writes nothing: same referrers, none written.
    let before: Vec<_> = sboms
        .iter()
        .map(|s| fallback_tag(&registry, "demo/app", s["digest"].as_str().unwrap()))
        .collect();
    let second = step(&inputs, env(dir.path(), None)).unwrap();
    assert_eq!(output(&second, "sboms"), output(&first, "sboms"));
    assert!(second.summary_text().contains("(already there)"));
    insta::assert_snapshot!("summary_rerun", normalise(second.summary_text(), &host));
    assert!(
        !second
            .summary_text()
            .replace("(already there)", "")
            .contains("document,")
    );
    let after: Vec<_> = sboms
        .iter()
        .map(|s| fallback_tag(&registry, "demo/app", s["digest"].as_str().unwrap()))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn attestations_on_each_platform_and_the_index_verify_with_sigstore_python() {
    let stack = LocalSigstore::start().expect("local stack starts");
    let registry = Registry::start();
    let host = registry.host();
    let index = push(&layout(), "multi", &host, "demo/app");
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    std::fs::write(&trust, stack.client_trust_config()).unwrap();
    let image = format!("{host}/demo/app@{index}");
    let inputs = [
        ("images", image.as_str()),
        ("trust-config", trust.to_str().unwrap()),
    ];
    let first = step(&inputs, env(dir.path(), Some(&stack))).unwrap();
    let sboms: Value = serde_json::from_str(&output(&first, "sboms")).unwrap();
    let bundle_type = "application/vnd.dev.sigstore.bundle.v0.3+json";
    for s in sboms.as_array().unwrap() {
        let digest = s["digest"].as_str().unwrap();
        let listed = fallback_tag(&registry, "demo/app", digest);
        let bundles: Vec<_> = listed
            .iter()
            .filter(|m| m["artifactType"] == bundle_type)
            .collect();
        assert_eq!(bundles.len(), 2, "{listed:#?}");
        let mut predicates: Vec<_> = bundles
            .iter()
            .map(|m| {
                m["annotations"]["dev.sigstore.bundle.predicateType"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        predicates.sort();
        assert_eq!(
            predicates,
            ["https://cyclonedx.org/bom", "https://spdx.dev/Document"]
        );
        // sigstore-python verifies the bundle for this manifest digest.
        let manifest: Value = serde_json::from_slice(&registry.inspect_raw(&format!(
            "{host}/demo/app@{}",
            bundles[0]["digest"].as_str().unwrap()
        )))
        .unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let client = Client::new(ClientOptions::default()).unwrap();
        let r = Reference::parse(&format!("{host}/demo/app")).unwrap();
        let blob = Digest::parse(manifest["layers"][0]["digest"].as_str().unwrap()).unwrap();
        let bytes = rt.block_on(client.get_blob(r.repository(), &blob)).unwrap();
        let bundle = dir.path().join(format!("{}.sigstore.json", &digest[7..19]));
        std::fs::write(&bundle, bytes).unwrap();
        let out = Command::new(tool("sigstore"))
            .arg("--trust-config")
            .arg(&trust)
            .args(["verify", "identity", "--bundle"])
            .arg(&bundle)
            .args(["--cert-identity", &GithubClaims::default().identity()])
            .args(["--cert-oidc-issuer", stack.issuer_url()])
            .arg(digest)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(s["referrers"]["spdx"]["attestation"].is_string());
        assert!(s["referrers"]["spdx"]["index-attestation"].is_string());
    }
    // On the index: one attestation per platform and format, each naming its platform.
    let on_index = fallback_tag(&registry, "demo/app", index.as_str());
    let mut platforms: Vec<_> = on_index
        .iter()
        .filter(|m| m["artifactType"] == bundle_type)
        .map(|m| {
            m["annotations"]["dev.bitvault.sbom.platform"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    platforms.sort();
    assert_eq!(
        platforms,
        ["linux/amd64", "linux/amd64", "linux/arm64", "linux/arm64"]
    );

    // `verify --require sbom` passes for the index (every platform has a verified SBOM
    // attestation) and refuses an image that has none, naming what is missing.
    let root = TrustedRoot::from_json(&stack.trusted_root()).unwrap();
    let policy = PolicyOptions {
        certificate_identity: Some(GithubClaims::default().identity()),
        certificate_oidc_issuer: Some(stack.issuer_url().to_owned()),
        ..PolicyOptions::default()
    }
    .policy()
    .unwrap();
    let client = Client::new(ClientOptions::default()).unwrap();
    let sbom = Requirements::parse(["sbom"]).unwrap();
    let subject = bitvault_sigstore::Subject::parse(&image, "image").unwrap();
    let v =
        bitvault_http::block_on(verify::image(&client, &root, &subject, &policy, &sbom)).unwrap();
    assert_eq!(v.platforms.len(), 2);
    let bare =
        bitvault_testkit::make_image_by_digest(&host, None, "demo/bare", "amd64", "no sbom\n");
    let subject =
        bitvault_sigstore::Subject::parse(&format!("{host}/demo/bare@{bare}"), "image").unwrap();
    let err = format!(
        "{:#}",
        bitvault_http::block_on(verify::image(&client, &root, &subject, &policy, &sbom))
            .unwrap_err()
    );
    assert!(
        err.contains(
            "no verified SBOM attestation (https://cyclonedx.org/bom or https://spdx.dev/Document)"
        ),
        "{err}"
    );

    // A re-run signs and writes nothing.
    let before = on_index.clone();
    let second = step(&inputs, env(dir.path(), Some(&stack))).unwrap();
    assert_eq!(output(&second, "sboms"), output(&first, "sboms"));
    assert_eq!(fallback_tag(&registry, "demo/app", index.as_str()), before);
}

#[test]
fn tags_and_local_sources_with_attach_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = step(
        &[("images", "127.0.0.1:5000/demo/app:v1")],
        env(dir.path(), None),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "input `images`: 127.0.0.1:5000/demo/app:v1 names a tag, not a digest; tags can move, so pass the digest the build pushed: 127.0.0.1:5000/demo/app@sha256:<hex> (for example the `digest` output of the build step)"
    );
    let err = step(&[("images", "dir:/tmp")], env(dir.path(), None))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "input `images`: dir:/tmp is not in a registry, so nothing can be attached to it; set `attach: false` and `attest: false` (and `output-dir`) to write the documents only"
    );
}
