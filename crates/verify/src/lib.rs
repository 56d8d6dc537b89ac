//! `bitvault verify`: check an image digest's signatures and provenance in
//! its registry (referrer bundles and cosign's legacy `.sig` tag), or one
//! file's bundle, against a trusted root and an identity policy.

use anyhow::{Context as _, Result, bail};
use bitvault_runner::{ActionSpec, InputSpec, OutputSpec, Step};
use serde_json::{Value, json};

use crate::action::{parse_digest_reference, registry_client};
use crate::oci;
use crate::sign::{COSIGN_SIGN_PREDICATE_TYPE, SLSA_PROVENANCE_PREDICATE_TYPE};
use crate::verify::{
    Artifact, Signer, TrustedRoot, VerifiedBundle, VerifyArgs, keyless_policy, verify_artifact,
    verify_file_cli,
};

pub static VERIFY_SPEC: ActionSpec = ActionSpec {
    name: "verify",
    description: "Verify Sigstore signatures and SLSA provenance of an image digest in its registry (OCI referrers and cosign's .sig tag), or a file's bundle, against a trusted root and the signer identity you expect.",
    inputs: &[
        InputSpec::optional(
            "image",
            "The image to verify, `repository@sha256:<hex>` (tags are refused).",
        ),
        InputSpec::with_default(
            "require",
            "image: what must verify: `signature`, `provenance`, or `signature,provenance`.",
            "signature",
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
            "Registries (host:port) reached over plain HTTP besides loopback ones, one per line.",
        ),
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

fn args(step: &Step) -> VerifyArgs {
    let get = |n: &str| step.inputs.get(n).map(str::to_string);
    VerifyArgs {
        bundle: get("bundle").unwrap_or_default().into(),
        artifact: get("artifact").unwrap_or_default(),
        certificate_identity: get("certificate-identity"),
        certificate_identity_regexp: get("certificate-identity-regexp"),
        certificate_oidc_issuer: get("certificate-oidc-issuer"),
        source_repository: get("source-repository"),
        source_ref: get("source-ref"),
        workflow: get("workflow"),
        trusted_root: get("trusted-root").map(Into::into),
        key: get("key").map(Into::into),
    }
}

fn signer_json(v: &VerifiedBundle) -> Value {
    match &v.signer {
        Signer::Certificate(c) => json!({"identity": c.identity, "issuer": c.issuer}),
        Signer::PublicKey => json!({"key": true}),
    }
}

pub fn run_verify(step: &mut Step) -> Result<()> {
    let args = args(step);
    match (step.inputs.get("image"), step.inputs.get("bundle")) {
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
            let v = verify_file_cli(&args)?;
            step.set_output(
                "verified",
                json!({
                    "artifact": args.artifact,
                    "sha256": v.artifact_sha256,
                    "log-index": v.log_index,
                    "predicate-type": v.statement.as_ref().map(|s| s.predicate_type.clone()),
                    "signer": signer_json(&v),
                })
                .to_string(),
            );
            if let Signer::Certificate(c) = &v.signer {
                step.set_output("identity", c.identity.clone());
            }
            step.summary(&format!("### verify\n\n{}\n", v.summary()));
            Ok(())
        }
        (Some(image), None) => {
            let image = image.to_string();
            verify_image(step, &image, &args)
        }
    }
}

#[derive(Debug)]
struct Found {
    kind: &'static str,
    predicate_type: String,
    verified: VerifiedBundle,
}

fn verify_image(step: &mut Step, image: &str, args: &VerifyArgs) -> Result<()> {
    let subject = parse_digest_reference(image, "image")?;
    let require = step.inputs.list("require", true);
    let mut need_signature = false;
    let mut need_provenance = false;
    for r in &require {
        match r.as_str() {
            "signature" => need_signature = true,
            "provenance" => need_provenance = true,
            other => {
                bail!("`require`: {other:?} is not one of signature, provenance (comma-separated)")
            }
        }
    }
    let policy = keyless_policy(args)?;
    let root = match &args.trusted_root {
        Some(path) => TrustedRoot::from_file(path)?,
        None => TrustedRoot::production(),
    };
    let client = registry_client(step, std::slice::from_ref(&subject))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (bundles, legacy) = rt.block_on(async {
        let bundles = oci::read_bundles(&client, &subject.repo, &subject.digest, None).await?;
        let legacy = oci::read_legacy(&client, &subject.repo, &subject.digest).await?;
        Ok::<_, anyhow::Error>((bundles, legacy))
    })?;

    let mut found: Vec<Found> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for b in &bundles {
        match verify_artifact(
            &b.json,
            Artifact::Digest(subject.digest.hex()),
            &policy,
            &root,
        ) {
            Ok(v) => {
                let predicate_type = v
                    .statement
                    .as_ref()
                    .map(|s| s.predicate_type.clone())
                    .unwrap_or_default();
                found.push(Found {
                    kind: "bundle",
                    predicate_type,
                    verified: v,
                });
            }
            Err(e) => refused.push(format!("referrer {}: {e}", b.manifest)),
        }
    }
    let legacy_layers = legacy.map(|(_, l)| l).unwrap_or_default();
    for (n, layer) in legacy_layers.iter().enumerate() {
        let checked = layer.to_bundle_json().and_then(|bundle| {
            let v = verify_artifact(
                bundle.as_bytes(),
                Artifact::Bytes(&layer.payload),
                &policy,
                &root,
            )?;
            let payload: Value = serde_json::from_slice(&layer.payload)
                .context("the simple-signing payload is not JSON")?;
            let signed = payload["critical"]["image"]["docker-manifest-digest"]
                .as_str()
                .unwrap_or_default();
            if signed != subject.digest.as_str() {
                bail!("it signs {signed}, not {}", subject.digest);
            }
            Ok(v)
        });
        match checked {
            Ok(v) => found.push(Found {
                kind: "legacy",
                predicate_type: COSIGN_SIGN_PREDICATE_TYPE.into(),
                verified: v,
            }),
            Err(e) => refused.push(format!(
                "{} layer {n}: {e:#}",
                oci::legacy_tag(&subject.digest)
            )),
        }
    }

    let signatures: Vec<&Found> = found
        .iter()
        .filter(|f| f.predicate_type == COSIGN_SIGN_PREDICATE_TYPE)
        .collect();
    let provenance: Vec<&Found> = found
        .iter()
        .filter(|f| f.predicate_type == SLSA_PROVENANCE_PREDICATE_TYPE)
        .collect();
    let why = || {
        let seen = bundles.len() + legacy_layers.len();
        if seen == 0 {
            format!(
                "no signature was found: {} has no Sigstore bundle referrers and no {} tag",
                subject.image(),
                oci::legacy_tag(&subject.digest)
            )
        } else if refused.is_empty() {
            format!(
                "{seen} signature(s) found, all verified, none of the required kind: {}",
                found
                    .iter()
                    .map(|f| format!("{} ({})", f.predicate_type, f.kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!("{seen} signature(s) found; refused: {}", refused.join("; "))
        }
    };
    if need_signature && signatures.is_empty() {
        bail!(
            "{}: no verified signature for {}; {}",
            subject.image(),
            policy.identity,
            why()
        );
    }
    if need_provenance && provenance.is_empty() {
        bail!(
            "{}: no verified SLSA provenance ({SLSA_PROVENANCE_PREDICATE_TYPE}) for {}; {}",
            subject.image(),
            policy.identity,
            why()
        );
    }
    for r in &refused {
        bitvault_runner::command::warning(&format!("{}: ignored {r}", subject.image()));
    }
    let entry = |f: &&Found| {
        json!({
            "kind": f.kind,
            "predicate-type": f.predicate_type,
            "log-index": f.verified.log_index,
            "signer": signer_json(&f.verified),
        })
    };
    let verified = json!({
        "image": subject.image(),
        "digest": subject.digest.as_str(),
        "signatures": signatures.iter().map(entry).collect::<Vec<_>>(),
        "provenance": provenance.iter().map(entry).collect::<Vec<_>>(),
    });
    step.set_output("verified", verified.to_string());
    let identity = found
        .first()
        .and_then(|f| match &f.verified.signer {
            Signer::Certificate(c) => Some(c.identity.clone()),
            Signer::PublicKey => None,
        })
        .unwrap_or_default();
    step.set_output("identity", identity.clone());
    let mut md = format!(
        "### verify\n\n`{}`\n\n| kind | predicate | rekor log index |\n|---|---|---|\n",
        subject.image()
    );
    for f in &found {
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            f.kind,
            f.predicate_type,
            f.verified
                .log_index
                .map(|i| i.to_string())
                .unwrap_or_else(|| "-".into())
        ));
    }
    md.push_str(&format!("\nSigner: `{identity}`\n"));
    step.summary(&md);
    Ok(())
}
