//! Reading scanner reports: trivy JSON, grype JSON and SARIF 2.1.0, told apart by
//! their shape.

mod grype;
mod sarif;
mod trivy;

use anyhow::{Result, bail};
use serde_json::Value;

use crate::model::Report;

/// The largest report read (trivy reports of large images run to tens of MB).
pub const MAX_REPORT_BYTES: usize = 256 * 1024 * 1024;

/// Reads a report, whichever of the three formats it is in.
pub fn parse(bytes: &[u8]) -> Result<Report> {
    if bytes.len() > MAX_REPORT_BYTES {
        bail!(
            "the report is {} bytes, more than the {MAX_REPORT_BYTES}-byte limit",
            bytes.len()
        );
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        anyhow::anyhow!(
            "not JSON ({e}); give the scanner's JSON or SARIF output (`trivy image --format json`, `grype -o json`, or `--format sarif`)"
        )
    })?;
    if value.get("SchemaVersion").is_some() && value.get("ArtifactName").is_some() {
        return trivy::parse(&value);
    }
    if value.get("matches").is_some() && value.get("descriptor").is_some() {
        return grype::parse(&value);
    }
    if value.get("runs").is_some()
        && value
            .get("version")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("2.1"))
    {
        return sarif::parse(&value);
    }
    bail!(
        "not a trivy JSON, grype JSON or SARIF 2.1.0 report (no `SchemaVersion`/`ArtifactName`, no `matches`/`descriptor`, no SARIF `version: 2.1.0` with `runs`)"
    )
}

/// The `sha256:<hex>` in `text` (`repo@sha256:<hex>` or a bare digest), if any.
pub(crate) fn digest_in(text: &str) -> Option<String> {
    let at = text.rfind("sha256:")?;
    let hex = &text[at + 7..];
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then(|| format!("sha256:{hex}"))
}

/// `value[key]` as a string, when it is a non-empty one.
pub(crate) fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_found_only_whole() {
        let hex = "a".repeat(64);
        assert_eq!(
            digest_in(&format!("r/x@sha256:{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(
            digest_in(&format!("sha256:{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(digest_in("r/x:latest"), None);
        assert_eq!(digest_in(&format!("sha256:{}", &hex[1..])), None);
    }

    #[test]
    fn other_json_is_refused_with_what_was_expected() {
        let err = parse(b"{\"a\":1}").unwrap_err().to_string();
        assert!(
            err.starts_with("not a trivy JSON, grype JSON or SARIF 2.1.0 report"),
            "{err}"
        );
        let err = parse(b"nope").unwrap_err().to_string();
        assert!(err.starts_with("not JSON"), "{err}");
    }
}
