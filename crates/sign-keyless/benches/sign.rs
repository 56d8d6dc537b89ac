//! `bitvault sign-keyless` on 1, 10 and 50 digests against the local
//! Sigstore stack with 50 ms added to every request, and a local registry.
//! Prints the requests each Sigstore endpoint answered and the wall time.
//! Whatever the number of digests, a run makes one Fulcio request.
//!
//! `cargo bench -p bitvault-sign-keyless --bench sign`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bitvault_registry::{Client, ClientOptions, Reference};
use bitvault_runner::{Env, Step};
use bitvault_sign_keyless::{SPEC as SIGN_SPEC, run as run_sign};
use bitvault_sigstore_local::{LocalSigstore, Options};
use bitvault_testkit::Registry;
use serde_json::json;

/// Push `n` distinct tiny image manifests; returns their references.
fn images(registry: &Registry, repo: &str, n: usize) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = Client::new(ClientOptions::default()).unwrap();
    let r = Reference::parse(&format!("{}/{repo}", registry.host())).unwrap();
    let repository = r.repository().clone();
    rt.block_on(async {
        let mut out = Vec::new();
        for i in 0..n {
            let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "config": {"Labels": {"n": i.to_string()}}});
            let config = serde_json::to_vec(&config).unwrap();
            let (cd, _) = client.push_blob(&repository, &config).await.unwrap();
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.as_str(), "size": config.len()},
                "layers": [],
            });
            let bytes = serde_json::to_vec(&manifest).unwrap();
            let pushed = client
                .push_manifest(&repository, "application/vnd.oci.image.manifest.v1+json", &bytes)
                .await
                .unwrap();
            out.push(format!("{}/{repo}@{}", registry.host(), pushed.digest));
        }
        out
    })
}

fn main() {
    bitvault_testkit::require_tools();
    let registry = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    println!("sign-keyless: provenance and legacy .sig on, 50 ms added per Sigstore request");
    for n in [1usize, 10, 50] {
        let stack = LocalSigstore::start_with(Options {
            latency: Duration::from_millis(50),
            ..Options::default()
        })
        .unwrap();
        let trust = dir.path().join(format!("trust-{n}.json"));
        std::fs::write(&trust, stack.client_trust_config()).unwrap();
        let refs = images(&registry, &format!("bench{n}"), n);
        let flags: BTreeMap<String, String> = [
            ("images".to_string(), refs.join("\n")),
            ("trust-config".to_string(), trust.display().to_string()),
        ]
        .into();
        let env = Env::from_pairs(
            [
                ("ACTIONS_ID_TOKEN_REQUEST_URL", stack.token_request_url()),
                (
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    stack.token_request_token().to_string(),
                ),
                ("GITHUB_REPOSITORY", "acme/app".into()),
                (
                    "GITHUB_SHA",
                    "0123456789abcdef0123456789abcdef01234567".into(),
                ),
                ("GITHUB_REF", "refs/heads/main".into()),
                ("GITHUB_RUN_ID", "4242".into()),
                ("RUNNER_TEMP", dir.path().display().to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v)),
        );
        let mut step = Step::new(&SIGN_SPEC, &flags, env).unwrap();
        let start = Instant::now();
        run_sign(&mut step).unwrap();
        let took = start.elapsed();
        let requests = stack.requests();
        println!(
            "{n:>3} digests: {:>7.2} s wall; requests: {}",
            took.as_secs_f64(),
            requests
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(
            stack.request_count("fulcio.signingCert"),
            1,
            "one Fulcio certificate per run"
        );
    }
}
