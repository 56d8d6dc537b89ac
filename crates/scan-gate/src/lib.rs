//! scan-gate: the vulnerability gate of the supply chain. Scanner reports (trivy JSON,
//! grype JSON, SARIF 2.1.0) are read into one shape, matched to the image digests they
//! describe, and judged by a policy (severities, fixes, exceptions with expiry dates,
//! OpenVEX); when every image passes, each report is attached to its digest as an OCI
//! referrer and signed as a cosign vulnerability attestation, which `verify --require
//! vuln-scan` checks at admission.
//!
//! The layers of the work:
//! - [`model`]: findings, severities, reports;
//! - [`formats`]: one reader per report format;
//! - [`exceptions`] and [`vex`]: the accepted risks;
//! - [`policy`]: the verdict (pure);
//! - [`predicate`]: the signed statement;
//! - [`action`]: inputs, registry writes, outputs and summary.

pub mod action;
pub mod exceptions;
pub mod formats;
pub mod model;
pub mod policy;
pub mod predicate;
pub mod vex;

pub use action::{SPEC, run};
