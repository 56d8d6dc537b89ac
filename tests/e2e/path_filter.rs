//! path-filter end to end in a real git repository: the CLI (flags in, JSON
//! out), the binary under the runner's environment (`INPUT_*`,
//! `GITHUB_OUTPUT`, `GITHUB_EVENT_*`), and the composite action.yml give the
//! same outputs, names and values.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use bitvault_runner::files::parse_records;

use crate::composite::{self, Invocation, root};
use crate::support::bitvault;

/// Whether actions/path-filter/action.yml declares an output of this name.
fn action_yml_declares(name: &str) -> bool {
    let text = std::fs::read_to_string(root().join("actions/path-filter/action.yml")).unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    doc["outputs"].get(name).is_some()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "core.quotepath=off",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A monorepo with two services and three commits; the last two change
/// files with awkward names.
fn monorepo() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    for f in [
        "services/api/main.go",
        "services/web/index.ts",
        "docs/README.md",
    ] {
        std::fs::create_dir_all(p.join(f).parent().unwrap()).unwrap();
        std::fs::write(p.join(f), "x\n").unwrap();
    }
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "init"]);
    let base = git(p, &["rev-parse", "HEAD"]);
    std::fs::write(p.join("services/api/main.go"), "y\n").unwrap();
    std::fs::write(p.join("services/api/with space 'quoted'.go"), "y\n").unwrap();
    std::fs::write(p.join("services/api/-dash.go"), "y\n").unwrap();
    std::fs::write(p.join("services/api/ünï.go"), "y\n").unwrap();
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "api"]);
    std::fs::write(p.join("docs/new.md"), "z\n").unwrap();
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "docs"]);
    let head = git(p, &["rev-parse", "HEAD"]);
    (dir, base, head)
}

const FILTERS: &str = "api:\n  - 'services/api/**'\nweb: &web\n  - 'services/web/**'\nweb2: *web\ndocs:\n  - added: 'docs/**'\nnot-docs:\n  - '!docs/**'\n";

#[test]
fn cli_runner_environment_and_action_yml_agree() {
    let (dir, base, head) = monorepo();
    let p = dir.path();

    // 1. The CLI.
    let cli = bitvault(
        p,
        &[
            "path-filter",
            "--filters",
            FILTERS,
            "--base",
            &base,
            "--ref",
            &head,
            "--list-files",
            "json",
        ],
        &[],
    );
    assert!(cli.success, "{}", cli.stderr);
    let cli_out: BTreeMap<String, String> = cli
        .json()
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(cli_out["api"], "true");
    assert_eq!(cli_out["api_count"], "4");
    let api_files: Vec<String> = serde_json::from_str(&cli_out["api_files"]).unwrap();
    assert!(api_files.contains(&"services/api/with space 'quoted'.go".to_string()));
    assert!(api_files.contains(&"services/api/-dash.go".to_string()));
    assert!(api_files.contains(&"services/api/ünï.go".to_string()));
    assert_eq!(cli_out["web"], "false");
    assert_eq!(cli_out["web2"], "false");
    assert_eq!(cli_out["docs"], "true");
    assert_eq!(cli_out["docs_count"], "1");
    assert_eq!(cli_out["changes"], r#"["api","docs","not-docs"]"#);
    // A filter of only `!` rules matches nearly everything: said, not silent.
    assert!(cli.stderr.contains("::warning"), "{}", cli.stderr);

    // 2. The same binary under the runner's environment: a push event.
    let tmp = tempfile::tempdir().unwrap();
    let event = tmp.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({
            "before": base, "after": head, "ref": "refs/heads/main", "forced": false,
            "repository": {"default_branch": "main", "full_name": "acme/mono"}
        })
        .to_string(),
    )
    .unwrap();
    let output = tmp.path().join("output");
    let summary = tmp.path().join("summary");
    std::fs::write(&output, "").unwrap();
    let ws = p.to_str().unwrap();
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_WORKSPACE", ws),
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        ("GITHUB_SHA", head.as_str()),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_OUTPUT", output.to_str().unwrap()),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ("RUNNER_TEMP", tmp.path().to_str().unwrap()),
        ("INPUT_FILTERS", FILTERS),
        ("INPUT_LIST-FILES", "json"),
        ("INPUT_PREDICATE-QUANTIFIER", "some"),
        ("INPUT_INITIAL-FETCH-DEPTH", "100"),
    ];
    let runner = bitvault(p, &["path-filter"], &env);
    assert!(runner.success, "{}", runner.stderr);
    let records: BTreeMap<String, String> =
        parse_records(&std::fs::read_to_string(&output).unwrap())
            .unwrap()
            .into_iter()
            .collect();
    for (k, v) in &cli_out {
        if k == "files-path" {
            continue; // a fresh file per run
        }
        assert_eq!(records.get(k), Some(v), "GITHUB_OUTPUT {k}");
    }
    assert_eq!(records.len(), cli_out.len());
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("| api |") || summary.contains("api"),
        "{summary}"
    );

    // 3. The composite action, as the runner runs it.
    let mut github = BTreeMap::new();
    github.insert("action_ref".to_string(), String::new());
    github.insert("token".to_string(), "ghs_x".to_string());
    let outcome = composite::run(Invocation {
        action_dir: root().join("actions/path-filter"),
        with: vec![
            ("filters", FILTERS.to_string()),
            ("list-files", "json".into()),
        ],
        env: vec![
            ("BITVAULT_BIN".into(), env!("CARGO_BIN_EXE_bitvault").into()),
            ("GITHUB_WORKSPACE".into(), ws.into()),
            ("GITHUB_EVENT_NAME".into(), "push".into()),
            ("GITHUB_EVENT_PATH".into(), event.display().to_string()),
            ("GITHUB_SHA".into(), head.clone()),
            ("GITHUB_REF".into(), "refs/heads/main".into()),
        ],
        workdir: p.to_path_buf(),
        github,
    })
    .unwrap();
    assert!(outcome.success, "{}", outcome.log);
    assert_eq!(outcome.outputs["changes"], cli_out["changes"]);
    let files: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outcome.outputs["files-path"]).unwrap())
            .unwrap();
    assert_eq!(files["api"].as_array().unwrap().len(), 4);
    // The run step itself wrote every dorny output, as the binary does.
    let run = &outcome.step_outputs["run"];
    assert_eq!(run["api_files"], cli_out["api_files"]);
    // And they reach `steps.<id>.outputs` through `uses:`, though action.yml
    // cannot declare them (filter names are the caller's): a JavaScript action
    // passes on every output, as dorny/paths-filter's does.
    for name in ["api", "api_count", "api_files"] {
        assert!(
            !action_yml_declares(name),
            "`{name}` is declared; the test would prove nothing"
        );
        assert_eq!(
            outcome.outputs.get(name),
            cli_out.get(name),
            "steps.filter.outputs.{name}"
        );
    }
    // The token input's `${{ github.token }}` default reached the binary masked, never printed.
    assert!(
        !outcome.log.contains("ghs_x") || outcome.log.contains("::add-mask::ghs_x"),
        "{}",
        outcome.log
    );
}

#[test]
fn a_file_name_crafted_to_inject_an_output_stays_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"]);
    std::fs::write(p.join("a"), "").unwrap();
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "a"]);
    let base = git(p, &["rev-parse", "HEAD"]);
    let evil = "x\nghadelimiter_0\ninjected=true\nEOF\nother<<EOF\nyes\nEOF";
    std::fs::write(p.join(evil), "").unwrap();
    git(p, &["add", "-A"]);
    git(p, &["commit", "-qm", "evil"]);
    let head = git(p, &["rev-parse", "HEAD"]);
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().join("output");
    std::fs::write(&output, "").unwrap();
    let r = bitvault(
        p,
        &[
            "path-filter",
            "--filters",
            "all: '*'",
            "--base",
            &base,
            "--ref",
            &head,
            "--list-files",
            "json",
        ],
        &[("GITHUB_OUTPUT", output.to_str().unwrap())],
    );
    assert!(r.success, "{}", r.stderr);
    let records = parse_records(&std::fs::read_to_string(&output).unwrap()).unwrap();
    let names: Vec<&str> = records.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        !names.contains(&"injected") && !names.contains(&"other"),
        "{names:?}"
    );
    let files = &records.iter().find(|(k, _)| k == "all_files").unwrap().1;
    let files: Vec<String> = serde_json::from_str(files).unwrap();
    assert_eq!(files, vec![evil.to_string()]);
}
