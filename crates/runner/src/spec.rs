//! The one declaration of an action's inputs and outputs.
//!
//! Each action crate declares a `static SPEC: ActionSpec`. The CLI flags
//! (`bitvault <name> --help`), the generated `actions/<name>/action.yml` and
//! the README's inputs/outputs table all come from it; a test in the
//! `bitvault` crate fails when the committed files drift from it.
//!
//! # Declaring inputs
//!
//! An input has a name, a description, an optional default, a required
//! flag, a secret flag and a [`InputKind`]. The constructors make a text
//! input; a builder method changes the kind:
//!
//! ```
//! use bitvault_runner::{ActionSpec, InputSpec};
//!
//! static SPEC: ActionSpec = ActionSpec {
//!     name: "demo",
//!     description: "an example",
//!     inputs: &[
//!         InputSpec::required("image", "Image to act on."),                  // text
//!         InputSpec::with_default("mode", "What to do.", "bump")
//!             .one_of(&["bump", "promote", "rollback"]),                     // one of a set
//!         InputSpec::with_default("draft", "Open a draft.", "false").boolean(),
//!         InputSpec::with_default("depth", "Commits to fetch.", "100").integer(),
//!         InputSpec::optional("labels", "Labels to add.").list_or_commas(), // lines or commas
//!         InputSpec::optional("images", "One image per line.").list(),      // lines
//!         InputSpec::with_default("token", "GitHub token.", "${{ github.token }}").secret(),
//!     ],
//!     outputs: &[],
//!     dynamic_outputs: &[],
//!     permissions: &[],
//! };
//! # assert!(SPEC.check().is_ok());
//! ```
//!
//! Values are checked against their kind when the inputs are resolved
//! ([`crate::Inputs::resolve`]), under the runner and as CLI flags alike, with
//! one message style: ``input `depth`: must be a whole number, got "ten"``.
//! The kind is listed in `--help`, action.yml and the README
//! ([`InputSpec::help`]: "One of: `bump`, `promote`, `rollback`.").
//!
//! # Reading inputs
//!
//! Each action reads its inputs in ONE function that returns a typed
//! request, through the typed accessors of [`crate::Inputs`]:
//! `text`, `required`, `boolean`, `integer`, `items`, `choice`
//! (`required_choice`, `required_integer` for inputs with a default). Reading a
//! name the SPEC does not declare (or with the accessor of another kind)
//! is an `Err`, never a panic, and a test catches it:
//!
//! ```
//! # use bitvault_runner::{ActionSpec, InputSpec, Inputs, InputError};
//! # static SPEC: ActionSpec = ActionSpec { name: "demo", description: "d",
//! #     inputs: &[InputSpec::with_default("mode", "m", "bump").one_of(&["bump", "promote"]),
//! #                InputSpec::optional("draft", "d").boolean()],
//! #     outputs: &[], dynamic_outputs: &[], permissions: &[] };
//! struct Request { mode: &'static str, draft: bool }
//! impl Request {
//!     fn from_inputs(inputs: &Inputs) -> Result<Self, InputError> {
//!         Ok(Self { mode: inputs.choice("mode")?.unwrap_or("bump"), draft: inputs.boolean("draft")? })
//!     }
//! }
//! // in the action crate's tests: fails naming any undeclared input read
//! bitvault_runner::testing::check_reads(&SPEC, Request::from_inputs).unwrap();
//! ```
//!
//! `bitvault_runner::testing::check_reads_with(&SPEC, &[("name", "value")], f)`
//! gives chosen values to some inputs (`""`: not given), for a request that
//! validates more than the kinds.

use crate::error::InputError;

/// One action: its name (the same in `actions/<name>`, `bitvault <name>` and
/// `crates/<name>`), what it does, and its inputs and outputs.
#[derive(Debug)]
pub struct ActionSpec {
    pub name: &'static str,
    /// One line, shown in `--help`, action.yml and the README.
    pub description: &'static str,
    pub inputs: &'static [InputSpec],
    pub outputs: &'static [OutputSpec],
    /// Outputs whose names depend on the inputs (path-filter's `<filter>`),
    /// described for humans; a composite action cannot declare them.
    pub dynamic_outputs: &'static [OutputSpec],
    /// Extra permissions the workflow job needs (`id-token: write`, ...).
    pub permissions: &'static [&'static str],
}

/// What values an input takes. Checked when inputs are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Any text (trimmed; empty means not given).
    Text,
    /// `true` or `false` (also `True`, `TRUE`, `False`, `FALSE`, as the
    /// runner's `getBooleanInput`). Not given and no default: `false`.
    Boolean,
    /// A non-negative whole number.
    Integer,
    /// A list: one item per line, or (with `commas`) also separated by
    /// commas; items trimmed, blank ones dropped (`getMultilineInput`).
    List { commas: bool },
    /// One of a fixed set of words, matched ignoring ASCII case; the
    /// action reads the declared word.
    OneOf(&'static [&'static str]),
}

impl InputKind {
    /// A word for messages: `text`, `a boolean`, ...
    pub fn noun(&self) -> &'static str {
        match self {
            InputKind::Text => "text",
            InputKind::Boolean => "a boolean",
            InputKind::Integer => "a whole number",
            InputKind::List { .. } => "a list",
            InputKind::OneOf(_) => "one of a set",
        }
    }

    /// The sentence that tells a user which values are allowed, or `None`
    /// for text.
    pub fn sentence(&self) -> Option<String> {
        match self {
            InputKind::Text => None,
            InputKind::Boolean => Some("`true` or `false`.".to_string()),
            InputKind::Integer => Some("A whole number.".to_string()),
            InputKind::List { commas: false } => Some("A list, one item per line.".to_string()),
            InputKind::List { commas: true } => {
                Some("A list, one item per line or separated by commas.".to_string())
            }
            InputKind::OneOf(words) => Some(format!("One of: {}.", backticked(words))),
        }
    }

    /// The placeholder of the CLI flag: `VALUE`, `true|false`, `N`, ...
    pub fn value_name(&self) -> String {
        match self {
            InputKind::Text => "VALUE".to_string(),
            InputKind::Boolean => "true|false".to_string(),
            InputKind::Integer => "N".to_string(),
            InputKind::List { .. } => "LIST".to_string(),
            InputKind::OneOf(words) => words.join("|"),
        }
    }
}

/// `` `a`, `b`, `c` ``
pub(crate) fn backticked(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug)]
pub struct InputSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// The value used when the input is not given. `None` means no default.
    pub default: Option<&'static str>,
    pub required: bool,
    /// A secret (token, private key): masked as soon as it is read.
    pub secret: bool,
    /// What values it takes; [`InputKind::Text`] unless a builder says.
    pub kind: InputKind,
}

#[derive(Debug)]
pub struct OutputSpec {
    pub name: &'static str,
    pub description: &'static str,
}

impl InputSpec {
    /// An optional text input with no default.
    pub const fn optional(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            default: None,
            required: false,
            secret: false,
            kind: InputKind::Text,
        }
    }

    /// An optional text input with a default value.
    pub const fn with_default(
        name: &'static str,
        description: &'static str,
        default: &'static str,
    ) -> Self {
        Self {
            name,
            description,
            default: Some(default),
            required: false,
            secret: false,
            kind: InputKind::Text,
        }
    }

    /// A required text input.
    pub const fn required(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            default: None,
            required: true,
            secret: false,
            kind: InputKind::Text,
        }
    }

    /// Marks the input as a secret, masked as soon as it is read.
    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// `true` or `false`.
    pub const fn boolean(mut self) -> Self {
        self.kind = InputKind::Boolean;
        self
    }

    /// A non-negative whole number.
    pub const fn integer(mut self) -> Self {
        self.kind = InputKind::Integer;
        self
    }

    /// A list, one item per line.
    pub const fn list(mut self) -> Self {
        self.kind = InputKind::List { commas: false };
        self
    }

    /// A list, one item per line or separated by commas.
    pub const fn list_or_commas(mut self) -> Self {
        self.kind = InputKind::List { commas: true };
        self
    }

    /// One of a fixed set of words.
    pub const fn one_of(mut self, words: &'static [&'static str]) -> Self {
        self.kind = InputKind::OneOf(words);
        self
    }

    /// The description with the sentence on allowed values, as `--help`,
    /// action.yml and the README show it.
    pub fn help(&self) -> String {
        match self.kind.sentence() {
            None => self.description.to_string(),
            Some(s) => format!("{} {s}", self.description),
        }
    }

    /// The environment variable the runner sets for this input:
    /// `INPUT_` + upper-case name, spaces to underscores, hyphens kept.
    pub fn env_name(&self) -> String {
        input_env_name(self.name)
    }
}

impl OutputSpec {
    pub const fn new(name: &'static str, description: &'static str) -> Self {
        Self { name, description }
    }
}

impl ActionSpec {
    pub fn input(&self, name: &str) -> Option<&InputSpec> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// Checks the declaration itself: names unique, every default a value
    /// of its input's kind, a set of words not empty. The `bitvault` crate
    /// runs it for every action.
    pub fn check(&self) -> Result<(), String> {
        for (n, input) in self.inputs.iter().enumerate() {
            if self.inputs[..n].iter().any(|i| i.name == input.name) {
                return Err(format!(
                    "{}: input `{}` is declared twice",
                    self.name, input.name
                ));
            }
            if let InputKind::OneOf(words) = input.kind
                && words.is_empty()
            {
                return Err(format!(
                    "{}: input `{}` is one of an empty set",
                    self.name, input.name
                ));
            }
            if let Some(d) = input
                .default
                .filter(|d| !d.is_empty() && !d.contains("${{"))
            {
                check_value(input, d).map_err(|e| format!("{}: the default of {e}", self.name))?;
            }
        }
        Ok(())
    }
}

/// The runner's rule for an input's variable name (`actions/toolkit`
/// `getInput`): `INPUT_` + name with spaces replaced by `_`, upper-cased.
pub fn input_env_name(name: &str) -> String {
    format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_name_follows_the_runner() {
        assert_eq!(input_env_name("list-files"), "INPUT_LIST-FILES");
        assert_eq!(input_env_name("my input"), "INPUT_MY_INPUT");
        assert_eq!(input_env_name("token"), "INPUT_TOKEN");
    }

    #[test]
    fn kinds_are_told_in_the_help() {
        let i = InputSpec::with_default("mode", "What to do.", "bump")
            .one_of(&["bump", "promote", "rollback"]);
        assert_eq!(
            i.help(),
            "What to do. One of: `bump`, `promote`, `rollback`."
        );
        assert_eq!(
            InputSpec::optional("x", "X.").boolean().help(),
            "X. `true` or `false`."
        );
        assert_eq!(InputSpec::optional("x", "X.").help(), "X.");
    }

    #[test]
    fn a_default_of_the_wrong_kind_is_caught() {
        static BAD: ActionSpec = ActionSpec {
            name: "bad",
            description: "d",
            inputs: &[InputSpec::with_default("n", "N.", "ten").integer()],
            outputs: &[],
            dynamic_outputs: &[],
            permissions: &[],
        };
        assert_eq!(
            BAD.check().unwrap_err(),
            "bad: the default of input `n`: must be a whole number, got \"ten\""
        );
    }
}

/// A resolved value, parsed by its input's kind.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Text,
    Bool(bool),
    Int(u64),
    List(Vec<String>),
    Choice(&'static str),
}

/// Parses one value by its input's kind.
pub(crate) fn parse(input: &InputSpec, raw: &str) -> Result<Value, InputError> {
    let name = || input.name.to_string();
    Ok(match input.kind {
        InputKind::Text => Value::Text,
        InputKind::Boolean => Value::Bool(parse_bool(raw).ok_or_else(|| InputError::NotBool {
            name: name(),
            value: raw.to_string(),
        })?),
        InputKind::Integer => Value::Int(raw.parse().map_err(|_| InputError::NotNumber {
            name: name(),
            value: raw.to_string(),
        })?),
        InputKind::List { commas } => Value::List(split_list(raw, commas)),
        InputKind::OneOf(words) => {
            let word = words
                .iter()
                .find(|w| **w == raw)
                .or_else(|| words.iter().find(|w| w.eq_ignore_ascii_case(raw)));
            Value::Choice(word.copied().ok_or_else(|| InputError::NotOneOf {
                name: name(),
                value: raw.to_string(),
                allowed: backticked(words),
            })?)
        }
    })
}

/// Checks one value of an input against its kind (for [`ActionSpec::check`]).
fn check_value(input: &InputSpec, raw: &str) -> Result<(), InputError> {
    parse(input, raw).map(|_| ())
}

/// `getBooleanInput`'s words (YAML 1.2 core schema).
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

pub(crate) fn split_list(v: &str, commas: bool) -> Vec<String> {
    v.split(|c| c == '\n' || (commas && c == ','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
