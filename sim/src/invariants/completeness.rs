//! While nothing cuts a client off, everything published to its live matching subscriptions
//! arrives.
//!
//! Source: core NATS delivers every message to every subscription whose subject matches at the
//! time the server routes it, over the subscriber's TCP connection (docs.nats.io, "Core NATS":
//! at-most-once, "if a subscriber is not listening on the subject (no subject match), or is not
//! active when the message is sent, the message is not received") — so a subscription that was
//! live and whose connection stayed up must get it. DESIGN.md: "a liveness phase ... must
//! deliver".
//!
//! "Nothing cut it off" is decided by evidence, not by guessing from the fault plan: a plain
//! subscription is owed message m when
//! 1. it was confirmed (PONG after its SUB) before m's PUB was written,
//! 2. m was acked (PONG after its PUB on the publisher's connection: the server routed it),
//! 3. no UNSUB for it was written before that ack, and it is on the publisher's server,
//! 4. its own connection completed a flush begun after the ack: everything the server queued
//!    for it by then has arrived (and the server did not restart in between, which would have
//!    killed the connection).
//!
//! Queue subscriptions are owed one copy per group instead (`queue_groups`).

use std::collections::{BTreeMap, BTreeSet};

use super::{Input, Verdict};
use crate::history::MsgId;
use crate::model::subject_matches;

pub const NAME: &str = "completeness";

pub fn check(input: &Input<'_>, verdict: &mut Verdict) {
    let model = input.model;
    // Plain subscriptions by server, with what each received.
    let mut by_server: BTreeMap<u32, Vec<(&crate::model::SubInfo, BTreeSet<MsgId>)>> =
        BTreeMap::new();
    for sub in model.subs.values().filter(|s| s.queue.is_none()) {
        let Some(server) = model.server_of(sub.conn) else {
            continue;
        };
        let got: BTreeSet<MsgId> = sub.messages().map(|(_, m)| m).collect();
        by_server.entry(server).or_default().push((sub, got));
    }
    for msg in model.msgs.values() {
        let Some(acked) = msg.acked else {
            continue;
        };
        let Some(subs) = by_server.get(&msg.server) else {
            continue;
        };
        for (sub, got) in subs {
            if !subject_matches(&sub.subject, &msg.subject)
                || !sub.certainly_live(msg.pub_at, acked)
            {
                continue;
            }
            let flushed = model
                .conns
                .get(&sub.conn)
                .is_some_and(|c| c.flushed_after(acked));
            if !flushed {
                continue;
            }
            verdict.checked(NAME, 1);
            if !got.contains(&msg.id) {
                verdict.fail(
                    NAME,
                    format!(
                        "{} published to {} at #{} and routed by #{acked} never reached conn {} \
                         sid {} ({}), confirmed at #{}, though that connection flushed after",
                        msg.id,
                        msg.subject,
                        msg.pub_at,
                        sub.conn,
                        sub.sid,
                        sub.subject,
                        sub.confirmed.unwrap_or(0)
                    ),
                );
            }
        }
    }
}
