//! Bundle certificate chains must not carry a root certificate.
//!
//! The bundle format says a `x509CertificateChain` holds the signing
//! certificate and, optionally, intermediates; roots come only from the
//! trusted root. `sigstore-verify` 0.15 builds the path with webpki, which
//! tolerates a stray root among the intermediates, so a bundle that ships its
//! own root still verifies there (conformance case
//! `bundle-with-root-cert_fail`). This check rejects it before verification.

use sigstore_types::bundle::VerificationMaterialContent;
use x509_cert::Certificate;
use x509_cert::der::Decode;

use super::error::VerifyError;

/// Reject a certificate chain that contains a self-issued (root) certificate.
pub(crate) fn reject_root_in_chain(
    material: &VerificationMaterialContent,
) -> Result<(), VerifyError> {
    let VerificationMaterialContent::X509CertificateChain { certificates } = material else {
        return Ok(());
    };
    for (position, entry) in certificates.iter().enumerate() {
        let cert = Certificate::from_der(entry.raw_bytes.as_bytes()).map_err(|e| {
            VerifyError::Bundle(format!(
                "certificate {position} of the chain is not valid DER: {e}"
            ))
        })?;
        let tbs = &cert.tbs_certificate;
        if tbs.subject == tbs.issuer {
            return Err(VerifyError::Bundle(format!(
                "certificate chain contains a root certificate ({}) at position {position}; a bundle must carry only the signing certificate and intermediates",
                tbs.subject
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstore_types::{DerCertificate, X509Certificate};

    fn chain_of(pems: &[&str]) -> VerificationMaterialContent {
        VerificationMaterialContent::X509CertificateChain {
            certificates: pems
                .iter()
                .map(|pem| X509Certificate::new(DerCertificate::from_pem(pem).unwrap()))
                .collect(),
        }
    }

    /// The public-good Fulcio root and intermediate, from the embedded root.
    fn fulcio_chain() -> Vec<String> {
        let root = crate::verify::trust::TrustedRoot::production();
        let ca = root.inner.certificate_authorities.last().unwrap();
        ca.cert_chain
            .certificates
            .iter()
            .map(|c| c.raw_bytes.to_pem())
            .collect()
    }

    #[test]
    fn intermediate_alone_is_accepted_and_root_is_rejected() {
        let chain = fulcio_chain();
        let (intermediate, root) = (&chain[0], &chain[chain.len() - 1]);
        reject_root_in_chain(&chain_of(&[intermediate])).unwrap();
        let err = reject_root_in_chain(&chain_of(&[intermediate, root])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bundle is invalid: certificate chain contains a root certificate (CN=sigstore,O=sigstore.dev) at position 1; a bundle must carry only the signing certificate and intermediates"
        );
    }
}
