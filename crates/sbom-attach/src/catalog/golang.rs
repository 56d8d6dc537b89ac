//! Go binaries: the build information every Go binary carries (main module, the
//! dependencies with their versions, and the toolchain as `stdlib`), read as Go's
//! `debug/buildinfo` reads it: the inline-string format of Go 1.18 and later, and the
//! older format of two pointers to Go strings.

use object::{Object, ObjectSection, ObjectSegment};

use super::{Cataloger, Location, Package, Select, purl};

pub struct Go;

const MAGIC: &[u8] = b"\xff Go buildinf:";

impl Cataloger for Go {
    fn name(&self) -> &'static str {
        "go"
    }

    fn select(&self, _path: &str, head: &[u8]) -> Select {
        if head.starts_with(b"\x7fELF") {
            Select::Parse
        } else {
            Select::Skip
        }
    }

    fn parse(&self, path: &str, data: &[u8]) -> Vec<Package> {
        let Some(info) = build_info(data) else {
            return Vec::new();
        };
        packages(path, &info)
    }
}

/// What a Go binary says about how it was built.
#[derive(Debug, Default, PartialEq)]
pub struct BuildInfo {
    /// `go1.22.1`.
    pub go_version: String,
    /// Main module path and version.
    pub main: Option<(String, String)>,
    /// Dependencies (after replacements) as (path, version).
    pub deps: Vec<(String, String)>,
    /// The `-ldflags` build setting.
    pub ldflags: Option<String>,
}

/// The build info of a Go ELF binary, or `None` when it is not one.
pub fn build_info(data: &[u8]) -> Option<BuildInfo> {
    let file = object::File::parse(data).ok()?;
    let header_off = match file.section_by_name(".go.buildinfo") {
        Some(s) => s.file_range()?.0 as usize,
        None => find_magic(data)?,
    };
    // The offset comes from the file: a hostile section header can put it anywhere.
    let header_end = header_off.checked_add(32)?;
    let header = data.get(header_off..header_end)?;
    if !header.starts_with(MAGIC) {
        return None;
    }
    let ptr_size = header[14] as usize;
    let flags = header[15];
    let (version, modinfo) = if flags & 2 != 0 {
        let mut rest = data.get(header_end..)?;
        let v = read_varint_string(&mut rest)?;
        let m = read_varint_string(&mut rest)?;
        (v.to_vec(), m.to_vec())
    } else {
        let big = flags & 1 != 0;
        let read_ptr = |b: &[u8]| -> Option<u64> {
            Some(match (ptr_size, big) {
                (4, false) => u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as u64,
                (4, true) => u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as u64,
                (8, false) => u64::from_le_bytes(b.get(..8)?.try_into().ok()?),
                (8, true) => u64::from_be_bytes(b.get(..8)?.try_into().ok()?),
                _ => return None,
            })
        };
        let read_at = |addr: u64, len: u64| -> Option<&[u8]> {
            file.segments()
                .find_map(|s| s.data_range(addr, len).ok().flatten())
        };
        let go_string = |addr: u64| -> Option<Vec<u8>> {
            let hdr = read_at(addr, 2 * ptr_size as u64)?;
            let ptr = read_ptr(hdr)?;
            let len = read_ptr(&hdr[ptr_size..])?;
            if len > 1 << 24 {
                return None;
            }
            Some(read_at(ptr, len)?.to_vec())
        };
        let v = go_string(read_ptr(&header[16..])?)?;
        let m = go_string(read_ptr(&header[16 + ptr_size..])?)?;
        (v, m)
    };
    let mut modinfo = String::from_utf8_lossy(&modinfo).into_owned();
    // The module info is framed by 16-byte sentinels.
    if modinfo.len() >= 33 && modinfo.as_bytes()[modinfo.len() - 17] == b'\n' {
        modinfo = String::from_utf8_lossy(&modinfo.as_bytes()[16..modinfo.len() - 16]).into_owned();
    }
    let mut info = BuildInfo {
        go_version: String::from_utf8_lossy(&version).into_owned(),
        ..Default::default()
    };
    for line in modinfo.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["mod", path, version, ..] => info.main = Some((path.to_string(), version.to_string())),
            ["dep", path, version, ..] => info.deps.push((path.to_string(), version.to_string())),
            ["=>", path, version, ..] => {
                if let Some(last) = info.deps.last_mut() {
                    *last = (path.to_string(), version.to_string());
                }
            }
            ["build", setting] => {
                if let Some(v) = setting.strip_prefix("-ldflags=") {
                    info.ldflags = Some(v.trim_matches('"').to_owned());
                }
            }
            _ => {}
        }
    }
    if info.go_version.is_empty() {
        return None;
    }
    Some(info)
}

fn find_magic(data: &[u8]) -> Option<usize> {
    // The header is 16-byte aligned.
    (0..data.len().saturating_sub(32))
        .step_by(16)
        .find(|&i| data[i..].starts_with(MAGIC))
}

fn read_varint_string<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let mut len = 0u64;
    let mut shift = 0;
    loop {
        let (&b, tail) = rest.split_first()?;
        *rest = tail;
        len |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let len = len as usize;
    if rest.len() < len {
        return None;
    }
    let (s, tail) = rest.split_at(len);
    *rest = tail;
    Some(s)
}

/// The purl of a module as syft writes it: `host/owner` as namespace, the third segment
/// as name, the rest as subpath (`pkg:golang/github.com/moby/sys@v0.7.2#mountinfo`).
fn module_purl(path: &str, version: &str) -> String {
    let segs: Vec<&str> = path.split('/').collect();
    let (ns, name, sub) = match segs.len() {
        1 => (None, segs[0].to_owned(), None),
        2 | 3 => (
            Some(segs[..segs.len() - 1].join("/")),
            segs[segs.len() - 1].to_owned(),
            None,
        ),
        _ => (
            Some(segs[..2].join("/")),
            segs[2].to_owned(),
            Some(segs[3..].join("/")),
        ),
    };
    let mut p = purl("golang", ns.as_deref(), &name, version, &[]);
    if let Some(sub) = sub {
        p.push('#');
        p.push_str(&sub);
    }
    p
}

/// The main module's version from `-ldflags` `-X <pkg>.version=<v>` when the toolchain
/// recorded `(devel)`, as release builds (goreleaser) set it; `v` prefixed like module
/// versions.
fn version_from_ldflags(ldflags: &str) -> Option<String> {
    let mut words = ldflags.split_whitespace();
    while let Some(w) = words.next() {
        let set = if w == "-X" {
            words.next()?
        } else if let Some(rest) = w.strip_prefix("-X=") {
            rest
        } else {
            continue;
        };
        let (key, value) = set.split_once('=')?;
        let last = key.rsplit('.').next().unwrap_or(key);
        if last.eq_ignore_ascii_case("version") {
            let v = value.trim_start_matches('v');
            if v.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                return Some(format!("v{v}"));
            }
        }
    }
    None
}

fn packages(path: &str, info: &BuildInfo) -> Vec<Package> {
    let loc = || Location {
        path: path.to_owned(),
        layer: None,
    };
    let mut out = Vec::new();
    if let Some((m, v)) = &info.main {
        let v = match v.as_str() {
            "" | "(devel)" => info
                .ldflags
                .as_deref()
                .and_then(version_from_ldflags)
                .unwrap_or_else(|| "(devel)".to_owned()),
            v => v.to_owned(),
        };
        out.push(Package::new(
            "go",
            "golang",
            m,
            &v,
            module_purl(m, &v),
            loc(),
        ));
    }
    for (m, v) in &info.deps {
        out.push(Package::new("go", "golang", m, v, module_purl(m, v), loc()));
    }
    let go = info
        .go_version
        .trim_start_matches("go")
        .split(' ')
        .next()
        .unwrap_or_default();
    if !go.is_empty() {
        let mut stdlib = Package::new(
            "go",
            "golang",
            "stdlib",
            go,
            purl("golang", None, "stdlib", go, &[]),
            loc(),
        );
        stdlib.licenses = vec!["BSD-3-Clause".into()];
        out.push(stdlib);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_strings() {
        let mut data: &[u8] = &[3, b'a', b'b', b'c', 1, b'x'];
        assert_eq!(read_varint_string(&mut data), Some(&b"abc"[..]));
        assert_eq!(read_varint_string(&mut data), Some(&b"x"[..]));
        assert_eq!(read_varint_string(&mut data), None);
    }

    #[test]
    fn purls_and_ldflags() {
        assert_eq!(
            module_purl("github.com/moby/sys/mountinfo", "v0.7.2"),
            "pkg:golang/github.com/moby/sys@v0.7.2#mountinfo"
        );
        assert_eq!(
            module_purl("golang.org/x/crypto", "v0.31.0"),
            "pkg:golang/golang.org/x/crypto@v0.31.0"
        );
        assert_eq!(
            version_from_ldflags("-w -s -X github.com/anchore/syft/cmd/syft/internal.version=1.18.1 -X x.gitCommit=abc").as_deref(),
            Some("v1.18.1")
        );
    }

    #[test]
    fn not_go() {
        assert_eq!(build_info(b"\x7fELF garbage"), None);
    }
}
