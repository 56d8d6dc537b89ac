//! Helpers shared by the integration tests: plain HTTP calls and RS256 JWTs.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bitvault_github_double::GitHubDouble;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};
use sha2::Sha256;

pub const TOKEN: &str = "actions-token";
pub const APP_KEY: &str = include_str!("../fixtures/app-key.pem");
pub const APP_PUBLIC_KEY: &str = include_str!("../fixtures/app-key.pub.pem");
pub const OIDC_KEY: &str = include_str!("../fixtures/oidc-key.pem");
pub const OIDC_PUBLIC_KEY: &str = include_str!("../fixtures/oidc-key.pub.pem");

/// A double with one token and `acme/gitops` holding two files on `main`.
pub fn double() -> GitHubDouble {
    let gh = GitHubDouble::start();
    gh.add_token(TOKEN);
    gh.add_repo(
        "acme",
        "gitops",
        &[
            ("apps/web/values.yaml", "image:\n  tag: v1\n"),
            ("README.md", "# gitops\n"),
        ],
    );
    gh
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// Sends a request with `token` (if any); returns the status, JSON body (or Null) and
/// the Link header.
pub fn call_full(
    gh: &GitHubDouble,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let url = format!("{}{path}", gh.url());
    let agent = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    macro_rules! with_auth {
        ($rb:expr) => {{
            let rb = $rb.header("Accept", "application/vnd.github+json");
            match &auth {
                Some(a) => rb.header("Authorization", a),
                None => rb,
            }
        }};
    }
    let result = match (method, body) {
        ("GET", _) => with_auth!(agent.get(&url)).call(),
        ("DELETE", _) => with_auth!(agent.delete(&url)).call(),
        ("POST", Some(b)) => with_auth!(agent.post(&url)).send_json(&b),
        ("POST", None) => with_auth!(agent.post(&url)).send_empty(),
        ("PATCH", Some(b)) => with_auth!(agent.patch(&url)).send_json(&b),
        ("PUT", Some(b)) => with_auth!(agent.put(&url)).send_json(&b),
        (m, _) => panic!("unsupported method {m}"),
    };
    let mut resp = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let link = resp
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
    };
    (status, value, link)
}

/// [`call_full`] with the configured token, without the Link header.
pub fn call(gh: &GitHubDouble, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let (s, v, _) = call_full(gh, method, path, Some(TOKEN), body);
    (s, v)
}

/// Signs `claims` as an RS256 JWT with a PEM private key (PKCS#1 or PKCS#8).
pub fn sign_jwt(private_pem: &str, kid: Option<&str>, claims: &Value) -> String {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let key = RsaPrivateKey::from_pkcs1_pem(private_pem)
        .or_else(|_| RsaPrivateKey::from_pkcs8_pem(private_pem))
        .expect("test private key");
    let mut header = json!({"alg": "RS256", "typ": "JWT"});
    if let Some(k) = kid {
        header["kid"] = json!(k);
    }
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = SigningKey::<Sha256>::new(key).sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
