//! Named filters: parsing the `filters` YAML and matching changed files.
//!
//! The YAML is dorny/paths-filter's: a map of filter name to a pattern, a
//! list of patterns (nested lists, from YAML aliases, are flattened), or a
//! map of change types (`added|modified`) to a pattern or list of patterns.
//!
//! ```
//! use bitvault_path_filter::filter::{ChangedFile, FilterSet, Mode};
//!
//! let (set, warnings) = FilterSet::parse(
//!     "shared: &shared\n  - 'lib/**'\nbackend:\n  - *shared\n  - added|modified: 'api/**'\n",
//!     Mode::Some,
//! )
//! .unwrap();
//! assert!(warnings.is_empty());
//! let files = [ChangedFile::new("api/x.rs", "added"), ChangedFile::new("lib/a.rs", "deleted")];
//! let hits = set.matches(&files).unwrap();
//! assert_eq!(hits[0], vec![1]); // shared: lib/a.rs
//! assert_eq!(hits[1], vec![0, 1]); // backend
//! ```
//!
//! How a file is matched by one filter, with its rules in order:
//! - `some` (default, as dorny): any rule matches. A rule `!x` matches every
//!   file that is *not* `x`, so a filter holding one nearly always matches;
//!   a warning says so.
//! - `every` (as dorny): all rules match.
//! - ordered (our addition): rules apply in order, like `.gitignore` and
//!   GitHub's `on.<event>.paths`: a file is in when the last rule that
//!   speaks about it is a positive pattern; `!x` takes out what earlier rules
//!   put in, and a later positive rule can put it back.

use anyhow::{Context as _, Result, anyhow, bail};
use serde_norway::Value;

use crate::glob::{Glob, GlobSet, MatchError, Matches};

/// The change types dorny reports (git's `A C D M R U`) plus `unknown`
/// (git's `T` type change and `X`), which dorny leaves without a type.
pub const CHANGE_TYPES: &[&str] = &[
    "added", "copied", "deleted", "modified", "renamed", "unmerged", "unknown",
];

/// One changed file: its path and change type (one of [`CHANGE_TYPES`], or
/// what the GitHub API reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub path: String,
    pub status: String,
}

impl ChangedFile {
    pub fn new(path: impl Into<String>, status: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            status: status.into(),
        }
    }
}

/// How the rules of one filter combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Some,
    Every,
    Ordered,
}

#[derive(Debug, Clone)]
struct Rule {
    /// `None`: any change type.
    statuses: Option<Vec<String>>,
    /// Indices into the glob set; the rule matches when any does.
    globs: Vec<usize>,
    /// Ordered mode: this rule takes files out.
    exclude: bool,
}

#[derive(Debug, Clone)]
struct Filter {
    name: String,
    rules: Vec<Rule>,
}

/// The parsed filters, with every glob compiled once into one [`GlobSet`].
#[derive(Debug, Clone)]
pub struct FilterSet {
    filters: Vec<Filter>,
    globs: GlobSet,
    mode: Mode,
    /// For each glob, the filters using it: only those are evaluated.
    users: Vec<Vec<u32>>,
    /// Filters that can match without any glob matching (`every` with no rules).
    unconditional: Vec<u32>,
}

/// The order JavaScript gives an object's keys: integer-like keys first,
/// ascending, then the others as written. dorny walks filters in that
/// order, which is the order of the `changes` output.
fn js_key_rank(key: &str) -> Option<u32> {
    if key == "0" {
        return Some(0);
    }
    if key.is_empty() || key.starts_with('0') || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|n| *n < u32::MAX)
}

/// A YAML scalar used as a key, spelled the way JavaScript would.
fn key_string(key: &Value) -> Result<String> {
    Ok(match key {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 1e21 {
                    format!("{f:.0}")
                } else {
                    f.to_string()
                }
            }
        }
        Value::Tagged(t) => key_string(&t.value)?,
        _ => bail!("a filter name or change-type key must be a plain word, not a list or map"),
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "map",
        Value::Tagged(_) => "tagged value",
    }
}

struct Builder {
    mode: Mode,
    patterns: Vec<String>,
    globs: Vec<Glob>,
    warnings: Vec<String>,
}

impl Builder {
    fn glob(&mut self, pattern: &str, filter: &str) -> Result<usize> {
        if let Some(i) = self.patterns.iter().position(|p| p == pattern) {
            return Ok(i);
        }
        let g =
            Glob::new(pattern).with_context(|| format!("invalid pattern in filter `{filter}`"))?;
        if !g.is_valid_regex() {
            self.warnings.push(format!(
                "filter `{filter}`: pattern {pattern:?} is not a valid glob (picomatch turns it into an invalid regular expression), so it only matches a file named exactly {pattern:?}; check its brackets and parentheses"
            ));
        }
        self.patterns.push(pattern.to_string());
        self.globs.push(g);
        Ok(self.globs.len() - 1)
    }

    /// A rule from one pattern; ordered mode reads `!x` as "take out x".
    fn rule(&mut self, statuses: Option<Vec<String>>, pattern: &str, filter: &str) -> Result<Rule> {
        if self.mode == Mode::Ordered
            && pattern.len() > 1
            && pattern.starts_with('!')
            && !pattern.starts_with("!(")
        {
            let g = self.glob(&pattern[1..], filter)?;
            return Ok(Rule {
                statuses,
                globs: vec![g],
                exclude: true,
            });
        }
        let g = self.glob(pattern, filter)?;
        Ok(Rule {
            statuses,
            globs: vec![g],
            exclude: false,
        })
    }

    fn item(&mut self, item: &Value, filter: &str, out: &mut Vec<Rule>) -> Result<()> {
        match item {
            Value::Sequence(items) => {
                for i in items {
                    self.item(i, filter, out)?;
                }
            }
            Value::String(p) => out.push(self.rule(None, p, filter)?),
            Value::Mapping(map) => {
                for (key, pattern) in map {
                    let key = key_string(key).with_context(|| format!("in filter `{filter}`"))?;
                    let statuses: Vec<String> = key
                        .split('|')
                        .map(|s| s.trim().to_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect();
                    for s in &statuses {
                        if !CHANGE_TYPES.contains(&s.as_str()) {
                            self.warnings.push(format!(
                                "filter `{filter}`: `{s}` is not a change type, so `{key}` never matches it; use {}",
                                CHANGE_TYPES.join(", ")
                            ));
                        }
                    }
                    let mut patterns = Vec::new();
                    flatten_patterns(pattern, filter, &key, &mut patterns)?;
                    if self.mode == Mode::Ordered {
                        for p in &patterns {
                            out.push(self.rule(Some(statuses.clone()), p, filter)?);
                        }
                    } else {
                        let globs = patterns
                            .iter()
                            .map(|p| self.glob(p, filter))
                            .collect::<Result<Vec<_>>>()?;
                        out.push(Rule {
                            statuses: Some(statuses),
                            globs,
                            exclude: false,
                        });
                    }
                }
            }
            Value::Tagged(t) => self.item(&t.value, filter, out)?,
            other => bail!(
                "filter `{filter}`: expected a pattern, a list of patterns or a map of change types to patterns, found a {} ({})",
                kind(other),
                serde_norway::to_string(other).unwrap_or_default().trim()
            ),
        }
        Ok(())
    }
}

/// The right-hand side of `added|modified: ...`: a pattern or (nested)
/// list of patterns, as picomatch accepts it.
fn flatten_patterns(v: &Value, filter: &str, key: &str, out: &mut Vec<String>) -> Result<()> {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(items) => {
            for i in items {
                flatten_patterns(i, filter, key, out)?;
            }
        }
        Value::Tagged(t) => flatten_patterns(&t.value, filter, key, out)?,
        other => bail!(
            "filter `{filter}`: `{key}:` must be followed by a pattern or a list of patterns, found a {}",
            kind(other)
        ),
    }
    Ok(())
}

impl FilterSet {
    /// Parses the filters YAML. Returns the filters and warnings for the
    /// user (patterns that cannot mean what they say).
    pub fn parse(yaml: &str, mode: Mode) -> Result<(FilterSet, Vec<String>)> {
        let mut doc: Value =
            serde_norway::from_str(yaml).context("the `filters` input is not valid YAML")?;
        doc.apply_merge()
            .context("cannot apply the `<<` merge keys in `filters`")?;
        let Value::Mapping(map) = doc else {
            bail!(
                "the `filters` input must be a YAML map of filter names to patterns (for example `src: 'src/**'`), but it is a {}",
                kind(&doc)
            );
        };
        let mut b = Builder {
            mode,
            patterns: Vec::new(),
            globs: Vec::new(),
            warnings: Vec::new(),
        };
        let mut entries: Vec<(String, &Value)> = Vec::new();
        for (k, v) in &map {
            let name = key_string(k).context("in `filters`")?;
            if entries.iter().any(|(n, _)| *n == name) {
                bail!("the filter `{name}` is defined twice in `filters`");
            }
            entries.push((name, v));
        }
        // Stable: integer-like names first, ascending; the rest as written.
        entries.sort_by_key(|(name, _)| match js_key_rank(name) {
            Some(n) => (0, n),
            None => (1, 0),
        });
        let mut filters = Vec::new();
        for (name, item) in entries {
            let mut rules = Vec::new();
            b.item(item, &name, &mut rules)?;
            filters.push(Filter { name, rules });
        }
        if mode == Mode::Some {
            for f in &filters {
                let negated: Vec<&str> = f
                    .rules
                    .iter()
                    .flat_map(|r| r.globs.iter())
                    .filter(|g| b.globs[**g].is_negated())
                    .map(|g| b.patterns[*g].as_str())
                    .collect();
                if let Some(first) = negated.first() {
                    let all = negated.len() == f.rules.iter().map(|r| r.globs.len()).sum::<usize>();
                    let what = if all {
                        "this filter (only `!` rules)"
                    } else {
                        "this filter"
                    };
                    b.warnings.push(format!(
                        "filter `{}`: with `predicate-quantifier: some` the rule {first:?} matches every file it does not exclude, so {what} matches nearly any change; set `predicate-quantifier: every` (all rules must match) or `ordered: true` (later `!` rules take files out)",
                        f.name,
                    ));
                }
            }
        }
        let warnings = std::mem::take(&mut b.warnings);
        Ok((FilterSet::assemble(filters, b.globs, mode), warnings))
    }

    /// The set of `filters` over `globs`, with each glob's users indexed.
    fn assemble(filters: Vec<Filter>, globs: Vec<Glob>, mode: Mode) -> FilterSet {
        let mut users = vec![Vec::new(); globs.len()];
        let mut unconditional = Vec::new();
        for (k, f) in filters.iter().enumerate() {
            let k = k as u32;
            if f.rules.is_empty() {
                unconditional.push(k);
            }
            for g in f.rules.iter().flat_map(|r| r.globs.iter()) {
                if users[*g].last() != Some(&k) {
                    users[*g].push(k);
                }
            }
        }
        FilterSet {
            filters,
            globs: GlobSet::new(globs),
            mode,
            users,
            unconditional,
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.filters.iter().map(|f| f.name.as_str())
    }

    pub fn len(&self) -> usize {
        self.filters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// The compiled globs of all filters.
    pub fn globs(&self) -> &GlobSet {
        &self.globs
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// For each filter (in [`FilterSet::names`] order), the indices of the
    /// files it matches, in the order of `files`. Fails when a glob cannot
    /// tell whether it matches a file (see [`crate::glob::MatchError`]): an
    /// unknown answer is never taken as "no match".
    pub fn matches(&self, files: &[ChangedFile]) -> Result<Vec<Vec<usize>>> {
        let mut out = vec![Vec::new(); self.filters.len()];
        let mut m = Matches::default();
        let mut stamp = vec![usize::MAX; self.filters.len()];
        let mut touched = Vec::new();
        for (fi, file) in files.iter().enumerate() {
            self.globs
                .matches_into(&file.path, &mut m)
                .map_err(|e| self.match_error(e))?;
            // A filter none of whose globs matched cannot match (except an
            // empty `every` filter), so only the touched ones are checked.
            touched.clear();
            for &g in m.matched().iter() {
                for &k in &self.users[g as usize] {
                    if stamp[k as usize] != fi {
                        stamp[k as usize] = fi;
                        touched.push(k);
                    }
                }
            }
            touched.extend(
                self.unconditional
                    .iter()
                    .copied()
                    .filter(|k| stamp[*k as usize] != fi),
            );
            for &k in &touched {
                if self.filter_matches(&self.filters[k as usize], file, &m) {
                    out[k as usize].push(fi);
                }
            }
        }
        Ok(out)
    }

    /// `e`, prefixed with the filters using its pattern.
    fn match_error(&self, e: MatchError) -> anyhow::Error {
        let names: Vec<String> = self
            .globs
            .globs()
            .iter()
            .enumerate()
            .filter(|(_, g)| g.pattern() == e.pattern)
            .flat_map(|(i, _)| self.users[i].iter())
            .map(|&k| format!("`{}`", self.filters[k as usize].name))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if names.is_empty() {
            anyhow!(e)
        } else {
            anyhow!("filter {}: {e}", names.join(", "))
        }
    }

    fn filter_matches(&self, f: &Filter, file: &ChangedFile, hits: &Matches) -> bool {
        let rule_matches = |r: &Rule| {
            r.statuses.as_ref().is_none_or(|s| s.contains(&file.status))
                && r.globs.iter().any(|g| hits.get(*g))
        };
        match self.mode {
            Mode::Some => f.rules.iter().any(rule_matches),
            Mode::Every => f.rules.iter().all(rule_matches),
            Mode::Ordered => {
                let mut inside = false;
                for r in &f.rules {
                    if rule_matches(r) {
                        inside = !r.exclude;
                    }
                }
                inside
            }
        }
    }
}

/// An ordered list of patterns, read as `.gitignore` and GitHub's
/// `on.<event>.paths` read theirs (and as a filter with `ordered: true`):
/// a path is in when the last pattern that speaks about it is a positive
/// one; `!x` takes out what earlier patterns put in, and a later positive
/// pattern puts it back. Each glob is compiled once.
///
/// ```
/// use bitvault_path_filter::filter::OrderedGlobs;
///
/// let (globs, _warnings) = OrderedGlobs::new("paths", &["src/**", "!**/*.md", "src/README.md"]).unwrap();
/// assert!(globs.try_is_match("src/a.rs").unwrap());
/// assert!(!globs.try_is_match("src/notes.md").unwrap());
/// assert!(globs.is_match("src/README.md"));
/// assert!(!globs.is_match("docs/a.rs"));
/// ```
#[derive(Debug, Clone)]
pub struct OrderedGlobs {
    set: FilterSet,
}

impl OrderedGlobs {
    /// Compiles `patterns`; `what` names them in messages. Returns the
    /// list and warnings (patterns that are not valid globs).
    pub fn new<S: AsRef<str>>(what: &str, patterns: &[S]) -> Result<(Self, Vec<String>)> {
        let mut b = Builder {
            mode: Mode::Ordered,
            patterns: Vec::new(),
            globs: Vec::new(),
            warnings: Vec::new(),
        };
        let mut rules = Vec::new();
        for p in patterns {
            rules.push(b.rule(None, p.as_ref(), what)?);
        }
        let filters = vec![Filter {
            name: what.to_string(),
            rules,
        }];
        let set = FilterSet::assemble(filters, b.globs, Mode::Ordered);
        Ok((Self { set }, b.warnings))
    }

    /// Whether the path is in. Fails, naming the pattern and the path, when
    /// a glob cannot tell (see [`crate::glob::MatchError`]).
    pub fn try_is_match(&self, path: &str) -> Result<bool> {
        let mut m = Matches::default();
        self.set
            .globs
            .matches_into(path, &mut m)
            .map_err(|e| self.set.match_error(e))?;
        let file = ChangedFile::new(path, "modified");
        Ok(self.set.filter_matches(&self.set.filters[0], &file, &m))
    }

    /// [`OrderedGlobs::try_is_match`] for callers that cannot fail: a glob
    /// that cannot tell counts as not matching, and the other patterns still
    /// decide. Prefer `try_is_match`, which does not guess.
    pub fn is_match(&self, path: &str) -> bool {
        self.try_is_match(path).unwrap_or_else(|_| {
            let globs = self.set.globs.globs();
            let mut inside = false;
            for r in &self.set.filters[0].rules {
                if r.globs
                    .iter()
                    .any(|&g| globs[g].is_match(path).unwrap_or(false))
                {
                    inside = !r.exclude;
                }
            }
            inside
        })
    }
}

/// Parses `predicate-quantifier` and `ordered` into a [`Mode`].
pub fn mode_from_inputs(quantifier: &str, ordered: bool) -> Result<Mode> {
    let q = match quantifier {
        "some" => Mode::Some,
        "every" => Mode::Every,
        other => {
            return Err(anyhow!(
                "input `predicate-quantifier`: must be `some` or `every`, got {other:?}"
            ));
        }
    };
    if ordered {
        if q == Mode::Every {
            bail!(
                "`ordered: true` and `predicate-quantifier: every` cannot be combined: ordered rules already decide file by file; drop one of them"
            );
        }
        return Ok(Mode::Ordered);
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(set: &FilterSet, files: &[ChangedFile]) -> Vec<(String, Vec<String>)> {
        let hits = set.matches(files).unwrap();
        set.names()
            .zip(hits)
            .map(|(n, h)| {
                (
                    n.to_string(),
                    h.into_iter().map(|i| files[i].path.clone()).collect(),
                )
            })
            .collect()
    }

    fn files(list: &[(&str, &str)]) -> Vec<ChangedFile> {
        list.iter().map(|(p, s)| ChangedFile::new(*p, *s)).collect()
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let yaml = "shared: &shared\n  - 'common/**'\n  - config/**\napp:\n  - *shared\n  - 'app/**'\nbase: &b { added: 'x/**' }\nderived:\n  <<: *b\n  deleted: 'y/**'\n";
        let (set, w) = FilterSet::parse(yaml, Mode::Some).unwrap();
        assert!(w.is_empty(), "{w:?}");
        let f = files(&[
            ("common/a", "modified"),
            ("app/b", "added"),
            ("x/1", "added"),
            ("y/1", "deleted"),
            ("y/2", "added"),
        ]);
        let got = names(&set, &f);
        assert_eq!(got[0], ("shared".into(), vec!["common/a".to_string()]));
        assert_eq!(
            got[1],
            (
                "app".into(),
                vec!["common/a".to_string(), "app/b".to_string()]
            )
        );
        assert_eq!(got[2].1, vec!["x/1".to_string()]);
        assert_eq!(got[3].1, vec!["x/1".to_string(), "y/1".to_string()]);
    }

    #[test]
    fn change_types() {
        let yaml = "a:\n  - added|modified: '**/*.rs'\nb:\n  - deleted: ['**/*.md', 'docs/**']\nc:\n  - ADDED | Copied : '**'\n";
        let (set, w) = FilterSet::parse(yaml, Mode::Some).unwrap();
        assert!(w.is_empty());
        let f = files(&[
            ("x.rs", "added"),
            ("y.rs", "deleted"),
            ("docs/z", "deleted"),
            ("q", "copied"),
        ]);
        let got = names(&set, &f);
        assert_eq!(got[0].1, vec!["x.rs"]);
        assert_eq!(got[1].1, vec!["docs/z"]);
        assert_eq!(got[2].1, vec!["x.rs", "q"]);
        let (_, w) = FilterSet::parse("a:\n  - add: '**'\n", Mode::Some).unwrap();
        assert!(w[0].contains("`add` is not a change type"), "{w:?}");
    }

    #[test]
    fn quantifiers_and_the_negation_pitfall() {
        let yaml = "backend:\n  - 'pkg/**'\n  - '!**/*.md'\n";
        let f = files(&[
            ("pkg/a.go", "modified"),
            ("pkg/README.md", "modified"),
            ("docs/x.md", "added"),
            ("web/y.js", "added"),
        ]);
        let (some, w) = FilterSet::parse(yaml, Mode::Some).unwrap();
        assert_eq!(
            names(&some, &f)[0].1,
            vec!["pkg/a.go", "pkg/README.md", "web/y.js"]
        );
        assert!(
            w[0].contains("`backend`") && w[0].contains("predicate-quantifier: every"),
            "{w:?}"
        );
        let (every, w) = FilterSet::parse(yaml, Mode::Every).unwrap();
        assert!(w.is_empty());
        assert_eq!(names(&every, &f)[0].1, vec!["pkg/a.go"]);
        let (ordered, w) = FilterSet::parse(yaml, Mode::Ordered).unwrap();
        assert!(w.is_empty());
        assert_eq!(names(&ordered, &f)[0].1, vec!["pkg/a.go"]);

        let (_, w) = FilterSet::parse("docs_free:\n  - '!docs/**'\n", Mode::Some).unwrap();
        assert!(w[0].contains("only `!` rules"), "{w:?}");
        // `!(...)` is an extglob, not a negation.
        let (_, w) = FilterSet::parse("x:\n  - '!(*.md)'\n", Mode::Some).unwrap();
        assert!(w.is_empty());
    }

    #[test]
    fn ordered_mode_reincludes() {
        let yaml = "f:\n  - 'src/**'\n  - '!src/**/*.md'\n  - 'src/keep.md'\n  - deleted: '!src/gone/**'\n";
        let (set, _) = FilterSet::parse(yaml, Mode::Ordered).unwrap();
        let f = files(&[
            ("src/a.rs", "added"),
            ("src/b.md", "added"),
            ("src/keep.md", "modified"),
            ("src/gone/x", "deleted"),
            ("src/gone/y", "added"),
        ]);
        assert_eq!(
            names(&set, &f)[0].1,
            vec!["src/a.rs", "src/keep.md", "src/gone/y"]
        );
    }

    #[test]
    fn javascript_key_order_and_odd_keys() {
        let (set, _) = FilterSet::parse("b: x\n10: x\na: x\n2: x\ntrue: x\n", Mode::Some).unwrap();
        assert_eq!(
            set.names().collect::<Vec<_>>(),
            ["2", "10", "b", "a", "true"]
        );
        // An empty list matches nothing under `some`, everything under `every`.
        let f = files(&[("a", "added")]);
        let (s, _) = FilterSet::parse("e: []\n", Mode::Some).unwrap();
        assert!(s.matches(&f).unwrap()[0].is_empty());
        let (s, _) = FilterSet::parse("e: []\n", Mode::Every).unwrap();
        assert_eq!(s.matches(&f).unwrap()[0], vec![0]);
    }

    #[test]
    fn clear_errors() {
        for (yaml, needle) in [
            ("- a\n- b\n", "must be a YAML map"),
            ("just text", "must be a YAML map"),
            ("a: 1\n", "found a number"),
            ("a:\n  - null\n", "found a null"),
            ("a: ''\n", "is empty"),
            ("a:\n  added: 3\n", "must be followed by a pattern"),
            ("a: [\n", "not valid YAML"),
            ("a: x\na: y\n", "duplicate"),
        ] {
            let err = format!("{:#}", FilterSet::parse(yaml, Mode::Some).unwrap_err());
            assert!(err.contains(needle), "{yaml:?}: {err}");
        }
    }

    /// Matches any path of `a`s (its `*` branch), but gives up on a long one.
    const GIVES_UP: &str = "{*(a|!(b))c,*}";

    #[test]
    fn a_glob_that_gives_up_fails_the_match_naming_filter_pattern_and_path() {
        let long = "a".repeat(30);
        let yaml = format!("docs: 'docs/**'\nletters:\n  - '{GIVES_UP}'\n");
        for mode in [Mode::Some, Mode::Every, Mode::Ordered] {
            let (set, _) = FilterSet::parse(&yaml, mode).unwrap();
            assert_eq!(
                set.matches(&files(&[("aaa", "added")])).unwrap(),
                vec![vec![], vec![0]]
            );
            let err = set
                .matches(&files(&[("docs/a.md", "added"), (&long, "added")]))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("filter `letters`: "), "{err}");
            assert!(err.contains(GIVES_UP), "{err}");
            assert!(err.contains(&format!("{long:?}")), "{err}");
            assert!(err.contains("simplify the pattern"), "{err}");
        }
    }

    #[test]
    fn ordered_globs_say_when_a_glob_gives_up() {
        let long = "a".repeat(30);
        let (globs, _) = OrderedGlobs::new("paths", &["docs/**", GIVES_UP]).unwrap();
        assert!(globs.try_is_match("aaa").unwrap());
        assert!(globs.try_is_match("docs/x").unwrap());
        let err = globs.try_is_match(&long).unwrap_err().to_string();
        assert!(err.starts_with("filter `paths`: "), "{err}");
        assert!(err.contains(GIVES_UP) && err.contains(&long), "{err}");
        // `is_match` cannot fail: the glob that gave up counts as no match,
        // and the other patterns still decide.
        assert!(!globs.is_match(&long));
        let (globs, _) = OrderedGlobs::new("paths", &["**", GIVES_UP]).unwrap();
        assert!(globs.try_is_match(&long).is_err());
        assert!(globs.is_match(&long));
        let (globs, _) = OrderedGlobs::new("paths", &["**", GIVES_UP, "!a*"]).unwrap();
        assert!(!globs.is_match(&long));
        assert!(globs.is_match("docs/x"));
    }

    #[test]
    fn a_pattern_over_the_length_cap_is_refused_in_the_filters() {
        let long = format!("src/{}", "x".repeat(crate::glob::MAX_PATTERN_BYTES));
        let err = format!(
            "{:#}",
            FilterSet::parse(&format!("src: '{long}'\n"), Mode::Some).unwrap_err()
        );
        assert!(err.contains("filter `src`"), "{err}");
        assert!(err.contains("over the limit of 4096 bytes"), "{err}");
    }

    /// A "billion laughs" filters YAML (each alias list holding ten of the
    /// one before) is refused by the YAML parser's alias cap, quickly,
    /// instead of expanding to 10^9 patterns.
    #[test]
    fn a_billion_laughs_filters_yaml_is_refused() {
        let mut yaml = String::from("a0: &a0 ['x/**']\n");
        for i in 1..=9 {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 10].join(", ");
            yaml.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        let err = format!("{:#}", FilterSet::parse(&yaml, Mode::Some).unwrap_err());
        assert!(err.contains("repetition limit"), "{err}");
        // Nesting deeper than the parser's limit (128) is refused too.
        let deep = format!("a: {}'x'{}\n", "[".repeat(200), "]".repeat(200));
        let err = format!("{:#}", FilterSet::parse(&deep, Mode::Some).unwrap_err());
        assert!(err.contains("recursion limit"), "{err}");
    }
}
