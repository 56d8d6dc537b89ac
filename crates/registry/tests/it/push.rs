use bitvault_registry::manifest::{
    ImageIndexEntry, OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor,
    OciImageIndex, OciImageManifest, Platform,
};
use bitvault_registry::{BlobTransfer, Client, Digest, ManifestKind, Reference, Repository};
use bitvault_testkit::{Registry, make_image, sha256_digest, skopeo_inspect_raw};

use crate::client;

/// An OCI index of manifests already in `repo`, with platforms from their configs.
pub async fn index_of(client: &Client, repo: &Repository, digests: &[&str]) -> OciImageIndex {
    let mut manifests = Vec::new();
    for d in digests {
        let m = client
            .get_manifest(repo, &Digest::parse(d).unwrap())
            .await
            .unwrap();
        let ManifestKind::Image(image) = &m.kind else {
            panic!("not an image")
        };
        let config = client
            .get_blob(repo, &Digest::parse(&image.config.digest).unwrap())
            .await
            .unwrap();
        let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
        let platform: Platform = serde_json::from_value(serde_json::json!({
            "architecture": config["architecture"],
            "os": config["os"],
        }))
        .unwrap();
        manifests.push(ImageIndexEntry {
            media_type: m.media_type.clone(),
            digest: d.to_string(),
            size: m.bytes.len() as i64,
            platform: Some(platform),
            annotations: None,
            artifact_type: None,
        });
    }
    OciImageIndex {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_INDEX_MEDIA_TYPE.into()),
        manifests,
        artifact_type: None,
        annotations: None,
    }
}

#[tokio::test]
async fn pushes_blobs_and_a_manifest_that_skopeo_reads_back() {
    let registry = Registry::start();
    let (_dir, client) = client();
    let repo = Repository::parse(&format!("{}/push/raw", registry.host())).unwrap();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer = b"not really a tarball, but a blob all the same".to_vec();
    let (config_digest, how) = client.push_blob(&repo, config).await.unwrap();
    assert_eq!(how, BlobTransfer::Uploaded);
    let (layer_digest, _) = client.push_blob(&repo, &layer).await.unwrap();
    assert_eq!(
        client.push_blob(&repo, &layer).await.unwrap(),
        (layer_digest.clone(), BlobTransfer::Existed)
    );
    assert_eq!(client.get_blob(&repo, &layer_digest).await.unwrap(), layer);

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
            digest: layer_digest.to_string(),
            size: layer.len() as i64,
            ..Default::default()
        }],
        subject: None,
        artifact_type: None,
        annotations: None,
    };
    let pushed = client.push_image_manifest(&repo, &manifest).await.unwrap();
    assert!(!pushed.subject_indexed);
    let raw = skopeo_inspect_raw(&format!("{repo}@{}", pushed.digest));
    assert_eq!(sha256_digest(&raw), pushed.digest.as_str());
    let read: OciImageManifest = serde_json::from_slice(&raw).unwrap();
    assert_eq!(read.layers[0].digest, layer_digest.as_str());
    // Pushed by digest only: no tag was written, in particular no "latest".
    let tags = std::process::Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false", "--no-creds"])
        .arg(format!("docker://{repo}"))
        .output()
        .unwrap();
    let tags: serde_json::Value = serde_json::from_slice(&tags.stdout).unwrap_or_default();
    assert!(
        tags["Tags"].as_array().is_none_or(|t| t.is_empty()),
        "unexpected tags: {tags}"
    );
}

#[tokio::test]
async fn pushes_an_index_and_tags_it() {
    let registry = Registry::start();
    let amd = make_image(&registry, "push/multi", "amd64", "amd64");
    let arm = make_image(&registry, "push/multi", "arm64", "arm64");
    let (_dir, client) = client();
    let repo = Repository::parse(&format!("{}/push/multi", registry.host())).unwrap();
    let index = index_of(&client, &repo, &[&amd, &arm]).await;
    let digest = client.push_index(&repo, &index).await.unwrap();
    client.tag(&repo, &digest, "v1").await.unwrap();

    let raw = skopeo_inspect_raw(&format!("{repo}:v1"));
    assert_eq!(sha256_digest(&raw), digest.as_str());
    let read: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(read["mediaType"], OCI_IMAGE_INDEX_MEDIA_TYPE);
    assert_eq!(read["manifests"][0]["digest"], amd.as_str());
    assert_eq!(read["manifests"][0]["platform"]["architecture"], "amd64");
    assert_eq!(read["manifests"][1]["platform"]["architecture"], "arm64");
    let tagged = Reference::parse(&format!("{repo}:v1")).unwrap();
    assert_eq!(client.resolve(&tagged).await.unwrap(), digest);
}

#[tokio::test]
async fn mounts_blobs_across_repositories_and_copies_across_registries() {
    let registry = Registry::start();
    let other = Registry::start();
    let image = make_image(&registry, "mount/src", "v1", "amd64");
    let (_dir, client) = client();
    let src = Repository::parse(&format!("{}/mount/src", registry.host())).unwrap();
    let dst = Repository::parse(&format!("{}/mount/dst", registry.host())).unwrap();
    let far = Repository::parse(&format!("{}/mount/far", other.host())).unwrap();
    let image = Digest::parse(&image).unwrap();
    let m = client.get_manifest(&src, &image).await.unwrap();
    let ManifestKind::Image(parsed) = &m.kind else {
        panic!("not an image")
    };
    let mut blobs = vec![Digest::parse(&parsed.config.digest).unwrap()];
    blobs.extend(
        parsed
            .layers
            .iter()
            .map(|l| Digest::parse(&l.digest).unwrap()),
    );
    for blob in &blobs {
        assert!(!client.blob_exists(&dst, blob).await.unwrap());
        assert_eq!(
            client.mount_blob(&src, &dst, blob).await.unwrap(),
            BlobTransfer::Mounted
        );
        assert_eq!(
            client.mount_blob(&src, &dst, blob).await.unwrap(),
            BlobTransfer::Existed
        );
        assert_eq!(
            client.mount_blob(&src, &far, blob).await.unwrap(),
            BlobTransfer::Uploaded
        );
    }
    // With every blob in place, the manifest goes in unchanged, by digest.
    for repo in [&dst, &far] {
        let pushed = client
            .push_manifest(repo, &m.media_type, &m.bytes)
            .await
            .unwrap();
        assert_eq!(pushed.digest, image);
        let raw = skopeo_inspect_raw(&format!("{repo}@{image}"));
        assert_eq!(raw, m.bytes);
    }
}
