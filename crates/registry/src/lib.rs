//! The registry layer of the BitVault actions: talk to OCI registries by digest.
//!
//! It is for actions that read, copy, sign and attach to images in registries:
//! - [`Reference`]s are parsed and normalised as docker does (`alpine` is
//!   `docker.io/library/alpine`, served by `registry-1.docker.io`). A tag is resolved to
//!   a [`Digest`] once, with [`Client::resolve`]; everything after takes digests.
//! - Credentials come from where users already have them ([`CredentialStore`]): explicit
//!   username/password, or Docker's `config.json` (`auths`, `credsStore`, `credHelpers`)
//!   as docker/login-action writes it. Errors name the source that was tried.
//! - Everything read by digest is checked against it, byte for byte.
//! - Plain HTTP only for loopback and listed insecure registries ([`protocol`]).
//! - Every answer is read under a size cap, and referrers pages are followed a bounded
//!   number of times, never in a loop ([`limits`]).
//! - 429, 5xx and dropped connections are retried with backoff, honouring `Retry-After`.
//! - Artifacts are attached with OCI 1.1 `subject`; referrers are listed from the
//!   referrers API or, where the registry has none, the `sha256-<hex>` tag schema, which
//!   stays correct when several jobs attach at once ([`referrers`]).
//!
//! Built on [`oci_client`], which answers the registries' auth challenges; the requests
//! it does not expose go through a small raw HTTP path with the same authorization.
//!
//! # Example
//!
//! ```no_run
//! use bitvault_registry::{Artifact, ArtifactBlob, Client, ClientOptions, Reference};
//!
//! # async fn run() -> Result<(), bitvault_registry::Error> {
//! let client = Client::new(ClientOptions::default())?;
//! let image = Reference::parse("ghcr.io/acme/app:v1.2.3").unwrap();
//! let digest = client.resolve(&image).await?; // the only place a tag is looked at
//! let manifest = client.get_manifest(image.repository(), &digest).await?;
//! println!("{} is {} ({} bytes)", image, digest, manifest.bytes.len());
//!
//! let sbom = Artifact {
//!     artifact_type: "application/spdx+json".into(),
//!     blobs: vec![ArtifactBlob {
//!         media_type: "application/spdx+json".into(),
//!         data: br#"{"spdxVersion":"SPDX-2.3"}"#.to_vec(),
//!         annotations: Default::default(),
//!     }],
//!     annotations: Default::default(),
//! };
//! client.attach(image.repository(), &digest, &sbom).await?;
//! let sboms = client
//!     .referrers(image.repository(), &digest, Some("application/spdx+json"))
//!     .await?;
//! assert!(!sboms.manifests.is_empty());
//! # Ok(())
//! # }
//! ```

mod blob_range;
mod client;
pub mod credentials;
mod digest;
mod error;
mod http;
pub mod limits;
mod link;
pub mod protocol;
pub mod reference;
pub mod referrers;

pub use client::{BlobTransfer, Client, ClientOptions, Manifest, ManifestKind, PushedManifest};
pub use credentials::{Credential, CredentialSource, CredentialStore, Credentials};
pub use digest::{Digest, DigestMismatch, DigestParseError};
pub use error::{Error, Result};
pub use http::RetryPolicy;
pub use reference::{Reference, ReferenceError, Repository};
pub use referrers::{
    Artifact, ArtifactBlob, Attached, EMPTY_CONFIG_DIGEST, EMPTY_MEDIA_TYPE, Referrers,
    ReferrersMechanism,
};

/// Manifest types, re-exported from oci-client.
pub use oci_client::manifest;
