//! The validator against GitHub's description itself.

use bitvault_github_double::openapi::Spec;
use serde_json::json;

fn spec() -> &'static Spec {
    Spec::shared().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn paths_match_the_most_specific_template() {
    let s = spec();
    let m = s
        .find("PATCH", "/repos/o/r/git/refs/heads/feature/x")
        .unwrap();
    assert_eq!(m.operation_id, "git/update-ref");
    assert_eq!(m.params["ref"], "heads/feature/x");
    let m = s.find("GET", "/repos/o/r/contents/a/b%20c.yaml").unwrap();
    assert_eq!(
        (m.operation_id.as_str(), m.params["path"].as_str()),
        ("repos/get-content", "a/b c.yaml")
    );
    assert_eq!(
        s.find("GET", "/repos/o/r/installation")
            .unwrap()
            .operation_id,
        "apps/get-repo-installation"
    );
    assert_eq!(
        s.find("GET", "/repos/o/r/pulls/3").unwrap().operation_id,
        "pulls/get"
    );
    assert_eq!(
        s.find("GET", "/repos/o/r/pulls/comments")
            .unwrap()
            .operation_id,
        "pulls/list-review-comments-for-repo"
    );
    assert!(s.find("GET", "/repos/o/r/not-an-endpoint").is_none());
    assert!(s.find("PUT", "/repos/o/r/git/blobs").is_none());
}

#[test]
fn a_response_missing_a_required_field_is_caught() {
    let s = spec();
    let m = s.find("GET", "/repos/o/r/git/ref/heads/main").unwrap();
    let schema = s.response_schema(&m, 200).unwrap();
    let mut errors = Vec::new();
    s.validate(
        schema,
        &json!({"ref": "refs/heads/main", "node_id": "x", "url": "u"}),
        "response",
        false,
        &mut errors,
    );
    assert_eq!(errors, ["response: missing required property `object`"]);
    errors.clear();
    s.validate(
        schema,
        &json!({"ref": "refs/heads/main", "node_id": "x", "url": "u", "object": {"type": "commit", "sha": 1, "url": "u"}}),
        "response",
        false,
        &mut errors,
    );
    assert_eq!(
        errors,
        ["response.object.sha: expected string, got integer"]
    );
    assert!(s.response_schema(&m, 418).is_none());
}

#[test]
fn request_checks_cover_path_query_and_body() {
    let s = spec();
    let m = s.find("GET", "/repos/o/r/pulls/abc").unwrap();
    assert_eq!(
        s.check_request(&m, &[], None),
        ["path parameter `pull_number`: `abc` is not an integer"]
    );
    let m = s.find("GET", "/repos/o/r/pulls").unwrap();
    let q = vec![("state".to_string(), "merged".to_string())];
    assert_eq!(s.check_request(&m, &q, None).len(), 1);
    let m = s.find("POST", "/repos/o/r/git/trees").unwrap();
    let errs = s.check_request(
        &m,
        &[],
        Some(&json!({"tree": [{"path": "a", "mode": "100600", "type": "blob", "sha": "x"}]})),
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("mode"), "{errs:?}");
    assert!(
        s.check_request(&m, &[], None)
            .iter()
            .any(|e| e.contains("missing required JSON request body"))
    );
}

#[test]
fn a_missing_description_fails_with_the_npm_command() {
    // Run in a child process so the shared, already-loaded description is not involved.
    if std::env::var_os("GHDOUBLE_CHILD").is_some() {
        let err = bitvault_github_double::GitHubDouble::try_start()
            .err()
            .expect("must fail");
        assert!(
            err.contains("npm ci --prefix crates/doubles/github-double/openapi"),
            "{err}"
        );
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "a_missing_description_fails_with_the_npm_command",
            "--nocapture",
        ])
        .env("GHDOUBLE_CHILD", "1")
        .env(
            bitvault_github_double::OPENAPI_ENV,
            "/nonexistent/api.github.com.json",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
