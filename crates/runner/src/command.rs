//! Workflow commands: annotations, groups and masks.
//!
//! The runner reads `::name key=value,...::message` lines from a step's
//! output streams. We write them to stderr, because stdout carries the one
//! JSON object of outputs when an action runs as a plain CLI. Escaping
//! follows `@actions/core` (`command.ts`): `%`, CR and LF in the message;
//! those plus `:` and `,` in property values.

use std::fmt::Write as _;
use std::io::Write as _;

/// `escapeData`: what the runner unescapes in a command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `escapeProperty`: a property value also escapes `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The level of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// Where an annotation points. All fields are optional.
#[derive(Debug, Default, Clone)]
pub struct Location {
    pub title: Option<String>,
    pub file: Option<String>,
    pub line: Option<u64>,
    pub end_line: Option<u64>,
    pub col: Option<u64>,
    pub end_column: Option<u64>,
}

/// Formats one workflow command line (without the trailing newline).
pub fn format_command(name: &str, props: &[(&str, String)], message: &str) -> String {
    let mut out = format!("::{name}");
    let mut first = true;
    for (k, v) in props {
        out.push(if first { ' ' } else { ',' });
        first = false;
        let _ = write!(out, "{k}={}", escape_property(v));
    }
    out.push_str("::");
    out.push_str(&escape_data(message));
    out
}

/// Formats an annotation command.
pub fn format_annotation(level: Level, message: &str, loc: &Location) -> String {
    let mut props: Vec<(&str, String)> = Vec::new();
    if let Some(t) = &loc.title {
        props.push(("title", t.clone()));
    }
    if let Some(f) = &loc.file {
        props.push(("file", f.clone()));
    }
    if let Some(l) = loc.line {
        props.push(("line", l.to_string()));
    }
    if let Some(l) = loc.end_line {
        props.push(("endLine", l.to_string()));
    }
    if let Some(c) = loc.col {
        props.push(("col", c.to_string()));
    }
    if let Some(c) = loc.end_column {
        props.push(("endColumn", c.to_string()));
    }
    format_command(level.command(), &props, message)
}

fn emit(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// An `::error::` annotation: fails nothing by itself; the caller exits non-zero.
pub fn error(message: &str) {
    emit(&format_annotation(
        Level::Error,
        message,
        &Location::default(),
    ));
}

pub fn warning(message: &str) {
    emit(&format_annotation(
        Level::Warning,
        message,
        &Location::default(),
    ));
}

pub fn notice(message: &str) {
    emit(&format_annotation(
        Level::Notice,
        message,
        &Location::default(),
    ));
}

/// An annotation with a location (file, line, ...).
pub fn annotate(level: Level, message: &str, loc: &Location) {
    emit(&format_annotation(level, message, loc));
}

/// A plain log line on stderr. Text that would read as a workflow command
/// (a line starting with `::` once leading blanks are trimmed, as the runner
/// trims them) is printed between `::stop-commands::` and its end token, so a
/// file name, branch name, diff line or server message can never annotate,
/// mask or stop the log.
pub fn info(message: &str) {
    emit(&neutralize(message));
}

/// `text` unchanged when no line of it reads as a workflow command; else the
/// text between `::stop-commands::<token>` and `::<token>::`, with a fresh
/// random token the text cannot contain.
pub fn neutralize(text: &str) -> String {
    if !text.lines().any(|l| l.trim_start().starts_with("::")) {
        return text.to_string();
    }
    let token = loop {
        let t = format!("bitvault-{:032x}", rand::random::<u128>());
        if !text.contains(&t) {
            break t;
        }
    };
    format!("::stop-commands::{token}\n{text}\n::{token}::")
}

/// A debug line, shown when the workflow runs with step debug logging.
pub fn debug(message: &str) {
    emit(&format_command("debug", &[], message));
}

/// Masks a secret in every later log line. A multi-line secret (a PEM key)
/// is also masked line by line, because the runner matches per line.
///
/// Only the Actions runner (`GITHUB_ACTIONS=true`) reads `::add-mask::` and
/// hides the line; anywhere else (a laptop, GitLab, Jenkins) the command would
/// print the secret itself, so outside the runner nothing is printed.
pub fn add_mask(secret: &str) {
    if !under_runner() {
        return;
    }
    for line in mask_lines(secret) {
        emit(&line);
    }
}

/// Whether this process runs under the GitHub Actions runner, the only
/// reader of workflow commands that hides what `::add-mask::` names.
pub fn under_runner() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// The `::add-mask::` lines for a secret.
pub fn mask_lines(secret: &str) -> Vec<String> {
    let mut out = Vec::new();
    if secret.trim().is_empty() {
        return out;
    }
    out.push(format_command("add-mask", &[], secret));
    if secret.contains('\n') {
        for part in secret.lines() {
            let part = part.trim();
            // Masking a very short fragment (`-----`) would blank unrelated logs.
            if part.len() >= 8 && part != secret {
                out.push(format_command("add-mask", &[], part));
            }
        }
    }
    out
}

/// A collapsible group in the log; ends when the guard is dropped.
pub fn group(title: &str) -> GroupGuard {
    emit(&format_command("group", &[], title));
    GroupGuard(())
}

pub struct GroupGuard(());

impl Drop for GroupGuard {
    fn drop(&mut self) {
        emit("::endgroup::");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Cases from @actions/core's command tests.
    #[test]
    fn escapes_message_and_properties() {
        assert_eq!(
            format_command(
                "some-command",
                &[],
                "percent % percent % cr \r cr \r lf \n lf \n"
            ),
            "::some-command::percent %25 percent %25 cr %0D cr %0D lf %0A lf %0A"
        );
        assert_eq!(
            format_command(
                "some-command",
                &[(
                    "name",
                    "percent % percent % cr \r cr \r lf \n lf \n colon : colon : comma , comma ,"
                        .into()
                )],
                ""
            ),
            "::some-command name=percent %25 percent %25 cr %0D cr %0D lf %0A lf %0A colon %3A colon %3A comma %2C comma %2C::"
        );
    }

    #[test]
    fn annotation_with_location() {
        let loc = Location {
            title: Some("a: b".into()),
            file: Some("src/a,b.rs".into()),
            line: Some(3),
            col: Some(7),
            ..Default::default()
        };
        assert_eq!(
            format_annotation(Level::Error, "bad\nthing", &loc),
            "::error title=a%3A b,file=src/a%2Cb.rs,line=3,col=7::bad%0Athing"
        );
        assert_eq!(
            format_annotation(Level::Notice, "n", &Location::default()),
            "::notice::n"
        );
    }

    #[test]
    fn text_that_reads_as_a_command_is_printed_inert() {
        assert_eq!(neutralize("plain line\nanother"), "plain line\nanother");
        let evil = "changed: src/a.rs\n  ::error title=Build OK::all checks passed";
        let out = neutralize(evil);
        let lines: Vec<_> = out.lines().collect();
        let token = lines[0].strip_prefix("::stop-commands::").unwrap();
        assert!(token.len() > 32, "{token}");
        assert_eq!(lines[1..lines.len() - 1].join("\n"), evil);
        assert_eq!(lines[lines.len() - 1], format!("::{token}::"));
        // Every line that reads as a command sits between the two markers.
        for cmd in ["::add-mask::x", "::stop-commands::y", "   ::warning::z"] {
            assert!(neutralize(cmd).starts_with("::stop-commands::bitvault-"));
        }
    }

    #[test]
    fn multiline_secrets_are_masked_per_line() {
        let lines = mask_lines("-----BEGIN KEY-----\nMIIEabcdefgh\n-----END KEY-----");
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("::add-mask::-----BEGIN KEY-----%0A"));
        assert!(lines.contains(&"::add-mask::MIIEabcdefgh".to_string()));
        assert!(mask_lines("  ").is_empty());
    }
}
