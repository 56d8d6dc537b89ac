//! Whole-output snapshots of what a user reads on the command line:
//! `bitvault --help`, `bitvault <action> --help` for every action, and the
//! input errors, which read the same whether the value came as a flag or as
//! the runner's `INPUT_<NAME>` variable.
//!
//! After changing a declaration: `INSTA_UPDATE=always cargo test -p bitvault
//! --test cli_text`, then review the `.snap` diff.

use std::process::Command;

fn bitvault(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bitvault"));
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_") || k.starts_with("INPUT_") || k.starts_with("RUNNER_") {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("COLUMNS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bitvault runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn top_level_help() {
    let (ok, stdout, _) = bitvault(&["--help"], &[]);
    assert!(ok);
    insta::assert_snapshot!("help", stdout);
}

#[test]
fn every_action_help() {
    for action in bitvault::actions() {
        let name = action.spec.name;
        let (ok, stdout, stderr) = bitvault(&[name, "--help"], &[]);
        assert!(ok, "{stderr}");
        insta::assert_snapshot!(format!("help_{name}"), stdout);
    }
}

/// The input errors, from flags and from the runner's variables alike.
#[test]
fn input_errors_read_the_same_from_flags_and_the_runner() {
    let cases: &[(&str, &str, &str)] = &[
        ("path-filter", "ordered", "yes"),
        ("path-filter", "initial-fetch-depth", "ten"),
        ("path-filter", "list-files", "yaml"),
        ("build-matrix", "mode", "publish"),
        ("build-matrix", "all", "maybe"),
    ];
    let mut text = String::new();
    for (action, input, value) in cases {
        let flag = format!("--{input}");
        let (ok, stdout, from_flag) = bitvault(&[action, &flag, value], &[]);
        assert!(!ok && stdout.is_empty(), "{from_flag}");
        let var = format!("INPUT_{}", input.to_uppercase());
        let (ok, _, from_env) = bitvault(&[action], &[(&var, value)]);
        assert!(!ok);
        assert_eq!(from_flag, from_env, "{action} {input}");
        text.push_str(&format!(
            "$ bitvault {action} {flag} {value}\n{from_flag}\n"
        ));
    }
    // A required input that is missing.
    let (_, _, missing) = bitvault(&["build-matrix", "--mode", "merge"], &[]);
    text.push_str(&format!(
        "$ bitvault build-matrix --mode merge\n{missing}\n"
    ));
    insta::assert_snapshot!("input_errors", text);
}
