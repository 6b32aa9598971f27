//! A slow consumer is cut off, and nobody else is.
//!
//! Source: docs.nats.io, "Slow Consumers": the server protects itself by disconnecting a
//! client that does not read fast enough (pending bytes over `max_pending`, or a write that
//! does not finish within `write_deadline`); docs/ARCHITECTURE.md, "Pending bytes and slow
//! consumers": "the publisher and everyone else are untouched".
//!
//! - A slow reader (it stops reading while a steady stream is published to it, for longer than
//!   the write deadline) whose connection no network fault or crash touched must be cut off
//!   (`Slow Consumer Detected` for its connection) while it is slow.
//! - A cut-off is only allowed for a connection that was a slow reader, or whose link to its
//!   server was faulted (a held or partitioned link stops the server's writes just the same).

use std::collections::BTreeMap;

use super::{Input, Verdict};
use crate::history::Event;

pub const NAME: &str = "slow_consumers";

pub fn check(input: &Input<'_>, verdict: &mut Verdict) {
    let model = input.model;
    let mut cuts: BTreeMap<u32, usize> = BTreeMap::new();
    let mut slow: BTreeMap<u32, (usize, Option<usize>)> = BTreeMap::new();
    for (index, entry) in input.entries.iter().enumerate() {
        match entry.event {
            Event::SlowConsumerCut { conn } => {
                cuts.entry(conn).or_insert(index);
            }
            Event::SlowStart { conn } => {
                slow.entry(conn).or_insert((index, None));
            }
            Event::SlowEnd { conn } => {
                if let Some((_, end)) = slow.get_mut(&conn) {
                    end.get_or_insert(index);
                }
            }
            _ => {}
        }
    }
    for (&conn, &(start, end)) in &slow {
        let end = end.unwrap_or(input.entries.len());
        let Some(info) = model.conns.get(&conn) else {
            continue;
        };
        if model.touched(conn, info.opened, end) {
            continue;
        }
        verdict.checked(NAME, 1);
        match cuts.get(&conn) {
            Some(&cut) if cut > start && cut <= end => {}
            other => verdict.fail(
                NAME,
                format!(
                    "conn {conn} stopped reading at #{start} until #{end} with traffic for it, \
                     untouched by faults, and was not cut off as a slow consumer while slow \
                     (cut: {other:?})"
                ),
            ),
        }
    }
    for (&conn, &cut) in &cuts {
        verdict.checked(NAME, 1);
        let was_slow = slow.get(&conn).is_some_and(|&(start, _)| start < cut);
        let opened = model.conns.get(&conn).map_or(0, |c| c.opened);
        if !was_slow && !model.touched(conn, opened, cut) {
            verdict.fail(
                NAME,
                format!("conn {conn} was cut off as a slow consumer at #{cut}, but it read everything and no fault touched it"),
            );
        }
    }
}
