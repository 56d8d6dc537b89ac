//! The public editing API: one value per target, several targets and files in one change.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::keypath::KeyPath;
use crate::steps::{Step, describe};
use crate::yaml;

/// Where a digest lives in a file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A key path in Helm values, usually `image.digest`.
    Helm(KeyPath),
    /// The `digest` of the entry in a kustomization's `images:` list whose `name` is
    /// `image`. An existing `newTag` is kept: when both are set, kustomize uses the
    /// digest and drops the tag.
    Kustomize {
        /// The `name` of the `images:` entry.
        image: String,
    },
}

impl Target {
    /// A Helm key path target, parsed from its dotted form.
    pub fn helm(path: &str) -> Result<Target> {
        Ok(Target::Helm(KeyPath::parse(path)?))
    }

    /// The kustomize `images:` entry with `name: image`.
    pub fn kustomize(image: impl Into<String>) -> Target {
        Target::Kustomize {
            image: image.into(),
        }
    }

    pub(crate) fn steps(&self) -> Vec<Step> {
        match self {
            Target::Helm(path) => path
                .segments()
                .iter()
                .map(|s| Step::Key(s.clone()))
                .collect(),
            Target::Kustomize { image } => vec![
                Step::Key("images".into()),
                Step::Match {
                    field: "name".into(),
                    value: image.clone(),
                },
                Step::Key("digest".into()),
            ],
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Helm(path) => write!(f, "{path}"),
            Target::Kustomize { .. } => f.write_str(&describe(&self.steps())),
        }
    }
}

/// The text of a file after one value was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The new file content.
    pub text: String,
    /// The value before; `None` when the key was missing or null.
    pub old: Option<String>,
    /// Things the user should know about the edit (rare).
    pub notes: Vec<String>,
}

/// Reads the value at `target`: `None` when it is missing or null.
pub fn get_value(src: &str, target: &Target) -> Result<Option<String>> {
    yaml::get(src, &target.steps())
}

/// Sets the value at `target` to the string `value`, changing only that value's bytes
/// (or adding the missing keys with the smallest insertion). Fails, without changing
/// anything, when the file's shape cannot be edited safely or when re-parsing shows that
/// anything else changed meaning.
pub fn set_value(src: &str, target: &Target, value: &str) -> Result<Edited> {
    let set = yaml::set(src, &target.steps(), value)?;
    let mut notes = Vec::new();
    match target {
        Target::Kustomize { image } => {
            let tag = vec![
                Step::Key("images".into()),
                Step::Match {
                    field: "name".into(),
                    value: image.clone(),
                },
                Step::Key("newTag".into()),
            ];
            if let Ok(Some(tag)) = yaml::get(&set.text, &tag) {
                notes.push(format!(
                    "newTag `{tag}` of image `{image}` is kept; kustomize uses the digest and ignores newTag when both are set"
                ));
            }
        }
        Target::Helm(path) => {
            if let [parent @ .., _] = path.segments()
                && !parent.is_empty()
            {
                let tag = KeyPath::from_segments(parent.iter().cloned()).child("tag");
                if let Ok(Some(tag_value)) = get_value(&set.text, &Target::Helm(tag.clone()))
                    && tag_value.contains("sha256:")
                {
                    notes.push(format!(
                        "`{tag}` also holds a digest (`{tag_value}`); charts that build `repository:tag@digest` will produce an invalid reference, set `{tag}` to a plain tag"
                    ));
                }
            }
        }
    }
    Ok(Edited {
        text: set.text,
        old: set.old,
        notes,
    })
}

/// One value to set: `value` at a target in a file.
///
/// `V` is the value's type: any string-like value the caller has validated (an image
/// digest, say); the engine writes `value.as_ref()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit<V = String> {
    /// The file, as a key into the sources given to [`apply_edits`].
    pub path: PathBuf,
    /// Where in the file.
    pub target: Target,
    /// The value to set.
    pub value: V,
}

/// One value in a file, before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueChange<V = String> {
    /// Where in the file.
    pub target: Target,
    /// The value before; `None` when missing or null.
    pub old: Option<String>,
    /// The value now.
    pub new: V,
}

impl<V: AsRef<str>> ValueChange<V> {
    /// Whether the value differs from before.
    pub fn changed(&self) -> bool {
        self.old.as_deref() != Some(self.new.as_ref())
    }
}

/// One file, before and after all its edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange<V = String> {
    /// The file, as given in the edits.
    pub path: PathBuf,
    /// Content before.
    pub before: String,
    /// Content after.
    pub after: String,
    /// Every value set in this file, in the order of the edits.
    pub values: Vec<ValueChange<V>>,
    /// Notes from the edits (see [`Edited::notes`]).
    pub notes: Vec<String>,
}

impl<V> FileChange<V> {
    /// Whether the file content differs from before.
    pub fn changed(&self) -> bool {
        self.before != self.after
    }

    /// A unified diff (`a/<path>`, `b/<path>`), empty when nothing changed.
    pub fn diff(&self) -> String {
        unified_diff(&self.path, &self.before, &self.after)
    }
}

/// A unified diff of two texts with three lines of context, empty when they are equal.
pub fn unified_diff(path: &Path, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    let name = path.to_string_lossy().replace('\\', "/");
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// Applies every edit to the given file contents, all or nothing: the first failing edit
/// fails the whole change, naming its file. Edits to the same file are applied in order.
/// Returns one [`FileChange`] per file touched, in the order files first appear in
/// `edits`, including files where every value was already set (`changed() == false`).
pub fn apply_edits<V: AsRef<str> + Clone>(
    sources: &BTreeMap<PathBuf, String>,
    edits: &[Edit<V>],
) -> Result<Vec<FileChange<V>>> {
    let mut changes: Vec<FileChange<V>> = Vec::new();
    for edit in edits {
        let index = match changes.iter().position(|c| c.path == edit.path) {
            Some(i) => i,
            None => {
                let before = sources.get(&edit.path).ok_or_else(|| {
                    Error::NotFound(format!(
                        "{}: no such file among the sources; check the file path",
                        edit.path.display()
                    ))
                })?;
                changes.push(FileChange {
                    path: edit.path.clone(),
                    before: before.clone(),
                    after: before.clone(),
                    values: Vec::new(),
                    notes: Vec::new(),
                });
                changes.len() - 1
            }
        };
        let change = &mut changes[index];
        let edited = set_value(&change.after, &edit.target, edit.value.as_ref())
            .map_err(|e| e.in_file(&edit.path))?;
        change.after = edited.text;
        change.values.push(ValueChange {
            target: edit.target.clone(),
            old: edited.old,
            new: edit.value.clone(),
        });
        for note in edited.notes {
            if !change.notes.contains(&note) {
                change.notes.push(note);
            }
        }
    }
    Ok(changes)
}
