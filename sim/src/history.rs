//! The run's history: one ordered log of everything clients saw and did, every fault the
//! nemesis applied, and what the servers reported.
//!
//! A whole run executes on one thread (turmoil steps each host in turn), so appending to one log
//! in execution order gives a total order that respects causality: if a client's PONG came after
//! the server processed its SUB, the `Pong` entry is after everything that caused it. Checkers
//! therefore compare entry *indexes*, never times, to reason about "happened before"; times
//! (simulated, coarse at tick granularity) are kept for the reader.
//!
//! The trace hash is FNV-1a over every entry in order, so two runs of one seed are identical
//! exactly when their hashes agree.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A message's identity, carried in its payload: who published it and its per-client sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgId {
    pub client: u32,
    pub seq: u64,
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}#{}", self.client, self.seq)
    }
}

/// What a delivered message's payload (and headers) turned out to be.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Body {
    /// A workload message; `intact` is false when its padding did not check out. A reply
    /// names the request it answers in `re`.
    Message {
        msg: MsgId,
        re: Option<MsgId>,
        intact: bool,
    },
    /// The server's `NATS/1.0 503` no-responders status for a request on `subject`.
    NoResponders { subject: String },
    /// Anything else (a checker failure in itself).
    Unknown(String),
}

/// Why a client connection ended, as the client saw it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CloseWhy {
    /// The server closed it (EOF or reset) or the socket failed.
    Lost(String),
    /// A flush (PING/PONG) did not come back in time: the client gave the connection up.
    FlushTimeout,
    /// The workload or the nemesis chose to drop it.
    ByClient,
}

/// Which kind of fault a `Fault` entry applies or heals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    Partition,
    Hold,
    Latency,
    Loss,
    Disconnect,
    Bounce,
    ClockJump,
    ClockDrift,
    SlowReader,
}

impl FaultKind {
    pub const ALL: [FaultKind; 9] = [
        FaultKind::Partition,
        FaultKind::Hold,
        FaultKind::Latency,
        FaultKind::Loss,
        FaultKind::Disconnect,
        FaultKind::Bounce,
        FaultKind::ClockJump,
        FaultKind::ClockDrift,
        FaultKind::SlowReader,
    ];

    /// Whether the fault acts on the network between a client and a server (and so may stall
    /// or break that client's connections there).
    pub fn is_network(self) -> bool {
        matches!(
            self,
            FaultKind::Partition | FaultKind::Hold | FaultKind::Latency | FaultKind::Loss
        )
    }
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    // --- servers ---
    /// Server `server` started (again): a fresh broker, no connections, no subscriptions.
    ServerStarted {
        server: u32,
        incarnation: u32,
    },
    /// The nemesis crashed server `server` (every connection to it is gone).
    ServerCrashed {
        server: u32,
    },
    /// A server logged a slow consumer cut-off for the client connection named `conn`.
    SlowConsumerCut {
        conn: u32,
    },
    /// Something the servers' observers found wrong (pending over budget, clock backwards).
    ServerViolation {
        server: u32,
        what: String,
    },

    // --- clients ---
    /// Client connection `conn` is up (INFO read, CONNECT sent) on `server`.
    Connected {
        client: u32,
        conn: u32,
        server: u32,
    },
    ConnectFailed {
        client: u32,
        server: u32,
        why: String,
    },
    Closed {
        conn: u32,
        why: CloseWhy,
    },
    /// SUB written (queued to the socket) on `conn`.
    Sub {
        conn: u32,
        sid: u32,
        subject: String,
        queue: Option<String>,
    },
    /// UNSUB written, with its auto-unsubscribe `max` if any.
    Unsub {
        conn: u32,
        sid: u32,
        max: Option<u64>,
    },
    /// PUB written.
    Pub {
        conn: u32,
        msg: MsgId,
        subject: String,
        reply: Option<String>,
        len: usize,
    },
    /// The client's `n`th PING on `conn` written (a flush begins).
    Ping {
        conn: u32,
        n: u64,
    },
    /// The PONG answering the client's `n`th PING arrived: the server had processed everything
    /// the client wrote before that PING, and everything queued for the client before it is here.
    Pong {
        conn: u32,
        n: u64,
    },
    /// A MSG or HMSG arrived for subscription `sid`.
    Msg {
        conn: u32,
        sid: u32,
        subject: String,
        reply: Option<String>,
        body: Body,
    },
    /// An `-ERR` arrived.
    Err {
        conn: u32,
        text: String,
    },
    /// The client stopped reading `conn` (a slow reader) ...
    SlowStart {
        conn: u32,
    },
    /// ... and started again.
    SlowEnd {
        conn: u32,
    },
    /// The client's part of the liveness phase is set up (subscribed and confirmed).
    LiveReady {
        client: u32,
        conn: u32,
    },
    /// The client finished the liveness phase; `problem` says what went wrong, if anything.
    LiveDone {
        client: u32,
        problem: Option<String>,
    },

    // --- the nemesis and the runner ---
    /// A fault begins (`on`) or is healed, between `client` (if any) and `server` (if any).
    Fault {
        kind: FaultKind,
        on: bool,
        client: Option<u32>,
        server: Option<u32>,
        detail: String,
    },
    /// Every fault is healed: the liveness phase begins.
    Healed,
    /// A panic anywhere in the run (server, client or simulator).
    Panic {
        message: String,
    },
}

/// One entry of the history.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Simulated time since the run began (tick granularity across hosts).
    pub at: Duration,
    pub event: Event,
}

/// The log itself.
#[derive(Debug, Default)]
pub struct History {
    pub entries: Vec<Entry>,
    /// Print every entry as it is recorded (seed replay).
    verbose: bool,
    /// Simulated time at the runner, for entries recorded outside any host.
    runner_time: Duration,
}

impl History {
    /// FNV-1a over every entry, in order (time, then event).
    pub fn trace_hash(&self) -> u64 {
        let mut hasher = Fnv64::default();
        for entry in &self.entries {
            entry.at.hash(&mut hasher);
            entry.event.hash(&mut hasher);
        }
        hasher.finish()
    }
}

/// A handle to the shared history; cheap to clone into every host.
#[derive(Clone, Debug, Default)]
pub struct Recorder(Arc<Mutex<History>>);

impl Recorder {
    pub fn new(verbose: bool) -> Recorder {
        Recorder(Arc::new(Mutex::new(History {
            verbose,
            ..History::default()
        })))
    }

    /// Appends `event`; returns its index.
    pub fn record(&self, event: Event) -> usize {
        let mut history = self.lock();
        let at = turmoil::sim_elapsed().unwrap_or(history.runner_time);
        let index = history.entries.len();
        if history.verbose {
            println!("[{:>9.3}s] #{index:<6} {event:?}", at.as_secs_f64());
        }
        history.entries.push(Entry { at, event });
        index
    }

    /// Sets the time stamped on entries recorded by the runner (outside any host).
    pub fn set_runner_time(&self, at: Duration) {
        self.lock().runner_time = at;
    }

    pub fn lock(&self) -> MutexGuard<'_, History> {
        // A panic while recording is reported by the run itself; the log stays usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// FNV-1a, 64 bits: fixed and portable, unlike std's hashers.
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Fnv64 {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv64 {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
