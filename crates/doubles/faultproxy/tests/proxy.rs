//! The proxy itself against a tiny upstream on std sockets: what passes, what each
//! fault does to the bytes the client gets, and what the upstream saw.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bitvault_faultproxy::{Fault, FaultProxy};

const BODY: &str = "0123456789";

/// An upstream answering every request with `BODY` (by length, or chunked for paths
/// starting with `/chunked`); counts the requests it answered.
fn upstream() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                loop {
                    let mut start = String::new();
                    if reader.read_line(&mut start).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    seen.fetch_add(1, Ordering::SeqCst);
                    let answer = if start.contains(" /chunked") {
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n".to_string()
                    } else {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{BODY}",
                            BODY.len()
                        )
                    };
                    conn.write_all(answer.as_bytes()).unwrap();
                }
            });
        }
    });
    (host, count)
}

/// Sends one request on a fresh connection and reads everything until the proxy
/// closes (the request asks for `Connection: close`).
fn get(proxy: &FaultProxy, path: &str) -> String {
    let mut s = TcpStream::connect(proxy.host()).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn forwards_and_records_method_and_path() {
    let (host, count) = upstream();
    let proxy = FaultProxy::start(&format!("http://{host}/")).unwrap();
    let answer = get(&proxy, "/v2/app/manifests/v1?x=1");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with(BODY), "{answer}");
    let chunked = get(&proxy, "/chunked");
    assert!(chunked.ends_with("0\r\n\r\n"), "{chunked}");
    let requests = proxy.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].index, 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/v2/app/manifests/v1");
    assert_eq!(requests[1].path, "/chunked");
    assert!(requests.iter().all(|r| r.fault.is_none()));
    assert_eq!(count.load(Ordering::SeqCst), 2);
    assert!(!proxy.fired());
}

#[test]
fn keep_alive_requests_are_counted_one_by_one() {
    let (host, count) = upstream();
    let proxy = FaultProxy::start(&host).unwrap();
    proxy.inject(2, Fault::InternalServerError);
    let mut s = TcpStream::connect(proxy.host()).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    write!(s, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // The rest of the first answer: headers, then the body.
    let mut line = String::new();
    while line != "\r\n" {
        line.clear();
        reader.read_line(&mut line).unwrap();
    }
    let mut body = [0u8; 10];
    reader.read_exact(&mut body).unwrap();
    write!(s, "GET /two HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    assert!(
        rest.starts_with("HTTP/1.1 500 Internal Server Error"),
        "{rest}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1, "the 500 is not forwarded");
    assert_eq!(proxy.requests()[1].fault, Some(Fault::InternalServerError));
    s.shutdown(Shutdown::Both).unwrap();
}

#[test]
fn too_many_requests_says_retry_after_and_is_not_forwarded() {
    let (host, count) = upstream();
    let proxy = FaultProxy::start(&host).unwrap();
    proxy.inject(1, Fault::TooManyRequests);
    let answer = get(&proxy, "/a");
    assert!(
        answer.starts_with("HTTP/1.1 429 Too Many Requests"),
        "{answer}"
    );
    assert!(answer.contains("Retry-After: 1\r\n"), "{answer}");
    assert_eq!(count.load(Ordering::SeqCst), 0);
    assert!(proxy.fired());
    // Once only.
    assert!(get(&proxy, "/a").starts_with("HTTP/1.1 200"));
}

#[test]
fn drop_mid_body_sends_half_the_body_then_closes() {
    let (host, count) = upstream();
    let proxy = FaultProxy::start(&host).unwrap();
    proxy.inject(1, Fault::DropMidBody);
    let answer = get(&proxy, "/a");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n01234"), "{answer:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "the upstream answered");
}

#[test]
fn reset_after_applied_forwards_but_answers_nothing() {
    let (host, count) = upstream();
    let proxy = FaultProxy::start(&host).unwrap();
    proxy.inject(1, Fault::ResetAfterApplied);
    assert_eq!(get(&proxy, "/a"), "");
    assert_eq!(count.load(Ordering::SeqCst), 1, "the upstream applied it");
}

#[test]
fn trickle_delivers_the_whole_answer() {
    let (host, _) = upstream();
    let proxy = FaultProxy::start(&host).unwrap();
    proxy.inject(1, Fault::Trickle);
    let answer = get(&proxy, "/a");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with(BODY), "{answer}");
}

#[test]
fn reset_forgets_requests_and_disarms() {
    let (host, _) = upstream();
    let proxy = FaultProxy::start(&host).unwrap();
    proxy.inject(2, Fault::BadGateway);
    get(&proxy, "/a");
    proxy.reset();
    assert_eq!(proxy.request_count(), 0);
    assert!(get(&proxy, "/a").starts_with("HTTP/1.1 200"));
    assert!(get(&proxy, "/a").starts_with("HTTP/1.1 200"));
    assert_eq!(proxy.request_count(), 2);
}

#[test]
fn an_unresolvable_upstream_is_refused_with_the_forms_to_use() {
    let err = FaultProxy::start("no port here").err().unwrap();
    assert!(
        err.to_string().contains("no port") || err.kind() == std::io::ErrorKind::InvalidInput,
        "{err}"
    );
}
