//! The environment a step runs in, and the `github` context it carries.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

/// A snapshot of environment variables. Actions read the environment only
/// through this, so tests can hand them any environment they like.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The process's environment (variables that are not valid UTF-8 are skipped).
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            vars: pairs.into_iter().collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// A variable that must be set and not empty.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(key.into(), value.into());
    }

    /// True when running under a GitHub Actions runner (or `act`).
    pub fn is_actions(&self) -> bool {
        self.get("GITHUB_ACTIONS") == Some("true")
    }

    pub fn path(&self, key: &str) -> Option<PathBuf> {
        self.non_empty(key).map(PathBuf::from)
    }

    /// `GITHUB_EVENT_NAME`.
    pub fn event_name(&self) -> Option<&str> {
        self.non_empty("GITHUB_EVENT_NAME")
    }

    /// The webhook payload from `GITHUB_EVENT_PATH`, if there is one.
    pub fn event_payload(&self) -> Result<Option<serde_json::Value>> {
        let Some(path) = self.path("GITHUB_EVENT_PATH") else {
            return Ok(None);
        };
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the event payload {}", path.display()))?;
        let value = serde_json::from_str(&text).with_context(|| {
            format!(
                "the event payload {} is not valid JSON; it is written by the runner, so check GITHUB_EVENT_PATH",
                path.display()
            )
        })?;
        Ok(Some(value))
    }

    /// `GITHUB_SERVER_URL`, defaulting to github.com.
    pub fn server_url(&self) -> &str {
        self.non_empty("GITHUB_SERVER_URL")
            .unwrap_or("https://github.com")
    }

    /// `GITHUB_API_URL`, defaulting to api.github.com.
    pub fn api_url(&self) -> &str {
        self.non_empty("GITHUB_API_URL")
            .unwrap_or("https://api.github.com")
    }
}
