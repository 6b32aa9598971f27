//! Each queue group gets at most one copy of each message, and exactly one when nothing
//! could have taken its chosen member away.
//!
//! Source: "when messages are published, one member of the group is chosen randomly to receive
//! the message" — docs.nats.io, "Queue Groups"; DESIGN.md: "a queue group gets one copy per
//! message". A group is its queue name on one server: for a message, the members are every
//! subscription with that queue name whose subject filter matches, whatever the filter
//! (nats-server server/sublist.go `addNodeToResults` merges queue subscriptions of one name
//! found at different nodes into one group with `findQSlot`).
//!
//! At most one copy holds under every fault. Exactly one is owed when some member was certainly
//! live (confirmed before the PUB, no UNSUB before the ack, its connection flushed after the
//! ack) and every member that might have been chosen has a flush after the ack on its
//! connection — so whichever member the server chose, its copy arrived.

use std::collections::BTreeMap;

use super::{Input, Verdict};
use crate::history::MsgId;
use crate::model::{subject_matches, SubInfo};

pub const NAME: &str = "queue_groups";

pub fn check(input: &Input<'_>, verdict: &mut Verdict) {
    let model = input.model;
    // (server, queue) -> every member, whatever its subject filter.
    let mut groups: BTreeMap<(u32, &str), Vec<&SubInfo>> = BTreeMap::new();
    for sub in model.subs.values() {
        if let (Some(queue), Some(server)) = (&sub.queue, model.server_of(sub.conn)) {
            groups
                .entry((server, queue.as_str()))
                .or_default()
                .push(sub);
        }
    }
    for ((server, queue), all_members) in &groups {
        let mut copies: BTreeMap<MsgId, u32> = BTreeMap::new();
        for member in all_members {
            for (_, msg) in member.messages() {
                *copies.entry(msg).or_default() += 1;
            }
        }
        for msg in model.msgs.values() {
            if msg.server != *server {
                continue;
            }
            let members: Vec<&SubInfo> = all_members
                .iter()
                .copied()
                .filter(|m| subject_matches(&m.subject, &msg.subject))
                .collect();
            if members.is_empty() {
                continue;
            }
            let count = copies.get(&msg.id).copied().unwrap_or(0);
            verdict.checked(NAME, 1);
            if count > 1 {
                verdict.fail(
                    NAME,
                    format!(
                        "{} on {} reached queue group {queue} (server {server}) {count} times",
                        msg.id, msg.subject
                    ),
                );
                continue;
            }
            let Some(acked) = msg.acked else {
                continue;
            };
            let flushed = |m: &SubInfo| {
                model
                    .conns
                    .get(&m.conn)
                    .is_some_and(|c| c.flushed_after(acked))
            };
            let certain = members
                .iter()
                .any(|m| m.certainly_live(msg.pub_at, acked) && flushed(m));
            let all_accounted = members
                .iter()
                .filter(|m| m.possibly_live(&model.conns, msg.pub_at, acked))
                .all(|m| flushed(m));
            if certain && all_accounted {
                verdict.checked(NAME, 1);
                if count == 0 {
                    verdict.fail(
                        NAME,
                        format!(
                            "{} on {} published at #{} and routed by #{acked} reached no member of \
                             queue group {queue} (server {server}), though every member flushed after",
                            msg.id, msg.subject, msg.pub_at
                        ),
                    );
                }
            }
        }
    }
}
