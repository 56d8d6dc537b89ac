//! The double driven with plain HTTP, results read back with `git`.

mod common;

use std::sync::{Arc, Barrier};

use bitvault_github_double::Fault;
use common::{TOKEN, call, call_full, call_raw, double};
use serde_json::{Value, json};

/// Creates a commit on top of `parent` changing `path`; returns its sha.
fn commit_file(
    gh: &bitvault_github_double::GitHubDouble,
    parent: &str,
    path: &str,
    content: &str,
) -> String {
    let (s, commit) = call(
        gh,
        "GET",
        &format!("/repos/acme/gitops/git/commits/{parent}"),
        None,
    );
    assert_eq!(s, 200, "{commit}");
    let base_tree = commit["tree"]["sha"].as_str().unwrap().to_string();
    let (s, blob) = call(
        gh,
        "POST",
        "/repos/acme/gitops/git/blobs",
        Some(json!({"content": content, "encoding": "utf-8"})),
    );
    assert_eq!(s, 201, "{blob}");
    let (s, tree) = call(
        gh,
        "POST",
        "/repos/acme/gitops/git/trees",
        Some(json!({
            "base_tree": base_tree,
            "tree": [{"path": path, "mode": "100644", "type": "blob", "sha": blob["sha"]}],
        })),
    );
    assert_eq!(s, 201, "{tree}");
    let (s, commit) = call(
        gh,
        "POST",
        "/repos/acme/gitops/git/commits",
        Some(json!({
            "message": format!("update {path}"),
            "tree": tree["sha"],
            "parents": [parent],
            "author": {"name": "Bump Bot", "email": "bump@example.com", "date": "2024-05-01T12:00:00Z"},
        })),
    );
    assert_eq!(s, 201, "{commit}");
    commit["sha"].as_str().unwrap().to_string()
}

fn main_sha(gh: &bitvault_github_double::GitHubDouble) -> String {
    let (s, r) = call(gh, "GET", "/repos/acme/gitops/git/ref/heads/main", None);
    assert_eq!(s, 200, "{r}");
    r["object"]["sha"].as_str().unwrap().to_string()
}

#[test]
fn branch_commit_and_pull_request_flow() {
    let gh = double();
    let (s, repo) = call(&gh, "GET", "/repos/acme/gitops", None);
    assert_eq!((s, repo["default_branch"].as_str()), (200, Some("main")));

    let (s, file) = call(
        &gh,
        "GET",
        "/repos/acme/gitops/contents/apps/web/values.yaml?ref=main",
        None,
    );
    assert_eq!(s, 200, "{file}");
    assert_eq!(file["type"], "file");
    let content = base64_decode(file["content"].as_str().unwrap());
    assert_eq!(content, "image:\n  tag: v1\n");

    let base = main_sha(&gh);
    let (s, r) = call(
        &gh,
        "POST",
        "/repos/acme/gitops/git/refs",
        Some(json!({"ref": "refs/heads/bump/web", "sha": base})),
    );
    assert_eq!(s, 201, "{r}");
    let commit = commit_file(&gh, &base, "apps/web/values.yaml", "image:\n  tag: v2\n");
    let (s, r) = call(
        &gh,
        "PATCH",
        "/repos/acme/gitops/git/refs/heads/bump/web",
        Some(json!({"sha": commit, "force": false})),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["object"]["sha"], commit.as_str());

    // The branch is real: git sees the commit, its author, and the new content.
    let log = gh.git("acme", "gitops", &["log", "--format=%H %an %s", "bump/web"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        vec![
            format!("{commit} Bump Bot update apps/web/values.yaml"),
            format!("{base} Initial Author initial commit"),
        ]
    );
    let shown = gh.git("acme", "gitops", &["show", "bump/web:apps/web/values.yaml"]);
    assert_eq!(shown, "image:\n  tag: v2\n");
    let readme = gh.git("acme", "gitops", &["show", "bump/web:README.md"]);
    assert_eq!(readme, "# gitops\n", "base_tree entries are kept");

    let (s, pulls) = call(
        &gh,
        "GET",
        "/repos/acme/gitops/pulls?head=acme:bump/web&state=open",
        None,
    );
    assert_eq!((s, pulls.as_array().map(Vec::len)), (200, Some(0)));
    let (s, pr) = call(
        &gh,
        "POST",
        "/repos/acme/gitops/pulls",
        Some(
            json!({"title": "Bump web to v2", "head": "bump/web", "base": "main", "body": "digest", "draft": false}),
        ),
    );
    assert_eq!(s, 201, "{pr}");
    assert_eq!(pr["number"], 1);
    assert_eq!(pr["head"]["sha"], commit.as_str());
    assert_eq!(pr["changed_files"], 1);
    let (s, again) = call(
        &gh,
        "POST",
        "/repos/acme/gitops/pulls",
        Some(json!({"title": "again", "head": "bump/web", "base": "main"})),
    );
    assert_eq!(
        s, 422,
        "a second open PR for the same head is refused: {again}"
    );

    let (s, labels) = call(
        &gh,
        "POST",
        "/repos/acme/gitops/issues/1/labels",
        Some(json!({"labels": ["gitops", "automated"]})),
    );
    assert_eq!((s, labels.as_array().map(Vec::len)), (200, Some(2)));
    let (s, r) = call(
        &gh,
        "POST",
        "/repos/acme/gitops/pulls/1/requested_reviewers",
        Some(json!({"reviewers": ["alice"], "team_reviewers": ["platform"]})),
    );
    assert_eq!(s, 201, "{r}");
    let (s, pr) = call(
        &gh,
        "PATCH",
        "/repos/acme/gitops/pulls/1",
        Some(json!({"title": "Bump web to v2 (updated)", "body": "new body"})),
    );
    assert_eq!(s, 200, "{pr}");
    let (s, pulls) = call(
        &gh,
        "GET",
        "/repos/acme/gitops/pulls?head=acme:bump/web&state=open",
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(pulls[0]["title"], "Bump web to v2 (updated)");
    assert_eq!(pulls[0]["requested_reviewers"][0]["login"], "alice");
    let stored = &gh.pulls("acme", "gitops")[0];
    assert_eq!(stored.labels, ["gitops", "automated"]);
    assert_eq!(stored.body.as_deref(), Some("new body"));

    let (s, files) = call(&gh, "GET", "/repos/acme/gitops/pulls/1/files", None);
    assert_eq!(s, 200);
    assert_eq!(files[0]["filename"], "apps/web/values.yaml");
    assert_eq!(files[0]["status"], "modified");
    let (s, cmp) = call(
        &gh,
        "GET",
        "/repos/acme/gitops/compare/main...bump/web",
        None,
    );
    assert_eq!(s, 200, "{cmp}");
    assert_eq!(
        (cmp["status"].as_str(), cmp["ahead_by"].as_u64()),
        (Some("ahead"), Some(1))
    );
    let (s, history) = call(
        &gh,
        "GET",
        "/repos/acme/gitops/commits?path=apps/web/values.yaml&sha=bump/web",
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(history.as_array().map(Vec::len), Some(2));
    let (s, tree) = call(
        &gh,
        "GET",
        &format!("/repos/acme/gitops/git/trees/{commit}?recursive=1"),
        None,
    );
    assert_eq!(s, 200);
    assert!(
        tree["tree"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "apps/web/values.yaml")
    );

    assert_eq!(gh.request_count("pulls/create"), 2);
    assert!(
        gh.requests()
            .iter()
            .all(|r| r.token.as_deref() == Some(TOKEN))
    );
    gh.assert_no_violations();
}

fn base64_decode(s: &str) -> String {
    use base64::Engine;
    let clean: String = s.split_whitespace().collect();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(clean)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn non_fast_forward_update_is_refused() {
    let gh = double();
    let base = main_sha(&gh);
    let ahead = commit_file(&gh, &base, "a.txt", "a\n");
    let sibling = commit_file(&gh, &base, "b.txt", "b\n");
    let (s, _) = call(
        &gh,
        "PATCH",
        "/repos/acme/gitops/git/refs/heads/main",
        Some(json!({"sha": ahead})),
    );
    assert_eq!(s, 200);
    let (s, r) = call(
        &gh,
        "PATCH",
        "/repos/acme/gitops/git/refs/heads/main",
        Some(json!({"sha": sibling, "force": false})),
    );
    assert_eq!(s, 422);
    assert_eq!(r["message"], "Update is not a fast forward");
    assert_eq!(
        gh.git("acme", "gitops", &["rev-parse", "main"]).trim(),
        ahead
    );
    // force: true moves it anyway, as on GitHub.
    let (s, _) = call(
        &gh,
        "PATCH",
        "/repos/acme/gitops/git/refs/heads/main",
        Some(json!({"sha": sibling, "force": true})),
    );
    assert_eq!(s, 200);
    assert_eq!(
        gh.git("acme", "gitops", &["rev-parse", "main"]).trim(),
        sibling
    );
    gh.assert_no_violations();
}

#[test]
fn concurrent_ref_updates_have_exactly_one_winner_per_round() {
    let gh = Arc::new(double());
    const WRITERS: usize = 4;
    for round in 0..3 {
        let base = main_sha(&gh);
        let candidates: Vec<String> = (0..WRITERS)
            .map(|w| commit_file(&gh, &base, &format!("r{round}/w{w}.txt"), "x\n"))
            .collect();
        let barrier = Arc::new(Barrier::new(WRITERS));
        let handles: Vec<_> = candidates
            .iter()
            .cloned()
            .map(|sha| {
                let gh = Arc::clone(&gh);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    let (s, _) = call(
                        &gh,
                        "PATCH",
                        "/repos/acme/gitops/git/refs/heads/main",
                        Some(json!({"sha": sha, "force": false})),
                    );
                    (s, sha)
                })
            })
            .collect();
        let results: Vec<(u16, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<&String> = results
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, sha)| sha)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert!(results.iter().all(|(s, _)| *s == 200 || *s == 422));
        assert_eq!(
            gh.git("acme", "gitops", &["rev-parse", "main"]).trim(),
            winners[0].as_str()
        );
    }
    gh.assert_no_violations();
}

#[test]
fn injected_faults_hit_the_next_ref_updates() {
    let gh = double();
    let base = main_sha(&gh);
    let next = commit_file(&gh, &base, "a.txt", "a\n");
    gh.inject_ref_update_faults(&[Fault::NonFastForward, Fault::ServerError(502)]);
    let patch = |gh: &_| {
        call(
            gh,
            "PATCH",
            "/repos/acme/gitops/git/refs/heads/main",
            Some(json!({"sha": next})),
        )
    };
    let (s, r) = patch(&gh);
    assert_eq!(
        (s, r["message"].as_str()),
        (422, Some("Update is not a fast forward"))
    );
    assert_eq!(patch(&gh).0, 502);
    assert_eq!(
        gh.git("acme", "gitops", &["rev-parse", "main"]).trim(),
        base
    );
    assert_eq!(patch(&gh).0, 200);
    assert_eq!(gh.request_count("git/update-ref"), 3);
    gh.assert_no_violations();
}

#[test]
fn invalid_request_is_a_violation_and_answered_422() {
    let gh = double();
    let (s, _) = call(
        &gh,
        "POST",
        "/repos/acme/gitops/git/refs",
        Some(json!({"ref": "refs/heads/x"})),
    );
    assert_eq!(s, 422);
    let (s, _) = call(
        &gh,
        "POST",
        "/repos/acme/gitops/pulls",
        Some(json!({"title": "t", "head": "x", "base": "main", "bdoy": "typo"})),
    );
    assert_eq!(s, 422);
    let (s, _) = call(&gh, "GET", "/repos/acme/gitops/pulls?stat=open", None);
    assert_eq!(s, 422);
    let v = gh.violations();
    assert_eq!(v.len(), 3, "{v:#?}");
    assert!(
        v[0].contains("git/create-ref") && v[0].contains("missing required property `sha`"),
        "{}",
        v[0]
    );
    assert!(v[1].contains("unknown property `bdoy`"), "{}", v[1]);
    assert!(v[2].contains("unknown query parameter `stat`"), "{}", v[2]);
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| gh.assert_no_violations()))
            .unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert!(msg.contains("3 OpenAPI violation(s)"), "{msg}");
}

#[test]
fn unknown_path_is_recorded_and_answered_404() {
    let gh = double();
    let (s, body) = call(&gh, "GET", "/repos/acme/gitops/not-an-endpoint", None);
    assert_eq!((s, body["message"].as_str()), (404, Some("Not Found")));
    let (s, _) = call(
        &gh,
        "PATCH",
        "/repos/acme/gitops/git/ref/heads/main",
        Some(json!({"sha": "0"})),
    );
    assert_eq!(s, 404, "GET-only path with another method");
    let v = gh.violations();
    assert_eq!(v.len(), 2, "{v:#?}");
    assert!(
        v[0].contains("GET /repos/acme/gitops/not-an-endpoint: no operation"),
        "{}",
        v[0]
    );
    let r = &gh.requests()[0];
    assert_eq!((r.operation_id.as_deref(), r.status), (None, 404));
}

#[test]
fn requests_without_a_known_token_get_401() {
    let gh = double();
    let (s, body, _) = call_full(&gh, "GET", "/repos/acme/gitops", None, None);
    assert_eq!(
        (s, body["message"].as_str()),
        (401, Some("Requires authentication"))
    );
    let (s, body, _) = call_full(&gh, "GET", "/repos/acme/gitops", Some("wrong"), None);
    assert_eq!(
        (s, body["message"].as_str()),
        (401, Some("Bad credentials"))
    );
    assert!(body["documentation_url"].is_string());
    // `token <t>` works as well as `Bearer <t>`.
    let (status, _, _) = call_raw(
        &gh,
        "GET",
        "/repos/acme/gitops",
        Some(format!("token {TOKEN}")),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(gh.requests()[1].token.as_deref(), Some("wrong"));
    gh.assert_no_violations();
}

#[test]
fn pull_request_files_are_paginated_and_capped() {
    let gh = double();
    let base = main_sha(&gh);
    // One commit touching 75 files, through a single tree.
    let entries: Vec<Value> = (0..75)
        .map(|i| json!({"path": format!("many/f{i:03}.txt"), "mode": "100644", "type": "blob", "content": format!("{i}\n")}))
        .collect();
    let (_, c) = call(
        &gh,
        "GET",
        &format!("/repos/acme/gitops/git/commits/{base}"),
        None,
    );
    let (s, tree) = call(
        &gh,
        "POST",
        "/repos/acme/gitops/git/trees",
        Some(json!({"base_tree": c["tree"]["sha"], "tree": entries})),
    );
    assert_eq!(s, 201, "{tree}");
    let (_, commit) = call(
        &gh,
        "POST",
        "/repos/acme/gitops/git/commits",
        Some(json!({"message": "many", "tree": tree["sha"], "parents": [base]})),
    );
    call(
        &gh,
        "POST",
        "/repos/acme/gitops/git/refs",
        Some(json!({"ref": "refs/heads/many", "sha": commit["sha"]})),
    );
    let (s, _) = call(
        &gh,
        "POST",
        "/repos/acme/gitops/pulls",
        Some(json!({"title": "many", "head": "many", "base": "main"})),
    );
    assert_eq!(s, 201);
    let (s, page1, link) = call_full(
        &gh,
        "GET",
        "/repos/acme/gitops/pulls/1/files?per_page=50",
        Some(TOKEN),
        None,
    );
    assert_eq!((s, page1.as_array().unwrap().len()), (200, 50));
    let link = link.expect("Link header");
    assert!(link.contains("page=2>; rel=\"next\""), "{link}");
    let (_, page2) = call(
        &gh,
        "GET",
        "/repos/acme/gitops/pulls/1/files?per_page=50&page=2",
        None,
    );
    assert_eq!(page2.as_array().unwrap().len(), 25);
    gh.assert_no_violations();
}

#[test]
fn file_and_directory_contents() {
    let gh = double();
    let (s, dir) = call(&gh, "GET", "/repos/acme/gitops/contents/apps", None);
    assert_eq!(s, 200, "{dir}");
    assert_eq!(dir[0]["type"], "dir");
    assert_eq!(dir[0]["path"], "apps/web");
    let (s, _) = call(&gh, "GET", "/repos/acme/gitops/contents/nope.txt", None);
    assert_eq!(s, 404);
    let (s, readme) = call(&gh, "GET", "/repos/acme/gitops/contents/README.md", None);
    assert_eq!((s, readme["name"].as_str()), (200, Some("README.md")));
    gh.assert_no_violations();
}
