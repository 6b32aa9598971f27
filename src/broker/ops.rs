//! Client operations: what each parsed op does to the broker.

use super::*;
use bytes::Buf;

use crate::protocol::ClientOp;
use crate::routing::{is_valid_literal_subject, is_valid_subject};
use crate::session::auth::{self, AuthCheck};

impl Broker {
    /// Parses and runs every complete op buffered for `conn`, until input runs out, the
    /// connection closes, or a bcrypt check makes it wait. JetStream's replies and syncs for
    /// the whole batch go out once at the end (so one sync covers the batch).
    pub(super) fn process_input(&mut self, conn: ConnId) {
        self.process_ops(conn);
        if std::mem::take(&mut self.jetstream_dirty) {
            self.flush_jetstream();
        }
    }

    fn process_ops(&mut self, conn: ConnId) {
        loop {
            let Some(session) = self.sessions.get_mut(&conn) else {
                return;
            };
            match session.phase {
                Phase::Authenticating => return, // the rest waits in the parser until the check is done
                Phase::Connected => {
                    if !self.pubs_in_place(conn) {
                        return;
                    }
                }
                Phase::AwaitingConnect => {}
            }
            let Some(session) = self.sessions.get_mut(&conn) else {
                return;
            };
            match session.parser.next_op() {
                Ok(None) => return,
                Ok(Some(op)) => {
                    // `-V`: nats-server traces every inbound op as `<<- [OP args]`.
                    tracing::trace!("{} - <<- {op:?}", session.log_name());
                    self.handle_op(conn, op)
                }
                Err(error) => {
                    tracing::debug!("{} - protocol violation: {error}", session.log_name());
                    let err = error.err_text();
                    let reason = err
                        .as_ref()
                        .map_or(CloseReason::ProtocolViolation, CloseReason::for_err);
                    self.close_because(conn, reason, err);
                    return;
                }
            }
        }
    }

    /// The hot path: runs the canonical PUBs and HPUBs at the front of a connected client's
    /// input where they lie, in the read chunk the parser lends out, with no `Bytes` made per
    /// field (each would cost two atomic reference-count operations) and no op moved around.
    /// Stops at the first thing that is not one (another verb, an op cut by the chunk's end),
    /// handing the rest back to the parser, whose state machine takes it from there. Returns
    /// false if the connection is gone.
    fn pubs_in_place(&mut self, conn: ConnId) -> bool {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return false;
        };
        let Some(mut chunk) = session.parser.lend_front() else {
            return true;
        };
        let mut at = 0;
        loop {
            // Publishing can close this very connection (it may be its own slow consumer);
            // then what it sent after is dropped with it.
            let Some(session) = self.sessions.get_mut(&conn) else {
                return false;
            };
            let input = &chunk[at..];
            let Some(spans) = session.parser.canonical_pub(input) else {
                chunk.advance(at);
                session.parser.give_back(chunk);
                return true;
            };
            let msg = Message {
                subject: &input[spans.subject],
                reply: spans.reply.map(|r| &input[r]),
                headers: spans.headers.map(|h| &input[h]),
                payload: &input[spans.payload],
                headers_owner: &chunk,
                payload_owner: &chunk,
            };
            tracing::trace!("{} - <<- {msg:?}", session.log_name());
            self.op_pub(conn, &msg);
            at += spans.len;
        }
    }

    fn handle_op(&mut self, conn: ConnId, op: ClientOp) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        // server/parser.go: with auth on, the first op must be CONNECT.
        if session.phase == Phase::AwaitingConnect
            && !matches!(op, ClientOp::Connect(_))
            && !matches!(self.config.auth, AuthConfig::None)
        {
            self.auth_violation(conn);
            return;
        }
        match op {
            ClientOp::Connect(json) => self.op_connect(conn, &json),
            ClientOp::Pub {
                subject,
                reply,
                payload,
            } => {
                let msg = Message::from_parts(&subject, reply.as_deref(), None, &payload);
                self.op_pub(conn, &msg);
            }
            // The parser refuses HPUB until CONNECT agreed to headers.
            ClientOp::Hpub {
                subject,
                reply,
                headers,
                payload,
            } => {
                let msg = Message::from_parts(&subject, reply.as_deref(), Some(&headers), &payload);
                self.op_pub(conn, &msg);
            }
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => self.op_sub(conn, subject, queue, sid),
            ClientOp::Unsub { sid, max } => self.op_unsub(conn, &sid, max),
            ClientOp::Ping => {
                session.first_pong_sent = true;
                session.outbound.push_slice(encode::PONG);
                self.mark_dirty(conn);
            }
            ClientOp::Pong => {
                session.pings_outstanding = 0;
                if let Some(sent_at) = session.ping_sent_at {
                    session.rtt = measured_rtt(self.now.mono - sent_at);
                }
            }
            // What a client may send that only a server-side peer would act on: nats-server
            // ignores +OK and an INFO whose JSON decodes, and closes silently on -ERR or on
            // an INFO it cannot decode.
            ClientOp::Ok => {}
            ClientOp::Info(json) => {
                if !info_json_decodes(&json) {
                    self.close_because(conn, CloseReason::ProtocolViolation, None);
                }
            }
            // nats-server's `processErr` records this as a parse error.
            ClientOp::Err(_) => self.close_because(conn, CloseReason::ParseError, None),
        }
    }

    fn op_connect(&mut self, conn: ConnId, json: &[u8]) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        // Like nats-server, a CONNECT decodes over the options already held, so a second
        // CONNECT keeps what it omits. JSON that does not decode closes without -ERR.
        if let Err(error) = session.options.update(json) {
            tracing::debug!("{} - bad CONNECT: {error}", session.log_name());
            self.close_because(conn, CloseReason::ProtocolViolation, None);
            return;
        }
        // server/client.go processConnect: CONNECT is activity, and until a PING measures
        // it, the RTT is estimated as the time since accept.
        session.last_activity = self.now.wall;
        if session.rtt.is_zero() {
            session.rtt = measured_rtt(self.now.mono - session.start_mono);
        }
        if session.phase != Phase::AwaitingConnect {
            self.finish_connect(conn);
            return;
        }
        let options = &session.options;
        // Accounts do not exist here yet: asking for one is refused as nats-server refuses
        // an unknown account.
        if options.account.is_some() || options.new_account {
            self.auth_violation(conn);
            return;
        }
        let check = auth::check(
            &self.config.auth,
            options.user.as_deref(),
            options.pass.as_deref(),
            options.auth_token.as_deref(),
        );
        match check {
            AuthCheck::Allowed => self.finish_connect(conn),
            AuthCheck::Denied => self.auth_violation(conn),
            AuthCheck::Bcrypt { password, hash } => {
                session.phase = Phase::Authenticating;
                self.outputs.push_back(Output::Work(Work {
                    conn,
                    recheck: false,
                    password,
                    hash,
                }));
            }
        }
    }

    fn op_pub(&mut self, conn: ConnId, msg: &Message) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        let size = msg.size();
        session.in_msgs += 1;
        session.in_bytes += size as u64;
        session.last_activity = self.now.wall;
        let (verbose, pedantic, echo) = (
            session.options.verbose,
            session.options.pedantic,
            session.options.echo,
        );
        // nats-server checks publish subjects only in pedantic mode, and even then still
        // delivers the message after the -ERR (server/client.go processPub).
        if pedantic && !is_valid_literal_subject(msg.subject) {
            self.send_err(conn, ErrText::InvalidPublishSubject);
        }
        self.stats.in_msgs += 1;
        self.stats.in_bytes += size as u64;
        // server/client.go processInboundClientMsg acks before delivering.
        if verbose {
            self.ack(conn);
        }
        let stored = self.jetstream_publish(msg);
        let delivered = self.deliver(conn, echo, msg);
        if stored {
            self.jetstream_dirty = true;
        } else if !delivered {
            if let Some(reply) = msg.reply {
                self.no_responders(conn, msg.subject, reply);
            }
        }
    }

    fn op_sub(&mut self, conn: ConnId, subject: Bytes, queue: Option<Bytes>, sid: Bytes) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        session.last_activity = self.now.wall;
        let verbose = session.options.verbose;
        if !is_valid_subject(&subject) || queue.as_deref().is_some_and(|q| q.is_empty()) {
            self.send_err(conn, ErrText::InvalidSubject);
            return;
        }
        // server/client.go processSub: a sid already in use is left as it is.
        if !session.subs.contains_key(&sid) {
            let max = self.config.subscriptions_max as usize;
            if max > 0 && session.subs.len() >= max {
                self.send_err(conn, ErrText::MaxSubscriptionsExceeded);
                return;
            }
            let id = SubId(self.next_sub);
            if self.sublist.insert(&subject, queue.as_deref(), id).is_err() {
                self.send_err(conn, ErrText::InvalidSubject);
                return;
            }
            self.next_sub += 1;
            self.stats.subscriptions += 1;
            // The parsed fields are slices of a read buffer (up to 1 MiB); a subscription lives
            // long, so it keeps its own small copies rather than pinning the whole buffer.
            let sid = Bytes::copy_from_slice(&sid);
            let subject = Bytes::copy_from_slice(&subject);
            let queue = queue.map(|q| Bytes::copy_from_slice(&q));
            self.subs.insert(
                id,
                Subscription {
                    conn,
                    sid: sid.clone(),
                    subject,
                    queue,
                    deliveries_max: 0,
                    delivered: 0,
                },
            );
            if let Some(session) = self.sessions.get_mut(&conn) {
                session.subs.insert(sid, id);
            }
        }
        if verbose {
            self.ack(conn);
        }
    }

    fn op_unsub(&mut self, conn: ConnId, sid: &Bytes, max: Option<u64>) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        session.last_activity = self.now.wall;
        let verbose = session.options.verbose;
        if let Some(&id) = session.subs.get(sid) {
            let delivered = self.subs.get(&id).map_or(0, |s| s.delivered);
            match max {
                // server/client.go processUnsub: keep it until `max` deliveries in all.
                Some(max) if max > delivered => {
                    if let Some(sub) = self.subs.get_mut(&id) {
                        sub.deliveries_max = max;
                    }
                }
                _ => {
                    session.subs.remove(sid);
                    self.forget_sub(id);
                }
            }
        }
        if verbose {
            self.ack(conn);
        }
    }

    /// Credentials accepted (or a repeated CONNECT): check the options, then the client is
    /// connected. nats-server's order: credentials, protocol and no-responders, then +OK.
    pub(super) fn finish_connect(&mut self, conn: ConnId) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        if let Err(err) = session.options.check() {
            self.close(conn, Some(err));
            return;
        }
        session.parser.set_headers_enabled(session.options.headers);
        let verbose = session.options.verbose;
        if session.phase != Phase::Connected {
            self.connected(conn);
        }
        if verbose {
            self.ack(conn);
        }
    }

    /// `+OK` for a verbose client.
    fn ack(&mut self, conn: ConnId) {
        if let Some(session) = self.sessions.get_mut(&conn) {
            session.outbound.push_slice(encode::OK);
            self.mark_dirty(conn);
        }
    }
}

/// An RTT as nats-server stores it (`computeRTT`): never zero once measured, as zero means
/// "not measured yet".
fn measured_rtt(elapsed: Duration) -> Duration {
    elapsed.max(Duration::from_nanos(1))
}

/// nats-server accepts an INFO from a client when its JSON decodes to an object or `null`.
fn info_json_decodes(json: &[u8]) -> bool {
    matches!(
        serde_json::from_slice::<serde_json::Value>(json),
        Ok(serde_json::Value::Object(_) | serde_json::Value::Null)
    )
}
