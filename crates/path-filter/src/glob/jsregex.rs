//! JavaScript regular expressions (ECMAScript with the Annex B web
//! extensions, no flags) rewritten in the syntax of the `regex` and
//! `fancy-regex` crates.
//!
//! picomatch hands user text to `new RegExp` more or less as typed (inside
//! `[...]`, after `(`, `\d`, `{`...), so the meaning of those characters is
//! JavaScript's: `.` stops at line terminators, `\d` and `\w` are ASCII,
//! a lone `]` or `{` is literal, `[]` matches nothing. A source JavaScript
//! refuses (`[z-a]`, `a**`) is reported as [`JsError::Syntax`]: picomatch
//! then matches nothing with it.

use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsError {
    /// JavaScript would throw a SyntaxError for this source.
    Syntax(String),
    /// Valid JavaScript we do not translate (backreferences).
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Translated {
    pub rust: String,
    /// Holds lookarounds: needs `fancy-regex`.
    pub fancy: bool,
}

/// True when `new RegExp(src)` would not throw.
pub(crate) fn is_valid(src: &str) -> bool {
    !matches!(translate(src, false), Err(JsError::Syntax(_)))
}

/// Translates `src`. With `drop_lookarounds`, every lookaround is left out,
/// which can only let more strings match.
pub(crate) fn translate(src: &str, drop_lookarounds: bool) -> Result<Translated, JsError> {
    translate_with(src, drop_lookarounds, false)
}

/// As [`translate`]; with `dot_any`, `.` is any character (right for
/// strings without line terminators, and simpler for the regex engines).
pub(crate) fn translate_with(
    src: &str,
    drop_lookarounds: bool,
    dot_any: bool,
) -> Result<Translated, JsError> {
    let chars: Vec<char> = src.chars().collect();
    let (groups, named) = count_groups(&chars);
    let mut t = Translator {
        s: chars,
        pos: 0,
        groups,
        named,
        drop: drop_lookarounds,
        dot_any,
        fancy: false,
        unsupported: None,
    };
    let mut out = String::new();
    t.disjunction(&mut out)?;
    if t.pos < t.s.len() {
        return Err(JsError::Syntax("unmatched ')'".into()));
    }
    // A SyntaxError anywhere wins over what we do not support.
    if let Some(what) = t.unsupported {
        return Err(JsError::Unsupported(what));
    }
    Ok(Translated {
        rust: out,
        fancy: t.fancy,
    })
}

const JS_DOT: &str = "[^\\n\\r\\x{2028}\\x{2029}]";
const JS_SPACE: &str = "\\t\\n\\x{B}\\x{C}\\r\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}";
const NEVER: &str = "[^\\x{0}-\\x{10FFFF}]";

fn count_groups(s: &[char]) -> (usize, bool) {
    let mut i = 0;
    let mut groups = 0;
    let mut named = false;
    let mut in_class = false;
    while i < s.len() {
        match s[i] {
            '\\' => i += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => {
                if s.get(i + 1) != Some(&'?') {
                    groups += 1;
                } else if s.get(i + 2) == Some(&'<')
                    && !matches!(s.get(i + 3), Some('=') | Some('!'))
                {
                    groups += 1;
                    named = true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    (groups, named)
}

fn lit(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:X}}}", c as u32);
    }
}

enum ClassAtom {
    Char(u32),
    Set(&'static str),
}

struct Translator {
    s: Vec<char>,
    pos: usize,
    groups: usize,
    named: bool,
    drop: bool,
    dot_any: bool,
    fancy: bool,
    unsupported: Option<String>,
}

impl Translator {
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    fn syntax<T>(&self, msg: &str) -> Result<T, JsError> {
        Err(JsError::Syntax(msg.to_string()))
    }

    fn disjunction(&mut self, out: &mut String) -> Result<(), JsError> {
        self.alternative(out)?;
        while self.peek() == Some('|') {
            self.pos += 1;
            out.push('|');
            self.alternative(out)?;
        }
        Ok(())
    }

    fn alternative(&mut self, out: &mut String) -> Result<(), JsError> {
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            self.term(out)?;
        }
        Ok(())
    }

    /// A `{n}`, `{n,}` or `{n,m}` at `i`: its end and bounds.
    fn braced_quantifier(&self, i: usize) -> Option<(usize, u64, Option<u64>)> {
        if self.at(i) != Some('{') {
            return None;
        }
        let mut j = i + 1;
        let digits = |j: &mut usize| -> Option<u64> {
            let start = *j;
            while self.at(*j).is_some_and(|c| c.is_ascii_digit()) {
                *j += 1;
            }
            if *j == start {
                return None;
            }
            let text: String = self.s[start..*j].iter().collect();
            Some(text.parse().unwrap_or(u64::MAX))
        };
        let min = digits(&mut j)?;
        let max = if self.at(j) == Some(',') {
            j += 1;
            if self.at(j) == Some('}') {
                None
            } else {
                Some(digits(&mut j)?)
            }
        } else {
            Some(min)
        };
        if self.at(j) != Some('}') {
            return None;
        }
        Some((j + 1, min, max))
    }

    fn is_quantifier_start(&self) -> bool {
        matches!(self.peek(), Some('*') | Some('+') | Some('?'))
            || self.braced_quantifier(self.pos).is_some()
    }

    /// Reads a quantifier after an atom, if any.
    fn quantifier(&mut self) -> Result<Option<String>, JsError> {
        let mut q = match self.peek() {
            Some(c @ ('*' | '+' | '?')) => {
                self.pos += 1;
                c.to_string()
            }
            Some('{') => match self.braced_quantifier(self.pos) {
                Some((end, min, max)) => {
                    if max.is_some_and(|m| m < min) {
                        return self.syntax("numbers out of order in {} quantifier");
                    }
                    self.pos = end;
                    match max {
                        Some(m) if m == min => format!("{{{min}}}"),
                        Some(m) => format!("{{{min},{m}}}"),
                        None => format!("{{{min},}}"),
                    }
                }
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        if self.peek() == Some('?') {
            self.pos += 1;
            q.push('?');
        }
        Ok(Some(q))
    }

    fn term(&mut self, out: &mut String) -> Result<(), JsError> {
        let c = self.peek().expect("term at end");
        match c {
            '^' | '$' => {
                self.pos += 1;
                if self.is_quantifier_start() {
                    return self.syntax("nothing to repeat");
                }
                out.push(c);
                return Ok(());
            }
            '\\' if matches!(self.at(self.pos + 1), Some('b') | Some('B')) => {
                let b = self.at(self.pos + 1).expect("checked");
                self.pos += 2;
                if self.is_quantifier_start() {
                    return self.syntax("nothing to repeat");
                }
                let _ = write!(out, "(?-u:\\{b})");
                return Ok(());
            }
            '(' => return self.group(out),
            '*' | '+' | '?' => return self.syntax("nothing to repeat"),
            '{' if self.braced_quantifier(self.pos).is_some() => {
                return self.syntax("nothing to repeat");
            }
            _ => {}
        }
        let mut atom = String::new();
        match c {
            '.' => {
                self.pos += 1;
                atom.push_str(if self.dot_any { "(?s:.)" } else { JS_DOT });
            }
            '[' => self.class(&mut atom)?,
            '\\' => self.atom_escape(&mut atom)?,
            _ => {
                self.pos += 1;
                lit(&mut atom, c);
            }
        }
        if let Some(q) = self.quantifier()? {
            let _ = write!(out, "(?:{atom}){q}");
        } else {
            out.push_str(&atom);
        }
        Ok(())
    }

    fn group(&mut self, out: &mut String) -> Result<(), JsError> {
        let rest = |k: usize| self.at(self.pos + k);
        enum Kind {
            Plain,
            Ahead(bool),
            Behind(bool),
        }
        let (kind, skip) = match (rest(1), rest(2), rest(3)) {
            (Some('?'), Some(':'), _) => (Kind::Plain, 3),
            (Some('?'), Some('='), _) => (Kind::Ahead(true), 3),
            (Some('?'), Some('!'), _) => (Kind::Ahead(false), 3),
            (Some('?'), Some('<'), Some('=')) => (Kind::Behind(true), 4),
            (Some('?'), Some('<'), Some('!')) => (Kind::Behind(false), 4),
            (Some('?'), Some('<'), _) => {
                // A named group: the name is an identifier closed by `>`.
                let mut j = self.pos + 3;
                let start = j;
                while self
                    .at(j)
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
                {
                    j += 1;
                }
                if j == start || self.at(j) != Some('>') {
                    return self.syntax("invalid capture group name");
                }
                (Kind::Plain, j + 1 - self.pos)
            }
            (Some('?'), _, _) => return self.syntax("invalid group"),
            _ => (Kind::Plain, 1),
        };
        self.pos += skip;
        let mut inner = String::new();
        self.disjunction(&mut inner)?;
        if self.peek() != Some(')') {
            return self.syntax("unterminated group");
        }
        self.pos += 1;
        let (text, quantifiable) = match kind {
            // fancy-regex refuses a repeated empty group; it matches empty.
            Kind::Plain if inner.is_empty() => (String::new(), true),
            Kind::Plain => (format!("(?:{inner})"), true),
            Kind::Ahead(pos) => {
                if self.drop {
                    (String::new(), true)
                } else {
                    self.fancy = true;
                    (format!("(?{}{inner})", if pos { '=' } else { '!' }), true)
                }
            }
            Kind::Behind(pos) => {
                if self.drop {
                    (String::new(), false)
                } else {
                    self.fancy = true;
                    (format!("(?<{}{inner})", if pos { '=' } else { '!' }), false)
                }
            }
        };
        if self.is_quantifier_start() && !quantifiable {
            return self.syntax("nothing to repeat");
        }
        let q = if quantifiable {
            self.quantifier()?
        } else {
            None
        };
        match q {
            Some(_) if text.is_empty() => {}
            Some(q) => {
                let _ = write!(out, "(?:{text}){q}");
            }
            None => out.push_str(&text),
        }
        Ok(())
    }

    fn hex(&self, from: usize, n: usize) -> Option<u32> {
        let text: String = (0..n)
            .map(|k| self.at(from + k))
            .collect::<Option<String>>()?;
        if text.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(&text, 16).ok()
        } else {
            None
        }
    }

    /// `\uXXXX` (and a following low surrogate): the code point, or `None`
    /// for a lone surrogate. Consumes what it reads; `pos` is after `u`.
    fn unicode_escape(&mut self) -> Option<Option<u32>> {
        let hi = self.hex(self.pos, 4)?;
        self.pos += 4;
        if (0xD800..0xDC00).contains(&hi)
            && self.peek() == Some('\\')
            && self.at(self.pos + 1) == Some('u')
            && let Some(lo) = self.hex(self.pos + 2, 4)
            && (0xDC00..0xE000).contains(&lo)
        {
            self.pos += 6;
            return Some(Some(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)));
        }
        if (0xD800..0xE000).contains(&hi) {
            return Some(None);
        }
        Some(Some(hi))
    }

    /// Legacy octal: up to three octal digits, at most 0o377.
    fn octal(&mut self) -> u32 {
        let mut v = 0u32;
        let mut n = 0;
        while n < 3 {
            let Some(d) = self.peek().and_then(|c| c.to_digit(8)) else {
                break;
            };
            if v * 8 + d > 0o377 {
                break;
            }
            v = v * 8 + d;
            self.pos += 1;
            n += 1;
        }
        v
    }

    fn atom_escape(&mut self, out: &mut String) -> Result<(), JsError> {
        self.pos += 1;
        let Some(c) = self.peek() else {
            return self.syntax("\\ at end of pattern");
        };
        let push_code = |out: &mut String, v: u32| match char::from_u32(v) {
            Some(ch) => lit(out, ch),
            None => out.push_str(NEVER),
        };
        match c {
            'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
                self.pos += 1;
                out.push_str(set_class(c));
            }
            'f' | 'n' | 'r' | 't' | 'v' => {
                self.pos += 1;
                lit(out, control_escape(c));
            }
            'c' => {
                if let Some(l) = self.at(self.pos + 1).filter(|l| l.is_ascii_alphabetic()) {
                    self.pos += 2;
                    push_code(out, l as u32 % 32);
                } else {
                    // `\c` without a letter is a literal backslash.
                    lit(out, '\\');
                }
            }
            '0' if !self.at(self.pos + 1).is_some_and(|d| d.is_ascii_digit()) => {
                self.pos += 1;
                lit(out, '\0');
            }
            '0'..='9' => {
                let start = self.pos;
                while self.peek().is_some_and(|d| d.is_ascii_digit()) {
                    self.pos += 1;
                }
                let n: String = self.s[start..self.pos].iter().collect();
                let n: usize = n.parse().unwrap_or(usize::MAX);
                if c != '0' && n <= self.groups {
                    self.unsupported
                        .get_or_insert(format!("backreference \\{n}"));
                    out.push_str(NEVER);
                    return Ok(());
                }
                self.pos = start;
                if c == '8' || c == '9' {
                    self.pos += 1;
                    lit(out, c);
                } else {
                    let v = self.octal();
                    push_code(out, v);
                }
            }
            'x' => {
                self.pos += 1;
                if let Some(v) = self.hex(self.pos, 2) {
                    self.pos += 2;
                    push_code(out, v);
                } else {
                    lit(out, 'x');
                }
            }
            'u' => {
                self.pos += 1;
                match self.unicode_escape() {
                    Some(Some(v)) => push_code(out, v),
                    Some(None) => out.push_str(NEVER),
                    None => lit(out, 'u'),
                }
            }
            'k' if self.named => {
                self.pos += 1;
                self.unsupported
                    .get_or_insert("named backreference \\k".into());
                out.push_str(NEVER);
            }
            _ => {
                self.pos += 1;
                lit(out, c);
            }
        }
        Ok(())
    }

    fn class_atom(&mut self) -> Result<ClassAtom, JsError> {
        let c = self.peek().expect("class atom at end");
        if c != '\\' {
            self.pos += 1;
            return Ok(ClassAtom::Char(c as u32));
        }
        self.pos += 1;
        let Some(e) = self.peek() else {
            return self.syntax("\\ at end of pattern");
        };
        Ok(match e {
            'd' | 'D' | 'w' | 'W' | 's' | 'S' => {
                self.pos += 1;
                ClassAtom::Set(set_class(e))
            }
            'b' => {
                self.pos += 1;
                ClassAtom::Char(8)
            }
            'f' | 'n' | 'r' | 't' | 'v' => {
                self.pos += 1;
                ClassAtom::Char(control_escape(e) as u32)
            }
            'c' => match self.at(self.pos + 1) {
                Some(l) if l.is_ascii_alphanumeric() || l == '_' => {
                    self.pos += 2;
                    ClassAtom::Char(l as u32 % 32)
                }
                _ => ClassAtom::Char('\\' as u32),
            },
            '0'..='7' => ClassAtom::Char(self.octal()),
            'x' => {
                self.pos += 1;
                match self.hex(self.pos, 2) {
                    Some(v) => {
                        self.pos += 2;
                        ClassAtom::Char(v)
                    }
                    None => ClassAtom::Char('x' as u32),
                }
            }
            'u' => {
                self.pos += 1;
                match self.unicode_escape() {
                    Some(Some(v)) => ClassAtom::Char(v),
                    Some(None) => ClassAtom::Char(0xD800),
                    None => ClassAtom::Char('u' as u32),
                }
            }
            _ => {
                self.pos += 1;
                ClassAtom::Char(e as u32)
            }
        })
    }

    fn class(&mut self, out: &mut String) -> Result<(), JsError> {
        self.pos += 1;
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut items = String::new();
        let mut any = false;
        loop {
            match self.peek() {
                None => return self.syntax("unterminated character class"),
                Some(']') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => {}
            }
            let a = self.class_atom()?;
            any = true;
            let is_range =
                self.peek() == Some('-') && self.at(self.pos + 1).is_some_and(|c| c != ']');
            if !is_range {
                push_class_atom(&mut items, &a);
                continue;
            }
            self.pos += 1;
            let b = self.class_atom()?;
            match (&a, &b) {
                (ClassAtom::Char(x), ClassAtom::Char(y)) => {
                    if x > y {
                        return self.syntax("range out of order in character class");
                    }
                    push_range(&mut items, *x, *y);
                }
                _ => {
                    push_class_atom(&mut items, &a);
                    lit(&mut items, '-');
                    push_class_atom(&mut items, &b);
                }
            }
        }
        match (negated, any && !items.is_empty()) {
            (false, false) => out.push_str(NEVER),
            (true, false) => out.push_str("[\\x{0}-\\x{10FFFF}]"),
            (false, true) => {
                let _ = write!(out, "[{items}]");
            }
            (true, true) => {
                let _ = write!(out, "[^{items}]");
            }
        }
        Ok(())
    }
}

fn control_escape(c: char) -> char {
    match c {
        'f' => '\x0C',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        _ => '\x0B',
    }
}

fn set_class(c: char) -> &'static str {
    match c {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        'w' => "[A-Za-z0-9_]",
        'W' => "[^A-Za-z0-9_]",
        's' => const_format_space(false),
        _ => const_format_space(true),
    }
}

fn const_format_space(negated: bool) -> &'static str {
    use std::sync::OnceLock;
    static POS: OnceLock<String> = OnceLock::new();
    static NEG: OnceLock<String> = OnceLock::new();
    if negated {
        NEG.get_or_init(|| format!("[^{JS_SPACE}]"))
    } else {
        POS.get_or_init(|| format!("[{JS_SPACE}]"))
    }
}

fn push_class_atom(items: &mut String, a: &ClassAtom) {
    match a {
        ClassAtom::Char(v) => push_range(items, *v, *v),
        ClassAtom::Set(s) => items.push_str(s),
    }
}

/// A range of UTF-16 code units; the surrogate block has no Rust `char`.
fn push_range(items: &mut String, lo: u32, hi: u32) {
    let mut emit = |a: u32, b: u32| {
        if a > b {
            return;
        }
        let (Some(a), Some(b)) = (char::from_u32(a), char::from_u32(b)) else {
            return;
        };
        lit(items, a);
        if a != b {
            items.push('-');
            lit(items, b);
        }
    };
    if hi < 0xD800 || lo > 0xDFFF {
        emit(lo, hi);
    } else {
        emit(lo, 0xD7FF.min(hi));
        emit(0xE000.max(lo), hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(src: &str) -> String {
        translate(src, false).unwrap().rust
    }

    #[test]
    fn translates_common_shapes() {
        assert_eq!(rs("a\\/b"), "a\\x{2F}b");
        assert_eq!(rs("[^/]*?"), "(?:[^\\x{2F}])*?");
        assert!(translate("(?!x)", false).unwrap().fancy);
        assert_eq!(translate("a(?!x)b", true).unwrap().rust, "ab");
        assert_eq!(rs("[]"), NEVER);
    }

    #[test]
    fn refuses_what_javascript_refuses() {
        for bad in ["[z-a]", "a**", "(", ")", "[a", "a{2,1}", "(?<=a)*", "\\"] {
            assert!(!is_valid(bad), "{bad}");
        }
        for good in [
            "]", "{", "a{", "a{1", "}", "[]", "[^]", "\\c", "\\8", "a{2}",
        ] {
            assert!(is_valid(good), "{good}");
        }
    }

    #[test]
    fn every_translation_compiles() {
        for src in [
            "[]",
            "[^]",
            "\\u0041",
            "\\uD800",
            "[\\uD800-\\uE001]",
            "\\s\\S\\w",
            "(?-u:x)?",
        ] {
            if let Ok(t) = translate(src, false) {
                assert!(
                    regex::Regex::new(&t.rust).is_ok() || fancy_regex::Regex::new(&t.rust).is_ok(),
                    "{src} -> {}",
                    t.rust
                );
            }
        }
    }
}
