//! The client and its repository handle: typed calls, retries where safe, one error
//! message shape (`cannot <doing> in <owner>/<name>: <what GitHub said>; <hint>`).

use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use bitvault_http::{RetryPolicy, percent_encode, require_https};
use octocrab::models::repos::{ContentItems, DiffEntry, Object, Ref, RepoCommit};
use octocrab::models::{self, pulls::PullRequest};
use octocrab::{Octocrab, Page};
use serde_json::json;

use crate::hint::{describe, hint, rate_limited, status};

/// The GitHub REST API version every request asks for.
pub const API_VERSION: &str = "2022-11-28";

/// Worth another try: 429 and 5xx answers, a secondary rate limit that says when to
/// come back, and failures to connect or to read the answer.
fn transient(e: &octocrab::Error) -> bool {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            bitvault_http::is_retryable_status(source.status_code)
                || (rate_limited(e) && retry_after(e).is_some())
        }
        octocrab::Error::Hyper { .. } | octocrab::Error::Service { .. } => true,
        _ => false,
    }
}

fn retry_after(e: &octocrab::Error) -> Option<Duration> {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            bitvault_http::retry_after(source.headers.as_ref()?, SystemTime::now())
        }
        _ => None,
    }
}

/// A GitHub API client for one token. Cheap to clone.
#[derive(Clone)]
pub struct GitHub {
    octo: Octocrab,
    api: String,
    permissions: String,
    retry: RetryPolicy,
}

/// The most pages one listing follows (100 entries each): ten thousand entries, more
/// than any listing GitHub answers in full (a pull request's files stop at 3000).
pub const MAX_PAGES: u32 = 100;

/// How long to wait for GitHub.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

fn builder(
    api: &str,
) -> Result<
    octocrab::OctocrabBuilder<
        octocrab::NoSvc,
        octocrab::DefaultOctocrabBuilderConfig,
        octocrab::NoAuth,
        octocrab::NotLayerReady,
    >,
> {
    require_https("github-api-url", api).map_err(|e| anyhow!(e))?;
    Ok(Octocrab::builder()
        .base_uri(api)
        .with_context(|| format!("input `github-api-url`: {api:?} is not a URL"))?
        .add_header(
            "x-github-api-version".parse().expect("a valid header name"),
            API_VERSION.to_string(),
        )
        .set_connect_timeout(Some(CONNECT_TIMEOUT))
        .set_read_timeout(Some(READ_TIMEOUT))
        .set_write_timeout(Some(READ_TIMEOUT)))
}

impl GitHub {
    /// A client for `api_url` (e.g. `https://api.github.com`) authenticating with
    /// `token`. `permissions` names what the token needs, for the 403 hint.
    pub fn with_token(api_url: &str, token: &str, permissions: &str) -> Result<GitHub> {
        let api = api_url.trim_end_matches('/').to_string();
        let _rt = bitvault_http::runtime().enter();
        let octo = builder(&api)?
            .personal_token(token.to_string())
            .build()
            .context("cannot build the GitHub client")?;
        Ok(GitHub {
            octo,
            api,
            permissions: permissions.to_string(),
            retry: RetryPolicy::default(),
        })
    }

    /// A client authenticating as a GitHub App (a JWT signed with its private key), for
    /// the installation endpoints only.
    pub(crate) fn app(api_url: &str, app_id: u64, pem: &str) -> Result<GitHub> {
        let api = api_url.trim_end_matches('/').to_string();
        let key = octocrab::EncodingKey::from_rsa_pem(pem.as_bytes()).context(
            "input `private-key` is not an RSA private key in PEM form; paste the .pem file GitHub generated for the App",
        )?;
        let _rt = bitvault_http::runtime().enter();
        let octo = builder(&api)?
            .app(models::AppId(app_id), key)
            .build()
            .context("cannot build the GitHub App client")?;
        Ok(GitHub {
            octo,
            api,
            permissions: "`contents: write` and `pull-requests: write`".into(),
            retry: RetryPolicy::default(),
        })
    }

    /// The same client with another retry policy (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> GitHub {
        self.retry = retry;
        self
    }

    /// The API base URL, without a trailing `/`.
    pub fn api_url(&self) -> &str {
        &self.api
    }

    /// A handle on `owner/name`.
    pub fn repo(&self, owner: &str, name: &str) -> Repo {
        Repo {
            gh: self.clone(),
            owner: owner.to_string(),
            name: name.to_string(),
        }
    }

    /// The underlying octocrab client, for calls this crate does not wrap yet.
    pub fn octocrab(&self) -> &Octocrab {
        &self.octo
    }

    /// Runs one call on the process's runtime; when `safe` (repeating it changes
    /// nothing), transient failures are retried under the retry policy.
    pub(crate) fn call<T, F, Fut>(&self, safe: bool, f: F) -> Result<T, octocrab::Error>
    where
        F: Fn(Octocrab) -> Fut,
        Fut: Future<Output = Result<T, octocrab::Error>>,
    {
        bitvault_http::block_on(async {
            let mut attempts = self.retry.attempts();
            loop {
                attempts.start();
                match f(self.octo.clone()).await {
                    Err(e) if safe && transient(&e) => {
                        if !attempts.wait(retry_after(&e)).await {
                            return Err(e);
                        }
                    }
                    other => return other,
                }
            }
        })
    }

    /// `cannot <doing> in <where>: <what GitHub said>; <hint>`.
    pub(crate) fn fail(&self, doing: &str, place: &str, e: &octocrab::Error) -> anyhow::Error {
        let hint = hint(e, &self.permissions);
        let sep = if hint.is_empty() { "" } else { "; " };
        anyhow!("cannot {doing} in {place}: {}{sep}{hint}", describe(e))
    }
}

/// A pull request, as far as the flows need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestRef {
    pub number: u64,
    pub html_url: String,
}

impl PullRequestRef {
    fn of(p: &PullRequest) -> Result<PullRequestRef> {
        Ok(PullRequestRef {
            number: p.number,
            html_url: p
                .html_url
                .as_ref()
                .context("the pull request answer has no `html_url`")?
                .to_string(),
        })
    }
}

/// What became of a fast-forward ref move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefMove {
    Moved,
    /// GitHub refused it (the ref moved underneath, or exists already): GitHub's words.
    Refused(String),
}

/// A file to write in a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Path in the repository, `/`-separated.
    pub path: String,
    pub content: String,
}

/// A GitHub repository, through one client.
#[derive(Clone)]
pub struct Repo {
    gh: GitHub,
    pub owner: String,
    pub name: String,
}

/// A `/`-separated path with each segment percent-encoded.
fn encode_path(p: &str) -> String {
    p.split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/")
}

fn decode_base64(content: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let content: String = content.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(content)
}

impl Repo {
    /// The client this handle uses.
    pub fn client(&self) -> &GitHub {
        &self.gh
    }

    fn route(&self, rest: &str) -> String {
        format!(
            "/repos/{}/{}{rest}",
            percent_encode(&self.owner),
            percent_encode(&self.name)
        )
    }

    fn fail(&self, doing: &str, e: &octocrab::Error) -> anyhow::Error {
        self.gh
            .fail(doing, &format!("{}/{}", self.owner, self.name), e)
    }

    /// The repository's default branch.
    pub fn default_branch(&self) -> Result<String> {
        let route = self.route("");
        let repo: models::Repository = self
            .gh
            .call(true, |o| {
                let route = route.clone();
                async move { o.get(route, None::<&()>).await }
            })
            .map_err(|e| self.fail("read the repository", &e))?;
        repo.default_branch
            .context("the repository answer has no `default_branch`")
    }

    /// The commit a branch points to; `None` when there is no such branch.
    pub fn branch_sha(&self, branch: &str) -> Result<Option<String>> {
        let route = self.route(&format!("/git/ref/heads/{}", encode_path(branch)));
        let r: Result<Ref, _> = self.gh.call(true, |o| {
            let route = route.clone();
            async move { o.get(route, None::<&()>).await }
        });
        match r {
            Ok(r) => match r.object {
                Object::Commit { sha, .. } | Object::Tag { sha, .. } => Ok(Some(sha)),
                other => bail!("branch `{branch}` points to {other:?}, not a commit"),
            },
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.fail(&format!("read branch `{branch}`"), &e)),
        }
    }

    /// A file's text at a commit; `None` when it does not exist there.
    pub fn file_at(&self, path: &str, at: &str) -> Result<Option<String>> {
        let route = self.route(&format!("/contents/{}", encode_path(path)));
        let r: Result<ContentItems, _> = self.gh.call(true, |o| {
            let route = route.clone();
            async move { o.get(route, Some(&[("ref", at)])).await }
        });
        let items = match r {
            Ok(c) => c.items,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(self.fail(&format!("read {path} at {at}"), &e)),
        };
        let [item] = items.as_slice() else {
            bail!(
                "{path} is not a file in {}/{}; check `file`",
                self.owner,
                self.name
            );
        };
        if item.r#type != "file" {
            bail!(
                "{path} is not a file in {}/{}; check `file`",
                self.owner,
                self.name
            );
        }
        let bytes = match (&item.encoding, &item.content) {
            (Some(enc), Some(content)) if enc == "base64" => decode_base64(content)
                .with_context(|| format!("{path}: the contents answer is not valid base64"))?,
            _ => {
                // Over 1 MB the contents API leaves `content` empty: read the blob.
                let route = self.route(&format!("/git/blobs/{}", item.sha));
                let blob: models::git::GitBlob = self
                    .gh
                    .call(true, |o| {
                        let route = route.clone();
                        async move { o.get(route, None::<&()>).await }
                    })
                    .map_err(|e| self.fail(&format!("read the blob of {path}"), &e))?;
                decode_base64(&blob.content)
                    .with_context(|| format!("{path}: the blob answer is not valid base64"))?
            }
        };
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| anyhow!("{path} is not UTF-8 text; it cannot be a values file"))
    }

    /// The commits reachable from `at` that touched `path`, newest first, at most
    /// `depth` of them.
    pub fn commits_touching(&self, path: &str, at: &str, depth: u32) -> Result<Vec<String>> {
        let route = self.route("/commits");
        let depth = depth.to_string();
        let commits: Vec<RepoCommit> = self
            .gh
            .call(true, |o| {
                let route = route.clone();
                let q = [("sha", at), ("path", path), ("per_page", depth.as_str())];
                async move { o.get(route, Some(&q)).await }
            })
            .map_err(|e| self.fail(&format!("list the commits of {path}"), &e))?;
        Ok(commits.into_iter().map(|c| c.sha).collect())
    }

    /// The commits on `head` that `base` does not have: `(sha, message)`, oldest first.
    pub fn commits_between(&self, base: &str, head: &str) -> Result<Vec<(String, String)>> {
        let route = self.route(&format!(
            "/compare/{}...{}",
            percent_encode(base),
            percent_encode(head)
        ));
        let cmp: models::commits::CommitComparison = self
            .gh
            .call(true, |o| {
                let route = route.clone();
                async move { o.get(route, None::<&()>).await }
            })
            .map_err(|e| self.fail(&format!("compare {head} with {base}"), &e))?;
        Ok(cmp
            .commits
            .into_iter()
            .map(|c| (c.sha, c.commit.message))
            .collect())
    }

    /// Writes `files` as blobs, a tree on top of `parent`'s tree and a commit with
    /// `message`; returns the commit's sha. No ref moves. (Git objects are content
    /// addressed, so these calls are safe to retry.)
    pub fn commit_files(&self, parent: &str, files: &[TreeFile], message: &str) -> Result<String> {
        let route = self.route(&format!("/git/commits/{}", percent_encode(parent)));
        let parent_commit: models::commits::GitCommitObject = self
            .gh
            .call(true, |o| {
                let route = route.clone();
                async move { o.get(route, None::<&()>).await }
            })
            .map_err(|e| self.fail(&format!("read commit {parent}"), &e))?;
        let mut entries = Vec::new();
        for f in files {
            let route = self.route("/git/blobs");
            let body = json!({"content": f.content, "encoding": "utf-8"});
            let blob: models::git::CreatedBlob = self
                .gh
                .call(true, |o| {
                    let (route, body) = (route.clone(), body.clone());
                    async move { o.post(route, Some(&body)).await }
                })
                .map_err(|e| self.fail("create a blob", &e))?;
            entries.push(json!({
                "path": f.path,
                "mode": "100644",
                "type": "blob",
                "sha": blob.sha,
            }));
        }
        let route = self.route("/git/trees");
        let body = json!({"base_tree": parent_commit.tree.sha, "tree": entries});
        let tree: models::git::GitTree = self
            .gh
            .call(true, |o| {
                let (route, body) = (route.clone(), body.clone());
                async move { o.post(route, Some(&body)).await }
            })
            .map_err(|e| self.fail("create a tree", &e))?;
        let route = self.route("/git/commits");
        let body = json!({"message": message, "tree": tree.sha, "parents": [parent]});
        let commit: models::commits::GitCommitObject = self
            .gh
            .call(true, |o| {
                let (route, body) = (route.clone(), body.clone());
                async move { o.post(route, Some(&body)).await }
            })
            .map_err(|e| self.fail("create a commit", &e))?;
        Ok(commit.sha)
    }

    /// Fast-forwards `branch` to `sha` (never forced). Not retried: a refusal (409,
    /// 422, or a 5xx that may have landed) is [`RefMove::Refused`], for the caller to
    /// read again.
    pub fn move_branch(&self, branch: &str, sha: &str) -> Result<RefMove> {
        let route = self.route(&format!("/git/refs/heads/{}", encode_path(branch)));
        let body = json!({"sha": sha, "force": false});
        let r: Result<Ref, _> = self.gh.call(false, |o| {
            let (route, body) = (route.clone(), body.clone());
            async move { o.patch(route, Some(&body)).await }
        });
        match r {
            Ok(_) => Ok(RefMove::Moved),
            Err(e) if matches!(status(&e), Some(409 | 422) | Some(500..=599)) => {
                Ok(RefMove::Refused(describe(&e)))
            }
            Err(e) => Err(self.fail(&format!("move branch `{branch}`"), &e)),
        }
    }

    /// Creates `branch` at `sha`; [`RefMove::Refused`] when it exists already.
    pub fn create_branch(&self, branch: &str, sha: &str) -> Result<RefMove> {
        let route = self.route("/git/refs");
        let body = json!({"ref": format!("refs/heads/{branch}"), "sha": sha});
        let r: Result<Ref, _> = self.gh.call(false, |o| {
            let (route, body) = (route.clone(), body.clone());
            async move { o.post(route, Some(&body)).await }
        });
        match r {
            Ok(_) => Ok(RefMove::Moved),
            Err(e) if matches!(status(&e), Some(409 | 422) | Some(500..=599)) => {
                Ok(RefMove::Refused(describe(&e)))
            }
            Err(e) => Err(self.fail(&format!("create branch `{branch}`"), &e)),
        }
    }

    /// The open pull request from `branch` of this repository, if any.
    pub fn open_pull(&self, branch: &str) -> Result<Option<PullRequestRef>> {
        let head = format!("{}:{branch}", self.owner);
        let pulls = self.gh.octo.pulls(&self.owner, &self.name);
        let page = self
            .gh
            .call(true, |_| {
                pulls
                    .list()
                    .state(octocrab::params::State::Open)
                    .head(head.clone())
                    .send()
            })
            .map_err(|e| self.fail("list pull requests", &e))?;
        page.items
            .iter()
            .find(|p| p.head.ref_field == branch)
            .map(PullRequestRef::of)
            .transpose()
    }

    /// Opens a pull request from `head` into `base`. Not retried (it could open two).
    pub fn create_pull(
        &self,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
        draft: bool,
    ) -> Result<PullRequestRef> {
        let pulls = self.gh.octo.pulls(&self.owner, &self.name);
        let p = self
            .gh
            .call(false, |_| {
                pulls
                    .create(title, head, base)
                    .body(body)
                    .draft(Some(draft))
                    .send()
            })
            .map_err(|e| self.fail("open a pull request", &e))?;
        PullRequestRef::of(&p)
    }

    /// Sets a pull request's title and body.
    pub fn update_pull(&self, number: u64, title: &str, body: &str) -> Result<()> {
        // Not octocrab's builder: it also sends `pull_number` in the body, which GitHub
        // ignores and its OpenAPI description does not allow.
        let route = self.route(&format!("/pulls/{number}"));
        let body = json!({"title": title, "body": body});
        let _: PullRequest = self
            .gh
            .call(true, |o| {
                let (route, body) = (route.clone(), body.clone());
                async move { o.patch(route, Some(&body)).await }
            })
            .map_err(|e| self.fail(&format!("update pull request #{number}"), &e))?;
        Ok(())
    }

    /// Adds labels to a pull request (or issue).
    pub fn add_labels(&self, number: u64, labels: &[String]) -> Result<()> {
        let issues = self.gh.octo.issues(&self.owner, &self.name);
        self.gh
            .call(true, |_| issues.add_labels(number, labels))
            .map_err(|e| self.fail(&format!("label pull request #{number}"), &e))?;
        Ok(())
    }

    /// Requests reviews from users on a pull request.
    pub fn request_reviewers(&self, number: u64, reviewers: &[String]) -> Result<()> {
        let pulls = self.gh.octo.pulls(&self.owner, &self.name);
        self.gh
            .call(true, |_| {
                pulls.request_reviews(number, reviewers.to_vec(), Vec::<String>::new())
            })
            .map_err(|e| self.fail(&format!("request reviews on pull request #{number}"), &e))?;
        Ok(())
    }

    /// One page (100 entries, `page` from 1, at most [`MAX_PAGES`]) of a pull request's
    /// files.
    pub fn pull_request_files(&self, number: u64, page: u32) -> Result<Vec<DiffEntry>> {
        if page > MAX_PAGES {
            bail!(
                "the GitHub API at {} answered more than {MAX_PAGES} pages of files for pull \
                 request #{number} in {}/{} (the limit on pages followed); GitHub lists at most \
                 3000 files, so this is not GitHub's answer: check `github-api-url`",
                self.gh.api,
                self.owner,
                self.name
            );
        }
        let route = self.route(&format!("/pulls/{number}/files"));
        let page = page.to_string();
        self.gh
            .call(true, |o| {
                let route = route.clone();
                let q = [("per_page", "100"), ("page", page.as_str())];
                async move { o.get(route, Some(&q)).await }
            })
            .map_err(|e| self.fail(&format!("list the files of pull request #{number}"), &e))
    }

    /// All of a pull request's files, following GitHub's `Link: rel="next"` pages: at
    /// most [`MAX_PAGES`] of them, each link followed once, and only to the API's own
    /// host (the token goes with every page).
    pub fn all_pull_request_files(&self, number: u64) -> Result<Vec<DiffEntry>> {
        let what = format!("the files of pull request #{number}");
        let route = self.route(&format!("/pulls/{number}/files"));
        let first: Page<DiffEntry> = self
            .gh
            .call(true, |o| {
                let route = route.clone();
                async move { o.get(route, Some(&[("per_page", "100")])).await }
            })
            .map_err(|e| self.fail(&format!("list {what}"), &e))?;
        self.follow_pages(first, &what)
    }

    /// The items of `page` and of every page after it.
    fn follow_pages<T: serde::de::DeserializeOwned>(
        &self,
        mut page: Page<T>,
        what: &str,
    ) -> Result<Vec<T>> {
        let origin = origin_of(&self.gh.api);
        let mut items = page.take_items();
        let mut seen = HashSet::new();
        let mut pages = 1;
        while let Some(next) = page.next.take() {
            let link = next.to_string();
            if origin_of(&link) != origin {
                bail!(
                    "the GitHub API at {} sent a next-page link to another host ({link}) while \
                     listing {what} in {}/{}; refusing to send the token there: check \
                     `github-api-url`",
                    self.gh.api,
                    self.owner,
                    self.name
                );
            }
            if !seen.insert(link.clone()) {
                bail!(
                    "the GitHub API at {} sent the next-page link {link} twice while listing \
                     {what} in {}/{} (each page is followed once, the limit on repeated links); \
                     this is not GitHub's answer: check `github-api-url`",
                    self.gh.api,
                    self.owner,
                    self.name
                );
            }
            if pages >= MAX_PAGES {
                bail!(
                    "the GitHub API at {} answered more than {MAX_PAGES} pages while listing \
                     {what} in {}/{} (the limit on pages followed); this is not GitHub's \
                     answer: check `github-api-url`",
                    self.gh.api,
                    self.owner,
                    self.name
                );
            }
            let uri = Some(next);
            page = self
                .gh
                .call(true, |o| {
                    let uri = uri.clone();
                    async move { o.get_page::<T>(&uri).await }
                })
                .map_err(|e| self.fail(&format!("list {what} (page {})", pages + 1), &e))?
                .with_context(|| format!("the next page of {what} is missing"))?;
            pages += 1;
            items.extend(page.take_items());
        }
        Ok(items)
    }
}

/// `scheme://host:port` of an absolute URL, lower-cased, with the default port made
/// explicit; `None` when it has no scheme or host.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, Some(p.parse::<u16>().ok()?)),
        _ => (host_port, None),
    };
    if host.is_empty() {
        return None;
    }
    let port = port.or(match scheme.as_str() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })?;
    Some(format!("{scheme}://{}:{port}", host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let api = origin_of("https://api.github.com");
        assert_eq!(api.as_deref(), Some("https://api.github.com:443"));
        for same in [
            "https://api.github.com/repos/o/r/pulls/1/files?page=2",
            "HTTPS://API.GITHUB.COM:443/x",
        ] {
            assert_eq!(origin_of(same), api, "{same}");
        }
        for other in [
            "https://api.github.com.evil.example/x",
            "https://evil.example/?u=https://api.github.com",
            "https://api.github.com@evil.example/x",
            "http://api.github.com/x",
            "https://api.github.com:8443/x",
            "/relative",
        ] {
            assert_ne!(origin_of(other), api, "{other}");
        }
        assert_eq!(
            origin_of("http://[::1]:8080/a").as_deref(),
            Some("http://[::1]:8080")
        );
    }
}
