//! Test support for the BitVault workspace: a real registry, real images.
//!
//! Everything here is synchronous and usable from any crate's tests:
//! - [`Registry::start`] runs Debian's `docker-registry` (distribution 2.8) on
//!   `127.0.0.1` with a free port and storage in a temporary directory, and stops it on
//!   drop. [`Registry::start_with_htpasswd`] adds basic auth.
//! - [`make_image`] builds a small single-platform OCI image with `umoci` and pushes it
//!   with `skopeo`, returning its manifest digest.
//! - [`make_image_by_digest`] does the same with no tag at all, as a build pushes by digest.
//! - [`skopeo_inspect_raw`] reads a manifest back independently of our own code.
//!
//! The same recipes serve the demo (`scripts/demo.sh`) through the `bitvault-testkit`
//! binary (`registry DIR`, `image REPOSITORY ARCH`), so there is one way to run a local
//! registry and make an image.
//!
//! ```no_run
//! let registry = bitvault_testkit::Registry::start();
//! let digest = bitvault_testkit::make_image(&registry, "app", "v1", "amd64");
//! let raw = registry.inspect_raw(&format!("{}/app@{digest}", registry.host()));
//! assert_eq!(bitvault_testkit::sha256_digest(&raw), digest);
//! ```

pub mod props;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

/// Tools the test kit runs, with the Debian packages that provide them.
const TOOLS: &[(&str, &str)] = &[
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("umoci", "umoci"),
    ("htpasswd", "apache2-utils"),
];

/// Panics with the apt packages to install if a tool the kit needs is missing.
pub fn require_tools() {
    let missing: Vec<_> = TOOLS
        .iter()
        .filter(|(tool, _)| which(tool).is_none())
        .collect();
    if !missing.is_empty() {
        let tools: Vec<_> = missing.iter().map(|(t, _)| *t).collect();
        let packages: Vec<_> = missing.iter().map(|(_, p)| *p).collect();
        panic!(
            "missing test tools: {}; install them with: apt-get install {}",
            tools.join(", "),
            packages.join(" ")
        );
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A running `docker-registry serve` on 127.0.0.1, stopped and deleted on drop.
pub struct Registry {
    /// `None` once detached.
    child: Option<Child>,
    port: u16,
    dir: Option<TempDir>,
    credentials: Option<(String, String)>,
}

impl Registry {
    /// Starts an anonymous registry.
    pub fn start() -> Registry {
        Self::start_inner(None)
    }

    /// Starts a registry that requires basic auth as `user`/`pass` (bcrypt htpasswd).
    pub fn start_with_htpasswd(user: &str, pass: &str) -> Registry {
        Self::start_inner(Some((user.to_owned(), pass.to_owned())))
    }

    fn start_inner(credentials: Option<(String, String)>) -> Registry {
        require_tools();
        let mut last_error = String::new();
        // Another process can take the free port between our probe and the registry's
        // bind; try a few ports.
        for _ in 0..5 {
            match Self::try_start(credentials.clone()) {
                Ok(r) => return r,
                Err(e) => last_error = e,
            }
        }
        panic!("docker-registry did not start: {last_error}");
    }

    fn try_start(credentials: Option<(String, String)>) -> Result<Registry, String> {
        let dir = tempfile::Builder::new()
            .prefix("bitvault-registry-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let mut auth = String::new();
        if let Some((user, pass)) = &credentials {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, pass])
                .output()
                .map_err(|e| format!("htpasswd: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "htpasswd failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, &out.stdout).map_err(|e| e.to_string())?;
            auth = format!(
                "auth:\n  htpasswd:\n    realm: bitvault-testkit\n    path: {}\n",
                file.display()
            );
        }
        let config = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n  \
             maintenance:\n    uploadpurging:\n      enabled: false\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: bitvault-testkit\n\
             {auth}",
            data = dir.path().join("data").display(),
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let log =
            std::fs::File::create(dir.path().join("registry.log")).map_err(|e| e.to_string())?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            // Keep settings from the environment (REGISTRY_*) out of the test registry.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .spawn()
            .map_err(|e| format!("cannot run docker-registry: {e}"))?;
        let mut registry = Registry {
            child: Some(child),
            port,
            dir: Some(dir),
            credentials,
        };
        registry.wait_ready()?;
        Ok(registry)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!("exited with {status}: {}", self.log()));
            }
            if let Some(status) = http_status(&self.host(), "/v2/") {
                // 401 means up and asking for credentials.
                if status == 200 || status == 401 {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("/v2/ did not answer within 30s: {}", self.log()))
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Username and password, for a registry started with htpasswd.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The registry's storage root.
    pub fn storage_dir(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// Leaves the registry running after this value is gone (for the demo, which stops
    /// it by its process id) and returns that id; storage and log stay in `self.dir`.
    // The caller owns the process now and stops it by its id; once this program exits,
    // init reaps it.
    #[allow(clippy::zombie_processes)]
    pub fn detach(mut self) -> (String, u32, PathBuf) {
        // A `Child` does not kill its process when dropped; only our `Drop` does.
        let child = self.child.take().expect("not detached yet");
        let dir = self.dir.take().expect("not detached yet");
        (self.host(), child.id(), dir.keep())
    }

    fn dir(&self) -> &Path {
        self.dir.as_ref().expect("not detached").path()
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("registry.log")).unwrap_or_default()
    }

    /// `skopeo inspect --raw` of `reference` (`host/repo:tag` or `host/repo@sha256:...`),
    /// with this registry's credentials.
    pub fn inspect_raw(&self, reference: &str) -> Vec<u8> {
        skopeo_inspect_raw_with(reference, self.credentials())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Status code of `GET path` on `host`, or `None` if nothing answers.
fn http_status(host: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&host.parse().ok()?, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let line = std::str::from_utf8(&buf[..n]).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `skopeo inspect --raw docker://<reference>` against a plain-HTTP registry.
pub fn skopeo_inspect_raw(reference: &str) -> Vec<u8> {
    skopeo_inspect_raw_with(reference, None)
}

/// [`skopeo_inspect_raw`] with basic-auth credentials.
pub fn skopeo_inspect_raw_with(reference: &str, credentials: Option<(&str, &str)>) -> Vec<u8> {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--raw", "--tls-verify=false"]);
    if let Some((u, p)) = credentials {
        cmd.arg(format!("--creds={u}:{p}"));
    } else {
        cmd.arg("--no-creds");
    }
    cmd.arg(format!("docker://{reference}"));
    let out = run(&mut cmd);
    out.stdout
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed with {}:\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Builds a small single-platform OCI image for `linux/<arch>` with umoci (one layer
/// holding a file that names repo, tag and arch) and pushes it to
/// `<registry>/<repo>:<tag>` with skopeo. Returns the manifest digest as pushed.
pub fn make_image(registry: &Registry, repo: &str, tag: &str, arch: &str) -> String {
    let content = format!("bitvault testkit image {repo}:{tag} for linux/{arch}\n");
    push_image(
        &registry.host(),
        registry.credentials(),
        repo,
        Some(tag),
        arch,
        &content,
    )
}

/// Builds the same kind of image and pushes it to `<host>/<repo>@<digest>`: no tag is
/// written (skopeo's default would be `latest`). `content` goes into `/hello.txt`.
/// Returns the manifest digest.
pub fn make_image_by_digest(
    host: &str,
    credentials: Option<(&str, &str)>,
    repo: &str,
    arch: &str,
    content: &str,
) -> String {
    push_image(host, credentials, repo, None, arch, content)
}

fn push_image(
    host: &str,
    credentials: Option<(&str, &str)>,
    repo: &str,
    tag: Option<&str>,
    arch: &str,
    content: &str,
) -> String {
    require_tools();
    let work = tempfile::tempdir().expect("tempdir");
    let layout = work.path().join("oci");
    let image = format!("{}:img", layout.display());
    run(Command::new("umoci")
        .args(["init", "--layout"])
        .arg(&layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    let file = work.path().join("hello.txt");
    std::fs::write(&file, content).expect("write layer file");
    run(Command::new("umoci")
        .args(["insert", "--image", &image])
        .arg(&file)
        .arg("/hello.txt"));
    run(Command::new("umoci").args([
        "config",
        "--image",
        &image,
        "--architecture",
        arch,
        "--os",
        "linux",
    ]));
    let digest_file = work.path().join("digest");
    let mut copy = Command::new("skopeo");
    copy.args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg("--policy")
        .arg(write_policy(work.path()))
        .arg("--digestfile")
        .arg(&digest_file);
    match credentials {
        Some((u, p)) => copy.arg(format!("--dest-creds={u}:{p}")),
        None => copy.arg("--dest-no-creds"),
    };
    let dest = match tag {
        Some(tag) => format!("docker://{host}/{repo}:{tag}"),
        None => format!("docker://{host}/{repo}@{}", layout_digest(&layout)),
    };
    copy.arg(format!("oci:{image}")).arg(dest);
    run(&mut copy);
    let digest = std::fs::read_to_string(&digest_file).expect("skopeo digest file");
    let digest = digest.trim().to_owned();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "unexpected digest {digest:?} from skopeo"
    );
    digest
}

/// The manifest digest of the one image in an OCI layout's `index.json`.
fn layout_digest(layout: &Path) -> String {
    let index = std::fs::read_to_string(layout.join("index.json")).expect("read index.json");
    let index: serde_json::Value = serde_json::from_str(&index).expect("index.json is JSON");
    let digest = index["manifests"][0]["digest"]
        .as_str()
        .expect("index.json lists one manifest");
    digest.to_owned()
}

fn write_policy(dir: &Path) -> PathBuf {
    let path = dir.join("policy.json");
    std::fs::write(&path, r#"{"default":[{"type":"insecureAcceptAnything"}]}"#)
        .expect("write policy");
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_serves_and_images_differ_by_arch() {
        let registry = Registry::start();
        assert_eq!(http_status(&registry.host(), "/v2/"), Some(200));
        let amd64 = make_image(&registry, "kit/app", "amd64", "amd64");
        let arm64 = make_image(&registry, "kit/app", "arm64", "arm64");
        assert_ne!(amd64, arm64);
        let raw = skopeo_inspect_raw(&format!("{}/kit/app:amd64", registry.host()));
        assert_eq!(sha256_digest(&raw), amd64);
        let raw = skopeo_inspect_raw(&format!("{}/kit/app@{arm64}", registry.host()));
        assert_eq!(sha256_digest(&raw), arm64);
    }

    #[test]
    fn htpasswd_registry_requires_credentials() {
        let registry = Registry::start_with_htpasswd("kit", "s3cret");
        assert_eq!(http_status(&registry.host(), "/v2/"), Some(401));
        let digest = make_image(&registry, "kit/auth", "v1", "amd64");
        let raw = registry.inspect_raw(&format!("{}/kit/auth:v1", registry.host()));
        assert_eq!(sha256_digest(&raw), digest);
    }

    #[test]
    fn by_digest_writes_no_tag() {
        let registry = Registry::start();
        let digest = make_image_by_digest(&registry.host(), None, "kit/bare", "amd64", "x\n");
        let raw = skopeo_inspect_raw(&format!("{}/kit/bare@{digest}", registry.host()));
        assert_eq!(sha256_digest(&raw), digest);
        // No tag at all, `latest` least of all.
        assert_eq!(
            http_status(&registry.host(), "/v2/kit/bare/manifests/latest"),
            Some(404)
        );
    }

    #[test]
    fn registry_stops_on_drop() {
        let registry = Registry::start();
        let host = registry.host();
        drop(registry);
        assert_eq!(http_status(&host, "/v2/"), None);
    }
}
