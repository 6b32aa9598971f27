//! Well-formed clients get no `-ERR`, and everything the server sends parses.
//!
//! Source: docs.nats.io, "Client Protocol": `-ERR` reports a protocol error or a closing
//! condition. The simulated clients send only valid operations, so the only `-ERR` allowed is
//! `'Stale Connection'`, and only to a connection whose link was faulted or that stopped
//! reading (its PONGs could not come back in time).

use super::{Input, Verdict};
use crate::history::Event;

pub const NAME: &str = "protocol_errors";

pub fn check(input: &Input<'_>, verdict: &mut Verdict) {
    let model = input.model;
    let mut slow_conns = std::collections::BTreeSet::new();
    for (index, entry) in input.entries.iter().enumerate() {
        match &entry.event {
            Event::SlowStart { conn } => {
                slow_conns.insert(*conn);
            }
            Event::Err { conn, text } => {
                verdict.checked(NAME, 1);
                let opened = model.conns.get(conn).map_or(0, |c| c.opened);
                let excused = text == "'Stale Connection'"
                    && (slow_conns.contains(conn) || model.touched(*conn, opened, index));
                if !excused {
                    verdict.fail(NAME, format!("conn {conn} got -ERR {text} at #{index}"));
                }
            }
            Event::Msg { .. } | Event::Pong { .. } => verdict.checked(NAME, 1),
            _ => {}
        }
    }
}
