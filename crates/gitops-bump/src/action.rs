//! The `gitops-bump` action: its one declaration ([`SPEC`]) and [`run`].
//!
//! `run` parses the inputs into a [`Request`] (digests are validated before anything
//! else happens), checks the signature gate, then runs one of two flows:
//! - `path`: edit a local checkout in place, print the diff; no commit, no network.
//! - `repository`: read the files at the base branch through the GitHub API, plan with
//!   the pure core, commit with the Git Database API and open or update a pull request
//!   ([`crate::github`]).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use bitvault_runner::command::{self, info};
use bitvault_runner::{ActionSpec, InputSpec, OutputSpec, Step};

use crate::pr::{self, ImageChange};
use crate::{
    Digest, Edit, Layout, Operation, Outcome, Target, Version, apply_edits, plan_promote,
    plan_rollback,
};

/// The one declaration of the action's inputs and outputs.
pub static SPEC: ActionSpec = ActionSpec {
    name: "gitops-bump",
    description: "Set an image digest in a GitOps repository (Helm values or kustomization) and open or update a pull request, or edit a local checkout.",
    inputs: &[
        InputSpec::with_default(
            "mode",
            "`bump` (set `digest`), `promote` (copy the digest of `from-environment` to `environment`) or `rollback` (set the previous digest from the file's history).",
            "bump",
        ),
        InputSpec::required("environment", "The environment to change; fills `{env}` in `file`."),
        InputSpec::optional("from-environment", "promote: the environment whose digest is copied."),
        InputSpec::optional(
            "image",
            "The image name, used in the branch name, title and body. Several images (bump): one per line, paired by position with `digest` and `key-path` or `kustomize-image`. Defaults to `kustomize-image`.",
        ),
        InputSpec::optional(
            "digest",
            "bump: the digest to set, `sha256:` + 64 lower-case hex (one per line for several images). Checked before anything else happens.",
        ),
        InputSpec::optional(
            "to-digest",
            "rollback: the digest to roll back to; it must appear in the file's history. Default: the most recent different digest.",
        ),
        InputSpec::with_default(
            "file",
            "The file holding the digest, relative to the repository root; `{env}` is replaced by the environment.",
            "envs/{env}/values.yaml",
        ),
        InputSpec::with_default(
            "key-path",
            "The dotted key path of the digest in Helm values (one per line for several images).",
            "image.digest",
        ),
        InputSpec::optional(
            "kustomize-image",
            "Set the `digest` of the kustomization `images:` entry with this `name` instead of a key path (one per line for several images).",
        ),
        InputSpec::optional(
            "path",
            "A local checkout: edit the file in place and print the diff; no commit, no network. Exclusive with `repository`.",
        ),
        InputSpec::optional(
            "repository",
            "`owner/name` of the GitOps repository: commit through the GitHub API and open or update a pull request.",
        ),
        InputSpec::optional("base-branch", "The branch to change. Default: the repository's default branch."),
        InputSpec::optional(
            "branch",
            "The pull request branch. Default: `bitvault/gitops-bump/<env>/<image>[+<image>...]`.",
        ),
        InputSpec::optional(
            "title",
            "Pull request title template. Placeholders: `{image}` `{env}` `{from-env}` `{mode}` `{digest}` `{short-digest}` `{old}` `{source}` `{sha}` `{run-url}`. Default depends on the mode, e.g. `bump {image} in {env} to {short-digest}`.",
        ),
        InputSpec::optional(
            "body",
            "Pull request body template (same placeholders as `title`), placed above the generated list of images, digests, source commit, workflow run and verification result.",
        ),
        InputSpec::optional("labels", "Labels to add to the pull request (comma or newline separated)."),
        InputSpec::with_default("draft", "Open the pull request as a draft.", "false"),
        InputSpec::optional("reviewers", "Users to request reviews from (comma or newline separated)."),
        InputSpec::optional(
            "token",
            "A GitHub token with `contents: write` and `pull-requests: write` on `repository`. Alternatives: `app-id` + `private-key`, or `sts-endpoint` + `sts-identity`.",
        )
        .secret(),
        InputSpec::optional("app-id", "GitHub App id: authenticate as the App's installation on `repository`."),
        InputSpec::optional("private-key", "The GitHub App's private key (PEM).").secret(),
        InputSpec::optional(
            "sts-endpoint",
            "An octo-sts endpoint (e.g. `https://octo-sts.dev`): exchange the workflow's OIDC token for a token on `repository`. Needs `id-token: write`.",
        ),
        InputSpec::optional("sts-identity", "The octo-sts trust policy name to use."),
        InputSpec::optional("github-api-url", "The GitHub REST API URL. Default: `GITHUB_API_URL`, else https://api.github.com."),
        InputSpec::with_default(
            "require-signature",
            "Bump only: before anything is written, verify each digest's keyless signature in its registry (as `bitvault verify` does) and refuse one that is unsigned or signed by another identity.",
            "false",
        ),
        InputSpec::optional(
            "image-repository",
            "Signature gate: the registry repository of each image (e.g. `ghcr.io/bitvault/bitvaultd`), one per line paired with `image`.",
        )
        .list(),
        InputSpec::with_default(
            "require",
            "Signature gate: what must verify for each digest, as in `verify`: `signature`, `provenance`, or `signature,provenance`.",
            "signature",
        )
        .list_or_commas(),
        InputSpec::optional(
            "certificate-identity",
            "Signature gate: the exact signer identity, e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/heads/main.",
        ),
        InputSpec::optional(
            "certificate-identity-regexp",
            "Signature gate: a regular expression the signer identity must match (unanchored, as in cosign).",
        ),
        InputSpec::optional(
            "certificate-oidc-issuer",
            "Signature gate: the identity's OIDC issuer, e.g. https://token.actions.githubusercontent.com.",
        ),
        InputSpec::optional(
            "source-repository",
            "Signature gate: the repository the signer's workflow ran in (OWNER/REPO or its URL).",
        ),
        InputSpec::optional("source-ref", "Signature gate: the ref it ran on, e.g. refs/heads/main."),
        InputSpec::optional(
            "workflow",
            "Signature gate: the workflow that signed, e.g. .github/workflows/release.yml.",
        ),
        InputSpec::optional(
            "trusted-root",
            "Signature gate: a trusted_root.json or ClientTrustConfig file for a private Sigstore instance; the public-good root when not set.",
        ),
        InputSpec::optional(
            "insecure-registries",
            "Signature gate: registries (host:port) reached over plain HTTP besides loopback ones.",
        )
        .list_or_commas(),
    ],
    outputs: &[
        OutputSpec::new(
            "operation",
            "What happened. With `repository`: `created` (new pull request), `updated` (new commit on the open pull request's branch) or `none`. With `path`: `bumped`, `promoted`, `rolled-back` or `none`.",
        ),
        OutputSpec::new("pull-request-number", "The pull request's number (empty with `path`)."),
        OutputSpec::new("pull-request-url", "The pull request's URL (empty with `path`)."),
        OutputSpec::new("branch", "The pull request branch (empty with `path`)."),
        OutputSpec::new("commit-sha", "The commit made, empty when none was made."),
        OutputSpec::new("diff", "The unified diff of the change, empty when nothing changed."),
    ],
    dynamic_outputs: &[],
    permissions: &["id-token: write (only with `sts-endpoint`)"],
};

/// What to change, from the inputs.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Set each digest at its target.
    Bump(Vec<(String, Target, Digest)>),
    /// Copy the digest of `from_env`.
    Promote { image: String, from_env: String },
    /// Set a digest from the file's history.
    Rollback { image: String, to: Option<Digest> },
}

impl Mode {
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Bump(_) => "bump",
            Mode::Promote { .. } => "promote",
            Mode::Rollback { .. } => "rollback",
        }
    }
}

/// Where the change goes.
#[derive(Debug, Clone)]
pub enum Destination {
    Path(PathBuf),
    Repository { owner: String, name: String },
}

/// The parsed, validated inputs.
#[derive(Debug, Clone)]
pub struct Request {
    pub mode: Mode,
    pub env: String,
    /// The layout of promote and rollback (one image), and the file of every mode.
    pub layout: Layout,
    pub destination: Destination,
}

impl Request {
    /// The file of `env`.
    pub fn file(&self) -> Result<PathBuf> {
        Ok(self.layout.file_for(&self.env)?)
    }

    /// The image names, in input order.
    pub fn images(&self) -> Vec<String> {
        match &self.mode {
            Mode::Bump(items) => items.iter().map(|(i, _, _)| i.clone()).collect(),
            Mode::Promote { image, .. } | Mode::Rollback { image, .. } => vec![image.clone()],
        }
    }
}

/// Reads files and history from a checkout or from GitHub.
pub trait Source {
    fn read(&mut self, path: &Path) -> Result<String>;
    /// Versions of `path`, newest first.
    fn history(&mut self, path: &Path) -> Result<Vec<Version>>;
}

/// Parses and validates the inputs. No file is read, nothing is sent.
pub fn parse(inputs: &bitvault_runner::Inputs) -> Result<Request> {
    let mode = inputs
        .one_of("mode", &["bump", "promote", "rollback"])?
        .unwrap_or("bump");
    // Digests first: a typo must never reach a file, a request or a pull request.
    let digests = inputs
        .list("digest", false)
        .iter()
        .map(|d| Digest::parse(d))
        .collect::<Result<Vec<_>, _>>()
        .context("input `digest`")?;
    let to_digest = inputs
        .get("to-digest")
        .map(Digest::parse)
        .transpose()
        .context("input `to-digest`")?;
    let env = inputs.required("environment")?.to_string();
    let kustomize = inputs.list("kustomize-image", false);
    let key_paths = inputs.list("key-path", false);
    let mut images = inputs.list("image", false);
    if images.is_empty() {
        images = kustomize.clone();
    }
    let targets: Vec<Target> = if !kustomize.is_empty() {
        kustomize.iter().map(Target::kustomize).collect()
    } else {
        key_paths
            .iter()
            .map(|k| Target::helm(k))
            .collect::<Result<_, _>>()
            .context("input `key-path`")?
    };
    let file = inputs.required("file")?;
    let first_target = targets.first().cloned().context(
        "input `key-path` is empty; give the dotted path of the digest, like `image.digest`",
    )?;
    let layout = Layout::new(file, first_target).context("input `file`")?;
    let one_image = |what: &str| -> Result<String> {
        if images.len() > 1 || targets.len() > 1 {
            bail!("{what} takes one image; run the action once per image");
        }
        Ok(images
            .first()
            .cloned()
            .unwrap_or_else(|| default_image_name(&targets[0])))
    };
    let mode = match mode {
        "bump" => {
            if digests.is_empty() {
                bail!(
                    "input `digest` is required with `mode: bump`: pass the digest to set, `sha256:<64 hex>`"
                );
            }
            if images.is_empty() && digests.len() == 1 {
                images.push(default_image_name(&targets[0]));
            }
            if images.len() != digests.len() {
                bail!(
                    "{} images but {} digests: give one `digest` line per `image` line, in the same order",
                    images.len(),
                    digests.len()
                );
            }
            let targets = if targets.len() == 1 && images.len() > 1 {
                bail!(
                    "{} images share one target `{}`: give one `key-path` (or `kustomize-image`) line per image, in the same order",
                    images.len(),
                    targets[0]
                );
            } else if targets.len() != images.len() {
                bail!(
                    "{} images but {} targets: give one `key-path` (or `kustomize-image`) line per image, in the same order",
                    images.len(),
                    targets.len()
                );
            } else {
                targets
            };
            Mode::Bump(
                images
                    .into_iter()
                    .zip(targets)
                    .zip(digests)
                    .map(|((i, t), d)| (i, t, d))
                    .collect(),
            )
        }
        "promote" => {
            let from_env = inputs
                .get("from-environment")
                .context("input `from-environment` is required with `mode: promote`: name the environment whose digest to copy")?
                .to_string();
            Mode::Promote {
                image: one_image("promote")?,
                from_env,
            }
        }
        _ => Mode::Rollback {
            image: one_image("rollback")?,
            to: to_digest,
        },
    };
    let destination = match (inputs.get("path"), inputs.get("repository")) {
        (Some(_), Some(_)) => bail!(
            "inputs `path` and `repository` are exclusive: `path` edits a local checkout, `repository` opens a pull request through the GitHub API"
        ),
        (None, None) => bail!(
            "give `repository: owner/name` to open a pull request, or `path` to edit a local checkout"
        ),
        (Some(p), None) => Destination::Path(PathBuf::from(p)),
        (None, Some(r)) => {
            let (owner, name) = r
                .split_once('/')
                .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
                .with_context(|| format!("input `repository` must be `owner/name`, got {r:?}"))?;
            Destination::Repository {
                owner: owner.to_string(),
                name: name.to_string(),
            }
        }
    };
    let request = Request {
        mode,
        env,
        layout,
        destination,
    };
    request.file()?;
    Ok(request)
}

fn default_image_name(target: &Target) -> String {
    match target {
        Target::Kustomize { image } => image.clone(),
        Target::Helm(path) => path.to_string(),
    }
}

/// Plans the change from what `source` holds. Pure apart from the reads.
pub fn plan(req: &Request, source: &mut dyn Source) -> Result<Outcome> {
    let file = req.file()?;
    match &req.mode {
        Mode::Bump(items) => {
            let current = source.read(&file)?;
            let edits: Vec<Edit> = items
                .iter()
                .map(|(_, target, digest)| Edit {
                    path: file.clone(),
                    target: target.clone(),
                    digest: digest.clone(),
                })
                .collect();
            let sources = [(file.clone(), current)].into_iter().collect();
            let files = apply_edits(&sources, &edits)?;
            let changed = files.iter().any(|f| f.changed());
            Ok(Outcome {
                operation: if changed {
                    Operation::Bump
                } else {
                    Operation::None
                },
                env: req.env.clone(),
                digest: items[0].2.clone(),
                source: None,
                files,
                changed,
            })
        }
        Mode::Promote { from_env, .. } => {
            let from = source.read(&req.layout.file_for(from_env)?)?;
            let to = source.read(&file)?;
            Ok(plan_promote(&req.layout, from_env, &from, &req.env, &to)?)
        }
        Mode::Rollback { to, .. } => {
            let current = source.read(&file)?;
            let history = source.history(&file)?;
            Ok(plan_rollback(
                &req.layout,
                &req.env,
                &current,
                &history,
                to.as_ref(),
            )?)
        }
    }
}

/// The images of an outcome, old and new, in input order.
pub fn image_changes(req: &Request, outcome: &Outcome) -> Vec<ImageChange> {
    let values: Vec<_> = outcome.files.iter().flat_map(|f| &f.values).collect();
    req.images()
        .into_iter()
        .zip(values)
        .map(|(image, v)| ImageChange {
            image,
            old: v.old.clone(),
            new: v.new.clone(),
        })
        .collect()
}

/// The pull request context of a planned change.
pub fn context(
    req: &Request,
    outcome: &Outcome,
    env: &bitvault_runner::Env,
    verification: &str,
) -> pr::Context {
    let run_url = match (
        env.non_empty("GITHUB_REPOSITORY"),
        env.non_empty("GITHUB_RUN_ID"),
    ) {
        (Some(repo), Some(run)) => Some(format!("{}/{repo}/actions/runs/{run}", env.server_url())),
        _ => None,
    };
    pr::Context {
        mode: req.mode.name(),
        env: req.env.clone(),
        from_env: match &req.mode {
            Mode::Promote { from_env, .. } => Some(from_env.clone()),
            _ => None,
        },
        images: image_changes(req, outcome),
        source: outcome.source.clone(),
        sha: env.non_empty("GITHUB_SHA").map(str::to_string),
        run_url,
        verification: verification.to_string(),
    }
}

/// The signature gate: verify each image (`repository@sha256:...`) in its
/// registry with [`bitvault_sigstore::verify::image`], against the policy
/// and requirements of the gate inputs (named as `verify`'s). Returns a line
/// for the PR body.
pub fn verify_signatures(inputs: &bitvault_runner::Inputs, images: &[String]) -> Result<String> {
    use bitvault_sigstore::verify::{self, PolicyOptions, Requirements, TrustedRoot};
    use bitvault_sigstore::{RegistryAccess, Subject};
    let text = |n: &str| -> Result<Option<String>> { Ok(inputs.text(n)?.map(str::to_string)) };
    let policy = PolicyOptions {
        certificate_identity: text("certificate-identity")?,
        certificate_identity_regexp: text("certificate-identity-regexp")?,
        certificate_oidc_issuer: text("certificate-oidc-issuer")?,
        source_repository: text("source-repository")?,
        source_ref: text("source-ref")?,
        workflow: text("workflow")?,
    }
    .policy()?;
    let require = Requirements::parse(inputs.items("require")?)?;
    let root = match text("trusted-root")? {
        Some(path) => TrustedRoot::from_file(Path::new(&path))?,
        None => TrustedRoot::production(),
    };
    let subjects = images
        .iter()
        .map(|i| Subject::parse(i, "image-repository"))
        .collect::<Result<Vec<_>>>()?;
    let registry = RegistryAccess {
        insecure_registries: inputs.items("insecure-registries")?,
        ..RegistryAccess::default()
    };
    let client = registry.client(&subjects)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let verified = require
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(" and ");
    let mut lines = Vec::new();
    for s in &subjects {
        let v = rt
            .block_on(verify::image(&client, &root, s, &policy, &require))
            .with_context(|| format!("the signature gate refused {s}"))?;
        for r in &v.refused {
            command::warning(&format!("{s}: ignored {r}"));
        }
        lines.push(format!(
            "`{s}`: {verified} verified, signed by `{}`",
            v.identity().unwrap_or_default()
        ));
    }
    Ok(lines.join("; "))
}

/// The action's entry point.
pub fn run(step: &mut Step) -> Result<()> {
    let req = parse(&step.inputs)?;
    let verification = if step.inputs.bool("require-signature")? {
        let Mode::Bump(items) = &req.mode else {
            bail!(
                "`require-signature` applies to `mode: bump`, where the digest is given; a promotion or rollback moves a digest that was gated when it was bumped"
            );
        };
        let repos = step.inputs.items("image-repository")?;
        if repos.len() != items.len() {
            bail!(
                "`require-signature: true` needs `image-repository`: the registry repository of each image ({} given for {} images), so the digest can be verified where it is stored",
                repos.len(),
                items.len()
            );
        }
        if step.inputs.text("certificate-identity")?.is_none()
            && step.inputs.text("certificate-identity-regexp")?.is_none()
        {
            bail!(
                "`require-signature: true` needs `certificate-identity` or `certificate-identity-regexp`, and `certificate-oidc-issuer`: whose signature to accept"
            );
        }
        let refs: Vec<String> = repos
            .iter()
            .zip(items)
            .map(|(repo, (_, _, digest))| format!("{repo}@{digest}"))
            .collect();
        verify_signatures(&step.inputs, &refs)?
    } else {
        "not checked (`require-signature: false`)".to_string()
    };
    for name in [
        "pull-request-number",
        "pull-request-url",
        "branch",
        "commit-sha",
        "diff",
    ] {
        step.set_output(name, "");
    }
    match req.destination.clone() {
        Destination::Path(root) => run_path(step, &req, &root),
        Destination::Repository { owner, name } => {
            crate::github::run(step, &req, &owner, &name, &verification)
        }
    }
}

struct Checkout<'a>(&'a Path);

impl Source for Checkout<'_> {
    fn read(&mut self, rel: &Path) -> Result<String> {
        let path = self.0.join(rel);
        std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (check `path` and the `file` template)",
                path.display()
            )
        })
    }

    fn history(&mut self, rel: &Path) -> Result<Vec<Version>> {
        Ok(crate::git::file_history(self.0, rel)?)
    }
}

fn path_operation(op: Operation) -> &'static str {
    match op {
        Operation::Bump => "bumped",
        Operation::Promote => "promoted",
        Operation::Rollback => "rolled-back",
        Operation::None => "none",
    }
}

fn run_path(step: &mut Step, req: &Request, root: &Path) -> Result<()> {
    let outcome = plan(req, &mut Checkout(root))?;
    for file in outcome.files.iter().filter(|f| f.changed()) {
        let path = root.join(&file.path);
        std::fs::write(&path, &file.after)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    report_notes(&outcome);
    let diff = outcome.diff();
    let op = path_operation(outcome.operation);
    let changes = image_changes(req, &outcome);
    if diff.is_empty() {
        info(&format!(
            "{} already has {}: nothing to change",
            req.env,
            describe(&changes)
        ));
    } else {
        eprint!("{diff}");
    }
    step.summary(&format!("### gitops-bump: {op} `{}`\n", req.env));
    step.summary(&summary_table(&changes));
    if !diff.is_empty() {
        step.summary(&format!("```diff\n{diff}```\n"));
    }
    step.set_output("operation", op);
    step.set_output("diff", diff);
    Ok(())
}

pub(crate) fn report_notes(outcome: &Outcome) {
    for file in &outcome.files {
        for note in &file.notes {
            command::warning(&format!("{}: {note}", file.path.display()));
        }
    }
}

pub(crate) fn describe(changes: &[ImageChange]) -> String {
    changes
        .iter()
        .map(|c| format!("{}@{}", c.image, c.new))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn summary_table(changes: &[ImageChange]) -> String {
    let mut s = String::from("\n| image | old | new |\n|---|---|---|\n");
    for c in changes {
        s.push_str(&format!(
            "| `{}` | {} | `{}` |\n",
            c.image,
            c.old
                .as_deref()
                .map(|o| format!("`{o}`"))
                .unwrap_or_else(|| "none".into()),
            c.new
        ));
    }
    s.push('\n');
    s
}
