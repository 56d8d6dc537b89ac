//! `grype -o json`.

use anyhow::{Result, bail};
use serde_json::Value;

use super::{digest_in, text};
use crate::model::{Class, Finding, Format, Report, Scanner, Severity};

/// Package types of operating system package databases.
const OS_TYPES: &[&str] = &["apk", "deb", "rpm", "alpm", "portage"];

pub(super) fn parse(v: &Value) -> Result<Report> {
    let target = v.pointer("/source/target").cloned().unwrap_or(Value::Null);
    let artifact = text(&target, "userInput");
    let mut digests = Vec::new();
    let mut push = |d: Option<String>| {
        if let Some(d) = d
            && !digests.contains(&d)
        {
            digests.push(d);
        }
    };
    push(artifact.as_deref().and_then(digest_in));
    push(
        text(&target, "manifestDigest")
            .as_deref()
            .and_then(digest_in),
    );
    for r in target
        .get("repoDigests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        push(r.as_str().and_then(digest_in));
    }
    let descriptor = v.get("descriptor").cloned().unwrap_or(Value::Null);
    let db_version = descriptor
        .pointer("/db/status/built")
        .or_else(|| descriptor.pointer("/db/built"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let scanner = Scanner {
        name: text(&descriptor, "name").unwrap_or_else(|| "grype".into()),
        version: text(&descriptor, "version").unwrap_or_else(|| "unknown".into()),
        db_version,
    };
    let mut findings = Vec::new();
    let mut targets: Vec<(String, Class)> = Vec::new();
    for (i, m) in v
        .get("matches")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let vuln = m.get("vulnerability").cloned().unwrap_or(Value::Null);
        let art = m.get("artifact").cloned().unwrap_or(Value::Null);
        let Some(id) = text(&vuln, "id") else {
            bail!("matches[{i}].vulnerability has no id");
        };
        let kind = text(&art, "type").unwrap_or_default();
        let class = if OS_TYPES.contains(&kind.as_str()) {
            Class::OsPkgs
        } else {
            Class::LangPkgs
        };
        let path = art
            .pointer("/locations/0/path")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let group = path.clone().unwrap_or_else(|| kind.clone());
        if !targets.iter().any(|(t, _)| *t == group) {
            targets.push((group.clone(), class));
        }
        let state = vuln.pointer("/fix/state").and_then(Value::as_str);
        let fixed = vuln
            .pointer("/fix/versions")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .map(str::to_owned);
        let aliases = m
            .get("relatedVulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| text(r, "id"))
            .filter(|a| *a != id)
            .collect();
        let url = text(&vuln, "dataSource").or_else(|| {
            vuln.pointer("/urls/0")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        findings.push(Finding {
            id,
            aliases,
            package: text(&art, "name").unwrap_or_default(),
            purl: text(&art, "purl"),
            installed: text(&art, "version").unwrap_or_default(),
            fixed,
            fix_available: state == Some("fixed"),
            severity: vuln
                .get("severity")
                .and_then(Value::as_str)
                .and_then(Severity::parse)
                .unwrap_or(Severity::Unknown),
            target: group,
            class,
            path,
            title: text(&vuln, "description"),
            url,
        });
    }
    Ok(Report {
        format: Format::GrypeJson,
        scanner,
        artifact,
        digests,
        created: text(&descriptor, "timestamp"),
        targets,
        findings,
    })
}
