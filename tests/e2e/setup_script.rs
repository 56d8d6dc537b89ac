//! The setup script: a published release is downloaded for its exact
//! version and used only when its SHA-256 matches `checksums.txt`.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::composite::{self, Invocation, root};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A static file server on 127.0.0.1 (python's http.server), standing in
/// for the release download host.
fn serve(dir: &Path) -> (Server, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (Server(child), port)
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// A published action repository as the release workflow lays it out:
/// action.yml, setup.sh and checksums.txt, plus the release's archives.
fn fake_release(tamper: bool) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let version = "v9.8.7";
    let triple = match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-musl",
    };
    let asset = format!("bitvault-{version}-{triple}.tar.gz");
    let dl = dir.path().join("download").join(version);
    std::fs::create_dir_all(&dl).unwrap();
    let stage = dir.path().join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_bitvault"), stage.join("bitvault")).unwrap();
    let ok = Command::new("tar")
        .args(["-czf"])
        .arg(dl.join(&asset))
        .args(["-C"])
        .arg(&stage)
        .arg("bitvault")
        .status()
        .unwrap();
    assert!(ok.success());
    let mut sum = sha256(&dl.join(&asset));
    if tamper {
        sum = sum.replace(&sum[..1], if &sum[..1] == "0" { "1" } else { "0" });
    }
    let action = dir.path().join("action");
    std::fs::create_dir_all(&action).unwrap();
    std::fs::copy(root().join("scripts/setup.sh"), action.join("setup.sh")).unwrap();
    let bin_sum = sha256(&stage.join("bitvault"));
    let bin_entry = format!("bitvault-{version}-{triple}/bitvault");
    let mut f = std::fs::File::create(action.join("checksums.txt")).unwrap();
    writeln!(
        f,
        "# version: {version}\n{sum}  {asset}\n{bin_sum}  {bin_entry}"
    )
    .unwrap();
    (dir, action)
}

fn run_setup(action: &Path, port: u16) -> (std::process::Output, String, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let gh_path = tmp.path().join("path");
    std::fs::write(&gh_path, "").unwrap();
    let out = Command::new("bash")
        .arg(action.join("setup.sh"))
        .env_remove("BITVAULT_BIN")
        .env("GITHUB_PATH", &gh_path)
        .env("RUNNER_TOOL_CACHE", tmp.path().join("cache"))
        .env(
            "BITVAULT_RELEASE_BASE_URL",
            format!("http://127.0.0.1:{port}/download"),
        )
        .output()
        .unwrap();
    let path = std::fs::read_to_string(&gh_path).unwrap();
    (out, path, tmp)
}

#[test]
fn a_release_is_used_only_when_its_checksum_matches() {
    let (dir, action) = fake_release(false);
    let (_server, port) = serve(dir.path());
    let (out, path, _tmp) = run_setup(&action, port);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let bin_dir = path.lines().next().expect("a GITHUB_PATH entry");
    assert!(bin_dir.contains("/bitvault/9.8.7/"), "{bin_dir}");
    let v = Command::new(Path::new(bin_dir).join("bitvault"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).contains("commit"));

    let (dir, action) = fake_release(true);
    let (_server, port) = serve(dir.path());
    let (out, path, _tmp) = run_setup(&action, port);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("::error") && stderr.contains("checksum mismatch"),
        "{stderr}"
    );
    assert_eq!(path, "", "nothing may be put on PATH after a mismatch");
}

/// A persistent self-hosted runner shares its tool cache between jobs: a binary
/// planted there by an earlier job (with the public archive checksum written
/// beside it) must never run; setup hashes the binary itself and downloads again.
#[test]
fn a_binary_planted_in_the_tool_cache_is_not_run() {
    let (dir, action) = fake_release(false);
    let (_server, port) = serve(dir.path());
    let (out, path, tmp) = run_setup(&action, port);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin_dir = std::path::PathBuf::from(path.lines().next().unwrap());
    // An earlier job replaces the cached binary, keeping the marker file.
    let planted = bin_dir.join("bitvault");
    let witness = tmp.path().join("planted-ran");
    std::fs::remove_file(&planted).unwrap();
    std::fs::write(
        &planted,
        format!(
            "#!/bin/sh\ntouch {}\necho 'bitvault 9.8.7 (commit planted)'\n",
            witness.display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&planted)
        .status()
        .unwrap();
    let gh_path = tmp.path().join("path2");
    let out = Command::new("bash")
        .arg(action.join("setup.sh"))
        .env_remove("BITVAULT_BIN")
        .env("GITHUB_PATH", &gh_path)
        .env("RUNNER_TOOL_CACHE", tmp.path().join("cache"))
        .env(
            "BITVAULT_RELEASE_BASE_URL",
            format!("http://127.0.0.1:{port}/download"),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!witness.exists(), "the planted binary ran: {stderr}");
    assert!(stderr.contains("does not match checksums.txt"), "{stderr}");
    assert!(stderr.contains("downloading bitvault-v9.8.7-"), "{stderr}");
    // The cache holds the released binary again (as packed in the archive).
    assert_eq!(sha256(&planted), sha256(&dir.path().join("stage/bitvault")));
}

#[test]
fn the_root_setup_action_puts_bitvault_on_path() {
    let mut github = std::collections::BTreeMap::new();
    github.insert("action_ref".to_string(), String::new());
    let outcome = composite::run(Invocation {
        action_dir: root(),
        with: vec![],
        env: vec![("BITVAULT_BIN".into(), env!("CARGO_BIN_EXE_bitvault").into())],
        workdir: root(),
        github,
    })
    .unwrap();
    assert!(outcome.success, "{}", outcome.log);
    assert!(
        outcome.outputs["version"].starts_with(env!("CARGO_PKG_VERSION")),
        "{:?}",
        outcome.outputs
    );
}

/// The release workflow's publishing step, run locally: it generates one
/// repository per action; each must work as `uses: bitvault/<name>@v9.8.7`,
/// downloading the release archive, checking it, and running the action.
#[test]
fn published_action_repositories_work_from_the_release() {
    let (dir, action) = fake_release(false);
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let version_dir = dir.path().join("download/v9.8.7");
    for entry in std::fs::read_dir(&version_dir).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dist.join(p.file_name().unwrap())).unwrap();
    }
    // The release job writes checksums.txt over the archives (and their binaries).
    let archive = std::fs::read_dir(&dist)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let name = archive.file_name().unwrap().to_str().unwrap().to_string();
    std::fs::copy(action.join("checksums.txt"), dist.join("checksums.txt")).unwrap();
    if !name.contains("x86_64-unknown-linux-musl") {
        return; // the publisher runs the Linux x64 build; nothing to check on other hosts
    }
    let out = dir.path().join("published");
    let status = Command::new("bash")
        .arg(root().join("scripts/publish-actions.sh"))
        .args(["v9.8.7"])
        .arg(&dist)
        .arg(&out)
        .env_remove("PUBLISH_TOKEN")
        .status()
        .unwrap();
    assert!(status.success());
    let (_server, port) = serve(dir.path());
    for action in std::fs::read_dir(root().join("actions")).unwrap() {
        let action = action.unwrap().file_name().into_string().unwrap();
        let tree = out.join(&action);
        for f in [
            "action.yml",
            "main.js",
            "action.js",
            "setup.sh",
            "checksums.txt",
            "README.md",
        ] {
            assert!(tree.join(f).is_file(), "{action}: no {f}");
        }
        // The published action runs setup.sh beside it (no checkout of ours needed).
        let main = std::fs::read_to_string(tree.join("main.js")).unwrap();
        assert!(
            main.contains("\"setup.sh\"") && main.contains("./action.js"),
            "{action}: {main}"
        );
    }
    // Run one published action the way the runner does: setup downloads and
    // checks the archive, then the action runs.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("c.yaml"),
        "platforms: {linux/amd64: ubuntu-24.04}\nimages:\n  a: {repository: r.io/o/a, paths: ['**']}\n",
    )
    .unwrap();
    let mut github = std::collections::BTreeMap::new();
    github.insert("action_ref".to_string(), "v9.8.7".to_string());
    let outcome = composite::run(Invocation {
        action_dir: out.join("build-matrix"),
        with: vec![("catalog", "c.yaml".into()), ("all", "true".into())],
        env: vec![
            (
                "BITVAULT_RELEASE_BASE_URL".into(),
                format!("http://127.0.0.1:{port}/download"),
            ),
            ("GITHUB_WORKSPACE".into(), work.path().display().to_string()),
        ],
        workdir: work.path().to_path_buf(),
        github,
    })
    .unwrap();
    assert!(outcome.success, "{}", outcome.log);
    assert!(
        outcome.log.contains("downloading bitvault-v9.8.7-"),
        "{}",
        outcome.log
    );
    assert_eq!(outcome.outputs["has-builds"], "true");
}
