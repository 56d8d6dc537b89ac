//! Response bodies with a size cap.

use bytes::{Bytes, BytesMut};

use crate::error::{Error, error_chain};

/// Reads the whole body of `resp`, refusing more than `max` bytes: at once when the
/// announced `Content-Length` is larger, else as soon as the bytes read pass it.
pub async fn read_capped(mut resp: reqwest::Response, max: u64) -> Result<Bytes, Error> {
    let url = resp.url().to_string();
    let too_large = || Error::TooLarge {
        url: url.clone(),
        max,
    };
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    loop {
        let chunk = resp.chunk().await.map_err(|e| Error::Transport {
            method: "GET".into(),
            url: url.clone(),
            message: format!("reading the answer: {}", error_chain(&e)),
        })?;
        let Some(chunk) = chunk else { break };
        if body.len() as u64 + chunk.len() as u64 > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
