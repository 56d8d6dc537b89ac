//! The one planner: bump, promote and rollback as pure plans over file contents. The
//! checkout flow ([`crate::checkout`]) and the GitHub flow ([`crate::github`]) both call
//! [`plan`] with their own [`Source`] and apply the [`Outcome`] their way.

use std::fmt;
use std::path::{Path, PathBuf};

use bitvault_registry::Digest;
use bitvault_yamlpatch::{Edit, Target, apply_edits, get_value};

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::request::{Mode, Request};

/// One file before and after, with the digests set in it.
pub type FileChange = bitvault_yamlpatch::FileChange<Digest>;
/// One digest in a file, before and after.
pub type ValueChange = bitvault_yamlpatch::ValueChange<Digest>;

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

/// Every mode ends here: set each digest at its target in `env`'s file, whose content
/// is `current`, all or nothing.
fn set_all(
    operation: Operation,
    layout: &Layout,
    env: &str,
    current: &str,
    sets: &[(Target, Digest)],
    source: Option<String>,
) -> Result<Outcome> {
    let path = layout.file_for(env)?;
    let Some((_, first)) = sets.first() else {
        return Err(Error::Invalid(
            "nothing to set: give at least one digest".into(),
        ));
    };
    let edits: Vec<Edit<Digest>> = sets
        .iter()
        .map(|(target, digest)| Edit {
            path: path.clone(),
            target: target.clone(),
            value: digest.clone(),
        })
        .collect();
    let sources = [(path, current.to_string())].into_iter().collect();
    let files = apply_edits(&sources, &edits)?;
    let changed = files.iter().any(FileChange::changed);
    Ok(Outcome {
        operation: if changed { operation } else { Operation::None },
        env: env.to_string(),
        digest: first.clone(),
        source,
        files,
        changed,
    })
}

/// Plans setting each digest at its target in `env`'s file (`layout.file_for(env)`),
/// which currently holds `current`. One image: `[(layout.target().clone(), digest)]`;
/// several images in one file: one pair each, set in order as one change.
pub fn plan_bump(
    layout: &Layout,
    env: &str,
    current: &str,
    sets: &[(Target, Digest)],
) -> Result<Outcome> {
    set_all(Operation::Bump, layout, env, current, sets, None)
}

fn plan_one(
    operation: Operation,
    layout: &Layout,
    env: &str,
    current: &str,
    digest: &Digest,
    source: Option<String>,
) -> Result<Outcome> {
    let sets = [(layout.target().clone(), digest.clone())];
    set_all(operation, layout, env, current, &sets, source)
}

/// Plans copying the digest of `from_env` (file content `from_text`) to `to_env` (file
/// content `to_text`), at the layout's target.
pub fn plan_promote(
    layout: &Layout,
    from_env: &str,
    from_text: &str,
    to_env: &str,
    to_text: &str,
) -> Result<Outcome> {
    let targets = [layout.target().clone()];
    plan_promote_all(layout, &targets, from_env, from_text, to_env, to_text)
}

/// [`plan_promote`] for several images at once: every target's digest in `from_env`
/// is copied to the same target in `to_env`, as one change (all or nothing).
pub fn plan_promote_all(
    layout: &Layout,
    targets: &[Target],
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
    let mut sets = Vec::new();
    for target in targets {
        let found = get_value(from_text, target).map_err(|e| e.in_file(&from_path))?;
        let Some(found) = found else {
            return Err(Error::NotFound(format!(
                "{}: `{from_env}` has no digest at `{target}`, so there is nothing to promote; bump `{from_env}` first",
                from_path.display(),
            )));
        };
        let digest = Digest::parse(&found).map_err(|e| {
            Error::Invalid(format!(
                "{}: the digest of `{from_env}` at `{target}` is not usable: {}; fix it before promoting",
                from_path.display(),
                e.reason()
            ))
        })?;
        sets.push((target.clone(), digest));
    }
    let source = format!("{from_env} ({})", from_path.display());
    set_all(
        Operation::Promote,
        layout,
        to_env,
        to_text,
        &sets,
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
    let now = get_value(current, layout.target()).map_err(|e| e.in_file(&path))?;
    let found: Vec<(Digest, &str)> = history
        .iter()
        .filter_map(|v| {
            let value = get_value(&v.text, layout.target()).ok()??;
            Some((Digest::parse(&value).ok()?, v.commit.as_str()))
        })
        .collect();
    if let Some(to) = to
        && now.as_deref() == Some(to.as_str())
    {
        // Already there: nothing to look up or change.
        return plan_one(Operation::Rollback, layout, env, current, to, None);
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
                layout.target(),
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
                    layout.target(),
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
    plan_one(
        Operation::Rollback,
        layout,
        env,
        current,
        digest,
        Some(source),
    )
}

/// [`plan_rollback`] for several images at once, as a release: every target goes back
/// to its value in the newest earlier version of the file in which any of them differs
/// from now (the previous release). A target that version does not hold (an image
/// added since) keeps its digest. One image: exactly [`plan_rollback`] with no `to`.
pub fn plan_rollback_all(
    layout: &Layout,
    targets: &[Target],
    env: &str,
    current: &str,
    history: &[Version],
) -> Result<Outcome> {
    let path = layout.file_for(env)?;
    let mut now = Vec::new();
    for target in targets {
        now.push(get_value(current, target).map_err(|e| e.in_file(&path))?);
    }
    // Each version's digests, one per target (None: not there, or not a digest).
    let values: Vec<(Vec<Option<Digest>>, &str)> = history
        .iter()
        .map(|v| {
            let ds = targets
                .iter()
                .map(|t| {
                    get_value(&v.text, t)
                        .ok()
                        .flatten()
                        .and_then(|s| Digest::parse(&s).ok())
                })
                .collect();
            (ds, v.commit.as_str())
        })
        .collect();
    let differs = |ds: &[Option<Digest>]| {
        ds.iter()
            .zip(&now)
            .any(|(d, n)| d.as_ref().is_some_and(|d| n.as_deref() != Some(d.as_str())))
    };
    let pick = values
        .iter()
        .position(|(ds, _)| differs(ds))
        .ok_or_else(|| {
            Error::NotFound(format!(
                "{}: no earlier digests at {} in the history of this file ({} commits looked at); \
             there is nothing to roll back to",
                path.display(),
                targets
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                history.len()
            ))
        })?;
    let picked = &values[pick].0;
    // Name the commit that introduced these digests, not the newest that still had them.
    let mut commit = values[pick].1;
    for (ds, c) in &values[pick + 1..] {
        if ds != picked {
            break;
        }
        commit = c;
    }
    let mut sets = Vec::new();
    for ((target, old), now) in targets.iter().zip(picked).zip(&now) {
        let digest = match (old, now) {
            (Some(d), _) => d.clone(),
            (None, Some(n)) => Digest::parse(n).map_err(|e| {
                Error::Invalid(format!(
                    "{}: the digest at `{target}` is not usable: {}",
                    path.display(),
                    e.reason()
                ))
            })?,
            (None, None) => {
                return Err(Error::NotFound(format!(
                    "{}: `{target}` has no digest now nor in commit {commit}; there is nothing to roll it back to",
                    path.display()
                )));
            }
        };
        sets.push((target.clone(), digest));
    }
    set_all(
        Operation::Rollback,
        layout,
        env,
        current,
        &sets,
        Some(format!("commit {commit}")),
    )
}

/// Reads files and history: a checkout ([`crate::checkout::Checkout`]) or a commit on
/// GitHub ([`crate::github`]). Its error type takes this crate's [`Error`], so the plan's
/// own refusals come through either way.
pub trait Source {
    /// The error of reads (this crate's [`Error`] for a checkout, `anyhow` for GitHub).
    type Error: From<Error>;
    /// The content of `path`, relative to the checkout or repository root.
    fn read(&mut self, path: &Path) -> Result<String, Self::Error>;
    /// Versions of `path`, newest first.
    fn history(&mut self, path: &Path) -> Result<Vec<Version>, Self::Error>;
}

/// Plans the change a request asks for, from what `source` holds. Pure apart from the
/// reads; nothing is written.
pub fn plan<S: Source + ?Sized>(req: &Request, source: &mut S) -> Result<Outcome, S::Error> {
    let file: PathBuf = req.file()?;
    match &req.mode {
        Mode::Bump(items) => {
            let current = source.read(&file)?;
            let sets: Vec<(Target, Digest)> = items
                .iter()
                .map(|(_, target, digest)| (target.clone(), digest.clone()))
                .collect();
            Ok(plan_bump(&req.layout, &req.env, &current, &sets)?)
        }
        Mode::Promote { images, from_env } => {
            let from = source.read(&req.layout.file_for(from_env)?)?;
            let to = source.read(&file)?;
            let targets: Vec<Target> = images.iter().map(|(_, t)| t.clone()).collect();
            Ok(plan_promote_all(
                &req.layout,
                &targets,
                from_env,
                &from,
                &req.env,
                &to,
            )?)
        }
        Mode::Rollback { images, to } => {
            let current = source.read(&file)?;
            let history = source.history(&file)?;
            if let [(_, target)] = images.as_slice() {
                let layout = req.layout.with_target(target.clone());
                Ok(plan_rollback(
                    &layout,
                    &req.env,
                    &current,
                    &history,
                    to.as_ref(),
                )?)
            } else {
                let targets: Vec<Target> = images.iter().map(|(_, t)| t.clone()).collect();
                Ok(plan_rollback_all(
                    &req.layout,
                    &targets,
                    &req.env,
                    &current,
                    &history,
                )?)
            }
        }
    }
}
