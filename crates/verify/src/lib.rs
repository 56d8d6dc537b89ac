//! `bitvault verify`: check an image digest's signatures and provenance in
//! its registry (referrer bundles and cosign's legacy `.sig` tag), or one
//! file's bundle, against a trusted root and an identity policy.
//!
//! A thin action over [`bitvault_sigstore::verify`]: the inputs are parsed
//! once into a typed [`Request`] (pure), verified ([`verify`]: the registry
//! reads and the checks, through [`bitvault_sigstore::verify::image`]), and
//! reported ([`image_json`], [`image_markdown`], [`file_json`],
//! [`file_markdown`]: pure renderings of the result).

use std::path::PathBuf;

use anyhow::{Result, bail};
use bitvault_runner::{ActionSpec, InputSpec, Inputs, OutputSpec, Step, command};
use bitvault_sigstore::verify::{
    self, Found, Policy, Requirements, Signer, TrustedRoot, Verification, VerifiedBundle,
    VerifyArgs, verify_file_cli,
};
use bitvault_sigstore::{RegistryAccess, Subject};
use serde_json::{Value, json};

pub static SPEC: ActionSpec = ActionSpec {
    name: "verify",
    description: "Verify Sigstore signatures and SLSA provenance of an image digest in its registry (OCI referrers and cosign's .sig tag), or a file's bundle, against a trusted root and the signer identity you expect.",
    inputs: &[
        InputSpec::optional(
            "image",
            "The image to verify, `repository@sha256:<hex>` (tags are refused).",
        ),
        InputSpec::with_default(
            "require",
            "image: what must verify, one or more of `signature`, `provenance`, `sbom` (a CycloneDX or SPDX attestation; for an index, on every platform manifest) and `vuln-scan` (a passing scan-gate attestation).",
            "signature",
        )
        .list_or_commas(),
        InputSpec::optional(
            "max-age",
            "image, with `require: vuln-scan`: the passing scan must have finished within this long (`24h`, `30m`, `7d`, `90s`).",
        ),
        InputSpec::optional(
            "bundle",
            "file: the Sigstore bundle (.sigstore.json) to verify instead of an image.",
        ),
        InputSpec::optional(
            "artifact",
            "file: the signed file, or `sha256:<hex>` for its digest.",
        ),
        InputSpec::optional(
            "certificate-identity",
            "The exact signer identity, e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/heads/main.",
        ),
        InputSpec::optional(
            "certificate-identity-regexp",
            "A regular expression the signer identity must match (unanchored, as in cosign).",
        ),
        InputSpec::optional(
            "certificate-oidc-issuer",
            "The identity's OIDC issuer, e.g. https://token.actions.githubusercontent.com.",
        ),
        InputSpec::optional(
            "source-repository",
            "The repository the signer's workflow ran in (OWNER/REPO or its URL).",
        ),
        InputSpec::optional("source-ref", "The ref it ran on, e.g. refs/heads/main."),
        InputSpec::optional(
            "workflow",
            "The workflow that signed, e.g. .github/workflows/release.yml.",
        ),
        InputSpec::optional(
            "trusted-root",
            "A trusted_root.json or ClientTrustConfig file for a private Sigstore instance; the public-good root when not set.",
        ),
        InputSpec::optional(
            "key",
            "file: verify with this PEM public key instead of a certificate identity.",
        ),
        InputSpec::optional(
            "username",
            "Registry username (otherwise Docker's config.json, or anonymous).",
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
            "verified",
            "JSON: what was verified (image and digest, or artifact; each signature and provenance with its kind, predicate type, log index and signer).",
        ),
        OutputSpec::new("identity", "The verified signer identity."),
    ],
    dynamic_outputs: &[],
    permissions: &["packages: read (for private ghcr.io images)"],
};

/// What to verify, parsed from the inputs.
#[derive(Debug, Clone)]
pub enum Request {
    /// An image digest in its registry.
    Image(ImageRequest),
    /// A file's (or a digest's) bundle.
    File(VerifyArgs),
}

/// An image to verify.
#[derive(Debug, Clone)]
pub struct ImageRequest {
    /// The image, by digest.
    pub subject: Subject,
    /// What must verify.
    pub require: Requirements,
    /// Who must have signed.
    pub policy: Policy,
    /// A custom trusted root or ClientTrustConfig; the public-good root when
    /// `None`.
    pub trusted_root: Option<PathBuf>,
    /// How to reach the registry.
    pub registry: RegistryAccess,
}

impl Request {
    /// Parse the inputs (no I/O).
    pub fn from_inputs(inputs: &Inputs) -> Result<Self> {
        let text = |n: &str| -> Result<Option<String>> { Ok(inputs.text(n)?.map(str::to_string)) };
        let args = VerifyArgs {
            bundle: text("bundle")?.unwrap_or_default().into(),
            artifact: text("artifact")?.unwrap_or_default(),
            certificate_identity: text("certificate-identity")?,
            certificate_identity_regexp: text("certificate-identity-regexp")?,
            certificate_oidc_issuer: text("certificate-oidc-issuer")?,
            source_repository: text("source-repository")?,
            source_ref: text("source-ref")?,
            workflow: text("workflow")?,
            trusted_root: text("trusted-root")?.map(Into::into),
            key: text("key")?.map(Into::into),
        };
        let image = text("image")?;
        let bundle = text("bundle")?;
        match (image, bundle) {
            (Some(_), Some(_)) => bail!(
                "give either `image` (verify an image in its registry) or `bundle` and `artifact` (verify a file), not both"
            ),
            (None, None) => bail!(
                "nothing to verify: give `image` (repository@sha256:<hex>), or `bundle` and `artifact`"
            ),
            (None, Some(_)) => {
                if args.artifact.is_empty() {
                    bail!("`bundle` needs `artifact`: the signed file, or sha256:<hex>");
                }
                Ok(Self::File(args))
            }
            (Some(image), None) => {
                let subject = Subject::parse(&image, "image")?;
                let max_age = match inputs.text("max-age")? {
                    Some(t) => Some(Requirements::parse_max_age(t)?),
                    None => None,
                };
                let require = Requirements::parse(inputs.items("require")?)?.with_max_age(max_age);
                let policy = verify::keyless_policy(&args)?;
                Ok(Self::Image(ImageRequest {
                    subject,
                    require,
                    policy,
                    trusted_root: args.trusted_root,
                    registry: RegistryAccess {
                        username: text("username")?,
                        password: text("password")?,
                        insecure_registries: inputs.items("insecure-registries")?,
                    },
                }))
            }
        }
    }
}

/// What was verified.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// An image and what its signatures prove.
    Image(Verification),
    /// A file and what its bundle proves.
    File {
        /// The `artifact` input, as given.
        artifact: String,
        /// What was proven.
        verified: Box<VerifiedBundle>,
    },
}

/// Verify what `req` asks for: the registry reads and the checks.
pub fn verify(req: &Request) -> Result<Outcome> {
    match req {
        Request::File(args) => Ok(Outcome::File {
            artifact: args.artifact.clone(),
            verified: Box::new(verify_file_cli(args)?),
        }),
        Request::Image(r) => {
            let root = match &r.trusted_root {
                Some(path) => TrustedRoot::from_file(path)?,
                None => TrustedRoot::production(),
            };
            let client = r.registry.client(std::slice::from_ref(&r.subject))?;
            let v = bitvault_http::block_on(verify::image(
                &client, &root, &r.subject, &r.policy, &r.require,
            ))?;
            Ok(Outcome::Image(v))
        }
    }
}

/// The action's entry point.
pub fn run(step: &mut Step) -> Result<()> {
    let req = Request::from_inputs(&step.inputs)?;
    let outcome = verify(&req)?;
    report(step, &outcome);
    Ok(())
}

/// Set the outputs and the step summary, and warn about each stored
/// signature that did not verify.
pub fn report(step: &mut Step, outcome: &Outcome) {
    match outcome {
        Outcome::File { artifact, verified } => {
            step.set_output("verified", file_json(artifact, verified).to_string());
            if let Signer::Certificate(c) = &verified.signer {
                step.set_output("identity", c.identity.clone());
            }
            step.summary(&file_markdown(verified));
        }
        Outcome::Image(v) => {
            for r in &v.refused {
                command::warning(&format!("{}: ignored {r}", v.subject.image()));
            }
            step.set_output("verified", image_json(v).to_string());
            step.set_output("identity", v.identity().unwrap_or_default());
            step.summary(&image_markdown(v));
        }
    }
}

fn signer_json(v: &VerifiedBundle) -> Value {
    match &v.signer {
        Signer::Certificate(c) => json!({"identity": c.identity, "issuer": c.issuer}),
        Signer::PublicKey => json!({"key": true}),
    }
}

/// The `verified` output of a file.
pub fn file_json(artifact: &str, v: &VerifiedBundle) -> Value {
    json!({
        "artifact": artifact,
        "sha256": v.artifact_sha256,
        "log-index": v.log_index,
        "predicate-type": v.statement.as_ref().map(|s| s.predicate_type.clone()),
        "signer": signer_json(v),
    })
}

/// The step summary of a file.
pub fn file_markdown(v: &VerifiedBundle) -> String {
    format!("### verify\n\n{}\n", v.summary())
}

/// The `verified` output of an image.
pub fn image_json(v: &Verification) -> Value {
    let entry = |f: &&Found| {
        json!({
            "kind": f.layout.name(),
            "predicate-type": f.predicate_type,
            "log-index": f.verified.log_index,
            "signer": signer_json(&f.verified),
        })
    };
    json!({
        "image": v.subject.image(),
        "digest": v.subject.digest.as_str(),
        "signatures": v.signatures().iter().map(entry).collect::<Vec<_>>(),
        "provenance": v.provenance().iter().map(entry).collect::<Vec<_>>(),
    })
}

/// The step summary of an image.
pub fn image_markdown(v: &Verification) -> String {
    let mut md = format!(
        "### verify\n\n`{}`\n\n| kind | predicate | rekor log index |\n|---|---|---|\n",
        v.subject.image()
    );
    for f in &v.found {
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            f.layout.name(),
            f.predicate_type,
            f.verified
                .log_index
                .map(|i| i.to_string())
                .unwrap_or_else(|| "-".into())
        ));
    }
    md.push_str(&format!(
        "\nSigner: `{}`\n",
        v.identity().unwrap_or_default()
    ));
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_read_is_declared() {
        bitvault_runner::testing::check_reads_with(
            &SPEC,
            &[
                (
                    "image",
                    "ghcr.io/acme/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                ),
                ("bundle", ""),
                ("key", ""),
                ("certificate-identity-regexp", ""),
                ("require", "signature,provenance"),
                ("max-age", "24h"),
            ],
            Request::from_inputs,
        )
        .unwrap();
        bitvault_runner::testing::check_reads_with(
            &SPEC,
            &[
                ("image", ""),
                ("key", ""),
                ("certificate-identity-regexp", ""),
                ("max-age", "24h"),
            ],
            Request::from_inputs,
        )
        .unwrap();
    }
}
