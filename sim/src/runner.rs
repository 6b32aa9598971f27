//! Runs one seed: builds the turmoil world, steps it while the nemesis applies the fault plan,
//! heals everything when the safety phase ends, lets the liveness phase finish, then checks
//! every invariant and the gate against empty runs. Also the sweep over many seeds.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use rand::Rng;
use switchboard::{Seed, Stats};

use crate::capture::{self, Capture};
use crate::client::{Client, ClientCtx, Control};
use crate::clock::{HostClock, EPOCH_UNIX_NANOS};
use crate::faults::{self, client_name, FaultPlan, Targets};
use crate::history::{Event, FaultKind, Recorder};
use crate::invariants::{self, Input, Verdict};
use crate::model::Model;
use crate::params::{Options, Params};
use crate::server::{Observed, ServerHost};

/// What a run exercised: the gate against empty runs reads these.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub connections: u64,
    pub subscriptions: u64,
    pub published: u64,
    pub delivered: u64,
    pub no_responders: u64,
    pub flushes: u64,
    pub faults: u64,
    pub crashes: u64,
    pub slow_consumer_cuts: u64,
    pub entries: u64,
    /// The servers' own counters, summed over every incarnation.
    pub server_in_msgs: u64,
    pub server_out_msgs: u64,
    pub server_pending_max: usize,
}

/// The result of one seed.
#[derive(Debug)]
pub struct Outcome {
    pub params: Params,
    pub trace_hash: u64,
    pub verdict: Verdict,
    pub counters: Counters,
    /// Why the run counts as having exercised too little (an empty run fails).
    pub empty: Vec<String>,
    /// The simulation itself failed (a host returned an error, clients never finished, or the
    /// simulator panicked).
    pub error: Option<String>,
    /// Real time the run took.
    pub took: Duration,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.empty.is_empty() && self.verdict.ok()
    }

    /// One line per run: seed, result, hash, what it exercised.
    pub fn summary(&self) -> String {
        let c = &self.counters;
        format!(
            "seed {} {} hash {:016x} in {:.2}s: {} conns, {} subs, {} pubs, {} msgs, {} 503s, \
             {} faults ({} crashes), {} slow cut",
            self.params.seed,
            if self.passed() { "ok" } else { "FAILED" },
            self.trace_hash,
            self.took.as_secs_f64(),
            c.connections,
            c.subscriptions,
            c.published,
            c.delivered,
            c.no_responders,
            c.faults,
            c.crashes,
            c.slow_consumer_cuts,
        )
    }

    /// How many cases each invariant checked.
    pub fn checks(&self) -> String {
        self.verdict.checks_line(&invariants::NAMES)
    }

    /// Everything needed to understand and replay a failure.
    pub fn failure_report(&self) -> String {
        let mut out = self.verdict.failure_head(
            &self.summary(),
            &self.params,
            &self.checks(),
            self.error.as_ref(),
            &self.empty,
        );
        out.push_str(&format!("  replay: {}\n", self.params.replay_line()));
        out
    }

    /// The names of the invariants that failed.
    pub fn failed_invariants(&self) -> Vec<&'static str> {
        self.verdict.violations.keys().copied().collect()
    }
}

/// The banner every run prints: the seed and every parameter.
pub fn banner(params: &Params) -> String {
    format!("switchboard-sim: {params}")
}

/// Runs `seed`. Never panics: a panic anywhere is a failed outcome with the seed in it.
pub fn run_seed(seed: u64, options: &Options) -> Outcome {
    capture::install_panic_hook();
    let started = Instant::now();
    let params = Params::draw(seed, options);
    println!("{}", banner(&params));
    let recorder = Recorder::new(options.verbose);
    let capture = Capture::new(recorder.clone(), options.verbose);
    let result = tracing::subscriber::with_default(capture, || {
        std::panic::catch_unwind(AssertUnwindSafe(|| simulate(&params, &recorder)))
    });
    for message in capture::take_panics() {
        recorder.record(Event::Panic { message });
    }
    let (error, end) = match result {
        Ok(Ok(end)) => (None, end),
        Ok(Err(error)) => (Some(error), End::default()),
        Err(_) => (Some("the simulation panicked".to_string()), End::default()),
    };
    let history = recorder.lock();
    let model = Model::build(&history.entries);
    let verdict = invariants::check_all(&Input {
        params: &params,
        entries: &history.entries,
        model: &model,
        servers_running: &end.servers_running,
    });
    let counters = count(&history.entries, &end);
    let empty = gate(&params, &counters, &verdict);
    let trace_hash = history.trace_hash();
    drop(history);
    Outcome {
        params,
        trace_hash,
        verdict,
        counters,
        empty,
        error,
        took: started.elapsed(),
    }
}

/// What the simulation leaves for the checkers besides the history.
#[derive(Default)]
struct End {
    servers_running: Vec<bool>,
    observed: Vec<Arc<Mutex<Observed>>>,
}

fn simulate(params: &Params, recorder: &Recorder) -> Result<End, String> {
    let mut sim = world(params);
    let (servers, clocks) = add_servers(&mut sim, params, recorder);
    let controls = add_clients(&mut sim, params, recorder);
    let targets = Targets {
        links: RefCell::new(BTreeMap::new()),
        recorder,
        controls: &controls,
        servers: &servers,
        clocks: &clocks,
        base_latency_max: params.latency_max,
    };
    drive(&mut sim, params, &targets)?;
    let servers_running = servers
        .iter()
        .map(|s| sim.is_host_running(s.name.as_str()))
        .collect();
    Ok(End {
        servers_running,
        observed: servers.iter().map(|s| s.observed.clone()).collect(),
    })
}

/// The turmoil world: its RNG seeded from the `network.turmoil` stream, a fixed epoch.
fn world(params: &Params) -> turmoil::Sim<'static> {
    let turmoil_seed: u64 = Seed(params.seed).stream("network.turmoil").random();
    let mut builder = turmoil::Builder::new();
    builder
        .simulation_duration(params.length() + Duration::from_secs(30))
        .tick_duration(params.tick)
        .min_message_latency(params.latency_min)
        .max_message_latency(params.latency_max)
        .epoch(UNIX_EPOCH + Duration::from_nanos(EPOCH_UNIX_NANOS as u64))
        .rng_seed(turmoil_seed);
    if params.random_order {
        builder.enable_random_order();
    }
    builder.build()
}

fn add_servers(
    sim: &mut turmoil::Sim<'static>,
    params: &Params,
    recorder: &Recorder,
) -> (Vec<Arc<ServerHost>>, Vec<Arc<HostClock>>) {
    let drift = params.faults.contains(&FaultKind::ClockDrift);
    let mut servers = Vec::new();
    let mut clocks = Vec::new();
    for index in 0..params.servers {
        let clock = Arc::new(HostClock::draw(params.seed, index, drift));
        let host = Arc::new(ServerHost {
            index,
            name: ServerHost::name_of(index),
            seed: params.seed,
            config: params.config.clone(),
            clock: clock.clone(),
            recorder: recorder.clone(),
            incarnations: AtomicU32::new(0),
            observed: Arc::new(Mutex::new(Observed::default())),
        });
        let software = host.clone();
        sim.host(host.name.as_str(), move || software.clone().run());
        servers.push(host);
        clocks.push(clock);
    }
    (servers, clocks)
}

/// Adds every client host; returns the nemesis's handles on them.
fn add_clients(
    sim: &mut turmoil::Sim<'static>,
    params: &Params,
    recorder: &Recorder,
) -> Vec<Rc<RefCell<Control>>> {
    let conn_numbers = Rc::new(Cell::new(0));
    let mut controls = Vec::new();
    for index in 0..params.clients {
        let control = Rc::new(RefCell::new(Control::default()));
        controls.push(control.clone());
        let ctx = ClientCtx {
            client: index,
            recorder: recorder.clone(),
            seq: Rc::new(Cell::new(0)),
            conn_numbers: conn_numbers.clone(),
        };
        let rng = Seed(params.seed).stream(&format!("workload.c{index}"));
        let (servers, weights, safety) = (params.servers, params.weights.clone(), params.safety);
        sim.client(client_name(index), async move {
            let client = Client {
                ctx,
                rng,
                conn: None,
                wanted: Vec::new(),
                servers,
                weights,
                control,
                // Read inside the client's own runtime: phases are measured from here.
                start: tokio::time::Instant::now(),
                safety,
                inboxes: 0,
            };
            client.run().await
        });
    }
    controls
}

/// Steps the world until every client has finished: the nemesis acts between steps, the heal
/// comes when the safety phase ends, and panics are drained into the history after each step.
fn drive(sim: &mut turmoil::Sim<'_>, params: &Params, targets: &Targets<'_>) -> Result<(), String> {
    let plan = FaultPlan::draw(params);
    let mut next = 0;
    let mut healed = false;
    let deadline = params.length() + Duration::from_secs(5);
    loop {
        let now = sim.elapsed();
        targets.recorder.set_runner_time(now);
        while let Some(planned) = plan.actions.get(next).filter(|p| p.at <= now) {
            faults::apply(sim, targets, &planned.action);
            next += 1;
        }
        if !healed && now >= params.safety {
            faults::heal(sim, targets);
            healed = true;
        }
        let finished = sim.step().map_err(|e| e.to_string());
        for message in capture::take_panics() {
            targets.recorder.record(Event::Panic { message });
        }
        if finished? {
            return Ok(());
        }
        if sim.elapsed() > deadline {
            return Err(format!(
                "clients had not finished {:?} after the start (the liveness phase ends at {:?})",
                sim.elapsed(),
                params.length()
            ));
        }
    }
}

fn count(entries: &[crate::history::Entry], end: &End) -> Counters {
    let mut c = Counters {
        entries: entries.len() as u64,
        ..Counters::default()
    };
    for entry in entries {
        match &entry.event {
            Event::Connected { .. } => c.connections += 1,
            Event::Sub { .. } => c.subscriptions += 1,
            Event::Pub { .. } => c.published += 1,
            Event::Msg { body, .. } => {
                if matches!(body, crate::history::Body::NoResponders { .. }) {
                    c.no_responders += 1;
                } else {
                    c.delivered += 1;
                }
            }
            Event::Pong { .. } => c.flushes += 1,
            Event::Fault { on: true, .. } => c.faults += 1,
            Event::ServerCrashed { .. } => c.crashes += 1,
            Event::SlowConsumerCut { .. } => c.slow_consumer_cuts += 1,
            _ => {}
        }
    }
    for observed in &end.observed {
        let observed = observed.lock().unwrap_or_else(|p| p.into_inner());
        let total = observed.stats.iter().fold(Stats::default(), |mut sum, s| {
            sum.in_msgs += s.in_msgs;
            sum.out_msgs += s.out_msgs;
            sum
        });
        c.server_in_msgs += total.in_msgs;
        c.server_out_msgs += total.out_msgs;
        c.server_pending_max = c.server_pending_max.max(observed.pending_max);
    }
    c
}

/// The gate: a run that exercised too little fails, so that a broken workload or an
/// always-partitioned network cannot pass by checking nothing.
fn gate(params: &Params, c: &Counters, verdict: &Verdict) -> Vec<String> {
    let mut empty = Vec::new();
    let mut require = |ok: bool, why: String| {
        if !ok {
            empty.push(why);
        }
    };
    require(
        c.published >= 20,
        format!("only {} messages published", c.published),
    );
    require(
        c.delivered >= 20,
        format!("only {} messages delivered", c.delivered),
    );
    require(
        c.subscriptions >= u64::from(params.clients),
        format!("only {} subscriptions", c.subscriptions),
    );
    require(
        c.server_in_msgs > 0,
        "the servers' observers saw no message".to_string(),
    );
    for invariant in [
        "completeness",
        "no_duplicates",
        "delivery_routing",
        "liveness",
    ] {
        require(
            verdict.checks_of(invariant) > 0,
            format!("invariant {invariant} checked nothing"),
        );
    }
    let dynamic_faults = params.faults.iter().any(|&k| k != FaultKind::ClockDrift);
    if dynamic_faults && params.fault_count > 0 {
        require(
            c.faults > 0,
            "fault kinds were on but no fault was injected".to_string(),
        );
    }
    empty
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_run_fails_the_gate() {
        let params = Params::draw(7, &Options::default());
        let empty = gate(&params, &Counters::default(), &Verdict::default());
        assert!(
            empty.iter().any(|why| why.contains("messages published")),
            "{empty:?}"
        );
        assert!(
            empty
                .iter()
                .any(|why| why.contains("completeness checked nothing")),
            "{empty:?}"
        );
        let outcome = Outcome {
            params,
            trace_hash: 0,
            verdict: Verdict::default(),
            counters: Counters::default(),
            empty,
            error: None,
            took: Duration::ZERO,
        };
        assert!(!outcome.passed());
        assert!(outcome.failure_report().contains("empty run:"));
        assert!(outcome.failure_report().contains("SWITCHBOARD_SEED=7"));
    }
}

/// The result of many seeds.
#[derive(Debug, Default)]
pub struct SweepReport {
    pub outcomes: Vec<Outcome>,
    pub took: Duration,
}

impl SweepReport {
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| !o.passed())
    }

    pub fn seeds_per_second(&self) -> f64 {
        self.outcomes.len() as f64 / self.took.as_secs_f64().max(1e-9)
    }

    /// Totals over every run, for the sweep's closing lines.
    pub fn totals(&self) -> String {
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        for o in &self.outcomes {
            for k in &o.params.faults {
                *kinds.entry(format!("{k:?}")).or_default() += 1;
            }
        }
        let sum =
            |f: fn(&Counters) -> u64| self.outcomes.iter().map(|o| f(&o.counters)).sum::<u64>();
        format!(
            "{} seeds in {:.1}s ({:.2} seeds/s), {} failed; {} pubs, {} msgs, {} faults, {} crashes, \
             {} slow consumers cut; seeds with each fault kind on: {kinds:?}",
            self.outcomes.len(),
            self.took.as_secs_f64(),
            self.seeds_per_second(),
            self.failures().count(),
            sum(|c| c.published),
            sum(|c| c.delivered),
            sum(|c| c.faults),
            sum(|c| c.crashes),
            sum(|c| c.slow_consumer_cuts),
        )
    }
}

/// Runs `seeds` on `workers` threads (each seed wholly on one thread), in any order; the
/// report lists them in seed order.
pub fn sweep(seeds: &[u64], workers: usize, options: &Options) -> SweepReport {
    let started = Instant::now();
    let outcomes = run_seeds(seeds, workers, "sim-worker", |seed| run_seed(seed, options));
    SweepReport {
        outcomes,
        took: started.elapsed(),
    }
}

/// `run` for each of `seeds` on `workers` threads named `<name>-<n>` (each seed wholly on one
/// thread, with a large stack), in any order; the results come back in seed order. Shared by
/// every simulation's sweep.
pub fn run_seeds<T: Send>(
    seeds: &[u64],
    workers: usize,
    name: &str,
    run: impl Fn(u64) -> T + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(seeds.len()));
    std::thread::scope(|scope| {
        for worker in 0..workers.max(1) {
            let (next, results, run) = (&next, &results, &run);
            std::thread::Builder::new()
                .name(format!("{name}-{worker}"))
                .stack_size(32 * 1024 * 1024)
                .spawn_scoped(scope, move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else {
                        break;
                    };
                    let outcome = run(seed);
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, outcome));
                })
                .expect("spawning a sweep worker");
        }
    });
    let mut outcomes = results.into_inner().unwrap_or_else(|p| p.into_inner());
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, o)| o).collect()
}
