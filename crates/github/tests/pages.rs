//! Listings follow GitHub's `Link: rel="next"` pages, bounded: at most `MAX_PAGES`
//! pages, each link once, never to another host. The happy path runs against the
//! GitHub double; the hostile answers come from a loopback server that sends them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use bitvault_github::{GitHub, MAX_PAGES, RefMove, TreeFile};
use bitvault_github_double::GitHubDouble;

const TOKEN: &str = "ghp_pages_test_token";

#[test]
fn all_files_of_a_pull_request_across_pages() {
    let double = GitHubDouble::start();
    double.add_token(TOKEN);
    double.add_repo("acme", "app", &[("README.md", "hello\n")]);
    let gh = GitHub::with_token(double.url(), TOKEN, "`contents: write`").unwrap();
    let repo = gh.repo("acme", "app");
    let main = repo.branch_sha("main").unwrap().unwrap();
    let files: Vec<TreeFile> = (0..250)
        .map(|i| TreeFile {
            path: format!("src/f{i:03}.rs"),
            content: format!("fn f{i}() {{}}\n"),
        })
        .collect();
    let commit = repo.commit_files(&main, &files, "many files").unwrap();
    assert_eq!(repo.create_branch("many", &commit).unwrap(), RefMove::Moved);
    let pr = repo
        .create_pull("many", "main", "many", "250 files", false)
        .unwrap();

    let listed = repo.all_pull_request_files(pr.number).unwrap();
    let mut names: Vec<String> = listed.into_iter().map(|f| f.filename).collect();
    names.sort();
    let want: Vec<String> = files.into_iter().map(|f| f.path).collect();
    assert_eq!(names, want);
    assert_eq!(double.request_count("pulls/list-files"), 3);
    double.assert_no_violations();
}

/// A loopback server answering every request with `[]` and the `Link` header
/// `next(page)` gives for the requested page; counts the requests.
struct Hostile {
    url: String,
    requests: Arc<AtomicUsize>,
}

fn hostile(next: fn(&str, u32) -> Option<String>) -> Hostile {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let (base, count) = (url.clone(), requests.clone());
    thread::spawn(move || {
        for req in server.incoming_requests() {
            count.fetch_add(1, Ordering::SeqCst);
            let query = req.url().split_once('?').map_or("", |(_, q)| q);
            let page = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("page=")?.parse().ok())
                .unwrap_or(1);
            let mut resp = tiny_http::Response::from_string("[]").with_header(
                "content-type: application/json"
                    .parse::<tiny_http::Header>()
                    .unwrap(),
            );
            if let Some(link) = next(&base, page) {
                let h = format!("Link: <{link}>; rel=\"next\"");
                resp = resp.with_header(h.parse::<tiny_http::Header>().unwrap());
            }
            let _ = req.respond(resp);
        }
    });
    Hostile { url, requests }
}

fn list_files(server: &Hostile) -> String {
    let gh = GitHub::with_token(&server.url, TOKEN, "`pull-requests: read`").unwrap();
    let err = gh.repo("o", "r").all_pull_request_files(1).unwrap_err();
    format!("{err:#}").replace(&server.url, "<api>")
}

#[test]
fn endless_pages_stop_at_the_page_limit() {
    let server = hostile(|base, page| {
        Some(format!(
            "{base}/repos/o/r/pulls/1/files?per_page=100&page={}",
            page + 1
        ))
    });
    assert_eq!(
        list_files(&server),
        format!(
            "the GitHub API at <api> answered more than {MAX_PAGES} pages while listing the \
             files of pull request #1 in o/r (the limit on pages followed); this is not \
             GitHub's answer: check `github-api-url`"
        )
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), MAX_PAGES as usize);
}

#[test]
fn a_repeated_next_link_is_refused() {
    let server = hostile(|base, _| Some(format!("{base}/repos/o/r/pulls/1/files?page=2")));
    assert_eq!(
        list_files(&server),
        "the GitHub API at <api> sent the next-page link <api>/repos/o/r/pulls/1/files?page=2 \
         twice while listing the files of pull request #1 in o/r (each page is followed once, \
         the limit on repeated links); this is not GitHub's answer: check `github-api-url`"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[test]
fn a_next_link_to_another_host_is_not_followed() {
    let server = hostile(|_, _| Some("https://collector.example/steal?page=2".into()));
    assert_eq!(
        list_files(&server),
        "the GitHub API at <api> sent a next-page link to another host \
         (https://collector.example/steal?page=2) while listing the files of pull request #1 \
         in o/r; refusing to send the token there: check `github-api-url`"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[test]
fn a_page_past_the_limit_is_not_requested() {
    let server = hostile(|_, _| None);
    let gh = GitHub::with_token(&server.url, TOKEN, "`pull-requests: read`").unwrap();
    let repo = gh.repo("o", "r");
    assert!(repo.pull_request_files(1, MAX_PAGES).unwrap().is_empty());
    let err = repo.pull_request_files(1, MAX_PAGES + 1).unwrap_err();
    assert_eq!(
        err.to_string().replace(&server.url, "<api>"),
        format!(
            "the GitHub API at <api> answered more than {MAX_PAGES} pages of files for pull \
             request #1 in o/r (the limit on pages followed); GitHub lists at most 3000 \
             files, so this is not GitHub's answer: check `github-api-url`"
        )
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}
