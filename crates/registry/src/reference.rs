//! Image references, normalised the way docker/distribution normalises them.
//!
//! Parsing and validation are oci-spec's (a port of distribution's grammar); this
//! module adds what we need on top: knowing whether a tag was written at all (oci-spec
//! silently fills in `latest`, which we never do), sha256-only [`Digest`] values, and
//! the Docker Hub API endpoint.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;

/// Docker Hub's canonical registry name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_ENDPOINT: &str = "registry-1.docker.io";

/// A repository in a registry, such as `docker.io/library/alpine` or `127.0.0.1:5000/app`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository {
    registry: String,
    name: String,
}

/// A parsed image reference: repository plus tag, digest, or both.
///
/// A reference written without tag or digest keeps neither: code that needs a digest
/// gets an error, never an implicit `latest`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    repo: Repository,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Why a string is not a valid reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The grammar or a length limit was violated.
    #[error("invalid image reference {input:?}: {reason}")]
    Invalid {
        /// What was parsed.
        input: String,
        /// oci-spec's reason.
        reason: String,
    },
    /// A digest other than sha256.
    #[error("invalid image reference {input:?}: only sha256 digests are supported")]
    UnsupportedDigest {
        /// What was parsed.
        input: String,
    },
    /// A repository was expected but the input carried a tag or digest.
    #[error("expected a repository without tag or digest, got {input:?}")]
    NotARepository {
        /// What was parsed.
        input: String,
    },
}

impl Repository {
    /// Parses `[registry/]name`, normalised like docker (`alpine` is `docker.io/library/alpine`).
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let r = Reference::parse(s)?;
        if r.tag.is_some() || r.digest.is_some() {
            return Err(ReferenceError::NotARepository {
                input: s.to_owned(),
            });
        }
        Ok(r.repo)
    }

    /// The registry as written in references (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The `host[:port]` that serves the registry API (`registry-1.docker.io` for Docker Hub).
    pub fn endpoint(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_ENDPOINT
        } else {
            &self.registry
        }
    }

    /// The repository path inside the registry (`library/alpine`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This repository at a digest.
    pub fn at_digest(&self, digest: Digest) -> Reference {
        Reference {
            repo: self.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// This repository at a tag. The tag is validated with the reference grammar.
    pub fn at_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(&format!("{self}:{tag}"))
    }
}

impl Reference {
    /// Parses and normalises a reference, as `docker pull` would.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let parsed = oci_client::Reference::try_from(s).map_err(|e| ReferenceError::Invalid {
            input: s.to_owned(),
            reason: e.to_string(),
        })?;
        // oci-spec's grammar lets an upper-case first component through as a domain, then
        // treats it as a path; distribution rejects such names, and so do we.
        if parsed.repository().bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Invalid {
                input: s.to_owned(),
                reason: "repository name must be lowercase".into(),
            });
        }
        let digest = match parsed.digest() {
            None => None,
            Some(d) => Some(
                Digest::parse(d).map_err(|_| ReferenceError::UnsupportedDigest {
                    input: s.to_owned(),
                })?,
            ),
        };
        // oci-spec fills in "latest" when no tag was written; keep only a tag that was.
        let name_part = s.split_once('@').map_or(s, |(name, _)| name);
        let last_component = name_part.rsplit('/').next().unwrap_or(name_part);
        let tag = if last_component.contains(':') {
            parsed.tag().map(str::to_owned)
        } else {
            None
        };
        Ok(Reference {
            repo: Repository {
                registry: parsed.registry().to_owned(),
                name: parsed.repository().to_owned(),
            },
            tag,
            digest,
        })
    }

    /// The repository this reference points into.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// The registry as written in references (`docker.io` for Docker Hub).
    pub fn registry(&self) -> &str {
        self.repo.registry()
    }

    /// The `host[:port]` that serves the registry API.
    pub fn endpoint(&self) -> &str {
        self.repo.endpoint()
    }

    /// The tag, if one was written.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if one was written.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.name)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repo)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl FromStr for Repository {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Repository::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    /// input, registry, endpoint, repository, tag, digest
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
    );

    /// Cases from distribution's reference/normalize_test.go, plus our no-implicit-tag rule.
    #[test]
    fn normalises_like_docker() {
        let d = || Some(D);
        let cases: &[Case] = &[
            // input, registry, endpoint, repository, tag, digest
            (
                "busybox",
                "docker.io",
                "registry-1.docker.io",
                "library/busybox",
                None,
                None,
            ),
            (
                "busybox:latest",
                "docker.io",
                "registry-1.docker.io",
                "library/busybox",
                Some("latest"),
                None,
            ),
            (
                "library/busybox",
                "docker.io",
                "registry-1.docker.io",
                "library/busybox",
                None,
                None,
            ),
            (
                "docker.io/busybox",
                "docker.io",
                "registry-1.docker.io",
                "library/busybox",
                None,
                None,
            ),
            (
                "docker.io/library/busybox:1.36",
                "docker.io",
                "registry-1.docker.io",
                "library/busybox",
                Some("1.36"),
                None,
            ),
            (
                "index.docker.io/busybox:1",
                "docker.io",
                "registry-1.docker.io",
                "library/busybox",
                Some("1"),
                None,
            ),
            (
                "user/repo",
                "docker.io",
                "registry-1.docker.io",
                "user/repo",
                None,
                None,
            ),
            (
                "test.com:tag",
                "docker.io",
                "registry-1.docker.io",
                "library/test.com",
                Some("tag"),
                None,
            ),
            (
                "test.com:5000",
                "docker.io",
                "registry-1.docker.io",
                "library/test.com",
                Some("5000"),
                None,
            ),
            (
                "test.com/repo:tag",
                "test.com",
                "test.com",
                "repo",
                Some("tag"),
                None,
            ),
            (
                "test:5000/repo",
                "test:5000",
                "test:5000",
                "repo",
                None,
                None,
            ),
            ("localhost/foo", "localhost", "localhost", "foo", None, None),
            (
                "localhost:5000/foo/bar:v1",
                "localhost:5000",
                "localhost:5000",
                "foo/bar",
                Some("v1"),
                None,
            ),
            (
                "ghcr.io/org/app@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                "ghcr.io",
                "ghcr.io",
                "org/app",
                None,
                d(),
            ),
            (
                "127.0.0.1:5000/a/b:t@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                "127.0.0.1:5000",
                "127.0.0.1:5000",
                "a/b",
                Some("t"),
                d(),
            ),
            (
                "foo_bar.com:8080",
                "docker.io",
                "registry-1.docker.io",
                "library/foo_bar.com",
                Some("8080"),
                None,
            ),
            (
                "lowercase:Uppercase",
                "docker.io",
                "registry-1.docker.io",
                "library/lowercase",
                Some("Uppercase"),
                None,
            ),
        ];
        for (input, registry, endpoint, repository, tag, digest) in cases {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.registry(), *registry, "{input}");
            assert_eq!(r.endpoint(), *endpoint, "{input}");
            assert_eq!(r.repository().name(), *repository, "{input}");
            assert_eq!(r.tag(), *tag, "{input}");
            assert_eq!(r.digest().map(Digest::as_str), *digest, "{input}");
        }
    }

    #[test]
    fn rejects_invalid() {
        for input in [
            "",
            "Uppercase/foo",
            "foo:",
            "foo@sha256:abc",
            "a/b@sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
            "a//b",
            "-foo",
            "foo/bar:tag with space",
        ] {
            assert!(
                Reference::parse(input).is_err(),
                "{input:?} should be rejected"
            );
        }
        let sha512 = format!("a/b@sha512:{}", "f".repeat(128));
        assert_eq!(
            Reference::parse(&sha512),
            Err(ReferenceError::UnsupportedDigest { input: sha512 })
        );
    }

    #[test]
    fn display_is_fully_qualified() {
        assert_eq!(
            Reference::parse("busybox").unwrap().to_string(),
            "docker.io/library/busybox"
        );
        assert_eq!(
            Reference::parse(&format!("localhost:5000/x:1@{D}"))
                .unwrap()
                .to_string(),
            format!("localhost:5000/x:1@{D}")
        );
    }

    #[test]
    fn repository_parse_refuses_tags() {
        let repo = Repository::parse("127.0.0.1:5000/app").unwrap();
        assert_eq!(repo.to_string(), "127.0.0.1:5000/app");
        assert!(Repository::parse("127.0.0.1:5000/app:1").is_err());
        let at = repo.at_digest(Digest::parse(D).unwrap());
        assert_eq!(at.to_string(), format!("127.0.0.1:5000/app@{D}"));
        assert_eq!(repo.at_tag("v1").unwrap().tag(), Some("v1"));
        assert!(repo.at_tag("bad tag").is_err());
    }
}
