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
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result, bail};
use bitvault_registry::Client;
use serde_json::Value;

use super::bundle::{Artifact, Signer, VerifiedBundle, verify_artifact};
use super::policy::Policy;
use super::trust::TrustedRoot;
use crate::Subject;
use crate::media::{
    COSIGN_SIGN_PREDICATE_TYPE, CYCLONEDX_PREDICATE_TYPE, SLSA_PROVENANCE_PREDICATE_TYPE,
    SPDX_PREDICATE_TYPE, VULN_PREDICATE_TYPE,
};
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
    /// An SBOM attestation (CycloneDX or SPDX) for the digest; for an image index, for
    /// every platform manifest of it.
    Sbom,
    /// A passing vulnerability scan attestation (cosign's vuln predicate, as scan-gate
    /// writes it), no older than the requirements' `max-age` when one is set.
    VulnScan,
}

impl Requirement {
    /// Every requirement, in the order they are checked and listed.
    pub const ALL: &'static [Requirement] = &[
        Requirement::Signature,
        Requirement::Provenance,
        Requirement::Sbom,
        Requirement::VulnScan,
    ];

    /// The name used in the `require` input.
    pub fn name(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::Provenance => "provenance",
            Self::Sbom => "sbom",
            Self::VulnScan => "vuln-scan",
        }
    }

    /// The in-toto predicate type that meets it (the first, when several do).
    pub fn predicate_type(self) -> &'static str {
        self.predicate_types()[0]
    }

    /// Every in-toto predicate type that meets it.
    pub fn predicate_types(self) -> &'static [&'static str] {
        match self {
            Self::Signature => &[COSIGN_SIGN_PREDICATE_TYPE],
            Self::Provenance => &[SLSA_PROVENANCE_PREDICATE_TYPE],
            Self::Sbom => &[CYCLONEDX_PREDICATE_TYPE, SPDX_PREDICATE_TYPE],
            Self::VulnScan => &[VULN_PREDICATE_TYPE],
        }
    }

    /// What is missing when it is not met, e.g. `verified signature`.
    fn missing(self) -> String {
        match self {
            Self::Signature => "verified signature".to_string(),
            Self::Provenance => {
                format!("verified SLSA provenance ({SLSA_PROVENANCE_PREDICATE_TYPE})")
            }
            Self::Sbom => format!(
                "verified SBOM attestation ({CYCLONEDX_PREDICATE_TYPE} or {SPDX_PREDICATE_TYPE})"
            ),
            Self::VulnScan => {
                format!("verified vulnerability scan attestation ({VULN_PREDICATE_TYPE})")
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

/// What must verify: a non-empty set of [`Requirement`]s, and how recent a passing
/// vulnerability scan must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirements(BTreeSet<Requirement>, Option<Duration>);

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
        Ok(Self(set, None))
    }

    /// A passing scan must have finished no longer than `max_age` ago
    /// (for [`Requirement::VulnScan`]).
    pub fn with_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.1 = max_age;
        self
    }

    /// How recent a passing scan must be.
    pub fn max_age(&self) -> Option<Duration> {
        self.1
    }

    /// Reads a `max-age`: a whole number and a unit, `s`, `m`, `h`, `d` or `w`
    /// (`90s`, `30m`, `24h`, `7d`), or several (`1h30m`).
    pub fn parse_max_age(text: &str) -> Result<Duration> {
        let t = text.trim();
        let mut total: u64 = 0;
        let mut number = String::new();
        for c in t.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                _ => bail!(
                    "input `max-age`: {t:?} is not a duration; write e.g. `24h`, `30m`, `7d` or `90s`"
                ),
            };
            let n: u64 = number.parse().map_err(|_| {
                anyhow::anyhow!("input `max-age`: {t:?} is not a duration; write e.g. `24h`, `30m`, `7d` or `90s`")
            })?;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| anyhow::anyhow!("input `max-age`: {t:?} is too long"))?;
            number.clear();
        }
        if !number.is_empty() || total == 0 {
            bail!(
                "input `max-age`: {t:?} is not a duration; write e.g. `24h`, `30m`, `7d` or `90s` (a unit is needed)"
            );
        }
        Ok(Duration::from_secs(total))
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
        Self(BTreeSet::from([Requirement::Signature]), None)
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
    /// For an image index whose SBOMs are required: each platform manifest
    /// (`os/arch[/variant]`) and what its own stored attestations prove.
    pub platforms: Vec<(String, Verification)>,
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
        platforms: Vec::new(),
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
            .filter(|f| r.predicate_types().contains(&f.predicate_type.as_str()))
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
        self.require_at(require, SystemTime::now())
    }

    /// [`Verification::require`], judging scan ages at `now`.
    pub fn require_at(&self, require: &Requirements, now: SystemTime) -> Result<()> {
        for r in require.iter() {
            if r == Requirement::Sbom && !self.platforms.is_empty() {
                for (platform, v) in &self.platforms {
                    if v.of(r).is_empty() {
                        bail!(
                            "{}: platform {platform} ({}) has no {} for {}; {}",
                            self.subject.image(),
                            v.subject.digest,
                            r.missing(),
                            self.expected,
                            v.why()
                        );
                    }
                }
                continue;
            }
            if r == Requirement::VulnScan && !self.of(r).is_empty() {
                self.require_scan(require.max_age(), now)?;
                continue;
            }
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

    /// A verified scan attestation that passed, and finished within `max_age` of `now`.
    fn require_scan(&self, max_age: Option<Duration>, now: SystemTime) -> Result<()> {
        let mut seen = Vec::new();
        for f in self.of(Requirement::VulnScan) {
            let predicate = f
                .verified
                .statement
                .as_ref()
                .map(|s| &s.json["predicate"])
                .cloned()
                .unwrap_or(Value::Null);
            let passed = predicate["invocation"]["parameters"]["passed"] == Value::Bool(true);
            let finished = predicate["metadata"]["scanFinishedOn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let when = chrono::DateTime::parse_from_rfc3339(&finished)
                .ok()
                .map(SystemTime::from);
            let fresh = match (max_age, when) {
                (None, _) => true,
                (Some(max), Some(t)) => now.duration_since(t).unwrap_or_default() <= max,
                (Some(_), None) => false,
            };
            if passed && fresh {
                return Ok(());
            }
            seen.push(match (passed, when) {
                (false, _) => format!("a scan finished {finished} did not pass"),
                (true, None) => format!("a scan has no readable finish time ({finished:?})"),
                (true, Some(t)) => format!(
                    "a passing scan finished {finished}, {}s ago",
                    now.duration_since(t).unwrap_or_default().as_secs()
                ),
            });
        }
        let limit = match max_age {
            Some(d) => format!(" no older than {}s", d.as_secs()),
            None => String::new(),
        };
        bail!(
            "{}: no passing vulnerability scan{limit} for {}: {}; scan the digest again (scan-gate) before promoting it",
            self.subject.image(),
            self.expected,
            seen.join("; ")
        )
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

/// The platform manifests of `subject` when it is an image index (attestation
/// manifests, platform `unknown/unknown`, left out); none for an image.
async fn platforms(
    client: &Client,
    subject: &Subject,
) -> Result<Vec<(String, bitvault_registry::Digest)>> {
    let manifest = client
        .get_manifest(&subject.repo, &subject.digest)
        .await
        .with_context(|| format!("reading {}", subject.image()))?;
    let bitvault_registry::ManifestKind::Index(index) = manifest.kind else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for m in index.manifests {
        let Some(p) = &m.platform else { continue };
        if p.os.to_string() == "unknown" {
            continue;
        }
        let mut name = format!("{}/{}", p.os, p.architecture);
        if let Some(v) = &p.variant {
            name.push('/');
            name.push_str(v);
        }
        out.push((name, bitvault_registry::Digest::parse(&m.digest)?));
    }
    Ok(out)
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
    let mut verification = check_image(&stored, subject, policy, root);
    if require.contains(Requirement::Sbom) {
        for (platform, digest) in platforms(client, subject).await? {
            let p = Subject {
                repo: subject.repo.clone(),
                digest,
            };
            let stored = read_image(client, &p).await?;
            verification
                .platforms
                .push((platform, check_image(&stored, &p, policy, root)));
        }
    }
    verification.require(require)?;
    Ok(verification)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_ages_read_with_their_units() {
        let p = |t| Requirements::parse_max_age(t).map(|d| d.as_secs());
        assert_eq!(p("90s").unwrap(), 90);
        assert_eq!(p("24h").unwrap(), 86_400);
        assert_eq!(p("1h30m").unwrap(), 5_400);
        assert_eq!(p("7d").unwrap(), 604_800);
        for bad in ["", "24", "h", "-1h", "1y", "0s"] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requirements_parse_and_refuse_empty_or_unknown() {
        let r = Requirements::parse(["provenance", "signature"]).unwrap();
        assert_eq!(
            r.iter().collect::<Vec<_>>(),
            [Requirement::Signature, Requirement::Provenance]
        );
        let err = Requirements::parse(["", " "]).unwrap_err().to_string();
        assert!(err.starts_with("`require` is empty"), "{err}");
        let err = Requirements::parse(["sboms"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "`require`: \"sboms\" is not one of signature, provenance, sbom, vuln-scan (comma-separated)"
        );
        assert_eq!(
            Requirements::signature(),
            Requirements::parse(["signature"]).unwrap()
        );
    }
}
