//! Alpine packages: `/lib/apk/db/installed` (`K:value` lines, a blank line between
//! packages), as apk-tools writes it.

use super::{Cataloger, Location, Package, Select, is_os_release, os_release, purl};
use crate::fs::Fs;

pub struct Apk;

const DB: &str = "/lib/apk/db/installed";

impl Cataloger for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn select(&self, path: &str, _head: &[u8]) -> Select {
        if path == DB || is_os_release(path) {
            Select::Keep
        } else {
            Select::Skip
        }
    }

    fn catalog(&self, fs: &Fs) -> Vec<Package> {
        let Some((path, file)) = fs.get(DB) else {
            return Vec::new();
        };
        let release = os_release(fs);
        let id = release.get("ID").map(String::as_str).unwrap_or("alpine");
        let distro = release
            .get("VERSION_ID")
            .map(|v| format!("{id}-{v}"))
            .unwrap_or_default();
        parse_db(&String::from_utf8_lossy(&file.data))
            .into_iter()
            .map(|e| {
                let upstream = e
                    .origin
                    .clone()
                    .filter(|o| *o != e.name)
                    .unwrap_or_default();
                let purl = purl(
                    "apk",
                    Some(id),
                    &e.name,
                    &e.version,
                    &[
                        ("arch", &e.arch),
                        ("upstream", &upstream),
                        ("distro", &distro),
                    ],
                );
                let mut p = Package::new(
                    "apk",
                    "apk",
                    &e.name,
                    &e.version,
                    purl,
                    Location {
                        path: path.to_owned(),
                        layer: Some(file.layer.clone()),
                    },
                );
                p.licenses = e.license.into_iter().collect();
                p.homepage = e.url;
                p.supplier = e.maintainer;
                p
            })
            .collect()
    }
}

#[derive(Debug, Default)]
struct Entry {
    name: String,
    version: String,
    arch: String,
    license: Option<String>,
    origin: Option<String>,
    url: Option<String>,
    maintainer: Option<String>,
}

fn parse_db(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut cur = Entry::default();
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if !cur.name.is_empty() && !cur.version.is_empty() {
                out.push(std::mem::take(&mut cur));
            } else {
                cur = Entry::default();
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.to_owned();
        match k {
            "P" => cur.name = v,
            "V" => cur.version = v,
            "A" => cur.arch = v,
            "L" => cur.license = Some(v),
            "o" => cur.origin = Some(v),
            "U" => cur.url = Some(v),
            "m" => cur.maintainer = Some(v),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_db() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nU:https://musl.libc.org/\n\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\n";
        let e = parse_db(db);
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].origin.as_deref(), Some("openssl"));
    }
}
