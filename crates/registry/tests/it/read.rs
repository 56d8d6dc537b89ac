use bitvault_registry::manifest::OCI_IMAGE_MEDIA_TYPE;
use bitvault_registry::{Digest, Error, ManifestKind, Reference, Repository};
use bitvault_testkit::{Registry, make_image, sha256_digest, skopeo_inspect_raw};

use crate::client;
use crate::fake_server::{FakeServer, Reply};

#[tokio::test]
async fn resolves_a_tag_to_the_pushed_digest() {
    let registry = Registry::start();
    let pushed = make_image(&registry, "read/app", "v1", "amd64");
    let (_dir, client) = client();
    let r = Reference::parse(&format!("{}/read/app:v1", registry.host())).unwrap();
    assert_eq!(client.resolve(&r).await.unwrap().as_str(), pushed);
}

#[tokio::test]
async fn resolve_needs_a_tag_or_digest_and_reports_missing_tags() {
    let registry = Registry::start();
    make_image(&registry, "read/app", "v1", "amd64");
    let (_dir, client) = client();
    let bare = Reference::parse(&format!("{}/read/app", registry.host())).unwrap();
    let err = client.resolve(&bare).await.unwrap_err();
    assert!(matches!(err, Error::NoTagOrDigest(_)), "{err}");
    assert!(err.to_string().contains("has no tag or digest"), "{err}");
    let missing = Reference::parse(&format!("{}/read/app:nope", registry.host())).unwrap();
    assert!(matches!(
        client.resolve(&missing).await.unwrap_err(),
        Error::NotFound(_)
    ));
}

#[tokio::test]
async fn resolve_of_a_digest_reference_does_not_touch_the_network() {
    // Nothing listens on port 9 of loopback: any request would fail.
    let d = format!("sha256:{}", "ab".repeat(32));
    let r = Reference::parse(&format!("127.0.0.1:9/x:t@{d}")).unwrap();
    let (_dir, client) = client();
    assert_eq!(client.resolve(&r).await.unwrap().as_str(), d);
}

#[tokio::test]
async fn reads_a_manifest_by_digest_with_its_exact_bytes() {
    let registry = Registry::start();
    let pushed = make_image(&registry, "read/app", "arm", "arm64");
    let (_dir, client) = client();
    let repo = Repository::parse(&format!("{}/read/app", registry.host())).unwrap();
    let digest = Digest::parse(&pushed).unwrap();
    let m = client.get_manifest(&repo, &digest).await.unwrap();
    assert_eq!(m.digest, digest);
    assert_eq!(m.media_type, OCI_IMAGE_MEDIA_TYPE);
    let raw = skopeo_inspect_raw(&format!("{}/read/app@{pushed}", registry.host()));
    assert_eq!(m.bytes, raw);
    let ManifestKind::Image(image) = &m.kind else {
        panic!("expected an image manifest")
    };
    // The config blob is read digest-checked too, and carries the arch umoci set.
    let config_digest = Digest::parse(&image.config.digest).unwrap();
    let config = client.get_blob(&repo, &config_digest).await.unwrap();
    let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(config["architecture"], "arm64");
    assert_eq!(config["os"], "linux");
}

#[tokio::test]
async fn a_manifest_or_blob_that_does_not_match_its_digest_is_refused() {
    let served = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#.to_vec();
    let asked = Digest::of(b"what the client expects");
    let server = FakeServer::start(move |req| {
        let path = req.path.as_str();
        if path == "/v2/" {
            Reply::ok(Vec::new(), &[])
        } else {
            Reply::ok(
                served.clone(),
                &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
            )
        }
    });
    let (_dir, client) = client();
    let repo = Repository::parse(&format!("{}/evil/app", server.host)).unwrap();
    let err = client.get_manifest(&repo, &asked).await.unwrap_err();
    let Error::DigestMismatch { mismatch, .. } = &err else {
        panic!("expected a digest mismatch, got {err}")
    };
    assert_eq!(mismatch.expected, asked);
    assert!(err.to_string().contains("refusing"), "{err}");
    let err = client.get_blob(&repo, &asked).await.unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
}

#[tokio::test]
async fn reads_an_index_pushed_by_skopeo_independent_tools() {
    // An index built from two real images, pushed by us, read back and checked.
    let registry = Registry::start();
    let amd = make_image(&registry, "read/multi", "amd64", "amd64");
    let arm = make_image(&registry, "read/multi", "arm64", "arm64");
    let (_dir, client) = client();
    let repo = Repository::parse(&format!("{}/read/multi", registry.host())).unwrap();
    let index = crate::push::index_of(&client, &repo, &[&amd, &arm]).await;
    let pushed = client.push_index(&repo, &index).await.unwrap();
    let m = client.get_manifest(&repo, &pushed).await.unwrap();
    let ManifestKind::Index(read) = m.kind else {
        panic!("expected an index")
    };
    let digests: Vec<_> = read.manifests.iter().map(|e| e.digest.clone()).collect();
    assert_eq!(digests, vec![amd, arm]);
    assert_eq!(sha256_digest(&m.bytes), pushed.as_str());
}
