//! Serves the GitHub REST API double in the foreground for manual runs:
//! `cargo run -p bitvault-github-double -- --token T --repo owner/name`.

use bitvault_github_double::GitHubDouble;

fn main() {
    let mut args = std::env::args().skip(1);
    let gh = GitHubDouble::try_start().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2);
    });
    let mut tokens = Vec::new();
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--token", Some(t)) => {
                gh.add_token(&t);
                tokens.push(t);
            }
            ("--repo", Some(r)) => {
                let Some((owner, name)) = r.split_once('/') else {
                    eprintln!("error: --repo takes owner/name, got {r}");
                    std::process::exit(2);
                };
                let path = gh.add_repo(owner, name, &[("README.md", "# test repository\n")]);
                eprintln!("repository {r}: {}", path.display());
            }
            _ => {
                eprintln!(
                    "usage: bitvault-github-double [--token TOKEN]... [--repo OWNER/NAME]..."
                );
                std::process::exit(2);
            }
        }
    }
    if tokens.is_empty() {
        gh.add_token("test-token");
        eprintln!("token: test-token");
    }
    println!("{}", gh.url());
    // Report OpenAPI violations as they happen; the double runs until killed.
    let mut reported = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let violations = gh.violations();
        for v in &violations[reported..] {
            eprintln!("violation: {v}");
        }
        reported = violations.len();
    }
}
