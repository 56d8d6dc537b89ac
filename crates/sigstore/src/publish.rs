//! What a signing run writes to a registry, decided apart from the writing.
//!
//! 1. [`Wanted`]: what each subject should carry when the run is done (a
//!    signature, optionally provenance, optionally cosign's legacy `.sig`).
//! 2. [`read_existing`]: read the registry once and keep what verifies as
//!    signed by this run's identity ([`Existing`]).
//! 3. [`missing`]: pure: the [`Write`]s still needed. A re-run finds
//!    everything and writes nothing.
//! 4. [`apply`]: sign what is missing with one [`KeylessSigner`] (one Fulcio
//!    certificate) and write it.
//!
//! [`attach_attestation`] signs any in-toto predicate for a subject and
//! attaches it as a bundle referrer (sbom-attach uses it).

use std::sync::Arc;

use anyhow::{Context as _, Result};
use bitvault_registry::{Client, Digest, ManifestKind};
use bitvault_runner::command;
use serde_json::Value;

use crate::Subject;
use crate::oci::{self, LegacyLayer};
use crate::sign::{KeylessSigner, ToSign, simple_signing_payload};
use crate::verify::{Artifact, Policy, TrustedRoot, check_legacy, verify_artifact};

/// What a run puts on one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    /// The image manifest.
    pub subject: Subject,
    /// The in-toto statements to attach as bundles: the signature first.
    pub statements: Vec<ToSign>,
    /// Whether cosign's legacy `.sig` layer is wanted too.
    pub legacy: bool,
}

impl Wanted {
    /// A signature, provenance when a predicate is given, and the legacy
    /// `.sig` layer when `legacy`.
    pub fn new(subject: Subject, provenance: Option<&Value>, legacy: bool) -> Self {
        let name = subject.repo.to_string();
        let mut statements = vec![ToSign::signature(&name, subject.digest.hex())];
        if let Some(p) = provenance {
            statements.push(ToSign::provenance(&name, subject.digest.hex(), p.clone()));
        }
        Self {
            subject,
            statements,
            legacy,
        }
    }
}

/// A bundle already attached to a subject, verified as this identity's.
#[derive(Debug, Clone, PartialEq)]
pub struct Attached {
    /// The subject it is attached to.
    pub subject: Subject,
    /// The in-toto statement it signs.
    pub statement: Value,
    /// Its Rekor log index.
    pub log_index: u64,
    /// The bundle JSON.
    pub bundle_json: Vec<u8>,
}

/// A legacy `.sig` layer already there, verified as this identity's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacySigned {
    /// The subject it signs.
    pub subject: Subject,
    /// Its Rekor log index.
    pub log_index: u64,
}

/// What the registry already holds, signed by this identity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Existing {
    /// Verified bundles.
    pub attached: Vec<Attached>,
    /// Verified legacy layers.
    pub legacy: Vec<LegacySigned>,
}

impl Existing {
    /// The bundle on `subject` holding exactly `item`'s statement.
    pub fn bundle(&self, subject: &Subject, item: &ToSign) -> Option<&Attached> {
        let want: Value = serde_json::from_slice(&item.statement_json().ok()?).ok()?;
        self.attached
            .iter()
            .find(|a| &a.subject == subject && a.statement == want)
    }

    /// The legacy signature of `subject`.
    pub fn legacy(&self, subject: &Subject) -> Option<&LegacySigned> {
        self.legacy.iter().find(|l| &l.subject == subject)
    }
}

/// One thing to sign and write.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Sign this statement and attach the bundle to the subject.
    Attest {
        /// Where it goes.
        subject: Subject,
        /// What is signed.
        item: ToSign,
    },
    /// Sign the simple-signing payload and append it to the `.sig` tag.
    Legacy {
        /// Where it goes.
        subject: Subject,
    },
}

impl Write {
    /// The subject written to.
    pub fn subject(&self) -> &Subject {
        match self {
            Self::Attest { subject, .. } | Self::Legacy { subject } => subject,
        }
    }
}

/// What is still to be written for `wanted`, given what `existing` holds:
/// bundles first, in order, then legacy signatures.
pub fn missing(wanted: &[Wanted], existing: &Existing) -> Vec<Write> {
    let mut attest = Vec::new();
    let mut legacy = Vec::new();
    for w in wanted {
        for item in &w.statements {
            if existing.bundle(&w.subject, item).is_none() {
                attest.push(Write::Attest {
                    subject: w.subject.clone(),
                    item: item.clone(),
                });
            }
        }
        if w.legacy && existing.legacy(&w.subject).is_none() {
            legacy.push(Write::Legacy {
                subject: w.subject.clone(),
            });
        }
    }
    attest.extend(legacy);
    attest
}

/// The subjects, with each index's platform manifests after it when
/// `recursive`. Attestation manifests buildx puts in an index
/// (`vnd.docker.reference.type`) are not images and are skipped.
pub async fn expand(client: &Client, roots: &[Subject], recursive: bool) -> Result<Vec<Subject>> {
    let mut out: Vec<Subject> = Vec::new();
    for root in roots {
        let manifest = client
            .get_manifest(&root.repo, &root.digest)
            .await
            .with_context(|| format!("cannot read {}", root.image()))?;
        if !out.contains(root) {
            out.push(root.clone());
        }
        if let (true, ManifestKind::Index(index)) = (recursive, &manifest.kind) {
            for entry in &index.manifests {
                let attestation = entry
                    .annotations
                    .as_ref()
                    .is_some_and(|a| a.contains_key("vnd.docker.reference.type"));
                if attestation {
                    continue;
                }
                let child = Subject {
                    repo: root.repo.clone(),
                    digest: Digest::parse(&entry.digest)
                        .with_context(|| format!("{} lists a bad digest", root.image()))?,
                };
                if !out.contains(&child) {
                    out.push(child);
                }
            }
        }
    }
    Ok(out)
}

/// Read what `wanted`'s subjects already carry that verifies against
/// `policy` (this run's identity): bundles and, where wanted, legacy layers.
pub async fn read_existing(
    client: &Client,
    wanted: &[Wanted],
    policy: &Policy,
    root: &TrustedRoot,
) -> Result<Existing> {
    let mut existing = Existing::default();
    for w in wanted {
        let s = &w.subject;
        for b in oci::read_bundles(client, &s.repo, &s.digest, None).await? {
            if let Ok(v) = verify_artifact(&b.json, Artifact::Digest(s.digest.hex()), policy, root)
                && let Some(statement) = v.statement
            {
                existing.attached.push(Attached {
                    subject: s.clone(),
                    statement: statement.json,
                    log_index: v.log_index.unwrap_or_default(),
                    bundle_json: b.json,
                });
            }
        }
        if w.legacy
            && let Some((_, layers)) = oci::read_legacy(client, &s.repo, &s.digest).await?
            && let Some(layer) = layers
                .iter()
                .find(|l| legacy_layer_is_ours(s, l, policy, root))
        {
            existing.legacy.push(LegacySigned {
                subject: s.clone(),
                log_index: legacy_log_index(layer),
            });
        }
    }
    Ok(existing)
}

/// A layer is ours when it is our exact payload for `s` and verifies
/// against `policy`.
fn legacy_layer_is_ours(
    s: &Subject,
    layer: &LegacyLayer,
    policy: &Policy,
    root: &TrustedRoot,
) -> bool {
    let Ok(payload) = simple_signing_payload(&s.repo.to_string(), s.digest.as_str()) else {
        return false;
    };
    layer.payload == payload && check_legacy(layer, s, policy, root).is_ok()
}

fn legacy_log_index(layer: &LegacyLayer) -> u64 {
    layer
        .rekor_bundle
        .as_deref()
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .and_then(|v| v["Payload"]["logIndex"].as_u64())
        .unwrap_or_default()
}

/// What [`apply`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The subject written to.
    pub subject: Subject,
    /// The in-toto predicate type, or `None` for a legacy `.sig` layer.
    pub predicate_type: Option<String>,
    /// Its Rekor log index.
    pub log_index: u64,
    /// The bundle JSON (a DSSE bundle; for a legacy layer, the message
    /// signature bundle over its payload).
    pub bundle_json: String,
}

/// Sign and write `writes`, with one signer for them all: the Rekor entries
/// of the bundles and of the legacy signatures are made concurrently.
/// `policy` and `root` recognise a legacy layer of this identity that a
/// concurrent job wrote meanwhile.
pub async fn apply(
    client: &Client,
    signer: Arc<KeylessSigner>,
    writes: &[Write],
    policy: &Policy,
    root: &TrustedRoot,
) -> Result<Vec<Written>> {
    let mut legacy_tasks = tokio::task::JoinSet::new();
    let mut items = Vec::new();
    let mut targets = Vec::new();
    for w in writes {
        match w {
            Write::Attest { subject, item } => {
                items.push(item.clone());
                targets.push(subject.clone());
            }
            Write::Legacy { subject } => {
                let signer = Arc::clone(&signer);
                let s = subject.clone();
                legacy_tasks.spawn(async move {
                    let sig = signer
                        .sign_simple_signing(&s.repo.to_string(), s.digest.as_str())
                        .await;
                    (s, sig)
                });
            }
        }
    }
    let mut written = Vec::new();
    if !items.is_empty() {
        let bundles = signer
            .attest(items.clone())
            .await
            .context("cannot sign the statements")?;
        let created = rfc3339_now();
        for ((s, item), b) in targets.iter().zip(&items).zip(bundles) {
            let referrer =
                attach(client, s, &item.predicate_type, &b.bundle_json, &created).await?;
            command::info(&format!(
                "{}: {} bundle attached as {referrer} (rekor log index {})",
                s.image(),
                item.predicate_type,
                b.log_index
            ));
            written.push(Written {
                subject: s.clone(),
                predicate_type: Some(item.predicate_type.clone()),
                log_index: b.log_index,
                bundle_json: b.bundle_json,
            });
        }
    }
    while let Some(joined) = legacy_tasks.join_next().await {
        let (s, sig) = joined?;
        let sig = sig.context("cannot make the legacy .sig signature")?;
        let layer = LegacyLayer::from_signature(&sig)?;
        let ours = |l: &LegacyLayer| legacy_layer_is_ours(&s, l, policy, root);
        oci::append_legacy(client, &s.repo, &s.digest, &layer, &ours)
            .await
            .with_context(|| format!("cannot write {}", oci::legacy_tag(&s.digest)))?;
        written.push(Written {
            subject: s,
            predicate_type: None,
            log_index: sig.log_index,
            bundle_json: sig.bundle_json,
        });
    }
    Ok(written)
}

async fn attach(
    client: &Client,
    s: &Subject,
    predicate_type: &str,
    bundle_json: &str,
    created: &str,
) -> Result<Digest> {
    let artifact = oci::bundle_artifact(bundle_json, predicate_type, created);
    let attached = client
        .attach(&s.repo, &s.digest, &artifact)
        .await
        .with_context(|| format!("cannot attach the {predicate_type} bundle to {}", s.image()))?;
    Ok(attached.digest)
}

/// Sign an in-toto statement about `subject` (`predicate_type`, `predicate`)
/// and attach the bundle to it as an OCI referrer, as cosign 3 does
/// (`cosign attest --new-bundle-format`).
pub async fn attach_attestation(
    client: &Client,
    signer: &KeylessSigner,
    subject: &Subject,
    predicate_type: &str,
    predicate: Value,
) -> Result<Written> {
    let item = ToSign::new(
        subject.repo.to_string(),
        subject.digest.hex(),
        predicate_type,
        predicate,
    );
    let bundle = signer
        .attest(vec![item])
        .await
        .with_context(|| format!("cannot sign the {predicate_type} statement"))?
        .remove(0);
    attach(
        client,
        subject,
        predicate_type,
        &bundle.bundle_json,
        &rfc3339_now(),
    )
    .await?;
    Ok(Written {
        subject: subject.clone(),
        predicate_type: Some(predicate_type.to_string()),
        log_index: bundle.log_index,
        bundle_json: bundle.bundle_json,
    })
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    rfc3339(secs)
}

fn rfc3339(secs: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&format)
        .expect("a fixed format always formats")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitvault_registry::Reference;
    use serde_json::json;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    fn subject(c: char) -> Subject {
        let r = Reference::parse(&format!(
            "ghcr.io/acme/app@sha256:{}",
            c.to_string().repeat(64)
        ))
        .unwrap();
        Subject::new(r.repository().clone(), r.digest().unwrap().clone())
    }

    fn attached(w: &Wanted, n: usize) -> Attached {
        Attached {
            subject: w.subject.clone(),
            statement: serde_json::from_slice(&w.statements[n].statement_json().unwrap()).unwrap(),
            log_index: 7,
            bundle_json: b"{}".to_vec(),
        }
    }

    #[test]
    fn missing_is_what_is_not_there_and_a_rerun_writes_nothing() {
        let provenance = json!({"buildDefinition": {"buildType": "x"}});
        let wanted = vec![
            Wanted::new(subject('a'), Some(&provenance), true),
            Wanted::new(subject('b'), None, false),
        ];
        let all = missing(&wanted, &Existing::default());
        assert_eq!(
            all.iter()
                .map(|w| match w {
                    Write::Attest { subject, item } =>
                        format!("{} {}", subject.digest.hex(), item.predicate_type),
                    Write::Legacy { subject } => format!("{} legacy", subject.digest.hex()),
                })
                .map(|s| s[63..].to_string())
                .collect::<Vec<_>>(),
            [
                "a https://sigstore.dev/cosign/sign/v1",
                "a https://slsa.dev/provenance/v1",
                "b https://sigstore.dev/cosign/sign/v1",
                "a legacy",
            ]
        );

        // a's signature is there, but its provenance statement differs.
        let mut existing = Existing::default();
        existing.attached.push(attached(&wanted[0], 0));
        let other = Wanted::new(subject('a'), Some(&json!({"other": true})), true);
        existing.attached.push(attached(&other, 1));
        let left = missing(&wanted, &existing);
        assert_eq!(left.len(), 3, "{left:?}");
        assert!(matches!(&left[0], Write::Attest { item, .. } if item == &wanted[0].statements[1]));

        // Everything there: nothing to write.
        existing.attached.push(attached(&wanted[0], 1));
        existing.attached.push(attached(&wanted[1], 0));
        existing.legacy.push(LegacySigned {
            subject: subject('a'),
            log_index: 3,
        });
        assert!(missing(&wanted, &existing).is_empty());
    }
}
