//! Media and predicate types shared by signing and verification.

/// The in-toto statement type.
pub const IN_TOTO_STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// cosign's predicate for a plain signature of an image (`cosign sign` with
/// attestations).
pub const COSIGN_SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";

/// SLSA provenance v1.
pub const SLSA_PROVENANCE_PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";

/// The payload type of an in-toto statement in a DSSE envelope.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// CycloneDX SBOM attestations (`cosign attest --type cyclonedx`).
pub const CYCLONEDX_PREDICATE_TYPE: &str = "https://cyclonedx.org/bom";

/// SPDX SBOM attestations (`cosign attest --type spdxjson`).
pub const SPDX_PREDICATE_TYPE: &str = "https://spdx.dev/Document";

/// cosign's vulnerability scan attestation (`cosign attest --type vuln`).
pub const VULN_PREDICATE_TYPE: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";
