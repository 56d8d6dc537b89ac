//! Globs with picomatch's meaning (`{ dot: true }`, POSIX), compiled once.
//!
//! ```
//! use bitvault_path_filter::glob::Glob;
//!
//! let g = Glob::new("src/**/*.{ts,tsx}").unwrap();
//! assert!(g.is_match("src/app/main.tsx").unwrap());
//! assert!(g.is_match("src/.hidden/a.ts").unwrap()); // `dot: true`
//! assert!(!g.is_match("docs/a.ts").unwrap());
//! assert!(Glob::new("!**/*.md").unwrap().is_match("src/a.rs").unwrap());
//! ```
//!
//! Matching can fail: a pattern whose regex needs backtracking (an extglob
//! `!(…)` inside a repeated one, say) may give up on a long path. That is a
//! [`MatchError`], never a silent "no match".
//!
//! Paths are git's: relative, `/`-separated. One known difference with
//! picomatch: JavaScript regexes count UTF-16 code units, so there `?`
//! (and a one-character class) cannot match a character outside the Basic
//! Multilingual Plane (an emoji) while here it matches any one character.

mod jsregex;
mod picomatch;

use std::collections::HashMap;
use std::fmt;

use picomatch::Marker;

/// A glob picomatch would refuse, or one we cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobError {
    pub pattern: String,
    pub reason: String,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pattern {:?} {}", self.pattern, self.reason)
    }
}

impl std::error::Error for GlobError {}

/// The longest glob accepted, in bytes (picomatch's own limit, 65536
/// UTF-16 units, is far past what a path filter needs and lets one pattern
/// cost megabytes of regex).
pub const MAX_PATTERN_BYTES: usize = 4096;

/// A glob that could not tell whether it matches a path: its regex gave up
/// (fancy-regex's backtracking limit) or could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchError {
    pub pattern: String,
    pub path: String,
    pub reason: String,
}

impl fmt::Display for MatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pattern {:?} on path {:?}: {}",
            self.pattern, self.path, self.reason
        )
    }
}

impl std::error::Error for MatchError {}

impl MatchError {
    fn gave_up(pattern: &str, path: &str, e: &str) -> MatchError {
        MatchError {
            pattern: pattern.to_string(),
            path: path.to_string(),
            reason: format!(
                "the regular expression this glob compiles to gave up ({e}), so whether the path matches is unknown; simplify the pattern: avoid `!(…)` inside a repeated extglob such as `*(…)` or `+(…)`, avoid repeated groups of overlapping alternatives such as `+(a|aa)`, or split it into several simpler patterns"
            ),
        }
    }
}

#[derive(Debug, Clone)]
enum Matcher {
    Regex(regex::Regex),
    Fancy(Box<fancy_regex::Regex>),
    Never,
}

impl Matcher {
    /// Translates a picomatch body; `None` when JavaScript rejects it.
    fn translate(
        js_body: &str,
        pattern: &str,
        dot_any: bool,
    ) -> Result<Option<jsregex::Translated>, GlobError> {
        let js = format!("^(?:{js_body})$");
        match jsregex::translate_with(&js, false, dot_any) {
            Ok(t) => Ok(Some(t)),
            Err(jsregex::JsError::Syntax(_)) => Ok(None),
            Err(jsregex::JsError::Unsupported(what)) => Err(GlobError {
                pattern: pattern.to_string(),
                reason: format!(
                    "uses regular-expression syntax path-filter does not support ({what})"
                ),
            }),
        }
    }

    fn compile(t: Option<&jsregex::Translated>, pattern: &str) -> Result<Matcher, GlobError> {
        let Some(t) = t else {
            return Ok(Matcher::Never);
        };
        let unsupported = |e: String| GlobError {
            pattern: pattern.to_string(),
            reason: format!("compiles to a regular expression path-filter cannot run: {e}"),
        };
        Ok(if t.fancy {
            Matcher::Fancy(Box::new(
                fancy_regex::Regex::new(&t.rust).map_err(|e| unsupported(e.to_string()))?,
            ))
        } else {
            Matcher::Regex(regex::Regex::new(&t.rust).map_err(|e| unsupported(e.to_string()))?)
        })
    }

    /// Fails when the backtracking engine gives up (its backtrack limit or
    /// stack), which says nothing about whether the path matches; the
    /// error is fancy-regex's message.
    fn is_match(&self, path: &str) -> Result<bool, String> {
        match self {
            Matcher::Regex(r) => Ok(r.is_match(path)),
            Matcher::Fancy(r) => r.is_match(path).map_err(|e| e.to_string()),
            Matcher::Never => Ok(false),
        }
    }
}

/// One compiled glob.
#[derive(Debug, Clone)]
pub struct Glob {
    pattern: String,
    negated: bool,
    valid: bool,
    js_source: String,
    /// Right on every path; compiled on first use (paths git reports are
    /// normal, so usually never).
    exact_source: Option<jsregex::Translated>,
    exact: std::sync::OnceLock<Result<Matcher, GlobError>>,
    /// Right on normal paths (see [`is_normal_path`]); often lookaround-free.
    tame: Matcher,
    /// For a [`GlobSet`]: `tame` without lookarounds (a superset on normal
    /// paths), where its required literals are read from.
    set_source: Option<String>,
}

/// A path git can report: not empty, no empty, `.` or `..` segment, no line
/// terminator. On these, picomatch's guard lookaheads never fail.
pub fn is_normal_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

fn has_line_terminator(path: &str) -> bool {
    path.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
}

impl Glob {
    /// Compiles `pattern`. Fails where picomatch throws (empty), when longer
    /// than [`MAX_PATTERN_BYTES`], and for the rare regex syntax we do not
    /// run (backreferences).
    /// A pattern that picomatch turns into an invalid regex is accepted and,
    /// like picomatch, matches only the path spelled exactly like it; see
    /// [`Glob::is_valid_regex`].
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.len() > MAX_PATTERN_BYTES {
            return Err(GlobError {
                pattern: truncated(pattern),
                reason: format!(
                    "is {} bytes long, over the limit of {MAX_PATTERN_BYTES} bytes for one glob; split it into several shorter patterns",
                    pattern.len()
                ),
            });
        }
        let compiled = picomatch::compile(pattern).map_err(|r| GlobError {
            pattern: pattern.to_string(),
            reason: match r {
                picomatch::Refusal::Empty => "is empty".to_string(),
                picomatch::Refusal::TooLong(n) => {
                    format!("is {n} characters long, over picomatch's 65536")
                }
            },
        })?;
        let mut exact_body = compiled.output.clone();
        let mut tame_body = compiled.output.clone();
        if compiled.markers {
            for m in Marker::ALL {
                exact_body = exact_body.replace(m.placeholder(), m.expansion());
                tame_body = tame_body.replace(m.placeholder(), "");
            }
        }
        let exact_source = Matcher::translate(&exact_body, pattern, false)?;
        let valid = exact_source.is_some();
        let tame = Matcher::compile(
            Matcher::translate(&tame_body, pattern, true)?.as_ref(),
            pattern,
        )?;
        let set_source = if valid {
            jsregex::translate_with(&format!("^(?:{tame_body})$"), true, true)
                .ok()
                .map(|t| t.rust)
        } else {
            None
        };
        Ok(Glob {
            pattern: pattern.to_string(),
            negated: compiled.negated,
            valid,
            js_source: exact_body,
            exact_source,
            exact: std::sync::OnceLock::new(),
            tame,
            set_source,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// A leading `!`: the glob matches the paths its rest does not.
    pub fn is_negated(&self) -> bool {
        self.negated
    }

    /// False when picomatch would compile this glob to a regex JavaScript
    /// rejects (`[z-a]`, `a**(`...): then it only matches itself, literally.
    pub fn is_valid_regex(&self) -> bool {
        self.valid
    }

    /// The JavaScript regex body picomatch builds (for messages and tests).
    pub fn js_source(&self) -> &str {
        &self.js_source
    }

    /// Whether the glob matches `path`. Fails, naming the pattern and the
    /// path, when its regex cannot tell (see [`MatchError`]).
    pub fn is_match(&self, path: &str) -> Result<bool, MatchError> {
        if path.is_empty() {
            return Ok(false);
        }
        if path == self.pattern {
            return Ok(true);
        }
        let inner = if is_normal_path(path) {
            self.tame_match(path)?
        } else {
            let exact = self
                .exact
                .get_or_init(|| Matcher::compile(self.exact_source.as_ref(), &self.pattern))
                .as_ref()
                .map_err(|e| MatchError {
                    pattern: self.pattern.clone(),
                    path: path.to_string(),
                    reason: format!(
                        "{}, which this path (not one git reports: an empty, `.` or `..` segment, or a line break) needs; simplify the pattern",
                        e.reason
                    ),
                })?;
            exact
                .is_match(path)
                .map_err(|e| MatchError::gave_up(&self.pattern, path, &e))?
        };
        Ok(self.finish(inner, path))
    }

    /// The `tame` matcher (right on normal paths), before negation.
    fn tame_match(&self, path: &str) -> Result<bool, MatchError> {
        self.tame
            .is_match(path)
            .map_err(|e| MatchError::gave_up(&self.pattern, path, &e))
    }

    fn finish(&self, inner: bool, path: &str) -> bool {
        if !self.valid {
            return false;
        }
        if self.negated {
            !inner && !has_line_terminator(path)
        } else {
            inner
        }
    }
}

/// The start of an over-long pattern, for its error message.
fn truncated(pattern: &str) -> String {
    const SHOWN: usize = 80;
    if pattern.len() <= SHOWN {
        return pattern.to_string();
    }
    let mut end = SHOWN;
    while !pattern.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &pattern[..end])
}

/// Substrings every (normal) path a glob matches contains, as
/// alternatives: a path holding none of them cannot match.
fn required_literals(set_source: Option<&str>) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::ExtractKind;
    let hir = regex_syntax::parse(set_source?).ok()?;
    let mut options: Vec<Vec<Vec<u8>>> = Vec::new();
    options.extend(literals(&hir, ExtractKind::Prefix));
    options.extend(literals(&hir, ExtractKind::Suffix));
    let mut inner = Vec::new();
    required_substrings(&hir, &mut inner);
    if let Some(best) = inner.into_iter().max_by_key(Vec::len) {
        options.push(vec![best]);
    }
    // The most selective: the longest shortest alternative.
    options
        .into_iter()
        .filter(|o| !o.is_empty() && o.iter().all(|l| !l.is_empty()))
        .max_by_key(|o| o.iter().map(Vec::len).min().unwrap_or(0))
}

fn literals(
    hir: &regex_syntax::hir::Hir,
    kind: regex_syntax::hir::literal::ExtractKind,
) -> Option<Vec<Vec<u8>>> {
    let seq = regex_syntax::hir::literal::Extractor::new()
        .kind(kind)
        .extract(hir);
    let lits = seq.literals()?;
    if lits.is_empty() || lits.iter().any(|l| l.as_bytes().is_empty()) || lits.len() > 64 {
        return None;
    }
    Some(lits.iter().map(|l| l.as_bytes().to_vec()).collect())
}

/// Literal runs that appear in every match (in a top-level concatenation,
/// a group, or a repetition of at least one).
fn required_substrings(hir: &regex_syntax::hir::Hir, out: &mut Vec<Vec<u8>>) {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Literal(l) => out.push(l.0.to_vec()),
        HirKind::Capture(c) => required_substrings(&c.sub, out),
        HirKind::Repetition(r) if r.min >= 1 => required_substrings(&r.sub, out),
        HirKind::Concat(subs) => {
            let mut run: Vec<u8> = Vec::new();
            for sub in subs {
                match sub.kind() {
                    HirKind::Literal(l) => run.extend_from_slice(&l.0),
                    HirKind::Look(_) => {}
                    _ => {
                        if !run.is_empty() {
                            out.push(std::mem::take(&mut run));
                        }
                        required_substrings(sub, out);
                    }
                }
            }
            if !run.is_empty() {
                out.push(run);
            }
        }
        _ => {}
    }
}

/// Many globs matched against a path at once. Each glob is indexed by
/// literals its regex requires (`src/`, `.md`, `svc3/`), found in a path
/// with one Aho-Corasick scan, so a path only runs the few globs that can
/// match it.
#[derive(Debug, Clone)]
pub struct GlobSet {
    globs: Vec<Glob>,
    literals: Option<aho_corasick::AhoCorasick>,
    /// For each literal of `literals`, the globs requiring it.
    literal_globs: Vec<Vec<u32>>,
    /// Globs with no usable literal: run on every path.
    always: Vec<u32>,
    negated: Vec<u32>,
    literal: HashMap<String, Vec<u32>>,
}

/// Reusable per-path results of a [`GlobSet`].
#[derive(Debug, Clone, Default)]
pub struct Matches {
    hits: Vec<bool>,
    list: Vec<u32>,
    seen: Vec<u32>,
    stamp: u32,
}

impl Matches {
    /// Whether glob `i` matched the last path.
    pub fn get(&self, i: usize) -> bool {
        self.hits[i]
    }

    /// The globs that matched the last path.
    pub fn matched(&self) -> &[u32] {
        &self.list
    }
}

impl GlobSet {
    pub fn new(globs: Vec<Glob>) -> GlobSet {
        let mut lits: Vec<Vec<u8>> = Vec::new();
        let mut lit_ids: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut literal_globs: Vec<Vec<u32>> = Vec::new();
        let mut always = Vec::new();
        let mut negated = Vec::new();
        let mut literal: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, g) in globs.iter().enumerate() {
            let i = i as u32;
            literal.entry(g.pattern.clone()).or_default().push(i);
            if g.negated {
                negated.push(i);
            }
            if !g.valid {
                continue;
            }
            match required_literals(g.set_source.as_deref()) {
                Some(ls) => {
                    for l in ls {
                        let id = *lit_ids.entry(l.clone()).or_insert_with(|| {
                            lits.push(l);
                            literal_globs.push(Vec::new());
                            lits.len() - 1
                        });
                        if literal_globs[id].last() != Some(&i) {
                            literal_globs[id].push(i);
                        }
                    }
                }
                None => always.push(i),
            }
        }
        let ac = if lits.is_empty() {
            None
        } else {
            aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::Standard)
                .build(&lits)
                .ok()
        };
        if ac.is_none() {
            // Without the automaton every glob runs on every path.
            always = (0..globs.len() as u32)
                .filter(|i| globs[*i as usize].valid)
                .collect();
        }
        GlobSet {
            globs,
            literals: ac,
            literal_globs,
            always,
            negated,
            literal,
        }
    }

    /// How the globs are indexed: (by a required literal, on every path).
    pub fn index_stats(&self) -> (usize, usize) {
        let mut all: Vec<u32> = self.literal_globs.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        (all.len(), self.always.len())
    }

    pub fn len(&self) -> usize {
        self.globs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
    }

    pub fn globs(&self) -> &[Glob] {
        &self.globs
    }

    /// Matches `path` against every glob, into `m`. Fails when a glob
    /// cannot tell (see [`MatchError`]); `m` then holds no match.
    pub fn matches_into(&self, path: &str, m: &mut Matches) -> Result<(), MatchError> {
        let result = self.fill(path, m);
        if result.is_err() {
            for &i in &m.list {
                m.hits[i as usize] = false;
            }
            m.list.clear();
        }
        result
    }

    fn fill(&self, path: &str, m: &mut Matches) -> Result<(), MatchError> {
        let n = self.globs.len();
        if m.hits.len() != n {
            m.hits = vec![false; n];
            m.seen = vec![0; n];
            m.list.clear();
        }
        for &i in &m.list {
            m.hits[i as usize] = false;
        }
        m.list.clear();
        if path.is_empty() {
            return Ok(());
        }
        if !is_normal_path(path) {
            for (i, g) in self.globs.iter().enumerate() {
                if g.is_match(path)? {
                    m.hits[i] = true;
                    m.list.push(i as u32);
                }
            }
            return Ok(());
        }
        m.stamp = m.stamp.wrapping_add(1);
        if m.stamp == 0 {
            m.seen.iter_mut().for_each(|s| *s = 0);
            m.stamp = 1;
        }
        let stamp = m.stamp;
        let bytes = path.as_bytes();
        // `inner` results (before negation) land in `hits` first.
        let try_glob = |g: u32, m: &mut Matches| -> Result<(), MatchError> {
            let gi = g as usize;
            if m.seen[gi] == stamp {
                return Ok(());
            }
            m.seen[gi] = stamp;
            if self.globs[gi].tame_match(path)? {
                m.hits[gi] = true;
                m.list.push(g);
            }
            Ok(())
        };
        if let Some(ac) = &self.literals {
            for hit in ac.find_overlapping_iter(bytes) {
                for &g in &self.literal_globs[hit.pattern().as_usize()] {
                    try_glob(g, m)?;
                }
            }
        }
        for &g in &self.always {
            try_glob(g, m)?;
        }
        // Negated globs match when their body does not.
        for &g in &self.negated {
            let gi = g as usize;
            if !self.globs[gi].valid {
                continue;
            }
            if m.hits[gi] {
                m.hits[gi] = false;
                m.list.retain(|x| *x != g);
            } else {
                m.hits[gi] = true;
                m.list.push(g);
            }
        }
        if let Some(ids) = self.literal.get(path) {
            for &g in ids {
                if !m.hits[g as usize] {
                    m.hits[g as usize] = true;
                    m.list.push(g);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, path: &str) -> bool {
        Glob::new(p).unwrap().is_match(path).unwrap()
    }

    #[test]
    fn basics() {
        assert!(m("**", "a/b/c"));
        assert!(m("**", ".github/workflows/ci.yml"));
        assert!(m("*.js", "a.js"));
        assert!(!m("*.js", "a/b.js"));
        assert!(m("**/*.js", "a/b.js"));
        assert!(m("**/*.js", "b.js"));
        assert!(m("src/**", "src/a/b"));
        assert!(m("src/**", "src"));
        assert!(!m("src/**", "srcx/a"));
        assert!(m("./src/*.rs", "src/a.rs"));
        assert!(m("a/{b,c}/d", "a/c/d"));
        assert!(m("file{1..3}.txt", "file2.txt"));
        assert!(!m("file{1..3}.txt", "file4.txt"));
        assert!(m("[abc].txt", "b.txt"));
        // picomatch 2.3.1 reads `[!a]` as the class of `!` and `a`.
        assert!(m("[!a].txt", "a.txt"));
        assert!(!m("[!a].txt", "b.txt"));
        assert!(m("[^a].txt", "b.txt"));
        assert!(m("[[:digit:]].txt", "7.txt"));
        assert!(m("!(*.md)", "a.rs"));
        assert!(!m("!(*.md)", "a.md"));
        assert!(m("@(a|b).txt", "a.txt"));
        assert!(m("+(a).txt", "aaa.txt"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "a/c"));
        assert!(m("\\*.txt", "*.txt"));
        assert!(!m("\\*.txt", "a.txt"));
        assert!(!m("A.txt", "a.txt"));
        assert!(m("!*.md", "a.rs"));
        assert!(!m("!*.md", "a.md"));
        assert!(m("a b/c d.txt", "a b/c d.txt"));
    }

    #[test]
    fn set_agrees_with_single_globs() {
        let pats = [
            "**", "src/**", "**/*.md", "!**/*.md", "!(*.md)", "*.*", "a/**/b", "[z-a]", "{a,b}/*",
        ];
        let globs: Vec<Glob> = pats.iter().map(|p| Glob::new(p).unwrap()).collect();
        let set = GlobSet::new(globs.clone());
        let mut m = Matches::default();
        for path in [
            "a", "a.md", "src/x.md", "a/b", "a/x/b", "b/c", "[z-a]", "x\ny", "a/./b", "a.", "src",
        ] {
            set.matches_into(path, &mut m).unwrap();
            for (i, g) in globs.iter().enumerate() {
                assert_eq!(
                    g.is_match(path).unwrap(),
                    m.get(i),
                    "{} vs {path:?}",
                    g.pattern()
                );
                assert_eq!(m.get(i), m.matched().contains(&(i as u32)));
            }
        }
    }

    /// Matches every path of `a`s through its `*` branch, but on a long one
    /// the first branch (`!(b)` repeated) backtracks past fancy-regex's
    /// limit before that branch is tried.
    const PATHOLOGICAL: &str = "{*(a|!(b))c,*}";

    fn long_a() -> String {
        "a".repeat(30)
    }

    #[test]
    fn a_glob_that_gives_up_is_an_error_not_a_miss() {
        let g = Glob::new(PATHOLOGICAL).unwrap();
        assert!(g.is_match("aaa").unwrap(), "it matches a short path");
        let err = g.is_match(&long_a()).unwrap_err();
        assert_eq!(err.pattern, PATHOLOGICAL);
        assert_eq!(err.path, long_a());
        let msg = err.to_string();
        assert!(msg.contains(PATHOLOGICAL), "{msg}");
        assert!(msg.contains(&long_a()), "{msg}");
        assert!(msg.contains("backtracking"), "{msg}");
        assert!(msg.contains("simplify the pattern"), "{msg}");
        // Negated, the answer is just as unknown.
        let negated = Glob::new(&format!("!{PATHOLOGICAL}")).unwrap();
        assert!(negated.is_match(&long_a()).is_err());
    }

    #[test]
    fn a_set_holding_a_glob_that_gives_up_fails_and_keeps_no_match() {
        let set = GlobSet::new(vec![
            Glob::new("**").unwrap(),
            Glob::new(PATHOLOGICAL).unwrap(),
        ]);
        let mut m = Matches::default();
        let err = set.matches_into(&long_a(), &mut m).unwrap_err();
        assert_eq!(err.pattern, PATHOLOGICAL);
        assert!(m.matched().is_empty());
        // The same set still answers other paths.
        set.matches_into("aaa", &mut m).unwrap();
        assert_eq!(m.matched().len(), 2);
    }

    #[test]
    fn a_pattern_over_the_length_cap_is_refused_naming_the_limit() {
        let at_cap = "a".repeat(MAX_PATTERN_BYTES);
        assert!(Glob::new(&at_cap).unwrap().is_match(&at_cap).unwrap());
        let over = format!("{at_cap}*");
        let err = Glob::new(&over).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&MAX_PATTERN_BYTES.to_string()), "{msg}");
        assert!(msg.contains(&format!("{} bytes", over.len())), "{msg}");
        assert!(msg.contains("split it"), "{msg}");
        assert!(msg.len() < 400, "the message quotes only the start: {msg}");
        // Bytes, not characters: 2049 two-byte characters are over the cap.
        assert!(Glob::new(&"é".repeat(MAX_PATTERN_BYTES / 2 + 1)).is_err());
        assert!(Glob::new(&"é".repeat(MAX_PATTERN_BYTES / 2)).is_ok());
    }
}
