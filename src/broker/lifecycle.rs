//! Connection lifecycle: the handshake's end, timers, and every way a connection closes.

use super::*;
use crate::monitor::closed::ClosedConn;

impl Broker {
    /// CONNECT accepted (credentials checked): the client may now publish and subscribe.
    pub(super) fn connected(&mut self, conn: ConnId) {
        self.disarm(conn, TimerKind::AuthTimeout);
        let first = FIRST_PING_INTERVAL.min(self.config.ping_interval);
        let jitter_max = u64::try_from(first.as_nanos() / 5).unwrap_or(u64::MAX);
        let jitter = Duration::from_nanos(self.jitter_rng.random_range(0..=jitter_max));
        self.arm(conn, TimerKind::Ping, self.now.mono + first + jitter);
        if let Some(session) = self.sessions.get_mut(&conn) {
            session.phase = Phase::Connected;
        }
    }

    pub(super) fn auth_violation(&mut self, conn: ConnId) {
        if let Some(session) = self.sessions.get(&conn) {
            tracing::error!("{} - authentication error", session.log_name());
        }
        self.close(conn, Some(ErrText::AuthorizationViolation));
    }

    /// Queues `-ERR '<text>'` for `conn`, and closes it if nats-server would.
    pub(super) fn send_err(&mut self, conn: ConnId, err: ErrText) {
        if err.closes_connection() {
            self.close(conn, Some(err));
            return;
        }
        if let Some(session) = self.sessions.get_mut(&conn) {
            push_err(session, &err);
            self.mark_dirty(conn);
        }
    }

    /// Queues `-ERR` (when nats-server sends one), flushes what is queued, then closes `conn`,
    /// recorded with the reason nats-server gives that error. Without an error it is the
    /// server's own decision (lame duck mode); a client's fault without `-ERR` goes through
    /// [`Broker::close_because`] with its reason.
    pub(super) fn close(&mut self, conn: ConnId, err: Option<ErrText>) {
        let reason = err
            .as_ref()
            .map_or(CloseReason::ServerShutdown, CloseReason::for_err);
        self.close_because(conn, reason, err);
    }

    /// [`Broker::close`] with the reason given.
    pub(super) fn close_because(
        &mut self,
        conn: ConnId,
        reason: CloseReason,
        err: Option<ErrText>,
    ) {
        let Some(mut session) = self.remove_session(conn, reason) else {
            return;
        };
        if let Some(err) = err {
            tracing::debug!("{} - closing: {}", session.log_name(), err.text());
            push_err(&mut session, &err);
        }
        let chunks = session.outbound.take(self.now.mono);
        self.outputs.push_back(Output::Transmit { conn, chunks });
        self.outputs.push_back(Output::Close { conn });
    }

    /// Cuts `conn` off as a slow consumer: counted, logged as nats-server does, no -ERR (the
    /// client is not reading), and closed at once without flushing.
    pub(super) fn slow_consumer(&mut self, conn: ConnId, reason: CloseReason, why: String) {
        let Some(mut session) = self.remove_session(conn, reason) else {
            return;
        };
        self.stats.slow_consumers += 1;
        tracing::warn!("{} - Slow Consumer Detected: {why}", session.log_name());
        session.outbound.discard();
        self.outputs.push_back(Output::Abort { conn });
    }

    /// Forgets `conn`: its subscriptions leave the sublist and its timers are disarmed. The
    /// close is counted under `reason` and the connection remembered as it was, for
    /// `/connz?state=closed`.
    pub(super) fn remove_session(&mut self, conn: ConnId, reason: CloseReason) -> Option<Session> {
        let session = self.sessions.remove(&conn)?;
        for kind in TimerKind::ALL {
            if let Some(at) = session.timers[kind.index()] {
                self.timers.remove(&(at, conn, kind));
            }
        }
        let mut subs = Vec::with_capacity(session.subs.len());
        for &id in session.subs.values() {
            if let Some(sub) = self.forget_sub(id) {
                subs.push((id, sub));
            }
        }
        self.stats.connections -= 1;
        self.stats.closes.count(reason);
        let user = crate::monitor::authorized_user(self, &session).map(str::to_string);
        let closed = ClosedConn::new(&session, subs, reason, self.now.wall, user);
        self.closed.push(closed);
        Some(session)
    }

    /// Removes one subscription from the sublist and the subscription table.
    pub(super) fn forget_sub(&mut self, id: SubId) -> Option<Subscription> {
        let sub = self.subs.remove(&id)?;
        // The sublist holds exactly what the table holds; a mismatch would be a broker bug, and
        // the table entry is gone either way.
        let removed = self.sublist.remove(&sub.subject, sub.queue.as_deref(), id);
        debug_assert!(removed.is_ok(), "sublist and subscription table disagree");
        self.stats.subscriptions -= 1;
        Some(sub)
    }

    /// Called after anything is queued for `conn`: enforces the pending budget (on every
    /// write, as nats-server does, so a client flooding PINGs it never reads the PONGs of is
    /// cut off too), then schedules a Transmit.
    pub(super) fn mark_dirty(&mut self, conn: ConnId) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let pending = session.outbound.pending_bytes() as u64;
        let pending_max = self.config.pending_bytes_max;
        if pending > pending_max {
            let why = format!("MaxPending of {pending_max} exceeded with {pending} bytes pending");
            self.slow_consumer(conn, CloseReason::SlowConsumerPendingBytes, why);
            return;
        }
        if !session.dirty {
            session.dirty = true;
            self.dirty.push_back(conn);
        }
    }

    pub(super) fn arm(&mut self, conn: ConnId, kind: TimerKind, at: Mono) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        if let Some(old) = session.timers[kind.index()].replace(at) {
            self.timers.remove(&(old, conn, kind));
        }
        self.timers.insert((at, conn, kind));
    }

    pub(super) fn disarm(&mut self, conn: ConnId, kind: TimerKind) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        if let Some(old) = session.timers[kind.index()].take() {
            self.timers.remove(&(old, conn, kind));
        }
    }

    /// A timer of `conn` came due (it is already disarmed).
    pub(super) fn fire(&mut self, conn: ConnId, kind: TimerKind) {
        match kind {
            TimerKind::Ping => self.fire_ping(conn),
            TimerKind::AuthTimeout => {
                let Some(session) = self.sessions.get(&conn) else {
                    return;
                };
                if session.phase != Phase::Connected {
                    tracing::error!("{} - Authentication Timeout", session.log_name());
                    self.close(conn, Some(ErrText::AuthenticationTimeout));
                }
            }
            TimerKind::WriteDeadline => self.fire_write_deadline(conn),
        }
    }

    /// server/client.go processPingTimer: PING, or close as stale once one more PING would
    /// exceed `pings_outstanding_max`. A client heard from within the interval is not pinged,
    /// unless its RTT is due to be measured.
    fn fire_ping(&mut self, conn: ConnId) {
        let now = self.now.mono;
        let interval = self.config.ping_interval;
        self.arm(conn, TimerKind::Ping, now + interval);
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let rtt_due = session
            .ping_sent_at
            .is_none_or(|at| now - at > RTT_MEASUREMENT_INTERVAL);
        if !rtt_due && now - session.last_in < interval {
            return;
        }
        if session.pings_outstanding + 1 > self.config.pings_outstanding_max {
            tracing::debug!("{} - Stale Client Connection - Closing", session.log_name());
            self.close(conn, Some(ErrText::StaleConnection));
            return;
        }
        session.pings_outstanding += 1;
        session.ping_sent_at = Some(now);
        session.outbound.push_slice(encode::PING);
        self.mark_dirty(conn);
    }

    /// Bytes in flight must make progress within `write_deadline`, or the client is a slow
    /// consumer. Progress re-arms the deadline lazily here rather than on every write.
    fn fire_write_deadline(&mut self, conn: ConnId) {
        let now = self.now.mono;
        let Some(session) = self.sessions.get(&conn) else {
            return;
        };
        let in_flight = session.outbound.in_flight_bytes();
        let Some(since) = session
            .outbound
            .write_progress_at()
            .filter(|_| in_flight > 0)
        else {
            return; // everything written: no deadline until the next Transmit
        };
        let deadline = since + self.config.write_deadline;
        if deadline <= now {
            let why = format!(
                "WriteDeadline of {:?} exceeded with {in_flight} bytes pending",
                self.config.write_deadline
            );
            self.slow_consumer(conn, CloseReason::SlowConsumerWriteDeadline, why);
        } else {
            self.arm(conn, TimerKind::WriteDeadline, deadline);
        }
    }
}

fn push_err(session: &mut Session, err: &ErrText) {
    let before = session.outbound.buf().len();
    encode::err(session.outbound.buf(), err);
    let n = session.outbound.buf().len() - before;
    session.outbound.commit(n);
}
