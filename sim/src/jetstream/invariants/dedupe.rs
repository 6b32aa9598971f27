//! No duplicate within the dedupe window: two publishes with the same `Nats-Msg-Id` never both
//! get non-duplicate PubAcks (at different sequences) when the second was processed within the
//! window after the first was stored. Within one incarnation the window is aged by the
//! monotonic clock; across a restart it is rebuilt from the stored messages and aged by wall
//! time, so there it is demanded only if the first message must still be stored and the wall
//! clock did not jump forward meanwhile (`src/jetstream/dedupe.rs`, "Which clock"). A
//! duplicate PubAck must name the sequence of a message with the same id.
//!
//! The model's bounds: the first was stored no earlier than it was sent, the second processed
//! no later than its ack arrived, so "ack of the second < send of the first + window" proves
//! the second fell inside the window.
//!
//! Source: NATS docs, JetStream "Message Deduplication"; DESIGN.md ("no duplicate within the
//! dedupe window").

use super::acked_not_lost::describe;
use crate::invariants::Verdict;
use crate::jetstream::model::{Model, PubId, PubOutcome};

pub const NAME: &str = "dedupe";

/// A non-duplicate PubAck for `id` was just recorded.
pub fn on_ack(model: &Model, verdict: &mut Verdict, id: PubId) {
    let publish = &model.publishes[id];
    let Some(msg_id) = &publish.msg_id else {
        return;
    };
    let PubOutcome::Acked { seq, .. } = publish.outcome else {
        return;
    };
    let plan = &model.streams[publish.stream].plan;
    let window = plan.duplicate_window as u64;
    let generation = model.generation(publish.stream, publish.generation);
    for &other in &generation.publishes {
        let candidate = &model.publishes[other];
        if other == id || candidate.msg_id.as_ref() != Some(msg_id) {
            continue;
        }
        let PubOutcome::Acked { seq: other_seq, .. } = candidate.outcome else {
            continue;
        };
        if other_seq == seq {
            continue; // the same sequence twice is the sequences checker's
        }
        let (first, second) = if other_seq < seq {
            (other, id)
        } else {
            (id, other)
        };
        let (first_p, second_p) = (&model.publishes[first], &model.publishes[second]);
        let PubOutcome::Acked {
            at: second_acked, ..
        } = second_p.outcome
        else {
            continue;
        };
        verdict.checked(NAME, 1);
        if second_acked >= first_p.sent_at + window {
            continue;
        }
        let demanded = if first_p.incarnation == second_p.incarnation {
            true
        } else {
            second_p.incarnation > first_p.incarnation
                && model
                    .removal(first, second_acked, second_p.incarnation)
                    .is_none()
                && model.no_forward_jump_at_opens(
                    first_p.sent_at,
                    first_p.incarnation,
                    second_p.incarnation,
                )
        };
        if demanded {
            verdict.fail(
                NAME,
                format!(
                    "stream {}: id {msg_id} stored twice within the {}ms window: [{}] and [{}]",
                    plan.name,
                    window / 1_000_000,
                    describe(model, first),
                    describe(model, second)
                ),
            );
        }
    }
}

/// A duplicate PubAck naming `seq` for publish `id`.
pub fn on_duplicate(model: &Model, verdict: &mut Verdict, id: PubId, seq: u64) {
    let publish = &model.publishes[id];
    let generation = model.generation(publish.stream, publish.generation);
    verdict.checked(NAME, 1);
    if publish.msg_id.is_none() {
        verdict.fail(
            NAME,
            format!(
                "a publish without an id was acked as a duplicate: [{}]",
                describe(model, id)
            ),
        );
        return;
    }
    let Some(&stored) = generation.acked.get(&seq) else {
        return;
    };
    if model.publishes[stored].msg_id != publish.msg_id {
        verdict.fail(
            NAME,
            format!(
                "[{}] was acked as a duplicate of seq {seq}, which holds [{}]",
                describe(model, id),
                describe(model, stored)
            ),
        );
    }
}
