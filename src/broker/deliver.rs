//! Delivery: one published message to every matching subscription, one member per queue
//! group, with the pending budget checked on every subscriber it touches.

use super::*;
use crate::protocol::headers;
use crate::routing::queue::member_order;
use std::fmt;
use std::sync::Arc;

/// The most subscription ids the reused target list keeps room for between messages.
pub(super) const DELIVER_TARGETS_KEPT_MAX: usize = 4096;

/// A published message as delivery sees it: its fields borrowed from wherever they were read
/// (a client's input, in place; or a JetStream reply), with the `Bytes` that hold the header
/// block and the payload so a large one can be queued by reference instead of copied.
#[derive(Clone, Copy)]
pub(crate) struct Message<'a> {
    pub(crate) subject: &'a [u8],
    pub(crate) reply: Option<&'a [u8]>,
    /// The header block (`NATS/1.0...\r\n\r\n`), for an HPUB with headers.
    pub(crate) headers: Option<&'a [u8]>,
    pub(crate) payload: &'a [u8],
    /// Holds `headers` (a sub-slice of it).
    pub(crate) headers_owner: &'a Bytes,
    /// Holds `payload` (a sub-slice of it).
    pub(crate) payload_owner: &'a Bytes,
}

/// Like `Bytes`' Debug (`b"..."`), which the parser's ops print with, for `-V` traces.
impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |b: &[u8]| format!("b\"{}\"", b.escape_ascii());
        let mut fields = f.debug_struct(if self.headers.is_some() {
            "Hpub"
        } else {
            "Pub"
        });
        fields.field("subject", &format_args!("{}", text(self.subject)));
        if let Some(reply) = self.reply {
            fields.field("reply", &format_args!("{}", text(reply)));
        }
        if let Some(headers) = self.headers {
            fields.field("headers", &format_args!("{}", text(headers)));
        }
        fields
            .field("payload", &format_args!("{}", text(self.payload)))
            .finish()
    }
}

impl<'a> Message<'a> {
    /// A message whose fields are each a whole `Bytes`.
    pub(crate) fn from_parts(
        subject: &'a [u8],
        reply: Option<&'a [u8]>,
        headers: Option<&'a Bytes>,
        payload: &'a Bytes,
    ) -> Message<'a> {
        Message {
            subject,
            reply,
            headers: headers.map(|h| &h[..]),
            payload,
            headers_owner: headers.unwrap_or(payload),
            payload_owner: payload,
        }
    }

    /// Header block plus payload: what nats-server counts as the message's size.
    pub(crate) fn size(&self) -> usize {
        self.payload.len() + self.headers.map_or(0, <[u8]>::len)
    }
}

impl Broker {
    /// Delivers a message from `publisher` (whose CONNECT said `echo`). Returns whether any
    /// subscription received it.
    ///
    /// The plain subscriptions are read out of the match (cached: one hash lookup) into a
    /// reused list before any delivery, since a delivery may change the sublist
    /// (auto-unsubscribe, a slow consumer cut off). Only a match with queue groups is kept
    /// (an `Arc` clone) to choose members after the plain deliveries, as nats-server does.
    pub(super) fn deliver(&mut self, publisher: ConnId, echo: bool, msg: &Message) -> bool {
        let mut targets = std::mem::take(&mut self.deliver_targets);
        targets.clear();
        let subs = &self.subs;
        let with_queues = self.sublist.with_match(msg.subject, |matched| {
            if echo {
                targets.extend_from_slice(&matched.plain);
            } else {
                // Only a no-echo publisher pays for the lookup of who owns each subscription.
                targets.extend(
                    matched
                        .plain
                        .iter()
                        .copied()
                        .filter(|id| subs.get(id).is_none_or(|sub| sub.conn != publisher)),
                );
            }
            (!matched.queues.is_empty()).then(|| Arc::clone(matched))
        });
        let mut delivered = false;
        for &id in &targets {
            delivered |= self.deliver_to(id, msg);
        }
        // Kept for the next message, unless a huge fan-out grew it (then it is let go).
        if targets.capacity() <= DELIVER_TARGETS_KEPT_MAX {
            self.deliver_targets = targets;
        }
        if let Some(matched) = with_queues {
            for group in &matched.queues {
                if let Some(id) = self.choose_member(&group.members, publisher, echo) {
                    delivered |= self.deliver_to(id, msg);
                }
            }
        }
        delivered
    }

    /// One member of a queue group, tried from a uniformly random start among the members
    /// (the seeded `queue` stream) until one is eligible: a non-echo publisher's own members
    /// are not (server/client.go processMsgResults).
    fn choose_member(&mut self, members: &[SubId], publisher: ConnId, echo: bool) -> Option<SubId> {
        let subs = &self.subs;
        member_order(members, &mut self.queue_rng).find(|id| {
            subs.get(id)
                .is_some_and(|sub| echo || sub.conn != publisher)
        })
    }

    /// Queues MSG (or HMSG) for one subscription, then enforces auto-unsubscribe and the
    /// subscriber's pending budget. Returns whether the message was queued.
    fn deliver_to(&mut self, id: SubId, msg: &Message) -> bool {
        #[cfg(feature = "fault-injection")]
        if let Some(queued) = faults::intercept(|| self.deliver_to(id, msg)) {
            return queued;
        }
        let Some(sub) = self.subs.get_mut(&id) else {
            return false;
        };
        let conn = sub.conn;
        let Some(session) = self.sessions.get_mut(&conn) else {
            return false;
        };
        sub.delivered += 1;
        let unsubscribe = sub.deliveries_max > 0 && sub.delivered >= sub.deliveries_max;
        let out = &mut session.outbound;
        let (subject, reply, payload) = (msg.subject, msg.reply, msg.payload);
        // Room for the whole frame up front, so it lands in one buffer without a copy to grow it
        // (the control line's numbers and blanks take under 64 bytes).
        let line = subject.len() + sub.sid.len() + reply.map_or(0, <[u8]>::len) + 64;
        out.reserve_message(line, [msg.headers.map_or(0, <[u8]>::len), payload.len()]);
        let before = out.buf().len();
        let size = match msg.headers {
            // A client that did not agree to headers gets the payload alone
            // (server/client.go deliverMsg strips them).
            Some(h) if session.options.headers => {
                let total = h.len() + payload.len();
                encode::hmsg_header(out.buf(), subject, &sub.sid, reply, h.len(), total);
                let n = out.buf().len() - before;
                out.commit(n);
                out.push_payload(h, msg.headers_owner);
                total
            }
            _ => {
                encode::msg_header(out.buf(), subject, &sub.sid, reply, payload.len());
                let n = out.buf().len() - before;
                out.commit(n);
                payload.len()
            }
        };
        out.push_payload(payload, msg.payload_owner);
        out.push_slice(b"\r\n");
        self.stats.out_msgs += 1;
        self.stats.out_bytes += size as u64;
        session.out_msgs += 1;
        session.out_bytes += size as u64;
        session.last_activity = self.now.wall;
        // `mark_dirty`, inline for the common case (the session is at hand): within budget,
        // schedule a Transmit; over it, `mark_dirty` cuts the subscriber off.
        let over_budget = session.outbound.pending_bytes() as u64 > self.config.pending_bytes_max;
        if !over_budget && !session.dirty {
            session.dirty = true;
            self.dirty.push_back(conn);
        }
        if unsubscribe {
            let sid = sub.sid.clone();
            session.subs.remove(&sid);
            self.forget_sub(id);
        }
        if over_budget {
            self.mark_dirty(conn);
        }
        true
    }

    /// A request nobody received: tell a requester that asked for it (no_responders in
    /// CONNECT, which implies headers) with a `NATS/1.0 503` status on its own plain
    /// subscription to the reply subject. Like nats-server (server/client.go
    /// processInboundClientMsg, subForReply) this is queued directly: it does not count
    /// toward that subscription's auto-unsubscribe limit.
    pub(super) fn no_responders(&mut self, requester: ConnId, subject: &[u8], reply: &[u8]) {
        if !self
            .sessions
            .get(&requester)
            .is_some_and(|s| s.options.no_responders)
        {
            return;
        }
        let matched = self.sublist.match_subject(reply);
        let Some(sub) = matched
            .plain
            .iter()
            .filter_map(|id| self.subs.get(id))
            .find(|sub| sub.conn == requester)
        else {
            return;
        };
        let Some(session) = self.sessions.get_mut(&requester) else {
            return;
        };
        let out = &mut session.outbound;
        let before = out.buf().len();
        headers::no_responders(out.buf(), reply, &sub.sid, subject);
        let n = out.buf().len() - before;
        out.commit(n);
        self.mark_dirty(requester);
    }
}
