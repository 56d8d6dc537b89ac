//! The safety net: re-parse before and after with an independent parser (`serde_norway`,
//! a port of libyaml) and require that the only difference is the value that was set.

use serde::Deserialize;
use serde_norway::{Mapping, Value};

use crate::error::{Error, Result};
use crate::steps::{Step, describe};

fn load_all(src: &str) -> Result<Vec<Value>, String> {
    // libyaml (via unsafe-libyaml) counts a leading BOM as a column of the first line and
    // then rejects keys at column 0 further down; the BOM carries no data, so drop it.
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut docs = Vec::new();
    for doc in serde_norway::Deserializer::from_str(src) {
        docs.push(Value::deserialize(doc).map_err(|e| e.to_string())?);
    }
    if docs.is_empty() {
        docs.push(Value::Null);
    }
    Ok(docs)
}

fn key_matches(key: &Value, want: &str) -> bool {
    match key {
        Value::String(s) => s == want,
        Value::Number(n) => n.to_string() == want,
        Value::Bool(b) => b.to_string() == want,
        _ => false,
    }
}

/// Sets `steps` in a parsed value the way the text edit should have: creating missing
/// mappings, replacing a null with a mapping.
fn set_in(value: &mut Value, steps: &[Step], new: &str) -> Result<(), String> {
    let Some((step, rest)) = steps.split_first() else {
        *value = Value::String(new.to_string());
        return Ok(());
    };
    match step {
        Step::Key(k) => {
            if value.is_null() {
                *value = Value::Mapping(Mapping::new());
            }
            let Value::Mapping(map) = value else {
                return Err(format!("expected a mapping before `{k}`"));
            };
            let existing = map.keys().find(|key| key_matches(key, k)).cloned();
            let key = existing.unwrap_or_else(|| Value::String(k.clone()));
            let slot = map.entry(key).or_insert(Value::Null);
            set_in(slot, rest, new)
        }
        Step::Match { field, value: want } => {
            let Value::Sequence(items) = value else {
                return Err(format!("expected a list with `{field}: {want}`"));
            };
            let item = items
                .iter_mut()
                .find(|item| item.get(field.as_str()).and_then(Value::as_str) == Some(want))
                .ok_or_else(|| format!("no entry with `{field}: {want}`"))?;
            set_in(item, rest, new)
        }
    }
}

/// Checks that `after` means exactly `before` with `steps` set to `new`.
pub(crate) fn verify(before: &str, after: &str, steps: &[Step], new: &str) -> Result<()> {
    let target = describe(steps);
    let bug = |what: String| {
        Error::Verification(format!(
            "refusing to write: {what} (while setting `{target}`). The file was not changed; \
             this is a bug in gitops-bump, please report it with the file"
        ))
    };
    let mut expected = load_all(before).map_err(|e| {
        Error::Parse(format!(
            "{e} (the file parses with one YAML reader but not another; simplify it or report it)"
        ))
    })?;
    set_in(&mut expected[0], steps, new).map_err(|e| bug(format!("cannot model the edit: {e}")))?;
    let got =
        load_all(after).map_err(|e| bug(format!("the edited file is not valid YAML: {e}")))?;
    if got != expected {
        return Err(bug(
            "the edited file differs in meaning by more than that one value".to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str) -> Vec<Step> {
        path.split('.').map(|k| Step::Key(k.into())).collect()
    }

    #[test]
    fn accepts_only_the_target_change() {
        verify("a:\n  b: 1\n", "a:\n  b: 1\n  d: x\n", &key("a.d"), "x").unwrap();
        verify("a: ~\n", "a:\n  d: x\n", &key("a.d"), "x").unwrap();
        verify("", "a:\n  d: x\n", &key("a.d"), "x").unwrap();
        let bom = "\u{feff}a:\r\n  b: 1\r\n\r\nc: 2\r\n";
        let after = "\u{feff}a:\r\n  b: 1\r\n  d: x\r\n\r\nc: 2\r\n";
        verify(bom, after, &key("a.d"), "x").unwrap();
    }

    #[test]
    fn rejects_any_other_change() {
        let e = verify("a:\n  b: 1\n", "a:\n  b: 2\n  d: x\n", &key("a.d"), "x").unwrap_err();
        assert!(matches!(e, Error::Verification(_)), "{e}");
        // The value is there, but as a number, not the string that was asked for.
        let e = verify("a: {}\n", "a: {d: 1}\n", &key("a.d"), "1").unwrap_err();
        assert!(matches!(e, Error::Verification(_)), "{e}");
        // An alias target changes with its anchor.
        let e = verify(
            "x: &a {d: o}\ny: *a\n",
            "x: &a {d: n}\ny: *a\n",
            &key("x.d"),
            "n",
        )
        .unwrap_err();
        assert!(matches!(e, Error::Verification(_)), "{e}");
    }
}
