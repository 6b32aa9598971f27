//! Stream sequences without gaps or reuse: a sequence is given to one message only, across
//! restarts too (one that was acknowledged is never assigned again); the PubAcks one connection
//! receives for a stream grow; every sequence acked in a later incarnation is above every one
//! acked in an earlier one; within one incarnation the acknowledged sequences are contiguous
//! (every publish asks for an ack, so a hole is a sequence skipped or an ack lost — checked only
//! when no bytes to clients were lost with the incarnation); and STREAM.INFO's `last_seq` is
//! never below a sequence already acked.
//!
//! Source: NATS docs, JetStream "Streams" (each message gets the next stream sequence);
//! DESIGN.md ("stream sequences without gaps or reuse"); `src/store/record.rs` (`SyncPoint`,
//! "its sequence never reused").

use super::acked_not_lost::{self, describe};
use crate::invariants::Verdict;
use crate::jetstream::json::Json;
use crate::jetstream::model::{Model, PubId, PubOutcome};
use crate::jetstream::params::SimTime;

pub const NAME: &str = "sequences";

/// A non-duplicate PubAck of `seq` for publish `id`, before it is recorded; `last_on_conn`
/// is the last such sequence the same connection got for the stream generation.
pub fn on_ack(
    model: &Model,
    verdict: &mut Verdict,
    id: PubId,
    seq: u64,
    last_on_conn: Option<u64>,
    (at, incarnation): (SimTime, u32),
) {
    verdict.checked(NAME, 1);
    let publish = &model.publishes[id];
    let name = &model.streams[publish.stream].plan.name;
    let generation = model.generation(publish.stream, publish.generation);
    if let Some(&other) = generation.acked.get(&seq) {
        verdict.fail(
            NAME,
            format!(
                "stream {name} seq {seq} acked twice: first to [{}], now to [{}]",
                describe(model, other),
                describe(model, id)
            ),
        );
        if model.removal(other, at, incarnation).is_none() {
            verdict.fail(
                acked_not_lost::NAME,
                format!(
                    "stream {name} seq {seq}: the acked message [{}] was replaced by [{}]",
                    describe(model, other),
                    describe(model, id)
                ),
            );
        }
    }
    if let Some(last) = last_on_conn {
        if seq <= last {
            verdict.fail(
                NAME,
                format!("stream {name}: acks on one connection went from seq {last} to {seq}"),
            );
        }
    }
    for (&other, seqs) in &generation.acked_by_incarnation {
        let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else {
            continue;
        };
        let earlier_higher = other < publish.incarnation && last >= seq;
        let later_lower = other > publish.incarnation && first <= seq;
        if earlier_higher || later_lower {
            verdict.fail(
                NAME,
                format!(
                    "stream {name}: seq {seq} acked in incarnation {}, but incarnation {other} \
                     acked seqs {first}..={last}",
                    publish.incarnation
                ),
            );
        }
    }
}

/// At the end of an incarnation: its acknowledged sequences of each stream generation have no
/// holes (unless bytes to clients were lost with it, or the server closed a client).
pub fn check_incarnation_gaps(model: &Model, verdict: &mut Verdict, incarnation: u32) {
    let Some(life) = model.incarnations.get(incarnation as usize) else {
        return;
    };
    if life.dropped_in_flight || life.closed_a_client {
        return;
    }
    for stream in &model.streams {
        for generation in &stream.generations {
            let Some(seqs) = generation.acked_by_incarnation.get(&incarnation) else {
                continue;
            };
            let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else {
                continue;
            };
            verdict.checked(NAME, 1);
            if last - first + 1 != seqs.len() as u64 {
                let hole = (first..=last)
                    .find(|seq| !seqs.contains(seq))
                    .unwrap_or(first);
                verdict.fail(
                    NAME,
                    format!(
                        "stream {}: incarnation {incarnation} acked {} seqs in {first}..={last}; \
                         seq {hole} was never acked",
                        stream.plan.name,
                        seqs.len()
                    ),
                );
            }
        }
    }
}

/// STREAM.INFO's `last_seq` is at least every sequence acked before it was asked.
pub fn on_info(
    model: &Model,
    verdict: &mut Verdict,
    stream: usize,
    generation: usize,
    sent_at: SimTime,
    state: &Json,
) {
    let acked_before = model
        .generation(stream, generation)
        .acked
        .iter()
        .filter(|(_, &id)| {
            matches!(model.publishes[id].outcome, PubOutcome::Acked { at, .. } if at <= sent_at)
        })
        .map(|(&seq, _)| seq)
        .max();
    let Some(acked_before) = acked_before else {
        return;
    };
    let last_seq = state.get("last_seq").and_then(Json::as_u64).unwrap_or(0);
    verdict.checked(NAME, 1);
    if last_seq < acked_before {
        verdict.fail(
            NAME,
            format!(
                "stream {}: STREAM.INFO says last_seq {last_seq}, but seq {acked_before} was \
                 acked before it was asked",
                model.streams[stream].plan.name
            ),
        );
    }
}
