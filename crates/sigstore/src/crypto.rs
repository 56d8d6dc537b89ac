//! A pure-Rust [`CryptoProvider`] for the `sigstore-*` crates.
//!
//! `sigstore-crypto` ships one built-in backend, `aws-lc-rs`, which builds a C
//! library (`aws-lc-sys`) into every binary that verifies a bundle. We turn that
//! feature off and plug the RustCrypto implementations in instead (`p256`,
//! `p384`, `ed25519-dalek`, `rsa`, `sha2`), the same family the `x509-cert` and
//! `der` crates sigstore already uses come from. The provider only verifies; it
//! holds no keys and signs nothing.
//!
//! `ring`, which the workspace already links for TLS, cannot be used here:
//! sigstore verifies hashedrekord signatures over a precomputed digest, and ring
//! only verifies over whole messages.
//!
//! The provider is process-wide (that is how `sigstore-crypto` looks it up), so
//! every public entry point of this crate calls [`install`] first.

use sigstore_crypto::{CryptoProvider, Error, HashContext, Result, SigningScheme};
use sigstore_types::HashAlgorithm;

/// Verification backed by RustCrypto.
#[derive(Debug)]
pub struct RustCryptoProvider;

static PROVIDER: RustCryptoProvider = RustCryptoProvider;

/// Make [`RustCryptoProvider`] the process-wide `sigstore-crypto` backend,
/// unless a backend is already installed (by an earlier call, or by a program
/// that chose its own).
pub fn install() {
    // Err means a provider is already installed: either ours, or one the host
    // program picked deliberately. Both are fine.
    let _ = sigstore_crypto::install_default_provider(&PROVIDER);
}

enum Hasher {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl HashContext for Hasher {
    fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    fn finalize(self: Box<Self>) -> Vec<u8> {
        use sha2::Digest;
        match *self {
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Sha384(h) => h.finalize().to_vec(),
            Self::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

fn digest(algorithm: HashAlgorithm, data: &[u8]) -> Result<Vec<u8>> {
    let mut hasher = PROVIDER.hash(algorithm)?;
    hasher.update(data);
    Ok(hasher.finalize())
}

fn invalid(scheme: SigningScheme) -> Error {
    Error::Verification(format!("{} signature invalid", scheme.name()))
}

fn bad_key(scheme: SigningScheme, detail: impl std::fmt::Display) -> Error {
    Error::InvalidKey(format!("{} public key: {detail}", scheme.name()))
}

fn verify_ecdsa_p256(key: &[u8], digest: &[u8], signature: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let (Ok(key), Ok(sig)) = (
        p256::ecdsa::VerifyingKey::from_sec1_bytes(key),
        p256::ecdsa::Signature::from_der(signature),
    ) else {
        return false;
    };
    key.verify_prehash(digest, &sig).is_ok()
}

fn verify_ecdsa_p384(key: &[u8], digest: &[u8], signature: &[u8]) -> bool {
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    let (Ok(key), Ok(sig)) = (
        p384::ecdsa::VerifyingKey::from_sec1_bytes(key),
        p384::ecdsa::Signature::from_der(signature),
    ) else {
        return false;
    };
    key.verify_prehash(digest, &sig).is_ok()
}

fn verify_rsa(scheme: SigningScheme, key: &[u8], digest: &[u8], signature: &[u8]) -> Result<bool> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::{Pkcs1v15Sign, Pss};
    let key = rsa::RsaPublicKey::from_pkcs1_der(key).map_err(|e| bad_key(scheme, e))?;
    let result = match scheme {
        SigningScheme::RsaPkcs1Sha256 => {
            key.verify(Pkcs1v15Sign::new::<sha2::Sha256>(), digest, signature)
        }
        SigningScheme::RsaPkcs1Sha384 => {
            key.verify(Pkcs1v15Sign::new::<sha2::Sha384>(), digest, signature)
        }
        SigningScheme::RsaPkcs1Sha512 => {
            key.verify(Pkcs1v15Sign::new::<sha2::Sha512>(), digest, signature)
        }
        SigningScheme::RsaPssSha256 => key.verify(Pss::new::<sha2::Sha256>(), digest, signature),
        SigningScheme::RsaPssSha384 => key.verify(Pss::new::<sha2::Sha384>(), digest, signature),
        SigningScheme::RsaPssSha512 => key.verify(Pss::new::<sha2::Sha512>(), digest, signature),
        _ => return Err(unsupported(scheme)),
    };
    Ok(result.is_ok())
}

fn unsupported(scheme: SigningScheme) -> Error {
    Error::UnsupportedAlgorithm(format!(
        "{} signatures are not supported by bitvault's verifier",
        scheme.name()
    ))
}

impl CryptoProvider for RustCryptoProvider {
    // Keyless signing needs ephemeral keys too (`sigstore_crypto::KeyPair`
    // is only made through the provider); they live with the signing code.
    fn generate_key_pair(
        &self,
        algorithm: sigstore_crypto::KeyAlgorithm,
    ) -> Result<Box<dyn sigstore_crypto::SigningKeyPair>> {
        crate::sign::key::generate(algorithm)
    }

    fn hash(&self, algorithm: HashAlgorithm) -> Result<Box<dyn HashContext>> {
        use sha2::Digest;
        Ok(Box::new(match algorithm {
            HashAlgorithm::Sha2256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlgorithm::Sha2384 => Hasher::Sha384(sha2::Sha384::new()),
            HashAlgorithm::Sha2512 => Hasher::Sha512(sha2::Sha512::new()),
            other => {
                return Err(Error::UnsupportedAlgorithm(format!(
                    "cannot compute {other} digests"
                )));
            }
        }))
    }

    fn verify_raw(
        &self,
        scheme: SigningScheme,
        key: &[u8],
        data: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        if scheme == SigningScheme::Ed25519 {
            let key: &[u8; 32] = key
                .try_into()
                .map_err(|_| bad_key(scheme, "must be 32 bytes"))?;
            let key =
                ed25519_dalek::VerifyingKey::from_bytes(key).map_err(|e| bad_key(scheme, e))?;
            let signature =
                ed25519_dalek::Signature::from_slice(signature).map_err(|_| invalid(scheme))?;
            // verify_strict rejects the malleable and small-order encodings
            // that plain `verify` tolerates.
            return key
                .verify_strict(data, &signature)
                .map_err(|_| invalid(scheme));
        }
        let algorithm = scheme.hash_algorithm().ok_or_else(|| unsupported(scheme))?;
        self.verify_prehashed(scheme, key, &digest(algorithm, data)?, signature)
    }

    fn verify_prehashed(
        &self,
        scheme: SigningScheme,
        key: &[u8],
        digest: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        let ok = match scheme {
            SigningScheme::EcdsaP256Sha256 | SigningScheme::EcdsaP256Sha384 => {
                verify_ecdsa_p256(key, digest, signature)
            }
            SigningScheme::EcdsaP384Sha256 | SigningScheme::EcdsaP384Sha384 => {
                verify_ecdsa_p384(key, digest, signature)
            }
            SigningScheme::RsaPkcs1Sha256
            | SigningScheme::RsaPkcs1Sha384
            | SigningScheme::RsaPkcs1Sha512
            | SigningScheme::RsaPssSha256
            | SigningScheme::RsaPssSha384
            | SigningScheme::RsaPssSha512 => verify_rsa(scheme, key, digest, signature)?,
            other => return Err(unsupported(other)),
        };
        if ok { Ok(()) } else { Err(invalid(scheme)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;

    fn p256_key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap()
    }

    #[test]
    fn ecdsa_p256_accepts_its_signature_and_rejects_other_data() {
        let key = p256_key();
        let public = key.verifying_key().to_encoded_point(false);
        let sig: p256::ecdsa::Signature = key.sign(b"hello");
        let der = sig.to_der();
        let scheme = SigningScheme::EcdsaP256Sha256;
        PROVIDER
            .verify_raw(scheme, public.as_bytes(), b"hello", der.as_bytes())
            .unwrap();
        let err = PROVIDER
            .verify_raw(scheme, public.as_bytes(), b"hellO", der.as_bytes())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Verification error: ECDSA_P256_SHA256 signature invalid"
        );
        // The same signature checked over its precomputed digest.
        let digest = digest(HashAlgorithm::Sha2256, b"hello").unwrap();
        PROVIDER
            .verify_prehashed(scheme, public.as_bytes(), &digest, der.as_bytes())
            .unwrap();
    }

    #[test]
    fn ecdsa_rejects_raw_signature_encoding() {
        let key = p256_key();
        let public = key.verifying_key().to_encoded_point(false);
        let sig: p256::ecdsa::Signature = key.sign(b"hello");
        // Sigstore signatures are ASN.1 DER; the 64-byte r||s form is not accepted.
        assert!(
            PROVIDER
                .verify_raw(
                    SigningScheme::EcdsaP256Sha256,
                    public.as_bytes(),
                    b"hello",
                    &sig.to_bytes()
                )
                .is_err()
        );
    }

    #[test]
    fn ed25519_verifies_over_the_message() {
        use ed25519_dalek::Signer as _;
        let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let sig = key.sign(b"checkpoint");
        let public = key.verifying_key().to_bytes();
        PROVIDER
            .verify_raw(
                SigningScheme::Ed25519,
                &public,
                b"checkpoint",
                &sig.to_bytes(),
            )
            .unwrap();
        assert!(
            PROVIDER
                .verify_raw(
                    SigningScheme::Ed25519,
                    &public,
                    b"checkpoinT",
                    &sig.to_bytes()
                )
                .is_err()
        );
    }

    #[test]
    fn rsa_verifies_openssl_signatures() {
        let key = include_bytes!("../testdata/rsa-2048/pub.der");
        let pkcs1 = include_bytes!("../testdata/rsa-2048/pkcs1.sig");
        let pss = include_bytes!("../testdata/rsa-2048/pss.sig");
        PROVIDER
            .verify_raw(SigningScheme::RsaPkcs1Sha256, key, b"hello", pkcs1)
            .unwrap();
        PROVIDER
            .verify_raw(SigningScheme::RsaPssSha256, key, b"hello", pss)
            .unwrap();
        // Each signature only under its own padding, and only over its message.
        assert!(
            PROVIDER
                .verify_raw(SigningScheme::RsaPssSha256, key, b"hello", pkcs1)
                .is_err()
        );
        assert!(
            PROVIDER
                .verify_raw(SigningScheme::RsaPkcs1Sha256, key, b"hello", pss)
                .is_err()
        );
        assert!(
            PROVIDER
                .verify_raw(SigningScheme::RsaPkcs1Sha256, key, b"hellO", pkcs1)
                .is_err()
        );
        assert!(
            PROVIDER
                .verify_raw(SigningScheme::RsaPkcs1Sha384, key, b"hello", pkcs1)
                .is_err()
        );
    }

    #[test]
    fn hashes_match_known_answers() {
        assert_eq!(
            hex::encode(digest(HashAlgorithm::Sha2256, b"abc").unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(digest(HashAlgorithm::Sha2384, b"abc").unwrap().len(), 48);
        assert_eq!(digest(HashAlgorithm::Sha2512, b"abc").unwrap().len(), 64);
    }

    #[test]
    fn ml_dsa_is_reported_as_unsupported() {
        let err = PROVIDER
            .verify_raw(SigningScheme::MlDsa44, &[0; 1312], b"x", &[0; 2420])
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("ML_DSA_44 signatures are not supported"),
            "{err}"
        );
    }
}
