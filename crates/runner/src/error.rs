//! The one error type of input resolution: every message reads ``input `x`: ...``.

/// What went wrong with an input. Every message reads ``input `x`: ...``.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(
        "input `{name}`: required but not given; set `{name}:` under `with:` in the workflow, or pass --{name} on the command line"
    )]
    Missing { name: String },
    #[error("input `{name}`: must be `true` or `false`, got {value:?}")]
    NotBool { name: String, value: String },
    #[error("input `{name}`: must be one of {allowed}, got {value:?}")]
    NotOneOf {
        name: String,
        value: String,
        allowed: String,
    },
    #[error("input `{name}`: must be a whole number, got {value:?}")]
    NotNumber { name: String, value: String },
    #[error(
        "input `{name}`: `bitvault {action}` has no such input; `bitvault {action} --help` lists its inputs"
    )]
    Unknown { name: String, action: String },
    #[error(
        "input `{name}`: read by the code of `{action}` but not declared in its SPEC (a bug: correct the name or declare the input)"
    )]
    Undeclared { name: String, action: String },
    #[error(
        "input `{name}`: read as {asked} but declared as {declared} in the SPEC of `{action}` (a bug: use the accessor of its kind)"
    )]
    WrongKind {
        name: String,
        action: String,
        asked: &'static str,
        declared: &'static str,
    },
}
