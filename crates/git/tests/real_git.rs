//! bitvault-git against real `git` in a temporary repository.

use bitvault_git::{Error, Git, NameStatus};

fn repo() -> (tempfile::TempDir, Git) {
    let dir = tempfile::tempdir().unwrap();
    let git = Git::new(dir.path())
        .with_config("user.name", "test")
        .with_config("user.email", "test@example.com")
        .with_config("commit.gpgsign", "false");
    git.run(&["init", "-q", "-b", "main"]).unwrap();
    (dir, git)
}

fn commit(git: &Git, files: &[(&str, &str)], message: &str) -> String {
    for (path, text) in files {
        let p = git.dir().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git.run(&["add", "-A"]).unwrap();
    git.run(&["commit", "-q", "-m", message]).unwrap();
    git.commit("HEAD").unwrap()
}

/// Names git accepts that break line- or option-based parsing.
const ODD: [&str; 4] = ["a b/sp ace.txt", "-dash", "new\nline", "ünï\"quote'"];

#[test]
fn paths_come_through_as_is() {
    let (_dir, git) = repo();
    let first = commit(&git, &[("keep", "1")], "first");
    let files: Vec<(&str, &str)> = ODD.iter().map(|p| (*p, "x")).collect();
    let second = commit(&git, &files, "odd names");
    let mut tracked = git.tracked_files().unwrap();
    tracked.sort();
    let mut want: Vec<String> = ODD.iter().map(|s| s.to_string()).collect();
    want.push("keep".into());
    want.sort();
    assert_eq!(tracked, want);
    let mut tree = git.tree_files(&second).unwrap();
    tree.sort();
    assert_eq!(tree, want);
    let mut diff = git.diff_name_status(&first, &second).unwrap();
    diff.sort_by(|a, b| a.path.cmp(&b.path));
    let mut expected: Vec<NameStatus> = ODD
        .iter()
        .map(|p| NameStatus {
            status: "A".into(),
            path: p.to_string(),
        })
        .collect();
    expected.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(diff, expected);

    std::fs::write(git.dir().join("-dash"), "changed").unwrap();
    std::fs::write(git.dir().join("new file"), "untracked").unwrap();
    assert_eq!(
        git.diff_name_status_worktree("HEAD").unwrap(),
        [NameStatus {
            status: "M".into(),
            path: "-dash".into()
        }]
    );
    assert_eq!(git.untracked_files().unwrap(), ["new file"]);
}

#[test]
fn refs_that_look_like_options_are_names() {
    let (_dir, git) = repo();
    let head = commit(&git, &[("f", "1")], "one");
    assert_eq!(git.commit("HEAD").as_deref(), Some(head.as_str()));
    // Without `--end-of-options` this would be an option of rev-parse / merge-base.
    assert_eq!(git.commit("--all"), None);
    assert_eq!(git.merge_base("--all", &head), None);
    assert!(!git.is_ancestor("--fork-point", &head));
    let e = git.diff_name_status("--output=/tmp/x", &head).unwrap_err();
    assert!(matches!(e, Error::Failed { .. }), "{e:?}");
    assert!(!std::path::Path::new("/tmp/x").exists() || std::fs::read("/tmp/x").is_ok());
}

#[test]
fn file_log_follows_renames_and_show_reads_each_version() {
    let (_dir, git) = repo();
    let c1 = commit(&git, &[("old dir/v.yaml", "v: 1\n")], "v1");
    let c2 = commit(&git, &[("old dir/v.yaml", "v: 2\n")], "v2");
    std::fs::create_dir_all(git.dir().join("envs/prod")).unwrap();
    git.run(&["mv", "old dir/v.yaml", "envs/prod/values.yaml"])
        .unwrap();
    git.run(&["commit", "-q", "-m", "move"]).unwrap();
    let c3 = git.commit("HEAD").unwrap();
    commit(&git, &[("README", "other")], "unrelated");
    let log = git.file_log("envs/prod/values.yaml").unwrap();
    assert_eq!(
        log,
        [
            (c3.clone(), "envs/prod/values.yaml".to_string()),
            (c2.clone(), "old dir/v.yaml".to_string()),
            (c1.clone(), "old dir/v.yaml".to_string()),
        ]
    );
    assert_eq!(git.show_file(&c1, "old dir/v.yaml").unwrap(), b"v: 1\n");
    assert_eq!(
        git.show_file(&c3, "envs/prod/values.yaml").unwrap(),
        b"v: 2\n"
    );
    // From a subdirectory: the path is relative to it, names are from the top.
    let sub = Git::new(git.dir().join("envs"));
    assert_eq!(sub.file_log("prod/values.yaml").unwrap(), log);
}

#[test]
fn failures_name_the_command_and_carry_gits_message() {
    let plain = tempfile::tempdir().unwrap();
    let git = Git::new(plain.path());
    let e = git.file_log("values.yaml").unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("`git log --follow -z"), "{msg}");
    assert!(msg.contains(&plain.path().display().to_string()), "{msg}");
    assert!(msg.contains("not a git repository"), "{msg}");
    assert!(!git.is_work_tree());
    assert_eq!(git.current_branch().ok().flatten(), None);

    let (_dir, git) = repo();
    commit(&git, &[("f", "1")], "one");
    assert_eq!(git.current_branch().unwrap().as_deref(), Some("main"));
    assert!(git.is_work_tree());
    assert!(!git.is_shallow());
    assert!(!git.has_remote("origin"));
    let e = git.fetch("origin", &[], &["main"]).unwrap_err();
    assert!(e.to_string().contains("origin"), "{e}");
    let e = git.show_file("HEAD", "missing").unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
}
