//! `bitvault sign-keyless`: sign image digests keyless and put the
//! signatures where cosign and `bitvault verify` find them.
//!
//! A thin action over [`bitvault_sigstore`]:
//! 1. [`Request::from_inputs`] parses the inputs once (pure);
//! 2. the identity token is read (the input, `SIGSTORE_ID_TOKEN`, or the
//!    runner's) and the registry is read for what this identity already
//!    signed ([`bitvault_sigstore::publish::read_existing`]);
//! 3. [`Plan::new`] decides what is missing (pure,
//!    [`bitvault_sigstore::publish::missing`]): a re-run plans nothing;
//! 4. [`bitvault_sigstore::publish::apply`] signs only that, with one Fulcio
//!    certificate for the whole run, and writes it;
//! 5. [`report`] sets the outputs and the step summary ([`summary_markdown`],
//!    [`signed_json`]: pure renderings).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use bitvault_runner::{ActionSpec, Env, InputSpec, Inputs, OutputSpec, Step, command};
use bitvault_sigstore::provenance::BuildContext;
use bitvault_sigstore::publish::{self, Existing, Wanted, Write, Written};
use bitvault_sigstore::sign::{
    COSIGN_SIGN_PREDICATE_TYPE, KeylessSigner, SLSA_PROVENANCE_PREDICATE_TYPE, Services,
};
use bitvault_sigstore::verify::{ClientTrustConfig, Policy, TrustedRoot};
use bitvault_sigstore::{RegistryAccess, Subject, oci};
use serde_json::{Value, json};

pub static SPEC: ActionSpec = ActionSpec {
    name: "sign-keyless",
    description: "Sign image digests keyless with Sigstore (one Fulcio certificate per run): a bundle v0.3 referrer per digest, cosign's legacy .sig layout, and SLSA v1 provenance.",
    inputs: &[
        InputSpec::required(
            "images",
            "Images to sign, one `repository@sha256:<hex>` per line. Tags are refused: sign the digest you built.",
        )
        .list(),
        InputSpec::with_default(
            "recursive",
            "For an image index, also sign each platform manifest it lists.",
            "false",
        )
        .boolean(),
        InputSpec::with_default(
            "provenance",
            "Also attach SLSA v1 provenance (buildType https://bitvault.dev/buildtypes/github-actions/v1) made from the workflow context.",
            "true",
        )
        .boolean(),
        InputSpec::with_default(
            "legacy-signature",
            "Also write cosign's legacy `sha256-<hex>.sig` tag, for verifiers that predate OCI referrers.",
            "true",
        )
        .boolean(),
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
            "Registries (host:port) reached over plain HTTP besides loopback ones.",
        )
        .list_or_commas(),
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

/// What to sign and how, parsed from the inputs.
#[derive(Debug, Clone)]
pub struct Request {
    /// The images given, by digest.
    pub images: Vec<Subject>,
    /// Also sign each platform manifest of an index.
    pub recursive: bool,
    /// Also attach SLSA provenance.
    pub provenance: bool,
    /// Also write the legacy `.sig` tag.
    pub legacy: bool,
    /// A ClientTrustConfig file; the public-good instance when `None`.
    pub trust_config: Option<PathBuf>,
    /// Fulcio URL override.
    pub fulcio_url: Option<String>,
    /// Rekor URL override.
    pub rekor_url: Option<String>,
    /// The identity token given as an input.
    pub identity_token: Option<String>,
    /// How to reach the registries.
    pub registry: RegistryAccess,
}

impl Request {
    /// Parse the inputs (no I/O).
    pub fn from_inputs(inputs: &Inputs) -> Result<Self> {
        let text = |n: &str| -> Result<Option<String>> { Ok(inputs.text(n)?.map(str::to_string)) };
        let given = inputs.items("images")?;
        if given.is_empty() {
            bail!("`images` is empty: give one `repository@sha256:<hex>` per line");
        }
        let images = given
            .iter()
            .map(|i| Subject::parse(i, "images"))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            images,
            recursive: inputs.boolean("recursive")?,
            provenance: inputs.boolean("provenance")?,
            legacy: inputs.boolean("legacy-signature")?,
            trust_config: text("trust-config")?.map(Into::into),
            fulcio_url: text("fulcio-url")?,
            rekor_url: text("rekor-url")?,
            identity_token: text("identity-token")?,
            registry: RegistryAccess {
                username: text("username")?,
                password: text("password")?,
                insecure_registries: inputs.items("insecure-registries")?,
            },
        })
    }

    /// The signing services and the root their signatures chain to.
    fn services(&self) -> Result<(Services, TrustedRoot)> {
        let (mut services, root) = match &self.trust_config {
            Some(path) => {
                let config = ClientTrustConfig::from_file(path)
                    .with_context(|| format!("`trust-config` {}", path.display()))?;
                (
                    Services::from_client_trust_config(&config)?,
                    config.trusted_root,
                )
            }
            None => (Services::production()?, TrustedRoot::production()),
        };
        if let Some(url) = &self.fulcio_url {
            services.fulcio_url = url.trim_end_matches('/').to_string();
        }
        if let Some(url) = &self.rekor_url {
            services.rekor_url = url.trim_end_matches('/').to_string();
        }
        Ok((services, root))
    }
}

/// Who signs: the token, and what it says.
#[derive(Clone)]
pub struct Identity {
    token: String,
    /// The identity Fulcio will certify.
    pub identity: String,
    /// The token's issuer.
    pub issuer: String,
    /// The token's claims.
    pub claims: Value,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("identity", &self.identity)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Read the token's claims (already trusted: Fulcio checks the signature).
    pub fn from_token(env: &Env, token: String) -> Result<Self> {
        let claims = token_claims(&token)?;
        let identity = expected_identity(env, &claims);
        let issuer = claims["iss"]
            .as_str()
            .context("the identity token has no `iss` claim")?
            .to_string();
        Ok(Self {
            token,
            identity,
            issuer,
            claims,
        })
    }

    /// The policy that recognises this identity's signatures.
    pub fn policy(&self) -> Policy {
        Policy::new(self.identity.clone(), self.issuer.clone())
    }
}

/// What the run will write, decided from what is there (no I/O).
#[derive(Debug, Clone)]
pub struct Plan {
    /// What each subject should carry.
    pub wanted: Vec<Wanted>,
    /// What it already carries, by this identity.
    pub existing: Existing,
    /// What is missing.
    pub writes: Vec<Write>,
}

impl Plan {
    /// The writes `wanted` still needs given `existing`.
    pub fn new(wanted: Vec<Wanted>, existing: Existing) -> Self {
        let writes = publish::missing(&wanted, &existing);
        Self {
            wanted,
            existing,
            writes,
        }
    }

    /// One line per thing already there, for the log.
    pub fn skipped(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for w in &self.wanted {
            for item in &w.statements {
                if let Some(a) = self.existing.bundle(&w.subject, item) {
                    lines.push(format!(
                        "{}: {} by this identity is already attached (rekor log index {}): skipped",
                        w.subject.image(),
                        kind(&item.predicate_type),
                        a.log_index
                    ));
                }
            }
            if w.legacy && self.existing.legacy(&w.subject).is_some() {
                lines.push(format!(
                    "{}: its {} tag already holds a signature by this identity: skipped",
                    w.subject.image(),
                    oci::legacy_tag(&w.subject.digest)
                ));
            }
        }
        lines
    }

    /// What each subject ends up with, from the plan and what was written.
    pub fn rows(&self, written: &[Written]) -> Vec<Row> {
        self.wanted
            .iter()
            .map(|w| {
                let mut row = Row::default_for(&w.subject);
                for item in &w.statements {
                    let slot = match item.predicate_type.as_str() {
                        SLSA_PROVENANCE_PREDICATE_TYPE => &mut row.provenance,
                        _ => &mut row.signature,
                    };
                    if let Some(a) = self.existing.bundle(&w.subject, item) {
                        *slot = Some(Entry {
                            log_index: a.log_index,
                            reused: true,
                        });
                        row.bundles
                            .push((kind(&item.predicate_type), a.bundle_json.clone()));
                    } else if let Some(x) = written.iter().find(|x| {
                        x.subject == w.subject
                            && x.predicate_type.as_deref() == Some(&item.predicate_type)
                    }) {
                        *slot = Some(Entry {
                            log_index: x.log_index,
                            reused: false,
                        });
                        row.bundles.push((
                            kind(&item.predicate_type),
                            x.bundle_json.as_bytes().to_vec(),
                        ));
                    }
                }
                if w.legacy {
                    row.legacy = match self.existing.legacy(&w.subject) {
                        Some(l) => Some(Entry {
                            log_index: l.log_index,
                            reused: true,
                        }),
                        None => written
                            .iter()
                            .find(|x| x.subject == w.subject && x.predicate_type.is_none())
                            .map(|x| Entry {
                                log_index: x.log_index,
                                reused: false,
                            }),
                    };
                }
                row
            })
            .collect()
    }
}

/// `signature` or `provenance`, by predicate type.
fn kind(predicate_type: &str) -> &'static str {
    match predicate_type {
        SLSA_PROVENANCE_PREDICATE_TYPE => "provenance",
        COSIGN_SIGN_PREDICATE_TYPE => "signature",
        _ => "attestation",
    }
}

/// One signature of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Its Rekor log index.
    pub log_index: u64,
    /// Already there before this run.
    pub reused: bool,
}

/// What one subject ends up with.
#[derive(Debug, Clone)]
pub struct Row {
    /// The manifest.
    pub subject: Subject,
    /// Its signature bundle.
    pub signature: Option<Entry>,
    /// Its provenance bundle.
    pub provenance: Option<Entry>,
    /// Its legacy `.sig` layer.
    pub legacy: Option<Entry>,
    /// The bundles (kind, JSON), to write to files.
    pub bundles: Vec<(&'static str, Vec<u8>)>,
}

impl Row {
    fn default_for(subject: &Subject) -> Self {
        Self {
            subject: subject.clone(),
            signature: None,
            provenance: None,
            legacy: None,
            bundles: Vec::new(),
        }
    }

    /// Whether everything was there already.
    pub fn reused(&self) -> bool {
        [&self.signature, &self.provenance, &self.legacy]
            .iter()
            .all(|x| x.is_none_or(|e| e.reused))
    }
}

/// The action's entry point.
pub fn run(step: &mut Step) -> Result<()> {
    let req = Request::from_inputs(&step.inputs)?;
    let (services, root) = req.services()?;
    let who = Identity::from_token(&step.env, identity_token(&req, &step.env)?)?;
    let predicate = if req.provenance {
        Some(BuildContext::from_env_and_claims(&step.env, &who.claims).predicate()?)
    } else {
        None
    };
    let client = req.registry.client(&req.images)?;
    let out_dir = bundle_dir(&step.env)?;
    let policy = who.policy();
    let (plan, written) = bitvault_http::block_on(async {
        let subjects = publish::expand(&client, &req.images, req.recursive).await?;
        let wanted: Vec<Wanted> = subjects
            .into_iter()
            .map(|s| Wanted::new(s, predicate.as_ref(), req.legacy))
            .collect();
        let existing = publish::read_existing(&client, &wanted, &policy, &root).await?;
        let plan = Plan::new(wanted, existing);
        for line in plan.skipped() {
            command::info(&line);
        }
        if plan.writes.is_empty() {
            command::notice("every digest is already signed by this identity: nothing to do");
            return Ok::<_, anyhow::Error>((plan, Vec::new()));
        }
        let signer = Arc::new(
            KeylessSigner::new(&services, &who.token)
                .await
                .context("cannot start signing")?,
        );
        let written = publish::apply(&client, signer, &plan.writes, &policy, &root).await?;
        Ok((plan, written))
    })?;
    let rows = plan.rows(&written);
    report(step, &rows, &who.identity, &out_dir)
}

/// Write each bundle to `out_dir`, and set the outputs and the step summary.
pub fn report(step: &mut Step, rows: &[Row], identity: &str, out_dir: &Path) -> Result<()> {
    let mut paths = Vec::new();
    for row in rows {
        for (kind, json) in &row.bundles {
            paths.push(write_bundle(out_dir, &row.subject, kind, json)?);
        }
    }
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    step.set_output("bundle-paths", paths.join("\n"));
    step.set_output(
        "signed",
        serde_json::to_string(&signed_json(rows, identity))?,
    );
    step.summary(&summary_markdown(rows, identity));
    Ok(())
}

/// The `signed` output.
pub fn signed_json(rows: &[Row], identity: &str) -> Value {
    rows.iter()
        .map(|r| {
            json!({
                "image": r.subject.image(),
                "digest": r.subject.digest.as_str(),
                "log-index": r.signature.map(|e| e.log_index),
                "identity": identity,
                "provenance-log-index": r.provenance.map(|e| e.log_index),
                "legacy-log-index": r.legacy.map(|e| e.log_index),
                "reused": r.reused(),
            })
        })
        .collect()
}

/// The step summary.
pub fn summary_markdown(rows: &[Row], identity: &str) -> String {
    let mut md = String::from(
        "### sign-keyless\n\n| image | digest | rekor log index | provenance | .sig | |\n|---|---|---|---|---|---|\n",
    );
    let show = |v: &Option<Entry>| match v {
        Some(e) => e.log_index.to_string(),
        None => "-".into(),
    };
    for r in rows {
        md.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} | {} |\n",
            r.subject.repo,
            r.subject.digest,
            show(&r.signature),
            show(&r.provenance),
            show(&r.legacy),
            if r.reused() {
                "already signed"
            } else {
                "signed"
            }
        ));
    }
    md.push_str(&format!("\nSigning identity: `{identity}`\n"));
    md
}

/// The identity token: the input, SIGSTORE_ID_TOKEN, or the runner's.
fn identity_token(req: &Request, env: &Env) -> Result<String> {
    if let Some(token) = &req.identity_token {
        return Ok(token.clone());
    }
    if let Some(token) = env.non_empty("SIGSTORE_ID_TOKEN") {
        command::add_mask(token);
        return Ok(token.trim().to_string());
    }
    bitvault_runner::oidc::id_token(env, AUDIENCE)
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

fn bundle_dir(env: &Env) -> Result<PathBuf> {
    let base = env.path("RUNNER_TEMP").unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("bitvault-sign-keyless-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create {} for the bundles", dir.display()))?;
    Ok(dir)
}

fn write_bundle(out_dir: &Path, s: &Subject, kind: &str, json: &[u8]) -> Result<PathBuf> {
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
    let path = out_dir.join(format!(
        "{name}-sha256-{}.{kind}.sigstore.json",
        s.digest.hex()
    ));
    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_refused() {
        let err = bitvault_runner::testing::check_reads_with(
            &SPEC,
            &[("images", "ghcr.io/acme/app:v1")],
            Request::from_inputs,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("digests only"), "{err}");
    }

    #[test]
    fn every_input_read_is_declared() {
        let req = bitvault_runner::testing::check_reads_with(
            &SPEC,
            &[(
                "images",
                "ghcr.io/acme/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            )],
            Request::from_inputs,
        )
        .unwrap();
        assert_eq!(req.images.len(), 1);
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
