use std::collections::BTreeMap;

use bitvault_registry::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};
use bitvault_registry::{
    Artifact, ArtifactBlob, Client, Digest, EMPTY_CONFIG_DIGEST, EMPTY_MEDIA_TYPE, ManifestKind,
    ReferrersMechanism, Repository,
};
use bitvault_testkit::{Registry, make_image, sha256_digest, skopeo_inspect_raw};

use crate::client;

const SIG: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SBOM: &str = "application/spdx+json";

fn artifact(artifact_type: &str, content: &str) -> Artifact {
    Artifact {
        artifact_type: artifact_type.into(),
        blobs: vec![ArtifactBlob {
            media_type: artifact_type.into(),
            data: content.as_bytes().to_vec(),
            annotations: BTreeMap::from([(
                "org.opencontainers.image.title".to_owned(),
                "content.json".to_owned(),
            )]),
        }],
        annotations: BTreeMap::from([("dev.bitvault.test".to_owned(), content.to_owned())]),
    }
}

/// A small real image manifest pushed by digest, distinct per `n`.
async fn subject(client: &Client, repo: &Repository, n: usize) -> Digest {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","n":{n}}}"#);
    let (config_digest, _) = client.push_blob(repo, config.as_bytes()).await.unwrap();
    let (layer, _) = client.push_blob(repo, b"layer").await.unwrap();
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MEDIA_TYPE.into()),
        config: OciDescriptor {
            media_type: "application/vnd.oci.image.config.v1+json".into(),
            digest: config_digest.to_string(),
            size: config.len() as i64,
            ..Default::default()
        },
        layers: vec![OciDescriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar".into(),
            digest: layer.to_string(),
            size: 5,
            ..Default::default()
        }],
        subject: None,
        artifact_type: None,
        annotations: None,
    };
    client
        .push_image_manifest(repo, &manifest)
        .await
        .unwrap()
        .digest
}

#[tokio::test]
async fn attaches_two_artifacts_and_lists_them_via_the_tag_schema() {
    let registry = Registry::start();
    let image = make_image(&registry, "ref/app", "v1", "amd64");
    let (_dir, client) = client();
    let repo = Repository::parse(&format!("{}/ref/app", registry.host())).unwrap();
    let image = Digest::parse(&image).unwrap();

    let sig = client
        .attach(&repo, &image, &artifact(SIG, "signature"))
        .await
        .unwrap();
    let sbom = client
        .attach(&repo, &image, &artifact(SBOM, "sbom"))
        .await
        .unwrap();
    // docker-registry 2.8 has no referrers API.
    assert_eq!(sig.mechanism, ReferrersMechanism::TagSchema);
    assert_ne!(sig.digest, sbom.digest);

    let all = client.referrers(&repo, &image, None).await.unwrap();
    assert_eq!(all.mechanism, ReferrersMechanism::TagSchema);
    let digests: Vec<_> = all.manifests.iter().map(|m| m.digest.as_str()).collect();
    assert_eq!(digests, vec![sig.digest.as_str(), sbom.digest.as_str()]);
    assert_eq!(all.manifests[0].artifact_type.as_deref(), Some(SIG));
    assert_eq!(
        all.manifests[0].annotations.as_ref().unwrap()["dev.bitvault.test"],
        "signature"
    );

    let sboms = client.referrers(&repo, &image, Some(SBOM)).await.unwrap();
    assert_eq!(sboms.manifests.len(), 1);
    assert_eq!(sboms.manifests[0].digest, sbom.digest.as_str());

    // The fallback index is a plain OCI index at tag sha256-<hex>, visible to other tools.
    let raw = skopeo_inspect_raw(&format!("{repo}:{}", image.referrers_tag()));
    let index: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);

    // The artifact manifest follows the image spec 1.1 guidance.
    let m = client.get_manifest(&repo, &sig.digest).await.unwrap();
    assert_eq!(
        sha256_digest(&skopeo_inspect_raw(&format!("{repo}@{}", sig.digest))),
        sig.digest.as_str()
    );
    let ManifestKind::Image(m) = m.kind else {
        panic!("not a manifest")
    };
    assert_eq!(m.artifact_type.as_deref(), Some(SIG));
    assert_eq!(m.config.media_type, EMPTY_MEDIA_TYPE);
    assert_eq!(m.config.digest, EMPTY_CONFIG_DIGEST);
    assert_eq!(m.config.size, 2);
    assert_eq!(m.subject.as_ref().unwrap().digest, image.as_str());
    assert_eq!(m.layers[0].media_type, SIG);
    let layer = client
        .get_blob(&repo, &Digest::parse(&m.layers[0].digest).unwrap())
        .await
        .unwrap();
    assert_eq!(layer, b"signature");
}

#[tokio::test]
async fn re_attaching_the_same_artifact_adds_no_entry() {
    let registry = Registry::start();
    let (_dir, client) = client();
    let repo = Repository::parse(&format!("{}/ref/idem", registry.host())).unwrap();
    let image = subject(&client, &repo, 0).await;
    let first = client
        .attach(&repo, &image, &artifact(SIG, "same"))
        .await
        .unwrap();
    let second = client
        .attach(&repo, &image, &artifact(SIG, "same"))
        .await
        .unwrap();
    assert_eq!(first.digest, second.digest);
    let listed = client.referrers(&repo, &image, None).await.unwrap();
    assert_eq!(listed.manifests.len(), 1);
}

#[tokio::test]
async fn a_subject_without_referrers_lists_none() {
    let registry = Registry::start();
    let (_dir, client) = client();
    let repo = Repository::parse(&format!("{}/ref/none", registry.host())).unwrap();
    let image = subject(&client, &repo, 0).await;
    let listed = client.referrers(&repo, &image, None).await.unwrap();
    assert!(listed.manifests.is_empty());
    assert_eq!(listed.mechanism, ReferrersMechanism::TagSchema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_attaches_to_one_subject_are_all_listed() {
    let registry = Registry::start();
    let repo = Repository::parse(&format!("{}/ref/race", registry.host())).unwrap();
    for round in 0..20 {
        // Separate clients, as two jobs would be.
        let (_a_dir, a) = client();
        let (_b_dir, b) = client();
        let image = subject(&a, &repo, round).await;
        let (ra, rb) = {
            let (repo_a, repo_b) = (repo.clone(), repo.clone());
            let (img_a, img_b) = (image.clone(), image.clone());
            let ta = tokio::spawn(async move {
                a.attach(&repo_a, &img_a, &artifact(SIG, &format!("sig {round}")))
                    .await
            });
            let tb = tokio::spawn(async move {
                b.attach(&repo_b, &img_b, &artifact(SBOM, &format!("sbom {round}")))
                    .await
            });
            (ta.await.unwrap().unwrap(), tb.await.unwrap().unwrap())
        };
        let (_dir, reader) = client();
        let listed = reader.referrers(&repo, &image, None).await.unwrap();
        let digests: Vec<_> = listed.manifests.iter().map(|m| m.digest.clone()).collect();
        assert!(
            digests.contains(&ra.digest.to_string()) && digests.contains(&rb.digest.to_string()),
            "round {round}: both artifacts should be listed, got {digests:?}"
        );
        assert_eq!(digests.len(), 2, "round {round}: {digests:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_attaches_are_all_listed() {
    let registry = Registry::start();
    let repo = Repository::parse(&format!("{}/ref/crowd", registry.host())).unwrap();
    let (_dir, first) = client();
    let image = subject(&first, &repo, 0).await;
    let mut tasks = Vec::new();
    for i in 0..5 {
        let (repo, image) = (repo.clone(), image.clone());
        tasks.push(tokio::spawn(async move {
            let (_dir, c) = client();
            c.attach(&repo, &image, &artifact(SIG, &format!("writer {i}")))
                .await
                .unwrap()
                .digest
        }));
    }
    let mut expected = Vec::new();
    for t in tasks {
        expected.push(t.await.unwrap().to_string());
    }
    let listed = first.referrers(&repo, &image, Some(SIG)).await.unwrap();
    let mut got: Vec<_> = listed.manifests.iter().map(|m| m.digest.clone()).collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn registries_with_the_referrers_api_need_no_tag_index() {
    use crate::fake_server::{FakeServer, Reply};
    const SUBJECT: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    let subject_digest = Digest::of(SUBJECT);
    let listed = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": OCI_IMAGE_MEDIA_TYPE, "digest": Digest::of(b"a").to_string(), "size": 10, "artifactType": SIG},
            {"mediaType": OCI_IMAGE_MEDIA_TYPE, "digest": Digest::of(b"b").to_string(), "size": 10, "artifactType": SBOM},
        ]
    })
    .to_string()
    .into_bytes();
    let subject_path = format!("/v2/api/app/manifests/{subject_digest}");
    let referrers_path = format!("/v2/api/app/referrers/{subject_digest}");
    let header = subject_digest.to_string();
    let server = FakeServer::start(move |req| {
        let path = req.path.as_str();
        match req.method.as_str() {
            "GET" if path == "/v2/" => Reply::ok(Vec::new(), &[]),
            "GET" if path == subject_path => {
                Reply::ok(SUBJECT.to_vec(), &[("Content-Type", OCI_IMAGE_MEDIA_TYPE)])
            }
            "HEAD" if path.starts_with("/v2/api/app/blobs/") => Reply::ok(Vec::new(), &[]),
            "PUT" if path.starts_with("/v2/api/app/manifests/sha256:") => {
                Reply::status(201, &[("OCI-Subject", header.as_str())])
            }
            // Registries without filtering return everything; we filter either way.
            "GET" if path.starts_with(&referrers_path) => Reply::ok(
                listed.clone(),
                &[("Content-Type", "application/vnd.oci.image.index.v1+json")],
            ),
            _ => Reply::status(404, &[]),
        }
    });
    let (_dir, client) = client();
    let repo = Repository::parse(&format!("{}/api/app", server.host)).unwrap();
    let attached = client
        .attach(&repo, &subject_digest, &artifact(SIG, "sig"))
        .await
        .unwrap();
    assert_eq!(attached.mechanism, ReferrersMechanism::Api);
    let found = client
        .referrers(&repo, &subject_digest, Some(SIG))
        .await
        .unwrap();
    assert_eq!(found.mechanism, ReferrersMechanism::Api);
    assert_eq!(found.manifests.len(), 1);
    assert_eq!(found.manifests[0].digest, Digest::of(b"a").as_str());
    let requests = server.api_requests();
    assert!(
        !requests.iter().any(|r| r.contains("sha256-")),
        "no referrers tag should be touched: {requests:?}"
    );
    assert!(
        requests.iter().any(|r| r.ends_with(
            "?artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson"
        )),
        "{requests:?}"
    );
}
