//! The final filesystem of an image, as far as the catalogers care: layers streamed in
//! order (gzip, zstd or plain tar), OCI whiteouts applied, and only the files a
//! cataloger asked for kept. Executables and archives are parsed as they stream by, so
//! only what they declare is kept, never their bytes. Memory grows with the files kept,
//! not with the files in the image.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use bitvault_registry::Digest;

use crate::catalog::{Cataloger, Select};
use crate::fs::{File, Fs, normalise};
use crate::source::{Layer, Reader};

/// Limits that keep a hostile image from exhausting memory or time.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes of uncompressed tar per layer.
    pub max_layer_bytes: u64,
    /// Bytes of one file read into memory for a cataloger; larger files are skipped.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_layer_bytes: 64 << 30,
            max_file_bytes: 512 << 20,
        }
    }
}

/// A tar entry path as an absolute path, refusing `..` (which would escape the root).
fn entry_path(raw: &[u8], layer: &Digest) -> Result<String> {
    let raw = String::from_utf8_lossy(raw);
    if raw.split('/').any(|c| c == "..") {
        bail!(
            "layer {layer}: entry {raw:?} climbs out of the root with `..`; the layer is malformed or hostile, refusing it"
        );
    }
    Ok(normalise(&raw))
}

/// Streams `layers` of one image in order into an [`Fs`].
pub fn scan(
    reader: &Reader,
    layers: &[Layer],
    catalogers: &[&dyn Cataloger],
    limits: &Limits,
) -> Result<Fs> {
    let mut fs = Fs::default();
    if let Some(root) = reader.dir_root() {
        let digest = Digest::of(root.to_string_lossy().as_bytes());
        walk_dir(root, root, &digest, &mut fs, catalogers, limits)?;
        return Ok(fs);
    }
    for layer in layers {
        let raw = reader.open_layer(layer)?;
        scan_layer(raw, &layer.digest, &mut fs, catalogers, limits)?;
    }
    Ok(fs)
}

/// What `catalogers` want of the file at `path` beginning with `head`.
fn wanted(catalogers: &[&dyn Cataloger], path: &str, head: &[u8]) -> (bool, Vec<usize>) {
    let mut keep = false;
    let mut parse = Vec::new();
    for (i, c) in catalogers.iter().enumerate() {
        match c.select(path, head) {
            Select::Skip => {}
            Select::Keep => keep = true,
            Select::Parse => parse.push(i),
        }
    }
    (keep, parse)
}

fn take_file(
    fs: &mut Fs,
    catalogers: &[&dyn Cataloger],
    path: String,
    data: Vec<u8>,
    keep: bool,
    parse: &[usize],
    layer: &Digest,
) {
    if !parse.is_empty() {
        let mut found = Vec::new();
        for &i in parse {
            found.extend(catalogers[i].parse(&path, &data));
        }
        if !found.is_empty() {
            fs.parsed.insert(path.clone(), (found, layer.clone()));
        }
    }
    if keep {
        fs.files.insert(
            path,
            File {
                data,
                layer: layer.clone(),
            },
        );
    }
}

/// Decompresses and walks one layer, applying it on top of `fs`.
pub fn scan_layer(
    raw: Box<dyn Read + Send>,
    digest: &Digest,
    fs: &mut Fs,
    catalogers: &[&dyn Cataloger],
    limits: &Limits,
) -> Result<()> {
    let mut buffered = BufReader::with_capacity(256 << 10, raw);
    let magic = buffered
        .fill_buf()
        .with_context(|| format!("reading layer {digest}"))?
        .to_vec();
    let decoded: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(
            zstd::stream::read::Decoder::with_buffer(buffered)
                .with_context(|| format!("layer {digest}: zstd"))?,
        )
    } else {
        Box::new(buffered)
    };
    let counted = Capped {
        inner: decoded,
        read: 0,
        max: limits.max_layer_bytes,
    };
    let ended_at = std::rc::Rc::new(std::cell::Cell::new(None));
    let mut archive = tar::Archive::new(PaddedEnd {
        inner: counted,
        offset: 0,
        padding: 0,
        ended_at: ended_at.clone(),
    });
    // The furthest byte any entry's data reaches: past the real end, the layer is cut.
    let mut data_end = 0u64;
    let layer_error = |e: std::io::Error| {
        if e.to_string().ends_with("refusing it") {
            anyhow!("{e}")
        } else {
            anyhow!("layer {digest}: {e}; the layer is truncated or not a tar archive")
        }
    };
    let entries = archive.entries().map_err(layer_error)?;
    for entry in entries {
        let mut entry = entry.map_err(layer_error)?;
        data_end = data_end.max(entry.raw_file_position() + entry.size());
        let path = entry_path(&entry.path_bytes(), digest)?;
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        let dir = if dir.is_empty() { "/" } else { dir };
        if name == ".wh..wh..opq" {
            fs.remove_under(dir);
            continue;
        }
        if let Some(hidden) = name.strip_prefix(".wh.") {
            let target = normalise(&format!("{dir}/{hidden}"));
            fs.remove(&target);
            fs.remove_under(&target);
            continue;
        }
        fs.remove(&path);
        let kind = entry.header().entry_type();
        if kind.is_symlink() {
            let (keep, _) = wanted(catalogers, &path, b"");
            if keep && let Some(target) = entry.link_name_bytes() {
                fs.links
                    .insert(path, String::from_utf8_lossy(&target).into_owned());
            }
            continue;
        }
        if kind.is_hard_link() {
            if let Some(target) = entry.link_name_bytes() {
                let target = entry_path(&target, digest)?;
                if let Some(f) = fs.files.get(&target).cloned() {
                    let (keep, _) = wanted(catalogers, &path, &f.data[..f.data.len().min(8)]);
                    if keep {
                        fs.files.insert(path.clone(), f);
                    }
                }
                if let Some(p) = fs.parsed.get(&target).cloned() {
                    fs.parsed.insert(path, p);
                }
            }
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            continue;
        }
        let size = entry.size();
        let mut head = [0u8; 8];
        let n = read_head(&mut entry, &mut head).map_err(layer_error)?;
        let (keep, parse) = wanted(catalogers, &path, &head[..n]);
        if !keep && parse.is_empty() {
            continue;
        }
        if size > limits.max_file_bytes {
            fs.skipped.push(format!(
                "{path} ({size} bytes, over the {} byte limit)",
                limits.max_file_bytes
            ));
            continue;
        }
        let mut data = Vec::with_capacity(size as usize);
        data.extend_from_slice(&head[..n]);
        entry.read_to_end(&mut data).map_err(layer_error)?;
        take_file(fs, catalogers, path, data, keep, &parse, digest);
    }
    // Read to the end so the digest is checked over every byte of the blob.
    let mut rest = archive.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(layer_error)?;
    if let Some(end) = ended_at.get()
        && data_end > end
    {
        bail!(
            "layer {digest}: the tar stream ends at byte {end}, inside a file whose data runs to byte {data_end}; the layer is truncated"
        );
    }
    Ok(())
}

/// A tar stream whose last block is cut short (umoci writes layers without the
/// final entry's padding and the end-of-archive blocks; GNU tar refuses them, Go's
/// archive/tar, which containerd uses, reads them) is padded with zeros to its next
/// 512-byte block. Where the real stream ended is kept, so a layer cut inside a
/// file's data is still refused (see `scan_layer`).
struct PaddedEnd<R> {
    inner: R,
    offset: u64,
    padding: usize,
    ended_at: std::rc::Rc<std::cell::Cell<Option<u64>>>,
}

impl<R: Read> Read for PaddedEnd<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.padding > 0 {
            let n = self.padding.min(buf.len());
            buf[..n].fill(0);
            self.padding -= n;
            return Ok(n);
        }
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.ended_at.get().is_none() {
            self.ended_at.set(Some(self.offset));
            let rem = (self.offset % 512) as usize;
            if rem != 0 {
                self.padding = 512 - rem;
                return self.read(buf);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

fn read_head(r: &mut impl Read, head: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Fails once more than `max` bytes came out of the decompressor.
struct Capped<R> {
    inner: R,
    read: u64,
    max: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!(
                    "a layer decompressed to more than {} bytes (a decompression bomb?); refusing it",
                    self.max
                ),
            ));
        }
        Ok(n)
    }
}

/// A directory as one layer: walked without following symlinks.
fn walk_dir(
    root: &Path,
    dir: &Path,
    digest: &Digest,
    fs: &mut Fs,
    catalogers: &[&dyn Cataloger],
    limits: &Limits,
) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        // Unreadable directories (permissions) are skipped, as a tar of them would.
        Err(_) => return Ok(()),
    };
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let p = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let rel = p.strip_prefix(root).unwrap_or(&p);
        let path = normalise(&rel.to_string_lossy());
        if meta.is_dir() {
            walk_dir(root, &p, digest, fs, catalogers, limits)?;
        } else if meta.file_type().is_symlink() {
            if wanted(catalogers, &path, b"").0
                && let Ok(t) = std::fs::read_link(&p)
            {
                fs.links.insert(path, t.to_string_lossy().into_owned());
            }
        } else if meta.is_file() {
            let mut head = [0u8; 8];
            let n = std::fs::File::open(&p)
                .and_then(|mut f| read_head(&mut f, &mut head))
                .unwrap_or(0);
            let (keep, parse) = wanted(catalogers, &path, &head[..n]);
            if !keep && parse.is_empty() {
                continue;
            }
            if meta.len() > limits.max_file_bytes {
                fs.skipped.push(format!("{path} ({} bytes)", meta.len()));
                continue;
            }
            let Ok(data) = std::fs::read(&p) else {
                continue;
            };
            take_file(fs, catalogers, path, data, keep, &parse, digest);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Package;

    struct Txt;
    impl Cataloger for Txt {
        fn name(&self) -> &'static str {
            "txt"
        }
        fn select(&self, path: &str, _head: &[u8]) -> Select {
            if path.ends_with(".txt") || path == "/etc/os-release" {
                Select::Keep
            } else {
                Select::Skip
            }
        }
        fn catalog(&self, _fs: &Fs) -> Vec<Package> {
            Vec::new()
        }
    }

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn apply(fs: &mut Fs, tar: Vec<u8>, limits: &Limits) -> Result<()> {
        let d = Digest::of(&tar);
        scan_layer(Box::new(std::io::Cursor::new(tar)), &d, fs, &[&Txt], limits)
    }

    #[test]
    fn a_layer_missing_its_last_padding_is_read_and_one_cut_inside_a_file_is_refused() {
        let full = tar_of(&[("a/x.txt", b"first"), ("b/hello.txt", b"hello world\n")]);
        // As umoci writes it: the last file's data, then nothing (no padding, no trailer).
        let cut = full[..512 + 512 + 512 + 12].to_vec();
        let mut fs = Fs::default();
        apply(&mut fs, cut, &Limits::default()).unwrap();
        assert_eq!(fs.files["/b/hello.txt"].data, b"hello world\n");
        assert_eq!(fs.files["/a/x.txt"].data, b"first");
        // Cut inside the last file's data: refused, not padded into a file of zeros.
        let inside = full[..512 + 512 + 512 + 5].to_vec();
        let e = apply(&mut Fs::default(), inside, &Limits::default()).unwrap_err();
        assert!(format!("{e:#}").contains("the layer is truncated"), "{e:#}");
    }

    #[test]
    fn whiteouts_delete_lower_files() {
        let mut fs = Fs::default();
        let l = Limits::default();
        apply(
            &mut fs,
            tar_of(&[
                ("a/x.txt", b"1"),
                ("a/sub/y.txt", b"2"),
                ("b/z.txt", b"3"),
                ("c/w.txt", b"4"),
                ("bin", b"no"),
            ]),
            &l,
        )
        .unwrap();
        assert_eq!(fs.files.len(), 4);
        apply(
            &mut fs,
            tar_of(&[
                ("a/.wh.sub", b""),
                ("b/.wh..wh..opq", b""),
                ("b/new.txt", b"5"),
                ("c/w.txt", b"6"),
            ]),
            &l,
        )
        .unwrap();
        let paths: Vec<_> = fs.files.keys().cloned().collect();
        assert_eq!(paths, ["/a/x.txt", "/b/new.txt", "/c/w.txt"]);
        assert_eq!(fs.files["/c/w.txt"].data, b"6");
    }

    #[test]
    fn gzip_and_zstd_layers() {
        let tar = tar_of(&[("x.txt", b"hello")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let zs = zstd::encode_all(&tar[..], 3).unwrap();
        for blob in [gz, zs] {
            let mut fs = Fs::default();
            apply(&mut fs, blob, &Limits::default()).unwrap();
            assert_eq!(fs.files["/x.txt"].data, b"hello");
        }
    }

    #[test]
    fn dotdot_paths_are_refused() {
        let mut data = tar_of(&[("x.txt", b"hello")]);
        // Rewrite the name in the header (tar::Builder refuses `..` itself).
        data[..10].copy_from_slice(b"../../x.tx");
        let mut h = tar::Header::from_byte_slice(&data[..512]).clone();
        h.set_cksum();
        data[..512].copy_from_slice(h.as_bytes());
        let err = apply(&mut Fs::default(), data, &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("climbs out of the root"), "{err}");
    }

    #[test]
    fn bombs_and_truncation_are_clear_errors() {
        let big = vec![0u8; 1 << 20];
        let tar = tar_of(&[("x.txt", &big)]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let small = Limits {
            max_layer_bytes: 64 << 10,
            ..Limits::default()
        };
        let err = apply(&mut Fs::default(), gz.clone(), &small)
            .unwrap_err()
            .to_string();
        assert!(err.contains("decompression bomb"), "{err}");
        let err = apply(
            &mut Fs::default(),
            gz[..gz.len() / 2].to_vec(),
            &Limits::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let mut fs = Fs::default();
        fs.files.insert(
            "/usr/lib/os-release".into(),
            File {
                data: b"ID=debian".to_vec(),
                layer: Digest::of(b""),
            },
        );
        fs.links
            .insert("/etc/os-release".into(), "../usr/lib/os-release".into());
        fs.links
            .insert("/etc/evil".into(), "/../../../usr/lib/os-release".into());
        assert_eq!(fs.get("/etc/os-release").unwrap().0, "/usr/lib/os-release");
        assert_eq!(fs.get("/etc/evil").unwrap().0, "/usr/lib/os-release");
    }
}
