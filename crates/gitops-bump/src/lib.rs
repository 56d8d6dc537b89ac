//! The editing core of `gitops-bump`: set an image digest in Helm values or kustomization
//! files, changing that one value and nothing else.
//!
//! Comments, blank lines, key order, quoting style, anchors, flow or block style, CRLF
//! line endings and a BOM are kept byte for byte: only the bytes of the target scalar are
//! replaced, or, when the key is missing, the smallest text is inserted (one line at the
//! siblings' indentation, or `, digest: …` inside a flow mapping). Every edit is then
//! checked by re-parsing before and after with an independent YAML reader: if anything
//! but the target value changed meaning, the edit fails and nothing is written.
//!
//! ```
//! use bitvault_gitops_bump::{Digest, Target, set_digest};
//!
//! let digest = Digest::parse(
//!     "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
//! )?;
//! let values = "image:\n  repository: ghcr.io/org/app  # the app\n  tag: \"1.2.3\"\n";
//! let edited = set_digest(values, &Target::helm("image.digest")?, &digest)?;
//! assert_eq!(
//!     edited.text,
//!     format!("image:\n  repository: ghcr.io/org/app  # the app\n  tag: \"1.2.3\"\n  digest: {digest}\n"),
//! );
//! assert_eq!(edited.old, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layers, pure first:
//! - [`Digest`], [`KeyPath`], [`Target`]: validated inputs.
//! - [`set_digest`] / [`get_value`]: one value in one file's text.
//! - [`apply_edits`]: several targets in several files as one all-or-nothing change,
//!   giving [`FileChange`]s with old and new values and a [`unified_diff`].
//! - [`plan_bump`], [`plan_promote`], [`plan_rollback`]: the modes as plans over file
//!   contents (and, for rollback, the file's [`Version`]s).
//! - [`local`]: the modes on a checkout directory, reading history with `git` ([`git`]);
//!   files are written in place, nothing is committed.
//!
//! Shapes that cannot be edited without changing more than one value are refused with a
//! message that says what to do: a target that is an alias or an anchored value reused
//! elsewhere (the anchor is not edited, since that would change every place using it),
//! block scalars, key paths through lists, duplicate keys, and files with more than one
//! YAML document.
//!
//! The action on top: [`SPEC`] declares the `gitops-bump` action's inputs and outputs and
//! [`run`] runs it ([`action`]): on a local checkout (`path`), or through the GitHub API
//! ([`github`], with [`auth`]) committing without a clone and opening or updating one pull
//! request per environment and image set ([`pr`]).
pub mod action;
pub mod auth;
mod digest;
mod edit;
mod error;
pub mod git;
pub mod github;
mod keypath;
mod modes;
pub mod pr;
mod semantic;
mod yaml;

pub use action::{SPEC, run};
pub use digest::{Digest, DigestError};
pub use edit::{
    Edit, Edited, FileChange, Target, ValueChange, apply_edits, get_value, set_digest, set_value,
    unified_diff,
};
pub use error::{Error, Result};
pub use keypath::{KeyPath, KeyPathError};
pub use modes::{
    Layout, Operation, Outcome, Version, local, plan_bump, plan_promote, plan_rollback,
};
