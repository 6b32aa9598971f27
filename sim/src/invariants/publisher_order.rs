//! Messages from one publisher arrive at a subscription in the order they were published.
//!
//! Source: "NATS guarantees ordering of messages from a single publisher" — docs.nats.io,
//! "What is NATS" / message ordering ("per-publisher ordering"); DESIGN.md: "in publisher
//! order". The publisher is one connection: a client that reconnects is a new publisher (its
//! old connection's last messages may still be in flight, e.g. behind a held link).

use std::collections::BTreeMap;

use super::{Input, Verdict};

pub const NAME: &str = "publisher_order";

pub fn check(input: &Input<'_>, verdict: &mut Verdict) {
    for sub in input.model.subs.values() {
        let mut last: BTreeMap<u32, u64> = BTreeMap::new();
        for (at, msg) in sub.messages() {
            let Some(published) = input.model.msgs.get(&msg) else {
                continue; // unknown message: delivery_routing reports it
            };
            verdict.checked(NAME, 1);
            let previous = last.insert(published.conn, msg.seq);
            if let Some(previous) = previous.filter(|&p| p >= msg.seq) {
                verdict.fail(
                    NAME,
                    format!(
                        "conn {} sid {} ({}) got {msg} at #{at} after seq {previous} from the same \
                         publisher connection {}",
                        sub.conn, sub.sid, sub.subject, published.conn
                    ),
                );
            }
        }
    }
}
