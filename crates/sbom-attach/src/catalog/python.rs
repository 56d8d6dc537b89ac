//! Python packages: `*.dist-info/METADATA` and `*.egg-info/PKG-INFO` (or an `.egg-info`
//! file) anywhere: site-packages, virtual environments, `pip install --target` folders.
//! Names are normalised as PyPI does (PEP 503).

use super::{Cataloger, Location, Package, Select, purl};
use crate::fs::Fs;

pub struct Python;

fn is_metadata(path: &str) -> bool {
    let Some((dir, file)) = path.rsplit_once('/') else {
        return false;
    };
    (file == "METADATA" && dir.ends_with(".dist-info"))
        || (file == "PKG-INFO" && dir.ends_with(".egg-info"))
        || file.ends_with(".egg-info")
}

/// PEP 503: lower case, runs of `-`, `_`, `.` become one `-`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

impl Cataloger for Python {
    fn name(&self) -> &'static str {
        "python"
    }

    fn select(&self, path: &str, _head: &[u8]) -> Select {
        if is_metadata(path) {
            Select::Keep
        } else {
            Select::Skip
        }
    }

    fn catalog(&self, fs: &Fs) -> Vec<Package> {
        let mut out = Vec::new();
        for (path, file) in fs.matching(is_metadata) {
            let text = String::from_utf8_lossy(&file.data);
            let headers = headers(&text);
            let get = |k: &str| {
                headers
                    .iter()
                    .find(|(h, _)| h.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v.trim().to_owned())
            };
            let (Some(name), Some(version)) = (get("Name"), get("Version")) else {
                continue;
            };
            let norm = normalise(&name);
            let mut p = Package::new(
                "python",
                "pypi",
                &norm,
                &version,
                purl("pypi", None, &norm, &version, &[]),
                Location {
                    path: path.to_owned(),
                    layer: Some(file.layer.clone()),
                },
            );
            p.licenses = licenses(&headers);
            p.supplier = get("Author").filter(|a| !a.is_empty() && a != "UNKNOWN");
            p.homepage = get("Home-page").filter(|h| h.starts_with("http"));
            out.push(p);
        }
        out
    }
}

/// The header fields of a core-metadata file (up to the first blank line).
fn headers(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = out.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.to_owned(), v.trim().to_owned()));
        }
    }
    out
}

/// `License-Expression`, else a one-line `License`, else the license classifiers.
fn licenses(headers: &[(String, String)]) -> Vec<String> {
    if let Some((_, v)) = headers.iter().find(|(k, _)| k == "License-Expression") {
        return vec![v.clone()];
    }
    if let Some((_, v)) = headers.iter().find(|(k, _)| k == "License")
        && !v.is_empty()
        && !v.contains('\n')
        && v.len() < 100
        && v != "UNKNOWN"
    {
        return vec![v.clone()];
    }
    headers
        .iter()
        .filter(|(k, _)| k == "Classifier")
        .filter_map(|(_, v)| v.strip_prefix("License :: "))
        .map(|v| v.rsplit(" :: ").next().unwrap_or(v).to_owned())
        .filter(|v| v != "OSI Approved")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503() {
        assert_eq!(normalise("Typing_Extensions"), "typing-extensions");
        assert_eq!(normalise("zope.interface"), "zope-interface");
        assert_eq!(normalise("a__-.b"), "a-b");
    }

    #[test]
    fn metadata_paths() {
        assert!(is_metadata("/app/lib/requests-2.31.0.dist-info/METADATA"));
        assert!(is_metadata(
            "/usr/lib/python3/dist-packages/six-1.16.0.egg-info"
        ));
        assert!(is_metadata("/x/foo.egg-info/PKG-INFO"));
        assert!(!is_metadata("/x/foo.dist-info/RECORD"));
    }
}
