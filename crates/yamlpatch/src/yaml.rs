//! Format-preserving YAML edits: locate one scalar by its byte span and replace only
//! those bytes, or insert the smallest text that adds a missing key.
//!
//! The parser (`saphyr-parser`) gives spans in characters; they are converted to byte
//! offsets here. Every edit is then checked by [`crate::semantic`] with an independent
//! parser (`serde_norway`, a libyaml port): the documents before and after must be equal
//! except for the one value that was set.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle};

use crate::error::{Error, Result};
use crate::limits;
use crate::steps::{Step, describe};

#[derive(Debug)]
struct Node {
    kind: Kind,
    /// Byte span as reported by the parser; for scalars it includes anchor and tag.
    span: Range<usize>,
    /// Anchor id, 0 when none.
    anchor: usize,
    tag: Option<String>,
}

#[derive(Debug)]
enum Kind {
    Scalar {
        value: String,
        style: ScalarStyle,
    },
    Alias(usize),
    Map {
        entries: Vec<(Node, Node)>,
        flow: bool,
        /// Span of the closing `}` (flow) or of the next token (block).
        end: Range<usize>,
    },
    Seq {
        items: Vec<Node>,
        flow: bool,
        end: Range<usize>,
    },
}

struct Parsed {
    docs: Vec<Node>,
    /// Anchor ids that some alias refers to.
    referenced: HashSet<usize>,
}

enum Frame {
    Map {
        start: Range<usize>,
        anchor: usize,
        tag: Option<String>,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
    Seq {
        start: Range<usize>,
        anchor: usize,
        tag: Option<String>,
        items: Vec<Node>,
    },
}

fn tag_string(tag: Option<&saphyr_parser::Tag>) -> Option<String> {
    tag.map(|t| format!("{}{}", t.handle, t.suffix))
}

fn parse(src: &str) -> Result<Parsed> {
    limits::check_size(src)?;
    // saphyr-parser markers count characters; map them to byte offsets.
    let mut byte_at: Vec<usize> = src.char_indices().map(|(b, _)| b).collect();
    byte_at.push(src.len());
    let to_bytes = |span: saphyr_parser::Span| -> Range<usize> {
        let at = |i: usize| byte_at.get(i).copied().unwrap_or(src.len());
        at(span.start.index())..at(span.end.index())
    };

    let mut docs = Vec::new();
    let mut referenced = HashSet::new();
    let mut stack: Vec<Frame> = Vec::new();
    // Nodes under each open collection (itself included), nodes under each anchor, and
    // the nodes aliases have expanded to so far: what the re-parse would build.
    let mut sizes: Vec<u64> = Vec::new();
    let mut anchored: HashMap<usize, u64> = HashMap::new();
    let mut expanded: u64 = 0;
    for item in Parser::new_from_str(src) {
        let (event, span) = item.map_err(|e| {
            Error::Parse(format!(
                "{} at line {} column {}",
                e.info(),
                e.marker().line(),
                e.marker().col() + 1
            ))
        })?;
        let span = to_bytes(span);
        let size = match &event {
            Event::Scalar(..) => Some(1),
            Event::Alias(id) => {
                let n = anchored.get(id).copied().unwrap_or(1);
                expanded = expanded.saturating_add(n);
                if expanded > limits::MAX_ALIAS_EXPANSION {
                    return Err(limits::too_many_aliased());
                }
                Some(n)
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if sizes.len() >= limits::MAX_DEPTH {
                    return Err(limits::too_deep());
                }
                sizes.push(1);
                None
            }
            Event::MappingEnd | Event::SequenceEnd => sizes.pop(),
            _ => None,
        };
        let done = match event {
            Event::Scalar(value, style, anchor, tag) => Some(Node {
                kind: Kind::Scalar {
                    value: value.into_owned(),
                    style,
                },
                span,
                anchor,
                tag: tag_string(tag.as_deref()),
            }),
            Event::Alias(id) => {
                referenced.insert(id);
                Some(Node {
                    kind: Kind::Alias(id),
                    span,
                    anchor: 0,
                    tag: None,
                })
            }
            Event::MappingStart(anchor, tag) => {
                stack.push(Frame::Map {
                    start: span,
                    anchor,
                    tag: tag_string(tag.as_deref()),
                    entries: Vec::new(),
                    key: None,
                });
                None
            }
            Event::SequenceStart(anchor, tag) => {
                stack.push(Frame::Seq {
                    start: span,
                    anchor,
                    tag: tag_string(tag.as_deref()),
                    items: Vec::new(),
                });
                None
            }
            Event::MappingEnd | Event::SequenceEnd => match stack.pop() {
                Some(Frame::Map {
                    start,
                    anchor,
                    tag,
                    entries,
                    ..
                }) => Some(Node {
                    kind: Kind::Map {
                        flow: src[start.clone()].trim_end().ends_with('{'),
                        entries,
                        end: span,
                    },
                    span: start,
                    anchor,
                    tag,
                }),
                Some(Frame::Seq {
                    start,
                    anchor,
                    tag,
                    items,
                }) => Some(Node {
                    kind: Kind::Seq {
                        flow: src[start.clone()].trim_end().ends_with('['),
                        items,
                        end: span,
                    },
                    span: start,
                    anchor,
                    tag,
                }),
                None => return Err(Error::Parse("unbalanced collection events".into())),
            },
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => None,
        };
        if let Some(node) = done {
            let size = size.unwrap_or(1);
            if node.anchor != 0 {
                anchored.insert(node.anchor, size);
            }
            if let Some(parent) = sizes.last_mut() {
                *parent = parent.saturating_add(size);
            }
            match stack.last_mut() {
                None => docs.push(node),
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map { entries, key, .. }) => match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                },
            }
        }
    }
    Ok(Parsed { docs, referenced })
}

fn is_null_plain(value: &str) -> bool {
    matches!(value, "" | "~" | "null" | "Null" | "NULL")
}

impl Node {
    fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: ScalarStyle::Plain } if is_null_plain(value))
            && self.tag.is_none()
    }

    fn key_is(&self, want: &str) -> bool {
        matches!(&self.kind, Kind::Scalar { value, .. } if value == want)
    }

    fn what(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar { .. } => "a scalar",
            Kind::Alias(_) => "an alias",
            Kind::Map { .. } => "a mapping",
            Kind::Seq { .. } => "a list",
        }
    }

    /// Byte offset just after the last character that belongs to this node (block scalars
    /// and block collections end at the next token; this ignores trailing blank lines).
    fn content_end(&self, src: &str) -> usize {
        match &self.kind {
            // With `+` (keep) chomping the trailing line breaks are part of the value.
            Kind::Scalar {
                style: ScalarStyle::Literal | ScalarStyle::Folded,
                value,
            } if !value.ends_with("\n\n") => {
                self.span.start + src[self.span.clone()].trim_end().len()
            }
            Kind::Scalar {
                style: style @ (ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted),
                ..
            } => quoted_end(src, skip_properties(src, &self.span), *style).unwrap_or(self.span.end),
            Kind::Scalar { .. } | Kind::Alias(_) => self.span.end,
            Kind::Map {
                flow: true, end, ..
            }
            | Kind::Seq {
                flow: true, end, ..
            } => end.end,
            Kind::Map { entries, .. } => entries
                .last()
                .map(|(k, v)| k.content_end(src).max(v.content_end(src)))
                .unwrap_or(self.span.end),
            Kind::Seq { items, .. } => items
                .last()
                .map(|n| n.content_end(src))
                .unwrap_or(self.span.end),
        }
    }

    fn collect_anchors<'a>(&'a self, out: &mut HashMap<usize, &'a Node>) {
        if self.anchor != 0 {
            out.insert(self.anchor, self);
        }
        match &self.kind {
            Kind::Map { entries, .. } => {
                for (k, v) in entries {
                    k.collect_anchors(out);
                    v.collect_anchors(out);
                }
            }
            Kind::Seq { items, .. } => items.iter().for_each(|n| n.collect_anchors(out)),
            _ => {}
        }
    }
}

/// The name of the anchor or alias written at the start of `span` (`&name` / `*name`).
fn sigil_name(src: &str, span: &Range<usize>, sigil: char) -> String {
    let text = &src[span.clone()];
    match text.find(sigil) {
        Some(i) => text[i + 1..]
            .split(|c: char| c.is_whitespace() || ",[]{}".contains(c))
            .next()
            .unwrap_or("")
            .to_string(),
        None => "?".into(),
    }
}

/// Column (in characters, ignoring a BOM) of a byte offset.
fn column(src: &str, at: usize) -> usize {
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    src[line_start..at]
        .chars()
        .filter(|&c| c != '\u{feff}')
        .count()
}

/// Where a new line can be inserted after the line that contains `pos`, and whether a
/// line break must be written first (last line without one).
fn after_line(src: &str, pos: usize) -> (usize, bool) {
    if pos > 0 && src[..pos].ends_with('\n') {
        // Already at a line start (a `|+` block scalar keeps its trailing blank lines).
        return (pos, false);
    }
    match src[pos..].find('\n') {
        Some(i) => (pos + i + 1, false),
        None => (src.len(), true),
    }
}

/// The end of a quoted scalar that starts at `start`: the parser's span runs on to the
/// next token, over spaces and comments.
fn quoted_end(src: &str, start: usize, style: ScalarStyle) -> Option<usize> {
    let quote = if style == ScalarStyle::SingleQuoted {
        '\''
    } else {
        '"'
    };
    let mut chars = src[start..].char_indices();
    if chars.next()?.1 != quote {
        return None;
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                chars.next();
            }
            c if c == quote => {
                if quote == '\'' && src[start + i + 1..].starts_with('\'') {
                    chars.next();
                } else {
                    return Some(start + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Skips anchor and tag properties at the start of a scalar's span.
fn skip_properties(src: &str, span: &Range<usize>) -> usize {
    let text = &src[span.clone()];
    let mut i = 0;
    while i < text.len() && (text[i..].starts_with('&') || text[i..].starts_with('!')) {
        i += text[i..]
            .find(|c: char| c.is_whitespace())
            .unwrap_or(text.len() - i);
        i += text[i..]
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(text.len() - i);
    }
    span.start + i
}

/// Can `value` be written as a plain scalar and read back as that same string, by any
/// YAML 1.1 or 1.2 reader (no `yes`/`on`/numbers/nulls)?
fn plain_safe(value: &str) -> bool {
    let first_ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '_');
    let chars_ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._/:@+".contains(c));
    let lower = value.to_ascii_lowercase();
    let yaml11_bool = matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false"
    );
    first_ok
        && chars_ok
        && !value.ends_with(':')
        && !yaml11_bool
        && matches!(
            serde_norway::from_str::<serde_norway::Value>(value),
            Ok(serde_norway::Value::String(s)) if s == value
        )
}

fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn plain_or_quoted(value: &str) -> String {
    if plain_safe(value) {
        value.to_string()
    } else {
        double_quoted(value)
    }
}

fn render_in_style(value: &str, style: ScalarStyle) -> String {
    match style {
        ScalarStyle::SingleQuoted if !value.contains(['\n', '\r']) => {
            format!("'{}'", value.replace('\'', "''"))
        }
        ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted => double_quoted(value),
        _ => plain_or_quoted(value),
    }
}

/// `a:\n  b: value\n` for the keys in `keys`, starting at `indent` spaces.
fn render_block(keys: &[&str], value: &str, indent: usize, width: usize, eol: &str) -> String {
    let mut out = String::new();
    for (i, key) in keys.iter().enumerate() {
        out.push_str(&" ".repeat(indent + i * width));
        out.push_str(&plain_or_quoted(key));
        out.push(':');
        if i + 1 == keys.len() {
            out.push(' ');
            out.push_str(&plain_or_quoted(value));
        }
        out.push_str(eol);
    }
    out
}

/// `a: {b: value}` for the keys in `keys`.
fn render_flow(keys: &[&str], value: &str) -> String {
    let mut out = format!("{}: ", plain_or_quoted(keys[0]));
    if keys.len() == 1 {
        out.push_str(&plain_or_quoted(value));
    } else {
        out.push('{');
        out.push_str(&render_flow(&keys[1..], value));
        out.push('}');
    }
    out
}

/// A replacement of `range` in the source by `text`.
#[derive(Debug)]
struct Patch {
    range: Range<usize>,
    text: String,
    old: Option<String>,
}

/// The result of setting one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetResult {
    pub text: String,
    /// The previous value; `None` when the key was missing or null.
    pub old: Option<String>,
}

fn line_ending(src: &str) -> &'static str {
    if src.contains("\r\n") { "\r\n" } else { "\n" }
}

fn single_doc<'a>(parsed: &'a Parsed, target: &str) -> Result<Option<&'a Node>> {
    if parsed.docs.len() > 1 {
        return Err(Error::Unsupported(format!(
            "the file has {} YAML documents; cannot tell which one holds `{target}`. \
             Keep Helm values and kustomizations in single-document files",
            parsed.docs.len()
        )));
    }
    Ok(parsed.docs.first())
}

/// Reads the scalar at `steps`: `None` when a key on the way is missing or the value is
/// null. Aliases are followed.
pub(crate) fn get(src: &str, steps: &[Step]) -> Result<Option<String>> {
    let parsed = parse(src)?;
    let target = describe(steps);
    let Some(root) = single_doc(&parsed, &target)? else {
        return Ok(None);
    };
    let mut anchors = HashMap::new();
    root.collect_anchors(&mut anchors);
    fn resolve<'a>(n: &'a Node, anchors: &HashMap<usize, &'a Node>) -> Option<&'a Node> {
        match n.kind {
            Kind::Alias(id) => anchors.get(&id).copied(),
            _ => Some(n),
        }
    }
    let mut node = root;
    for (i, step) in steps.iter().enumerate() {
        let Some(here) = resolve(node, &anchors) else {
            return Err(Error::Parse(format!(
                "alias at `{}` has no anchor",
                describe(&steps[..i])
            )));
        };
        node = match (&here.kind, step) {
            (Kind::Map { entries, .. }, Step::Key(k)) => {
                match entries.iter().find(|(key, _)| key.key_is(k)) {
                    Some((_, v)) => v,
                    None => return Ok(None),
                }
            }
            (Kind::Seq { items, .. }, Step::Match { field, value }) => {
                match find_item(items, field, value, &steps[..i])? {
                    Some(item) => item,
                    None => return Ok(None),
                }
            }
            _ if here.is_null() => return Ok(None),
            (_, _) => {
                return Err(Error::Unsupported(format!(
                    "`{}` is {}, so `{target}` cannot be read",
                    describe(&steps[..i]),
                    here.what()
                )));
            }
        };
    }
    let node = resolve(node, &anchors)
        .ok_or_else(|| Error::Parse(format!("alias at `{target}` has no anchor")))?;
    match &node.kind {
        Kind::Scalar { .. } if node.is_null() => Ok(None),
        Kind::Scalar { value, .. } => Ok(Some(value.clone())),
        _ => Err(Error::Unsupported(format!(
            "`{target}` is {}, not a scalar value",
            node.what()
        ))),
    }
}

fn find_item<'a>(
    items: &'a [Node],
    field: &str,
    value: &str,
    at: &[Step],
) -> Result<Option<&'a Node>> {
    let hits: Vec<&Node> = items
        .iter()
        .filter(|item| match &item.kind {
            Kind::Map { entries, .. } => entries
                .iter()
                .any(|(k, v)| k.key_is(field) && v.key_is(value)),
            _ => false,
        })
        .collect();
    match hits.len() {
        0 => Ok(None),
        1 => Ok(Some(hits[0])),
        n => Err(Error::Unsupported(format!(
            "`{}` has {n} entries with `{field}: {value}`; remove the duplicates first",
            describe(at)
        ))),
    }
}

fn names_in(items: &[Node], field: &str) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| match &item.kind {
            Kind::Map { entries, .. } => entries.iter().find_map(|(k, v)| match &v.kind {
                Kind::Scalar { value, .. } if k.key_is(field) => Some(value.clone()),
                _ => None,
            }),
            _ => None,
        })
        .collect()
}

/// Sets the scalar at `steps` to `value`, changing only that scalar's bytes, or adding
/// the missing keys with the smallest insertion. The result is verified by re-parsing.
pub(crate) fn set(src: &str, steps: &[Step], value: &str) -> Result<SetResult> {
    let patch = plan(src, steps, value)?;
    if patch.old.as_deref() == Some(value) {
        // Already set: keep the bytes, whatever quoting or escapes they use.
        return Ok(SetResult {
            text: src.to_string(),
            old: patch.old,
        });
    }
    let mut text = String::with_capacity(src.len() + patch.text.len());
    text.push_str(&src[..patch.range.start]);
    text.push_str(&patch.text);
    text.push_str(&src[patch.range.end..]);
    crate::semantic::verify(src, &text, steps, value)?;
    Ok(SetResult {
        text,
        old: patch.old,
    })
}

fn keys_of<'a>(rest: &'a [Step], target: &str) -> Result<Vec<&'a str>> {
    rest.iter()
        .map(|s| match s {
            Step::Key(k) => Ok(k.as_str()),
            Step::Match { field, value } => Err(Error::NotFound(format!(
                "no list entry with `{field}: {value}` on the way to `{target}`; add the entry first"
            ))),
        })
        .collect()
}

fn plan(src: &str, steps: &[Step], value: &str) -> Result<Patch> {
    let parsed = parse(src)?;
    let target = describe(steps);
    let eol = line_ending(src);
    let Some(root) = single_doc(&parsed, &target)? else {
        // No document at all (empty file or only comments): append the keys.
        let keys = keys_of(steps, &target)?;
        let prefix = if src.is_empty() || src.ends_with('\n') {
            ""
        } else {
            eol
        };
        return Ok(Patch {
            range: src.len()..src.len(),
            text: format!("{prefix}{}", render_block(&keys, value, 0, 2, eol)),
            old: None,
        });
    };

    let shared = |node: &Node, at: &str| -> Result<()> {
        if node.anchor != 0 && parsed.referenced.contains(&node.anchor) {
            let name = sigil_name(src, &node.span, '&');
            return Err(Error::Unsupported(format!(
                "`{at}` is anchored as &{name} and reused elsewhere with *{name}; setting `{target}` \
                 would change those places too. Give this place its own value (replace the alias \
                 or the anchor) and run again"
            )));
        }
        Ok(())
    };

    let mut node = root;
    // The mapping that holds `node` and the key under which it is held.
    let mut parent: Option<(&Node, &Node)> = None;
    // Indentation width between the last two nested block mappings seen on the way.
    let mut width = 2;
    for (i, step) in steps.iter().enumerate() {
        let here = describe(&steps[..i]);
        shared(node, &here)?;
        if let Some(tag) = &node.tag
            && !tag.starts_with("tag:yaml.org,2002:")
        {
            return Err(Error::Unsupported(format!(
                "`{here}` has the custom tag `{tag}`; gitops-bump only edits plain YAML values"
            )));
        }
        if let Kind::Alias(_) = node.kind {
            let name = sigil_name(src, &node.span, '*');
            return Err(Error::Unsupported(format!(
                "`{here}` is an alias (*{name}), so setting `{target}` would change the anchored \
                 value &{name} and every other place that uses it. Replace the alias with its own \
                 mapping, or set the value at the anchor"
            )));
        }
        // New nested mappings use the indentation step this file uses on the way down.
        if let Some((pmap, pkey)) = parent
            && let Kind::Map {
                flow: false,
                entries,
                ..
            } = &node.kind
            && let Kind::Map { flow: false, .. } = &pmap.kind
            && let Some((k, _)) = entries.first()
        {
            let w = column(src, k.span.start).saturating_sub(column(src, pkey.span.start));
            if (1..=8).contains(&w) {
                width = w;
            }
        }
        match (&node.kind, step) {
            (Kind::Map { entries, .. }, Step::Key(k)) => {
                let hits: Vec<&(Node, Node)> =
                    entries.iter().filter(|(key, _)| key.key_is(k)).collect();
                match hits.as_slice() {
                    [] => {
                        let keys = keys_of(&steps[i..], &target)?;
                        return insert_into_map(src, node, &keys, value, width, eol);
                    }
                    [(key, v)] => {
                        parent = Some((node, key));
                        node = v;
                    }
                    _ => {
                        return Err(Error::Unsupported(format!(
                            "`{here}` has the key `{k}` {} times; remove the duplicates first",
                            hits.len()
                        )));
                    }
                }
            }
            (Kind::Seq { items, .. }, Step::Match { field, value: want }) => {
                match find_item(items, field, want, &steps[..i])? {
                    Some(item) => {
                        parent = None;
                        node = item;
                    }
                    None => {
                        let names = names_in(items, field);
                        return Err(Error::NotFound(format!(
                            "`{here}` has no entry with `{field}: {want}` (found: {}); check the \
                             image name or add an entry `- {field}: {want}`",
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        )));
                    }
                }
            }
            (Kind::Scalar { .. }, Step::Key(_)) if node.is_null() => {
                let keys = keys_of(&steps[i..], &target)?;
                return insert_into_null(src, node, parent, &keys, value, width, eol, &here);
            }
            (Kind::Scalar { value: v, .. }, _) => {
                return Err(Error::Unsupported(format!(
                    "`{here}` is a scalar (`{v}`), not a mapping, so `{target}` cannot be set \
                     inside it; check the key path"
                )));
            }
            (Kind::Map { .. }, Step::Match { field, value: want }) => {
                return Err(Error::Unsupported(format!(
                    "`{here}` is a mapping, expected a list with an entry `{field}: {want}`"
                )));
            }
            (Kind::Seq { .. }, Step::Key(k)) => {
                return Err(Error::Unsupported(format!(
                    "`{here}` is a list, so it has no key `{k}`; key paths cannot index lists"
                )));
            }
            (Kind::Alias(_), _) => unreachable!("aliases are rejected above"),
        }
    }

    shared(node, &target)?;
    match &node.kind {
        Kind::Scalar { value: old, style } => {
            if let Some(tag) = &node.tag
                && tag != "tag:yaml.org,2002:str"
            {
                return Err(Error::Unsupported(format!(
                    "`{target}` has the tag `{tag}`; remove the tag so it is a plain string"
                )));
            }
            let old_value = (!node.is_null()).then(|| old.clone());
            match style {
                ScalarStyle::Literal | ScalarStyle::Folded => Err(Error::Unsupported(format!(
                    "`{target}` is a block scalar (`|` or `>`); write it as `key: value` on one line first"
                ))),
                ScalarStyle::Plain if node.span.is_empty() => {
                    // `digest:` with nothing after it: write the value after the colon.
                    let colon = colon_at(src, node.span.start).ok_or_else(|| {
                        Error::Unsupported(format!(
                            "`{target}` has an empty value without a `:` after its key; write `key: value`"
                        ))
                    })?;
                    Ok(Patch {
                        range: colon + 1..colon + 1,
                        text: format!(" {}", plain_or_quoted(value)),
                        old: None,
                    })
                }
                _ => {
                    let start = skip_properties(src, &node.span);
                    let end = match style {
                        ScalarStyle::Plain => Some(node.span.end),
                        _ => quoted_end(src, start, *style),
                    };
                    let range = start..end.unwrap_or(node.span.end);
                    let written = &src[range.clone()];
                    let ok = end.is_some()
                        && (*style != ScalarStyle::Plain || written == old)
                        && !written.contains('\n');
                    if !ok {
                        return Err(Error::Unsupported(format!(
                            "`{target}` spans several lines; write it as `key: value` on one line first"
                        )));
                    }
                    Ok(Patch {
                        range,
                        text: render_in_style(value, *style),
                        old: old_value,
                    })
                }
            }
        }
        Kind::Alias(_) => {
            let name = sigil_name(src, &node.span, '*');
            Err(Error::Unsupported(format!(
                "`{target}` is an alias (*{name}); setting it here would not change the anchored \
                 value. Replace `*{name}` with a value, or set the value at the anchor &{name}"
            )))
        }
        Kind::Map { .. } | Kind::Seq { .. } => Err(Error::Unsupported(format!(
            "`{target}` is {}, not a scalar; point the key path at the value itself (for Helm \
             charts usually `image.digest`)",
            node.what()
        ))),
    }
}

/// The byte offset of the `:` that ends the key before an empty value at `at`.
fn colon_at(src: &str, at: usize) -> Option<usize> {
    let rest = &src[at..];
    let skip = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    rest[skip..].starts_with(':').then_some(at + skip)
}

fn insert_into_map(
    src: &str,
    map: &Node,
    keys: &[&str],
    value: &str,
    width: usize,
    eol: &str,
) -> Result<Patch> {
    let Kind::Map { entries, flow, end } = &map.kind else {
        unreachable!("called with a mapping")
    };
    if *flow {
        let patch = match entries.last() {
            None => Patch {
                range: end.start..end.start,
                text: render_flow(keys, value),
                old: None,
            },
            Some((k, v)) => {
                let at = k.content_end(src).max(v.content_end(src));
                Patch {
                    range: at..at,
                    text: format!(", {}", render_flow(keys, value)),
                    old: None,
                }
            }
        };
        return Ok(patch);
    }
    let first_key = &entries
        .first()
        .expect("a block mapping has at least one entry")
        .0;
    let indent = column(src, first_key.span.start);
    let (at, need_eol) = after_line(src, map.content_end(src));
    Ok(Patch {
        range: at..at,
        text: format!(
            "{}{}",
            if need_eol { eol } else { "" },
            render_block(keys, value, indent, width, eol)
        ),
        old: None,
    })
}

#[allow(clippy::too_many_arguments)]
fn insert_into_null(
    src: &str,
    null: &Node,
    parent: Option<(&Node, &Node)>,
    keys: &[&str],
    value: &str,
    width: usize,
    eol: &str,
    here: &str,
) -> Result<Patch> {
    if null.anchor != 0 {
        return Err(Error::Unsupported(format!(
            "`{here}` is an anchored empty value; give it a mapping by hand first"
        )));
    }
    let Some((pmap, pkey)) = parent else {
        // An empty document (`---` alone): append at the end.
        if !null.span.is_empty() {
            return Err(Error::Unsupported(
                "the document is an explicit null; replace it with a mapping first".into(),
            ));
        }
        let prefix = if src.ends_with('\n') { "" } else { eol };
        return Ok(Patch {
            range: src.len()..src.len(),
            text: format!("{prefix}{}", render_block(keys, value, 0, width, eol)),
            old: None,
        });
    };
    let implicit = null.span.is_empty();
    let colon = if implicit {
        colon_at(src, null.span.start)
    } else {
        let before = src[..null.span.start].trim_end_matches([' ', '\t']);
        before.ends_with(':').then(|| before.len() - 1)
    };
    let Some(colon) = colon else {
        return Err(Error::Unsupported(format!(
            "`{here}` is empty but not written as `key:` on one line; give it a mapping by hand first"
        )));
    };
    if matches!(pmap.kind, Kind::Map { flow: true, .. }) {
        let flow = format!("{{{}}}", render_flow(keys, value));
        return Ok(if implicit {
            Patch {
                range: colon + 1..colon + 1,
                text: format!(" {flow}"),
                old: None,
            }
        } else {
            Patch {
                range: null.span.clone(),
                text: flow,
                old: None,
            }
        });
    }
    let indent = column(src, pkey.span.start) + width;
    let (line_end, need_eol) = after_line(src, null.span.end.max(colon + 1));
    let block = render_block(keys, value, indent, width, eol);
    let nl = if need_eol { eol } else { "" };
    if implicit {
        Ok(Patch {
            range: line_end..line_end,
            text: format!("{nl}{block}"),
            old: None,
        })
    } else {
        // `image: ~  # comment` -> `image:  # comment` + the new lines.
        Ok(Patch {
            range: colon + 1..line_end,
            text: format!("{}{nl}{block}", &src[null.span.end..line_end]),
            old: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str) -> Vec<Step> {
        path.split('.').map(|k| Step::Key(k.into())).collect()
    }

    #[test]
    fn spans_are_bytes_after_multibyte_bom_and_crlf() {
        let src = "\u{feff}é: ü\r\nimage:\r\n  tag: \"ö\"\r\n";
        let parsed = parse(src).unwrap();
        let Kind::Map { entries, .. } = &parsed.docs[0].kind else {
            panic!()
        };
        let Kind::Map { entries: inner, .. } = &entries[1].1.kind else {
            panic!()
        };
        assert_eq!(&src[inner[0].1.span.clone()], "\"ö\"");
        assert_eq!(column(src, entries[0].0.span.start), 0);
        assert_eq!(column(src, inner[0].0.span.start), 2);
    }

    #[test]
    fn get_reads_values_and_follows_aliases() {
        let src = "a: &x {d: v}\nb: *x\nc:\n";
        assert_eq!(get(src, &key("a.d")).unwrap().as_deref(), Some("v"));
        assert_eq!(get(src, &key("b.d")).unwrap().as_deref(), Some("v"));
        assert_eq!(get(src, &key("c.d")).unwrap(), None);
        assert_eq!(get(src, &key("z.d")).unwrap(), None);
        assert!(get(src, &key("a")).is_err());
    }

    #[test]
    fn plain_safe_refuses_values_that_would_change_type() {
        assert!(plain_safe("sha256:abc"));
        for v in [
            "", "1.0", "true", "yes", "On", "null", "~", "a b", "a: b", "#x", "x:",
        ] {
            assert!(!plain_safe(v), "{v:?}");
        }
    }
}
