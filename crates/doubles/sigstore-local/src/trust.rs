//! The stack's trusted root, signing config and ClientTrustConfig, shaped
//! like the public-good instance's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::LocalSigstore;

fn a_day_ago() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(Duration::from_secs(24 * 3600));
    x509_cert::der::DateTime::from_unix_duration(Duration::from_secs(since.as_secs()))
        .expect("date")
        .to_string()
}

fn key(der: &[u8], base_url: &str, log_id: &[u8]) -> Value {
    json!({
        "baseUrl": base_url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": B64.encode(der),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": {"start": a_day_ago()},
        },
        "logId": {"keyId": B64.encode(log_id)},
    })
}

pub(crate) fn trusted_root(stack: &LocalSigstore) -> Value {
    let ca = &stack.state.ca;
    let log = stack.state.log.lock().expect("log");
    json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [key(&log.public_key_der, stack.rekor_url(), &log.log_id)],
        "certificateAuthorities": [{
            "subject": {"organization": "bitvault.local", "commonName": "sigstore-local"},
            "uri": stack.fulcio_url(),
            "certChain": {"certificates": [
                {"rawBytes": B64.encode(&ca.intermediate_der)},
                {"rawBytes": B64.encode(&ca.root_der)},
            ]},
            "validFor": {"start": a_day_ago()},
        }],
        "ctlogs": [key(&ca.ct_log.public_key_der, &format!("{}/ct", stack.fulcio_url()), &ca.ct_log.log_id)],
        "timestampAuthorities": [],
    })
}

fn service(url: &str) -> Value {
    json!({
        "url": url,
        "majorApiVersion": 1,
        "validFor": {"start": a_day_ago()},
        "operator": "bitvault.local",
    })
}

pub(crate) fn signing_config(stack: &LocalSigstore) -> Value {
    json!({
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [service(stack.fulcio_url())],
        "oidcUrls": [service(stack.issuer_url())],
        "rekorTlogUrls": [service(stack.rekor_url())],
        "tsaUrls": [],
        "rekorTlogConfig": {"selector": "ANY"},
        "tsaConfig": {"selector": "ANY"},
    })
}

pub(crate) fn client_trust_config(stack: &LocalSigstore) -> Value {
    json!({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": trusted_root(stack),
        "signingConfig": signing_config(stack),
    })
}
