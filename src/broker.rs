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

use bytes::Bytes;
use core::net::SocketAddr;

use crate::config::Config;
use crate::seed::Seed;
use crate::time::{Mono, Now};

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
    /// Run this pure, CPU-heavy job off the driver's thread and hand its result back through
    /// `handle_work_done`.
    Work(Work),
}

/// A pure CPU job (bcrypt verification) the broker wants run where it cannot stall routing.
#[derive(Debug)]
pub struct Work {
    pub(crate) conn: ConnId,
    pub(crate) password: String,
    pub(crate) hash: String,
}

/// The outcome of [`Work::run`].
#[derive(Debug)]
pub struct WorkDone {
    pub(crate) conn: ConnId,
    pub(crate) ok: bool,
}

impl Work {
    /// Runs the job. Pure: safe on any thread.
    pub fn run(self) -> WorkDone {
        let ok = bcrypt::verify(&self.password, &self.hash).unwrap_or(false);
        WorkDone {
            conn: self.conn,
            ok,
        }
    }
}

/// Counters a host or monitor may read.
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
}

/// The broker state machine. See the module docs for the loop contract.
pub struct Broker {
    config: Config,
    #[allow(dead_code)]
    seed: Seed,
    next_conn: u64,
    stats: Stats,
}

impl Broker {
    pub fn new(config: Config, seed: Seed, _now: Now) -> Broker {
        Broker {
            config,
            seed,
            next_conn: 1,
            stats: Stats::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// A client connected from `peer`. Queues INFO (or refuses it when at `connections_max`).
    pub fn handle_accept(&mut self, _now: Now, _peer: SocketAddr) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        conn
    }

    /// Bytes read from `conn`, in order.
    pub fn handle_read(&mut self, _now: Now, _conn: ConnId, _data: Bytes) {}

    /// `bytes` of what was handed over in `Transmit` for `conn` are now written.
    pub fn handle_written(&mut self, _now: Now, _conn: ConnId, _bytes: usize) {}

    /// The socket closed or failed (EOF, reset, write error).
    pub fn handle_disconnected(&mut self, _now: Now, _conn: ConnId) {}

    /// The result of a [`Work`] job.
    pub fn handle_work_done(&mut self, _now: Now, _done: WorkDone) {}

    /// Fires every timer due at `now.mono`.
    pub fn handle_timeout(&mut self, _now: Now) {}

    /// The earliest time `handle_timeout` must be called, if any timer is armed.
    pub fn poll_timeout(&self) -> Option<Mono> {
        None
    }

    /// The next thing the host must do, or `None` when there is nothing left.
    pub fn poll_output(&mut self) -> Option<Output> {
        None
    }
}
