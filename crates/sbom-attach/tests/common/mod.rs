//! Shared by the integration tests: the fixture images (built from real packages by
//! `scripts/sbom-fixtures.sh`), pushed to a real registry.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use bitvault_registry::{Client, ClientOptions, Digest};
use bitvault_sbom_attach::documents::Format;
use bitvault_sbom_attach::layers::Limits;
use bitvault_sbom_attach::source::Source;
use bitvault_sbom_attach::{Described, describe};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The OCI layout holding `app`, `distroless`, `att` and `multi`.
pub fn layout() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| fixtures(false).join("layout")).clone()
}

/// Runs the fixture script (cached), returning its output directory.
pub fn fixtures(bench: bool) -> PathBuf {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("scripts/sbom-fixtures.sh"));
    if bench {
        cmd.arg("--bench");
    }
    let out = cmd.output().expect("run scripts/sbom-fixtures.sh");
    assert!(
        out.status.success(),
        "scripts/sbom-fixtures.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

pub fn tool(name: &str) -> PathBuf {
    root().join(".tools/venv/bin").join(name)
}

/// Copies `tag` of the fixture layout to `<host>/<repo>:<tag>` (all platforms, digests
/// kept) and returns the pushed digest.
pub fn push(layout: &Path, tag: &str, host: &str, repo: &str) -> Digest {
    let work = tempfile::tempdir().unwrap();
    let policy = work.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    let digest_file = work.path().join("digest");
    let out = Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-no-creds",
        ])
        .arg("--policy")
        .arg(&policy)
        .arg("--digestfile")
        .arg(&digest_file)
        .arg(format!("oci:{}:{tag}", layout.display()))
        .arg(format!("docker://{host}/{repo}:{tag}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Digest::parse(std::fs::read_to_string(digest_file).unwrap().trim()).unwrap()
}

/// Runs the catalogers over `source`.
pub fn describe_source(source: &str) -> Vec<Described> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = Client::new(ClientOptions::default()).unwrap();
    let source = Source::parse(source).unwrap();
    let (_, described) = describe(
        &source,
        &client,
        rt.handle(),
        &[Format::CycloneDx, Format::Spdx],
        &Limits::default(),
    )
    .unwrap();
    described
}
