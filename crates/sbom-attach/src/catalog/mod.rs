//! Catalogers: one module per package ecosystem, each registered once in [`all`].
//!
//! A cataloger says which files it needs as the layers stream by ([`Cataloger::select`]):
//! small files are kept and read at the end ([`Cataloger::catalog`]); executables and
//! archives are parsed on the spot ([`Cataloger::parse`]) so their bytes are not kept.

use std::collections::BTreeMap;

use crate::fs::Fs;
pub use crate::package::{Location, Package};

pub mod apk;
pub mod dpkg;
pub mod golang;
pub mod java;
pub mod npm;
pub mod python;
pub mod rust;

/// Every cataloger, in the order their packages are listed.
pub fn all() -> Vec<&'static dyn Cataloger> {
    vec![
        &dpkg::Dpkg,
        &apk::Apk,
        &python::Python,
        &npm::Npm,
        &java::Java,
        &golang::Go,
        &rust::Rust,
    ]
}

/// What a cataloger wants of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// Nothing.
    Skip,
    /// Keep its bytes for [`Cataloger::catalog`].
    Keep,
    /// Parse it now with [`Cataloger::parse`]; only the packages are kept.
    Parse,
}

/// One package ecosystem.
pub trait Cataloger: Sync {
    /// Short name (`dpkg`, `python`), recorded with each package.
    fn name(&self) -> &'static str;
    /// Whether the file at `path` (absolute), starting with `head` (up to 8 bytes; empty
    /// for symlinks), is needed.
    fn select(&self, path: &str, head: &[u8]) -> Select;
    /// Packages declared by the file at `path` (for [`Select::Parse`]).
    fn parse(&self, _path: &str, _data: &[u8]) -> Vec<Package> {
        Vec::new()
    }
    /// Packages found in the kept files (for [`Select::Keep`]).
    fn catalog(&self, _fs: &Fs) -> Vec<Package> {
        Vec::new()
    }
}

/// Runs every cataloger over `fs` and merges what they found: one package per purl, with
/// the locations and licenses of every finding; ordered by purl.
pub fn catalog(fs: &Fs, catalogers: &[&dyn Cataloger]) -> Vec<Package> {
    let mut found: Vec<Package> = Vec::new();
    for c in catalogers {
        found.extend(c.catalog(fs));
    }
    for (packages, layer) in fs.parsed.values() {
        for p in packages {
            let mut p = p.clone();
            for l in &mut p.locations {
                l.layer.get_or_insert_with(|| layer.clone());
            }
            found.push(p);
        }
    }
    let mut by_purl: BTreeMap<String, Package> = BTreeMap::new();
    for p in found {
        match by_purl.get_mut(&p.purl) {
            Some(have) => {
                for l in p.locations {
                    if !have.locations.contains(&l) {
                        have.locations.push(l);
                    }
                }
                for l in p.licenses {
                    if !have.licenses.contains(&l) {
                        have.licenses.push(l);
                    }
                }
                have.supplier = have.supplier.take().or(p.supplier);
                have.homepage = have.homepage.take().or(p.homepage);
            }
            None => {
                by_purl.insert(p.purl.clone(), p);
            }
        }
    }
    let mut out: Vec<Package> = by_purl.into_values().collect();
    for p in &mut out {
        p.locations.sort();
    }
    out
}

/// Percent-encodes a purl name or version as syft's purl library does (Go's
/// `url.PathEscape`): `+`, `:` and `@` stay as they are.
pub fn encode(s: &str) -> String {
    bitvault_http::percent_encode_keeping(s, b"$&+:=@!*'()")
}

/// Percent-encodes a qualifier value (Go's `url.QueryEscape`, space as `%20`).
pub fn encode_query(s: &str) -> String {
    bitvault_http::percent_encode(s)
}

/// `pkg:<type>/<namespace>/<name>@<version>?<qualifiers>`; the namespace's segments are
/// encoded one by one; qualifiers in the order given, empty ones left out.
pub fn purl(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut s = format!("pkg:{ty}/");
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        let segs: Vec<String> = ns
            .split('/')
            .map(|seg| encode(seg).replace('@', "%40"))
            .collect();
        s.push_str(&segs.join("/"));
        s.push('/');
    }
    s.push_str(&encode(name));
    if !version.is_empty() {
        s.push('@');
        s.push_str(&encode(version));
    }
    let q: Vec<String> = qualifiers
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode_query(v)))
        .collect();
    if !q.is_empty() {
        s.push('?');
        s.push_str(&q.join("&"));
    }
    s
}

/// RFC 822-style control paragraphs (dpkg status, apk's `K:value` aside): fields with
/// continuation lines; blank lines separate paragraphs.
pub fn paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = cur.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The value of field `key` (case-insensitive) in a paragraph.
pub fn field<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// `KEY=value` lines of os-release, quotes removed.
pub fn os_release(fs: &Fs) -> BTreeMap<String, String> {
    let Some((_, f)) = fs
        .get("/etc/os-release")
        .or_else(|| fs.get("/usr/lib/os-release"))
    else {
        return BTreeMap::new();
    };
    String::from_utf8_lossy(&f.data)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_owned(),
                v.trim().trim_matches('"').trim_matches('\'').to_owned(),
            )
        })
        .collect()
}

/// Whether `path` is one of the os-release files (kept for the distribution).
pub fn is_os_release(path: &str) -> bool {
    path == "/etc/os-release" || path == "/usr/lib/os-release"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_are_encoded_as_syft_writes_them() {
        assert_eq!(
            purl(
                "deb",
                Some("debian"),
                "libc6",
                "2.36-9+deb12u4",
                &[
                    ("arch", "amd64"),
                    ("upstream", "glibc"),
                    ("distro", "debian-12")
                ]
            ),
            "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&upstream=glibc&distro=debian-12"
        );
        assert_eq!(
            purl("npm", Some("@types"), "node", "20.1.0", &[]),
            "pkg:npm/%40types/node@20.1.0"
        );
        assert_eq!(
            purl("golang", Some("github.com/spf13"), "cobra", "v1.8.0", &[]),
            "pkg:golang/github.com/spf13/cobra@v1.8.0"
        );
    }

    #[test]
    fn control_paragraphs() {
        let p = paragraphs("Package: a\nDescription: x\n more\n\nPackage: b\n");
        assert_eq!(p.len(), 2);
        assert_eq!(field(&p[0], "description"), Some("x\nmore"));
        assert_eq!(field(&p[1], "Package"), Some("b"));
    }
}
