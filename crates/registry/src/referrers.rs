//! Artifacts attached to a subject (OCI 1.1 `subject`), and listing a subject's referrers.
//!
//! Registries with the referrers API index a pushed manifest's subject themselves and say
//! so with an `OCI-Subject` header. Those without it (docker-registry 2.8, some clouds)
//! need the referrers tag schema: an OCI index at tag `sha256-<hex>` that clients update.
//! Which one applies is probed per registry, never configured.
//!
//! The tag index is read-modify-write without compare-and-swap, so concurrent writers can
//! drop each other's entries. [`Client::attach`] therefore writes, reads back, and keeps
//! re-reading after a settle delay until its entry has survived twice, re-merging
//! whenever it went missing. Every writer guards its own entry this way, so concurrent
//! attaches all end up listed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use oci_client::RegistryOperation::Pull;
use oci_client::manifest::{
    ImageIndexEntry, OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor,
    OciImageIndex, OciImageManifest,
};
use reqwest::header::ACCEPT;
use reqwest::{Method, StatusCode};

use crate::client::{Client, Manifest};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::http::Request;
use crate::limits::BodyLimit;
use crate::link::Pages;
use crate::reference::Repository;

/// Media type of the OCI empty descriptor (`{}`), the config of artifact manifests.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// Digest of `{}`.
pub const EMPTY_CONFIG_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

const MAX_INDEX_ATTEMPTS: u32 = 25;

/// An artifact to attach to a subject.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// `artifactType` of the manifest, e.g. `application/vnd.dev.sigstore.bundle.v0.3+json`.
    pub artifact_type: String,
    /// The content, one layer per blob.
    pub blobs: Vec<ArtifactBlob>,
    /// Manifest annotations. Leave out timestamps if re-attaching should be idempotent.
    pub annotations: BTreeMap<String, String>,
}

/// One blob of an artifact.
#[derive(Debug, Clone)]
pub struct ArtifactBlob {
    /// Layer media type.
    pub media_type: String,
    /// The bytes.
    pub data: Vec<u8>,
    /// Layer annotations (e.g. `org.opencontainers.image.title`).
    pub annotations: BTreeMap<String, String>,
}

/// How a registry tracks referrers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferrersMechanism {
    /// `GET /v2/<name>/referrers/<digest>`.
    Api,
    /// An index at tag `sha256-<hex>` maintained by clients.
    TagSchema,
}

/// The result of [`Client::attach`].
#[derive(Debug, Clone)]
pub struct Attached {
    /// Digest of the artifact manifest.
    pub digest: Digest,
    /// The descriptor listed among the subject's referrers.
    pub descriptor: ImageIndexEntry,
    /// How the registry records it.
    pub mechanism: ReferrersMechanism,
}

/// A subject's referrers.
#[derive(Debug, Clone)]
pub struct Referrers {
    /// The descriptors, filtered by artifact type if one was asked for.
    pub manifests: Vec<ImageIndexEntry>,
    /// Where they were read from.
    pub mechanism: ReferrersMechanism,
}

impl Client {
    /// Attaches `artifact` to manifest `subject` in `repo`: pushes its blobs, an empty
    /// config, and a manifest with `subject` and `artifactType`, then makes sure the
    /// subject's referrers list it. Attaching the same artifact again adds no entry.
    pub async fn attach(
        &self,
        repo: &Repository,
        subject: &Digest,
        artifact: &Artifact,
    ) -> Result<Attached> {
        let subject_manifest = self.get_manifest(repo, subject).await?;
        let (empty, _) = self.push_blob(repo, b"{}").await?;
        let mut layers = Vec::new();
        for blob in &artifact.blobs {
            let (digest, _) = self.push_blob(repo, &blob.data).await?;
            layers.push(OciDescriptor {
                media_type: blob.media_type.clone(),
                digest: digest.to_string(),
                size: blob.data.len() as i64,
                annotations: (!blob.annotations.is_empty()).then(|| blob.annotations.clone()),
                ..Default::default()
            });
        }
        let empty_descriptor = OciDescriptor {
            media_type: EMPTY_MEDIA_TYPE.into(),
            digest: empty.to_string(),
            size: 2,
            ..Default::default()
        };
        if layers.is_empty() {
            // The image spec requires at least one layer; the empty descriptor is its advice.
            layers.push(empty_descriptor.clone());
        }
        let manifest = OciImageManifest {
            schema_version: 2,
            media_type: Some(OCI_IMAGE_MEDIA_TYPE.into()),
            config: empty_descriptor,
            layers,
            subject: Some(descriptor_of(&subject_manifest)),
            artifact_type: Some(artifact.artifact_type.clone()),
            annotations: (!artifact.annotations.is_empty()).then(|| artifact.annotations.clone()),
        };
        let bytes = serde_json::to_vec(&manifest).map_err(|e| Error::Invalid {
            what: "artifact manifest".into(),
            message: e.to_string(),
        })?;
        let pushed = self
            .push_manifest(repo, OCI_IMAGE_MEDIA_TYPE, &bytes)
            .await?;
        let descriptor = ImageIndexEntry {
            media_type: OCI_IMAGE_MEDIA_TYPE.into(),
            digest: pushed.digest.to_string(),
            size: bytes.len() as i64,
            platform: None,
            annotations: manifest.annotations.clone(),
            artifact_type: manifest.artifact_type.clone(),
        };
        let mechanism = if pushed.subject_indexed {
            ReferrersMechanism::Api
        } else {
            self.add_to_tag_index(repo, subject, &descriptor).await?;
            ReferrersMechanism::TagSchema
        };
        Ok(Attached {
            digest: pushed.digest,
            descriptor,
            mechanism,
        })
    }

    /// Lists the referrers of manifest `subject` in `repo`, optionally only those of
    /// `artifact_type`: from the referrers API where the registry has it, else from the
    /// referrers tag schema.
    pub async fn referrers(
        &self,
        repo: &Repository,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers> {
        let ep = self.endpoint(repo).await?;
        let mut path = format!("/v2/{}/referrers/{}", repo.name(), subject);
        if let Some(t) = artifact_type {
            path.push_str("?artifactType=");
            path.push_str(&bitvault_http::percent_encode(t));
        }
        let what = format!("referrers of {subject} in {repo}");
        let mut pages = Pages::new(&ep.base_url(), &path, what.clone())?;
        let mut manifests = Vec::new();
        let mut next = Some(path);
        let mut mechanism = ReferrersMechanism::Api;
        while let Some(path) = next.take() {
            let resp = ep
                .send(
                    Request::new(Method::GET, path, repo.name(), Pull)
                        .header(ACCEPT, OCI_IMAGE_INDEX_MEDIA_TYPE)
                        .limit(BodyLimit {
                            what: "a referrers page",
                            ..BodyLimit::manifest(what.clone())
                        }),
                )
                .await?;
            if resp.status == StatusCode::NOT_FOUND && manifests.is_empty() {
                mechanism = ReferrersMechanism::TagSchema;
                if let Some(index) = self.read_tag_index(repo, subject).await? {
                    manifests = index_entries(&index)?;
                }
                break;
            }
            if resp.status != StatusCode::OK {
                return Err(resp.error());
            }
            let index: OciImageIndex =
                serde_json::from_slice(&resp.body).map_err(|e| Error::Invalid {
                    what: what.clone(),
                    message: e.to_string(),
                })?;
            manifests.extend(index.manifests);
            next = pages.next(&resp.url, resp.header("link"))?;
        }
        // Filter here too: the tag schema cannot filter, and the API may not have.
        if let Some(t) = artifact_type {
            manifests.retain(|m| m.artifact_type.as_deref() == Some(t));
        }
        Ok(Referrers {
            manifests,
            mechanism,
        })
    }

    async fn read_tag_index(
        &self,
        repo: &Repository,
        subject: &Digest,
    ) -> Result<Option<Manifest>> {
        let tag = subject.referrers_tag();
        let Some(m) = self.get_tagged_manifest(repo, &tag).await? else {
            return Ok(None);
        };
        if m.media_type != OCI_IMAGE_INDEX_MEDIA_TYPE {
            return Err(Error::Invalid {
                what: format!("{repo}:{tag}"),
                message: format!(
                    "referrers tag holds {}, not an OCI index; delete the tag or fix it",
                    m.media_type
                ),
            });
        }
        Ok(Some(m))
    }

    /// Adds `descriptor` to the referrers tag index of `subject` and waits until the entry
    /// has survived concurrent writers (see the module docs).
    async fn add_to_tag_index(
        &self,
        repo: &Repository,
        subject: &Digest,
        descriptor: &ImageIndexEntry,
    ) -> Result<()> {
        let tag = subject.referrers_tag();
        let mut seen = 0;
        let mut write_time = Duration::from_millis(50);
        for _ in 0..MAX_INDEX_ATTEMPTS {
            let current = self.read_tag_index(repo, subject).await?;
            let mut index: serde_json::Value = match &current {
                Some(m) => serde_json::from_slice(&m.bytes).map_err(|e| Error::Invalid {
                    what: format!("{repo}:{tag}"),
                    message: e.to_string(),
                })?,
                None => serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": OCI_IMAGE_INDEX_MEDIA_TYPE,
                    "manifests": [],
                }),
            };
            let entries = index
                .get_mut("manifests")
                .and_then(|m| m.as_array_mut())
                .ok_or_else(|| Error::Invalid {
                    what: format!("{repo}:{tag}"),
                    message: "index has no manifests array".into(),
                })?;
            let present = entries
                .iter()
                .any(|e| e.get("digest").and_then(|d| d.as_str()) == Some(&descriptor.digest));
            if present {
                seen += 1;
                if seen >= 2 {
                    return Ok(());
                }
                // Another writer may be between reading and writing the index right now;
                // give it time to land, then look again.
                let settle = (write_time * 4).max(Duration::from_millis(200));
                tokio::time::sleep(settle + settle.mul_f64(rand::random::<f64>())).await;
                continue;
            }
            seen = 0;
            entries.push(
                serde_json::to_value(descriptor).map_err(|e| Error::Invalid {
                    what: "referrer descriptor".into(),
                    message: e.to_string(),
                })?,
            );
            let bytes = serde_json::to_vec(&index).map_err(|e| Error::Invalid {
                what: format!("{repo}:{tag}"),
                message: e.to_string(),
            })?;
            let started = Instant::now();
            self.put_manifest_at(repo, &tag, OCI_IMAGE_INDEX_MEDIA_TYPE, &bytes)
                .await?;
            write_time = started.elapsed();
            tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 50)).await;
        }
        Err(Error::ReferrersIndexContention {
            subject: subject.to_string(),
            artifact: descriptor.digest.clone(),
            tag,
            attempts: MAX_INDEX_ATTEMPTS,
        })
    }
}

fn index_entries(m: &Manifest) -> Result<Vec<ImageIndexEntry>> {
    match &m.kind {
        crate::client::ManifestKind::Index(i) => Ok(i.manifests.clone()),
        crate::client::ManifestKind::Image(_) => Err(Error::Invalid {
            what: m.digest.to_string(),
            message: "expected an index".into(),
        }),
    }
}

fn descriptor_of(m: &Manifest) -> OciDescriptor {
    OciDescriptor {
        media_type: m.media_type.clone(),
        digest: m.digest.to_string(),
        size: m.bytes.len() as i64,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_digest_is_sha256_of_braces() {
        assert_eq!(Digest::of(b"{}").as_str(), EMPTY_CONFIG_DIGEST);
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            bitvault_http::percent_encode("application/spdx+json"),
            "application%2Fspdx%2Bjson"
        );
    }
}
