//! Test helpers for actions: prove that an action reads only the inputs
//! its SPEC declares, each with the accessor of its kind.
//!
//! ```
//! use bitvault_runner::{ActionSpec, InputSpec, Inputs, InputError};
//!
//! static SPEC: ActionSpec = ActionSpec {
//!     name: "demo",
//!     description: "d",
//!     inputs: &[InputSpec::optional("draft", "d").boolean()],
//!     outputs: &[],
//!     dynamic_outputs: &[],
//!     permissions: &[],
//! };
//! fn from_inputs(inputs: &Inputs) -> Result<bool, InputError> {
//!     inputs.boolean("draft")
//! }
//! assert!(bitvault_runner::testing::check_reads(&SPEC, from_inputs).unwrap());
//! ```

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::env::Env;
use crate::inputs::Inputs;
use crate::spec::{ActionSpec, InputKind, InputSpec};

/// A value valid for an input's kind: its default when it has a plain
/// one, else `x`, `true`, `1`, two list items, or the first word.
pub fn sample(input: &InputSpec) -> String {
    if let Some(d) = input
        .default
        .filter(|d| !d.is_empty() && !d.contains("${{"))
    {
        return d.to_string();
    }
    match input.kind {
        InputKind::Text => "x".to_string(),
        InputKind::Boolean => "true".to_string(),
        InputKind::Integer => "1".to_string(),
        InputKind::List { .. } => "a\nb".to_string(),
        InputKind::OneOf(words) => words[0].to_string(),
    }
}

/// Runs `read` (an action's `from_inputs`) on inputs where every declared
/// input has a valid value ([`sample`]), and panics naming each input it
/// read that the SPEC does not declare, or read with the accessor of
/// another kind. Returns what `read` returned.
pub fn check_reads<T, E>(
    spec: &'static ActionSpec,
    read: impl FnOnce(&Inputs) -> Result<T, E>,
) -> Result<T, E> {
    check_reads_with(spec, &[], read)
}

/// [`check_reads`], with chosen values for some inputs (`""`: not given),
/// for requests that check more than the kinds (a YAML, a reference, ...).
pub fn check_reads_with<T, E>(
    spec: &'static ActionSpec,
    values: &[(&str, &str)],
    read: impl FnOnce(&Inputs) -> Result<T, E>,
) -> Result<T, E> {
    if let Err(e) = spec.check() {
        panic!("the SPEC of `{}` is wrong: {e}", spec.name);
    }
    for (name, _) in values {
        assert!(
            spec.input(name).is_some(),
            "check_reads_with: `{}` declares no input `{name}`",
            spec.name
        );
    }
    let flags: BTreeMap<String, String> = spec
        .inputs
        .iter()
        .map(|i| {
            let v = values
                .iter()
                .find(|(n, _)| *n == i.name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_else(|| sample(i));
            (i.name.to_string(), v)
        })
        .collect();
    let inputs = Inputs::resolve(spec, &flags, &Env::default())
        .unwrap_or_else(|e| panic!("check_reads: the values given do not resolve: {e}"));
    let result = catch_unwind(AssertUnwindSafe(|| read(&inputs)));
    let misreads = inputs.misreads();
    if !misreads.is_empty() {
        panic!(
            "`{}` reads inputs its SPEC does not declare as read:\n  {}",
            spec.name,
            misreads.join("\n  ")
        );
    }
    match result {
        Ok(r) => r,
        Err(p) => resume_unwind(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InputError;

    static SPEC: ActionSpec = ActionSpec {
        name: "demo",
        description: "d",
        inputs: &[
            InputSpec::required("image", "i"),
            InputSpec::with_default("mode", "m", "bump").one_of(&["bump", "promote"]),
            InputSpec::optional("labels", "l").list_or_commas(),
        ],
        outputs: &[],
        dynamic_outputs: &[],
        permissions: &[],
    };

    #[derive(Debug)]
    struct Request {
        image: String,
        mode: &'static str,
        labels: Vec<String>,
    }

    fn good(inputs: &Inputs) -> Result<Request, InputError> {
        Ok(Request {
            image: inputs.required("image")?.to_string(),
            mode: inputs.choice("mode")?.unwrap_or("bump"),
            labels: inputs.items("labels")?,
        })
    }

    #[test]
    fn correct_reads_pass() {
        let r = check_reads(&SPEC, good).unwrap();
        assert_eq!((r.image.as_str(), r.mode), ("x", "bump"));
        assert_eq!(r.labels, ["a", "b"]);
        let r = check_reads_with(&SPEC, &[("mode", "promote"), ("labels", "")], good).unwrap();
        assert_eq!(r.mode, "promote");
        assert!(r.labels.is_empty());
    }

    #[test]
    #[should_panic(expected = "input `lables`: read by the code of `demo` but not declared")]
    fn a_misspelt_name_is_caught() {
        let _ = check_reads(&SPEC, |inputs| {
            inputs.required("image")?;
            inputs.items("lables")
        });
    }

    /// Even when the request gives up before (`?` on the misspelt read),
    /// and with the untyped accessor that panics.
    #[test]
    #[should_panic(expected = "input `imgae`: read by the code of `demo` but not declared")]
    fn a_misspelt_name_is_caught_through_the_untyped_accessor() {
        let _: Result<(), InputError> = check_reads(&SPEC, |inputs| {
            let _ = inputs.get("imgae");
            Ok(())
        });
    }

    #[test]
    #[should_panic(expected = "input `mode`: read as a boolean but declared as one of a set")]
    fn a_read_of_the_wrong_kind_is_caught() {
        let _ = check_reads(&SPEC, |inputs| inputs.boolean("mode"));
    }
}
