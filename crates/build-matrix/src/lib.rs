//! The build-matrix action: what to build, and afterwards the merge.
//!
//! - `mode: plan` reads the image catalog ([`catalog`]), keeps the images a
//!   change affects ([`plan::select`]) and emits a `strategy.matrix` with one
//!   job per image and platform, plus each image's tags and OCI labels
//!   computed as docker/metadata-action does ([`meta`]), never `latest`.
//! - `mode: merge` takes the per-platform digests those jobs pushed, checks
//!   each one's platform, and pushes one OCI image index by digest ([`merge`]).

pub mod catalog;
pub mod merge;
pub mod meta;
pub mod plan;

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use bitvault_path_filter::glob::Glob;
use bitvault_runner::{ActionSpec, InputSpec, OutputSpec, Step, command};

pub static SPEC: ActionSpec = ActionSpec {
    name: "build-matrix",
    description: "Plan image x platform builds from an image catalog and the changed paths (a strategy.matrix, tags and OCI labels), then merge the per-platform digests into one multi-arch index.",
    inputs: &[
        InputSpec::with_default(
            "mode",
            "`plan` (what to build) or `merge` (per-platform digests into one index).",
            "plan",
        ),
        InputSpec::with_default(
            "catalog",
            "plan: the image catalog file, relative to the workspace.",
            ".github/bitvault/images.yaml",
        ),
        InputSpec::optional(
            "changes",
            "plan: path-filter's `changes` output (a JSON array of filter names); an image is affected when its name or one of its `filters` is listed.",
        ),
        InputSpec::optional(
            "changed-files",
            "plan: changed files (a JSON array or one per line), matched against each image's `paths`.",
        ),
        InputSpec::with_default("all", "plan: plan every image, whatever changed.", "false"),
        InputSpec::optional(
            "image",
            "merge: the repository (registry/owner/name, no tag) the digests were pushed to.",
        ),
        InputSpec::optional(
            "digests",
            "merge: the per-platform digests: a JSON list, one per line, or a folder of digest files as in Docker's multi-platform pattern.",
        ),
        InputSpec::optional(
            "tags",
            "merge: tags to apply to the index (bare or repository:tag, one per line); `latest` is refused.",
        ),
        InputSpec::optional(
            "username",
            "merge: registry username (otherwise Docker's config.json, as docker/login-action writes it, or anonymous).",
        ),
        InputSpec::optional("password", "merge: registry password or token.").secret(),
        InputSpec::optional(
            "insecure-registries",
            "Registries (host:port) reached over plain HTTP besides loopback ones, one per line.",
        ),
    ],
    outputs: &[
        OutputSpec::new(
            "matrix",
            "plan: JSON for `strategy.matrix`: `include` entries with image, repository, platform, runner, context, dockerfile, target, build-args, cache-scope, digest-artifact.",
        ),
        OutputSpec::new(
            "has-builds",
            "plan: `true` when the matrix has entries (an empty matrix fails a workflow).",
        ),
        OutputSpec::new(
            "images",
            "plan: JSON array of the planned images with tags, image-tags, labels, version and digest-artifacts.",
        ),
        OutputSpec::new("digest", "merge: the digest of the pushed index."),
        OutputSpec::new("image-ref", "merge: `repository@sha256:...` of the index."),
    ],
    dynamic_outputs: &[],
    permissions: &["packages: write (merge, for ghcr.io)"],
};

pub fn run(step: &mut Step) -> Result<()> {
    match step.inputs.one_of("mode", &["plan", "merge"])? {
        Some("merge") => run_merge(step),
        _ => run_plan(step),
    }
}

fn workspace(step: &Step) -> PathBuf {
    step.env
        .path("GITHUB_WORKSPACE")
        .unwrap_or_else(|| PathBuf::from("."))
}

fn list_input(value: Option<&str>, what: &str) -> Result<Vec<String>> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Vec::new());
    };
    if v.starts_with('[') {
        serde_json::from_str(v)
            .with_context(|| format!("`{what}` looks like JSON but is not an array of strings"))
    } else {
        Ok(v.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }
}

fn git_context(step: &Step) -> Result<meta::GitContext> {
    let env = &step.env;
    let payload = env.event_payload()?;
    let sha = env.non_empty("GITHUB_SHA").unwrap_or_default().to_string();
    let mut commit_time = String::new();
    if !sha.is_empty() {
        let out = std::process::Command::new("git")
            .args(["show", "-s", "--format=%cI", &sha, "--"])
            .current_dir(workspace(step))
            .output();
        if let Ok(out) = out
            && out.status.success()
        {
            commit_time = String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
    }
    if commit_time.is_empty() {
        if let Some(t) = payload
            .as_ref()
            .and_then(|p| p.pointer("/head_commit/timestamp"))
            .and_then(|t| t.as_str())
        {
            commit_time = t.to_string();
        } else if !sha.is_empty() {
            command::warning(
                "cannot read the commit time of GITHUB_SHA (is the repository checked out?): the `org.opencontainers.image.created` label is left out rather than set to the clock, which would make rebuilds differ",
            );
        }
    }
    let repository_url = match env.non_empty("GITHUB_REPOSITORY") {
        Some(r) => format!("{}/{r}", env.server_url()),
        None => String::new(),
    };
    let licenses = payload
        .as_ref()
        .and_then(|p| p.pointer("/repository/license/spdx_id"))
        .and_then(|l| l.as_str())
        .filter(|l| *l != "NOASSERTION")
        .map(str::to_string);
    let pr_number = payload
        .as_ref()
        .and_then(|p| p.pointer("/pull_request/number"))
        .and_then(|n| n.as_u64());
    Ok(meta::GitContext {
        event_name: env.event_name().unwrap_or_default().to_string(),
        git_ref: env.non_empty("GITHUB_REF").unwrap_or_default().to_string(),
        sha,
        commit_time,
        repository_url,
        licenses,
        pr_number,
    })
}

fn run_plan(step: &mut Step) -> Result<()> {
    let path = workspace(step).join(step.inputs.required("catalog")?);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the image catalog {}: create it (see the build-matrix section of the README) or set `catalog`",
            path.display()
        )
    })?;
    let catalog = catalog::Catalog::parse(&text, &path.display().to_string())?;
    let changes = list_input(step.inputs.get("changes"), "changes")?;
    let files = list_input(step.inputs.get("changed-files"), "changed-files")?;
    let all = step.inputs.bool("all")?;
    let selection = plan::Selection {
        all,
        changes: &changes,
        changed_files: &files,
    };
    // Each pattern is compiled once (path-filter's picomatch-compatible
    // globs). Patterns apply in order, as in .gitignore and GitHub's
    // `on.paths`: a later `!pattern` removes what earlier ones matched.
    let cache: std::cell::RefCell<std::collections::HashMap<String, Glob>> = Default::default();
    let selected = plan::select(&catalog, &selection, &|patterns, file| {
        let mut cache = cache.borrow_mut();
        let mut matched = false;
        for p in patterns {
            if !cache.contains_key(p) {
                let g = Glob::new(p)
                    .map_err(|e| anyhow::anyhow!("image catalog path pattern `{p}`: {e}"))?;
                cache.insert(p.clone(), g);
            }
            let g = &cache[p];
            if g.is_negated() {
                // A negated glob "matches" the paths its inner pattern does not.
                if !g.is_match(file) {
                    matched = false;
                }
            } else if g.is_match(file) {
                matched = true;
            }
        }
        Ok(matched)
    })?;
    let ctx = git_context(step)?;
    let plan = plan::plan(&catalog, &selected, &ctx)?;
    let matrix = serde_json::json!({ "include": plan.include });
    step.set_output("matrix", serde_json::to_string(&matrix)?);
    step.set_output("has-builds", (!plan.include.is_empty()).to_string());
    step.set_output("images", serde_json::to_string(&plan.images)?);
    let mut md = String::from(
        "### build-matrix plan\n\n| image | why | platforms | tags |\n|---|---|---|---|\n",
    );
    for i in &plan.images {
        let why = match &i.reason {
            plan::Reason::All => "all".to_string(),
            plan::Reason::Filter(f) => format!("filter `{f}`"),
            plan::Reason::Path(p) => format!("`{}`", p.replace('|', "\\|")),
        };
        md.push_str(&format!(
            "| {} | {why} | {} | {} |\n",
            i.name,
            i.platforms.join(", "),
            i.tags.join(", ")
        ));
    }
    if plan.images.is_empty() {
        md.push_str("\nNo image is affected by this change.\n");
    }
    step.summary(&md);
    Ok(())
}

fn registry_client(step: &Step) -> Result<bitvault_registry::Client> {
    let mut credentials = bitvault_registry::CredentialStore::new();
    let image = step.inputs.get("image").unwrap_or_default();
    if let (Some(user), Some(pass)) = (step.inputs.get("username"), step.inputs.get("password")) {
        let registry =
            bitvault_registry::Reference::parse(&format!("{image}@sha256:{}", "0".repeat(64)))
                .map(|r| r.registry().to_string())
                .unwrap_or_default();
        credentials = credentials.with_basic(&registry, user, pass);
    }
    Ok(bitvault_registry::Client::new(
        bitvault_registry::ClientOptions {
            insecure_registries: step.inputs.list("insecure-registries", true),
            credentials,
            ..Default::default()
        },
    )?)
}

fn run_merge(step: &mut Step) -> Result<()> {
    let image = step.inputs.required("image")?.to_string();
    let reference = bitvault_registry::Reference::parse(&image)?;
    if reference.tag().is_some() || reference.digest().is_some() {
        anyhow::bail!(
            "`image` must be a repository without tag or digest, got {image}; put tags in `tags`"
        );
    }
    let repo = reference.repository().clone();
    let digests = merge::parse_digests(step.inputs.required("digests")?)?;
    let tags = merge::parse_tags(step.inputs.get("tags").unwrap_or_default(), &repo)?;
    let client = registry_client(step)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let merged = rt.block_on(merge::merge(&client, &repo, &digests, &tags))?;
    step.set_output("digest", merged.digest.as_str());
    step.set_output("image-ref", merged.image_ref.clone());
    let mut md = format!(
        "### build-matrix merge\n\n`{}`\n\n| platform | digest |\n|---|---|\n",
        merged.image_ref
    );
    for p in &merged.platforms {
        md.push_str(&format!("| {} | `{}` |\n", p.platform, p.digest));
    }
    if !tags.is_empty() {
        md.push_str(&format!("\nTags: {}\n", tags.join(", ")));
    }
    if !merged.index_pushed && merged.tags_written.is_empty() {
        command::notice(&format!(
            "{} was already complete: nothing written",
            merged.image_ref
        ));
    }
    step.summary(&md);
    Ok(())
}
