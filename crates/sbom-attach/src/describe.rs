//! One image, described: each platform manifest read, catalogued and written up as
//! documents.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use bitvault_registry::{Client, Digest};

use crate::catalog::{self, Package};
use crate::documents::{self, Format, Subject};
use crate::layers::{self, Limits};
use crate::source::{self, Image, Platform, Reader, Source};

/// One platform manifest, catalogued and written up.
#[derive(Debug, Clone)]
pub struct Described {
    /// The platform manifest's digest.
    pub digest: Digest,
    pub platform: Platform,
    pub subject: Subject,
    pub packages: Vec<Package>,
    /// The documents, in the order of the formats asked for.
    pub documents: Vec<(Format, Vec<u8>)>,
    /// Files too large to read, for the summary.
    pub skipped: Vec<String>,
}

impl Described {
    /// Package count by ecosystem (purl type).
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for p in &self.packages {
            *m.entry(p.ecosystem).or_default() += 1;
        }
        m
    }
}

/// Resolves `source` (an index to its platform manifests) and catalogs each platform.
pub fn describe(
    source: &Source,
    client: &Client,
    handle: &tokio::runtime::Handle,
    formats: &[Format],
    limits: &Limits,
) -> Result<(Image, Vec<Described>)> {
    let reader = Reader::new(source, client, handle);
    let image = source::resolve(source, &reader)?;
    let catalogers = catalog::all();
    let mut out = Vec::new();
    for platform in &image.platforms {
        let fs = layers::scan(&reader, &platform.layers, &catalogers, limits)
            .with_context(|| format!("{} ({})", source.display(), platform.platform))?;
        let packages = catalog::catalog(&fs, &catalogers);
        let subject = Subject::new(source, platform);
        let mut documents = Vec::new();
        for f in formats {
            documents.push((*f, documents::write(*f, &subject, &packages)?));
        }
        out.push(Described {
            digest: platform.digest.clone(),
            platform: platform.platform.clone(),
            subject,
            packages,
            documents,
            skipped: fs.skipped,
        });
    }
    Ok((image, out))
}
