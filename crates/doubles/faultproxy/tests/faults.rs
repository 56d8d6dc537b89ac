//! The fault table: each action's main flow through the fault proxy, each fault at each
//! (sampled) request position, then a re-run without fault; the final state must be
//! the clean run's, with nothing duplicated and nothing lost.
//!
//! `FAULTS_MAX_POSITIONS` (default below) caps the positions per fault; when an action
//! makes more requests, the positions are spread evenly (first and last included) and
//! the table says how many were sampled.

mod faults {
    pub mod gitops_bump;
    pub mod sign_keyless;
    pub mod table;
    pub mod upstream;
}

use bitvault_faultproxy::Fault;
use faults::table::{self, Row, Scenario};

const DEFAULT_MAX_POSITIONS: usize = 6;

fn max_positions() -> usize {
    std::env::var("FAULTS_MAX_POSITIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MAX_POSITIONS)
}

fn report(row: &Row) {
    println!("{}", table::HEADER);
    println!("{}", row.markdown());
    println!(
        "{}: {} requests in a clean run; positions {:?} ({} of {}) x {} faults",
        row.action,
        row.requests,
        row.positions,
        row.positions.len(),
        row.requests,
        Fault::ALL.len()
    );
    for p in row.problems() {
        println!("PROBLEM {p}");
    }
}

fn check(row: &Row) {
    report(row);
    let problems = row.problems();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn measure(s: &impl Scenario) -> Row {
    table::measure(s, &Fault::ALL, max_positions())
}

#[test]
fn sign_keyless_under_faults() {
    check(&measure(&faults::sign_keyless::SignKeyless));
}

#[test]
fn gitops_bump_under_faults() {
    check(&measure(&faults::gitops_bump::GitopsBump));
}
