//! The documents: CycloneDX 1.5 JSON (`cyclonedx-bom`) and SPDX 2.3 JSON (`spdx-rs`), one
//! of each per platform manifest. The image is the root component. The same image gives
//! the same bytes: the serial number and the document namespace come from the manifest
//! digest, the times from the image config's `created`.

use anyhow::{Context, Result};
use cyclonedx_bom::external_models::date_time::DateTime as CdxDateTime;
use cyclonedx_bom::external_models::normalized_string::NormalizedString;
use cyclonedx_bom::external_models::uri::Purl;
use cyclonedx_bom::models::bom::{Bom, UrnUuid};
use cyclonedx_bom::models::component::{Classification, Component, Components};
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::license::{LicenseChoice, Licenses};
use cyclonedx_bom::models::metadata::Metadata;
use cyclonedx_bom::models::organization::OrganizationalEntity;
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::models::tool::{Tool, Tools};
use sha2::{Digest as _, Sha256};
use spdx_rs::models as spdx_model;

use crate::catalog::{Package, encode_query};
use crate::source::{PlatformImage, Source};

/// The tool name written into documents and annotations.
pub const TOOL: &str = "bitvault-sbom-attach";
/// Its version.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
/// CycloneDX specification version written.
pub const CYCLONEDX_VERSION: &str = "1.5";
/// SPDX specification version written.
pub const SPDX_VERSION: &str = "SPDX-2.3";
/// Creation time when neither the config nor the manifest has one.
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// A document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    CycloneDx,
    Spdx,
}

impl Format {
    /// Parses `cyclonedx` or `spdx`.
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cyclonedx" | "cdx" => Some(Format::CycloneDx),
            "spdx" => Some(Format::Spdx),
            _ => None,
        }
    }

    /// `cyclonedx` or `spdx`.
    pub fn name(self) -> &'static str {
        match self {
            Format::CycloneDx => "cyclonedx",
            Format::Spdx => "spdx",
        }
    }

    /// The artifact and layer media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::CycloneDx => "application/vnd.cyclonedx+json",
            Format::Spdx => "application/spdx+json",
        }
    }

    /// The in-toto predicate type (as `cosign attest --type cyclonedx|spdxjson` writes).
    pub fn predicate_type(self) -> &'static str {
        match self {
            Format::CycloneDx => "https://cyclonedx.org/bom",
            Format::Spdx => "https://spdx.dev/Document",
        }
    }

    /// The file name suffix: `cdx.json` or `spdx.json`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::CycloneDx => "cdx.json",
            Format::Spdx => "spdx.json",
        }
    }

    /// The specification version written.
    pub fn spec_version(self) -> &'static str {
        match self {
            Format::CycloneDx => CYCLONEDX_VERSION,
            Format::Spdx => SPDX_VERSION,
        }
    }
}

/// What the documents say about the image itself.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Short name: the repository's last path segment, or the directory's name.
    pub name: String,
    /// `pkg:oci/<name>@sha256%3A<hex>?repository_url=...&arch=...`.
    pub purl: String,
    /// The reference as the user gave it, at the platform manifest's digest.
    pub reference: String,
    pub digest: String,
    /// RFC 3339.
    pub created: String,
}

impl Subject {
    /// The subject for `image` read from `source`.
    pub fn new(source: &Source, image: &PlatformImage) -> Subject {
        let (name, repository_url, reference) = match source {
            Source::Registry(r) => {
                let repo = r.repository();
                let name = repo.name().rsplit('/').next().unwrap_or(repo.name());
                (
                    name.to_owned(),
                    Some(format!("{}/{}", repo.registry(), repo.name())),
                    format!("{repo}@{}", image.digest),
                )
            }
            Source::OciLayout { dir, .. } | Source::Dir(dir) => {
                let name = std::fs::canonicalize(dir)
                    .ok()
                    .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "image".into());
                (name, None, source.display())
            }
        };
        let mut purl = format!(
            "pkg:oci/{}@sha256%3A{}",
            crate::catalog::encode(&name.to_ascii_lowercase()),
            image.digest.hex()
        );
        let mut q = Vec::new();
        if let Some(u) = &repository_url {
            q.push(format!("repository_url={}", encode_query(u)));
        }
        q.push(format!(
            "arch={}",
            encode_query(&image.platform.architecture)
        ));
        purl.push('?');
        purl.push_str(&q.join("&"));
        let created = image
            .created
            .as_deref()
            .and_then(normalise_time)
            .unwrap_or_else(|| EPOCH.to_owned());
        Subject {
            name,
            purl,
            reference,
            digest: image.digest.to_string(),
            created,
        }
    }
}

/// An RFC 3339 time in UTC with whole seconds (`2024-05-01T10:00:00Z`), as both formats
/// accept it.
fn normalise_time(t: &str) -> Option<String> {
    let parsed = chrono::DateTime::parse_from_rfc3339(t).ok()?;
    Some(
        parsed
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    )
}

/// A UUID (RFC 9562 version 8, custom) from the sha256 of `seed`.
fn uuid_from(seed: &str) -> String {
    let h = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// A license string as CycloneDX wants it: an SPDX id, an SPDX expression, or a name.
fn cdx_license(l: &str) -> LicenseChoice {
    if spdx::license_id(l).is_some() {
        return LicenseChoice::License(cyclonedx_bom::models::license::License::license_id(l));
    }
    if l.contains(' ') && spdx::Expression::parse(l).is_ok() {
        return LicenseChoice::expression(l);
    }
    LicenseChoice::license(l)
}

/// The CycloneDX 1.5 JSON document.
pub fn cyclonedx(subject: &Subject, packages: &[Package]) -> Result<Vec<u8>> {
    let root_ref = subject.purl.clone();
    let mut root = Component::new(
        Classification::Container,
        &subject.name,
        "",
        Some(root_ref.clone()),
    );
    root.version = None;
    root.purl = Some(subject.purl.parse::<Purl>().expect("infallible"));
    root.properties = Some(Properties(vec![Property::new(
        "bitvault:image:reference",
        &subject.reference,
    )]));
    let mut components = Vec::new();
    let mut refs = Vec::new();
    for p in packages {
        let mut c = Component::new(
            Classification::Library,
            &p.name,
            &p.version,
            Some(p.purl.clone()),
        );
        c.purl = Some(p.purl.parse::<Purl>().expect("infallible"));
        if !p.licenses.is_empty() {
            c.licenses = Some(Licenses(
                p.licenses.iter().map(|l| cdx_license(l)).collect(),
            ));
        }
        if let Some(s) = &p.supplier {
            c.supplier = Some(OrganizationalEntity {
                bom_ref: None,
                name: Some(NormalizedString::new(s)),
                url: None,
                contact: None,
            });
        }
        let mut props = vec![Property::new("bitvault:package:found-by", p.found_by)];
        for (i, l) in p.locations.iter().enumerate() {
            props.push(Property::new(
                format!("bitvault:location:{i}:path"),
                &l.path,
            ));
            if let Some(layer) = &l.layer {
                props.push(Property::new(
                    format!("bitvault:location:{i}:layer"),
                    layer.as_str(),
                ));
            }
        }
        c.properties = Some(Properties(props));
        refs.push(p.purl.clone());
        components.push(c);
    }
    let metadata = Metadata {
        timestamp: Some(
            CdxDateTime::try_from(subject.created.clone())
                .context("image creation time is not RFC 3339")?,
        ),
        tools: Some(Tools::List(vec![Tool::new("bitvault", TOOL, TOOL_VERSION)])),
        authors: None,
        component: Some(root),
        manufacture: None,
        supplier: None,
        licenses: None,
        properties: None,
        lifecycles: None,
    };
    let bom = Bom {
        version: 1,
        serial_number: Some(
            UrnUuid::new(format!(
                "urn:uuid:{}",
                uuid_from(&format!("cyclonedx {}", subject.digest))
            ))
            .expect("a well-formed uuid"),
        ),
        metadata: Some(metadata),
        components: Some(Components(components)),
        dependencies: Some(Dependencies(vec![Dependency {
            dependency_ref: root_ref,
            dependencies: refs,
        }])),
        ..Bom::default()
    };
    let mut out = Vec::new();
    bom.output_as_json_v1_5(&mut out)
        .map_err(|e| anyhow::anyhow!("writing CycloneDX: {e}"))?;
    // Re-serialise compactly with a trailing newline: the same bytes on every run.
    let v: serde_json::Value = serde_json::from_slice(&out)?;
    let mut bytes = serde_json::to_vec(&v)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// An SPDX identifier fragment: letters, digits, `.` and `-`.
fn spdx_id(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The SPDX 2.3 JSON document.
pub fn spdx(subject: &Subject, packages: &[Package]) -> Result<Vec<u8>> {
    use spdx_model::*;
    let created = chrono::DateTime::parse_from_rfc3339(&subject.created)
        .context("image creation time is not RFC 3339")?
        .with_timezone(&chrono::Utc);
    let mut doc = SPDX::new(&subject.name);
    doc.document_creation_information = DocumentCreationInformation {
        spdx_version: SPDX_VERSION.into(),
        data_license: "CC0-1.0".into(),
        spdx_identifier: "SPDXRef-DOCUMENT".into(),
        document_name: subject.reference.clone(),
        spdx_document_namespace: format!(
            "https://bitvault.dev/spdxdocs/{}-{}",
            spdx_id(&subject.name),
            uuid_from(&format!("spdx {}", subject.digest))
        ),
        external_document_references: Vec::new(),
        creation_info: CreationInfo {
            license_list_version: None,
            creators: vec![format!("Tool: {TOOL}-{TOOL_VERSION}")],
            created,
            creator_comment: None,
        },
        document_comment: None,
        document_describes: vec!["SPDXRef-image".into()],
    };
    let purl_ref = |purl: &str| {
        ExternalPackageReference::new(
            ExternalPackageReferenceCategory::PackageManager,
            "purl".into(),
            purl.to_owned(),
            None,
        )
    };
    let mut root = PackageInformation::new(&subject.name, &mut 0);
    root.package_spdx_identifier = "SPDXRef-image".into();
    root.package_download_location = "NOASSERTION".into();
    root.files_analyzed = Some(false);
    root.primary_package_purpose = Some(PrimaryPackagePurpose::Container);
    root.package_checksum = vec![Checksum::new(
        Algorithm::SHA256,
        subject.digest.trim_start_matches("sha256:"),
    )];
    root.external_reference = vec![purl_ref(&subject.purl)];
    let mut pkgs = vec![root];
    let mut relationships = vec![Relationship::new(
        "SPDXRef-DOCUMENT",
        "SPDXRef-image",
        RelationshipType::Describes,
        None,
    )];
    let mut extracted: Vec<OtherLicensingInformationDetected> = Vec::new();
    for (i, p) in packages.iter().enumerate() {
        let id = format!("SPDXRef-Package-{}-{}-{i}", p.ecosystem, spdx_id(&p.name));
        let mut info = PackageInformation::new(&p.name, &mut 0);
        info.package_spdx_identifier = id.clone();
        info.package_version = Some(p.version.clone()).filter(|v| !v.is_empty());
        info.package_download_location = "NOASSERTION".into();
        info.files_analyzed = Some(false);
        info.primary_package_purpose = Some(PrimaryPackagePurpose::Library);
        info.external_reference = vec![purl_ref(&p.purl)];
        info.package_supplier = p
            .supplier
            .as_ref()
            .map(|s| format!("Organization: {}", s.replace(['\n', '\r'], " ")));
        info.package_home_page = p.homepage.clone();
        let mut parts = Vec::new();
        for l in &p.licenses {
            if spdx::Expression::parse(l).is_ok() {
                parts.push(if l.contains(' ') {
                    format!("({l})")
                } else {
                    l.clone()
                });
            } else {
                let lid = format!("LicenseRef-{}", spdx_id(l));
                if !extracted.iter().any(|e| e.license_identifier == lid) {
                    extracted.push(OtherLicensingInformationDetected {
                        license_identifier: lid.clone(),
                        extracted_text: l.clone(),
                        license_name: l.clone(),
                        license_cross_reference: Vec::new(),
                        license_comment: None,
                    });
                }
                parts.push(lid);
            }
        }
        if !parts.is_empty() {
            let expr = parts.join(" AND ");
            info.declared_license = Some(
                spdx_expression::SpdxExpression::parse(&expr)
                    .with_context(|| format!("license expression {expr:?}"))?,
            );
        }
        info.package_comment = Some(
            p.locations
                .iter()
                .map(|l| match &l.layer {
                    Some(d) => format!("found at {} (layer {d})", l.path),
                    None => format!("found at {}", l.path),
                })
                .collect::<Vec<_>>()
                .join("; "),
        );
        relationships.push(Relationship::new(
            "SPDXRef-image",
            &id,
            RelationshipType::Contains,
            None,
        ));
        pkgs.push(info);
    }
    doc.package_information = pkgs;
    doc.relationships = relationships;
    doc.other_licensing_information_detected = extracted;
    let mut bytes = serde_json::to_vec(&doc)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The document of `format`.
pub fn write(format: Format, subject: &Subject, packages: &[Package]) -> Result<Vec<u8>> {
    match format {
        Format::CycloneDx => cyclonedx(subject, packages),
        Format::Spdx => spdx(subject, packages),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_and_well_formed() {
        let a = uuid_from("x");
        assert_eq!(a, uuid_from("x"));
        assert_ne!(a, uuid_from("y"));
        assert_eq!(&a[14..15], "8");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn times() {
        assert_eq!(
            normalise_time("2024-05-01T12:00:00.123456789+02:00").as_deref(),
            Some("2024-05-01T10:00:00Z")
        );
    }
}
