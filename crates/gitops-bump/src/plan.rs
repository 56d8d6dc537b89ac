//! The three modes — bump, promote, rollback — as pure plans over file contents, and
//! [`local`] functions that run them on a checkout (read files and git history, write
//! files; no commit, no network).

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::Digest;
use crate::edit::{FileChange, Target, ValueChange, get_value, set_digest};
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

/// What an operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Set a given digest.
    Bump,
    /// Copied the digest of one environment to another.
    Promote,
    /// Set a digest found in the file's history.
    Rollback,
    /// The digest was already set; nothing changed.
    None,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Bump => "bump",
            Operation::Promote => "promote",
            Operation::Rollback => "rollback",
            Operation::None => "none",
        })
    }
}

/// The result of a mode: what was set where, and the diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What was done; [`Operation::None`] when the digest was already set.
    pub operation: Operation,
    /// The environment that was changed.
    pub env: String,
    /// The digest now set.
    pub digest: Digest,
    /// Where the digest came from: `staging (envs/staging/values.yaml)` for a promotion,
    /// `commit <sha>` for a rollback; `None` for a bump.
    pub source: Option<String>,
    /// Every file, with old and new values (also when unchanged).
    pub files: Vec<FileChange>,
    /// Whether any file changed.
    pub changed: bool,
}

impl Outcome {
    /// The unified diff of all files, empty when nothing changed.
    pub fn diff(&self) -> String {
        self.files.iter().map(FileChange::diff).collect()
    }
}

fn plan(
    operation: Operation,
    layout: &Layout,
    env: &str,
    current: &str,
    digest: &Digest,
    source: Option<String>,
) -> Result<Outcome> {
    let path = layout.file_for(env)?;
    let edited = set_digest(current, &layout.target, digest).map_err(|e| e.in_file(&path))?;
    let change = FileChange {
        path,
        before: current.to_string(),
        after: edited.text,
        values: vec![ValueChange {
            target: layout.target.clone(),
            old: edited.old,
            new: digest.clone(),
        }],
        notes: edited.notes,
    };
    let changed = change.changed();
    Ok(Outcome {
        operation: if changed { operation } else { Operation::None },
        env: env.to_string(),
        digest: digest.clone(),
        source,
        files: vec![change],
        changed,
    })
}

/// Plans setting `digest` in `env`, whose file currently holds `current`.
pub fn plan_bump(layout: &Layout, env: &str, current: &str, digest: &Digest) -> Result<Outcome> {
    plan(Operation::Bump, layout, env, current, digest, None)
}

/// Plans copying the digest of `from_env` (file content `from_text`) to `to_env` (file
/// content `to_text`).
pub fn plan_promote(
    layout: &Layout,
    from_env: &str,
    from_text: &str,
    to_env: &str,
    to_text: &str,
) -> Result<Outcome> {
    let from_path = layout.file_for(from_env)?;
    if from_env == to_env {
        return Err(Error::Invalid(format!(
            "cannot promote `{from_env}` to itself; pass two different environments"
        )));
    }
    let found = get_value(from_text, &layout.target).map_err(|e| e.in_file(&from_path))?;
    let Some(found) = found else {
        return Err(Error::NotFound(format!(
            "{}: `{from_env}` has no digest at `{}`, so there is nothing to promote; bump `{from_env}` first",
            from_path.display(),
            layout.target
        )));
    };
    let digest = Digest::parse(&found).map_err(|e| {
        Error::Invalid(format!(
            "{}: the digest of `{from_env}` at `{}` is not usable: {}; fix it before promoting",
            from_path.display(),
            layout.target,
            e.reason
        ))
    })?;
    let source = format!("{from_env} ({})", from_path.display());
    plan(
        Operation::Promote,
        layout,
        to_env,
        to_text,
        &digest,
        Some(source),
    )
}

/// One committed version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The commit.
    pub commit: String,
    /// The file's content in that commit.
    pub text: String,
}

/// Plans a rollback of `env`: set the most recent digest in `history` (newest first) that
/// differs from the one in `current`, or `to`, which must appear in the history.
/// Versions that cannot be parsed or hold no valid digest are skipped. The outcome's
/// `source` names the commit that introduced the chosen digest.
pub fn plan_rollback(
    layout: &Layout,
    env: &str,
    current: &str,
    history: &[Version],
    to: Option<&Digest>,
) -> Result<Outcome> {
    let path = layout.file_for(env)?;
    let now = get_value(current, &layout.target).map_err(|e| e.in_file(&path))?;
    let found: Vec<(Digest, &str)> = history
        .iter()
        .filter_map(|v| {
            let value = get_value(&v.text, &layout.target).ok()??;
            Some((Digest::parse(&value).ok()?, v.commit.as_str()))
        })
        .collect();
    if let Some(to) = to
        && now.as_deref() == Some(to.as_str())
    {
        // Already there: nothing to look up or change.
        return plan(Operation::Rollback, layout, env, current, to, None);
    }
    let pick = match to {
        Some(to) => found.iter().position(|(d, _)| d == to).ok_or_else(|| {
            let mut known: Vec<&str> = Vec::new();
            for (d, _) in &found {
                if !known.contains(&d.as_str()) {
                    known.push(d.as_str());
                }
            }
            Error::NotFound(format!(
                "{}: {to} was never set at `{}` in the history of this file; roll back only to a digest \
                 it had before (found: {})",
                path.display(),
                layout.target,
                if known.is_empty() { "none".into() } else { known.join(", ") }
            ))
        })?,
        None => found
            .iter()
            .position(|(d, _)| now.as_deref() != Some(d.as_str()))
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "{}: no earlier digest at `{}` in the history of this file ({} commits looked at); \
                     there is nothing to roll back to",
                    path.display(),
                    layout.target,
                    history.len()
                ))
            })?,
    };
    // Name the commit that introduced the digest, not the newest that still had it.
    let (digest, mut commit) = (&found[pick].0, found[pick].1);
    for (d, c) in &found[pick + 1..] {
        if d != digest {
            break;
        }
        commit = *c;
    }
    let source = format!("commit {commit}");
    plan(
        Operation::Rollback,
        layout,
        env,
        current,
        digest,
        Some(source),
    )
}

/// The modes on a local checkout: read files and git history under `root`, write the
/// changed files in place. No commit, no network.
pub mod local {
    use std::path::Path;

    use super::{Layout, Outcome, plan_bump, plan_promote, plan_rollback};
    use crate::error::{Error, Result};
    use crate::{Digest, git};

    fn read(root: &Path, rel: &Path) -> Result<String> {
        let path = root.join(rel);
        std::fs::read_to_string(&path).map_err(|source| Error::Io {
            context: format!(
                "cannot read {} (check the checkout directory and the file template)",
                path.display()
            ),
            source,
        })
    }

    fn write(root: &Path, outcome: &Outcome) -> Result<()> {
        for file in outcome.files.iter().filter(|f| f.changed()) {
            let path = root.join(&file.path);
            std::fs::write(&path, &file.after).map_err(|source| Error::Io {
                context: format!("cannot write {}", path.display()),
                source,
            })?;
        }
        Ok(())
    }

    /// Sets `digest` in `env`'s file.
    pub fn bump(root: &Path, layout: &Layout, env: &str, digest: &Digest) -> Result<Outcome> {
        let current = read(root, &layout.file_for(env)?)?;
        let outcome = plan_bump(layout, env, &current, digest)?;
        write(root, &outcome)?;
        Ok(outcome)
    }

    /// Copies the digest of `from_env` to `to_env`.
    pub fn promote(root: &Path, layout: &Layout, from_env: &str, to_env: &str) -> Result<Outcome> {
        let from = read(root, &layout.file_for(from_env)?)?;
        let to = read(root, &layout.file_for(to_env)?)?;
        let outcome = plan_promote(layout, from_env, &from, to_env, &to)?;
        write(root, &outcome)?;
        Ok(outcome)
    }

    /// Sets the previous digest of `env` from the git history of its file (or `to`, which
    /// must be in that history). The working-tree file is the current state.
    pub fn rollback(
        root: &Path,
        layout: &Layout,
        env: &str,
        to: Option<&Digest>,
    ) -> Result<Outcome> {
        let rel = layout.file_for(env)?;
        let current = read(root, &rel)?;
        let history = git::file_history(root, &rel)?;
        let outcome = plan_rollback(layout, env, &current, &history, to)?;
        write(root, &outcome)?;
        Ok(outcome)
    }
}
