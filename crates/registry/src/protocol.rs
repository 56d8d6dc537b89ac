//! Whether a registry is reached over plain HTTP or HTTPS.
//!
//! Docker's rule: plain HTTP only for loopback registries and for those the user named as
//! insecure; HTTPS, verified against the system roots, everywhere else.

use std::net::IpAddr;

/// How a registry endpoint is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// TLS, verified against the system roots.
    Https,
    /// Plain HTTP: loopback or listed as insecure.
    Http,
}

impl Scheme {
    /// `"https"` or `"http"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

/// Decides the scheme for `endpoint` (`host[:port]`, IPv6 hosts in brackets).
///
/// `insecure` entries are compared to the endpoint, and also to its host alone, so
/// `registry.local` allows `registry.local:5000`.
pub fn scheme_for(endpoint: &str, insecure: &[String]) -> Scheme {
    let host = host_of(endpoint);
    let listed = insecure
        .iter()
        .map(|s| s.trim_end_matches('/'))
        .any(|s| s.eq_ignore_ascii_case(endpoint) || s.eq_ignore_ascii_case(host));
    if listed || is_loopback(host) {
        Scheme::Http
    } else {
        Scheme::Https
    }
}

fn host_of(endpoint: &str) -> &str {
    if let Some(rest) = endpoint.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| host);
    }
    match endpoint.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => endpoint,
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_plain_http() {
        for e in [
            "127.0.0.1:5000",
            "127.1.2.3",
            "localhost",
            "localhost:5000",
            "LOCALHOST:1",
            "[::1]:5000",
            "::1",
        ] {
            assert_eq!(scheme_for(e, &[]), Scheme::Http, "{e}");
        }
    }

    #[test]
    fn everything_else_is_https() {
        for e in [
            "ghcr.io",
            "registry-1.docker.io",
            "10.0.0.5:5000",
            "128.0.0.1:5000",
            "localhost.example.com",
            "[::2]:5000",
            "0.0.0.0:5000",
        ] {
            assert_eq!(scheme_for(e, &[]), Scheme::Https, "{e}");
        }
    }

    #[test]
    fn insecure_list_allows_plain_http() {
        let list = vec!["10.0.0.5:5000".to_owned(), "registry.local".to_owned()];
        assert_eq!(scheme_for("10.0.0.5:5000", &list), Scheme::Http);
        assert_eq!(scheme_for("10.0.0.5:5001", &list), Scheme::Https);
        assert_eq!(scheme_for("registry.local:443", &list), Scheme::Http);
        assert_eq!(scheme_for("registry.local", &list), Scheme::Http);
        assert_eq!(scheme_for("other.local", &list), Scheme::Https);
    }
}
