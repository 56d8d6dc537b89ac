//! Integration tests against a real docker-registry 2.8 (see bitvault-testkit), and
//! against tiny local HTTP servers where a real registry cannot misbehave on demand.

mod auth;
mod fake_server;
mod push;
mod read;
mod referrers;
mod retry;

use bitvault_registry::{Client, ClientOptions, CredentialStore, RetryPolicy};

/// A client that reads docker config from an empty directory, not the machine's.
pub fn client() -> (tempfile::TempDir, Client) {
    client_with(|store| store)
}

pub fn client_with(
    f: impl FnOnce(CredentialStore) -> CredentialStore,
) -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().unwrap();
    let store = f(CredentialStore::new().with_docker_config_dir(dir.path()));
    let client = Client::new(ClientOptions {
        credentials: store,
        retry: RetryPolicy::default(),
        ..ClientOptions::default()
    })
    .unwrap();
    (dir, client)
}
