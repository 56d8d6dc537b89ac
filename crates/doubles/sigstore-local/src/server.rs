//! The HTTP endpoints of the three services.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State as Axum};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use p256::ecdsa::signature::Verifier as _;
use serde_json::{Value, json};
use x509_cert::der::{Decode as _, Encode as _};

use crate::ca::{CertificateAuthority, LeafProfile, cert_pem};
use crate::oidc::Issuer;
use crate::rekor::{Log, Rejected};

pub(crate) struct State {
    pub issuer: Issuer,
    pub ca: CertificateAuthority,
    pub log: Mutex<Log>,
    pub counts: Mutex<BTreeMap<&'static str, u64>>,
    pub latency: Duration,
    pub claims: crate::GithubClaims,
}

type Shared = Arc<State>;

impl State {
    async fn hit(&self, endpoint: &'static str) {
        *self
            .counts
            .lock()
            .expect("counts")
            .entry(endpoint)
            .or_default() += 1;
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    (
        status,
        Json(json!({"code": status.as_u16(), "message": message})),
    )
        .into_response()
}

// ---- OIDC issuer -------------------------------------------------------

pub(crate) fn oidc_router(state: Shared) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks", get(jwks))
        .route("/token", get(token))
        .with_state(state)
}

async fn discovery(Axum(s): Axum<Shared>) -> Json<Value> {
    s.hit("oidc.discovery").await;
    Json(s.issuer.discovery())
}

async fn jwks(Axum(s): Axum<Shared>) -> Json<Value> {
    s.hit("oidc.jwks").await;
    Json(s.issuer.jwks())
}

async fn token(
    Axum(s): Axum<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    s.hit("oidc.token").await;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(s.issuer.request_token.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "bad request token");
    }
    let audience = query
        .get("audience")
        .map(String::as_str)
        .unwrap_or(crate::SIGSTORE_AUDIENCE);
    Json(json!({"value": s.issuer.mint(&s.claims, audience)})).into_response()
}

// ---- Fulcio --------------------------------------------------------------

pub(crate) fn fulcio_router(state: Shared) -> Router {
    Router::new()
        .route("/api/v2/signingCert", post(signing_cert))
        .route("/api/v2/trustBundle", get(trust_bundle))
        .route("/api/v2/configuration", get(configuration))
        .with_state(state)
}

async fn trust_bundle(Axum(s): Axum<Shared>) -> Json<Value> {
    s.hit("fulcio.trustBundle").await;
    Json(json!({"chains": [{"certificates": [
        cert_pem(&s.ca.intermediate_der),
        cert_pem(&s.ca.root_der),
    ]}]}))
}

async fn configuration(Axum(s): Axum<Shared>) -> Json<Value> {
    s.hit("fulcio.configuration").await;
    Json(json!({"issuers": [{
        "issuerUrl": s.issuer.url,
        "audience": crate::SIGSTORE_AUDIENCE,
        "challengeClaim": "sub",
        "issuerType": "github-workflow",
    }]}))
}

fn pem_body(pem: &str) -> Result<Vec<u8>, String> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    B64.decode(body.trim())
        .map_err(|e| format!("PEM is not base64: {e}"))
}

/// The public key (SPKI DER) a request proves possession of.
fn requested_key(body: &Value, subject: &str) -> Result<Vec<u8>, String> {
    if let Some(csr) = body["certificateSigningRequest"].as_str() {
        // sigstore-python sends a CSR: base64 of its PEM.
        let pem = B64
            .decode(csr)
            .map_err(|e| format!("certificateSigningRequest is not base64: {e}"))?;
        let der = pem_body(&String::from_utf8_lossy(&pem))?;
        let req = x509_cert::request::CertReq::from_der(&der)
            .map_err(|e| format!("certificateSigningRequest is not PKCS#10: {e}"))?;
        let spki = req.info.public_key.to_der().map_err(|e| e.to_string())?;
        let key = p256_key(&spki)?;
        let signed = req.info.to_der().map_err(|e| e.to_string())?;
        let sig = p256::ecdsa::Signature::from_der(req.signature.raw_bytes())
            .map_err(|e| format!("CSR signature: {e}"))?;
        key.verify(&signed, &sig)
            .map_err(|_| "CSR signature does not verify".to_string())?;
        return Ok(spki);
    }
    let request = &body["publicKeyRequest"];
    let pem = request["publicKey"]["content"]
        .as_str()
        .ok_or("publicKeyRequest.publicKey.content is missing")?;
    let spki = pem_body(pem)?;
    let key = p256_key(&spki)?;
    let pop = B64
        .decode(request["proofOfPossession"].as_str().unwrap_or_default())
        .map_err(|e| format!("proofOfPossession is not base64: {e}"))?;
    let sig = p256::ecdsa::Signature::from_der(&pop)
        .map_err(|e| format!("proofOfPossession is not a DER ECDSA signature: {e}"))?;
    key.verify(subject.as_bytes(), &sig).map_err(|_| {
        "proofOfPossession does not verify: sign the token's sub claim with the key".to_string()
    })?;
    Ok(spki)
}

fn p256_key(spki: &[u8]) -> Result<p256::ecdsa::VerifyingKey, String> {
    <p256::ecdsa::VerifyingKey as p256::pkcs8::DecodePublicKey>::from_public_key_der(spki)
        .map_err(|e| format!("only ECDSA P-256 public keys are supported: {e}"))
}

fn profile(claims: &serde_json::Map<String, Value>) -> Result<LeafProfile, String> {
    let claim = |name: &str| -> Result<String, String> {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("identity token is missing the {name} claim"))
    };
    let gh = |path: String| format!("https://github.com/{path}");
    let iss = claim("iss")?;
    let repository = claim("repository")?;
    let sha = claim("sha")?;
    let git_ref = claim("ref")?;
    let event = claim("event_name")?;
    let job_workflow_ref = claim("job_workflow_ref")?;
    let extensions = vec![
        (1, iss.clone()),
        (2, event.clone()),
        (3, sha.clone()),
        (4, claim("workflow")?),
        (5, repository.clone()),
        (6, git_ref.clone()),
        (8, iss),
        (9, gh(job_workflow_ref.clone())),
        (10, claim("job_workflow_sha")?),
        (11, claim("runner_environment")?),
        (12, gh(repository.clone())),
        (13, sha),
        (14, git_ref),
        (15, claim("repository_id")?),
        (16, gh(claim("repository_owner")?)),
        (17, claim("repository_owner_id")?),
        (18, gh(claim("workflow_ref")?)),
        (19, claim("workflow_sha")?),
        (20, event),
        (
            21,
            gh(format!(
                "{repository}/actions/runs/{}/attempts/{}",
                claim("run_id")?,
                claim("run_attempt")?
            )),
        ),
        (22, claim("repository_visibility")?),
    ];
    Ok(LeafProfile {
        san_uri: gh(job_workflow_ref),
        extensions,
    })
}

async fn signing_cert(Axum(s): Axum<Shared>, headers: HeaderMap, body: String) -> Response {
    s.hit("fulcio.signingCert").await;
    let body: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")),
    };
    let token = body["credentials"]["oidcIdentityToken"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_string)
        });
    let Some(token) = token else {
        return error(StatusCode::UNAUTHORIZED, "no identity token");
    };
    let claims = match s.issuer.verify(&token, crate::SIGSTORE_AUDIENCE) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::UNAUTHORIZED, e),
    };
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let issued = requested_key(&body, subject).and_then(|spki| {
        let profile = profile(&claims)?;
        s.ca.issue(&spki, &profile)
    });
    match issued {
        Ok(leaf) => (
            StatusCode::CREATED,
            Json(
                json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": [
                    cert_pem(&leaf),
                    cert_pem(&s.ca.intermediate_der),
                    cert_pem(&s.ca.root_der),
                ]}}}),
            ),
        )
            .into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

// ---- Rekor ---------------------------------------------------------------

pub(crate) fn rekor_router(state: Shared) -> Router {
    Router::new()
        .route("/api/v1/log", get(log_info))
        .route("/api/v1/log/publicKey", get(public_key))
        .route(
            "/api/v1/log/entries",
            post(create_entry).get(entry_by_index),
        )
        .route("/api/v1/log/entries/{uuid}", get(entry_by_uuid))
        .route("/api/v1/log/entries/retrieve", post(retrieve))
        .route("/api/v1/log/entries/retrieve/", post(retrieve))
        .with_state(state)
}

async fn log_info(Axum(s): Axum<Shared>) -> Json<Value> {
    s.hit("rekor.log").await;
    Json(s.log.lock().expect("log").info())
}

async fn public_key(Axum(s): Axum<Shared>) -> Response {
    s.hit("rekor.publicKey").await;
    let pem = s.log.lock().expect("log").public_key_pem();
    ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response()
}

fn location(uuid: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("/api/v1/log/entries/{uuid}")).expect("ascii")
}

async fn create_entry(Axum(s): Axum<Shared>, body: String) -> Response {
    s.hit("rekor.createEntry").await;
    let proposed: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body is not JSON: {e}")),
    };
    let mut log = s.log.lock().expect("log");
    match log.add(&proposed) {
        Ok(uuid) => {
            let index = log.index_of(&uuid).expect("just added");
            (
                StatusCode::CREATED,
                [(header::LOCATION, location(&uuid))],
                Json(log.entry_json(index)),
            )
                .into_response()
        }
        Err(Rejected::Invalid(e)) => error(StatusCode::BAD_REQUEST, e),
        Err(Rejected::Conflict(uuid)) => {
            let mut response = error(
                StatusCode::CONFLICT,
                format!(
                    "an equivalent entry already exists in the transparency log with UUID {uuid}"
                ),
            );
            response
                .headers_mut()
                .insert(header::LOCATION, location(&uuid));
            response
        }
    }
}

async fn entry_by_index(
    Axum(s): Axum<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    s.hit("rekor.getEntry").await;
    let log = s.log.lock().expect("log");
    match query.get("logIndex").and_then(|i| i.parse::<usize>().ok()) {
        Some(i) if i < log.len() => Json(log.entry_json(i)).into_response(),
        _ => error(StatusCode::NOT_FOUND, "no entry at that logIndex"),
    }
}

async fn entry_by_uuid(Axum(s): Axum<Shared>, Path(uuid): Path<String>) -> Response {
    s.hit("rekor.getEntry").await;
    let log = s.log.lock().expect("log");
    match log.index_of(&uuid) {
        Some(i) => Json(log.entry_json(i)).into_response(),
        None => error(StatusCode::NOT_FOUND, "no entry with that UUID"),
    }
}

async fn retrieve(Axum(s): Axum<Shared>, Json(query): Json<Value>) -> Response {
    s.hit("rekor.retrieve").await;
    let log = s.log.lock().expect("log");
    let mut found = Vec::new();
    for uuid in query["entryUUIDs"].as_array().into_iter().flatten() {
        if let Some(i) = uuid.as_str().and_then(|u| log.index_of(u)) {
            found.push(i);
        }
    }
    for index in query["logIndexes"].as_array().into_iter().flatten() {
        if let Some(i) = index
            .as_u64()
            .map(|i| i as usize)
            .filter(|i| *i < log.len())
        {
            found.push(i);
        }
    }
    for entry in query["entries"].as_array().into_iter().flatten() {
        if let Some(i) = log.find(entry) {
            found.push(i);
        }
    }
    Json(Value::Array(
        found.into_iter().map(|i| log.entry_json(i)).collect(),
    ))
    .into_response()
}
