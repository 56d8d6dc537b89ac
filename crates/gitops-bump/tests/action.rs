//! The action through `run()` with a constructed `Step`: inputs, `path` mode, outputs.

use std::collections::BTreeMap;

mod common;

use bitvault_gitops_bump::{SPEC, run};
use bitvault_runner::{Env, Step};
use common::git;

fn d(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn values(digest: &str) -> String {
    format!(
        "# prod values\nimage:\n  repository: ghcr.io/acme/web # the app\n  digest: \"{digest}\"\n  tag: '1.2.3'\nreplicas: 3\n"
    )
}

/// A git checkout with `envs/<env>/values.yaml` for staging and prod, committed.
fn checkout(staging: &str, prod: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    for (env, digest) in [("staging", staging), ("prod", prod)] {
        std::fs::create_dir_all(root.join(format!("envs/{env}"))).unwrap();
        std::fs::write(root.join(format!("envs/{env}/values.yaml")), values(digest)).unwrap();
    }
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "init"]);
    dir
}

fn step(flags: &[(&str, &str)]) -> Step {
    let flags: BTreeMap<String, String> = flags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Step::new(&SPEC, &flags, Env::from_pairs([])).unwrap()
}

fn output<'a>(step: &'a Step, name: &str) -> &'a str {
    step.outputs()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no output {name}"))
}

#[test]
fn path_bump_changes_exactly_the_digest_and_sets_diff() {
    let dir = checkout(&d('a'), &d('a'));
    let path = dir.path().to_str().unwrap();
    let mut s = step(&[
        ("environment", "prod"),
        ("image", "web"),
        ("digest", &d('b')),
        ("path", path),
    ]);
    run(&mut s).unwrap();
    let after = std::fs::read_to_string(dir.path().join("envs/prod/values.yaml")).unwrap();
    assert_eq!(after, values(&d('b')));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("envs/staging/values.yaml")).unwrap(),
        values(&d('a'))
    );
    assert_eq!(output(&s, "operation"), "bumped");
    let diff = output(&s, "diff");
    assert_eq!(
        diff,
        format!(
            "--- a/envs/prod/values.yaml\n+++ b/envs/prod/values.yaml\n@@ -1,6 +1,6 @@\n # prod values\n image:\n   repository: ghcr.io/acme/web # the app\n-  digest: \"{}\"\n+  digest: \"{}\"\n   tag: '1.2.3'\n replicas: 3\n",
            d('a'),
            d('b')
        )
    );
    assert!(
        s.summary_text().contains(&format!("```diff\n{diff}```")),
        "{}",
        s.summary_text()
    );
    // `git diff` agrees: one line out, one line in.
    let stat = git(dir.path(), &["diff", "--numstat"]);
    assert_eq!(stat.trim(), "1\t1\tenvs/prod/values.yaml");
    // Nothing committed.
    assert_eq!(
        git(dir.path(), &["rev-list", "--count", "HEAD"]).trim(),
        "1"
    );

    // Again: nothing to do.
    let mut again = step(&[
        ("environment", "prod"),
        ("image", "web"),
        ("digest", &d('b')),
        ("path", path),
    ]);
    run(&mut again).unwrap();
    assert_eq!(output(&again, "operation"), "none");
    assert_eq!(output(&again, "diff"), "");
}

#[test]
fn path_promote_and_rollback() {
    let dir = checkout(&d('c'), &d('a'));
    let path = dir.path().to_str().unwrap();
    let mut s = step(&[
        ("mode", "promote"),
        ("from-environment", "staging"),
        ("environment", "prod"),
        ("image", "web"),
        ("path", path),
    ]);
    run(&mut s).unwrap();
    assert_eq!(output(&s, "operation"), "promoted");
    let prod = dir.path().join("envs/prod/values.yaml");
    assert_eq!(std::fs::read_to_string(&prod).unwrap(), values(&d('c')));
    git(dir.path(), &["commit", "-q", "-am", "promote"]);

    let mut s = step(&[
        ("mode", "rollback"),
        ("environment", "prod"),
        ("image", "web"),
        ("path", path),
    ]);
    run(&mut s).unwrap();
    assert_eq!(output(&s, "operation"), "rolled-back");
    assert_eq!(std::fs::read_to_string(&prod).unwrap(), values(&d('a')));
}

#[test]
fn several_images_paired_by_position() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("envs/prod")).unwrap();
    let text = "images:\n- name: web\n  newTag: v1\n- name: api\n  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n";
    std::fs::write(root.join("envs/prod/kustomization.yaml"), text).unwrap();
    let digests = format!("{}\n{}", d('b'), d('c'));
    let mut s = step(&[
        ("environment", "prod"),
        ("kustomize-image", "web\napi"),
        ("digest", &digests),
        ("file", "envs/{env}/kustomization.yaml"),
        ("path", root.to_str().unwrap()),
    ]);
    run(&mut s).unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join("envs/prod/kustomization.yaml")).unwrap(),
        format!(
            "images:\n- name: web\n  newTag: v1\n  digest: {}\n- name: api\n  digest: {}\n",
            d('b'),
            d('c')
        )
    );
    assert_eq!(output(&s, "operation"), "bumped");
}

#[test]
fn malformed_digest_is_refused_before_anything_else() {
    // No `environment`, no `path`: the digest error must come first.
    let mut s = step(&[("digest", "sha256:ABC")]);
    let err = format!("{:#}", run(&mut s).unwrap_err());
    assert!(err.contains("input `digest`"), "{err}");
    assert!(err.contains("invalid digest `sha256:ABC`"), "{err}");
}

#[test]
fn signature_gate_fails_clearly_when_required() {
    let dir = checkout(&d('a'), &d('a'));
    let mut s = step(&[
        ("environment", "prod"),
        ("digest", &d('b')),
        ("require-signature", "true"),
        ("path", dir.path().to_str().unwrap()),
    ]);
    let err = format!("{:#}", run(&mut s).unwrap_err());
    assert!(err.contains("needs `image-repository`"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("envs/prod/values.yaml")).unwrap(),
        values(&d('a'))
    );
}

#[test]
fn path_and_repository_are_exclusive_and_one_is_needed() {
    let mut s = step(&[("environment", "prod"), ("digest", &d('b'))]);
    let err = format!("{:#}", run(&mut s).unwrap_err());
    assert!(err.contains("`repository: owner/name`"), "{err}");
    let mut s = step(&[
        ("environment", "prod"),
        ("digest", &d('b')),
        ("path", "."),
        ("repository", "a/b"),
    ]);
    let err = format!("{:#}", run(&mut s).unwrap_err());
    assert!(err.contains("exclusive"), "{err}");
}

#[test]
fn every_output_is_declared() {
    let dir = checkout(&d('a'), &d('a'));
    let mut s = step(&[
        ("environment", "prod"),
        ("digest", &d('b')),
        ("path", dir.path().to_str().unwrap()),
    ]);
    run(&mut s).unwrap();
    let mut set: Vec<&str> = s.outputs().iter().map(|(n, _)| n.as_str()).collect();
    let mut declared: Vec<&str> = SPEC.outputs.iter().map(|o| o.name).collect();
    set.sort();
    declared.sort();
    assert_eq!(set, declared);
}

/// Every refusal the README documents, as the user reads it.
#[test]
fn refusals() {
    let dir = checkout(&d('a'), &d('a'));
    let path = dir.path().to_str().unwrap();
    let refusal = |flags: &[(&str, &str)]| {
        let mut s = step(flags);
        format!("{:#}", run(&mut s).unwrap_err()).replace(path, "<checkout>")
    };
    let anchored = tempfile::tempdir().unwrap();
    git(anchored.path(), &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(anchored.path().join("envs/prod")).unwrap();
    std::fs::write(
        anchored.path().join("envs/prod/values.yaml"),
        format!(
            "base: &img\n  repository: ghcr.io/acme/web\n  digest: \"{}\"\nimage: *img\n",
            d('a')
        ),
    )
    .unwrap();
    git(anchored.path(), &["add", "."]);
    git(anchored.path(), &["commit", "-q", "-m", "init"]);
    let anchored_path = anchored.path().to_str().unwrap();
    let text = [
        refusal(&[("digest", "sha256:ABC")]),
        refusal(&[("digest", "ghcr.io/acme/web:latest")]),
        refusal(&[("environment", "prod"), ("digest", &d('b'))]),
        refusal(&[
            ("environment", "prod"),
            ("digest", &d('b')),
            ("path", "."),
            ("repository", "a/b"),
        ]),
        refusal(&[
            ("environment", "prod"),
            ("digest", &d('b')),
            ("require-signature", "true"),
            ("path", path),
        ]),
        refusal(&[("environment", "prod"), ("mode", "promote"), ("path", path)]),
        {
            let mut s = step(&[
                ("environment", "prod"),
                ("digest", &d('b')),
                ("path", anchored_path),
            ]);
            format!("{:#}", run(&mut s).unwrap_err()).replace(anchored_path, "<checkout>")
        },
    ]
    .join("\n");
    insta::assert_snapshot!("refusals", text);
}

#[test]
fn every_input_read_is_declared_with_its_kind() {
    let req = bitvault_runner::testing::check_reads_with(
        &SPEC,
        &[
            ("environment", "prod"),
            ("digest", &d('b')),
            ("to-digest", ""),
            ("image", "web"),
            ("image-repository", "ghcr.io/acme/web"),
            ("kustomize-image", ""),
            ("key-path", "image.digest"),
            ("app-id", ""),
            ("private-key", ""),
            ("sts-endpoint", ""),
            ("sts-identity", ""),
            ("certificate-identity-regexp", ""),
            ("github-api-url", ""),
            ("from-environment", ""),
            ("path", "."),
            ("repository", ""),
        ],
        bitvault_gitops_bump::request::Request::from_inputs,
    );
    assert!(req.is_ok(), "{:?}", req.err());
}
