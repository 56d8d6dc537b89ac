//! File commands: `$GITHUB_OUTPUT`, `$GITHUB_ENV`, `$GITHUB_STEP_SUMMARY`.
//!
//! Values are written in the runner's heredoc form with a random delimiter
//! (`name<<ghadelimiter_<random>`), as `@actions/core` does, and a value that
//! contains the delimiter is refused rather than written, so no value can
//! end its own heredoc and inject a second output.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use rand::Rng;

/// The step summary limit the runner enforces (1 MiB per step).
pub const SUMMARY_LIMIT: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FileCommandError {
    #[error(
        "output name {0:?} is not usable: names must be non-empty and hold no `=`, `<<`, CR or LF"
    )]
    BadName(String),
    #[error("the value of {0:?} contains the heredoc delimiter; refusing to write it")]
    DelimiterInValue(String),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn random_delimiter() -> String {
    let mut rng = rand::thread_rng();
    let bytes: [u8; 16] = rng.r#gen();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ghadelimiter_{hex}")
}

fn check_name(name: &str) -> Result<(), FileCommandError> {
    if name.is_empty()
        || name.contains('=')
        || name.contains("<<")
        || name.contains('\n')
        || name.contains('\r')
    {
        return Err(FileCommandError::BadName(name.to_string()));
    }
    Ok(())
}

/// Formats one `name<<delim\nvalue\ndelim\n` record with the given delimiter.
pub fn format_heredoc(
    name: &str,
    value: &str,
    delimiter: &str,
) -> Result<String, FileCommandError> {
    check_name(name)?;
    if name.contains(delimiter) {
        return Err(FileCommandError::BadName(name.to_string()));
    }
    if value.contains(delimiter) {
        return Err(FileCommandError::DelimiterInValue(name.to_string()));
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// Formats a set of records, each with a fresh random delimiter.
pub fn format_records<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<String, FileCommandError> {
    let mut out = String::new();
    for (name, value) in pairs {
        out.push_str(&format_heredoc(name, value, &random_delimiter())?);
    }
    Ok(out)
}

/// Appends records to a file command file (`$GITHUB_OUTPUT`, `$GITHUB_ENV`).
/// Everything is formatted first, so a refused value writes nothing at all.
pub fn append_records<'a>(
    path: &Path,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), FileCommandError> {
    let text = format_records(pairs)?;
    append(path, text.as_bytes())
}

fn append(path: &Path, bytes: &[u8]) -> Result<(), FileCommandError> {
    let io = |source| FileCommandError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)
}

/// Parses a file command file the way the runner does (both `k=v` and
/// heredoc forms). Used by tests and by the composite-action harness.
pub fn parse_records(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                out.push((line[..e].to_string(), line[e + 1..].to_string()));
            }
            (_, Some(h)) => {
                let name = &line[..h];
                let delim = &line[h + 2..];
                if name.is_empty() || delim.is_empty() {
                    return Err(format!("invalid heredoc header {line:?}"));
                }
                let mut value: Vec<&str> = Vec::new();
                loop {
                    if i >= lines.len() {
                        return Err(format!("heredoc for {name:?} has no closing delimiter"));
                    }
                    let l = lines[i];
                    i += 1;
                    if l == delim {
                        break;
                    }
                    value.push(l);
                }
                out.push((name.to_string(), value.join("\n")));
            }
            _ => return Err(format!("invalid file command line {line:?}")),
        }
    }
    Ok(out)
}

/// Appends Markdown to the step summary, keeping the file under the runner's
/// 1 MiB limit: what does not fit is cut at a line boundary and a note says so.
pub fn append_summary(path: &Path, markdown: &str) -> Result<(), FileCommandError> {
    let existing = std::fs::metadata(path)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    let text = fit_summary(markdown, SUMMARY_LIMIT.saturating_sub(existing));
    if text.is_empty() {
        return Ok(());
    }
    append(path, text.as_bytes())
}

/// Cuts `markdown` to at most `budget` bytes, at a line boundary, with a note.
pub fn fit_summary(markdown: &str, budget: usize) -> String {
    let mut text = markdown.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if text.len() <= budget {
        return text;
    }
    const NOTE: &str = "\n> The rest of this summary was cut to stay under the runner's 1 MiB step summary limit; see the step log.\n";
    if budget <= NOTE.len() {
        return String::new();
    }
    let keep = budget - NOTE.len();
    let mut cut = 0;
    for (idx, _) in text.match_indices('\n') {
        if idx + 1 > keep {
            break;
        }
        cut = idx + 1;
    }
    let mut out = text[..cut].to_string();
    out.push_str(NOTE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_round_trips_multiline_values() {
        let text = format_records([("a", "one\ntwo"), ("b", ""), ("c", "x=y<<z")]).unwrap();
        let parsed = parse_records(&text).unwrap();
        assert_eq!(
            parsed,
            vec![
                ("a".into(), "one\ntwo".into()),
                ("b".into(), "".into()),
                ("c".into(), "x=y<<z".into())
            ]
        );
    }

    #[test]
    fn a_value_crafted_to_inject_a_second_output_is_data() {
        // A value that tries to close a heredoc and open a new output. With a
        // random delimiter the attacker cannot know, it stays one value.
        let evil = "x\nEOF\ninjected=true\nghadelimiter_\nother<<EOF\nyes\nEOF";
        let text = format_records([("files", evil)]).unwrap();
        let parsed = parse_records(&text).unwrap();
        assert_eq!(parsed, vec![("files".into(), evil.into())]);
    }

    #[test]
    fn a_value_holding_the_delimiter_is_refused() {
        let err = format_heredoc("x", "a\nDELIM\nb=c", "DELIM").unwrap_err();
        assert!(matches!(err, FileCommandError::DelimiterInValue(_)));
        assert!(format_heredoc("a=b", "v", "D").is_err());
        assert!(format_heredoc("a<<b", "v", "D").is_err());
        assert!(format_heredoc("", "v", "D").is_err());
    }

    #[test]
    fn refused_value_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out");
        std::fs::write(&p, "").unwrap();
        // The name check fails on the second pair: the first is not written either.
        assert!(append_records(&p, [("ok", "1"), ("bad=name", "2")]).is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "");
    }

    #[test]
    fn summary_is_kept_under_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.md");
        let line = "| a | b |\n".repeat(1000);
        for _ in 0..200 {
            append_summary(&p, &line).unwrap();
        }
        let len = std::fs::metadata(&p).unwrap().len() as usize;
        assert!(len <= SUMMARY_LIMIT, "{len}");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("1 MiB step summary limit"));
        assert_eq!(fit_summary("short", 100), "short\n");
    }
}
