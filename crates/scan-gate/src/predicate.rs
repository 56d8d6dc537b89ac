//! cosign's vulnerability attestation predicate
//! (`https://cosign.sigstore.dev/attestation/vuln/v1`, as `cosign attest --type vuln`
//! writes it), holding the scanner's report and the gate's verdict.

use serde_json::{Value, json};

use crate::model::Report;
use crate::policy::{Policy, Verdict};

/// The predicate type.
pub const VULN_PREDICATE_TYPE: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";
/// The media type of the attached report (the scanner's own bytes).
pub const REPORT_MEDIA_TYPE: &str = "application/vnd.dev.bitvault.scan-report.v1+json";
/// Annotation on the report and its attestation: sha256 of the report's bytes.
pub const CONTENT_ANNOTATION: &str = "dev.bitvault.scan.content-digest";
/// Annotation naming the report's format (`trivy-json`, `grype-json`, `sarif`).
pub const FORMAT_ANNOTATION: &str = "dev.bitvault.scan.format";
/// Annotation naming the scanner and its version.
pub const SCANNER_ANNOTATION: &str = "dev.bitvault.scan.scanner";

/// The purl-style URI cosign puts for a scanner.
fn scanner_uri(name: &str, version: &str) -> String {
    match name {
        "trivy" => format!("pkg:github/aquasecurity/trivy@{version}"),
        "grype" => format!("pkg:github/anchore/grype@{version}"),
        other => format!("pkg:generic/{other}@{version}"),
    }
}

/// The predicate for `report` (its JSON `raw`) judged `verdict` under `policy`.
/// `started`/`finished` default to the report's own time.
pub fn predicate(
    report: &Report,
    raw: &Value,
    policy: &Policy,
    verdict: &Verdict,
    started: Option<&str>,
    finished: Option<&str>,
    invocation_uri: &str,
) -> Value {
    let finished = finished
        .or(report.created.as_deref())
        .unwrap_or_default()
        .to_owned();
    let started = started
        .map(str::to_owned)
        .unwrap_or_else(|| finished.clone());
    let counts: serde_json::Map<String, Value> = verdict
        .counts
        .iter()
        .map(|(s, n)| (s.name().to_owned(), json!(n)))
        .collect();
    json!({
        "invocation": {
            "parameters": {
                "policy": {
                    "fail-on": policy.fail_on.iter().map(|s| s.name()).collect::<Vec<_>>(),
                    "only-fixed": policy.only_fixed,
                },
                "passed": verdict.passed,
                "counts": counts,
                "failing": verdict.failing.len(),
                "suppressed": verdict.suppressed.iter().map(|s| json!({
                    "id": s.finding.id, "package": s.finding.package, "by": s.by, "reason": s.reason,
                })).collect::<Vec<_>>(),
            },
            "uri": invocation_uri,
            "event_id": "",
            "builder.id": concat!("bitvault scan-gate ", env!("CARGO_PKG_VERSION")),
        },
        "scanner": {
            "uri": scanner_uri(&report.scanner.name, &report.scanner.version),
            "version": report.scanner.version,
            "db": {
                "uri": "",
                "version": report.scanner.db_version.clone().unwrap_or_default(),
            },
            "result": raw,
        },
        "metadata": {
            "scanStartedOn": started,
            "scanFinishedOn": finished,
        },
    })
}
