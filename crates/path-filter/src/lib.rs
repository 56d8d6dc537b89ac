//! The path-filter action: which named groups of files a push or pull
//! request changed. A drop-in for dorny/paths-filter v3 (same inputs, same
//! outputs, same glob meaning), git-first and much faster.
//!
//! ```
//! use bitvault_path_filter::filter::{ChangedFile, FilterSet, Mode};
//! use bitvault_path_filter::report;
//! use bitvault_path_filter::list::ListFormat;
//!
//! let (filters, _warnings) = FilterSet::parse("docs: 'docs/**'\nsrc: ['src/**', '*.rs']", Mode::Some).unwrap();
//! let files = [ChangedFile::new("docs/a b.md", "modified")];
//! let outputs = report::outputs(&filters, &files, &filters.matches(&files).unwrap(), ListFormat::Shell);
//! assert_eq!(outputs[0], ("docs".to_string(), "true".to_string()));
//! assert_eq!(outputs[2], ("docs_files".to_string(), "'docs/a b.md'".to_string()));
//! assert_eq!(outputs.last().unwrap(), &("changes".to_string(), "[\"docs\"]".to_string()));
//! ```
//!
//! # Compatibility with dorny/paths-filter v3
//!
//! Same inputs, same outputs (`<filter>`, `<filter>_count`,
//! `<filter>_files`, `changes`), same filter YAML (anchors, aliases, `<<`
//! merges, change types, `predicate-quantifier`), same glob meaning
//! (picomatch 2.3.1 with `dot: true`, checked against picomatch itself by a
//! differential test) and the same list formats. Renames are a deletion of
//! the old name plus an addition of the new one, as in dorny. Differences:
//!
//! - **Changes come from git first**, also on pull requests (dorny asks the
//!   REST API whenever a token is present). The API is used only without a
//!   checkout, when git cannot fetch the commits, or with
//!   `changes-from: api`, and it fails instead of truncating at its
//!   3000-file limit. Shallow clones are deepened (doubling from
//!   `initial-fetch-depth`) until the merge-base is found.
//! - **Push to a branch** compares `before..after` (dorny compares a
//!   feature branch with the default branch); `base: ${{ github.event.repository.default_branch }}`
//!   restores dorny's behaviour. Force pushes use the merge-base of
//!   `before` and `after`, with a notice.
//! - **Other events on the default branch** look at the last commit against
//!   its first parent (dorny: `git log -1`, empty for merge commits).
//! - **`base: HEAD`** also lists untracked files (not ignored ones) as added.
//! - **`ordered: true`**: rules apply in order, so `!pattern` removes files
//!   (like `.gitignore` and `on.push.paths`). Without it, a `!` rule under
//!   `predicate-quantifier: some` makes the filter match nearly everything,
//!   exactly as in dorny, and a warning says so.
//! - **List formats**: names containing a line break are always quoted in
//!   `csv` and `shell` (dorny leaves some bare, which lets a crafted file
//!   name run commands); `escape` writes a newline as `"<newline>"` (a
//!   backslash-newline vanishes in a shell). Other names come out byte for
//!   byte as dorny's.
//! - Warnings for change-type keys that are not change types (`add:`) and
//!   for patterns that are not valid globs; an error for a `filters` root
//!   that is not a map, for duplicate filter names, for an unparsable
//!   `initial-fetch-depth` (dorny silently uses 10).
//! - The log lists at most 50 files per filter; the step summary has a
//!   table of filters; with `list-files`, `files-path` names a JSON file of
//!   every list, and a warning says when the `_files` outputs exceed the
//!   1 MiB GitHub allows for a job's outputs.
//! - Glob corner: picomatch counts UTF-16 code units, so there `?` cannot
//!   match one emoji (two units); here it can. As in picomatch, `**` never
//!   crosses a line break inside a file name.
//!
//! Layers: [`glob`] (picomatch-compatible globs), [`filter`] (the filters
//! YAML), [`list`] (list formats), [`plan`] (what to compare: pure),
//! [`git`] / [`api`] / [`changes`] (effects), [`report`] (outputs and the
//! step summary), and [`run`], which ties them together.

pub mod api;
pub mod changes;
pub mod filter;
pub mod git;
pub mod glob;
pub mod list;
pub mod plan;
pub mod report;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use bitvault_runner::{ActionSpec, InputSpec, Inputs, OutputSpec, Step, command};

use changes::{ApiAccess, ChangesFrom};
use filter::FilterSet;
use git::Git;
use list::ListFormat;

/// The inputs and outputs of `bitvault path-filter`.
pub static SPEC: ActionSpec = ActionSpec {
    name: "path-filter",
    description: "Tells which named groups of files a push or pull request changed (a fast, git-first drop-in for dorny/paths-filter v3).",
    inputs: &[
        InputSpec::required(
            "filters",
            "Filters as YAML (a map of filter name to glob patterns; optional change types such as `added|modified: 'src/**'`), or the path of a YAML file holding them, relative to `working-directory`.",
        ),
        InputSpec::with_default(
            "token",
            "GitHub token, used only to list a pull request's files through the REST API when git cannot (no checkout, or `changes-from: api`).",
            "${{ github.token }}",
        )
        .secret(),
        InputSpec::optional(
            "working-directory",
            "Directory of the git work tree, relative to GITHUB_WORKSPACE.",
        ),
        InputSpec::optional(
            "ref",
            "Commit, branch or tag whose changes are detected (default: the commit being built). Ignored on pull request events.",
        ),
        InputSpec::optional(
            "base",
            "Commit, branch or tag to compare with. `HEAD` means uncommitted changes. A branch other than the one built means changes since the merge-base with it. Ignored on pull request events.",
        ),
        InputSpec::with_default(
            "list-files",
            "List the matching files in `<filter>_files`: `none`, `csv`, `json`, `shell` (quoted for a shell) or `escape` (backslash-escaped for a shell).",
            "none",
        )
        .one_of(ListFormat::NAMES),
        InputSpec::with_default(
            "initial-fetch-depth",
            "Commits fetched first when a shallow clone lacks the history needed; doubled on each further fetch until the merge-base is found.",
            "100",
        )
        .integer(),
        InputSpec::with_default(
            "predicate-quantifier",
            "`some`: a file matches a filter when any pattern matches. `every`: when all patterns match (use this for `!` exclusions, or `ordered`).",
            "some",
        )
        .one_of(&["some", "every"]),
        InputSpec::with_default(
            "ordered",
            "`true`: a filter's patterns apply in order, like .gitignore and `on.push.paths`: a later `!pattern` removes files earlier patterns matched, a later pattern adds them back.",
            "false",
        )
        .boolean(),
        InputSpec::with_default(
            "changes-from",
            "Where a pull request's changed files come from: `auto` (git when the repository is checked out, else the REST API), `git` or `api` (at most 3000 files).",
            "auto",
        )
        .one_of(&["auto", "git", "api"]),
    ],
    outputs: &[
        OutputSpec::new(
            "changes",
            "JSON array of the names of the filters that matched at least one changed file (not set if a filter is named `changes`).",
        ),
        OutputSpec::new(
            "files-path",
            "When `list-files` is not `none`: path of a JSON file mapping each filter name to its matching files (for lists too big for job outputs).",
        ),
    ],
    dynamic_outputs: &[
        OutputSpec::new("<filter>", "`true` if any changed file matches the filter, else `false`."),
        OutputSpec::new("<filter>_count", "How many changed files match the filter."),
        OutputSpec::new(
            "<filter>_files",
            "The matching files in the `list-files` format (only when `list-files` is not `none`).",
        ),
    ],
    permissions: &[],
};

/// dorny's test: a value with no newline and no `:` is a file path.
fn is_path_input(text: &str) -> bool {
    !(text.contains('\n') || text.contains(':'))
}

/// The inputs of one run, read and checked in one place
/// ([`Request::from_inputs`]); defaults come from [`SPEC`].
pub struct Request {
    /// `working-directory`, relative to the workspace.
    pub working_directory: Option<String>,
    /// `filters`: YAML, or the path of a YAML file.
    pub filters: String,
    pub format: ListFormat,
    pub mode: filter::Mode,
    /// `initial-fetch-depth`, at least 1.
    pub depth: u64,
    pub changes_from: ChangesFrom,
    pub base: Option<String>,
    /// `ref`.
    pub head: Option<String>,
    /// A secret: never printed (this type has no `Debug`).
    pub token: Option<String>,
}

impl Request {
    pub fn from_inputs(inputs: &Inputs) -> Result<Self> {
        let text =
            |name: &str| -> Result<Option<String>> { Ok(inputs.text(name)?.map(str::to_string)) };
        let format = ListFormat::parse(inputs.required_choice("list-files")?)
            .context("input `list-files`: not a list format")?;
        let mode = filter::mode_from_inputs(
            inputs.required_choice("predicate-quantifier")?,
            inputs.boolean("ordered")?,
        )?;
        let changes_from = ChangesFrom::parse(inputs.required_choice("changes-from")?)
            .context("input `changes-from`: not a source of changes")?;
        Ok(Self {
            working_directory: text("working-directory")?,
            filters: inputs.required("filters")?.to_string(),
            format,
            mode,
            // dorny falls back to 10 on a value that is not a number; we say so.
            depth: inputs.required_integer("initial-fetch-depth")?.max(1),
            changes_from,
            base: text("base")?,
            head: text("ref")?,
            token: text("token")?,
        })
    }
}

fn working_dir(step: &Step, req: &Request) -> PathBuf {
    let workspace = step
        .env
        .path("GITHUB_WORKSPACE")
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    match &req.working_directory {
        Some(wd) => workspace.join(wd),
        None => workspace,
    }
}

fn read_filters(dir: &Path, input: &str) -> Result<String> {
    if !is_path_input(input) {
        return Ok(input.to_string());
    }
    let path = dir.join(input);
    if !path.exists() {
        bail!(
            "the filters file {} does not exist (the `filters` input is read as a file path because it has no `:` or newline)",
            path.display()
        );
    }
    if !path.is_file() {
        bail!("the filters path {} is not a file", path.display());
    }
    std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the filters file {}", path.display()))
}

/// Runs the action: reads inputs, finds the changed files, matches the
/// filters, sets outputs and the step summary.
pub fn run(step: &mut Step) -> Result<()> {
    let req = Request::from_inputs(&step.inputs)?;
    let dir = working_dir(step, &req);
    let format = req.format;
    let yaml = read_filters(&dir, &req.filters)?;
    let (filters, warnings) = FilterSet::parse(&yaml, req.mode)?;
    for w in &warnings {
        command::warning(w);
    }

    let payload = step.env.event_payload()?;
    let event = step.env.event_name().unwrap_or("").to_string();
    let cx = plan::Context {
        event: &event,
        payload: payload.as_ref(),
        base: req.base.as_deref(),
        head: req.head.as_deref(),
        github_ref: step.env.non_empty("GITHUB_REF"),
        github_sha: step.env.non_empty("GITHUB_SHA"),
    };
    let (the_plan, notes) = plan::plan(&cx)?;
    for n in &notes {
        command::info(n);
    }
    let repo = step
        .env
        .non_empty("GITHUB_REPOSITORY")
        .map(str::to_string)
        .or_else(|| {
            payload
                .as_ref()
                .and_then(|p| p.pointer("/repository/full_name"))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        });
    let api = ApiAccess {
        url: step.env.api_url(),
        repo: repo.as_deref(),
        token: req.token.as_deref(),
    };
    let git = Git::new(&dir);
    let found = changes::detect(&the_plan, &git, req.changes_from, &api, req.depth)?;
    command::info(&format!(
        "Detected {} changed files ({})",
        found.files.len(),
        found.compared
    ));

    let matched = filters.matches(&found.files)?;
    report::log_results(&filters, &found.files, &matched);
    let outputs = report::outputs(&filters, &found.files, &matched, format);
    let total: usize = outputs.iter().map(|(k, v)| k.len() + v.len()).sum();
    for (k, v) in outputs {
        step.set_output(k, v);
    }
    if format != ListFormat::None {
        let path = report::write_files_json(&step.env, &filters, &found.files, &matched)?;
        let shown = path.display().to_string();
        if total > bitvault_runner::JOB_OUTPUTS_LIMIT {
            command::warning(&format!(
                "the `_files` outputs total {total} bytes, over the 1 MiB GitHub allows for a job's outputs: read the lists from the file in the `files-path` output ({shown}) instead"
            ));
            step.explain_large_outputs();
        }
        step.set_output("files-path", shown);
    }
    step.summary(&report::summary(&filters, &matched, &found));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every input `from_inputs` reads is declared in [`SPEC`], with the
    /// accessor of its kind (a misspelt name would fail here).
    #[test]
    fn from_inputs_reads_only_declared_inputs() {
        let req = bitvault_runner::testing::check_reads(&SPEC, Request::from_inputs).unwrap();
        // The defaults come from the SPEC alone.
        assert_eq!(req.format, ListFormat::None);
        assert_eq!(req.mode, filter::Mode::Some);
        assert_eq!(req.depth, 100);
        assert_eq!(req.changes_from, ChangesFrom::Auto);
        let req = bitvault_runner::testing::check_reads_with(
            &SPEC,
            &[
                ("list-files", "JSON"),
                ("ordered", "true"),
                ("initial-fetch-depth", "0"),
                ("changes-from", "api"),
                ("ref", ""),
            ],
            Request::from_inputs,
        )
        .unwrap();
        assert_eq!(req.format, ListFormat::Json);
        assert_eq!(req.mode, filter::Mode::Ordered);
        assert_eq!(req.depth, 1);
        assert_eq!(req.changes_from, ChangesFrom::Api);
        assert_eq!(req.head, None);
    }
}
