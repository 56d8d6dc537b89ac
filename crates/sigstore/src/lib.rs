//! Sigstore for BitVault: sign image digests keyless and verify what was
//! signed, for the `sign-keyless` and `verify` actions, the gitops-bump
//! signature gate and sbom-attach.
//!
//! The layers, from the wire up:
//!
//! - [`sign`]: keyless signing. One ephemeral key and ONE Fulcio certificate
//!   per run ([`sign::KeylessSigner`]); in-toto statements as DSSE bundles
//!   v0.3 and cosign's legacy simple-signing payload, logged in Rekor.
//! - [`verify`]: bundle verification against a [`verify::TrustedRoot`] (or a
//!   [`verify::ClientTrustConfig`]) and an identity [`verify::Policy`]
//!   (exact identity or regexp, issuer, source repository, ref, workflow);
//!   [`verify::image`] is the one way to verify an image digest in its
//!   registry against a [`verify::Requirements`] set.
//! - [`provenance`]: the SLSA v1 statement of a GitHub Actions build.
//! - [`oci`]: where signatures live in a registry, in the layouts cosign
//!   reads (bundle referrers, the legacy `sha256-<hex>.sig` tag).
//! - [`publish`]: what a signing run writes. [`publish::missing`] decides,
//!   without I/O, what is missing given what [`publish::read_existing`]
//!   found; [`publish::apply`] signs and writes only that.
//!
//! Images are always addressed by digest ([`Subject`]): a tag can move, so
//! nothing here signs or verifies one.
//!
//! ```no_run
//! use bitvault_sigstore::{Subject, verify};
//!
//! # async fn run(client: &bitvault_registry::Client) -> anyhow::Result<()> {
//! let subject = Subject::parse(
//!     "ghcr.io/acme/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
//!     "image",
//! )?;
//! let policy = verify::Policy::new(
//!     "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
//!     "https://token.actions.githubusercontent.com",
//! );
//! let require = verify::Requirements::parse(["signature", "provenance"])?;
//! let verification = verify::image(
//!     client,
//!     &verify::TrustedRoot::production(),
//!     &subject,
//!     &policy,
//!     &require,
//! )
//! .await?;
//! println!("signed by {}", verification.identity().unwrap_or_default());
//! # Ok(()) }
//! ```

mod crypto;
pub mod media;
pub mod oci;
pub mod provenance;
pub mod publish;
pub mod sign;
pub mod verify;

use anyhow::{Context as _, Result, bail};
use bitvault_registry::{Client, ClientOptions, CredentialStore, Digest, Reference, Repository};

/// An image manifest addressed by digest: what is signed and verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    /// The repository, e.g. `ghcr.io/acme/app`.
    pub repo: Repository,
    /// The manifest digest.
    pub digest: Digest,
}

impl Subject {
    /// A subject from its parts.
    pub fn new(repo: Repository, digest: Digest) -> Self {
        Self { repo, digest }
    }

    /// Parse `repository@sha256:<hex>`, refusing tags; `input` names where
    /// the text came from, for the message.
    pub fn parse(image: &str, input: &str) -> Result<Self> {
        let reference = Reference::parse(image)
            .with_context(|| format!("`{input}`: {image} is not an image reference"))?;
        let Some(digest) = reference.digest() else {
            bail!(
                "`{input}`: {image} has no digest; signatures are made for digests only, never tags (a tag can move): pass repository@sha256:<hex>, e.g. build-matrix's `image-ref` output"
            );
        };
        if reference.tag().is_some() {
            bail!(
                "`{input}`: {image} names a tag as well as a digest; pass repository@sha256:<hex> alone so it is clear what is signed"
            );
        }
        Ok(Self {
            repo: reference.repository().clone(),
            digest: digest.clone(),
        })
    }

    /// `repository@sha256:<hex>`.
    pub fn image(&self) -> String {
        format!("{}@{}", self.repo, self.digest)
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.repo, self.digest)
    }
}

/// How to reach the registries of some subjects: the `username`,
/// `password` and `insecure-registries` inputs of the actions.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RegistryAccess {
    /// A username for every registry named (otherwise Docker's
    /// `config.json`, or anonymous).
    pub username: Option<String>,
    /// Its password or token.
    pub password: Option<String>,
    /// Registries (`host:port`) reached over plain HTTP besides loopback ones.
    pub insecure_registries: Vec<String>,
}

impl std::fmt::Debug for RegistryAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAccess")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("insecure_registries", &self.insecure_registries)
            .finish()
    }
}

impl RegistryAccess {
    /// A client for `subjects`' registries, with the username and password
    /// (when both are given) for each of them.
    pub fn client(&self, subjects: &[Subject]) -> Result<Client> {
        let mut credentials = CredentialStore::new();
        if let (Some(user), Some(pass)) = (&self.username, &self.password) {
            // One username and password belong to one registry: never hand them to
            // another one the images happen to name (M5).
            let registries: std::collections::BTreeSet<&str> =
                subjects.iter().map(|s| s.repo.registry()).collect();
            if registries.len() > 1 {
                anyhow::bail!(
                    "`username` and `password` are for one registry, but the images are in {}: \
                     log in to each with docker/login-action (its config.json entry is used per \
                     registry) instead of passing credentials, or run once per registry",
                    registries.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            if let Some(registry) = registries.into_iter().next() {
                credentials = credentials.with_basic(registry, user, pass);
            }
        }
        Ok(Client::new(ClientOptions {
            insecure_registries: self.insecure_registries.clone(),
            credentials,
            ..Default::default()
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_credentials_go_to_one_registry_only() {
        let access = RegistryAccess {
            username: Some("ghcr-user".into()),
            password: Some("ghp_secret".into()),
            ..RegistryAccess::default()
        };
        let d = format!("sha256:{}", "a".repeat(64));
        let one = [
            Subject::parse(&format!("ghcr.io/acme/a@{d}"), "images").unwrap(),
            Subject::parse(&format!("ghcr.io/acme/b@{d}"), "images").unwrap(),
        ];
        access.client(&one).unwrap();
        let two = [
            Subject::parse(&format!("ghcr.io/acme/a@{d}"), "images").unwrap(),
            Subject::parse(&format!("registry.example/acme/b@{d}"), "images").unwrap(),
        ];
        let Err(e) = access.client(&two) else {
            panic!("credentials for two registries were accepted");
        };
        let e = e.to_string();
        assert!(
            e.contains("are for one registry, but the images are in ghcr.io, registry.example"),
            "{e}"
        );
        assert!(!e.contains("ghp_secret"), "{e}");
    }

    #[test]
    fn tags_are_refused() {
        let err = Subject::parse("ghcr.io/acme/app:v1", "images")
            .unwrap_err()
            .to_string();
        assert!(err.contains("digests only"), "{err}");
        let ok = Subject::parse(
            &format!("ghcr.io/acme/app@sha256:{}", "a".repeat(64)),
            "images",
        )
        .unwrap();
        assert_eq!(ok.repo.to_string(), "ghcr.io/acme/app");
    }
}
