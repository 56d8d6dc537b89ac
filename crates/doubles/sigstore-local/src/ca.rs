//! Fulcio's certificate authority: a root and an intermediate (ECDSA P-384),
//! short-lived leaf certificates with Fulcio's OID extensions, and the CT log
//! that signs an RFC 6962 precertificate SCT embedded in every leaf.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use p256::ecdsa::signature::Signer as _;
use sha2::{Digest as _, Sha256};
use x509_cert::Certificate;
use x509_cert::der::asn1::{BitString, Ia5String, OctetString, UtcTime, Utf8StringRef};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Encode, oid::db::rfc5280};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{TbsCertificate, Version};

/// Fulcio's OID arc, `1.3.6.1.4.1.57264.1`.
const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1";
/// RFC 6962 embedded SCT list.
const SCT_LIST_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// How long a leaf certificate is valid, as Fulcio does.
pub const LEAF_LIFETIME: Duration = Duration::from_secs(10 * 60);

pub(crate) struct CertificateAuthority {
    pub root_der: Vec<u8>,
    pub intermediate_der: Vec<u8>,
    intermediate_name: Name,
    intermediate_key: p384::ecdsa::SigningKey,
    intermediate_ski: Vec<u8>,
    intermediate_spki_der: Vec<u8>,
    pub ct_log: CtLog,
}

pub(crate) struct CtLog {
    key: p256::ecdsa::SigningKey,
    pub public_key_der: Vec<u8>,
    pub log_id: [u8; 32],
}

impl CtLog {
    fn generate() -> Self {
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let public_key_der = spki_der_p256(key.verifying_key());
        let log_id = Sha256::digest(&public_key_der).into();
        Self {
            key,
            public_key_der,
            log_id,
        }
    }

    /// A v1 SCT over a precertificate entry (RFC 6962 section 3.2), in its
    /// TLS encoding.
    fn sign_precert(
        &self,
        issuer_key_hash: &[u8; 32],
        tbs_der: &[u8],
        timestamp_ms: u64,
    ) -> Vec<u8> {
        let mut signed = vec![0u8, 0u8]; // v1, certificate_timestamp
        signed.extend_from_slice(&timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
        signed.extend_from_slice(issuer_key_hash);
        let len = tbs_der.len() as u32;
        signed.extend_from_slice(&len.to_be_bytes()[1..]);
        signed.extend_from_slice(tbs_der);
        signed.extend_from_slice(&0u16.to_be_bytes()); // no extensions
        let sig: p256::ecdsa::Signature = self.key.sign(&signed);
        let sig = sig.to_der();
        let sig = sig.as_bytes();

        let mut sct = vec![0u8]; // v1
        sct.extend_from_slice(&self.log_id);
        sct.extend_from_slice(&timestamp_ms.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes());
        sct.push(4); // sha256
        sct.push(3); // ecdsa
        sct.extend_from_slice(&(sig.len() as u16).to_be_bytes());
        sct.extend_from_slice(sig);
        sct
    }
}

pub(crate) fn spki_der_p256(key: &p256::ecdsa::VerifyingKey) -> Vec<u8> {
    key.to_public_key_der()
        .expect("P-256 key encodes")
        .as_bytes()
        .to_vec()
}

fn utc(t: SystemTime) -> Time {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    Time::UtcTime(
        UtcTime::from_unix_duration(Duration::from_secs(since.as_secs()))
            .expect("time before 2050"),
    )
}

fn ext(oid: ObjectIdentifier, critical: bool, value: &impl Encode) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().expect("extension encodes")).expect("octets"),
    }
}

fn raw_ext(oid: ObjectIdentifier, value: &[u8]) -> Extension {
    Extension {
        extn_id: oid,
        critical: false,
        extn_value: OctetString::new(value.to_vec()).expect("octets"),
    }
}

fn key_id(spki_der: &[u8]) -> Vec<u8> {
    // RFC 5280 method 1 would hash only the key bits; any stable unique value
    // is allowed, and this one is easy to recompute.
    Sha256::digest(spki_der)[..20].to_vec()
}

fn serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::new(&bytes).expect("serial")
}

fn ecdsa_sha384() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3"),
        parameters: None,
    }
}

fn sign_tbs(tbs: TbsCertificate, key: &p384::ecdsa::SigningKey) -> Vec<u8> {
    let tbs_der = tbs.to_der().expect("tbs encodes");
    let sig: p384::ecdsa::Signature = key.sign(&tbs_der);
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: ecdsa_sha384(),
        signature: BitString::from_bytes(sig.to_der().as_bytes()).expect("bits"),
    }
    .to_der()
    .expect("certificate encodes")
}

fn ca_extensions(ski: &[u8], aki: Option<&[u8]>, path_len: Option<u8>) -> Vec<Extension> {
    let mut exts = vec![
        ext(
            rfc5280::ID_CE_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        ),
        ext(
            rfc5280::ID_CE_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
        ),
        ext(
            rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            &SubjectKeyIdentifier(OctetString::new(ski.to_vec()).expect("octets")),
        ),
    ];
    if let Some(aki) = aki {
        exts.push(ext(
            rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(aki.to_vec()).expect("octets")),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        ));
    }
    exts
}

/// What goes into a leaf certificate: the SAN and Fulcio's extensions, taken
/// from a verified identity token.
pub(crate) struct LeafProfile {
    pub san_uri: String,
    /// (OID suffix under `1.3.6.1.4.1.57264.1`, value); suffixes 1-6 are
    /// Fulcio's legacy raw-string encoding, the others DER UTF8String.
    pub extensions: Vec<(u32, String)>,
}

impl CertificateAuthority {
    pub fn generate() -> Self {
        let now = SystemTime::now();
        let start = now - Duration::from_secs(24 * 3600);
        let end = now + Duration::from_secs(5 * 365 * 24 * 3600);

        let root_key = p384::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let root_spki = root_key.verifying_key().to_public_key_der().expect("spki");
        let root_ski = key_id(root_spki.as_bytes());
        let root_name = Name::from_str("CN=sigstore-local,O=bitvault.local").expect("name");
        let root_tbs = TbsCertificate {
            version: Version::V3,
            serial_number: serial(),
            signature: ecdsa_sha384(),
            issuer: root_name.clone(),
            validity: Validity {
                not_before: utc(start),
                not_after: utc(end),
            },
            subject: root_name.clone(),
            subject_public_key_info: SubjectPublicKeyInfoOwned::try_from(root_spki.as_bytes())
                .expect("spki"),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(ca_extensions(&root_ski, None, Some(1))),
        };
        let root_der = sign_tbs(root_tbs, &root_key);

        let intermediate_key = p384::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let int_spki = intermediate_key
            .verifying_key()
            .to_public_key_der()
            .expect("spki");
        let intermediate_ski = key_id(int_spki.as_bytes());
        let intermediate_name =
            Name::from_str("CN=sigstore-local-intermediate,O=bitvault.local").expect("name");
        let mut int_exts = ca_extensions(&intermediate_ski, Some(&root_ski), Some(0));
        // Fulcio's intermediate restricts itself to code signing.
        int_exts.push(ext(
            rfc5280::ID_CE_EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![rfc5280::ID_KP_CODE_SIGNING]),
        ));
        let int_tbs = TbsCertificate {
            version: Version::V3,
            serial_number: serial(),
            signature: ecdsa_sha384(),
            issuer: root_name,
            validity: Validity {
                not_before: utc(start),
                not_after: utc(end),
            },
            subject: intermediate_name.clone(),
            subject_public_key_info: SubjectPublicKeyInfoOwned::try_from(int_spki.as_bytes())
                .expect("spki"),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(int_exts),
        };
        let intermediate_der = sign_tbs(int_tbs, &root_key);

        Self {
            root_der,
            intermediate_der,
            intermediate_name,
            intermediate_key,
            intermediate_ski,
            intermediate_spki_der: int_spki.as_bytes().to_vec(),
            ct_log: CtLog::generate(),
        }
    }

    /// Issue a leaf for `spki_der` with an embedded SCT. Returns its DER.
    pub fn issue(&self, spki_der: &[u8], profile: &LeafProfile) -> Result<Vec<u8>, String> {
        let spki = SubjectPublicKeyInfoOwned::try_from(spki_der)
            .map_err(|e| format!("public key is not a valid SubjectPublicKeyInfo: {e}"))?;
        let now = SystemTime::now();
        let san = Ia5String::new(&profile.san_uri).map_err(|e| format!("SAN: {e}"))?;
        let mut exts = vec![
            ext(
                rfc5280::ID_CE_KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            ),
            ext(
                rfc5280::ID_CE_EXT_KEY_USAGE,
                false,
                &ExtendedKeyUsage(vec![rfc5280::ID_KP_CODE_SIGNING]),
            ),
            ext(
                rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
                false,
                &SubjectKeyIdentifier(OctetString::new(key_id(spki_der)).expect("octets")),
            ),
            ext(
                rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
                false,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(
                        OctetString::new(self.intermediate_ski.clone()).expect("octets"),
                    ),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
            ),
            // The subject is empty, so the SAN is critical (RFC 5280 4.2.1.6).
            ext(
                rfc5280::ID_CE_SUBJECT_ALT_NAME,
                true,
                &SubjectAltName(vec![GeneralName::UniformResourceIdentifier(san)]),
            ),
        ];
        for (suffix, value) in &profile.extensions {
            let oid = ObjectIdentifier::new(&format!("{FULCIO_ARC}.{suffix}"))
                .map_err(|e| format!("oid: {e}"))?;
            if *suffix <= 6 {
                exts.push(raw_ext(oid, value.as_bytes()));
            } else {
                let utf8 = Utf8StringRef::new(value).map_err(|e| format!("utf8: {e}"))?;
                exts.push(ext(oid, false, &utf8));
            }
        }
        let mut tbs = TbsCertificate {
            version: Version::V3,
            serial_number: serial(),
            signature: ecdsa_sha384(),
            issuer: self.intermediate_name.clone(),
            validity: Validity {
                not_before: utc(now),
                not_after: utc(now + LEAF_LIFETIME),
            },
            subject: Name::default(),
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(exts),
        };
        // The SCT signs the certificate as it will be, minus the SCT list
        // itself: exactly what a verifier reconstructs from the final leaf.
        let precert_tbs = tbs.to_der().map_err(|e| e.to_string())?;
        let issuer_key_hash: [u8; 32] = Sha256::digest(&self.intermediate_spki_der).into();
        let timestamp_ms = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let sct = self
            .ct_log
            .sign_precert(&issuer_key_hash, &precert_tbs, timestamp_ms);
        let mut list = (sct.len() as u16 + 2).to_be_bytes().to_vec();
        list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
        list.extend_from_slice(&sct);
        let list = OctetString::new(list).map_err(|e| e.to_string())?;
        tbs.extensions
            .as_mut()
            .expect("extensions")
            .push(ext(SCT_LIST_OID, false, &list));
        Ok(sign_tbs(tbs, &self.intermediate_key))
    }
}

/// PEM-encode a DER certificate.
pub fn cert_pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).expect("base64 is ascii"));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}
