//! The seed sweep `cargo test` runs, and the replay of one seed.
//!
//! - default: seeds 0..200 (fixed, so CI is reproducible), on every core;
//! - `SWITCHBOARD_SEEDS=<n>`: n seeds from `SWITCHBOARD_SEED_START` (default: a random start,
//!   printed) — a longer, exploring sweep;
//! - `SWITCHBOARD_SEED=<n>`: replay seed n alone, printing its whole history and the servers'
//!   debug logs (run with `-- --nocapture`).
//!
//! Every failure prints its parameters, findings and replay line.

use switchboard_sim::{default_workers, env_u64, run_seed, sweep, sweep_seeds, Options};

/// Seeds the default sweep runs.
const DEFAULT_SEEDS: u64 = 200;

#[test]
fn seed_sweep() {
    if let Some(seed) = env_u64("SWITCHBOARD_SEED") {
        let options = Options {
            verbose: true,
            ..Options::default()
        };
        let outcome = run_seed(seed, &options);
        println!("{}\n{}", outcome.summary(), outcome.checks());
        assert!(outcome.passed(), "{}", outcome.failure_report());
        return;
    }
    let seeds = sweep_seeds(DEFAULT_SEEDS);
    let (count, start) = (seeds.len(), seeds.first().copied().unwrap_or(0));
    let workers = default_workers();
    println!("switchboard-sim: {count} seeds from {start} on {workers} threads");
    let report = sweep(&seeds, workers, &Options::default());
    for outcome in &report.outcomes {
        println!("{}", outcome.summary());
    }
    let failures: Vec<String> = report.failures().map(|o| o.failure_report()).collect();
    println!("{}", report.totals());
    assert!(
        failures.is_empty(),
        "{} of {count} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
