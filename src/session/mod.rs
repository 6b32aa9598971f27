//! One client connection's state: handshake (INFO → CONNECT), options from CONNECT, auth
//! progress, its subscriptions by sid, ping/pong bookkeeping, armed timers and the outbound
//! queue with its pending-bytes budget.
//!
//! A `Session` is plain data owned by the [`Broker`](crate::Broker); the broker runs the
//! handlers, because delivering a message touches several sessions at once.

pub(crate) mod auth;
pub(crate) mod outbound;

use bytes::Bytes;
use core::net::SocketAddr;
use rustc_hash::FxHashMap;
use std::time::Duration;

use crate::broker::ConnId;
use crate::protocol::{ConnectOptions, Parser};
use crate::routing::SubId;
use crate::time::{Mono, Now, Wall};
use outbound::Outbound;

/// Where a connection is in its handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// INFO sent; no CONNECT accepted yet.
    AwaitingConnect,
    /// CONNECT received; a bcrypt check is running on the host. Input waits in the parser.
    Authenticating,
    /// CONNECT accepted.
    Connected,
}

/// The timers a session can have armed, one of each at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerKind {
    /// Send a PING, or close as stale after `pings_outstanding_max` unanswered.
    Ping,
    /// CONNECT (with valid credentials) must have arrived by now.
    AuthTimeout,
    /// Bytes in flight must have made progress by now.
    WriteDeadline,
}

impl TimerKind {
    pub(crate) const COUNT: usize = 3;
    pub(crate) const ALL: [TimerKind; TimerKind::COUNT] = [
        TimerKind::Ping,
        TimerKind::AuthTimeout,
        TimerKind::WriteDeadline,
    ];

    pub(crate) fn index(self) -> usize {
        match self {
            TimerKind::Ping => 0,
            TimerKind::AuthTimeout => 1,
            TimerKind::WriteDeadline => 2,
        }
    }
}

/// A subscription as its connection knows it.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) conn: ConnId,
    pub(crate) sid: Bytes,
    pub(crate) subject: Bytes,
    pub(crate) queue: Option<Bytes>,
    /// Auto-unsubscribe after this many deliveries (`UNSUB sid max`); 0 is unlimited.
    pub(crate) deliveries_max: u64,
    pub(crate) delivered: u64,
}

pub(crate) struct Session {
    pub(crate) id: ConnId,
    pub(crate) peer: SocketAddr,
    pub(crate) parser: Parser,
    pub(crate) phase: Phase,
    /// CONNECT options; before CONNECT, nats-server's defaults (verbose and pedantic on: a
    /// telnet session gets `+OK` before it sends CONNECT).
    pub(crate) options: ConnectOptions,
    /// sid → the broker-wide subscription id.
    pub(crate) subs: FxHashMap<Bytes, SubId>,
    pub(crate) outbound: Outbound,
    pub(crate) pings_outstanding: u32,
    /// When the last PING was sent (nats-server's `rttStart`); `None` before the first.
    pub(crate) ping_sent_at: Option<Mono>,
    /// When bytes last arrived from the client: an active client is not pinged.
    pub(crate) last_in: Mono,
    /// The deadline each timer kind is armed at (mirrors the broker's ordered timer set).
    pub(crate) timers: [Option<Mono>; TimerKind::COUNT],
    /// Queued in the broker's dirty list for a Transmit.
    pub(crate) dirty: bool,
    /// A PONG has been sent: from then on the client may be sent an asynchronous INFO
    /// (nats-server's `firstPongSent`).
    pub(crate) first_pong_sent: bool,
    /// Messages and their payload bytes (headers included) from this client and to it, for
    /// `/connz`. Plain adds on the message path.
    pub(crate) in_msgs: u64,
    pub(crate) in_bytes: u64,
    pub(crate) out_msgs: u64,
    pub(crate) out_bytes: u64,
    /// When the connection was accepted (`/connz` `start`; the monotonic one for RTT).
    pub(crate) start: Wall,
    pub(crate) start_mono: Mono,
    /// The last CONNECT, message or subscription change either way (`last_activity`), as
    /// nats-server counts activity.
    pub(crate) last_activity: Wall,
    /// The latest round trip: estimated at CONNECT, measured by each PING/PONG; zero until
    /// then.
    pub(crate) rtt: Duration,
}

impl Session {
    pub(crate) fn new(id: ConnId, peer: SocketAddr, parser: Parser, now: Now) -> Session {
        Session {
            id,
            peer,
            parser,
            phase: Phase::AwaitingConnect,
            options: ConnectOptions::default(),
            subs: FxHashMap::default(),
            outbound: Outbound::default(),
            pings_outstanding: 0,
            ping_sent_at: None,
            last_in: now.mono,
            timers: [None; TimerKind::COUNT],
            dirty: false,
            first_pong_sent: false,
            in_msgs: 0,
            in_bytes: 0,
            out_msgs: 0,
            out_bytes: 0,
            start: now.wall,
            start_mono: now.mono,
            last_activity: now.wall,
            rtt: Duration::ZERO,
        }
    }

    /// How nats-server names a client in its logs: `ip:port - cid:N - "name"`.
    pub(crate) fn log_name(&self) -> String {
        match &self.options.name {
            Some(name) => format!("{} - cid:{} - \"{name}\"", self.peer, self.id.0),
            None => format!("{} - cid:{}", self.peer, self.id.0),
        }
    }
}
