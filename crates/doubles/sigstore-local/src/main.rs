//! Run the local Sigstore stack in the foreground, for trying bitvault's
//! signing locally:
//!
//! ```text
//! bitvault-sigstore-local [--trust-config PATH] [--latency-ms N]
//! ```
//!
//! It writes a ClientTrustConfig to PATH (default `sigstore-local.trust.json`),
//! prints the service URLs, a fresh identity token, and the runner variables
//! that let a signer fetch more; then serves until interrupted.

use std::time::Duration;

use bitvault_sigstore_local::{GithubClaims, LocalSigstore, Options, SIGSTORE_AUDIENCE};

fn main() {
    let mut trust_config = String::from("sigstore-local.trust.json");
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--trust-config", Some(path)) => trust_config = path,
            ("--latency-ms", Some(ms)) => match ms.parse() {
                Ok(ms) => options.latency = Duration::from_millis(ms),
                Err(_) => fail(&format!("--latency-ms takes a number, got {ms:?}")),
            },
            _ => fail("usage: bitvault-sigstore-local [--trust-config PATH] [--latency-ms N]"),
        }
    }
    let stack = LocalSigstore::start_with(options)
        .unwrap_or_else(|e| fail(&format!("cannot start the stack: {e}")));
    if let Err(e) = std::fs::write(&trust_config, stack.client_trust_config()) {
        fail(&format!("cannot write {trust_config}: {e}"));
    }
    let claims = GithubClaims::default();
    println!("trust config  {trust_config}");
    println!("oidc issuer   {}", stack.issuer_url());
    println!("fulcio        {}", stack.fulcio_url());
    println!("rekor         {}", stack.rekor_url());
    println!("identity      {}", claims.identity());
    println!("ACTIONS_ID_TOKEN_REQUEST_URL={}", stack.token_request_url());
    println!(
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN={}",
        stack.token_request_token()
    );
    println!("identity token (5 minutes):");
    println!("{}", stack.mint_token(&claims, SIGSTORE_AUDIENCE));
    loop {
        std::thread::park();
    }
}

fn fail(message: &str) -> ! {
    eprintln!("bitvault-sigstore-local: {message}");
    std::process::exit(2);
}
