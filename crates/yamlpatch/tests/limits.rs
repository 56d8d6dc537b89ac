//! Bounded work on hostile files: a values file is refused, with an error naming the
//! limit, when it is too large, nests too deep, or its aliases expand past the cap
//! (a "billion laughs" file would otherwise cost gigabytes in the semantic re-parse).

use bitvault_yamlpatch::{Error, MAX_ALIAS_EXPANSION, MAX_DEPTH, MAX_INPUT_BYTES, Target};
use bitvault_yamlpatch::{get_value, set_value};

const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// An anchored list of `items` entries, aliased by `aliases` keys: small text, a
/// large document once aliases are expanded.
fn laughs(items: usize, aliases: usize) -> String {
    let mut s = String::from("image:\n  repository: ghcr.io/org/app\nbase: &a\n");
    for i in 0..items {
        s.push_str(&format!("  - {i}\n"));
    }
    for i in 0..aliases {
        s.push_str(&format!("k{i}: *a\n"));
    }
    s
}

fn refusal(src: &str) -> String {
    let target = Target::helm("image.digest").unwrap();
    let Err(e) = set_value(src, &target, D) else {
        panic!("a file of {} bytes was edited, not refused", src.len());
    };
    assert!(
        matches!(e.root(), Error::Unsupported(_)),
        "unexpected kind: {e}"
    );
    let Err(g) = get_value(src, &target) else {
        panic!("a file of {} bytes was read, not refused", src.len());
    };
    assert_eq!(g.to_string(), e.to_string());
    e.to_string()
}

#[test]
fn alias_expansion_past_the_cap_is_refused() {
    // 38 KB of text; expanded, 1000 × 3300 nodes.
    let src = laughs(1000, 3300);
    assert!((37_000..40_000).contains(&src.len()), "{}", src.len());
    assert_eq!(
        refusal(&src),
        format!(
            "the file's aliases expand to more than {MAX_ALIAS_EXPANSION} nodes (the limit on \
             alias expansion); it cannot be edited safely. Write the repeated values out, or \
             use fewer aliases of large anchors"
        )
    );
}

#[test]
fn nested_aliases_are_counted_with_what_they_expand_to() {
    // Each level doubles: 2^40 nodes from a few hundred bytes.
    let mut src = String::from("image: {}\nl0: &l0 [x, x]\n");
    for i in 1..40 {
        src.push_str(&format!("l{i}: &l{i} [*l{}, *l{}]\n", i - 1, i - 1));
    }
    assert!(refusal(&src).contains(&format!("more than {MAX_ALIAS_EXPANSION} nodes")));
}

#[test]
fn aliases_under_the_cap_still_edit() {
    let src = laughs(10, 100);
    let edited = set_value(&src, &Target::helm("image.digest").unwrap(), D).unwrap();
    assert_eq!(
        edited.text,
        src.replacen(
            "repository: ghcr.io/org/app\n",
            &format!("repository: ghcr.io/org/app\n  digest: {D}\n"),
            1
        )
    );
}

#[test]
fn a_file_over_the_size_cap_is_refused() {
    let mut src = String::from("image:\n  repository: ghcr.io/org/app\n");
    let line = format!("# {}\n", "x".repeat(1000));
    while src.len() <= MAX_INPUT_BYTES {
        src.push_str(&line);
    }
    assert_eq!(
        refusal(&src),
        format!(
            "the file is {} bytes, over the {MAX_INPUT_BYTES}-byte limit on YAML input; \
             values files and kustomizations this large are not edited",
            src.len()
        )
    );
}

#[test]
fn nesting_past_the_depth_cap_is_refused() {
    let depth = MAX_DEPTH + 1;
    let src = format!(
        "image: {{}}\nx: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert_eq!(
        refusal(&src),
        format!(
            "the file nests collections more than {MAX_DEPTH} deep (the limit on YAML \
             nesting); it cannot be edited safely"
        )
    );
    // Block nesting is counted the same way.
    let mut src = String::from("image: {}\n");
    for level in 0..=MAX_DEPTH {
        src.push_str(&format!("{}k:\n", "  ".repeat(level)));
    }
    assert!(refusal(&src).contains(&format!("more than {MAX_DEPTH} deep")));
    // Very deep flow nesting stops at the parser's own limit, without exhausting the
    // stack.
    let depth = 200_000;
    let src = format!("x: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let e = set_value(&src, &Target::helm("image.digest").unwrap(), D).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("not valid YAML: recursion limit exceeded at line 1 column"),
        "{e}"
    );
}
