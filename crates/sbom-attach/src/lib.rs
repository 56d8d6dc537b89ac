//! sbom-attach: the bill of materials of every built image, read from the registry by
//! digest, written as CycloneDX and SPDX, attached to the image as OCI referrers and
//! signed.
//!
//! The layers of the work:
//! - [`source`]: where an image is read from (registry by digest, OCI layout, directory);
//! - [`layers`]: the final filesystem, streamed, with only the files catalogers need;
//! - [`describe`]: one image's platforms, catalogued and written up;
//! - [`catalog`]: one module per package ecosystem, registered in one list;
//! - [`documents`]: CycloneDX and SPDX documents, deterministic;
//! - [`attach`]: the documents as OCI 1.1 referrers.

pub mod action;
pub mod attach;
pub mod catalog;
pub mod describe;
pub mod documents;
pub mod fs;
pub mod layers;
pub mod package;
pub mod source;

pub use action::{SPEC, run};
pub use describe::{Described, describe};
