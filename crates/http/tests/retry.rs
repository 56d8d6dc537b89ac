//! The retry policy and the size cap against a tiny local HTTP server (a tokio
//! TcpListener answering from a script, one reply per connection).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bitvault_http::{Error, RetryPolicy, Timeouts, client, read_capped};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

enum Reply {
    Status(u16, &'static str),
    Ok(&'static str),
    /// Close the connection without answering.
    Drop,
}

/// Serves `script` in order (the last reply repeats); returns the base URL and the count
/// of requests seen.
async fn serve(script: Vec<Reply>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let n = count.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 8192];
            let mut read = 0;
            // Read the request head; these are bodiless GETs.
            while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf[read..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => read += k,
                }
            }
            let reply = script.get(n).unwrap_or_else(|| script.last().unwrap());
            let text = match reply {
                Reply::Drop => {
                    drop(stream);
                    continue;
                }
                Reply::Status(code, headers) => format!(
                    "HTTP/1.1 {code} X\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
                ),
                Reply::Ok(body) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
            };
            let _ = stream.write_all(text.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (url, seen)
}

fn fast(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
        ..RetryPolicy::default()
    }
}

#[tokio::test]
async fn a_503_then_200_is_retried_honouring_retry_after() {
    let (url, seen) = serve(vec![
        Reply::Status(503, "Retry-After: 1\r\n"),
        Reply::Ok("fine"),
    ])
    .await;
    let http = client("bitvault-http-test", &Timeouts::default()).unwrap();
    let started = Instant::now();
    let resp = fast(3).send(|| http.get(&url)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(read_capped(resp, 100).await.unwrap(), "fine");
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    // Retry-After: 1 is waited for; the policy's own backoff would be 10-13 ms.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let (url, seen) = serve(vec![Reply::Drop, Reply::Ok("after the drop")]).await;
    let http = client("bitvault-http-test", &Timeouts::default()).unwrap();
    let resp = fast(3).send(|| http.get(&url)).await.unwrap();
    assert_eq!(read_capped(resp, 100).await.unwrap(), "after the drop");
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_last_answer_is_returned_after_the_last_attempt() {
    let (url, seen) = serve(vec![Reply::Status(502, "")]).await;
    let http = client("bitvault-http-test", &Timeouts::default()).unwrap();
    let resp = fast(3).send(|| http.get(&url)).await.unwrap();
    assert_eq!(resp.status(), 502);
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (url, seen) = serve(vec![Reply::Status(404, ""), Reply::Ok("never")]).await;
    let http = client("bitvault-http-test", &Timeouts::default()).unwrap();
    let resp = fast(5).send(|| http.get(&url)).await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn connections_dropped_every_time_end_in_a_transport_error() {
    let (url, seen) = serve(vec![Reply::Drop]).await;
    let http = client("bitvault-http-test", &Timeouts::default()).unwrap();
    let err = fast(2).send(|| http.get(&url)).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    assert!(err.to_string().starts_with(&format!("GET {url}/")), "{err}");
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused_naming_it() {
    let (url, _) = serve(vec![Reply::Ok("0123456789")]).await;
    let http = client("bitvault-http-test", &Timeouts::default()).unwrap();
    let resp = fast(1).send(|| http.get(&url)).await.unwrap();
    let err = read_capped(resp, 9).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{url}/: the answer is larger than the 9 bytes accepted")
    );
    let resp = fast(1).send(|| http.get(&url)).await.unwrap();
    assert_eq!(read_capped(resp, 10).await.unwrap(), "0123456789");
}

#[test]
fn block_on_runs_futures_from_several_threads() {
    let sums: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u64)
            .map(|i| {
                s.spawn(move || {
                    bitvault_http::block_on(async move {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        i * 10
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sums, [0, 10, 20, 30]);
}
