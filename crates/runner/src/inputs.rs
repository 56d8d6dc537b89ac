//! Action inputs, from `--<name>` flags or `INPUT_<NAME>` variables.
//!
//! Every value is checked against its declared [`InputKind`] when the
//! inputs are resolved, so a bad boolean, number or choice fails before the
//! action starts, with the same message under the runner and on the command
//! line. The typed accessors ([`Inputs::text`], [`Inputs::boolean`],
//! [`Inputs::integer`], [`Inputs::items`], [`Inputs::choice`]) return an
//! error for a name the SPEC does not declare, and remember it, so
//! [`crate::testing::check_reads`] can name it in a test.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::env::Env;
pub use crate::error::InputError;
use crate::spec::{
    ActionSpec, InputKind, InputSpec, Value, backticked, parse, parse_bool, split_list,
};

#[derive(Debug, Clone)]
struct Given {
    raw: String,
    value: Value,
}

/// The accessor a read used, to compare with the declared kind.
#[derive(Clone, Copy)]
enum Asked {
    Text,
    Boolean,
    Integer,
    List,
    Choice,
}

impl Asked {
    fn fits(self, kind: InputKind) -> bool {
        matches!(
            (self, kind),
            (Asked::Text, InputKind::Text)
                | (Asked::Boolean, InputKind::Boolean)
                | (Asked::Integer, InputKind::Integer)
                | (Asked::List, InputKind::List { .. })
                | (Asked::Choice, InputKind::OneOf(_))
        )
    }

    fn noun(self) -> &'static str {
        match self {
            Asked::Text => "text",
            Asked::Boolean => "a boolean",
            Asked::Integer => "a whole number",
            Asked::List => "a list",
            Asked::Choice => "one of a set",
        }
    }
}

/// The resolved inputs of one run. A flag wins over the variable, the
/// variable over the declared default. Values are trimmed, as the runner's
/// `getInput` does; an empty value counts as not given.
#[derive(Debug, Clone)]
pub struct Inputs {
    spec: &'static ActionSpec,
    values: BTreeMap<&'static str, Given>,
    /// Reads of undeclared names or with the wrong accessor, for
    /// [`crate::testing::check_reads`].
    misreads: Arc<Mutex<Vec<String>>>,
}

impl Inputs {
    /// Resolves every declared input from flags and the environment, and
    /// checks each value against its kind. Secret inputs are masked before
    /// anything else can print them.
    pub fn resolve(
        spec: &'static ActionSpec,
        flags: &BTreeMap<String, String>,
        env: &Env,
    ) -> Result<Self, InputError> {
        for name in flags.keys() {
            if spec.input(name).is_none() {
                return Err(InputError::Unknown {
                    name: name.clone(),
                    action: spec.name.to_string(),
                });
            }
        }
        let mut values = BTreeMap::new();
        for input in spec.inputs {
            if let Some(raw) = Self::lookup(input, flags, env) {
                if input.secret {
                    crate::command::add_mask(&raw);
                }
                let value = parse(input, &raw)?;
                values.insert(input.name, Given { raw, value });
            }
        }
        Ok(Self {
            spec,
            values,
            misreads: Arc::default(),
        })
    }

    fn lookup(input: &InputSpec, flags: &BTreeMap<String, String>, env: &Env) -> Option<String> {
        let given = flags
            .get(input.name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .or_else(|| {
                env.get(&input.env_name())
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
            });
        // A default that is an expression (`${{ github.token }}`) is for the
        // runner to evaluate in action.yml; outside it, there is no default.
        given.or_else(|| {
            input
                .default
                .filter(|d| !d.is_empty() && !d.contains("${{"))
                .map(str::to_string)
        })
    }

    /// The action these inputs belong to.
    pub fn spec(&self) -> &'static ActionSpec {
        self.spec
    }

    /// The reads so far of undeclared names, or with the wrong accessor.
    pub fn misreads(&self) -> Vec<String> {
        self.misreads.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn misread(&self, err: InputError) -> InputError {
        if let Ok(mut m) = self.misreads.lock() {
            m.push(err.to_string());
        }
        err
    }

    /// The declaration of `name`, or an error (remembered) when the SPEC
    /// has no such input.
    fn lookup_spec(&self, name: &str) -> Result<&'static InputSpec, InputError> {
        self.spec.input(name).ok_or_else(|| {
            self.misread(InputError::Undeclared {
                name: name.to_string(),
                action: self.spec.name.to_string(),
            })
        })
    }

    /// The declaration of `name`, checked against the accessor used.
    fn typed(&self, name: &str, asked: Asked) -> Result<Option<&Given>, InputError> {
        let input = self.lookup_spec(name)?;
        if !asked.fits(input.kind) {
            return Err(self.misread(InputError::WrongKind {
                name: name.to_string(),
                action: self.spec.name.to_string(),
                asked: asked.noun(),
                declared: input.kind.noun(),
            }));
        }
        Ok(self.values.get(input.name))
    }

    fn declared(&self, name: &str) -> &InputSpec {
        self.lookup_spec(name)
            .unwrap_or_else(|e| panic!("bug: {e}"))
    }

    // Typed accessors: the value, by the kind the SPEC declares.

    /// A text input: its value, or `None` when not given and no default.
    pub fn text(&self, name: &str) -> Result<Option<&str>, InputError> {
        Ok(self.typed(name, Asked::Text)?.map(|g| g.raw.as_str()))
    }

    /// A boolean input; not given (and no default) means `false`.
    pub fn boolean(&self, name: &str) -> Result<bool, InputError> {
        Ok(self.boolean_opt(name)?.unwrap_or(false))
    }

    /// A boolean input, `None` when not given and no default.
    pub fn boolean_opt(&self, name: &str) -> Result<Option<bool>, InputError> {
        Ok(self.typed(name, Asked::Boolean)?.map(|g| match g.value {
            Value::Bool(b) => b,
            _ => unreachable!("checked at resolve"),
        }))
    }

    /// A whole-number input, `None` when not given and no default.
    pub fn integer(&self, name: &str) -> Result<Option<u64>, InputError> {
        Ok(self.typed(name, Asked::Integer)?.map(|g| match g.value {
            Value::Int(n) => n,
            _ => unreachable!("checked at resolve"),
        }))
    }

    /// A list input's items (empty when not given).
    pub fn items(&self, name: &str) -> Result<Vec<String>, InputError> {
        Ok(self
            .typed(name, Asked::List)?
            .map(|g| match &g.value {
                Value::List(items) => items.clone(),
                _ => unreachable!("checked at resolve"),
            })
            .unwrap_or_default())
    }

    /// A one-of input: the declared word, `None` when not given and no default.
    pub fn choice(&self, name: &str) -> Result<Option<&'static str>, InputError> {
        Ok(self.typed(name, Asked::Choice)?.map(|g| match g.value {
            Value::Choice(w) => w,
            _ => unreachable!("checked at resolve"),
        }))
    }

    /// A one-of input that has a default (or is required): the word, or
    /// an error naming the input when it is not given.
    pub fn required_choice(&self, name: &str) -> Result<&'static str, InputError> {
        self.choice(name)?.ok_or_else(|| InputError::Missing {
            name: name.to_string(),
        })
    }

    /// A whole-number input that has a default (or is required).
    pub fn required_integer(&self, name: &str) -> Result<u64, InputError> {
        self.integer(name)?.ok_or_else(|| InputError::Missing {
            name: name.to_string(),
        })
    }

    /// The value of any kind as given, or a clear error naming the input
    /// when it is not given.
    pub fn required(&self, name: &str) -> Result<&str, InputError> {
        let input = self.lookup_spec(name)?;
        self.values
            .get(input.name)
            .map(|g| g.raw.as_str())
            .ok_or_else(|| InputError::Missing {
                name: name.to_string(),
            })
    }

    // Untyped accessors, kept while the actions move to the typed ones.

    /// The value as given, or `None` when not given and no default.
    /// Panics on an undeclared name; prefer [`Inputs::text`].
    pub fn get(&self, name: &str) -> Option<&str> {
        self.declared(name);
        self.values.get(name).map(|g| g.raw.as_str())
    }

    /// The raw value of a declared input (any kind), or an error for an
    /// undeclared name.
    fn raw(&self, name: &str) -> Result<Option<&str>, InputError> {
        let input = self.lookup_spec(name)?;
        Ok(self.values.get(input.name).map(|g| g.raw.as_str()))
    }

    /// A boolean, as `getBooleanInput` reads it (YAML 1.2 core schema:
    /// `true`, `True`, `TRUE`, `false`, `False`, `FALSE`). Not given: `None`.
    pub fn bool_opt(&self, name: &str) -> Result<Option<bool>, InputError> {
        match self.raw(name)? {
            None => Ok(None),
            Some(v) => parse_bool(v).map(Some).ok_or_else(|| InputError::NotBool {
                name: name.to_string(),
                value: v.to_string(),
            }),
        }
    }

    /// A boolean; not given means `false`.
    pub fn bool(&self, name: &str) -> Result<bool, InputError> {
        Ok(self.bool_opt(name)?.unwrap_or(false))
    }

    /// One of a fixed set of words. Prefer declaring `.one_of(..)` and
    /// reading with [`Inputs::choice`].
    pub fn one_of<'a>(
        &self,
        name: &str,
        allowed: &[&'a str],
    ) -> Result<Option<&'a str>, InputError> {
        match self.raw(name)? {
            None => Ok(None),
            Some(v) => allowed
                .iter()
                .find(|a| **a == v)
                .copied()
                .map(Some)
                .ok_or_else(|| InputError::NotOneOf {
                    name: name.to_string(),
                    value: v.to_string(),
                    allowed: backticked(allowed),
                }),
        }
    }

    /// A non-negative whole number.
    pub fn u64_opt(&self, name: &str) -> Result<Option<u64>, InputError> {
        match self.raw(name)? {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| InputError::NotNumber {
                name: name.to_string(),
                value: v.to_string(),
            }),
        }
    }

    /// A list: one item per line (or per comma when `commas`), trimmed,
    /// blank items dropped, as `getMultilineInput` does. Panics on an
    /// undeclared name; prefer declaring `.list()` and [`Inputs::items`].
    pub fn list(&self, name: &str, commas: bool) -> Vec<String> {
        match self.get(name) {
            None => Vec::new(),
            Some(v) => split_list(v, commas),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::InputSpec;

    static SPEC: ActionSpec = ActionSpec {
        name: "demo",
        description: "demo",
        inputs: &[
            InputSpec::required("filters", "f"),
            InputSpec::with_default("list-files", "l", "none"),
            InputSpec::optional("my input", "m"),
            InputSpec::optional("flag", "b"),
            InputSpec::with_default("token", "t", "${{ github.token }}").secret(),
        ],
        outputs: &[],
        dynamic_outputs: &[],
        permissions: &[],
    };

    static TYPED: ActionSpec = ActionSpec {
        name: "typed",
        description: "typed",
        inputs: &[
            InputSpec::optional("name", "n"),
            InputSpec::with_default("draft", "d", "false").boolean(),
            InputSpec::optional("depth", "n").integer(),
            InputSpec::optional("labels", "l").list_or_commas(),
            InputSpec::optional("images", "i").list(),
            InputSpec::with_default("mode", "m", "bump").one_of(&["bump", "promote", "rollback"]),
        ],
        outputs: &[],
        dynamic_outputs: &[],
        permissions: &[],
    };

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn flags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_runner_variables_with_the_runner_names() {
        let e = env(&[
            ("INPUT_FILTERS", "  src: 'a/**'\n "),
            ("INPUT_LIST-FILES", "json"),
            ("INPUT_MY_INPUT", "x"),
        ]);
        let i = Inputs::resolve(&SPEC, &BTreeMap::new(), &e).unwrap();
        assert_eq!(i.get("filters"), Some("src: 'a/**'"));
        assert_eq!(i.get("list-files"), Some("json"));
        assert_eq!(i.get("my input"), Some("x"));
    }

    #[test]
    fn flags_win_and_defaults_fill_in() {
        let e = env(&[("INPUT_FILTERS", "env")]);
        let mut flags = BTreeMap::new();
        flags.insert("filters".to_string(), "flag".to_string());
        let i = Inputs::resolve(&SPEC, &flags, &e).unwrap();
        assert_eq!(i.get("filters"), Some("flag"));
        assert_eq!(i.get("list-files"), Some("none"));
        assert_eq!(i.get("flag"), None);
        // An expression default belongs to action.yml, not to the CLI.
        assert_eq!(i.get("token"), None);
    }

    #[test]
    fn missing_required_is_a_clear_error() {
        let i =
            Inputs::resolve(&SPEC, &BTreeMap::new(), &env(&[("INPUT_FILTERS", "   ")])).unwrap();
        let err = i.required("filters").unwrap_err().to_string();
        assert!(err.contains("input `filters`: required"), "{err}");
        assert!(err.contains("--filters"), "{err}");
    }

    #[test]
    fn booleans_follow_the_yaml_core_schema() {
        for (v, want) in [
            ("true", true),
            ("True", true),
            ("TRUE", true),
            ("false", false),
            ("FALSE", false),
        ] {
            let i = Inputs::resolve(&SPEC, &BTreeMap::new(), &env(&[("INPUT_FLAG", v)])).unwrap();
            assert_eq!(i.bool("flag").unwrap(), want);
            let i = Inputs::resolve(&TYPED, &flags(&[("draft", v)]), &Env::default()).unwrap();
            assert_eq!(i.boolean("draft").unwrap(), want);
        }
        let i = Inputs::resolve(&SPEC, &BTreeMap::new(), &env(&[("INPUT_FLAG", "yes")])).unwrap();
        assert!(
            i.bool("flag")
                .unwrap_err()
                .to_string()
                .contains("`true` or `false`")
        );
    }

    #[test]
    fn unknown_flag_is_refused() {
        let mut flags = BTreeMap::new();
        flags.insert("nope".to_string(), "1".to_string());
        assert!(Inputs::resolve(&SPEC, &flags, &Env::default()).is_err());
    }

    #[test]
    fn lists_split_on_lines_and_commas() {
        let i = Inputs::resolve(
            &SPEC,
            &BTreeMap::new(),
            &env(&[("INPUT_FLAG", "a, b\n\n c\n")]),
        )
        .unwrap();
        assert_eq!(i.list("flag", true), vec!["a", "b", "c"]);
        assert_eq!(i.list("flag", false), vec!["a, b", "c"]);
        let i = Inputs::resolve(
            &TYPED,
            &BTreeMap::new(),
            &env(&[
                ("INPUT_LABELS", "a, b\n\n c\n"),
                ("INPUT_IMAGES", "a, b\n\n c\n"),
            ]),
        )
        .unwrap();
        assert_eq!(i.items("labels").unwrap(), vec!["a", "b", "c"]);
        assert_eq!(i.items("images").unwrap(), vec!["a, b", "c"]);
    }

    #[test]
    fn typed_values_are_read_by_their_kind() {
        let i = Inputs::resolve(
            &TYPED,
            &flags(&[("depth", " 12 "), ("mode", "promote"), ("name", "n")]),
            &Env::default(),
        )
        .unwrap();
        assert_eq!(i.text("name").unwrap(), Some("n"));
        assert_eq!(i.integer("depth").unwrap(), Some(12));
        assert_eq!(i.choice("mode").unwrap(), Some("promote"));
        assert_eq!(i.required_choice("mode").unwrap(), "promote");
        assert!(!i.boolean("draft").unwrap());
        assert_eq!(i.items("labels").unwrap(), Vec::<String>::new());
        let i = Inputs::resolve(&TYPED, &BTreeMap::new(), &Env::default()).unwrap();
        assert_eq!(i.choice("mode").unwrap(), Some("bump"));
        assert_eq!(i.integer("depth").unwrap(), None);
        assert!(i.required_integer("depth").is_err());
        // A word of the set is matched ignoring case (dorny's `list-files: JSON`).
        let i = Inputs::resolve(&TYPED, &flags(&[("mode", "Rollback")]), &Env::default()).unwrap();
        assert_eq!(i.choice("mode").unwrap(), Some("rollback"));
    }

    /// A bad value is refused when the inputs are resolved, with the same
    /// message whether it came as a flag or as the runner's variable.
    #[test]
    fn bad_values_fail_at_resolve_the_same_way_from_flags_and_the_runner() {
        for (name, value) in [("draft", "yes"), ("depth", "ten"), ("mode", "bumpp")] {
            let from_flag = Inputs::resolve(&TYPED, &flags(&[(name, value)]), &Env::default())
                .unwrap_err()
                .to_string();
            let var = format!("INPUT_{}", name.to_uppercase());
            let from_env = Inputs::resolve(&TYPED, &BTreeMap::new(), &env(&[(&var, value)]))
                .unwrap_err()
                .to_string();
            assert_eq!(from_flag, from_env);
            assert!(
                from_flag.starts_with(&format!("input `{name}`: ")),
                "{from_flag}"
            );
        }
    }

    /// Every input error, as a user (or a developer, for the bugs) reads it.
    #[test]
    fn input_error_messages() {
        let resolve_err = |name: &str, value: &str| {
            Inputs::resolve(&TYPED, &flags(&[(name, value)]), &Env::default())
                .unwrap_err()
                .to_string()
        };
        let i = Inputs::resolve(&SPEC, &BTreeMap::new(), &Env::default()).unwrap();
        let t = Inputs::resolve(&TYPED, &BTreeMap::new(), &Env::default()).unwrap();
        let messages = [
            i.required("filters").unwrap_err().to_string(),
            resolve_err("draft", "yes"),
            resolve_err("depth", "-1"),
            resolve_err("mode", "bumpp"),
            resolve_err("nope", "1"),
            t.text("nmae").unwrap_err().to_string(),
            t.integer("mode").unwrap_err().to_string(),
        ];
        insta::assert_snapshot!(messages.join("\n"));
    }

    #[test]
    fn an_undeclared_name_is_an_error_and_remembered() {
        let i = Inputs::resolve(&TYPED, &BTreeMap::new(), &Env::default()).unwrap();
        let err = i.text("nmae").unwrap_err().to_string();
        assert!(
            err.starts_with("input `nmae`: read by the code of `typed`"),
            "{err}"
        );
        assert!(i.boolean("mode").is_err());
        assert_eq!(i.misreads().len(), 2);
    }
}
