//! With every fault healed, the system delivers again: every client reconnects, subscribes,
//! gets every liveness message published on its server, each `live.q` message reaches exactly
//! one member of group `lq`, and every client's request is answered.
//!
//! Source: DESIGN.md, "The simulator": "a safety phase under faults and a liveness phase with
//! faults healed"; TigerBeetle VOPR's liveness mode (a healed cluster must make progress).
//! Schedule and client side: `client/liveness.rs`.

use std::collections::BTreeMap;

use super::{Input, Verdict};
use crate::history::Event;

pub const NAME: &str = "liveness";

pub fn check(input: &Input<'_>, verdict: &mut Verdict) {
    let model = input.model;
    let mut ready: BTreeMap<u32, u32> = BTreeMap::new();
    let mut done: BTreeMap<u32, Option<String>> = BTreeMap::new();
    for entry in input.entries {
        match &entry.event {
            Event::LiveReady { client, conn } => {
                ready.insert(*client, *conn);
            }
            Event::LiveDone { client, problem } => {
                done.insert(*client, problem.clone());
            }
            _ => {}
        }
    }
    for client in 0..input.params.clients {
        verdict.checked(NAME, 1);
        match done.get(&client) {
            None => verdict.fail(
                NAME,
                format!("client {client} never finished the liveness phase"),
            ),
            Some(Some(problem)) => verdict.fail(NAME, format!("client {client}: {problem}")),
            Some(None) => {}
        }
    }
    let Some(healed) = model.healed else {
        verdict.fail(NAME, "the run never reached the liveness phase".to_string());
        return;
    };
    // Only clients that finished cleanly are owed anything (the others failed above).
    let clean: BTreeMap<u32, u32> = ready
        .iter()
        .filter(|(client, _)| matches!(done.get(client), Some(None)))
        .map(|(&client, &conn)| (client, conn))
        .collect();
    let live_sub = |conn: u32, subject: &str| {
        model
            .subs
            .values()
            .find(|s| s.conn == conn && s.subject == subject)
    };
    let mut delivered = 0u64;
    for msg in model.msgs.values().filter(|m| m.pub_at > healed) {
        match msg.subject.as_str() {
            "live.all" => {
                for (&client, &conn) in &clean {
                    if model.server_of(conn) != Some(msg.server) {
                        continue;
                    }
                    verdict.checked(NAME, 1);
                    let got = live_sub(conn, "live.all")
                        .is_some_and(|s| s.messages().any(|(_, m)| m == msg.id));
                    if got {
                        delivered += 1;
                    } else {
                        verdict.fail(
                            NAME,
                            format!(
                                "client {client} (conn {conn}) never got {} on live.all",
                                msg.id
                            ),
                        );
                    }
                }
            }
            "live.q" => {
                verdict.checked(NAME, 1);
                let copies: usize = clean
                    .values()
                    .filter(|&&conn| model.server_of(conn) == Some(msg.server))
                    .filter_map(|&conn| live_sub(conn, "live.q"))
                    .map(|s| s.messages().filter(|&(_, m)| m == msg.id).count())
                    .sum();
                if copies != 1 {
                    verdict.fail(
                        NAME,
                        format!(
                            "{} on live.q reached {copies} members of group lq, not 1",
                            msg.id
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    if delivered == 0 {
        verdict.fail(NAME, "no liveness message was delivered at all".to_string());
    }
}
