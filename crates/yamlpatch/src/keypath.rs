//! Dotted key paths into YAML mappings: `image.digest`, `global."app.kubernetes.io/name"`.

use std::fmt;

/// A path of mapping keys, written with dots. A segment that contains a dot or a quote
/// is written in double quotes (`\"` and `\\` escape) or single quotes (`''` escapes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyPath(Vec<String>);

/// A key path that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid key path `{input}`: {reason}")]
pub struct KeyPathError {
    /// The rejected input.
    pub input: String,
    /// What is wrong.
    pub reason: String,
}

impl KeyPath {
    /// Parses a dotted path; see the type docs for quoting.
    pub fn parse(input: &str) -> Result<KeyPath, KeyPathError> {
        let fail = |reason: &str| KeyPathError {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let mut segments = Vec::new();
        let mut chars = input.chars().peekable();
        loop {
            let mut seg = String::new();
            match chars.peek() {
                Some('"') => {
                    chars.next();
                    loop {
                        match chars.next() {
                            None => return Err(fail("unterminated `\"` quote")),
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some(c @ ('"' | '\\')) => seg.push(c),
                                _ => {
                                    return Err(fail(
                                        "inside double quotes only `\\\"` and `\\\\` are escapes",
                                    ));
                                }
                            },
                            Some(c) => seg.push(c),
                        }
                    }
                }
                Some('\'') => {
                    chars.next();
                    loop {
                        match chars.next() {
                            None => return Err(fail("unterminated `'` quote")),
                            Some('\'') if chars.peek() == Some(&'\'') => {
                                chars.next();
                                seg.push('\'');
                            }
                            Some('\'') => break,
                            Some(c) => seg.push(c),
                        }
                    }
                }
                _ => {
                    while let Some(&c) = chars.peek() {
                        if c == '.' {
                            break;
                        }
                        if c == '"' || c == '\'' {
                            return Err(fail(
                                "a quote may only start a segment; quote the whole segment",
                            ));
                        }
                        seg.push(c);
                        chars.next();
                    }
                    if seg.is_empty() {
                        return Err(fail(
                            "empty segment; write keys separated by single dots, e.g. `image.digest`",
                        ));
                    }
                }
            }
            segments.push(seg);
            match chars.next() {
                None => break,
                Some('.') => {}
                Some(_) => return Err(fail("expected `.` after a quoted segment")),
            }
        }
        Ok(KeyPath(segments))
    }

    /// Builds a path from raw segments (no quoting needed).
    ///
    /// # Panics
    /// If `segments` is empty.
    pub fn from_segments<I: IntoIterator<Item = S>, S: Into<String>>(segments: I) -> KeyPath {
        let v: Vec<String> = segments.into_iter().map(Into::into).collect();
        assert!(!v.is_empty(), "a key path needs at least one segment");
        KeyPath(v)
    }

    /// The unquoted segments.
    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// This path with one more segment.
    pub fn child(&self, segment: impl Into<String>) -> KeyPath {
        let mut v = self.0.clone();
        v.push(segment.into());
        KeyPath(v)
    }
}

impl Default for KeyPath {
    /// `image.digest`, the Helm convention.
    fn default() -> Self {
        KeyPath(vec!["image".into(), "digest".into()])
    }
}

impl std::str::FromStr for KeyPath {
    type Err = KeyPathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyPath::parse(s)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            if seg.is_empty() || seg.contains(['.', '"', '\'', '\\']) {
                write!(f, "\"{}\"", seg.replace('\\', "\\\\").replace('"', "\\\""))?;
            } else {
                f.write_str(seg)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(s: &str) -> Vec<String> {
        KeyPath::parse(s).unwrap().0
    }

    #[test]
    fn parses_plain_and_quoted_segments() {
        assert_eq!(segs("image.digest"), ["image", "digest"]);
        assert_eq!(segs("a.\"b.c\".d"), ["a", "b.c", "d"]);
        assert_eq!(segs("'x.y'.z"), ["x.y", "z"]);
        assert_eq!(segs("\"q\\\"t\""), ["q\"t"]);
        assert_eq!(segs("'it''s'"), ["it's"]);
        assert_eq!(segs("\"\".a"), ["", "a"]);
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in ["", "a..b", ".a", "a.", "\"a", "a\"b\"", "\"a\"b", "'a"] {
            assert!(KeyPath::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(
            KeyPath::parse("a..b")
                .unwrap_err()
                .to_string()
                .contains("empty segment")
        );
    }

    #[test]
    fn display_round_trips() {
        for s in ["image.digest", "a.\"b.c\".d", "\"q\\\"t\".x"] {
            let p = KeyPath::parse(s).unwrap();
            assert_eq!(KeyPath::parse(&p.to_string()).unwrap(), p);
        }
        assert_eq!(KeyPath::default().to_string(), "image.digest");
    }
}
