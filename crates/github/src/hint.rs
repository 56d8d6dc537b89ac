//! The one mapping from a GitHub error answer to a message that says what to do.

/// The HTTP status of a GitHub error answer.
pub fn status(e: &octocrab::Error) -> Option<u16> {
    match e {
        octocrab::Error::GitHub { source, .. } => Some(source.status_code.as_u16()),
        _ => None,
    }
}

/// What GitHub said, on one line: `HTTP 404: Not Found`, or the transport failure.
pub fn describe(e: &octocrab::Error) -> String {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            let mut s = format!("HTTP {}: {}", source.status_code.as_u16(), source.message);
            // 422 details (`A pull request already exists`, the field at fault).
            for detail in source.errors.iter().flatten() {
                let text = detail["message"].as_str().map(str::to_string).or_else(|| {
                    let field = detail["field"].as_str()?;
                    let code = detail["code"].as_str()?;
                    Some(format!("{field} {code}"))
                });
                if let Some(text) = text.filter(|t| !s.contains(t.as_str())) {
                    s.push_str(" (");
                    s.push_str(&text);
                    s.push(')');
                }
            }
            s
        }
        other => bitvault_http::error_chain(other),
    }
}

/// Whether the answer says a rate limit is used up (primary: 403 or 429 with
/// `x-ratelimit-remaining: 0`; secondary: GitHub's message says so).
pub(crate) fn rate_limited(e: &octocrab::Error) -> bool {
    let octocrab::Error::GitHub { source, .. } = e else {
        return false;
    };
    let code = source.status_code.as_u16();
    let exhausted = source
        .headers
        .as_ref()
        .and_then(|h| h.get("x-ratelimit-remaining"))
        .and_then(|v| v.to_str().ok())
        == Some("0");
    code == 429
        || (code == 403 && (exhausted || source.message.to_lowercase().contains("rate limit")))
}

/// The hint for an error answer, to follow the description after `; `. `permissions`
/// names what the caller's token needs, e.g. "`contents: write` and `pull-requests:
/// write`". Empty when there is nothing better to say than GitHub's own message.
pub fn hint(e: &octocrab::Error, permissions: &str) -> String {
    if rate_limited(e) {
        let reset = match e {
            octocrab::Error::GitHub { source, .. } => source.rate_limit_reset,
            _ => None,
        };
        let when = reset
            .and_then(|t| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?
                    .as_secs();
                Some(format!(" (it resets in {} s)", t.saturating_sub(now)))
            })
            .unwrap_or_default();
        return format!(
            "GitHub's API rate limit for this token is used up{when}; run the job again later, or authenticate as a GitHub App (`app-id` + `private-key`), which has a higher limit"
        );
    }
    match status(e) {
        Some(401) => "the token is not valid (expired or revoked?)".to_string(),
        Some(403) => {
            format!("the token lacks permission: it needs {permissions} on the repository")
        }
        Some(404) => {
            "check `repository` and that the token can see it (a 404 also means no access)"
                .to_string()
        }
        Some(422) => {
            "GitHub refused the request's content; the message above says which part".to_string()
        }
        _ => String::new(),
    }
}
