//! Property tests of what a pull request author and a workflow hand path-filter: globs
//! and file paths, and the `filters` YAML. Nothing panics; a literal pattern matches
//! exactly its own path, `**` every normal path, a negated glob the opposite of its
//! pattern; every filter's matches are indices of the given files, in order. Each test
//! prints how many inputs it ran (`scripts/props-counts.sh` collects the lines).

use bitvault_path_filter::filter::{ChangedFile, FilterSet, Mode};
use bitvault_path_filter::glob::{Glob, is_normal_path};
use bitvault_testkit::props::run;
use proptest::prelude::*;

fn pattern() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => "[a-z]{1,3}",
            2 => Just("/".to_string()),
            2 => prop::sample::select(vec![
                "*", "**", "?", "**/", "/**", ".", "..", "!", "{a,b}", "{1..3}", "[a-c]",
                "[!a]", "@(a|b)", "!(a)", "+(x)", "*(y)", "?(z)", "\\", "(", ")", "[", "]",
                "{", "}", "|", "$", "^", "#", " ", "é", ".js", "src/",
            ])
            .prop_map(str::to_string),
        ],
        1..8,
    )
    .prop_map(|parts| parts.concat())
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec("[a-z.]{1,4}", 1..5).prop_map(|s| s.join("/")),
        1 => "[a-z./ *?!\\\\é\\n]{0,16}",
    ]
}

#[test]
fn globs_compile_or_refuse_and_match_without_panicking() {
    run(
        "path-filter globs",
        2000,
        (pattern(), prop::collection::vec(path(), 1..6)),
        |(pattern, paths)| {
            let Ok(glob) = Glob::new(&pattern) else {
                return false;
            };
            assert_eq!(glob.pattern(), pattern);
            for p in &paths {
                let _ = glob.is_match(p);
            }
            if let Ok(negated) = Glob::new(&format!("!{pattern}")) {
                for p in paths.iter().filter(|p| is_normal_path(p)) {
                    // A pattern picomatch turns into an invalid regex matches only its
                    // own spelling, negated or not (as picomatch does).
                    if !glob.is_negated()
                        && negated.is_negated()
                        && glob.is_valid_regex()
                        && negated.is_valid_regex()
                    {
                        // A glob that gives up does so negated too (both fail).
                        match (negated.is_match(p), glob.is_match(p)) {
                            (Ok(n), Ok(g)) => assert_ne!(n, g, "!{pattern} on {p}"),
                            (Err(_), Err(_)) => {}
                            (n, g) => panic!("!{pattern} on {p}: {n:?} but {g:?}"),
                        }
                    }
                }
            }
            true
        },
    );
}

#[test]
fn literal_and_globstar_patterns_mean_what_they_say() {
    run(
        "path-filter literal globs",
        1500,
        prop::collection::vec("[a-z0-9_-]{1,6}(\\.[a-z]{1,3})?", 1..5).prop_map(|s| s.join("/")),
        |path| {
            let literal = Glob::new(&path).unwrap();
            assert!(literal.is_match(&path).unwrap(), "{path}");
            assert!(!literal.is_match(&format!("{path}x")).unwrap(), "{path}");
            assert!(
                Glob::new("**").unwrap().is_match(&path).unwrap(),
                "** on {path}"
            );
            if let Some((dir, _)) = path.rsplit_once('/') {
                assert!(
                    Glob::new(&format!("{dir}/**"))
                        .unwrap()
                        .is_match(&path)
                        .unwrap()
                );
            }
            true
        },
    );
}

fn filters_yaml() -> impl Strategy<Value = String> {
    let rule = prop_oneof![
        pattern().prop_map(|p| format!("'{}'", p.replace('\'', "''"))),
        (
            prop::sample::select(vec![
                "added",
                "modified",
                "deleted",
                "added|modified",
                "bogus"
            ]),
            pattern()
        )
            .prop_map(|(s, p)| format!("{s}: '{}'", p.replace('\'', "''"))),
        Just("*shared".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("42".to_string()),
    ];
    let filter = (
        prop_oneof!["[a-z]{1,4}", Just("0".to_string()), Just("'1'".to_string())],
        prop::collection::vec(rule, 0..4),
        any::<bool>(),
    )
        .prop_map(|(name, rules, inline)| {
            if inline {
                format!("{name}: [{}]\n", rules.join(", "))
            } else {
                let items: String = rules.iter().map(|r| format!("  - {r}\n")).collect();
                format!("{name}:\n{items}")
            }
        });
    prop_oneof![
        4 => (prop::collection::vec(filter, 0..4), any::<bool>()).prop_map(|(fs, anchor)| {
            let head = if anchor { "shared: &shared\n  - 'lib/**'\n" } else { "" };
            format!("{head}{}", fs.concat())
        }),
        1 => "[a-z:*&!'\"{}\\[\\], \\n-]{0,60}",
    ]
}

#[test]
fn filters_parse_or_refuse_and_match_indices_of_the_files() {
    let status = prop::sample::select(vec!["added", "modified", "deleted", "renamed"]);
    let files = prop::collection::vec((path(), status), 0..8);
    let mode = prop::sample::select(vec![Mode::Some, Mode::Every, Mode::Ordered]);
    run(
        "path-filter filters",
        1500,
        (filters_yaml(), files, mode),
        |(yaml, files, mode)| {
            let Ok((set, _warnings)) = FilterSet::parse(&yaml, mode) else {
                return false;
            };
            let files: Vec<ChangedFile> = files
                .into_iter()
                .map(|(p, s)| ChangedFile::new(p, s))
                .collect();
            let matched = set.matches(&files).unwrap();
            assert_eq!(matched.len(), set.len(), "{yaml}");
            assert_eq!(set.names().count(), set.len());
            for m in &matched {
                assert!(m.windows(2).all(|w| w[0] < w[1]), "{yaml}: {m:?}");
                assert!(m.iter().all(|&i| i < files.len()));
            }
            true
        },
    );
}
