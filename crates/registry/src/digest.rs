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
///
/// The message is short; [`DigestParseError::reason`] says what exactly is wrong and
/// how to fix it, for tools that take digests from users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest {input:?}: expected sha256: followed by 64 lower-case hex digits")]
pub struct DigestParseError {
    input: String,
}

const PREFIX: &str = "sha256:";
const HEX_LEN: usize = 64;

impl DigestParseError {
    /// The rejected input.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// What is wrong with the input and what to do about it: a tag instead of a
    /// digest, an image reference instead of its digest part, a missing `sha256:`,
    /// another algorithm, upper-case hex, a truncated value, whitespace.
    pub fn reason(&self) -> String {
        let input = self.input.as_str();
        if input.trim() != input {
            return "it has leading or trailing whitespace; pass the digest alone".into();
        }
        if let Some((name, digest)) = input.rsplit_once('@') {
            return format!(
                "it is an image reference; pass only the digest part `{digest}` (without `{name}@`)"
            );
        }
        let Some(hex) = input.strip_prefix(PREFIX) else {
            if input.len() == HEX_LEN && input.bytes().all(|b| b.is_ascii_hexdigit()) {
                return format!(
                    "missing the algorithm prefix; use `sha256:{}`",
                    input.to_ascii_lowercase()
                );
            }
            if let Some((algo, _)) = input.split_once(':') {
                return format!(
                    "algorithm `{algo}` is not supported; expected `sha256:` followed by 64 hex characters"
                );
            }
            return "expected `sha256:` followed by 64 lower-case hex characters; this looks like a tag, resolve it to a digest first".into();
        };
        if let Some((i, c)) = hex.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
            return format!(
                "character {c:?} at position {} is not a hex digit",
                PREFIX.len() + i
            );
        }
        if hex.len() != HEX_LEN {
            return format!(
                "expected {HEX_LEN} hex characters after `sha256:`, found {}; was it truncated?",
                hex.len()
            );
        }
        if hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return format!(
                "hex must be lower-case; use `sha256:{}`",
                hex.to_ascii_lowercase()
            );
        }
        "expected `sha256:` followed by 64 lower-case hex characters".into()
    }
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
    fn reasons_say_what_to_do() {
        // Moved from gitops-bump's own digest type: one Digest in the workspace.
        const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let reason = |s: &str| Digest::parse(s).unwrap_err().reason();
        assert!(reason(HEX).contains(&format!("use `sha256:{HEX}`")));
        assert!(reason("v1.2.3").contains("looks like a tag"));
        assert!(reason(&format!("sha512:{HEX}")).contains("`sha512` is not supported"));
        assert!(reason(&format!("sha256:{}", &HEX[..63])).contains("found 63"));
        assert!(reason(&format!("sha256:{HEX}0")).contains("found 65"));
        assert!(reason(&format!("sha256:{}", HEX.to_uppercase())).contains("lower-case"));
        assert!(reason(&format!("sha256:{}g", &HEX[..63])).contains("'g' at position 70"));
        assert!(reason(&format!(" sha256:{HEX}")).contains("whitespace"));
        assert!(reason(&format!("ghcr.io/a/b@sha256:{HEX}")).contains("without `ghcr.io/a/b@`"));
        assert!(reason("").contains("expected `sha256:`"));
        assert_eq!(Digest::parse("latest").unwrap_err().input(), "latest");
        let d = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        assert_eq!(d.hex(), HEX);
        assert_eq!(d.to_string(), format!("sha256:{HEX}"));
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
