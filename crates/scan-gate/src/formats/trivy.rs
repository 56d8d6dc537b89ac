//! `trivy image --format json` (schema version 2).

use anyhow::{Result, bail};
use serde_json::Value;

use super::{digest_in, text};
use crate::model::{Class, Finding, Format, Report, Scanner, Severity};

pub(super) fn parse(v: &Value) -> Result<Report> {
    let schema = v.get("SchemaVersion").and_then(Value::as_u64);
    if schema != Some(2) {
        bail!("trivy JSON schema version {schema:?} is not supported (version 2 is)");
    }
    let artifact = text(v, "ArtifactName");
    let mut digests = Vec::new();
    if let Some(d) = artifact.as_deref().and_then(digest_in) {
        digests.push(d);
    }
    let meta = v.get("Metadata").cloned().unwrap_or(Value::Null);
    for r in meta
        .get("RepoDigests")
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
    let scanner = Scanner {
        name: "trivy".into(),
        version: v
            .pointer("/Trivy/Version")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
        db_version: None,
    };
    let mut targets = Vec::new();
    let mut findings = Vec::new();
    for (i, result) in v
        .get("Results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let target = text(result, "Target").unwrap_or_default();
        let class = match result.get("Class").and_then(Value::as_str) {
            Some("os-pkgs") => Class::OsPkgs,
            Some("lang-pkgs") => Class::LangPkgs,
            _ => Class::Other,
        };
        targets.push((target.clone(), class));
        for (j, vuln) in result
            .get("Vulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(id) = text(vuln, "VulnerabilityID") else {
                bail!("Results[{i}].Vulnerabilities[{j}] has no VulnerabilityID");
            };
            let fixed = text(vuln, "FixedVersion");
            // Trivy's `--ignore-unfixed` keeps status `fixed`; older reports have no
            // status, and then a fixed version is what says so.
            let fix_available = match vuln.get("Status").and_then(Value::as_str) {
                Some(status) => status == "fixed",
                None => fixed.is_some(),
            };
            findings.push(Finding {
                id,
                aliases: Vec::new(),
                package: text(vuln, "PkgName").unwrap_or_default(),
                purl: vuln
                    .pointer("/PkgIdentifier/PURL")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                installed: text(vuln, "InstalledVersion").unwrap_or_default(),
                fixed,
                fix_available,
                severity: vuln
                    .get("Severity")
                    .and_then(Value::as_str)
                    .and_then(Severity::parse)
                    .unwrap_or(Severity::Unknown),
                target: target.clone(),
                class,
                path: text(vuln, "PkgPath")
                    .or_else(|| (class == Class::LangPkgs).then(|| target.clone())),
                title: text(vuln, "Title"),
                url: text(vuln, "PrimaryURL"),
            });
        }
    }
    Ok(Report {
        format: Format::TrivyJson,
        scanner,
        artifact,
        digests,
        created: text(v, "CreatedAt"),
        targets,
        findings,
    })
}
