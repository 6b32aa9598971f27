//! Everything a run is: drawn from its one `u64` seed, split into named streams so that a new
//! draw in one place never shifts the numbers another place sees.
//!
//! | stream | decides |
//! | --- | --- |
//! | `params` | how many servers and clients, phase lengths, workload weights |
//! | `swarm` | which fault kinds are on for this seed (swarm testing) |
//! | `faults` | the fault plan: what, when, between whom, for how long |
//! | `network` | turmoil's own RNG seed (latency samples, random loss, host order, tokio's RNG) and the base link latency |
//! | `clock` | each server's clock offset, drift and jumps |
//! | `workload.c<N>` | client N's actions and payloads |
//! | `broker.s<N>.<incarnation>` | the seed each server incarnation's broker gets |

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use rand::Rng;
use switchboard::{Config, Seed};

use crate::history::FaultKind;
use crate::workloads::Action;

/// The port every simulated server listens on.
pub const PORT: u16 = 4222;

/// How a run is shaped, beyond what the seed draws.
#[derive(Clone, Debug)]
pub struct Options {
    /// Print every history entry and the servers' debug logs as they happen.
    pub verbose: bool,
    /// Swarm mode: each fault kind is on or off per seed. Off: every kind is on.
    pub swarm: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            verbose: false,
            swarm: true,
        }
    }
}

/// The parameters of one run. Printed as the banner.
#[derive(Clone, Debug)]
pub struct Params {
    pub seed: u64,
    pub servers: u32,
    pub clients: u32,
    /// Simulated time per turmoil step.
    pub tick: Duration,
    /// Base link latency range (turmoil samples an exponential curve within it).
    pub latency_min: Duration,
    pub latency_max: Duration,
    /// turmoil steps hosts in a random (seeded) order each tick.
    pub random_order: bool,
    /// The fault kinds on for this seed.
    pub faults: BTreeSet<FaultKind>,
    /// How many faults the plan draws (spread over the safety phase).
    pub fault_count: u32,
    /// The safety phase: workload under faults. The liveness phase follows with faults healed.
    pub safety: Duration,
    /// Relative weights of the workload actions for every client of this seed.
    pub weights: Vec<(Action, u32)>,
    /// The broker configuration every server runs.
    pub config: Config,
}

/// The liveness phase's schedule, relative to its start (the heal).
pub mod liveness {
    use std::time::Duration;
    /// Every client must be connected, subscribed and confirmed by then ...
    pub const READY_BY: Duration = Duration::from_millis(4_500);
    /// ... when everyone publishes and asks one request.
    pub const PUBLISH_AT: Duration = Duration::from_millis(5_000);
    /// The final flush, after every liveness message has been routed.
    pub const FINAL_FLUSH_AT: Duration = Duration::from_millis(8_000);
    /// The whole phase, with room for the final flush.
    pub const LENGTH: Duration = Duration::from_millis(10_000);
}

impl Params {
    pub fn draw(seed: u64, options: &Options) -> Params {
        let root = Seed(seed);
        let mut rng = root.stream("params");
        let servers = match rng.random_range(0..10) {
            0..=5 => 1,
            6..=8 => 2,
            _ => 3,
        };
        let clients = rng.random_range(3..=8);
        let safety = Duration::from_millis(rng.random_range(8_000..=12_000));
        let weights = Action::ALL
            .iter()
            .map(|&action| {
                // Publishing and subscribing are always on; the rest may be off for a seed.
                let weight = match action {
                    Action::Publish => rng.random_range(4..=8),
                    Action::Subscribe | Action::WildcardSubscribe => rng.random_range(1..=3),
                    Action::Reconnect => rng.random_range(0..=1),
                    _ => rng.random_range(0..=3),
                };
                (action, weight)
            })
            .collect();

        let mut swarm = root.stream("swarm");
        let faults: BTreeSet<FaultKind> = FaultKind::ALL
            .iter()
            .copied()
            .filter(|_| !options.swarm || swarm.random_bool(0.5))
            .collect();
        let fault_count = if faults.is_empty() {
            0
        } else {
            swarm.random_range(2..=8)
        };

        let mut network = root.stream("network");
        let latency_min = Duration::from_millis(network.random_range(0..=2));
        let latency_max = latency_min + Duration::from_millis(network.random_range(1..=20));
        let random_order = network.random_bool(0.5);
        // Finer ticks interleave hosts more finely; coarser ones run faster.
        let tick = Duration::from_millis(if network.random_bool(0.4) { 2 } else { 5 });

        Params {
            seed,
            servers,
            clients,
            tick,
            latency_min,
            latency_max,
            random_order,
            faults,
            fault_count,
            safety,
            weights,
            config: sim_config(),
        }
    }

    /// The whole run: safety, then liveness.
    pub fn length(&self) -> Duration {
        self.safety + liveness::LENGTH
    }

    /// The line that replays this run, printed on failure.
    pub fn replay_line(&self) -> String {
        format!(
            "SWITCHBOARD_SEED={} cargo test -p switchboard-sim --test sweep -- --nocapture   \
             (or: cargo run -p switchboard-sim -- --seed {})",
            self.seed, self.seed
        )
    }
}

/// The broker configuration of the simulation: nats-server's defaults, except limits small
/// enough that simulated seconds reach them (a slow consumer in seconds, stale pings).
pub fn sim_config() -> Config {
    Config {
        pending_bytes_max: 64 * 1024,
        payload_bytes_max: 8 * 1024,
        write_deadline: Duration::from_secs(2),
        ping_interval: Duration::from_secs(3),
        pings_outstanding_max: 2,
        ..Config::default()
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let faults: Vec<String> = self.faults.iter().map(|k| format!("{k:?}")).collect();
        let weights: Vec<String> = self
            .weights
            .iter()
            .map(|(a, w)| format!("{a:?}={w}"))
            .collect();
        write!(
            f,
            "seed={} servers={} clients={} tick={:?} latency={:?}..{:?} random_order={} \
             safety={:?} liveness={:?} faults=[{}] fault_count={} weights=[{}] \
             pending_bytes_max={} write_deadline={:?} ping_interval={:?}",
            self.seed,
            self.servers,
            self.clients,
            self.tick,
            self.latency_min,
            self.latency_max,
            self.random_order,
            self.safety,
            liveness::LENGTH,
            faults.join(","),
            self.fault_count,
            weights.join(","),
            self.config.pending_bytes_max,
            self.config.write_deadline,
            self.config.ping_interval,
        )
    }
}
