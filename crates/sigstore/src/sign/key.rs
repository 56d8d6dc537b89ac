//! Ephemeral ECDSA P-256 keys for keyless signing, behind `sigstore-crypto`'s
//! [`SigningKeyPair`] so the `sigstore-*` clients (Fulcio's proof of
//! possession) can use them.

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use sigstore_crypto::{Error, KeyAlgorithm, Result, SigningKeyPair};

struct P256 {
    key: p256::ecdsa::SigningKey,
    public: Vec<u8>,
}

impl SigningKeyPair for P256 {
    fn algorithm(&self) -> KeyAlgorithm {
        KeyAlgorithm::EcdsaP256
    }

    fn public_key_bytes(&self) -> &[u8] {
        &self.public
    }

    fn sign_raw(&self, data: &[u8]) -> Result<Vec<u8>> {
        let sig: p256::ecdsa::Signature = self.key.sign(data);
        Ok(sig.to_der().as_bytes().to_vec())
    }

    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>> {
        let sig: p256::ecdsa::Signature = self
            .key
            .sign_prehash(digest)
            .map_err(|e| Error::Signing(e.to_string()))?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

/// A fresh key pair from the operating system's random source.
pub(crate) fn generate(algorithm: KeyAlgorithm) -> Result<Box<dyn SigningKeyPair>> {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => {
            let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
            let public = key
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec();
            Ok(Box::new(P256 { key, public }))
        }
        other => Err(Error::UnsupportedAlgorithm(format!(
            "keyless signing generates ECDSA P-256 keys only, not {other:?}"
        ))),
    }
}
