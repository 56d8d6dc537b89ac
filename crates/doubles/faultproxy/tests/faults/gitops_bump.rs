//! gitops-bump: bump one digest in a GitOps repository on the GitHub double (a branch,
//! a commit, a pull request with labels); the GitHub API is behind the proxy.

use std::collections::BTreeMap;
use std::process::Command;

use bitvault_faultproxy::FaultProxy;
use bitvault_github_double::GitHubDouble;
use bitvault_runner::{Env, Step};

use super::table::{Scenario, State};

pub struct GitopsBump;

pub struct Stack {
    proxy: FaultProxy,
    gh: GitHubDouble,
    main: String,
}

const TOKEN: &str = "ghp_fault_token";
const OWNER: &str = "acme";
const REPO: &str = "gitops";
const PROD: &str = "envs/prod/values.yaml";
const BRANCH: &str = "bitvault/gitops-bump/prod/web";

fn d(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn values(web: &str) -> String {
    format!("web:\n  repository: ghcr.io/acme/web\n  digest: \"{web}\"\nreplicas: 3\n")
}

/// `git` in the double's bare repository; `None` when git fails (e.g. no such branch).
fn git(gh: &GitHubDouble, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(gh.repo_path(OWNER, REPO))
        .args(args)
        .output()
        .expect("git runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Scenario for GitopsBump {
    type Stack = Stack;

    fn name(&self) -> &'static str {
        "gitops-bump"
    }

    fn stack(&self) -> Stack {
        let gh = GitHubDouble::start();
        gh.add_token(TOKEN);
        gh.add_repo(
            OWNER,
            REPO,
            &[(PROD, &values(&d('a'))), ("README.md", "gitops\n")],
        );
        let main = git(&gh, &["rev-parse", "main"]).expect("main exists");
        let proxy = FaultProxy::start(gh.url()).expect("proxy starts");
        Stack { proxy, gh, main }
    }

    fn proxy<'a>(&self, stack: &'a Stack) -> &'a FaultProxy {
        &stack.proxy
    }

    fn run(&self, s: &Stack) -> anyhow::Result<()> {
        let flags: BTreeMap<String, String> = [
            ("repository", format!("{OWNER}/{REPO}")),
            ("token", TOKEN.to_string()),
            ("environment", "prod".to_string()),
            ("image", "web".to_string()),
            ("key-path", "web.digest".to_string()),
            ("digest", d('b')),
            ("labels", "gitops, prod".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .into_iter()
        .collect();
        let env = Env::from_pairs(
            [
                ("GITHUB_API_URL", s.proxy.url()),
                ("GITHUB_SERVER_URL", "https://github.com".to_string()),
                ("GITHUB_REPOSITORY", "acme/app".to_string()),
                ("GITHUB_RUN_ID", "4242".to_string()),
                ("GITHUB_SHA", "0123abcd".to_string()),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        let mut step = Step::new(&bitvault_gitops_bump::SPEC, &flags, env)?;
        bitvault_gitops_bump::run(&mut step)
    }

    fn state(&self, s: &Stack) -> State {
        let mut state = State::new();
        let pulls = s.gh.pulls(OWNER, REPO);
        state.insert("pull requests".into(), pulls.len());
        for pr in &pulls {
            *state
                .entry(format!("{} pull requests from {}", pr.state, pr.head))
                .or_default() += 1;
            for label in &pr.labels {
                *state
                    .entry(format!("label {label} on a pull request"))
                    .or_default() += 1;
            }
        }
        let file = git(&s.gh, &["show", &format!("{BRANCH}:{PROD}")]);
        state.insert(
            "branch file with the new digest".into(),
            usize::from(file.as_deref() == Some(values(&d('b')).trim_end())),
        );
        let commits = git(&s.gh, &["rev-list", "--count", &format!("main..{BRANCH}")])
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        state.insert("commits on the branch".into(), commits);
        state.insert(
            "main untouched".into(),
            usize::from(git(&s.gh, &["rev-parse", "main"]).as_deref() == Some(s.main.as_str())),
        );
        let branches = git(
            &s.gh,
            &["for-each-ref", "--format=%(refname)", "refs/heads/"],
        )
        .unwrap_or_default();
        state.insert("branches".into(), branches.lines().count());
        state.insert("OpenAPI violations".into(), s.gh.violations().len());
        state
    }
}
