//! Trust material: which Fulcio, Rekor, CT logs and timestamp authorities a
//! bundle may chain to.
//!
//! The Sigstore public-good root is compiled in so `bitvault verify` works
//! offline; a custom root (a private Sigstore deployment, or a test root) is a
//! `trusted_root.json` file or a ClientTrustConfig that wraps one.

use std::path::Path;

use serde::Deserialize;

use super::error::VerifyError;

/// The Sigstore public-good trusted root, from `sigstore/root-signing`
/// (`targets/trusted_root.json`). Refresh it when that repository rotates keys.
pub const PRODUCTION_TRUSTED_ROOT_JSON: &str =
    include_str!("../../trust/production_trusted_root.json");

/// Media type of a `trusted_root.json`.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// The same format under the newer media-type spelling (protobuf-specs 0.4+).
const TRUSTED_ROOT_MEDIA_TYPE_V02: &str = "application/vnd.dev.sigstore.trustedroot.v0.2+json";
/// Media type of a ClientTrustConfig (trusted root plus signing config).
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// The authorities a bundle is verified against.
#[derive(Debug, Clone)]
pub struct TrustedRoot {
    pub(crate) inner: sigstore_trust_root::TrustedRoot,
}

impl TrustedRoot {
    /// The Sigstore public-good instance (`fulcio.sigstore.dev`,
    /// `rekor.sigstore.dev`), embedded in the binary.
    pub fn production() -> Self {
        Self::from_json(PRODUCTION_TRUSTED_ROOT_JSON)
            .expect("the embedded production trusted root is valid")
    }

    /// Parse a `trusted_root.json` document.
    pub fn from_json(json: &str) -> Result<Self, VerifyError> {
        let media_type = media_type_of(json)?;
        if media_type != TRUSTED_ROOT_MEDIA_TYPE && media_type != TRUSTED_ROOT_MEDIA_TYPE_V02 {
            return Err(VerifyError::TrustedRoot(format!(
                "mediaType is {media_type:?}, expected {TRUSTED_ROOT_MEDIA_TYPE:?}"
            )));
        }
        sigstore_trust_root::TrustedRoot::from_json(json)
            .map(|inner| Self { inner })
            .map_err(|e| VerifyError::TrustedRoot(e.to_string()))
    }

    /// Load either a `trusted_root.json` or a ClientTrustConfig file, told
    /// apart by their `mediaType`. A ClientTrustConfig's signing config is not
    /// needed to verify and is dropped.
    pub fn from_file(path: &Path) -> Result<Self, VerifyError> {
        let json = std::fs::read_to_string(path).map_err(|e| VerifyError::Read {
            what: "trusted root",
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let parsed = if media_type_of(&json)? == CLIENT_TRUST_CONFIG_MEDIA_TYPE {
            ClientTrustConfig::from_json(&json).map(|config| config.trusted_root)
        } else {
            Self::from_json(&json)
        };
        parsed.map_err(|e| match e {
            VerifyError::TrustedRoot(detail) => {
                VerifyError::TrustedRoot(format!("{}: {detail}", path.display()))
            }
            other => other,
        })
    }

    /// The underlying `sigstore-trust-root` value, for callers that need the
    /// raw authorities.
    pub fn as_sigstore(&self) -> &sigstore_trust_root::TrustedRoot {
        &self.inner
    }
}

/// A ClientTrustConfig: the trusted root to verify against and the signing
/// config naming the services to sign with.
#[derive(Debug, Clone)]
pub struct ClientTrustConfig {
    /// The authorities to verify against.
    pub trusted_root: TrustedRoot,
    /// The Fulcio, Rekor, TSA and OIDC endpoints to sign with.
    pub signing_config: sigstore_trust_root::SigningConfig,
}

impl ClientTrustConfig {
    /// Parse a ClientTrustConfig
    /// (`application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`).
    pub fn from_json(json: &str) -> Result<Self, VerifyError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            media_type: String,
            trusted_root: Option<serde_json::Value>,
            signing_config: Option<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_str(json).map_err(|e| {
            VerifyError::TrustedRoot(format!("client trust config is not valid JSON: {e}"))
        })?;
        if raw.media_type != CLIENT_TRUST_CONFIG_MEDIA_TYPE {
            return Err(VerifyError::TrustedRoot(format!(
                "mediaType is {:?}, expected {CLIENT_TRUST_CONFIG_MEDIA_TYPE:?}",
                raw.media_type
            )));
        }
        let (Some(root), Some(signing)) = (raw.trusted_root, raw.signing_config) else {
            return Err(VerifyError::TrustedRoot(
                "client trust config needs both trustedRoot and signingConfig".into(),
            ));
        };
        let trusted_root = TrustedRoot::from_json(&root.to_string())
            .map_err(|e| VerifyError::TrustedRoot(format!("trustedRoot: {}", e.detail())))?;
        let signing_config = sigstore_trust_root::SigningConfig::from_json(&signing.to_string())
            .map_err(|e| VerifyError::TrustedRoot(format!("signingConfig: {e}")))?;
        Ok(Self {
            trusted_root,
            signing_config,
        })
    }

    /// Load a ClientTrustConfig file.
    pub fn from_file(path: &Path) -> Result<Self, VerifyError> {
        let json = std::fs::read_to_string(path).map_err(|e| VerifyError::Read {
            what: "client trust config",
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        Self::from_json(&json)
    }
}

fn media_type_of(json: &str) -> Result<String, VerifyError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Head {
        media_type: Option<String>,
    }
    let head: Head = serde_json::from_str(json)
        .map_err(|e| VerifyError::TrustedRoot(format!("not valid JSON: {e}")))?;
    head.media_type
        .ok_or_else(|| VerifyError::TrustedRoot("document has no mediaType".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNING_CONFIG: &str = include_str!("../../trust/production_signing_config.v0.2.json");

    #[test]
    fn embedded_production_root_has_public_good_authorities() {
        let root = TrustedRoot::production();
        assert!(
            root.inner
                .tlogs
                .iter()
                .any(|t| t.base_url == "https://rekor.sigstore.dev")
        );
        assert!(!root.inner.certificate_authorities.is_empty());
        assert!(!root.inner.ctlogs.is_empty());
    }

    #[test]
    fn client_trust_config_yields_its_trusted_root() {
        let config = format!(
            r#"{{"mediaType":"{CLIENT_TRUST_CONFIG_MEDIA_TYPE}","trustedRoot":{PRODUCTION_TRUSTED_ROOT_JSON},"signingConfig":{SIGNING_CONFIG}}}"#
        );
        let parsed = ClientTrustConfig::from_json(&config).unwrap();
        assert_eq!(
            parsed.trusted_root.inner.tlogs.len(),
            TrustedRoot::production().inner.tlogs.len()
        );
        assert!(parsed.signing_config.fulcio_url().is_some());

        let dir = std::env::temp_dir().join(format!("bitvault-ctc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("trust_config.json");
        std::fs::write(&path, &config).unwrap();
        // --trusted-root accepts a ClientTrustConfig as well as a bare root.
        assert!(TrustedRoot::from_file(&path).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_media_types_are_named() {
        let err = TrustedRoot::from_json(r#"{"mediaType":"application/json"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "trusted root is invalid: mediaType is \"application/json\", expected \"application/vnd.dev.sigstore.trustedroot+json;version=0.1\""
        );
        let err = ClientTrustConfig::from_json(&format!(
            r#"{{"mediaType":"{CLIENT_TRUST_CONFIG_MEDIA_TYPE}","trustedRoot":{PRODUCTION_TRUSTED_ROOT_JSON}}}"#
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "trusted root is invalid: client trust config needs both trustedRoot and signingConfig"
        );
    }

    #[test]
    fn missing_file_says_which_file() {
        let err = TrustedRoot::from_file(Path::new("/nonexistent/root.json")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read trusted root /nonexistent/root.json:"),
            "{err}"
        );
    }
}
