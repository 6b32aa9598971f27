//! No acknowledged publish is lost: a message whose PubAck a client received is there, with
//! the same sequence and bytes, after every later restart, unless something the design allows
//! removed it ([`Model::removal`]).
//!
//! Source: DESIGN.md, "Durability default" ("An acknowledged JetStream write is on disk: the
//! file store syncs before it acks"); NATS docs, JetStream "Publishing" (a PubAck means the
//! message was persisted).

use super::no_early_expiry;
use crate::invariants::Verdict;
use crate::jetstream::json::Json;
use crate::jetstream::model::{Model, PubId, PubOutcome};
use crate::jetstream::params::SimTime;

pub const NAME: &str = "acked_not_lost";

/// How the model names a publish in a finding.
pub fn describe(model: &Model, id: PubId) -> String {
    let p = &model.publishes[id];
    let outcome = match p.outcome {
        PubOutcome::Acked { seq, at } => format!("acked seq {seq} at {:.3}ms", at as f64 / 1e6),
        other => format!("{other:?}"),
    };
    format!(
        "c{} publish on {} (id {}, {} payload bytes) sent at {:.3}ms in incarnation {}, {outcome}",
        p.client,
        p.subject,
        p.msg_id.as_deref().unwrap_or("-"),
        p.payload.len(),
        p.sent_at as f64 / 1e6,
        p.incarnation,
    )
}

/// MSG.GET of `seq`, sent at `sent_at`, said "no message found" at `at`. Only a message
/// acked before the request was sent was certainly stored before the server looked.
pub fn on_not_found(
    model: &Model,
    verdict: &mut Verdict,
    (stream, generation, seq): (usize, usize, u64),
    sent_at: SimTime,
    (at, incarnation): (SimTime, u32),
) {
    let Some(&id) = model.generation(stream, generation).acked.get(&seq) else {
        return;
    };
    let acked_before = matches!(
        model.publishes[id].outcome,
        PubOutcome::Acked { at: acked_at, .. } if acked_at <= sent_at
    );
    if !acked_before || model.removal(id, at, incarnation).is_some() {
        return;
    }
    let plan = &model.streams[stream].plan;
    let invariant = owner(model, stream);
    verdict.checked(invariant, 1);
    verdict.fail(
        invariant,
        format!(
            "stream {} seq {seq}: MSG.GET at {:.3}ms in incarnation {incarnation} found no \
             message, but nothing may have removed it: {}",
            plan.name,
            at as f64 / 1e6,
            describe(model, id)
        ),
    );
}

/// The stream itself is gone although its create was acknowledged (and it was never deleted).
pub fn stream_missing(model: &Model, verdict: &mut Verdict, stream: usize, how: &str) {
    let generation = model.streams[stream].current();
    let acked = model.generation(stream, generation).acked.len();
    verdict.fail(
        NAME,
        format!(
            "stream {} is gone ({how}) though its create was acknowledged; it had {acked} acked \
             messages",
            model.streams[stream].plan.name
        ),
    );
}

/// STREAM.INFO's message count covers every protected message acked before it was asked.
/// Only for streams without count or byte limits (elsewhere the model's removal check is too
/// costly to run per message on every INFO).
pub fn on_info(
    model: &Model,
    verdict: &mut Verdict,
    (stream, generation): (usize, usize),
    sent_at: SimTime,
    (at, incarnation): (SimTime, u32),
    state: &Json,
) {
    let plan = &model.streams[stream].plan;
    if plan.max_msgs > 0 || plan.max_bytes > 0 || plan.max_msgs_per_subject > 0 {
        return;
    }
    let Some(messages) = state.get("messages").and_then(Json::as_u64) else {
        verdict.fail(NAME, "STREAM.INFO without state.messages".to_string());
        return;
    };
    let protected: Vec<u64> = model
        .generation(stream, generation)
        .acked
        .iter()
        .filter(|(_, &id)| {
            matches!(model.publishes[id].outcome, PubOutcome::Acked { at: acked_at, .. } if acked_at <= sent_at)
                && model.removal(id, at, incarnation).is_none()
        })
        .map(|(&seq, _)| seq)
        .collect();
    verdict.checked(NAME, 1);
    if messages < protected.len() as u64 {
        verdict.fail(
            NAME,
            format!(
                "stream {}: STREAM.INFO at {:.3}ms counts {messages} messages, but {} acked \
                 messages must be there (seqs {:?}...)",
                plan.name,
                at as f64 / 1e6,
                protected.len(),
                &protected[..protected.len().min(10)]
            ),
        );
    }
}

/// MSG.GET found the acked message at `seq` (its bytes are checked by `no_corrupt_served`):
/// one case of this invariant (or of `no_early_expiry`) checked if it was protected.
pub fn on_found(
    model: &Model,
    verdict: &mut Verdict,
    (stream, generation, seq): (usize, usize, u64),
    (at, incarnation): (SimTime, u32),
) {
    let Some(&id) = model.generation(stream, generation).acked.get(&seq) else {
        return;
    };
    if model.removal(id, at, incarnation).is_none() {
        verdict.checked(owner(model, stream), 1);
    }
}

/// Which invariant a lost acked message of `stream` counts against: `no_early_expiry` when
/// that stream's plan is its (a max_age stream), else this one.
fn owner(model: &Model, stream: usize) -> &'static str {
    if no_early_expiry::owns(&model.streams[stream].plan) {
        no_early_expiry::NAME
    } else {
        NAME
    }
}
