//! The `gitops-bump` action: its one declaration ([`SPEC`]) and [`run`].
//!
//! `run` parses the inputs into a [`Request`] (digests are validated before anything
//! else happens), checks the signature gate, then runs one of two flows, both on the
//! one planner ([`crate::plan::plan`]):
//! - `path`: edit a local checkout in place ([`Checkout`]), print the diff; no commit,
//!   no network.
//! - `repository`: read the files at the base branch through the GitHub API, plan,
//!   commit with the Git Database API and open or update a pull request
//!   ([`crate::github`]).

use std::path::Path;

use anyhow::Result;
use bitvault_runner::command::info;
use bitvault_runner::{ActionSpec, InputSpec, OutputSpec, Step};

use crate::checkout::Checkout;
use crate::gate::Gate;
use crate::report::{describe, image_changes, path_operation, report_notes, summary_table};
use crate::request::{Destination, Mode, Request};

/// The one declaration of the action's inputs and outputs.
pub static SPEC: ActionSpec = ActionSpec {
    name: "gitops-bump",
    description: "Set an image digest in a GitOps repository (Helm values or kustomization) and open or update a pull request, or edit a local checkout.",
    inputs: &[
        InputSpec::with_default(
            "mode",
            "`bump` (set `digest`), `promote` (copy the digest of `from-environment` to `environment`) or `rollback` (set the previous digest from the file's history).",
            "bump",
        )
        .one_of(&["bump", "promote", "rollback"]),
        InputSpec::required("environment", "The environment to change; fills `{env}` in `file`."),
        InputSpec::optional("from-environment", "promote: the environment whose digest is copied."),
        InputSpec::optional(
            "image",
            "The image name, used in the branch name, title and body. Several images, one per line, paired by position with `key-path` or `kustomize-image` (and, for a bump, `digest`): they move together in one pull request; a rollback of several takes them all back to the file's previous release. Defaults to `kustomize-image`.",
        )
        .list(),
        InputSpec::optional(
            "digest",
            "bump: the digest to set, `sha256:` + 64 lower-case hex (one per line for several images). Checked before anything else happens.",
        )
        .list(),
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
        )
        .list(),
        InputSpec::optional(
            "kustomize-image",
            "Set the `digest` of the kustomization `images:` entry with this `name` instead of a key path (one per line for several images).",
        )
        .list(),
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
        InputSpec::optional("labels", "Labels to add to the pull request (comma or newline separated).")
            .list_or_commas(),
        InputSpec::with_default("draft", "Open the pull request as a draft.", "false").boolean(),
        InputSpec::optional("reviewers", "Users to request reviews from (comma or newline separated).")
            .list_or_commas(),
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
            "Before anything is written, verify each digest about to be set (bump: the given ones; promote and rollback: the ones read from the other environment or the file's history) in its registry, as `bitvault verify` does, and refuse one that is unsigned, signed by another identity or missing what `require` asks for.",
            "false",
        ),
        InputSpec::optional(
            "image-repository",
            "Signature gate: the registry repository of each image (e.g. `ghcr.io/bitvault/bitvaultd`), one per line paired with `image`.",
        )
        .list(),
        InputSpec::with_default(
            "require",
            "Signature gate: what must verify for each digest, as in `verify`: one or more of `signature`, `provenance`, `sbom` and `vuln-scan`.",
            "signature",
        )
        .list_or_commas(),
        InputSpec::optional(
            "max-age",
            "Signature gate, with `require: vuln-scan`: the passing scan must have finished within this long (`24h`, `7d`), so a digest whose last scan is stale is not promoted.",
        ),
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

/// The action's entry point.
pub fn run(step: &mut Step) -> Result<()> {
    let req = Request::from_inputs(&step.inputs)?;
    let mut gate = Gate::from_inputs(&step.inputs, &req)?;
    if let Mode::Bump(items) = &req.mode {
        // The digests are given: refuse a bad one before anything is read or written.
        let digests: Vec<String> = items.iter().map(|(_, _, d)| d.to_string()).collect();
        gate.check(&digests)?;
    }
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
        Destination::Path(root) => run_path(step, &req, &root, &mut gate),
        Destination::Repository { owner, name } => {
            crate::github::run(step, &req, &owner, &name, &mut gate)
        }
    }
}

fn run_path(step: &mut Step, req: &Request, root: &Path, gate: &mut Gate) -> Result<()> {
    let mut checkout = Checkout::new(root);
    let outcome = crate::plan::plan(req, &mut checkout)?;
    if outcome.changed {
        gate.check(&crate::report::new_digests(req, &outcome))?;
    }
    checkout.write(&outcome)?;
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
        // The diff is the GitOps repository's text: never let a line of it act as a
        // workflow command.
        info(diff.trim_end_matches('\n'));
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
