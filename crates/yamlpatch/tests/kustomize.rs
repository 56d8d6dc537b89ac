//! Kustomize `images:` entries and multi-file changes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bitvault_yamlpatch::{Edit, Error, Target, apply_edits, set_value};

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn d(s: &str) -> String {
    s.to_string()
}

const KUSTOMIZATION: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  # the api server
  - name: ghcr.io/org/api
    newName: registry.example.com/org/api
    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
  - name: ghcr.io/org/web
    newTag: \"2.0\"   # human-readable
  - {name: ghcr.io/org/worker}
";

#[test]
fn replaces_existing_digest_keeping_new_name() {
    let out = set_value(KUSTOMIZATION, &Target::kustomize("ghcr.io/org/api"), &d(D1)).unwrap();
    assert_eq!(
        out.text,
        KUSTOMIZATION.replace(
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            D1
        )
    );
    assert_eq!(
        out.old.as_deref(),
        Some("sha256:0000000000000000000000000000000000000000000000000000000000000000")
    );
    assert!(out.notes.is_empty());
}

#[test]
fn adds_digest_after_new_tag_and_notes_precedence() {
    let out = set_value(KUSTOMIZATION, &Target::kustomize("ghcr.io/org/web"), &d(D1)).unwrap();
    assert_eq!(
        out.text,
        KUSTOMIZATION.replace(
            "    newTag: \"2.0\"   # human-readable\n",
            &format!("    newTag: \"2.0\"   # human-readable\n    digest: {D1}\n")
        )
    );
    assert_eq!(out.old, None);
    assert_eq!(out.notes.len(), 1);
    assert!(
        out.notes[0]
            .contains("newTag `2.0` of image `ghcr.io/org/web` is kept; kustomize uses the digest")
    );
}

#[test]
fn adds_digest_to_flow_entry() {
    let out = set_value(
        KUSTOMIZATION,
        &Target::kustomize("ghcr.io/org/worker"),
        &d(D1),
    )
    .unwrap();
    assert_eq!(
        out.text,
        KUSTOMIZATION.replace(
            "{name: ghcr.io/org/worker}",
            &format!("{{name: ghcr.io/org/worker, digest: {D1}}}")
        )
    );
}

#[test]
fn unknown_image_lists_the_known_ones() {
    let e = set_value(
        KUSTOMIZATION,
        &Target::kustomize("ghcr.io/org/nope"),
        &d(D1),
    )
    .unwrap_err();
    assert!(matches!(e.root(), Error::NotFound(_)));
    assert_eq!(
        e.to_string(),
        "`images` has no entry with `name: ghcr.io/org/nope` (found: ghcr.io/org/api, ghcr.io/org/web, ghcr.io/org/worker); check the image name or add an entry `- name: ghcr.io/org/nope`"
    );
}

#[test]
fn missing_images_list_is_an_error() {
    let e = set_value("resources: [a.yaml]\n", &Target::kustomize("app"), &d(D1)).unwrap_err();
    assert!(
        e.to_string().contains("no list entry with `name: app`"),
        "{e}"
    );
    let e = set_value("images: {}\n", &Target::kustomize("app"), &d(D1)).unwrap_err();
    assert!(
        e.to_string()
            .contains("`images` is a mapping, expected a list"),
        "{e}"
    );
}

#[test]
fn several_images_several_files_one_change() {
    let mut sources = BTreeMap::new();
    sources.insert(
        PathBuf::from("k/kustomization.yaml"),
        KUSTOMIZATION.to_string(),
    );
    sources.insert(
        PathBuf::from("envs/prod/values.yaml"),
        "image:\n  tag: v1\n".to_string(),
    );
    sources.insert(PathBuf::from("untouched.yaml"), "a: 1\n".to_string());
    let edits = vec![
        Edit {
            path: "envs/prod/values.yaml".into(),
            target: Target::helm("image.digest").unwrap(),
            value: d(D1),
        },
        Edit {
            path: "k/kustomization.yaml".into(),
            target: Target::kustomize("ghcr.io/org/api"),
            value: d(D2),
        },
        Edit {
            path: "k/kustomization.yaml".into(),
            target: Target::kustomize("ghcr.io/org/worker"),
            value: d(D2),
        },
    ];
    let changes = apply_edits(&sources, &edits).unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].path, PathBuf::from("envs/prod/values.yaml"));
    assert_eq!(
        changes[0].after,
        format!("image:\n  tag: v1\n  digest: {D1}\n")
    );
    assert_eq!(
        changes[0].diff(),
        format!(
            "--- a/envs/prod/values.yaml\n+++ b/envs/prod/values.yaml\n@@ -1,2 +1,3 @@\n image:\n   tag: v1\n+  digest: {D1}\n"
        )
    );
    let k = &changes[1];
    assert_eq!(k.values.len(), 2);
    assert_eq!(k.values[0].new, d(D2));
    assert!(k.values.iter().all(|v| v.changed()));
    assert!(k.after.contains(&format!("    digest: {D2}\n")));
    assert!(
        k.after
            .contains(&format!("{{name: ghcr.io/org/worker, digest: {D2}}}"))
    );
    assert!(k.changed());
}

#[test]
fn one_failing_edit_fails_the_change_and_names_the_file() {
    let mut sources = BTreeMap::new();
    sources.insert(PathBuf::from("a.yaml"), "image:\n  tag: v1\n".to_string());
    sources.insert(PathBuf::from("b.yaml"), "image: nginx\n".to_string());
    let edits = vec![
        Edit {
            path: "a.yaml".into(),
            target: Target::helm("image.digest").unwrap(),
            value: d(D1),
        },
        Edit {
            path: "b.yaml".into(),
            target: Target::helm("image.digest").unwrap(),
            value: d(D1),
        },
    ];
    let e = apply_edits(&sources, &edits).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("b.yaml: `image` is a scalar (`nginx`)"),
        "{e}"
    );
    let e = apply_edits(
        &sources,
        &[Edit {
            path: "c.yaml".into(),
            target: Target::helm("image.digest").unwrap(),
            value: d(D1),
        }],
    )
    .unwrap_err();
    assert!(e.to_string().contains("c.yaml: no such file"), "{e}");
}
