//! A local double of the GitHub REST API for tests.
//!
//! [`GitHubDouble`] serves the endpoints BitVault's actions use on `127.0.0.1`, backed by
//! real **bare git repositories**: blobs, trees, commits and refs written through the API
//! are real git objects (`git hash-object -w`, `git commit-tree`, `git update-ref` with
//! the old value, so two concurrent ref updates cannot both win), and tests read the
//! result with `git`. Pull requests live in memory.
//!
//! Every request is matched to an operation of GitHub's published OpenAPI description
//! (npm `@octokit/openapi`, `generated/api.github.com.json`); query parameters and the
//! JSON body are checked against it, and so is every response the double sends. Anything
//! the description does not allow is recorded as a violation, and the request is answered
//! with 404 (unknown operation) or 422 (invalid request), so a client bug is visible.
//! Tests end with [`GitHubDouble::assert_no_violations`].
//!
//! One endpoint is not GitHub's: an octo-sts style token exchange,
//! `GET /sts/exchange?scope=owner/repo&identity=name` with `Authorization: Bearer <OIDC
//! token>`, answering `{"token": "..."}`. It is served under the `/sts/` prefix, which
//! GitHub's API does not use, and is exempt from OpenAPI validation.
//!
//! ```no_run
//! use bitvault_github_double::GitHubDouble;
//!
//! let gh = GitHubDouble::start();
//! gh.add_token("actions-token");
//! let bare = gh.add_repo("acme", "gitops", &[("apps/web/values.yaml", "image: web\n")]);
//! // ... point the client at gh.url() ...
//! gh.assert_no_violations();
//! # let _ = bare;
//! ```

#![recursion_limit = "256"]

mod api;
pub mod git;
pub mod jwt;
pub mod openapi;
mod shapes;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub use openapi::{NPM_COMMAND, OPENAPI_ENV};

/// A running double. Dropping it stops the server and deletes the repositories.
pub struct GitHubDouble {
    state: Arc<State>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

/// One request the double received.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The path, still percent-encoded, without the query.
    pub path: String,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<Value>,
    /// The token from `Authorization: Bearer …` or `token …`.
    pub token: Option<String>,
    /// The matched `operationId` (e.g. `git/update-ref`); `sts/exchange` for the octo-sts
    /// endpoint; `None` when nothing matched.
    pub operation_id: Option<String>,
    /// The status the double answered with.
    pub status: u16,
}

/// A failure injected into the next ref update (`PATCH /repos/{o}/{r}/git/refs/{ref}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer 422 "Update is not a fast forward", as if another writer had moved the ref.
    NonFastForward,
    /// Answer with this 5xx status (GitHub's transient errors).
    ServerError(u16),
}

/// A pull request as the double keeps it.
#[derive(Clone, Debug)]
pub struct PullRequest {
    pub number: u64,
    pub id: u64,
    /// Head branch (same repository).
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    pub draft: bool,
    pub maintainer_can_modify: bool,
    pub labels: Vec<String>,
    pub requested_reviewers: Vec<String>,
    pub requested_teams: Vec<String>,
    pub html_url: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    /// Login of the token's user that opened it.
    pub user: String,
}

/// An octo-sts trust policy: an OIDC token with this issuer and subject may exchange
/// `identity` for a token on `scope` (`owner/repo`).
#[derive(Clone, Debug)]
pub struct StsPolicy {
    pub scope: String,
    pub identity: String,
    pub issuer: String,
    pub subject: String,
}

#[derive(Clone, Debug)]
pub(crate) enum Grant {
    /// Every repository (a configured token).
    All,
    /// Only these `owner/name` repositories (lower case); from an installation or octo-sts.
    Repos(Vec<String>),
}

#[derive(Clone, Debug)]
pub(crate) struct TokenInfo {
    pub grant: Grant,
    pub installation: Option<u64>,
    pub login: String,
}

pub(crate) struct Repo {
    pub owner: String,
    pub name: String,
    pub id: u64,
    pub default_branch: String,
    pub git: git::BareRepo,
    pub pulls: Mutex<Vec<PullRequest>>,
    pub labels: Mutex<BTreeMap<String, u64>>,
    pub created_at: i64,
}

pub(crate) struct Installation {
    pub id: u64,
    pub account: String,
    /// `owner/name`, lower case.
    pub repos: Vec<String>,
}

pub(crate) struct State {
    pub base_url: String,
    pub root: tempfile::TempDir,
    pub repos: Mutex<BTreeMap<String, Arc<Repo>>>,
    pub tokens: Mutex<HashMap<String, TokenInfo>>,
    pub app: Mutex<Option<(u64, Vec<jwt::Key>)>>,
    pub installations: Mutex<Vec<Installation>>,
    pub oidc_keys: Mutex<Vec<jwt::Key>>,
    pub sts_policies: Mutex<Vec<StsPolicy>>,
    pub log: Mutex<Vec<RecordedRequest>>,
    pub violations: Mutex<Vec<String>>,
    pub faults: Mutex<VecDeque<Fault>>,
    /// `(operation id, top-level body property)` pairs not reported as unknown.
    pub tolerated: Mutex<Vec<(String, String)>>,
    pub ids: AtomicU64,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl State {
    pub fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    pub fn violation(&self, v: String) {
        lock(&self.violations).push(v);
    }

    pub fn repo(&self, owner: &str, name: &str) -> Option<Arc<Repo>> {
        lock(&self.repos)
            .get(&format!("{owner}/{name}").to_lowercase())
            .cloned()
    }

    /// A fresh `ghs_…` token.
    pub fn mint_token(&self) -> String {
        use sha2::Digest;
        let n = self.next_id();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let h = sha2::Sha256::digest(format!("{n}:{nanos}:{}", self.base_url));
        format!("ghs_{}", &hex::encode(h)[..36])
    }
}

impl GitHubDouble {
    /// Starts the double on a free loopback port. Panics with the npm command to run if
    /// GitHub's OpenAPI description is not installed.
    pub fn start() -> GitHubDouble {
        GitHubDouble::try_start().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the double; fails if the OpenAPI description cannot be read.
    pub fn try_start() -> Result<GitHubDouble, String> {
        openapi::Spec::shared()?;
        let server = tiny_http::Server::http("127.0.0.1:0")
            .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or("server has no IP address")?;
        let state = Arc::new(State {
            base_url: format!("http://127.0.0.1:{port}"),
            root: tempfile::Builder::new()
                .prefix("github-double-")
                .tempdir()
                .map_err(|e| format!("temporary directory: {e}"))?,
            repos: Mutex::default(),
            tokens: Mutex::default(),
            app: Mutex::default(),
            installations: Mutex::default(),
            oidc_keys: Mutex::default(),
            sts_policies: Mutex::default(),
            log: Mutex::default(),
            violations: Mutex::default(),
            faults: Mutex::default(),
            tolerated: Mutex::default(),
            ids: AtomicU64::new(1000),
        });
        let server = Arc::new(server);
        let thread = {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                for rq in server.incoming_requests() {
                    let state = Arc::clone(&state);
                    std::thread::spawn(move || serve(&state, rq));
                }
            })
        };
        Ok(GitHubDouble {
            state,
            server,
            thread: Some(thread),
        })
    }

    /// The API base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.state.base_url
    }

    /// Accepts `token` for every repository (like a broad personal access token; use it as
    /// the workflow's `GITHUB_TOKEN`).
    pub fn add_token(&self, token: &str) {
        self.add_token_info(token, Grant::All, None);
    }

    /// Accepts `token` for the listed `owner/name` repositories only; others answer 404.
    pub fn add_token_for(&self, token: &str, repos: &[&str]) {
        let repos = repos.iter().map(|r| r.to_lowercase()).collect();
        self.add_token_info(token, Grant::Repos(repos), None);
    }

    fn add_token_info(&self, token: &str, grant: Grant, installation: Option<u64>) {
        lock(&self.state.tokens).insert(
            token.to_string(),
            TokenInfo {
                grant,
                installation,
                login: "github-actions[bot]".into(),
            },
        );
    }

    /// Creates the bare repository `owner/name` with default branch `main` and, when
    /// `files` is not empty, one initial commit holding them. Returns its path.
    pub fn add_repo(&self, owner: &str, name: &str, files: &[(&str, &str)]) -> PathBuf {
        self.add_repo_with_branch(owner, name, "main", files)
    }

    /// [`GitHubDouble::add_repo`] with another default branch.
    pub fn add_repo_with_branch(
        &self,
        owner: &str,
        name: &str,
        default_branch: &str,
        files: &[(&str, &str)],
    ) -> PathBuf {
        let path = self
            .state
            .root
            .path()
            .join(owner)
            .join(format!("{name}.git"));
        let repo = git::BareRepo::init(&path, default_branch).unwrap_or_else(|e| panic!("{e}"));
        if !files.is_empty() {
            let edits: Vec<git::TreeEdit> = files
                .iter()
                .map(|(p, c)| git::TreeEdit {
                    path: p.to_string(),
                    mode: "100644".into(),
                    sha: Some(
                        repo.write_blob(c.as_bytes())
                            .unwrap_or_else(|e| panic!("{e}")),
                    ),
                })
                .collect();
            let tree = repo
                .edit_tree(None, &edits)
                .unwrap_or_else(|e| panic!("{e}"));
            let who = git::Signature {
                name: "Initial Author".into(),
                email: "initial@example.com".into(),
                time: 1_700_000_000,
                tz: "+0000".into(),
            };
            let commit = repo
                .commit_tree(&tree, &[], "initial commit\n", &who, &who)
                .unwrap_or_else(|e| panic!("{e}"));
            repo.update_ref(&format!("refs/heads/{default_branch}"), &commit, git::ZERO)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let id = self.state.next_id();
        lock(&self.state.repos).insert(
            format!("{owner}/{name}").to_lowercase(),
            Arc::new(Repo {
                owner: owner.to_string(),
                name: name.to_string(),
                id,
                default_branch: default_branch.to_string(),
                git: repo,
                pulls: Mutex::default(),
                labels: Mutex::default(),
                created_at: now(),
            }),
        );
        path
    }

    /// The bare repository behind `owner/name`.
    pub fn repo_path(&self, owner: &str, name: &str) -> PathBuf {
        self.state
            .repo(owner, name)
            .unwrap_or_else(|| panic!("no repository {owner}/{name} in the double"))
            .git
            .path
            .clone()
    }

    /// Runs `git` in the bare repository of `owner/name` and returns its stdout; panics on
    /// failure.
    pub fn git(&self, owner: &str, name: &str, args: &[&str]) -> String {
        let repo = self
            .state
            .repo(owner, name)
            .unwrap_or_else(|| panic!("no repository {owner}/{name} in the double"));
        String::from_utf8_lossy(&repo.git.git(args, None).unwrap_or_else(|e| panic!("{e}")))
            .into_owned()
    }

    /// Configures the GitHub App whose JWTs (RS256, `iss` = `app_id`) are accepted, by its
    /// public key in PEM.
    pub fn set_app(&self, app_id: u64, public_key_pem: &str) {
        let key = jwt::key_from_pem(public_key_pem).unwrap_or_else(|e| panic!("{e}"));
        *lock(&self.state.app) = Some((app_id, vec![key]));
    }

    /// Declares installation `id` of the App on `account`, covering `repos` (names of
    /// repositories owned by `account`).
    pub fn add_installation(&self, id: u64, account: &str, repos: &[&str]) {
        lock(&self.state.installations).push(Installation {
            id,
            account: account.to_string(),
            repos: repos
                .iter()
                .map(|r| format!("{account}/{r}").to_lowercase())
                .collect(),
        });
    }

    /// Accepts OIDC tokens signed by the RSA keys of this JWKS document.
    pub fn set_oidc_jwks(&self, jwks: &Value) {
        *lock(&self.state.oidc_keys) = jwt::keys_from_jwks(jwks).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Accepts OIDC tokens signed by this RSA public key (PEM).
    pub fn set_oidc_public_key(&self, pem: &str) {
        *lock(&self.state.oidc_keys) =
            vec![jwt::key_from_pem(pem).unwrap_or_else(|e| panic!("{e}"))];
    }

    /// Adds an octo-sts trust policy.
    pub fn add_sts_policy(&self, policy: StsPolicy) {
        lock(&self.state.sts_policies).push(policy);
    }

    /// Makes the next ref updates fail, one fault each, in order.
    pub fn inject_ref_update_faults(&self, faults: &[Fault]) {
        lock(&self.state.faults).extend(faults.iter().copied());
    }

    /// Makes the next `n` ref updates fail with `fault`.
    pub fn fail_next_ref_updates(&self, n: usize, fault: Fault) {
        self.inject_ref_update_faults(&vec![fault; n]);
    }

    /// Stops reporting the top-level request body property `property` of `operation_id`
    /// as unknown. For known client quirks that GitHub ignores; octocrab 0.54, for one,
    /// sends `pull_number` in the body of `PATCH /repos/{o}/{r}/pulls/{n}` (`pulls/update`).
    pub fn tolerate_unknown_body_property(&self, operation_id: &str, property: &str) {
        lock(&self.state.tolerated).push((operation_id.to_string(), property.to_string()));
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.log).clone()
    }

    /// How many requests matched `operation_id` (e.g. `git/update-ref`, `pulls/create`).
    pub fn request_count(&self, operation_id: &str) -> usize {
        lock(&self.state.log)
            .iter()
            .filter(|r| r.operation_id.as_deref() == Some(operation_id))
            .count()
    }

    /// Request counts per operation (`None` key: requests that matched nothing).
    pub fn request_counts(&self) -> BTreeMap<Option<String>, usize> {
        let mut out = BTreeMap::new();
        for r in lock(&self.state.log).iter() {
            *out.entry(r.operation_id.clone()).or_insert(0) += 1;
        }
        out
    }

    /// Requests or responses that GitHub's OpenAPI description does not allow.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.state.violations).clone()
    }

    /// Panics listing every violation, if any.
    #[track_caller]
    pub fn assert_no_violations(&self) {
        let v = self.violations();
        if !v.is_empty() {
            panic!(
                "the GitHub double recorded {} OpenAPI violation(s):\n  - {}",
                v.len(),
                v.join("\n  - ")
            );
        }
    }

    /// The pull requests of `owner/name`, by number.
    pub fn pulls(&self, owner: &str, name: &str) -> Vec<PullRequest> {
        self.state
            .repo(owner, name)
            .map(|r| lock(&r.pulls).clone())
            .unwrap_or_default()
    }
}

impl Drop for GitHubDouble {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a handler answers.
pub(crate) struct Response {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
    /// Not checked against the description (auth failures, injected faults).
    pub exempt: bool,
}

impl Response {
    pub fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            body: Some(body),
            headers: Vec::new(),
            exempt: false,
        }
    }

    pub fn empty(status: u16) -> Response {
        Response {
            status,
            body: None,
            headers: Vec::new(),
            exempt: false,
        }
    }

    /// GitHub's error body: `{"message", "documentation_url", "status"}`.
    pub fn error(status: u16, message: &str) -> Response {
        Response::json(
            status,
            serde_json::json!({
                "message": message,
                "documentation_url": "https://docs.github.com/rest",
                "status": status.to_string(),
            }),
        )
    }

    pub fn exempt(mut self) -> Response {
        self.exempt = true;
        self
    }
}

/// The token of an `Authorization: Bearer <t>` or `token <t>` header.
fn bearer(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" | "token" => Some(token.trim().to_string()),
        _ => None,
    }
}

fn serve(state: &State, mut rq: tiny_http::Request) {
    let method = rq.method().as_str().to_ascii_uppercase();
    let url = rq.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let path = path.to_string();
    let query = openapi::decode_query(query);
    let token = rq
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| bearer(h.value.as_str()));
    let mut raw = Vec::new();
    let read = rq.as_reader().read_to_end(&mut raw);
    let (body, response, operation_id) = match read {
        Err(e) => (
            None,
            Response::error(400, &format!("cannot read body: {e}")),
            None,
        ),
        Ok(_) if raw.iter().all(u8::is_ascii_whitespace) => {
            let (r, op) = api::respond(state, &method, &path, &query, None, token.as_deref());
            (None, r, op)
        }
        Ok(_) => match serde_json::from_slice::<Value>(&raw) {
            Ok(v) => {
                let (r, op) =
                    api::respond(state, &method, &path, &query, Some(&v), token.as_deref());
                (Some(v), r, op)
            }
            Err(e) => {
                state.violation(format!("{method} {path}: request body is not JSON: {e}"));
                (None, Response::error(400, "Problems parsing JSON"), None)
            }
        },
    };
    lock(&state.log).push(RecordedRequest {
        method,
        path,
        query,
        body,
        token,
        operation_id,
        status: response.status,
    });
    let data = response
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    let mut out = tiny_http::Response::from_data(data).with_status_code(response.status);
    let mut headers = response.headers;
    if response.body.is_some() {
        headers.push((
            "Content-Type".into(),
            "application/json; charset=utf-8".into(),
        ));
    }
    headers.push((
        "X-GitHub-Media-Type".into(),
        "github.v3; format=json".into(),
    ));
    for (k, v) in headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            out.add_header(h);
        }
    }
    let _ = rq.respond(out);
}
