//! The signature gate: `require-signature: true` verifies each digest in its
//! registry with the verifier of `bitvault verify` before anything is
//! written. Real registry (testkit), local Sigstore stack, real signatures
//! made by `bitvault sign-keyless`; the gate calls
//! `bitvault_sigstore::verify::image` with the full policy of its inputs.

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
    reg: Registry,
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
        reg,
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

/// Sign `image` with sign-keyless, with `claims` as the token's (another
/// repository's workflow, say) and the given extra inputs.
fn sign(f: &Fixture, image: &str, claims: &GithubClaims, extra: &[(&str, &str)]) {
    let token = f.stack.mint_token(claims, "sigstore");
    let mut inputs = vec![
        ("images", image),
        ("trust-config", f.trust.as_str()),
        ("identity-token", token.as_str()),
    ];
    inputs.extend_from_slice(extra);
    let mut e = env(&f.stack, f.tmp.path());
    e.set("GITHUB_REF", "refs/heads/main");
    e.set("GITHUB_RUN_ATTEMPT", "1");
    e.set("GITHUB_EVENT_NAME", "push");
    let mut step = Step::new(&bitvault_sign_keyless::SPEC, &flags(&inputs), e).unwrap();
    bitvault_sign_keyless::run(&mut step).unwrap();
}

/// The gate with the full policy: `source-repository` refuses a signature
/// made by another repository's workflow (even one the identity regexp
/// accepts), and `require: provenance` refuses a digest signed without
/// provenance.
#[test]
fn the_gate_enforces_source_repository_and_required_provenance() {
    let f = fixture();
    let fork = GithubClaims {
        repository: "someone/fork".into(),
        ..GithubClaims::default()
    };
    let foreign = make_image(&f.reg, "demo/app", "foreign", "amd64");
    sign(
        &f,
        &format!("{}@{foreign}", f.repo),
        &fork,
        &[("provenance", "false")],
    );
    let attested = make_image(&f.reg, "demo/app", "attested", "amd64");
    sign(
        &f,
        &format!("{}@{attested}", f.repo),
        &GithubClaims::default(),
        &[],
    );

    let bump = |digest: &str, extra: &[(&str, &str)]| {
        let dir = checkout();
        let path = dir.path().display().to_string();
        let mut inputs = vec![
            ("path", path.as_str()),
            ("environment", "dev"),
            ("image", "app"),
            ("digest", digest),
            ("require-signature", "true"),
            ("image-repository", f.repo.as_str()),
            ("certificate-oidc-issuer", f.stack.issuer_url()),
            ("trusted-root", f.trust.as_str()),
        ];
        inputs.extend_from_slice(extra);
        let mut step = Step::new(&SPEC, &flags(&inputs), env(&f.stack, f.tmp.path())).unwrap();
        let result = run(&mut step);
        let after = std::fs::read_to_string(dir.path().join("envs/dev/values.yaml")).unwrap();
        (result, after)
    };
    let any_github_workflow = ("certificate-identity-regexp", "^https://github.com/");

    // source-repository: the fork's signature is refused, ours passes.
    let (err, after) = bump(
        &foreign,
        &[any_github_workflow, ("source-repository", "acme/app")],
    );
    let err = format!("{:#}", err.unwrap_err());
    assert!(err.contains("the signature gate refused"), "{err}");
    assert!(
        err.contains("certificate source repository https://github.com/someone/fork does not match expected acme/app"),
        "{err}"
    );
    assert_eq!(after, VALUES, "nothing written for a refused digest");
    let (ok, after) = bump(
        &f.signed,
        &[any_github_workflow, ("source-repository", "acme/app")],
    );
    ok.unwrap();
    assert!(after.contains(f.signed.as_str()), "{after}");
    // Without source-repository the regexp alone accepts the fork.
    let (ok, _) = bump(&foreign, &[any_github_workflow]);
    ok.unwrap();

    // require: provenance: a digest signed without it is refused, one
    // signed with it passes.
    let identity = GithubClaims::default().identity();
    let exact = ("certificate-identity", identity.as_str());
    let (err, after) = bump(&f.signed, &[exact, ("require", "provenance")]);
    let err = format!("{:#}", err.unwrap_err());
    assert!(err.contains("the signature gate refused"), "{err}");
    assert!(
        err.contains("no verified SLSA provenance (https://slsa.dev/provenance/v1)"),
        "{err}"
    );
    assert_eq!(after, VALUES);
    let (ok, after) = bump(&attested, &[exact, ("require", "signature,provenance")]);
    ok.unwrap();
    assert!(after.contains(attested.as_str()), "{after}");

    // An empty requirement is an error, not a pass.
    let (err, after) = bump(&attested, &[exact, ("require", ",")]);
    let err = format!("{:#}", err.unwrap_err());
    assert!(err.starts_with("`require` is empty"), "{err}");
    assert_eq!(after, VALUES);
}

/// A promotion and a rollback are gated too, as soon as their digests are known and
/// before any write: an unsigned digest in staging is not promoted to prod, and a
/// rollback to an unsigned digest from the file's history is refused; signed ones
/// land, in a local checkout and through GitHub.
#[test]
fn promotions_and_rollbacks_are_gated_before_any_write() {
    let f = fixture();
    let (stack, tmp, trust, repo) = (&f.stack, &f.tmp, &f.trust, &f.repo);
    let (signed, unsigned) = (&f.signed, &f.unsigned);
    let identity = GithubClaims::default().identity();
    let values = |d: &str| VALUES.replace(&format!("sha256:{}", "0".repeat(64)), d);
    let gated = |extra: &[(&str, &str)], e: Env| {
        let mut inputs = vec![
            ("require-signature", "true"),
            ("image", "app"),
            ("image-repository", repo.as_str()),
            ("certificate-identity", identity.as_str()),
            ("certificate-oidc-issuer", stack.issuer_url()),
            ("trusted-root", trust.as_str()),
        ];
        inputs.extend_from_slice(extra);
        let mut step = Step::new(&SPEC, &flags(&inputs), e).unwrap();
        let r = run(&mut step);
        (r, step)
    };

    // Local checkout: staging holds an unsigned digest, then a signed one.
    let dir = tempfile::tempdir().unwrap();
    for env_name in ["staging", "prod"] {
        std::fs::create_dir_all(dir.path().join("envs").join(env_name)).unwrap();
    }
    let prod = dir.path().join("envs/prod/values.yaml");
    std::fs::write(&prod, VALUES).unwrap();
    let path = dir.path().display().to_string();
    let promote = [
        ("mode", "promote"),
        ("from-environment", "staging"),
        ("environment", "prod"),
        ("path", path.as_str()),
    ];
    std::fs::write(
        dir.path().join("envs/staging/values.yaml"),
        values(unsigned),
    )
    .unwrap();
    let (err, _) = gated(&promote, env(stack, tmp.path()));
    let err = format!("{:#}", err.unwrap_err());
    assert!(err.contains("the signature gate refused"), "{err}");
    assert!(err.contains(unsigned.as_str()), "{err}");
    assert_eq!(
        std::fs::read_to_string(&prod).unwrap(),
        VALUES,
        "nothing written"
    );
    std::fs::write(dir.path().join("envs/staging/values.yaml"), values(signed)).unwrap();
    let (ok, _) = gated(&promote, env(stack, tmp.path()));
    ok.unwrap();
    assert!(
        std::fs::read_to_string(&prod)
            .unwrap()
            .contains(signed.as_str())
    );

    // Through GitHub: prod's history is zeros -> unsigned -> signed; rolling back from
    // signed goes to the unsigned digest, which the gate refuses before any write.
    let gh = bitvault_github_double::GitHubDouble::start();
    gh.add_token("ghp_gate");
    gh.add_repo("acme", "gitops", &[("envs/prod/values.yaml", VALUES)]);
    let push = |d: &str| {
        let work = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@bitvault.invalid"])
                .args(args)
                .current_dir(work.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let bare = gh.repo_path("acme", "gitops").display().to_string();
        git(&["clone", "-q", &bare, "."]);
        std::fs::write(work.path().join("envs/prod/values.yaml"), values(d)).unwrap();
        git(&["commit", "-qam", "prod"]);
        git(&["push", "-q", "origin", "HEAD:main"]);
    };
    push(unsigned);
    push(signed);
    let mut e = env(stack, tmp.path());
    e.set("GITHUB_API_URL", gh.url());
    let rollback = [
        ("mode", "rollback"),
        ("environment", "prod"),
        ("repository", "acme/gitops"),
        ("token", "ghp_gate"),
    ];
    let (err, _) = gated(&rollback, e.clone());
    let err = format!("{:#}", err.unwrap_err());
    assert!(err.contains("the signature gate refused"), "{err}");
    assert!(err.contains(unsigned.as_str()), "{err}");
    assert!(gh.pulls("acme", "gitops").is_empty(), "no pull request");
    assert_eq!(gh.request_count("git/create-commit"), 0, "no commit");

    // Once prod holds the unsigned digest, rolling back to the signed one lands.
    push(unsigned);
    let (ok, step) = gated(&rollback, e);
    ok.unwrap();
    let op = step
        .outputs()
        .iter()
        .find(|(k, _)| k == "operation")
        .unwrap()
        .1
        .clone();
    assert_eq!(op, "created");
    let pulls = gh.pulls("acme", "gitops");
    assert_eq!(pulls.len(), 1);
    let body = pulls[0].body.clone().unwrap_or_default();
    assert!(body.contains("signature verified"), "{body}");
    gh.assert_no_violations();
}
