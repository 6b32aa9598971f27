//! Nothing arrives for a subscription after its UNSUB is confirmed, and an auto-unsubscribe
//! (`UNSUB <sid> <max>`) stops it after `max` messages in all.
//!
//! Source: docs.nats.io, "Client Protocol", UNSUB: "max_msgs: number of messages to wait for
//! before automatically unsubscribing"; nats-server server/client.go `processUnsub` (a max
//! already reached unsubscribes at once). Messages are counted, not no-responders statuses.
//!
//! Let k be the messages that arrived before the PONG confirming the UNSUB (exactly what the
//! server had delivered when it processed the UNSUB: they were queued before the PONG). Then
//! a plain UNSUB allows nothing after the PONG; `max` allows `max` in all if k < max, else
//! nothing more.

use super::{Input, Verdict};

pub const NAME: &str = "unsubscribe";

pub fn check(input: &Input<'_>, verdict: &mut Verdict) {
    let model = input.model;
    for sub in model.subs.values() {
        let Some((unsub_at, max)) = sub.unsub else {
            continue;
        };
        let Some(confirmed) = model
            .conns
            .get(&sub.conn)
            .and_then(|c| c.confirmed_after(unsub_at))
        else {
            continue;
        };
        verdict.checked(NAME, 1);
        let messages: Vec<usize> = sub.messages().map(|(at, _)| at).collect();
        let before = messages.iter().filter(|&&at| at < confirmed).count() as u64;
        let after = messages.len() as u64 - before;
        let allowed_after = match max {
            Some(max) if before < max => max - before,
            _ => 0,
        };
        if after > allowed_after {
            verdict.fail(
                NAME,
                format!(
                    "conn {} sid {} ({}) got {after} messages after its UNSUB (max {max:?}) was \
                     confirmed at #{confirmed}, {before} before; allowed {allowed_after}",
                    sub.conn, sub.sid, sub.subject
                ),
            );
        }
    }
}
