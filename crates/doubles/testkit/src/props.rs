//! Property-test support shared by every crate's `tests/props.rs`: one runner that
//! prints how many inputs a property ran (`scripts/props-counts.sh` collects the
//! lines), and byte-level edits of a valid document.

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Runs `check` on `cases` inputs from `strategy` (a fixed seed, so a failure
/// reproduces) and prints `props: <name> inputs=<n> panics=0 accepted=<k>` when all
/// pass (`check` says whether the parser accepted the input).
pub fn run<S: Strategy>(name: &str, cases: u32, strategy: S, check: impl Fn(S::Value) -> bool) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let (ran, accepted) = (Cell::new(0u64), Cell::new(0u64));
    let result = runner.run(&strategy, |v| {
        ran.set(ran.get() + 1);
        if check(v) {
            accepted.set(accepted.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("props: {name}: {e}");
    }
    eprintln!(
        "props: {name} inputs={} panics=0 accepted={}",
        ran.get(),
        accepted.get()
    );
}

/// A byte-level change of a document.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Flip one bit of one byte.
    Flip(prop::sample::Index, u8),
    /// Insert a byte.
    Insert(prop::sample::Index, u8),
    /// Delete a few bytes.
    Delete(prop::sample::Index, usize),
    /// Cut the document there.
    Truncate(prop::sample::Index),
}

pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, b)),
        2 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => (any::<prop::sample::Index>(), 1usize..8).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ];
    prop::collection::vec(edit, 1..4)
}

pub fn apply(doc: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = doc.to_vec();
    for e in edits {
        if out.is_empty() {
            break;
        }
        match e {
            Edit::Flip(i, bit) => {
                let i = i.index(out.len());
                out[i] ^= 1 << bit;
            }
            Edit::Insert(i, b) => {
                let i = i.index(out.len() + 1);
                out.insert(i, *b);
            }
            Edit::Delete(i, n) => {
                let i = i.index(out.len());
                let end = (i + n).min(out.len());
                out.drain(i..end);
            }
            Edit::Truncate(i) => {
                let i = i.index(out.len());
                out.truncate(i);
            }
        }
    }
    out
}
