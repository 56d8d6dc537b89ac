//! Reading a blob piece by piece (`Range` requests), so a large layer never has to be
//! held in memory whole. The caller checks the digest over the pieces it read
//! (nothing here can, since no piece is the whole blob).

use bytes::Bytes;
use oci_client::RegistryOperation::Pull;
use reqwest::header::RANGE;
use reqwest::{Method, StatusCode};

use crate::client::Client;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::http::Request;
use crate::limits::BodyLimit;
use crate::reference::Repository;

impl Client {
    /// Reads up to `len` bytes of blob `digest` from `offset`. An empty answer means the
    /// end of the blob. Bytes a registry sends past the piece are not read: of a partial
    /// answer only the first `len`, and from registries that ignore `Range` and answer
    /// with the whole blob only its first `offset + len`, out of which the piece is cut.
    ///
    /// The bytes are not digest-checked: hash every piece and compare at the end.
    pub async fn get_blob_range(
        &self,
        repo: &Repository,
        digest: &Digest,
        offset: u64,
        len: u64,
    ) -> Result<Bytes> {
        let ep = self.endpoint(repo).await?;
        let what = format!("blob {digest} in {repo}");
        let end = offset + len.max(1) - 1;
        let resp = ep
            .send(
                Request::new(
                    Method::GET,
                    format!("/v2/{}/blobs/{}", repo.name(), digest),
                    repo.name(),
                    Pull,
                )
                .header(RANGE, &format!("bytes={offset}-{end}"))
                .limit(BodyLimit::truncate(offset.saturating_add(len)))
                .partial(BodyLimit::truncate(len)),
            )
            .await?;
        match resp.status {
            StatusCode::PARTIAL_CONTENT => Ok(resp.body),
            StatusCode::RANGE_NOT_SATISFIABLE => Ok(Bytes::new()),
            StatusCode::OK => {
                let start = (offset as usize).min(resp.body.len());
                let stop = (start + len as usize).min(resp.body.len());
                Ok(resp.body.slice(start..stop))
            }
            StatusCode::NOT_FOUND => Err(Error::NotFound(what)),
            _ => Err(resp.error()),
        }
    }
}
