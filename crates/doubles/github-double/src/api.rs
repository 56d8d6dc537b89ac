//! Request handling: OpenAPI matching and checks, authentication, and one handler per
//! operation.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::git::{self, ZERO};
use crate::openapi::{Matched, Spec};
use crate::shapes;
use crate::{Fault, Grant, PullRequest, Repo, Response, State, TokenInfo, lock, now};

/// Statuses GitHub may answer on any operation, whether or not it declares them.
const ALWAYS_ALLOWED: &[u16] = &[401, 403, 404];

/// Handles one request; returns the response and the matched operation id.
pub fn respond(
    state: &State,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
    token: Option<&str>,
) -> (Response, Option<String>) {
    if path.starts_with("/sts/") {
        return (
            sts_exchange(state, method, path, query, token),
            Some("sts/exchange".into()),
        );
    }
    let spec = match Spec::shared() {
        Ok(s) => s,
        Err(e) => return (Response::error(500, &e), None),
    };
    let Some(m) = spec.find(method, path) else {
        state.violation(format!(
            "{method} {path}: no operation in GitHub's OpenAPI description"
        ));
        return (Response::error(404, "Not Found").exempt(), None);
    };
    let op = m.operation_id.clone();
    let mut problems = spec.check_request(&m, query, body);
    {
        let tolerated = lock(&state.tolerated);
        problems.retain(|p| {
            !tolerated
                .iter()
                .any(|(o, prop)| *o == op && *p == format!("body: unknown property `{prop}`"))
        });
    }
    if !problems.is_empty() {
        for p in &problems {
            state.violation(format!("{method} {path} ({op}): request: {p}"));
        }
        let r = Response::json(
            422,
            json!({
                "message": format!("Invalid request.\n\n{}", problems.join("\n")),
                "documentation_url": "https://docs.github.com/rest",
                "status": "422",
            }),
        );
        return (r.exempt(), Some(op));
    }
    let ctx = Ctx {
        state,
        m: &m,
        query,
        body: body.cloned().unwrap_or(Value::Null),
        token,
    };
    let response = ctx.dispatch();
    if !response.exempt {
        match spec.response_schema(&m, response.status) {
            None if !ALWAYS_ALLOWED.contains(&response.status) => state.violation(format!(
                "{method} {path} ({op}): response status {} is not declared",
                response.status
            )),
            None => {}
            Some(schema) => {
                let mut errors = Vec::new();
                match (&response.body, schema.is_null()) {
                    (Some(b), false) => spec.validate(schema, b, "response", false, &mut errors),
                    (Some(_), true) => errors.push("response has a body; none declared".into()),
                    (None, false) => errors.push("response has no body; one declared".into()),
                    (None, true) => {}
                }
                for e in errors {
                    state.violation(format!(
                        "{method} {path} ({op}): response {}: {e}",
                        response.status
                    ));
                }
            }
        }
    }
    (response, Some(op))
}

struct Ctx<'a> {
    state: &'a State,
    m: &'a Matched,
    query: &'a [(String, String)],
    body: Value,
    token: Option<&'a str>,
}

type Result<T> = std::result::Result<T, Response>;

fn unauthorized() -> Response {
    Response::error(401, "Bad credentials").exempt()
}

fn not_found() -> Response {
    Response::error(404, "Not Found")
}

fn unprocessable(message: &str) -> Response {
    Response::error(422, message)
}

fn internal(e: String) -> Response {
    Response::error(500, &e).exempt()
}

impl Ctx<'_> {
    fn param(&self, name: &str) -> &str {
        self.m.params.get(name).map(String::as_str).unwrap_or("")
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn dispatch(&self) -> Response {
        let r = match self.m.operation_id.as_str() {
            "apps/create-installation-access-token" => self.create_installation_token(),
            "apps/get-repo-installation" => self.get_repo_installation(),
            "apps/revoke-installation-access-token" => self.revoke_token(),
            op => self.repo_op(op),
        };
        r.unwrap_or_else(|e| e)
    }

    fn token_info(&self) -> Result<TokenInfo> {
        let token = self
            .token
            .ok_or_else(|| Response::error(401, "Requires authentication").exempt())?;
        lock(&self.state.tokens)
            .get(token)
            .cloned()
            .ok_or_else(unauthorized)
    }

    /// Authenticates, finds the repository and checks the token may use it.
    fn repo(&self) -> Result<(Arc<Repo>, TokenInfo)> {
        let info = self.token_info()?;
        let (owner, name) = (self.param("owner"), self.param("repo"));
        let full = format!("{owner}/{name}").to_lowercase();
        if let Grant::Repos(repos) = &info.grant
            && !repos.contains(&full)
        {
            return Err(not_found().exempt());
        }
        let repo = self.state.repo(owner, name).ok_or_else(not_found)?;
        Ok((repo, info))
    }

    fn repo_op(&self, op: &str) -> Result<Response> {
        let (repo, info) = self.repo()?;
        let repo = &*repo;
        match op {
            "repos/get" => Ok(Response::json(200, shapes::repository(self.state, repo))),
            "repos/get-content" => self.get_content(repo),
            "git/get-ref" => self.get_ref(repo),
            "git/create-blob" => self.create_blob(repo),
            "git/get-blob" => self.get_blob(repo),
            "git/create-tree" => self.create_tree(repo),
            "git/get-tree" => self.get_tree(repo),
            "git/create-commit" => self.create_commit(repo, &info),
            "git/get-commit" => self.get_commit(repo),
            "git/create-ref" => self.create_ref(repo),
            "git/update-ref" => self.update_ref(repo),
            "git/delete-ref" => self.delete_ref(repo),
            "repos/list-commits" => self.list_commits(repo),
            "repos/compare-commits-with-basehead" => self.compare(repo),
            "pulls/list" => self.list_pulls(repo),
            "pulls/create" => self.create_pull(repo, &info),
            "pulls/get" => self.get_pull(repo),
            "pulls/update" => self.update_pull(repo),
            "pulls/list-files" => self.list_pull_files(repo),
            "issues/add-labels" => self.add_labels(repo),
            "pulls/request-reviewers" => self.request_reviewers(repo),
            other => {
                self.state.violation(format!(
                    "{} {} ({other}): in GitHub's description but not implemented by the double",
                    self.m.method, self.m.template
                ));
                Err(not_found().exempt())
            }
        }
    }

    // ---- contents ------------------------------------------------------------------

    /// Resolves a branch, tag or sha the way GitHub's `ref`/`sha` parameters do.
    fn resolve_rev(repo: &Repo, rev: &str) -> Option<String> {
        for candidate in [
            format!("refs/heads/{rev}"),
            format!("refs/tags/{rev}"),
            rev.to_string(),
        ] {
            if let Some(sha) = repo.git.rev_parse(&format!("{candidate}^{{commit}}")) {
                return Some(sha);
            }
        }
        None
    }

    fn get_content(&self, repo: &Repo) -> Result<Response> {
        let git_ref = self
            .query("ref")
            .map(str::to_string)
            .unwrap_or_else(|| repo.default_branch.clone());
        let commit = Self::resolve_rev(repo, &git_ref).ok_or_else(|| {
            Response::error(404, &format!("No commit found for the ref {git_ref}"))
        })?;
        let path = self.param("path").trim_matches('/').to_string();
        let (parent, leaf) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        let listed = if parent.is_empty() {
            commit.clone()
        } else {
            format!("{commit}:{parent}")
        };
        let entry = repo
            .git
            .ls_tree(&listed, false)
            .ok()
            .and_then(|entries| entries.into_iter().find(|e| e.path == leaf))
            .ok_or_else(not_found)?;
        match entry.kind.as_str() {
            "blob" => {
                let data = repo.git.cat("blob", &entry.sha).map_err(internal)?;
                Ok(Response::json(
                    200,
                    shapes::content(
                        self.state,
                        repo,
                        &git_ref,
                        &shapes::ContentItem {
                            path: &path,
                            kind: "file",
                            sha: &entry.sha,
                            size: data.len() as u64,
                            data: Some(&data),
                        },
                    ),
                ))
            }
            "tree" => {
                let items = repo.git.ls_tree(&entry.sha, false).map_err(internal)?;
                let list: Vec<Value> = items
                    .iter()
                    .map(|e| {
                        let kind = match e.kind.as_str() {
                            "tree" => "dir",
                            "commit" => "submodule",
                            _ if e.mode == "120000" => "symlink",
                            _ => "file",
                        };
                        shapes::content(
                            self.state,
                            repo,
                            &git_ref,
                            &shapes::ContentItem {
                                path: &format!("{path}/{}", e.path),
                                kind,
                                sha: &e.sha,
                                size: e.size.unwrap_or(0),
                                data: None,
                            },
                        )
                    })
                    .collect();
                Ok(Response::json(200, Value::Array(list)))
            }
            _ => Err(not_found()),
        }
    }

    // ---- git database --------------------------------------------------------------

    fn ref_json(&self, repo: &Repo, refname: &str, sha: &str) -> Value {
        let api = shapes::repo_api(self.state, repo);
        let kind = repo.git.object_type(sha).unwrap_or_else(|| "commit".into());
        json!({
            "ref": refname,
            "node_id": shapes::node_id("Ref", refname),
            "url": format!("{api}/git/{refname}"),
            "object": {
                "type": kind,
                "sha": sha,
                "url": format!("{api}/git/{kind}s/{sha}"),
            },
        })
    }

    fn get_ref(&self, repo: &Repo) -> Result<Response> {
        let refname = format!("refs/{}", self.param("ref"));
        let sha = repo.git.rev_parse(&refname).ok_or_else(not_found)?;
        Ok(Response::json(200, self.ref_json(repo, &refname, &sha)))
    }

    fn create_blob(&self, repo: &Repo) -> Result<Response> {
        let content = self.body["content"].as_str().unwrap_or_default();
        let data = match self.body["encoding"].as_str().unwrap_or("utf-8") {
            "utf-8" | "utf8" => content.as_bytes().to_vec(),
            "base64" => STANDARD
                .decode(content.replace(['\n', '\r'], ""))
                .map_err(|_| unprocessable("content is not valid Base64"))?,
            other => {
                return Err(unprocessable(&format!(
                    "encoding must be utf-8 or base64, not {other}"
                )));
            }
        };
        let sha = repo.git.write_blob(&data).map_err(internal)?;
        let url = format!("{}/git/blobs/{sha}", shapes::repo_api(self.state, repo));
        Ok(Response::json(201, json!({"sha": sha, "url": url})))
    }

    fn get_blob(&self, repo: &Repo) -> Result<Response> {
        let sha = self.param("file_sha");
        if repo.git.object_type(sha).as_deref() != Some("blob") {
            return Err(not_found());
        }
        let data = repo.git.cat("blob", sha).map_err(internal)?;
        Ok(Response::json(
            200,
            json!({
                "sha": sha,
                "node_id": shapes::node_id("Blob", sha),
                "size": data.len(),
                "url": format!("{}/git/blobs/{sha}", shapes::repo_api(self.state, repo)),
                "content": STANDARD.encode(&data),
                "encoding": "base64",
            }),
        ))
    }

    fn tree_json(&self, repo: &Repo, sha: &str, recursive: bool) -> Result<Value> {
        let api = shapes::repo_api(self.state, repo);
        let entries = repo.git.ls_tree(sha, recursive).map_err(internal)?;
        let tree: Vec<Value> = entries
            .iter()
            .map(|e| {
                let mut v = json!({
                    "path": e.path,
                    "mode": e.mode,
                    "type": e.kind,
                    "sha": e.sha,
                });
                if e.kind != "commit" {
                    v["url"] = json!(format!("{api}/git/{}s/{}", e.kind, e.sha));
                }
                if let Some(size) = e.size {
                    v["size"] = json!(size);
                }
                v
            })
            .collect();
        Ok(json!({
            "sha": sha,
            "url": format!("{api}/git/trees/{sha}"),
            "tree": tree,
            "truncated": false,
        }))
    }

    fn create_tree(&self, repo: &Repo) -> Result<Response> {
        let base = match self.body["base_tree"].as_str() {
            None => None,
            Some(b) => Some(
                repo.git
                    .rev_parse(&format!("{b}^{{tree}}"))
                    .ok_or_else(|| unprocessable("Invalid tree info"))?,
            ),
        };
        let mut edits = Vec::new();
        for e in self.body["tree"].as_array().into_iter().flatten() {
            let path = e["path"].as_str().unwrap_or_default().to_string();
            let mode = e["mode"].as_str().unwrap_or("100644").to_string();
            if !["100644", "100755", "040000", "160000", "120000"].contains(&mode.as_str()) {
                return Err(unprocessable(&format!("Invalid tree info: mode {mode}")));
            }
            if mode == "040000" || e["type"] == "tree" {
                // The private-index approach cannot graft a whole tree; GitHub can.
                return Err(unprocessable(
                    "the GitHub double does not support tree entries of type tree",
                ));
            }
            let sha = if let Some(content) = e["content"].as_str() {
                Some(repo.git.write_blob(content.as_bytes()).map_err(internal)?)
            } else if e["sha"].is_null() {
                None
            } else {
                let sha = e["sha"].as_str().unwrap_or_default().to_string();
                let expected = if mode == "160000" { "commit" } else { "blob" };
                if mode != "160000" && repo.git.object_type(&sha).as_deref() != Some(expected) {
                    return Err(unprocessable(&format!(
                        "Invalid tree info: {sha} is not a {expected}"
                    )));
                }
                Some(sha)
            };
            edits.push(git::TreeEdit { path, mode, sha });
        }
        let sha = repo
            .git
            .edit_tree(base.as_deref(), &edits)
            .map_err(|e| unprocessable(&format!("Invalid tree info: {e}")))?;
        Ok(Response::json(201, self.tree_json(repo, &sha, false)?))
    }

    fn get_tree(&self, repo: &Repo) -> Result<Response> {
        let sha = repo
            .git
            .rev_parse(&format!("{}^{{tree}}", self.param("tree_sha")))
            .ok_or_else(not_found)?;
        let recursive = self.query("recursive").is_some();
        Ok(Response::json(200, self.tree_json(repo, &sha, recursive)?))
    }

    fn signature(v: &Value, default: &git::Signature) -> Result<git::Signature> {
        if !v.is_object() {
            return Ok(default.clone());
        }
        let (time, tz) = match v["date"].as_str() {
            None => (default.time, default.tz.clone()),
            Some(d) => {
                git::parse_iso8601(d).ok_or_else(|| unprocessable(&format!("Invalid date {d}")))?
            }
        };
        Ok(git::Signature {
            name: v["name"].as_str().unwrap_or(&default.name).to_string(),
            email: v["email"].as_str().unwrap_or(&default.email).to_string(),
            time,
            tz,
        })
    }

    fn create_commit(&self, repo: &Repo, info: &TokenInfo) -> Result<Response> {
        let tree = self.body["tree"].as_str().unwrap_or_default();
        if repo.git.object_type(tree).as_deref() != Some("tree") {
            return Err(unprocessable("Tree SHA does not exist"));
        }
        let mut parents = Vec::new();
        for p in self.body["parents"].as_array().into_iter().flatten() {
            let p = p.as_str().unwrap_or_default();
            if repo.git.object_type(p).as_deref() != Some("commit") {
                return Err(unprocessable(
                    "Parent SHA does not exist or is not a commit object",
                ));
            }
            parents.push(p.to_string());
        }
        let default = git::Signature {
            name: info.login.clone(),
            email: format!("{}@users.noreply.github.com", info.login),
            time: now(),
            tz: "+0000".into(),
        };
        let author = Self::signature(&self.body["author"], &default)?;
        let committer = Self::signature(&self.body["committer"], &author)?;
        let message = self.body["message"].as_str().unwrap_or_default();
        let sha = repo
            .git
            .commit_tree(tree, &parents, message, &author, &committer)
            .map_err(internal)?;
        let c = repo.git.commit(&sha).map_err(internal)?;
        Ok(Response::json(
            201,
            shapes::git_commit(self.state, repo, &c),
        ))
    }

    fn get_commit(&self, repo: &Repo) -> Result<Response> {
        let sha = self.param("commit_sha");
        if repo.git.object_type(sha).as_deref() != Some("commit") {
            return Err(not_found());
        }
        let c = repo.git.commit(sha).map_err(internal)?;
        Ok(Response::json(
            200,
            shapes::git_commit(self.state, repo, &c),
        ))
    }

    fn create_ref(&self, repo: &Repo) -> Result<Response> {
        let refname = self.body["ref"].as_str().unwrap_or_default();
        let sha = self.body["sha"].as_str().unwrap_or_default();
        if !refname.starts_with("refs/") || refname.matches('/').count() < 2 {
            return Err(unprocessable("Reference name is invalid"));
        }
        if repo.git.object_type(sha).is_none() {
            return Err(unprocessable("Object does not exist"));
        }
        repo.git
            .update_ref(refname, sha, ZERO)
            .map_err(|_| unprocessable("Reference already exists"))?;
        Ok(Response::json(201, self.ref_json(repo, refname, sha)))
    }

    fn update_ref(&self, repo: &Repo) -> Result<Response> {
        if let Some(fault) = lock(&self.state.faults).pop_front() {
            return Err(match fault {
                Fault::NonFastForward => unprocessable("Update is not a fast forward"),
                Fault::ServerError(status) => Response::error(status, "Server Error").exempt(),
            });
        }
        let refname = format!("refs/{}", self.param("ref"));
        let new = self.body["sha"].as_str().unwrap_or_default();
        let force = self.body["force"].as_bool().unwrap_or(false);
        let current = repo
            .git
            .rev_parse(&refname)
            .ok_or_else(|| unprocessable("Reference does not exist"))?;
        if repo.git.object_type(new).is_none() {
            return Err(unprocessable("Object does not exist"));
        }
        if !force && !repo.git.is_ancestor(&current, new) {
            return Err(unprocessable("Update is not a fast forward"));
        }
        // The old value makes the update atomic: if another writer moved the ref since we
        // read it, git refuses, and so do we, as GitHub does.
        repo.git
            .update_ref(&refname, new, &current)
            .map_err(|_| unprocessable("Update is not a fast forward"))?;
        Ok(Response::json(200, self.ref_json(repo, &refname, new)))
    }

    fn delete_ref(&self, repo: &Repo) -> Result<Response> {
        let refname = format!("refs/{}", self.param("ref"));
        let current = repo
            .git
            .rev_parse(&refname)
            .ok_or_else(|| Response::empty(422))?;
        repo.git
            .delete_ref(&refname, &current)
            .map_err(|_| Response::empty(422))?;
        Ok(Response::empty(204))
    }

    // ---- commits and compare -------------------------------------------------------

    fn page(&self) -> (usize, usize) {
        let per_page = self
            .query("per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(30usize)
            .clamp(1, 100);
        let page = self
            .query("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1usize)
            .max(1);
        (per_page, page)
    }

    /// One page of `items` and GitHub's `Link` header for the others.
    fn paginate(&self, items: Vec<Value>) -> Response {
        let (per_page, page) = self.page();
        let total = items.len();
        let last = total.div_ceil(per_page).max(1);
        let slice: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let mut links = Vec::new();
        let url = |p: usize| {
            let mut q: Vec<String> = self
                .query
                .iter()
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| format!("{k}={}", bitvault_http::percent_encode(v)))
                .collect();
            q.push(format!("page={p}"));
            let path = self
                .m
                .params
                .iter()
                .fold(self.m.template.clone(), |t, (k, v)| {
                    t.replace(&format!("{{{k}}}"), v)
                });
            format!("<{}{}?{}>", self.state.base_url, path, q.join("&"))
        };
        if page < last {
            links.push(format!("{}; rel=\"next\"", url(page + 1)));
            links.push(format!("{}; rel=\"last\"", url(last)));
        }
        if page > 1 {
            links.push(format!("{}; rel=\"first\"", url(1)));
            links.push(format!("{}; rel=\"prev\"", url(page - 1)));
        }
        let mut r = Response::json(200, Value::Array(slice));
        if !links.is_empty() {
            r.headers.push(("Link".into(), links.join(", ")));
        }
        r
    }

    fn list_commits(&self, repo: &Repo) -> Result<Response> {
        let rev = self.query("sha").unwrap_or(&repo.default_branch);
        let head = Self::resolve_rev(repo, rev).ok_or_else(not_found)?;
        let shas = repo.git.log(&head, self.query("path")).map_err(internal)?;
        let mut items = Vec::new();
        for sha in shas {
            let c = repo.git.commit(&sha).map_err(internal)?;
            items.push(shapes::commit(self.state, repo, &c));
        }
        Ok(self.paginate(items))
    }

    fn compare(&self, repo: &Repo) -> Result<Response> {
        let basehead = self.param("basehead");
        let (base, head) = basehead
            .split_once("...")
            .or_else(|| basehead.split_once(".."))
            .ok_or_else(not_found)?;
        let strip = |s: &str| {
            s.rsplit_once(':')
                .map(|(_, b)| b.to_string())
                .unwrap_or(s.into())
        };
        let base_sha = Self::resolve_rev(repo, &strip(base)).ok_or_else(not_found)?;
        let head_sha = Self::resolve_rev(repo, &strip(head)).ok_or_else(not_found)?;
        let merge_base = repo
            .git
            .merge_base(&base_sha, &head_sha)
            .ok_or_else(not_found)?;
        let ahead = repo.git.range(&base_sha, &head_sha).map_err(internal)?;
        let behind = repo.git.range(&head_sha, &base_sha).map_err(internal)?;
        let status = match (ahead.len(), behind.len()) {
            (0, 0) => "identical",
            (_, 0) => "ahead",
            (0, _) => "behind",
            _ => "diverged",
        };
        let mut commits = Vec::new();
        for sha in &ahead {
            commits.push(shapes::commit(
                self.state,
                repo,
                &repo.git.commit(sha).map_err(internal)?,
            ));
        }
        let files: Vec<Value> = repo
            .git
            .diff(&merge_base, &head_sha)
            .map_err(internal)?
            .iter()
            .map(|f| shapes::diff_entry(self.state, repo, &head_sha, f))
            .collect();
        let api = shapes::repo_api(self.state, repo);
        let html = shapes::repo_html(self.state, repo);
        let commit_of = |sha: &str| -> Result<Value> {
            Ok(shapes::commit(
                self.state,
                repo,
                &repo.git.commit(sha).map_err(internal)?,
            ))
        };
        Ok(Response::json(
            200,
            json!({
                "url": format!("{api}/compare/{basehead}"),
                "html_url": format!("{html}/compare/{basehead}"),
                "permalink_url": format!("{html}/compare/{base_sha}...{head_sha}"),
                "diff_url": format!("{html}/compare/{basehead}.diff"),
                "patch_url": format!("{html}/compare/{basehead}.patch"),
                "base_commit": commit_of(&base_sha)?,
                "merge_base_commit": commit_of(&merge_base)?,
                "status": status,
                "ahead_by": ahead.len(),
                "behind_by": behind.len(),
                "total_commits": ahead.len(),
                "commits": commits,
                "files": files,
            }),
        ))
    }

    // ---- pull requests -------------------------------------------------------------

    fn stats(&self, repo: &Repo, p: &PullRequest) -> Result<shapes::PullStats> {
        let head_sha = Self::resolve_rev(repo, &p.head).unwrap_or_else(|| ZERO.into());
        let base_sha = Self::resolve_rev(repo, &p.base).unwrap_or_else(|| ZERO.into());
        let (mut commits, mut additions, mut deletions, mut changed_files) = (0, 0, 0, 0);
        if let Some(mb) = repo.git.merge_base(&base_sha, &head_sha) {
            commits = repo
                .git
                .range(&base_sha, &head_sha)
                .map_err(internal)?
                .len();
            let diff = repo.git.diff(&mb, &head_sha).map_err(internal)?;
            changed_files = diff.len();
            additions = diff.iter().map(|f| f.additions).sum();
            deletions = diff.iter().map(|f| f.deletions).sum();
        }
        Ok(shapes::PullStats {
            head_sha,
            base_sha,
            commits,
            additions,
            deletions,
            changed_files,
        })
    }

    fn pull_json(&self, repo: &Repo, p: &PullRequest, full: bool) -> Result<Value> {
        let stats = self.stats(repo, p)?;
        Ok(shapes::pull(self.state, repo, p, &stats, full))
    }

    fn number(&self) -> u64 {
        let n = self
            .m
            .params
            .get("pull_number")
            .or(self.m.params.get("issue_number"));
        n.and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    fn find_pull(&self, repo: &Repo) -> Result<PullRequest> {
        let n = self.number();
        lock(&repo.pulls)
            .iter()
            .find(|p| p.number == n)
            .cloned()
            .ok_or_else(not_found)
    }

    fn head_branch<'b>(&self, repo: &Repo, head: &'b str) -> Result<&'b str> {
        match head.split_once(':') {
            None => Ok(head),
            Some((owner, branch)) if owner.eq_ignore_ascii_case(&repo.owner) => Ok(branch),
            Some(_) => Err(unprocessable(
                "the GitHub double does not support pull requests from forks",
            )),
        }
    }

    fn list_pulls(&self, repo: &Repo) -> Result<Response> {
        let state = self.query("state").unwrap_or("open");
        let head = self
            .query("head")
            .map(|h| self.head_branch(repo, h).map(str::to_string).ok());
        let base = self.query("base");
        let mut pulls: Vec<PullRequest> = lock(&repo.pulls)
            .iter()
            .filter(|p| state == "all" || p.state == state)
            .filter(|p| match &head {
                None => true,
                Some(h) => h.as_deref() == Some(p.head.as_str()),
            })
            .filter(|p| base.is_none_or(|b| b == p.base))
            .cloned()
            .collect();
        pulls.sort_by_key(|p| std::cmp::Reverse(p.number));
        if self.query("direction") == Some("asc") {
            pulls.reverse();
        }
        let mut items = Vec::new();
        for p in &pulls {
            items.push(self.pull_json(repo, p, false)?);
        }
        Ok(self.paginate(items))
    }

    fn validation_failed(field: &str, code: &str, message: Option<&str>) -> Response {
        let mut e = json!({"resource": "PullRequest", "field": field, "code": code});
        if let Some(m) = message {
            e["message"] = json!(m);
        }
        Response::json(
            422,
            json!({
                "message": "Validation Failed",
                "errors": [e],
                "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                "status": "422",
            }),
        )
    }

    fn create_pull(&self, repo: &Repo, info: &TokenInfo) -> Result<Response> {
        let Some(title) = self.body["title"].as_str() else {
            return Err(Self::validation_failed("title", "missing_field", None));
        };
        let head = self.head_branch(repo, self.body["head"].as_str().unwrap_or_default())?;
        let base = self.body["base"].as_str().unwrap_or_default();
        let head_sha = Self::resolve_rev(repo, head)
            .ok_or_else(|| Self::validation_failed("head", "invalid", None))?;
        let base_sha = Self::resolve_rev(repo, base)
            .ok_or_else(|| Self::validation_failed("base", "invalid", None))?;
        if repo
            .git
            .range(&base_sha, &head_sha)
            .map_err(internal)?
            .is_empty()
        {
            return Err(Self::validation_failed(
                "",
                "custom",
                Some(&format!("No commits between {base} and {head}")),
            ));
        }
        let pull = {
            let mut pulls = lock(&repo.pulls);
            if pulls
                .iter()
                .any(|p| p.state == "open" && p.head == head && p.base == base)
            {
                return Err(Self::validation_failed(
                    "",
                    "custom",
                    Some(&format!(
                        "A pull request already exists for {}:{head}.",
                        repo.owner
                    )),
                ));
            }
            let number = pulls.len() as u64 + 1;
            let t = now();
            let pull = PullRequest {
                number,
                id: self.state.next_id(),
                head: head.to_string(),
                base: base.to_string(),
                title: title.to_string(),
                body: self.body["body"].as_str().map(str::to_string),
                state: "open".into(),
                draft: self.body["draft"].as_bool().unwrap_or(false),
                maintainer_can_modify: self.body["maintainer_can_modify"].as_bool().unwrap_or(true),
                labels: Vec::new(),
                requested_reviewers: Vec::new(),
                requested_teams: Vec::new(),
                html_url: format!("{}/pull/{number}", shapes::repo_html(self.state, repo)),
                created_at: t,
                updated_at: t,
                closed_at: None,
                user: info.login.clone(),
            };
            pulls.push(pull.clone());
            pull
        };
        let mut r = Response::json(201, self.pull_json(repo, &pull, true)?);
        r.headers.push((
            "Location".into(),
            format!(
                "{}/pulls/{}",
                shapes::repo_api(self.state, repo),
                pull.number
            ),
        ));
        Ok(r)
    }

    fn get_pull(&self, repo: &Repo) -> Result<Response> {
        let p = self.find_pull(repo)?;
        Ok(Response::json(200, self.pull_json(repo, &p, true)?))
    }

    /// Applies `f` to the pull request in the store and returns the updated copy.
    fn modify_pull(&self, repo: &Repo, f: impl FnOnce(&mut PullRequest)) -> Result<PullRequest> {
        let n = self.number();
        let mut pulls = lock(&repo.pulls);
        let p = pulls
            .iter_mut()
            .find(|p| p.number == n)
            .ok_or_else(not_found)?;
        f(p);
        p.updated_at = now();
        Ok(p.clone())
    }

    fn update_pull(&self, repo: &Repo) -> Result<Response> {
        if let Some(base) = self.body["base"].as_str()
            && Self::resolve_rev(repo, base).is_none()
        {
            return Err(Self::validation_failed("base", "invalid", None));
        }
        let b = &self.body;
        let p = self.modify_pull(repo, |p| {
            if let Some(t) = b["title"].as_str() {
                p.title = t.to_string();
            }
            if let Some(t) = b["body"].as_str() {
                p.body = Some(t.to_string());
            }
            if let Some(t) = b["base"].as_str() {
                p.base = t.to_string();
            }
            if let Some(m) = b["maintainer_can_modify"].as_bool() {
                p.maintainer_can_modify = m;
            }
            if let Some(s) = b["state"].as_str() {
                p.closed_at = (s == "closed").then(now);
                p.state = s.to_string();
            }
        })?;
        Ok(Response::json(200, self.pull_json(repo, &p, true)?))
    }

    fn list_pull_files(&self, repo: &Repo) -> Result<Response> {
        let p = self.find_pull(repo)?;
        let stats = self.stats(repo, &p)?;
        let mb = repo
            .git
            .merge_base(&stats.base_sha, &stats.head_sha)
            .unwrap_or_else(|| stats.base_sha.clone());
        let files: Vec<Value> = repo
            .git
            .diff(&mb, &stats.head_sha)
            .map_err(internal)?
            .iter()
            // GitHub lists at most 3000 files of a pull request.
            .take(3000)
            .map(|f| shapes::diff_entry(self.state, repo, &stats.head_sha, f))
            .collect();
        Ok(self.paginate(files))
    }

    fn add_labels(&self, repo: &Repo) -> Result<Response> {
        let list = match &self.body {
            Value::Object(o) => o.get("labels").cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        let names: Vec<String> = match list {
            Value::Array(a) => a
                .iter()
                .filter_map(|l| {
                    l.as_str()
                        .or_else(|| l["name"].as_str())
                        .map(str::to_string)
                })
                .collect(),
            Value::String(s) => vec![s],
            _ => Vec::new(),
        };
        {
            let mut known = lock(&repo.labels);
            for n in &names {
                if !known.contains_key(n) {
                    known.insert(n.clone(), self.state.next_id());
                }
            }
        }
        let p = self.modify_pull(repo, |p| {
            for n in &names {
                if !p.labels.contains(n) {
                    p.labels.push(n.clone());
                }
            }
        })?;
        let known = lock(&repo.labels);
        let labels: Vec<Value> = p
            .labels
            .iter()
            .map(|l| shapes::label(self.state, repo, l, known.get(l).copied().unwrap_or(0)))
            .collect();
        Ok(Response::json(200, Value::Array(labels)))
    }

    fn request_reviewers(&self, repo: &Repo) -> Result<Response> {
        let strings = |k: &str| -> Vec<String> {
            self.body[k]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        let (users, teams) = (strings("reviewers"), strings("team_reviewers"));
        let p = self.find_pull(repo)?;
        if users.iter().any(|u| u.eq_ignore_ascii_case(&p.user)) {
            // GitHub says "Review cannot be requested from pull request author." here, but
            // its OpenAPI description declares this 422 without a body: answer as declared.
            return Err(Response::empty(422));
        }
        let p = self.modify_pull(repo, |p| {
            for u in users {
                if !p.requested_reviewers.contains(&u) {
                    p.requested_reviewers.push(u);
                }
            }
            for t in teams {
                if !p.requested_teams.contains(&t) {
                    p.requested_teams.push(t);
                }
            }
        })?;
        Ok(Response::json(201, self.pull_json(repo, &p, false)?))
    }

    // ---- GitHub App ----------------------------------------------------------------

    /// Verifies the App JWT; returns the App id.
    fn app_jwt(&self) -> Result<u64> {
        let token = self.token.ok_or_else(unauthorized)?;
        let app = lock(&self.state.app).clone();
        let Some((app_id, keys)) = app else {
            return Err(Response::error(401, "no GitHub App is configured in the double").exempt());
        };
        let claims = crate::jwt::verify(token, &keys, now()).map_err(|e| {
            Response::error(401, &format!("A JSON web token could not be decoded: {e}")).exempt()
        })?;
        let iss = match &claims["iss"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        if iss != app_id.to_string() {
            return Err(Response::error(401, "'Issuer' claim ('iss') must be the App ID").exempt());
        }
        Ok(app_id)
    }

    fn create_installation_token(&self) -> Result<Response> {
        let app_id = self.app_jwt()?;
        let id: u64 = self.param("installation_id").parse().unwrap_or(0);
        let (account, installed) = {
            let installs = lock(&self.state.installations);
            let i = installs.iter().find(|i| i.id == id).ok_or_else(not_found)?;
            (i.account.clone(), i.repos.clone())
        };
        let mut repos = installed.clone();
        if let Some(names) = self.body["repositories"].as_array() {
            repos = Vec::new();
            for n in names {
                let full = format!("{account}/{}", n.as_str().unwrap_or_default()).to_lowercase();
                if !installed.contains(&full) {
                    return Err(unprocessable(
                        "There is at least one repository that does not exist or is not accessible to the parent installation.",
                    ));
                }
                repos.push(full);
            }
        }
        let token = self.state.mint_token();
        lock(&self.state.tokens).insert(
            token.clone(),
            TokenInfo {
                grant: Grant::Repos(repos.clone()),
                installation: Some(id),
                login: "bitvault[bot]".into(),
            },
        );
        let repositories: Vec<Value> = repos
            .iter()
            .filter_map(|r| {
                let (o, n) = r.split_once('/')?;
                self.state.repo(o, n)
            })
            .map(|r| shapes::repository(self.state, &r))
            .collect();
        let permissions = if self.body["permissions"].is_object() {
            self.body["permissions"].clone()
        } else {
            json!({"contents": "write", "pull_requests": "write", "metadata": "read"})
        };
        let _ = app_id;
        Ok(Response::json(
            201,
            json!({
                "token": token,
                "expires_at": crate::git::iso8601(now() + 3600),
                "permissions": permissions,
                "repository_selection": "selected",
                "repositories": repositories,
            }),
        ))
    }

    fn get_repo_installation(&self) -> Result<Response> {
        let app_id = self.app_jwt()?;
        let full = format!("{}/{}", self.param("owner"), self.param("repo")).to_lowercase();
        let installs = lock(&self.state.installations);
        let i = installs
            .iter()
            .find(|i| i.repos.contains(&full))
            .ok_or_else(not_found)?;
        let mut v = shapes::installation(self.state, i.id, &i.account);
        v["app_id"] = json!(app_id);
        Ok(Response::json(200, v))
    }

    fn revoke_token(&self) -> Result<Response> {
        let token = self.token.ok_or_else(unauthorized)?;
        let mut tokens = lock(&self.state.tokens);
        match tokens.get(token) {
            Some(t) if t.installation.is_some() => {
                tokens.remove(token);
                Ok(Response::empty(204))
            }
            _ => Err(unauthorized()),
        }
    }
}

/// The octo-sts style exchange (not a GitHub API; exempt from OpenAPI checks):
/// `GET /sts/exchange?scope=owner/repo&identity=name` with `Authorization: Bearer <OIDC>`.
fn sts_exchange(
    state: &State,
    method: &str,
    path: &str,
    query: &[(String, String)],
    token: Option<&str>,
) -> Response {
    if method != "GET" || path != "/sts/exchange" {
        return Response::error(404, "Not Found");
    }
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(scope), Some(identity)) = (q("scope"), q("identity")) else {
        return Response::error(400, "scope and identity are required");
    };
    let Some(token) = token else {
        return Response::error(401, "missing bearer token");
    };
    let keys = lock(&state.oidc_keys).clone();
    let claims = match crate::jwt::verify(token, &keys, now()) {
        Ok(c) => c,
        Err(e) => return Response::error(401, &format!("invalid OIDC token: {e}")),
    };
    let allowed = lock(&state.sts_policies).iter().any(|p| {
        p.scope.eq_ignore_ascii_case(scope)
            && p.identity == identity
            && claims["iss"] == p.issuer.as_str()
            && claims["sub"] == p.subject.as_str()
    });
    if !allowed {
        return Response::error(403, "no trust policy matches the token");
    }
    let minted = state.mint_token();
    lock(&state.tokens).insert(
        minted.clone(),
        TokenInfo {
            grant: Grant::Repos(vec![scope.to_lowercase()]),
            installation: Some(0),
            login: "octo-sts[bot]".into(),
        },
    );
    Response::json(200, json!({ "token": minted }))
}
