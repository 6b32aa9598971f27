//! `switchboard-sim`: replay one seed verbosely, or sweep many.
//!
//! ```text
//! switchboard-sim --seed N            replay seed N, printing every history entry
//! switchboard-sim --seeds N [--start S] [--workers W] [--no-swarm]
//!                                     run N seeds from S (default: a random start, printed)
//! switchboard-sim --jetstream ...     the same for the JetStream simulation
//!                                     (`switchboard_sim::jetstream`; --no-swarm does not apply)
//! ```
//! Exits 1 if any seed fails, printing each failure's report and replay line.

use std::process::ExitCode;

use switchboard_sim::{default_workers, random_start, run_seed, sweep, Options};

fn main() -> ExitCode {
    let mut seed = None;
    let mut seeds = None;
    let mut start = None;
    let mut workers = default_workers();
    let mut options = Options::default();
    let mut jetstream = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{name} needs a number"))?;
            value
                .parse()
                .map_err(|_| format!("{name}: not a number: {value}"))
        };
        let parsed = match arg.as_str() {
            "--seed" => number("--seed").map(|n| seed = Some(n)),
            "--seeds" => number("--seeds").map(|n| seeds = Some(n)),
            "--start" => number("--start").map(|n| start = Some(n)),
            "--workers" => number("--workers").map(|n| workers = n as usize),
            "--no-swarm" => {
                options.swarm = false;
                Ok(())
            }
            "--jetstream" => {
                jetstream = true;
                Ok(())
            }
            "-h" | "--help" => {
                println!("usage: switchboard-sim [--jetstream] --seed N | --seeds N [--start S] [--workers W] [--no-swarm]");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other}")),
        };
        if let Err(error) = parsed {
            eprintln!("switchboard-sim: {error}");
            return ExitCode::from(2);
        }
    }
    if jetstream {
        let start = start.unwrap_or_else(random_start);
        let passed = switchboard_sim::jetstream::cli(seed, seeds.unwrap_or(100), start, workers);
        return if passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    if let Some(seed) = seed {
        options.verbose = true;
        let outcome = run_seed(seed, &options);
        return if outcome.passed() {
            println!("{}", outcome.summary());
            println!("{}", outcome.checks());
            ExitCode::SUCCESS
        } else {
            println!("{}", outcome.failure_report());
            ExitCode::FAILURE
        };
    }
    let count = seeds.unwrap_or(100);
    let start = start.unwrap_or_else(random_start);
    println!("switchboard-sim: {count} seeds from {start} on {workers} threads");
    let list: Vec<u64> = (0..count).map(|i| start.wrapping_add(i)).collect();
    let report = sweep(&list, workers, &options);
    for outcome in &report.outcomes {
        println!("{}", outcome.summary());
    }
    let mut failed = false;
    for outcome in report.failures() {
        failed = true;
        println!("{}", outcome.failure_report());
    }
    println!("{}", report.totals());
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
