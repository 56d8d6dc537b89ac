//! Glob to regular expression, with the meaning picomatch 2.3.1 gives a glob
//! under `{ dot: true }` on POSIX (what dorny/paths-filter v3 uses).
//!
//! picomatch turns a glob into a JavaScript regular expression with a
//! hand-written tokenizer full of context rules (when `**` is a globstar,
//! when `{..}` is a range, when `[` is literal, ...). Users' filters depend
//! on those rules, so this module follows the same tokenizing decisions and
//! produces the same JavaScript regex source; [`super::jsregex`] then turns
//! that source into a Rust regex. The differential test in
//! `tests/picomatch_differential.rs` holds the two implementations together.
//!
//! The few lookaheads picomatch adds to keep `*` and `**` away from `.` and
//! `..` segments and empty segments are emitted as markers (see [`Marker`]),
//! because on a normal git path (no empty, `.` or `..` segment, no line
//! terminator) they never reject anything and can be left out, which keeps
//! most globs inside the `regex` crate's linear-time engines.

/// Placeholders for picomatch's guard lookaheads in positions where a
/// normal path can never fail them. Written as NUL + a letter: the slow
/// tokenizer drops NUL characters from globs, so they cannot collide.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Marker {
    /// `(?!(?:^|\/)\.{1,2}(?:\/|$))`: not at a `.` or `..` segment.
    NoDots,
    /// `(?!\.{1,2}(?:\/|$))` at the start of a segment.
    NoDotsSlash,
    /// `(?=.)` at the start of a non-empty segment.
    OneChar,
    /// `(?!\.{0,1}(?:\/|$))` right after a dot that starts a segment.
    NoDotSlash,
    /// The `|$` alternative of a `/**/` in mid-pattern, when a `(?=.)`
    /// follows it: that branch can never match then, and the `(?=.)` after
    /// the other branches (which end in `/`) always holds on a normal path.
    EndAlternative,
}

impl Marker {
    pub(crate) const ALL: [Marker; 5] = [
        Marker::NoDots,
        Marker::NoDotsSlash,
        Marker::OneChar,
        Marker::NoDotSlash,
        Marker::EndAlternative,
    ];

    pub(crate) fn placeholder(self) -> &'static str {
        match self {
            Marker::NoDots => "\0A",
            Marker::NoDotsSlash => "\0B",
            Marker::OneChar => "\0C",
            Marker::NoDotSlash => "\0D",
            Marker::EndAlternative => "\0E",
        }
    }

    pub(crate) fn expansion(self) -> &'static str {
        match self {
            Marker::NoDots => NO_DOTS,
            Marker::NoDotsSlash => NO_DOTS_SLASH,
            Marker::OneChar => ONE_CHAR,
            Marker::NoDotSlash => NO_DOT_SLASH,
            Marker::EndAlternative => "|$",
        }
    }
}

const DOT_LITERAL: &str = "\\.";
const PLUS_LITERAL: &str = "\\+";
const SLASH_LITERAL: &str = "\\/";
const ONE_CHAR: &str = "(?=.)";
const QMARK: &str = "[^/]";
const NO_DOTS: &str = "(?!(?:^|\\/)\\.{1,2}(?:\\/|$))";
const NO_DOT_SLASH: &str = "(?!\\.{0,1}(?:\\/|$))";
const NO_DOTS_SLASH: &str = "(?!\\.{1,2}(?:\\/|$))";
const STAR: &str = "[^/]*?";
const MAX_LENGTH: usize = 65536;

/// The result of compiling one glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Compiled {
    /// The regex body, without the `^(?:` `)$` anchors; may hold markers.
    pub output: String,
    /// A leading `!` (odd count): the glob matches what the body does not.
    pub negated: bool,
    /// The body may hold [`Marker`] placeholders (not the case on the
    /// simple fast path, where a NUL in the glob stays a NUL).
    pub markers: bool,
}

/// Why picomatch refuses a glob outright (it throws).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Empty,
    TooLong(usize),
}

/// Compiles a glob the way `picomatch.makeRe(glob, { dot: true })` does.
pub(crate) fn compile(glob: &str) -> Result<Compiled, Refusal> {
    if glob.is_empty() {
        return Err(Refusal::Empty);
    }
    let units = glob.encode_utf16().count();
    if units > MAX_LENGTH {
        return Err(Refusal::TooLong(units));
    }
    if (glob.starts_with('.') || glob.starts_with('*'))
        && let Some(output) = fastpaths(glob)
    {
        return Ok(Compiled {
            output,
            negated: false,
            markers: true,
        });
    }
    let state = Parser::new(glob, false).run();
    Ok(Compiled {
        output: state.output,
        negated: state.negated,
        markers: state.markers,
    })
}

fn replacements(input: &str) -> &str {
    match input {
        "***" => "*",
        "**/**" => "**",
        "**/**/**" => "**",
        other => other,
    }
}

fn remove_prefix(input: &str) -> &str {
    input.strip_prefix("./").unwrap_or(input)
}

fn globstar() -> String {
    format!("(?:(?:{}.)*?)", Marker::NoDots.placeholder())
}

/// `parse.fastpaths`: fixed shapes (`*`, `**/*.ext`, ...) for globs that
/// start with `.` or `*`.
fn fastpaths(input: &str) -> Option<String> {
    let input = replacements(input);
    let output = remove_prefix(input);
    let mut source = create_fast(output)?;
    source.push_str(SLASH_LITERAL);
    source.push('?');
    Some(source)
}

fn create_fast(s: &str) -> Option<String> {
    let nodot = Marker::NoDots.placeholder();
    let slash_dot = Marker::NoDotsSlash.placeholder();
    let one = Marker::OneChar.placeholder();
    let gs = globstar();
    Some(match s {
        "*" => format!("{nodot}{one}{STAR}"),
        ".*" => format!("{DOT_LITERAL}{one}{STAR}"),
        // The dot is inside the segment here: the lookahead is real.
        "*.*" => format!("{nodot}{STAR}{DOT_LITERAL}{ONE_CHAR}{STAR}"),
        "*/*" => format!("{nodot}{STAR}{SLASH_LITERAL}{one}{slash_dot}{STAR}"),
        "**" => format!("{nodot}{gs}"),
        "**/*" => format!("(?:{nodot}{gs}{SLASH_LITERAL})?{slash_dot}{one}{STAR}"),
        "**/*.*" => {
            format!("(?:{nodot}{gs}{SLASH_LITERAL})?{slash_dot}{STAR}{DOT_LITERAL}{ONE_CHAR}{STAR}")
        }
        "**/.*" => format!("(?:{nodot}{gs}{SLASH_LITERAL})?{DOT_LITERAL}{one}{STAR}"),
        _ => {
            // `/^(.*?)\.(\w+)$/`: the shortest head before a `.word` tail.
            let (head, ext) = split_word_extension(s)?;
            let source = create_fast(head)?;
            format!("{source}{DOT_LITERAL}{ext}")
        }
    })
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

fn split_word_extension(s: &str) -> Option<(&str, &str)> {
    for (i, c) in s.char_indices() {
        if c == '.' {
            let ext = &s[i + 1..];
            if !ext.is_empty()
                && ext.chars().all(is_word)
                && !s[..i].chars().any(is_line_terminator)
            {
                return Some((&s[..i], ext));
            }
        }
        if is_line_terminator(c) {
            return None;
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Bos,
    Text,
    Slash,
    Dot,
    Dots,
    Star,
    Globstar,
    Qmark,
    Bracket,
    Brace,
    Comma,
    Paren,
    Plus,
    Negate,
    At,
    MaybeSlash,
}

#[derive(Debug, Clone)]
struct Tok {
    ty: Ty,
    value: String,
    output: Option<String>,
    prev: usize,
    extglob: bool,
    star: bool,
    posix: bool,
    comma: bool,
    dots: bool,
    output_index: usize,
    tokens_index: usize,
}

impl Tok {
    fn new(ty: Ty, value: impl Into<String>, output: Option<String>) -> Self {
        Tok {
            ty,
            value: value.into(),
            output,
            prev: 0,
            extglob: false,
            star: false,
            posix: false,
            comma: false,
            dots: false,
            output_index: 0,
            tokens_index: 0,
        }
    }
}

#[derive(Debug, Clone)]
struct Extglob {
    ty: Ty,
    close: String,
    inner: String,
    parens: i64,
}

struct State {
    output: String,
    negated: bool,
    markers: bool,
}

struct Parser {
    input: Vec<char>,
    /// Nested parses (the tail after a negated extglob) sit inside a
    /// lookahead, not at the start of a segment: no markers there.
    nested: bool,
    index: i64,
    start: i64,
    output: String,
    backtrack: bool,
    negated: bool,
    brackets: i64,
    braces: i64,
    parens: i64,
    quotes: i64,
    /// Every token ever made; popped tokens stay reachable through `prev`.
    arena: Vec<Tok>,
    /// picomatch's `tokens` array, as indices into the arena.
    tokens: Vec<usize>,
    extglobs: Vec<Extglob>,
    braces_stack: Vec<usize>,
    stack: Vec<&'static str>,
    prev: usize,
}

/// `str.slice(0, -n)` as JavaScript does it (`-0` keeps nothing), on a
/// char boundary.
fn js_slice_neg(s: &mut String, n: usize) {
    if n == 0 {
        s.clear();
        return;
    }
    let mut cut = s.len().saturating_sub(n);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
}

fn escape_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "-*+?.^${}(|)[]".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn has_regex_chars(s: &str) -> bool {
    s.chars().any(|c| "-*+?.^${}(|)[]".contains(c))
}

fn is_non_special(c: char) -> bool {
    !"@![].,$*+?^{}()|\\/".contains(c)
}

/// `utils.escapeLast`: backslash the last unescaped `ch` in `input`.
fn escape_last(input: &str, ch: char, last: Option<usize>) -> String {
    let chars: Vec<char> = input.chars().collect();
    let upto = last.unwrap_or(chars.len().saturating_sub(1));
    let idx = chars
        .iter()
        .enumerate()
        .take(upto.saturating_add(1).min(chars.len()))
        .rev()
        .find(|(_, c)| **c == ch)
        .map(|(i, _)| i);
    let Some(idx) = idx else {
        return input.to_string();
    };
    if idx > 0 && chars[idx - 1] == '\\' {
        return escape_last(input, ch, Some(idx - 1));
    }
    let mut out: String = chars[..idx].iter().collect();
    out.push('\\');
    out.extend(&chars[idx..]);
    out
}

fn posix_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "alnum" => "a-zA-Z0-9",
        "alpha" => "a-zA-Z",
        "ascii" => "\\x00-\\x7F",
        "blank" => " \\t",
        "cntrl" => "\\x00-\\x1F\\x7F",
        "digit" => "0-9",
        "graph" => "\\x21-\\x7E",
        "lower" => "a-z",
        "print" => "\\x20-\\x7E ",
        "punct" => "\\-!\"#$%&'()\\*+,./:;<=>?@[\\]^_`{|}~",
        "space" => " \\t\\r\\n\\v\\f",
        "upper" => "A-Z",
        "word" => "A-Za-z0-9_",
        "xdigit" => "A-Fa-f0-9",
        _ => return None,
    })
}

impl Parser {
    fn new(glob: &str, nested: bool) -> Self {
        let input = remove_prefix(replacements(glob));
        let bos = Tok::new(Ty::Bos, "", Some(String::new()));
        Parser {
            input: input.chars().collect(),
            nested,
            index: -1,
            start: 0,
            output: String::new(),
            backtrack: false,
            negated: false,
            brackets: 0,
            braces: 0,
            parens: 0,
            quotes: 0,
            arena: vec![bos],
            tokens: vec![0],
            extglobs: Vec::new(),
            braces_stack: Vec::new(),
            stack: Vec::new(),
            prev: 0,
        }
    }

    fn marker(&self, m: Marker) -> &'static str {
        if self.nested {
            m.expansion()
        } else {
            m.placeholder()
        }
    }

    fn len(&self) -> i64 {
        self.input.len() as i64
    }

    fn eos(&self) -> bool {
        self.index == self.len() - 1
    }

    fn peek(&self, n: i64) -> Option<char> {
        let i = self.index + n;
        if i < 0 {
            return None;
        }
        self.input.get(i as usize).copied()
    }

    fn advance(&mut self) -> Option<char> {
        self.index += 1;
        self.input.get(self.index as usize).copied()
    }

    fn remaining(&self) -> String {
        let from = (self.index + 1).max(0) as usize;
        self.input
            .get(from..)
            .map(|s| s.iter().collect())
            .unwrap_or_default()
    }

    fn p(&self) -> &Tok {
        &self.arena[self.prev]
    }

    fn pm(&mut self) -> &mut Tok {
        &mut self.arena[self.prev]
    }

    fn append(&mut self, value: &str, output: Option<&str>) {
        self.output.push_str(output.unwrap_or(value));
    }

    fn increment(&mut self, ty: &'static str) {
        match ty {
            "parens" => self.parens += 1,
            "braces" => self.braces += 1,
            _ => self.brackets += 1,
        }
        self.stack.push(ty);
    }

    fn decrement(&mut self, ty: &'static str) {
        match ty {
            "parens" => self.parens -= 1,
            "braces" => self.braces -= 1,
            _ => self.brackets -= 1,
        }
        self.stack.pop();
    }

    fn push(&mut self, mut tok: Tok) -> usize {
        if self.p().ty == Ty::Globstar {
            let is_brace = self.braces > 0 && matches!(tok.ty, Ty::Comma | Ty::Brace);
            let is_extglob = tok.extglob || (!self.extglobs.is_empty() && tok.ty == Ty::Paren);
            if tok.ty != Ty::Slash && tok.ty != Ty::Paren && !is_brace && !is_extglob {
                let n = self.p().output.as_deref().map_or(0, str::len);
                js_slice_neg(&mut self.output, n);
                let p = self.pm();
                p.ty = Ty::Star;
                p.value = "*".into();
                p.output = Some(STAR.into());
                self.output.push_str(STAR);
            }
        }
        if tok.ty != Ty::Paren
            && let Some(ext) = self.extglobs.last_mut()
        {
            ext.inner.push_str(&tok.value);
        }
        let has_output = tok.output.as_deref().is_some_and(|o| !o.is_empty());
        if !tok.value.is_empty() || has_output {
            let (v, o) = (tok.value.clone(), tok.output.clone());
            self.append(&v, o.as_deref());
        }
        if self.p().ty == Ty::Text && tok.ty == Ty::Text {
            let p = self.pm();
            p.value.push_str(&tok.value);
            let mut out = p.output.take().unwrap_or_default();
            out.push_str(&tok.value);
            p.output = Some(out);
            return self.prev;
        }
        tok.prev = self.prev;
        self.arena.push(tok);
        let id = self.arena.len() - 1;
        self.tokens.push(id);
        self.prev = id;
        id
    }

    fn extglob_open(&mut self, ty: Ty, value: char) {
        let (open, close) = match value {
            '!' => ("(?:(?!(?:", format!(")){STAR})")),
            '?' => ("(?:", ")?".to_string()),
            '+' => ("(?:", ")+".to_string()),
            '*' => ("(?:", ")*".to_string()),
            _ => ("(?:", ")".to_string()),
        };
        let ext = Extglob {
            ty,
            close,
            inner: String::new(),
            parens: self.parens,
        };
        self.increment("parens");
        let first = if self.output.is_empty() {
            self.marker(Marker::OneChar).to_string()
        } else {
            String::new()
        };
        self.push(Tok::new(ty, value.to_string(), Some(first)));
        let paren = self.advance().map(String::from).unwrap_or_default();
        let mut t = Tok::new(Ty::Paren, paren, Some(open.to_string()));
        t.extglob = true;
        self.push(t);
        self.extglobs.push(ext);
    }

    fn extglob_close(&mut self, mut ext: Extglob, value: &str) {
        let mut output = ext.close.clone();
        if ext.ty == Ty::Negate {
            let mut extglob_star = STAR.to_string();
            if ext.inner.chars().count() > 1 && ext.inner.contains('/') {
                extglob_star = globstar();
            }
            let rest = self.remaining();
            if extglob_star != STAR
                || self.eos()
                || (!rest.is_empty() && rest.chars().all(|c| c == ')'))
            {
                output = format!(")$)){extglob_star}");
                ext.close = output.clone();
            }
            let tail_ok = rest.starts_with('.')
                && rest.chars().count() > 1
                && rest.chars().skip(1).all(|c| !matches!(c, '\\' | '/' | '.'));
            if ext.inner.contains('*') && tail_ok {
                let expression = Parser::new(&rest, true).run_slow().output;
                output = format!("){expression}){extglob_star})");
                ext.close = output.clone();
            }
        }
        let mut t = Tok::new(Ty::Paren, value, Some(output));
        t.extglob = true;
        self.push(t);
        self.decrement("parens");
    }

    fn negate(&mut self) -> bool {
        let mut count = 1;
        while self.peek(1) == Some('!') && (self.peek(2) != Some('(') || self.peek(3) == Some('?'))
        {
            self.advance();
            self.start += 1;
            count += 1;
        }
        if count % 2 == 0 {
            return false;
        }
        self.negated = true;
        self.start += 1;
        true
    }

    fn run(self) -> State {
        // The fast path of `parse` for globs with no structure at all.
        let input: String = self.input.iter().collect();
        let structural = input.starts_with('*')
            || input.starts_with('!')
            || input.chars().any(|c| "/()[]{}\"".contains(c));
        if !structural {
            return State {
                output: simple_fast_path(&input),
                negated: false,
                markers: false,
            };
        }
        self.run_slow()
    }

    fn run_slow(mut self) -> State {
        while !self.eos() {
            let Some(c) = self.advance() else { break };
            if c == '\0' {
                continue;
            }
            let mut value = c.to_string();

            if c == '\\' {
                let next = self.peek(1);
                if next == Some('/') || next == Some('.') || next == Some(';') {
                    continue;
                }
                let Some(_) = next else {
                    value.push('\\');
                    self.push(Tok::new(Ty::Text, value, None));
                    continue;
                };
                let rem = self.remaining();
                let run = rem.chars().take_while(|c| *c == '\\').count();
                if run > 2 {
                    self.index += run as i64;
                    if run % 2 != 0 {
                        value.push('\\');
                    }
                }
                if let Some(n) = self.advance() {
                    value.push(n);
                }
                if self.brackets == 0 {
                    self.push(Tok::new(Ty::Text, value, None));
                    continue;
                }
            }

            let pv = self.p().value.clone();
            if self.brackets > 0 && (value != "]" || pv == "[" || pv == "[^") {
                if value == ":" {
                    let inner: String = pv.chars().skip(1).collect();
                    if inner.contains('[') {
                        self.pm().posix = true;
                        if inner.contains(':') {
                            let idx = pv.rfind('[').unwrap_or(0);
                            let pre = pv[..idx].to_string();
                            let rest: String = pv[idx..].chars().skip(2).collect();
                            if let Some(posix) = posix_class(&rest) {
                                self.pm().value = format!("{pre}{posix}");
                                self.backtrack = true;
                                self.advance();
                                let bos_empty =
                                    self.arena[0].output.as_deref().is_none_or(str::is_empty);
                                if bos_empty
                                    && self.tokens.iter().position(|t| *t == self.prev) == Some(1)
                                {
                                    self.arena[0].output =
                                        Some(self.marker(Marker::OneChar).to_string());
                                }
                                continue;
                            }
                        }
                    }
                }
                if (value == "[" && self.peek(1) != Some(':'))
                    || (value == "-" && self.peek(1) == Some(']'))
                {
                    value = format!("\\{value}");
                }
                if value == "]" && (pv == "[" || pv == "[^") {
                    value = "\\]".into();
                }
                self.pm().value.push_str(&value);
                self.append(&value, None);
                continue;
            }

            if self.quotes == 1 && value != "\"" {
                let v = escape_regex(&value);
                self.pm().value.push_str(&v);
                self.append(&v, None);
                continue;
            }

            if value == "\"" {
                self.quotes = if self.quotes == 1 { 0 } else { 1 };
                continue;
            }

            if value == "(" {
                self.increment("parens");
                self.push(Tok::new(Ty::Paren, value, None));
                continue;
            }

            if value == ")" {
                if let Some(ext) = self.extglobs.last()
                    && self.parens == ext.parens + 1
                {
                    let ext = self.extglobs.pop().expect("checked");
                    self.extglob_close(ext, &value);
                    continue;
                }
                let out = if self.parens != 0 { ")" } else { "\\)" };
                self.push(Tok::new(Ty::Paren, value, Some(out.into())));
                self.decrement("parens");
                continue;
            }

            if value == "[" {
                if !self.remaining().contains(']') {
                    value = "\\[".into();
                } else {
                    self.increment("brackets");
                }
                self.push(Tok::new(Ty::Bracket, value, None));
                continue;
            }

            if value == "]" {
                if self.p().ty == Ty::Bracket && self.p().value.encode_utf16().count() == 1 {
                    self.push(Tok::new(Ty::Text, value, Some("\\]".into())));
                    continue;
                }
                if self.brackets == 0 {
                    self.push(Tok::new(Ty::Text, value, Some("\\]".into())));
                    continue;
                }
                self.decrement("brackets");
                let prev_value: String = self.p().value.chars().skip(1).collect();
                if !self.p().posix && prev_value.starts_with('^') && !prev_value.contains('/') {
                    value = format!("/{value}");
                }
                self.pm().value.push_str(&value);
                self.append(&value, None);
                if has_regex_chars(&prev_value) {
                    continue;
                }
                let pval = self.p().value.clone();
                let escaped = escape_regex(&pval);
                js_slice_neg(&mut self.output, pval.len());
                let both = format!("(?:{escaped}|{pval})");
                self.output.push_str(&both);
                self.pm().value = both;
                continue;
            }

            if value == "{" {
                self.increment("braces");
                let mut open = Tok::new(Ty::Brace, value, Some("(".into()));
                open.output_index = self.output.len();
                open.tokens_index = self.tokens.len();
                let id = self.push(open);
                self.braces_stack.push(id);
                continue;
            }

            if value == "}" {
                let Some(&brace) = self.braces_stack.last() else {
                    self.push(Tok::new(Ty::Text, value.clone(), Some(value)));
                    continue;
                };
                let mut output = ")".to_string();
                if self.arena[brace].dots {
                    let mut range: Vec<String> = Vec::new();
                    while let Some(t) = self.tokens.pop() {
                        if self.arena[t].ty == Ty::Brace {
                            break;
                        }
                        if self.arena[t].ty != Ty::Dots {
                            range.insert(0, self.arena[t].value.clone());
                        }
                    }
                    output = expand_range(range);
                    self.backtrack = true;
                }
                if !self.arena[brace].comma && !self.arena[brace].dots {
                    let b = &self.arena[brace];
                    let mut out = self.output[..b.output_index.min(self.output.len())].to_string();
                    let from = b.tokens_index;
                    self.arena[brace].value = "\\{".into();
                    self.arena[brace].output = Some("\\{".into());
                    value = "\\}".into();
                    output = "\\}".into();
                    for &t in self.tokens.iter().skip(from) {
                        let t = &self.arena[t];
                        match t.output.as_deref() {
                            Some(o) if !o.is_empty() => out.push_str(o),
                            _ => out.push_str(&t.value),
                        }
                    }
                    self.output = out;
                }
                self.push(Tok::new(Ty::Brace, value, Some(output)));
                self.decrement("braces");
                self.braces_stack.pop();
                continue;
            }

            if value == "|" {
                self.push(Tok::new(Ty::Text, value, None));
                continue;
            }

            if value == "," {
                let mut output = value.clone();
                if let Some(&brace) = self.braces_stack.last()
                    && self.stack.last() == Some(&"braces")
                {
                    self.arena[brace].comma = true;
                    output = "|".into();
                }
                self.push(Tok::new(Ty::Comma, value, Some(output)));
                continue;
            }

            if value == "/" {
                if self.p().ty == Ty::Dot && self.index == self.start + 1 {
                    self.start = self.index + 1;
                    self.output.clear();
                    self.tokens.pop();
                    self.prev = 0;
                    continue;
                }
                self.push(Tok::new(Ty::Slash, value, Some(SLASH_LITERAL.into())));
                continue;
            }

            if value == "." {
                if self.braces > 0 && self.p().ty == Ty::Dot {
                    let brace = *self.braces_stack.last().expect("braces > 0");
                    let p = self.pm();
                    if p.value == "." {
                        p.output = Some(DOT_LITERAL.into());
                    }
                    p.ty = Ty::Dots;
                    p.output.get_or_insert_with(String::new).push('.');
                    p.value.push('.');
                    self.arena[brace].dots = true;
                    continue;
                }
                let pty = self.p().ty;
                if self.braces + self.parens == 0 && pty != Ty::Bos && pty != Ty::Slash {
                    self.push(Tok::new(Ty::Text, value, Some(DOT_LITERAL.into())));
                    continue;
                }
                self.push(Tok::new(Ty::Dot, value, Some(DOT_LITERAL.into())));
                continue;
            }

            if value == "?" {
                let is_group = self.p().value == "(";
                if !is_group && self.peek(1) == Some('(') && self.peek(2) != Some('?') {
                    self.extglob_open(Ty::Qmark, '?');
                    continue;
                }
                if self.p().ty == Ty::Paren {
                    let next = self.peek(1);
                    let mut output = value.clone();
                    let lookaround = next.is_some_and(|n| "!=<:".contains(n));
                    let rem = self.remaining();
                    let named_or_behind = {
                        let r: Vec<char> = rem.chars().collect();
                        r.first() == Some(&'<')
                            && (matches!(r.get(1), Some('!') | Some('='))
                                || (r.len() > 2 && {
                                    let w = r[1..].iter().take_while(|c| is_word(**c)).count();
                                    w > 0 && r.get(1 + w) == Some(&'>')
                                }))
                    };
                    if (self.p().value == "(" && !lookaround)
                        || (next == Some('<') && !named_or_behind)
                    {
                        output = "\\?".into();
                    }
                    self.push(Tok::new(Ty::Text, value, Some(output)));
                    continue;
                }
                self.push(Tok::new(Ty::Qmark, value, Some(QMARK.into())));
                continue;
            }

            if value == "!" {
                if self.peek(1) == Some('(')
                    && (self.peek(2) != Some('?')
                        || !self.peek(3).is_some_and(|c| "!=<:".contains(c)))
                {
                    self.extglob_open(Ty::Negate, '!');
                    continue;
                }
                if self.index == 0 {
                    self.negate();
                    continue;
                }
            }

            if value == "+" {
                if self.peek(1) == Some('(') && self.peek(2) != Some('?') {
                    self.extglob_open(Ty::Plus, '+');
                    continue;
                }
                if self.p().value == "(" {
                    self.push(Tok::new(Ty::Plus, value, Some(PLUS_LITERAL.into())));
                    continue;
                }
                let pty = self.p().ty;
                if matches!(pty, Ty::Bracket | Ty::Paren | Ty::Brace) || self.parens > 0 {
                    self.push(Tok::new(Ty::Plus, value, None));
                    continue;
                }
                self.push(Tok::new(Ty::Plus, PLUS_LITERAL, None));
                continue;
            }

            if value == "@" {
                if self.peek(1) == Some('(') && self.peek(2) != Some('?') {
                    let mut t = Tok::new(Ty::At, value, Some(String::new()));
                    t.extglob = true;
                    self.push(t);
                    continue;
                }
                self.push(Tok::new(Ty::Text, value, None));
                continue;
            }

            if value != "*" {
                if value == "$" || value == "^" {
                    value = format!("\\{value}");
                }
                let run: String = self
                    .remaining()
                    .chars()
                    .take_while(|c| is_non_special(*c))
                    .collect();
                if !run.is_empty() {
                    self.index += run.chars().count() as i64;
                    value.push_str(&run);
                }
                self.push(Tok::new(Ty::Text, value, None));
                continue;
            }

            // Stars.
            if self.p().ty == Ty::Globstar || self.p().star {
                let p = self.pm();
                p.ty = Ty::Star;
                p.star = true;
                p.value.push_str(&value);
                p.output = Some(STAR.into());
                self.backtrack = true;
                continue;
            }

            let mut rest = self.remaining();
            if rest.starts_with('(') && rest.chars().nth(1).is_some_and(|c| c != '?') {
                self.extglob_open(Ty::Star, '*');
                continue;
            }

            if self.p().ty == Ty::Star {
                let prior = self.p().prev;
                let before = self.arena[prior].prev;
                let prior_ty = self.arena[prior].ty;
                let is_start = matches!(prior_ty, Ty::Slash | Ty::Bos);
                let after_star =
                    prior_ty != Ty::Bos && matches!(self.arena[before].ty, Ty::Star | Ty::Globstar);
                let is_brace = self.braces > 0 && matches!(prior_ty, Ty::Comma | Ty::Brace);
                let is_extglob = !self.extglobs.is_empty() && prior_ty == Ty::Paren;
                if !is_start && prior_ty != Ty::Paren && !is_brace && !is_extglob {
                    self.push(Tok::new(Ty::Star, value, Some(String::new())));
                    continue;
                }

                // Strip consecutive `/**` segments.
                while rest.starts_with("/**") {
                    let after = self.input.get((self.index + 4) as usize).copied();
                    if after.is_some_and(|a| a != '/') {
                        break;
                    }
                    rest = rest[3..].to_string();
                    self.index += 3;
                }

                let prior_prev_ty = self.arena[self.arena[prior].prev].ty;
                if prior_ty == Ty::Bos && self.eos() {
                    let gs = globstar();
                    let p = self.pm();
                    p.ty = Ty::Globstar;
                    p.value.push_str(&value);
                    p.output = Some(gs.clone());
                    self.output = gs;
                    continue;
                }

                if prior_ty == Ty::Slash && prior_prev_ty != Ty::Bos && !after_star && self.eos() {
                    let n = self.arena[prior].output.as_deref().map_or(0, str::len)
                        + self.p().output.as_deref().map_or(0, str::len);
                    js_slice_neg(&mut self.output, n);
                    let po = format!("(?:{}", self.arena[prior].output.as_deref().unwrap_or(""));
                    self.arena[prior].output = Some(po.clone());
                    let go = format!("{}|$)", globstar());
                    let p = self.pm();
                    p.ty = Ty::Globstar;
                    p.output = Some(go.clone());
                    p.value.push_str(&value);
                    self.output.push_str(&po);
                    self.output.push_str(&go);
                    continue;
                }

                if prior_ty == Ty::Slash && prior_prev_ty != Ty::Bos && rest.starts_with('/') {
                    let end = if rest.chars().nth(1).is_some() {
                        "|$"
                    } else {
                        ""
                    };
                    let n = self.arena[prior].output.as_deref().map_or(0, str::len)
                        + self.p().output.as_deref().map_or(0, str::len);
                    js_slice_neg(&mut self.output, n);
                    let po = format!("(?:{}", self.arena[prior].output.as_deref().unwrap_or(""));
                    self.arena[prior].output = Some(po.clone());
                    let go = format!("{}{SLASH_LITERAL}|{SLASH_LITERAL}{end})", globstar());
                    let p = self.pm();
                    p.ty = Ty::Globstar;
                    p.output = Some(go.clone());
                    p.value.push_str(&value);
                    self.output.push_str(&po);
                    self.output.push_str(&go);
                    self.advance();
                    self.push(Tok::new(Ty::Slash, "/", Some(String::new())));
                    continue;
                }

                if prior_ty == Ty::Bos && rest.starts_with('/') {
                    let go = format!("(?:^|{SLASH_LITERAL}|{}{SLASH_LITERAL})", globstar());
                    let p = self.pm();
                    p.ty = Ty::Globstar;
                    p.value.push_str(&value);
                    p.output = Some(go.clone());
                    self.output = go;
                    self.advance();
                    self.push(Tok::new(Ty::Slash, "/", Some(String::new())));
                    continue;
                }

                let n = self.p().output.as_deref().map_or(0, str::len);
                js_slice_neg(&mut self.output, n);
                let gs = globstar();
                let p = self.pm();
                p.ty = Ty::Globstar;
                p.output = Some(gs.clone());
                p.value.push_str(&value);
                self.output.push_str(&gs);
                continue;
            }

            let tok = Tok::new(Ty::Star, value, Some(STAR.into()));
            let pty = self.p().ty;
            if self.index == self.start || pty == Ty::Slash || pty == Ty::Dot {
                // Whether this star starts a path segment on a normal path:
                // then picomatch's guards cannot fail and become markers.
                let slash_real =
                    pty == Ty::Slash && self.p().output.as_deref() == Some(SLASH_LITERAL);
                // The empty slash after a globstar: `(?:^|\/|…\/)` before it
                // always ends a segment; `(?:\/…\/|\/|$)` may end the input.
                let after_globstar = pty == Ty::Slash
                    && self.p().output.as_deref() == Some("")
                    && self.arena[self.p().prev].ty == Ty::Globstar;
                let gs_out = self.arena[self.p().prev].output.clone().unwrap_or_default();
                let slash_after_bos_globstar = after_globstar && gs_out.starts_with("(?:^|");
                let slash_after_mid_globstar =
                    after_globstar && !self.nested && gs_out.ends_with("|$)");
                let at_start = self.index == self.start && pty == Ty::Bos;
                let dot_at_segment_start = pty == Ty::Dot
                    && matches!(self.arena[self.p().prev].ty, Ty::Bos | Ty::Slash)
                    && (self.arena[self.p().prev].ty != Ty::Bos || !self.nested);
                let guard = if pty == Ty::Dot {
                    if dot_at_segment_start {
                        self.marker(Marker::NoDotSlash)
                    } else {
                        NO_DOT_SLASH
                    }
                } else if pty == Ty::Slash || at_start {
                    self.marker(Marker::NoDotsSlash)
                } else {
                    NO_DOTS_SLASH
                };
                self.output.push_str(guard);
                self.pm()
                    .output
                    .get_or_insert_with(String::new)
                    .push_str(guard);
                if self.peek(1) != Some('*') {
                    if slash_after_mid_globstar {
                        let gs = self.p().prev;
                        let marked = format!(
                            "{}{})",
                            &gs_out[..gs_out.len() - 3],
                            Marker::EndAlternative.placeholder()
                        );
                        if let Some(at) = self.output.rfind("|$)") {
                            self.output.replace_range(
                                at..at + 3,
                                &format!("{})", Marker::EndAlternative.placeholder()),
                            );
                        }
                        self.arena[gs].output = Some(marked);
                    }
                    let one = if slash_real
                        || at_start
                        || dot_at_segment_start
                        || slash_after_bos_globstar
                        || slash_after_mid_globstar
                    {
                        self.marker(Marker::OneChar)
                    } else {
                        ONE_CHAR
                    };
                    self.output.push_str(one);
                    self.pm()
                        .output
                        .get_or_insert_with(String::new)
                        .push_str(one);
                }
            }
            self.push(tok);
        }

        if self.brackets > 0 || self.parens > 0 || self.braces > 0 {
            // `escapeLast` looks for the last `(` in picomatch's text, so
            // the guards must be spelled out in full first.
            for m in Marker::ALL {
                self.output = self.output.replace(m.placeholder(), m.expansion());
            }
        }
        while self.brackets > 0 {
            self.output = escape_last(&self.output, '[', None);
            self.decrement("brackets");
        }
        while self.parens > 0 {
            self.output = escape_last(&self.output, '(', None);
            self.decrement("parens");
        }
        while self.braces > 0 {
            self.output = escape_last(&self.output, '{', None);
            self.decrement("braces");
        }

        if matches!(self.p().ty, Ty::Star | Ty::Bracket) {
            self.push(Tok::new(
                Ty::MaybeSlash,
                "",
                Some(format!("{SLASH_LITERAL}?")),
            ));
        }

        if self.backtrack {
            let mut out = String::new();
            for &t in &self.tokens {
                let t = &self.arena[t];
                out.push_str(t.output.as_deref().unwrap_or(&t.value));
            }
            self.output = out;
        }

        State {
            output: self.output,
            negated: self.negated,
            markers: !self.nested,
        }
    }
}

/// `expandRange` without an `expandRange` option: a character class of the
/// sorted endpoints, or the escaped text when that class is not valid.
fn expand_range(mut args: Vec<String>) -> String {
    args.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    let value = format!("[{}]", args.join("-"));
    if super::jsregex::is_valid(&value) {
        value
    } else {
        args.iter()
            .map(|a| escape_regex(a))
            .collect::<Vec<_>>()
            .join("..")
    }
}

/// The fast path inside `parse` for globs without `/()[]{}"`, a leading
/// `*` or `!`: escape every non-word character, `?` and `*` become
/// wildcards, runs of `*` collapse to one.
fn simple_fast_path(input: &str) -> String {
    let chars: Vec<char> = input.chars().collect();
    let n = chars.len();
    let mut out = String::new();
    let mut backslashes = false;
    let mut i = 0;
    while i < n {
        let c = chars[i];
        let (esc, first_at) = if c == '\\' && i + 1 < n && !is_word(chars[i + 1]) {
            (true, i + 1)
        } else if !is_word(c) {
            (false, i)
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        let first = chars[first_at];
        let mut end = first_at + 1;
        while end < n && chars[end] == first {
            end += 1;
        }
        let run = end - first_at;
        let rest = run - 1;
        let m: String = chars[i..end].iter().collect();
        let replaced = if first == '\\' {
            backslashes = true;
            m.clone()
        } else if first == '?' {
            if esc {
                format!("\\?{}", QMARK.repeat(rest))
            } else if i == 0 {
                // `qmarkNoDot` is plain QMARK under `dot: true`.
                format!("{QMARK}{}", QMARK.repeat(rest))
            } else {
                QMARK.repeat(run)
            }
        } else if first == '.' {
            DOT_LITERAL.repeat(run)
        } else if first == '*' {
            if esc {
                format!("\\*{}", if rest > 0 { STAR } else { "" })
            } else {
                STAR.to_string()
            }
        } else if esc {
            m.clone()
        } else {
            format!("\\{m}")
        };
        out.push_str(&replaced);
        i = end;
    }
    if backslashes {
        let mut collapsed = String::new();
        let mut run = 0;
        for c in out.chars().chain(std::iter::once('\u{0}')) {
            if c == '\\' {
                run += 1;
                continue;
            }
            if run > 0 {
                collapsed.push_str(if run % 2 == 0 { "\\\\" } else { "\\" });
                run = 0;
            }
            collapsed.push(c);
        }
        collapsed.pop();
        out = collapsed;
    }
    // `wrapOutput`: the anchors are added again by the caller, harmlessly.
    format!("^(?:{out})$")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(glob: &str) -> String {
        let mut s = compile(glob).unwrap().output;
        for m in Marker::ALL {
            s = s.replace(m.placeholder(), m.expansion());
        }
        s
    }

    // Sources printed by `picomatch.makeRe(glob, { dot: true }).source`
    // (picomatch 2.3.1), without the outer `^(?:` `)$`.
    #[test]
    fn matches_picomatch_sources() {
        assert_eq!(
            plain("src/**"),
            "src(?:\\/(?!\\.{1,2}(?:\\/|$))(?:(?:(?!(?:^|\\/)\\.{1,2}(?:\\/|$)).)*?)|$)"
        );
        assert_eq!(
            plain("*.js"),
            "(?!(?:^|\\/)\\.{1,2}(?:\\/|$))(?=.)[^/]*?\\.js\\/?"
        );
        assert_eq!(plain("a/{b,c}/d"), "a\\/(b|c)\\/d");
        assert_eq!(plain("a.txt"), "^(?:a\\.txt)$");
        assert_eq!(plain("[abc]"), "(?:\\[abc\\]|[abc])\\/?");
        assert_eq!(plain("file{1..3}.txt"), "file[1-3]\\.txt");
        assert_eq!(plain("!(*.md)"), "(?=.)(?:(?!(?:[^/]*?\\.md)$))[^/]*?");
    }
}
