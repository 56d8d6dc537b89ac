//! The GitHub Actions runner protocol, as a small library.
//!
//! An action reads its [`Inputs`] (from `--<name>` flags or the runner's
//! `INPUT_<NAME>` variables), does its work, and hands back outputs and a
//! step summary through a [`Step`]. [`Step::finish`] writes the outputs to
//! `$GITHUB_OUTPUT` (heredoc form, random delimiter), the summary to
//! `$GITHUB_STEP_SUMMARY`, and prints the outputs as one JSON object on
//! stdout, so the same binary works under the runner and as a plain CLI.
//!
//! ```
//! use bitvault_runner::{ActionSpec, Env, InputSpec, OutputSpec, Step};
//! use std::collections::BTreeMap;
//!
//! static SPEC: ActionSpec = ActionSpec {
//!     name: "hello",
//!     description: "says hello",
//!     inputs: &[InputSpec::with_default("who", "who to greet", "world")],
//!     outputs: &[OutputSpec::new("greeting", "the greeting")],
//!     dynamic_outputs: &[],
//!     permissions: &[],
//! };
//! let mut step = Step::new(&SPEC, &BTreeMap::new(), Env::default()).unwrap();
//! let who = step.inputs.required("who").unwrap().to_string();
//! step.set_output("greeting", format!("hello {who}"));
//! assert_eq!(step.outputs_json()["greeting"], "hello world");
//! ```

pub mod command;
pub mod env;
pub mod error;
pub mod files;
pub mod inputs;
pub mod oidc;
pub mod spec;
pub mod testing;

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};

pub use env::Env;
pub use inputs::{InputError, Inputs};
pub use spec::{ActionSpec, InputKind, InputSpec, OutputSpec};

/// The maximum size of all outputs of one job, as GitHub documents it.
pub const JOB_OUTPUTS_LIMIT: usize = 1024 * 1024;

/// One run of an action: its inputs, environment, outputs and summary.
#[derive(Debug)]
pub struct Step {
    pub spec: &'static ActionSpec,
    pub inputs: Inputs,
    pub env: Env,
    outputs: Vec<(String, String)>,
    summary: String,
    /// The action has told the user where to read outputs too big for a job.
    large_outputs_explained: bool,
}

impl Step {
    pub fn new(
        spec: &'static ActionSpec,
        flags: &BTreeMap<String, String>,
        env: Env,
    ) -> Result<Self, InputError> {
        let inputs = Inputs::resolve(spec, flags, &env)?;
        Ok(Self {
            spec,
            inputs,
            env,
            outputs: Vec::new(),
            summary: String::new(),
            large_outputs_explained: false,
        })
    }

    /// Sets (or replaces) an output. Outputs keep the order they were set in.
    pub fn set_output(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        if let Some(slot) = self.outputs.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value;
        } else {
            self.outputs.push((name, value));
        }
    }

    /// The action has already warned, with a better way out (a file), that its
    /// outputs exceed what a job may pass on; `finish` then says nothing more.
    pub fn explain_large_outputs(&mut self) {
        self.large_outputs_explained = true;
    }

    pub fn outputs(&self) -> &[(String, String)] {
        &self.outputs
    }

    /// The outputs as one JSON object (values are strings, as the runner's are).
    pub fn outputs_json(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = self
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::Value::Object(map)
    }

    /// Adds Markdown to the step summary.
    pub fn summary(&mut self, markdown: &str) {
        self.summary.push_str(markdown);
        if !markdown.ends_with('\n') {
            self.summary.push('\n');
        }
    }

    pub fn summary_text(&self) -> &str {
        &self.summary
    }

    /// Writes outputs and summary where the runner reads them, and prints
    /// the outputs as JSON on stdout.
    pub fn finish(self) -> Result<()> {
        let total: usize = self.outputs.iter().map(|(k, v)| k.len() + v.len()).sum();
        if total > JOB_OUTPUTS_LIMIT && !self.large_outputs_explained {
            command::warning(&format!(
                "this step's outputs are {total} bytes, over the 1 MiB GitHub allows for a job's outputs: pass them on through a file or an artifact, not through `needs.<job>.outputs`"
            ));
        }
        if let Some(path) = self.env.path("GITHUB_OUTPUT") {
            files::append_records(
                &path,
                self.outputs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .context("cannot write the step's outputs")?;
        }
        if let Some(path) = self.env.path("GITHUB_STEP_SUMMARY")
            && !self.summary.is_empty()
        {
            files::append_summary(&path, &self.summary).context("cannot write the step summary")?;
        }
        let json = serde_json::to_string(&self.outputs_json())?;
        println!("{json}");
        Ok(())
    }
}

/// An action's verdict against what it was given (a gate that did not pass): its
/// outputs and summary are complete and are written as on success, then the step fails
/// with this message.
#[derive(Debug)]
pub struct Failed(pub String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failed {}

/// Runs `run` on `step` and writes its outputs: on success, and on a [`Failed`] verdict
/// (then the verdict is the error).
pub fn run_step(step: Step, run: fn(&mut Step) -> Result<()>) -> Result<()> {
    let mut step = step;
    match run(&mut step) {
        Ok(()) => step.finish(),
        Err(e) if e.is::<Failed>() => {
            step.finish()?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Reports a failure the way the runner shows it: an `::error::` annotation
/// holding the whole chain of causes.
pub fn report_error(err: &anyhow::Error) {
    let mut msg = err.to_string();
    for cause in err.chain().skip(1) {
        msg.push_str(": ");
        msg.push_str(&cause.to_string());
    }
    command::error(&msg);
}
