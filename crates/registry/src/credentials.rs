//! Credentials the way users already have them.
//!
//! Lookup order for a registry, as the docker CLI does it: explicit username/password
//! given to us, then Docker's `config.json` (`$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json`): a `credHelpers` entry for the registry, the `credsStore`
//! helper, the `auths` entry (what docker/login-action writes); else anonymous. Every
//! result records where it came from, so an authorization error can name it.

use std::collections::HashMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

use crate::reference::{DOCKER_HUB, DOCKER_HUB_ENDPOINT};

/// The key and server URL docker uses for Docker Hub.
const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";

/// A secret to present to a registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// No credentials.
    Anonymous,
    /// Username and password (or personal access token).
    Basic {
        /// The username.
        username: String,
        /// The password or token.
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken` in config.json, `<token>` user from helpers).
    IdentityToken(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Anonymous => f.write_str("Anonymous"),
            Credential::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// Where a credential came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Username/password given explicitly (action inputs).
    Explicit,
    /// An `auths` entry of a docker config file.
    DockerConfigAuths {
        /// The config file.
        path: PathBuf,
    },
    /// The `credsStore` helper of a docker config file.
    CredsStore {
        /// Helper name, run as `docker-credential-<helper>`.
        helper: String,
    },
    /// A `credHelpers` entry of a docker config file.
    CredHelper {
        /// Helper name, run as `docker-credential-<helper>`.
        helper: String,
    },
    /// Nothing found: anonymous access.
    Anonymous,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Explicit => f.write_str("the username/password given"),
            CredentialSource::DockerConfigAuths { path } => {
                write!(f, "the auths entry in {}", path.display())
            }
            CredentialSource::CredsStore { helper } => {
                write!(f, "credsStore helper docker-credential-{helper}")
            }
            CredentialSource::CredHelper { helper } => {
                write!(f, "credHelpers helper docker-credential-{helper}")
            }
            CredentialSource::Anonymous => f.write_str("no credentials (anonymous)"),
        }
    }
}

/// A credential and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The secret.
    pub credential: Credential,
    /// Its source.
    pub source: CredentialSource,
}

impl Credentials {
    /// Anonymous access.
    pub fn anonymous() -> Self {
        Credentials {
            credential: Credential::Anonymous,
            source: CredentialSource::Anonymous,
        }
    }
}

/// Reading credentials failed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// config.json exists but could not be read or parsed.
    #[error("cannot read docker config {path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A credential helper failed.
    #[error("credential helper docker-credential-{helper} failed for {server}: {message}")]
    Helper {
        /// Helper name.
        helper: String,
        /// The server asked for.
        server: String,
        /// What went wrong.
        message: String,
    },
}

/// Where to look for credentials.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    explicit: HashMap<String, (String, String)>,
    docker_config_dir: Option<PathBuf>,
}

impl CredentialStore {
    /// Looks in `$DOCKER_CONFIG` or `~/.docker`, with no explicit credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `username`/`password` for `registry` (as written in references, e.g. `ghcr.io`,
    /// `docker.io`), before anything in docker's config.
    pub fn with_basic(mut self, registry: &str, username: &str, password: &str) -> Self {
        self.explicit.insert(
            hostname_key(registry),
            (username.to_owned(), password.to_owned()),
        );
        self
    }

    /// Reads `config.json` from `dir` instead of `$DOCKER_CONFIG` or `~/.docker`.
    pub fn with_docker_config_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.docker_config_dir = Some(dir.into());
        self
    }

    /// The docker config file consulted, whether or not it exists.
    pub fn docker_config_path(&self) -> Option<PathBuf> {
        let dir = match &self.docker_config_dir {
            Some(dir) => dir.clone(),
            None => match std::env::var_os("DOCKER_CONFIG") {
                Some(dir) if !dir.is_empty() => PathBuf::from(dir),
                _ => PathBuf::from(std::env::var_os("HOME")?).join(".docker"),
            },
        };
        Some(dir.join("config.json"))
    }

    /// Finds credentials for `registry` (as written in references: `docker.io`, `ghcr.io`).
    pub fn lookup(&self, registry: &str) -> Result<Credentials, CredentialError> {
        let key = hostname_key(registry);
        if let Some((username, password)) = self.explicit.get(&key) {
            return Ok(Credentials {
                credential: Credential::Basic {
                    username: username.clone(),
                    password: password.clone(),
                },
                source: CredentialSource::Explicit,
            });
        }
        let Some(path) = self.docker_config_path() else {
            return Ok(Credentials::anonymous());
        };
        let config = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Credentials::anonymous());
            }
            Err(e) => {
                return Err(CredentialError::Config {
                    path,
                    message: e.to_string(),
                });
            }
        };
        let config: DockerConfig =
            serde_json::from_slice(&config).map_err(|e| CredentialError::Config {
                path: path.clone(),
                message: e.to_string(),
            })?;
        lookup_in_config(&config, &path, &key)
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

fn lookup_in_config(
    config: &DockerConfig,
    path: &Path,
    key: &str,
) -> Result<Credentials, CredentialError> {
    // A credHelpers entry decides for its registry; credsStore for all others.
    let helper = match config
        .cred_helpers
        .iter()
        .find(|(k, _)| hostname_key(k) == key)
    {
        Some((_, helper)) => Some((
            helper.as_str(),
            CredentialSource::CredHelper {
                helper: helper.clone(),
            },
        )),
        None => config
            .creds_store
            .as_deref()
            .filter(|h| !h.is_empty())
            .map(|h| {
                (
                    h,
                    CredentialSource::CredsStore {
                        helper: h.to_owned(),
                    },
                )
            }),
    };
    let from_helper = match helper {
        Some((helper, source)) => run_helper(helper, key)?.map(|c| (c, source)),
        None => None,
    };
    if let Some((credential, source)) = from_helper {
        return Ok(Credentials { credential, source });
    }
    let from_auths = match config.auths.iter().find(|(k, _)| hostname_key(k) == key) {
        Some((_, entry)) => entry.credential(path)?,
        None => None,
    };
    if let Some(credential) = from_auths {
        return Ok(Credentials {
            credential,
            source: CredentialSource::DockerConfigAuths {
                path: path.to_owned(),
            },
        });
    }
    Ok(Credentials::anonymous())
}

impl AuthEntry {
    fn credential(&self, path: &Path) -> Result<Option<Credential>, CredentialError> {
        if let Some(token) = self.identitytoken.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credential::IdentityToken(token.to_owned())));
        }
        if let Some(auth) = self.auth.as_deref().filter(|a| !a.is_empty()) {
            let bad = |message: &str| CredentialError::Config {
                path: path.to_owned(),
                message: message.to_owned(),
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad("an auths entry's auth is not base64"))?;
            let decoded = String::from_utf8(decoded)
                .map_err(|_| bad("an auths entry's auth is not utf-8"))?;
            let (username, password) = decoded
                .split_once(':')
                .ok_or_else(|| bad("an auths entry's auth is not username:password"))?;
            return Ok(Some(Credential::Basic {
                username: username.to_owned(),
                password: password.to_owned(),
            }));
        }
        match (&self.username, &self.password) {
            (Some(username), Some(password)) if !username.is_empty() => {
                Ok(Some(Credential::Basic {
                    username: username.clone(),
                    password: password.clone(),
                }))
            }
            _ => Ok(None),
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperOutput {
    username: String,
    secret: String,
}

/// Runs `docker-credential-<helper> get` with the server on stdin, like the docker CLI.
/// `Ok(None)` when the helper has no credentials for the server.
fn run_helper(helper: &str, key: &str) -> Result<Option<Credential>, CredentialError> {
    let server = if key == DOCKER_HUB {
        DOCKER_HUB_SERVER
    } else {
        key
    };
    let fail = |message: String| CredentialError::Helper {
        helper: helper.to_owned(),
        server: server.to_owned(),
        message,
    };
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {program}: {e}; is it on PATH?")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // The helper protocol's "not found" message, printed on stdout.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(fail(format!(
            "exit status {}: {}",
            out.status,
            format!("{} {}", stdout.trim(), stderr.trim()).trim()
        )));
    }
    let parsed: HelperOutput =
        serde_json::from_str(stdout.trim()).map_err(|e| fail(format!("unexpected output: {e}")))?;
    if parsed.username == "<token>" {
        Ok(Some(Credential::IdentityToken(parsed.secret)))
    } else if parsed.username.is_empty() && parsed.secret.is_empty() {
        Ok(None)
    } else {
        Ok(Some(Credential::Basic {
            username: parsed.username,
            password: parsed.secret,
        }))
    }
}

/// Normalises a config key or registry name to the hostname docker compares
/// (`https://index.docker.io/v1/` -> `docker.io`, `https://ghcr.io` -> `ghcr.io`).
fn hostname_key(s: &str) -> String {
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or(s).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | DOCKER_HUB_ENDPOINT => DOCKER_HUB.to_owned(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(config: &str) -> (tempfile::TempDir, CredentialStore) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        let store = CredentialStore::new().with_docker_config_dir(dir.path());
        (dir, store)
    }

    #[test]
    fn hostname_keys() {
        assert_eq!(hostname_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(hostname_key("registry-1.docker.io"), "docker.io");
        assert_eq!(hostname_key("docker.io"), "docker.io");
        assert_eq!(hostname_key("https://ghcr.io"), "ghcr.io");
        assert_eq!(hostname_key("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(hostname_key("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
    }

    #[test]
    fn auths_entry_as_login_action_writes_it() {
        // docker login writes base64("user:pass") under the server; Hub uses its v1 URL.
        let (_dir, store) = store_with(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYTpzcw=="},
                "ghcr.io":{"username":"u2","password":"p2"},
                "quay.io":{"identitytoken":"refresh"}}}"#,
        );
        let hub = store.lookup("docker.io").unwrap();
        assert_eq!(
            hub.credential,
            Credential::Basic {
                username: "user".into(),
                password: "pa:ss".into()
            }
        );
        assert!(matches!(
            hub.source,
            CredentialSource::DockerConfigAuths { .. }
        ));
        assert_eq!(
            store.lookup("ghcr.io").unwrap().credential,
            Credential::Basic {
                username: "u2".into(),
                password: "p2".into()
            }
        );
        assert_eq!(
            store.lookup("quay.io").unwrap().credential,
            Credential::IdentityToken("refresh".into())
        );
        assert_eq!(
            store.lookup("example.com").unwrap(),
            Credentials::anonymous()
        );
    }

    #[test]
    fn explicit_wins_and_missing_config_is_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::new()
            .with_docker_config_dir(dir.path())
            .with_basic("ghcr.io", "me", "secret");
        let c = store.lookup("ghcr.io").unwrap();
        assert_eq!(c.source, CredentialSource::Explicit);
        assert_eq!(store.lookup("docker.io").unwrap(), Credentials::anonymous());
    }

    #[test]
    fn broken_config_is_an_error_naming_the_file() {
        let (dir, store) = store_with("{not json");
        let err = store.lookup("ghcr.io").unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Credential::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
