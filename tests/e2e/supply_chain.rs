//! The reusable workflows under act (host mode, offline), against the local stack: a
//! real registry, the local Sigstore stack (OIDC issuer, Fulcio, Rekor) and the GitHub
//! API double holding the GitOps repository. Remote actions are replaced by the
//! stand-ins under `tests/act/stand-ins` through `--local-repository`; our own
//! actions, pinned by SHA in the workflows, by this work tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use bitvault_github_double::GitHubDouble;
use bitvault_sigstore_local::{GithubClaims, LocalSigstore, Options};
use bitvault_testkit::Registry;

use crate::act::{act, copy_tree, git};
use crate::composite::root;

const APP_KEY: &str = include_str!("../../crates/gitops-bump/tests/fixtures/app-key.pem");
const APP_PUBLIC_KEY: &str =
    include_str!("../../crates/gitops-bump/tests/fixtures/app-key.pub.pem");
const APP_ID: u64 = 4711;
const SIGNER: &str = "bitvault/bitvault/.github/workflows/supply-chain.yml";

/// The testkit binary the build stand-in makes images with: next to this test's
/// binary when the workspace was built, else built now.
fn testkit() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("bitvault-testkit");
    if !bin.is_file() {
        let ok = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "bitvault-testkit"])
            .current_dir(root())
            .status()
            .unwrap();
        assert!(ok.success(), "cargo build -p bitvault-testkit");
    }
    assert!(bin.is_file(), "no {}", bin.display());
    bin
}

/// `--local-repository` for every remote action of our workflows: our own actions
/// (`bitvault/bitvault@<sha>`) from `tree`, the others from their stand-ins.
fn local_repositories(tree: &Path) -> Vec<String> {
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(root().join(".github/workflows")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            let Some(uses) = line.trim().trim_start_matches("- ").strip_prefix("uses: ") else {
                continue;
            };
            let uses = uses.split_whitespace().next().unwrap();
            if uses.starts_with("./") {
                continue;
            }
            let (path, sha) = uses.split_once('@').unwrap();
            let mut parts = path.split('/');
            let repo = format!("{}/{}", parts.next().unwrap(), parts.next().unwrap());
            keys.insert((repo, sha.to_string()));
        }
    }
    let stand_ins = root().join("tests/act/stand-ins");
    keys.into_iter()
        .filter(|(repo, _)| repo != "actions/checkout") // act checks out the work tree itself
        .filter_map(|(repo, sha)| {
            let dir = if repo == "bitvault/bitvault" {
                tree.to_path_buf()
            } else {
                let name = repo.split('/').nth(1).unwrap();
                let dir = stand_ins.join(name);
                if !dir.is_dir() {
                    // An action only other workflows (release) use has no stand-in.
                    return None;
                }
                dir
            };
            Some(format!("{repo}@{sha}={}", dir.display()))
        })
        .collect()
}

struct Stack {
    registry: Registry,
    sigstore: LocalSigstore,
    github: GitHubDouble,
}

fn stack() -> Stack {
    let registry = Registry::start();
    let sigstore = LocalSigstore::start_with(Options {
        claims: GithubClaims {
            repository: "acme/app".into(),
            workflow_path: ".github/workflows/release.yml".into(),
            git_ref: "refs/heads/main".into(),
            event_name: "push".into(),
            reusable_workflow: Some(format!("{SIGNER}@refs/heads/main")),
            ..GithubClaims::default()
        },
        ..Options::default()
    })
    .unwrap();
    let github = GitHubDouble::start();
    github.set_app(APP_ID, APP_PUBLIC_KEY);
    github.add_installation(77, "acme", &["gitops"]);
    github.add_repo(
        "acme",
        "gitops",
        &[(
            "envs/dev/values.yaml",
            "# dev\napi:\n  image:\n    digest: \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\nweb:\n  image:\n    digest: \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n  replicas: 2\n",
        )],
    );
    Stack {
        registry,
        sigstore,
        github,
    }
}

/// A caller's repository: our workflows and actions (as a checkout of this repository
/// would have them), an image catalog of two services, and a push that changes both.
fn caller(st: &Stack, dir: &Path) -> (String, String) {
    for part in ["action.yml", "actions", "scripts", ".github"] {
        let to = dir.join(part);
        copy_tree(&root().join(part), &to);
    }
    let _ = std::fs::remove_dir_all(dir.join("scripts/tools/node_modules"));
    let host = st.registry.host();
    std::fs::create_dir_all(dir.join(".github/bitvault")).unwrap();
    std::fs::write(
        dir.join(".github/bitvault/images.yaml"),
        format!(
            "platforms:\n  linux/amd64: ubuntu-24.04\n  linux/arm64: ubuntu-24.04-arm\nimages:\n  api:\n    repository: {host}/acme/api\n    context: services/api\n    paths: [\"services/api/**\"]\n  web:\n    repository: {host}/acme/web\n    context: services/web\n    paths: [\"services/web/**\"]\n    platforms: [linux/amd64]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join(".github/sigstore-local.json"),
        st.sigstore.client_trust_config(),
    )
    .unwrap();
    for s in ["api", "web", "docs"] {
        std::fs::create_dir_all(dir.join("services").join(s)).unwrap();
        std::fs::write(dir.join("services").join(s).join("main.txt"), "v1\n").unwrap();
    }
    let workflow = format!(
        r#"name: release
on: push
permissions: {{}}
jobs:
  release:
    uses: ./.github/workflows/supply-chain.yml
    permissions:
      contents: read
      packages: write
      id-token: write
      pull-requests: read
    with:
      environment: dev
      gitops-repository: acme/gitops
      app-id: "{APP_ID}"
      github-api-url: {api}
      trust-config: .github/sigstore-local.json
      certificate-oidc-issuer: {issuer}
    secrets:
      app-private-key: ${{{{ secrets.GITOPS_APP_KEY }}}}
  report:
    needs: release
    runs-on: ubuntu-24.04
    steps:
      - env:
          IMAGES: ${{{{ needs.release.outputs.images }}}}
          NUMBER: ${{{{ needs.release.outputs.pull-request-number }}}}
          URL: ${{{{ needs.release.outputs.pull-request-url }}}}
        run: |
          echo "RELEASED $IMAGES"
          echo "PULL REQUEST #$NUMBER $URL"
"#,
        api = st.github.url(),
        issuer = st.sigstore.issuer_url(),
    );
    std::fs::write(dir.join(".github/workflows/release.yml"), workflow).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(
        dir,
        &["remote", "add", "origin", "https://github.com/acme/app.git"],
    );
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "base"]);
    let before = git(dir, &["rev-parse", "HEAD"]);
    for s in ["api", "web"] {
        std::fs::write(dir.join("services").join(s).join("main.txt"), "v2\n").unwrap();
    }
    git(dir, &["commit", "-qam", "api and web: v2"]);
    let after = git(dir, &["rev-parse", "HEAD"]);
    (before, after)
}

#[test]
fn the_supply_chain_runs_under_act_from_a_push_to_a_gitops_pull_request() {
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("app");
    std::fs::create_dir_all(&repo).unwrap();
    let st = stack();
    let (before, after) = caller(&st, &repo);
    let home = work.path().join("home");
    let artifacts = work.path().join("artifacts");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&artifacts).unwrap();
    let event = work.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "repository": {"full_name": "acme/app", "default_branch": "main"}
        })
        .to_string(),
    )
    .unwrap();
    let mut cmd = Command::new(act());
    cmd.args(["push", "-W", ".github/workflows/release.yml"])
        .args(["-P", "ubuntu-24.04=-self-hosted"])
        .args(["-P", "ubuntu-24.04-arm=-self-hosted"])
        .arg("--no-cache-server")
        .arg("-e")
        .arg(&event)
        .args(["-s", "GITOPS_APP_KEY"])
        .env("GITOPS_APP_KEY", APP_KEY);
    for env in [
        format!("BITVAULT_BIN={}", env!("CARGO_BIN_EXE_bitvault")),
        format!("BITVAULT_TESTKIT={}", testkit().display()),
        format!("BITVAULT_ARTIFACTS={}", artifacts.display()),
        format!(
            "ACTIONS_ID_TOKEN_REQUEST_URL={}",
            st.sigstore.token_request_url()
        ),
        format!(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN={}",
            st.sigstore.token_request_token()
        ),
    ] {
        cmd.arg("--env").arg(env);
    }
    for mapping in local_repositories(&repo) {
        cmd.arg("--local-repository").arg(mapping);
    }
    let out = cmd.current_dir(&repo).env("HOME", &home).output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    let jobs: BTreeSet<&str> = log
        .lines()
        .filter(|l| l.contains("🏁  Job succeeded"))
        .filter_map(|l| l.split(']').next())
        .collect();
    eprintln!("jobs that succeeded: {jobs:#?}");
    for job in [
        "plan", "build", "merge", "attest", "verify", "bump", "report",
    ] {
        assert!(
            jobs.iter().any(|j| j.contains(&format!("/{job}"))),
            "job {job} did not succeed: {jobs:?}\n{log}"
        );
    }
    // Three builds: api on two platforms, web on one.
    let builds = jobs.iter().filter(|j| j.contains("/build")).count();
    assert_eq!(builds, 3, "{jobs:?}");

    // One pull request on the GitOps repository, pinning both indexes.
    let pulls = st.github.pulls("acme", "gitops");
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let released = log
        .lines()
        .find_map(|l| l.split("| RELEASED ").nth(1))
        .expect("the report job printed the images");
    let images: serde_json::Value = serde_json::from_str(released.trim()).unwrap();
    let images = images.as_array().unwrap();
    assert_eq!(images.len(), 2, "{images:?}");
    let branch = &pulls[0].head;
    let values = st.github.git(
        "acme",
        "gitops",
        &["show", &format!("{branch}:envs/dev/values.yaml")],
    );
    for image in images {
        let digest = image["digest"].as_str().unwrap();
        assert!(digest.starts_with("sha256:"), "{image}");
        assert!(values.contains(digest), "{digest} not in\n{values}");
        // The index is in the registry under that digest (the verify job has checked
        // its signature, provenance and SBOMs).
        let raw = st.registry.inspect_raw(image["ref"].as_str().unwrap());
        let index: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(
            index["mediaType"], "application/vnd.oci.image.index.v1+json",
            "{index}"
        );
    }
    assert!(values.contains("replicas: 2"), "{values}");
    // Signed by the reusable workflow's identity, not the caller's.
    assert!(
        log.contains(&format!("https://github.com/{SIGNER}@refs/heads/main")),
        "{log}"
    );
    let diff = st
        .github
        .git("acme", "gitops", &["diff", &format!("main...{branch}")]);
    let number = pulls[0].number;
    assert!(
        log.contains(&format!("| PULL REQUEST #{number} ")),
        "the workflow's outputs name the pull request\n{log}"
    );
    println!("pull request #{number} on acme/gitops ({branch}):\n{diff}");
    st.github.assert_no_violations();
}
