//! A hostile registry cannot make the client read without bound: manifests, indexes and
//! referrers pages are capped at the OCI limit, blobs at their descriptor's size, error
//! bodies are cut short, and referrers pages are followed a bounded number of times,
//! never in a loop, never to another host.
//!
//! The server (tiny_http on 127.0.0.1) counts the body bytes it managed to hand to the
//! connection before the client hung up: the proof that a refused body was not read.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitvault_registry::limits::{
    MAX_ERROR_BODY_BYTES, MAX_MANIFEST_BYTES, MAX_REFERRERS_PAGES, MAX_UNSIZED_BLOB_BYTES,
};
use bitvault_registry::{Client, ClientOptions, CredentialStore, Digest, Error, Reference};
use tiny_http::{Header, Response, Server, StatusCode};

const MIB: u64 = 1024 * 1024;
/// What a hostile registry offers to send when it means "without end".
const ENDLESS: u64 = 1024 * MIB;
/// Room for what the kernel's socket buffers and the client's read buffer take in
/// before the client hangs up; far below [`ENDLESS`].
const IN_FLIGHT: u64 = 48 * MIB;
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// How a body is framed on the wire.
#[derive(Clone, Copy, Debug)]
enum Framing {
    ContentLength,
    Chunked,
}

/// One answer of the hostile server.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

enum Body {
    Bytes(Vec<u8>),
    /// `len` spaces, generated as they are sent.
    Filler {
        len: u64,
        framing: Framing,
    },
}

impl Answer {
    fn ok(body: Body) -> Answer {
        Answer {
            status: 200,
            headers: Vec::new(),
            body,
        }
    }

    fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Spaces, counted as the server hands them to the connection.
struct Filler {
    left: u64,
    sent: Arc<AtomicU64>,
}

impl Read for Filler {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        buf[..n].fill(b' ');
        self.left -= n as u64;
        self.sent.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
}

struct Hostile {
    host: String,
    /// `url` of every request seen, in order.
    requests: Arc<Mutex<Vec<String>>>,
    /// (url, body bytes sent) of every answer, once it is over.
    served: Mutex<Receiver<(String, u64)>>,
}

impl Hostile {
    fn start(handler: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Hostile {
        let server = Server::http("127.0.0.1:0").unwrap();
        let host = server.server_addr().to_ip().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx): (Sender<(String, u64)>, _) = channel();
        let seen = requests.clone();
        let handler = Arc::new(handler);
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let url = request.url().to_owned();
                if url != "/v2/" {
                    seen.lock().unwrap().push(url.clone());
                }
                let (handler, tx) = (handler.clone(), tx.clone());
                // One thread per answer: a client that stops reading must not stall others.
                std::thread::spawn(move || {
                    let answer = if url == "/v2/" {
                        Answer::ok(Body::Bytes(Vec::new()))
                    } else {
                        handler(&url)
                    };
                    let sent = Arc::new(AtomicU64::new(0));
                    let headers: Vec<Header> = answer
                        .headers
                        .iter()
                        .map(|(k, v)| Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap())
                        .collect();
                    let status = StatusCode(answer.status);
                    // The client hanging up makes `respond` fail: that is the point.
                    let _ = match answer.body {
                        Body::Bytes(b) => {
                            sent.store(b.len() as u64, Ordering::SeqCst);
                            let len = b.len();
                            request.respond(
                                Response::new(status, headers, &b[..], Some(len), None)
                                    .with_chunked_threshold(usize::MAX),
                            )
                        }
                        Body::Filler { len, framing } => {
                            let filler = Filler {
                                left: len,
                                sent: sent.clone(),
                            };
                            let response = match framing {
                                Framing::ContentLength => Response::new(
                                    status,
                                    headers,
                                    filler,
                                    Some(usize::try_from(len).unwrap()),
                                    None,
                                )
                                .with_chunked_threshold(usize::MAX),
                                Framing::Chunked => {
                                    Response::new(status, headers, filler, None, None)
                                }
                            };
                            request.respond(response)
                        }
                    };
                    let _ = tx.send((url, sent.load(Ordering::SeqCst)));
                });
            }
        });
        Hostile {
            host,
            requests,
            served: Mutex::new(rx),
        }
    }

    /// The body bytes the server sent for the first answer to a URL starting with
    /// `prefix`, once that answer is over (the client read it all or hung up). Blocks: the
    /// tests run on a multi-thread runtime, whose workers drive the client's connections.
    fn sent_for(&self, prefix: &str) -> u64 {
        let served = self.served.lock().unwrap();
        loop {
            let (url, sent) = served
                .recv_timeout(Duration::from_secs(120))
                .expect("the server is still sending: the client kept reading");
            if url.starts_with(prefix) {
                return sent;
            }
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    fn reference(&self, digest: &Digest) -> Reference {
        Reference::parse(&format!("{}/hostile/app@{digest}", self.host)).unwrap()
    }
}

fn client() -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(ClientOptions {
        credentials: CredentialStore::new().with_docker_config_dir(dir.path()),
        ..ClientOptions::default()
    })
    .unwrap();
    (dir, client)
}

fn filler(len: u64, framing: Framing) -> Body {
    Body::Filler { len, framing }
}

/// Asks `server` for a manifest and returns the refusal and the bytes sent.
async fn read_manifest(server: &Hostile) -> (String, u64) {
    let (_dir, client) = client();
    let digest = Digest::of(b"a manifest");
    let r = server.reference(&digest);
    let err = client
        .get_manifest(r.repository(), &digest)
        .await
        .unwrap_err();
    let sent = server.sent_for("/v2/hostile/app/manifests/");
    (err.to_string(), sent)
}

fn manifest_refusal(server: &Hostile) -> String {
    let digest = Digest::of(b"a manifest");
    format!(
        "registry {host} answered a manifest of more than {MAX_MANIFEST_BYTES} bytes (the OCI limit) for {host}/hostile/app@{digest}; refusing to read it",
        host = server.host
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5_mib_manifest_is_refused_naming_the_oci_limit_with_or_without_content_length() {
    for framing in [Framing::ContentLength, Framing::Chunked] {
        let server = Hostile::start(move |_| Answer::ok(filler(5 * MIB, framing)));
        let (err, sent) = read_manifest(&server).await;
        assert!(
            err.starts_with(&manifest_refusal(&server)),
            "{framing:?}: {err}"
        );
        assert!(sent <= 5 * MIB, "{framing:?}: {sent}");
        assert_eq!(MAX_MANIFEST_BYTES, 4 * MIB);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_announcing_1_gib_is_refused_before_its_body_is_read() {
    let server = Hostile::start(|_| Answer::ok(filler(ENDLESS, Framing::ContentLength)));
    let (err, sent) = read_manifest(&server).await;
    assert!(err.starts_with(&manifest_refusal(&server)), "{err}");
    // Refused on Content-Length: what was sent is only what the sockets took in.
    assert!(sent < IN_FLIGHT, "the server sent {sent} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_manifest_without_end_is_refused_once_past_the_limit() {
    let server = Hostile::start(|_| Answer::ok(filler(ENDLESS, Framing::Chunked)));
    let (err, sent) = read_manifest(&server).await;
    assert!(err.starts_with(&manifest_refusal(&server)), "{err}");
    // No length announced: the client read up to the limit, then hung up.
    assert!(sent > MAX_MANIFEST_BYTES, "the server sent {sent} bytes");
    assert!(
        sent < MAX_MANIFEST_BYTES + IN_FLIGHT,
        "the server sent {sent} bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_resolved_from_a_huge_manifest_is_refused() {
    // HEAD without a digest header makes resolve hash the GET: capped too.
    let server = Hostile::start(|_| Answer::ok(filler(ENDLESS, Framing::Chunked)));
    let (_dir, client) = client();
    let r = Reference::parse(&format!("{}/hostile/app:v1", server.host)).unwrap();
    let err = client.resolve(&r).await.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "registry {} answered a manifest of more than {MAX_MANIFEST_BYTES} bytes (the OCI limit) for {}/hostile/app:v1;",
            server.host, server.host
        )),
        "{err}"
    );
}

fn blob_refusal(server: &Hostile, digest: &Digest, max: u64, why: &str) -> String {
    format!(
        "registry {host} answered a blob of more than {max} bytes ({why}) for blob {digest} in {host}/hostile/app; refusing to read it",
        host = server.host
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_larger_than_its_descriptor_is_refused() {
    let data = vec![b'x'; 5000];
    let digest = Digest::of(&data);
    for framing in [Framing::ContentLength, Framing::Chunked] {
        let server = Hostile::start(move |_| Answer::ok(filler(5000, framing)));
        let (_dir, client) = client();
        let r = server.reference(&digest);
        let err = client
            .get_blob_sized(r.repository(), &digest, 1000)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::TooLarge { max: 1000, .. }), "{err:?}");
        let want = blob_refusal(&server, &digest, 1000, "the size its descriptor gives");
        assert!(err.to_string().starts_with(&want), "{framing:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_without_end_is_refused_past_its_descriptor_size() {
    let digest = Digest::of(b"one MiB");
    for framing in [Framing::ContentLength, Framing::Chunked] {
        let server = Hostile::start(move |_| Answer::ok(filler(ENDLESS, framing)));
        let (_dir, client) = client();
        let r = server.reference(&digest);
        let err = client
            .get_blob_sized(r.repository(), &digest, MIB)
            .await
            .unwrap_err()
            .to_string();
        let sent = server.sent_for("/v2/hostile/app/blobs/");
        let want = blob_refusal(&server, &digest, MIB, "the size its descriptor gives");
        assert!(err.starts_with(&want), "{framing:?}: {err}");
        assert!(
            sent < MIB + IN_FLIGHT,
            "{framing:?}: the server sent {sent}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_read_without_its_size_is_capped_too() {
    let digest = Digest::of(b"unsized");
    let server = Hostile::start(|_| Answer::ok(filler(ENDLESS, Framing::Chunked)));
    let (_dir, client) = client();
    let r = server.reference(&digest);
    let err = client
        .get_blob(r.repository(), &digest)
        .await
        .unwrap_err()
        .to_string();
    let sent = server.sent_for("/v2/hostile/app/blobs/");
    let want = blob_refusal(
        &server,
        &digest,
        MAX_UNSIZED_BLOB_BYTES,
        "the limit for a blob read without its descriptor's size",
    );
    assert!(err.starts_with(&want), "{err}");
    assert!(sent > MAX_UNSIZED_BLOB_BYTES, "the server sent {sent}");
    assert!(
        sent < MAX_UNSIZED_BLOB_BYTES + IN_FLIGHT,
        "the server sent {sent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_of_its_descriptor_size_is_read_and_a_shorter_one_refused() {
    let data = b"exactly these bytes".to_vec();
    let digest = Digest::of(&data);
    let body = data.clone();
    let server = Hostile::start(move |_| Answer::ok(Body::Bytes(body.clone())));
    let (_dir, client) = client();
    let r = server.reference(&digest);
    let size = data.len() as u64;
    assert_eq!(
        client
            .get_blob_sized(r.repository(), &digest, size)
            .await
            .unwrap(),
        data
    );
    assert_eq!(
        client.get_blob(r.repository(), &digest).await.unwrap(),
        data
    );
    let err = client
        .get_blob_sized(r.repository(), &digest, size + 1)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "it is {size} bytes, but its descriptor gives {}",
            size + 1
        )),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_body_is_cut_short_not_read_whole() {
    let server = Hostile::start(|_| Answer {
        status: 400,
        headers: Vec::new(),
        body: filler(ENDLESS, Framing::Chunked),
    });
    let (_dir, client) = client();
    let digest = Digest::of(b"a manifest");
    let r = server.reference(&digest);
    let err = client
        .get_manifest(r.repository(), &digest)
        .await
        .unwrap_err();
    let sent = server.sent_for("/v2/hostile/app/manifests/");
    // Not a size error: the status is what the caller needs, the body only decorates it.
    assert!(matches!(err, Error::Status { status: 400, .. }), "{err:?}");
    assert!(sent >= MAX_ERROR_BODY_BYTES, "the server sent {sent}");
    assert!(
        sent < MAX_ERROR_BODY_BYTES + IN_FLIGHT,
        "the server sent {sent}"
    );
}

/// An OCI index listing one artifact, `n`.
fn referrers_page(n: usize) -> Vec<u8> {
    let digest = Digest::of(format!("artifact {n}").as_bytes());
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":{n},"artifactType":"application/spdx+json"}}]}}"#
    )
    .into_bytes()
}

fn subject() -> Digest {
    Digest::of(b"subject")
}

fn referrers_path() -> String {
    format!("/v2/hostile/app/referrers/{}", subject())
}

/// The referrers error of `server`, whose pages link as `link` says.
async fn referrers_error(server: &Hostile) -> String {
    let (_dir, client) = client();
    let r = server.reference(&subject());
    client
        .referrers(r.repository(), &subject(), None)
        .await
        .unwrap_err()
        .to_string()
}

fn page_answer(n: usize, next: Option<String>) -> Answer {
    let answer = Answer::ok(Body::Bytes(referrers_page(n))).header("Content-Type", INDEX);
    match next {
        Some(link) => answer.header("Link", &format!("<{link}>; rel=\"next\"")),
        None => answer,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referrers_link_to_the_page_itself_is_a_loop() {
    let server = Hostile::start(|url| page_answer(0, Some(url.to_owned())));
    let err = referrers_error(&server).await;
    assert!(
        err.starts_with(&format!(
            "referrers of {} in {}/hostile/app: the Link rel=\"next\" of page 1 leads back to {}, a page already read: a pagination loop; refusing to follow it",
            subject(),
            server.host,
            referrers_path()
        )),
        "{err}"
    );
    assert_eq!(server.requests(), vec![referrers_path()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referrers_link_back_to_an_earlier_page_is_a_loop() {
    // Page 1 links to page 2 (an absolute URL on the same registry), page 2 back to 1.
    let host = Arc::new(Mutex::new(String::new()));
    let h = host.clone();
    let server = Hostile::start(move |url| {
        if url.ends_with("?last=1") {
            page_answer(1, Some(referrers_path()))
        } else {
            let link = format!("http://{}{}?last=1", h.lock().unwrap(), referrers_path());
            page_answer(0, Some(link))
        }
    });
    *host.lock().unwrap() = server.host.clone();
    let err = referrers_error(&server).await;
    assert!(err.contains("a pagination loop"), "{err}");
    assert_eq!(
        server.requests(),
        vec![referrers_path(), format!("{}?last=1", referrers_path())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_chain_of_referrers_pages_stops_at_the_limit() {
    let server = Hostile::start(|url| {
        let n: usize = url
            .rsplit_once("?page=")
            .map_or(0, |(_, n)| n.parse().unwrap());
        page_answer(n, Some(format!("{}?page={}", referrers_path(), n + 1)))
    });
    let err = referrers_error(&server).await;
    assert!(
        err.contains(&format!(
            "the registry lists more than {MAX_REFERRERS_PAGES} pages of referrers (the limit); refusing to read further"
        )),
        "{err}"
    );
    assert_eq!(MAX_REFERRERS_PAGES, 100);
    assert_eq!(server.requests().len(), MAX_REFERRERS_PAGES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referrers_link_to_another_host_is_not_followed() {
    let elsewhere = Hostile::start(|_| page_answer(1, None));
    let target = format!("http://{}{}?last=1", elsewhere.host, referrers_path());
    let server = Hostile::start(move |_| page_answer(0, Some(target.clone())));
    let err = referrers_error(&server).await;
    assert!(
        err.contains("refusing to follow it to another host"),
        "{err}"
    );
    assert!(err.contains(&elsewhere.host), "{err}");
    assert!(elsewhere.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_referrers_page_is_refused_naming_the_oci_limit() {
    let server = Hostile::start(|_| {
        Answer::ok(filler(ENDLESS, Framing::Chunked)).header("Content-Type", INDEX)
    });
    let err = referrers_error(&server).await;
    assert!(
        err.starts_with(&format!(
            "registry {host} answered a referrers page of more than {MAX_MANIFEST_BYTES} bytes (the OCI limit) for referrers of {} in {host}/hostile/app; refusing to read it",
            subject(),
            host = server.host
        )),
        "{err}"
    );
    let sent = server.sent_for("/v2/hostile/app/referrers/");
    assert!(
        sent < MAX_MANIFEST_BYTES + IN_FLIGHT,
        "the server sent {sent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrers_pages_are_followed_to_the_last() {
    let server = Hostile::start(|url| {
        let n: usize = url
            .rsplit_once("?page=")
            .map_or(0, |(_, n)| n.parse().unwrap());
        let next = (n < 4).then(|| format!("{}?page={}", referrers_path(), n + 1));
        page_answer(n, next)
    });
    let (_dir, client) = client();
    let r = server.reference(&subject());
    let referrers = client
        .referrers(r.repository(), &subject(), None)
        .await
        .unwrap();
    let sizes: Vec<i64> = referrers.manifests.iter().map(|m| m.size).collect();
    assert_eq!(sizes, vec![0, 1, 2, 3, 4]);
    assert_eq!(server.requests().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_read_takes_only_the_piece_asked_for() {
    let digest = Digest::of(b"a layer");
    // 206 with more than asked, and 200 (Range ignored) with a blob without end.
    for status in [206, 200] {
        let server = Hostile::start(move |_| Answer {
            status,
            headers: Vec::new(),
            body: filler(ENDLESS, Framing::Chunked),
        });
        let (_dir, client) = client();
        let r = server.reference(&digest);
        let piece = client
            .get_blob_range(r.repository(), &digest, 0, MIB)
            .await
            .unwrap();
        let sent = server.sent_for("/v2/hostile/app/blobs/");
        assert_eq!(piece.len() as u64, MIB, "http {status}");
        assert!(
            sent < MIB + IN_FLIGHT,
            "http {status}: the server sent {sent}"
        );
    }
}
