//! How much of a registry's answer is read: every body has a cap, checked against
//! `Content-Length` before reading and against the bytes streamed in while reading, so a
//! broken or hostile registry cannot make a read hold more than the cap in memory.
//!
//! - Manifests, indexes and referrers pages: [`MAX_MANIFEST_BYTES`], the OCI limit.
//! - Blobs: the size their descriptor gives ([`crate::Client::get_blob_sized`]), or
//!   [`MAX_UNSIZED_BLOB_BYTES`] where the caller has no descriptor.
//! - Error answers (not 2xx): only their first [`MAX_ERROR_BODY_BYTES`], for the message.
//! - Referrers: at most [`MAX_REFERRERS_PAGES`] pages.

use bytes::{Bytes, BytesMut};

/// The largest manifest, index or referrers page read: 4 MiB, the limit the OCI
/// distribution specification lets registries and clients set for manifests.
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// The largest blob read by [`crate::Client::get_blob`], which has no descriptor size to
/// hold the registry to: 64 MiB (configs, signatures, attestations and SBOMs are far
/// smaller). Read layers with [`crate::Client::get_blob_range`].
pub const MAX_UNSIZED_BLOB_BYTES: u64 = 64 * 1024 * 1024;

/// How much of an error answer (not 2xx) is read for the message; the rest is dropped.
pub const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// The most pages of referrers followed through `Link: <…>; rel="next"`.
pub const MAX_REFERRERS_PAGES: usize = 100;

/// What to do with the bytes past the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Over {
    /// The answer is an error: [`Error::TooLarge`](crate::Error::TooLarge).
    Refuse,
    /// Keep the first `max` bytes and drop the connection.
    Truncate,
}

/// The cap on one answer's body and the words for the refusal.
#[derive(Debug, Clone)]
pub(crate) struct BodyLimit {
    pub max: u64,
    pub over: Over,
    /// What the body is: "a manifest", "a blob", "a referrers page".
    pub what: &'static str,
    /// Why this cap: "the OCI limit", "the size its descriptor gives".
    pub why: String,
    /// What was asked for, e.g. the reference.
    pub subject: String,
}

impl BodyLimit {
    /// A manifest or index of `subject`, capped at the OCI limit.
    pub fn manifest(subject: String) -> Self {
        BodyLimit {
            max: MAX_MANIFEST_BYTES,
            over: Over::Refuse,
            what: "a manifest",
            why: "the OCI limit".into(),
            subject,
        }
    }

    /// Any other 2xx answer (to a push, an upload), capped at the OCI limit too.
    pub fn answer(subject: &str) -> Self {
        BodyLimit {
            what: "an answer",
            ..BodyLimit::manifest(subject.to_owned())
        }
    }

    /// A blob of `subject` capped at `max` bytes, for the reason `why`.
    pub fn blob(subject: String, max: u64, why: String) -> Self {
        BodyLimit {
            max,
            over: Over::Refuse,
            what: "a blob",
            why,
            subject,
        }
    }

    /// A body whose bytes past `max` are not needed.
    pub fn truncate(max: u64) -> Self {
        BodyLimit {
            max,
            over: Over::Truncate,
            what: "an answer",
            why: String::new(),
            subject: String::new(),
        }
    }
}

/// Why reading a body stopped.
pub(crate) enum ReadError {
    /// More than the cap, announced by `Content-Length` or streamed.
    TooLarge,
    /// The connection failed mid-body.
    Transport(reqwest::Error),
}

/// Reads the body of `resp` under `limit`: refused at once when `Content-Length` is over
/// the cap, and as soon as the bytes streamed in pass it; or cut at the cap
/// ([`Over::Truncate`]). Never holds more than the cap.
pub(crate) async fn read_body(
    mut resp: reqwest::Response,
    limit: &BodyLimit,
) -> Result<Bytes, ReadError> {
    if limit.over == Over::Refuse && resp.content_length().is_some_and(|n| n > limit.max) {
        return Err(ReadError::TooLarge);
    }
    let max = usize::try_from(limit.max).unwrap_or(usize::MAX);
    let mut body = BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > max {
            match limit.over {
                Over::Refuse => return Err(ReadError::TooLarge),
                Over::Truncate => {
                    body.extend_from_slice(&chunk[..max - body.len()]);
                    break;
                }
            }
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
