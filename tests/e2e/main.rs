//! End-to-end tests: the `bitvault` binary and each `action.yml`, run the
//! way the runner runs them, against real git and a real registry.

mod act;
mod actions_yml;
mod build_matrix;
mod composite;
mod path_filter;
mod pins;
mod secrets;
mod setup_script;
mod supply_chain;
mod support;
