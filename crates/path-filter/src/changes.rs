//! Carrying out a [`Plan`]: git first, the REST API for pull requests when
//! git cannot be used.

use anyhow::{Context as _, Result, bail};
use bitvault_runner::command;

use crate::filter::ChangedFile;
use crate::git::Git;
use crate::plan::Plan;

/// Where a pull request's files come from (`changes-from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangesFrom {
    Auto,
    Git,
    Api,
}

impl ChangesFrom {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => Self::Auto,
            "git" => Self::Git,
            "api" => Self::Api,
            _ => return None,
        })
    }
}

/// What the API needs.
#[derive(Debug, Clone)]
pub struct ApiAccess<'a> {
    pub url: &'a str,
    pub repo: Option<&'a str>,
    pub token: Option<&'a str>,
}

/// The changed files and a one-line description of what was compared.
#[derive(Debug, Clone)]
pub struct Changes {
    pub files: Vec<ChangedFile>,
    pub compared: String,
}

fn short(sha: &str) -> &str {
    if sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        &sha[..12]
    } else {
        sha
    }
}

/// A name git resolves by itself rather than as a branch or tag: `HEAD`
/// and the other `*_HEAD` pseudo-refs, `@`, and revision expressions
/// (`HEAD~1`, `main^2`, `v1^{}`, `@{upstream}`).
fn is_revision_expression(name: &str) -> bool {
    let pseudo = name == "HEAD"
        || name == "@"
        || (name.ends_with("_HEAD") && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
    pseudo || name.contains(['~', '^', '@', ':', '{', '}'])
}

/// Resolves `name` to a commit: a revision expression (`HEAD`, `HEAD~2`)
/// as git reads it (`git rev-parse --verify --end-of-options <name>^{commit}`);
/// a branch, tag or SHA as [`Git::resolve`] does (fetching it when missing);
/// failing that, anything else git can resolve here (an abbreviated SHA,
/// `origin/main`).
pub fn resolve(git: &Git, name: &str, depth: u64) -> Result<String> {
    if is_revision_expression(name) {
        return git.commit(name).with_context(|| {
            format!(
                "`{name}` does not name a commit in {} (`git rev-parse --verify {name}^{{commit}}` fails)",
                git.dir().display()
            )
        });
    }
    match git.resolve(name, depth) {
        Ok(c) => Ok(c),
        Err(e) => git.commit(name).ok_or(e),
    }
}

pub fn detect(
    plan: &Plan,
    git: &Git,
    from: ChangesFrom,
    api: &ApiAccess,
    depth: u64,
) -> Result<Changes> {
    if let Plan::PullRequest {
        number,
        base_sha,
        head_sha,
        changed_files,
    } = plan
    {
        let use_api = |why: &str| -> Result<Changes> {
            let Some(token) = api.token else {
                bail!(
                    "{why}, and there is no `token` to ask the GitHub API instead: check the repository out with actions/checkout, or pass `token`"
                );
            };
            let Some(repo) = api.repo else {
                bail!("{why}, and GITHUB_REPOSITORY is not set, so the GitHub API cannot be asked");
            };
            let files =
                crate::api::pull_request_files(api.url, repo, *number, token, *changed_files)?;
            Ok(Changes {
                files,
                compared: format!("pull request #{number} (GitHub API)"),
            })
        };
        if from == ChangesFrom::Api {
            return use_api("`changes-from` is `api`");
        }
        if !git.is_work_tree() {
            let why = format!("{} is not a git work tree", git.dir().display());
            if from == ChangesFrom::Git {
                bail!("{why}: check the repository out with actions/checkout before this step");
            }
            command::info(&format!("{why}: using the GitHub API"));
            return use_api(&why);
        }
        let by_git = || -> Result<Changes> {
            let base = resolve(git, base_sha, depth)?;
            let head = resolve(git, head_sha, depth)?;
            let mb = git.merge_base_deepening(&base, &head, depth)?;
            Ok(Changes {
                files: git.diff(&mb, &head)?,
                compared: format!(
                    "pull request #{number}: `{}` against merge-base `{}`",
                    short(&head),
                    short(&mb)
                ),
            })
        };
        return match by_git() {
            Ok(c) => Ok(c),
            Err(e) if from == ChangesFrom::Auto && api.token.is_some() => {
                command::warning(&format!(
                    "git could not list the pull request's changes ({e:#}); using the GitHub API"
                ));
                use_api("git failed")
            }
            Err(e) => Err(e.context(format!(
                "cannot list the changes of pull request #{number} with git"
            ))),
        };
    }

    if from == ChangesFrom::Api {
        bail!(
            "`changes-from: api` works only on pull request events; other events are read with git"
        );
    }
    if !git.is_work_tree() {
        bail!(
            "{} is not a git work tree: check the repository out with actions/checkout before this step (or set `working-directory`)",
            git.dir().display()
        );
    }
    Ok(match plan {
        Plan::Uncommitted => Changes {
            files: git.uncommitted()?,
            compared: "uncommitted changes against `HEAD`".into(),
        },
        Plan::AllFiles => Changes {
            files: git.list_files()?,
            compared: "every file (initial push)".into(),
        },
        Plan::Nothing { why } => Changes {
            files: Vec::new(),
            compared: why.clone(),
        },
        Plan::LastCommit { head } => {
            let h = resolve(git, head, depth)?;
            Changes {
                files: git.commit_changes(&h, depth)?,
                compared: format!("last commit `{}`", short(&h)),
            }
        }
        Plan::Between { base, head } => {
            let b = resolve(git, base, depth)?;
            let h = resolve(git, head, depth)?;
            Changes {
                files: git.diff(&b, &h)?,
                compared: format!("`{}..{}`", short(&b), short(&h)),
            }
        }
        Plan::SinceMergeBase { base, head } => {
            let b = resolve(git, base, depth)?;
            let h = resolve(git, head, depth)?;
            let mb = git.merge_base_deepening(&b, &h, depth)?;
            Changes {
                files: git.diff(&mb, &h)?,
                compared: format!(
                    "`{}` against its merge-base `{}` with `{base}`",
                    short(&h),
                    short(&mb)
                ),
            }
        }
        Plan::Push {
            before,
            after,
            default_branch,
            forced,
        } => {
            let a = resolve(git, after, depth)?;
            match resolve(git, before, depth) {
                // GitHub says the push was not forced: the two trees suffice.
                Ok(b) if *forced == Some(false) => Changes {
                    files: git.diff(&b, &a)?,
                    compared: format!("push `{}..{}`", short(&b), short(&a)),
                },
                // Otherwise ancestry decides; in a shallow clone only the
                // (deepening) merge-base can tell.
                Ok(b) => {
                    let mb = git.merge_base_deepening(&b, &a, depth)?;
                    if mb == b {
                        Changes {
                            files: git.diff(&b, &a)?,
                            compared: format!("push `{}..{}`", short(&b), short(&a)),
                        }
                    } else {
                        command::notice(&format!(
                            "force push: `{}` is not an ancestor of `{}`, so changes are taken from their merge-base `{}`",
                            short(&b),
                            short(&a),
                            short(&mb)
                        ));
                        Changes {
                            files: git.diff(&mb, &a)?,
                            compared: format!(
                                "force push: `{}` against merge-base `{}`",
                                short(&a),
                                short(&mb)
                            ),
                        }
                    }
                }
                Err(e) => {
                    let Some(d) = default_branch else {
                        return Err(e.context("the commit before the push is gone (force push?) and the payload names no default branch"));
                    };
                    command::notice(&format!(
                        "the commit before the push ({}) cannot be fetched (force push?): comparing with the merge-base with `{d}` instead",
                        short(before)
                    ));
                    let b = git
                        .resolve(d, depth)
                        .with_context(|| format!("cannot resolve the default branch `{d}`"))?;
                    let mb = git.merge_base_deepening(&b, &a, depth)?;
                    Changes {
                        files: git.diff(&mb, &a)?,
                        compared: format!(
                            "`{}` against its merge-base `{}` with `{d}`",
                            short(&a),
                            short(&mb)
                        ),
                    }
                }
            }
        }
        Plan::PullRequest { .. } => unreachable!("handled above"),
    })
}
