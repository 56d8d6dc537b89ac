//! scan-gate against real scanner reports: the trivy and grype outputs of their own test
//! suites (`../shared/corpus/scan-reports`). Where trivy wrote a filtered sibling of a
//! report (`--severity`, `--ignore-unfixed`, `--skip-dirs`/`--skip-files`), our kept
//! findings under the matching policy must be exactly trivy's.

use std::path::PathBuf;

use bitvault_scan_gate::exceptions;
use bitvault_scan_gate::formats;
use bitvault_scan_gate::model::{Format, Report, Severity};
use bitvault_scan_gate::policy::{Policy, judge};
use bitvault_scan_gate::vex;
use chrono::NaiveDate;

fn corpus() -> PathBuf {
    let shared = std::env::var_os("BITVAULT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("corpus/scan-reports")
}

fn read(rel: &str) -> (Report, serde_json::Value) {
    let path = corpus().join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (
        formats::parse(&bytes).unwrap_or_else(|e| panic!("{rel}: {e:#}")),
        serde_json::from_slice(&bytes).unwrap(),
    )
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
}

/// (target, id, package, installed) of every finding trivy wrote in `raw`.
fn trivy_findings(raw: &serde_json::Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for r in raw["Results"].as_array().into_iter().flatten() {
        for v in r["Vulnerabilities"].as_array().into_iter().flatten() {
            out.push((
                r["Target"].as_str().unwrap().to_owned(),
                v["VulnerabilityID"].as_str().unwrap().to_owned(),
                v["PkgName"].as_str().unwrap().to_owned(),
                v["InstalledVersion"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out.sort();
    out
}

fn kept(report: &Report, policy: &Policy) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = judge(report, policy, &[])
        .failing
        .into_iter()
        .map(|f| (f.target, f.id, f.package, f.installed))
        .collect();
    out.sort();
    out
}

#[test]
fn every_report_in_the_corpus_is_read_with_all_its_findings() {
    let mut read_count = 0;
    for dir in ["trivy", "grype"] {
        for entry in std::fs::read_dir(corpus().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let rel = format!("{dir}/{}", path.file_name().unwrap().to_str().unwrap());
            let (report, raw) = read(&rel);
            let expected = match dir {
                "trivy" => {
                    assert_eq!(report.format, Format::TrivyJson, "{rel}");
                    trivy_findings(&raw).len()
                }
                _ => {
                    assert_eq!(report.format, Format::GrypeJson, "{rel}");
                    raw["matches"].as_array().map_or(0, Vec::len)
                }
            };
            assert_eq!(report.findings.len(), expected, "{rel}");
            for f in &report.findings {
                assert!(!f.id.is_empty() && !f.package.is_empty(), "{rel}: {f:?}");
            }
            read_count += 1;
        }
    }
    assert!(read_count >= 50, "{read_count}");
    eprintln!("{read_count} reports read");
}

/// A report, trivy's filtered sibling, fail-on, only-fixed, skip-paths.
type Case<'a> = (&'a str, &'a str, &'a [&'a str], bool, &'a [&'a str]);

#[test]
fn kept_findings_equal_what_trivy_itself_kept() {
    let all: Vec<&str> = vec!["all"];
    let cases: &[Case] = &[
        // (report, trivy's filtered sibling, fail-on, only-fixed, skip-paths)
        (
            "alpine-39",
            "alpine-39-high-critical",
            &["critical", "high"],
            false,
            &[],
        ),
        ("centos-7", "centos-7-ignore-unfixed", &all, true, &[]),
        (
            "debian-buster",
            "debian-buster-ignore-unfixed",
            &all,
            true,
            &[],
        ),
        ("ubuntu-1804", "ubuntu-1804-ignore-unfixed", &all, true, &[]),
        // trivy ran with `--skip-dirs /etc`: without os-release no OS packages are read.
        ("alpine-39", "alpine-39-skip", &all, false, &["/etc/**"]),
        // trivy ran with `--skip-files submod2/go.mod`.
        ("gomod", "gomod-skip", &all, false, &["submod2/go.mod"]),
    ];
    for (base, sibling, fail_on, only_fixed, skip) in cases {
        let (report, _) = read(&format!("trivy/{base}.json"));
        let (_, expected) = read(&format!("trivy/{sibling}.json"));
        let mut policy = Policy::new(today());
        policy.fail_on = Policy::severities(fail_on).unwrap();
        policy.only_fixed = *only_fixed;
        policy.skip_paths = Policy::skip(skip).unwrap();
        let ours = kept(&report, &policy);
        let theirs = trivy_findings(&expected);
        assert_eq!(ours, theirs, "{base} under the policy of {sibling}");
        assert!(
            ours.len() < report.findings.len(),
            "{base}: the policy filtered nothing"
        );
        eprintln!(
            "{base} -> {sibling}: {} of {} kept, as trivy",
            ours.len(),
            report.findings.len()
        );
    }
}

#[test]
fn the_default_policy_fails_on_fixable_critical_and_high() {
    let (report, _) = read("trivy/alpine-39.json");
    let v = judge(&report, &Policy::new(today()), &[]);
    assert!(!v.passed);
    assert_eq!(v.failing.len(), 2);
    assert!(
        v.failing
            .iter()
            .all(|f| f.id == "CVE-2019-14697" && f.severity == Severity::Critical)
    );
    assert_eq!(v.counts.get(&Severity::Medium), Some(&4));
    // centos-7's high/critical findings have no fix: the default passes it, `only-fixed: false` does not.
    let (report, _) = read("trivy/centos-7.json");
    let v = judge(&report, &Policy::new(today()), &[]);
    let mut strict = Policy::new(today());
    strict.only_fixed = false;
    let s = judge(&report, &strict, &[]);
    assert!(s.failing.len() >= v.failing.len());
    assert_eq!(s.failing.len() - v.failing.len(), v.unfixed);
}

#[test]
fn exceptions_suppress_until_they_expire_and_an_expired_one_fails_the_gate() {
    let (report, _) = read("trivy/alpine-39.json");
    let mut policy = Policy::new(today());
    policy.exceptions = exceptions::parse(
        "exceptions.yaml",
        "vulnerabilities:\n  - id: CVE-2019-14697\n    package: musl\n    reason: musl is not used by the service\n    expires: 2030-01-01\n  - id: CVE-2019-14697\n    package: musl-utils\n    reason: not installed in the final stage\n",
    )
    .unwrap();
    let v = judge(&report, &policy, &[]);
    assert!(v.passed, "{v:?}");
    assert_eq!(v.suppressed.len(), 2);
    assert_eq!(v.suppressed[0].by, "exception");
    assert_eq!(
        v.suppressed[0].reason,
        "musl is not used by the service (until 2030-01-01)"
    );
    assert_eq!(v.suppressed[1].reason, "not installed in the final stage");

    // The same file a day after the first entry's date: that finding fails again, and
    // the expired entry itself fails the gate.
    policy.today = NaiveDate::from_ymd_opt(2030, 1, 2).unwrap();
    let v = judge(&report, &policy, &[]);
    assert!(!v.passed);
    assert_eq!(v.failing.len(), 1);
    assert_eq!(v.failing[0].package, "musl");
    assert_eq!(v.expired.len(), 1);
    assert_eq!(v.expired[0].source, "exceptions.yaml: entry 1");

    // `.trivyignore` lines, with trivy's `exp:`.
    policy.exceptions =
        exceptions::parse(".trivyignore", "CVE-2019-14697 exp:2029-12-31\n").unwrap();
    let v = judge(&report, &policy, &[]);
    assert!(!v.passed);
    assert_eq!(v.failing.len(), 2);
    assert_eq!(v.expired.len(), 1);
}

#[test]
fn an_openvex_not_affected_statement_suppresses_its_finding() {
    let (report, _) = read("trivy/alpine-39.json");
    let musl = report
        .findings
        .iter()
        .find(|f| f.package == "musl" && f.id == "CVE-2019-14697")
        .unwrap();
    let purl = musl.purl.clone().expect("trivy gives purls");
    let doc = serde_json::json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        "author": "platform team",
        "timestamp": "2026-12-01T00:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2019-14697"},
                "products": [{"@id": purl}],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path"
            },
            {
                "vulnerability": {"name": "CVE-2019-14697"},
                "products": [{"@id": "pkg:apk/alpine/musl-utils"}],
                "status": "under_investigation"
            }
        ]
    });
    let mut policy = Policy::new(today());
    policy.vex = vex::parse("vex.json", doc.to_string().as_bytes()).unwrap();
    assert_eq!(
        policy.vex.len(),
        1,
        "only not_affected/fixed statements suppress"
    );
    let v = judge(&report, &policy, &[]);
    assert_eq!(v.suppressed.len(), 1);
    assert_eq!(v.suppressed[0].by, "vex");
    assert_eq!(v.suppressed[0].finding.package, "musl");
    assert_eq!(
        v.suppressed[0].reason,
        "not_affected: vulnerable_code_not_in_execute_path"
    );
    assert_eq!(v.failing.len(), 1);
    assert_eq!(v.failing[0].package, "musl-utils");

    // A statement about another image's digest does not apply to this one.
    let other = serde_json::json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "statements": [{
            "vulnerability": "CVE-2019-14697",
            "products": [format!("pkg:oci/app@sha256%3A{}", "b".repeat(64))],
            "status": "not_affected",
            "justification": "component_not_present"
        }]
    });
    policy.vex = vex::parse("other.json", other.to_string().as_bytes()).unwrap();
    let mine = format!("sha256:{}", "a".repeat(64));
    let v = judge(&report, &policy, &[mine]);
    assert!(v.suppressed.is_empty());
    let v = judge(&report, &policy, &[format!("sha256:{}", "b".repeat(64))]);
    assert_eq!(v.suppressed.len(), 2);
}

#[test]
fn grype_reports_are_judged_by_fix_state() {
    let (report, _) = read("grype/TestJsonImgsPresenter.json");
    assert_eq!(report.scanner.name, "grype");
    assert_eq!(
        report.digests,
        vec!["sha256:ca738abb87a8d58f112d3400ebb079b61ceae7dc290beb34bda735be4b1941d5".to_owned()]
    );
    let crit = report
        .findings
        .iter()
        .find(|f| f.id == "CVE-1999-0002")
        .unwrap();
    assert_eq!(crit.severity, Severity::Critical);
    assert!(!crit.fix_available);
    let low = report
        .findings
        .iter()
        .find(|f| f.id == "CVE-1999-0001")
        .unwrap();
    assert_eq!(low.fixed.as_deref(), Some("1.2.1"));
    let v = judge(&report, &Policy::new(today()), &[]);
    assert!(v.passed, "the critical one has no fix");
    assert_eq!(v.unfixed, 1);
    let mut strict = Policy::new(today());
    strict.only_fixed = false;
    assert!(!judge(&report, &strict, &[]).passed);
}
