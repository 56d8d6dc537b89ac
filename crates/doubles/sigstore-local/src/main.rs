//! Run the local Sigstore stack in the foreground, for trying bitvault's
//! signing locally:
//!
//! ```text
//! bitvault-sigstore-local [--trust-config PATH] [--latency-ms N]
//!     [--repository OWNER/REPO] [--workflow PATH] [--ref REF] [--sha SHA]
//!     [--event NAME] [--reusable-workflow OWNER/REPO/PATH@REF]
//! ```
//!
//! The claim flags set what the runner's token endpoint hands out (default: a push
//! to `main` of `acme/app` running `.github/workflows/release.yml`).
//!
//! It writes a ClientTrustConfig to PATH (default `sigstore-local.trust.json`),
//! prints the service URLs, a fresh identity token, and the runner variables
//! that let a signer fetch more; then serves until interrupted.

use std::time::Duration;

use bitvault_sigstore_local::{LocalSigstore, Options, SIGSTORE_AUDIENCE};

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
            ("--repository", Some(v)) => options.claims.repository = v,
            ("--workflow", Some(v)) => options.claims.workflow_path = v,
            ("--ref", Some(v)) => options.claims.git_ref = v,
            ("--sha", Some(v)) => options.claims.sha = v,
            ("--event", Some(v)) => options.claims.event_name = v,
            ("--reusable-workflow", Some(v)) => options.claims.reusable_workflow = Some(v),
            _ => fail(USAGE),
        }
    }
    let claims_given = options.claims.clone();
    let stack = LocalSigstore::start_with(options)
        .unwrap_or_else(|e| fail(&format!("cannot start the stack: {e}")));
    if let Err(e) = std::fs::write(&trust_config, stack.client_trust_config()) {
        fail(&format!("cannot write {trust_config}: {e}"));
    }
    let claims = claims_given;
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

const USAGE: &str = "usage: bitvault-sigstore-local [--trust-config PATH] [--latency-ms N] \
[--repository OWNER/REPO] [--workflow PATH] [--ref REF] [--sha SHA] [--event NAME] \
[--reusable-workflow OWNER/REPO/PATH@REF]";

fn fail(message: &str) -> ! {
    eprintln!("bitvault-sigstore-local: {message}");
    std::process::exit(2);
}
