use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bitvault_registry::{
    Client, ClientOptions, CredentialStore, Digest, Error, Reference, RetryPolicy,
};

use crate::fake_server::{FakeServer, Reply};

const MANIFEST: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

fn fast_client(dir: &std::path::Path, max_attempts: u32) -> Client {
    Client::new(ClientOptions {
        credentials: CredentialStore::new().with_docker_config_dir(dir),
        retry: RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(5),
            ..RetryPolicy::default()
        },
        ..ClientOptions::default()
    })
    .unwrap()
}

#[tokio::test]
async fn retries_503_429_and_dropped_connections_honouring_retry_after() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let digest = Digest::of(MANIFEST);
    let server = FakeServer::start(move |req| {
        let path = req.path.as_str();
        if path == "/v2/" {
            return Reply::ok(Vec::new(), &[]);
        }
        match seen.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::status(503, &[("Retry-After", "1")]),
            1 => Reply::status(429, &[("Retry-After", "1")]),
            2 => Reply::Drop,
            _ => Reply::ok(
                MANIFEST.to_vec(),
                &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
            ),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let client = fast_client(dir.path(), 6);
    let r = Reference::parse(&format!("{}/flaky/app@{digest}", server.host)).unwrap();
    let started = Instant::now();
    let m = client.get_manifest(r.repository(), &digest).await.unwrap();
    assert_eq!(m.bytes, MANIFEST);
    // Two Retry-After: 1 waits; our own backoff alone would be tens of milliseconds.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(server.api_requests().len(), 4);
}

#[tokio::test]
async fn gives_up_after_the_last_attempt_with_the_status() {
    let server = FakeServer::start(|req| {
        let path = req.path.as_str();
        if path == "/v2/" {
            Reply::ok(Vec::new(), &[])
        } else {
            Reply::status(503, &[])
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let client = fast_client(dir.path(), 3);
    let r = Reference::parse(&format!("{}/down/app:v1", server.host)).unwrap();
    let err = client.resolve(&r).await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 503, .. }), "{err}");
    // HEAD, retried to the limit, then GET, likewise.
    assert_eq!(
        server.api_requests().len(),
        6,
        "{:?}",
        server.api_requests()
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = FakeServer::start(|req| {
        let path = req.path.as_str();
        if path == "/v2/" {
            Reply::ok(Vec::new(), &[])
        } else {
            Reply::status(400, &[])
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let client = fast_client(dir.path(), 5);
    let r = Reference::parse(&format!("{}/bad/app@{}", server.host, Digest::of(b"x"))).unwrap();
    let err = client
        .get_manifest(r.repository(), r.digest().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Status { status: 400, .. }), "{err}");
    assert_eq!(server.api_requests().len(), 1);
}
