//! SARIF 2.1.0 as trivy (`--format sarif`) and grype (`-o sarif`) write it: one rule per
//! vulnerability, one result per affected package, the package and versions in the
//! result's message.

use anyhow::{Result, bail};
use serde_json::Value;

use super::{digest_in, text};
use crate::model::{Class, Finding, Format, Report, Scanner, Severity};

pub(super) fn parse(v: &Value) -> Result<Report> {
    let runs = v
        .get("runs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(run) = runs.first() else {
        bail!("the SARIF report has no runs");
    };
    if runs.len() > 1 {
        bail!(
            "the SARIF report has {} runs; give one report per scan",
            runs.len()
        );
    }
    let driver = run.pointer("/tool/driver").cloned().unwrap_or(Value::Null);
    let scanner = Scanner {
        name: text(&driver, "name")
            .unwrap_or_else(|| "unknown".into())
            .to_ascii_lowercase(),
        version: text(&driver, "version").unwrap_or_else(|| "unknown".into()),
        db_version: None,
    };
    let rules = driver
        .get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let props = run.get("properties").cloned().unwrap_or(Value::Null);
    let artifact = text(&props, "imageName");
    let mut digests = Vec::new();
    if let Some(d) = artifact.as_deref().and_then(digest_in) {
        digests.push(d);
    }
    for r in props
        .get("repoDigests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(d) = r.as_str().and_then(digest_in)
            && !digests.contains(&d)
        {
            digests.push(d);
        }
    }
    let mut findings = Vec::new();
    let mut targets: Vec<(String, Class)> = Vec::new();
    for (i, result) in run
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(rule_id) = text(result, "ruleId") else {
            bail!("runs[0].results[{i}] has no ruleId");
        };
        let rule = result
            .get("ruleIndex")
            .and_then(Value::as_u64)
            .and_then(|n| rules.get(n as usize))
            .filter(|r| r.get("id").and_then(Value::as_str) == Some(&rule_id))
            .or_else(|| {
                rules
                    .iter()
                    .find(|r| r.get("id").and_then(Value::as_str) == Some(&rule_id))
            })
            .cloned()
            .unwrap_or(Value::Null);
        let message = result
            .pointer("/message/text")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let fields = Fields::of(message, &rule);
        let uri = result
            .pointer("/locations/0/physicalLocation/artifactLocation/uri")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let class = match rule.get("name").and_then(Value::as_str) {
            Some("OsPackageVulnerability") => Class::OsPkgs,
            Some("LanguageSpecificPackageVulnerability") => Class::LangPkgs,
            _ => Class::Other,
        };
        let target = uri.clone().unwrap_or_default();
        if !targets.iter().any(|(t, _)| *t == target) {
            targets.push((target.clone(), class));
        }
        let id = fields.id.clone().unwrap_or_else(|| {
            // grype names rules `<vulnerability>-<package>`.
            match &fields.package {
                Some(p) => rule_id
                    .strip_suffix(&format!("-{p}"))
                    .unwrap_or(&rule_id)
                    .to_owned(),
                None => rule_id.clone(),
            }
        });
        let severity = severity_of(&rule, result);
        findings.push(Finding {
            id,
            aliases: Vec::new(),
            package: fields.package.unwrap_or_default(),
            purl: None,
            installed: fields.installed.unwrap_or_default(),
            fix_available: fields.fixed.is_some(),
            fixed: fields.fixed,
            severity,
            target,
            class,
            path: uri,
            title: rule
                .pointer("/shortDescription/text")
                .and_then(Value::as_str)
                .map(str::to_owned),
            url: text(&rule, "helpUri"),
        });
    }
    Ok(Report {
        format: Format::Sarif,
        scanner,
        artifact,
        digests,
        created: run
            .pointer("/invocations/0/endTimeUtc")
            .and_then(Value::as_str)
            .map(str::to_owned),
        targets,
        findings,
    })
}

/// The severity word among the rule's tags (trivy), else the band of its
/// `security-severity` score (both), else the result's level.
fn severity_of(rule: &Value, result: &Value) -> Severity {
    let tags = rule
        .pointer("/properties/tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    for tag in tags {
        if let Some(s) = Severity::parse(tag) {
            return s;
        }
    }
    let score = rule
        .pointer("/properties/security-severity")
        .and_then(|s| match s {
            Value::String(s) => s.parse::<f64>().ok(),
            other => other.as_f64(),
        });
    if let Some(score) = score {
        return Severity::of_score(score);
    }
    match result.get("level").and_then(Value::as_str) {
        Some("error") => Severity::High,
        Some("warning") => Severity::Medium,
        Some("note") => Severity::Low,
        _ => Severity::Unknown,
    }
}

/// What a result's message (and its rule's help) say about the package.
#[derive(Default)]
struct Fields {
    id: Option<String>,
    package: Option<String>,
    installed: Option<String>,
    fixed: Option<String>,
}

impl Fields {
    fn of(message: &str, rule: &Value) -> Fields {
        let mut f = Fields::default();
        // trivy: "Package: x\nInstalled Version: y\nVulnerability CVE-...\nSeverity: HIGH\nFixed Version: z\n..."
        for line in message.lines() {
            let line = line.trim();
            let value = |prefix: &str| {
                line.strip_prefix(prefix)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            if let Some(v) = value("Package:") {
                f.package = Some(v);
            } else if let Some(v) = value("Installed Version:") {
                f.installed = Some(v);
            } else if let Some(v) = value("Fixed Version:") {
                f.fixed = Some(v);
            } else if let Some(v) = value("Vulnerability ") {
                f.id = Some(v);
            }
        }
        // grype: "A medium vulnerability in deb package: libc6, version 2.31 was found at: /x"
        if f.package.is_none()
            && let Some(rest) = message.split_once(" package: ").map(|(_, r)| r)
            && let Some((name, rest)) = rest.split_once(", version ")
        {
            f.package = Some(name.trim().to_owned());
            let version = rest.split(" was found").next().unwrap_or(rest);
            f.installed = Some(version.trim().to_owned());
        }
        // grype's rule help holds a markdown table whose fourth column is the fix.
        if f.fixed.is_none()
            && let Some(help) = rule.pointer("/help/markdown").and_then(Value::as_str)
        {
            let rows: Vec<&str> = help.lines().filter(|l| l.starts_with('|')).collect();
            if rows.len() >= 3 {
                let header: Vec<&str> = rows[0].split('|').map(str::trim).collect();
                let cells: Vec<&str> = rows[2].split('|').map(str::trim).collect();
                if let Some(col) = header
                    .iter()
                    .position(|h| h.eq_ignore_ascii_case("Fix Version"))
                {
                    f.fixed = cells
                        .get(col)
                        .filter(|c| !c.is_empty())
                        .map(|c| c.to_string());
                }
            }
        }
        f
    }
}
