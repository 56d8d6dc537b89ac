//! Authentication variants of the GitHub flow against the GitHub double: a GitHub App
//! installation token scoped to the repository (and revoked at the end), and an octo-sts
//! exchange of the workflow's OIDC token (from a fake runner token endpoint).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use bitvault_github_double::{GitHubDouble, StsPolicy};
use bitvault_gitops_bump::{SPEC, run};
use bitvault_runner::{Env, Step};
use octocrab::jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

const APP_KEY: &str = include_str!("fixtures/app-key.pem");
const APP_PUBLIC_KEY: &str = include_str!("fixtures/app-key.pub.pem");
const OIDC_KEY: &str = include_str!("fixtures/oidc-key.pem");
const OIDC_PUBLIC_KEY: &str = include_str!("fixtures/oidc-key.pub.pem");

const PROD: &str = "envs/prod/values.yaml";

fn d(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn double() -> GitHubDouble {
    let gh = GitHubDouble::start();
    gh.add_repo(
        "acme",
        "gitops",
        &[(PROD, &format!("image:\n  digest: {}\n", d('a')))],
    );
    gh.add_repo("acme", "other", &[(PROD, "image: {}\n")]);
    gh
}

fn step(gh: &GitHubDouble, flags: &[(&str, &str)], env: &[(&str, &str)]) -> Step {
    let mut all: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in [
        ("repository", "acme/gitops"),
        ("environment", "prod"),
        ("image", "web"),
        ("digest", &d('b')),
    ]
    .iter()
    .chain(flags)
    {
        all.insert(k.to_string(), v.to_string());
    }
    let mut pairs = vec![("GITHUB_API_URL".to_string(), gh.url().to_string())];
    pairs.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Step::new(&SPEC, &all, Env::from_pairs(pairs)).unwrap()
}

fn out<'a>(s: &'a Step, name: &str) -> &'a str {
    s.outputs()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap()
}

#[test]
fn github_app_installation_token_scoped_and_revoked() {
    let gh = double();
    gh.set_app(4711, APP_PUBLIC_KEY);
    gh.add_installation(99, "acme", &["gitops", "other"]);
    let mut s = step(&gh, &[("app-id", "4711"), ("private-key", APP_KEY)], &[]);
    run(&mut s).unwrap();
    assert_eq!(out(&s, "operation"), "created");
    assert_eq!(
        gh.git(
            "acme",
            "gitops",
            &[
                "show",
                "bitvault/gitops-bump/prod/web:envs/prod/values.yaml"
            ]
        ),
        format!("image:\n  digest: {}\n", d('b'))
    );
    let requests = gh.requests();
    let create = requests
        .iter()
        .find(|r| r.operation_id.as_deref() == Some("apps/create-installation-access-token"))
        .expect("an installation token was requested");
    assert_eq!(
        create.body.as_ref().unwrap()["repositories"],
        json!(["gitops"])
    );
    assert_eq!(gh.request_count("apps/get-repo-installation"), 1);
    assert_eq!(gh.request_count("apps/revoke-installation-access-token"), 1);
    // The revoke is the last request, made with the installation token.
    let last = requests.last().unwrap();
    assert_eq!(
        last.operation_id.as_deref(),
        Some("apps/revoke-installation-access-token")
    );
    assert_eq!(last.token, create_token(&requests));
    gh.assert_no_violations();
}

fn create_token(requests: &[bitvault_github_double::RecordedRequest]) -> Option<String> {
    // The token used for the pull request is the installation token.
    requests
        .iter()
        .find(|r| r.operation_id.as_deref() == Some("pulls/create"))
        .and_then(|r| r.token.clone())
}

#[test]
fn app_not_installed_on_the_repository_is_a_clear_error() {
    let gh = double();
    gh.set_app(4711, APP_PUBLIC_KEY);
    gh.add_installation(99, "acme", &["other"]);
    let mut s = step(&gh, &[("app-id", "4711"), ("private-key", APP_KEY)], &[]);
    let err = format!("{:#}", run(&mut s).unwrap_err());
    assert!(err.contains("not installed on acme/gitops"), "{err}");
    gh.assert_no_violations();
}

/// A one-shot fake of the runner's OIDC token endpoint; returns its URL.
fn runner_token_endpoint(token: String) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let body = json!({ "value": token }).to_string();
        let mut s = stream;
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        request_line
    });
    (
        format!("http://127.0.0.1:{port}/token?api-version=2.0"),
        handle,
    )
}

#[test]
fn octo_sts_exchanges_the_workflow_oidc_token() {
    let gh = double();
    gh.set_oidc_public_key(OIDC_PUBLIC_KEY);
    gh.add_sts_policy(StsPolicy {
        scope: "acme/gitops".into(),
        identity: "bump".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
        subject: "repo:acme/app:ref:refs/heads/main".into(),
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let oidc = encode(
        &Header::new(Algorithm::RS256),
        &json!({
            "iss": "https://token.actions.githubusercontent.com",
            "sub": "repo:acme/app:ref:refs/heads/main",
            "aud": "127.0.0.1",
            "iat": now,
            "exp": now + 300,
        }),
        &EncodingKey::from_rsa_pem(OIDC_KEY.as_bytes()).unwrap(),
    )
    .unwrap();
    let (url, server) = runner_token_endpoint(oidc.clone());
    let endpoint = gh.url().to_string();
    let mut s = step(
        &gh,
        &[("sts-endpoint", &endpoint), ("sts-identity", "bump")],
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-bearer"),
        ],
    );
    run(&mut s).unwrap();
    assert_eq!(out(&s, "operation"), "created");
    let line = server.join().unwrap();
    assert!(line.contains("audience=127.0.0.1"), "{line}");
    let requests = gh.requests();
    let exchange = &requests[0];
    assert_eq!(exchange.operation_id.as_deref(), Some("sts/exchange"));
    assert_eq!(exchange.token.as_deref(), Some(oidc.as_str()));
    assert_eq!(
        exchange.query,
        vec![
            ("scope".to_string(), "acme/gitops".to_string()),
            ("identity".to_string(), "bump".to_string())
        ]
    );
    // Every later request uses the exchanged token.
    let minted = requests[1].token.clone().unwrap();
    assert_ne!(minted, oidc);
    assert!(
        requests[1..]
            .iter()
            .all(|r| r.token.as_deref() == Some(&minted))
    );
    gh.assert_no_violations();
}

#[test]
fn several_credentials_are_refused() {
    let gh = double();
    let mut s = step(
        &gh,
        &[("token", "t"), ("app-id", "1"), ("private-key", "k")],
        &[],
    );
    let err = format!("{:#}", run(&mut s).unwrap_err());
    assert!(err.contains("give one way to authenticate"), "{err}");
    assert!(gh.requests().is_empty());
}

#[test]
fn token_bearing_urls_must_be_https_off_loopback() {
    let gh = double();
    let mut s = step(
        &gh,
        &[
            ("token", "t"),
            ("github-api-url", "http://ghe.example/api/v3"),
        ],
        &[],
    );
    let err = format!("{:#}", run(&mut s).unwrap_err());
    assert_eq!(
        err,
        "input `github-api-url`: \"http://ghe.example/api/v3\" would send a token over http; use an https:// URL (plain http is accepted only on loopback: 127.0.0.1, ::1, localhost)"
    );
    let mut s = step(
        &gh,
        &[
            ("sts-endpoint", "http://octo-sts.example"),
            ("sts-identity", "bump"),
        ],
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/token"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-bearer"),
        ],
    );
    let err = format!("{:#}", run(&mut s).unwrap_err());
    assert!(err.contains("input `sts-endpoint`"), "{err}");
    assert!(gh.requests().is_empty());
}
