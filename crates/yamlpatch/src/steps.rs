//! Paths into a YAML document, shared by the text editor ([`crate::yaml`]) and the
//! semantic check ([`crate::semantic`]): neither imports the other's types.

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A key of a mapping.
    Key(String),
    /// The one item of a list that is a mapping with `field: value` (kustomize `images`).
    Match { field: String, value: String },
}

/// Renders steps for messages: `image.digest`, `images[name=app].digest`.
pub(crate) fn describe(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if k.contains(['.', '"', '\'', '[']) || k.is_empty() {
                    out.push_str(&format!("{k:?}"));
                } else {
                    out.push_str(k);
                }
            }
            Step::Match { field, value } => out.push_str(&format!("[{field}={value}]")),
        }
    }
    if out.is_empty() {
        "the document root".into()
    } else {
        out
    }
}
