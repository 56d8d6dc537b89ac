//! Verify an image digest in its registry: the one way BitVault does it
//! (`bitvault verify`, the gitops-bump signature gate, sbom-attach).
//!
//! Three steps, each usable alone:
//! 1. [`read_image`]: the registry reads (bundle referrers, the legacy `.sig` tag);
//! 2. [`check_image`]: verify each stored signature against the trusted root and
//!    the [`Policy`], without I/O, into a [`Verification`];
//! 3. [`Verification::require`]: refuse unless every [`Requirement`] is met.
//!
//! [`image`] runs all three. Rendering (JSON outputs, the step summary) is the
//! caller's: a [`Verification`] is a value.

use std::collections::BTreeSet;

use anyhow::{Context as _, Result, bail};
use bitvault_registry::Client;
use serde_json::Value;

use super::bundle::{Artifact, Signer, VerifiedBundle, verify_artifact};
use super::policy::Policy;
use super::trust::TrustedRoot;
use crate::Subject;
use crate::media::{COSIGN_SIGN_PREDICATE_TYPE, SLSA_PROVENANCE_PREDICATE_TYPE};
use crate::oci::{self, LegacyLayer, StoredBundle};

/// One thing that must verify for an image to pass.
///
/// New kinds (an SBOM, a vulnerability scan) are a new variant with its
/// name, its predicate type and its refusal text: [`Requirement::ALL`],
/// parsing and [`Verification::require`] follow from those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Requirement {
    /// A signature of the digest (cosign's `sign/v1` predicate, as a bundle
    /// or a legacy `.sig` layer).
    Signature,
    /// SLSA provenance v1 for the digest.
    Provenance,
}

impl Requirement {
    /// Every requirement, in the order they are checked and listed.
    pub const ALL: &'static [Requirement] = &[Requirement::Signature, Requirement::Provenance];

    /// The name used in the `require` input.
    pub fn name(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::Provenance => "provenance",
        }
    }

    /// The in-toto predicate type that meets it.
    pub fn predicate_type(self) -> &'static str {
        match self {
            Self::Signature => COSIGN_SIGN_PREDICATE_TYPE,
            Self::Provenance => SLSA_PROVENANCE_PREDICATE_TYPE,
        }
    }

    /// What is missing when it is not met, e.g. `verified signature`.
    fn missing(self) -> String {
        match self {
            Self::Signature => "verified signature".to_string(),
            Self::Provenance => {
                format!("verified SLSA provenance ({SLSA_PROVENANCE_PREDICATE_TYPE})")
            }
        }
    }

    /// The requirement named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.name() == name)
    }
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What must verify: a non-empty set of [`Requirement`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirements(BTreeSet<Requirement>);

impl Requirements {
    /// The set of `requirements`; an empty set is refused (it would pass
    /// any image).
    pub fn new(requirements: impl IntoIterator<Item = Requirement>) -> Result<Self> {
        let set: BTreeSet<Requirement> = requirements.into_iter().collect();
        if set.is_empty() {
            bail!(
                "`require` is empty: say what must verify, one or more of {} (comma-separated); an empty requirement would pass any image",
                names()
            );
        }
        Ok(Self(set))
    }

    /// Parse the names of the `require` input.
    pub fn parse<S: AsRef<str>>(names_given: impl IntoIterator<Item = S>) -> Result<Self> {
        let mut set = BTreeSet::new();
        for name in names_given {
            let name = name.as_ref().trim();
            if name.is_empty() {
                continue;
            }
            match Requirement::from_name(name) {
                Some(r) => {
                    set.insert(r);
                }
                None => bail!(
                    "`require`: {name:?} is not one of {} (comma-separated)",
                    names()
                ),
            }
        }
        Self::new(set)
    }

    /// Only a signature.
    pub fn signature() -> Self {
        Self(BTreeSet::from([Requirement::Signature]))
    }

    /// Whether `r` is required.
    pub fn contains(&self, r: Requirement) -> bool {
        self.0.contains(&r)
    }

    /// The requirements, in [`Requirement::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = Requirement> + '_ {
        self.0.iter().copied()
    }
}

fn names() -> String {
    Requirement::ALL
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a signature was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A Sigstore bundle attached as an OCI referrer.
    Bundle,
    /// A layer of cosign's legacy `sha256-<hex>.sig` manifest.
    Legacy,
}

impl Layout {
    /// `bundle` or `legacy`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bundle => "bundle",
            Self::Legacy => "legacy",
        }
    }
}

/// A stored signature that verified.
#[derive(Debug, Clone)]
pub struct Found {
    /// Where it was found.
    pub layout: Layout,
    /// What it signs (the in-toto predicate type; cosign's `sign/v1` for a
    /// legacy signature).
    pub predicate_type: String,
    /// What verification proved.
    pub verified: VerifiedBundle,
}

/// What the registry holds for an image: its signatures, unverified.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// Bundle referrers.
    pub bundles: Vec<StoredBundle>,
    /// Layers of the legacy `.sig` manifest.
    pub legacy: Vec<LegacyLayer>,
}

/// Read every signature stored for `subject`.
pub async fn read_image(client: &Client, subject: &Subject) -> Result<Stored> {
    let bundles = oci::read_bundles(client, &subject.repo, &subject.digest, None).await?;
    let legacy = oci::read_legacy(client, &subject.repo, &subject.digest)
        .await?
        .map(|(_, layers)| layers)
        .unwrap_or_default();
    Ok(Stored { bundles, legacy })
}

/// What an image's stored signatures prove.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The image.
    pub subject: Subject,
    /// The identity policy it was checked against, for messages.
    pub expected: String,
    /// Every stored signature that verified, bundles first.
    pub found: Vec<Found>,
    /// Every stored signature that did not, with why (one line each).
    pub refused: Vec<String>,
}

/// Verify each stored signature of `subject` (no I/O).
pub fn check_image(
    stored: &Stored,
    subject: &Subject,
    policy: &Policy,
    root: &TrustedRoot,
) -> Verification {
    let mut found = Vec::new();
    let mut refused = Vec::new();
    for b in &stored.bundles {
        match verify_artifact(
            &b.json,
            Artifact::Digest(subject.digest.hex()),
            policy,
            root,
        ) {
            Ok(v) => found.push(Found {
                layout: Layout::Bundle,
                predicate_type: v
                    .statement
                    .as_ref()
                    .map(|s| s.predicate_type.clone())
                    .unwrap_or_default(),
                verified: v,
            }),
            Err(e) => refused.push(format!("referrer {}: {e}", b.manifest)),
        }
    }
    for (n, layer) in stored.legacy.iter().enumerate() {
        match check_legacy(layer, subject, policy, root) {
            Ok(v) => found.push(Found {
                layout: Layout::Legacy,
                predicate_type: COSIGN_SIGN_PREDICATE_TYPE.into(),
                verified: v,
            }),
            Err(e) => refused.push(format!(
                "{} layer {n}: {e:#}",
                oci::legacy_tag(&subject.digest)
            )),
        }
    }
    Verification {
        subject: subject.clone(),
        expected: policy.identity.to_string(),
        found,
        refused,
    }
}

/// Verify one legacy `.sig` layer, and that it signs `subject`'s digest.
pub fn check_legacy(
    layer: &LegacyLayer,
    subject: &Subject,
    policy: &Policy,
    root: &TrustedRoot,
) -> Result<VerifiedBundle> {
    let bundle = layer.to_bundle_json()?;
    let v = verify_artifact(
        bundle.as_bytes(),
        Artifact::Bytes(&layer.payload),
        policy,
        root,
    )?;
    let payload: Value =
        serde_json::from_slice(&layer.payload).context("the simple-signing payload is not JSON")?;
    let signed = payload["critical"]["image"]["docker-manifest-digest"]
        .as_str()
        .unwrap_or_default();
    if signed != subject.digest.as_str() {
        bail!("it signs {signed}, not {}", subject.digest);
    }
    Ok(v)
}

impl Verification {
    /// The verified signatures that meet `r`.
    pub fn of(&self, r: Requirement) -> Vec<&Found> {
        self.found
            .iter()
            .filter(|f| f.predicate_type == r.predicate_type())
            .collect()
    }

    /// The verified signatures (bundles and legacy layers).
    pub fn signatures(&self) -> Vec<&Found> {
        self.of(Requirement::Signature)
    }

    /// The verified SLSA provenance.
    pub fn provenance(&self) -> Vec<&Found> {
        self.of(Requirement::Provenance)
    }

    /// The certificate identity of the first verified signature.
    pub fn identity(&self) -> Option<&str> {
        self.found.iter().find_map(|f| match &f.verified.signer {
            Signer::Certificate(c) => Some(c.identity.as_str()),
            Signer::PublicKey => None,
        })
    }

    /// Refuse, saying what was found instead, unless every requirement is met.
    pub fn require(&self, require: &Requirements) -> Result<()> {
        for r in require.iter() {
            if self.of(r).is_empty() {
                bail!(
                    "{}: no {} for {}; {}",
                    self.subject.image(),
                    r.missing(),
                    self.expected,
                    self.why()
                );
            }
        }
        Ok(())
    }

    /// Why nothing of a required kind verified.
    fn why(&self) -> String {
        let seen = self.found.len() + self.refused.len();
        if seen == 0 {
            format!(
                "no signature was found: {} has no Sigstore bundle referrers and no {} tag",
                self.subject.image(),
                oci::legacy_tag(&self.subject.digest)
            )
        } else if self.refused.is_empty() {
            format!(
                "{seen} signature(s) found, all verified, none of the required kind: {}",
                self.found
                    .iter()
                    .map(|f| format!("{} ({})", f.predicate_type, f.layout.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!(
                "{seen} signature(s) found; refused: {}",
                self.refused.join("; ")
            )
        }
    }
}

/// Verify `subject` in its registry: read its signatures, check each against
/// `root` and `policy`, and refuse unless `require` is met.
pub async fn image(
    client: &Client,
    root: &TrustedRoot,
    subject: &Subject,
    policy: &Policy,
    require: &Requirements,
) -> Result<Verification> {
    let stored = read_image(client, subject).await?;
    let verification = check_image(&stored, subject, policy, root);
    verification.require(require)?;
    Ok(verification)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_parse_and_refuse_empty_or_unknown() {
        let r = Requirements::parse(["provenance", "signature"]).unwrap();
        assert_eq!(
            r.iter().collect::<Vec<_>>(),
            [Requirement::Signature, Requirement::Provenance]
        );
        let err = Requirements::parse(["", " "]).unwrap_err().to_string();
        assert!(err.starts_with("`require` is empty"), "{err}");
        let err = Requirements::parse(["sbom"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "`require`: \"sbom\" is not one of signature, provenance (comma-separated)"
        );
        assert_eq!(
            Requirements::signature(),
            Requirements::parse(["signature"]).unwrap()
        );
    }
}
