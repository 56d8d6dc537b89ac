//! Property tests of the image catalog parser: generated catalogs (valid and broken
//! ones) and YAML-like text never panic; an accepted catalog has a runner for every
//! platform an image is built for, and selects each image by `paths` or `filters`.
//! Each test prints how many inputs it ran (`scripts/props-counts.sh` collects the lines).

use bitvault_build_matrix::catalog::Catalog;
use bitvault_testkit::props::run;
use proptest::prelude::*;

fn platform() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "linux/amd64",
            "linux/arm64",
            "linux/arm/v7",
            "windows/amd64"
        ])
        .prop_map(str::to_string),
        "[a-z0-9/]{0,12}",
    ]
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|p| format!("'{p}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn catalog_yaml() -> impl Strategy<Value = String> {
    let image = (
        "[a-z]{1,5}",
        prop_oneof![
            Just("ghcr.io/o/app".to_string()),
            Just("localhost:5000/x".to_string()),
            Just("Bad Name".to_string()),
            Just("ghcr.io/o/app:latest".to_string()),
            "[a-z./:@]{0,20}",
        ],
        prop::option::of(prop::collection::vec(platform(), 0..3)),
        prop::collection::vec("[a-z*/!]{1,8}", 0..3),
        prop::collection::vec("[a-z]{1,4}", 0..2),
        prop::option::of(prop::sample::select(vec![
            "context: ./app",
            "dockerfile: D",
            "target: t",
            "licenses: MIT",
            "build-args: {A: b}",
            "unknown: 1",
            "build-args: [x]",
        ])),
    )
        .prop_map(|(name, repo, platforms, paths, filters, extra)| {
            let mut s = format!("  {name}:\n    repository: '{repo}'\n");
            if let Some(p) = platforms {
                s.push_str(&format!("    platforms: [{}]\n", quoted(&p)));
            }
            if !paths.is_empty() {
                s.push_str(&format!("    paths: [{}]\n", quoted(&paths)));
            }
            if !filters.is_empty() {
                s.push_str(&format!("    filters: [{}]\n", filters.join(", ")));
            }
            if let Some(e) = extra {
                s.push_str(&format!("    {e}\n"));
            }
            s
        });
    let structured = (
        prop::collection::vec((platform(), "[a-z-]{1,12}"), 0..3),
        prop::collection::vec(image, 0..4),
    )
        .prop_map(|(platforms, images)| {
            let mut s = String::from("platforms:\n");
            for (p, runner) in platforms {
                s.push_str(&format!("  '{p}': {runner}\n"));
            }
            s.push_str("images:\n");
            s.push_str(&images.concat());
            s
        });
    prop_oneof![
        4 => structured,
        1 => "[a-z:&*'\"{}\\[\\], \\n-]{0,80}",
    ]
}

#[test]
fn catalogs_parse_or_refuse() {
    run("build-matrix catalog", 2000, catalog_yaml(), |text| {
        let Ok(catalog) = Catalog::parse(&text, "catalog.yaml") else {
            return false;
        };
        for image in catalog.images.values() {
            for p in catalog.platforms_of(image) {
                assert!(catalog.platforms.contains_key(p), "{text}: {p}");
            }
            assert!(
                !image.paths.is_empty() || !image.filters.is_empty(),
                "{text}"
            );
        }
        true
    });
}
