//! Response bodies shaped like GitHub's: every property the description requires, with
//! its type, derived from the double's state.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::git::{CommitInfo, FileChange, Signature, iso8601};
use crate::{PullRequest, Repo, State};

/// GitHub's global node ids are opaque; these look alike and are stable.
pub fn node_id(kind: &str, id: impl std::fmt::Display) -> String {
    STANDARD.encode(format!("{kind}:{id}"))
}

fn stable_id(s: &str) -> u64 {
    use sha2::Digest;
    let h = sha2::Sha256::digest(s.as_bytes());
    u64::from_be_bytes(h[..8].try_into().unwrap_or_default()) % 100_000_000 + 1
}

pub fn user(state: &State, login: &str) -> Value {
    let api = format!("{}/users/{login}", state.base_url);
    let id = stable_id(login);
    json!({
        "login": login,
        "id": id,
        "node_id": node_id("User", id),
        "avatar_url": format!("{}/avatars/{login}", state.base_url),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("{}/{login}", html_root(state)),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": if login.ends_with("[bot]") { "Bot" } else { "User" },
        "site_admin": false,
    })
}

/// The web UI root; the double serves no UI, so it is a path under the API base.
pub fn html_root(state: &State) -> String {
    format!("{}/_html", state.base_url)
}

pub fn repo_api(state: &State, repo: &Repo) -> String {
    format!("{}/repos/{}/{}", state.base_url, repo.owner, repo.name)
}

pub fn repo_html(state: &State, repo: &Repo) -> String {
    format!("{}/{}/{}", html_root(state), repo.owner, repo.name)
}

/// `repository` and `full-repository` (the union of their required properties).
pub fn repository(state: &State, repo: &Repo) -> Value {
    let api = repo_api(state, repo);
    let html = repo_html(state, repo);
    let mut m = Map::new();
    for (key, suffix) in [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ] {
        m.insert(key.into(), Value::String(format!("{api}{suffix}")));
    }
    let created = iso8601(repo.created_at);
    let rest = json!({
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": format!("{}/{}", repo.owner, repo.name),
        "owner": user(state, &repo.owner),
        "private": true,
        "html_url": html,
        "description": null,
        "fork": false,
        "url": api,
        "clone_url": format!("{html}.git"),
        "git_url": format!("git://127.0.0.1/{}/{}.git", repo.owner, repo.name),
        "ssh_url": format!("git@127.0.0.1:{}/{}.git", repo.owner, repo.name),
        "svn_url": html,
        "mirror_url": null,
        "homepage": null,
        "language": null,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues": 0,
        "open_issues_count": 0,
        "has_issues": true,
        "has_projects": false,
        "has_wiki": false,
        "has_pages": false,
        "has_downloads": false,
        "has_discussions": false,
        "archived": false,
        "disabled": false,
        "visibility": "private",
        "license": null,
        "pushed_at": created,
        "created_at": created,
        "updated_at": created,
        "network_count": 0,
        "subscribers_count": 0,
        "allow_forking": false,
        "is_template": false,
        "topics": [],
    });
    if let Value::Object(r) = rest {
        m.extend(r);
    }
    Value::Object(m)
}

fn git_user(s: &Signature) -> Value {
    json!({"name": s.name, "email": s.email, "date": iso8601(s.time)})
}

/// `git-commit` (Git Database API).
pub fn git_commit(state: &State, repo: &Repo, c: &CommitInfo) -> Value {
    let api = repo_api(state, repo);
    let html = repo_html(state, repo);
    json!({
        "sha": c.sha,
        "node_id": node_id("Commit", &c.sha),
        "url": format!("{api}/git/commits/{}", c.sha),
        "html_url": format!("{html}/commit/{}", c.sha),
        "author": git_user(&c.author),
        "committer": git_user(&c.committer),
        "tree": {"sha": c.tree, "url": format!("{api}/git/trees/{}", c.tree)},
        "message": c.message,
        "parents": c.parents.iter().map(|p| json!({
            "sha": p,
            "url": format!("{api}/git/commits/{p}"),
            "html_url": format!("{html}/commit/{p}"),
        })).collect::<Vec<_>>(),
        "verification": {
            "verified": false,
            "reason": "unsigned",
            "signature": null,
            "payload": null,
            "verified_at": null,
        },
    })
}

/// `commit` (the commits API).
pub fn commit(state: &State, repo: &Repo, c: &CommitInfo) -> Value {
    let api = repo_api(state, repo);
    let html = repo_html(state, repo);
    json!({
        "url": format!("{api}/commits/{}", c.sha),
        "sha": c.sha,
        "node_id": node_id("Commit", &c.sha),
        "html_url": format!("{html}/commit/{}", c.sha),
        "comments_url": format!("{api}/commits/{}/comments", c.sha),
        "commit": {
            "url": format!("{api}/git/commits/{}", c.sha),
            "author": git_user(&c.author),
            "committer": git_user(&c.committer),
            "message": c.message.trim_end_matches('\n'),
            "comment_count": 0,
            "tree": {"sha": c.tree, "url": format!("{api}/git/trees/{}", c.tree)},
            "verification": {
                "verified": false,
                "reason": "unsigned",
                "signature": null,
                "payload": null,
                "verified_at": null,
            },
        },
        "author": null,
        "committer": null,
        "parents": c.parents.iter().map(|p| json!({
            "sha": p,
            "url": format!("{api}/commits/{p}"),
            "html_url": format!("{html}/commit/{p}"),
        })).collect::<Vec<_>>(),
    })
}

/// `diff-entry`.
pub fn diff_entry(state: &State, repo: &Repo, head: &str, f: &FileChange) -> Value {
    let api = repo_api(state, repo);
    let html = repo_html(state, repo);
    json!({
        "sha": f.sha,
        "filename": f.path,
        "status": f.status,
        "additions": f.additions,
        "deletions": f.deletions,
        "changes": f.additions + f.deletions,
        "blob_url": format!("{html}/blob/{head}/{}", f.path),
        "raw_url": format!("{html}/raw/{head}/{}", f.path),
        "contents_url": format!("{api}/contents/{}?ref={head}", f.path),
    })
}

pub fn label(state: &State, repo: &Repo, name: &str, id: u64) -> Value {
    json!({
        "id": id,
        "node_id": node_id("Label", id),
        "url": format!("{}/labels/{name}", repo_api(state, repo)),
        "name": name,
        // `label` allows null here, but the copy inlined in pull requests does not.
        "description": "",
        "color": "ededed",
        "default": false,
    })
}

fn team(state: &State, repo: &Repo, slug: &str) -> Value {
    let id = stable_id(slug);
    let api = format!("{}/orgs/{}/teams/{slug}", state.base_url, repo.owner);
    json!({
        "id": id,
        "node_id": node_id("Team", id),
        "url": api,
        "html_url": format!("{}/orgs/{}/teams/{slug}", html_root(state), repo.owner),
        "name": slug,
        "slug": slug,
        "description": null,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": format!("{api}/members{{/member}}"),
        "repositories_url": format!("{api}/repos"),
        "parent": null,
        "type": "organization",
    })
}

/// Numbers GitHub computes for a pull request from its commits.
pub struct PullStats {
    pub head_sha: String,
    pub base_sha: String,
    pub commits: usize,
    pub additions: u64,
    pub deletions: u64,
    pub changed_files: usize,
}

/// `pull-request` (with `full`) or `pull-request-simple`.
pub fn pull(state: &State, repo: &Repo, p: &PullRequest, stats: &PullStats, full: bool) -> Value {
    let api = repo_api(state, repo);
    let url = format!("{api}/pulls/{}", p.number);
    let issue = format!("{api}/issues/{}", p.number);
    let labels: Vec<Value> = {
        let known = crate::lock(&repo.labels);
        p.labels
            .iter()
            .map(|l| label(state, repo, l, known.get(l).copied().unwrap_or(0)))
            .collect()
    };
    let repo_json = repository(state, repo);
    let owner = user(state, &repo.owner);
    let side = |branch: &str, sha: &str| {
        json!({
            "label": format!("{}:{branch}", repo.owner),
            "ref": branch,
            "sha": sha,
            "repo": repo_json,
            "user": owner,
        })
    };
    let link = |href: String| json!({ "href": href });
    let mut v = json!({
        "url": url,
        "id": p.id,
        "node_id": node_id("PullRequest", p.id),
        "html_url": p.html_url,
        "diff_url": format!("{}.diff", p.html_url),
        "patch_url": format!("{}.patch", p.html_url),
        "issue_url": issue,
        "commits_url": format!("{url}/commits"),
        "review_comments_url": format!("{url}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{issue}/comments"),
        "statuses_url": format!("{api}/statuses/{}", stats.head_sha),
        "number": p.number,
        "state": p.state,
        "locked": false,
        "title": p.title,
        "user": user(state, &p.user),
        "body": p.body,
        "labels": labels,
        "milestone": null,
        "active_lock_reason": null,
        "created_at": iso8601(p.created_at),
        "updated_at": iso8601(p.updated_at),
        "closed_at": p.closed_at.map(iso8601),
        "merged_at": null,
        "merge_commit_sha": null,
        "assignee": null,
        "assignees": [],
        "requested_reviewers": p.requested_reviewers.iter().map(|r| user(state, r)).collect::<Vec<_>>(),
        "requested_teams": p.requested_teams.iter().map(|t| team(state, repo, t)).collect::<Vec<_>>(),
        "head": side(&p.head, &stats.head_sha),
        "base": side(&p.base, &stats.base_sha),
        "_links": {
            "self": link(url.clone()),
            "html": link(p.html_url.clone()),
            "issue": link(issue.clone()),
            "comments": link(format!("{issue}/comments")),
            "review_comments": link(format!("{url}/comments")),
            "review_comment": link(format!("{api}/pulls/comments{{/number}}")),
            "commits": link(format!("{url}/commits")),
            "statuses": link(format!("{api}/statuses/{}", stats.head_sha)),
        },
        "author_association": "MEMBER",
        "auto_merge": null,
        "draft": p.draft,
    });
    if full {
        let extra = json!({
            "merged": false,
            "mergeable": null,
            "rebaseable": null,
            "mergeable_state": "unknown",
            "merged_by": null,
            "comments": 0,
            "review_comments": 0,
            "maintainer_can_modify": p.maintainer_can_modify,
            "commits": stats.commits,
            "additions": stats.additions,
            "deletions": stats.deletions,
            "changed_files": stats.changed_files,
        });
        if let (Value::Object(v), Value::Object(e)) = (&mut v, extra) {
            v.extend(e);
        }
    }
    v
}

/// One file or directory entry of the contents API.
pub struct ContentItem<'a> {
    pub path: &'a str,
    /// `file`, `dir`, `symlink` or `submodule`.
    pub kind: &'a str,
    pub sha: &'a str,
    pub size: u64,
    /// The file's bytes, for `content-file`; `None` in a directory listing.
    pub data: Option<&'a [u8]>,
}

/// `content-file`, or one entry of `content-directory` (without `content`).
pub fn content(state: &State, repo: &Repo, git_ref: &str, item: &ContentItem) -> Value {
    let ContentItem {
        path,
        kind,
        sha,
        size,
        data,
    } = *item;
    let api = repo_api(state, repo);
    let html = repo_html(state, repo);
    let name = path.rsplit('/').next().unwrap_or(path);
    let self_url = format!("{api}/contents/{path}?ref={git_ref}");
    let git_url = format!(
        "{api}/git/{}/{sha}",
        if kind == "dir" { "trees" } else { "blobs" }
    );
    let html_url = format!(
        "{html}/{}/{git_ref}/{path}",
        if kind == "dir" { "tree" } else { "blob" }
    );
    let download = (kind == "file").then(|| format!("{html}/raw/{git_ref}/{path}"));
    let mut v = json!({
        "type": kind,
        "size": size,
        "name": name,
        "path": path,
        "sha": sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": download,
        "_links": {"self": self_url, "git": git_url, "html": html_url},
    });
    if let (Some(data), Value::Object(m)) = (data, &mut v) {
        // GitHub wraps base64 content at 60 characters.
        let encoded = STANDARD.encode(data);
        let mut wrapped = String::with_capacity(encoded.len() + encoded.len() / 60 + 1);
        for chunk in encoded.as_bytes().chunks(60) {
            wrapped.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            wrapped.push('\n');
        }
        m.insert("content".into(), Value::String(wrapped));
        m.insert("encoding".into(), Value::String("base64".into()));
    }
    v
}

pub fn installation(state: &State, id: u64, account: &str) -> Value {
    let created = iso8601(1_700_000_000);
    json!({
        "id": id,
        "app_id": 1,
        "app_slug": "bitvault",
        "client_id": "Iv1.bitvaultdouble",
        "target_id": stable_id(account),
        "target_type": "Organization",
        "single_file_name": null,
        "repository_selection": "selected",
        "access_tokens_url": format!("{}/app/installations/{id}/access_tokens", state.base_url),
        "repositories_url": format!("{}/installation/repositories", state.base_url),
        "html_url": format!("{}/organizations/{account}/settings/installations/{id}", html_root(state)),
        "events": [],
        "account": user(state, account),
        "permissions": {"contents": "write", "pull_requests": "write", "metadata": "read"},
        "created_at": created,
        "updated_at": created,
        "suspended_by": null,
        "suspended_at": null,
    })
}
