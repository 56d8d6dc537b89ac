//! Records the git commit the binary is built from, for `bitvault --version`.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=BITVAULT_GIT_COMMIT");
    let commit = std::env::var("BITVAULT_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    // Rebuild when HEAD moves, so the commit in --version stays true.
    if let Ok(out) = Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .output()
        && out.status.success()
    {
        let git_dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
        println!("cargo:rerun-if-changed={git_dir}/refs/heads");
    }
    println!("cargo:rustc-env=BITVAULT_GIT_COMMIT={commit}");
}
