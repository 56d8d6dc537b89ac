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

fn client() -> reqwest::Client {
    bitvault_http::client("github-double-tests", &bitvault_http::Timeouts::default())
        .expect("http client")
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
    call_raw(gh, method, path, token.map(|t| format!("Bearer {t}")), body)
}

/// [`call_full`] with the whole `Authorization` header value given.
pub fn call_raw(
    gh: &GitHubDouble,
    method: &str,
    path: &str,
    authorization: Option<String>,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let url = format!("{}{path}", gh.url());
    let http = client();
    let method_ = reqwest::Method::from_bytes(method.as_bytes())
        .unwrap_or_else(|_| panic!("unsupported method {method}"));
    let mut rb = http
        .request(method_, &url)
        .header("Accept", "application/vnd.github+json");
    if let Some(a) = &authorization {
        rb = rb.header("Authorization", a);
    }
    match (method, body) {
        ("POST" | "PATCH" | "PUT", Some(b)) => {
            rb = rb
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        ("GET" | "DELETE" | "POST", None) => {}
        (m, _) => panic!("unsupported method {m}"),
    }
    let (status, link, text) = bitvault_http::block_on(async {
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let link = resp
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.unwrap_or_default();
        (status, link, text)
    });
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
