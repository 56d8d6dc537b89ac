//! GitHub App installation tokens and the octo-sts exchange.

mod common;

use bitvault_github_double::{GitHubDouble, StsPolicy};
use common::*;
use serde_json::json;

fn app_jwt(app_id: u64) -> String {
    let now = now();
    sign_jwt(
        APP_KEY,
        None,
        &json!({"iat": now - 60, "exp": now + 540, "iss": app_id.to_string()}),
    )
}

fn app_double() -> GitHubDouble {
    let gh = double();
    gh.add_repo("acme", "other", &[("x", "x\n")]);
    gh.add_repo("acme", "private", &[("x", "x\n")]);
    gh.set_app(42, APP_PUBLIC_KEY);
    gh.add_installation(7, "acme", &["gitops", "other"]);
    gh
}

#[test]
fn installation_token_is_minted_scoped_and_revoked() {
    let gh = app_double();
    let jwt = app_jwt(42);
    let (s, inst, _) = call_full(
        &gh,
        "GET",
        "/repos/acme/gitops/installation",
        Some(&jwt),
        None,
    );
    assert_eq!(
        (s, inst["id"].as_u64(), inst["app_id"].as_u64()),
        (200, Some(7), Some(42))
    );

    let (s, tok, _) = call_full(
        &gh,
        "POST",
        "/app/installations/7/access_tokens",
        Some(&jwt),
        Some(json!({"repositories": ["gitops"], "permissions": {"contents": "write"}})),
    );
    assert_eq!(s, 201, "{tok}");
    let token = tok["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ghs_"));
    assert_eq!(tok["repositories"][0]["full_name"], "acme/gitops");

    let (s, _, _) = call_full(&gh, "GET", "/repos/acme/gitops", Some(&token), None);
    assert_eq!(s, 200);
    let (s, _, _) = call_full(&gh, "GET", "/repos/acme/other", Some(&token), None);
    assert_eq!(s, 404, "outside the token's repositories");

    let (s, _, _) = call_full(&gh, "DELETE", "/installation/token", Some(&token), None);
    assert_eq!(s, 204);
    let (s, _, _) = call_full(&gh, "GET", "/repos/acme/gitops", Some(&token), None);
    assert_eq!(s, 401, "revoked");

    // A repository the installation does not cover cannot be requested.
    let (s, _, _) = call_full(
        &gh,
        "POST",
        "/app/installations/7/access_tokens",
        Some(&jwt),
        Some(json!({"repositories": ["private"]})),
    );
    assert_eq!(s, 422);
    assert_eq!(gh.request_count("apps/create-installation-access-token"), 2);
    gh.assert_no_violations();
}

#[test]
fn app_jwt_must_verify() {
    let gh = app_double();
    let now = now();
    let bad = [
        app_jwt(43),
        sign_jwt(
            OIDC_KEY,
            None,
            &json!({"iat": now, "exp": now + 60, "iss": "42"}),
        ),
        sign_jwt(
            APP_KEY,
            None,
            &json!({"iat": now - 700, "exp": now - 100, "iss": "42"}),
        ),
        "not-a-jwt".to_string(),
    ];
    for jwt in bad {
        let (s, body, _) = call_full(
            &gh,
            "POST",
            "/app/installations/7/access_tokens",
            Some(&jwt),
            None,
        );
        assert_eq!(s, 401, "{body}");
    }
    gh.assert_no_violations();
}

#[test]
fn sts_exchange_mints_a_scoped_token_for_a_trusted_oidc_token() {
    let gh = double();
    gh.add_repo("acme", "other", &[("x", "x\n")]);
    gh.set_oidc_public_key(OIDC_PUBLIC_KEY);
    gh.add_sts_policy(StsPolicy {
        scope: "acme/gitops".into(),
        identity: "bump".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
        subject: "repo:acme/app:ref:refs/heads/main".into(),
    });
    let now = now();
    let oidc = |sub: &str| {
        sign_jwt(
            OIDC_KEY,
            Some("k1"),
            &json!({
                "iss": "https://token.actions.githubusercontent.com",
                "sub": sub, "aud": "octo-sts", "iat": now, "exp": now + 300,
            }),
        )
    };
    let good = oidc("repo:acme/app:ref:refs/heads/main");
    let (s, body, _) = call_full(
        &gh,
        "GET",
        "/sts/exchange?scope=acme/gitops&identity=bump",
        Some(&good),
        None,
    );
    assert_eq!(s, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    assert_eq!(
        call_full(&gh, "GET", "/repos/acme/gitops", Some(&token), None).0,
        200
    );
    assert_eq!(
        call_full(&gh, "GET", "/repos/acme/other", Some(&token), None).0,
        404
    );

    let other = oidc("repo:evil/app:ref:refs/heads/main");
    let (s, _, _) = call_full(
        &gh,
        "GET",
        "/sts/exchange?scope=acme/gitops&identity=bump",
        Some(&other),
        None,
    );
    assert_eq!(s, 403);
    let (s, _, _) = call_full(
        &gh,
        "GET",
        "/sts/exchange?scope=acme/gitops&identity=bump",
        Some("x.y.z"),
        None,
    );
    assert_eq!(s, 401);
    assert_eq!(gh.request_count("sts/exchange"), 3);
    gh.assert_no_violations();
}

#[test]
fn sts_exchange_accepts_keys_from_a_jwks() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let public = rsa::RsaPublicKey::from_public_key_pem(OIDC_PUBLIC_KEY).unwrap();
    let gh = double();
    gh.set_oidc_jwks(&json!({"keys": [{
        "kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    }]}));
    gh.add_sts_policy(StsPolicy {
        scope: "acme/gitops".into(),
        identity: "bump".into(),
        issuer: "https://issuer.example".into(),
        subject: "ci".into(),
    });
    let now = now();
    let claims = json!({"iss": "https://issuer.example", "sub": "ci", "iat": now, "exp": now + 60});
    let (s, _, _) = call_full(
        &gh,
        "GET",
        "/sts/exchange?scope=acme/gitops&identity=bump",
        Some(&sign_jwt(OIDC_KEY, Some("k1"), &claims)),
        None,
    );
    assert_eq!(s, 200);
    let (s, _, _) = call_full(
        &gh,
        "GET",
        "/sts/exchange?scope=acme/gitops&identity=bump",
        Some(&sign_jwt(OIDC_KEY, Some("other-kid"), &claims)),
        None,
    );
    assert_eq!(s, 401, "the kid must match a JWKS key");
}
