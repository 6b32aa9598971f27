//! A corrupt record is never served: every message MSG.GET returns is exactly one a client
//! published to that stream (subject, headers and payload byte for byte), at the sequence it
//! was acked with if it was acked, and never a message acked at another sequence. A bit-flipped
//! record must read as "no message found", never as other bytes.
//!
//! Source: DESIGN.md, "Durability default" ("Every record carries a CRC; a record that fails
//! its check is never served"); `src/store/file.rs` (loads check the record before serving).

use super::acked_not_lost::{self, describe};
use super::sequences;
use crate::invariants::Verdict;
use crate::jetstream::json::Json;
use crate::jetstream::model::{Model, PubOutcome};
use crate::jetstream::params::SimTime;
use crate::jetstream::wire::base64_decode;

pub const NAME: &str = "no_corrupt_served";

/// MSG.GET returned `message` (for sequence `requested`, or by last subject).
pub fn on_found(
    model: &Model,
    verdict: &mut Verdict,
    (stream, generation): (usize, usize),
    requested: Option<u64>,
    message: &Json,
    (at, incarnation): (SimTime, u32),
) {
    verdict.checked(NAME, 1);
    let name = &model.streams[stream].plan.name;
    let field = |key: &str| message.get(key).and_then(Json::as_str).unwrap_or("");
    let (Some(seq), Some(headers), Some(payload)) = (
        message.get("seq").and_then(Json::as_u64),
        base64_decode(field("hdrs")),
        base64_decode(field("data")),
    ) else {
        verdict.fail(
            NAME,
            format!("stream {name}: unreadable MSG.GET reply {message:?}"),
        );
        return;
    };
    let subject = field("subject");
    if requested.is_some_and(|requested| requested != seq) {
        verdict.fail(
            NAME,
            format!("stream {name}: asked for seq {requested:?}, got seq {seq}"),
        );
    }
    let senders = model.senders_of(stream, generation, subject, &headers, &payload);
    let shown = || {
        format!(
            "{subject} with {} header bytes and payload {:?}",
            headers.len(),
            String::from_utf8_lossy(&payload[..payload.len().min(24)])
        )
    };
    if senders.is_empty() {
        verdict.fail(
            NAME,
            format!(
                "stream {name} seq {seq} serves bytes no client published: {}",
                shown()
            ),
        );
        return;
    }
    if let Some(&acked) = model.generation(stream, generation).acked.get(&seq) {
        if senders.contains(&acked) {
            acked_not_lost::on_found(model, verdict, (stream, generation, seq), (at, incarnation));
            return;
        }
        // Another client's message at an acked sequence: the sequence was given again.
        verdict.fail(
            sequences::NAME,
            format!(
                "stream {name} seq {seq} was acked to [{}] but now holds [{}]",
                describe(model, acked),
                describe(model, senders[0])
            ),
        );
        if model.removal(acked, at, incarnation).is_none() {
            verdict.fail(
                acked_not_lost::NAME,
                format!(
                    "stream {name} seq {seq}: the acked message [{}] is replaced by [{}]",
                    describe(model, acked),
                    describe(model, senders[0])
                ),
            );
        }
        return;
    }
    // Not acked at this sequence: some sender must be one that may have been stored here.
    let plausible = senders.iter().any(|&id| match model.publishes[id].outcome {
        PubOutcome::Acked { seq: stored, .. } => stored == seq,
        PubOutcome::Duplicate { .. }
        | PubOutcome::NoResponders
        | PubOutcome::Error { limit: true, .. } => false,
        PubOutcome::Pending | PubOutcome::Unknown | PubOutcome::Error { limit: false, .. } => true,
    });
    if !plausible {
        verdict.fail(
            NAME,
            format!(
                "stream {name} seq {seq} serves [{}], which was not stored there",
                describe(model, senders[0])
            ),
        );
    }
}
