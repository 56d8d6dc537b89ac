//! The signature gate: `require-signature: true` verifies each digest in its
//! registry with the verifier of `bitvault verify` before anything is
//! written. Real registry (testkit), local Sigstore stack, real signatures
//! made by `bitvault sign-keyless`.

use std::collections::BTreeMap;

use bitvault_gitops_bump::{SPEC, run};
use bitvault_runner::{Env, Step};
use bitvault_sigstore_local::{GithubClaims, LocalSigstore};
use bitvault_testkit::{Registry, make_image, require_tools};

const VALUES: &str = "image:\n  repository: r\n  digest: \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n";

fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("envs/dev")).unwrap();
    std::fs::write(dir.path().join("envs/dev/values.yaml"), VALUES).unwrap();
    dir
}

fn env(stack: &LocalSigstore, dir: &std::path::Path) -> Env {
    Env::from_pairs(
        [
            ("GITHUB_REPOSITORY", "acme/app".to_string()),
            (
                "GITHUB_SHA",
                "0123456789abcdef0123456789abcdef01234567".to_string(),
            ),
            ("GITHUB_RUN_ID", "1".to_string()),
            ("RUNNER_TEMP", dir.display().to_string()),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", stack.token_request_url()),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                stack.token_request_token().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v)),
    )
}

fn flags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A local Sigstore stack, a registry with two images, one of them signed
/// by sign-keyless.
struct Fixture {
    stack: LocalSigstore,
    _reg: Registry,
    tmp: tempfile::TempDir,
    trust: String,
    repo: String,
    signed: String,
    unsigned: String,
}

fn fixture() -> Fixture {
    require_tools();
    let stack = LocalSigstore::start().expect("local stack");
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let trust = tmp.path().join("trust.json");
    std::fs::write(&trust, stack.client_trust_config()).unwrap();
    let trust = trust.display().to_string();
    let repo = format!("{}/demo/app", reg.host());
    let signed = make_image(&reg, "demo/app", "signed", "amd64");
    let unsigned = make_image(&reg, "demo/app", "unsigned", "arm64");
    let mut sign = Step::new(
        &bitvault_sign_keyless::SPEC,
        &flags(&[
            ("images", &format!("{repo}@{signed}")),
            ("trust-config", &trust),
            ("provenance", "false"),
        ]),
        env(&stack, tmp.path()),
    )
    .unwrap();
    bitvault_sign_keyless::run(&mut sign).unwrap();
    Fixture {
        stack,
        _reg: reg,
        tmp,
        trust,
        repo,
        signed,
        unsigned,
    }
}

#[test]
fn unsigned_or_foreign_digests_are_refused_signed_ones_pass() {
    let f = fixture();
    let (stack, tmp, trust, repo) = (&f.stack, &f.tmp, &f.trust, &f.repo);
    let (signed, unsigned) = (&f.signed, &f.unsigned);

    let identity = GithubClaims::default().identity();
    let bump = |digest: &str, identity: &str| {
        let dir = checkout();
        let path = dir.path().display().to_string();
        let mut step = Step::new(
            &SPEC,
            &flags(&[
                ("path", &path),
                ("environment", "dev"),
                ("image", "app"),
                ("digest", digest),
                ("require-signature", "true"),
                ("image-repository", repo),
                ("certificate-identity", identity),
                ("certificate-oidc-issuer", stack.issuer_url()),
                ("trusted-root", trust),
            ]),
            env(stack, tmp.path()),
        )
        .unwrap();
        let result = run(&mut step);
        let after = std::fs::read_to_string(dir.path().join("envs/dev/values.yaml")).unwrap();
        (result, after)
    };

    let (ok, after) = bump(signed, &identity);
    ok.unwrap();
    assert!(after.contains(signed.as_str()), "{after}");

    let (err, after) = bump(unsigned, &identity);
    let err = format!("{:#}", err.unwrap_err());
    assert!(err.contains("the signature gate refused"), "{err}");
    assert!(err.contains("no signature was found"), "{err}");
    assert_eq!(after, VALUES, "nothing written for a refused digest");

    let (err, after) = bump(
        signed,
        "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main",
    );
    let err = format!("{:#}", err.unwrap_err());
    assert!(err.contains("the signature gate refused"), "{err}");
    assert!(err.contains("does not match"), "{err}");
    assert_eq!(after, VALUES);
}

/// The gate in the GitHub flow, against the GitHub API double: an unsigned
/// digest is refused before any request reaches GitHub; a signed one lands
/// in a pull request whose body carries the verification result.
#[test]
fn the_gate_runs_before_any_github_request() {
    let f = fixture();
    let (stack, tmp, trust, repo) = (&f.stack, &f.tmp, &f.trust, &f.repo);
    let (signed, unsigned) = (&f.signed, &f.unsigned);

    let gh = bitvault_github_double::GitHubDouble::start();
    gh.add_token("ghp_gate");
    gh.add_repo("acme", "gitops", &[("envs/dev/values.yaml", VALUES)]);
    let identity = GithubClaims::default().identity();
    let bump = |digest: &str| {
        let mut e = env(stack, tmp.path());
        e.set("GITHUB_API_URL", gh.url());
        let mut step = Step::new(
            &SPEC,
            &flags(&[
                ("repository", "acme/gitops"),
                ("token", "ghp_gate"),
                ("environment", "dev"),
                ("image", "app"),
                ("digest", digest),
                ("require-signature", "true"),
                ("image-repository", repo),
                ("certificate-identity", &identity),
                ("certificate-oidc-issuer", stack.issuer_url()),
                ("trusted-root", trust),
            ]),
            e,
        )
        .unwrap();
        let r = run(&mut step);
        (r, step)
    };

    let (err, _) = bump(unsigned);
    let err = format!("{:#}", err.unwrap_err());
    assert!(err.contains("the signature gate refused"), "{err}");
    assert!(
        gh.requests().is_empty(),
        "no request before the gate passes"
    );

    let (ok, step) = bump(signed);
    ok.unwrap();
    let out = |n: &str| {
        step.outputs()
            .iter()
            .find(|(k, _)| k == n)
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(out("operation"), "created");
    let pulls = gh.pulls("acme", "gitops");
    assert_eq!(pulls.len(), 1);
    let body = pulls[0].body.clone().unwrap_or_default();
    assert!(body.contains("signature verified"), "{body}");
    gh.assert_no_violations();
}
