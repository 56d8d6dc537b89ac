//! The inputs, parsed once into a typed [`Request`]. Pure: no file is read, nothing is
//! sent. Digests are checked first, so a typo never reaches a file or a pull request.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use bitvault_registry::Digest;
use bitvault_runner::Inputs;
use bitvault_yamlpatch::Target;

use crate::layout::Layout;

/// What to change, from the inputs.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Set each digest at its target: `(image, target, digest)` in input order.
    Bump(Vec<(String, Target, Digest)>),
    /// Copy the digest of `from_env` at each target: `(image, target)` in input order.
    Promote {
        images: Vec<(String, Target)>,
        from_env: String,
    },
    /// Set digests from the file's history: one image to `to` (or its previous digest),
    /// several together to the file's previous release.
    Rollback {
        images: Vec<(String, Target)>,
        to: Option<Digest>,
    },
}

impl Mode {
    /// `bump`, `promote` or `rollback`, as the `mode` input spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Bump(_) => "bump",
            Mode::Promote { .. } => "promote",
            Mode::Rollback { .. } => "rollback",
        }
    }
}

/// Where the change goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A local checkout, edited in place.
    Path(PathBuf),
    /// A GitHub repository, changed by a pull request.
    Repository { owner: String, name: String },
}

/// How the pull request looks (GitHub flow only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequest {
    /// The branch to change; `None`: the repository's default branch.
    pub base_branch: Option<String>,
    /// The pull request branch; `None`: `bitvault/gitops-bump/<env>/<images>`.
    pub branch: Option<String>,
    /// The title template; `None`: the mode's default.
    pub title: Option<String>,
    /// The body template, placed above the generated details.
    pub body: Option<String>,
    pub labels: Vec<String>,
    pub draft: bool,
    pub reviewers: Vec<String>,
}

/// The parsed, validated inputs.
#[derive(Debug, Clone)]
pub struct Request {
    pub mode: Mode,
    pub env: String,
    /// The layout of promote and rollback (one image), and the file of every mode.
    pub layout: Layout,
    pub destination: Destination,
    pub pull_request: PullRequest,
}

fn default_image_name(target: &Target) -> String {
    match target {
        Target::Kustomize { image } => image.clone(),
        Target::Helm(path) => path.to_string(),
    }
}

impl Request {
    /// The file of `env`.
    pub fn file(&self) -> crate::Result<PathBuf> {
        self.layout.file_for(&self.env)
    }

    /// The image names, in input order.
    pub fn images(&self) -> Vec<String> {
        match &self.mode {
            Mode::Bump(items) => items.iter().map(|(i, _, _)| i.clone()).collect(),
            Mode::Promote { images, .. } | Mode::Rollback { images, .. } => {
                images.iter().map(|(i, _)| i.clone()).collect()
            }
        }
    }

    /// Parses and validates the inputs of the action's SPEC ([`crate::SPEC`]): the one
    /// place they are read. The signature gate's and authentication's inputs are read
    /// by their own code.
    pub fn from_inputs(inputs: &Inputs) -> Result<Request> {
        let mode = inputs.choice("mode")?.unwrap_or("bump");
        // Digests first: a typo must never reach a file, a request or a pull request.
        let digests = inputs
            .items("digest")?
            .iter()
            .map(|d| Digest::parse(d).map_err(crate::Error::from))
            .collect::<Result<Vec<_>, _>>()
            .context("input `digest`")?;
        let to_digest = inputs
            .text("to-digest")?
            .map(|d| Digest::parse(d).map_err(crate::Error::from))
            .transpose()
            .context("input `to-digest`")?;
        let env = inputs.required("environment")?.to_string();
        let kustomize = inputs.items("kustomize-image")?;
        let key_paths = inputs.items("key-path")?;
        let mut images = inputs.items("image")?;
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
                .map_err(crate::Error::from)
                .context("input `key-path`")?
        };
        let file = inputs
            .text("file")?
            .context("input `file` is empty; give the file holding the digest, like `envs/{env}/values.yaml`")?;
        let first_target = targets.first().cloned().context(
            "input `key-path` is empty; give the dotted path of the digest, like `image.digest`",
        )?;
        let layout = Layout::new(file, first_target).context("input `file`")?;
        // promote and rollback: the images with their targets, paired by position.
        let paired = |what: &str| -> Result<Vec<(String, Target)>> {
            if images.len() <= 1 && targets.len() == 1 {
                let image = images
                    .first()
                    .cloned()
                    .unwrap_or_else(|| default_image_name(&targets[0]));
                return Ok(vec![(image, targets[0].clone())]);
            }
            if images.len() != targets.len() {
                bail!(
                    "{what}: {} images but {} targets: give one `key-path` (or `kustomize-image`) line per image, in the same order",
                    images.len(),
                    targets.len()
                );
            }
            Ok(images
                .iter()
                .cloned()
                .zip(targets.iter().cloned())
                .collect())
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
                if targets.len() == 1 && images.len() > 1 {
                    bail!(
                        "{} images share one target `{}`: give one `key-path` (or `kustomize-image`) line per image, in the same order",
                        images.len(),
                        targets[0]
                    );
                }
                if targets.len() != images.len() {
                    bail!(
                        "{} images but {} targets: give one `key-path` (or `kustomize-image`) line per image, in the same order",
                        images.len(),
                        targets.len()
                    );
                }
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
                    .text("from-environment")?
                    .context("input `from-environment` is required with `mode: promote`: name the environment whose digest to copy")?
                    .to_string();
                Mode::Promote {
                    images: paired("promote")?,
                    from_env,
                }
            }
            _ => {
                let images = paired("rollback")?;
                if images.len() > 1 && to_digest.is_some() {
                    bail!(
                        "`to-digest` rolls back one image; for {} images leave it empty to go back to the file's previous release, or run once per image",
                        images.len()
                    );
                }
                Mode::Rollback {
                    images,
                    to: to_digest,
                }
            }
        };
        let destination = match (inputs.text("path")?, inputs.text("repository")?) {
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
                    .with_context(|| {
                        format!("input `repository` must be `owner/name`, got {r:?}")
                    })?;
                Destination::Repository {
                    owner: owner.to_string(),
                    name: name.to_string(),
                }
            }
        };
        let text =
            |name: &str| -> Result<Option<String>> { Ok(inputs.text(name)?.map(str::to_string)) };
        let pull_request = PullRequest {
            base_branch: text("base-branch")?,
            branch: text("branch")?,
            title: text("title")?,
            body: text("body")?,
            labels: inputs.items("labels")?,
            draft: inputs.boolean("draft")?,
            reviewers: inputs.items("reviewers")?,
        };
        let request = Request {
            mode,
            env,
            layout,
            destination,
            pull_request,
        };
        request.file()?;
        Ok(request)
    }
}
