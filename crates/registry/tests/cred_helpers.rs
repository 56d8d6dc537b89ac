//! Credential helpers (`credHelpers`, `credsStore`) run as `docker-credential-<name> get`.
//!
//! Its own test binary: the helper is found on PATH, and changing PATH is only safe in a
//! process where nothing else runs concurrently.

use std::os::unix::fs::PermissionsExt;

use bitvault_registry::{
    Client, ClientOptions, CredentialSource, CredentialStore, Error, Reference,
};
use bitvault_testkit::{Registry, make_image};

/// A helper that answers for one server with fixed credentials and logs what it was asked.
fn install_helper(bin: &std::path::Path, name: &str, server: &str, user: &str, pass: &str) {
    let log = bin.join(format!("{name}.log"));
    let script = format!(
        r#"#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
echo "$server" >> "{log}"
if [ "$server" = "{server}" ]; then
  printf '{{"ServerURL":"%s","Username":"{user}","Secret":"{pass}"}}' "$server"
else
  echo "credentials not found in native keychain"
  exit 1
fi
"#,
        log = log.display()
    );
    let path = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn client(config_dir: &std::path::Path) -> Client {
    Client::new(ClientOptions {
        credentials: CredentialStore::new().with_docker_config_dir(config_dir),
        ..ClientOptions::default()
    })
    .unwrap()
}

#[tokio::test]
async fn cred_helpers_and_creds_store_are_asked_for_the_registry() {
    let registry = Registry::start_with_htpasswd("helper-user", "helper-pass");
    let pushed = make_image(&registry, "helped/app", "v1", "amd64");
    let host = registry.host();
    let bin = tempfile::tempdir().unwrap();
    install_helper(bin.path(), "test", &host, "helper-user", "helper-pass");
    install_helper(bin.path(), "store", &host, "helper-user", "helper-pass");
    install_helper(bin.path(), "wrong", &host, "helper-user", "nope");
    let path = std::env::join_paths(
        std::iter::once(bin.path().to_owned())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    // SAFETY: this is the only test in this binary, and no other thread reads the
    // environment while it is set.
    unsafe { std::env::set_var("PATH", path) };

    let r = Reference::parse(&format!("{host}/helped/app:v1")).unwrap();

    // credHelpers entry for this registry.
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        serde_json::json!({ "credHelpers": { &host: "test" } }).to_string(),
    )
    .unwrap();
    let c = client(config.path());
    assert_eq!(c.resolve(&r).await.unwrap().as_str(), pushed);
    assert_eq!(
        c.credential_source(r.repository()).await.unwrap(),
        CredentialSource::CredHelper {
            helper: "test".into()
        }
    );
    let asked = std::fs::read_to_string(bin.path().join("test.log")).unwrap();
    assert_eq!(asked.trim(), host);

    // credsStore for everything without a credHelpers entry.
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        serde_json::json!({ "credsStore": "store", "auths": { &host: {} } }).to_string(),
    )
    .unwrap();
    let c = client(config.path());
    assert_eq!(c.resolve(&r).await.unwrap().as_str(), pushed);
    assert_eq!(
        c.credential_source(r.repository()).await.unwrap(),
        CredentialSource::CredsStore {
            helper: "store".into()
        }
    );

    // A helper with a wrong secret: the error names the helper.
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        serde_json::json!({ "credHelpers": { &host: "wrong" } }).to_string(),
    )
    .unwrap();
    let err = client(config.path()).resolve(&r).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("using credHelpers helper docker-credential-wrong"),
        "{err}"
    );

    // A helper that is not installed is an error saying so, not anonymous access.
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        serde_json::json!({ "credHelpers": { &host: "missing" } }).to_string(),
    )
    .unwrap();
    let err = client(config.path())
        .resolve(&r)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("docker-credential-missing"), "{err}");
}
