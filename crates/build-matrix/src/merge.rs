//! `mode: merge`: per-platform digests in, one OCI image index out.
//!
//! Each digest must be an image manifest in the target repository whose
//! config names a distinct platform. The index is serialised
//! deterministically (manifests sorted by platform), so the same digests
//! always give the same index digest, and a second run writes nothing.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use bitvault_registry::{Client, Digest, ManifestKind, Repository};
use serde_json::json;

use crate::meta::is_valid_tag;

pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// Reads the `digests` input: a JSON list, a newline (or comma) list, or a
/// directory of digest files named by their hex (Docker's documented
/// multi-platform pattern: `touch "$dir/${digest#sha256:}"`).
pub fn parse_digests(input: &str) -> Result<Vec<Digest>> {
    let input = input.trim();
    let raw: Vec<String> = if input.starts_with('[') {
        serde_json::from_str::<Vec<String>>(input)
            .context("`digests` looks like JSON but is not a list of strings")?
    } else if !input.contains('\n') && Path::new(input).is_dir() {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(input)
            .with_context(|| format!("cannot read the digest folder {input}"))?
        {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            names.push(if name.starts_with("sha256:") {
                name
            } else {
                format!("sha256:{name}")
            });
        }
        if names.is_empty() {
            bail!(
                "the digest folder {input} is empty: did the build jobs upload their digests (actions/download-artifact with `merge-multiple: true`)?"
            );
        }
        names
    } else {
        input
            .split(['\n', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut out: Vec<Digest> = Vec::new();
    for d in raw {
        let d = d.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or(d);
        let digest = Digest::parse(&d).map_err(|e| anyhow::anyhow!("`digests`: {e}"))?;
        if !out.contains(&digest) {
            out.push(digest);
        }
    }
    if out.is_empty() {
        bail!("`digests` is empty: pass the per-platform digests the build jobs pushed");
    }
    Ok(out)
}

/// Reads the `tags` input: bare tags or `repository:tag`, one per line.
pub fn parse_tags(input: &str, repo: &Repository) -> Result<Vec<String>> {
    let mut tags = Vec::new();
    for line in input
        .split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let tag = match line.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => {
                if r != repo.to_string() && r != repo.name() {
                    bail!("tag `{line}` is for another repository than {repo}");
                }
                t
            }
            _ => line,
        };
        if tag == "latest" {
            bail!(
                "refusing the tag `latest`: deployments are addressed by digest, and `latest` would move under them. Use a version or `sha-<commit>` tag"
            );
        }
        if !is_valid_tag(tag) {
            bail!(
                "`{tag}` is not a valid tag (letters, digits, `_`, `.`, `-`; at most 128; not starting with `.` or `-`)"
            );
        }
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    Ok(tags)
}

/// A platform as the OCI image config states it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// One checked per-platform image.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    pub digest: Digest,
    pub media_type: String,
    pub size: usize,
    pub platform: Platform,
}

/// The outcome of a merge.
#[derive(Debug, Clone)]
pub struct Merged {
    pub digest: Digest,
    pub image_ref: String,
    pub platforms: Vec<PlatformImage>,
    /// False when the index was already there (a re-run).
    pub index_pushed: bool,
    pub tags_written: Vec<String>,
}

/// Builds the index bytes: deterministic field and manifest order.
pub fn index_bytes(images: &[PlatformImage]) -> Vec<u8> {
    let mut sorted = images.to_vec();
    sorted.sort_by(|a, b| a.platform.cmp(&b.platform));
    let manifests: Vec<serde_json::Value> = sorted
        .iter()
        .map(|i| {
            let mut platform = serde_json::Map::new();
            platform.insert("architecture".into(), json!(i.platform.architecture));
            platform.insert("os".into(), json!(i.platform.os));
            if let Some(v) = &i.platform.variant {
                platform.insert("variant".into(), json!(v));
            }
            json!({
                "mediaType": i.media_type,
                "digest": i.digest.as_str(),
                "size": i.size,
                "platform": platform,
            })
        })
        .collect();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": manifests,
    });
    serde_json::to_vec(&index).expect("index serialises")
}

/// Checks every digest, pushes the index by digest, applies the tags.
pub async fn merge(
    client: &Client,
    repo: &Repository,
    digests: &[Digest],
    tags: &[String],
) -> Result<Merged> {
    let mut images: Vec<PlatformImage> = Vec::new();
    for digest in digests {
        let manifest = client.get_manifest(repo, digest).await.with_context(|| {
            format!("{digest} is not readable in {repo}: did the build job push by digest to this repository?")
        })?;
        let image = match &manifest.kind {
            ManifestKind::Image(m) => m,
            ManifestKind::Index(_) => bail!(
                "{digest} in {repo} is an index, not a single-platform image: pass the per-platform digests the build jobs pushed"
            ),
        };
        let config = client
            .get_blob_sized(
                repo,
                &Digest::parse(&image.config.digest).map_err(|e| anyhow::anyhow!("{e}"))?,
                u64::try_from(image.config.size).unwrap_or(0),
            )
            .await
            .with_context(|| format!("cannot read the config of {digest} in {repo}"))?;
        let config: serde_json::Value = serde_json::from_slice(&config)
            .with_context(|| format!("the config of {digest} is not JSON"))?;
        let field = |k: &str| config.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let platform = Platform {
            os: field("os").with_context(|| format!("the config of {digest} names no `os`"))?,
            architecture: field("architecture")
                .with_context(|| format!("the config of {digest} names no `architecture`"))?,
            variant: field("variant").filter(|v| !v.is_empty()),
        };
        if let Some(other) = images.iter().find(|i| i.platform == platform) {
            bail!(
                "{digest} and {} are both {platform}: each digest must be a different platform",
                other.digest
            );
        }
        images.push(PlatformImage {
            digest: digest.clone(),
            media_type: manifest.media_type.clone(),
            size: manifest.bytes.len(),
            platform,
        });
    }
    let bytes = index_bytes(&images);
    let digest = Digest::of(&bytes);
    let exists = client.get_manifest(repo, &digest).await.is_ok();
    if !exists {
        let pushed = client.push_manifest(repo, INDEX_MEDIA_TYPE, &bytes).await?;
        if pushed.digest != digest {
            bail!(
                "the registry stored the index as {} but its bytes are {digest}",
                pushed.digest
            );
        }
    }
    let mut tags_written = Vec::new();
    for tag in tags {
        let current = client
            .resolve(&bitvault_registry::Reference::parse(&format!(
                "{repo}:{tag}"
            ))?)
            .await
            .ok();
        if current.as_ref() != Some(&digest) {
            client.tag(repo, &digest, tag).await?;
            tags_written.push(tag.clone());
        }
    }
    let mut platforms = images;
    platforms.sort_by(|a, b| a.platform.cmp(&b.platform));
    Ok(Merged {
        image_ref: format!("{repo}@{digest}"),
        digest,
        platforms,
        index_pushed: !exists,
        tags_written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn digests_in_every_form() {
        let want = vec![Digest::parse(A).unwrap(), Digest::parse(B).unwrap()];
        assert_eq!(parse_digests(&format!("[\"{A}\", \"{B}\"]")).unwrap(), want);
        assert_eq!(parse_digests(&format!("{A}\n\n{B}\n{A}")).unwrap(), want);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(&A[7..]), "").unwrap();
        std::fs::write(dir.path().join(&B[7..]), "").unwrap();
        let mut got = parse_digests(dir.path().to_str().unwrap()).unwrap();
        got.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        assert_eq!(got, want);
        assert!(parse_digests("sha256:abc").is_err());
        assert!(parse_digests("").is_err());
    }

    #[test]
    fn latest_is_refused() {
        let repo = bitvault_registry::Reference::parse("127.0.0.1:5000/demo/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            .unwrap()
            .repository()
            .clone();
        let err = parse_tags("v1\nlatest", &repo).unwrap_err().to_string();
        assert!(err.contains("latest"), "{err}");
        assert_eq!(
            parse_tags("v1.2.3\n127.0.0.1:5000/demo/app:1.2", &repo).unwrap(),
            vec!["v1.2.3", "1.2"]
        );
        assert!(parse_tags("other.io/x/y:1", &repo).is_err());
        assert!(parse_tags(".bad", &repo).is_err());
    }
}
