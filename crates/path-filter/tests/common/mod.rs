//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The directory holding the node oracles and their `node_modules`.
pub fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node")
}

/// Whether node and the oracles' packages are installed. When not, says so
/// loudly: the differential tests are then skipped, not passed.
pub fn node_ready(test: &str) -> bool {
    let ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && node_dir().join("node_modules/picomatch").is_dir()
        && node_dir().join("node_modules/js-yaml").is_dir();
    if !ok {
        eprintln!(
            "\n!!!!!!!! SKIPPING {test}: node or the oracles' npm packages are missing.\n!!!!!!!! run `npm ci --prefix {}` first.\n",
            node_dir().display()
        );
    }
    ok
}

/// Runs `node <script>` with `input` on stdin and returns stdout.
pub fn run_node(script: &str, input: &str) -> String {
    let mut child = Command::new("node")
        .arg(node_dir().join(script))
        .current_dir(node_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start node");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("node failed");
    writer.join().expect("writer").expect("write to node");
    assert!(out.status.success(), "node {script} failed");
    String::from_utf8(out.stdout).expect("utf-8 from node")
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}
