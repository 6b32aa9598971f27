//! Liveness after healing: once every fault is healed and the server restarted, every stream
//! is live again, every client reconnects, every request is answered, and each client's
//! publish to each stream is acknowledged — or, on a `discard: new` stream, refused because
//! it is full (a stream at its limit answering so is working).
//!
//! Source: DESIGN.md, "The simulator" ("a liveness phase with faults healed").

use crate::jetstream::model::{Phase, PubOutcome};
use crate::jetstream::world::World;

pub const NAME: &str = "liveness";

pub fn check_end(world: &mut World) {
    if world.error.is_some() {
        return;
    }
    world.verdict.checked(NAME, 1);
    if !world.quiesced() {
        let streams: Vec<String> = world
            .model
            .streams
            .iter()
            .filter(|s| s.phase != Phase::Live)
            .map(|s| format!("{} {:?}", s.plan.name, s.phase))
            .collect();
        let clients: Vec<String> = world
            .clients
            .iter()
            .filter(|c| !c.ready() || !c.pending.is_empty() || !c.verify_queue.is_empty())
            .map(|c| {
                format!(
                    "c{} ready={} pending={} to_verify={}",
                    c.index,
                    c.ready(),
                    c.pending.len(),
                    c.verify_queue.len()
                )
            })
            .collect();
        world.verdict.fail(
            NAME,
            format!(
                "the healed run never settled: streams not live [{}], clients waiting [{}]",
                streams.join(", "),
                clients.join(", ")
            ),
        );
    }
    let final_incarnation = world.incarnation;
    for (id, publish) in world.model.publishes.iter().enumerate() {
        let full = world.model.streams[publish.stream].plan.discard_new
            && matches!(publish.outcome, PubOutcome::Error { limit: true, .. });
        let refused =
            publish.liveness && !full && !matches!(publish.outcome, PubOutcome::Acked { .. });
        let unanswered =
            publish.incarnation == final_incarnation && publish.outcome == PubOutcome::Pending;
        if refused || unanswered {
            world.verdict.checked(NAME, 1);
            world.verdict.fail(
                NAME,
                format!(
                    "after healing, publish {id} (c{} on {}) ended {:?}",
                    publish.client, publish.subject, publish.outcome
                ),
            );
        }
    }
}
