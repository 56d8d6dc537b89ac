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
            "envs/staging/values.yaml",
            "# staging\napi:\n  image:\n    digest: \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\nweb:\n  image:\n    digest: \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n",
        ), (
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
      GITOPS_APP_PRIVATE_KEY: ${{{{ secrets.GITOPS_APP_KEY }}}}
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
    // The caller's dispatch inputs carry promote.yml's own names: act (0.2.89) gives a
    // called workflow that also declares `workflow_dispatch` the event's inputs instead
    // of its `with:` (GitHub gives it `with:`), so the two must agree here.
    let promote = format!(
        r#"name: promote-caller
on:
  workflow_dispatch:
    inputs:
      mode: {{type: string, default: promote}}
      from-environment: {{type: string, default: ""}}
      environment: {{type: string, required: true}}
permissions: {{}}
jobs:
  promote:
    uses: ./.github/workflows/promote.yml
    permissions:
      contents: read
      packages: read
      id-token: write
    with:
      mode: ${{{{ inputs.mode }}}}
      from-environment: ${{{{ inputs.from-environment }}}}
      environment: ${{{{ inputs.environment }}}}
      gitops-repository: acme/gitops
      app-id: "{APP_ID}"
      github-api-url: {api}
      trust-config: .github/sigstore-local.json
      certificate-oidc-issuer: {issuer}
    secrets: inherit
  report:
    needs: promote
    runs-on: ubuntu-24.04
    steps:
      - env:
          NUMBER: ${{{{ needs.promote.outputs.pull-request-number }}}}
          OPERATION: ${{{{ needs.promote.outputs.operation }}}}
        run: |
          echo "PROMOTED $OPERATION #$NUMBER"
"#,
        api = st.github.url(),
        issuer = st.sigstore.issuer_url(),
    );
    std::fs::write(dir.join(".github/workflows/promote-caller.yml"), promote).unwrap();
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

/// Runs `workflow` under act for `event` in `repo`, with the local stack wired in;
/// returns the log, after checking that act succeeded.
fn act_run(
    st: &Stack,
    work: &Path,
    repo: &Path,
    event: &str,
    payload: serde_json::Value,
    workflow: &str,
    extra: &[&str],
) -> String {
    let run = std::fs::read_dir(work).unwrap().count();
    let home = work.join(format!("home-{run}"));
    let artifacts = work.join(format!("artifacts-{run}"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&artifacts).unwrap();
    let event_file = work.join(format!("event-{run}.json"));
    std::fs::write(&event_file, payload.to_string()).unwrap();
    let mut cmd = Command::new(act());
    cmd.arg(event)
        .args(["-W", &format!(".github/workflows/{workflow}")])
        .args(["-P", "ubuntu-24.04=-self-hosted"])
        .args(["-P", "ubuntu-24.04-arm=-self-hosted"])
        .arg("--no-cache-server")
        .arg("-e")
        .arg(&event_file)
        .args(["-s", "GITOPS_APP_KEY", "-s", "GITOPS_APP_PRIVATE_KEY"])
        .args(extra)
        .env("GITOPS_APP_KEY", APP_KEY)
        .env("GITOPS_APP_PRIVATE_KEY", APP_KEY);
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
    for mapping in local_repositories(repo) {
        cmd.arg("--local-repository").arg(mapping);
    }
    let out = cmd.current_dir(repo).env("HOME", &home).output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "act {event} {workflow} failed:\n{log}"
    );
    log
}

/// The jobs that succeeded, as act names them (`release/supply-chain/build-1`).
fn succeeded(log: &str) -> BTreeSet<String> {
    log.lines()
        .filter(|l| l.contains("🏁  Job succeeded"))
        .filter_map(|l| l.split(']').next())
        .map(|j| j.trim_start_matches('[').trim().to_string())
        .collect()
}

/// What a step printed after `marker` (act shows a step's output as `| <line>`).
fn printed<'a>(log: &'a str, marker: &str) -> &'a str {
    log.lines()
        .find_map(|l| l.split(&format!("| {marker}")).nth(1))
        .unwrap_or_else(|| panic!("no `{marker}` line in\n{log}"))
        .trim()
}

/// Merges the pull request's branch into main of the GitOps repository (as a
/// reviewer would) and closes it.
fn merge(st: &Stack, work: &Path, number: u64, branch: &str) {
    let dir = tempfile::tempdir_in(work).unwrap();
    let bare = st.github.repo_path("acme", "gitops");
    git(
        dir.path(),
        &["clone", "-q", &bare.display().to_string(), "."],
    );
    git(
        dir.path(),
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "merge",
            &format!("origin/{branch}"),
        ],
    );
    git(dir.path(), &["push", "-q", "origin", "HEAD:main"]);
    let out = Command::new("curl")
        .args([
            "-fsS",
            "-X",
            "PATCH",
            "-H",
            "Authorization: Bearer ghp_reviewer",
        ])
        .args([
            "-H",
            "Accept: application/vnd.github+json",
            "-d",
            r#"{"state":"closed"}"#,
        ])
        .arg(format!(
            "{}/repos/acme/gitops/pulls/{number}",
            st.github.url()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "close #{number}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn main_file(st: &Stack, env: &str) -> String {
    st.github.git(
        "acme",
        "gitops",
        &["show", &format!("main:envs/{env}/values.yaml")],
    )
}

fn push_event(before: &str, after: &str) -> serde_json::Value {
    serde_json::json!({
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "repository": {"full_name": "acme/app", "default_branch": "main"}
    })
}

/// The open pull request on the GitOps repository (exactly one).
fn open_pull(st: &Stack) -> bitvault_github_double::PullRequest {
    let open: Vec<_> = st
        .github
        .pulls("acme", "gitops")
        .into_iter()
        .filter(|p| p.state == "open")
        .collect();
    assert_eq!(open.len(), 1, "{open:?}");
    open.into_iter().next().unwrap()
}

#[test]
fn the_chain_under_act_bumps_from_a_push_then_promotes_and_rolls_back() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let repo = work.join("app");
    std::fs::create_dir_all(&repo).unwrap();
    let st = stack();
    st.github.add_token("ghp_reviewer");
    let (before, after) = caller(&st, &repo);

    // 1. A push that changes both services: supply-chain.yml from plan to PR.
    let log = act_run(
        &st,
        work,
        &repo,
        "push",
        push_event(&before, &after),
        "release.yml",
        &[],
    );
    let jobs = succeeded(&log);
    eprintln!("jobs that succeeded: {jobs:#?}");
    for job in ["plan", "build", "merge", "attest", "verify", "bump"] {
        assert!(
            jobs.iter()
                .any(|j| j.starts_with(&format!("release/supply-chain/{job}"))),
            "job {job} did not succeed: {jobs:?}\n{log}"
        );
    }
    assert!(jobs.contains("release/report"), "{jobs:?}");
    // Three builds: api on two platforms, web on one; two merges and two verifies.
    for (job, n) in [("build", 3), ("merge", 2), ("verify", 2)] {
        let count = jobs
            .iter()
            .filter(|j| j.starts_with(&format!("release/supply-chain/{job}")))
            .count();
        assert_eq!(count, n, "{job}: {jobs:?}");
    }
    // Signed by the reusable workflow's identity, not the caller's.
    assert!(
        log.contains(&format!("https://github.com/{SIGNER}@refs/heads/main")),
        "{log}"
    );
    let images: serde_json::Value = serde_json::from_str(printed(&log, "RELEASED ")).unwrap();
    let images = images.as_array().unwrap().clone();
    assert_eq!(images.len(), 2, "{images:?}");
    let pull = open_pull(&st);
    assert_eq!(
        printed(&log, "PULL REQUEST #"),
        format!("{} {}", pull.number, pull.html_url)
    );
    let values = st.github.git(
        "acme",
        "gitops",
        &["show", &format!("{}:envs/dev/values.yaml", pull.head)],
    );
    let mut v2 = Vec::new();
    for image in &images {
        let digest = image["digest"].as_str().unwrap().to_string();
        assert!(values.contains(&digest), "{digest} not in\n{values}");
        let raw = st.registry.inspect_raw(image["ref"].as_str().unwrap());
        let index: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(
            index["mediaType"], "application/vnd.oci.image.index.v1+json",
            "{index}"
        );
        v2.push(digest);
    }
    assert!(values.contains("replicas: 2"), "{values}");
    let diff = st.github.git(
        "acme",
        "gitops",
        &["diff", &format!("main...{}", pull.head)],
    );
    println!(
        "supply-chain: pull request #{} ({}):\n{diff}",
        pull.number, pull.head
    );
    merge(&st, work, pull.number, &pull.head);

    // 2. promote.yml: dev's digests to staging, verified before the write.
    // Dispatch inputs go in the event payload (act ignores `--input` when `-e` is given).
    let promote = |args: &[&str]| {
        let inputs: serde_json::Map<String, serde_json::Value> = args
            .iter()
            .map(|a| {
                let (k, v) = a.split_once('=').unwrap();
                (k.to_string(), serde_json::Value::from(v))
            })
            .collect();
        act_run(
            &st,
            work,
            &repo,
            "workflow_dispatch",
            serde_json::json!({ "inputs": inputs }),
            "promote-caller.yml",
            &[],
        )
    };
    let log = promote(&[
        "mode=promote",
        "from-environment=dev",
        "environment=staging",
    ]);
    assert!(printed(&log, "PROMOTED ").starts_with("created #"), "{log}");
    let pull = open_pull(&st);
    let staging = st.github.git(
        "acme",
        "gitops",
        &["show", &format!("{}:envs/staging/values.yaml", pull.head)],
    );
    for d in &v2 {
        assert!(staging.contains(d.as_str()), "{d} not promoted:\n{staging}");
    }
    let body = pull.body.clone().unwrap_or_default();
    assert!(
        body.contains("signature and provenance and sbom verified"),
        "the promotion was gated on signature, provenance and sbom:\n{body}"
    );
    println!(
        "promote: pull request #{} ({}):\n{}",
        pull.number,
        pull.head,
        st.github.git(
            "acme",
            "gitops",
            &["diff", &format!("main...{}", pull.head)]
        )
    );
    merge(&st, work, pull.number, &pull.head);
    assert_eq!(main_file(&st, "staging").matches("sha256:").count(), 2);

    // 3. Another push (v3), merged into dev; then dev is rolled back to v2.
    for s in ["api", "web"] {
        std::fs::write(repo.join("services").join(s).join("main.txt"), "v3\n").unwrap();
    }
    git(&repo, &["commit", "-qam", "api and web: v3"]);
    let v3_commit = git(&repo, &["rev-parse", "HEAD"]);
    let log = act_run(
        &st,
        work,
        &repo,
        "push",
        push_event(&after, &v3_commit),
        "release.yml",
        &[],
    );
    let v3: serde_json::Value = serde_json::from_str(printed(&log, "RELEASED ")).unwrap();
    let pull = open_pull(&st);
    merge(&st, work, pull.number, &pull.head);
    let dev = main_file(&st, "dev");
    for image in v3.as_array().unwrap() {
        let d = image["digest"].as_str().unwrap();
        assert!(dev.contains(d), "{d} not in dev:\n{dev}");
        assert!(!v2.iter().any(|x| x == d), "v3 built new digests");
    }
    let log = promote(&["mode=rollback", "environment=dev"]);
    assert!(printed(&log, "PROMOTED ").starts_with("created #"), "{log}");
    let pull = open_pull(&st);
    let rolled = st.github.git(
        "acme",
        "gitops",
        &["show", &format!("{}:envs/dev/values.yaml", pull.head)],
    );
    for d in &v2 {
        assert!(
            rolled.contains(d.as_str()),
            "{d} not rolled back to:\n{rolled}"
        );
    }
    println!(
        "rollback: pull request #{} ({}):\n{}",
        pull.number,
        pull.head,
        st.github.git(
            "acme",
            "gitops",
            &["diff", &format!("main...{}", pull.head)]
        )
    );
    st.github.assert_no_violations();
}
