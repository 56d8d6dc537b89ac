//! Which changes to look at, decided from the event and inputs alone (no
//! git, no network), so the rules are easy to read and to test.
//!
//! # The rules (for the README)
//!
//! | Situation | Changes are |
//! |---|---|
//! | `base: HEAD` | uncommitted changes in the work tree: staged, unstaged and untracked (not ignored) files; `ref` is ignored |
//! | `pull_request`, `pull_request_target`, `pull_request_review`, `pull_request_review_comment` | the pull request's files: `head.sha` against its merge-base with `base.sha`, through git (fetching and deepening a shallow clone as needed); the REST API only when there is no git work tree, when git cannot get the commits, or with `changes-from: api`. `base` and `ref` are ignored |
//! | `merge_group` | `merge_group.head_sha` against its merge-base with `merge_group.base_sha` |
//! | `push` | `before..after` from the event. A new branch (`before` all zeros) is compared with its merge-base with the default branch; the first push of the default branch lists every file as added; a force push (`before` not an ancestor of `after`) is compared with the merge-base of `before` and `after`, with a notice; a deleted branch has no changes |
//! | `base` set (any other event, or push with `base`) | as dorny: a commit SHA is compared directly (`base..head`); the same branch as `head` means the commit before the push (`before`), or the last commit when the event has none; any other branch or tag means `head` against its merge-base with `base` |
//! | other events (`workflow_dispatch`, `schedule`, ...) | `base` defaults to the default branch: on the default branch itself, the last commit (against its first parent); elsewhere, `head` against its merge-base with the default branch |
//!
//! `head` is the `ref` input when set, else the commit the workflow runs on
//! (`GITHUB_SHA`). To get dorny's behaviour for pushes to feature branches
//! (compare with the default branch, not with `before`), set
//! `base: ${{ github.event.repository.default_branch }}`.

use anyhow::{Result, bail};
use serde_json::Value;

use crate::git::NULL_SHA;

/// The events dorny treats as pull requests.
pub const PULL_REQUEST_EVENTS: &[&str] = &[
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Work tree and index against HEAD, plus untracked files.
    Uncommitted,
    /// `head` against its merge-base with `base` (names or SHAs).
    SinceMergeBase { base: String, head: String },
    /// `base..head`, directly.
    Between { base: String, head: String },
    /// A push: `before..after`, or the merge-base after a force push.
    /// `forced` is the payload's flag, when it has one.
    Push {
        before: String,
        after: String,
        default_branch: Option<String>,
        forced: Option<bool>,
    },
    /// The last commit of `head` against its first parent.
    LastCommit { head: String },
    /// Every tracked file, as added.
    AllFiles,
    /// Nothing changed (a deleted branch).
    Nothing { why: String },
    /// A pull request: git merge-base diff, or the REST API.
    PullRequest {
        number: u64,
        base_sha: String,
        head_sha: String,
        changed_files: Option<u64>,
    },
}

/// What the plan needs from the run.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub event: &'a str,
    pub payload: Option<&'a Value>,
    pub base: Option<&'a str>,
    pub head: Option<&'a str>,
    /// `GITHUB_REF`.
    pub github_ref: Option<&'a str>,
    /// `GITHUB_SHA`.
    pub github_sha: Option<&'a str>,
}

/// `refs/heads/x` and `refs/tags/x` to `x`.
pub fn short_name(r: &str) -> &str {
    r.strip_prefix("refs/heads/")
        .or_else(|| r.strip_prefix("refs/tags/"))
        .unwrap_or(r)
}

fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn str_at<'a>(v: Option<&'a Value>, path: &[&str]) -> Option<&'a str> {
    let mut v = v?;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str().filter(|s| !s.is_empty())
}

/// Decides what to compare. Returns the plan and messages for the log
/// (warnings about ignored inputs are returned as `Err`-free notes).
pub fn plan(cx: &Context) -> Result<(Plan, Vec<String>)> {
    let mut notes = Vec::new();
    let payload = cx.payload;
    let default_branch = str_at(payload, &["repository", "default_branch"]).map(str::to_string);

    if cx.base == Some("HEAD") {
        if cx.head.is_some() {
            notes.push("input `ref` is ignored when `base` is `HEAD`".to_string());
        }
        return Ok((Plan::Uncommitted, notes));
    }

    if PULL_REQUEST_EVENTS.contains(&cx.event) {
        if cx.base.is_some() || cx.head.is_some() {
            notes.push(format!("inputs `base` and `ref` are ignored on `{}` events: the pull request says what to compare", cx.event));
        }
        let pr = payload.and_then(|p| p.get("pull_request"));
        let (Some(number), Some(base_sha), Some(head_sha)) = (
            pr.and_then(|p| p.get("number")).and_then(Value::as_u64),
            str_at(pr, &["base", "sha"]),
            str_at(pr, &["head", "sha"]),
        ) else {
            bail!(
                "the `{}` event payload has no `pull_request` with `number`, `base.sha` and `head.sha`; check GITHUB_EVENT_PATH",
                cx.event
            );
        };
        let changed_files = pr
            .and_then(|p| p.get("changed_files"))
            .and_then(Value::as_u64);
        return Ok((
            Plan::PullRequest {
                number,
                base_sha: base_sha.to_string(),
                head_sha: head_sha.to_string(),
                changed_files,
            },
            notes,
        ));
    }

    if cx.event == "merge_group" && cx.base.is_none() {
        let (Some(base), Some(head)) = (
            str_at(payload, &["merge_group", "base_sha"]),
            str_at(payload, &["merge_group", "head_sha"]),
        ) else {
            bail!(
                "the `merge_group` event payload has no `merge_group.base_sha` and `head_sha`; check GITHUB_EVENT_PATH"
            );
        };
        let head = cx.head.unwrap_or(head);
        return Ok((
            Plan::SinceMergeBase {
                base: base.to_string(),
                head: head.to_string(),
            },
            notes,
        ));
    }

    let before = if cx.event == "push" {
        str_at(payload, &["before"])
    } else {
        None
    };
    let after = str_at(payload, &["after"]).or(cx.github_sha);
    let pushed_ref = str_at(payload, &["ref"]).or(cx.github_ref).map(short_name);
    let forced = payload
        .and_then(|p| p.get("forced"))
        .and_then(Value::as_bool);

    if cx.event == "push" && cx.base.is_none() && cx.head.is_none() {
        let Some(after) = after else {
            bail!("the `push` event payload has no `after` commit and GITHUB_SHA is not set");
        };
        if after == NULL_SHA {
            return Ok((
                Plan::Nothing {
                    why: "the push deleted the branch or tag".into(),
                },
                notes,
            ));
        }
        return Ok((
            new_or_push(
                before,
                after,
                pushed_ref,
                default_branch,
                forced,
                &mut notes,
            ),
            notes,
        ));
    }

    // dorny's rules for an explicit `base`, and for every other event.
    let head_name = cx
        .head
        .map(short_name)
        .or(cx.github_ref.map(short_name))
        .map(str::to_string);
    let head_commit = match cx.head {
        Some(h) => h.to_string(),
        None => cx.github_sha.unwrap_or("HEAD").to_string(),
    };
    let Some(base) = cx
        .base
        .map(short_name)
        .map(str::to_string)
        .or(default_branch.clone())
    else {
        bail!(
            "nothing to compare with: set the `base` input (a branch, tag or commit), or run on an event whose payload names the repository's default branch"
        );
    };
    if is_sha(&base) {
        return Ok((
            Plan::Between {
                base,
                head: head_commit,
            },
            notes,
        ));
    }
    if head_name.as_deref() == Some(base.as_str()) {
        return Ok(match before {
            Some(before) => {
                let after = after.unwrap_or(&head_commit).to_string();
                (
                    new_or_push(
                        Some(before),
                        &after,
                        pushed_ref,
                        default_branch,
                        forced,
                        &mut notes,
                    ),
                    notes,
                )
            }
            None => {
                notes.push(format!(
                    "`{base}` is the branch being built and the event has no `before` commit: looking at the last commit"
                ));
                (Plan::LastCommit { head: head_commit }, notes)
            }
        });
    }
    Ok((
        Plan::SinceMergeBase {
            base,
            head: head_commit,
        },
        notes,
    ))
}

fn new_or_push(
    before: Option<&str>,
    after: &str,
    pushed_ref: Option<&str>,
    default_branch: Option<String>,
    forced: Option<bool>,
    notes: &mut Vec<String>,
) -> Plan {
    match before {
        None => {
            notes.push("the push event has no `before` commit: looking at the last commit".into());
            Plan::LastCommit {
                head: after.to_string(),
            }
        }
        Some(b) if b == NULL_SHA => match default_branch {
            Some(d) if pushed_ref != Some(d.as_str()) => {
                notes.push(format!("first push of `{}`: comparing with its merge-base with the default branch `{d}`", pushed_ref.unwrap_or(after)));
                Plan::SinceMergeBase {
                    base: d,
                    head: after.to_string(),
                }
            }
            _ => {
                notes.push(
                    "initial push of the default branch: every file is listed as added".into(),
                );
                Plan::AllFiles
            }
        },
        Some(b) => Plan::Push {
            before: b.to_string(),
            after: after.to_string(),
            default_branch,
            forced,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    fn run(event: &str, payload: Value, base: Option<&str>, head: Option<&str>) -> Plan {
        let cx = Context {
            event,
            payload: Some(&payload),
            base,
            head,
            github_ref: payload.get("ref").and_then(Value::as_str),
            github_sha: Some(B),
        };
        plan(&cx).unwrap().0
    }

    #[test]
    fn push_rules() {
        let repo = json!({"default_branch": "main"});
        let p = json!({"ref": "refs/heads/feat", "before": A, "after": B, "repository": repo});
        assert_eq!(
            run("push", p, None, None),
            Plan::Push {
                before: A.into(),
                after: B.into(),
                default_branch: Some("main".into()),
                forced: None
            }
        );
        let p =
            json!({"ref": "refs/heads/feat", "before": NULL_SHA, "after": B, "repository": repo});
        assert_eq!(
            run("push", p, None, None),
            Plan::SinceMergeBase {
                base: "main".into(),
                head: B.into()
            }
        );
        let p =
            json!({"ref": "refs/heads/main", "before": NULL_SHA, "after": B, "repository": repo});
        assert_eq!(run("push", p, None, None), Plan::AllFiles);
        let p =
            json!({"ref": "refs/heads/feat", "before": A, "after": NULL_SHA, "repository": repo});
        assert!(matches!(run("push", p, None, None), Plan::Nothing { .. }));
        // dorny's feature-branch behaviour, asked for explicitly.
        let p = json!({"ref": "refs/heads/feat", "before": A, "after": B, "repository": repo});
        assert_eq!(
            run("push", p, Some("main"), None),
            Plan::SinceMergeBase {
                base: "main".into(),
                head: B.into()
            }
        );
        let p = json!({"ref": "refs/heads/main", "before": A, "after": B, "repository": repo});
        assert_eq!(
            run("push", p, Some("main"), None),
            Plan::Push {
                before: A.into(),
                after: B.into(),
                default_branch: Some("main".into()),
                forced: None
            }
        );
    }

    #[test]
    fn other_events() {
        let repo = json!({"default_branch": "main"});
        let pr = json!({"pull_request": {"number": 7, "base": {"sha": A}, "head": {"sha": B}, "changed_files": 3}, "repository": repo});
        assert_eq!(
            run("pull_request_target", pr, Some("x"), None),
            Plan::PullRequest {
                number: 7,
                base_sha: A.into(),
                head_sha: B.into(),
                changed_files: Some(3)
            }
        );
        let mg = json!({"merge_group": {"base_sha": A, "head_sha": B}});
        assert_eq!(
            run("merge_group", mg, None, None),
            Plan::SinceMergeBase {
                base: A.into(),
                head: B.into()
            }
        );
        let wd = json!({"ref": "refs/heads/main", "repository": repo});
        assert_eq!(
            run("workflow_dispatch", wd, None, None),
            Plan::LastCommit { head: B.into() }
        );
        let wd = json!({"ref": "refs/heads/feat", "repository": repo});
        assert_eq!(
            run("workflow_dispatch", wd, None, None),
            Plan::SinceMergeBase {
                base: "main".into(),
                head: B.into()
            }
        );
        assert_eq!(
            run("schedule", json!({}), Some(A), Some("v1.0")),
            Plan::Between {
                base: A.into(),
                head: "v1.0".into()
            }
        );
        assert_eq!(
            run("push", json!({}), Some("HEAD"), Some("x")),
            Plan::Uncommitted
        );
        let cx = Context {
            event: "schedule",
            ..Default::default()
        };
        assert!(
            plan(&cx)
                .unwrap_err()
                .to_string()
                .contains("set the `base` input")
        );
    }
}
