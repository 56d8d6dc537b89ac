//! OpenVEX documents: a `not_affected` or `fixed` statement about a vulnerability in a
//! product (the image, named by its digest) suppresses the matching findings.

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;

use crate::model::Finding;

/// The largest VEX document read.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// One statement that suppresses findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub vulnerability: String,
    /// Other names of the vulnerability.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// `not_affected` or `fixed`.
    pub status: String,
    /// Product ids (purls, references) the statement is about.
    pub products: Vec<String>,
    /// Packages within the product, when the statement names them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subcomponents: Vec<String>,
    /// The justification or impact statement.
    pub reason: String,
    /// Where it was read (`file: statement n`).
    pub source: String,
}

impl Statement {
    /// Whether the statement is about one of `digests` (`sha256:<hex>`).
    pub fn about(&self, digests: &[String]) -> bool {
        self.products.iter().any(|p| {
            let p = p.replace("%3A", ":").replace("%3a", ":");
            digests.iter().any(|d| p.contains(d.as_str()))
        })
    }

    /// Whether it suppresses `f` of the image named by `digests`: the statement is about
    /// the image (a product naming its digest) and covers the finding, or (as trivy reads
    /// OpenVEX) a product is the finding's package purl itself.
    pub fn applies(&self, digests: &[String], f: &Finding) -> bool {
        let package_product = f.purl.as_deref().is_some_and(|purl| {
            self.products.iter().any(|p| {
                p == purl
                    || (p.starts_with("pkg:")
                        && !p.starts_with("pkg:oci/")
                        && strip(p) == strip(purl)
                        && !p.contains('@'))
            })
        });
        (self.about(digests) || package_product) && self.covers(f)
    }

    /// Whether it covers `f` (by vulnerability, and subcomponent when named).
    pub fn covers(&self, f: &Finding) -> bool {
        let names = std::iter::once(&self.vulnerability).chain(&self.aliases);
        let id = names.into_iter().any(|n| {
            n.eq_ignore_ascii_case(&f.id) || f.aliases.iter().any(|a| a.eq_ignore_ascii_case(n))
        });
        id && (self.subcomponents.is_empty()
            || self.subcomponents.iter().any(|s| {
                s == &f.package
                    || f.purl
                        .as_deref()
                        .is_some_and(|purl| purl == s || strip(purl) == strip(s))
            }))
    }
}

/// A purl without its version and qualifiers.
fn strip(purl: &str) -> &str {
    purl.split(['@', '?']).next().unwrap_or(purl)
}

/// The statements of an OpenVEX document that suppress findings.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Vec<Statement>> {
    if bytes.len() > MAX_BYTES {
        bail!("{name}: more than the {MAX_BYTES}-byte limit for a VEX document");
    }
    let doc: Value = serde_json::from_slice(bytes).with_context(|| format!("{name}: not JSON"))?;
    let context = doc
        .get("@context")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !context.starts_with("https://openvex.dev/ns") {
        bail!("{name}: not an OpenVEX document (its `@context` is not https://openvex.dev/ns/...)");
    }
    let mut out = Vec::new();
    for (i, s) in doc
        .get("statements")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("{name}: statement {}", i + 1);
        let status = s.get("status").and_then(Value::as_str).unwrap_or_default();
        if !matches!(
            status,
            "not_affected" | "fixed" | "affected" | "under_investigation"
        ) {
            bail!(
                "{at}: status `{status}` is not one of not_affected, affected, fixed, under_investigation"
            );
        }
        if status != "not_affected" && status != "fixed" {
            continue;
        }
        let (vulnerability, aliases) = match s.get("vulnerability") {
            Some(Value::String(v)) => (v.clone(), Vec::new()),
            Some(v @ Value::Object(_)) => {
                let name = v
                    .get("name")
                    .or_else(|| v.get("@id"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let aliases = v
                    .get("aliases")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect();
                (name, aliases)
            }
            _ => bail!("{at}: has no vulnerability"),
        };
        if vulnerability.is_empty() {
            bail!("{at}: the vulnerability has no name");
        }
        let ids = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|p| match p {
                    Value::String(s) => vec![s.clone()],
                    Value::Object(o) => {
                        let mut ids: Vec<String> = o
                            .get("@id")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .into_iter()
                            .collect();
                        if let Some(Value::Object(idents)) = o.get("identifiers") {
                            ids.extend(
                                idents
                                    .values()
                                    .filter_map(|v| v.as_str().map(str::to_owned)),
                            );
                        }
                        ids
                    }
                    _ => Vec::new(),
                })
                .collect()
        };
        let products = ids(s.get("products"));
        let mut subcomponents = ids(s.get("subcomponents"));
        for p in s
            .get("products")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            subcomponents.extend(ids(p.get("subcomponents")));
        }
        if products.is_empty() {
            bail!("{at}: names no products; a statement must say which image digest it is about");
        }
        let reason = s
            .get("justification")
            .or_else(|| s.get("impact_statement"))
            .or_else(|| s.get("status_notes"))
            .and_then(Value::as_str)
            .unwrap_or(status)
            .to_owned();
        out.push(Statement {
            vulnerability,
            aliases,
            status: status.to_owned(),
            products,
            subcomponents,
            reason,
            source: at,
        });
    }
    Ok(out)
}
