//! Debian packages: `/var/lib/dpkg/status`, and the distroless layout
//! `/var/lib/dpkg/status.d/<package>` (one control file each; `*.md5sums` are not
//! packages). The distribution comes from os-release; licenses from
//! `/usr/share/doc/<package>/copyright` when it is machine-readable (DEP-5).

use super::{
    Cataloger, Location, Package, Select, field, is_os_release, os_release, paragraphs, purl,
};
use crate::fs::Fs;

pub struct Dpkg;

const STATUS: &str = "/var/lib/dpkg/status";
const STATUS_D: &str = "/var/lib/dpkg/status.d/";

fn is_copyright(path: &str) -> bool {
    path.strip_prefix("/usr/share/doc/")
        .and_then(|rest| rest.strip_suffix("/copyright"))
        .is_some_and(|pkg| !pkg.contains('/'))
}

impl Cataloger for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn select(&self, path: &str, _head: &[u8]) -> Select {
        let status_d = path
            .strip_prefix(STATUS_D)
            .is_some_and(|n| !n.contains('/') && !n.ends_with(".md5sums"));
        if path == STATUS || status_d || is_os_release(path) || is_copyright(path) {
            Select::Keep
        } else {
            Select::Skip
        }
    }

    fn catalog(&self, fs: &Fs) -> Vec<Package> {
        let release = os_release(fs);
        let id = release.get("ID").map(String::as_str).unwrap_or("debian");
        let distro = match release.get("VERSION_ID") {
            Some(v) => format!("{id}-{v}"),
            None => String::new(),
        };
        let mut out = Vec::new();
        let sources = fs.matching(|p| {
            p == STATUS
                || p.strip_prefix(STATUS_D)
                    .is_some_and(|n| !n.contains('/') && !n.ends_with(".md5sums"))
        });
        for (path, file) in sources {
            let text = String::from_utf8_lossy(&file.data);
            for p in paragraphs(&text) {
                let (Some(name), Some(version)) = (field(&p, "Package"), field(&p, "Version"))
                else {
                    continue;
                };
                // Removed packages whose config files remain are not installed.
                if let Some(status) = field(&p, "Status")
                    && !status.ends_with(" installed")
                {
                    continue;
                }
                let arch = field(&p, "Architecture").unwrap_or_default();
                let upstream = field(&p, "Source").map(|s| match s.split_once(' ') {
                    Some((src, v)) => {
                        let v = v.trim().trim_start_matches('(').trim_end_matches(')');
                        format!("{src}@{v}")
                    }
                    None => s.to_owned(),
                });
                let upstream = upstream.filter(|u| u != name).unwrap_or_default();
                let purl = purl(
                    "deb",
                    Some(id),
                    name,
                    version,
                    &[("arch", arch), ("upstream", &upstream), ("distro", &distro)],
                );
                let mut pkg = Package::new(
                    "dpkg",
                    "deb",
                    name,
                    version,
                    purl,
                    Location {
                        path: path.to_owned(),
                        layer: Some(file.layer.clone()),
                    },
                );
                pkg.supplier = field(&p, "Maintainer").map(str::to_owned);
                pkg.homepage = field(&p, "Homepage").map(str::to_owned);
                let copyright = format!("/usr/share/doc/{name}/copyright");
                if let Some((cpath, c)) = fs.get(&copyright) {
                    pkg.licenses = dep5_licenses(&String::from_utf8_lossy(&c.data));
                    pkg.locations.push(Location {
                        path: cpath.to_owned(),
                        layer: Some(c.layer.clone()),
                    });
                }
                out.push(pkg);
            }
        }
        out
    }
}

/// The license short names of a machine-readable copyright file, in order of first
/// mention, as SPDX identifiers where the DEP-5 name has one. Empty when the file is not
/// machine-readable.
pub fn dep5_licenses(text: &str) -> Vec<String> {
    let paras = paragraphs(text);
    let machine_readable = paras
        .first()
        .and_then(|p| field(p, "Format"))
        .is_some_and(|f| f.contains("copyright-format"));
    if !machine_readable {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for p in &paras {
        let Some(license) = field(p, "License") else {
            continue;
        };
        let short = license.lines().next().unwrap_or_default().trim();
        for part in short.split(" or ").flat_map(|s| s.split(" and ")) {
            let part = part.trim().trim_end_matches(',');
            if part.is_empty() {
                continue;
            }
            let id = spdx_of_dep5(part);
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// DEP-5 short names mapped to SPDX identifiers (the standard short names section of the
/// copyright-format 1.0 specification); others are returned as written.
fn spdx_of_dep5(name: &str) -> String {
    let (base, plus) = match name.strip_suffix('+') {
        Some(b) => (b, true),
        None => (name, false),
    };
    let mapped = match base {
        "GPL-1" => Some("GPL-1.0"),
        "GPL-2" => Some("GPL-2.0"),
        "GPL-3" => Some("GPL-3.0"),
        "LGPL-2" => Some("LGPL-2.0"),
        "LGPL-2.1" => Some("LGPL-2.1"),
        "LGPL-3" => Some("LGPL-3.0"),
        "AGPL-3" => Some("AGPL-3.0"),
        "GFDL-1.2" => Some("GFDL-1.2"),
        "GFDL-1.3" => Some("GFDL-1.3"),
        _ => None,
    };
    match mapped {
        Some(m) if plus => format!("{m}-or-later"),
        Some(m) => format!("{m}-only"),
        None => match name {
            "Expat" => "MIT".to_owned(),
            "BSD-3-clause" => "BSD-3-Clause".to_owned(),
            "BSD-2-clause" => "BSD-2-Clause".to_owned(),
            "Apache-2" | "Apache-2.0" => "Apache-2.0".to_owned(),
            "public-domain" => "LicenseRef-public-domain".to_owned(),
            other => other.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep5_short_names() {
        let text = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: x\nLicense: GPL-2+\n\nFiles: lib/*\nLicense: LGPL-2.1+ or BSD-3-clause\n\nLicense: GPL-2+\n text\n";
        assert_eq!(
            dep5_licenses(text),
            ["GPL-2.0-or-later", "LGPL-2.1-or-later", "BSD-3-Clause"]
        );
        assert!(dep5_licenses("This package was debianized by...\nLicense: GPL\n").is_empty());
    }
}
