//! A local Sigstore stack for tests: an OIDC issuer shaped like GitHub
//! Actions', Fulcio (v2 API) with a CT log, and Rekor (v1 API), each on its own
//! port of 127.0.0.1 and speaking the real wire protocol, so that real clients
//! (sigstore-python, the `sigstore-*` crates) sign and verify against it.
//!
//! ```no_run
//! use bitvault_sigstore_local::{GithubClaims, LocalSigstore};
//!
//! let stack = LocalSigstore::start()?;
//! let token = stack.mint_token(&GithubClaims::default(), "sigstore");
//! std::fs::write("trust.json", stack.client_trust_config())?;
//! println!("fulcio {} rekor {}", stack.fulcio_url(), stack.rekor_url());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Everything lives in memory and dies with the [`LocalSigstore`] value.

mod ca;
mod oidc;
mod rekor;
mod server;
mod trust;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use ca::LEAF_LIFETIME;
pub use oidc::GithubClaims;

/// How to run the stack.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Added to every request before it is answered, to model a remote
    /// service in benchmarks.
    pub latency: Duration,
    /// The claims of the tokens the runner's token endpoint
    /// (`ACTIONS_ID_TOKEN_REQUEST_URL`) hands out.
    pub claims: GithubClaims,
}

/// A running stack. Dropping it stops the servers.
pub struct LocalSigstore {
    state: Arc<server::State>,
    fulcio_url: String,
    rekor_url: String,
    oidc_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The audience Sigstore clients ask identity tokens for.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";

impl LocalSigstore {
    /// Start the stack with no added latency.
    pub fn start() -> std::io::Result<Self> {
        Self::start_with(Options::default())
    }

    /// Start the stack on three free ports of 127.0.0.1.
    pub fn start_with(options: Options) -> std::io::Result<Self> {
        let bind = || -> std::io::Result<(std::net::TcpListener, String)> {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.set_nonblocking(true)?;
            let url = format!("http://{}", listener.local_addr()?);
            Ok((listener, url))
        };
        let (oidc_l, oidc_url) = bind()?;
        let (fulcio_l, fulcio_url) = bind()?;
        let (rekor_l, rekor_url) = bind()?;
        let state = Arc::new(server::State {
            issuer: oidc::Issuer::new(oidc_url.clone()),
            ca: ca::CertificateAuthority::generate(),
            log: Mutex::new(rekor::Log::new("rekor.bitvault.local")),
            counts: Mutex::new(BTreeMap::new()),
            latency: options.latency,
            claims: options.claims,
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sigstore-local")
            .enable_all()
            .build()?;
        let serving = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("sigstore-local".into())
            .spawn(move || {
                runtime.block_on(async move {
                    for (listener, router) in [
                        (oidc_l, server::oidc_router(Arc::clone(&serving))),
                        (fulcio_l, server::fulcio_router(Arc::clone(&serving))),
                        (rekor_l, server::rekor_router(Arc::clone(&serving))),
                    ] {
                        let listener = tokio::net::TcpListener::from_std(listener)
                            .expect("listener registers with tokio");
                        tokio::spawn(async move {
                            let _ = axum::serve(listener, router).await;
                        });
                    }
                    let _ = rx.await;
                });
                runtime.shutdown_timeout(Duration::from_millis(200));
            })?;
        Ok(Self {
            state,
            fulcio_url,
            rekor_url,
            oidc_url,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// Fulcio's base URL (`POST /api/v2/signingCert`).
    pub fn fulcio_url(&self) -> &str {
        &self.fulcio_url
    }

    /// Rekor's base URL (`/api/v1/log/...`).
    pub fn rekor_url(&self) -> &str {
        &self.rekor_url
    }

    /// The OIDC issuer URL: the `iss` of its tokens, and the base of
    /// `/.well-known/openid-configuration`.
    pub fn issuer_url(&self) -> &str {
        &self.oidc_url
    }

    /// An `ACTIONS_ID_TOKEN_REQUEST_URL` for the issuer: append
    /// `&audience=...` and send [`Self::token_request_token`] as a bearer token.
    pub fn token_request_url(&self) -> String {
        format!("{}/token?api-version=2.0", self.oidc_url)
    }

    /// The `ACTIONS_ID_TOKEN_REQUEST_TOKEN` the token endpoint accepts.
    pub fn token_request_token(&self) -> &str {
        &self.state.issuer.request_token
    }

    /// Mint an identity token with these claims (valid for five minutes).
    pub fn mint_token(&self, claims: &GithubClaims, audience: &str) -> String {
        self.state.issuer.mint(claims, audience)
    }

    /// The trusted root (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`).
    pub fn trusted_root(&self) -> String {
        trust::trusted_root(self).to_string()
    }

    /// The signing config (`application/vnd.dev.sigstore.signingconfig.v0.2+json`).
    pub fn signing_config(&self) -> String {
        trust::signing_config(self).to_string()
    }

    /// A ClientTrustConfig (`application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`)
    /// holding both, for `sigstore --trust-config`.
    pub fn client_trust_config(&self) -> String {
        serde_json::to_string_pretty(&trust::client_trust_config(self)).expect("json")
    }

    /// How many requests an endpoint has answered, by name: `oidc.token`,
    /// `fulcio.signingCert`, `fulcio.trustBundle`, `fulcio.configuration`,
    /// `rekor.createEntry`, `rekor.getEntry`, `rekor.retrieve`, `rekor.log`,
    /// `rekor.publicKey`, `oidc.discovery`, `oidc.jwks`.
    pub fn request_count(&self, endpoint: &str) -> u64 {
        self.requests().get(endpoint).copied().unwrap_or(0)
    }

    /// Every endpoint's request count.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.state
            .counts
            .lock()
            .expect("counts")
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    /// How many entries the transparency log holds.
    pub fn log_size(&self) -> usize {
        self.state.log.lock().expect("log").len()
    }
}

impl Drop for LocalSigstore {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
