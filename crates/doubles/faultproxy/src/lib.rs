//! A fault-injecting HTTP/1.1 proxy for tests, at the TCP level.
//!
//! [`FaultProxy::start`] listens on `127.0.0.1:0` and forwards every request to one
//! upstream (a registry, the GitHub double, the local Sigstore stack), byte for byte,
//! over one upstream connection per client connection. It counts the requests it reads
//! (1, 2, ...) and records each one's method and path; [`FaultProxy::inject`] arms one
//! [`Fault`] for one request index. The fault fires once; everything else passes.
//!
//! A dropped connection is a real one: the client gets part of the response bytes and
//! then the socket is shut down.
//!
//! ```no_run
//! use bitvault_faultproxy::{Fault, FaultProxy};
//! let proxy = FaultProxy::start("127.0.0.1:5000").unwrap();
//! proxy.inject(3, Fault::DropMidBody);
//! // ... point a client at proxy.host() ...
//! assert!(proxy.fired());
//! ```

mod conn;
mod fault;
mod message;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

pub use conn::Recorded;
pub use fault::{Fault, TRICKLE_BYTES, TRICKLE_EVERY, TRICKLE_FOR};

/// A running proxy; stops accepting on drop.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<conn::Shared>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`host:port`, or an `http://host:port` URL).
    pub fn start(upstream: &str) -> io::Result<FaultProxy> {
        let upstream = parse_upstream(upstream)?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(conn::Shared {
            upstream,
            seen: Mutex::new(Vec::new()),
            plan: Mutex::new(None),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("faultproxy-accept".into())
                .spawn(move || {
                    for client in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(client) = client else { continue };
                        let shared = Arc::clone(&shared);
                        let _ = std::thread::Builder::new()
                            .name("faultproxy-conn".into())
                            .spawn(move || conn::serve(client, shared));
                    }
                })?
        };
        Ok(FaultProxy {
            addr,
            shared,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// `127.0.0.1:PORT`, for image references.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`, for API URLs.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Arms `fault` for the request with 1-based index `at` (counted since the start or
    /// the last [`reset`](Self::reset)); replaces an armed fault that has not fired.
    pub fn inject(&self, at: usize, fault: Fault) {
        *lock(&self.shared.plan) = Some((at, fault));
    }

    /// Disarms the fault and forgets the requests: the next request is 1 again.
    pub fn reset(&self) {
        let mut seen = lock(&self.shared.seen);
        *lock(&self.shared.plan) = None;
        seen.clear();
    }

    /// Every request seen, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.seen).clone()
    }

    /// How many requests were seen.
    pub fn request_count(&self) -> usize {
        lock(&self.shared.seen).len()
    }

    /// The request the armed fault was injected into, once it fired.
    pub fn fired(&self) -> bool {
        lock(&self.shared.seen).iter().any(|r| r.fault.is_some())
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn parse_upstream(upstream: &str) -> io::Result<SocketAddr> {
    let hostport = upstream
        .strip_prefix("http://")
        .unwrap_or(upstream)
        .trim_end_matches('/');
    hostport.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "upstream {upstream:?} resolves to no address; give host:port or http://host:port"
            ),
        )
    })
}
