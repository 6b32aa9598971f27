//! The broker: owns every session and the sublist, and routes messages between them.
//!
//! # Loop contract
//! A host (the tokio runtime or the simulator) drives one `Broker`:
//! 1. call one `handle_*` input with the current [`Now`] (`now.mono` never goes backwards);
//! 2. drain [`Broker::poll_output`] until it returns `None`: bytes to send per connection
//!    (in order), connections to close (after their queued bytes are written), and CPU-heavy
//!    work (bcrypt) to run off the driver's thread;
//! 3. re-arm one timer from [`Broker::poll_timeout`] and call [`Broker::handle_timeout`] when
//!    it fires.
//!
//! Inputs: `handle_accept`, `handle_read`, `handle_written`, `handle_disconnected`,
//! `handle_work_done`, `handle_timeout`.

mod deliver;
#[cfg(feature = "fault-injection")]
pub mod faults;
mod jetstream;
mod lame_duck;
mod lifecycle;
mod ops;
mod reload;
#[cfg(test)]
mod tests;

use bytes::Bytes;
use core::net::SocketAddr;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;
use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use crate::config::{AuthConfig, Config};
use crate::monitor::closed::ClosedRing;
use crate::monitor::{CloseCounts, CloseReason, PendingBytesHistogram};
use crate::protocol::{encode, ErrText, Parser, ParserLimits, ServerInfo};
use crate::routing::{SubId, Sublist};
use crate::seed::Seed;
use crate::session::{Phase, Session, Subscription, TimerKind};
use crate::time::{Mono, Now};
use deliver::Message;
#[cfg(test)]
use deliver::DELIVER_TARGETS_KEPT_MAX;

/// One client connection, named by the broker at accept time. Never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// Something the host must do.
#[derive(Debug)]
pub enum Output {
    /// Write these chunks to the connection, in order (a vectored write). When written, report
    /// the byte count through `handle_written`.
    Transmit { conn: ConnId, chunks: Vec<Bytes> },
    /// Close the connection once every chunk already handed over for it is written. The broker
    /// has forgotten it; later inputs for this id are ignored.
    Close { conn: ConnId },
    /// Close the connection NOW, dropping whatever is still queued or being written for it
    /// (a slow consumer: its socket may never drain). Later inputs for this id are ignored.
    Abort { conn: ConnId },
    /// Run this pure, CPU-heavy job off the driver's thread and hand its result back through
    /// `handle_work_done`.
    Work(Work),
    /// Stop accepting connections (lame duck mode); the ones already accepted carry on.
    StopAccepting,
    /// Lame duck mode is over, every client is gone: shut down as on SIGTERM.
    Exit,
    /// Sync these files (blocking: run it off the driver's thread) and hand the result back
    /// through `handle_synced`. JetStream acknowledgements wait for it.
    Sync(crate::jetstream::SyncJob),
}

/// A pure CPU job (bcrypt verification) the broker wants run where it cannot stall routing.
#[derive(Debug)]
pub struct Work {
    pub(crate) conn: ConnId,
    /// Checking a connected client again after a config reload changed its credentials.
    pub(crate) recheck: bool,
    pub(crate) password: String,
    pub(crate) hash: String,
}

/// The outcome of [`Work::run`].
#[derive(Debug)]
pub struct WorkDone {
    pub(crate) conn: ConnId,
    pub(crate) recheck: bool,
    pub(crate) ok: bool,
}

impl Work {
    /// Runs the job. Pure: safe on any thread.
    pub fn run(self) -> WorkDone {
        let ok = bcrypt::verify(&self.password, &self.hash).unwrap_or(false);
        WorkDone {
            conn: self.conn,
            recheck: self.recheck,
            ok,
        }
    }
}

/// Counters a host or monitor may read (the /varz fields of the same names).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections: u64,
    pub total_connections: u64,
    pub subscriptions: u64,
    pub slow_consumers: u64,
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    /// Connections closed, per reason (`stale_connections` is one of them).
    pub closes: CloseCounts,
    /// A connection's pending bytes each time its bytes are handed to the host (see
    /// [`PendingBytesHistogram`]).
    pub pending_bytes: PendingBytesHistogram,
}

/// The broker state machine. See the module docs for the loop contract.
pub struct Broker {
    config: Config,
    server_id: String,
    /// Picks one member of each queue group per message.
    queue_rng: ChaCha8Rng,
    /// Spreads first PINGs so that connections made together do not ping together.
    jitter_rng: ChaCha8Rng,
    sessions: FxHashMap<ConnId, Session>,
    subs: FxHashMap<SubId, Subscription>,
    sublist: Sublist,
    next_conn: u64,
    next_sub: u64,
    /// Every armed session timer, earliest first (each session mirrors its own entries).
    timers: BTreeSet<(Mono, ConnId, TimerKind)>,
    /// Sessions with queued bytes not yet handed over, in the order they became dirty.
    dirty: VecDeque<ConnId>,
    /// Closes and work, after any Transmit they must follow.
    outputs: VecDeque<Output>,
    /// The latest `now` seen; outputs drained without a `now` are stamped with it.
    now: Now,
    stats: Stats,
    /// Set once lame duck mode begins; never cleared (the server exits at its end).
    lame_duck: Option<lame_duck::LameDuck>,
    /// The most recently closed connections, for `/connz?state=closed`.
    closed: ClosedRing,
    /// Streams and the `$JS.API.`, when JetStream is enabled.
    jetstream: Option<crate::jetstream::JetStream>,
    /// When JetStream next needs `handle_timeout` (cached after every JetStream input).
    jetstream_deadline: Option<Mono>,
    /// JetStream took input in this batch: flush its replies and syncs at the batch's end.
    jetstream_dirty: bool,
    /// The plain subscriptions one message goes to, reused from message to message.
    deliver_targets: Vec<SubId>,
}

/// nats-server's match cache size (server/sublist.go `slCacheMax`).
const SUBLIST_CACHE_ENTRIES_MAX: usize = 1024;
/// After CONNECT, nats-server pings a client after at most 2 s (`firstClientPingInterval`),
/// plus up to 20% jitter, so its RTT is known early; later pings follow `ping_interval`.
const FIRST_PING_INTERVAL: Duration = Duration::from_secs(2);
/// How often the RTT is measured again even for an active client (`DEFAULT_RTT_MEASUREMENT_INTERVAL`).
const RTT_MEASUREMENT_INTERVAL: Duration = Duration::from_secs(3600);

impl Broker {
    pub fn new(config: Config, seed: Seed, now: Now) -> Broker {
        let mut id_rng = seed.stream("ids");
        let server_id = if config.server_id.is_empty() {
            server_id_from(&mut id_rng)
        } else {
            config.server_id.clone()
        };
        Broker {
            config,
            server_id,
            queue_rng: seed.stream("queue"),
            jitter_rng: seed.stream("jitter"),
            sessions: FxHashMap::default(),
            subs: FxHashMap::default(),
            sublist: Sublist::new(SUBLIST_CACHE_ENTRIES_MAX),
            next_conn: 1,
            next_sub: 1,
            timers: BTreeSet::new(),
            dirty: VecDeque::new(),
            outputs: VecDeque::new(),
            now,
            stats: Stats::default(),
            closed: ClosedRing::default(),
            lame_duck: None,
            jetstream: None,
            jetstream_deadline: None,
            jetstream_dirty: false,
            deliver_targets: Vec::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    /// INFO `server_name`: the configured name, else the server id (as nats-server does).
    pub fn server_name(&self) -> &str {
        if self.config.server_name.is_empty() {
            &self.server_id
        } else {
            &self.config.server_name
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// What the monitor reads (`crate::monitor`), borrowed: a snapshot copies only what it shows.
    pub(crate) fn monitor_view(&self) -> crate::monitor::View<'_> {
        crate::monitor::View {
            sessions: &self.sessions,
            subs: &self.subs,
            sublist: &self.sublist,
            closed: &self.closed,
        }
    }

    /// Outbound bytes pending (queued plus in flight) for `conn`, if it is open.
    pub fn pending_bytes(&self, conn: ConnId) -> Option<usize> {
        self.sessions.get(&conn).map(|s| s.outbound.pending_bytes())
    }

    /// A client connected from `peer`. Queues INFO, or refuses the client with
    /// `-ERR 'maximum connections exceeded'` when `connections_max` are open.
    pub fn handle_accept(&mut self, now: Now, peer: SocketAddr) -> ConnId {
        self.now = now;
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let parser = Parser::new(ParserLimits {
            control_line_bytes_max: self.config.control_line_bytes_max as usize,
            payload_bytes_max: self.config.payload_bytes_max as usize,
        });
        let mut session = Session::new(conn, peer, parser, now);
        let info = self.info_for(&session);
        let before = session.outbound.buf().len();
        encode::info(session.outbound.buf(), &info);
        let n = session.outbound.buf().len() - before;
        session.outbound.commit(n);
        let at_limit = self.sessions.len() >= self.config.connections_max as usize;
        self.sessions.insert(conn, session);
        self.stats.connections += 1;
        self.stats.total_connections += 1;
        if self.lame_duck.is_some() {
            // Accepted just before the listener closed: nats-server would not have taken it,
            // so it gets nothing, not even INFO.
            if let Some(session) = self.sessions.get_mut(&conn) {
                session.outbound.discard();
            }
            self.close_because(conn, CloseReason::ServerShutdown, None);
            return conn;
        }
        if at_limit {
            tracing::error!("{peer} - cid:{} - maximum connections exceeded", conn.0);
            self.close(conn, Some(ErrText::MaxConnectionsExceeded));
            return conn;
        }
        tracing::debug!("{peer} - cid:{} - Client connection created", conn.0);
        // Until CONNECT, pings follow the plain interval (server/server.go createClient).
        self.arm(conn, TimerKind::Ping, now.mono + self.config.ping_interval);
        if !matches!(self.config.auth, AuthConfig::None) {
            self.arm(
                conn,
                TimerKind::AuthTimeout,
                now.mono + self.config.auth_timeout,
            );
        }
        self.mark_dirty(conn);
        conn
    }

    /// Bytes read from `conn`, in order.
    pub fn handle_read(&mut self, now: Now, conn: ConnId, data: Bytes) {
        self.now = now;
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        session.last_in = now.mono;
        session.parser.push(data);
        self.process_input(conn);
    }

    /// `bytes` of what was handed over in `Transmit` for `conn` are now written.
    pub fn handle_written(&mut self, now: Now, conn: ConnId, bytes: usize) {
        self.now = now;
        if let Some(session) = self.sessions.get_mut(&conn) {
            session.outbound.written(now.mono, bytes);
        }
    }

    /// The socket closed or failed (EOF, reset, write error).
    pub fn handle_disconnected(&mut self, now: Now, conn: ConnId) {
        self.now = now;
        if let Some(session) = self.remove_session(conn, CloseReason::ClientClosed) {
            tracing::debug!("{} - Client connection closed", session.log_name());
            self.outputs.push_back(Output::Abort { conn });
        }
    }

    /// The result of a [`Work`] job.
    pub fn handle_work_done(&mut self, now: Now, done: WorkDone) {
        self.now = now;
        let conn = done.conn;
        if done.recheck {
            // A connected client whose credentials a reload changed: it stays only if they
            // still hold.
            let connected = self
                .sessions
                .get(&conn)
                .is_some_and(|s| s.phase == Phase::Connected);
            if connected && !done.ok {
                self.auth_violation(conn);
            }
            return;
        }
        match self.sessions.get(&conn) {
            Some(s) if s.phase == Phase::Authenticating => {}
            _ => return, // closed meanwhile (e.g. auth timeout): nothing to do
        }
        if done.ok {
            self.finish_connect(conn);
            self.process_input(conn);
        } else {
            self.auth_violation(conn);
        }
    }

    /// Fires every timer due at `now.mono`.
    pub fn handle_timeout(&mut self, now: Now) {
        self.now = now;
        self.fire_lame_duck(now.mono);
        self.jetstream_timeout(now);
        while let Some(&(at, conn, kind)) = self.timers.first() {
            if at > now.mono {
                break;
            }
            self.timers.pop_first();
            if let Some(session) = self.sessions.get_mut(&conn) {
                session.timers[kind.index()] = None;
                self.fire(conn, kind);
            }
        }
    }

    /// The earliest time `handle_timeout` must be called, if any timer is armed.
    pub fn poll_timeout(&self) -> Option<Mono> {
        let session_timer = self.timers.first().map(|&(at, _, _)| at);
        [
            session_timer,
            self.lame_duck_deadline(),
            self.jetstream_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next thing the host must do, or `None` when there is nothing left.
    pub fn poll_output(&mut self) -> Option<Output> {
        while let Some(conn) = self.dirty.pop_front() {
            let Some(session) = self.sessions.get_mut(&conn) else {
                continue;
            };
            session.dirty = false;
            if session.outbound.queued_bytes() == 0 {
                continue;
            }
            let chunks = session.outbound.take(self.now.mono);
            let pending = session.outbound.pending_bytes() as u64;
            self.stats.pending_bytes.observe(pending);
            if session.timers[TimerKind::WriteDeadline.index()].is_none() {
                let at = self.now.mono + self.config.write_deadline;
                self.arm(conn, TimerKind::WriteDeadline, at);
            }
            return Some(Output::Transmit { conn, chunks });
        }
        self.outputs.pop_front()
    }
}

impl Broker {
    /// The INFO a new client gets: what clients read (server id/name, version, proto 1,
    /// headers, max_payload, auth_required) plus the client's own id and address.
    fn info_for(&self, session: &Session) -> ServerInfo {
        ServerInfo {
            server_id: self.server_id.clone(),
            server_name: self.server_name().to_string(),
            version: self.config.version.clone(),
            host: self.config.host.clone(),
            port: self.config.port,
            headers: true,
            auth_required: !matches!(self.config.auth, AuthConfig::None),
            max_payload: self.config.payload_bytes_max,
            client_id: session.id.0,
            client_ip: session.peer.ip().to_string(),
            ..ServerInfo::default()
        }
    }
}

/// A nats-server-shaped server id: 'N' and 55 base32 characters (an nkey server public key's
/// shape; clients only display it).
fn server_id_from(rng: &mut ChaCha8Rng) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut id = String::with_capacity(56);
    id.push('N');
    for _ in 0..55 {
        id.push(char::from(ALPHABET[rng.random_range(0..32)]));
    }
    id
}
