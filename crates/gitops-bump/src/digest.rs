//! Image digests: `sha256:` followed by exactly 64 lower-case hex characters.

use std::fmt;

/// A validated `sha256:<64 lower-case hex>` image digest.
///
/// Validation happens before any file is read, so a typo never reaches a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

/// Why a string is not a valid digest. The message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest `{input}`: {reason}")]
pub struct DigestError {
    /// The rejected input.
    pub input: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

const PREFIX: &str = "sha256:";
const HEX_LEN: usize = 64;

impl Digest {
    /// Parses `sha256:` + 64 lower-case hex characters, and nothing else (no whitespace,
    /// no `image@` prefix, no other algorithm).
    pub fn parse(input: &str) -> Result<Digest, DigestError> {
        let fail = |reason: String| DigestError {
            input: input.to_string(),
            reason,
        };
        if input.trim() != input {
            return Err(fail(
                "it has leading or trailing whitespace; pass the digest alone".into(),
            ));
        }
        if let Some((name, digest)) = input.rsplit_once('@') {
            return Err(fail(format!(
                "it is an image reference; pass only the digest part `{digest}` (without `{name}@`)"
            )));
        }
        let Some(hex) = input.strip_prefix(PREFIX) else {
            if input.len() == HEX_LEN && input.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(fail(format!(
                    "missing the algorithm prefix; use `sha256:{}`",
                    input.to_ascii_lowercase()
                )));
            }
            if let Some((algo, _)) = input.split_once(':') {
                return Err(fail(format!(
                    "algorithm `{algo}` is not supported; expected `sha256:` followed by 64 hex characters"
                )));
            }
            return Err(fail(
                "expected `sha256:` followed by 64 lower-case hex characters; this looks like a tag, resolve it to a digest first".into(),
            ));
        };
        if let Some((i, c)) = hex.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
            return Err(fail(format!(
                "character {c:?} at position {} is not a hex digit",
                PREFIX.len() + i
            )));
        }
        if hex.len() != HEX_LEN {
            return Err(fail(format!(
                "expected {HEX_LEN} hex characters after `sha256:`, found {}; was it truncated?",
                hex.len()
            )));
        }
        if hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(fail(format!(
                "hex must be lower-case; use `sha256:{}`",
                hex.to_ascii_lowercase()
            )));
        }
        Ok(Digest(input.to_string()))
    }

    /// The digest as written: `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex characters after `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0[PREFIX.len()..]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn reason(s: &str) -> String {
        Digest::parse(s).unwrap_err().reason
    }

    #[test]
    fn accepts_sha256_with_64_lower_hex() {
        let d = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        assert_eq!(d.hex(), HEX);
        assert_eq!(d.to_string(), format!("sha256:{HEX}"));
    }

    #[test]
    fn rejects_with_actionable_reasons() {
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
    }

    #[test]
    fn error_message_names_the_input() {
        let e = Digest::parse("latest").unwrap_err();
        assert!(e.to_string().starts_with("invalid digest `latest`: "));
    }
}
