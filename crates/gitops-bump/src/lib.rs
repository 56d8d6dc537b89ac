//! The `gitops-bump` action: set an image digest in a GitOps repository (Helm values or
//! a kustomization) and open or update a pull request, or edit a local checkout.
//!
//! The YAML editing is [`bitvault_yamlpatch`]'s (one value changed, nothing else, checked
//! by an independent re-parse); digests are [`bitvault_registry::Digest`]s; history on a
//! checkout is read with [`bitvault_git`]. This crate adds the GitOps words on top:
//!
//! ```
//! use bitvault_gitops_bump::{Digest, Layout, Operation, Target, plan_bump};
//!
//! let digest = Digest::parse(
//!     "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
//! )?;
//! let layout = Layout::new("envs/{env}/values.yaml", Target::helm("image.digest")?)?;
//! let values = "image:\n  repository: ghcr.io/org/app  # the app\n  tag: \"1.2.3\"\n";
//! let outcome = plan_bump(&layout, "prod", values, &[(layout.target().clone(), digest.clone())])?;
//! assert_eq!(outcome.operation, Operation::Bump);
//! assert_eq!(
//!     outcome.files[0].after,
//!     format!("image:\n  repository: ghcr.io/org/app  # the app\n  tag: \"1.2.3\"\n  digest: {digest}\n"),
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layers, each importing only the ones above it:
//! - [`Layout`]: where each environment keeps its digest (a file template and a target).
//! - [`Request`] ([`Request::from_inputs`]): the inputs, parsed once.
//! - [`plan`]: the one planner ([`plan_bump`], [`plan_promote`], [`plan_rollback`]) over
//!   a [`Source`] of file contents and history.
//! - [`Checkout`]: the checkout flow (reads the work tree and `git`, writes in place).
//! - [`report`] and [`pr`]: the step summary's table, the pull request's words.
//! - [`github`] (with [`auth`]): the GitHub flow, committing without a clone and opening
//!   or updating one pull request per environment and image set.
//! - [`action`]: [`SPEC`] and [`run`], the action on top (with the signature gate).
pub mod action;
pub mod auth;
mod checkout;
mod error;
pub mod gate;
pub mod github;
mod layout;
mod plan;
pub mod pr;
pub mod report;
pub mod request;

pub use action::{SPEC, run};
pub use bitvault_registry::{Digest, DigestParseError};
pub use bitvault_yamlpatch::{KeyPath, Target};
pub use checkout::Checkout;
pub use error::{Error, Result};
pub use layout::Layout;
pub use plan::{
    FileChange, Operation, Outcome, Source, ValueChange, Version, plan, plan_bump, plan_promote,
    plan_promote_all, plan_rollback, plan_rollback_all,
};
pub use request::{Destination, Mode, PullRequest, Request};
