//! Where an image is read from: a registry by digest, an OCI image layout, or a plain
//! directory. For an index, every platform manifest (attestation manifests, platform
//! `unknown/unknown`, are skipped).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use bitvault_registry::{Client, Digest, Reference, Repository};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Media types of index documents.
const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `registry/repository@sha256:...`.
    Registry(Reference),
    /// `oci-layout:DIR`, with an optional `@sha256:...` or `:tag` (`org.opencontainers.image.ref.name`).
    OciLayout {
        dir: PathBuf,
        select: Option<String>,
    },
    /// `dir:PATH`: a directory taken as the root filesystem of one image.
    Dir(PathBuf),
}

impl Source {
    /// Parses one entry of the `images` input. Registry references must carry a digest.
    pub fn parse(s: &str) -> Result<Source> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("dir:") {
            return Ok(Source::Dir(PathBuf::from(rest)));
        }
        if let Some(rest) = s.strip_prefix("oci-layout:") {
            if let Some((dir, d)) = rest.rsplit_once('@') {
                return Ok(Source::OciLayout {
                    dir: dir.into(),
                    select: Some(d.to_owned()),
                });
            }
            // A `:tag` after the last path separator.
            let last = rest.rfind('/').map_or(0, |i| i + 1);
            if let Some(i) = rest[last..].rfind(':') {
                let (dir, tag) = rest.split_at(last + i);
                return Ok(Source::OciLayout {
                    dir: dir.into(),
                    select: Some(tag[1..].to_owned()),
                });
            }
            return Ok(Source::OciLayout {
                dir: rest.into(),
                select: None,
            });
        }
        let reference = Reference::parse(s).map_err(|e| anyhow!("input `images`: {e}"))?;
        if reference.digest().is_none() {
            bail!(
                "input `images`: {s} names a tag, not a digest; tags can move, so pass the digest the build pushed: {}@sha256:<hex> (for example the `digest` output of the build step)",
                reference.repository()
            );
        }
        Ok(Source::Registry(reference))
    }

    /// A short name for messages and the image's purl.
    pub fn display(&self) -> String {
        match self {
            Source::Registry(r) => r.to_string(),
            Source::OciLayout { dir, select } => match select {
                Some(s) => format!("oci-layout:{}@{s}", dir.display()),
                None => format!("oci-layout:{}", dir.display()),
            },
            Source::Dir(p) => format!("dir:{}", p.display()),
        }
    }
}

/// `os/arch[/variant]` of a platform manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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

/// A layer: its digest, media type and size.
#[derive(Debug, Clone)]
pub struct Layer {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

/// One platform image to catalog.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    /// The manifest's digest (for `dir:`, a digest of the path).
    pub digest: Digest,
    /// Size of the manifest bytes.
    pub size: u64,
    pub media_type: String,
    pub platform: Platform,
    /// The config's `created`, else the manifest's `org.opencontainers.image.created`.
    pub created: Option<String>,
    pub layers: Vec<Layer>,
}

/// An image resolved to its platform manifests.
#[derive(Debug, Clone)]
pub struct Image {
    pub source: Source,
    /// The digest that was asked for (the index's, or the only manifest's).
    pub digest: Digest,
    /// Whether `digest` is an index.
    pub is_index: bool,
    pub platforms: Vec<PlatformImage>,
}

/// Reads manifests, configs and layers of one source.
pub enum Reader {
    Registry {
        client: Client,
        repo: Repository,
        handle: tokio::runtime::Handle,
    },
    Layout {
        dir: PathBuf,
    },
    Dir {
        root: PathBuf,
    },
}

const CHUNK: u64 = 4 << 20;

impl Reader {
    /// A reader for `source`; registry reads go through `client` on `handle`.
    pub fn new(source: &Source, client: &Client, handle: &tokio::runtime::Handle) -> Reader {
        match source {
            Source::Registry(r) => Reader::Registry {
                client: client.clone(),
                repo: r.repository().clone(),
                handle: handle.clone(),
            },
            Source::OciLayout { dir, .. } => Reader::Layout { dir: dir.clone() },
            Source::Dir(root) => Reader::Dir { root: root.clone() },
        }
    }

    /// A manifest or index, digest-checked.
    pub fn read_manifest(&self, digest: &Digest) -> Result<Vec<u8>> {
        self.read(digest, true)
    }

    /// A small blob (a config), digest-checked.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        self.read(digest, false)
    }

    fn read(&self, digest: &Digest, manifest: bool) -> Result<Vec<u8>> {
        match self {
            Reader::Registry {
                client,
                repo,
                handle,
            } => {
                let bytes = handle
                    .block_on(async {
                        if manifest {
                            client.get_manifest(repo, digest).await.map(|m| m.bytes)
                        } else {
                            client.get_blob(repo, digest).await
                        }
                    })
                    .with_context(|| format!("reading {digest} from {repo}"))?;
                Ok(bytes)
            }
            Reader::Layout { dir } => {
                let path = blob_path(dir, digest);
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                digest
                    .verify(&bytes)
                    .map_err(|m| anyhow!("{}: {m}; refusing it", path.display()))?;
                Ok(bytes)
            }
            Reader::Dir { .. } => bail!("a directory has no blobs"),
        }
    }

    /// A config blob, parsed. A config that is not JSON is an error.
    fn read_json(&self, digest: &Digest) -> Result<Value> {
        let bytes = self.read_blob(digest)?;
        serde_json::from_slice(&bytes).with_context(|| format!("{digest} is not json"))
    }

    /// Streams a layer blob; the returned reader fails at the end when the bytes do not
    /// hash to the layer's digest (so callers must read to the end).
    pub fn open_layer(&self, layer: &Layer) -> Result<Box<dyn Read + Send>> {
        let raw: Box<dyn Read + Send> = match self {
            Reader::Registry {
                client,
                repo,
                handle,
            } => Box::new(RegistryBlob::new(
                client.clone(),
                repo.clone(),
                layer.digest.clone(),
                handle.clone(),
            )),
            Reader::Layout { dir } => {
                let path = blob_path(dir, &layer.digest);
                Box::new(
                    std::fs::File::open(&path)
                        .with_context(|| format!("opening layer {}", path.display()))?,
                )
            }
            Reader::Dir { .. } => bail!("a directory has no layers"),
        };
        Ok(Box::new(Verified::new(raw, layer.digest.clone())))
    }

    /// The root of a `dir:` source.
    pub fn dir_root(&self) -> Option<&Path> {
        match self {
            Reader::Dir { root } => Some(root),
            _ => None,
        }
    }
}

fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs").join("sha256").join(digest.hex())
}

/// Resolves `source` to its platform images.
pub fn resolve(source: &Source, reader: &Reader) -> Result<Image> {
    let digest = match source {
        Source::Registry(r) => r
            .digest()
            .cloned()
            .expect("registry sources carry a digest"),
        Source::OciLayout { dir, select } => layout_digest(dir, select.as_deref())?,
        Source::Dir(root) => {
            let meta = std::fs::metadata(root)
                .with_context(|| format!("dir:{}: cannot read it", root.display()))?;
            if !meta.is_dir() {
                bail!("dir:{}: not a directory", root.display());
            }
            let canonical = std::fs::canonicalize(root)?;
            let digest = Digest::of(canonical.to_string_lossy().as_bytes());
            return Ok(Image {
                source: source.clone(),
                digest: digest.clone(),
                is_index: false,
                platforms: vec![PlatformImage {
                    digest,
                    size: 0,
                    media_type: String::new(),
                    platform: Platform {
                        os: "linux".into(),
                        architecture: host_arch().into(),
                        variant: None,
                    },
                    created: None,
                    layers: Vec::new(),
                }],
            });
        }
    };
    let bytes = reader.read_manifest(&digest)?;
    let doc: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: manifest is not json", source.display()))?;
    let media_type = doc
        .get("mediaType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if INDEX_TYPES.contains(&media_type.as_str()) || doc.get("manifests").is_some() {
        let mut platforms = Vec::new();
        for entry in doc["manifests"].as_array().into_iter().flatten() {
            let platform = platform_of(entry.get("platform"));
            if platform.os == "unknown" && platform.architecture == "unknown" {
                continue; // attestation manifests (buildx provenance), not an image
            }
            let d = entry
                .get("digest")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("{}: index entry without digest", source.display()))?;
            let d = Digest::parse(d)?;
            let mt = entry
                .get("mediaType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if INDEX_TYPES.contains(&mt) {
                bail!(
                    "{}: nested index {d} is not supported; pass its digest itself",
                    source.display()
                );
            }
            let bytes = reader.read_manifest(&d)?;
            platforms.push(platform_image(reader, d, &bytes, Some(platform))?);
        }
        if platforms.is_empty() {
            bail!("{}: the index lists no platform image", source.display());
        }
        Ok(Image {
            source: source.clone(),
            digest,
            is_index: true,
            platforms,
        })
    } else {
        let image = platform_image(reader, digest.clone(), &bytes, None)?;
        Ok(Image {
            source: source.clone(),
            digest,
            is_index: false,
            platforms: vec![image],
        })
    }
}

fn platform_image(
    reader: &Reader,
    digest: Digest,
    bytes: &[u8],
    platform: Option<Platform>,
) -> Result<PlatformImage> {
    let doc: Value =
        serde_json::from_slice(bytes).with_context(|| format!("{digest}: not json"))?;
    let config = doc
        .get("config")
        .and_then(|c| c.get("digest"))
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("{digest}: manifest has no config"))?;
    let config = reader.read_json(&Digest::parse(config)?)?;
    let platform = platform.unwrap_or_else(|| Platform {
        os: config["os"].as_str().unwrap_or("linux").to_owned(),
        architecture: config["architecture"]
            .as_str()
            .unwrap_or("amd64")
            .to_owned(),
        variant: config["variant"].as_str().map(str::to_owned),
    });
    let created = config["created"]
        .as_str()
        .or_else(|| doc["annotations"]["org.opencontainers.image.created"].as_str())
        .map(str::to_owned);
    let mut layers = Vec::new();
    for l in doc["layers"].as_array().into_iter().flatten() {
        layers.push(Layer {
            digest: Digest::parse(l["digest"].as_str().unwrap_or_default())
                .with_context(|| format!("{digest}: layer digest"))?,
            media_type: l["mediaType"].as_str().unwrap_or_default().to_owned(),
            size: l["size"].as_u64().unwrap_or(0),
        });
    }
    Ok(PlatformImage {
        digest,
        size: bytes.len() as u64,
        media_type: doc["mediaType"]
            .as_str()
            .unwrap_or("application/vnd.oci.image.manifest.v1+json")
            .to_owned(),
        platform,
        created,
        layers,
    })
}

fn platform_of(v: Option<&Value>) -> Platform {
    let Some(v) = v else {
        return Platform::default();
    };
    Platform {
        os: v["os"].as_str().unwrap_or_default().to_owned(),
        architecture: v["architecture"].as_str().unwrap_or_default().to_owned(),
        variant: v["variant"].as_str().map(str::to_owned),
    }
}

fn layout_digest(dir: &Path, select: Option<&str>) -> Result<Digest> {
    let index_path = dir.join("index.json");
    let bytes = std::fs::read(&index_path).with_context(|| {
        format!(
            "oci-layout:{}: no index.json; is it an OCI image layout?",
            dir.display()
        )
    })?;
    let index: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not json", index_path.display()))?;
    let entries: Vec<&Value> = index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let pick = match select {
        Some(s) if s.starts_with("sha256:") => {
            return Digest::parse(s).map_err(Into::into);
        }
        Some(tag) => entries
            .iter()
            .find(|e| e["annotations"]["org.opencontainers.image.ref.name"].as_str() == Some(tag))
            .ok_or_else(|| anyhow!("oci-layout:{}: no image named {tag}", dir.display()))?,
        None => match entries.as_slice() {
            [one] => one,
            [] => bail!("oci-layout:{}: index.json lists nothing", dir.display()),
            _ => bail!(
                "oci-layout:{}: index.json lists {} images; name one with :<tag> or @sha256:<hex>",
                dir.display(),
                entries.len()
            ),
        },
    };
    Digest::parse(pick["digest"].as_str().unwrap_or_default()).map_err(Into::into)
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// A blob read from the registry in pieces, fetched ahead on the runtime.
struct RegistryBlob {
    rx: tokio::sync::mpsc::Receiver<std::result::Result<bytes::Bytes, String>>,
    current: bytes::Bytes,
    done: bool,
}

impl RegistryBlob {
    fn new(
        client: Client,
        repo: Repository,
        digest: Digest,
        handle: tokio::runtime::Handle,
    ) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        handle.spawn(async move {
            let mut offset = 0u64;
            loop {
                match client.get_blob_range(&repo, &digest, offset, CHUNK).await {
                    Ok(piece) if piece.is_empty() => break,
                    Ok(piece) => {
                        offset += piece.len() as u64;
                        let short = (piece.len() as u64) < CHUNK;
                        if tx.send(Ok(piece)).await.is_err() || short {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("blob {digest} in {repo}: {e}"))).await;
                        break;
                    }
                }
            }
        });
        RegistryBlob {
            rx,
            current: bytes::Bytes::new(),
            done: false,
        }
    }
}

impl Read for RegistryBlob {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Ok(piece)) => self.current = piece,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => self.done = true,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// Hashes everything read through it; at the end, fails unless the bytes hash to the digest.
pub struct Verified<R> {
    inner: R,
    hasher: Sha256,
    expected: Digest,
    checked: bool,
}

impl<R: Read> Verified<R> {
    pub fn new(inner: R, expected: Digest) -> Self {
        Verified {
            inner,
            hasher: Sha256::new(),
            expected,
            checked: false,
        }
    }
}

impl<R: Read> Read for Verified<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && !self.checked {
            self.checked = true;
            let actual = format!("sha256:{}", hex::encode(self.hasher.clone().finalize()));
            if actual != self.expected.as_str() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "layer {}: content hashes to {actual}; the blob is corrupt or was replaced, refusing it",
                        self.expected
                    ),
                ));
            }
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_refused() {
        let e = Source::parse("127.0.0.1:5000/demo/app:v1")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "input `images`: 127.0.0.1:5000/demo/app:v1 names a tag, not a digest; tags can move, so pass the digest the build pushed: 127.0.0.1:5000/demo/app@sha256:<hex> (for example the `digest` output of the build step)"
        );
    }

    #[test]
    fn sources() {
        let d = "sha256:".to_owned() + &"a".repeat(64);
        assert!(matches!(
            Source::parse(&format!("ghcr.io/a/b@{d}")).unwrap(),
            Source::Registry(_)
        ));
        assert_eq!(
            Source::parse("oci-layout:/x/y:v1").unwrap(),
            Source::OciLayout {
                dir: "/x/y".into(),
                select: Some("v1".into())
            }
        );
        assert_eq!(
            Source::parse(&format!("oci-layout:./l@{d}")).unwrap(),
            Source::OciLayout {
                dir: "./l".into(),
                select: Some(d.clone())
            }
        );
        assert_eq!(
            Source::parse("oci-layout:./l").unwrap(),
            Source::OciLayout {
                dir: "./l".into(),
                select: None
            }
        );
        assert_eq!(Source::parse("dir:/").unwrap(), Source::Dir("/".into()));
    }

    #[test]
    fn verified_reader_refuses_wrong_bytes() {
        let good = Digest::of(b"hello");
        let mut out = Vec::new();
        Verified::new(&b"hello"[..], good.clone())
            .read_to_end(&mut out)
            .unwrap();
        let err = Verified::new(&b"hellO"[..], good)
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(err.to_string().contains("corrupt or was replaced"));
    }
}
