//! Reading the final state directly from the registry, past the proxy and past the
//! code under test: a plain HTTP/1.1 GET on a fresh connection.

use std::io::{Read, Write};
use std::net::TcpStream;

use serde_json::Value;

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// The manifest `reference` (tag or digest) of `repo`, or `None` when the registry
/// answers 404.
pub fn manifest(host: &str, repo: &str, reference: &str) -> Option<Value> {
    let mut s = TcpStream::connect(host).unwrap_or_else(|e| panic!("registry {host}: {e}"));
    write!(
        s,
        "GET /v2/{repo}/manifests/{reference} HTTP/1.1\r\nHost: {host}\r\nAccept: {ACCEPT}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("registry answered no HTTP: {text}"));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    match status {
        200 => Some(
            serde_json::from_str(body)
                .unwrap_or_else(|e| panic!("{repo}:{reference}: {e}: {body}")),
        ),
        404 => None,
        _ => panic!("GET {repo}:{reference} answered {status}: {body}"),
    }
}

/// The entries of the `sha256-<hex>` referrers tag index of `digest` (this registry has
/// no referrers API), empty when there is none.
pub fn referrers(host: &str, repo: &str, digest: &str) -> Vec<Value> {
    let tag = digest.replace("sha256:", "sha256-");
    manifest(host, repo, &tag)
        .and_then(|i| i["manifests"].as_array().cloned())
        .unwrap_or_default()
}

/// The layers of the cosign `.sig` manifest of `digest`, empty when there is none.
pub fn sig_layers(host: &str, repo: &str, digest: &str) -> Vec<Value> {
    let tag = format!("{}.sig", digest.replace("sha256:", "sha256-"));
    manifest(host, repo, &tag)
        .and_then(|m| m["layers"].as_array().cloned())
        .unwrap_or_default()
}

/// Counts the referrers of `digest` by artifact type and predicate type, under
/// `prefix`, into `state`.
pub fn count_referrers(
    state: &mut super::table::State,
    prefix: &str,
    host: &str,
    repo: &str,
    digest: &str,
) {
    for r in referrers(host, repo, digest) {
        let kind = r["annotations"]["dev.sigstore.bundle.predicateType"]
            .as_str()
            .or_else(|| r["artifactType"].as_str())
            .unwrap_or("?")
            .to_owned();
        *state
            .entry(format!("{prefix} referrer {kind}"))
            .or_default() += 1;
    }
}
