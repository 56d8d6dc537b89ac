//! The registry client: resolve, read, push, tag and mount, digest-checked.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use oci_client::RegistryOperation::{Pull, Push};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE, OciImageIndex, OciImageManifest,
};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use tokio::sync::Mutex;

use crate::credentials::CredentialStore;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::http::{Endpoint, Request, RetryPolicy, Target};
use crate::limits::{BodyLimit, MAX_UNSIZED_BLOB_BYTES};
use crate::protocol::scheme_for;
use crate::reference::{Reference, Repository};

/// Media types we accept when reading manifests.
pub(crate) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Registries (`host[:port]` or host) reached over plain HTTP although not loopback.
    pub insecure_registries: Vec<String>,
    /// Where credentials come from.
    pub credentials: CredentialStore,
    /// Retries for 429, 5xx and dropped connections.
    pub retry: RetryPolicy,
}

/// A client for OCI registries. Cheap to clone; clones share connections and tokens.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    options: ClientOptions,
    http: reqwest::Client,
    endpoints: Mutex<HashMap<String, Arc<Endpoint>>>,
}

/// A manifest or index read by digest: the exact bytes and their parsed value.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The digest the bytes were checked against.
    pub digest: Digest,
    /// Media type, from the registry's `Content-Type` or the document's `mediaType`.
    pub media_type: String,
    /// The bytes as stored.
    pub bytes: Vec<u8>,
    /// The parsed document.
    pub kind: ManifestKind,
}

/// A parsed manifest document.
#[derive(Debug, Clone)]
pub enum ManifestKind {
    /// An image (or artifact) manifest.
    Image(Box<OciImageManifest>),
    /// An image index or manifest list.
    Index(OciImageIndex),
}

/// What a manifest push reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedManifest {
    /// Digest of the bytes pushed.
    pub digest: Digest,
    /// The registry answered with `OCI-Subject`: it indexed the manifest's subject itself
    /// (it has the referrers API).
    pub subject_indexed: bool,
}

/// How a blob got into the target repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobTransfer {
    /// It was there already.
    Existed,
    /// The registry mounted it from the source repository.
    Mounted,
    /// Uploaded (copied from the source, or pushed from memory).
    Uploaded,
}

impl Client {
    /// A client with the given options.
    pub fn new(options: ClientOptions) -> Result<Self> {
        let http = bitvault_http::client(
            concat!("bitvault-registry/", env!("CARGO_PKG_VERSION")),
            &bitvault_http::Timeouts::default(),
        )
        .map_err(|e| Error::Invalid {
            what: "http client".into(),
            message: e.to_string(),
        })?;
        Ok(Client {
            inner: Arc::new(Inner {
                options,
                http,
                endpoints: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub(crate) async fn endpoint(&self, repo: &Repository) -> Result<Arc<Endpoint>> {
        let mut map = self.inner.endpoints.lock().await;
        if let Some(ep) = map.get(repo.endpoint()) {
            return Ok(ep.clone());
        }
        let credentials = self.inner.options.credentials.lookup(repo.registry())?;
        let scheme = scheme_for(repo.endpoint(), &self.inner.options.insecure_registries);
        let ep = Arc::new(Endpoint::new(
            repo.registry(),
            repo.endpoint(),
            scheme,
            credentials,
            self.inner.http.clone(),
            self.inner.options.retry.clone(),
        ));
        map.insert(repo.endpoint().to_owned(), ep.clone());
        Ok(ep)
    }

    /// Where the credentials for `repo`'s registry came from.
    pub async fn credential_source(
        &self,
        repo: &Repository,
    ) -> Result<crate::credentials::CredentialSource> {
        Ok(self.endpoint(repo).await?.credentials.source.clone())
    }

    /// Resolves a reference to a digest: the digest if it has one (no network), else the
    /// registry's digest for the tag. A reference with neither is an error, never `latest`.
    pub async fn resolve(&self, reference: &Reference) -> Result<Digest> {
        if let Some(d) = reference.digest() {
            return Ok(d.clone());
        }
        let Some(tag) = reference.tag() else {
            return Err(Error::NoTagOrDigest(reference.to_string()));
        };
        let repo = reference.repository();
        let ep = self.endpoint(repo).await?;
        let path = format!("/v2/{}/manifests/{}", repo.name(), tag);
        let head = ep
            .send(
                Request::new(Method::HEAD, path.clone(), repo.name(), Pull)
                    .header(ACCEPT, MANIFEST_ACCEPT),
            )
            .await?;
        if head.status == StatusCode::NOT_FOUND {
            return Err(Error::NotFound(reference.to_string()));
        }
        let header_digest = head
            .header("docker-content-digest")
            .filter(|_| head.status.is_success())
            .and_then(|d| Digest::parse(d).ok());
        if let Some(d) = header_digest {
            return Ok(d);
        }
        // No usable digest header (or HEAD unsupported): hash what GET returns.
        let get = ep
            .send(
                Request::new(Method::GET, path, repo.name(), Pull)
                    .header(ACCEPT, MANIFEST_ACCEPT)
                    .limit(BodyLimit::manifest(reference.to_string())),
            )
            .await?;
        match get.status {
            StatusCode::OK => Ok(Digest::of(&get.body)),
            StatusCode::NOT_FOUND => Err(Error::NotFound(reference.to_string())),
            _ => Err(get.error()),
        }
    }

    /// Reads a manifest or index by digest, refusing bytes that do not hash to `digest`.
    pub async fn get_manifest(&self, repo: &Repository, digest: &Digest) -> Result<Manifest> {
        let what = repo.at_digest(digest.clone()).to_string();
        let Some(resp) = self.fetch_manifest(repo, digest.as_str(), &what).await? else {
            return Err(Error::NotFound(what));
        };
        digest
            .verify(&resp.body)
            .map_err(|mismatch| Error::DigestMismatch {
                what: what.clone(),
                mismatch,
            })?;
        parse_manifest(
            &what,
            digest.clone(),
            resp.header("content-type"),
            resp.body.to_vec(),
        )
    }

    /// Reads a blob whose size is not known, refusing more than
    /// [`MAX_UNSIZED_BLOB_BYTES`] and bytes that do not hash to `digest`. Where a
    /// descriptor gives the size, use [`Client::get_blob_sized`].
    pub async fn get_blob(&self, repo: &Repository, digest: &Digest) -> Result<Vec<u8>> {
        let why = "the limit for a blob read without its descriptor's size";
        self.read_blob(repo, digest, MAX_UNSIZED_BLOB_BYTES, why)
            .await
    }

    /// Reads a blob of `size` bytes, the size its descriptor gives: a larger answer is
    /// refused without reading it whole (at once when `Content-Length` says so, else once
    /// the bytes streamed in pass `size`); a shorter one, or bytes that do not hash to
    /// `digest`, are refused too.
    pub async fn get_blob_sized(
        &self,
        repo: &Repository,
        digest: &Digest,
        size: u64,
    ) -> Result<Vec<u8>> {
        let bytes = self
            .read_blob(repo, digest, size, "the size its descriptor gives")
            .await?;
        if bytes.len() as u64 != size {
            return Err(Error::Invalid {
                what: format!("blob {digest} in {repo}"),
                message: format!(
                    "it is {} bytes, but its descriptor gives {size}; fix the manifest that names it",
                    bytes.len()
                ),
            });
        }
        Ok(bytes)
    }

    async fn read_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
        max: u64,
        why: &str,
    ) -> Result<Vec<u8>> {
        let ep = self.endpoint(repo).await?;
        let what = format!("blob {digest} in {repo}");
        let resp = ep
            .send(
                Request::new(
                    Method::GET,
                    format!("/v2/{}/blobs/{}", repo.name(), digest),
                    repo.name(),
                    Pull,
                )
                .limit(BodyLimit::blob(what.clone(), max, why.to_owned())),
            )
            .await?;
        match resp.status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Err(Error::NotFound(what)),
            _ => return Err(resp.error()),
        }
        digest
            .verify(&resp.body)
            .map_err(|mismatch| Error::DigestMismatch { what, mismatch })?;
        Ok(resp.body.to_vec())
    }

    /// Whether `repo` has the blob.
    pub async fn blob_exists(&self, repo: &Repository, digest: &Digest) -> Result<bool> {
        let ep = self.endpoint(repo).await?;
        let resp = ep
            .send(Request::new(
                Method::HEAD,
                format!("/v2/{}/blobs/{}", repo.name(), digest),
                repo.name(),
                Pull,
            ))
            .await?;
        match resp.status {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(resp.error()),
        }
    }

    /// Pushes `data` as a blob unless the repository has it; returns its digest.
    pub async fn push_blob(
        &self,
        repo: &Repository,
        data: &[u8],
    ) -> Result<(Digest, BlobTransfer)> {
        let digest = Digest::of(data);
        if self.blob_exists(repo, &digest).await? {
            return Ok((digest, BlobTransfer::Existed));
        }
        let ep = self.endpoint(repo).await?;
        let start = ep
            .send(Request::new(
                Method::POST,
                format!("/v2/{}/blobs/uploads/", repo.name()),
                repo.name(),
                Push,
            ))
            .await?;
        if start.status != StatusCode::ACCEPTED {
            return Err(start.error());
        }
        self.finish_upload(&ep, repo, &start, &digest, Bytes::copy_from_slice(data))
            .await?;
        Ok((digest, BlobTransfer::Uploaded))
    }

    /// Completes an upload session started by `start` with one monolithic PUT.
    async fn finish_upload(
        &self,
        ep: &Endpoint,
        repo: &Repository,
        start: &crate::http::Response,
        digest: &Digest,
        data: Bytes,
    ) -> Result<()> {
        let location = start.header("location").ok_or_else(|| Error::Invalid {
            what: format!("upload to {repo}"),
            message: "registry sent no upload location".into(),
        })?;
        let mut url = if location.starts_with('/') {
            format!("{}{}", ep.base_url(), location)
        } else {
            location.to_owned()
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("digest=");
        url.push_str(&digest.as_str().replace(':', "%3A"));
        let put = ep
            .send(Request {
                method: Method::PUT,
                target: Target::Url(&url),
                headers: vec![(
                    CONTENT_TYPE,
                    reqwest::header::HeaderValue::from_static("application/octet-stream"),
                )],
                body: Some(data),
                repo: repo.name(),
                op: Push,
                limit: BodyLimit::answer(repo.name()),
                partial: None,
            })
            .await?;
        if put.status == StatusCode::CREATED {
            return Ok(());
        }
        // A retried PUT can find its session already completed by the first attempt.
        if self.blob_exists(repo, digest).await? {
            return Ok(());
        }
        Err(put.error())
    }

    /// Makes blob `digest` of `from` available in `to`: mounted where the registry
    /// allows it, copied (read, digest-checked, uploaded) where it does not.
    pub async fn mount_blob(
        &self,
        from: &Repository,
        to: &Repository,
        digest: &Digest,
    ) -> Result<BlobTransfer> {
        if self.blob_exists(to, digest).await? {
            return Ok(BlobTransfer::Existed);
        }
        let ep = self.endpoint(to).await?;
        let start = if from.endpoint() == to.endpoint() {
            let path = format!(
                "/v2/{}/blobs/uploads/?mount={}&from={}",
                to.name(),
                digest.as_str().replace(':', "%3A"),
                from.name()
            );
            let resp = ep
                .send(Request::new(Method::POST, path, to.name(), Push))
                .await?;
            if resp.status == StatusCode::CREATED {
                return Ok(BlobTransfer::Mounted);
            }
            resp
        } else {
            ep.send(Request::new(
                Method::POST,
                format!("/v2/{}/blobs/uploads/", to.name()),
                to.name(),
                Push,
            ))
            .await?
        };
        if start.status != StatusCode::ACCEPTED {
            return Err(start.error());
        }
        let data = self.get_blob(from, digest).await?;
        self.finish_upload(&ep, to, &start, digest, Bytes::from(data))
            .await?;
        Ok(BlobTransfer::Uploaded)
    }

    /// Pushes manifest bytes by digest. The bytes are sent as given, so the digest is
    /// theirs; `media_type` becomes the `Content-Type`.
    pub async fn push_manifest(
        &self,
        repo: &Repository,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<PushedManifest> {
        let digest = Digest::of(bytes);
        self.put_manifest_at(repo, digest.as_str(), media_type, bytes)
            .await
    }

    pub(crate) async fn put_manifest_at(
        &self,
        repo: &Repository,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<PushedManifest> {
        let digest = Digest::of(bytes);
        let ep = self.endpoint(repo).await?;
        let resp = ep
            .send(
                Request::new(
                    Method::PUT,
                    format!("/v2/{}/manifests/{}", repo.name(), reference),
                    repo.name(),
                    Push,
                )
                .header(CONTENT_TYPE, media_type)
                .body(Bytes::copy_from_slice(bytes)),
            )
            .await?;
        if resp.status != StatusCode::CREATED && !resp.status.is_success() {
            return Err(resp.error());
        }
        match resp.header("docker-content-digest") {
            Some(d) if d != digest.as_str() => {
                return Err(Error::Invalid {
                    what: format!("{repo}:{reference}"),
                    message: format!(
                        "registry stored the manifest as {d}, but its bytes hash to {digest}"
                    ),
                });
            }
            _ => {}
        }
        Ok(PushedManifest {
            subject_indexed: resp.header("oci-subject").is_some(),
            digest,
        })
    }

    /// Serialises and pushes an image (or artifact) manifest by digest.
    pub async fn push_image_manifest(
        &self,
        repo: &Repository,
        manifest: &OciImageManifest,
    ) -> Result<PushedManifest> {
        let media_type = manifest
            .media_type
            .clone()
            .unwrap_or_else(|| OCI_IMAGE_MEDIA_TYPE.to_owned());
        let bytes = serde_json::to_vec(manifest).map_err(|e| Error::Invalid {
            what: "manifest".into(),
            message: e.to_string(),
        })?;
        self.push_manifest(repo, &media_type, &bytes).await
    }

    /// Serialises and pushes an index by digest.
    pub async fn push_index(&self, repo: &Repository, index: &OciImageIndex) -> Result<Digest> {
        let media_type = index
            .media_type
            .clone()
            .unwrap_or_else(|| OCI_IMAGE_INDEX_MEDIA_TYPE.to_owned());
        let bytes = serde_json::to_vec(index).map_err(|e| Error::Invalid {
            what: "index".into(),
            message: e.to_string(),
        })?;
        Ok(self.push_manifest(repo, &media_type, &bytes).await?.digest)
    }

    /// Points `tag` at the manifest `digest` of `repo` (its bytes are read, checked and
    /// written under the tag unchanged).
    pub async fn tag(&self, repo: &Repository, digest: &Digest, tag: &str) -> Result<()> {
        let tagged = repo.at_tag(tag).map_err(|e| Error::Invalid {
            what: repo.to_string(),
            message: e.to_string(),
        })?;
        let manifest = self.get_manifest(repo, digest).await?;
        let tag = tagged.tag().unwrap_or(tag);
        self.put_manifest_at(repo, tag, &manifest.media_type, &manifest.bytes)
            .await?;
        Ok(())
    }

    /// `GET /v2/<name>/manifests/<reference>`: the response, or `None` on 404. `what` names
    /// the manifest in a refusal.
    async fn fetch_manifest(
        &self,
        repo: &Repository,
        reference: &str,
        what: &str,
    ) -> Result<Option<crate::http::Response>> {
        let ep = self.endpoint(repo).await?;
        let resp = ep
            .send(
                Request::new(
                    Method::GET,
                    format!("/v2/{}/manifests/{reference}", repo.name()),
                    repo.name(),
                    Pull,
                )
                .header(ACCEPT, MANIFEST_ACCEPT)
                .limit(BodyLimit::manifest(what.to_owned())),
            )
            .await?;
        match resp.status {
            StatusCode::OK => Ok(Some(resp)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(resp.error()),
        }
    }

    /// Reads the manifest a tag points at right now, checked against the registry's digest
    /// header when it sends one. `None` when the tag does not exist.
    pub(crate) async fn get_tagged_manifest(
        &self,
        repo: &Repository,
        tag: &str,
    ) -> Result<Option<Manifest>> {
        let what = format!("{repo}:{tag}");
        let Some(resp) = self.fetch_manifest(repo, tag, &what).await? else {
            return Ok(None);
        };
        let digest = Digest::of(&resp.body);
        if let Some(claimed) = resp
            .header("docker-content-digest")
            .and_then(|d| Digest::parse(d).ok())
        {
            claimed
                .verify(&resp.body)
                .map_err(|mismatch| Error::DigestMismatch {
                    what: what.clone(),
                    mismatch,
                })?;
        }
        parse_manifest(
            &what,
            digest,
            resp.header("content-type"),
            resp.body.to_vec(),
        )
        .map(Some)
    }
}

fn parse_manifest(
    what: &str,
    digest: Digest,
    content_type: Option<&str>,
    bytes: Vec<u8>,
) -> Result<Manifest> {
    let invalid = |message: String| Error::Invalid {
        what: what.to_owned(),
        message,
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("manifest is not json: {e}")))?;
    let declared = value
        .get("mediaType")
        .and_then(|m| m.as_str())
        .map(str::to_owned);
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim().to_owned())
        .filter(|c| !c.is_empty() && c != "application/json" && c != "application/octet-stream");
    let is_index = value.get("manifests").is_some();
    let media_type = header.or(declared).unwrap_or_else(|| {
        if is_index {
            OCI_IMAGE_INDEX_MEDIA_TYPE
        } else {
            OCI_IMAGE_MEDIA_TYPE
        }
        .to_owned()
    });
    let kind = match media_type.as_str() {
        OCI_IMAGE_INDEX_MEDIA_TYPE | IMAGE_MANIFEST_LIST_MEDIA_TYPE => ManifestKind::Index(
            serde_json::from_value(value).map_err(|e| invalid(format!("invalid index: {e}")))?,
        ),
        OCI_IMAGE_MEDIA_TYPE | IMAGE_MANIFEST_MEDIA_TYPE => ManifestKind::Image(Box::new(
            serde_json::from_value(value).map_err(|e| invalid(format!("invalid manifest: {e}")))?,
        )),
        other => return Err(invalid(format!("unsupported manifest media type {other}"))),
    };
    Ok(Manifest {
        digest,
        media_type,
        bytes,
        kind,
    })
}
