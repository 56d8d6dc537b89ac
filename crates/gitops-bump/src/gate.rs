//! The signature gate: before gitops-bump writes a digest, it verifies it in its
//! registry with the verifier of `bitvault verify`, against the gate's inputs.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use bitvault_runner::command;

use crate::request::Request;

/// The signature gate: verify each image (`repository@sha256:...`) in its
/// registry with [`bitvault_sigstore::verify::image`], against the policy
/// and requirements of the gate inputs (named as `verify`'s). Returns a line
/// for the PR body.
pub fn verify_signatures(inputs: &bitvault_runner::Inputs, images: &[String]) -> Result<String> {
    use bitvault_sigstore::verify::{self, PolicyOptions, Requirements, TrustedRoot};
    use bitvault_sigstore::{RegistryAccess, Subject};
    let text = |n: &str| -> Result<Option<String>> { Ok(inputs.text(n)?.map(str::to_string)) };
    let policy = PolicyOptions {
        certificate_identity: text("certificate-identity")?,
        certificate_identity_regexp: text("certificate-identity-regexp")?,
        certificate_oidc_issuer: text("certificate-oidc-issuer")?,
        source_repository: text("source-repository")?,
        source_ref: text("source-ref")?,
        workflow: text("workflow")?,
    }
    .policy()?;
    let max_age = match text("max-age")? {
        Some(t) => Some(Requirements::parse_max_age(&t)?),
        None => None,
    };
    let require = Requirements::parse(inputs.items("require")?)?.with_max_age(max_age);
    let root = match text("trusted-root")? {
        Some(path) => TrustedRoot::from_file(Path::new(&path))?,
        None => TrustedRoot::production(),
    };
    let subjects = images
        .iter()
        .map(|i| Subject::parse(i, "image-repository"))
        .collect::<Result<Vec<_>>>()?;
    let registry = RegistryAccess {
        insecure_registries: inputs.items("insecure-registries")?,
        ..RegistryAccess::default()
    };
    let client = registry.client(&subjects)?;
    let verified = require
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(" and ");
    let mut lines = Vec::new();
    for s in &subjects {
        let v = bitvault_http::block_on(verify::image(&client, &root, s, &policy, &require))
            .with_context(|| format!("the signature gate refused {s}"))?;
        for r in &v.refused {
            command::warning(&format!("{s}: ignored {r}"));
        }
        lines.push(format!(
            "`{s}`: {verified} verified, signed by `{}`",
            v.identity().unwrap_or_default()
        ));
    }
    Ok(lines.join("; "))
}

/// The signature gate: what must verify for each digest about to be written. A bump
/// is checked before anything is read from GitHub; a promotion or rollback as soon as
/// its digests are known (read from the other environment or the file's history),
/// before any write.
pub struct Gate {
    /// The gate's inputs (named as `verify`'s); `None` when `require-signature` is off.
    inputs: Option<bitvault_runner::Inputs>,
    /// The registry repository of each image, in the request's order.
    repos: Vec<String>,
    /// The last digests checked and the verification line they gave.
    checked: Option<(Vec<String>, String)>,
}

impl Gate {
    /// The gate of `req`, its inputs checked (no network yet).
    pub fn from_inputs(inputs: &bitvault_runner::Inputs, req: &Request) -> Result<Gate> {
        if !inputs.bool("require-signature")? {
            return Ok(Gate {
                inputs: None,
                repos: Vec::new(),
                checked: None,
            });
        }
        let images = req.images().len();
        let repos = inputs.items("image-repository")?;
        if repos.len() != images {
            bail!(
                "`require-signature: true` needs `image-repository`: the registry repository of each image ({} given for {} images), so the digest can be verified where it is stored",
                repos.len(),
                images
            );
        }
        if inputs.text("certificate-identity")?.is_none()
            && inputs.text("certificate-identity-regexp")?.is_none()
        {
            bail!(
                "`require-signature: true` needs `certificate-identity` or `certificate-identity-regexp`, and `certificate-oidc-issuer`: whose signature to accept"
            );
        }
        Ok(Gate {
            inputs: Some(inputs.clone()),
            repos,
            checked: None,
        })
    }

    /// Verifies each digest (paired with the images in order) and returns the line for
    /// the pull request body; the same digests are verified once.
    pub fn check(&mut self, digests: &[String]) -> Result<String> {
        let Some(inputs) = &self.inputs else {
            return Ok("not checked (`require-signature: false`)".to_string());
        };
        if let Some((done, line)) = &self.checked
            && done == digests
        {
            return Ok(line.clone());
        }
        let refs: Vec<String> = self
            .repos
            .iter()
            .zip(digests)
            .map(|(repo, digest)| format!("{repo}@{digest}"))
            .collect();
        let line = verify_signatures(inputs, &refs)?;
        self.checked = Some((digests.to_vec(), line.clone()));
        Ok(line)
    }
}
