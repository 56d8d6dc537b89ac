//! The REST API path of `run()` against the GitHub double (a loopback REST API backed by
//! a real bare git repository, checking every request against GitHub's OpenAPI
//! description), which serves the paginated `GET /repos/{o}/{r}/pulls/{n}/files`.

use std::collections::BTreeMap;
use std::process::Command;

use bitvault_github::{GitHub, TreeFile};
use bitvault_github_double::GitHubDouble;
use bitvault_path_filter::{SPEC, run};
use bitvault_runner::{Env, Step};
use serde_json::json;

const TOKEN: &str = "tkn-123";

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Repository `o/r` with pull request #42 changing 100 files in `src/`, renaming
/// `docs/old.md` to `docs/new name.md`, removing `src/gone.rs` and adding `web/app.ts`
/// (104 rows: the double, like GitHub without rename detection, lists a rename as a
/// removal and an addition). Returns the double and the API URL.
fn serve() -> (GitHubDouble, String) {
    let gh = GitHubDouble::start();
    gh.add_token(TOKEN);
    let mut files: Vec<(String, String)> = (0..100)
        .map(|i| (format!("src/f{i}.rs"), format!("fn f{i}() {{}}\n")))
        .collect();
    files.push(("docs/old.md".into(), "# docs\n".into()));
    files.push(("src/gone.rs".into(), "// gone\n".into()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let bare = gh.add_repo("o", "r", &refs);

    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("r");
    git(work.path(), &["clone", "-q", bare.to_str().unwrap(), "r"]);
    for i in 0..100 {
        std::fs::write(
            dir.join(format!("src/f{i}.rs")),
            format!("fn f{i}() {{ changed() }}\n"),
        )
        .unwrap();
    }
    git(&dir, &["mv", "docs/old.md", "docs/new name.md"]);
    git(&dir, &["rm", "-q", "src/gone.rs"]);
    std::fs::create_dir_all(dir.join("web")).unwrap();
    std::fs::write(dir.join("web/app.ts"), "export {}\n").unwrap();
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "the change"]);
    git(&dir, &["push", "-q", "origin", "HEAD:refs/heads/feature"]);

    // Pull requests are numbered from 1: open 41 others first, each from its own
    // branch (one small commit on main).
    let api = GitHub::with_token(gh.url(), TOKEN, "`pull-requests: write`").unwrap();
    let repo = api.repo("o", "r");
    let main = repo.branch_sha("main").unwrap().unwrap();
    let other = repo
        .commit_files(
            &main,
            &[TreeFile {
                path: "other.txt".into(),
                content: "x\n".into(),
            }],
            "another change",
        )
        .unwrap();
    for n in 1..=41 {
        let branch = format!("other-{n}");
        repo.create_branch(&branch, &other).unwrap();
        let pr = repo
            .create_pull(&branch, "main", &branch, "", false)
            .unwrap();
        assert_eq!(pr.number, n);
    }
    let pr = repo
        .create_pull("feature", "main", "the change", "", false)
        .unwrap();
    assert_eq!(pr.number, 42);
    let url = gh.url().to_string();
    (gh, url)
}

/// The pull request files requests the double saw, as request lines with the bearer.
fn seen(gh: &GitHubDouble) -> Vec<String> {
    gh.requests()
        .iter()
        .filter(|r| r.operation_id.as_deref() == Some("pulls/list-files"))
        .map(|r| {
            let query: Vec<String> = r.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "{} {}?{} HTTP/1.1 Authorization: Bearer {}",
                r.method,
                r.path,
                query.join("&"),
                r.token.as_deref().unwrap_or("")
            )
        })
        .collect()
}

fn run_pr(
    api: &str,
    changed_files: u64,
    inputs: &[(&str, &str)],
) -> anyhow::Result<BTreeMap<String, String>> {
    let tmp = tempfile::tempdir().unwrap();
    let event = tmp.path().join("event.json");
    let payload = json!({"pull_request": {"number": 42, "base": {"sha": "a".repeat(40)}, "head": {"sha": "b".repeat(40)}, "changed_files": changed_files}});
    std::fs::write(&event, payload.to_string()).unwrap();
    let env = Env::from_pairs(
        [
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", &event.display().to_string()),
            ("GITHUB_WORKSPACE", &tmp.path().display().to_string()),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_API_URL", api),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let mut flags = BTreeMap::new();
    flags.insert(
        "filters".to_string(),
        "src: 'src/**'\ndocs:\n  - added: 'docs/**'\ndeleted:\n  - deleted: '**'\n".to_string(),
    );
    for (k, v) in inputs {
        flags.insert(k.to_string(), v.to_string());
    }
    let mut step = Step::new(&SPEC, &flags, env)?;
    run(&mut step)?;
    Ok(step.outputs().iter().cloned().collect())
}

#[test]
fn lists_pull_request_files_through_the_api_without_a_checkout() {
    let (gh, url) = serve();
    let out = run_pr(&url, 104, &[("token", TOKEN), ("list-files", "csv")]).unwrap();
    assert_eq!(out["src_count"], "101");
    assert_eq!(out["docs_files"], "\"docs/new name.md\"");
    assert_eq!(out["deleted_files"], "docs/old.md,src/gone.rs");
    assert_eq!(out["changes"], r#"["src","docs","deleted"]"#);
    let seen = seen(&gh);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].starts_with("GET /repos/o/r/pulls/42/files?per_page=100&page=1 "),
        "{seen:?}"
    );
    assert!(seen[0].ends_with("Bearer tkn-123"), "{seen:?}");
    gh.assert_no_violations();
}

#[test]
fn refuses_what_the_api_cannot_list_and_needs_a_token() {
    let (gh, url) = serve();
    let before = gh.requests().len();
    let err = run_pr(&url, 3500, &[("token", "t"), ("changes-from", "api")]).unwrap_err();
    assert!(format!("{err:#}").contains("at most 3000"), "{err:#}");
    assert!(seen(&gh).is_empty());
    assert_eq!(gh.requests().len(), before);
    let err = run_pr(&url, 3, &[]).unwrap_err();
    assert!(
        format!("{err:#}").contains("not a git work tree"),
        "{err:#}"
    );
    assert!(format!("{err:#}").contains("token"), "{err:#}");
}
