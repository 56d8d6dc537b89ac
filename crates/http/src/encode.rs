//! The one percent-encoder.

/// Percent-encodes `s` for a URL path segment or a query value: everything but the
/// RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`, so `/`, `?`,
/// `&`, `=`, `#`, `+`, `%` and spaces cannot change the URL's structure. A path of
/// several segments is encoded segment by segment and joined with `/`.
pub fn percent_encode(s: &str) -> String {
    percent_encode_keeping(s, b"")
}

/// [`percent_encode`], also keeping the bytes of `keep` as they are: for formats whose
/// grammar allows more characters in a segment (a purl's name and version keep the
/// sub-delimiters and `:` / `@`, as Go's `url.PathEscape` does).
pub fn percent_encode_keeping(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn keeps_unreserved_and_encodes_the_rest() {
        assert_eq!(percent_encode("sigstore"), "sigstore");
        assert_eq!(
            percent_encode("https://github.com/o"),
            "https%3A%2F%2Fgithub.com%2Fo"
        );
        assert_eq!(percent_encode("a b&c=d#e+f%"), "a%20b%26c%3Dd%23e%2Bf%25");
        assert_eq!(percent_encode("Az09-._~"), "Az09-._~");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode(""), "");
    }
}
