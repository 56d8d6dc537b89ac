//! The workflow's OIDC token, from the runner's token endpoint.
//!
//! `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud>` with
//! `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`; the token is the
//! `value` field of the JSON answer. It is masked the moment it is read.

use anyhow::{Context as _, Result, bail};

use crate::env::Env;

const NO_PERMISSION: &str = "the runner offers no OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set. Give the job `permissions: id-token: write` (a pull request from a fork never gets one), or pass a token explicitly";

/// The token endpoint URL for an audience.
pub fn request_url(base: &str, audience: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}audience={}", percent_encode(audience))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Fetches an ID token for `audience`, masks it and returns it.
pub fn id_token(env: &Env, audience: &str) -> Result<String> {
    let (Some(url), Some(bearer)) = (
        env.non_empty("ACTIONS_ID_TOKEN_REQUEST_URL"),
        env.non_empty("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) else {
        bail!(NO_PERMISSION);
    };
    crate::command::add_mask(bearer);
    let url = request_url(url, audience);
    let mut resp = ureq::get(&url)
        .header("Authorization", &format!("Bearer {bearer}"))
        .header("Accept", "application/json; api-version=2.0")
        .call()
        .map_err(|e| match e {
            ureq::Error::StatusCode(code) => anyhow::anyhow!(
                "the runner's OIDC token endpoint answered HTTP {code}; check that the job has `permissions: id-token: write`"
            ),
            other => anyhow::anyhow!("cannot reach the runner's OIDC token endpoint: {other}"),
        })?;
    #[derive(serde::Deserialize)]
    struct Answer {
        value: Option<String>,
    }
    let answer: Answer = resp
        .body_mut()
        .read_json()
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
