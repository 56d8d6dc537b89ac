//! Tags and OCI labels from the git context, as docker/metadata-action
//! computes them with its default tags (`type=schedule`, `type=ref,event=branch`,
//! `type=ref,event=tag`, `type=ref,event=pr`) plus `type=semver` patterns
//! `{{version}}`, `{{major}}.{{minor}}`, `{{major}}` and `type=sha`.
//!
//! One deliberate difference: `latest` is never produced. Tags are for humans;
//! everything downstream is addressed by digest.

use std::collections::BTreeMap;

/// What the tags and labels are computed from.
#[derive(Debug, Clone, Default)]
pub struct GitContext {
    /// `GITHUB_EVENT_NAME`.
    pub event_name: String,
    /// `GITHUB_REF`: `refs/heads/main`, `refs/tags/v1.2.3`, `refs/pull/12/merge`.
    pub git_ref: String,
    /// The commit being built (for a pull request: the head commit, as metadata-action uses).
    pub sha: String,
    /// The commit time, RFC 3339 (so a rebuild of a commit gets the same labels).
    pub commit_time: String,
    /// `https://github.com/owner/repo`.
    pub repository_url: String,
    /// SPDX licence expression, when known.
    pub licenses: Option<String>,
    /// The pull request number, for pull request events.
    pub pr_number: Option<u64>,
}

/// A parsed semantic version (`v` prefix allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Semver {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub prerelease: Option<String>,
    pub build: Option<String>,
}

impl Semver {
    /// Parses `v1.2.3`, `1.2.3-rc.1`, `1.2.3+build.5`. metadata-action also
    /// coerces loose versions; we accept only strict ones and use the tag
    /// name itself for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let (core, build) = match s.split_once('+') {
            Some((c, b)) => (c, Some(b.to_string())),
            None => (s, None),
        };
        let (core, pre) = match core.split_once('-') {
            Some((c, p)) => (c, Some(p.to_string())),
            None => (core, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() != 3 {
            return None;
        }
        let num = |p: &str| -> Option<u64> {
            if p.is_empty()
                || (p.len() > 1 && p.starts_with('0'))
                || !p.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            p.parse().ok()
        };
        let valid_ids = |x: &Option<String>| {
            x.as_ref().is_none_or(|v| {
                !v.is_empty()
                    && v.split('.').all(|id| {
                        !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    })
            })
        };
        if !valid_ids(&pre) || !valid_ids(&build) {
            return None;
        }
        Some(Self {
            major: num(parts[0])?,
            minor: num(parts[1])?,
            patch: num(parts[2])?,
            prerelease: pre,
            build,
        })
    }

    /// `{{version}}`: the full version without `v`; build metadata is
    /// written with `-` because `+` is not allowed in a tag (as metadata-action does).
    pub fn version(&self) -> String {
        let mut v = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if let Some(p) = &self.prerelease {
            v.push('-');
            v.push_str(p);
        }
        if let Some(b) = &self.build {
            v.push('+');
            v.push_str(b);
        }
        v
    }
}

/// Makes a string a valid tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
/// Runs of invalid characters become `-`, as metadata-action sanitises branch names.
pub fn sanitize_tag(s: &str) -> Option<String> {
    // metadata-action: `tag.replace(/[^a-zA-Z0-9._-]+/g, '-')`, a run of
    // invalid characters becomes one `-`.
    let mut out = String::with_capacity(s.len());
    let mut in_run = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    while out.starts_with(['.', '-']) {
        out.remove(0);
    }
    out.truncate(128);
    (!out.is_empty()).then_some(out)
}

/// True for a tag the registry accepts (distribution's tag grammar).
pub fn is_valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
}

/// The computed metadata of one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The `org.opencontainers.image.version` value (the first tag, as metadata-action).
    pub version: String,
    /// Tags without repository, in metadata-action's priority order.
    pub tags: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// Computes tags and labels for an image titled `title`.
pub fn metadata(ctx: &GitContext, title: &str, licenses: Option<&str>) -> Metadata {
    let mut tags: Vec<String> = Vec::new();
    let mut push = |t: String| {
        if t != "latest" && is_valid_tag(&t) && !tags.contains(&t) {
            tags.push(t);
        }
    };
    if let Some(tag) = ctx.git_ref.strip_prefix("refs/tags/") {
        match Semver::parse(tag) {
            Some(v) => {
                // `+` is not allowed in tags; metadata-action replaces it by `-`.
                push(v.version().replace('+', "-"));
                // A prerelease gets only its full version.
                if v.prerelease.is_none() {
                    push(format!("{}.{}", v.major, v.minor));
                    // `{{major}}` is not produced for 0.x: a 0 major promises nothing.
                    if v.major > 0 {
                        push(v.major.to_string());
                    }
                }
            }
            None => {
                if let Some(t) = sanitize_tag(tag) {
                    push(t);
                }
            }
        }
    } else if let Some(branch) = ctx.git_ref.strip_prefix("refs/heads/") {
        if let Some(t) = sanitize_tag(branch) {
            push(t);
        }
    } else if ctx.git_ref.starts_with("refs/pull/") || ctx.pr_number.is_some() {
        let n = ctx.pr_number.or_else(|| {
            ctx.git_ref
                .strip_prefix("refs/pull/")
                .and_then(|r| r.split('/').next())
                .and_then(|n| n.parse().ok())
        });
        if let Some(n) = n {
            push(format!("pr-{n}"));
        }
    }
    // `get`: a SHA that is not ASCII has no tag rather than a panic.
    if let Some(short) = ctx.sha.get(..7) {
        push(format!("sha-{short}"));
    }
    let version = tags.first().cloned().unwrap_or_default();
    let mut labels = BTreeMap::new();
    let mut label = |k: &str, v: &str| {
        if !v.is_empty() {
            labels.insert(format!("org.opencontainers.image.{k}"), v.to_string());
        }
    };
    label("title", title);
    label("source", &ctx.repository_url);
    label("url", &ctx.repository_url);
    label("revision", &ctx.sha);
    label("created", &ctx.commit_time);
    label("version", &version);
    if let Some(l) = licenses.or(ctx.licenses.as_deref()) {
        label("licenses", l);
    }
    Metadata {
        version,
        tags,
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(event: &str, git_ref: &str) -> GitContext {
        GitContext {
            event_name: event.into(),
            git_ref: git_ref.into(),
            sha: "860c1904a1ce19322e91ac35af1ab07466440c37".into(),
            commit_time: "2026-11-20T10:00:00Z".into(),
            repository_url: "https://github.com/bitvault/bitvault".into(),
            licenses: Some("Apache-2.0".into()),
            pr_number: None,
        }
    }

    fn tags(event: &str, git_ref: &str) -> Vec<String> {
        metadata(&ctx(event, git_ref), "app", None).tags
    }

    // The cases of docker/metadata-action's README tables, with `latest` removed.
    #[test]
    fn tag_table() {
        let sha = "sha-860c190";
        let cases: &[(&str, &str, &[&str])] = &[
            ("push", "refs/heads/main", &["main", sha]),
            (
                "push",
                "refs/heads/feature/login-form",
                &["feature-login-form", sha],
            ),
            (
                "push",
                "refs/heads/dependabot/npm_and_yarn/x@1.2",
                &["dependabot-npm_and_yarn-x-1.2", sha],
            ),
            ("push", "refs/tags/v1.2.3", &["1.2.3", "1.2", "1", sha]),
            ("push", "refs/tags/1.2.3", &["1.2.3", "1.2", "1", sha]),
            ("push", "refs/tags/v2.0.8-beta.67", &["2.0.8-beta.67", sha]),
            (
                "push",
                "refs/tags/v1.2.3-rc.1+build.5",
                &["1.2.3-rc.1-build.5", sha],
            ),
            ("push", "refs/tags/v0.4.1", &["0.4.1", "0.4", sha]),
            ("push", "refs/tags/release-2026", &["release-2026", sha]),
            ("push", "refs/tags/v1.2", &["v1.2", sha]),
            ("pull_request", "refs/pull/2/merge", &["pr-2", sha]),
            ("push", "refs/heads/latest", &[sha]),
        ];
        for (event, r, want) in cases {
            assert_eq!(tags(event, r), *want, "{event} {r}");
        }
    }

    #[test]
    fn labels_follow_the_commit_not_the_clock() {
        let m = metadata(&ctx("push", "refs/tags/v1.2.3"), "bitvaultd", None);
        assert_eq!(m.version, "1.2.3");
        assert_eq!(
            m.labels["org.opencontainers.image.created"],
            "2026-11-20T10:00:00Z"
        );
        assert_eq!(
            m.labels["org.opencontainers.image.revision"],
            "860c1904a1ce19322e91ac35af1ab07466440c37"
        );
        assert_eq!(
            m.labels["org.opencontainers.image.source"],
            "https://github.com/bitvault/bitvault"
        );
        assert_eq!(m.labels["org.opencontainers.image.title"], "bitvaultd");
        assert_eq!(m.labels["org.opencontainers.image.licenses"], "Apache-2.0");
        assert_eq!(m.labels["org.opencontainers.image.version"], "1.2.3");
        // Same inputs, same labels.
        assert_eq!(
            m,
            metadata(&ctx("push", "refs/tags/v1.2.3"), "bitvaultd", None)
        );
    }

    #[test]
    fn sanitising() {
        assert_eq!(sanitize_tag("feat/ü-x").as_deref(), Some("feat--x"));
        assert_eq!(sanitize_tag("..x").as_deref(), Some("x"));
        assert_eq!(sanitize_tag("///"), None);
        assert_eq!(sanitize_tag(&"a".repeat(300)).unwrap().len(), 128);
        assert!(is_valid_tag("_x.1-a"));
        assert!(!is_valid_tag(".x"));
        assert!(!is_valid_tag("a+b"));
        assert!(Semver::parse("01.2.3").is_none());
        assert!(Semver::parse("1.2.3-").is_none());
    }
}
