//! An OIDC issuer minting ES256 identity tokens shaped like GitHub Actions'
//! (`token.actions.githubusercontent.com`), with discovery, JWKS, and the
//! runner's `ACTIONS_ID_TOKEN_REQUEST_URL` endpoint.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use serde_json::{Map, Value, json};

/// The GitHub Actions claims of a token. [`Default`] is a push to `main` of
/// `acme/app` running `.github/workflows/release.yml`.
#[derive(Debug, Clone)]
pub struct GithubClaims {
    /// `owner/repo`.
    pub repository: String,
    /// The git ref, e.g. `refs/heads/main`.
    pub git_ref: String,
    /// The commit.
    pub sha: String,
    /// The workflow file path inside the repository, e.g. `.github/workflows/release.yml`.
    pub workflow_path: String,
    /// The trigger, e.g. `push`.
    pub event_name: String,
    /// The run id.
    pub run_id: String,
    /// The run attempt.
    pub run_attempt: String,
    /// `github-hosted` or `self-hosted`.
    pub runner_environment: String,
    /// A reusable workflow the job runs, as `owner/repo/<path>@<ref>`: GitHub's
    /// `job_workflow_ref` (and so the certificate identity) is then that workflow,
    /// while `workflow_ref` stays the caller's. `None`: the job is the caller's own.
    pub reusable_workflow: Option<String>,
}

impl Default for GithubClaims {
    fn default() -> Self {
        Self {
            repository: "acme/app".into(),
            git_ref: "refs/heads/main".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            workflow_path: ".github/workflows/release.yml".into(),
            event_name: "push".into(),
            run_id: "4242".into(),
            run_attempt: "1".into(),
            runner_environment: "github-hosted".into(),
            reusable_workflow: None,
        }
    }
}

impl GithubClaims {
    /// `owner/repo/<workflow path>@<ref>` of the caller: GitHub's `workflow_ref`.
    pub fn workflow_ref(&self) -> String {
        format!(
            "{}/{}@{}",
            self.repository, self.workflow_path, self.git_ref
        )
    }

    /// GitHub's `job_workflow_ref`: the reusable workflow the job runs, else the caller's.
    pub fn job_workflow_ref(&self) -> String {
        self.reusable_workflow
            .clone()
            .unwrap_or_else(|| self.workflow_ref())
    }

    /// The identity Fulcio puts in the certificate's SAN.
    pub fn identity(&self) -> String {
        format!("https://github.com/{}", self.job_workflow_ref())
    }

    fn owner(&self) -> &str {
        self.repository.split('/').next().unwrap_or_default()
    }
}

pub(crate) struct Issuer {
    key: p256::ecdsa::SigningKey,
    kid: String,
    pub url: String,
    pub request_token: String,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl Issuer {
    pub fn new(url: String) -> Self {
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let kid = hex::encode(rand::random::<[u8; 8]>());
        let request_token = hex::encode(rand::random::<[u8; 16]>());
        Self {
            key,
            kid,
            url,
            request_token,
        }
    }

    pub fn mint(&self, claims: &GithubClaims, audience: &str) -> String {
        let iat = now();
        let job_workflow_ref = claims.job_workflow_ref();
        let payload = json!({
            "jti": hex::encode(rand::random::<[u8; 16]>()),
            "sub": format!("repo:{}:ref:{}", claims.repository, claims.git_ref),
            "aud": audience,
            "ref": claims.git_ref,
            "ref_type": if claims.git_ref.starts_with("refs/tags/") { "tag" } else { "branch" },
            "sha": claims.sha,
            "repository": claims.repository,
            "repository_id": "100001",
            "repository_owner": claims.owner(),
            "repository_owner_id": "200002",
            "repository_visibility": "public",
            "run_id": claims.run_id,
            "run_number": "7",
            "run_attempt": claims.run_attempt,
            "actor": claims.owner(),
            "actor_id": "200002",
            "workflow": "release",
            "workflow_ref": claims.workflow_ref(),
            "workflow_sha": claims.sha,
            "job_workflow_ref": job_workflow_ref,
            "job_workflow_sha": claims.sha,
            "event_name": claims.event_name,
            "runner_environment": claims.runner_environment,
            "iss": self.url,
            "nbf": iat - 5,
            "iat": iat,
            "exp": iat + 300,
        });
        let header = json!({"typ": "JWT", "alg": "ES256", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(payload.to_string())
        );
        let sig: p256::ecdsa::Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", B64URL.encode(sig.to_bytes()))
    }

    pub fn discovery(&self) -> Value {
        json!({
            "issuer": self.url,
            "jwks_uri": format!("{}/.well-known/jwks", self.url),
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "repository_owner", "run_id", "run_attempt", "workflow_ref", "job_workflow_ref", "event_name", "runner_environment"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "scopes_supported": ["openid"],
        })
    }

    pub fn jwks(&self) -> Value {
        let point = self.key.verifying_key().to_encoded_point(false);
        json!({"keys": [{
            "kty": "EC",
            "crv": "P-256",
            "alg": "ES256",
            "use": "sig",
            "kid": self.kid,
            "x": B64URL.encode(point.x().expect("uncompressed")),
            "y": B64URL.encode(point.y().expect("uncompressed")),
        }]})
    }

    /// Verify a token the way Fulcio does: signature by a key of the JWKS,
    /// issuer, audience, and validity period. Returns its claims.
    pub fn verify(&self, jwt: &str, audience: &str) -> Result<Map<String, Value>, String> {
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("identity token is not a JWT".into());
        };
        let decode = |part: &str| -> Result<Map<String, Value>, String> {
            let bytes = B64URL
                .decode(part)
                .map_err(|e| format!("identity token is not base64url: {e}"))?;
            serde_json::from_slice(&bytes).map_err(|e| format!("identity token is not JSON: {e}"))
        };
        let header = decode(h)?;
        let claims = decode(p)?;
        if header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return Err("identity token must be signed with ES256".into());
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let jwks = self.jwks();
        let jwk = jwks["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|k| k["kid"] == kid)
            .ok_or_else(|| format!("no key {kid:?} in the issuer's JWKS"))?;
        let coord = |name: &str| -> Result<Vec<u8>, String> {
            B64URL
                .decode(jwk[name].as_str().unwrap_or_default())
                .map_err(|e| e.to_string())
        };
        let point = p256::EncodedPoint::from_affine_coordinates(
            coord("x")?.as_slice().into(),
            coord("y")?.as_slice().into(),
            false,
        );
        let key = p256::ecdsa::VerifyingKey::from_encoded_point(&point)
            .map_err(|e| format!("JWKS key: {e}"))?;
        let sig = p256::ecdsa::Signature::from_slice(
            &B64URL.decode(s).map_err(|e| format!("signature: {e}"))?,
        )
        .map_err(|e| format!("signature: {e}"))?;
        key.verify(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| "identity token signature is invalid".to_string())?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.url.as_str()) {
            return Err(format!("identity token issuer is not {}", self.url));
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(a)) => a.iter().any(|v| v == audience),
            _ => false,
        };
        if !aud_ok {
            return Err(format!("identity token audience is not {audience:?}"));
        }
        let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
        if exp <= now() {
            return Err("identity token has expired".into());
        }
        Ok(claims)
    }
}
