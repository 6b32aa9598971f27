//! Delivery: one published message to every matching subscription, one member per queue
//! group, with the pending budget checked on every subscriber it touches.

use super::*;
use crate::protocol::headers;
use crate::routing::queue::member_order;

impl Broker {
    /// Delivers a message from `publisher` (whose CONNECT said `echo`). Returns whether any
    /// subscription received it.
    pub(super) fn deliver(
        &mut self,
        publisher: ConnId,
        echo: bool,
        subject: &Bytes,
        reply: Option<&Bytes>,
        headers: Option<&Bytes>,
        payload: &Bytes,
    ) -> bool {
        let matched = self.sublist.match_subject(subject);
        let mut delivered = false;
        for &id in &matched.plain {
            // Only a no-echo publisher pays for the extra lookup of who owns the subscription.
            if !echo && self.subs.get(&id).is_some_and(|sub| sub.conn == publisher) {
                continue;
            }
            delivered |= self.deliver_to(id, subject, reply, headers, payload);
        }
        for group in &matched.queues {
            if let Some(id) = self.choose_member(&group.members, publisher, echo) {
                delivered |= self.deliver_to(id, subject, reply, headers, payload);
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
    fn deliver_to(
        &mut self,
        id: SubId,
        subject: &[u8],
        reply: Option<&Bytes>,
        headers: Option<&Bytes>,
        payload: &Bytes,
    ) -> bool {
        #[cfg(feature = "fault-injection")]
        if let Some(queued) =
            faults::intercept(|| self.deliver_to(id, subject, reply, headers, payload))
        {
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
        let before = out.buf().len();
        let reply = reply.map(|r| &r[..]);
        let size = match headers {
            // A client that did not agree to headers gets the payload alone
            // (server/client.go deliverMsg strips them).
            Some(h) if session.options.headers => {
                let total = h.len() + payload.len();
                encode::hmsg_header(out.buf(), subject, &sub.sid, reply, h.len(), total);
                let n = out.buf().len() - before;
                out.commit(n);
                out.push_payload(h);
                total
            }
            _ => {
                encode::msg_header(out.buf(), subject, &sub.sid, reply, payload.len());
                let n = out.buf().len() - before;
                out.commit(n);
                payload.len()
            }
        };
        out.push_payload(payload);
        out.push_slice(b"\r\n");
        self.stats.out_msgs += 1;
        self.stats.out_bytes += size as u64;
        session.out_msgs += 1;
        session.out_bytes += size as u64;
        session.last_activity = self.now.wall;
        if unsubscribe {
            let sid = sub.sid.clone();
            session.subs.remove(&sid);
            self.forget_sub(id);
        }
        self.mark_dirty(conn);
        true
    }

    /// A request nobody received: tell a requester that asked for it (no_responders in
    /// CONNECT, which implies headers) with a `NATS/1.0 503` status on its own plain
    /// subscription to the reply subject. Like nats-server (server/client.go
    /// processInboundClientMsg, subForReply) this is queued directly: it does not count
    /// toward that subscription's auto-unsubscribe limit.
    pub(super) fn no_responders(&mut self, requester: ConnId, subject: &[u8], reply: &Bytes) {
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
