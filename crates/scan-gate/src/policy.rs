//! The gate: which findings fail it, which are ignored by policy, which are suppressed
//! (and why), decided from a report alone (pure; no I/O).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use bitvault_path_filter::filter::OrderedGlobs;
use chrono::NaiveDate;
use serde::Serialize;

use crate::exceptions::Exception;
use crate::model::{Class, Finding, Report, Severity};

/// Package databases from which a scanner finds operating-system packages: skipping one
/// of these paths (or `etc/os-release`, which tells the distribution) skips the
/// operating-system findings, as trivy's `--skip-dirs`/`--skip-files` do.
const OS_FILES: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "lib/apk/db/installed",
    "var/lib/dpkg/status",
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
];

/// What the gate fails on and what it accepts.
#[derive(Debug, Clone)]
pub struct Policy {
    pub fail_on: BTreeSet<Severity>,
    /// Fail only on findings that have a fix (trivy's `--ignore-unfixed`).
    pub only_fixed: bool,
    pub exceptions: Vec<Exception>,
    pub vex: Vec<crate::vex::Statement>,
    /// Paths whose findings are not considered (trivy's `--skip-dirs`/`--skip-files`).
    pub skip_paths: Option<OrderedGlobs>,
    /// The day exceptions are judged on.
    pub today: NaiveDate,
}

impl Policy {
    /// The default policy: fail on critical and high findings that have a fix.
    pub fn new(today: NaiveDate) -> Policy {
        Policy {
            fail_on: [Severity::Critical, Severity::High].into(),
            only_fixed: true,
            exceptions: Vec::new(),
            vex: Vec::new(),
            skip_paths: None,
            today,
        }
    }

    /// Reads `fail-on` words.
    pub fn severities<S: AsRef<str>>(words: &[S]) -> Result<BTreeSet<Severity>> {
        let mut out = BTreeSet::new();
        for w in words {
            let w = w.as_ref().trim();
            if w.eq_ignore_ascii_case("all") {
                out.extend(Severity::ALL);
                continue;
            }
            match Severity::parse(w) {
                Some(s) => {
                    out.insert(s);
                }
                None => anyhow::bail!(
                    "`{w}` is not a severity; use critical, high, medium, low, negligible, unknown or all"
                ),
            }
        }
        if out.is_empty() {
            anyhow::bail!(
                "no severities given; the gate would pass everything (use e.g. `critical,high`)"
            );
        }
        Ok(out)
    }

    /// Skip patterns, in path-filter's ordered-glob form (`!` takes back).
    pub fn skip<S: AsRef<str>>(patterns: &[S]) -> Result<Option<OrderedGlobs>> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let cleaned: Vec<String> = patterns
            .iter()
            .map(|p| p.as_ref().trim().trim_start_matches('/').to_owned())
            .collect();
        let (globs, _warnings) = OrderedGlobs::new("skip-paths", &cleaned)?;
        Ok(Some(globs))
    }
}

/// Why a finding does not fail the gate although its severity is one it fails on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    pub finding: Finding,
    /// `exception`, `vex` or `skip-paths`.
    pub by: &'static str,
    pub reason: String,
    /// Where the rule was written.
    pub source: String,
}

/// The gate's decision on one report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub passed: bool,
    /// Findings that fail the gate.
    pub failing: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    /// Exceptions past their date: each fails the gate until renewed or removed.
    pub expired: Vec<Exception>,
    /// All findings by severity, as the scanner reported them.
    pub counts: BTreeMap<Severity, usize>,
    /// Findings of a failing severity left out because they have no fix yet.
    pub unfixed: usize,
}

/// Judges `report` by `policy`; `digests` name the image (for VEX products), the
/// report's own when empty.
pub fn judge(report: &Report, policy: &Policy, digests: &[String]) -> Verdict {
    let products: Vec<String> = if digests.is_empty() {
        report.digests.clone()
    } else {
        digests.to_vec()
    };
    let (live, expired): (Vec<&Exception>, Vec<&Exception>) = policy
        .exceptions
        .iter()
        .partition(|e| !e.expired(policy.today));
    let os_skipped = policy
        .skip_paths
        .as_ref()
        .is_some_and(|g| OS_FILES.iter().any(|f| g.is_match(f)));
    let mut counts = BTreeMap::new();
    let mut failing = Vec::new();
    let mut suppressed = Vec::new();
    let mut unfixed = 0;
    for f in &report.findings {
        *counts.entry(f.severity).or_insert(0) += 1;
        if !policy.fail_on.contains(&f.severity) {
            continue;
        }
        if policy.only_fixed && !f.fix_available {
            unfixed += 1;
            continue;
        }
        if let Some(globs) = &policy.skip_paths {
            let path = f.path.as_deref().map(|p| p.trim_start_matches('/'));
            let skipped = if f.class == Class::OsPkgs {
                os_skipped
            } else {
                path.is_some_and(|p| globs.is_match(p))
            };
            if skipped {
                suppressed.push(Suppressed {
                    finding: f.clone(),
                    by: "skip-paths",
                    reason: match path {
                        Some(p) if f.class != Class::OsPkgs => format!("{p} is skipped"),
                        _ => "the operating-system package database is skipped".into(),
                    },
                    source: "input `skip-paths`".into(),
                });
                continue;
            }
        }
        if let Some(e) = live.iter().find(|e| e.covers(f)) {
            suppressed.push(Suppressed {
                finding: f.clone(),
                by: "exception",
                reason: match e.expires {
                    Some(d) => format!("{} (until {d})", e.reason),
                    None => e.reason.clone(),
                },
                source: e.source.clone(),
            });
            continue;
        }
        if let Some(s) = policy.vex.iter().find(|s| s.applies(&products, f)) {
            suppressed.push(Suppressed {
                finding: f.clone(),
                by: "vex",
                reason: format!("{}: {}", s.status, s.reason),
                source: s.source.clone(),
            });
            continue;
        }
        failing.push(f.clone());
    }
    let expired: Vec<Exception> = expired.into_iter().cloned().collect();
    Verdict {
        passed: failing.is_empty() && expired.is_empty(),
        failing,
        suppressed,
        expired,
        counts,
        unfixed,
    }
}
