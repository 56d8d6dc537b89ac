//! The `sbom-attach` action: inputs parsed once into a [`Request`], the images
//! catalogued, the documents written, attached and attested, then outputs and the step
//! summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use bitvault_registry::{Client, ClientOptions, Digest, Repository};
use bitvault_runner::{ActionSpec, Env, InputSpec, Inputs, OutputSpec, Step, command};
use bitvault_sigstore::sign::{KeylessSigner, Services, ToSign};
use bitvault_sigstore::verify::ClientTrustConfig;
use bitvault_sigstore::{RegistryAccess, Subject as SignSubject, oci};
use serde_json::{Value, json};

use crate::attach::{CONTENT_ANNOTATION, PLATFORM_ANNOTATION, attach_once, document_artifact};
use crate::describe::{Described, describe};
use crate::documents::Format;
use crate::layers::Limits;
use crate::source::{Image, Source};

pub static SPEC: ActionSpec = ActionSpec {
    name: "sbom-attach",
    description: "Write the SBOM (CycloneDX and SPDX) of each image digest, read from its registry, attach each document as an OCI referrer of its platform manifest and sign it as an in-toto attestation.",
    inputs: &[
        InputSpec::required(
            "images",
            "Images, one `repository@sha256:<hex>` per line (an index: every platform). Tags are refused. For local runs also `oci-layout:DIR[:tag|@sha256:<hex>]` and `dir:PATH` (with `attach: false`).",
        )
        .list(),
        InputSpec::with_default("formats", "Document formats to write.", "cyclonedx,spdx")
            .list_or_commas(),
        InputSpec::with_default(
            "attest",
            "Also sign each document keylessly as an in-toto attestation (predicate types https://cyclonedx.org/bom and https://spdx.dev/Document) in a Sigstore bundle referrer; for an index on each platform manifest and on the index.",
            "true",
        )
        .boolean(),
        InputSpec::with_default(
            "attach",
            "Attach the documents to the images as OCI referrers; `false` only writes files.",
            "true",
        )
        .boolean(),
        InputSpec::optional(
            "output-dir",
            "Also write each document there as `<manifest-hex>.cdx.json` and `<manifest-hex>.spdx.json`.",
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
            "Registries (host:port) reached over plain HTTP besides loopback ones.",
        )
        .list_or_commas(),
    ],
    outputs: &[
        OutputSpec::new(
            "sboms",
            "JSON array, one entry per platform manifest: image, digest, platform, packages (count by ecosystem), referrers (format to the referrer digest of the document and of its attestation).",
        ),
        OutputSpec::new("sbom-paths", "The documents written, one path per line."),
    ],
    dynamic_outputs: &[],
    permissions: &[
        "id-token: write (when attest is true)",
        "packages: write (for ghcr.io)",
    ],
};

/// The audience Sigstore asks identity tokens for.
const AUDIENCE: &str = "sigstore";

/// What to do, parsed from the inputs (no I/O).
#[derive(Debug, Clone)]
pub struct Request {
    pub images: Vec<Source>,
    pub formats: Vec<Format>,
    pub attest: bool,
    pub attach: bool,
    pub output_dir: Option<PathBuf>,
    pub trust_config: Option<PathBuf>,
    pub fulcio_url: Option<String>,
    pub rekor_url: Option<String>,
    pub identity_token: Option<String>,
    pub registry: RegistryAccess,
}

impl Request {
    /// Parses and checks the inputs.
    pub fn from_inputs(inputs: &Inputs) -> Result<Request> {
        let text = |n: &str| -> Result<Option<String>> { Ok(inputs.text(n)?.map(str::to_owned)) };
        let given = inputs.items("images")?;
        if given.is_empty() {
            bail!("input `images`: empty; give one `repository@sha256:<hex>` per line");
        }
        let images = given
            .iter()
            .map(|s| Source::parse(s))
            .collect::<Result<Vec<_>>>()?;
        let mut formats = Vec::new();
        for f in inputs.items("formats")? {
            let Some(format) = Format::parse(&f) else {
                bail!("input `formats`: unknown format {f:?}; use `cyclonedx`, `spdx` or both");
            };
            if !formats.contains(&format) {
                formats.push(format);
            }
        }
        if formats.is_empty() {
            bail!("input `formats`: empty; use `cyclonedx`, `spdx` or both");
        }
        let attach = inputs.boolean("attach")?;
        let attest = inputs.boolean("attest")?;
        if attest && !attach {
            bail!(
                "input `attest`: attestations are attached to the image, but `attach` is false; set `attest: false` too to only write files"
            );
        }
        if attach && let Some(local) = images.iter().find(|s| !matches!(s, Source::Registry(_))) {
            bail!(
                "input `images`: {} is not in a registry, so nothing can be attached to it; set `attach: false` and `attest: false` (and `output-dir`) to write the documents only",
                local.display()
            );
        }
        Ok(Request {
            images,
            formats,
            attest,
            attach,
            output_dir: text("output-dir")?.map(PathBuf::from),
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
        let subjects: Vec<SignSubject> = self
            .images
            .iter()
            .filter_map(|s| match s {
                Source::Registry(r) => Some(r.to_string()),
                _ => None,
            })
            .map(|r| SignSubject::parse(&r, "images"))
            .collect::<Result<_>>()?;
        if subjects.is_empty() {
            return Ok(Client::new(ClientOptions::default())?);
        }
        self.registry.client(&subjects)
    }
}

/// What was attached for one platform manifest: per format, the document's referrer and
/// the attestation's, with whether each was written now.
#[derive(Debug, Clone, Default)]
pub struct Attached {
    pub documents: BTreeMap<&'static str, (Digest, bool)>,
    pub attestations: BTreeMap<&'static str, (Digest, bool)>,
    /// For an index: the attestations on the index itself.
    pub on_index: BTreeMap<&'static str, (Digest, bool)>,
}

/// One image and its platforms.
pub struct Result1 {
    pub image: Image,
    pub described: Vec<Described>,
    pub attached: Vec<Attached>,
}

pub fn run(step: &mut Step) -> Result<()> {
    let req = Request::from_inputs(&step.inputs)?;
    let client = req.client()?;
    let limits = Limits::default();
    let mut results = Vec::new();
    for source in &req.images {
        let (image, described) = describe(
            source,
            &client,
            bitvault_http::runtime().handle(),
            &req.formats,
            &limits,
        )?;
        for d in &described {
            for s in &d.skipped {
                command::warning(&format!("{}: skipped {s}", d.subject.reference));
            }
        }
        results.push(Result1 {
            attached: vec![Attached::default(); described.len()],
            image,
            described,
        });
    }
    let out_dir = match &req.output_dir {
        Some(d) => d.clone(),
        None => step
            .env
            .path("RUNNER_TEMP")
            .unwrap_or_else(std::env::temp_dir)
            .join(format!("bitvault-sbom-attach-{}", std::process::id())),
    };
    let paths = write_files(&out_dir, &results)?;
    if req.attach {
        bitvault_http::block_on(attach_all(&client, &mut results))?;
    }
    if req.attest {
        let token = identity_token(&req, &step.env)?;
        let services = req.services()?;
        bitvault_http::block_on(attest_all(&client, &services, &token, &mut results))?;
    }
    report(step, &results, &paths)
}

fn write_files(dir: &Path, results: &[Result1]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("input `output-dir`: cannot create {}", dir.display()))?;
    let mut paths = Vec::new();
    for r in results {
        for d in &r.described {
            for (format, bytes) in &d.documents {
                let path = dir.join(format!("{}.{}", d.digest.hex(), format.extension()));
                std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                paths.push(path);
            }
        }
    }
    Ok(paths)
}

fn repo_of(image: &Image) -> Option<&Repository> {
    match &image.source {
        Source::Registry(r) => Some(r.repository()),
        _ => None,
    }
}

async fn attach_all(client: &Client, results: &mut [Result1]) -> Result<()> {
    for r in results.iter_mut() {
        let Some(repo) = repo_of(&r.image).cloned() else {
            continue;
        };
        for (d, a) in r.described.iter().zip(r.attached.iter_mut()) {
            for (format, bytes) in &d.documents {
                let artifact = document_artifact(
                    *format,
                    &d.digest,
                    bytes,
                    &d.subject.created,
                    &d.platform.to_string(),
                );
                let done = attach_once(client, &repo, &d.digest, &artifact).await?;
                a.documents
                    .insert(format.name(), (done.digest, done.written));
            }
        }
    }
    Ok(())
}

/// One attestation to make: on which manifest, for which platform's document.
struct Wanted {
    repo: Repository,
    subject: Digest,
    result: usize,
    platform: usize,
    format: Format,
    on_index: bool,
    artifact_annotations: BTreeMap<String, String>,
    created: String,
}

/// The bundle referrer of `w` already attached, if any.
async fn existing_bundle(client: &Client, w: &Wanted) -> Result<Option<Digest>> {
    let refs = client
        .referrers(&w.repo, &w.subject, Some(oci::BUNDLE_MEDIA_TYPE))
        .await
        .with_context(|| format!("listing the referrers of {}@{}", w.repo, w.subject))?;
    for m in refs.manifests {
        let a = m.annotations.unwrap_or_default();
        if a.get(oci::ANNOTATION_PREDICATE_TYPE).map(String::as_str)
            == Some(w.format.predicate_type())
            && a.get(CONTENT_ANNOTATION) == w.artifact_annotations.get(CONTENT_ANNOTATION)
            && a.get(PLATFORM_ANNOTATION) == w.artifact_annotations.get(PLATFORM_ANNOTATION)
        {
            return Ok(Some(Digest::parse(&m.digest)?));
        }
    }
    Ok(None)
}

async fn attest_all(
    client: &Client,
    services: &Services,
    token: &str,
    results: &mut [Result1],
) -> Result<()> {
    let mut wanted = Vec::new();
    for (ri, r) in results.iter().enumerate() {
        let Some(repo) = repo_of(&r.image) else {
            continue;
        };
        for (pi, d) in r.described.iter().enumerate() {
            for (format, bytes) in &d.documents {
                let mut annotations = BTreeMap::new();
                annotations.insert(CONTENT_ANNOTATION.to_owned(), Digest::of(bytes).to_string());
                annotations.insert(PLATFORM_ANNOTATION.to_owned(), d.platform.to_string());
                let mut subjects = vec![(d.digest.clone(), false)];
                if r.image.is_index {
                    subjects.push((r.image.digest.clone(), true));
                }
                for (subject, on_index) in subjects {
                    wanted.push(Wanted {
                        repo: repo.clone(),
                        subject,
                        result: ri,
                        platform: pi,
                        format: *format,
                        on_index,
                        artifact_annotations: annotations.clone(),
                        created: d.subject.created.clone(),
                    });
                }
            }
        }
    }
    let mut to_sign = Vec::new();
    for w in wanted {
        match existing_bundle(client, &w).await? {
            Some(d) => record(results, &w, d, false),
            None => to_sign.push(w),
        }
    }
    if to_sign.is_empty() {
        return Ok(());
    }
    // One certificate for the whole run, however many images and platforms.
    let signer = Arc::new(
        KeylessSigner::new(services, token)
            .await
            .context("cannot start signing")?,
    );
    let items: Vec<ToSign> = to_sign
        .iter()
        .map(|w| {
            let (_, doc) = results[w.result].described[w.platform]
                .documents
                .iter()
                .find(|(f, _)| *f == w.format)
                .expect("the document exists");
            let predicate: Value = serde_json::from_slice(doc).expect("our own json");
            ToSign::new(
                format!("{}/{}", w.repo.registry(), w.repo.name()),
                w.subject.as_str(),
                w.format.predicate_type(),
                predicate,
            )
        })
        .collect();
    let bundles = signer.attest(items).await.context("signing the SBOMs")?;
    for (w, b) in to_sign.iter().zip(bundles) {
        let mut artifact =
            oci::bundle_artifact(&b.bundle_json, w.format.predicate_type(), &w.created);
        artifact.annotations.extend(w.artifact_annotations.clone());
        let attached = client
            .attach(&w.repo, &w.subject, &artifact)
            .await
            .with_context(|| format!("attaching the attestation to {}@{}", w.repo, w.subject))?;
        record(results, w, attached.digest, true);
    }
    Ok(())
}

fn record(results: &mut [Result1], w: &Wanted, digest: Digest, written: bool) {
    let a = &mut results[w.result].attached[w.platform];
    let map = if w.on_index {
        &mut a.on_index
    } else {
        &mut a.attestations
    };
    map.insert(w.format.name(), (digest, written));
}

fn identity_token(req: &Request, env: &Env) -> Result<String> {
    if let Some(token) = &req.identity_token {
        return Ok(token.clone());
    }
    if let Some(token) = env.non_empty("SIGSTORE_ID_TOKEN") {
        command::add_mask(token);
        return Ok(token.trim().to_owned());
    }
    bitvault_runner::oidc::id_token(env, AUDIENCE)
        .context("input `attest`: keyless signing needs an identity token (give `permissions: id-token: write`, or set `attest: false`)")
}

/// The `sboms` output: one entry per platform manifest.
pub fn sboms_json(results: &[Result1]) -> Value {
    let mut out = Vec::new();
    for r in results {
        for (d, a) in r.described.iter().zip(&r.attached) {
            let mut referrers = serde_json::Map::new();
            for (format, _) in &d.documents {
                let name = format.name();
                let mut entry = serde_json::Map::new();
                if let Some((dg, _)) = a.documents.get(name) {
                    entry.insert("document".into(), json!(dg.as_str()));
                }
                if let Some((dg, _)) = a.attestations.get(name) {
                    entry.insert("attestation".into(), json!(dg.as_str()));
                }
                if let Some((dg, _)) = a.on_index.get(name) {
                    entry.insert("index-attestation".into(), json!(dg.as_str()));
                }
                referrers.insert(name.into(), Value::Object(entry));
            }
            out.push(json!({
                "image": r.image.source.display(),
                "digest": d.digest.as_str(),
                "platform": d.platform.to_string(),
                "packages": d.counts(),
                "referrers": referrers,
            }));
        }
    }
    Value::Array(out)
}

/// The step summary: packages per ecosystem per platform, and what was attached.
pub fn summary(results: &[Result1]) -> String {
    let mut ecosystems: Vec<&str> = results
        .iter()
        .flat_map(|r| r.described.iter())
        .flat_map(|d| d.counts().into_keys())
        .collect();
    ecosystems.sort();
    ecosystems.dedup();
    let mut s = String::from("### SBOMs\n\n| image | platform | ");
    s.push_str(&ecosystems.join(" | "));
    s.push_str(" | total | attached |\n|---|---|");
    s.push_str(&"---:|".repeat(ecosystems.len() + 1));
    s.push_str("---|\n");
    for r in results {
        for (d, a) in r.described.iter().zip(&r.attached) {
            let counts = d.counts();
            s.push_str(&format!("| `{}` | {} |", d.subject.reference, d.platform));
            for e in &ecosystems {
                s.push_str(&format!(" {} |", counts.get(e).copied().unwrap_or(0)));
            }
            let mut attached = Vec::new();
            for (format, _) in &d.documents {
                let n = format.name();
                let show = |m: &BTreeMap<&str, (Digest, bool)>, what: &str| {
                    m.get(n).map(|(_, written)| {
                        format!(
                            "{n} {what}{}",
                            if *written { "" } else { " (already there)" }
                        )
                    })
                };
                attached.extend(show(&a.documents, "document"));
                attached.extend(show(&a.attestations, "attestation"));
                attached.extend(show(&a.on_index, "attestation on the index"));
            }
            let attached = if attached.is_empty() {
                "files only".to_owned()
            } else {
                attached.join(", ")
            };
            s.push_str(&format!(" {} | {attached} |\n", d.packages.len()));
        }
    }
    s
}

fn report(step: &mut Step, results: &[Result1], paths: &[PathBuf]) -> Result<()> {
    let written: usize = results
        .iter()
        .flat_map(|r| &r.attached)
        .map(|a| {
            a.documents
                .values()
                .chain(a.attestations.values())
                .chain(a.on_index.values())
                .filter(|(_, w)| *w)
                .count()
        })
        .sum();
    let platforms: usize = results.iter().map(|r| r.described.len()).sum();
    command::notice(&format!(
        "{platforms} platform manifest(s) described; {written} referrer(s) written"
    ));
    step.set_output("sboms", sboms_json(results).to_string());
    step.set_output(
        "sbom-paths",
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    step.summary(&summary(results));
    Ok(())
}
