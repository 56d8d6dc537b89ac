//! A package found in an image, and where it was found.

use bitvault_registry::Digest;

/// Where a package was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub path: String,
    pub layer: Option<Digest>,
}

/// A package found in the image.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// The purl type (`deb`, `pypi`, `npm`, `maven`, `golang`, `cargo`, `apk`).
    pub ecosystem: &'static str,
    pub purl: String,
    /// Declared licenses: SPDX identifiers or expressions where the package gives them,
    /// else the text it gives.
    pub licenses: Vec<String>,
    pub locations: Vec<Location>,
    /// Which cataloger found it.
    pub found_by: &'static str,
    /// Supplier or author, as declared.
    pub supplier: Option<String>,
    /// Homepage or repository URL, as declared.
    pub homepage: Option<String>,
}

impl Package {
    /// A package of `ecosystem` with `purl`, found at `path`.
    pub fn new(
        found_by: &'static str,
        ecosystem: &'static str,
        name: &str,
        version: &str,
        purl: String,
        location: Location,
    ) -> Package {
        Package {
            name: name.to_owned(),
            version: version.to_owned(),
            ecosystem,
            purl,
            licenses: Vec::new(),
            locations: vec![location],
            found_by,
            supplier: None,
            homepage: None,
        }
    }
}
