//! The Helm values editor: each case shows the whole file before and after.

use bitvault_yamlpatch::{Error, Target, get_value, set_value};

const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn digest() -> &'static str {
    D
}

fn set(src: &str, path: &str) -> String {
    set_value(src, &Target::helm(path).unwrap(), digest())
        .unwrap_or_else(|e| panic!("setting {path}: {e}"))
        .text
}

fn fail(src: &str, path: &str) -> String {
    let e = set_value(src, &Target::helm(path).unwrap(), digest()).unwrap_err();
    assert!(
        matches!(
            e.root(),
            Error::Unsupported(_) | Error::NotFound(_) | Error::Parse(_)
        ),
        "unexpected kind: {e:?}"
    );
    e.to_string()
}

#[test]
fn replaces_existing_value_keeping_comments_and_layout() {
    let src = "\
# top comment
image:
  repository: ghcr.io/org/app   # the app

  tag: \"1.2.3\"
  # pinned by CI
  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000 # keep me
zeta: 1
alpha: 2
";
    let out = set(src, "image.digest");
    assert_eq!(
        out,
        src.replace(
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            D
        )
    );
}

#[test]
fn keeps_quoting_style() {
    for (before, after) in [
        (
            "image:\n  digest: \"\"\n",
            format!("image:\n  digest: \"{D}\"\n"),
        ),
        (
            "image:\n  digest: ''\n",
            format!("image:\n  digest: '{D}'\n"),
        ),
        (
            "image:\n  digest: old\n",
            format!("image:\n  digest: {D}\n"),
        ),
        ("image:\n  digest: ~\n", format!("image:\n  digest: {D}\n")),
        (
            "image:\n  digest: null # unset\n",
            format!("image:\n  digest: {D} # unset\n"),
        ),
        (
            "image:\n  digest:\n  tag: x\n",
            format!("image:\n  digest: {D}\n  tag: x\n"),
        ),
        (
            "image:\n  digest: !!str old\n",
            format!("image:\n  digest: !!str {D}\n"),
        ),
        (
            "image:\n  digest: \"\" # by CI\n",
            format!("image:\n  digest: \"{D}\" # by CI\n"),
        ),
        (
            "image:\n  digest: 'it''s'   # c\n",
            format!("image:\n  digest: '{D}'   # c\n"),
        ),
        (
            "image:\n  digest: \"a\\\"b\"\t# c\n",
            format!("image:\n  digest: \"{D}\"\t# c\n"),
        ),
    ] {
        assert_eq!(set(before, "image.digest"), after, "from {before:?}");
    }
}

#[test]
fn edits_inside_flow_mappings() {
    assert_eq!(
        set("image: {repository: app, digest: \"\"}\n", "image.digest"),
        format!("image: {{repository: app, digest: \"{D}\"}}\n")
    );
    assert_eq!(
        set(
            "image: {repository: app, tag: v1}  # flow\n",
            "image.digest"
        ),
        format!("image: {{repository: app, tag: v1, digest: {D}}}  # flow\n")
    );
    assert_eq!(
        set("image: {}\n", "image.digest"),
        format!("image: {{digest: {D}}}\n")
    );
    assert_eq!(
        set("image: { tag: \"x\" , pull: 'y' }\n", "image.digest"),
        format!("image: {{ tag: \"x\" , pull: 'y', digest: {D} }}\n")
    );
    assert_eq!(
        set("image:\n  tag: \"v1\"  # last\nnext: 1\n", "image.digest"),
        format!("image:\n  tag: \"v1\"  # last\n  digest: {D}\nnext: 1\n")
    );
    assert_eq!(
        set("a: {image: }\n", "a.image.digest"),
        format!("a: {{image: {{digest: {D}}} }}\n")
    );
}

#[test]
fn adds_missing_key_under_existing_mapping_at_sibling_indentation() {
    let src = "\
image:
    repository: app
    tag: v1
    # -- pull policy
    pullPolicy: IfNotPresent

# next section
service:
  port: 80
";
    let want = format!(
        "\
image:
    repository: app
    tag: v1
    # -- pull policy
    pullPolicy: IfNotPresent
    digest: {D}

# next section
service:
  port: 80
"
    );
    assert_eq!(set(src, "image.digest"), want);
}

#[test]
fn adds_missing_intermediate_mappings() {
    let src = "server:\n  replicas: 1\n  extra:\n    - a\n";
    assert_eq!(
        set(src, "server.image.digest"),
        format!("server:\n  replicas: 1\n  extra:\n    - a\n  image:\n    digest: {D}\n")
    );
    // Indentation width is taken from the file (4 here).
    let src = "server:\n    replicas: 1\n";
    assert_eq!(
        set(src, "server.sidecar.image.digest"),
        format!(
            "server:\n    replicas: 1\n    sidecar:\n        image:\n            digest: {D}\n"
        )
    );
    // Missing at the root, file without trailing newline.
    assert_eq!(
        set("a: 1", "image.digest"),
        format!("a: 1\nimage:\n  digest: {D}\n")
    );
}

#[test]
fn fills_empty_or_null_parent_mapping() {
    assert_eq!(
        set("image:\nother: 1\n", "image.digest"),
        format!("image:\n  digest: {D}\nother: 1\n")
    );
    assert_eq!(
        set("image: ~  # none yet\nother: 1\n", "image.digest"),
        format!("image:  # none yet\n  digest: {D}\nother: 1\n")
    );
    assert_eq!(set("", "image.digest"), format!("image:\n  digest: {D}\n"));
    assert_eq!(
        set("# only a comment\n", "image.digest"),
        format!("# only a comment\nimage:\n  digest: {D}\n")
    );
}

#[test]
fn works_in_lists_of_mappings_by_key_only() {
    let src = "- image:\n    tag: v1\n";
    let e = fail(src, "image.digest");
    assert!(e.contains("is a list"), "{e}");
}

#[test]
fn quoted_key_segments() {
    let src = "labels:\n  app.kubernetes.io/name: x\nimages:\n  \"my.app\":\n    tag: v1\n";
    assert_eq!(
        set(src, "images.\"my.app\".digest"),
        format!(
            "labels:\n  app.kubernetes.io/name: x\nimages:\n  \"my.app\":\n    tag: v1\n    digest: {D}\n"
        )
    );
}

#[test]
fn crlf_tabs_and_bom_are_kept() {
    let src = "\u{feff}# c\r\nimage:\r\n  tag: v1\t# tab before comment\r\n  digest: \t''\r\n";
    assert_eq!(
        set(src, "image.digest"),
        format!(
            "\u{feff}# c\r\nimage:\r\n  tag: v1\t# tab before comment\r\n  digest: \t'{D}'\r\n"
        )
    );
    // Added lines use the file's line ending.
    let src = "\u{feff}image:\r\n  tag: v1\r\n";
    assert_eq!(
        set(src, "image.digest"),
        format!("\u{feff}image:\r\n  tag: v1\r\n  digest: {D}\r\n")
    );
}

#[test]
fn anchors_unused_elsewhere_are_kept() {
    let src = "image:\n  digest: &d old\n  tag: &t v1\n";
    assert_eq!(
        set(src, "image.digest"),
        format!("image:\n  digest: &d {D}\n  tag: &t v1\n")
    );
}

#[test]
fn shared_anchors_and_aliases_are_refused() {
    // The target value is reused elsewhere.
    let e = fail(
        "image:\n  digest: &d old\nsidecar:\n  digest: *d\n",
        "image.digest",
    );
    assert!(
        e.contains("anchored as &d and reused elsewhere with *d"),
        "{e}"
    );
    // The target itself is an alias.
    let e = fail("base: &d old\nimage:\n  digest: *d\n", "image.digest");
    assert!(e.contains("is an alias (*d)"), "{e}");
    // The path goes through an alias.
    let e = fail("base: &img\n  tag: v1\nimage: *img\n", "image.digest");
    assert!(e.contains("`image` is an alias (*img)"), "{e}");
    // The mapping to edit is anchored and reused.
    let e = fail("image: &img\n  tag: v1\nother: *img\n", "image.digest");
    assert!(e.contains("`image` is anchored as &img"), "{e}");
}

#[test]
fn merge_keys_are_left_alone() {
    let src = "base: &b\n  tag: v1\nimage:\n  <<: *b\n  repository: app\n";
    assert_eq!(
        set(src, "image.digest"),
        format!("base: &b\n  tag: v1\nimage:\n  <<: *b\n  repository: app\n  digest: {D}\n")
    );
}

#[test]
fn path_to_a_mapping_is_a_clear_error() {
    let e = fail("image:\n  tag: v1\n", "image");
    assert!(
        e.contains("`image` is a mapping, not a scalar; point the key path at the value itself"),
        "{e}"
    );
    let e = fail("image: nginx:1.25\n", "image.digest");
    assert!(
        e.contains("`image` is a scalar (`nginx:1.25`), not a mapping"),
        "{e}"
    );
    let e = fail("image:\n  digest: |\n    sha256:x\n", "image.digest");
    assert!(e.contains("block scalar"), "{e}");
    let e = fail("image:\n  digest: old\n  digest: older\n", "image.digest");
    assert!(e.contains("has the key `digest` 2 times"), "{e}");
}

#[test]
fn multi_document_files_are_refused() {
    let e = fail(
        "image:\n  tag: v1\n---\nimage:\n  tag: v2\n",
        "image.digest",
    );
    assert!(e.contains("the file has 2 YAML documents"), "{e}");
    // A single document with markers is fine.
    assert_eq!(
        set("---\nimage:\n  tag: v1\n...\n", "image.digest"),
        format!("---\nimage:\n  tag: v1\n  digest: {D}\n...\n")
    );
}

#[test]
fn invalid_yaml_is_reported_with_position() {
    let e = fail("image:\n  tag: [v1\n", "image.digest");
    assert!(e.starts_with("not valid YAML: "), "{e}");
    assert!(e.contains("line"), "{e}");
}

#[test]
fn setting_the_same_value_changes_nothing() {
    let src = format!("image:\n  digest: \"{D}\"\n");
    let edited = set_value(&src, &Target::helm("image.digest").unwrap(), digest()).unwrap();
    assert_eq!(edited.text, src);
    assert_eq!(edited.old.as_deref(), Some(D));
}

#[test]
fn reports_old_value_and_reads_back() {
    let t = Target::helm("image.digest").unwrap();
    let edited = set_value("image:\n  digest: old\n", &t, digest()).unwrap();
    assert_eq!(edited.old.as_deref(), Some("old"));
    assert_eq!(get_value(&edited.text, &t).unwrap().as_deref(), Some(D));
    assert_eq!(set_value("image: {}\n", &t, digest()).unwrap().old, None);
}

#[test]
fn digest_in_tag_field_is_noted() {
    let edited = set_value(
        &format!("image:\n  tag: v1@{D}\n"),
        &Target::helm("image.digest").unwrap(),
        digest(),
    )
    .unwrap();
    assert_eq!(edited.notes.len(), 1);
    assert!(
        edited.notes[0].contains("`image.tag` also holds a digest"),
        "{:?}",
        edited.notes
    );
}

#[test]
fn values_that_need_quotes_get_them() {
    let t = Target::helm("a.b").unwrap();
    assert_eq!(
        set_value("a:\n  x: 1\n", &t, "yes").unwrap().text,
        "a:\n  x: 1\n  b: \"yes\"\n"
    );
    assert_eq!(
        set_value("a:\n  b: old\n", &t, "1.0").unwrap().text,
        "a:\n  b: \"1.0\"\n"
    );
    assert_eq!(
        set_value("a:\n  b: 'o'\n", &t, "it's").unwrap().text,
        "a:\n  b: 'it''s'\n"
    );
}

#[test]
fn block_scalars_before_the_insertion_point_keep_their_value() {
    let src = "image:\n  script: |\n    echo hi\n\n# comment\nnext: 1\n";
    assert_eq!(
        set(src, "image.digest"),
        format!("image:\n  script: |\n    echo hi\n  digest: {D}\n\n# comment\nnext: 1\n")
    );
    // Keep chomping: the blank line belongs to the value, so the key goes after it.
    let src = "image:\n  script: |+\n    echo hi\n\nnext: 1\n";
    assert_eq!(
        set(src, "image.digest"),
        format!("image:\n  script: |+\n    echo hi\n\n  digest: {D}\nnext: 1\n")
    );
}

#[test]
fn empty_value_at_end_of_file_without_newline() {
    assert_eq!(
        set("image:", "image.digest"),
        format!("image:\n  digest: {D}\n")
    );
    assert_eq!(
        set("image:\n  digest:", "image.digest"),
        format!("image:\n  digest: {D}")
    );
}

#[test]
fn custom_tags_are_refused() {
    let e = fail("image: !custom\n  tag: v1\n", "image.digest");
    assert!(e.contains("custom tag"), "{e}");
    let e = fail("image:\n  digest: !custom old\n", "image.digest");
    assert!(e.contains("has the tag"), "{e}");
}
