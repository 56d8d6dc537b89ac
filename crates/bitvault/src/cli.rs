//! Builds the command line from the actions' declarations and runs one.

use std::collections::BTreeMap;
use std::process::ExitCode;

use bitvault_runner::{Env, Step, report_error};
use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::{Action, actions, long_version};

/// The whole `bitvault` command: a subcommand per action, a flag per input.
pub fn command() -> Command {
    let mut cmd = Command::new("bitvault")
        .about("BitVault supply-chain actions: path filtering, build planning, SBOMs, keyless signing and GitOps bumps, by digest.")
        .version(long_version())
        .subcommand_required(true)
        .arg_required_else_help(true);
    for action in actions() {
        cmd = cmd.subcommand(subcommand(&action));
    }
    cmd
}

fn subcommand(action: &Action) -> Command {
    let spec = action.spec;
    let mut after = String::from(
        "Every flag can also be given as the runner's INPUT_<NAME> variable. Outputs are printed as one JSON object on stdout and, under the runner, written to $GITHUB_OUTPUT.",
    );
    if !spec.dynamic_outputs.is_empty() || !spec.outputs.is_empty() {
        after.push_str("\n\nOutputs:");
        for o in spec.outputs.iter().chain(spec.dynamic_outputs) {
            after.push_str(&format!("\n  {:<24} {}", o.name, o.description));
        }
    }
    let mut cmd = Command::new(spec.name)
        .about(spec.description)
        .after_help(after);
    for input in spec.inputs {
        let mut help = input.help();
        if input.required {
            help.push_str(" [required]");
        }
        let mut arg = Arg::new(input.name)
            .long(input.name)
            .value_name(input.kind.value_name())
            .action(ArgAction::Set)
            .help(help);
        if let Some(d) = input.default.filter(|d| !d.is_empty()) {
            // Not clap's default: the runner's INPUT_ variable must win over
            // it, so defaults are applied in Inputs::resolve.
            arg = arg.long_help(format!("{}\n\n[default: {d}]", input.help()));
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

fn flags(spec: &bitvault_runner::ActionSpec, matches: &ArgMatches) -> BTreeMap<String, String> {
    spec.inputs
        .iter()
        .filter_map(|i| {
            matches
                .get_one::<String>(i.name)
                .map(|v| (i.name.to_string(), v.clone()))
        })
        .collect()
}

/// Runs the command line; returns the process exit code.
pub fn main_with(args: Vec<std::ffi::OsString>, env: Env) -> ExitCode {
    if args.get(1).is_some_and(|a| a == "__generate-action") {
        return generate_action(&args[2..]);
    }
    let matches = match command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let Some((name, sub)) = matches.subcommand() else {
        return ExitCode::from(2);
    };
    let Some(action) = actions().into_iter().find(|a| a.spec.name == name) else {
        return ExitCode::from(2);
    };
    let step = match Step::new(action.spec, &flags(action.spec, sub), env) {
        Ok(step) => step,
        Err(e) => {
            report_error(&anyhow::Error::new(e));
            return ExitCode::FAILURE;
        }
    };
    let result = bitvault_runner::run_step(step, action.run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_error(&e);
            ExitCode::FAILURE
        }
    }
}

/// `bitvault __generate-action NAME [--standalone | --readme | --main-js [--standalone]]`:
/// prints the action.yml (or README tables, or main.js) of an action, for the
/// release workflow, which publishes each action to its own repository.
fn generate_action(args: &[std::ffi::OsString]) -> ExitCode {
    use crate::generate::{Layout, action_yml, main_js, readme_tables};
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some(action) = args.first().and_then(|n| crate::action(n)) else {
        eprintln!(
            "usage: bitvault __generate-action NAME [--standalone | --readme | --main-js [--standalone]]"
        );
        return ExitCode::from(2);
    };
    let rest: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    let text = match rest.as_slice() {
        [] | ["--standalone"] => action_yml(action.spec),
        ["--readme"] => readme_tables(action.spec),
        ["--main-js"] => main_js(action.spec, Layout::Monorepo),
        ["--main-js", "--standalone"] => main_js(action.spec, Layout::Standalone),
        [other, ..] => {
            eprintln!("unknown option {other}");
            return ExitCode::from(2);
        }
    };
    print!("{text}");
    ExitCode::SUCCESS
}
