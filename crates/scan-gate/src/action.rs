//! The `scan-gate` action: reports read and matched to the images they describe, judged
//! by the policy, then (only when every image passes) each report attached to its
//! digest and signed as a vulnerability attestation.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use bitvault_registry::{Artifact, ArtifactBlob, Client, ClientOptions, Digest, ManifestKind};
use bitvault_runner::{ActionSpec, Env, Failed, InputSpec, Inputs, OutputSpec, Step, command};
use bitvault_sigstore::sign::{KeylessSigner, Services, ToSign};
use bitvault_sigstore::verify::ClientTrustConfig;
use bitvault_sigstore::{RegistryAccess, Subject, oci};
use serde_json::{Value, json};

use crate::exceptions;
use crate::formats;
use crate::model::{Report, Severity};
use crate::policy::{Policy, Verdict, judge};
use crate::predicate::{
    CONTENT_ANNOTATION, FORMAT_ANNOTATION, REPORT_MEDIA_TYPE, SCANNER_ANNOTATION,
    VULN_PREDICATE_TYPE, predicate,
};
use crate::vex;

pub static SPEC: ActionSpec = ActionSpec {
    name: "scan-gate",
    description: "Gate on the vulnerability reports (trivy, grype, SARIF) of image digests: fail on CRITICAL/HIGH findings that have a fix unless an exception or OpenVEX statement covers them; when every image passes, attach each report to its digest and sign it as a cosign vulnerability attestation.",
    inputs: &[
        InputSpec::optional(
            "images",
            "Images, one `repository@sha256:<hex>` per line. Each needs a report (from `report` or `scanner`) describing that digest or one of its platform manifests. Tags are refused. Without images, `report` is judged alone (set `attach: false`).",
        )
        .list(),
        InputSpec::optional(
            "report",
            "Scanner reports, one path per line: `trivy image --format json`, `grype -o json`, or SARIF 2.1.0 from either. Each is matched to the image whose digest it names.",
        )
        .list(),
        InputSpec::optional(
            "scanner",
            "Run this scanner (found on PATH, e.g. set up by aquasecurity/setup-trivy) on each image digest and read its JSON, instead of `report`.",
        )
        .one_of(&["trivy", "grype"]),
        InputSpec::with_default(
            "fail-on",
            "Severities that fail the gate (`all` for every one).",
            "critical,high",
        )
        .list_or_commas(),
        InputSpec::with_default(
            "only-fixed",
            "Fail only on findings that have a fixed version (as trivy's `--ignore-unfixed`).",
            "true",
        )
        .boolean(),
        InputSpec::optional(
            "exceptions",
            "Accepted risks: a `.trivyignore` file (an id per line, optionally `exp:YYYY-MM-DD`) or YAML (`vulnerabilities:` entries with `id`, optional `package`, `reason`, `expires`). An expired exception fails the gate.",
        ),
        InputSpec::optional(
            "vex",
            "OpenVEX documents, one path per line: `not_affected` and `fixed` statements about an image's digest suppress its findings.",
        )
        .list(),
        InputSpec::optional(
            "skip-paths",
            "Paths whose findings are not considered, as globs (trivy's `--skip-dirs`/`--skip-files`); skipping the package database or `etc/os-release` skips the operating-system packages.",
        )
        .list_or_commas(),
        InputSpec::with_default(
            "attach",
            "When every image passes, attach each report to its digest as an OCI referrer.",
            "true",
        )
        .boolean(),
        InputSpec::with_default(
            "attest",
            "Also sign each attached report keylessly as an in-toto attestation with cosign's vulnerability predicate (https://cosign.sigstore.dev/attestation/vuln/v1).",
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
        OutputSpec::new("passed", "`true` when every report passes the policy."),
        OutputSpec::new(
            "results",
            "JSON array, one entry per report: image, digest, scanner, passed, counts (findings by severity), failing and suppressed findings (with reasons), expired exceptions, and the referrer digests of the report and its attestation.",
        ),
    ],
    dynamic_outputs: &[],
    permissions: &[
        "id-token: write (when attest is true)",
        "packages: write (for ghcr.io, when attach is true)",
    ],
};

/// The audience Sigstore asks identity tokens for.
const AUDIENCE: &str = "sigstore";

/// What to do, parsed from the inputs (no I/O).
#[derive(Debug, Clone)]
pub struct Request {
    pub images: Vec<Subject>,
    pub reports: Vec<PathBuf>,
    pub scanner: Option<&'static str>,
    pub fail_on: Vec<Severity>,
    pub only_fixed: bool,
    pub exceptions: Option<PathBuf>,
    pub vex: Vec<PathBuf>,
    pub skip_paths: Vec<String>,
    pub attach: bool,
    pub attest: bool,
    pub trust_config: Option<PathBuf>,
    pub fulcio_url: Option<String>,
    pub rekor_url: Option<String>,
    pub identity_token: Option<String>,
    pub registry: RegistryAccess,
}

impl Request {
    pub fn from_inputs(inputs: &Inputs) -> Result<Request> {
        let text = |n: &str| -> Result<Option<String>> { Ok(inputs.text(n)?.map(str::to_owned)) };
        let images = inputs
            .items("images")?
            .iter()
            .map(|i| Subject::parse(i, "images"))
            .collect::<Result<Vec<_>>>()?;
        let reports: Vec<PathBuf> = inputs
            .items("report")?
            .into_iter()
            .map(PathBuf::from)
            .collect();
        let scanner = inputs.choice("scanner")?;
        match (reports.is_empty(), scanner) {
            (true, None) => bail!(
                "input `report`: no report given; give the scanner's JSON or SARIF output, or `scanner: trivy|grype` to run it"
            ),
            (false, Some(s)) => {
                bail!("input `scanner`: both `report` and `scanner: {s}` given; give one")
            }
            _ => {}
        }
        if scanner.is_some() && images.is_empty() {
            bail!("input `scanner`: needs `images` to scan");
        }
        let attach = inputs.boolean("attach")?;
        let attest = inputs.boolean("attest")?;
        if attach && images.is_empty() {
            bail!(
                "input `attach`: no `images` to attach the reports to; give `images`, or set `attach: false` to judge the reports alone"
            );
        }
        if attest && !attach && !images.is_empty() {
            bail!(
                "input `attest`: attestations are attached to the image, but `attach` is false; set `attest: false` too"
            );
        }
        let fail_on = Policy::severities(&inputs.items("fail-on")?)
            .context("input `fail-on`")?
            .into_iter()
            .collect();
        Ok(Request {
            images,
            reports,
            scanner,
            fail_on,
            only_fixed: inputs.boolean("only-fixed")?,
            exceptions: text("exceptions")?.map(PathBuf::from),
            vex: inputs
                .items("vex")?
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            skip_paths: inputs.items("skip-paths")?,
            attach,
            attest: attest && attach,
            trust_config: text("trust-config")?.map(PathBuf::from),
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

    /// The policy, with its files read.
    pub fn policy(&self, today: chrono::NaiveDate) -> Result<Policy> {
        let mut policy = Policy::new(today);
        policy.fail_on = self.fail_on.iter().copied().collect();
        policy.only_fixed = self.only_fixed;
        if let Some(path) = &self.exceptions {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("input `exceptions`: cannot read {}", path.display()))?;
            policy.exceptions = exceptions::parse(&path.display().to_string(), &text)
                .context("input `exceptions`")?;
        }
        for path in &self.vex {
            let bytes = std::fs::read(path)
                .with_context(|| format!("input `vex`: cannot read {}", path.display()))?;
            policy
                .vex
                .extend(vex::parse(&path.display().to_string(), &bytes).context("input `vex`")?);
        }
        policy.skip_paths = Policy::skip(&self.skip_paths).context("input `skip-paths`")?;
        Ok(policy)
    }

    fn services(&self) -> Result<Services> {
        let mut services = match &self.trust_config {
            Some(path) => {
                let config = ClientTrustConfig::from_file(path)
                    .with_context(|| format!("input `trust-config`: {}", path.display()))?;
                Services::from_client_trust_config(&config)?
            }
            None => Services::production()?,
        };
        if let Some(url) = &self.fulcio_url {
            services.fulcio_url = url.trim_end_matches('/').to_owned();
        }
        if let Some(url) = &self.rekor_url {
            services.rekor_url = url.trim_end_matches('/').to_owned();
        }
        Ok(services)
    }

    fn client(&self) -> Result<Client> {
        if self.images.is_empty() {
            return Ok(Client::new(ClientOptions::default())?);
        }
        self.registry.client(&self.images)
    }
}

/// One report, read, matched and judged.
pub struct Judged {
    /// Where it came from (a path, or the scanner run).
    pub source: String,
    pub raw: Vec<u8>,
    pub report: Report,
    /// The image it describes and the manifest its findings are about.
    pub subject: Option<(Subject, Digest)>,
    pub verdict: Verdict,
    /// Referrer digests of the report and its attestation, with whether each was written now.
    pub report_referrer: Option<(Digest, bool)>,
    pub attestation: Option<(Digest, bool)>,
}

pub fn run(step: &mut Step) -> Result<()> {
    let req = Request::from_inputs(&step.inputs)?;
    let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    let policy = req.policy(now.date_naive())?;
    let client = req.client()?;
    // Each report: where from, its bytes, when its scan started and finished (when run here).
    let mut sources: Vec<Source> = Vec::new();
    for path in &req.reports {
        let bytes = std::fs::read(path)
            .with_context(|| format!("input `report`: cannot read {}", path.display()))?;
        sources.push((path.display().to_string(), bytes, None, None));
    }
    if let Some(scanner) = req.scanner {
        for image in &req.images {
            let started = now_rfc3339();
            let bytes = scan(scanner, &image.to_string())?;
            sources.push((
                format!("{scanner} {image}"),
                bytes,
                Some(started),
                Some(now_rfc3339()),
            ));
        }
    }
    let mut judged = Vec::new();
    let mut times = Vec::new();
    for (source, raw, started, finished) in sources {
        let report = formats::parse(&raw).with_context(|| format!("input `report`: {source}"))?;
        let subject = bitvault_http::block_on(match_image(&client, &req.images, &report))
            .with_context(|| format!("input `report`: {source}"))?;
        let digests: Vec<String> = match &subject {
            Some((image, manifest)) => {
                let mut d = vec![manifest.to_string()];
                if manifest != &image.digest {
                    d.push(image.digest.to_string());
                }
                d
            }
            None => Vec::new(),
        };
        let verdict = judge(&report, &policy, &digests);
        judged.push(Judged {
            source,
            raw,
            report,
            subject,
            verdict,
            report_referrer: None,
            attestation: None,
        });
        times.push((started, finished));
    }
    for image in &req.images {
        if !judged
            .iter()
            .any(|j| j.subject.as_ref().is_some_and(|(i, _)| i == image))
        {
            bail!(
                "input `report`: no report describes {image}; scan it by digest (`trivy image --format json {image}`) and give the report"
            );
        }
    }
    let passed = judged.iter().all(|j| j.verdict.passed);
    if passed && req.attach {
        let run_uri = run_url(&step.env);
        bitvault_http::block_on(attach_all(&client, &policy, &mut judged, &times, &run_uri))?;
        if req.attest {
            let token = identity_token(&req, &step.env)?;
            let services = req.services()?;
            bitvault_http::block_on(attest_all(
                &client,
                &services,
                &token,
                &policy,
                &mut judged,
                &times,
                &run_uri,
            ))?;
        }
    }
    step.set_output("passed", passed.to_string());
    step.set_output("results", results_json(&judged).to_string());
    step.summary(&summary(&judged, &policy));
    if !passed {
        let failing: usize = judged.iter().map(|j| j.verdict.failing.len()).sum();
        let expired: usize = judged.iter().map(|j| j.verdict.expired.len()).sum();
        let mut why = Vec::new();
        if failing > 0 {
            why.push(format!(
                "{failing} finding(s) at {} fail the policy",
                severities(&policy)
            ));
        }
        if expired > 0 {
            why.push(format!("{expired} exception(s) have expired (renew their date with a reason, or remove them)"));
        }
        for j in &judged {
            for e in &j.verdict.expired {
                command::error(&format!(
                    "the exception for {} ({}) expired on {}; renew it with a new date and reason, or remove it",
                    e.id,
                    e.source,
                    e.expires.map(|d| d.to_string()).unwrap_or_default()
                ));
            }
        }
        let attached = if req.attach {
            "; nothing was attached"
        } else {
            ""
        };
        return Err(Failed(format!(
            "the vulnerability gate failed: {}{attached}",
            why.join(", ")
        ))
        .into());
    }
    Ok(())
}

fn severities(policy: &Policy) -> String {
    let mut s: Vec<&str> = policy.fail_on.iter().rev().map(|s| s.name()).collect();
    s.dedup();
    let fixed = if policy.only_fixed { " with a fix" } else { "" };
    format!("{}{fixed}", s.join("/"))
}

fn now_rfc3339() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The workflow run, as a URL, when under the runner.
fn run_url(env: &Env) -> String {
    match (
        env.non_empty("GITHUB_SERVER_URL"),
        env.non_empty("GITHUB_REPOSITORY"),
        env.non_empty("GITHUB_RUN_ID"),
    ) {
        (Some(s), Some(r), Some(id)) => format!("{s}/{r}/actions/runs/{id}"),
        _ => String::new(),
    }
}

/// Runs `scanner` on `image` and returns its JSON report.
fn scan(scanner: &str, image: &str) -> Result<Vec<u8>> {
    let mut cmd = Command::new(scanner);
    match scanner {
        "trivy" => cmd.args(["image", "--format", "json", "--quiet", "--", image]),
        _ => cmd.args(["-o", "json", "-q", "--", image]),
    };
    let out = cmd.output().map_err(|e| {
        anyhow::anyhow!(
            "input `scanner`: cannot run `{scanner}` ({e}); install it first (e.g. aquasecurity/setup-trivy or anchore/scan-action/download-grype), or give `report`"
        )
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: String = stderr
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        bail!(
            "input `scanner`: `{scanner}` failed on {image} ({}):\n{tail}",
            out.status
        );
    }
    Ok(out.stdout)
}

/// The image (and the manifest) `report` describes: its digest is an image's, or a
/// platform manifest of an image index's. With no images, `None`.
async fn match_image(
    client: &Client,
    images: &[Subject],
    report: &Report,
) -> Result<Option<(Subject, Digest)>> {
    if images.is_empty() {
        return Ok(None);
    }
    if report.digests.is_empty() {
        bail!(
            "the report does not name the digest it describes ({}); scan the image by digest (`repository@sha256:<hex>`) so the report can be matched",
            report.artifact.as_deref().unwrap_or("no artifact name")
        );
    }
    for image in images {
        if report.digests.iter().any(|d| d == image.digest.as_str()) {
            return Ok(Some((image.clone(), image.digest.clone())));
        }
    }
    for image in images {
        let m = client
            .get_manifest(&image.repo, &image.digest)
            .await
            .with_context(|| format!("reading {image}"))?;
        if let ManifestKind::Index(index) = &m.kind {
            for p in &index.manifests {
                if report.digests.contains(&p.digest) {
                    return Ok(Some((image.clone(), Digest::parse(&p.digest)?)));
                }
            }
        }
    }
    bail!(
        "the report describes {}, which is none of the images given ({}); give the report of each image's own digest",
        report.digests.join(", "),
        images
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn artifact_of(j: &Judged) -> Artifact {
    let mut annotations = BTreeMap::new();
    annotations.insert(
        CONTENT_ANNOTATION.to_owned(),
        Digest::of(&j.raw).to_string(),
    );
    annotations.insert(
        FORMAT_ANNOTATION.to_owned(),
        j.report.format.name().to_owned(),
    );
    annotations.insert(
        SCANNER_ANNOTATION.to_owned(),
        format!("{} {}", j.report.scanner.name, j.report.scanner.version),
    );
    if let Some(created) = &j.report.created {
        annotations.insert(oci::ANNOTATION_CREATED.to_owned(), created.clone());
    }
    let mut layer = BTreeMap::new();
    layer.insert(
        "org.opencontainers.image.title".to_owned(),
        format!("{}.{}.json", j.report.scanner.name, j.report.format.name()),
    );
    Artifact {
        artifact_type: REPORT_MEDIA_TYPE.to_owned(),
        blobs: vec![ArtifactBlob {
            media_type: REPORT_MEDIA_TYPE.to_owned(),
            data: j.raw.clone(),
            annotations: layer,
        }],
        annotations,
    }
}

/// The referrer of `subject` with `artifact_type` and the same content annotation.
async fn existing(
    client: &Client,
    image: &Subject,
    subject: &Digest,
    artifact_type: &str,
    content: &str,
) -> Result<Option<Digest>> {
    let refs = client
        .referrers(&image.repo, subject, Some(artifact_type))
        .await
        .with_context(|| format!("listing the referrers of {}@{subject}", image.repo))?;
    for m in refs.manifests {
        let a = m.annotations.unwrap_or_default();
        if a.get(CONTENT_ANNOTATION).map(String::as_str) == Some(content)
            && (artifact_type != oci::BUNDLE_MEDIA_TYPE
                || a.get(oci::ANNOTATION_PREDICATE_TYPE).map(String::as_str)
                    == Some(VULN_PREDICATE_TYPE))
        {
            return Ok(Some(Digest::parse(&m.digest)?));
        }
    }
    Ok(None)
}

type Times = [(Option<String>, Option<String>)];

/// A report's origin, bytes, and scan start and finish when the scan ran here.
type Source = (String, Vec<u8>, Option<String>, Option<String>);

async fn attach_all(
    client: &Client,
    _policy: &Policy,
    judged: &mut [Judged],
    _times: &Times,
    _run: &str,
) -> Result<()> {
    for j in judged.iter_mut() {
        let Some((image, manifest)) = j.subject.clone() else {
            continue;
        };
        let artifact = artifact_of(j);
        let content = Digest::of(&j.raw).to_string();
        if let Some(d) = existing(client, &image, &manifest, REPORT_MEDIA_TYPE, &content).await? {
            j.report_referrer = Some((d, false));
            continue;
        }
        let attached = client
            .attach(&image.repo, &manifest, &artifact)
            .await
            .with_context(|| format!("attaching the report to {}@{manifest}", image.repo))?;
        j.report_referrer = Some((attached.digest, true));
    }
    Ok(())
}

async fn attest_all(
    client: &Client,
    services: &Services,
    token: &str,
    policy: &Policy,
    judged: &mut [Judged],
    times: &Times,
    run: &str,
) -> Result<()> {
    let mut to_sign = Vec::new();
    for (i, j) in judged.iter_mut().enumerate() {
        let Some((image, manifest)) = j.subject.clone() else {
            continue;
        };
        let content = Digest::of(&j.raw).to_string();
        match existing(client, &image, &manifest, oci::BUNDLE_MEDIA_TYPE, &content).await? {
            Some(d) => j.attestation = Some((d, false)),
            None => to_sign.push(i),
        }
    }
    if to_sign.is_empty() {
        return Ok(());
    }
    // One certificate for the whole run, however many images.
    let signer = KeylessSigner::new(services, token)
        .await
        .context("cannot start signing")?;
    let now = now_rfc3339();
    let items: Vec<ToSign> = to_sign
        .iter()
        .map(|&i| {
            let j = &judged[i];
            let (image, manifest) = j.subject.as_ref().expect("matched");
            let raw: Value = serde_json::from_slice(&j.raw).unwrap_or(Value::Null);
            let (started, finished) = &times[i];
            let finished = finished
                .clone()
                .or_else(|| j.report.created.clone())
                .unwrap_or_else(|| now.clone());
            let p = predicate(
                &j.report,
                &raw,
                policy,
                &j.verdict,
                started.as_deref(),
                Some(&finished),
                run,
            );
            ToSign::new(
                format!("{}/{}", image.repo.registry(), image.repo.name()),
                manifest.as_str(),
                VULN_PREDICATE_TYPE,
                p,
            )
        })
        .collect();
    let bundles = signer
        .attest(items)
        .await
        .context("signing the scan reports")?;
    for (&i, b) in to_sign.iter().zip(bundles) {
        let j = &mut judged[i];
        let (image, manifest) = j.subject.clone().expect("matched");
        let created = j.report.created.clone().unwrap_or_else(|| now.clone());
        let mut artifact = oci::bundle_artifact(&b.bundle_json, VULN_PREDICATE_TYPE, &created);
        artifact.annotations.insert(
            CONTENT_ANNOTATION.to_owned(),
            Digest::of(&j.raw).to_string(),
        );
        let attached = client
            .attach(&image.repo, &manifest, &artifact)
            .await
            .with_context(|| format!("attaching the attestation to {}@{manifest}", image.repo))?;
        j.attestation = Some((attached.digest, true));
    }
    Ok(())
}

fn identity_token(req: &Request, env: &Env) -> Result<String> {
    if let Some(token) = &req.identity_token {
        return Ok(token.clone());
    }
    if let Some(token) = env.non_empty("SIGSTORE_ID_TOKEN") {
        command::add_mask(token);
        return Ok(token.trim().to_owned());
    }
    bitvault_runner::oidc::id_token(env, AUDIENCE).context(
        "input `attest`: keyless signing needs an identity token (give `permissions: id-token: write`, or set `attest: false`)",
    )
}

/// The `results` output.
pub fn results_json(judged: &[Judged]) -> Value {
    Value::Array(
        judged
            .iter()
            .map(|j| {
                let counts: serde_json::Map<String, Value> = j
                    .verdict
                    .counts
                    .iter()
                    .map(|(s, n)| (s.name().to_owned(), json!(n)))
                    .collect();
                json!({
                    "report": j.source,
                    "image": j.subject.as_ref().map(|(i, _)| i.to_string()),
                    "digest": j.subject.as_ref().map(|(_, d)| d.to_string()).or_else(|| j.report.digests.first().cloned()),
                    "scanner": format!("{} {}", j.report.scanner.name, j.report.scanner.version),
                    "format": j.report.format.name(),
                    "passed": j.verdict.passed,
                    "counts": counts,
                    "unfixed": j.verdict.unfixed,
                    "failing": j.verdict.failing,
                    "suppressed": j.verdict.suppressed,
                    "expired": j.verdict.expired,
                    "referrers": {
                        "report": j.report_referrer.as_ref().map(|(d, _)| d.to_string()),
                        "attestation": j.attestation.as_ref().map(|(d, _)| d.to_string()),
                    },
                })
            })
            .collect(),
    )
}

/// Escapes `|` and line breaks for a Markdown table cell.
fn cell(text: &str) -> String {
    command::neutralize(&text.replace('|', "\\|").replace(['\n', '\r'], " "))
}

/// The step summary: a table per report.
pub fn summary(judged: &[Judged], policy: &Policy) -> String {
    let mut md = String::from("### Vulnerability gate\n\n");
    md.push_str(&format!("Fails on {}.\n\n", severities(policy)));
    for j in judged {
        let what = j
            .subject
            .as_ref()
            .map(|(i, d)| {
                if *d == i.digest {
                    i.to_string()
                } else {
                    format!("{i} (platform {d})")
                }
            })
            .unwrap_or_else(|| j.source.clone());
        let verdict = if j.verdict.passed {
            "passed"
        } else {
            "**failed**"
        };
        md.push_str(&format!(
            "#### `{}`: {verdict}\n\n{} {}; ",
            cell(&what),
            cell(&j.report.scanner.name),
            cell(&j.report.scanner.version)
        ));
        let counts: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|s| j.verdict.counts.get(s).map(|n| format!("{n} {s}")))
            .collect();
        md.push_str(&if counts.is_empty() {
            "no findings".to_owned()
        } else {
            counts.join(", ")
        });
        if j.verdict.unfixed > 0 {
            md.push_str(&format!(
                "; {} without a fix not counted",
                j.verdict.unfixed
            ));
        }
        md.push_str(".\n\n");
        if !j.verdict.failing.is_empty() {
            md.push_str("| id | package | installed | fixed | severity |\n|---|---|---|---|---|\n");
            for f in &j.verdict.failing {
                let id = match &f.url {
                    Some(u) if u.starts_with("https://") => {
                        format!("[{}]({})", cell(&f.id), cell(u))
                    }
                    _ => cell(&f.id),
                };
                md.push_str(&format!(
                    "| {id} | {} | {} | {} | {} |\n",
                    cell(&f.package),
                    cell(&f.installed),
                    cell(f.fixed.as_deref().unwrap_or("")),
                    f.severity
                ));
            }
            md.push('\n');
        }
        if !j.verdict.suppressed.is_empty() {
            md.push_str("Suppressed:\n\n| id | package | by | reason |\n|---|---|---|---|\n");
            for s in &j.verdict.suppressed {
                md.push_str(&format!(
                    "| {} | {} | {} | {} ({}) |\n",
                    cell(&s.finding.id),
                    cell(&s.finding.package),
                    s.by,
                    cell(&s.reason),
                    cell(&s.source)
                ));
            }
            md.push('\n');
        }
        for e in &j.verdict.expired {
            md.push_str(&format!(
                "Expired exception: {} ({}), ended {}.\n\n",
                cell(&e.id),
                cell(&e.source),
                e.expires.map(|d| d.to_string()).unwrap_or_default()
            ));
        }
        if let Some((d, written)) = &j.report_referrer {
            md.push_str(&format!(
                "Report attached as `{d}`{}.\n",
                if *written { "" } else { " (already there)" }
            ));
        }
        if let Some((d, written)) = &j.attestation {
            md.push_str(&format!(
                "Signed attestation `{d}`{}.\n",
                if *written { "" } else { " (already there)" }
            ));
        }
        md.push('\n');
    }
    md
}
