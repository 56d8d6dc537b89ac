//! Rust binaries built with cargo-auditable: the zlib-compressed JSON in the `.dep-v0`
//! section (the format `auditable-serde` defines). Runtime dependencies only: build
//! dependencies are not in the binary.

use auditable_serde::{DependencyKind, VersionInfo};
use object::{Object, ObjectSection};

use super::{Cataloger, Location, Package, Select, purl};

pub struct Rust;

/// Decompressed size limit of the audit data (cargo-auditable's own default is 8 MiB).
const MAX_JSON: usize = 8 << 20;

impl Cataloger for Rust {
    fn name(&self) -> &'static str {
        "rust"
    }

    fn select(&self, _path: &str, head: &[u8]) -> Select {
        if head.starts_with(b"\x7fELF") {
            Select::Parse
        } else {
            Select::Skip
        }
    }

    fn parse(&self, path: &str, data: &[u8]) -> Vec<Package> {
        let Some(info) = audit_data(data) else {
            return Vec::new();
        };
        info.packages
            .iter()
            .filter(|p| p.kind == DependencyKind::Runtime)
            .map(|p| {
                let v = p.version.to_string();
                Package::new(
                    "rust",
                    "cargo",
                    &p.name,
                    &v,
                    purl("cargo", None, &p.name, &v, &[]),
                    Location {
                        path: path.to_owned(),
                        layer: None,
                    },
                )
            })
            .collect()
    }
}

/// The cargo-auditable data of an ELF binary, if it has any.
pub fn audit_data(data: &[u8]) -> Option<VersionInfo> {
    let file = object::File::parse(data).ok()?;
    let section = file.section_by_name(".dep-v0")?;
    let compressed = section.data().ok()?;
    let json =
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(compressed, MAX_JSON).ok()?;
    serde_json::from_slice(&json).ok()
}
