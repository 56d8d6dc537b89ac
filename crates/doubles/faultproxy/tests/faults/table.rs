//! The measuring loop: a clean run counts an action's requests R and takes its final
//! state; then for each fault and each (sampled) position 1..=R a fresh stack runs the
//! action with that fault, then once more without, and the final state is compared with
//! the clean one, item by item.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use bitvault_faultproxy::{Fault, FaultProxy, Recorded};

/// A final state: how many of each item there are (e.g. `signature referrers of the
/// image` -> 1). Keys name roles, never digests, so states of fresh stacks compare.
pub type State = BTreeMap<String, usize>;

/// One action's main flow against a fresh stack behind a proxy.
pub trait Scenario {
    type Stack;
    fn name(&self) -> &'static str;
    /// A fresh stack (upstream, fixtures made directly upstream, a proxy in front).
    fn stack(&self) -> Self::Stack;
    fn proxy<'a>(&self, stack: &'a Self::Stack) -> &'a FaultProxy;
    /// The action's main flow, through the proxy.
    fn run(&self, stack: &Self::Stack) -> anyhow::Result<()>;
    /// The final state, read directly upstream (not through the proxy).
    fn state(&self, stack: &Self::Stack) -> State;
}

/// What one injection did.
#[derive(Debug)]
pub struct Injection {
    pub fault: Fault,
    pub at: usize,
    /// `METHOD path` of the request the fault hit.
    pub request: String,
    pub outcome: Outcome,
    /// The faulted run succeeded but its state already differed from the clean one.
    pub silent_difference: Option<String>,
    pub converged: bool,
    pub duplicates: usize,
    pub lost: usize,
    pub diff: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    FailedCleanly(String),
    Panicked(String),
}

/// One row of the table.
#[derive(Debug, Default)]
pub struct Row {
    pub action: &'static str,
    pub requests: usize,
    pub positions: Vec<usize>,
    pub injections: Vec<Injection>,
    pub rerun_panics: usize,
}

impl Row {
    pub fn count(&self, f: impl Fn(&Injection) -> bool) -> usize {
        self.injections.iter().filter(|i| f(i)).count()
    }
    pub fn duplicates(&self) -> usize {
        self.injections.iter().map(|i| i.duplicates).sum()
    }
    pub fn lost(&self) -> usize {
        self.injections.iter().map(|i| i.lost).sum()
    }
    pub fn markdown(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            self.action,
            self.injections.len(),
            self.count(|i| i.outcome == Outcome::Succeeded),
            self.count(|i| matches!(i.outcome, Outcome::FailedCleanly(_))),
            self.count(|i| i.converged),
            self.duplicates(),
            self.lost(),
        )
    }
    /// Every injection that panicked, did not converge, duplicated or lost something,
    /// or succeeded with a wrong state.
    pub fn problems(&self) -> Vec<String> {
        self.injections
            .iter()
            .filter(|i| {
                matches!(i.outcome, Outcome::Panicked(_))
                    || !i.converged
                    || i.duplicates > 0
                    || i.lost > 0
                    || i.silent_difference.is_some()
            })
            .map(|i| {
                format!(
                    "{}: {} at request {} ({}): {:?}; after re-run: {}{}",
                    self.action,
                    i.fault,
                    i.at,
                    i.request,
                    i.outcome,
                    if i.converged {
                        "converged"
                    } else {
                        "NOT converged: "
                    },
                    i.diff,
                ) + &i
                    .silent_difference
                    .as_ref()
                    .map(|d| format!("; the faulted run succeeded with a wrong state: {d}"))
                    .unwrap_or_default()
            })
            .collect()
    }
}

pub const HEADER: &str = "| action | faults injected | succeeded | failed cleanly | converged on re-run | duplicates | lost |\n|---|---|---|---|---|---|---|";

fn guarded(f: impl FnOnce() -> anyhow::Result<()>) -> Outcome {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => Outcome::Succeeded,
        Ok(Err(e)) => Outcome::FailedCleanly(format!("{e:#}")),
        Err(p) => Outcome::Panicked(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into()),
        ),
    }
}

/// `(duplicates, lost, description)` of `got` against `want`.
pub fn compare(want: &State, got: &State) -> (usize, usize, String) {
    let mut dup = 0;
    let mut lost = 0;
    let mut diff = Vec::new();
    for key in want
        .keys()
        .chain(got.keys().filter(|k| !want.contains_key(*k)))
    {
        let w = want.get(key).copied().unwrap_or(0);
        let g = got.get(key).copied().unwrap_or(0);
        if g > w {
            dup += g - w;
        } else {
            lost += w - g;
        }
        if g != w {
            diff.push(format!("{key}: {g} (clean run: {w})"));
        }
    }
    (dup, lost, diff.join(", "))
}

/// At most `max` of `items`, spread evenly, first and last included.
fn spread(items: &[usize], max: usize) -> Vec<usize> {
    if items.len() <= max {
        return items.to_vec();
    }
    let mut v: Vec<usize> = (0..max)
        .map(|i| items[i * (items.len() - 1) / (max - 1).max(1)])
        .collect();
    v.dedup();
    v
}

fn is_read(r: &Recorded) -> bool {
    r.method == "GET" || r.method == "HEAD"
}

/// Whether a request belongs to a class of positions.
type Class = fn(&Recorded) -> bool;

/// The positions to fault, at most `max` out of 1..=r, by what a fault there can do:
/// first the writes that create what is counted (manifests, API writes; everything
/// but blob uploads), then the reads of manifests (a failed read of an index taken for
/// "none" loses entries), then the rest; spread evenly within each class.
pub fn positions(seen: &[Recorded], max: usize) -> Vec<usize> {
    if seen.len() <= max {
        return seen.iter().map(|r| r.index).collect();
    }
    let classes: [Class; 3] = [
        |r| !is_read(r) && !r.path.contains("/blobs/"),
        |r| is_read(r) && r.path.contains("/manifests/"),
        |_| true,
    ];
    let mut chosen: Vec<usize> = Vec::new();
    for class in &classes {
        let items: Vec<usize> = seen
            .iter()
            .filter(|r| class(r) && !chosen.contains(&r.index))
            .map(|r| r.index)
            .collect();
        chosen.extend(spread(&items, max - chosen.len()));
    }
    chosen.sort_unstable();
    chosen
}

/// Measures one action: the clean run, then every fault at every chosen position.
pub fn measure<S: Scenario>(s: &S, faults: &[Fault], max_positions: usize) -> Row {
    let clean_stack = s.stack();
    let proxy = s.proxy(&clean_stack);
    proxy.reset();
    if let Err(e) = s.run(&clean_stack) {
        panic!("{}: the clean run failed: {e:#}", s.name());
    }
    let seen = proxy.requests();
    let requests = seen.len();
    for r in &seen {
        eprintln!(
            "{}: clean request {} {} {}",
            s.name(),
            r.index,
            r.method,
            r.path
        );
    }
    let clean = s.state(&clean_stack);
    drop(clean_stack);
    eprintln!(
        "{}: clean run: {requests} requests, state {clean:?}",
        s.name()
    );
    let positions = positions(&seen, max_positions);
    let mut row = Row {
        action: s.name(),
        requests,
        positions: positions.clone(),
        ..Row::default()
    };
    for &fault in faults {
        for &at in &positions {
            let t0 = Instant::now();
            let stack = s.stack();
            let t_stack = t0.elapsed();
            let proxy = s.proxy(&stack);
            proxy.reset();
            proxy.inject(at, fault);
            let outcome = guarded(|| s.run(&stack));
            let t_run = t0.elapsed() - t_stack;
            let request = proxy
                .requests()
                .into_iter()
                .find(|r| r.fault.is_some())
                .map(|r| format!("{} {}", r.method, r.path))
                .unwrap_or_else(|| "not reached".into());
            let silent_difference = match outcome {
                Outcome::Succeeded => {
                    let (d, l, diff) = compare(&clean, &s.state(&stack));
                    (d + l > 0).then_some(diff)
                }
                _ => None,
            };
            proxy.reset();
            let rerun = guarded(|| s.run(&stack));
            let t_all = t0.elapsed();
            let (duplicates, lost, diff) = compare(&clean, &s.state(&stack));
            let converged = matches!(rerun, Outcome::Succeeded) && duplicates + lost == 0;
            if matches!(rerun, Outcome::Panicked(_)) {
                row.rerun_panics += 1;
            }
            let diff = match &rerun {
                Outcome::Succeeded => diff,
                other => format!("re-run {other:?}; {diff}"),
            };
            eprintln!(
                "{}: {fault} at {at} ({request}): {:?} -> re-run {} [stack {t_stack:.1?}, faulted run {t_run:.1?}, all {t_all:.1?}]",
                s.name(),
                outcome,
                if converged {
                    "converged".to_string()
                } else {
                    diff.clone()
                }
            );
            row.injections.push(Injection {
                fault,
                at,
                request,
                outcome,
                silent_difference,
                converged,
                duplicates,
                lost,
                diff,
            });
        }
    }
    row
}
