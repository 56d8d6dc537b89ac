//! The `bitvault` command: one subcommand per action.
//!
//! This crate is thin on purpose. Each action lives in its own library crate
//! (`crates/<name>`), which declares its inputs and outputs once
//! ([`bitvault_runner::ActionSpec`]) and does the work in `run`. Here we
//! turn those declarations into CLI flags, run the action, and generate the
//! `actions/<name>/action.yml` files and README tables from them.

pub mod cli;
pub mod generate;

use bitvault_runner::{ActionSpec, Step};

/// One action: its declaration and its entry point.
pub struct Action {
    pub spec: &'static ActionSpec,
    pub run: fn(&mut Step) -> anyhow::Result<()>,
}

/// Every action, in the order of the supply chain. Adding an action means
/// adding its crate and one line here.
pub fn actions() -> Vec<Action> {
    vec![
        Action {
            spec: &bitvault_path_filter::SPEC,
            run: bitvault_path_filter::run,
        },
        Action {
            spec: &bitvault_build_matrix::SPEC,
            run: bitvault_build_matrix::run,
        },
        Action {
            spec: &bitvault_sign_keyless::SPEC,
            run: bitvault_sign_keyless::run,
        },
        Action {
            spec: &bitvault_verify::SPEC,
            run: bitvault_verify::run,
        },
        Action {
            spec: &bitvault_sbom_attach::SPEC,
            run: bitvault_sbom_attach::run,
        },
        Action {
            spec: &bitvault_scan_gate::SPEC,
            run: bitvault_scan_gate::run,
        },
        Action {
            spec: &bitvault_gitops_bump::SPEC,
            run: bitvault_gitops_bump::run,
        },
    ]
}

/// The action named `name`.
pub fn action(name: &str) -> Option<Action> {
    actions().into_iter().find(|a| a.spec.name == name)
}

/// `0.1.0 (commit 0123abc...)`.
pub fn long_version() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (commit ",
        env!("BITVAULT_GIT_COMMIT"),
        ")"
    )
}
