//! No message is delivered twice to one subscription.
//!
//! Source: core NATS is at-most-once ("NATS offers at most once delivery", docs.nats.io,
//! Core NATS / "Quality of service"); DESIGN.md: "core NATS delivers each message at most once
//! per subscription". Holds under every fault: nothing in core NATS re-sends.

use std::collections::BTreeSet;

use super::{Input, Verdict};

pub const NAME: &str = "no_duplicates";

pub fn check(input: &Input<'_>, verdict: &mut Verdict) {
    for sub in input.model.subs.values() {
        let mut seen = BTreeSet::new();
        for (at, msg) in sub.messages() {
            verdict.checked(NAME, 1);
            if !seen.insert(msg) {
                verdict.fail(
                    NAME,
                    format!(
                        "message {msg} delivered twice to conn {} sid {} ({}), again at #{at}",
                        sub.conn, sub.sid, sub.subject
                    ),
                );
            }
        }
    }
}
