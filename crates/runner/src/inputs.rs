//! Action inputs, from `--<name>` flags or `INPUT_<NAME>` variables.

use std::collections::BTreeMap;

use crate::env::Env;
use crate::spec::{ActionSpec, InputSpec};

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(
        "input `{name}` is required: set `{name}:` under `with:` in the workflow, or pass --{name} on the command line"
    )]
    Missing { name: String },
    #[error("input `{name}` must be `true` or `false`, got {value:?}")]
    NotBool { name: String, value: String },
    #[error("input `{name}` must be one of {allowed}, got {value:?}")]
    NotOneOf {
        name: String,
        value: String,
        allowed: String,
    },
    #[error("input `{name}` must be a whole number, got {value:?}")]
    NotNumber { name: String, value: String },
    #[error("`{0}` is not an input of this action")]
    Unknown(String),
}

/// The resolved inputs of one run. A flag wins over the variable, the
/// variable over the declared default. Values are trimmed, as the runner's
/// `getInput` does; an empty value counts as not given.
#[derive(Debug, Clone)]
pub struct Inputs {
    spec: &'static ActionSpec,
    values: BTreeMap<&'static str, String>,
}

impl Inputs {
    /// Resolves every declared input from flags and the environment.
    /// Secret inputs are masked before anything else can print them.
    pub fn resolve(
        spec: &'static ActionSpec,
        flags: &BTreeMap<String, String>,
        env: &Env,
    ) -> Result<Self, InputError> {
        for name in flags.keys() {
            if spec.input(name).is_none() {
                return Err(InputError::Unknown(name.clone()));
            }
        }
        let mut values = BTreeMap::new();
        for input in spec.inputs {
            if let Some(v) = Self::lookup(input, flags, env) {
                if input.secret {
                    crate::command::add_mask(&v);
                }
                values.insert(input.name, v);
            }
        }
        Ok(Self { spec, values })
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

    fn declared(&self, name: &str) -> &InputSpec {
        self.spec.input(name).unwrap_or_else(|| {
            panic!(
                "bug: `{name}` is not declared in the spec of {}",
                self.spec.name
            )
        })
    }

    /// The value, or `None` when not given and no default.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.declared(name);
        self.values.get(name).map(String::as_str)
    }

    /// The value, or a clear error naming the input.
    pub fn required(&self, name: &str) -> Result<&str, InputError> {
        self.get(name).ok_or_else(|| InputError::Missing {
            name: name.to_string(),
        })
    }

    /// A boolean, as `getBooleanInput` reads it (YAML 1.2 core schema:
    /// `true`, `True`, `TRUE`, `false`, `False`, `FALSE`). Not given: `None`.
    pub fn bool_opt(&self, name: &str) -> Result<Option<bool>, InputError> {
        match self.get(name) {
            None => Ok(None),
            Some("true" | "True" | "TRUE") => Ok(Some(true)),
            Some("false" | "False" | "FALSE") => Ok(Some(false)),
            Some(v) => Err(InputError::NotBool {
                name: name.to_string(),
                value: v.to_string(),
            }),
        }
    }

    /// A boolean; not given means `false`.
    pub fn bool(&self, name: &str) -> Result<bool, InputError> {
        Ok(self.bool_opt(name)?.unwrap_or(false))
    }

    /// One of a fixed set of words.
    pub fn one_of<'a>(
        &self,
        name: &str,
        allowed: &[&'a str],
    ) -> Result<Option<&'a str>, InputError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => allowed
                .iter()
                .find(|a| **a == v)
                .copied()
                .map(Some)
                .ok_or_else(|| InputError::NotOneOf {
                    name: name.to_string(),
                    value: v.to_string(),
                    allowed: allowed.join(", "),
                }),
        }
    }

    /// A non-negative whole number.
    pub fn u64_opt(&self, name: &str) -> Result<Option<u64>, InputError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| InputError::NotNumber {
                name: name.to_string(),
                value: v.to_string(),
            }),
        }
    }

    /// A list: one item per line (or per comma when `commas`), trimmed,
    /// blank items dropped, as `getMultilineInput` does.
    pub fn list(&self, name: &str, commas: bool) -> Vec<String> {
        let Some(v) = self.get(name) else {
            return Vec::new();
        };
        v.split(|c| c == '\n' || (commas && c == ','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
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

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
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
        assert!(err.contains("input `filters` is required"), "{err}");
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
    }
}
