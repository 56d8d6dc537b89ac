//! Globs with picomatch's meaning (`{ dot: true }`, POSIX), compiled once.
//!
//! ```
//! use bitvault_path_filter::glob::Glob;
//!
//! let g = Glob::new("src/**/*.{ts,tsx}").unwrap();
//! assert!(g.is_match("src/app/main.tsx"));
//! assert!(g.is_match("src/.hidden/a.ts")); // `dot: true`
//! assert!(!g.is_match("docs/a.ts"));
//! assert!(Glob::new("!**/*.md").unwrap().is_match("src/a.rs"));
//! ```
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

#[derive(Debug, Clone)]
enum Matcher {
    Regex(regex::Regex),
    Fancy(Box<fancy_regex::Regex>),
    Never,
}

impl Matcher {
    fn build(js_body: &str, pattern: &str) -> Result<(Matcher, bool), GlobError> {
        let js = format!("^(?:{js_body})$");
        let t = match jsregex::translate(&js, false) {
            Ok(t) => t,
            Err(jsregex::JsError::Syntax(_)) => return Ok((Matcher::Never, false)),
            Err(jsregex::JsError::Unsupported(what)) => {
                return Err(GlobError {
                    pattern: pattern.to_string(),
                    reason: format!("uses regular-expression syntax path-filter does not support ({what})"),
                });
            }
        };
        let unsupported = |e: String| GlobError {
            pattern: pattern.to_string(),
            reason: format!("compiles to a regular expression path-filter cannot run: {e}"),
        };
        let m = if t.fancy {
            Matcher::Fancy(Box::new(fancy_regex::Regex::new(&t.rust).map_err(|e| unsupported(e.to_string()))?))
        } else {
            Matcher::Regex(regex::Regex::new(&t.rust).map_err(|e| unsupported(e.to_string()))?)
        };
        Ok((m, true))
    }

    fn is_match(&self, path: &str) -> bool {
        match self {
            Matcher::Regex(r) => r.is_match(path),
            // A backtracking limit hit counts as no match.
            Matcher::Fancy(r) => r.is_match(path).unwrap_or(false),
            Matcher::Never => false,
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
    /// Right on every path.
    exact: Matcher,
    /// Right on normal paths (see [`is_normal_path`]); often lookaround-free.
    tame: Matcher,
    /// For a [`GlobSet`]: `tame` without lookarounds (a superset on normal paths).
    set_source: Option<String>,
    /// `set_source` is exactly `tame`.
    set_exact: bool,
}

/// A path git can report: not empty, no empty, `.` or `..` segment, no line
/// terminator. On these, picomatch's guard lookaheads never fail.
pub fn is_normal_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
        && path.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
}

fn has_line_terminator(path: &str) -> bool {
    path.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
}

impl Glob {
    /// Compiles `pattern`. Fails where picomatch throws (empty, longer than
    /// 65536) and for the rare regex syntax we do not run (backreferences).
    /// A pattern that picomatch turns into an invalid regex is accepted and,
    /// like picomatch, matches only the path spelled exactly like it; see
    /// [`Glob::is_valid_regex`].
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        let compiled = picomatch::compile(pattern).map_err(|r| GlobError {
            pattern: pattern.to_string(),
            reason: match r {
                picomatch::Refusal::Empty => "is empty".to_string(),
                picomatch::Refusal::TooLong(n) => format!("is {n} characters long, over picomatch's 65536"),
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
        let (exact, valid) = Matcher::build(&exact_body, pattern)?;
        let (tame, _) = Matcher::build(&tame_body, pattern)?;
        let (set_source, set_exact) = if valid {
            match jsregex::translate(&format!("^(?:{tame_body})$"), true) {
                Ok(t) => (Some(t.rust), !matches!(tame, Matcher::Fancy(_))),
                Err(_) => (None, false),
            }
        } else {
            (None, false)
        };
        Ok(Glob {
            pattern: pattern.to_string(),
            negated: compiled.negated,
            valid,
            js_source: exact_body,
            exact,
            tame,
            set_source,
            set_exact,
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

    pub fn is_match(&self, path: &str) -> bool {
        if path.is_empty() {
            return false;
        }
        if path == self.pattern {
            return true;
        }
        let inner = if is_normal_path(path) {
            self.tame.is_match(path)
        } else {
            self.exact.is_match(path)
        };
        self.finish(inner, path)
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

/// Many globs matched against a path in one pass (a `regex::RegexSet` over
/// their lookaround-free forms, then a check of the few that need it).
#[derive(Debug, Clone)]
pub struct GlobSet {
    globs: Vec<Glob>,
    set: regex::RegexSet,
    set_to_glob: Vec<usize>,
    outside_set: Vec<usize>,
    literal: HashMap<String, Vec<usize>>,
}

impl GlobSet {
    pub fn new(globs: Vec<Glob>) -> GlobSet {
        let mut sources = Vec::new();
        let mut set_to_glob = Vec::new();
        let mut outside_set = Vec::new();
        let mut literal: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, g) in globs.iter().enumerate() {
            literal.entry(g.pattern.clone()).or_default().push(i);
            match &g.set_source {
                Some(s) => {
                    sources.push(s.clone());
                    set_to_glob.push(i);
                }
                None => outside_set.push(i),
            }
        }
        let set = match regex::RegexSetBuilder::new(&sources).size_limit(1 << 30).dfa_size_limit(1 << 28).build() {
            Ok(set) => set,
            Err(_) => {
                // Too big for one set: fall back to one regex per glob.
                outside_set = (0..globs.len()).collect();
                set_to_glob.clear();
                regex::RegexSet::empty()
            }
        };
        GlobSet {
            globs,
            set,
            set_to_glob,
            outside_set,
            literal,
        }
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

    /// Sets `out[i]` to whether glob `i` matches `path`.
    pub fn matches_into(&self, path: &str, out: &mut Vec<bool>) {
        out.clear();
        out.resize(self.globs.len(), false);
        if path.is_empty() {
            return;
        }
        if !is_normal_path(path) {
            for (i, g) in self.globs.iter().enumerate() {
                out[i] = g.is_match(path);
            }
            return;
        }
        let mut inner = vec![false; self.globs.len()];
        if !self.set_to_glob.is_empty() {
            for hit in self.set.matches(path).iter() {
                let i = self.set_to_glob[hit];
                let g = &self.globs[i];
                inner[i] = g.set_exact || g.tame.is_match(path);
            }
        }
        for &i in &self.outside_set {
            inner[i] = self.globs[i].tame.is_match(path);
        }
        for (i, g) in self.globs.iter().enumerate() {
            out[i] = g.finish(inner[i], path);
        }
        if let Some(ids) = self.literal.get(path) {
            for &i in ids {
                out[i] = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, path: &str) -> bool {
        Glob::new(p).unwrap().is_match(path)
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
        let pats = ["**", "src/**", "**/*.md", "!**/*.md", "!(*.md)", "*.*", "a/**/b", "[z-a]", "{a,b}/*"];
        let globs: Vec<Glob> = pats.iter().map(|p| Glob::new(p).unwrap()).collect();
        let set = GlobSet::new(globs.clone());
        let mut out = Vec::new();
        for path in ["a", "a.md", "src/x.md", "a/b", "a/x/b", "b/c", "[z-a]", "x\ny", "a/./b", "a."] {
            set.matches_into(path, &mut out);
            for (g, got) in globs.iter().zip(&out) {
                assert_eq!(g.is_match(path), *got, "{} vs {path:?}", g.pattern());
            }
        }
    }
}
