//! The wire errors, shared by every module.

/// What can go wrong on the wire, with the method and URL for the message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No answer: connection refused, reset or dropped, timed out, or a broken body.
    #[error("{method} {url}: {message}")]
    Transport {
        method: String,
        url: String,
        message: String,
    },
    /// The answer is larger than the caller accepts.
    #[error("{url}: the answer is larger than the {max} bytes accepted")]
    TooLarge { url: String, max: u64 },
    /// The client could not be built (TLS setup).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// An error and its sources on one line, without repeats.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
