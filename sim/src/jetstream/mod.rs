//! The JetStream simulation: one [`Broker`](switchboard::Broker) with JetStream over a
//! [`MemDisk`](switchboard::store::MemDisk), driven in-process as the sans-IO state machine it
//! is — no turmoil, no tokio. One seed fixes everything: the streams and their limits, the
//! clients' workload, every latency, the order syncs finish in, and the fault plan.
//!
//! - [`world`]: the host loop (simulated clock, per-connection links, sync jobs completed after
//!   a seeded delay and in any order across streams, the broker's timer) and the nemesis
//!   (`world/nemesis.rs`): crashes (process kill, power loss, power loss tearing the last write;
//!   at a random moment or while a sync is in flight) with a restart on the same disk, bit flips
//!   in segment files while down, a full disk for a while, a failing sync, a misdirected read,
//!   wall clock jumps either way.
//! - [`client`], [`workload`], [`replies`]: simulated clients speaking raw protocol (CONNECT with
//!   headers, one inbox per client, PUB/HPUB with and without `Nats-Msg-Id` (and retries with
//!   the same id and bytes), `Nats-Rollup`, `$JS.API` CREATE, INFO, MSG.GET, PURGE, MSG.DELETE,
//!   DELETE) and a verifier that reads the acknowledged messages back after each restart.
//!
//! Where the simulation found a core issue that would fail every run that meets it, it works
//! around it, marked `WORKAROUND` in the code (a stuck timer, limits over while the disk is
//! full, misdirected reads at open); the check stays exact everywhere else.
//! - [`model`]: what the clients were told, and what may legitimately have removed a message.
//! - [`invariants`]: acked_not_lost, sequences, dedupe, limits, no_early_expiry,
//!   no_corrupt_served, liveness, server_health.
//!
//! A run has a safety phase (random workload under the fault plan), then every fault is healed,
//! the server loses power one last time and restarts, and the liveness phase must settle: every
//! acknowledged message that must survive is read back, every stream takes a message. Every
//! input and output is one line of a trace whose hash two runs of one seed must share.
//!
//! # Reproducing
//! Each run prints its parameters; a failure prints its findings, the last trace lines and the
//! replay line: `SWITCHBOARD_SEED=<n> cargo test -p switchboard-sim --test jetstream --
//! --nocapture` (prints the whole trace), or `cargo run -p switchboard-sim -- --jetstream --seed
//! <n>`.

pub mod client;
pub mod invariants;
pub mod json;
pub mod model;
pub mod params;
mod replies;
pub mod trace;
pub mod wire;
mod workload;
pub mod world;

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use crate::capture;
use crate::invariants::Verdict;

pub use params::JsParams;

/// What a run exercised: the gate against empty runs reads these.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub publishes: u64,
    pub retries: u64,
    pub acks: u64,
    pub duplicates: u64,
    pub errors: u64,
    pub gets: u64,
    pub verified: u64,
    pub infos: u64,
    pub purges: u64,
    pub msg_deletes: u64,
    pub creates: u64,
    pub stream_deletes: u64,
    pub syncs: u64,
    pub faults: u64,
    pub crashes: u64,
    pub flips: u64,
    pub disk_full: u64,
    pub wall_jumps: u64,
    /// Times the host backed off a timer the broker left due (a core issue; see
    /// `World::fire_timer`).
    pub stuck_timer: u64,
}

/// How to run seeds.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsOptions {
    /// Print every trace line as it happens.
    pub verbose: bool,
}

/// The result of one seed.
#[derive(Debug)]
pub struct JsOutcome {
    pub params: JsParams,
    pub trace_hash: u64,
    pub trace_lines: u64,
    pub verdict: Verdict,
    pub counters: Counters,
    /// Why the run counts as having exercised too little.
    pub empty: Vec<String>,
    /// The simulation itself failed (or the server panicked).
    pub error: Option<String>,
    /// The last trace lines, for a failure report.
    pub tail: Vec<String>,
    pub took: Duration,
}

impl JsOutcome {
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.empty.is_empty() && self.verdict.ok()
    }

    pub fn summary(&self) -> String {
        let c = &self.counters;
        format!(
            "jetstream seed {} {} hash {:016x} in {:.2}s: {} pubs ({} retries), {} acks, {} dups, \
             {} errors, {} gets ({} verified), {} infos, {} purges, {} msg deletes, {} stream \
             deletes, {} syncs, {} faults ({} crashes, {} flips, {} disk full, {} wall jumps), \
             {} stuck timer back-offs",
            self.params.seed,
            if self.passed() { "ok" } else { "FAILED" },
            self.trace_hash,
            self.took.as_secs_f64(),
            c.publishes,
            c.retries,
            c.acks,
            c.duplicates,
            c.errors,
            c.gets,
            c.verified,
            c.infos,
            c.purges,
            c.msg_deletes,
            c.stream_deletes,
            c.syncs,
            c.faults,
            c.crashes,
            c.flips,
            c.disk_full,
            c.wall_jumps,
            c.stuck_timer,
        )
    }

    pub fn checks(&self) -> String {
        self.verdict.checks_line(&invariants::NAMES)
    }

    pub fn failure_report(&self) -> String {
        let mut out = self.verdict.failure_head(
            &self.summary(),
            &self.params,
            &self.checks(),
            self.error.as_ref(),
            &self.empty,
        );
        out.push_str("  last trace lines:\n");
        for line in &self.tail {
            out.push_str(&format!("    {line}\n"));
        }
        out.push_str(&format!("  replay: {}\n", self.params.replay_line()));
        out
    }

    pub fn failed_invariants(&self) -> Vec<&'static str> {
        self.verdict.violations.keys().copied().collect()
    }
}

/// Runs one seed. Never panics: a panic (in the server or the simulator) is a failed outcome
/// with the seed in it.
pub fn run_js_seed(seed: u64, options: &JsOptions) -> JsOutcome {
    capture::install_panic_hook();
    let started = Instant::now();
    let params = JsParams::draw(seed);
    println!("switchboard-sim jetstream: {params}");
    let mut world = world::World::new(params.clone(), options.verbose);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| world.run()));
    let panics = capture::take_panics();
    let mut error = world.error.take();
    if result.is_err() {
        error = Some(format!("the simulation panicked: {}", panics.join("; ")));
    }
    let empty = gate(&world.counters, &world.verdict);
    JsOutcome {
        params,
        trace_hash: world.trace.hash(),
        trace_lines: world.trace.lines(),
        verdict: std::mem::take(&mut world.verdict),
        counters: world.counters.clone(),
        empty,
        error,
        tail: world.trace.tail().cloned().collect(),
        took: started.elapsed(),
    }
}

/// An empty run fails: it must have acked publishes, read some back after a restart, and
/// crashed at least once.
fn gate(counters: &Counters, verdict: &Verdict) -> Vec<String> {
    let mut empty = Vec::new();
    if counters.acks < 20 {
        empty.push(format!("only {} publishes acked", counters.acks));
    }
    if counters.crashes == 0 {
        empty.push("no crash".to_string());
    }
    if verdict.checks_of(invariants::acked_not_lost::NAME)
        + verdict.checks_of(invariants::no_early_expiry::NAME)
        < 10
    {
        empty.push("fewer than 10 acked messages read back".to_string());
    }
    empty
}

/// The outcomes of many seeds, in seed order.
pub struct JsSweepReport {
    pub outcomes: Vec<JsOutcome>,
    pub took: Duration,
}

impl JsSweepReport {
    pub fn failures(&self) -> impl Iterator<Item = &JsOutcome> {
        self.outcomes.iter().filter(|o| !o.passed())
    }

    pub fn totals(&self) -> String {
        let failed = self.failures().count();
        let acks: u64 = self.outcomes.iter().map(|o| o.counters.acks).sum();
        let verified: u64 = self.outcomes.iter().map(|o| o.counters.verified).sum();
        let crashes: u64 = self.outcomes.iter().map(|o| o.counters.crashes).sum();
        format!(
            "jetstream sweep: {} seeds, {failed} failed, {acks} acks, {verified} verified reads, \
             {crashes} crashes, in {:.1}s",
            self.outcomes.len(),
            self.took.as_secs_f64()
        )
    }
}

/// Runs `seeds` on `workers` threads (each seed wholly on one thread).
pub fn sweep_js(seeds: &[u64], workers: usize, options: &JsOptions) -> JsSweepReport {
    let started = Instant::now();
    let outcomes = crate::runner::run_seeds(seeds, workers, "js-sim-worker", |seed| {
        run_js_seed(seed, options)
    });
    JsSweepReport {
        outcomes,
        took: started.elapsed(),
    }
}

/// The binary's `--jetstream` mode: replays `seed` printing its whole trace, or else sweeps
/// `count` seeds from `start`, printing every summary and every failure's report. Whether
/// every seed passed.
pub fn cli(seed: Option<u64>, count: u64, start: u64, workers: usize) -> bool {
    if let Some(seed) = seed {
        let outcome = run_js_seed(seed, &JsOptions { verbose: true });
        println!("{}\n{}", outcome.summary(), outcome.checks());
        if !outcome.passed() {
            println!("{}", outcome.failure_report());
        }
        return outcome.passed();
    }
    println!("switchboard-sim jetstream: {count} seeds from {start} on {workers} threads");
    let seeds: Vec<u64> = (0..count).map(|i| start.wrapping_add(i)).collect();
    let report = sweep_js(&seeds, workers, &JsOptions::default());
    for outcome in &report.outcomes {
        println!("{}", outcome.summary());
    }
    for outcome in report.failures() {
        println!("{}", outcome.failure_report());
    }
    println!("{}", report.totals());
    let passed = report.failures().next().is_none();
    passed
}
