//! The image catalog: which images a repository builds, from where, for
//! which platforms, and which paths affect each one.
//!
//! ```yaml
//! # .github/bitvault/images.yaml
//! platforms:                      # platform -> runner label
//!   linux/amd64: ubuntu-24.04
//!   linux/arm64: ubuntu-24.04-arm
//! images:
//!   bitvaultd:
//!     repository: ghcr.io/bitvault/bitvaultd   # registry/owner/name, no tag
//!     context: .
//!     dockerfile: services/bitvaultd/Dockerfile
//!     target: runtime                         # optional build stage
//!     platforms: [linux/amd64, linux/arm64]   # optional: default every platform above
//!     paths: ["services/bitvaultd/**", "go.{mod,sum}", "!**/*.md"]   # in order; `!` removes
//!     filters: [backend]                      # optional: path-filter filter names that affect it
//!     build-args: { GO_VERSION: "1.23" }      # optional
//!     licenses: Apache-2.0                    # optional
//! ```

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Platform (`linux/amd64`) -> runner label.
    pub platforms: BTreeMap<String, String>,
    pub images: BTreeMap<String, Image>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Image {
    pub repository: String,
    #[serde(default = "dot")]
    pub context: String,
    #[serde(default)]
    pub dockerfile: Option<String>,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub platforms: Option<Vec<String>>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub filters: Vec<String>,
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    #[serde(default)]
    pub licenses: Option<String>,
}

fn dot() -> String {
    ".".to_string()
}

impl Catalog {
    /// Parses and checks a catalog; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let catalog: Catalog = serde_norway::from_str(text)
            .with_context(|| format!("{origin} is not a valid image catalog (see the build-matrix section of the README for its format)"))?;
        catalog.check(origin)?;
        Ok(catalog)
    }

    fn check(&self, origin: &str) -> Result<()> {
        if self.images.is_empty() {
            bail!("{origin} lists no images");
        }
        for (platform, runner) in &self.platforms {
            if !is_platform(platform) {
                bail!(
                    "{origin}: `{platform}` is not a platform; write os/arch[/variant], for example linux/arm64"
                );
            }
            if runner.trim().is_empty() {
                bail!("{origin}: platform {platform} has no runner label");
            }
        }
        for (name, image) in &self.images {
            let repo = &image.repository;
            if repo.contains('@')
                || repo
                    .rsplit('/')
                    .next()
                    .is_some_and(|last| last.contains(':'))
            {
                bail!(
                    "{origin}: image {name}: repository `{repo}` must have no tag or digest; tags are computed, digests come from the build"
                );
            }
            if !repo.contains('/') {
                bail!("{origin}: image {name}: repository `{repo}` must be registry/owner/name");
            }
            for p in image.platforms.iter().flatten() {
                if !self.platforms.contains_key(p) {
                    bail!(
                        "{origin}: image {name} wants platform {p}, which has no runner under `platforms:`"
                    );
                }
            }
            if image.paths.is_empty() && image.filters.is_empty() {
                bail!(
                    "{origin}: image {name} has neither `paths` nor `filters`, so no change could ever select it"
                );
            }
        }
        Ok(())
    }

    /// The platforms an image is built for.
    pub fn platforms_of<'a>(&'a self, image: &'a Image) -> Vec<&'a str> {
        match &image.platforms {
            Some(p) => p.iter().map(String::as_str).collect(),
            None => self.platforms.keys().map(String::as_str).collect(),
        }
    }
}

pub fn is_platform(p: &str) -> bool {
    let parts: Vec<&str> = p.split('/').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_catalogs_say_what_is_wrong() {
        let e = |t: &str| format!("{:#}", Catalog::parse(t, "images.yaml").unwrap_err());
        assert!(e("platforms: {}\nimages: {}\n").contains("lists no images"));
        assert!(
            e("platforms: {linux/amd64: x}\nimages:\n  a: {repository: 'r.io/o/a:latest', paths: [a]}\n")
                .contains("no tag or digest")
        );
        assert!(
            e("platforms: {linux/amd64: x}\nimages:\n  a: {repository: r.io/o/a, paths: [a], platforms: [linux/s390x]}\n")
                .contains("linux/s390x")
        );
        assert!(
            e("platforms: {amd64: x}\nimages:\n  a: {repository: r.io/o/a, paths: [a]}\n")
                .contains("not a platform")
        );
        assert!(
            e("platforms: {linux/amd64: x}\nimages:\n  a: {repository: r.io/o/a, pths: [a]}\n")
                .contains("pths")
        );
    }
}
