//! Content digests: `sha256:` followed by 64 lower-case hex digits.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A sha256 content digest, always valid: `sha256:` + 64 lower-case hex digits.
///
/// Digests are values: once a tag is resolved, code passes these around, never tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

/// Why a string is not a [`Digest`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest {input:?}: expected sha256: followed by 64 lower-case hex digits")]
pub struct DigestParseError {
    input: String,
}

impl Digest {
    /// Parses and validates `sha256:<64 lower-case hex>`.
    pub fn parse(s: &str) -> Result<Self, DigestParseError> {
        let valid = s.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if valid {
            Ok(Digest(s.to_owned()))
        } else {
            Err(DigestParseError {
                input: s.to_owned(),
            })
        }
    }

    /// The sha256 digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// The full digest, `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits without the algorithm.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The tag the OCI referrers tag schema uses for this subject: `sha256-<hex>`.
    pub fn referrers_tag(&self) -> String {
        format!("sha256-{}", self.hex())
    }

    /// Checks that `bytes` hash to this digest.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), DigestMismatch> {
        let actual = Digest::of(bytes);
        if &actual == self {
            Ok(())
        } else {
            Err(DigestMismatch {
                expected: self.clone(),
                actual,
            })
        }
    }
}

/// Content did not hash to the digest it was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("digest mismatch: expected {expected}, content hashes to {actual}")]
pub struct DigestMismatch {
    /// The digest that was asked for.
    pub expected: Digest,
    /// The digest of the bytes actually received.
    pub actual: Digest,
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Digest {
    type Err = DigestParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_lower_case_sha256() {
        let hex = "a".repeat(64);
        assert!(Digest::parse(&format!("sha256:{hex}")).is_ok());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(Digest::parse(&format!("sha256:{}", "a".repeat(63))).is_err());
        assert!(Digest::parse(&format!("sha256:{}", "a".repeat(65))).is_err());
        assert!(Digest::parse(&format!("sha512:{}", "a".repeat(128))).is_err());
        assert!(Digest::parse(&format!("sha256:{}g", "a".repeat(63))).is_err());
        assert!(Digest::parse(&hex).is_err());
        assert!(Digest::parse("").is_err());
    }

    #[test]
    fn of_and_verify() {
        // sha256("{}"), the OCI empty descriptor digest from the image spec.
        let empty = Digest::of(b"{}");
        assert_eq!(
            empty.as_str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert!(empty.verify(b"{}").is_ok());
        let err = empty.verify(b"{ }").unwrap_err();
        assert_eq!(err.expected, empty);
        assert_eq!(err.actual, Digest::of(b"{ }"));
        assert_eq!(
            empty.referrers_tag(),
            "sha256-44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn serde_validates() {
        let ok: Digest = serde_json::from_str(&format!("\"sha256:{}\"", "0".repeat(64))).unwrap();
        assert_eq!(ok.hex(), "0".repeat(64));
        assert!(serde_json::from_str::<Digest>("\"sha256:nope\"").is_err());
    }
}
