//! sbom-attach: the bill of materials of every built image, read from the registry by
//! digest, written as CycloneDX and SPDX, attached to the image as OCI referrers and
//! signed.
//!
//! The layers of the work:
//! - [`source`]: where an image is read from (registry by digest, OCI layout, directory);
//! - [`layers`]: the final filesystem, streamed, with only the files catalogers need;
//! - [`catalog`]: one module per package ecosystem, registered in one list;
//! - [`documents`]: CycloneDX and SPDX documents, deterministic;
//! - [`attach`]: the documents as OCI 1.1 referrers.

pub mod catalog;
pub mod documents;
pub mod layers;
pub mod source;
