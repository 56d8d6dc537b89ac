//! Planning: which images a change affects, and the `strategy.matrix` that
//! builds each of them once per platform. Pure: no git, no registry.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, bail};
use bitvault_path_filter::filter::OrderedGlobs;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::meta::{GitContext, metadata};

/// GitHub's limit on the jobs one matrix may generate.
pub const MATRIX_LIMIT: usize = 256;

/// Why an image is in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    All,
    Filter(String),
    Path(String),
}

/// What selects images: every image, filter names from path-filter's
/// `changes` output, and/or changed file paths matched against each image's `paths`.
pub struct Selection<'a> {
    pub all: bool,
    pub changes: &'a [String],
    pub changed_files: &'a [String],
}

/// Picks the affected images. An image's `paths` are an ordered glob list
/// (path-filter's [`OrderedGlobs`]: picomatch-compatible globs, a later
/// `!pattern` removes what earlier ones matched). Returns the images with
/// the reason each was picked, and warnings about patterns.
pub fn select(
    catalog: &Catalog,
    sel: &Selection,
) -> Result<(BTreeMap<String, Reason>, Vec<String>)> {
    let mut out = BTreeMap::new();
    let mut warnings = Vec::new();
    for (name, image) in &catalog.images {
        if sel.all {
            out.insert(name.clone(), Reason::All);
            continue;
        }
        if let Some(f) = sel
            .changes
            .iter()
            .find(|c| *c == name || image.filters.contains(c))
        {
            out.insert(name.clone(), Reason::Filter(f.clone()));
            continue;
        }
        if !image.paths.is_empty() {
            let (globs, w) = OrderedGlobs::new(name, &image.paths).with_context(|| {
                format!("image catalog: image `{name}` has an invalid `paths` pattern")
            })?;
            warnings.extend(w.into_iter().map(|w| {
                let w = w.strip_prefix("filter ").unwrap_or(&w);
                format!("image catalog, `paths` of image {w}")
            }));
            if let Some(file) = sel.changed_files.iter().find(|f| globs.is_match(f)) {
                out.insert(name.clone(), Reason::Path(file.clone()));
            }
        }
    }
    Ok((out, warnings))
}

/// One job of the matrix.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct Entry {
    pub image: String,
    pub repository: String,
    pub platform: String,
    pub runner: String,
    pub context: String,
    pub dockerfile: String,
    pub target: String,
    /// Newline-separated `KEY=value`, as docker/build-push-action's `build-args` takes them.
    pub build_args: String,
    /// A cache scope per image and platform, for `cache-from/to: type=gha,scope=...`.
    pub cache_scope: String,
    /// The artifact name the job uploads its digest under, for the merge job.
    pub digest_artifact: String,
}

/// One image of the plan, with its tags and labels.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct PlannedImage {
    pub name: String,
    pub repository: String,
    pub platforms: Vec<String>,
    pub reason: Reason,
    pub version: String,
    /// Tags without repository.
    pub tags: Vec<String>,
    /// `repository:tag`, newline-separated, ready for the merge step's `tags`.
    pub image_tags: String,
    pub labels: BTreeMap<String, String>,
    /// The digest-artifact pattern that collects this image's per-platform digests.
    pub digest_artifacts: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub include: Vec<Entry>,
    pub images: Vec<PlannedImage>,
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The matrix and the per-image metadata for the selected images.
pub fn plan(
    catalog: &Catalog,
    selected: &BTreeMap<String, Reason>,
    ctx: &GitContext,
) -> Result<Plan> {
    let mut include = Vec::new();
    let mut images = Vec::new();
    for (name, reason) in selected {
        let image = &catalog.images[name];
        let platforms = catalog.platforms_of(image);
        let meta = metadata(ctx, name, image.licenses.as_deref());
        for platform in &platforms {
            let p = slug(platform);
            include.push(Entry {
                image: name.clone(),
                repository: image.repository.clone(),
                platform: platform.to_string(),
                runner: catalog.platforms[*platform].clone(),
                context: image.context.clone(),
                dockerfile: image.dockerfile.clone().unwrap_or_else(|| {
                    format!("{}/Dockerfile", image.context.trim_end_matches('/'))
                }),
                target: image.target.clone().unwrap_or_default(),
                build_args: image
                    .build_args
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                cache_scope: format!("{}-{p}", slug(name)),
                digest_artifact: format!("digests-{}-{p}", slug(name)),
            });
        }
        images.push(PlannedImage {
            name: name.clone(),
            repository: image.repository.clone(),
            platforms: platforms.iter().map(|p| p.to_string()).collect(),
            reason: reason.clone(),
            version: meta.version.clone(),
            image_tags: meta
                .tags
                .iter()
                .map(|t| format!("{}:{t}", image.repository))
                .collect::<Vec<_>>()
                .join("\n"),
            tags: meta.tags,
            labels: meta.labels,
            digest_artifacts: format!("digests-{}-*", slug(name)),
        });
    }
    if include.len() > MATRIX_LIMIT {
        bail!(
            "the plan has {} builds, over GitHub's limit of {MATRIX_LIMIT} jobs per matrix: split the catalog into several build-matrix steps (for example one per image group), or build fewer platforms",
            include.len()
        );
    }
    Ok(Plan { include, images })
}
