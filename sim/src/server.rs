//! A simulated server: the runtime's own `Driver` (the code that ships) on a turmoil host, with
//! a turmoil listener and a [`SimClock`].
//!
//! Every part of the driver runs here unchanged: the acceptor task, per-socket reader and
//! writer tasks, the biased `select!` loop, timers from `poll_timeout`, close lingering. The one
//! part never exercised is `Output::Work` (bcrypt on `spawn_blocking`): the simulated servers
//! run without password users, because a blocking-pool thread runs on real time outside
//! turmoil's control and would make runs unreplayable.
//!
//! turmoil restarts a host by calling its software factory again, so a crash and restart
//! ("bounce") yields a fresh broker, seeded from the run seed and the incarnation number.

use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use rand::Rng;
use switchboard::{Broker, Config, ConnId, Seed, Stats};
use switchboard_server::driver::Observer;
use switchboard_server::{Clock, Driver, Listener};

use crate::clock::{HostClock, SimClock};
use crate::history::{Event, Recorder};
use crate::params::PORT;

/// The runtime's `Listener` on turmoil's simulated TCP.
pub struct SimListener(pub turmoil::net::TcpListener);

impl Listener for SimListener {
    type Stream = turmoil::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Stream, SocketAddr)> {
        self.0.accept().await
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// Pending bytes a connection may show between turns beyond `pending_bytes_max`: the broker
/// checks the budget when it queues a delivery, so a few control lines (PONG, PING, a
/// no-responders status) may sit on top of a full budget until the next delivery cuts the
/// client off.
pub const PENDING_SLACK_BYTES: usize = 4 * 1024;

/// What the runner keeps about one server across its incarnations.
pub struct ServerHost {
    pub index: u32,
    pub name: String,
    pub seed: u64,
    pub config: Config,
    pub clock: Arc<HostClock>,
    pub recorder: Recorder,
    pub incarnations: AtomicU32,
    pub observed: Arc<Mutex<Observed>>,
}

/// What the observer saw of the latest incarnation (and the worst of all of them).
#[derive(Debug, Default)]
pub struct Observed {
    /// The broker's counters at the end of its last turn, per incarnation (summed by the report).
    pub stats: Vec<Stats>,
    /// The most pending bytes any connection had between turns.
    pub pending_max: usize,
    /// Connections already reported over budget (reported once each).
    over_budget: BTreeSet<(u32, u64)>,
}

impl ServerHost {
    pub fn name_of(index: u32) -> String {
        format!("server{index}")
    }

    /// The host software: what turmoil runs at start and after every bounce.
    pub async fn run(self: Arc<ServerHost>) -> turmoil::Result {
        let incarnation = self.incarnations.fetch_add(1, Ordering::Relaxed);
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PORT)).await?;
        let clock = SimClock::new(self.clock.clone());
        let mut config = self.config.clone();
        config.server_name = self.name.clone();
        config.port = PORT;
        let mut stream = Seed(self.seed).stream(&format!("broker.s{}.{incarnation}", self.index));
        let broker_seed = Seed(stream.random());
        let broker = Broker::new(config, broker_seed, clock.now());
        self.observed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stats
            .push(Stats::default());
        self.recorder.record(Event::ServerStarted {
            server: self.index,
            incarnation,
        });
        let (mut driver, handle) = Driver::new(broker, SimListener(listener), clock);
        driver.set_observer(self.observer(incarnation));
        driver.run().await;
        // Every handle dropped or shutdown asked: neither happens in a simulation, so a driver
        // that returns is itself a failure.
        drop(handle);
        Err(format!("{}: the driver returned", self.name).into())
    }

    /// After every turn: copy the counters, check every connection's pending bytes against
    /// the budget, and check the clock never went backwards.
    fn observer(&self, incarnation: u32) -> Observer {
        let observed = self.observed.clone();
        let recorder = self.recorder.clone();
        let clock = self.clock.clone();
        let server = self.index;
        let budget = usize::try_from(self.config.pending_bytes_max).unwrap_or(usize::MAX)
            + PENDING_SLACK_BYTES;
        Box::new(
            move |broker: &Broker, conns: &mut dyn Iterator<Item = ConnId>| {
                let mut observed = observed.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(stats) = observed.stats.last_mut() {
                    stats.clone_from(broker.stats());
                }
                for conn in conns {
                    let Some(pending) = broker.pending_bytes(conn) else {
                        continue;
                    };
                    observed.pending_max = observed.pending_max.max(pending);
                    if pending > budget && observed.over_budget.insert((incarnation, conn.0)) {
                        recorder.record(Event::ServerViolation {
                            server,
                            what: format!(
                                "cid:{} has {pending} bytes pending, budget {budget}",
                                conn.0
                            ),
                        });
                    }
                }
                let backwards = clock.mono_backwards.swap(0, Ordering::Relaxed);
                if backwards > 0 {
                    recorder.record(Event::ServerViolation {
                        server,
                        what: format!("mono went backwards {backwards} times"),
                    });
                }
            },
        )
    }
}
