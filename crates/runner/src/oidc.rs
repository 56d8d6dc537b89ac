//! The workflow's OIDC token, from the runner's token endpoint.
//!
//! `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud>` with
//! `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`; the token is the
//! `value` field of the JSON answer. It is masked the moment it is read. The request
//! goes through `bitvault-http` (its retry policy, timeouts and size cap): the endpoint
//! is part of the runner protocol, so the fetch lives here beside the rest of it.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use bitvault_http::{RetryPolicy, Timeouts, percent_encode, read_capped};

use crate::env::Env;

const NO_PERMISSION: &str = "the runner offers no OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set. Give the job `permissions: id-token: write` (a pull request from a fork never gets one), or pass a token explicitly";

/// The most the token endpoint's answer may weigh (a JWT is a few kilobytes).
const ANSWER_LIMIT: u64 = 256 * 1024;

/// The token endpoint URL for an audience.
pub fn request_url(base: &str, audience: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}audience={}", percent_encode(audience))
}

/// Fetches an ID token for `audience`, masks it and returns it. Transient failures
/// (429, 5xx, dropped connections) are retried under the workspace's retry policy.
pub fn id_token(env: &Env, audience: &str) -> Result<String> {
    let (Some(url), Some(bearer)) = (
        env.non_empty("ACTIONS_ID_TOKEN_REQUEST_URL"),
        env.non_empty("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) else {
        bail!(NO_PERMISSION);
    };
    crate::command::add_mask(bearer);
    let url = request_url(url, audience);
    let http = bitvault_http::client(
        concat!("bitvault/", env!("CARGO_PKG_VERSION")),
        &Timeouts {
            request: Some(Duration::from_secs(60)),
            ..Timeouts::default()
        },
    )?;
    let body = bitvault_http::block_on(async {
        let resp = RetryPolicy::default()
            .send(|| {
                http.get(&url)
                    .bearer_auth(bearer)
                    .header("Accept", "application/json; api-version=2.0")
            })
            .await
            .map_err(|e| anyhow!("cannot reach the runner's OIDC token endpoint: {e}"))?;
        let code = resp.status().as_u16();
        if !resp.status().is_success() {
            bail!(
                "the runner's OIDC token endpoint answered HTTP {code}; check that the job has `permissions: id-token: write`"
            );
        }
        Ok(read_capped(resp, ANSWER_LIMIT).await?)
    })?;
    #[derive(serde::Deserialize)]
    struct Answer {
        value: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(&body)
        .context("the runner's OIDC token endpoint did not answer JSON with a `value`")?;
    let token = answer
        .value
        .filter(|v| !v.is_empty())
        .context("the runner's OIDC token endpoint answered without a token (`value` is empty)")?;
    crate::command::add_mask(&token);
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    #[test]
    fn audience_is_appended_to_the_runner_url() {
        assert_eq!(
            request_url("https://x/token?api-version=2.0", "sigstore"),
            "https://x/token?api-version=2.0&audience=sigstore"
        );
        assert_eq!(
            request_url("http://x/t", "https://github.com/o"),
            "http://x/t?audience=https%3A%2F%2Fgithub.com%2Fo"
        );
    }

    #[test]
    fn missing_variables_name_the_permission() {
        let err = id_token(&Env::default(), "sigstore")
            .unwrap_err()
            .to_string();
        assert!(err.contains("permissions: id-token: write"), "{err}");
    }

    #[test]
    fn fetches_the_token_with_the_bearer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut auth = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.to_ascii_lowercase().starts_with("authorization:") {
                    auth = line.trim().to_string();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let body = r#"{"count":1,"value":"eyJ.token.sig"}"#;
            let mut s = stream;
            write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            (request_line, auth)
        });
        let env = Env::from_pairs([
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL".to_string(),
                format!("http://127.0.0.1:{port}/token?api-version=2.0"),
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_string(),
                "runner-bearer".to_string(),
            ),
        ]);
        let token = id_token(&env, "sigstore").unwrap();
        assert_eq!(token, "eyJ.token.sig");
        let (line, auth) = server.join().unwrap();
        assert!(
            line.starts_with("GET /token?api-version=2.0&audience=sigstore "),
            "{line}"
        );
        assert_eq!(
            auth.to_ascii_lowercase(),
            "authorization: bearer runner-bearer"
        );
    }
}
