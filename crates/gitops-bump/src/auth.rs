//! Credentials for the GitHub flow: a token; a GitHub App installation token scoped to
//! the one repository (revoked at the end); or an octo-sts exchange of the workflow's
//! OIDC token. Every token obtained is masked at once.

use anyhow::{Context as _, Result, anyhow, bail};
use bitvault_runner::Step;
use bitvault_runner::command::{add_mask, info, warning};
use octocrab::Octocrab;
use serde_json::{Value, json};

use crate::github::{Gh, status};

/// An authenticated client, and whether its token must be revoked at the end.
pub struct Session {
    pub gh: Gh,
    revoke: bool,
}

impl Session {
    /// Revokes an installation token this run created. Failure is only a warning: the
    /// token expires within the hour anyway.
    pub fn finish(self) {
        if !self.revoke {
            return;
        }
        let result = self
            .gh
            .block_on(self.gh.client()._delete("/installation/token", None::<&()>));
        match result {
            Ok(resp) if resp.status().as_u16() == 204 => info("revoked the installation token"),
            Ok(resp) => warning(&format!(
                "could not revoke the installation token (HTTP {}); it expires within an hour",
                resp.status().as_u16()
            )),
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

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn api_url(step: &Step) -> String {
    step.inputs
        .get("github-api-url")
        .unwrap_or(step.env.api_url())
        .trim_end_matches('/')
        .to_string()
}

fn token_client(rt: &tokio::runtime::Runtime, api: &str, token: String) -> Result<Octocrab> {
    let _guard = rt.enter();
    Octocrab::builder()
        .base_uri(api)
        .with_context(|| format!("`github-api-url` {api:?} is not a URL"))?
        .personal_token(token)
        .build()
        .context("cannot build the GitHub client")
}

/// Authenticates for `owner/name` as the inputs say.
pub fn connect(step: &Step, owner: &str, name: &str) -> Result<Session> {
    let api = api_url(step);
    let rt = runtime()?;
    match credential(&step.inputs)? {
        Credential::Token(token) => {
            let client = token_client(&rt, &api, token)?;
            Ok(Session {
                gh: Gh::new(rt, client, owner, name),
                revoke: false,
            })
        }
        Credential::App {
            app_id,
            private_key,
        } => {
            let token = rt.block_on(installation_token(&api, app_id, &private_key, owner, name))?;
            add_mask(&token);
            let client = token_client(&rt, &api, token)?;
            Ok(Session {
                gh: Gh::new(rt, client, owner, name),
                revoke: true,
            })
        }
        Credential::Sts { endpoint, identity } => {
            let token = sts_token(step, &endpoint, &identity, owner, name)?;
            let client = token_client(&rt, &api, token)?;
            Ok(Session {
                gh: Gh::new(rt, client, owner, name),
                revoke: false,
            })
        }
    }
}

/// App JWT -> the installation on the repository -> a token for that repository only.
async fn installation_token(
    api: &str,
    app_id: u64,
    pem: &str,
    owner: &str,
    name: &str,
) -> Result<String> {
    let key = octocrab::EncodingKey::from_rsa_pem(pem.as_bytes()).context(
        "input `private-key` is not an RSA private key in PEM form; paste the .pem file GitHub generated for the App",
    )?;
    let app = Octocrab::builder()
        .base_uri(api)
        .with_context(|| format!("`github-api-url` {api:?} is not a URL"))?
        .app(octocrab::models::AppId(app_id), key)
        .build()
        .context("cannot build the GitHub App client")?;
    let installation: Value = app
        .get(format!("/repos/{owner}/{name}/installation"), None::<&()>)
        .await
        .map_err(|e| match status(&e) {
            Some(404) => anyhow!(
                "GitHub App {app_id} is not installed on {owner}/{name}; install it there with `contents: write` and `pull-requests: write`"
            ),
            Some(401) => anyhow!(
                "GitHub refused the App's JWT (HTTP 401); check `app-id` and that `private-key` belongs to that App"
            ),
            _ => anyhow!("cannot find the App installation on {owner}/{name}: {e}"),
        })?;
    let id = installation["id"]
        .as_u64()
        .context("the installation answer has no `id`")?;
    let answer: Value = app
        .post(
            format!("/app/installations/{id}/access_tokens"),
            Some(&json!({"repositories": [name]})),
        )
        .await
        .map_err(|e| anyhow!("cannot create an installation token for {owner}/{name}: {e}"))?;
    let token = answer["token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .context("the access token answer has no `token`")?
        .to_string();
    add_mask(&token);
    Ok(token)
}

/// The audience octo-sts expects: its host name.
pub fn sts_audience(endpoint: &str) -> String {
    let rest = endpoint
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(endpoint);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

/// The workflow's OIDC token -> `<endpoint>/sts/exchange` -> a token on `owner/name`.
fn sts_token(
    step: &Step,
    endpoint: &str,
    identity: &str,
    owner: &str,
    name: &str,
) -> Result<String> {
    let oidc = bitvault_runner::oidc::id_token(&step.env, &sts_audience(endpoint))
        .context("octo-sts needs the workflow's OIDC token")?;
    let url = format!("{endpoint}/sts/exchange");
    let scope = format!("{owner}/{name}");
    let mut resp = ureq::get(&url)
        .query("scope", &scope)
        .query("identity", identity)
        .header("Authorization", &format!("Bearer {oidc}"))
        .header("Accept", "application/json")
        .call()
        .map_err(|e| match e {
            ureq::Error::StatusCode(code @ (401 | 403)) => anyhow!(
                "octo-sts refused the exchange (HTTP {code}): check that the trust policy `{identity}` in {scope} allows this workflow"
            ),
            ureq::Error::StatusCode(code) => {
                anyhow!("octo-sts at {endpoint} answered HTTP {code}")
            }
            other => anyhow!("cannot reach octo-sts at {endpoint}: {other}"),
        })?;
    let answer: Value = resp
        .body_mut()
        .read_json()
        .context("octo-sts did not answer JSON")?;
    let token = answer["token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .context("octo-sts answered without a `token`")?
        .to_string();
    add_mask(&token);
    Ok(token)
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
