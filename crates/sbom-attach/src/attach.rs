//! Each document as an OCI 1.1 referrer of its platform manifest, through the registry
//! layer's referrers machinery (the referrers API where the registry has it, the
//! `sha256-<hex>` tag index where it does not). A document already attached (found among
//! the subject's referrers with the same content digest) is not written again.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use bitvault_registry::{Artifact, ArtifactBlob, Client, Digest, Repository};

use crate::documents::{Format, TOOL, TOOL_VERSION};

/// Annotation holding the sha256 of the attached document, so a re-run can find it.
pub const CONTENT_ANNOTATION: &str = "dev.bitvault.sbom.content-digest";
/// Annotation naming the tool that wrote the document.
pub const TOOL_ANNOTATION: &str = "dev.bitvault.sbom.tool";
/// Annotation naming the document format and its version.
pub const FORMAT_ANNOTATION: &str = "dev.bitvault.sbom.format";
/// Annotation naming the platform the document describes.
pub const PLATFORM_ANNOTATION: &str = "dev.bitvault.sbom.platform";

/// What attaching one document did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The referrer's manifest digest.
    pub digest: Digest,
    /// `false` when it was there already.
    pub written: bool,
}

/// The artifact for `document` of `format` describing the platform `platform` of the
/// subject, created at `created`.
pub fn artifact(
    artifact_type: &str,
    layer_media_type: &str,
    title: &str,
    document: &[u8],
    created: &str,
    format_annotation: &str,
    platform: &str,
) -> Artifact {
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "org.opencontainers.image.created".into(),
        created.to_owned(),
    );
    annotations.insert(TOOL_ANNOTATION.into(), format!("{TOOL} {TOOL_VERSION}"));
    annotations.insert(FORMAT_ANNOTATION.into(), format_annotation.to_owned());
    annotations.insert(PLATFORM_ANNOTATION.into(), platform.to_owned());
    annotations.insert(CONTENT_ANNOTATION.into(), Digest::of(document).to_string());
    let mut layer_annotations = BTreeMap::new();
    layer_annotations.insert("org.opencontainers.image.title".into(), title.to_owned());
    Artifact {
        artifact_type: artifact_type.to_owned(),
        blobs: vec![ArtifactBlob {
            media_type: layer_media_type.to_owned(),
            data: document.to_vec(),
            annotations: layer_annotations,
        }],
        annotations,
    }
}

/// The artifact of an SBOM document.
pub fn document_artifact(
    format: Format,
    subject: &Digest,
    document: &[u8],
    created: &str,
    platform: &str,
) -> Artifact {
    let format_annotation = match format {
        Format::CycloneDx => format!("CycloneDX {}", format.spec_version()),
        Format::Spdx => format.spec_version().to_owned(),
    };
    artifact(
        format.media_type(),
        format.media_type(),
        &format!("{}.{}", subject.hex(), format.extension()),
        document,
        created,
        &format_annotation,
        platform,
    )
}

/// Attaches `artifact` to `subject` in `repo` unless a referrer of the same type with
/// the same content is there already.
pub async fn attach_once(
    client: &Client,
    repo: &Repository,
    subject: &Digest,
    artifact: &Artifact,
) -> Result<Attachment> {
    let content = artifact.annotations.get(CONTENT_ANNOTATION);
    let existing = client
        .referrers(repo, subject, Some(&artifact.artifact_type))
        .await
        .with_context(|| format!("listing the referrers of {repo}@{subject}"))?;
    if let Some(found) = existing.manifests.iter().find(|m| {
        m.annotations
            .as_ref()
            .and_then(|a| a.get(CONTENT_ANNOTATION))
            == content
    }) {
        return Ok(Attachment {
            digest: Digest::parse(&found.digest)?,
            written: false,
        });
    }
    let attached = client
        .attach(repo, subject, artifact)
        .await
        .with_context(|| format!("attaching {} to {repo}@{subject}", artifact.artifact_type))?;
    Ok(Attachment {
        digest: attached.digest,
        written: true,
    })
}
