//! The faults the proxy can inject, one at a time, at a chosen request.

use std::fmt;
use std::time::Duration;

/// One fault, injected into the answer to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The request is forwarded and answered upstream; the client gets half of the
    /// response (status line and headers, then half of the body, or half of the head
    /// when the body is empty) and the connection is closed.
    DropMidBody,
    /// Not forwarded: `429 Too Many Requests` with `Retry-After: 1`.
    TooManyRequests,
    /// Not forwarded: `500 Internal Server Error`.
    InternalServerError,
    /// Not forwarded: `502 Bad Gateway`.
    BadGateway,
    /// Not forwarded: `503 Service Unavailable`.
    ServiceUnavailable,
    /// Forwarded; the response is sent [`TRICKLE_BYTES`] bytes every [`TRICKLE_EVERY`]
    /// for at most [`TRICKLE_FOR`], then the rest at once. The connection stays usable.
    Trickle,
    /// Forwarded and fully answered upstream (so the upstream applied it), then the
    /// connection is closed without a byte of the answer.
    ResetAfterApplied,
}

/// Bytes per tick of [`Fault::Trickle`].
pub const TRICKLE_BYTES: usize = 4;
/// Tick of [`Fault::Trickle`].
pub const TRICKLE_EVERY: Duration = Duration::from_millis(50);
/// How long [`Fault::Trickle`] trickles before it sends the rest.
pub const TRICKLE_FOR: Duration = Duration::from_millis(1000);

impl Fault {
    /// Every fault, in a fixed order (for tables).
    pub const ALL: [Fault; 7] = [
        Fault::DropMidBody,
        Fault::TooManyRequests,
        Fault::InternalServerError,
        Fault::BadGateway,
        Fault::ServiceUnavailable,
        Fault::Trickle,
        Fault::ResetAfterApplied,
    ];

    /// The status the proxy answers with itself (the request is not forwarded).
    pub fn status(self) -> Option<(u16, &'static str)> {
        match self {
            Fault::TooManyRequests => Some((429, "Too Many Requests")),
            Fault::InternalServerError => Some((500, "Internal Server Error")),
            Fault::BadGateway => Some((502, "Bad Gateway")),
            Fault::ServiceUnavailable => Some((503, "Service Unavailable")),
            _ => None,
        }
    }

    /// A short name: `drop-mid-body`, `429`, `500`, `502`, `503`, `trickle`,
    /// `reset-after-applied`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::DropMidBody => "drop-mid-body",
            Fault::TooManyRequests => "429",
            Fault::InternalServerError => "500",
            Fault::BadGateway => "502",
            Fault::ServiceUnavailable => "503",
            Fault::Trickle => "trickle",
            Fault::ResetAfterApplied => "reset-after-applied",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
