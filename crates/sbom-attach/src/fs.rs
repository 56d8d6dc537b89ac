//! What the catalogers see of an image's final filesystem: the kept files and symlinks,
//! and the packages parsed from executables and archives as they streamed by.

use std::collections::BTreeMap;

use bitvault_registry::Digest;

use crate::package::Package;

/// A kept file and the layer it came from.
#[derive(Debug, Clone)]
pub struct File {
    pub data: Vec<u8>,
    pub layer: Digest,
}

/// What the catalogers see of the final filesystem. Paths are absolute (`/etc/os-release`).
#[derive(Debug, Default)]
pub struct Fs {
    /// Kept regular files.
    pub files: BTreeMap<String, File>,
    /// Kept symlinks: path to target, as written.
    pub links: BTreeMap<String, String>,
    /// Packages found in executables and archives as they streamed by, by path.
    pub parsed: BTreeMap<String, (Vec<Package>, Digest)>,
    /// Files skipped (too large), for the step summary.
    pub skipped: Vec<String>,
}

impl Fs {
    /// The file at `path`, following kept symlinks inside the image's root (an absolute
    /// target or a `..` past the root stays in the image, as in a chroot).
    pub fn get(&self, path: &str) -> Option<(&str, &File)> {
        let mut path = path.to_owned();
        for _ in 0..40 {
            if let Some((k, f)) = self.files.get_key_value(&path) {
                return Some((k.as_str(), f));
            }
            let target = self.links.get(&path)?;
            let base = if target.starts_with('/') {
                String::new()
            } else {
                path.rsplit_once('/')
                    .map(|(d, _)| d)
                    .unwrap_or("")
                    .to_owned()
            };
            path = normalise(&format!("{base}/{target}"));
        }
        None
    }

    /// Kept files whose path satisfies `f`.
    pub fn matching<'a>(
        &'a self,
        f: impl Fn(&str) -> bool + 'a,
    ) -> impl Iterator<Item = (&'a str, &'a File)> + 'a {
        self.files
            .iter()
            .filter(move |(p, _)| f(p))
            .map(|(p, file)| (p.as_str(), file))
    }

    pub(crate) fn remove(&mut self, path: &str) {
        self.files.remove(path);
        self.links.remove(path);
        self.parsed.remove(path);
    }

    pub(crate) fn remove_under(&mut self, dir: &str) {
        let prefix = if dir == "/" {
            "/".to_owned()
        } else {
            format!("{dir}/")
        };
        self.files.retain(|p, _| !p.starts_with(&prefix));
        self.links.retain(|p, _| !p.starts_with(&prefix));
        self.parsed.retain(|p, _| !p.starts_with(&prefix));
    }
}

/// `/a/./b/../c` to `/a/c`; `..` above the root stays at the root.
pub fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}
