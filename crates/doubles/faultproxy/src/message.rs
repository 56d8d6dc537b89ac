//! HTTP/1.1 message framing, as raw bytes: a head (start line and headers) and a body
//! read by its framing (length, chunked, or until close), kept byte for byte so it can
//! be forwarded unchanged.

use std::io::{self, BufRead, Read};

/// The most a head may take; beyond that the message is refused.
const MAX_HEAD: usize = 64 * 1024;

/// A message head: the raw bytes, the start line's words, and the headers.
#[derive(Debug)]
pub struct Head {
    pub raw: Vec<u8>,
    /// `METHOD TARGET VERSION` or `VERSION STATUS REASON`.
    pub start: Vec<String>,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// `Connection: close` was sent.
    pub fn wants_close(&self) -> bool {
        self.has_token("connection", "close")
    }

    /// A response's status code (0 when the start line has none).
    pub fn status(&self) -> u16 {
        self.start.get(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }
}

/// How a body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Reads a head; `None` when the peer closed before sending a byte.
pub fn read_head(r: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut raw = Vec::new();
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            if raw.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a message head",
            ));
        }
        raw.extend_from_slice(&line);
        if raw.len() > MAX_HEAD {
            return Err(invalid("message head over 64 KiB"));
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        if text.is_empty() {
            if lines.is_empty() {
                // Tolerate empty lines before a request (RFC 9112 section 2.2).
                raw.clear();
                continue;
            }
            break;
        }
        lines.push(text);
    }
    let start: Vec<String> = lines[0].split_whitespace().map(str::to_owned).collect();
    let headers = lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Some(Head {
        raw,
        start,
        headers,
    }))
}

fn length_or_chunked(head: &Head) -> io::Result<Option<Framing>> {
    if head.has_token("transfer-encoding", "chunked") {
        return Ok(Some(Framing::Chunked));
    }
    match head.header("content-length") {
        Some(v) => v
            .parse()
            .map(|n| Some(Framing::Length(n)))
            .map_err(|_| invalid(format!("bad Content-Length {v:?}"))),
        None => Ok(None),
    }
}

/// The framing of a request's body.
pub fn request_framing(head: &Head) -> io::Result<Framing> {
    Ok(length_or_chunked(head)?.unwrap_or(Framing::Empty))
}

/// The framing of the body of a response to a `method` request.
pub fn response_framing(head: &Head, method: &str) -> io::Result<Framing> {
    let status = head.status();
    if method.eq_ignore_ascii_case("HEAD")
        || (100..200).contains(&status)
        || status == 204
        || status == 304
    {
        return Ok(Framing::Empty);
    }
    Ok(length_or_chunked(head)?.unwrap_or(Framing::UntilClose))
}

/// Reads a body as raw bytes (chunk framing included).
pub fn read_body(r: &mut impl BufRead, framing: Framing) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    match framing {
        Framing::Empty => {}
        Framing::Length(n) => {
            r.take(n).read_to_end(&mut body)?;
            if body.len() as u64 != n {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("body ended after {} of {n} bytes", body.len()),
                ));
            }
        }
        Framing::UntilClose => {
            r.read_to_end(&mut body)?;
        }
        Framing::Chunked => loop {
            let mut line = Vec::new();
            if r.read_until(b'\n', &mut line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a chunked body",
                ));
            }
            body.extend_from_slice(&line);
            let text = String::from_utf8_lossy(&line);
            let size = text.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size, 16)
                .map_err(|_| invalid(format!("bad chunk size {size:?}")))?;
            if size == 0 {
                // Trailers, up to an empty line.
                loop {
                    let mut t = Vec::new();
                    if r.read_until(b'\n', &mut t)? == 0 || t == b"\r\n" || t == b"\n" {
                        body.extend_from_slice(&t);
                        break;
                    }
                    body.extend_from_slice(&t);
                }
                break;
            }
            let mut chunk = Vec::new();
            r.take(size + 2).read_to_end(&mut chunk)?;
            if chunk.len() as u64 != size + 2 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a chunk",
                ));
            }
            body.extend_from_slice(&chunk);
        },
    }
    Ok(body)
}
