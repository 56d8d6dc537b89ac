//! End-to-end benchmark: a push of 100,000 new files, 500 filters.
//!
//! `cargo bench -p bitvault-path-filter`. Builds the repository with
//! `git fast-import` (seconds), times `run()` (git diff + matching +
//! outputs) and the matching alone, prints peak memory, then times the
//! dorny-equivalent node loop (`tests/node/dorny-bench.js`: js-yaml +
//! picomatch, every filter over every file) on the same files and filters
//! and prints the speed-up. No assertions on time.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use bitvault_path_filter::filter::{ChangedFile, FilterSet, Mode};
use bitvault_path_filter::list::ListFormat;
use bitvault_path_filter::{SPEC, report, run};
use bitvault_runner::{Env, Step};

const FILES: usize = 100_000;
const FILTERS: usize = 500;
const TOPS: &[&str] = &["services", "libs", "web", "docs", "tools", "infra"];
const SUBS: &[&str] = &["src", "test", "docs", "config"];
const EXTS: &[&str] = &["rs", "ts", "go", "md", "yaml", "json", "tsx"];

fn path_of(i: usize) -> String {
    let top = TOPS[i % TOPS.len()];
    let svc = (i / TOPS.len()) % 100;
    let sub = SUBS[(i / 600) % SUBS.len()];
    let ext = EXTS[i % EXTS.len()];
    format!("{top}/svc{svc}/{sub}/m{}/f{i}.{ext}", i % 13)
}

/// 500 filters: directory globs, extension globs, braces, extglobs,
/// change types and (under `some`) the occasional negation.
fn filters_yaml() -> String {
    let mut y = String::new();
    for k in 0..FILTERS {
        let n = k % 100;
        let line = match k / 100 {
            0 => format!("svc{k}:\n  - 'services/svc{n}/**'\n  - 'libs/svc{n}/**'\n"),
            1 => format!(
                "web{k}:\n  - 'web/svc{n}/**/*.{{ts,tsx}}'\n  - '**/svc{n}/config/*.json'\n"
            ),
            2 => format!(
                "multi{k}:\n  - '{{services,libs}}/svc{n}/{{src,test}}/**'\n  - 'tools/svc{n}/**/!(*.md)'\n"
            ),
            3 => format!(
                "typed{k}:\n  - added|modified: 'infra/svc{n}/**/*.{{yaml,yml}}'\n  - deleted: 'docs/**'\n  - '**/m{}/f{}*.go'\n",
                n % 13,
                n
            ),
            // A few with dorny's classic `!` pitfall (they match nearly all).
            _ if k % 20 == 0 => format!("neg{k}:\n  - 'docs/svc{n}/**'\n  - '!**/*.md'\n"),
            _ => format!("ext{k}:\n  - 'docs/svc{n}/**/*.md'\n  - '**/svc{n}/**/*.rs'\n"),
        };
        y.push_str(&line);
    }
    y
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn make_repo(dir: &Path) -> (String, String) {
    git(dir, &["init", "-q", "-b", "main"]);
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    let mut s = String::with_capacity(FILES * 60);
    let who = "b <b@e> 1700000000 +0000";
    s.push_str("blob\nmark :1\ndata 2\nx\n\n");
    s.push_str(&format!("commit refs/heads/main\nmark :2\nauthor {who}\ncommitter {who}\ndata 4\nbase\nM 100644 :1 README.md\n\n"));
    s.push_str(&format!(
        "commit refs/heads/main\nmark :3\nauthor {who}\ncommitter {who}\ndata 4\nmany\nfrom :2\n"
    ));
    for i in 0..FILES {
        s.push_str("M 100644 :1 ");
        s.push_str(&path_of(i));
        s.push('\n');
    }
    s.push('\n');
    child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let base = git(dir, &["rev-parse", "main~1"]);
    let head = git(dir, &["rev-parse", "main"]);
    (base, head)
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it too.
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let t = Instant::now();
    let (base, head) = make_repo(&repo);
    eprintln!(
        "generated a repository with {FILES} changed files in {:.2?}",
        t.elapsed()
    );

    let filters = filters_yaml();
    let event = tmp.path().join("event.json");
    let payload = serde_json::json!({
        "ref": "refs/heads/main", "before": base, "after": head,
        "repository": {"default_branch": "main"}
    });
    std::fs::write(&event, payload.to_string()).unwrap();
    let env = Env::from_pairs(
        [
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_EVENT_PATH", &event.display().to_string()),
            ("GITHUB_WORKSPACE", &repo.display().to_string()),
            ("GITHUB_SHA", &head),
            ("RUNNER_TEMP", &tmp.path().display().to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let mut flags = BTreeMap::new();
    flags.insert("filters".to_string(), filters.clone());
    let mut step = Step::new(&SPEC, &flags, env.clone()).unwrap();
    let t = Instant::now();
    run(&mut step).expect("run succeeds");
    let end_to_end = t.elapsed();
    let changes = step
        .outputs()
        .iter()
        .find(|(k, _)| k == "changes")
        .map(|(_, v)| v.clone())
        .unwrap();

    // Matching alone, on the same file list, for a like-for-like comparison.
    let files: Vec<ChangedFile> = (0..FILES)
        .map(|i| ChangedFile::new(path_of(i), "added"))
        .collect();
    let t = Instant::now();
    let (set, _) = FilterSet::parse(&filters, Mode::Some).unwrap();
    let matched = set.matches(&files).unwrap();
    let outputs = report::outputs(&set, &files, &matched, ListFormat::None);
    let matching = t.elapsed();
    let ours_changes = outputs
        .iter()
        .find(|(k, _)| k == "changes")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert_eq!(ours_changes, changes, "run() and the matching alone agree");

    println!("path-filter benchmark: {FILES} changed files, {FILTERS} filters");
    println!(
        "  run() end to end (git diff + match + outputs): {:.3} s",
        end_to_end.as_secs_f64()
    );
    println!(
        "  matching + outputs only:                       {:.3} s",
        matching.as_secs_f64()
    );
    match peak_rss_kib() {
        Some(k) => println!(
            "  peak memory (VmHWM):                           {:.1} MiB",
            k as f64 / 1024.0
        ),
        None => println!("  peak memory: unavailable (no /proc/self/status)"),
    }

    let node_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    if !node_dir.join("node_modules/picomatch").is_dir() {
        println!(
            "  node baseline: skipped (run `npm ci --prefix {}`)",
            node_dir.display()
        );
        return;
    }
    let case = serde_json::json!({
        "filters": filters,
        "quantifier": "some",
        "format": "none",
        "files": files.iter().map(|f| [f.path.as_str(), "added"]).collect::<Vec<_>>(),
    });
    let case_path = tmp.path().join("case.json");
    std::fs::write(&case_path, case.to_string()).unwrap();
    let t = Instant::now();
    let out = Command::new("node")
        .arg(node_dir.join("dorny-bench.js"))
        .arg(&case_path)
        .output();
    let node_wall = t.elapsed();
    match out {
        Ok(o) if o.status.success() => {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let ms = v["ms"].as_f64().unwrap_or(f64::NAN);
            let same = v["changes"].as_str() == Some(ours_changes.as_str());
            println!(
                "  node (dorny loop, js-yaml + picomatch):        {:.3} s matching ({:.3} s with node start-up and JSON input)",
                ms / 1000.0,
                node_wall.as_secs_f64()
            );
            println!("  same `changes` output as node: {same}");
            println!(
                "  speed-up, matching vs matching:  {:.1}x",
                (ms / 1000.0) / matching.as_secs_f64()
            );
            println!(
                "  speed-up, our whole run() vs node matching alone: {:.1}x",
                (ms / 1000.0) / end_to_end.as_secs_f64()
            );
        }
        Ok(o) => println!(
            "  node baseline failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => println!("  node baseline: cannot run node ({e})"),
    }
}
