//! Every delivery is a message that was published, on the same server, to a subject the
//! subscription matches, to a subscription the client made, with its payload intact.
//!
//! Source: subject-based messaging (docs.nats.io, "Subject-Based Messaging": a subscriber
//! receives messages published to subjects its subject, with `*` and `>` wildcards, matches),
//! and the protocol's MSG (docs.nats.io, "Client Protocol": `MSG <subject> <sid> ...`: the sid
//! names the client's own subscription). The subscriptions here are checked against the
//! simulator's own matcher (`model::subject_matches`), not the core's sublist.

use super::{Input, Verdict};
use crate::history::Body;
use crate::model::subject_matches;

pub const NAME: &str = "delivery_routing";

pub fn check(input: &Input<'_>, verdict: &mut Verdict) {
    let model = input.model;
    for (conn, sid, delivery) in &model.strays {
        verdict.fail(
            NAME,
            format!(
                "conn {conn} got a message for sid {sid}, which it never subscribed, at #{}",
                delivery.at
            ),
        );
    }
    for sub in model.subs.values() {
        let server = model.server_of(sub.conn);
        for delivery in &sub.deliveries {
            verdict.checked(NAME, 1);
            let at = delivery.at;
            if !subject_matches(&sub.subject, &delivery.subject) {
                verdict.fail(
                    NAME,
                    format!(
                        "conn {} sid {} ({}) got subject {} at #{at}",
                        sub.conn, sub.sid, sub.subject, delivery.subject
                    ),
                );
            }
            match &delivery.body {
                Body::Message { msg, intact, .. } => {
                    let Some(published) = model.msgs.get(msg) else {
                        verdict.fail(
                            NAME,
                            format!("conn {} got {msg}, never published, at #{at}", sub.conn),
                        );
                        continue;
                    };
                    if published.pub_at > at
                        || published.subject != delivery.subject
                        || Some(published.server) != server
                        || !intact
                    {
                        verdict.fail(
                            NAME,
                            format!(
                                "conn {} sid {} got {msg} on {} (intact: {intact}) at #{at}, but it \
                                 was published at #{} to {} on server {}",
                                sub.conn,
                                sub.sid,
                                delivery.subject,
                                published.pub_at,
                                published.subject,
                                published.server
                            ),
                        );
                    }
                }
                Body::NoResponders { .. } => {} // checked by no_responders
                Body::Unknown(what) => verdict.fail(
                    NAME,
                    format!(
                        "conn {} sid {} got an unknown payload {what:?} at #{at}",
                        sub.conn, sub.sid
                    ),
                ),
            }
        }
    }
}
