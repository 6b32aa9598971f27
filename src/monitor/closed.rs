//! Why connections close, how many closed for each reason, and the last
//! [`CLOSED_CONNECTIONS_MAX`] closed connections as they were when they closed (`/connz?state=closed`).

use core::net::SocketAddr;
use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use crate::protocol::ErrText;
use crate::routing::SubId;
use crate::session::{Session, Subscription};
use crate::time::Wall;

/// Closed connections remembered for `/connz?state=closed` (nats-server's `MaxClosedClients`).
pub const CLOSED_CONNECTIONS_MAX: usize = 10_000;

/// Why a connection closed: the nats-server `ClosedState`s this broker can reach, named and
/// worded as nats-server shows them in `/connz` `reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CloseReason {
    /// The client went away (EOF, or the host reported the socket gone).
    ClientClosed,
    ReadError,
    WriteError,
    /// CONNECT (with valid credentials) did not arrive within `auth_timeout`.
    AuthenticationTimeout,
    /// Bad credentials: nats-server's `AuthenticationViolation`, shown as "Authentication Failure".
    AuthenticationViolation,
    /// Over the pending-bytes budget.
    SlowConsumerPendingBytes,
    /// Bytes in flight made no progress within the write deadline.
    SlowConsumerWriteDeadline,
    /// PINGs went unanswered.
    StaleConnection,
    /// Something the parser or CONNECT handling refused.
    ProtocolViolation,
    /// The client sent `-ERR` (nats-server's `processErr`).
    ParseError,
    BadClientProtocolVersion,
    NoRespondersRequiresHeaders,
    MaxConnectionsExceeded,
    MaxPayloadExceeded,
    MaxControlLineExceeded,
    /// A plain-text client where TLS is required.
    TlsHandshakeError,
    /// Closed by the server itself: lame duck mode, shutdown.
    ServerShutdown,
}

impl CloseReason {
    pub const COUNT: usize = 17;
    pub const ALL: [CloseReason; CloseReason::COUNT] = [
        CloseReason::ClientClosed,
        CloseReason::ReadError,
        CloseReason::WriteError,
        CloseReason::AuthenticationTimeout,
        CloseReason::AuthenticationViolation,
        CloseReason::SlowConsumerPendingBytes,
        CloseReason::SlowConsumerWriteDeadline,
        CloseReason::StaleConnection,
        CloseReason::ProtocolViolation,
        CloseReason::ParseError,
        CloseReason::BadClientProtocolVersion,
        CloseReason::NoRespondersRequiresHeaders,
        CloseReason::MaxConnectionsExceeded,
        CloseReason::MaxPayloadExceeded,
        CloseReason::MaxControlLineExceeded,
        CloseReason::TlsHandshakeError,
        CloseReason::ServerShutdown,
    ];

    /// nats-server's wording (`ClosedState.String()`), as `/connz` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "Client Closed",
            CloseReason::ReadError => "Read Error",
            CloseReason::WriteError => "Write Error",
            CloseReason::AuthenticationTimeout => "Authentication Timeout",
            CloseReason::AuthenticationViolation => "Authentication Failure",
            CloseReason::SlowConsumerPendingBytes => "Slow Consumer (Pending Bytes)",
            CloseReason::SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
            CloseReason::StaleConnection => "Stale Connection",
            CloseReason::ProtocolViolation => "Protocol Violation",
            CloseReason::ParseError => "Parse Error",
            CloseReason::BadClientProtocolVersion => "Bad Client Protocol Version",
            CloseReason::NoRespondersRequiresHeaders => "No Responders Requires Headers",
            CloseReason::MaxConnectionsExceeded => "Maximum Connections Exceeded",
            CloseReason::MaxPayloadExceeded => "Maximum Message Payload Exceeded",
            CloseReason::MaxControlLineExceeded => "Maximum Control Line Exceeded",
            CloseReason::TlsHandshakeError => "TLS Handshake Failure",
            CloseReason::ServerShutdown => "Server Shutdown",
        }
    }

    /// A snake_case name for metric labels (`reason="slow_consumer_pending_bytes"`), which
    /// PromQL matchers handle better than text with spaces and parentheses.
    pub fn label(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "client_closed",
            CloseReason::ReadError => "read_error",
            CloseReason::WriteError => "write_error",
            CloseReason::AuthenticationTimeout => "authentication_timeout",
            CloseReason::AuthenticationViolation => "authentication_failure",
            CloseReason::SlowConsumerPendingBytes => "slow_consumer_pending_bytes",
            CloseReason::SlowConsumerWriteDeadline => "slow_consumer_write_deadline",
            CloseReason::StaleConnection => "stale_connection",
            CloseReason::ProtocolViolation => "protocol_violation",
            CloseReason::ParseError => "parse_error",
            CloseReason::BadClientProtocolVersion => "bad_client_protocol_version",
            CloseReason::NoRespondersRequiresHeaders => "no_responders_requires_headers",
            CloseReason::MaxConnectionsExceeded => "max_connections_exceeded",
            CloseReason::MaxPayloadExceeded => "max_payload_exceeded",
            CloseReason::MaxControlLineExceeded => "max_control_line_exceeded",
            CloseReason::TlsHandshakeError => "tls_handshake_failure",
            CloseReason::ServerShutdown => "server_shutdown",
        }
    }

    /// The reason nats-server records when it closes after sending `err`.
    pub fn for_err(err: &ErrText) -> CloseReason {
        match err {
            ErrText::MaxControlLineExceeded => CloseReason::MaxControlLineExceeded,
            ErrText::MaxPayloadViolation => CloseReason::MaxPayloadExceeded,
            ErrText::StaleConnection => CloseReason::StaleConnection,
            ErrText::AuthorizationViolation => CloseReason::AuthenticationViolation,
            ErrText::AuthenticationTimeout => CloseReason::AuthenticationTimeout,
            ErrText::MaxConnectionsExceeded => CloseReason::MaxConnectionsExceeded,
            ErrText::SecureConnectionTlsRequired => CloseReason::TlsHandshakeError,
            ErrText::InvalidClientProtocol => CloseReason::BadClientProtocolVersion,
            ErrText::NoRespondersRequiresHeaders => CloseReason::NoRespondersRequiresHeaders,
            // The parser's own refusals; the rest never close a connection.
            ErrText::UnknownProtocolOperation
            | ErrText::InvalidSubject
            | ErrText::InvalidPublishSubject
            | ErrText::MaxSubscriptionsExceeded
            | ErrText::PermissionsPublish(_)
            | ErrText::PermissionsSubscribe { .. }
            | ErrText::PermissionsPublishReply(_) => CloseReason::ProtocolViolation,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Connections closed so far, per reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloseCounts([u64; CloseReason::COUNT]);

impl CloseCounts {
    pub fn get(&self, reason: CloseReason) -> u64 {
        self.0[reason.index()]
    }

    /// Every reason with its count, zeros included, in [`CloseReason::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (CloseReason, u64)> + '_ {
        CloseReason::ALL
            .iter()
            .map(|&reason| (reason, self.get(reason)))
    }

    pub(crate) fn count(&mut self, reason: CloseReason) {
        self.0[reason.index()] += 1;
    }
}

/// One subscription of a closed connection, as it was at the close.
#[derive(Clone, Debug)]
pub(crate) struct ClosedSub {
    pub(crate) subject: Bytes,
    pub(crate) queue: Option<Bytes>,
    pub(crate) sid: Bytes,
    pub(crate) msgs: u64,
    pub(crate) max: u64,
}

/// A closed connection as `/connz` shows it: its figures frozen at the close.
#[derive(Clone, Debug)]
pub(crate) struct ClosedConn {
    pub(crate) cid: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) start: Wall,
    pub(crate) last_activity: Wall,
    pub(crate) stop: Wall,
    pub(crate) reason: CloseReason,
    pub(crate) rtt: Duration,
    pub(crate) pending_bytes: usize,
    pub(crate) in_msgs: u64,
    pub(crate) out_msgs: u64,
    pub(crate) in_bytes: u64,
    pub(crate) out_bytes: u64,
    pub(crate) subs: Vec<ClosedSub>,
    pub(crate) name: Option<String>,
    pub(crate) lang: Option<String>,
    pub(crate) version: Option<String>,
    /// The user it authenticated as (`authorized_user`, shown with `auth=1`).
    pub(crate) user: Option<String>,
}

impl ClosedConn {
    /// Freezes `session`, whose subscriptions `subs` were just removed, closed at `stop`.
    pub(crate) fn new(
        session: &Session,
        mut subs: Vec<(SubId, Subscription)>,
        reason: CloseReason,
        stop: Wall,
        user: Option<String>,
    ) -> ClosedConn {
        // Creation order, as the open connection's list shows them.
        subs.sort_unstable_by_key(|&(id, _)| id);
        ClosedConn {
            cid: session.id.0,
            peer: session.peer,
            start: session.start,
            last_activity: session.last_activity,
            stop,
            reason,
            rtt: session.rtt,
            pending_bytes: session.outbound.pending_bytes(),
            in_msgs: session.in_msgs,
            out_msgs: session.out_msgs,
            in_bytes: session.in_bytes,
            out_bytes: session.out_bytes,
            subs: subs
                .into_iter()
                .map(|(_, sub)| ClosedSub {
                    subject: sub.subject,
                    queue: sub.queue,
                    sid: sub.sid,
                    msgs: sub.delivered,
                    max: sub.deliveries_max,
                })
                .collect(),
            name: session.options.name.clone(),
            lang: session.options.lang.clone(),
            version: session.options.version.clone(),
            user,
        }
    }
}

/// The most recently closed connections, oldest first, at most `capacity` of them.
#[derive(Debug)]
pub(crate) struct ClosedRing {
    entries: VecDeque<ClosedConn>,
    capacity: usize,
}

impl Default for ClosedRing {
    fn default() -> ClosedRing {
        ClosedRing::with_capacity(CLOSED_CONNECTIONS_MAX)
    }
}

impl ClosedRing {
    pub(crate) fn with_capacity(capacity: usize) -> ClosedRing {
        ClosedRing {
            entries: VecDeque::new(),
            capacity,
        }
    }

    /// Remembers `conn`, forgetting the oldest when full.
    pub(crate) fn push(&mut self, conn: ClosedConn) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(conn);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &ClosedConn> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_listed_once_each_in_index_order() {
        for (at, reason) in CloseReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), at, "{reason:?}");
        }
        let mut labels: Vec<_> = CloseReason::ALL.iter().map(|r| r.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), CloseReason::COUNT);
    }

    #[test]
    fn errors_map_to_nats_server_states() {
        assert_eq!(
            CloseReason::for_err(&ErrText::MaxPayloadViolation).as_str(),
            "Maximum Message Payload Exceeded"
        );
        assert_eq!(
            CloseReason::for_err(&ErrText::AuthorizationViolation).as_str(),
            "Authentication Failure"
        );
        assert_eq!(
            CloseReason::for_err(&ErrText::UnknownProtocolOperation).as_str(),
            "Protocol Violation"
        );
    }

    fn closed(cid: u64) -> ClosedConn {
        ClosedConn {
            cid,
            peer: SocketAddr::from(([127, 0, 0, 1], 4000)),
            start: Wall::default(),
            last_activity: Wall::default(),
            stop: Wall::default(),
            reason: CloseReason::ClientClosed,
            rtt: Duration::ZERO,
            pending_bytes: 0,
            in_msgs: 0,
            out_msgs: 0,
            in_bytes: 0,
            out_bytes: 0,
            subs: Vec::new(),
            name: None,
            lang: None,
            version: None,
            user: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_up_to_its_capacity() {
        let mut ring = ClosedRing::with_capacity(3);
        for cid in 1..=5 {
            ring.push(closed(cid));
        }
        assert_eq!(ring.len(), 3);
        let cids: Vec<u64> = ring.iter().map(|c| c.cid).collect();
        assert_eq!(cids, [3, 4, 5]);
        let mut none = ClosedRing::with_capacity(0);
        none.push(closed(1));
        assert_eq!(none.len(), 0);
    }

    #[test]
    fn counts_start_at_zero_for_every_reason() {
        let mut counts = CloseCounts::default();
        counts.count(CloseReason::StaleConnection);
        counts.count(CloseReason::StaleConnection);
        assert_eq!(counts.get(CloseReason::StaleConnection), 2);
        assert_eq!(counts.iter().count(), CloseReason::COUNT);
        assert_eq!(counts.iter().map(|(_, n)| n).sum::<u64>(), 2);
    }
}
