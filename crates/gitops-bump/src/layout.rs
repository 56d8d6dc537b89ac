//! Where each environment keeps its digest: a file template with `{env}` and a target.

use std::path::{Component, Path, PathBuf};

use bitvault_yamlpatch::Target;

use crate::error::{Error, Result};

/// Where each environment keeps the digest: a file path template with `{env}` and a
/// target in that file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    file_template: String,
    target: Target,
}

impl Layout {
    /// `file_template` is a relative path containing `{env}`, e.g. `envs/{env}/values.yaml`.
    pub fn new(file_template: impl Into<String>, target: Target) -> Result<Layout> {
        let file_template = file_template.into();
        if !file_template.contains("{env}") {
            return Err(Error::Invalid(format!(
                "file template `{file_template}` has no `{{env}}`; write it like `envs/{{env}}/values.yaml`"
            )));
        }
        let path = Path::new(&file_template);
        if path.is_absolute()
            || path
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(Error::Invalid(format!(
                "file template `{file_template}` must be a path inside the checkout, without `..`"
            )));
        }
        Ok(Layout {
            file_template,
            target,
        })
    }

    /// The target in each file.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The same file template with another target.
    pub fn with_target(&self, target: Target) -> Layout {
        Layout {
            file_template: self.file_template.clone(),
            target,
        }
    }

    /// The file template, with `{env}`.
    pub fn file_template(&self) -> &str {
        &self.file_template
    }

    /// The file of `env`, relative to the checkout.
    pub fn file_for(&self, env: &str) -> Result<PathBuf> {
        let ok = !env.is_empty()
            && !env.starts_with('.')
            && env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            return Err(Error::Invalid(format!(
                "environment name `{env}` is not allowed; use letters, digits, `-`, `_` and `.` (not first)"
            )));
        }
        Ok(PathBuf::from(self.file_template.replace("{env}", env)))
    }
}
