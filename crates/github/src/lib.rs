//! The one GitHub client of the workspace: every GitHub REST call of every action goes
//! through [`GitHub`] and its [`Repo`] handle.
//!
//! - octocrab underneath, with its typed models ([`models`]) for every answer read.
//! - One status-to-hint mapping ([`hint`]): 401, 403, 404, 422 and rate limits become
//!   a message that says what to do, naming the permissions the caller needs.
//! - Connect and read timeouts; the workspace's one retry policy
//!   ([`bitvault_http::RetryPolicy`]) for the calls that are safe to repeat (reads, git
//!   objects, labels), never for ref moves or pull request creation.
//! - Credentials ([`auth`]): a token, a GitHub App installation token scoped to one
//!   repository (JWT -> installation -> token, revoked at the end), or an octo-sts
//!   exchange of the workflow's OIDC token. Token-bearing URLs must be https (plain
//!   http only on loopback).
//!
//! The API is blocking: it runs on [`bitvault_http::runtime`], the process's one tokio
//! runtime, so synchronous action code calls it directly (not from async code).
//!
//! ```no_run
//! use bitvault_github::GitHub;
//!
//! let gh = GitHub::with_token("https://api.github.com", "ghp_…", "`pull-requests: read`")?;
//! let repo = gh.repo("octo-org", "app");
//! for file in repo.pull_request_files(42, 1)? {
//!     println!("{} {:?}", file.filename, file.status);
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod auth;
mod client;
mod hint;

pub use client::{API_VERSION, GitHub, MAX_PAGES, PullRequestRef, RefMove, Repo, TreeFile};
pub use hint::{describe, hint, status};
/// octocrab's typed models, as answered by this client.
pub use octocrab::models;
