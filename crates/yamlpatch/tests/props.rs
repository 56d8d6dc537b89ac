//! Property tests: the Helm values and kustomize editors on generated files (structured
//! documents with comments, flow style, anchors and aliases, and raw YAML-ish text) never
//! panic; when an edit succeeds, the value reads back, the rest of the file is kept
//! around it, and setting it again changes nothing. Each test prints how many inputs it
//! ran (`scripts/props-counts.sh` collects the lines).

use bitvault_testkit::props::run;
use bitvault_yamlpatch::{KeyPath, Target, get_value, set_value};
use proptest::prelude::*;

const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,3}",
        Just("image".to_string()),
        Just("digest".to_string())
    ]
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9./:_-]{0,12}",
        Just("~".to_string()),
        Just("null".to_string()),
        Just("\"quoted: #x\"".to_string()),
        Just("'single'".to_string()),
        Just("123".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("{a: 1, digest: x}".to_string()),
        Just("|\n  block\n".to_string()),
    ]
}

/// A block mapping, nested up to three levels, with comments, blank lines, anchors and
/// aliases in places.
fn document() -> impl Strategy<Value = String> {
    let leaf = (key(), scalar()).prop_map(|(k, v)| format!("{k}: {v}\n"));
    let entry = leaf.prop_recursive(3, 24, 4, |inner| {
        (
            key(),
            prop::collection::vec(inner, 1..4),
            prop::option::of("[a-c]"),
        )
            .prop_map(|(k, children, anchor)| {
                let body: String = children
                    .concat()
                    .lines()
                    .map(|l| format!("  {l}\n"))
                    .collect();
                match anchor {
                    Some(a) => format!("{k}: &{a}\n{body}"),
                    None => format!("{k}:\n{body}"),
                }
            })
    });
    let extra = prop_oneof![
        Just(String::new()),
        Just("# a comment\n".to_string()),
        Just("\n".to_string()),
        "[a-z]{1,3}: \\*[a-c]\n",
        Just("---\n".to_string()),
        Just("\u{feff}".to_string()),
    ];
    (prop::collection::vec((entry, extra), 0..6), any::<bool>()).prop_map(|(parts, crlf)| {
        let text: String = parts.into_iter().map(|(e, x)| e + &x).collect();
        if crlf {
            text.replace('\n', "\r\n")
        } else {
            text
        }
    })
}

/// Text from YAML's punctuation and a few words: mostly not valid YAML.
fn yamlish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[ \\n\\t:#&*!|>'\"{}\\[\\],?-]",
            "[a-z]{1,4}",
            Just("image".to_string()),
            Just("digest".to_string()),
            Just("<<: *a".to_string()),
            Just("\r\n".to_string()),
            Just("é".to_string()),
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

fn path() -> impl Strategy<Value = KeyPath> {
    prop::collection::vec(key(), 1..4).prop_map(KeyPath::from_segments)
}

/// The properties of one edit, whatever the input.
fn check_edit(src: &str, target: &Target) -> bool {
    let Ok(edited) = set_value(src, target, D) else {
        return false;
    };
    assert_eq!(
        get_value(&edited.text, target).unwrap().as_deref(),
        Some(D),
        "{target} does not read back after setting it in {src:?}: {:?}",
        edited.text
    );
    let again = set_value(&edited.text, target, D).unwrap();
    assert_eq!(again.text, edited.text, "a second edit changed {src:?}");
    assert_eq!(again.old.as_deref(), Some(D));
    // Only the target's line(s) change: every line of the input that does not hold the
    // value is still there, in order.
    let kept: Vec<&str> = edited.text.lines().collect();
    let mut at = 0;
    for line in src.lines().filter(|l| !l.contains(D)) {
        if let Some(i) = kept[at..].iter().position(|k| k == &line) {
            at += i + 1;
        } else {
            // The edited line itself (a value replaced on its key's line) or a flow
            // mapping gaining `, digest: …`.
            assert!(
                edited.text.lines().any(|k| k.contains(D)),
                "line {line:?} of {src:?} is gone: {:?}",
                edited.text
            );
        }
    }
    true
}

#[test]
fn helm_values_edits_on_generated_documents() {
    run(
        "yamlpatch helm values (documents)",
        1500,
        (document(), path()),
        |(src, path)| check_edit(&src, &Target::Helm(path)),
    );
}

#[test]
fn helm_values_edits_on_yaml_like_text() {
    run(
        "yamlpatch helm values (raw text)",
        1500,
        (yamlish(), path()),
        |(src, path)| check_edit(&src, &Target::Helm(path)),
    );
}

#[test]
fn kustomize_edits_on_generated_image_lists() {
    let image = prop_oneof![
        "[a-z]{1,3}",
        Just("app".to_string()),
        Just("ghcr.io/o/app".to_string())
    ];
    let item = (
        image.clone(),
        prop::option::of("[0-9.]{1,5}"),
        any::<bool>(),
    )
        .prop_map(|(name, tag, flow)| match (tag, flow) {
            (Some(t), true) => format!("  - {{name: {name}, newTag: \"{t}\"}}\n"),
            (None, true) => format!("  - {{name: {name}}}\n"),
            (Some(t), false) => format!("  - name: {name}\n    newTag: \"{t}\"\n"),
            (None, false) => format!("  - name: {name}\n"),
        });
    let doc = (
        prop::collection::vec(item, 0..5),
        prop_oneof![
            Just(""),
            Just("resources:\n  - deploy.yaml\n"),
            Just("# kustomization\n")
        ],
    )
        .prop_map(|(items, head)| format!("{head}images:\n{}", items.concat()));
    run(
        "yamlpatch kustomize images",
        1500,
        (prop_oneof![doc, yamlish()], image),
        |(src, image)| check_edit(&src, &Target::kustomize(image)),
    );
}

#[test]
fn key_paths_parse_or_refuse_and_round_trip() {
    run(
        "yamlpatch key paths",
        2000,
        "[a-z.\"'\\\\\\[\\] ]{0,16}",
        |text| {
            let Ok(path) = KeyPath::parse(&text) else {
                return false;
            };
            let shown = path.to_string();
            assert_eq!(
                KeyPath::parse(&shown).unwrap(),
                path,
                "{text:?} -> {shown:?}"
            );
            true
        },
    );
}
