//! Credentials other than a plain token: a GitHub App installation token scoped to one
//! repository, and an octo-sts exchange of the workflow's OIDC token. Every token
//! obtained is masked at once.

use anyhow::{Context as _, Result, anyhow};
use bitvault_http::{RetryPolicy, Timeouts, percent_encode, read_capped, require_https};
use bitvault_runner::command::add_mask;
use octocrab::models::{Installation, InstallationToken};
use serde_json::json;

use crate::client::GitHub;
use crate::hint::{describe, status};

/// App JWT -> the App's installation on `owner/name` -> a token for that repository
/// only.
pub fn installation_token(
    api_url: &str,
    app_id: u64,
    private_key_pem: &str,
    owner: &str,
    name: &str,
) -> Result<String> {
    let app = GitHub::app(api_url, app_id, private_key_pem)?;
    let route = format!(
        "/repos/{}/{}/installation",
        percent_encode(owner),
        percent_encode(name)
    );
    let installation: Installation = app
        .call(true, |o| {
            let route = route.clone();
            async move { o.get(route, None::<&()>).await }
        })
        .map_err(|e| match status(&e) {
            Some(404) => anyhow!(
                "GitHub App {app_id} is not installed on {owner}/{name}; install it there with `contents: write` and `pull-requests: write`"
            ),
            Some(401) => anyhow!(
                "GitHub refused the App's JWT (HTTP 401); check `app-id` and that `private-key` belongs to that App"
            ),
            _ => anyhow!(
                "cannot find the App installation on {owner}/{name}: {}",
                describe(&e)
            ),
        })?;
    let route = format!("/app/installations/{}/access_tokens", installation.id);
    let body = json!({"repositories": [name]});
    // Safe to repeat: an unused extra token expires within the hour.
    let answer: InstallationToken = app
        .call(true, |o| {
            let (route, body) = (route.clone(), body.clone());
            async move { o.post(route, Some(&body)).await }
        })
        .map_err(|e| {
            anyhow!(
                "cannot create an installation token for {owner}/{name}: {}",
                describe(&e)
            )
        })?;
    anyhow::ensure!(
        !answer.token.is_empty(),
        "the access token answer has no `token`"
    );
    add_mask(&answer.token);
    Ok(answer.token)
}

/// Revokes the installation token `gh` authenticates with (`DELETE /installation/token`).
pub fn revoke_installation_token(gh: &GitHub) -> Result<()> {
    let resp = gh
        .call(true, |o| async move {
            o._delete("/installation/token", None::<&()>).await
        })
        .map_err(|e| anyhow!("{}", describe(&e)))?;
    match resp.status().as_u16() {
        204 => Ok(()),
        code => Err(anyhow!("HTTP {code}")),
    }
}

/// The audience octo-sts expects: its host name.
pub fn sts_audience(endpoint: &str) -> String {
    let rest = endpoint
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(endpoint);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

/// The most an octo-sts answer may weigh.
const STS_ANSWER_LIMIT: u64 = 64 * 1024;

/// `GET <endpoint>/sts/exchange?scope=<owner/name>&identity=<policy>` with the
/// workflow's OIDC token as bearer -> a GitHub token on `scope`.
pub fn sts_token(endpoint: &str, identity: &str, scope: &str, oidc_token: &str) -> Result<String> {
    let endpoint = endpoint.trim_end_matches('/');
    require_https("sts-endpoint", endpoint).map_err(|e| anyhow!(e))?;
    let url = format!(
        "{endpoint}/sts/exchange?scope={}&identity={}",
        percent_encode(scope),
        percent_encode(identity)
    );
    let http = bitvault_http::client(
        concat!("bitvault/", env!("CARGO_PKG_VERSION")),
        &Timeouts {
            request: Some(std::time::Duration::from_secs(60)),
            ..Timeouts::default()
        },
    )?;
    let body = bitvault_http::block_on(async {
        let resp = RetryPolicy::default()
            .send(|| {
                http.get(&url)
                    .bearer_auth(oidc_token)
                    .header("Accept", "application/json")
            })
            .await
            .map_err(|e| anyhow!("cannot reach octo-sts at {endpoint}: {e}"))?;
        match resp.status().as_u16() {
            200..=299 => {}
            code @ (401 | 403) => anyhow::bail!(
                "octo-sts refused the exchange (HTTP {code}): check that the trust policy `{identity}` in {scope} allows this workflow"
            ),
            code => anyhow::bail!("octo-sts at {endpoint} answered HTTP {code}"),
        }
        Ok::<_, anyhow::Error>(read_capped(resp, STS_ANSWER_LIMIT).await?)
    })?;
    #[derive(serde::Deserialize)]
    struct Answer {
        token: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(&body).context("octo-sts did not answer JSON")?;
    let token = answer
        .token
        .filter(|t| !t.is_empty())
        .context("octo-sts answered without a `token`")?;
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

    #[test]
    fn sts_endpoints_must_be_https_off_loopback() {
        let err = sts_token("http://octo-sts.dev", "bump", "acme/gitops", "t").unwrap_err();
        assert_eq!(
            err.to_string(),
            "input `sts-endpoint`: \"http://octo-sts.dev\" would send a token over http; use an https:// URL (plain http is accepted only on loopback: 127.0.0.1, ::1, localhost)"
        );
    }
}
