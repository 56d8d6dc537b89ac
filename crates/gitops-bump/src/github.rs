//! The GitHub flow: read at the base branch, plan, commit with the Git Database API
//! (blob, tree, commit, ref; no clone), open or update one pull request per environment
//! and image set. Every call goes through the shared client, `bitvault-github`.
//!
//! Ref updates are fast-forward only. When one is refused (another run moved the branch,
//! or created it first) everything is read again and retried, a bounded number of times
//! with the workspace's retry policy (backoff with jitter), so concurrent runs all land.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use bitvault_github::{RefMove, Repo, TreeFile};
use bitvault_http::RetryPolicy;
use bitvault_runner::Step;
use bitvault_runner::command::{self, info};

use crate::gate::Gate;
use crate::plan::{FileChange, Source, Version, plan};
use crate::request::{PullRequest, Request};
use crate::{pr, report};

/// How many times a refused ref update is retried.
pub const MAX_ATTEMPTS: u32 = 6;

/// How many commits of a file's history a rollback looks at.
pub const HISTORY_DEPTH: u32 = 30;

fn repo_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// The file's versions reachable from `at`, newest first.
fn file_history(gh: &Repo, path: &Path, at: &str) -> Result<Vec<Version>> {
    let p = repo_path(path);
    let mut versions = Vec::new();
    for sha in gh.commits_touching(&p, at, HISTORY_DEPTH)? {
        if let Some(text) = gh.file_at(&p, &sha)? {
            versions.push(Version { commit: sha, text });
        }
    }
    if versions.is_empty() {
        bail!("{p} has no history at {at} in {}/{}", gh.owner, gh.name);
    }
    Ok(versions)
}

struct AtCommit<'a> {
    gh: &'a Repo,
    at: String,
}

impl Source for AtCommit<'_> {
    type Error = anyhow::Error;

    fn read(&mut self, path: &Path) -> Result<String> {
        self.gh
            .file_at(&repo_path(path), &self.at)?
            .with_context(|| {
                format!(
                    "{} does not exist on the base branch of {}/{}; check `file` and `environment`",
                    path.display(),
                    self.gh.owner,
                    self.gh.name
                )
            })
    }

    fn history(&mut self, path: &Path) -> Result<Vec<Version>> {
        file_history(self.gh, path, &self.at)
    }
}

/// What the flow did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    /// `created`, `updated` or `none`.
    pub operation: &'static str,
    pub branch: String,
    pub commit: Option<String>,
    pub pull: Option<(u64, String)>,
    pub diff: String,
}

/// Runs the GitHub flow for `owner/name`, authenticating from the step's inputs.
pub fn run(step: &mut Step, req: &Request, owner: &str, name: &str, gate: &mut Gate) -> Result<()> {
    let session = crate::auth::connect(step, owner, name)?;
    let result = land(&session.repo, step, req, gate);
    session.finish();
    let landed = result?;
    step.set_output("operation", landed.operation);
    step.set_output("branch", landed.branch.clone());
    step.set_output("commit-sha", landed.commit.clone().unwrap_or_default());
    if let Some((number, url)) = &landed.pull {
        step.set_output("pull-request-number", number.to_string());
        step.set_output("pull-request-url", url.clone());
    }
    step.set_output("diff", landed.diff.clone());
    Ok(())
}

/// Reads, plans, commits and opens or updates the pull request; retries when the
/// branch moved underneath.
pub fn land(gh: &Repo, step: &mut Step, req: &Request, gate: &mut Gate) -> Result<Landed> {
    let base = match &req.pull_request.base_branch {
        Some(b) => b.clone(),
        None => gh.default_branch()?,
    };
    let retry = RetryPolicy {
        max_attempts: MAX_ATTEMPTS,
        base_delay: std::time::Duration::from_millis(200),
        ..RetryPolicy::default()
    };
    for attempt in 1..=MAX_ATTEMPTS {
        let base_sha = gh.branch_sha(&base)?.with_context(|| {
            format!(
                "branch `{base}` does not exist in {}/{}; check `base-branch`",
                gh.owner, gh.name
            )
        })?;
        let outcome = plan(
            req,
            &mut AtCommit {
                gh,
                at: base_sha.clone(),
            },
        )?;
        if attempt == 1 {
            report::report_notes(&outcome);
        }
        // Before any write: the digests about to be set must pass the gate (a promotion
        // or rollback learns them here; the same digests are verified once).
        let verification = if outcome.changed {
            gate.check(&report::new_digests(req, &outcome))?
        } else {
            String::new()
        };
        let ctx = report::context(req, &outcome, &step.env, &verification);
        let branch = req
            .pull_request
            .branch
            .clone()
            .unwrap_or_else(|| pr::branch_name(&ctx));
        let diff = outcome.diff();
        if !outcome.changed {
            info(&format!(
                "`{base}` already has {}: nothing to change",
                report::describe(&ctx.images)
            ));
            step.summary(&format!(
                "### gitops-bump: none `{}`\n`{base}` already has these digests.\n",
                req.env
            ));
            step.summary(&report::summary_table(&ctx.images));
            return Ok(Landed {
                operation: "none",
                branch: String::new(),
                commit: None,
                pull: None,
                diff,
            });
        }
        let title_template = req
            .pull_request
            .title
            .as_deref()
            .unwrap_or(pr::default_title(ctx.mode));
        let title = pr::render(title_template, &ctx);
        let body = pr::body(req.pull_request.body.as_deref(), &ctx);
        let head = gh.branch_sha(&branch)?;
        if let Some(head) = &head {
            check_owned(gh, &branch, &base_sha, head, &ctx)?;
        }
        let changed: Vec<&FileChange> = outcome.files.iter().filter(|f| f.changed()).collect();
        let up_to_date = match &head {
            Some(head) => {
                let mut same = true;
                for f in &changed {
                    if gh.file_at(&repo_path(&f.path), head)?.as_deref() != Some(f.after.as_str()) {
                        same = false;
                    }
                }
                same
            }
            None => false,
        };
        let commit = if up_to_date {
            None
        } else {
            let parent = head.clone().unwrap_or_else(|| base_sha.clone());
            let message = pr::commit_message(&ctx, &title);
            let sha = commit_files(gh, &parent, &changed, &message)?;
            let moved = match &head {
                Some(_) => gh.move_branch(&branch, &sha),
                None => gh.create_branch(&branch, &sha),
            }?;
            if let RefMove::Refused(why) = moved {
                info(&format!("ref update refused: {why}"));
                command::warning(&format!(
                    "branch `{branch}` moved while this run was writing it (attempt {attempt} of {MAX_ATTEMPTS}); reading again"
                ));
                std::thread::sleep(retry.backoff(attempt - 1));
                continue;
            }
            Some(sha)
        };
        let open = gh.open_pull(&branch)?.map(|p| (p.number, p.html_url));
        let (operation, pull) = match (open, &commit) {
            (Some(pull), None) => ("none", pull),
            (Some(pull), Some(_)) => {
                gh.update_pull(pull.0, &title, &body)?;
                ("updated", pull)
            }
            (None, _) => {
                let pull = gh.create_pull(&branch, &base, &title, &body, req.pull_request.draft)?;
                ("created", (pull.number, pull.html_url))
            }
        };
        let decorated = decorate(gh, &req.pull_request, pull.0, operation)?;
        info(&format!(
            "{operation} pull request #{} {} ({branch})",
            pull.0, pull.1
        ));
        step.summary(&format!(
            "### gitops-bump: {operation} [#{}]({}) `{}`\n",
            pull.0, pull.1, req.env
        ));
        if let Some(line) = decorated.as_ref().filter(|_| operation == "none") {
            step.summary(&format!("{line}\n\n"));
        }
        step.summary(&report::summary_table(&ctx.images));
        if !diff.is_empty() {
            step.summary(&format!("```diff\n{diff}```\n"));
        }
        return Ok(Landed {
            operation,
            branch,
            commit,
            pull: Some(pull),
            diff,
        });
    }
    bail!(
        "gave up after {MAX_ATTEMPTS} attempts: the branch kept moving while this run wrote it; run the job again"
    )
}

/// Refuses a branch that holds commits this action did not make (for this key).
fn check_owned(
    gh: &Repo,
    branch: &str,
    base_sha: &str,
    head: &str,
    ctx: &pr::Context,
) -> Result<()> {
    let trailer = pr::trailer(ctx);
    for (sha, message) in gh
        .commits_between(base_sha, head)
        .with_context(|| format!("cannot compare `{branch}` with the base branch"))?
    {
        if !message.lines().any(|l| l.trim() == trailer) {
            bail!(
                "branch `{branch}` in {}/{} has commit {sha} that gitops-bump did not make (no `{trailer}` trailer); refusing to overwrite it. Delete or rename that branch, or pass another `branch`",
                gh.owner,
                gh.name
            );
        }
    }
    Ok(())
}

/// Writes the changed files as blobs, a tree on top of `parent`'s tree and a commit.
fn commit_files(gh: &Repo, parent: &str, files: &[&FileChange], message: &str) -> Result<String> {
    let files: Vec<TreeFile> = files
        .iter()
        .map(|f| TreeFile {
            path: repo_path(&f.path),
            content: f.after.clone(),
        })
        .collect();
    gh.commit_files(parent, &files, message)
}

/// Applies the labels and reviewers the pull request does not have yet, and says what
/// it did (`None` when there was nothing to apply). A new pull request gets them all. On
/// an existing one the labels are added again (adding is idempotent), and on a re-run that
/// makes no commit (`operation` `none`) the pull request is read first, so labels or
/// reviewers that an earlier run failed to apply are applied now (L5); reviewers are only
/// requested again on such a re-run when they are not requested already.
fn decorate(
    gh: &Repo,
    options: &PullRequest,
    number: u64,
    operation: &str,
) -> Result<Option<String>> {
    if options.labels.is_empty() && options.reviewers.is_empty() {
        return Ok(None);
    }
    let (labels, reviewers) = match operation {
        "created" => (options.labels.clone(), options.reviewers.clone()),
        "updated" => (options.labels.clone(), Vec::new()),
        _ => {
            let pulls = gh.client().octocrab().pulls(&gh.owner, &gh.name);
            let current = bitvault_http::block_on(pulls.get(number)).map_err(|e| {
                anyhow::anyhow!(
                    "cannot read pull request #{number} in {}/{} to check its labels and reviewers: {}",
                    gh.owner,
                    gh.name,
                    bitvault_github::describe(&e)
                )
            })?;
            let has: Vec<String> = current
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|l| l.name)
                .collect();
            let asked: Vec<String> = current
                .requested_reviewers
                .unwrap_or_default()
                .into_iter()
                .map(|a| a.login.to_ascii_lowercase())
                .collect();
            (
                options
                    .labels
                    .iter()
                    .filter(|l| !has.contains(l))
                    .cloned()
                    .collect(),
                options
                    .reviewers
                    .iter()
                    .filter(|r| !asked.contains(&r.to_ascii_lowercase()))
                    .cloned()
                    .collect(),
            )
        }
    };
    let mut did = Vec::new();
    if !labels.is_empty() {
        gh.add_labels(number, &labels)?;
        did.push(format!("labelled `{}`", labels.join("`, `")));
    }
    if !reviewers.is_empty() {
        gh.request_reviewers(number, &reviewers)?;
        did.push(format!(
            "requested reviews from `{}`",
            reviewers.join("`, `")
        ));
    }
    let line = match (did.is_empty(), operation) {
        (true, "none") => "labels and reviewers already applied: nothing to add".to_string(),
        (true, _) => return Ok(None),
        (false, _) => format!("pull request #{number}: {}", did.join("; ")),
    };
    info(&line);
    Ok(Some(line))
}
