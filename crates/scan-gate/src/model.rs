//! What every scanner report says, in one shape: the scanner, the image it describes
//! and its findings.

use std::fmt;

use serde::Serialize;

/// A severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Negligible,
        Severity::Unknown,
    ];

    /// The lower-case name, as inputs and outputs spell it.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Negligible => "negligible",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Reads a severity as trivy (`HIGH`), grype (`High`) or a user (`high`) writes it.
    pub fn parse(text: &str) -> Option<Severity> {
        let t = text.trim();
        Severity::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(t))
    }

    /// The band of a CVSS base score (as SARIF's `security-severity` gives it).
    pub fn of_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Unknown,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The report formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    /// `trivy image --format json`.
    #[serde(rename = "trivy-json")]
    TrivyJson,
    /// `grype -o json`.
    #[serde(rename = "grype-json")]
    GrypeJson,
    /// SARIF 2.1.0, from either.
    #[serde(rename = "sarif")]
    Sarif,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::TrivyJson => "trivy-json",
            Format::GrypeJson => "grype-json",
            Format::Sarif => "sarif",
        }
    }
}

/// The tool that wrote a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Scanner {
    /// `trivy` or `grype` (or the SARIF driver's name).
    pub name: String,
    pub version: String,
    /// The vulnerability database version, when the report says.
    pub db_version: Option<String>,
}

/// Where a package was found: the scanner's result group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Packages of the operating system's package database.
    OsPkgs,
    /// Language packages (lock files, installed metadata, binaries).
    LangPkgs,
    /// Not said.
    Other,
}

/// One vulnerability in one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The vulnerability id (`CVE-...`, `GHSA-...`).
    pub id: String,
    /// Other ids of the same vulnerability the report gives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub package: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    pub installed: String,
    /// The version that fixes it, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Whether a fix is available (trivy's status `fixed`, grype's fix state `fixed`).
    pub fix_available: bool,
    pub severity: Severity,
    /// The result group it was reported in (trivy's `Target`).
    pub target: String,
    pub class: Class,
    /// The file the package was found in, when the report says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The advisory to read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Finding {
    /// `id` in `package@installed`: how findings are named in messages.
    pub fn label(&self) -> String {
        format!("{} in {}@{}", self.id, self.package, self.installed)
    }
}

/// A scanner report, read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub format: Format,
    pub scanner: Scanner,
    /// What was scanned, as the report names it.
    pub artifact: Option<String>,
    /// The manifest or index digests the report says it describes (`repo@sha256:...`
    /// references, trivy's `RepoDigests`, grype's `manifestDigest` / `repoDigests`).
    pub digests: Vec<String>,
    /// When the scan finished, as the report says (RFC 3339), if it says.
    pub created: Option<String>,
    /// Every result group, including those without findings.
    pub targets: Vec<(String, Class)>,
    pub findings: Vec<Finding>,
}
