//! The raw HTTP path to one registry endpoint.
//!
//! oci-client answers the auth challenge (bearer token or basic) for us; this module
//! sends the requests oci-client does not expose (HEAD, referrers, blob mount, tag
//! reads with headers) and retries them under the workspace's one [`RetryPolicy`]
//! (`bitvault-http`: 429, 5xx and dropped connections, backoff with jitter, `Retry-After`
//! in seconds or as a date, a deadline), re-authenticating once on a 401; 401/403 become
//! [`Error::Unauthorized`] naming the registry and the credential source. Every answer's
//! body is read under the request's cap ([`crate::limits`]): a 2xx body over it is
//! [`Error::TooLarge`] and not retried, an error body is cut short.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use oci_client::RegistryOperation;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use tokio::sync::Mutex;

use crate::credentials::{Credential, Credentials};
use crate::error::{Error, Result};
use crate::limits::{BodyLimit, MAX_ERROR_BODY_BYTES, ReadError, read_body};
use crate::protocol::Scheme;

pub use bitvault_http::RetryPolicy;
pub(crate) use bitvault_http::{ensure_crypto_provider, error_chain};

/// The most of a token service's answer read; a token is a few KiB, and a longer
/// answer cut here fails to parse as JSON.
const MAX_TOKEN_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone)]
enum Authz {
    Anonymous,
    Basic(String, String),
    Bearer(String),
}

/// Where a request goes: a path on the endpoint, or an absolute URL the registry gave us
/// (upload locations).
pub(crate) enum Target<'a> {
    Path(String),
    Url(&'a str),
}

pub(crate) struct Request<'a> {
    pub method: Method,
    pub target: Target<'a>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Bytes>,
    /// Repository the request acts on, for the token scope.
    pub repo: &'a str,
    pub op: RegistryOperation,
    /// The cap on a 2xx answer's body; error answers are cut at [`MAX_ERROR_BODY_BYTES`].
    pub limit: BodyLimit,
    /// The cap on a 206 (partial content) answer's body, where it differs from `limit`.
    pub partial: Option<BodyLimit>,
}

impl<'a> Request<'a> {
    pub fn new(method: Method, path: String, repo: &'a str, op: RegistryOperation) -> Self {
        Request {
            method,
            target: Target::Path(path),
            headers: Vec::new(),
            body: None,
            limit: BodyLimit::answer(repo),
            partial: None,
            repo,
            op,
        }
    }

    /// Reads a 2xx answer's body under `limit` instead of the default (the OCI limit).
    pub fn limit(mut self, limit: BodyLimit) -> Self {
        self.limit = limit;
        self
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    /// Reads a 206 (partial content) answer's body under `limit`.
    pub fn partial(mut self, limit: BodyLimit) -> Self {
        self.partial = Some(limit);
        self
    }

    pub fn body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }
}

#[derive(Debug)]
pub(crate) struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub url: String,
    pub method: Method,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// An [`Error::Status`] describing this response.
    pub fn error(&self) -> Error {
        let text = String::from_utf8_lossy(&self.body);
        let mut message: String = text.trim().chars().take(300).collect();
        if message.is_empty() {
            message = self
                .status
                .canonical_reason()
                .unwrap_or("no message")
                .to_lowercase();
        }
        Error::Status {
            method: self.method.to_string(),
            url: self.url.clone(),
            status: self.status.as_u16(),
            message,
        }
    }
}

/// One registry endpoint, with its credentials and cached authorizations.
pub(crate) struct Endpoint {
    /// The registry as written in references, for messages.
    pub registry: String,
    /// `host[:port]` serving the API.
    pub endpoint: String,
    pub scheme: Scheme,
    http: reqwest::Client,
    oci: oci_client::Client,
    pub credentials: Credentials,
    retry: RetryPolicy,
    authz: Mutex<HashMap<(String, bool), Authz>>,
}

impl Endpoint {
    pub fn new(
        registry: &str,
        endpoint: &str,
        scheme: Scheme,
        credentials: Credentials,
        http: reqwest::Client,
        retry: RetryPolicy,
    ) -> Self {
        ensure_crypto_provider();
        let protocol = match scheme {
            Scheme::Https => ClientProtocol::Https,
            Scheme::Http => ClientProtocol::HttpsExcept(vec![endpoint.to_owned()]),
        };
        let oci = oci_client::Client::new(ClientConfig {
            protocol,
            connect_timeout: Some(Duration::from_secs(30)),
            read_timeout: Some(Duration::from_secs(120)),
            ..ClientConfig::default()
        });
        Endpoint {
            registry: registry.to_owned(),
            endpoint: endpoint.to_owned(),
            scheme,
            http,
            oci,
            credentials,
            retry,
            authz: Mutex::new(HashMap::new()),
        }
    }

    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.endpoint)
    }

    fn unauthorized(&self, status: u16) -> Error {
        Error::Unauthorized {
            registry: self.registry.clone(),
            status,
            credentials: self.credentials.source.clone(),
        }
    }

    fn too_large(&self, limit: &BodyLimit) -> Error {
        Error::TooLarge {
            registry: self.registry.clone(),
            what: limit.what.to_owned(),
            max: limit.max,
            why: limit.why.clone(),
            subject: limit.subject.clone(),
        }
    }

    /// The authorization for `repo`/`op`, answering the registry's challenge via oci-client.
    async fn authz(&self, repo: &str, op: RegistryOperation, fresh: bool) -> Result<Authz> {
        let key = (repo.to_owned(), op == RegistryOperation::Push);
        let mut cache = self.authz.lock().await;
        match cache.get(&key) {
            Some(a) if !fresh => return Ok(a.clone()),
            _ => {}
        }
        let auth = match &self.credentials.credential {
            Credential::Anonymous => RegistryAuth::Anonymous,
            Credential::Basic { username, password } => {
                RegistryAuth::Basic(username.clone(), password.clone())
            }
            Credential::IdentityToken(refresh_token) => {
                let authz = self
                    .exchange_identity_token(repo, op, refresh_token)
                    .await?;
                cache.insert(key, authz.clone());
                return Ok(authz);
            }
        };
        // oci-client only uses the reference for the registry, repository and scope.
        let reference = oci_client::Reference::with_digest(
            self.endpoint.clone(),
            repo.to_owned(),
            // Any digest will do: the empty JSON config's.
            crate::digest::Digest::of(b"{}").to_string(),
        );
        let token = self
            .oci
            .auth(&reference, &auth, op)
            .await
            .map_err(|e| match e {
                oci_client::errors::OciDistributionError::AuthenticationFailure(_)
                | oci_client::errors::OciDistributionError::UnauthorizedError { .. } => {
                    self.unauthorized(401)
                }
                other => Error::Transport {
                    method: "GET".into(),
                    url: format!("{}/v2/", self.base_url()),
                    message: format!("authenticating: {other}"),
                },
            })?;
        let authz = match (token, auth) {
            (Some(token), _) => Authz::Bearer(token),
            (None, RegistryAuth::Basic(u, p)) => Authz::Basic(u, p),
            (None, _) => Authz::Anonymous,
        };
        cache.insert(key, authz.clone());
        Ok(authz)
    }

    /// Trades an identity token (an OAuth2 refresh token, as `docker login` stores for
    /// registries such as ACR) for an access token, as the docker CLI does: a
    /// `grant_type=refresh_token` POST to the realm of the registry's bearer challenge.
    /// oci-client has no such flow.
    async fn exchange_identity_token(
        &self,
        repo: &str,
        op: RegistryOperation,
        refresh_token: &str,
    ) -> Result<Authz> {
        let url = format!("{}/v2/", self.base_url());
        let transport = |e: reqwest::Error| Error::Transport {
            method: "GET".into(),
            url: url.clone(),
            message: error_chain(&e),
        };
        let resp = self.http.get(&url).send().await.map_err(transport)?;
        let challenge = resp
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_bearer_challenge);
        let Some(challenge) = challenge else {
            // No bearer challenge: the registry does not want a token at all.
            return Ok(Authz::Anonymous);
        };
        let realm = challenge.get("realm").cloned().unwrap_or_default();
        let scope = match op {
            RegistryOperation::Pull => format!("repository:{repo}:pull"),
            RegistryOperation::Push => format!("repository:{repo}:pull,push"),
        };
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "bitvault"),
            ("scope", scope.as_str()),
        ];
        if let Some(service) = challenge.get("service") {
            form.push(("service", service.as_str()));
        }
        let resp = self
            .http
            .post(&realm)
            .form(&form)
            .send()
            .await
            .map_err(|e| Error::Transport {
                method: "POST".into(),
                url: realm.clone(),
                message: error_chain(&e),
            })?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(self.unauthorized(status.as_u16()));
        }
        let body = read_body(resp, &BodyLimit::truncate(MAX_TOKEN_BYTES))
            .await
            .map_err(|e| Error::Transport {
                method: "POST".into(),
                url: realm.clone(),
                message: match e {
                    ReadError::Transport(e) => error_chain(&e),
                    ReadError::TooLarge => "the answer is too large".into(),
                },
            })?;
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: Option<String>,
            token: Option<String>,
        }
        let parsed: Option<TokenResponse> = serde_json::from_slice(&body).ok();
        match parsed.and_then(|t| t.access_token.or(t.token)) {
            Some(token) if status.is_success() => Ok(Authz::Bearer(token)),
            _ => Err(Error::Invalid {
                what: format!("token service {realm}"),
                message: format!("no access token in the answer (http {status})"),
            }),
        }
    }

    /// Sends a request, retrying 429, 5xx and connection failures; 401/403 are errors.
    /// Other statuses are returned for the caller to judge.
    pub async fn send(&self, req: Request<'_>) -> Result<Response> {
        let url = match &req.target {
            Target::Path(path) => format!("{}{}", self.base_url(), path),
            Target::Url(url) => (*url).to_owned(),
        };
        let same_registry = reqwest::Url::parse(&url).is_ok_and(|u| {
            let host_port = match (u.host_str(), u.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                _ => String::new(),
            };
            host_port.eq_ignore_ascii_case(&self.endpoint) && u.scheme() == self.scheme.as_str()
        });
        let error_limit = BodyLimit::truncate(MAX_ERROR_BODY_BYTES);
        let head_limit = BodyLimit::truncate(0);
        let mut reauthed = false;
        let mut attempts = self.retry.attempts();
        loop {
            attempts.start();
            let transport_err = |message: String| Error::Transport {
                method: req.method.to_string(),
                url: url.clone(),
                message,
            };
            let authz = if same_registry {
                match self.authz(req.repo, req.op, reauthed).await {
                    Ok(a) => a,
                    Err(e @ Error::Transport { .. }) => {
                        if attempts.wait(None).await {
                            continue;
                        }
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                }
            } else {
                // Never send credentials to another host (upload locations may point at storage).
                Authz::Anonymous
            };
            let mut builder = self.http.request(req.method.clone(), &url);
            for (name, value) in &req.headers {
                builder = builder.header(name, value);
            }
            builder = match &authz {
                Authz::Anonymous => builder,
                Authz::Basic(u, p) => builder.basic_auth(u, Some(p)),
                Authz::Bearer(t) => builder.bearer_auth(t),
            };
            if let Some(body) = &req.body {
                builder = builder.body(body.clone());
            }
            let result = match builder.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let limit = if req.method == Method::HEAD {
                        // No body, whatever Content-Length says.
                        &head_limit
                    } else if !status.is_success() {
                        &error_limit
                    } else {
                        match &req.partial {
                            Some(p) if status == StatusCode::PARTIAL_CONTENT => p,
                            _ => &req.limit,
                        }
                    };
                    match read_body(resp, limit).await {
                        Ok(body) => Ok((status, headers, body)),
                        // Refused, not retried: the registry would send the same again.
                        Err(ReadError::TooLarge) => return Err(self.too_large(limit)),
                        Err(ReadError::Transport(e)) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            let (status, headers, body) = match result {
                Ok(r) => r,
                // Connection refused, reset or dropped mid-body: worth another try.
                Err(e) if bitvault_http::is_retryable_error(&e) => {
                    if attempts.wait(None).await {
                        continue;
                    }
                    return Err(transport_err(error_chain(&e)));
                }
                Err(e) => return Err(transport_err(error_chain(&e))),
            };
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                // A cached token may have expired or lack a scope: ask once more.
                if same_registry && !reauthed && status == StatusCode::UNAUTHORIZED {
                    reauthed = true;
                    attempts.uncount();
                    continue;
                }
                return Err(self.unauthorized(status.as_u16()));
            }
            if bitvault_http::is_retryable_status(status)
                && attempts
                    .wait(bitvault_http::retry_after(&headers, SystemTime::now()))
                    .await
            {
                continue;
            }
            return Ok(Response {
                status,
                headers,
                body,
                url,
                method: req.method,
            });
        }
    }
}

/// The parameters of a `Bearer` challenge (`realm`, `service`, `scope`), lower-cased keys.
fn parse_bearer_challenge(header: &str) -> Option<HashMap<String, String>> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    params.contains_key("realm").then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges() {
        let c = parse_bearer_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#,
        )
        .unwrap();
        assert_eq!(c["realm"], "https://auth.docker.io/token");
        assert_eq!(c["service"], "registry.docker.io");
        assert_eq!(c["scope"], "repository:library/alpine:pull,push");
        let c = parse_bearer_challenge(r#"bearer Realm=https://r.example/t, service="s""#).unwrap();
        assert_eq!(c["realm"], "https://r.example/t");
        assert_eq!(c["service"], "s");
        assert!(parse_bearer_challenge(r#"Basic realm="x""#).is_none());
        assert!(parse_bearer_challenge("Bearer service=\"s\"").is_none());
    }
}
