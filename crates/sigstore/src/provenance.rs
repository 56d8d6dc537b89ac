//! SLSA provenance v1 for an image signed in a GitHub Actions run.
//!
//! The build type is `https://bitvault.dev/buildtypes/github-actions/v1`:
//! - `externalParameters.workflow`: the workflow's repository URL, path and ref
//!   (what a person chose to run);
//! - `internalParameters.github`: the trigger and runner environment;
//! - `resolvedDependencies`: the source repository at its commit
//!   (`git+https://github.com/OWNER/REPO@REF`, `gitCommit`);
//! - `runDetails.builder.id`: `https://github.com/<job_workflow_ref>`, the
//!   workflow that ran, as the Fulcio certificate names it;
//! - `runDetails.metadata.invocationId`: the run and attempt URL.
//!
//! Nothing time-dependent goes in, so signing the same digest again in the
//! same run attempt yields the same statement (and is recognised as done).

use anyhow::{Result, bail};
use serde_json::{Value, json};

/// The build type of provenance written by `bitvault sign-keyless`.
pub const BUILD_TYPE: &str = "https://bitvault.dev/buildtypes/github-actions/v1";

/// The workflow context provenance is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildContext {
    /// `https://github.com` or a GHES URL.
    pub server_url: String,
    /// `owner/repo/.github/workflows/file.yml@ref` (token claim `job_workflow_ref`).
    pub job_workflow_ref: String,
    /// `owner/repo` (`GITHUB_REPOSITORY`).
    pub repository: String,
    /// The commit (`GITHUB_SHA`).
    pub sha: String,
    /// The ref (`GITHUB_REF`).
    pub git_ref: String,
    /// `GITHUB_RUN_ID`.
    pub run_id: String,
    /// `GITHUB_RUN_ATTEMPT`.
    pub run_attempt: String,
    /// `GITHUB_EVENT_NAME`.
    pub event_name: String,
    /// `github-hosted` or `self-hosted` (token claim).
    pub runner_environment: String,
}

impl BuildContext {
    /// Take the context from the token's claims, with the runner's
    /// `GITHUB_*` variables first where both exist.
    pub fn from_env_and_claims(env: &bitvault_runner::Env, claims: &Value) -> Self {
        let pick = |var: &str, claim: &str| -> String {
            env.non_empty(var)
                .map(str::to_string)
                .or_else(|| claims[claim].as_str().map(str::to_string))
                .unwrap_or_default()
        };
        Self {
            server_url: env.server_url().trim_end_matches('/').to_string(),
            // The claim is what Fulcio certifies, so it wins over the variable.
            job_workflow_ref: claims["job_workflow_ref"]
                .as_str()
                .map(str::to_string)
                .or_else(|| env.non_empty("GITHUB_WORKFLOW_REF").map(str::to_string))
                .unwrap_or_default(),
            repository: pick("GITHUB_REPOSITORY", "repository"),
            sha: pick("GITHUB_SHA", "sha"),
            git_ref: pick("GITHUB_REF", "ref"),
            run_id: pick("GITHUB_RUN_ID", "run_id"),
            run_attempt: pick("GITHUB_RUN_ATTEMPT", "run_attempt"),
            event_name: pick("GITHUB_EVENT_NAME", "event_name"),
            runner_environment: claims["runner_environment"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// The SLSA v1 predicate.
    pub fn predicate(&self) -> Result<Value> {
        for (value, what) in [
            (
                &self.job_workflow_ref,
                "the token's `job_workflow_ref` claim",
            ),
            (&self.repository, "GITHUB_REPOSITORY"),
            (&self.sha, "GITHUB_SHA"),
            (&self.run_id, "GITHUB_RUN_ID"),
        ] {
            if value.is_empty() {
                bail!(
                    "cannot write provenance without {what}: run in GitHub Actions, or set `provenance: false`"
                );
            }
        }
        let server = &self.server_url;
        let (workflow_path, workflow_ref) = split_workflow_ref(&self.job_workflow_ref);
        let attempt = if self.run_attempt.is_empty() {
            "1"
        } else {
            &self.run_attempt
        };
        let mut source = format!("git+{server}/{}", self.repository);
        if !self.git_ref.is_empty() {
            source.push('@');
            source.push_str(&self.git_ref);
        }
        Ok(json!({
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "workflow": {
                        "repository": format!("{server}/{}", workflow_repository(&self.job_workflow_ref)),
                        "path": workflow_path,
                        "ref": workflow_ref,
                    }
                },
                "internalParameters": {
                    "github": {
                        "event_name": self.event_name,
                        "runner_environment": self.runner_environment,
                    }
                },
                "resolvedDependencies": [{
                    "uri": source,
                    "digest": {"gitCommit": self.sha},
                }],
            },
            "runDetails": {
                "builder": {"id": format!("{server}/{}", self.job_workflow_ref)},
                "metadata": {
                    "invocationId": format!(
                        "{server}/{}/actions/runs/{}/attempts/{attempt}",
                        self.repository, self.run_id
                    ),
                },
            },
        }))
    }
}

/// `owner/repo/.github/workflows/x.yml@refs/heads/main` ->
/// (`.github/workflows/x.yml`, `refs/heads/main`).
fn split_workflow_ref(job_workflow_ref: &str) -> (String, String) {
    let (path, git_ref) = job_workflow_ref
        .split_once('@')
        .unwrap_or((job_workflow_ref, ""));
    let path = path.splitn(3, '/').nth(2).unwrap_or_default();
    (path.to_string(), git_ref.to_string())
}

fn workflow_repository(job_workflow_ref: &str) -> String {
    job_workflow_ref
        .splitn(3, '/')
        .take(2)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> BuildContext {
        BuildContext {
            server_url: "https://github.com".into(),
            job_workflow_ref: "acme/ci/.github/workflows/release.yml@refs/tags/v1".into(),
            repository: "acme/app".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            git_ref: "refs/heads/main".into(),
            run_id: "4242".into(),
            run_attempt: "2".into(),
            event_name: "push".into(),
            runner_environment: "github-hosted".into(),
        }
    }

    #[test]
    fn predicate_names_builder_source_and_run() {
        let p = context().predicate().unwrap();
        assert_eq!(p["buildDefinition"]["buildType"], BUILD_TYPE);
        assert_eq!(
            p["runDetails"]["builder"]["id"],
            "https://github.com/acme/ci/.github/workflows/release.yml@refs/tags/v1"
        );
        assert_eq!(
            p["buildDefinition"]["externalParameters"]["workflow"],
            json!({"repository": "https://github.com/acme/ci", "path": ".github/workflows/release.yml", "ref": "refs/tags/v1"})
        );
        assert_eq!(
            p["buildDefinition"]["resolvedDependencies"][0],
            json!({"uri": "git+https://github.com/acme/app@refs/heads/main", "digest": {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}})
        );
        assert_eq!(
            p["runDetails"]["metadata"]["invocationId"],
            "https://github.com/acme/app/actions/runs/4242/attempts/2"
        );
        // Deterministic: the same context gives the same statement.
        assert_eq!(p, context().predicate().unwrap());
    }

    #[test]
    fn missing_context_says_how_to_opt_out() {
        let mut c = context();
        c.sha.clear();
        let err = c.predicate().unwrap_err().to_string();
        assert!(
            err.contains("GITHUB_SHA") && err.contains("provenance: false"),
            "{err}"
        );
    }

    #[test]
    fn claims_fill_what_the_environment_lacks() {
        let env = bitvault_runner::Env::from_pairs([("GITHUB_SHA".to_string(), "abc".to_string())]);
        let claims = json!({"job_workflow_ref": "a/b/.github/workflows/w.yml@refs/heads/x", "sha": "zzz", "repository": "a/b", "run_id": "9"});
        let c = BuildContext::from_env_and_claims(&env, &claims);
        assert_eq!(c.sha, "abc");
        assert_eq!(c.repository, "a/b");
        assert_eq!(c.run_id, "9");
        assert_eq!(c.server_url, "https://github.com");
    }
}
