//! Accepted risks: `.trivyignore` lines (`CVE-2023-1234`, optionally `exp:2024-01-31`)
//! and a YAML form (trivy's `.trivyignore.yaml` shape: `vulnerabilities:` entries with
//! `id`, optional `package`/`purls`/`paths`, `reason` or `statement`, and `expires` or
//! `expired_at`). An exception past its date no longer suppresses anything, and the
//! gate fails on it until it is renewed or removed.

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use serde::Serialize;
use serde_norway::Value;

use crate::model::Finding;

/// The largest exceptions file read.
pub const MAX_BYTES: usize = 1024 * 1024;

/// One accepted risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exception {
    pub id: String,
    /// Only for this package (name, or a purl without version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    pub reason: String,
    /// The last day it applies (UTC), if it ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    /// Where it was written (`file:line`).
    pub source: String,
}

impl Exception {
    /// Whether it covers `f` (by id or alias, and package when given).
    pub fn covers(&self, f: &Finding) -> bool {
        let id = self.id.eq_ignore_ascii_case(&f.id)
            || f.aliases.iter().any(|a| a.eq_ignore_ascii_case(&self.id));
        id && match &self.package {
            None => true,
            Some(p) => {
                p == &f.package
                    || f.purl.as_deref().is_some_and(|purl| {
                        purl == p || purl.split(['@', '?']).next() == Some(p.as_str())
                    })
            }
        }
    }

    /// Whether it has ended by `today`.
    pub fn expired(&self, today: NaiveDate) -> bool {
        self.expires.is_some_and(|e| e < today)
    }
}

/// Reads an exceptions file: YAML when its name ends in `.yaml`/`.yml` or it begins with
/// `vulnerabilities:`, otherwise `.trivyignore` lines.
pub fn parse(name: &str, text: &str) -> Result<Vec<Exception>> {
    if text.len() > MAX_BYTES {
        bail!(
            "{name}: {} bytes, more than the {MAX_BYTES}-byte limit for an exceptions file",
            text.len()
        );
    }
    let yaml = name.ends_with(".yaml")
        || name.ends_with(".yml")
        || text.trim_start().starts_with("vulnerabilities:");
    if yaml {
        parse_yaml(name, text)
    } else {
        parse_lines(name, text)
    }
}

fn parse_lines(name: &str, text: &str) -> Result<Vec<Exception>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let id = words.next().expect("non-empty").to_owned();
        let mut expires = None;
        for w in words {
            match w.strip_prefix("exp:") {
                Some(d) => expires = Some(date(d).with_context(|| format!("{name}:{}", n + 1))?),
                None => bail!(
                    "{name}:{}: `{w}` is not understood; a line is an id, optionally followed by `exp:YYYY-MM-DD`",
                    n + 1
                ),
            }
        }
        out.push(Exception {
            id,
            package: None,
            reason: "listed in .trivyignore".into(),
            expires,
            source: format!("{name}:{}", n + 1),
        });
    }
    Ok(out)
}

fn parse_yaml(name: &str, text: &str) -> Result<Vec<Exception>> {
    let doc: Value = serde_norway::from_str(text).with_context(|| format!("{name}: not YAML"))?;
    let list = match &doc {
        Value::Sequence(s) => s.clone(),
        Value::Mapping(m) => match m.get("vulnerabilities") {
            Some(Value::Sequence(s)) => s.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(_) => bail!("{name}: `vulnerabilities` must be a list"),
        },
        Value::Null => Vec::new(),
        _ => bail!("{name}: expected a list of exceptions or a `vulnerabilities:` list"),
    };
    let mut out = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let at = format!("{name}: entry {}", i + 1);
        let field = |k: &str| -> Option<String> {
            match entry.get(k)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let Some(id) = field("id") else {
            bail!("{at}: has no `id`");
        };
        let reason = field("reason")
            .or_else(|| field("statement"))
            .unwrap_or_default();
        if reason.trim().is_empty() {
            bail!(
                "{at} ({id}): give a `reason` (why the risk is accepted), so the gate can say it"
            );
        }
        let expires = match field("expires").or_else(|| field("expired_at")) {
            Some(d) => Some(date(&d).with_context(|| at.clone())?),
            None => None,
        };
        let mut packages: Vec<String> = field("package").into_iter().collect();
        if let Some(Value::Sequence(purls)) = entry.get("purls") {
            packages.extend(purls.iter().filter_map(|p| p.as_str().map(str::to_owned)));
        }
        if packages.is_empty() {
            packages.push(String::new());
        }
        for p in packages {
            out.push(Exception {
                id: id.clone(),
                package: (!p.is_empty()).then_some(p),
                reason: reason.clone(),
                expires,
                source: at.clone(),
            });
        }
    }
    Ok(out)
}

fn date(text: &str) -> Result<NaiveDate> {
    let day = text.get(..10).unwrap_or(text);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .with_context(|| format!("`{text}` is not a date (YYYY-MM-DD)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivyignore_lines_with_comments_and_dates() {
        let e = parse(
            ".trivyignore",
            "# accepted\nCVE-2019-14697\n\nCVE-2019-1549 exp:2020-01-31 # until the rebuild\n",
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].id, "CVE-2019-14697");
        assert_eq!(e[0].expires, None);
        assert_eq!(e[1].expires, NaiveDate::from_ymd_opt(2020, 1, 31));
        assert_eq!(e[1].source, ".trivyignore:4");
        assert!(e[1].expired(NaiveDate::from_ymd_opt(2020, 2, 1).unwrap()));
        assert!(!e[1].expired(NaiveDate::from_ymd_opt(2020, 1, 31).unwrap()));
    }

    #[test]
    fn yaml_entries_need_an_id_and_a_reason() {
        let e = parse(
            "x.yaml",
            "vulnerabilities:\n  - id: CVE-1\n    package: musl\n    reason: not reachable\n    expires: 2030-01-01\n",
        )
        .unwrap();
        assert_eq!(e[0].package.as_deref(), Some("musl"));
        let err = parse("x.yaml", "- id: CVE-1\n").unwrap_err().to_string();
        assert!(err.contains("give a `reason`"), "{err}");
        let err = parse(".trivyignore", "CVE-1 because\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`because` is not understood"), "{err}");
    }
}
