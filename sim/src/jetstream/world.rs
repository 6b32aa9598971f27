//! The host: one [`Broker`] with JetStream over a [`MemDisk`], driven in-process by a
//! discrete-event loop. No turmoil and no tokio: the broker is a state machine, so the loop
//! owns time (a simulated clock), the network (per-connection FIFO links with seeded
//! latency), the disk's syncs (run after a seeded delay, in any order across streams), the
//! broker's timer, and every fault.
//!
//! # Loop contract kept with the broker
//! Each event is one `handle_*` input with the current [`Now`]; then [`Broker::poll_output`]
//! is drained (bytes become deliveries on the client's link, `Output::Sync` jobs are queued),
//! and the one timer is re-armed from [`Broker::poll_timeout`]. `now.mono` never goes backwards
//! within one incarnation; every restart is a new process with its own monotonic clock, and
//! the wall clock is simulated time plus a skew the fault plan moves either way.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use switchboard::jetstream::{JetStream, JetStreamConfig, SyncJob};
use switchboard::store::{Disk, MemDisk};
use switchboard::{Broker, Config, ConnId, Mono, Now, Output, Seed, Wall};

mod nemesis;

use super::client::Client;
use super::invariants::{self, sequences};
use super::model::{Incarnation, Model, Phase};
use super::params::{FaultAction, JsParams, SimTime, MILLIS, SECONDS};
use super::trace::Trace;
use super::Counters;
use crate::clock::EPOCH_UNIX_NANOS;
use crate::invariants::Verdict;

/// The liveness phase ends when everything is answered, or after this long.
const LIVENESS_MAX: SimTime = 20 * SECONDS;
/// Inputs at one instant, at most (a timer that never stops re-arming is a finding).
const SAME_INSTANT_STEPS_MAX: u32 = 100_000;
/// WORKAROUND for a core issue (see `World::fire_timer`): timer firings in a row that leave
/// the broker's deadline where it was, before the host backs off, and for how long.
const STUCK_TIMER_FIRES_MAX: u32 = 3;
const STUCK_TIMER_BACKOFF: SimTime = 10 * MILLIS;

/// Something due at a simulated time.
#[derive(Debug)]
pub enum Event {
    /// A client's next workload action.
    Act {
        client: usize,
    },
    /// A client (re)connects.
    Connect {
        client: usize,
    },
    /// Bytes a client sent reach the server.
    ToServer {
        incarnation: u32,
        conn: ConnId,
        data: Bytes,
    },
    /// Bytes the server sent reach a client.
    ToClient {
        incarnation: u32,
        client: usize,
        conn: ConnId,
        data: Bytes,
    },
    /// A client learns its connection is gone (after what was on the wire arrived).
    Closed {
        incarnation: u32,
        client: usize,
        conn: ConnId,
    },
    /// A sync the server asked for finishes.
    SyncDone {
        incarnation: u32,
        id: u64,
    },
    Fault(FaultAction),
    /// A crash that waited for a sync to be in flight (see `World::crash_at_a_sync`).
    DeferredCrash {
        token: u64,
    },
    DiskFullEnds,
    Restart,
    EndSafety,
}

/// Whether the run is in its safety phase (faults, random workload) or its liveness phase
/// (healed; every stream must take a message, everything must be answered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunPhase {
    Safety,
    Liveness,
}

/// The server software while it runs.
pub struct Server {
    pub broker: Broker,
    booted_at: SimTime,
    mono_base: u64,
    pub conns: BTreeMap<ConnId, usize>,
    syncs: BTreeMap<u64, SyncJob>,
    next_sync: u64,
    timer_at: Option<SimTime>,
    /// Firings in a row after which the deadline was still due (see `World::fire_timer`).
    stuck_fires: u32,
    backoff_until: Option<SimTime>,
}

/// A crash waiting for a sync to be in flight.
struct PendingCrash {
    token: u64,
    action: FaultAction,
    /// The final crash before the liveness phase.
    last: bool,
}

/// Seeded random streams, one per concern, so a change in one never shifts the others.
pub struct Rngs {
    pub workload: ChaCha8Rng,
    pub network: ChaCha8Rng,
    pub disk: ChaCha8Rng,
    pub faults: ChaCha8Rng,
}

/// Everything one run owns.
pub struct World {
    pub params: JsParams,
    pub now: SimTime,
    order: u64,
    queue: BTreeMap<(SimTime, u64), Event>,
    pub rng: Rngs,
    pub disk: Arc<MemDisk>,
    pub server: Option<Server>,
    /// The current (or, while down, the last) incarnation.
    pub incarnation: u32,
    /// Wall clock minus simulated time, in nanoseconds.
    skew: i64,
    pub clients: Vec<Client>,
    pub model: Model,
    pub trace: Trace,
    pub verdict: Verdict,
    pub counters: Counters,
    pub phase: RunPhase,
    /// The safety phase is over: no more planned faults.
    safety_over: bool,
    /// A crash waiting for a sync to be in flight.
    pending_crash: Option<PendingCrash>,
    next_crash_token: u64,
    /// Disk-full windows open now.
    disk_full: u32,
    /// Sync failures and misdirected reads armed so far.
    sync_errors_armed: u64,
    misdirects_armed: u64,
    /// Segment files a bit flip hit (each at most once).
    flipped_files: BTreeSet<String>,
    /// Disk fault log entries already reported.
    disk_faults_seen: usize,
    liveness_started: SimTime,
    /// The simulation itself went wrong (not a finding about the server).
    pub error: Option<String>,
}

fn peer(client: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], 40_000 + client as u16))
}

impl World {
    pub fn new(params: JsParams, verbose: bool) -> World {
        let seed = Seed(params.seed);
        let clients = (0..=params.clients as usize)
            .map(|index| Client::new(index, index == params.clients as usize))
            .collect();
        let model = Model::new(&params.streams);
        World {
            now: 0,
            order: 0,
            queue: BTreeMap::new(),
            rng: Rngs {
                workload: seed.stream("js.workload"),
                network: seed.stream("js.network"),
                disk: seed.stream("js.disk"),
                faults: seed.stream("js.faults"),
            },
            disk: Arc::new(MemDisk::new()),
            server: None,
            incarnation: 0,
            skew: 0,
            clients,
            model,
            trace: Trace::new(verbose),
            verdict: Verdict::default(),
            counters: Counters::default(),
            phase: RunPhase::Safety,
            safety_over: false,
            pending_crash: None,
            next_crash_token: 0,
            disk_full: 0,
            sync_errors_armed: 0,
            misdirects_armed: 0,
            disk_faults_seen: 0,
            flipped_files: BTreeSet::new(),
            liveness_started: 0,
            error: None,
            params,
        }
    }

    pub fn schedule(&mut self, at: SimTime, event: Event) {
        self.order += 1;
        self.queue.insert((at.max(self.now), self.order), event);
    }

    pub fn note(&mut self, text: &str) {
        self.trace.note(self.now, text);
    }

    /// The time the server sees.
    pub fn server_now(&self) -> Now {
        let wall = Wall::from_unix_nanos(EPOCH_UNIX_NANOS + self.now as i64 + self.skew);
        let mono = self
            .server
            .as_ref()
            .map_or(0, |s| s.mono_base + (self.now - s.booted_at));
        Now::new(Mono::from_nanos(mono), wall)
    }

    /// A link delay.
    pub fn latency(&mut self) -> SimTime {
        let (min, max) = (self.params.latency_min, self.params.latency_max);
        self.rng.network.random_range(min..=max)
    }

    /// Runs the whole seed: boot, safety phase, final crash, liveness phase.
    pub fn run(&mut self) {
        self.note(&format!("params {}", self.params));
        self.model.incarnations.push(Incarnation {
            started_at: 0,
            skew_at_open: 0,
            dropped_in_flight: false,
            closed_a_client: false,
        });
        if !self.boot() {
            return;
        }
        for (at, action) in self.params.faults.clone() {
            self.schedule(at, Event::Fault(action));
        }
        self.schedule(self.params.safety, Event::EndSafety);
        for client in 0..self.clients.len() {
            let at = self.rng.workload.random_range(0..MILLIS);
            self.schedule(at, Event::Connect { client });
        }
        self.event_loop();
        self.finish();
    }

    fn event_loop(&mut self) {
        let mut same_instant = 0u32;
        loop {
            if self.error.is_some() {
                return;
            }
            if self.phase == RunPhase::Liveness {
                if self.quiesced() {
                    self.note("liveness: everything answered");
                    return;
                }
                if self.now > self.liveness_started + LIVENESS_MAX {
                    self.note("liveness: out of time");
                    return;
                }
            }
            let next_event = self.queue.first_key_value().map(|((at, _), _)| *at);
            let timer = self.server.as_ref().and_then(|s| s.timer_at);
            let before = self.now;
            match (next_event, timer) {
                (event, Some(at)) if event.is_none_or(|e| at <= e) => {
                    self.now = self.now.max(at);
                    self.fire_timer();
                }
                (Some(_), _) => {
                    let Some(((at, _), event)) = self.queue.pop_first() else {
                        return;
                    };
                    self.now = self.now.max(at);
                    self.handle(event);
                }
                (None, _) => return,
            }
            same_instant = if self.now == before {
                same_instant + 1
            } else {
                0
            };
            if same_instant > SAME_INSTANT_STEPS_MAX {
                invariants::fail(
                    &mut self.verdict,
                    invariants::SERVER_HEALTH,
                    format!("{SAME_INSTANT_STEPS_MAX} inputs at one instant: a timer loop?"),
                );
                return;
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Act { client } => self.act(client),
            Event::Connect { client } => self.connect(client),
            Event::ToServer {
                incarnation,
                conn,
                data,
            } => {
                if incarnation != self.incarnation {
                    return;
                }
                let now = self.server_now();
                if let Some(server) = &mut self.server {
                    server.broker.handle_read(now, conn, data);
                    self.drain();
                }
            }
            Event::ToClient {
                incarnation,
                client,
                conn,
                data,
            } => {
                let dropped = incarnation != self.incarnation || self.server.is_none();
                let lost =
                    dropped && self.model.incarnations[incarnation as usize].dropped_in_flight;
                if !lost {
                    self.client_receive(client, conn, &data);
                }
            }
            Event::Closed {
                incarnation,
                client,
                conn,
            } => self.client_closed(client, incarnation, conn),
            Event::SyncDone { incarnation, id } => self.sync_done(incarnation, id),
            Event::Fault(action) => self.fault(action),
            Event::DeferredCrash { token } => self.deferred_crash(token),
            Event::DiskFullEnds => {
                if self.disk_full == 0 {
                    return; // healed already
                }
                self.disk_full -= 1;
                if self.disk_full == 0 {
                    self.disk_full_ends();
                }
            }
            Event::Restart => {
                self.boot();
            }
            Event::EndSafety => self.end_safety(),
        }
    }

    // --- the server -------------------------------------------------------------------------

    /// Starts a new incarnation on the disk as it is; `false` if JetStream cannot open.
    fn boot(&mut self) -> bool {
        if self.server.is_some() {
            return true;
        }
        let booted_at = self.now;
        let mono_base = self.rng.faults.random_range(0..1000) * SECONDS;
        let seed = Seed(self.params.seed ^ u64::from(self.incarnation).wrapping_mul(0x9E37_79B9));
        let config = Config {
            server_name: "sim".to_string(),
            ..Config::default()
        };
        let wall = Wall::from_unix_nanos(EPOCH_UNIX_NANOS + self.now as i64 + self.skew);
        let boot_now = Now::new(Mono::from_nanos(mono_base), wall);
        self.server = Some(Server {
            broker: Broker::new(config, seed, boot_now),
            booted_at,
            mono_base,
            conns: BTreeMap::new(),
            syncs: BTreeMap::new(),
            next_sync: 0,
            timer_at: None,
            stuck_fires: 0,
            backoff_until: None,
        });
        let now = self.server_now();
        let js_config = JetStreamConfig {
            segment_bytes_max: self.params.segment_bytes_max,
            ..JetStreamConfig::default()
        };
        let disk: Arc<dyn Disk> = self.disk.clone();
        match JetStream::open(disk, js_config, "sim", now) {
            Ok((js, report)) => {
                for line in &report.lines {
                    self.note(&format!("open: {line}"));
                    self.check_loaded(line);
                }
                if let Some(server) = &mut self.server {
                    server.broker.enable_jetstream(js);
                }
                self.drain();
                self.note(&format!(
                    "server up: incarnation {} mono {}s",
                    self.incarnation,
                    mono_base / SECONDS
                ));
                if self.incarnation > 0 {
                    let ended = self.incarnation - 1;
                    sequences::check_incarnation_gaps(&self.model, &mut self.verdict, ended);
                    self.after_restart();
                }
                true
            }
            Err(error) => {
                self.error = Some(format!("JetStream::open failed: {error}"));
                false
            }
        }
    }

    /// A stream whose create was acknowledged (and that no DELETE was sent for) must load at
    /// open. One whose create failed or got no answer may be left half made: the open report
    /// may then name it "not loaded" (noted in the trace only).
    fn check_loaded(&mut self, line: &str) {
        if !line.contains("not loaded") {
            return;
        }
        let acknowledged = self.model.streams.iter().any(|stream| {
            line.contains(&format!("stream '{}'", stream.plan.name))
                && matches!(stream.phase, Phase::Live | Phase::Draining)
        });
        if acknowledged {
            invariants::fail(
                &mut self.verdict,
                invariants::SERVER_HEALTH,
                format!("incarnation {}: {line}", self.incarnation),
            );
        }
    }

    /// Drains the broker's outputs, then re-arms its timer.
    pub fn drain(&mut self) {
        loop {
            let Some(server) = &mut self.server else {
                return;
            };
            let Some(output) = server.broker.poll_output() else {
                break;
            };
            self.output(output);
        }
        let now = self.now;
        if let Some(server) = &mut self.server {
            let backoff = server.backoff_until.filter(|until| *until > now);
            server.timer_at = server.broker.poll_timeout().map(|mono| {
                let since_boot = mono.as_nanos().saturating_sub(server.mono_base);
                let at = (server.booted_at + since_boot).max(now);
                match backoff {
                    Some(until) if at <= now => until,
                    _ => at,
                }
            });
        }
    }

    fn output(&mut self, output: Output) {
        match output {
            Output::Transmit { conn, chunks } => {
                let bytes: usize = chunks.iter().map(Bytes::len).sum();
                let mut data = Vec::with_capacity(bytes);
                chunks
                    .iter()
                    .for_each(|chunk| data.extend_from_slice(chunk));
                self.transmit_to_client(conn, Bytes::from(data));
                let now = self.server_now();
                if let Some(server) = &mut self.server {
                    server.broker.handle_written(now, conn, bytes);
                }
            }
            Output::Close { conn } | Output::Abort { conn } => {
                self.note(&format!("server closes conn {}", conn.0));
                self.server_closed(conn);
            }
            Output::Sync(job) => {
                let delay = self
                    .rng
                    .disk
                    .random_range(self.params.sync_latency_min..=self.params.sync_latency_max);
                let Some(server) = &mut self.server else {
                    return;
                };
                server.next_sync += 1;
                let id = server.next_sync;
                let text = format!("sync #{id} requested: {:?}", job.files());
                server.syncs.insert(id, job);
                self.note(&text);
                self.counters.syncs += 1;
                let incarnation = self.incarnation;
                self.schedule(self.now + delay, Event::SyncDone { incarnation, id });
                if let Some(token) = self.pending_crash.as_ref().map(|p| p.token) {
                    // A crash waits for this moment: it lands while this sync runs.
                    let at = self.now + self.sync_window();
                    self.schedule(at, Event::DeferredCrash { token });
                }
            }
            other => {
                self.note(&format!("unexpected output {other:?}"));
                invariants::fail(
                    &mut self.verdict,
                    invariants::SERVER_HEALTH,
                    format!("unexpected output {other:?}"),
                );
            }
        }
    }

    /// Runs a sync when it finishes (so writes made meanwhile are synced too, as a real fsync
    /// of the file would), and hands the result back.
    fn sync_done(&mut self, incarnation: u32, id: u64) {
        if incarnation != self.incarnation {
            return;
        }
        let Some(job) = self.server.as_mut().and_then(|s| s.syncs.remove(&id)) else {
            return;
        };
        let done = job.run();
        let text = format!("sync #{id} done: {done:?}");
        self.note(&text);
        let now = self.server_now();
        if let Some(server) = &mut self.server {
            server.broker.handle_synced(now, done);
        }
        self.drain();
    }

    /// Fires the broker's timer.
    ///
    /// WORKAROUND for a core issue the simulation found: when a stream with max_age cannot
    /// write (the disk is full, or its store failed after a sync error), expiry fails, and
    /// `poll_timeout` keeps returning the same deadline in the past, so a host that re-arms
    /// its timer from it spins. Here, after a few firings in a row that leave the deadline
    /// due, the host waits [`STUCK_TIMER_BACKOFF`] (counted in `Counters::stuck_timer`).
    fn fire_timer(&mut self) {
        self.note("timer fires");
        let now = self.server_now();
        if let Some(server) = &mut self.server {
            server.timer_at = None;
            server.broker.handle_timeout(now);
        }
        self.drain();
        let Some(server) = &mut self.server else {
            return;
        };
        if server.timer_at != Some(self.now) {
            server.stuck_fires = 0;
            return;
        }
        server.stuck_fires += 1;
        if server.stuck_fires >= STUCK_TIMER_FIRES_MAX {
            server.stuck_fires = 0;
            let until = self.now + STUCK_TIMER_BACKOFF;
            server.backoff_until = Some(until);
            server.timer_at = Some(until);
            self.counters.stuck_timer += 1;
            self.note(
                "WORKAROUND: the broker's deadline stays due after handle_timeout; backing off",
            );
        }
    }

    /// Checks made once the run is over.
    fn finish(&mut self) {
        if self.server.is_some() {
            sequences::check_incarnation_gaps(&self.model, &mut self.verdict, self.incarnation);
        }
        invariants::liveness::check_end(self);
    }

    // --- the network ------------------------------------------------------------------------

    fn transmit_to_client(&mut self, conn: ConnId, data: Bytes) {
        let Some(&client) = self.server.as_ref().and_then(|s| s.conns.get(&conn)) else {
            return;
        };
        let at = (self.now + self.latency()).max(self.clients[client].down_tail);
        self.clients[client].down_tail = at;
        let incarnation = self.incarnation;
        self.schedule(
            at,
            Event::ToClient {
                incarnation,
                client,
                conn,
                data,
            },
        );
    }

    /// Bytes from a client to the server, in order on its link.
    pub fn send_to_server(&mut self, client: usize, data: Vec<u8>) {
        let Some(conn) = self.clients[client].conn.as_ref().map(|c| c.id) else {
            return;
        };
        let at = (self.now + self.latency()).max(self.clients[client].up_tail);
        self.clients[client].up_tail = at;
        let incarnation = self.incarnation;
        self.schedule(
            at,
            Event::ToServer {
                incarnation,
                conn,
                data: Bytes::from(data),
            },
        );
    }

    /// The server closed `conn` by itself (not a crash): a finding in this workload.
    fn server_closed(&mut self, conn: ConnId) {
        let Some(client) = self.server.as_mut().and_then(|s| s.conns.remove(&conn)) else {
            return;
        };
        self.model.incarnations[self.incarnation as usize].closed_a_client = true;
        invariants::fail(
            &mut self.verdict,
            invariants::SERVER_HEALTH,
            format!("the server closed client {client}'s connection {}", conn.0),
        );
        let at = self.clients[client].down_tail.max(self.now);
        let incarnation = self.incarnation;
        self.schedule(
            at,
            Event::Closed {
                incarnation,
                client,
                conn,
            },
        );
    }

    /// A client connects now (if the server is up; otherwise the restart reconnects it).
    fn connect(&mut self, client: usize) {
        let now = self.server_now();
        let Some(server) = &mut self.server else {
            self.clients[client].connecting = false;
            return;
        };
        let conn = server.broker.handle_accept(now, peer(client));
        server.conns.insert(conn, client);
        self.clients[client].connected(conn, self.incarnation);
        self.note(&format!("client {client} connects: conn {}", conn.0));
        self.drain();
    }

    /// After a restart: every client reconnects, and the verifier checks the acked messages.
    fn after_restart(&mut self) {
        self.model.incarnations.push(Incarnation {
            started_at: self.now,
            skew_at_open: self.skew,
            dropped_in_flight: false,
            closed_a_client: false,
        });
        for client in 0..self.clients.len() {
            if self.clients[client].conn.is_none() && !self.clients[client].connecting {
                self.clients[client].connecting = true;
                let at = self.now + self.rng.workload.random_range(0..5 * MILLIS);
                self.schedule(at, Event::Connect { client });
            }
        }
        let everything = self.phase == RunPhase::Liveness;
        self.plan_verification(everything);
    }
}
