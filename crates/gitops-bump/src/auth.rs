//! Credentials for the GitHub flow: a token; a GitHub App installation token scoped to
//! the one repository (revoked at the end); or an octo-sts exchange of the workflow's
//! OIDC token. The exchanges themselves live in `bitvault_github::auth`; this module
//! picks the credential the inputs give. Every token obtained is masked at once.

use anyhow::{Context as _, Result, anyhow, bail};
use bitvault_github::auth::{
    installation_token, revoke_installation_token, sts_audience, sts_token,
};
use bitvault_github::{GitHub, Repo};
use bitvault_runner::Step;
use bitvault_runner::command::{add_mask, info, warning};

/// What the flow's token needs, for the hint on a 403.
const PERMISSIONS: &str = "`contents: write` and `pull-requests: write`";

/// An authenticated client on the repository, and whether its token must be revoked at
/// the end.
pub struct Session {
    pub repo: Repo,
    revoke: bool,
}

impl Session {
    /// Revokes an installation token this run created. Failure is only a warning: the
    /// token expires within the hour anyway.
    pub fn finish(self) {
        if !self.revoke {
            return;
        }
        match revoke_installation_token(self.repo.client()) {
            Ok(()) => info("revoked the installation token"),
            Err(e) => warning(&format!(
                "could not revoke the installation token ({e}); it expires within an hour"
            )),
        }
    }
}

/// Which credential the inputs name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Token(String),
    App { app_id: u64, private_key: String },
    Sts { endpoint: String, identity: String },
}

/// Picks the one credential the inputs give.
pub fn credential(inputs: &bitvault_runner::Inputs) -> Result<Credential> {
    let token = inputs.get("token");
    let app = (inputs.get("app-id"), inputs.get("private-key"));
    let sts = (inputs.get("sts-endpoint"), inputs.get("sts-identity"));
    let given = [
        token.is_some(),
        app.0.is_some() || app.1.is_some(),
        sts.0.is_some() || sts.1.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given > 1 {
        bail!(
            "give one way to authenticate: `token`, or `app-id` + `private-key`, or `sts-endpoint` + `sts-identity`, not several"
        );
    }
    if let Some(t) = token {
        return Ok(Credential::Token(t.to_string()));
    }
    match app {
        (Some(id), Some(key)) => {
            let app_id = id
                .parse()
                .map_err(|_| anyhow!("input `app-id` must be the App's numeric id, got {id:?}"))?;
            return Ok(Credential::App {
                app_id,
                private_key: key.to_string(),
            });
        }
        (Some(_), None) => bail!(
            "input `private-key` is required with `app-id`: pass the App's PEM private key from a secret"
        ),
        (None, Some(_)) => bail!("input `app-id` is required with `private-key`"),
        (None, None) => {}
    }
    match sts {
        (Some(endpoint), Some(identity)) => Ok(Credential::Sts {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            identity: identity.to_string(),
        }),
        (Some(_), None) => {
            bail!("input `sts-identity` is required with `sts-endpoint`: name the trust policy")
        }
        (None, Some(_)) => {
            bail!("input `sts-endpoint` is required with `sts-identity`, e.g. https://octo-sts.dev")
        }
        (None, None) => bail!(
            "no credentials for `repository`: give `token` (contents: write, pull-requests: write), or `app-id` + `private-key`, or `sts-endpoint` + `sts-identity`"
        ),
    }
}

fn api_url(step: &Step) -> String {
    step.inputs
        .get("github-api-url")
        .unwrap_or(step.env.api_url())
        .trim_end_matches('/')
        .to_string()
}

/// Authenticates for `owner/name` as the inputs say.
pub fn connect(step: &Step, owner: &str, name: &str) -> Result<Session> {
    let api = api_url(step);
    // Checked before any credential is fetched or exchanged.
    bitvault_http::require_https("github-api-url", &api).map_err(|e| anyhow!(e))?;
    let (token, revoke) = match credential(&step.inputs)? {
        Credential::Token(token) => (token, false),
        Credential::App {
            app_id,
            private_key,
        } => (
            installation_token(&api, app_id, &private_key, owner, name)?,
            true,
        ),
        Credential::Sts { endpoint, identity } => {
            bitvault_http::require_https("sts-endpoint", &endpoint).map_err(|e| anyhow!(e))?;
            let oidc = bitvault_runner::oidc::id_token(&step.env, &sts_audience(&endpoint))
                .context("octo-sts needs the workflow's OIDC token")?;
            let token = sts_token(&endpoint, &identity, &format!("{owner}/{name}"), &oidc)?;
            (token, false)
        }
    };
    add_mask(&token);
    let gh = GitHub::with_token(&api, &token, PERMISSIONS)?;
    Ok(Session {
        repo: gh.repo(owner, name),
        revoke,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_the_host() {
        assert_eq!(sts_audience("https://octo-sts.dev"), "octo-sts.dev");
        assert_eq!(sts_audience("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
    }
}
