//! Switchboard's deterministic simulator.
//!
//! One `u64` seed decides a whole run: how many servers and clients, the workload, the fault
//! plan, every latency sample and every scheduling choice. A run puts the runtime's own
//! [`Driver`](switchboard_server::Driver) — the code that ships — on turmoil hosts (one to
//! three servers, each its own island: the core has no clustering yet) with a turmoil listener
//! and a [`SimClock`](clock::SimClock), and many simulated clients speaking raw NATS protocol.
//!
//! A run has two phases. In the *safety* phase clients run random workload actions
//! ([`workloads`]) while the nemesis ([`faults`]) partitions, holds, slows and breaks links,
//! crashes and restarts servers, jumps and skews their clocks, disconnects clients and makes
//! them slow readers. Then every fault is healed and the *liveness* phase
//! ([`client::liveness`]) must deliver again. Everything clients see and do is one ordered
//! [`history`]; the [`invariants`] check it (and what the servers reported) afterwards.
//!
//! # Determinism
//! - Every random choice comes from the seed, split into named streams ([`params`]).
//! - turmoil's RNG is seeded (`Builder::rng_seed`); turmoil seeds each host's tokio runtime
//!   from it (`RngSeed`, needs `--cfg tokio_unstable`, set in `.cargo/config.toml`), and steps
//!   hosts in a fixed (or seeded random) order, one thread, with a paused clock.
//! - The driver uses only `biased;` selects and `BTreeMap`s; the core uses fixed-hash maps.
//! - The wall-clock epoch is fixed; nothing reads the real clock or OS entropy.
//! - A run is one thread, so the history's order is the execution order; the trace hash over it
//!   is equal for two runs of one seed (tested).
//!
//! # Reproducing
//! Every run prints a banner with its parameters; a failure prints the line that replays it:
//! `SWITCHBOARD_SEED=<n> cargo test -p switchboard-sim --test sweep -- --nocapture`, or
//! `cargo run -p switchboard-sim -- --seed <n>`.
//!
//! # JetStream
//! [`jetstream`] is a second, turmoil-free simulation: one broker with JetStream over a
//! `MemDisk`, driven in-process, under crashes, disk faults and clock jumps, checked against a
//! model of what clients were acknowledged (`--test jetstream`, `--jetstream`).

pub mod capture;
pub mod client;
pub mod clock;
pub mod faults;
pub mod history;
pub mod invariants;
pub mod jetstream;
pub mod model;
pub mod params;
pub mod runner;
pub mod server;
pub mod workloads;

pub use params::{Options, Params};
pub use runner::{banner, run_seed, sweep, Outcome, SweepReport};

/// A number from the environment (`SWITCHBOARD_SEED` and friends); panics naming the
/// variable when it is not one.
pub fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

/// The seeds a sweep test runs: `SWITCHBOARD_SEEDS=<n>` from `SWITCHBOARD_SEED_START` (a
/// random start when unset), else `0..default_count`.
pub fn sweep_seeds(default_count: u64) -> Vec<u64> {
    let (count, start) = match env_u64("SWITCHBOARD_SEEDS") {
        Some(count) => (
            count,
            env_u64("SWITCHBOARD_SEED_START").unwrap_or_else(random_start),
        ),
        None => (default_count, 0),
    };
    (0..count).map(|i| start.wrapping_add(i)).collect()
}

/// Threads a sweep uses: the machine's parallelism.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A start seed for an exploratory sweep, from std's randomly keyed hasher and the time. Only
/// the start of a sweep comes from here; it is printed, so the sweep can be repeated.
pub fn random_start() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}
