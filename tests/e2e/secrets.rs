//! No secret reaches a log. Every action runs with a sentinel in each of its
//! secret inputs (as a flag and as `INPUT_<NAME>`) and in the secret-bearing
//! environment (GITHUB_TOKEN, the OIDC request token), through failure paths
//! (unreachable services, refused input): as a plain CLI the sentinel appears
//! nowhere; under the runner only inside `::add-mask::` commands, which the
//! runner consumes and never shows.

use std::process::Command;

const SENTINEL: &str = "SeNtInEl-c0ffee-9f8e7d6c5b4a";

/// A run of `bitvault <action>` with every secret input set to the sentinel;
/// `extra` adds flags (required inputs, endpoints that refuse).
fn run(action: &str, under_runner: bool, extra: &[(&str, &str)]) -> (String, String, String) {
    let spec = bitvault::actions()
        .into_iter()
        .find(|a| a.spec.name == action)
        .unwrap()
        .spec;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let summary = dir.path().join("summary");
    std::fs::write(&output, "").unwrap();
    std::fs::write(&summary, "").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bitvault"));
    cmd.arg(action).current_dir(dir.path()).env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("GITHUB_TOKEN", SENTINEL)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", SENTINEL)
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:1/token");
    if under_runner {
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("RUNNER_TEMP", dir.path());
    }
    for input in spec.inputs.iter().filter(|i| i.secret) {
        // A multi-line secret (a PEM key) is masked line by line: put the
        // sentinel on a line of its own too.
        let value = format!("{SENTINEL}\n{SENTINEL}-line2");
        if under_runner {
            cmd.env(input.env_name(), &value);
        } else {
            cmd.arg(format!("--{}", input.name)).arg(&value);
        }
    }
    for (k, v) in extra {
        cmd.arg(format!("--{k}")).arg(v);
    }
    let out = cmd.output().unwrap();
    let files = format!(
        "{}{}",
        std::fs::read_to_string(&output).unwrap(),
        std::fs::read_to_string(&summary).unwrap()
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        files,
    )
}

fn check(action: &str, extra: &[(&str, &str)]) {
    let (stdout, stderr, _) = run(action, false, extra);
    assert!(
        !stdout.contains(SENTINEL) && !stderr.contains(SENTINEL),
        "`bitvault {action}` printed a secret outside the runner:\n{stdout}\n{stderr}"
    );
    let (stdout, stderr, files) = run(action, true, extra);
    assert!(!stdout.contains(SENTINEL), "{action}: stdout\n{stdout}");
    assert!(
        !files.contains(SENTINEL),
        "{action}: GITHUB_OUTPUT/summary\n{files}"
    );
    for line in stderr.lines().filter(|l| l.contains(SENTINEL)) {
        assert!(
            line.starts_with("::add-mask::"),
            "{action}: a secret outside ::add-mask:: under the runner: {line}"
        );
    }
}

#[test]
fn no_action_prints_a_secret_on_a_refused_input() {
    // Inputs only: each run stops at input checks or at its first request.
    for action in bitvault::actions() {
        check(action.spec.name, &[]);
    }
}

#[test]
fn no_secret_on_network_failures() {
    let dead = "http://127.0.0.1:1";
    let image = "127.0.0.1:1/demo/app@sha256:0000000000000000000000000000000000000000000000000000000000000001";
    check(
        "gitops-bump",
        &[
            ("repository", "acme/gitops"),
            ("environment", "dev"),
            ("image", "app"),
            (
                "digest",
                "sha256:0000000000000000000000000000000000000000000000000000000000000001",
            ),
            ("github-api-url", dead),
        ],
    );
    check("verify", &[("image", image)]);
    check("sign-keyless", &[("images", image)]);
    check(
        "path-filter",
        &[
            ("filters", "a: ['**']"),
            ("changes-from", "api"),
            ("base", "main"),
        ],
    );
}
