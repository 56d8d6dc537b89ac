//! The GitHub flow: read at the base branch, plan, commit with the Git Database API
//! (blob, tree, commit, ref; no clone), open or update one pull request per environment
//! and image set.
//!
//! Ref updates are fast-forward only. When one is refused (another run moved the branch,
//! or created it first) everything is read again and retried, a bounded number of times
//! with backoff, so concurrent runs all land.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use bitvault_runner::Step;
use bitvault_runner::command::{self, info};
use octocrab::Octocrab;
use serde_json::{Value, json};

use crate::plan::{FileChange, Source, Version, plan};
use crate::request::{PullRequest, Request};
use crate::{pr, report};

/// How many times a refused ref update is retried.
pub const MAX_ATTEMPTS: u32 = 6;

/// How many commits of a file's history a rollback looks at.
pub const HISTORY_DEPTH: u32 = 30;

/// A blocking GitHub client for one repository.
pub struct Gh {
    rt: tokio::runtime::Runtime,
    client: Octocrab,
    pub owner: String,
    pub name: String,
}

/// The HTTP status of a GitHub error answer.
pub fn status(e: &octocrab::Error) -> Option<u16> {
    match e {
        octocrab::Error::GitHub { source, .. } => Some(source.status_code.as_u16()),
        _ => None,
    }
}

fn describe(e: &octocrab::Error) -> String {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            format!("HTTP {}: {}", source.status_code.as_u16(), source.message)
        }
        other => other.to_string(),
    }
}

/// Percent-encodes a path for a route, keeping `/`.
fn encode_path(p: &str) -> String {
    let mut out = String::new();
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Gh {
    pub fn new(rt: tokio::runtime::Runtime, client: Octocrab, owner: &str, name: &str) -> Gh {
        Gh {
            rt,
            client,
            owner: owner.to_string(),
            name: name.to_string(),
        }
    }

    pub fn client(&self) -> &Octocrab {
        &self.client
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    fn repo_route(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.owner, self.name)
    }

    fn get(&self, rest: &str) -> Result<Value, octocrab::Error> {
        let route = self.repo_route(rest);
        self.rt
            .block_on(self.client.get::<Value, _, ()>(route, None))
    }

    fn post(&self, rest: &str, body: &Value) -> Result<Value, octocrab::Error> {
        let route = self.repo_route(rest);
        self.rt
            .block_on(self.client.post::<_, Value>(route, Some(body)))
    }

    fn patch(&self, rest: &str, body: &Value) -> Result<Value, octocrab::Error> {
        let route = self.repo_route(rest);
        self.rt
            .block_on(self.client.patch::<Value, _, _>(route, Some(body)))
    }

    fn what(&self, doing: &str, e: octocrab::Error) -> anyhow::Error {
        let hint = match status(&e) {
            Some(401) => "; the token is not valid (expired or revoked?)",
            Some(403) => {
                "; the token lacks permission: it needs `contents: write` and `pull-requests: write` on the repository"
            }
            Some(404) => {
                "; check `repository` and that the token can see it (a 404 also means no access)"
            }
            _ => "",
        };
        anyhow!(
            "cannot {doing} in {}/{}: {}{hint}",
            self.owner,
            self.name,
            describe(&e)
        )
    }

    /// The repository's default branch.
    pub fn default_branch(&self) -> Result<String> {
        let repo = self
            .get("")
            .map_err(|e| self.what("read the repository", e))?;
        repo["default_branch"]
            .as_str()
            .map(str::to_string)
            .context("the repository answer has no `default_branch`")
    }

    /// The commit a branch points to; `None` when there is no such branch.
    pub fn branch_sha(&self, branch: &str) -> Result<Option<String>> {
        match self.get(&format!("/git/ref/heads/{}", encode_path(branch))) {
            Ok(v) => Ok(Some(
                v["object"]["sha"]
                    .as_str()
                    .context("the ref answer has no `object.sha`")?
                    .to_string(),
            )),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.what(&format!("read branch `{branch}`"), e)),
        }
    }

    /// A file's text at a commit; `None` when it does not exist there.
    pub fn file_at(&self, path: &Path, at: &str) -> Result<Option<String>> {
        let p = path.to_string_lossy().replace('\\', "/");
        let v = match self.get(&format!("/contents/{}?ref={at}", encode_path(&p))) {
            Ok(v) => v,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(self.what(&format!("read {p} at {at}"), e)),
        };
        if v.is_array() || v["type"].as_str().is_some_and(|t| t != "file") {
            bail!(
                "{p} is not a file in {}/{}; check `file`",
                self.owner,
                self.name
            );
        }
        let bytes = if v["encoding"] == "base64" && v["content"].is_string() {
            let content: String = v["content"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(content)
                .with_context(|| format!("{p}: the contents answer is not valid base64"))?
        } else {
            // Over 1 MB the contents API leaves `content` empty: read the blob.
            let sha = v["sha"]
                .as_str()
                .context("the contents answer has no `sha`")?;
            let blob = self
                .get(&format!("/git/blobs/{sha}"))
                .map_err(|e| self.what(&format!("read the blob of {p}"), e))?;
            let content: String = blob["content"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(content)
                .with_context(|| format!("{p}: the blob answer is not valid base64"))?
        };
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| anyhow!("{p} is not UTF-8 text; it cannot be a values file"))
    }

    /// The file's versions reachable from `at`, newest first (commits API with `path`).
    pub fn file_history(&self, path: &Path, at: &str) -> Result<Vec<Version>> {
        let p = path.to_string_lossy().replace('\\', "/");
        let commits = self
            .get(&format!(
                "/commits?sha={at}&path={}&per_page={HISTORY_DEPTH}",
                encode_path(&p).replace('/', "%2F")
            ))
            .map_err(|e| self.what(&format!("list the commits of {p}"), e))?;
        let mut versions = Vec::new();
        for c in commits.as_array().into_iter().flatten() {
            let Some(sha) = c["sha"].as_str() else {
                continue;
            };
            if let Some(text) = self.file_at(path, sha)? {
                versions.push(Version {
                    commit: sha.to_string(),
                    text,
                });
            }
        }
        if versions.is_empty() {
            bail!("{p} has no history at {at} in {}/{}", self.owner, self.name);
        }
        Ok(versions)
    }
}

struct AtCommit<'a> {
    gh: &'a Gh,
    at: String,
}

impl Source for AtCommit<'_> {
    type Error = anyhow::Error;

    fn read(&mut self, path: &Path) -> Result<String> {
        self.gh.file_at(path, &self.at)?.with_context(|| {
            format!(
                "{} does not exist on the base branch of {}/{}; check `file` and `environment`",
                path.display(),
                self.gh.owner,
                self.gh.name
            )
        })
    }

    fn history(&mut self, path: &Path) -> Result<Vec<Version>> {
        self.gh.file_history(path, &self.at)
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
pub fn run(
    step: &mut Step,
    req: &Request,
    owner: &str,
    name: &str,
    verification: &str,
) -> Result<()> {
    let session = crate::auth::connect(step, owner, name)?;
    let result = land(&session.gh, step, req, verification);
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
pub fn land(gh: &Gh, step: &mut Step, req: &Request, verification: &str) -> Result<Landed> {
    let base = match &req.pull_request.base_branch {
        Some(b) => b.clone(),
        None => gh.default_branch()?,
    };
    let mut delay = Duration::from_millis(200);
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
        let ctx = report::context(req, &outcome, &step.env, verification);
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
                    if gh.file_at(&f.path, head)?.as_deref() != Some(f.after.as_str()) {
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
                Some(_) => gh.post_ref_update(&branch, &sha),
                None => gh.create_ref(&branch, &sha),
            }?;
            if !moved {
                command::warning(&format!(
                    "branch `{branch}` moved while this run was writing it (attempt {attempt} of {MAX_ATTEMPTS}); reading again"
                ));
                std::thread::sleep(delay + jitter());
                delay *= 2;
                continue;
            }
            Some(sha)
        };
        let open = gh.open_pull(&branch)?;
        let (operation, pull) = match (open, &commit) {
            (Some(pull), None) => ("none", pull),
            (Some(pull), Some(_)) => {
                gh.patch(
                    &format!("/pulls/{}", pull.0),
                    &json!({"title": title, "body": body}),
                )
                .map_err(|e| gh.what(&format!("update pull request #{}", pull.0), e))?;
                ("updated", pull)
            }
            (None, _) => {
                let pull = gh.create_pull(&branch, &base, &title, &body, req.pull_request.draft)?;
                ("created", pull)
            }
        };
        if operation != "none" {
            gh.decorate(&req.pull_request, pull.0, operation == "created")?;
        }
        info(&format!(
            "{operation} pull request #{} {} ({branch})",
            pull.0, pull.1
        ));
        step.summary(&format!(
            "### gitops-bump: {operation} [#{}]({}) `{}`\n",
            pull.0, pull.1, req.env
        ));
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

fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis(u64::from(nanos % 200))
}

/// Refuses a branch that holds commits this action did not make (for this key).
fn check_owned(gh: &Gh, branch: &str, base_sha: &str, head: &str, ctx: &pr::Context) -> Result<()> {
    let cmp = gh
        .get(&format!("/compare/{base_sha}...{head}"))
        .map_err(|e| gh.what(&format!("compare `{branch}` with the base branch"), e))?;
    let trailer = pr::trailer(ctx);
    for c in cmp["commits"].as_array().into_iter().flatten() {
        let message = c["commit"]["message"].as_str().unwrap_or_default();
        if !message.lines().any(|l| l.trim() == trailer) {
            let sha = c["sha"].as_str().unwrap_or("?");
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
fn commit_files(gh: &Gh, parent: &str, files: &[&FileChange], message: &str) -> Result<String> {
    let parent_commit = gh
        .get(&format!("/git/commits/{parent}"))
        .map_err(|e| gh.what(&format!("read commit {parent}"), e))?;
    let base_tree = parent_commit["tree"]["sha"]
        .as_str()
        .context("the commit answer has no `tree.sha`")?;
    let mut entries = Vec::new();
    for f in files {
        let blob = gh
            .post(
                "/git/blobs",
                &json!({"content": f.after, "encoding": "utf-8"}),
            )
            .map_err(|e| gh.what("create a blob", e))?;
        let sha = blob["sha"]
            .as_str()
            .context("the blob answer has no `sha`")?;
        entries.push(json!({
            "path": f.path.to_string_lossy().replace('\\', "/"),
            "mode": "100644",
            "type": "blob",
            "sha": sha,
        }));
    }
    let tree = gh
        .post(
            "/git/trees",
            &json!({"base_tree": base_tree, "tree": entries}),
        )
        .map_err(|e| gh.what("create a tree", e))?;
    let tree = tree["sha"]
        .as_str()
        .context("the tree answer has no `sha`")?;
    let commit = gh
        .post(
            "/git/commits",
            &json!({"message": message, "tree": tree, "parents": [parent]}),
        )
        .map_err(|e| gh.what("create a commit", e))?;
    Ok(commit["sha"]
        .as_str()
        .context("the commit answer has no `sha`")?
        .to_string())
}

impl Gh {
    /// Fast-forwards `branch` to `sha`. `false` when refused (moved underneath).
    fn post_ref_update(&self, branch: &str, sha: &str) -> Result<bool> {
        match self.patch(
            &format!("/git/refs/heads/{}", encode_path(branch)),
            &json!({"sha": sha, "force": false}),
        ) {
            Ok(_) => Ok(true),
            Err(e) if matches!(status(&e), Some(409 | 422) | Some(500..=599)) => {
                info(&format!("ref update refused: {}", describe(&e)));
                Ok(false)
            }
            Err(e) => Err(self.what(&format!("move branch `{branch}`"), e)),
        }
    }

    /// Creates `branch` at `sha`. `false` when it already exists (another run made it).
    fn create_ref(&self, branch: &str, sha: &str) -> Result<bool> {
        match self.post(
            "/git/refs",
            &json!({"ref": format!("refs/heads/{branch}"), "sha": sha}),
        ) {
            Ok(_) => Ok(true),
            Err(e) if matches!(status(&e), Some(409 | 422) | Some(500..=599)) => {
                info(&format!("branch creation refused: {}", describe(&e)));
                Ok(false)
            }
            Err(e) => Err(self.what(&format!("create branch `{branch}`"), e)),
        }
    }

    /// The open pull request from `branch`, if any.
    fn open_pull(&self, branch: &str) -> Result<Option<(u64, String)>> {
        let head = format!("{}:{branch}", self.owner);
        let list = self
            .get(&format!(
                "/pulls?state=open&head={}",
                encode_path(&head).replace('/', "%2F")
            ))
            .map_err(|e| self.what("list pull requests", e))?;
        Ok(list
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["head"]["ref"] == branch)
            .and_then(|p| Some((p["number"].as_u64()?, p["html_url"].as_str()?.to_string()))))
    }

    fn create_pull(
        &self,
        branch: &str,
        base: &str,
        title: &str,
        body: &str,
        draft: bool,
    ) -> Result<(u64, String)> {
        let p = self
            .post(
                "/pulls",
                &json!({"title": title, "head": branch, "base": base, "body": body, "draft": draft}),
            )
            .map_err(|e| self.what("open a pull request", e))?;
        Ok((
            p["number"]
                .as_u64()
                .context("the pull answer has no `number`")?,
            p["html_url"]
                .as_str()
                .context("the pull answer has no `html_url`")?
                .to_string(),
        ))
    }

    /// Labels (always) and reviewers (when the pull request is new).
    fn decorate(&self, options: &PullRequest, number: u64, created: bool) -> Result<()> {
        let labels = &options.labels;
        if !labels.is_empty() {
            self.post(
                &format!("/issues/{number}/labels"),
                &json!({"labels": labels}),
            )
            .map_err(|e| self.what(&format!("label pull request #{number}"), e))?;
        }
        let reviewers = &options.reviewers;
        if created && !reviewers.is_empty() {
            self.post(
                &format!("/pulls/{number}/requested_reviewers"),
                &json!({"reviewers": reviewers}),
            )
            .map_err(|e| self.what(&format!("request reviews on pull request #{number}"), e))?;
        }
        Ok(())
    }
}
