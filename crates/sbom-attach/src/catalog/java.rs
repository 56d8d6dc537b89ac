//! Java archives (`.jar`, `.war`, `.ear`): `META-INF/maven/**/pom.properties`, falling
//! back to `META-INF/MANIFEST.MF`, recursing into nested archives (`WEB-INF/lib`,
//! `BOOT-INF/lib`). Without a `pom.properties` the group is not guessed: the package
//! gets a purl without namespace rather than an invented one.

use std::io::{Cursor, Read};

use super::{Cataloger, Location, Package, Select, purl};

pub struct Java;

const MAX_DEPTH: usize = 4;
const MAX_NESTED: u64 = 256 << 20;

fn is_archive(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".jar", ".war", ".ear"].iter().any(|e| lower.ends_with(e))
}

impl Cataloger for Java {
    fn name(&self) -> &'static str {
        "java"
    }

    fn select(&self, path: &str, head: &[u8]) -> Select {
        if is_archive(path) && head.starts_with(b"PK\x03\x04") {
            Select::Parse
        } else {
            Select::Skip
        }
    }

    fn parse(&self, path: &str, data: &[u8]) -> Vec<Package> {
        let mut out = Vec::new();
        archive(path, data, 0, &mut out);
        out
    }
}

fn archive(path: &str, data: &[u8], depth: usize, out: &mut Vec<Package>) {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(data)) else {
        return;
    };
    let mut poms = Vec::new();
    let mut manifest = None;
    let mut nested = Vec::new();
    for i in 0..zip.len() {
        let Ok(mut entry) = zip.by_index(i) else {
            continue;
        };
        let name = entry.name().to_owned();
        if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            if let Some(b) = read_entry(&mut entry, 1 << 20) {
                poms.push((name, b));
            }
        } else if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
            manifest = read_entry(&mut entry, 1 << 20);
        } else if is_archive(&name)
            && depth < MAX_DEPTH
            && entry.size() <= MAX_NESTED
            && let Some(b) = read_entry(&mut entry, MAX_NESTED)
        {
            nested.push((name, b));
        }
    }
    let location = Location {
        path: path.to_owned(),
        layer: None,
    };
    let mut found = false;
    for (_, pom) in &poms {
        let props = properties(&String::from_utf8_lossy(pom));
        let get = |k: &str| props.iter().find(|(p, _)| p == k).map(|(_, v)| v.as_str());
        let (Some(g), Some(a), Some(v)) = (get("groupId"), get("artifactId"), get("version"))
        else {
            continue;
        };
        found = true;
        out.push(Package::new(
            "java",
            "maven",
            &format!("{g}:{a}"),
            v,
            purl("maven", Some(g), a, v, &[]),
            location.clone(),
        ));
    }
    if !found && let Some(m) = manifest {
        let attrs = manifest_attributes(&String::from_utf8_lossy(&m));
        let get = |k: &str| attrs.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone());
        let file_name = path
            .rsplit(['/', ':'])
            .next()
            .unwrap_or(path)
            .rsplit_once('.')
            .map_or(path, |(stem, _)| stem);
        let version = get("Implementation-Version")
            .or_else(|| get("Bundle-Version"))
            .or_else(|| get("Specification-Version"));
        if let Some(version) = version {
            // The artifact from the file name without its version: commons-logging-1.2.jar.
            let artifact = file_name
                .strip_suffix(&format!("-{version}"))
                .unwrap_or(file_name)
                .to_owned();
            let mut p = Package::new(
                "java",
                "maven",
                &artifact,
                &version,
                purl("maven", None, &artifact, &version, &[]),
                location.clone(),
            );
            p.licenses = get("Bundle-License")
                .filter(|l| !l.starts_with("http"))
                .into_iter()
                .collect();
            p.supplier = get("Implementation-Vendor").or_else(|| get("Bundle-Vendor"));
            out.push(p);
        }
    }
    for (name, bytes) in nested {
        archive(&format!("{path}:{name}"), &bytes, depth + 1, out);
    }
}

fn read_entry(entry: &mut impl Read, limit: u64) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    entry.take(limit).read_to_end(&mut buf).ok().map(|_| buf)
}

fn properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once(['=', ':']))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Main attributes of a manifest (lines continued by a leading space are joined).
fn manifest_attributes(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break; // per-entry sections follow
        }
        if let Some(cont) = line.strip_prefix(' ') {
            if let Some((_, v)) = out.last_mut() {
                v.push_str(cont);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn jar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn pom_properties_then_manifest_then_nested() {
        let inner = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Manifest-Version: 1.0\r\nImplementation-Version: 1.2\r\n",
        )]);
        let outer = jar(&[
            (
                "META-INF/maven/org.example/app/pom.properties",
                b"#x\nversion=3.0\ngroupId=org.example\nartifactId=app\n",
            ),
            ("WEB-INF/lib/commons-logging-1.2.jar", &inner),
        ]);
        let p = Java.parse("/srv/app.war", &outer);
        let purls: Vec<_> = p.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:maven/org.example/app@3.0",
                "pkg:maven/commons-logging@1.2"
            ]
        );
        assert_eq!(
            p[1].locations[0].path,
            "/srv/app.war:WEB-INF/lib/commons-logging-1.2.jar"
        );
    }
}
