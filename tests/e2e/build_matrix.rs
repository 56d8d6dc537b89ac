//! build-matrix against a real registry (Debian's docker-registry on
//! 127.0.0.1), images made with umoci and pushed with skopeo, results read
//! back with `skopeo inspect --raw`.

use bitvault_testkit::{Registry, make_image, require_tools, sha256_digest};

use crate::support::{Run, bitvault};

/// `bitvault build-matrix --mode merge` in `dir`.
pub fn merge(dir: &std::path::Path, image: &str, digests: &str, tags: &str) -> Run {
    let mut args = vec![
        "build-matrix",
        "--mode",
        "merge",
        "--image",
        image,
        "--digests",
        digests,
    ];
    if !tags.is_empty() {
        args.extend(["--tags", tags]);
    }
    bitvault(dir, &args, &[])
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn merge_makes_one_index_and_is_idempotent() {
    require_tools();
    let reg = Registry::start();
    let repo = format!("{}/demo/app", reg.host());
    let amd64 = make_image(&reg, "demo/app", "build-amd64", "amd64");
    let arm64 = make_image(&reg, "demo/app", "build-arm64", "arm64");
    assert_ne!(amd64, arm64);
    let dir = tmp();
    let digests = format!("[\"{amd64}\",\"{arm64}\"]");
    let first = merge(dir.path(), &repo, &digests, "v1.2.3");
    assert!(first.success, "{}", first.stderr);
    let digest = first.out("digest");
    assert_eq!(first.out("image-ref"), format!("{repo}@{digest}"));

    // The registry holds exactly those bytes, an OCI index with both platforms.
    let raw = reg.inspect_raw(&format!("{repo}@{digest}"));
    assert_eq!(sha256_digest(&raw), digest);
    let index: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let mut platforms: Vec<(String, String)> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["platform"]["architecture"].as_str().unwrap().to_string(),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(
        platforms,
        vec![
            ("amd64".into(), amd64.clone()),
            ("arm64".into(), arm64.clone())
        ]
    );
    // The tag points at the index.
    assert_eq!(
        sha256_digest(&reg.inspect_raw(&format!("{repo}:v1.2.3"))),
        digest
    );

    // Again, with the digests in another order and form: the same index, nothing written.
    let digests2 = format!("{arm64}\n{amd64}\n");
    let second = merge(dir.path(), &repo, &digests2, "v1.2.3");
    assert!(second.success, "{}", second.stderr);
    assert_eq!(second.out("digest"), digest);
    assert!(
        second.stderr.contains("nothing written"),
        "{}",
        second.stderr
    );
}

#[test]
fn merge_refuses_bad_input_with_clear_errors() {
    require_tools();
    let reg = Registry::start();
    let repo = format!("{}/demo/app", reg.host());
    let amd64 = make_image(&reg, "demo/app", "a", "amd64");
    let amd64_again = make_image(&reg, "demo/other", "b", "amd64");
    let dir = tmp();
    let run = |digests: &str, tags: &str, image: &str| merge(dir.path(), image, digests, tags);
    let missing = format!("sha256:{}", "1".repeat(64));
    let cases = [
        (
            run(&format!("[\"{amd64}\",\"{missing}\"]"), "v1", &repo),
            "did the build job push by digest",
        ),
        (run(&amd64, "latest", &repo), "refusing the tag `latest`"),
        (run("sha256:abc", "v1", &repo), "digest"),
        (
            run(&amd64, "v1", &format!("{repo}:v1")),
            "without tag or digest",
        ),
        (
            run(&amd64_again, "v1", &repo),
            "did the build job push by digest",
        ),
    ];
    for (i, (r, want)) in cases.iter().enumerate() {
        assert!(!r.success, "case {i} should fail");
        assert!(r.stderr.contains("::error::"), "case {i}: {}", r.stderr);
        assert!(
            r.stderr.contains(want),
            "case {i}: want {want:?} in {}",
            r.stderr
        );
        assert!(
            r.stdout.trim().is_empty(),
            "case {i}: no outputs on failure"
        );
    }
}

#[test]
fn merge_refuses_two_digests_of_one_platform() {
    require_tools();
    let reg = Registry::start();
    let repo = format!("{}/demo/app", reg.host());
    let a = make_image(&reg, "demo/app", "a", "arm64");
    // A second arm64 image with other content (a different tag's layer).
    let b = make_image(&reg, "demo/app", "b-other", "arm64");
    if a == b {
        return; // identical builds are one digest; nothing to check
    }
    let dir = tmp();
    let r = merge(dir.path(), &repo, &format!("{a}\n{b}"), "");
    assert!(!r.success);
    assert!(
        r.stderr
            .contains("each digest must be a different platform"),
        "{}",
        r.stderr
    );
}

const CATALOG: &str = r#"
platforms:
  linux/amd64: ubuntu-24.04
  linux/arm64: ubuntu-24.04-arm
images:
  bitvaultd:
    repository: ghcr.io/bitvault/bitvaultd
    context: .
    dockerfile: services/bitvaultd/Dockerfile
    target: runtime
    paths: ["services/bitvaultd/**", "go.{mod,sum}"]
    filters: [backend]
    build-args: { GO_VERSION: "1.23" }
  bitvault-worker:
    repository: ghcr.io/bitvault/bitvault-worker
    paths: ["services/worker/**", "go.{mod,sum}"]
    filters: [backend]
  bitvault-web:
    repository: ghcr.io/bitvault/bitvault-web
    context: web
    platforms: [linux/amd64]
    paths: ["web/**", "!web/**/*.md"]
"#;

fn plan(args: &[&str]) -> serde_json::Value {
    let dir = tmp();
    std::fs::create_dir_all(dir.path().join(".github/bitvault")).unwrap();
    std::fs::write(dir.path().join(".github/bitvault/images.yaml"), CATALOG).unwrap();
    let mut all = vec!["build-matrix"];
    all.extend_from_slice(args);
    let env = [
        ("GITHUB_WORKSPACE", dir.path().to_str().unwrap()),
        ("GITHUB_REF", "refs/tags/v1.2.3"),
        ("GITHUB_SHA", "860c1904a1ce19322e91ac35af1ab07466440c37"),
        ("GITHUB_REPOSITORY", "bitvault/bitvault"),
    ];
    let r = bitvault(dir.path(), &all, &env);
    assert!(r.success, "{}", r.stderr);
    r.json()
}

fn entries(out: &serde_json::Value) -> Vec<(String, String, String)> {
    let m: serde_json::Value = serde_json::from_str(out["matrix"].as_str().unwrap()).unwrap();
    m["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["image"].as_str().unwrap().to_string(),
                e["platform"].as_str().unwrap().to_string(),
                e["runner"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn plan_keeps_only_affected_images_one_entry_per_platform() {
    let out = plan(&["--changes", r#"["bitvault-web"]"#]);
    assert_eq!(
        entries(&out),
        vec![(
            "bitvault-web".into(),
            "linux/amd64".into(),
            "ubuntu-24.04".into()
        )]
    );
    assert_eq!(out["has-builds"], "true");

    let out = plan(&["--changes", r#"["backend"]"#]);
    let e = entries(&out);
    assert_eq!(e.len(), 4, "{e:?}");
    assert!(e.contains(&(
        "bitvaultd".into(),
        "linux/arm64".into(),
        "ubuntu-24.04-arm".into()
    )));

    let out = plan(&["--changed-files", "services/bitvaultd/main.go\nREADME.md"]);
    let m: serde_json::Value = serde_json::from_str(out["matrix"].as_str().unwrap()).unwrap();
    let first = &m["include"][0];
    assert_eq!(first["image"], "bitvaultd");
    assert_eq!(first["dockerfile"], "services/bitvaultd/Dockerfile");
    assert_eq!(first["target"], "runtime");
    assert_eq!(first["build-args"], "GO_VERSION=1.23");
    assert_eq!(first["cache-scope"], "bitvaultd-linux-amd64");
    assert_eq!(first["digest-artifact"], "digests-bitvaultd-linux-amd64");
    assert_eq!(m["include"].as_array().unwrap().len(), 2);

    let images: serde_json::Value = serde_json::from_str(out["images"].as_str().unwrap()).unwrap();
    assert_eq!(
        images[0]["tags"],
        serde_json::json!(["1.2.3", "1.2", "1", "sha-860c190"])
    );
    assert_eq!(
        images[0]["labels"]["org.opencontainers.image.revision"],
        "860c1904a1ce19322e91ac35af1ab07466440c37"
    );

    let out = plan(&["--changed-files", r#"["docs/x.md"]"#]);
    assert_eq!(out["has-builds"], "false");
    assert_eq!(out["matrix"], r#"{"include":[]}"#);

    let out = plan(&["--all", "true"]);
    assert_eq!(entries(&out).len(), 5);
}

#[test]
fn plan_over_256_entries_names_the_limit() {
    let dir = tmp();
    let mut catalog = String::from("platforms:\n  linux/amd64: a\n  linux/arm64: b\nimages:\n");
    for i in 0..129 {
        catalog.push_str(&format!(
            "  img{i}:\n    repository: r.io/o/img{i}\n    paths: ['x/**']\n"
        ));
    }
    std::fs::write(dir.path().join("c.yaml"), catalog).unwrap();
    let r = bitvault(
        dir.path(),
        &["build-matrix", "--catalog", "c.yaml", "--all", "true"],
        &[],
    );
    assert!(!r.success);
    assert!(r.stderr.contains("limit of 256"), "{}", r.stderr);
}

/// A `GITHUB_SHA` that is not a commit id (here not even ASCII, which used
/// to panic when cut to seven characters) is a clear error.
#[test]
fn plan_refuses_a_github_sha_that_is_not_a_commit_id() {
    let dir = tmp();
    std::fs::create_dir_all(dir.path().join(".github/bitvault")).unwrap();
    std::fs::write(dir.path().join(".github/bitvault/images.yaml"), CATALOG).unwrap();
    let r = bitvault(
        dir.path(),
        &["build-matrix", "--all", "true"],
        &[
            ("GITHUB_WORKSPACE", dir.path().to_str().unwrap()),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_SHA", "ééééééééé"),
        ],
    );
    assert!(!r.success);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("::error::GITHUB_SHA is \"ééééééééé\", not a commit id"),
        "{}",
        r.stderr
    );
}
