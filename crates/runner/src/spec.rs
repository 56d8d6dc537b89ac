//! The one declaration of an action's inputs and outputs.
//!
//! Each action crate declares a `static SPEC: ActionSpec`. The CLI flags, the
//! generated `actions/<name>/action.yml` and the README's inputs/outputs table
//! all come from it; a test in the `bitvault` crate fails when the committed
//! files drift from it.

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

#[derive(Debug)]
pub struct InputSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// The value used when the input is not given. `None` means no default.
    pub default: Option<&'static str>,
    pub required: bool,
    /// A secret (token, private key): masked as soon as it is read.
    pub secret: bool,
}

#[derive(Debug)]
pub struct OutputSpec {
    pub name: &'static str,
    pub description: &'static str,
}

impl InputSpec {
    /// An optional input with no default.
    pub const fn optional(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            default: None,
            required: false,
            secret: false,
        }
    }

    /// An optional input with a default value.
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
        }
    }

    /// A required input.
    pub const fn required(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            default: None,
            required: true,
            secret: false,
        }
    }

    /// Marks the input as a secret, masked as soon as it is read.
    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
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
}
