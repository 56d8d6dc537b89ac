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
use bitvault_registry::{Reference, Repository};
use bitvault_runner::{ActionSpec, InputSpec, Inputs, OutputSpec, Step, command};

pub static SPEC: ActionSpec = ActionSpec {
    name: "build-matrix",
    description: "Plan image x platform builds from an image catalog and the changed paths (a strategy.matrix, tags and OCI labels), then merge the per-platform digests into one multi-arch index.",
    inputs: &[
        InputSpec::with_default(
            "mode",
            "`plan` (what to build) or `merge` (per-platform digests into one index).",
            "plan",
        )
        .one_of(&["plan", "merge"]),
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
        InputSpec::with_default("all", "plan: plan every image, whatever changed.", "false")
            .boolean(),
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
            "Registries (host:port) reached over plain HTTP besides loopback ones.",
        )
        .list_or_commas(),
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

/// The inputs of one run, read and checked in one place
/// ([`Request::from_inputs`]).
pub enum Request {
    Plan(PlanRequest),
    Merge(MergeRequest),
}

/// `mode: plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    /// The catalog file, relative to the workspace.
    pub catalog: String,
    /// path-filter's `changes`: filter names.
    pub changes: Vec<String>,
    pub changed_files: Vec<String>,
    pub all: bool,
}

/// `mode: merge`.
pub struct MergeRequest {
    pub repository: Repository,
    /// `digests` as given: parsed when merging (it may name a folder).
    pub digests: String,
    /// Bare tags, checked against the repository.
    pub tags: Vec<String>,
    /// `username` and `password` (a secret: this type has no `Debug`).
    pub credentials: Option<(String, String)>,
    pub insecure_registries: Vec<String>,
}

impl Request {
    pub fn from_inputs(inputs: &Inputs) -> Result<Self> {
        Ok(match inputs.required_choice("mode")? {
            "merge" => Request::Merge(MergeRequest::from_inputs(inputs)?),
            _ => Request::Plan(PlanRequest {
                catalog: inputs.required("catalog")?.to_string(),
                changes: list_input(inputs.text("changes")?, "changes")?,
                changed_files: list_input(inputs.text("changed-files")?, "changed-files")?,
                all: inputs.boolean("all")?,
            }),
        })
    }
}

impl MergeRequest {
    fn from_inputs(inputs: &Inputs) -> Result<Self> {
        let image = inputs.required("image")?;
        let reference = Reference::parse(image).context("input `image`")?;
        if reference.tag().is_some() || reference.digest().is_some() {
            anyhow::bail!(
                "`image` must be a repository without tag or digest, got {image}; put tags in `tags`"
            );
        }
        let repository = reference.repository().clone();
        let digests = inputs.required("digests")?.to_string();
        let tags = merge::parse_tags(inputs.text("tags")?.unwrap_or_default(), &repository)?;
        let credentials = match (inputs.text("username")?, inputs.text("password")?) {
            (Some(u), Some(p)) => Some((u.to_string(), p.to_string())),
            _ => None,
        };
        Ok(Self {
            repository,
            digests,
            tags,
            credentials,
            insecure_registries: inputs.items("insecure-registries")?,
        })
    }
}

pub fn run(step: &mut Step) -> Result<()> {
    match Request::from_inputs(&step.inputs)? {
        Request::Merge(req) => run_merge(step, &req),
        Request::Plan(req) => run_plan(step, &req),
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

/// `GITHUB_SHA`, when set, must be a commit id: it goes into tags and labels.
fn check_sha(sha: &str) -> Result<()> {
    if sha.is_empty()
        || (matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Ok(());
    }
    anyhow::bail!(
        "GITHUB_SHA is {sha:?}, not a commit id (40 or 64 hexadecimal digits): the runner sets it to the commit being built; unset it or set it to `git rev-parse HEAD`"
    )
}

fn git_context(step: &Step) -> Result<meta::GitContext> {
    let env = &step.env;
    let payload = env.event_payload()?;
    let sha = env.non_empty("GITHUB_SHA").unwrap_or_default().to_string();
    check_sha(&sha)?;
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

fn run_plan(step: &mut Step, req: &PlanRequest) -> Result<()> {
    let path = workspace(step).join(&req.catalog);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the image catalog {}: create it (see the build-matrix section of the README) or set `catalog`",
            path.display()
        )
    })?;
    let catalog = catalog::Catalog::parse(&text, &path.display().to_string())?;
    let selection = plan::Selection {
        all: req.all,
        changes: &req.changes,
        changed_files: &req.changed_files,
    };
    let (selected, warnings) = plan::select(&catalog, &selection)?;
    for w in &warnings {
        command::warning(w);
    }
    let ctx = git_context(step)?;
    let plan = plan::plan(&catalog, &selected, &ctx)?;
    let matrix = serde_json::json!({ "include": plan.include });
    step.set_output("matrix", serde_json::to_string(&matrix)?);
    step.set_output("has-builds", (!plan.include.is_empty()).to_string());
    step.set_output("images", serde_json::to_string(&plan.images)?);
    step.summary(&plan_summary(&plan));
    Ok(())
}

/// The step summary of `mode: plan`.
pub fn plan_summary(plan: &plan::Plan) -> String {
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
    md
}

fn registry_client(req: &MergeRequest) -> Result<bitvault_registry::Client> {
    let mut credentials = bitvault_registry::CredentialStore::new();
    if let Some((user, pass)) = &req.credentials {
        credentials = credentials.with_basic(req.repository.registry(), user, pass);
    }
    Ok(bitvault_registry::Client::new(
        bitvault_registry::ClientOptions {
            insecure_registries: req.insecure_registries.clone(),
            credentials,
            ..Default::default()
        },
    )?)
}

fn run_merge(step: &mut Step, req: &MergeRequest) -> Result<()> {
    let repo = &req.repository;
    let tags = &req.tags;
    let digests = merge::parse_digests(&req.digests)?;
    let client = registry_client(req)?;
    let merged = bitvault_http::block_on(merge::merge(&client, repo, &digests, tags))?;
    step.set_output("digest", merged.digest.as_str());
    step.set_output("image-ref", merged.image_ref.clone());
    if !merged.index_pushed && merged.tags_written.is_empty() {
        command::notice(&format!(
            "{} was already complete: nothing written",
            merged.image_ref
        ));
    }
    step.summary(&merge_summary(&merged, tags));
    Ok(())
}

/// The step summary of `mode: merge`.
pub fn merge_summary(merged: &merge::Merged, tags: &[String]) -> String {
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
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitvault_runner::testing::{check_reads, check_reads_with};

    /// Every input each mode reads is declared in [`SPEC`] with the accessor
    /// of its kind (a misspelt name fails here).
    #[test]
    fn from_inputs_reads_only_declared_inputs() {
        let Request::Plan(plan) = check_reads(&SPEC, Request::from_inputs).unwrap() else {
            panic!("the default mode is plan");
        };
        assert_eq!(plan.catalog, ".github/bitvault/images.yaml");
        assert_eq!(plan.changes, ["x"]);
        let merge = check_reads_with(
            &SPEC,
            &[
                ("mode", "merge"),
                ("image", "127.0.0.1:5000/demo/app"),
                ("tags", "v1\n127.0.0.1:5000/demo/app:v2"),
                ("insecure-registries", "a:1, b:2"),
            ],
            Request::from_inputs,
        )
        .unwrap();
        let Request::Merge(merge) = merge else {
            panic!("mode: merge");
        };
        assert_eq!(merge.repository.registry(), "127.0.0.1:5000");
        assert_eq!(merge.tags, ["v1", "v2"]);
        assert_eq!(merge.insecure_registries, ["a:1", "b:2"]);
        assert_eq!(merge.credentials, Some(("x".into(), "x".into())));
    }

    #[test]
    fn a_sha_that_is_not_a_commit_id_is_a_clear_error() {
        for sha in ["ééééééééé", "abc", &"g".repeat(40)] {
            let err = check_sha(sha).unwrap_err().to_string();
            assert!(err.starts_with("GITHUB_SHA is"), "{err}");
            assert!(err.contains("not a commit id"), "{err}");
        }
        check_sha("").unwrap();
        check_sha(&"a".repeat(40)).unwrap();
        insta::assert_snapshot!(check_sha("é1234567").unwrap_err().to_string());
    }

    const CATALOG: &str = "platforms:
  linux/amd64: ubuntu-24.04
  linux/arm64: ubuntu-24.04-arm
images:
  api:
    repository: ghcr.io/bitvault/api
    paths: ['services/api/**', '!**/*.md']
  web:
    repository: ghcr.io/bitvault/web
    platforms: [linux/amd64]
    filters: [frontend]
  docs:
    repository: ghcr.io/bitvault/docs
    paths: ['docs/**']
";

    fn planned(changes: &[&str], files: &[&str]) -> plan::Plan {
        let catalog = catalog::Catalog::parse(CATALOG, "images.yaml").unwrap();
        let changes: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
        let files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
        let sel = plan::Selection {
            all: false,
            changes: &changes,
            changed_files: &files,
        };
        let (selected, warnings) = plan::select(&catalog, &sel).unwrap();
        assert!(warnings.is_empty());
        let ctx = meta::GitContext {
            event_name: "push".into(),
            git_ref: "refs/heads/main".into(),
            sha: "860c1904a1ce19322e91ac35af1ab07466440c37".into(),
            commit_time: "2026-11-20T10:00:00Z".into(),
            repository_url: "https://github.com/bitvault/bitvault".into(),
            licenses: None,
            pr_number: None,
        };
        plan::plan(&catalog, &selected, &ctx).unwrap()
    }

    /// Paths are path-filter's ordered glob list: `!**/*.md` takes the
    /// README out, so only the change to main.go selects `api`.
    #[test]
    fn plan_step_summary() {
        let plan = planned(
            &["frontend"],
            &["services/api/README.md", "services/api/main.go"],
        );
        insta::assert_snapshot!(super::plan_summary(&plan));
        let plan = planned(&[], &["services/api/README.md"]);
        insta::assert_snapshot!("plan_summary_nothing", super::plan_summary(&plan));
    }

    #[test]
    fn merge_step_summary() {
        let digest = |c: char| -> bitvault_registry::Digest {
            bitvault_registry::Digest::parse(&format!("sha256:{}", c.to_string().repeat(64)))
                .unwrap()
        };
        let platform = |arch: &str, c: char| merge::PlatformImage {
            digest: digest(c),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            size: 500,
            platform: merge::Platform {
                os: "linux".into(),
                architecture: arch.into(),
                variant: None,
            },
        };
        let merged = merge::Merged {
            digest: digest('c'),
            image_ref: format!("ghcr.io/bitvault/api@{}", digest('c')),
            platforms: vec![platform("amd64", 'a'), platform("arm64", 'b')],
            index_pushed: true,
            tags_written: vec!["v1.2.3".into()],
        };
        insta::assert_snapshot!(super::merge_summary(
            &merged,
            &["v1.2.3".into(), "main".into()]
        ));
    }
}
