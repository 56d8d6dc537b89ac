//! `run()` end to end on real git repositories in temporary directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bitvault_path_filter::{SPEC, run};
use bitvault_runner::{Env, Step};
use serde_json::{Value, json};

const ZERO: &str = "0000000000000000000000000000000000000000";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Writes files and commits them; returns the commit.
fn commit(dir: &Path, files: &[(&str, &str)], msg: &str) -> String {
    for (p, t) in files {
        write(dir, p, t);
    }
    git(dir, &["add", "-A", "--", "."]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}

fn init(dir: &Path) {
    git(dir, &["init", "-q"]);
}

const FILTERS: &str = "src: 'src/**'\ndocs: ['docs/**', '**/*.md']\nadded_rs:\n  - added: '**/*.rs'\nnothing: 'nope/**'\n";

struct Run {
    outputs: BTreeMap<String, String>,
    summary: String,
    /// The JSON file named by `files-path`, read before its directory goes.
    files_json: Option<Value>,
}

fn run_action(
    dir: &Path,
    event: &str,
    payload: Value,
    inputs: &[(&str, &str)],
    sha: Option<&str>,
) -> anyhow::Result<Run> {
    let tmp = tempfile::tempdir().unwrap();
    let event_path = tmp.path().join("event.json");
    std::fs::write(&event_path, payload.to_string()).unwrap();
    let mut env = vec![
        ("GITHUB_EVENT_NAME".to_string(), event.to_string()),
        (
            "GITHUB_EVENT_PATH".to_string(),
            event_path.display().to_string(),
        ),
        ("GITHUB_WORKSPACE".to_string(), dir.display().to_string()),
        ("RUNNER_TEMP".to_string(), tmp.path().display().to_string()),
        ("GITHUB_REPOSITORY".to_string(), "o/r".to_string()),
    ];
    if let Some(r) = payload.get("ref").and_then(Value::as_str) {
        env.push(("GITHUB_REF".into(), r.into()));
    }
    if let Some(s) = sha {
        env.push(("GITHUB_SHA".into(), s.into()));
    }
    let mut flags = BTreeMap::new();
    flags.insert("filters".to_string(), FILTERS.to_string());
    for (k, v) in inputs {
        flags.insert(k.to_string(), v.to_string());
    }
    let mut step = Step::new(&SPEC, &flags, Env::from_pairs(env))?;
    run(&mut step)?;
    let outputs: BTreeMap<String, String> = step.outputs().iter().cloned().collect();
    let files_json = outputs
        .get("files-path")
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap());
    Ok(Run {
        outputs,
        summary: step.summary_text().to_string(),
        files_json,
    })
}

fn out<'a>(r: &'a Run, k: &str) -> &'a str {
    r.outputs
        .get(k)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no output {k}: {:?}", r.outputs))
}

fn base_repo() -> (tempfile::TempDir, String) {
    let t = tempfile::tempdir().unwrap();
    init(t.path());
    let c1 = commit(
        t.path(),
        &[("src/a.rs", "1"), ("README.md", "r"), ("other/x", "x")],
        "c1",
    );
    (t, c1)
}

#[test]
fn push_before_after() {
    let (t, c1) = base_repo();
    let d = t.path();
    let c2 = commit(
        d,
        &[("src/a.rs", "2"), ("src/new.rs", "n"), ("docs/x.txt", "d")],
        "c2",
    );
    let p = json!({"ref": "refs/heads/main", "before": c1, "after": c2, "repository": {"default_branch": "main"}});
    let r = run_action(d, "push", p, &[("list-files", "json")], Some(&c2)).unwrap();
    assert_eq!(out(&r, "src"), "true");
    assert_eq!(out(&r, "src_count"), "2");
    assert_eq!(out(&r, "src_files"), r#"["src/a.rs","src/new.rs"]"#);
    assert_eq!(out(&r, "docs_files"), r#"["docs/x.txt"]"#);
    assert_eq!(out(&r, "added_rs_files"), r#"["src/new.rs"]"#);
    assert_eq!(out(&r, "nothing"), "false");
    assert_eq!(out(&r, "changes"), r#"["src","docs","added_rs"]"#);
    assert_eq!(
        r.files_json,
        Some(
            json!({"src": ["src/a.rs", "src/new.rs"], "docs": ["docs/x.txt"], "added_rs": ["src/new.rs"], "nothing": []})
        )
    );
    assert!(r.summary.contains("| src | **yes** | 2 |"), "{}", r.summary);
    insta::assert_snapshot!(redact_shas(&r.summary));
}

/// Commit ids vary from run to run: `[sha]` in snapshots.
fn redact_shas(text: &str) -> String {
    regex::Regex::new(r"\b[0-9a-f]{12}(?:[0-9a-f]{28})?\b")
        .unwrap()
        .replace_all(text, "[sha]")
        .into_owned()
}

#[test]
fn push_of_a_new_branch_uses_the_merge_base_with_the_default_branch() {
    let (t, c1) = base_repo();
    let d = t.path();
    let _main2 = commit(d, &[("docs/main-only.md", "m")], "main moves on");
    git(d, &["checkout", "-q", "-b", "feat", &c1]);
    let f1 = commit(d, &[("src/feat.rs", "f")], "feat");
    let p = json!({"ref": "refs/heads/feat", "before": ZERO, "after": f1, "repository": {"default_branch": "main"}});
    let r = run_action(d, "push", p, &[("list-files", "csv")], Some(&f1)).unwrap();
    assert_eq!(out(&r, "src_files"), "src/feat.rs");
    assert_eq!(
        out(&r, "docs"),
        "false",
        "main's own changes are not the branch's"
    );
}

#[test]
fn force_push_compares_with_the_merge_base() {
    let (t, c1) = base_repo();
    let d = t.path();
    let old = commit(d, &[("docs/old.md", "o")], "old tip");
    git(d, &["reset", "-q", "--hard", &c1]);
    let new = commit(d, &[("src/b.rs", "b")], "rewritten");
    let p = json!({"ref": "refs/heads/main", "before": old, "after": new, "repository": {"default_branch": "main"}, "forced": true});
    let r = run_action(d, "push", p, &[("list-files", "shell")], Some(&new)).unwrap();
    assert_eq!(out(&r, "src_files"), "src/b.rs");
    assert_eq!(out(&r, "docs"), "false");
    assert!(r.summary.contains("force push"), "{}", r.summary);
    insta::assert_snapshot!(redact_shas(&r.summary));
}

#[test]
fn pull_request_and_merge_group() {
    let (t, c1) = base_repo();
    let d = t.path();
    let main2 = commit(d, &[("docs/main.md", "m")], "main");
    git(d, &["checkout", "-q", "-b", "feat", &c1]);
    let head = commit(d, &[("src/pr.rs", "p"), ("README.md", "changed")], "pr");
    for event in ["pull_request", "pull_request_target"] {
        let p = json!({"pull_request": {"number": 5, "base": {"sha": main2}, "head": {"sha": head}, "changed_files": 2}});
        let r = run_action(d, event, p, &[("list-files", "escape")], Some(&main2)).unwrap();
        assert_eq!(out(&r, "src_files"), "src/pr.rs");
        assert_eq!(out(&r, "docs_files"), "README.md");
        assert_eq!(out(&r, "changes"), r#"["src","docs","added_rs"]"#);
    }
    let p = json!({"merge_group": {"base_sha": main2, "head_sha": head}});
    let r = run_action(d, "merge_group", p, &[], Some(&head)).unwrap();
    assert_eq!(out(&r, "src_count"), "1");
    assert_eq!(out(&r, "docs_count"), "1");
}

#[test]
fn uncommitted_changes_with_base_head() {
    let (t, _) = base_repo();
    let d = t.path();
    write(d, "src/a.rs", "edited");
    write(d, "docs/staged.md", "s");
    git(d, &["add", "docs/staged.md"]);
    write(d, "src/untracked.rs", "u");
    write(d, ".gitignore", "ignored.rs\n");
    write(d, "ignored.rs", "i");
    let r = run_action(
        d,
        "workflow_dispatch",
        json!({}),
        &[("base", "HEAD"), ("list-files", "json")],
        None,
    )
    .unwrap();
    assert_eq!(out(&r, "src_files"), r#"["src/a.rs","src/untracked.rs"]"#);
    assert_eq!(out(&r, "docs_files"), r#"["docs/staged.md"]"#);
    assert_eq!(out(&r, "added_rs_files"), r#"["src/untracked.rs"]"#);
}

#[test]
fn weird_file_names_survive() {
    let (t, c1) = base_repo();
    let d = t.path();
    let names = [
        "src/a b.rs",
        "src/quo\"te's.rs",
        "src/new\nline.rs",
        "src/ünïcødé.rs",
        "src/-dash.rs",
        "src/tab\there.rs",
    ];
    let files: Vec<(&str, &str)> = names.iter().map(|n| (*n, "x")).collect();
    let c2 = commit(d, &files, "weird");
    let p = json!({"ref": "refs/heads/main", "before": c1, "after": c2, "repository": {"default_branch": "main"}});
    let r = run_action(d, "push", p.clone(), &[("list-files", "json")], Some(&c2)).unwrap();
    let mut got: Vec<String> = serde_json::from_str(out(&r, "src_files")).unwrap();
    got.sort();
    // As in picomatch (so in dorny), `**` never crosses a line break: the
    // name with a newline is not under `src/**`. A `*` does match it.
    let mut want: Vec<String> = names
        .iter()
        .filter(|n| !n.contains('\n'))
        .map(|s| s.to_string())
        .collect();
    want.sort();
    assert_eq!(got, want);
    let filters = "nl: 'src/new*'\nall: 'src/*'\n";
    let r = run_action(
        d,
        "push",
        p,
        &[("list-files", "shell"), ("filters", filters)],
        Some(&c2),
    )
    .unwrap();
    assert_eq!(out(&r, "nl_files"), "'src/new\nline.rs'");
    let all = out(&r, "all_files");
    assert!(
        all.contains("src/-dash.rs")
            && all.contains("'src/a b.rs'")
            && all.contains("'src/ünïcødé.rs'"),
        "{all}"
    );
    assert!(all.contains(r#"'src/quo"te'\'s.rs"#), "{all}");
    assert_eq!(out(&r, "all_count"), "6");
}

#[test]
fn last_commit_on_other_events_and_clear_errors() {
    let (t, _) = base_repo();
    let d = t.path();
    let c2 = commit(d, &[("docs/x.md", "x")], "c2");
    let p = json!({"ref": "refs/heads/main", "repository": {"default_branch": "main"}});
    let r = run_action(d, "workflow_dispatch", p, &[], Some(&c2)).unwrap();
    assert_eq!(out(&r, "docs_count"), "1");
    assert_eq!(out(&r, "src"), "false");

    let not_repo = tempfile::tempdir().unwrap();
    let p = json!({"ref": "refs/heads/main", "before": c2, "after": c2, "repository": {"default_branch": "main"}});
    let err = run_action(not_repo.path(), "push", p, &[], Some(&c2))
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("not a git work tree"),
        "{err:#}"
    );
    let err = run_action(d, "push", json!({}), &[("list-files", "yaml")], None)
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("list-files"), "{err:#}");
}

/// `ref: HEAD` (and any revision git resolves) is the checked-out commit,
/// not `origin/HEAD` (the remote's default branch) and not a branch named
/// `HEAD` to fetch.
#[test]
fn ref_head_and_revision_expressions_resolve_as_git_does() {
    let origin = tempfile::tempdir().unwrap();
    let o = origin.path();
    init(o);
    let c1 = commit(o, &[("src/a.rs", "1")], "c1");
    commit(o, &[("docs/main.md", "m")], "main moves on");
    git(o, &["checkout", "-q", "-b", "feat", &c1]);
    commit(o, &[("src/one.rs", "1")], "feat 1");
    commit(o, &[("src/two.rs", "2")], "feat 2");
    git(o, &["checkout", "-q", "main"]);
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("clone");
    git(
        t.path(),
        &["clone", "-q", &format!("file://{}", o.display()), "clone"],
    );
    git(&d, &["checkout", "-q", "feat"]);
    // The clone's origin/HEAD is main: `HEAD` must not be read as it.
    assert!(!git(&d, &["rev-parse", "--verify", "refs/remotes/origin/HEAD"]).is_empty());

    let run = |r: &str| {
        run_action(
            &d,
            "workflow_dispatch",
            json!({}),
            &[("ref", r), ("base", "main"), ("list-files", "json")],
            None,
        )
    };
    let r = run("HEAD").unwrap();
    assert_eq!(out(&r, "src_files"), r#"["src/one.rs","src/two.rs"]"#);
    assert_eq!(out(&r, "docs"), "false", "main's changes are not HEAD's");
    let r = run("HEAD~1").unwrap();
    assert_eq!(out(&r, "src_files"), r#"["src/one.rs"]"#);
    let short = git(&d, &["rev-parse", "--short", "HEAD~1"]);
    let r = run(&short).unwrap();
    assert_eq!(out(&r, "src_files"), r#"["src/one.rs"]"#);
    let err = run("HEAD~9").err().unwrap();
    assert!(
        format!("{err:#}").contains("`HEAD~9` does not name a commit"),
        "{err:#}"
    );
}

fn clone_shallow(origin: &Path, branch: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let dest = t.path().join("clone");
    let url = format!("file://{}", origin.display());
    let out = Command::new("git")
        .args(["clone", "-q", "--depth", "1", "--branch", branch, &url])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (t, dest)
}

#[test]
fn shallow_clone_is_deepened_until_the_merge_base() {
    let origin = tempfile::tempdir().unwrap();
    let o = origin.path();
    init(o);
    let mut fork = String::new();
    for i in 0..12 {
        let c = commit(o, &[(&format!("other/{i}"), "x")], "main");
        if i == 3 {
            fork = c;
        }
    }
    let main_tip = git(o, &["rev-parse", "HEAD"]);
    git(o, &["checkout", "-q", "-b", "feat", &fork]);
    for i in 0..9 {
        commit(o, &[(&format!("src/f{i}.rs"), "y")], "feat");
    }
    let head = git(o, &["rev-parse", "HEAD"]);
    git(o, &["checkout", "-q", "main"]);

    let (_keep, clone) = clone_shallow(o, "feat");
    assert_eq!(
        git(&clone, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );
    let p = json!({"pull_request": {"number": 9, "base": {"sha": main_tip}, "head": {"sha": head}, "changed_files": 9}});
    let r = run_action(
        &clone,
        "pull_request",
        p,
        &[("initial-fetch-depth", "2")],
        Some(&head),
    )
    .unwrap();
    assert_eq!(out(&r, "src_count"), "9");
    assert_eq!(out(&r, "added_rs_count"), "9");
    assert_eq!(out(&r, "docs"), "false");
    // Branch push with a zero `before` on the shallow clone too.
    let (_keep2, clone2) = clone_shallow(o, "feat");
    let p = json!({"ref": "refs/heads/feat", "before": ZERO, "after": head, "repository": {"default_branch": "main"}});
    let r = run_action(
        &clone2,
        "push",
        p,
        &[("initial-fetch-depth", "1")],
        Some(&head),
    )
    .unwrap();
    assert_eq!(out(&r, "src_count"), "9");

    // A normal push seen from a depth-1 clone of main: `before` must be
    // fetched and found to be an ancestor (no force-push notice).
    let before = git(o, &["rev-parse", "main~3"]);
    for forced in [json!(null), json!(false)] {
        let (_keep3, clone3) = clone_shallow(o, "main");
        let p = json!({"ref": "refs/heads/main", "before": before, "after": main_tip, "forced": forced, "repository": {"default_branch": "main"}});
        let r = run_action(
            &clone3,
            "push",
            p,
            &[("filters", "other: 'other/**'"), ("list-files", "csv")],
            Some(&main_tip),
        )
        .unwrap();
        assert_eq!(out(&r, "other_files"), "other/10,other/11,other/9");
        assert!(!r.summary.contains("force"), "{}", r.summary);
    }
}

/// A filter whose glob gives up on a changed file (fancy-regex's
/// backtracking limit) fails the action, naming the filter, the pattern and
/// the file, instead of reporting the filter as unchanged.
#[test]
fn a_glob_that_gives_up_on_a_changed_file_fails_the_action() {
    let (t, c1) = base_repo();
    let d = t.path();
    let long = "a".repeat(30);
    let c2 = commit(d, &[(long.as_str(), "x")], "c2");
    let p = json!({"ref": "refs/heads/main", "before": c1, "after": c2, "repository": {"default_branch": "main"}});
    let filters = "letters: '{*(a|!(b))c,*}'\n";
    let err = run_action(d, "push", p, &[("filters", filters)], Some(&c2))
        .err()
        .expect("the action fails");
    let msg = format!("{err:#}");
    assert!(msg.contains("filter `letters`"), "{msg}");
    assert!(msg.contains("{*(a|!(b))c,*}"), "{msg}");
    assert!(msg.contains(&long), "{msg}");
    assert!(msg.contains("simplify the pattern"), "{msg}");
}
