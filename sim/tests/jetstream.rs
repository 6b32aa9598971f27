//! The JetStream simulation (`switchboard_sim::jetstream`): the seed sweep `cargo test` runs,
//! the replay of one seed, determinism, and the planted bug it must catch.
//!
//! - default: seeds 0..60 (fixed, so CI is reproducible), on every core;
//! - `SWITCHBOARD_SEEDS=<n>`: n seeds from `SWITCHBOARD_SEED_START` (default: a random start,
//!   printed) — a longer, exploring sweep;
//! - `SWITCHBOARD_SEED=<n>`: replay seed n alone, printing its whole trace (run with
//!   `-- --nocapture`).
//!
//! Every failure prints its parameters, findings, last trace lines and replay line.

use switchboard::store::faults::set_ack_before_sync;
use switchboard_sim::jetstream::{run_js_seed, sweep_js, JsOptions, JsOutcome};
use switchboard_sim::{default_workers, env_u64, sweep_seeds};

/// Seeds the default sweep runs.
const DEFAULT_SEEDS: u64 = 60;
/// Seeds the planted bug runs, and in how many of them it must be caught at least.
const PLANTED_BUG_SEEDS: u64 = 20;
const PLANTED_BUG_CAUGHT_MIN: u64 = 10;

#[test]
fn jetstream_seed_sweep() {
    if let Some(seed) = env_u64("SWITCHBOARD_SEED") {
        let outcome = run_js_seed(seed, &JsOptions { verbose: true });
        println!("{}\n{}", outcome.summary(), outcome.checks());
        assert!(outcome.passed(), "{}", outcome.failure_report());
        return;
    }
    let seeds = sweep_seeds(DEFAULT_SEEDS);
    let (count, start) = (seeds.len(), seeds.first().copied().unwrap_or(0));
    let workers = default_workers();
    println!("switchboard-sim jetstream: {count} seeds from {start} on {workers} threads");
    let report = sweep_js(&seeds, workers, &JsOptions::default());
    for outcome in &report.outcomes {
        println!("{}", outcome.summary());
    }
    let failures: Vec<String> = report.failures().map(JsOutcome::failure_report).collect();
    println!("{}", report.totals());
    assert!(
        failures.is_empty(),
        "{} of {count} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn one_seed_twice_gives_one_trace() {
    let first = run_js_seed(7, &JsOptions::default());
    let second = run_js_seed(7, &JsOptions::default());
    assert!(first.trace_lines > 1000, "{}", first.summary());
    assert_eq!(
        (first.trace_hash, first.trace_lines),
        (second.trace_hash, second.trace_lines),
        "seed 7 replayed differently:\n{}\n{}",
        first.summary(),
        second.summary()
    );
}

/// Proof that the durability checker can fail: with the store's test-only "ack before sync"
/// switch (`switchboard::store::faults`, cargo feature `fault-injection`, on for this package's
/// tests only), a crash loses acknowledged messages, and the sweep must say so — as an acked
/// publish lost — in most seeds. The switch is per thread, so the seeds run here, one after
/// another.
#[test]
fn ack_before_sync_is_caught_as_acked_publish_lost() {
    let mut caught = Vec::new();
    for seed in 0..PLANTED_BUG_SEEDS {
        set_ack_before_sync(true);
        let outcome = run_js_seed(seed, &JsOptions::default());
        set_ack_before_sync(false);
        println!("ack before sync: {}", outcome.summary());
        if !outcome.passed() {
            caught.push(outcome);
        }
    }
    println!(
        "ack before sync: caught in {} of {PLANTED_BUG_SEEDS} seeds",
        caught.len()
    );
    let first = caught
        .first()
        .unwrap_or_else(|| panic!("acking before the sync passed {PLANTED_BUG_SEEDS} seeds"));
    let report = first.failure_report();
    println!("{report}");
    assert!(
        report.contains(&format!("SWITCHBOARD_SEED={}", first.params.seed)),
        "{report}"
    );
    // The shared head of every failure report: what failed, how often, and the findings.
    assert!(report.starts_with("FAILED "), "{report}");
    assert!(report.contains(" violation(s)\n    "), "{report}");
    // A crash may also show the bug as an early expiry (a lost message of a max_age stream) or
    // only as an acked sequence given again (when the lost message could have expired by
    // then); nothing else may fail.
    let as_lost = caught
        .iter()
        .filter(|o| o.failed_invariants().contains(&"acked_not_lost"))
        .count() as u64;
    for outcome in &caught {
        let failed = outcome.failed_invariants();
        assert!(
            failed
                .iter()
                .all(|name| ["acked_not_lost", "no_early_expiry", "sequences"].contains(name)),
            "ack before sync broke something else: {}",
            outcome.failure_report()
        );
    }
    println!("ack before sync: {as_lost} of them as an acked publish lost");
    assert!(
        as_lost >= PLANTED_BUG_CAUGHT_MIN,
        "caught as an acked publish lost in only {as_lost} of {PLANTED_BUG_SEEDS} seeds"
    );
}

#[test]
fn the_switch_off_changes_nothing() {
    set_ack_before_sync(false);
    let outcome = run_js_seed(3, &JsOptions::default());
    assert!(outcome.passed(), "{}", outcome.failure_report());
}
