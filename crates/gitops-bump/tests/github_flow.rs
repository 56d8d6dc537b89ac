//! The GitHub flow through `run()` against the GitHub double (a loopback REST API backed
//! by real bare git repositories, checking every request against GitHub's OpenAPI
//! description). Results are read with real `git` in the double's bare repository.

use std::collections::BTreeMap;

use bitvault_github_double::{Fault, GitHubDouble};
use bitvault_gitops_bump::{SPEC, run};
use bitvault_runner::{Env, Step};

const TOKEN: &str = "ghp_test_token";
const OWNER: &str = "acme";
const REPO: &str = "gitops";
const PROD: &str = "envs/prod/values.yaml";

fn d(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn values(web: &str, api: &str) -> String {
    format!(
        "# values\nweb:\n  repository: ghcr.io/acme/web # the app\n  digest: \"{web}\"\napi:\n  digest: {api}\nreplicas: 3\n"
    )
}

fn double(staging: &str, prod: &str) -> GitHubDouble {
    let gh = GitHubDouble::start();
    gh.add_token(TOKEN);
    gh.add_repo(
        OWNER,
        REPO,
        &[
            ("envs/staging/values.yaml", &values(staging, &d('0'))),
            (PROD, &values(prod, &d('0'))),
            ("README.md", "gitops\n"),
        ],
    );
    gh
}

fn step(gh: &GitHubDouble, flags: &[(&str, &str)]) -> Step {
    let mut all: BTreeMap<String, String> = [
        ("repository", format!("{OWNER}/{REPO}")),
        ("token", TOKEN.to_string()),
        ("environment", "prod".to_string()),
        ("image", "web".to_string()),
        ("key-path", "web.digest".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in flags {
        all.insert(k.to_string(), v.to_string());
    }
    let env = Env::from_pairs(
        [
            ("GITHUB_API_URL", gh.url()),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_RUN_ID", "4242"),
            ("GITHUB_SHA", "0123abcd"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    Step::new(&SPEC, &all, env).unwrap()
}

fn out<'a>(s: &'a Step, name: &str) -> &'a str {
    s.outputs()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no output {name}"))
}

fn show(gh: &GitHubDouble, rev: &str, path: &str) -> String {
    gh.git(OWNER, REPO, &["show", &format!("{rev}:{path}")])
}

fn rev(gh: &GitHubDouble, rev: &str) -> String {
    gh.git(OWNER, REPO, &["rev-parse", rev]).trim().to_string()
}

const BRANCH: &str = "bitvault/gitops-bump/prod/web";

#[test]
fn create_then_update_then_nothing() {
    let gh = double(&d('a'), &d('a'));
    let main_before = rev(&gh, "main");

    let mut s = step(
        &gh,
        &[
            ("digest", &d('b')),
            ("labels", "gitops, prod"),
            ("reviewers", "octocat"),
        ],
    );
    run(&mut s).unwrap();
    assert_eq!(out(&s, "operation"), "created");
    assert_eq!(out(&s, "branch"), BRANCH);
    assert_eq!(show(&gh, BRANCH, PROD), values(&d('b'), &d('0')));
    assert_eq!(
        rev(&gh, "main"),
        main_before,
        "the base branch is not touched"
    );
    assert_eq!(rev(&gh, BRANCH), out(&s, "commit-sha"));
    let message = gh.git(OWNER, REPO, &["log", "-1", "--format=%B", BRANCH]);
    assert!(
        message.contains("Bitvault-Gitops-Bump: prod/web"),
        "{message}"
    );
    let pulls = gh.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1);
    let pr = &pulls[0];
    assert_eq!(out(&s, "pull-request-number"), pr.number.to_string());
    assert_eq!(out(&s, "pull-request-url"), pr.html_url);
    assert_eq!(pr.title, "bump web in prod to bbbbbbbbbbbb");
    let body = pr.body.clone().unwrap_or_default();
    assert!(
        body.contains(&format!("| `web` | `{}` | `{}` |", d('a'), d('b'))),
        "{body}"
    );
    assert!(
        body.contains("https://github.com/acme/app/actions/runs/4242"),
        "{body}"
    );
    assert!(body.contains("0123abcd"), "{body}");
    assert!(body.contains("verification: not checked"), "{body}");
    insta::assert_snapshot!("pr_bump", format!("{}\n\n{body}", pr.title));
    insta::assert_snapshot!(
        "summary_bump",
        s.summary_text().replace(&pr.html_url, "<pull request>")
    );
    assert_eq!(pr.labels, vec!["gitops", "prod"]);
    assert_eq!(pr.requested_reviewers, vec!["octocat"]);
    assert!(out(&s, "diff").contains(&format!("+  digest: \"{}\"", d('b'))));

    let mut s = step(&gh, &[("digest", &d('c'))]);
    run(&mut s).unwrap();
    assert_eq!(out(&s, "operation"), "updated");
    assert_eq!(out(&s, "pull-request-number"), pr.number.to_string());
    assert_eq!(
        gh.pulls(OWNER, REPO).len(),
        1,
        "never a second pull request"
    );
    assert_eq!(
        gh.pulls(OWNER, REPO)[0].title,
        "bump web in prod to cccccccccccc"
    );
    assert_eq!(show(&gh, BRANCH, PROD), values(&d('c'), &d('0')));
    assert_eq!(
        gh.git(
            OWNER,
            REPO,
            &["rev-list", "--count", &format!("main..{BRANCH}")]
        )
        .trim(),
        "2"
    );

    let head = rev(&gh, BRANCH);
    let mut s = step(&gh, &[("digest", &d('c'))]);
    run(&mut s).unwrap();
    assert_eq!(out(&s, "operation"), "none");
    assert_eq!(out(&s, "commit-sha"), "");
    assert_eq!(rev(&gh, BRANCH), head, "no commit when nothing changes");
    gh.assert_no_violations();
}

#[test]
fn digest_already_on_base_is_none_without_writes() {
    let gh = double(&d('a'), &d('a'));
    let mut s = step(&gh, &[("digest", &d('a'))]);
    run(&mut s).unwrap();
    assert_eq!(out(&s, "operation"), "none");
    assert_eq!(gh.request_count("git/create-commit"), 0);
    assert!(gh.pulls(OWNER, REPO).is_empty());
    gh.assert_no_violations();
}

#[test]
fn a_refused_fast_forward_is_read_again_and_retried() {
    let gh = double(&d('a'), &d('a'));
    run(&mut step(&gh, &[("digest", &d('b'))])).unwrap();
    gh.fail_next_ref_updates(2, Fault::NonFastForward);
    let mut s = step(&gh, &[("digest", &d('c'))]);
    run(&mut s).unwrap();
    assert_eq!(out(&s, "operation"), "updated");
    assert_eq!(gh.request_count("git/update-ref"), 3);
    assert_eq!(show(&gh, BRANCH, PROD), values(&d('c'), &d('0')));
    gh.assert_no_violations();
}

#[test]
fn concurrent_bumps_of_different_images_both_land() {
    let gh = double(&d('a'), &d('a'));
    std::thread::scope(|scope| {
        let web = scope.spawn(|| {
            let mut s = step(&gh, &[("digest", &d('b'))]);
            run(&mut s).map(|_| out(&s, "operation").to_string())
        });
        let api = scope.spawn(|| {
            let mut s = step(
                &gh,
                &[
                    ("digest", &d('c')),
                    ("image", "api"),
                    ("key-path", "api.digest"),
                ],
            );
            run(&mut s).map(|_| out(&s, "operation").to_string())
        });
        assert_eq!(web.join().unwrap().unwrap(), "created");
        assert_eq!(api.join().unwrap().unwrap(), "created");
    });
    assert_eq!(show(&gh, BRANCH, PROD), values(&d('b'), &d('0')));
    assert_eq!(
        show(&gh, "bitvault/gitops-bump/prod/api", PROD),
        values(&d('a'), &d('c'))
    );
    assert_eq!(gh.pulls(OWNER, REPO).len(), 2);
    gh.assert_no_violations();
}

#[test]
fn concurrent_runs_on_the_same_branch_do_not_duplicate() {
    let gh = double(&d('a'), &d('a'));
    std::thread::scope(|scope| {
        let a = scope.spawn(|| run(&mut step(&gh, &[("digest", &d('b'))])));
        let b = scope.spawn(|| run(&mut step(&gh, &[("digest", &d('b'))])));
        a.join().unwrap().unwrap();
        b.join().unwrap().unwrap();
    });
    assert_eq!(show(&gh, BRANCH, PROD), values(&d('b'), &d('0')));
    assert_eq!(gh.pulls(OWNER, REPO).len(), 1);
    gh.assert_no_violations();
}

#[test]
fn promote_staging_to_prod() {
    let gh = double(&d('e'), &d('a'));
    let mut s = step(&gh, &[("mode", "promote"), ("from-environment", "staging")]);
    run(&mut s).unwrap();
    assert_eq!(out(&s, "operation"), "created");
    assert_eq!(show(&gh, BRANCH, PROD), values(&d('e'), &d('0')));
    let pr = &gh.pulls(OWNER, REPO)[0];
    assert_eq!(pr.title, "promote web from staging to prod (eeeeeeeeeeee)");
    insta::assert_snapshot!(
        "pr_promote",
        format!("{}\n\n{}", pr.title, pr.body.clone().unwrap_or_default())
    );
    gh.assert_no_violations();
}

#[test]
fn rollback_to_the_previous_digest() {
    let gh = double(&d('a'), &d('a'));
    let mut s = step(&gh, &[("digest", &d('b'))]);
    run(&mut s).unwrap();
    // Merge: fast-forward main to the pull request branch (the double keeps the pull
    // request open, so the rollback reuses it).
    let head = rev(&gh, BRANCH);
    gh.git(OWNER, REPO, &["update-ref", "refs/heads/main", &head]);

    let mut s = step(&gh, &[("mode", "rollback")]);
    run(&mut s).unwrap();
    assert_eq!(out(&s, "operation"), "updated");
    assert_eq!(show(&gh, "main", PROD), values(&d('b'), &d('0')));
    assert_eq!(show(&gh, BRANCH, PROD), values(&d('a'), &d('0')));
    assert!(gh.request_count("repos/list-commits") >= 1);
    let pr = &gh.pulls(OWNER, REPO)[0];
    // The commit read from history is the double's (its id changes with the clock).
    let body = pr
        .body
        .clone()
        .unwrap_or_default()
        .replace(&head, "<merged commit>");
    insta::assert_snapshot!("pr_rollback", format!("{}\n\n{body}", pr.title));
    gh.assert_no_violations();
}

#[test]
fn malformed_digest_is_refused_before_any_request() {
    let gh = double(&d('a'), &d('a'));
    let mut s = step(&gh, &[("digest", &format!("sha256:{}", "A".repeat(64)))]);
    let err = format!("{:#}", run(&mut s).unwrap_err());
    assert!(err.contains("lower-case"), "{err}");
    assert!(gh.requests().is_empty(), "{:?}", gh.requests());
    gh.assert_no_violations();
}

#[test]
fn a_branch_with_foreign_commits_is_not_overwritten() {
    let gh = double(&d('a'), &d('a'));
    let foreign = gh
        .git(
            OWNER,
            REPO,
            &[
                "-c",
                "user.name=someone",
                "-c",
                "user.email=someone@example.com",
                "commit-tree",
                "main^{tree}",
                "-p",
                "main",
                "-m",
                "hand-made change",
            ],
        )
        .trim()
        .to_string();
    gh.git(
        OWNER,
        REPO,
        &["update-ref", &format!("refs/heads/{BRANCH}"), &foreign],
    );
    let mut s = step(&gh, &[("digest", &d('b'))]);
    let err = format!("{:#}", run(&mut s).unwrap_err());
    assert!(err.contains("gitops-bump did not make"), "{err}");
    assert_eq!(rev(&gh, BRANCH), foreign);
    assert!(gh.pulls(OWNER, REPO).is_empty());
    gh.assert_no_violations();
}

#[test]
fn a_rerun_after_reviewers_failed_applies_them_without_a_new_commit() {
    let gh = double(&d('a'), &d('a'));
    // Review cannot be requested from the pull request's author: the first run opens the
    // pull request, labels it, and fails on the reviewers.
    let first = [
        ("digest", d('b')),
        ("labels", "gitops".to_string()),
        ("reviewers", "github-actions[bot]".to_string()),
    ];
    let first: Vec<(&str, &str)> = first.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let e = run(&mut step(&gh, &first)).unwrap_err();
    assert!(
        format!("{e:#}").contains("cannot request reviews on pull request #"),
        "{e:#}"
    );
    assert_eq!(gh.pulls(OWNER, REPO).len(), 1);
    let head = rev(&gh, BRANCH);

    // The re-run (with the reviewer fixed) finds the pull request with nothing to
    // commit, and still applies what is missing.
    let mut s = step(
        &gh,
        &[
            ("digest", &d('b')),
            ("labels", "gitops, prod"),
            ("reviewers", "octocat"),
        ],
    );
    run(&mut s).unwrap();
    assert_eq!(out(&s, "operation"), "none");
    assert_eq!(out(&s, "commit-sha"), "");
    assert_eq!(rev(&gh, BRANCH), head, "no new commit");
    let pr = &gh.pulls(OWNER, REPO)[0];
    assert_eq!(pr.labels, vec!["gitops", "prod"]);
    assert_eq!(pr.requested_reviewers, vec!["octocat"]);
    let summary = s.summary_text();
    let line = format!(
        "pull request #{}: labelled `prod`; requested reviews from `octocat`",
        pr.number
    );
    assert!(summary.contains(&line), "{summary}");

    // Once everything is applied, a re-run adds nothing and says so.
    let labels_before = gh.request_count("issues/add-labels");
    let mut s = step(
        &gh,
        &[
            ("digest", &d('b')),
            ("labels", "gitops, prod"),
            ("reviewers", "octocat"),
        ],
    );
    run(&mut s).unwrap();
    assert_eq!(out(&s, "operation"), "none");
    assert_eq!(gh.request_count("issues/add-labels"), labels_before);
    assert_eq!(gh.request_count("pulls/request-reviewers"), 2);
    assert!(
        s.summary_text()
            .contains("labels and reviewers already applied: nothing to add"),
        "{}",
        s.summary_text()
    );
    gh.assert_no_violations();
}
