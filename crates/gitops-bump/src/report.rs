//! What a planned change says to the user: warnings for its notes, the step summary's
//! table, and the pull request [`pr::Context`]. Shared by the checkout and GitHub flows.

use bitvault_runner::command;

use crate::plan::{Operation, Outcome};
use crate::pr::{self, ImageChange};
use crate::request::{Mode, Request};

/// The images of an outcome, old and new, in input order.
pub fn image_changes(req: &Request, outcome: &Outcome) -> Vec<ImageChange> {
    let values: Vec<_> = outcome.files.iter().flat_map(|f| &f.values).collect();
    req.images()
        .into_iter()
        .zip(values)
        .map(|(image, v)| ImageChange {
            image,
            old: v.old.clone(),
            new: v.new.clone(),
        })
        .collect()
}

/// The digest each image of `req` gets from `outcome`, in the request's order.
pub fn new_digests(req: &Request, outcome: &Outcome) -> Vec<String> {
    image_changes(req, outcome)
        .into_iter()
        .map(|c| c.new.to_string())
        .collect()
}

/// The pull request context of a planned change.
pub fn context(
    req: &Request,
    outcome: &Outcome,
    env: &bitvault_runner::Env,
    verification: &str,
) -> pr::Context {
    let run_url = match (
        env.non_empty("GITHUB_REPOSITORY"),
        env.non_empty("GITHUB_RUN_ID"),
    ) {
        (Some(repo), Some(run)) => Some(format!("{}/{repo}/actions/runs/{run}", env.server_url())),
        _ => None,
    };
    pr::Context {
        mode: req.mode.name(),
        env: req.env.clone(),
        from_env: match &req.mode {
            Mode::Promote { from_env, .. } => Some(from_env.clone()),
            _ => None,
        },
        images: image_changes(req, outcome),
        source: outcome.source.clone(),
        sha: env.non_empty("GITHUB_SHA").map(str::to_string),
        run_url,
        verification: verification.to_string(),
    }
}

/// Prints each note of the edit as a warning, naming its file.
pub fn report_notes(outcome: &Outcome) {
    for file in &outcome.files {
        for note in &file.notes {
            command::warning(&format!("{}: {note}", file.path.display()));
        }
    }
}

/// `image@digest, ...` for log lines.
pub fn describe(changes: &[ImageChange]) -> String {
    changes
        .iter()
        .map(|c| format!("{}@{}", c.image, c.new))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The step summary's table of images, old and new.
pub fn summary_table(changes: &[ImageChange]) -> String {
    let mut s = String::from("\n| image | old | new |\n|---|---|---|\n");
    for c in changes {
        s.push_str(&format!(
            "| `{}` | {} | `{}` |\n",
            c.image,
            c.old
                .as_deref()
                .map(|o| format!("`{o}`"))
                .unwrap_or_else(|| "none".into()),
            c.new
        ));
    }
    s.push('\n');
    s
}

/// The `operation` output of the checkout flow.
pub fn path_operation(op: Operation) -> &'static str {
    match op {
        Operation::Bump => "bumped",
        Operation::Promote => "promoted",
        Operation::Rollback => "rolled-back",
        Operation::None => "none",
    }
}
