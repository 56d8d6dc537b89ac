//! End-to-end tests: the `bitvault` binary and each `action.yml`, run the
//! way the runner runs them, against real git (and, for later actions, a
//! real registry).

mod composite;
mod setup_script;
