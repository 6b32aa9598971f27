//! The server never panics, keeps every connection's pending bytes within budget, hands its
//! broker a clock that never goes backwards, and is running when the run ends.
//!
//! Source: STYLE.md, "Errors are for input, panics are for bugs. Nothing a client, peer or disk
//! sends may panic"; docs/ARCHITECTURE.md, "Pending bytes and slow consumers": a connection's
//! queued plus in-flight bytes are "bounded by `pending_bytes_max`" (checked after every driver
//! turn, with `server::PENDING_SLACK_BYTES` for control lines queued on top of a full budget);
//! src/time.rs, "`mono` never goes backwards".

use super::{Input, Verdict};
use crate::history::Event;

pub const NAME: &str = "server_health";

pub fn check(input: &Input<'_>, verdict: &mut Verdict) {
    for (index, entry) in input.entries.iter().enumerate() {
        match &entry.event {
            Event::Panic { message } => verdict.fail(NAME, format!("panic at #{index}: {message}")),
            Event::ServerViolation { server, what } => {
                verdict.fail(NAME, format!("server {server} at #{index}: {what}"));
            }
            _ => {}
        }
    }
    for (server, &running) in input.servers_running.iter().enumerate() {
        verdict.checked(NAME, 1);
        if !running {
            verdict.fail(
                NAME,
                format!("server {server} is not running at the end of the run"),
            );
        }
    }
}
