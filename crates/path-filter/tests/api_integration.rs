//! The REST API path of `run()` against a local HTTP server that serves a
//! paginated `GET /repos/{o}/{r}/pulls/{n}/files`.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use bitvault_path_filter::{SPEC, run};
use bitvault_runner::{Env, Step};
use serde_json::{Value, json};

/// Serves page 1 (100 files) and page 2 (a rename, a removal, an addition).
fn serve() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut auth = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if line.to_ascii_lowercase().starts_with("authorization:") {
                    auth = line.trim().to_string();
                }
            }
            log.lock()
                .unwrap()
                .push(format!("{} {auth}", request.trim()));
            let body: Value = if request.contains("page=1 ") || request.contains("page=1&") {
                Value::Array(
                    (0..100)
                        .map(|i| json!({"filename": format!("src/f{i}.rs"), "status": "modified"}))
                        .collect(),
                )
            } else {
                json!([
                    {"filename": "docs/new name.md", "status": "renamed", "previous_filename": "docs/old.md"},
                    {"filename": "src/gone.rs", "status": "removed"},
                    {"filename": "web/app.ts", "status": "added"}
                ])
            };
            let body = body.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

fn run_pr(
    api: &str,
    changed_files: u64,
    inputs: &[(&str, &str)],
) -> anyhow::Result<BTreeMap<String, String>> {
    let tmp = tempfile::tempdir().unwrap();
    let event = tmp.path().join("event.json");
    let payload = json!({"pull_request": {"number": 42, "base": {"sha": "a".repeat(40)}, "head": {"sha": "b".repeat(40)}, "changed_files": changed_files}});
    std::fs::write(&event, payload.to_string()).unwrap();
    let env = Env::from_pairs(
        [
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", &event.display().to_string()),
            ("GITHUB_WORKSPACE", &tmp.path().display().to_string()),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_API_URL", api),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let mut flags = BTreeMap::new();
    flags.insert(
        "filters".to_string(),
        "src: 'src/**'\ndocs:\n  - added: 'docs/**'\ndeleted:\n  - deleted: '**'\n".to_string(),
    );
    for (k, v) in inputs {
        flags.insert(k.to_string(), v.to_string());
    }
    let mut step = Step::new(&SPEC, &flags, env)?;
    run(&mut step)?;
    Ok(step.outputs().iter().cloned().collect())
}

#[test]
fn lists_pull_request_files_through_the_api_without_a_checkout() {
    let (url, seen) = serve();
    let out = run_pr(&url, 103, &[("token", "tkn-123"), ("list-files", "csv")]).unwrap();
    assert_eq!(out["src_count"], "101");
    assert_eq!(out["docs_files"], "\"docs/new name.md\"");
    assert_eq!(out["deleted_files"], "docs/old.md,src/gone.rs");
    assert_eq!(out["changes"], r#"["src","docs","deleted"]"#);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].starts_with("GET /repos/o/r/pulls/42/files?per_page=100&page=1 "),
        "{seen:?}"
    );
    assert!(seen[0].ends_with("Bearer tkn-123"), "{seen:?}");
}

#[test]
fn refuses_what_the_api_cannot_list_and_needs_a_token() {
    let (url, seen) = serve();
    let err = run_pr(&url, 3500, &[("token", "t"), ("changes-from", "api")]).unwrap_err();
    assert!(format!("{err:#}").contains("at most 3000"), "{err:#}");
    assert!(seen.lock().unwrap().is_empty());
    let err = run_pr(&url, 3, &[]).unwrap_err();
    assert!(
        format!("{err:#}").contains("not a git work tree"),
        "{err:#}"
    );
    assert!(format!("{err:#}").contains("token"), "{err:#}");
}
