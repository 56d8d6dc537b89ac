//! The YAML editing engine of the GitOps actions: set one value in Helm values or a
//! kustomization, changing those bytes and nothing else.
//!
//! Comments, blank lines, key order, quoting style, anchors, flow or block style, CRLF
//! line endings and a BOM are kept byte for byte: only the bytes of the target scalar are
//! replaced, or, when the key is missing, the smallest text is inserted (one line at the
//! siblings' indentation, or `, digest: …` inside a flow mapping). Every edit is then
//! checked by re-parsing before and after with an independent YAML reader: if anything
//! but the target value changed meaning, the edit fails and nothing is written.
//!
//! ```
//! use bitvault_yamlpatch::{Target, set_value};
//!
//! let digest = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";
//! let values = "image:\n  repository: ghcr.io/org/app  # the app\n  tag: \"1.2.3\"\n";
//! let edited = set_value(values, &Target::helm("image.digest")?, digest)?;
//! assert_eq!(
//!     edited.text,
//!     format!("image:\n  repository: ghcr.io/org/app  # the app\n  tag: \"1.2.3\"\n  digest: {digest}\n"),
//! );
//! assert_eq!(edited.old, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The engine knows YAML, not images, registries, git or GitHub: values are strings the
//! caller has validated (`bitvault-gitops-bump` passes `bitvault_registry::Digest`s,
//! which [`Edit`] and [`ValueChange`] carry as their value type).
//!
//! Layers, pure first:
//! - [`KeyPath`], [`Target`]: where a value lives.
//! - [`set_value`] / [`get_value`]: one value in one file's text.
//! - [`apply_edits`]: several targets in several files as one all-or-nothing change,
//!   giving [`FileChange`]s with old and new values and a [`unified_diff`].
//!
//! Inside, `yaml` finds the bytes to change (with `saphyr-parser`'s spans) and
//! `semantic` re-parses with `serde_norway` (a libyaml port); both speak the path
//! `steps` of one module, so neither imports the other's types.
//!
//! Shapes that cannot be edited without changing more than one value are refused with a
//! message that says what to do: a target that is an alias or an anchored value reused
//! elsewhere (the anchor is not edited, since that would change every place using it),
//! block scalars, key paths through lists, duplicate keys, custom tags, and files with
//! more than one YAML document.
//!
//! Work is bounded: a file over [`MAX_INPUT_BYTES`], nested deeper than [`MAX_DEPTH`], or
//! whose aliases expand to more than [`MAX_ALIAS_EXPANSION`] nodes is refused before it
//! is re-parsed, with a message naming the limit.
mod edit;
mod error;
mod keypath;
mod limits;
mod semantic;
mod steps;
mod yaml;

pub use edit::{
    Edit, Edited, FileChange, Target, ValueChange, apply_edits, get_value, set_value, unified_diff,
};
pub use error::{Error, Result};
pub use keypath::{KeyPath, KeyPathError};
pub use limits::{MAX_ALIAS_EXPANSION, MAX_DEPTH, MAX_INPUT_BYTES};
