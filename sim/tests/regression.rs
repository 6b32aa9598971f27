//! Fixed seeds, and reproducibility.
//!
//! Each regression seed once found a bug (in the broker or in the simulator's own checkers) or
//! covers a rare path; it must pass forever. Add a seed here when a sweep finds a failure and
//! the fix lands, with a line saying what it found.

use std::collections::BTreeMap;

use switchboard_sim::{run_seed, sweep, Options};

/// (seed, what it found or covers). Seeds that found a bug keep their number even after the
/// way runs are drawn changes (they then cover something else, still worth running); the
/// path they exercised is described so it can be re-covered.
const REGRESSION_SEEDS: &[(u64, &str)] = &[
    (
        1,
        "found: the queue-group checker keyed groups by subject filter; nats-server merges \
         queue subscriptions of one name across filters",
    ),
    (
        83,
        "found: liveness requests routed to responders that had sent UNSUB with a max and \
          stopped answering, though the server still routes to them until the max",
    ),
    (
        175,
        "found: the same, under a Disconnect/Bounce/clock fault plan",
    ),
    (
        4,
        "found: server crashes dropped sockets in an order that depended on tokio's \
         process-wide task ids; the seed diverged when run after other seeds",
    ),
    (
        77812,
        "covers: five slow consumers cut off while everyone else keeps up",
    ),
    (
        77829,
        "covers: four server crashes and restarts, clients reconnecting",
    ),
    (77978, "covers: every fault kind on at once"),
    (77854, "covers: three servers, eight clients"),
];

#[test]
fn regression_seeds_pass() {
    let options = Options::default();
    let mut failures = Vec::new();
    for &(seed, why) in REGRESSION_SEEDS {
        let outcome = run_seed(seed, &options);
        println!("{} ({why})", outcome.summary());
        if !outcome.passed() {
            failures.push(outcome.failure_report());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same seed gives the same trace hash: run twice, on different threads, in a different
/// order and after other seeds ran in the same process (turmoil and tokio keep process-wide
/// counters; a run must not depend on them).
#[test]
fn same_seed_same_trace_hash() {
    let seeds: Vec<u64> = vec![4, 11, 26, 57, 0];
    let options = Options::default();
    let first = sweep(&seeds, 2, &options);
    let mut reversed = seeds.clone();
    reversed.reverse();
    let second = sweep(&reversed, 1, &options);
    let hashes = |report: &switchboard_sim::SweepReport| -> BTreeMap<u64, u64> {
        report
            .outcomes
            .iter()
            .map(|o| (o.params.seed, o.trace_hash))
            .collect()
    };
    let (a, b) = (hashes(&first), hashes(&second));
    for o in first.outcomes.iter().chain(&second.outcomes) {
        println!("{}", o.summary());
    }
    assert_eq!(
        a, b,
        "trace hashes differ between two runs of the same seeds"
    );
    // And the runs exercised something that could differ: crashes, faults, messages.
    let crashes: u64 = first.outcomes.iter().map(|o| o.counters.crashes).sum();
    assert!(
        crashes > 0,
        "the determinism seeds should include server crashes"
    );
}
