//! `bitvault sign-keyless`: sign image digests keyless and put the
//! signatures where cosign and `bitvault verify` find them.
//!
//! Inputs are parsed, then for each digest (and, with `recursive`, each
//! platform manifest of an index) the registry is read to see what is
//! already signed by this identity; only what is missing is signed, with one
//! Fulcio certificate for the whole run, and written back ([`crate::oci`]).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use bitvault_registry::{Client, Digest, ManifestKind, Reference, Repository};
use bitvault_runner::{ActionSpec, Env, InputSpec, OutputSpec, Step, command};
use serde_json::{Value, json};

use crate::oci::{self, LegacyLayer};
use crate::provenance::BuildContext;
use crate::sign::{KeylessSigner, Services, ToSign, simple_signing_payload};
use crate::verify::{Artifact, ClientTrustConfig, TrustedRoot, VerifyPolicy, verify_artifact};

pub static SIGN_SPEC: ActionSpec = ActionSpec {
    name: "sign-keyless",
    description: "Sign image digests keyless with Sigstore (one Fulcio certificate per run): a bundle v0.3 referrer per digest, cosign's legacy .sig layout, and SLSA v1 provenance.",
    inputs: &[
        InputSpec::required(
            "images",
            "Images to sign, one `repository@sha256:<hex>` per line. Tags are refused: sign the digest you built.",
        ),
        InputSpec::with_default(
            "recursive",
            "For an image index, also sign each platform manifest it lists.",
            "false",
        ),
        InputSpec::with_default(
            "provenance",
            "Also attach SLSA v1 provenance (buildType https://bitvault.dev/buildtypes/github-actions/v1) made from the workflow context.",
            "true",
        ),
        InputSpec::with_default(
            "legacy-signature",
            "Also write cosign's legacy `sha256-<hex>.sig` tag, for verifiers that predate OCI referrers.",
            "true",
        ),
        InputSpec::optional(
            "trust-config",
            "A Sigstore ClientTrustConfig JSON file (trusted root and signing config) for a private instance; the public-good instance when not set.",
        ),
        InputSpec::optional("fulcio-url", "Fulcio URL, overriding the trust config's."),
        InputSpec::optional("rekor-url", "Rekor (v1 API) URL, overriding the trust config's."),
        InputSpec::optional(
            "identity-token",
            "An OIDC identity token to sign with (also read from SIGSTORE_ID_TOKEN); by default the runner's, which needs `permissions: id-token: write`.",
        )
        .secret(),
        InputSpec::optional(
            "username",
            "Registry username (otherwise Docker's config.json, as docker/login-action writes it, or anonymous).",
        ),
        InputSpec::optional("password", "Registry password or token.").secret(),
        InputSpec::optional(
            "insecure-registries",
            "Registries (host:port) reached over plain HTTP besides loopback ones, one per line.",
        ),
    ],
    outputs: &[
        OutputSpec::new(
            "bundle-paths",
            "The Sigstore bundles, one file per bundle (in RUNNER_TEMP), one path per line.",
        ),
        OutputSpec::new(
            "signed",
            "JSON array, one entry per signed manifest: image, digest, log-index, identity, provenance-log-index, legacy-log-index, reused (already signed).",
        ),
    ],
    dynamic_outputs: &[],
    permissions: &[
        "id-token: write (the signing identity)",
        "packages: write (for ghcr.io)",
    ],
};

/// The audience Sigstore asks identity tokens for.
const AUDIENCE: &str = "sigstore";

/// A manifest to sign.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub(crate) repo: Repository,
    pub(crate) digest: Digest,
}

impl Subject {
    pub(crate) fn image(&self) -> String {
        format!("{}@{}", self.repo, self.digest)
    }
}

/// What one subject ends up with.
#[derive(Debug, Default)]
struct Outcome {
    signature: Option<(u64, bool)>,
    provenance: Option<(u64, bool)>,
    legacy: Option<(u64, bool)>,
    bundle_paths: Vec<PathBuf>,
}

pub fn run_sign(step: &mut Step) -> Result<()> {
    let images = step.inputs.list("images", false);
    if images.is_empty() {
        bail!("`images` is empty: give one `repository@sha256:<hex>` per line");
    }
    let mut roots = Vec::new();
    for image in &images {
        roots.push(parse_digest_reference(image, "images")?);
    }
    let recursive = step.inputs.bool("recursive")?;
    let provenance = step.inputs.bool("provenance")?;
    let legacy = step.inputs.bool("legacy-signature")?;
    let (services, trusted_root) = services(step)?;
    let token = identity_token(step)?;
    let claims = token_claims(&token)?;
    let identity = expected_identity(&step.env, &claims);
    let issuer = claims["iss"]
        .as_str()
        .context("the identity token has no `iss` claim")?
        .to_string();
    let predicate = if provenance {
        Some(BuildContext::from_env_and_claims(&step.env, &claims).predicate()?)
    } else {
        None
    };
    let client = registry_client(step, &roots)?;
    let out_dir = bundle_dir(&step.env)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let plan = Plan {
        client: &client,
        services: &services,
        trusted_root: &trusted_root,
        token: &token,
        policy: VerifyPolicy::new(identity.clone(), issuer),
        provenance: predicate,
        legacy,
        out_dir: &out_dir,
    };
    let (subjects, outcomes) = rt.block_on(async {
        let subjects = expand(&client, &roots, recursive).await?;
        let outcomes = plan.execute(&subjects).await?;
        Ok::<_, anyhow::Error>((subjects, outcomes))
    })?;

    let mut signed = Vec::new();
    let mut paths = Vec::new();
    let mut md = String::from(
        "### sign-keyless\n\n| image | digest | rekor log index | provenance | .sig | |\n|---|---|---|---|---|---|\n",
    );
    let show = |v: &Option<(u64, bool)>| match v {
        Some((i, _)) => i.to_string(),
        None => "-".into(),
    };
    for (s, o) in subjects.iter().zip(&outcomes) {
        let reused = [&o.signature, &o.provenance, &o.legacy]
            .iter()
            .all(|x| x.is_none_or(|(_, r)| r));
        signed.push(json!({
            "image": s.image(),
            "digest": s.digest.as_str(),
            "log-index": o.signature.map(|x| x.0),
            "identity": identity,
            "provenance-log-index": o.provenance.map(|x| x.0),
            "legacy-log-index": o.legacy.map(|x| x.0),
            "reused": reused,
        }));
        paths.extend(o.bundle_paths.iter().map(|p| p.display().to_string()));
        md.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} | {} |\n",
            s.repo,
            s.digest,
            show(&o.signature),
            show(&o.provenance),
            show(&o.legacy),
            if reused { "already signed" } else { "signed" }
        ));
    }
    md.push_str(&format!("\nSigning identity: `{identity}`\n"));
    step.set_output("bundle-paths", paths.join("\n"));
    step.set_output("signed", serde_json::to_string(&signed)?);
    step.summary(&md);
    Ok(())
}

/// `repository@sha256:<hex>`, refusing tags.
pub(crate) fn parse_digest_reference(image: &str, input: &str) -> Result<Subject> {
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
    Ok(Subject {
        repo: reference.repository().clone(),
        digest: digest.clone(),
    })
}

fn services(step: &Step) -> Result<(Services, TrustedRoot)> {
    let (mut services, root) = match step.inputs.get("trust-config") {
        Some(path) => {
            let config = ClientTrustConfig::from_file(std::path::Path::new(path))
                .with_context(|| format!("`trust-config` {path}"))?;
            (
                Services::from_client_trust_config(&config)?,
                config.trusted_root,
            )
        }
        None => (Services::production()?, TrustedRoot::production()),
    };
    if let Some(url) = step.inputs.get("fulcio-url") {
        services.fulcio_url = url.trim_end_matches('/').to_string();
    }
    if let Some(url) = step.inputs.get("rekor-url") {
        services.rekor_url = url.trim_end_matches('/').to_string();
    }
    Ok((services, root))
}

/// The identity token: the input, SIGSTORE_ID_TOKEN, or the runner's.
fn identity_token(step: &Step) -> Result<String> {
    if let Some(token) = step.inputs.get("identity-token") {
        return Ok(token.to_string());
    }
    if let Some(token) = step.env.non_empty("SIGSTORE_ID_TOKEN") {
        command::add_mask(token);
        return Ok(token.trim().to_string());
    }
    bitvault_runner::oidc::id_token(&step.env, AUDIENCE)
        .context("keyless signing needs an identity token")
}

/// The token's claims (already trusted: Fulcio checks the signature).
fn token_claims(token: &str) -> Result<Value> {
    let payload = token
        .split('.')
        .nth(1)
        .context("the identity token is not a JWT (header.payload.signature)")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .context("the identity token's payload is not base64url")?;
    serde_json::from_slice(&bytes).context("the identity token's payload is not JSON")
}

/// The identity Fulcio will certify: a GitHub workflow's URI, else the
/// token's email or subject.
fn expected_identity(env: &Env, claims: &Value) -> String {
    if let Some(r) = claims["job_workflow_ref"].as_str() {
        return format!("{}/{r}", env.server_url().trim_end_matches('/'));
    }
    claims["email"]
        .as_str()
        .or(claims["sub"].as_str())
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn registry_client(step: &Step, subjects: &[Subject]) -> Result<Client> {
    let mut credentials = bitvault_registry::CredentialStore::new();
    if let (Some(user), Some(pass)) = (step.inputs.get("username"), step.inputs.get("password")) {
        let mut seen = std::collections::BTreeSet::new();
        for s in subjects {
            if seen.insert(s.repo.registry().to_string()) {
                credentials = credentials.with_basic(s.repo.registry(), user, pass);
            }
        }
    }
    Ok(Client::new(bitvault_registry::ClientOptions {
        insecure_registries: step.inputs.list("insecure-registries", true),
        credentials,
        ..Default::default()
    })?)
}

fn bundle_dir(env: &Env) -> Result<PathBuf> {
    let base = env.path("RUNNER_TEMP").unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("bitvault-sign-keyless-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create {} for the bundles", dir.display()))?;
    Ok(dir)
}

/// The subjects, with each index's platform manifests after it when
/// `recursive`. Attestation manifests buildx puts in an index
/// (`vnd.docker.reference.type`) are not images and are skipped.
async fn expand(client: &Client, roots: &[Subject], recursive: bool) -> Result<Vec<Subject>> {
    let mut out: Vec<Subject> = Vec::new();
    for root in roots {
        let manifest = client
            .get_manifest(&root.repo, &root.digest)
            .await
            .with_context(|| format!("cannot read {}", root.image()))?;
        if !out.iter().any(|s| s.image() == root.image()) {
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
                if !out.iter().any(|s| s.image() == child.image()) {
                    out.push(child);
                }
            }
        }
    }
    Ok(out)
}

struct Plan<'a> {
    client: &'a Client,
    services: &'a Services,
    trusted_root: &'a TrustedRoot,
    token: &'a str,
    policy: VerifyPolicy,
    provenance: Option<Value>,
    legacy: bool,
    out_dir: &'a std::path::Path,
}

/// One statement to sign for a subject, unless already there.
struct Pending {
    subject: usize,
    kind: &'static str,
    item: ToSign,
}

impl Plan<'_> {
    fn statements(&self, s: &Subject) -> Vec<(&'static str, ToSign)> {
        let name = s.repo.to_string();
        let mut v = vec![("signature", ToSign::signature(&name, s.digest.hex()))];
        if let Some(p) = &self.provenance {
            v.push((
                "provenance",
                ToSign::provenance(&name, s.digest.hex(), p.clone()),
            ));
        }
        v
    }

    /// A bundle already attached to `s` that verifies, is by this identity,
    /// and holds exactly this statement.
    async fn existing_bundle(&self, s: &Subject, item: &ToSign) -> Result<Option<(u64, Vec<u8>)>> {
        let want: Value = serde_json::from_slice(&item.statement_json()?)?;
        let stored =
            oci::read_bundles(self.client, &s.repo, &s.digest, Some(&item.predicate_type)).await?;
        for b in stored {
            if let Ok(v) = verify_artifact(
                &b.json,
                Artifact::Digest(s.digest.hex()),
                &self.policy,
                self.trusted_root,
            ) && v.statement.as_ref().is_some_and(|st| st.json == want)
            {
                return Ok(Some((v.log_index.unwrap_or_default(), b.json)));
            }
        }
        Ok(None)
    }

    fn legacy_layer_is_ours(&self, s: &Subject, layer: &LegacyLayer) -> bool {
        let Ok(payload) = simple_signing_payload(&s.repo.to_string(), s.digest.as_str()) else {
            return false;
        };
        layer.payload == payload
            && layer.to_bundle_json().is_ok_and(|b| {
                verify_artifact(
                    b.as_bytes(),
                    Artifact::Bytes(&layer.payload),
                    &self.policy,
                    self.trusted_root,
                )
                .is_ok()
            })
    }

    async fn execute(&self, subjects: &[Subject]) -> Result<Vec<Outcome>> {
        let mut outcomes: Vec<Outcome> = subjects.iter().map(|_| Outcome::default()).collect();
        let mut pending = Vec::new();
        let mut legacy_pending = Vec::new();
        for (i, s) in subjects.iter().enumerate() {
            for (kind, item) in self.statements(s) {
                match self.existing_bundle(s, &item).await? {
                    Some((index, json)) => {
                        command::info(&format!(
                            "{}: {kind} by this identity is already attached (rekor log index {index}): skipped",
                            s.image()
                        ));
                        let path = self.write_bundle(s, kind, &json)?;
                        let o = &mut outcomes[i];
                        o.bundle_paths.push(path);
                        *slot(o, kind) = Some((index, true));
                    }
                    None => pending.push(Pending {
                        subject: i,
                        kind,
                        item,
                    }),
                }
            }
            if self.legacy {
                let existing = oci::read_legacy(self.client, &s.repo, &s.digest).await?;
                let ours = existing.as_ref().and_then(|(_, layers)| {
                    layers.iter().find(|l| self.legacy_layer_is_ours(s, l))
                });
                match ours {
                    Some(layer) => {
                        command::info(&format!(
                            "{}: its {} tag already holds a signature by this identity: skipped",
                            s.image(),
                            oci::legacy_tag(&s.digest)
                        ));
                        outcomes[i].legacy = Some((legacy_log_index(layer), true));
                    }
                    None => legacy_pending.push(i),
                }
            }
        }
        if pending.is_empty() && legacy_pending.is_empty() {
            command::notice("every digest is already signed by this identity: nothing to do");
            return Ok(outcomes);
        }

        let signer = Arc::new(
            KeylessSigner::new(self.services, self.token)
                .await
                .context("cannot start signing")?,
        );
        // Legacy signatures are logged while the DSSE bundles are.
        let mut legacy_tasks = tokio::task::JoinSet::new();
        for &i in &legacy_pending {
            let signer = Arc::clone(&signer);
            let s = subjects[i].clone();
            legacy_tasks.spawn(async move {
                let sig = signer
                    .sign_simple_signing(&s.repo.to_string(), s.digest.as_str())
                    .await;
                (i, sig)
            });
        }
        let items: Vec<ToSign> = pending.iter().map(|p| p.item.clone()).collect();
        let bundles = signer
            .attest(items)
            .await
            .context("cannot sign the statements")?;
        let created = rfc3339_now();
        for (p, b) in pending.iter().zip(&bundles) {
            let s = &subjects[p.subject];
            let artifact = oci::bundle_artifact(&b.bundle_json, &p.item.predicate_type, &created);
            let attached = self
                .client
                .attach(&s.repo, &s.digest, &artifact)
                .await
                .with_context(|| format!("cannot attach the {} bundle to {}", p.kind, s.image()))?;
            command::info(&format!(
                "{}: {} bundle attached as {} (rekor log index {})",
                s.image(),
                p.kind,
                attached.digest,
                b.log_index
            ));
            let path = self.write_bundle(s, p.kind, b.bundle_json.as_bytes())?;
            let o = &mut outcomes[p.subject];
            o.bundle_paths.push(path);
            *slot(o, p.kind) = Some((b.log_index, false));
        }
        while let Some(joined) = legacy_tasks.join_next().await {
            let (i, sig) = joined?;
            let sig = sig.context("cannot make the legacy .sig signature")?;
            let s = &subjects[i];
            let layer = LegacyLayer::from_signature(&sig)?;
            let ours = |l: &LegacyLayer| self.legacy_layer_is_ours(s, l);
            oci::append_legacy(self.client, &s.repo, &s.digest, &layer, &ours)
                .await
                .with_context(|| format!("cannot write {}", oci::legacy_tag(&s.digest)))?;
            outcomes[i].legacy = Some((sig.log_index, false));
        }
        Ok(outcomes)
    }

    fn write_bundle(&self, s: &Subject, kind: &str, json: &[u8]) -> Result<PathBuf> {
        let name: String = s
            .repo
            .to_string()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self.out_dir.join(format!(
            "{name}-sha256-{}.{kind}.sigstore.json",
            s.digest.hex()
        ));
        std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

fn slot<'o>(o: &'o mut Outcome, kind: &str) -> &'o mut Option<(u64, bool)> {
    if kind == "provenance" {
        &mut o.provenance
    } else {
        &mut o.signature
    }
}

fn legacy_log_index(layer: &LegacyLayer) -> u64 {
    layer
        .rekor_bundle
        .as_deref()
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .and_then(|v| v["Payload"]["logIndex"].as_u64())
        .unwrap_or_default()
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

    #[test]
    fn tags_are_refused() {
        let err = parse_digest_reference("ghcr.io/acme/app:v1", "images")
            .unwrap_err()
            .to_string();
        assert!(err.contains("digests only"), "{err}");
        let ok = parse_digest_reference(
            &format!("ghcr.io/acme/app@sha256:{}", "a".repeat(64)),
            "images",
        )
        .unwrap();
        assert_eq!(ok.repo.to_string(), "ghcr.io/acme/app");
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn github_identity_is_the_workflow_uri() {
        let claims = json!({"job_workflow_ref": "acme/app/.github/workflows/r.yml@refs/heads/main", "sub": "repo:acme/app"});
        assert_eq!(
            expected_identity(&Env::default(), &claims),
            "https://github.com/acme/app/.github/workflows/r.yml@refs/heads/main"
        );
        assert_eq!(
            expected_identity(&Env::default(), &json!({"sub": "x", "email": "a@b"})),
            "a@b"
        );
    }
}
