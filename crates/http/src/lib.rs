//! The one HTTP stack of the workspace, under the registry, Sigstore, OIDC, octo-sts
//! and (through octocrab's own client) GitHub calls.
//!
//! - [`client`]: a reqwest client on rustls with the ring provider (no aws-lc), with
//!   connect, read and whole-request timeouts ([`Timeouts`]).
//! - [`RetryPolicy`]: the one retry policy. 429, 5xx (but 501 and 505) and dropped or
//!   reset connections are retried with capped exponential backoff and real jitter,
//!   honouring `Retry-After` in seconds or as an HTTP date, within a number of
//!   attempts and an overall deadline. [`RetryPolicy::send`] runs a request under it;
//!   [`Attempts`] is the same policy as a loop for callers with their own (auth
//!   refresh, for example).
//! - [`read_capped`]: a response body, refused past a size cap that the error names.
//! - [`percent_encode`]: the one percent-encoder, for path segments and query values.
//! - [`block_on`]: the one tokio runtime entry point for the synchronous actions.
//!
//! ```no_run
//! use bitvault_http::{RetryPolicy, Timeouts, block_on, client, percent_encode, read_capped};
//!
//! let http = client("bitvault-example", &Timeouts::default())?;
//! let url = format!("https://example.com/search?q={}", percent_encode("a b/c"));
//! let body = block_on(async {
//!     let resp = RetryPolicy::default().send(|| http.get(&url)).await?;
//!     read_capped(resp, 1 << 20).await
//! })?;
//! # let _ = body;
//! # Ok::<(), bitvault_http::Error>(())
//! ```

mod body;
mod encode;
mod error;
mod retry;
mod runtime;

use std::time::Duration;

pub use body::read_capped;
pub use encode::{percent_encode, percent_encode_keeping};
pub use error::{Error, error_chain};
pub use retry::{Attempts, RetryPolicy, is_retryable_error, is_retryable_status, retry_after};
pub use runtime::{block_on, runtime};

/// How long to wait for a connection, for each read, and for a whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP (and TLS) connection.
    pub connect: Duration,
    /// Between two reads of the answer.
    pub read: Duration,
    /// The whole request, answer body included; `None` for no limit (large uploads).
    pub request: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            read: Duration::from_secs(120),
            request: None,
        }
    }
}

/// Installs ring as rustls' process-wide provider unless one is installed already.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing the race to another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A client builder with the TLS provider installed and the timeouts set, for callers
/// that need more (redirect policy, default headers).
pub fn client_builder(user_agent: &str, timeouts: &Timeouts) -> reqwest::ClientBuilder {
    ensure_crypto_provider();
    let builder = reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.read);
    match timeouts.request {
        Some(t) => builder.timeout(t),
        None => builder,
    }
}

/// A client: rustls with ring, the given user agent and timeouts.
pub fn client(user_agent: &str, timeouts: &Timeouts) -> Result<reqwest::Client, Error> {
    client_builder(user_agent, timeouts)
        .build()
        .map_err(|e| Error::Client(error_chain(&e)))
}

/// Whether `url` may carry a token: https, or http to a loopback host (127.0.0.1, ::1,
/// localhost) for local test servers. The error says which input to fix.
pub fn require_https(input: &str, url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "input `{input}`: {url:?} is not a URL; give an https:// URL"
        ));
    };
    if scheme.eq_ignore_ascii_case("https") {
        return Ok(());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let loopback = matches!(
        host.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "::1" | "localhost"
    );
    if scheme.eq_ignore_ascii_case("http") && loopback {
        return Ok(());
    }
    Err(format!(
        "input `{input}`: {url:?} would send a token over {scheme}; use an https:// URL (plain http is accepted only on loopback: 127.0.0.1, ::1, localhost)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_go_over_https_or_loopback_only() {
        for ok in [
            "https://api.github.com",
            "HTTPS://ghe.example/api/v3",
            "http://127.0.0.1:8080",
            "http://localhost/x",
            "http://[::1]:9/",
        ] {
            assert_eq!(require_https("github-api-url", ok), Ok(()), "{ok}");
        }
        assert_eq!(
            require_https("sts-endpoint", "http://octo-sts.dev").unwrap_err(),
            "input `sts-endpoint`: \"http://octo-sts.dev\" would send a token over http; use an https:// URL (plain http is accepted only on loopback: 127.0.0.1, ::1, localhost)"
        );
        assert!(require_https("x", "http://127.0.0.1.evil.example/").is_err());
        assert!(require_https("x", "http://localhost@evil.example/").is_err());
        assert!(require_https("x", "ftp://127.0.0.1/").is_err());
        assert!(
            require_https("x", "octo-sts.dev")
                .unwrap_err()
                .contains("not a URL")
        );
    }
}
