//! A request nobody can receive gets the `NATS/1.0 503` no-responders status; a request a
//! responder certainly received never does; and replies and statuses reach the inbox of the
//! request they answer.
//!
//! Source: nats-server 2.2+ "no responders": a client whose CONNECT has `headers` and
//! `no_responders` gets an HMSG with status 503 on its reply subject when a request reaches no
//! subscriber (docs.nats.io, "Request-Reply", no responders; nats-server server/client.go
//! `processInboundClientMsg`). The simulated clients always set both options.
//!
//! - Owed a 503: a request on a subject no subscription in the whole run matches, acked, whose
//!   inbox subscription was confirmed before the request was written and not unsubscribed
//!   before it: the status is queued while the request is routed, so it arrives before the
//!   ack's PONG.
//! - Never a 503: when some subscription matching the request was certainly live and its
//!   connection flushed after the ack (so the server delivered the request to it).

use super::{Input, Verdict};
use crate::history::Body;
use crate::model::{subject_matches, SubInfo};

pub const NAME: &str = "no_responders";

pub fn check(input: &Input<'_>, verdict: &mut Verdict) {
    let model = input.model;
    for msg in model.msgs.values() {
        let Some(inbox) = &msg.reply else {
            continue;
        };
        let Some(inbox_sub) = model
            .subs
            .values()
            .find(|s| s.conn == msg.conn && &s.subject == inbox)
        else {
            continue;
        };
        let statuses: Vec<usize> = inbox_sub
            .deliveries
            .iter()
            .filter(
                |d| matches!(&d.body, Body::NoResponders { subject } if *subject == msg.subject),
            )
            .map(|d| d.at)
            .collect();
        let Some(acked) = msg.acked else {
            continue;
        };
        let nobody = !model
            .subs
            .values()
            .any(|s| subject_matches(&s.subject, &msg.subject));
        let inbox_ready = inbox_sub.confirmed.is_some_and(|c| c < msg.pub_at)
            && inbox_sub.unsub.is_none_or(|(at, _)| at > msg.pub_at);
        if nobody && inbox_ready {
            verdict.checked(NAME, 1);
            if statuses.len() != 1 {
                verdict.fail(
                    NAME,
                    format!(
                        "request {} on {} (nobody subscribed) acked at #{acked} got {} no-responders \
                         statuses on {inbox}, not 1",
                        msg.id,
                        msg.subject,
                        statuses.len()
                    ),
                );
            }
        }
        let flushed = |s: &SubInfo| {
            model
                .conns
                .get(&s.conn)
                .is_some_and(|c| c.flushed_after(acked))
        };
        let answered = model.subs.values().any(|s| {
            model.server_of(s.conn) == Some(msg.server)
                && subject_matches(&s.subject, &msg.subject)
                && s.certainly_live(msg.pub_at, acked)
                && flushed(s)
        });
        if answered {
            verdict.checked(NAME, 1);
            if let Some(at) = statuses.first() {
                verdict.fail(
                    NAME,
                    format!(
                        "request {} on {} got a no-responders status at #{at}, though a subscriber \
                         was certainly live when it was routed (by #{acked})",
                        msg.id, msg.subject
                    ),
                );
            }
        }
    }
    // Every status and reply answers a request of this connection on this inbox.
    for sub in model.subs.values() {
        for delivery in &sub.deliveries {
            let answers = match &delivery.body {
                Body::NoResponders { subject } => model.msgs.values().any(|m| {
                    m.conn == sub.conn
                        && m.reply.as_deref() == Some(sub.subject.as_str())
                        && &m.subject == subject
                        && m.pub_at < delivery.at
                }),
                Body::Message { re: Some(re), .. } => model.msgs.get(re).is_some_and(|request| {
                    request.reply.as_deref() == Some(sub.subject.as_str())
                        && request.pub_at < delivery.at
                }),
                _ => continue,
            };
            verdict.checked(NAME, 1);
            if !answers {
                verdict.fail(
                    NAME,
                    format!(
                        "conn {} sid {} ({}) got {:?} at #{}, which answers no request of its own",
                        sub.conn, sub.sid, sub.subject, delivery.body, delivery.at
                    ),
                );
            }
        }
    }
}
