use base64::Engine as _;
use bitvault_registry::{CredentialSource, Digest, Error, Reference};
use bitvault_testkit::{Registry, make_image};

use crate::{client, client_with};

fn write_docker_config(dir: &std::path::Path, host: &str, user: &str, pass: &str) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    // What `docker login` (and so docker/login-action) writes without a credsStore.
    let config = serde_json::json!({ "auths": { host: { "auth": auth } } });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

#[tokio::test]
async fn basic_auth_with_explicit_username_and_password() {
    let registry = Registry::start_with_htpasswd("ci", "correct horse");
    let pushed = make_image(&registry, "auth/app", "v1", "amd64");
    let host = registry.host();
    let (_dir, client) = client_with(|s| s.with_basic(&host, "ci", "correct horse"));
    let r = Reference::parse(&format!("{host}/auth/app:v1")).unwrap();
    let digest = client.resolve(&r).await.unwrap();
    assert_eq!(digest.as_str(), pushed);
    client.get_manifest(r.repository(), &digest).await.unwrap();
    // Writes need the same credentials.
    let (blob, _) = client
        .push_blob(r.repository(), b"authorised")
        .await
        .unwrap();
    assert_eq!(blob, Digest::of(b"authorised"));
    assert_eq!(
        client.credential_source(r.repository()).await.unwrap(),
        CredentialSource::Explicit
    );
}

#[tokio::test]
async fn basic_auth_from_a_docker_config_auths_entry() {
    let registry = Registry::start_with_htpasswd("ci", "s3cret");
    let pushed = make_image(&registry, "auth/app", "v1", "amd64");
    let (dir, client) = client();
    write_docker_config(dir.path(), &registry.host(), "ci", "s3cret");
    let r = Reference::parse(&format!("{}/auth/app:v1", registry.host())).unwrap();
    assert_eq!(client.resolve(&r).await.unwrap().as_str(), pushed);
    assert_eq!(
        client.credential_source(r.repository()).await.unwrap(),
        CredentialSource::DockerConfigAuths {
            path: dir.path().join("config.json")
        }
    );
}

#[tokio::test]
async fn a_wrong_password_names_the_registry_and_the_credential_source() {
    let registry = Registry::start_with_htpasswd("ci", "s3cret");
    make_image(&registry, "auth/app", "v1", "amd64");
    let (dir, client) = client();
    write_docker_config(dir.path(), &registry.host(), "ci", "wrong");
    let r = Reference::parse(&format!("{}/auth/app:v1", registry.host())).unwrap();
    let err = client.resolve(&r).await.unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { status: 401, .. }),
        "{err}"
    );
    let config = dir.path().join("config.json");
    assert_eq!(
        err.to_string(),
        format!(
            "{host}: access denied (http 401) using the auths entry in {config}; run docker/login-action for {host} or set username/password",
            host = registry.host(),
            config = config.display()
        )
    );
}

#[tokio::test]
async fn anonymous_access_to_a_private_registry_says_so() {
    let registry = Registry::start_with_htpasswd("ci", "s3cret");
    let (_dir, client) = client();
    let r = Reference::parse(&format!("{}/auth/app:v1", registry.host())).unwrap();
    let err = client.resolve(&r).await.unwrap_err().to_string();
    assert!(err.contains("using no credentials (anonymous)"), "{err}");
    assert!(err.contains(&registry.host()), "{err}");
}

/// A registry that answers with a bearer challenge, and its token service.
fn bearer_registry(manifest: &'static [u8]) -> crate::fake_server::FakeServer {
    use crate::fake_server::{FakeServer, Reply};
    use std::sync::{Arc, OnceLock};
    let host: Arc<OnceLock<String>> = Arc::default();
    let realm_host = host.clone();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ci:token-pass")
    );
    let server = FakeServer::start(move |req| {
        let challenge = format!(
            r#"Bearer realm="http://{}/token",service="fake-registry""#,
            realm_host.get().unwrap()
        );
        if req.path.starts_with("/token?") {
            return if req.header("authorization") == Some(basic.as_str()) {
                Reply::ok(br#"{"token":"tok-123"}"#.to_vec(), &[])
            } else {
                Reply::status(401, &[])
            };
        }
        if req.header("authorization") != Some("Bearer tok-123") {
            return Reply::status(401, &[("WWW-Authenticate", challenge.as_str())]);
        }
        Reply::ok(
            manifest.to_vec(),
            &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        )
    });
    host.set(server.host.clone()).unwrap();
    server
}

const MANIFEST: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

#[tokio::test]
async fn bearer_token_challenge_with_basic_credentials() {
    let server = bearer_registry(MANIFEST);
    let host = server.host.clone();
    let (_dir, client) = client_with(|s| s.with_basic(&host, "ci", "token-pass"));
    let r = Reference::parse(&format!("{host}/bearer/app@{}", Digest::of(MANIFEST))).unwrap();
    let m = client
        .get_manifest(r.repository(), r.digest().unwrap())
        .await
        .unwrap();
    assert_eq!(m.bytes, MANIFEST);
    let requests = server.requests.lock().unwrap().clone();
    let token_request = requests
        .iter()
        .find(|r| r.starts_with("GET /token?"))
        .expect("a token request");
    assert!(
        token_request.contains("scope=repository%3Abearer%2Fapp%3Apull"),
        "{token_request}"
    );
    assert!(
        token_request.contains("service=fake-registry"),
        "{token_request}"
    );
}

#[tokio::test]
async fn bearer_token_refused_names_the_credential_source() {
    let server = bearer_registry(MANIFEST);
    let host = server.host.clone();
    let (_dir, client) = client_with(|s| s.with_basic(&host, "ci", "wrong"));
    let r = Reference::parse(&format!("{host}/bearer/app@{}", Digest::of(MANIFEST))).unwrap();
    let err = client
        .get_manifest(r.repository(), r.digest().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("using the username/password given"),
        "{err}"
    );
}

#[tokio::test]
async fn identity_tokens_are_exchanged_for_access_tokens() {
    use crate::fake_server::{FakeServer, Reply};
    use std::sync::{Arc, OnceLock};
    let host: Arc<OnceLock<String>> = Arc::default();
    let realm_host = host.clone();
    let server = FakeServer::start(move |req| {
        let challenge = format!(
            r#"Bearer realm="http://{}/oauth2/token",service="fake-registry""#,
            realm_host.get().unwrap()
        );
        if req.path == "/oauth2/token" {
            let form = String::from_utf8_lossy(&req.body);
            let ok = req.method == "POST"
                && form.contains("grant_type=refresh_token")
                && form.contains("refresh_token=refresh-abc")
                && form.contains("service=fake-registry")
                && form.contains("scope=repository%3Aid%2Fapp%3Apull");
            return if ok {
                Reply::ok(br#"{"access_token":"acc-1"}"#.to_vec(), &[])
            } else {
                Reply::status(401, &[])
            };
        }
        if req.header("authorization") != Some("Bearer acc-1") {
            return Reply::status(401, &[("WWW-Authenticate", challenge.as_str())]);
        }
        Reply::ok(
            MANIFEST.to_vec(),
            &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        )
    });
    host.set(server.host.clone()).unwrap();
    let (dir, client) = client();
    let config =
        serde_json::json!({ "auths": { &server.host: { "identitytoken": "refresh-abc" } } });
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    let r = Reference::parse(&format!("{}/id/app@{}", server.host, Digest::of(MANIFEST))).unwrap();
    let m = client
        .get_manifest(r.repository(), r.digest().unwrap())
        .await
        .unwrap();
    assert_eq!(m.bytes, MANIFEST);
}
