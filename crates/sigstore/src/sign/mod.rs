//! Keyless signing of image digests into Sigstore bundles (v0.3).
//!
//! One run makes one ephemeral ECDSA P-256 key and asks Fulcio for ONE
//! certificate ([`KeylessSigner::new`]); every digest signed in that run reuses
//! them, and the Rekor entries of a run are made concurrently.
//!
//! - [`KeylessSigner::attest`]: DSSE envelopes holding in-toto statements v1
//!   (cosign's signature predicate, SLSA provenance, or any predicate), each
//!   logged as a Rekor `dsse` entry.
//! - [`KeylessSigner::sign_simple_signing`]: cosign's legacy "simple signing"
//!   payload, signed as a message and logged as a `hashedrekord` entry, for the
//!   `.sig` tag layout.
//!
//! ```no_run
//! use bitvault_sigstore::sign::{KeylessSigner, Services, ToSign};
//!
//! # async fn run(token: &str) -> Result<(), bitvault_sigstore::sign::SignError> {
//! let signer = KeylessSigner::new(&Services::production()?, token).await?;
//! let digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
//! let bundles = signer
//!     .attest(vec![ToSign::signature("ghcr.io/acme/app", digest)])
//!     .await?;
//! std::fs::write("app.sigstore.json", &bundles[0].bundle_json).unwrap();
//! # Ok(()) }
//! ```
//!
//! `sigstore-sign`'s `Signer` is not used: it makes a new key and Fulcio
//! certificate for every artifact. The pieces below it are: `sigstore-fulcio`
//! (certificate request), `sigstore-rekor` (entries), `sigstore-bundle`
//! (bundle assembly) and `sigstore-types`.

mod error;
pub(crate) mod key;
pub(crate) mod statement;

use std::sync::Arc;

use sha2::Digest as _;
use sigstore_bundle::BundleV03;
use sigstore_crypto::KeyPair;
use sigstore_fulcio::FulcioClient;
use sigstore_oidc::IdentityToken;
use sigstore_rekor::{DsseEntry, HashedRekord, RekorClient};
use sigstore_types::{
    DerCertificate, DsseEnvelope, DsseSignature, KeyId, KindVersion, PayloadBytes, Sha256Hash,
    TransparencyLogEntry,
};

pub use statement::{
    COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_STATEMENT_TYPE, SLSA_PROVENANCE_PREDICATE_TYPE,
    SimpleSignature, ToSign, simple_signing_payload,
};

pub use error::SignError;

use crate::media::IN_TOTO_PAYLOAD_TYPE;
use crate::verify::trust::ClientTrustConfig;

/// The public-good signing config, as shipped.
const PRODUCTION_SIGNING_CONFIG: &str =
    include_str!("../../trust/production_signing_config.v0.2.json");

/// Where to sign: Fulcio and a Rekor v1 log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services {
    /// Fulcio's base URL.
    pub fulcio_url: String,
    /// Rekor's base URL (v1 API).
    pub rekor_url: String,
}

impl Services {
    /// The public-good instance (fulcio.sigstore.dev, rekor.sigstore.dev),
    /// from the embedded signing config.
    pub fn production() -> Result<Self, SignError> {
        let config = sigstore_trust_root::SigningConfig::from_json(PRODUCTION_SIGNING_CONFIG)
            .map_err(|e| SignError::Config(e.to_string()))?;
        Self::from_signing_config(&config)
    }

    /// The first valid Fulcio and Rekor v1 of a signing config.
    pub fn from_signing_config(
        config: &sigstore_trust_root::SigningConfig,
    ) -> Result<Self, SignError> {
        let fulcio = config
            .fulcio_url()
            .ok_or_else(|| SignError::Config("it names no Fulcio (caUrls)".into()))?;
        let rekor = config.rekor_url(Some(1)).ok_or_else(|| {
            SignError::Config("it names no Rekor v1 log (rekorTlogUrls, majorApiVersion 1)".into())
        })?;
        Ok(Self {
            fulcio_url: fulcio.url.trim_end_matches('/').to_string(),
            rekor_url: rekor.url.trim_end_matches('/').to_string(),
        })
    }

    /// The services of a ClientTrustConfig (a custom or local instance).
    pub fn from_client_trust_config(config: &ClientTrustConfig) -> Result<Self, SignError> {
        Self::from_signing_config(&config.signing_config)
    }
}

/// One signed subject.
#[derive(Debug, Clone)]
pub struct SignedBundle {
    /// The subject's name, as given.
    pub name: String,
    /// The subject's SHA-256, 64 hex characters.
    pub sha256: String,
    /// The bundle (`application/vnd.dev.sigstore.bundle.v0.3+json`).
    pub bundle_json: String,
    /// Where Rekor logged it.
    pub log_index: u64,
}

/// A signing run: one ephemeral key and its one Fulcio certificate.
pub struct KeylessSigner {
    key: Arc<KeyPair>,
    certificate: DerCertificate,
    chain: Vec<DerCertificate>,
    rekor: Arc<RekorClient>,
    identity: String,
}

impl std::fmt::Debug for KeylessSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeylessSigner")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

fn http_client() -> Result<reqwest::Client, SignError> {
    // reqwest is built without a default rustls provider; ring is the
    // workspace's. Err means one is installed already, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("bitvault/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| SignError::Internal(format!("http client: {e}")))
}

impl KeylessSigner {
    /// Start a run: mask the token in the job log, make the key, and get its
    /// certificate from Fulcio.
    pub async fn new(services: &Services, identity_token: &str) -> Result<Self, SignError> {
        let identity_token = identity_token.trim();
        bitvault_runner::command::add_mask(identity_token);
        crate::crypto::install();
        let token =
            IdentityToken::from_jwt(identity_token).map_err(|e| SignError::Token(e.to_string()))?;
        if token.is_expired() {
            return Err(SignError::Token(
                "it has expired: request a fresh one (tokens last minutes)".into(),
            ));
        }
        // The identity token goes to Fulcio, and what Rekor logs is public: never over
        // plain http to another host (L7).
        bitvault_http::require_https("fulcio-url", &services.fulcio_url)
            .map_err(SignError::Config)?;
        bitvault_http::require_https("rekor-url", &services.rekor_url)
            .map_err(SignError::Config)?;
        let http = http_client()?;
        let key = KeyPair::generate_ecdsa_p256().map_err(|e| SignError::Internal(e.to_string()))?;
        let fulcio = FulcioClient::builder(&services.fulcio_url)
            .with_http_client(http.clone())
            .build()
            .map_err(|e| SignError::Fulcio(e.to_string()))?;
        let issued = fulcio
            .create_signing_certificate(&token, &key)
            .await
            .map_err(|e| SignError::Fulcio(format!("{} ({})", e, services.fulcio_url)))?;
        let chain = issued.certificate_chain().to_vec();
        let rekor = RekorClient::builder(&services.rekor_url)
            .with_http_client(http)
            .build()
            .map_err(|e| SignError::Rekor(e.to_string()))?;
        Ok(Self {
            key: Arc::new(key),
            certificate: chain[0].clone(),
            chain: chain[1..].to_vec(),
            rekor: Arc::new(rekor),
            identity: token.identity().to_string(),
        })
    }

    /// The run's signing certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        self.certificate.to_pem()
    }

    /// Sign each statement as a DSSE envelope, log them concurrently, and
    /// return the bundles in the order given.
    pub async fn attest(&self, items: Vec<ToSign>) -> Result<Vec<SignedBundle>, SignError> {
        let mut tasks = tokio::task::JoinSet::new();
        for (position, item) in items.into_iter().enumerate() {
            let payload = item.statement_json()?;
            let pae = sigstore_types::pae(IN_TOTO_PAYLOAD_TYPE, &payload);
            let signature = self
                .key
                .sign(&pae)
                .map_err(|e| SignError::Internal(e.to_string()))?;
            let envelope = DsseEnvelope::new(
                IN_TOTO_PAYLOAD_TYPE.to_string(),
                PayloadBytes::new(payload),
                DsseSignature::new(signature, KeyId::default()),
            );
            let rekor = Arc::clone(&self.rekor);
            let certificate = self.certificate.clone();
            tasks.spawn(async move {
                let request = DsseEntry::new(&envelope, &certificate)
                    .map_err(|e| SignError::Internal(e.to_string()))?;
                let entry = rekor
                    .create_dsse_entry(request)
                    .await
                    .map_err(|e| SignError::Rekor(e.to_string()))?;
                let tlog = bundle_entry(&entry, KindVersion::DsseV001)?;
                let log_index = u64::from(tlog.log_index);
                let bundle = BundleV03::with_certificate_and_dsse(certificate, envelope)
                    .with_tlog_entry(tlog)
                    .into_bundle();
                let bundle_json = bundle
                    .to_json()
                    .map_err(|e| SignError::Internal(e.to_string()))?;
                Ok::<_, SignError>((
                    position,
                    SignedBundle {
                        name: item.name,
                        sha256: item.sha256,
                        bundle_json,
                        log_index,
                    },
                ))
            });
        }
        let mut done = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let signed = joined.map_err(|e| SignError::Internal(e.to_string()))??;
            done.push(signed);
        }
        done.sort_by_key(|(position, _)| *position);
        Ok(done.into_iter().map(|(_, signed)| signed).collect())
    }

    /// Sign cosign's legacy simple-signing payload for an image manifest
    /// digest (`sha256:<hex>`), logged as a `hashedrekord` entry.
    pub async fn sign_simple_signing(
        &self,
        docker_reference: &str,
        manifest_digest: &str,
    ) -> Result<SimpleSignature, SignError> {
        let payload = simple_signing_payload(docker_reference, manifest_digest)?;
        let digest = Sha256Hash::try_from(&sha2::Sha256::digest(&payload)[..])
            .map_err(|e| SignError::Internal(e.to_string()))?;
        let signature = self
            .key
            .sign_digest(&digest)
            .map_err(|e| SignError::Internal(e.to_string()))?;
        let entry = self
            .rekor
            .create_entry(HashedRekord::new(&digest, &signature, &self.certificate))
            .await
            .map_err(|e| SignError::Rekor(e.to_string()))?;
        let tlog = bundle_entry(&entry, KindVersion::HashedRekordV001)?;
        let log_index = u64::from(tlog.log_index);
        let bundle = BundleV03::with_certificate_and_signature(
            self.certificate.clone(),
            signature.clone(),
            digest,
        )
        .with_tlog_entry(tlog)
        .into_bundle();
        Ok(SimpleSignature {
            signature_b64: base64_encode(signature.as_bytes()),
            payload,
            certificate_pem: self.certificate.to_pem(),
            chain_pem: self.chain.iter().map(DerCertificate::to_pem).collect(),
            bundle_json: bundle
                .to_json()
                .map_err(|e| SignError::Internal(e.to_string()))?,
            log_index,
        })
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn bundle_entry(
    entry: &sigstore_rekor::LogEntry,
    kind: KindVersion,
) -> Result<TransparencyLogEntry, SignError> {
    if entry
        .verification
        .as_ref()
        .and_then(|v| v.inclusion_proof.as_ref())
        .is_none()
    {
        return Err(SignError::Rekor(
            "the entry came back without an inclusion proof".into(),
        ));
    }
    entry
        .to_bundle_entry(kind)
        .map_err(|e| SignError::Rekor(format!("unusable entry: {e}")))
}

/// Fetch a GitHub Actions identity token for `audience` (Sigstore uses
/// `sigstore`) from the runner's `ACTIONS_ID_TOKEN_REQUEST_URL` and
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, and mask it. The job needs
/// `permissions: id-token: write`.
pub async fn github_identity_token(
    request_url: &str,
    request_token: &str,
    audience: &str,
) -> Result<String, SignError> {
    bitvault_runner::command::add_mask(request_token);
    let http = http_client()?;
    let separator = if request_url.contains('?') { '&' } else { '?' };
    let response = http
        .get(format!("{request_url}{separator}audience={audience}"))
        .bearer_auth(request_token)
        .send()
        .await
        .map_err(|e| SignError::Token(format!("cannot reach the runner's token endpoint: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(SignError::Token(format!(
            "the runner's token endpoint answered {status}: does the job have `permissions: id-token: write`?"
        )));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| SignError::Token(format!("token endpoint answer is not JSON: {e}")))?;
    let token = body["value"]
        .as_str()
        .ok_or_else(|| SignError::Token("token endpoint answer has no value".into()))?;
    bitvault_runner::command::add_mask(token);
    Ok(token.to_string())
}
