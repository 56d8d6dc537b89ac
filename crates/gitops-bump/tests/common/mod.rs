//! Shared by the integration tests: real `git` in a test checkout, through the one git
//! runner ([`bitvault_git::Git`]).
#![allow(dead_code)]

use std::path::Path;

/// Runs `git -C root ARGS` with a fixed test identity; panics on failure, with git's
/// message.
pub fn git(root: &Path, args: &[&str]) -> String {
    let out = bitvault_git::Git::new(root)
        .with_config("user.name", "test")
        .with_config("user.email", "test@example.com")
        .with_config("commit.gpgsign", "false")
        .run(args)
        .unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8(out).unwrap()
}
