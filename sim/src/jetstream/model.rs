//! The model: what the simulated clients published and were told, per stream generation, and
//! what may legitimately have removed each acknowledged message since.
//!
//! The checkers only demand what the model can prove. A message is *protected* at a time when
//! nothing the design allows could have removed it by then ([`Model::removal`]): its stream
//! was not deleted, no purge or MSG.DELETE could have been ordered after it, no bit flip hit its
//! segment, the limits cannot have reached it (counting every publish that may have been stored
//! after it, acknowledged or not), and max_age has not passed since it was *sent* (the store
//! stamps it later, so the send time is a lower bound) — after a restart only if the wall clock
//! did not jump forward meanwhile, since a restart ages recovered messages by wall time
//! (`src/jetstream/stream.rs`, "max_age without trusting the wall clock").

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::params::{SimTime, StreamPlan};

/// Index of a publish in [`Model::publishes`].
pub type PubId = usize;

/// What a publish's client was told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PubOutcome {
    /// No answer yet.
    Pending,
    /// A PubAck naming the sequence it was stored at.
    Acked { seq: u64, at: SimTime },
    /// A PubAck with `"duplicate": true`: stored earlier, at `seq`.
    Duplicate { seq: u64, at: SimTime },
    /// A PubAck with an error: refused by `discard: new` at a limit (`limit`, never stored),
    /// or anything else (a sync failed: it may have been stored anyway).
    Error { at: SimTime, limit: bool },
    /// The 503 status: no stream took it.
    NoResponders,
    /// The connection died before an answer: it may or may not have been stored.
    Unknown,
}

/// One publish as its client sent it.
#[derive(Clone, Debug)]
pub struct Publish {
    pub client: u32,
    pub stream: usize,
    pub generation: usize,
    pub subject: String,
    /// The HPUB header block, empty for a PUB.
    pub headers: Bytes,
    pub payload: Bytes,
    pub msg_id: Option<String>,
    /// Its size as the store counts it (`switchboard::store::msg_size_bytes`).
    pub size: u64,
    pub sent_at: SimTime,
    pub incarnation: u32,
    pub outcome: PubOutcome,
    /// Sent in the liveness phase: it must be acknowledged.
    pub liveness: bool,
    /// A `Nats-Rollup` publish: the index of the purge it makes in its generation's `purges`.
    pub rollup: Option<usize>,
}

/// A purge request (or the purge a rollup makes), for [`Model::removal`].
#[derive(Clone, Debug)]
pub struct Purge {
    pub sent_at: SimTime,
    pub incarnation: u32,
    pub replied_at: Option<SimTime>,
    /// A literal subject, or all.
    pub filter: Option<String>,
    /// Only sequences below this.
    pub below_seq: Option<u64>,
}

/// One life of a stream name: created, used, deleted. Sequences start again in the next one.
#[derive(Clone, Debug, Default)]
pub struct Generation {
    pub publishes: Vec<PubId>,
    /// Non-duplicate PubAcks: sequence → publish.
    pub acked: BTreeMap<u64, PubId>,
    pub purges: Vec<Purge>,
    /// Sequences a MSG.DELETE was sent for.
    pub deletes_sent: BTreeSet<u64>,
    /// Sequences in a segment a bit flip hit, and ranges of them where the segment could
    /// not be framed.
    pub flipped: BTreeSet<u64>,
    pub flipped_ranges: Vec<(u64, u64)>,
    /// The highest acknowledged sequence, and the one at the last restart.
    pub max_acked: u64,
    pub floor_at_open: u64,
    /// Non-duplicate acknowledged sequences per incarnation (for the gap check).
    pub acked_by_incarnation: BTreeMap<u32, BTreeSet<u64>>,
    /// A STREAM.DELETE was sent: nothing of it is checked any more.
    pub closed: bool,
}

/// Where a stream is in its life, as the workload drives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A CREATE is due (at the start, after a delete, or after one that got no answer).
    NeedCreate,
    Creating,
    Live,
    /// A delete is wanted: no new requests; the DELETE waits for the outstanding ones.
    Draining,
    Deleting,
}

#[derive(Clone, Debug)]
pub struct StreamModel {
    pub plan: StreamPlan,
    pub phase: Phase,
    pub generations: Vec<Generation>,
    /// Requests on this stream not answered yet (a DELETE waits for none).
    pub outstanding: usize,
}

impl StreamModel {
    pub fn current(&self) -> usize {
        self.generations.len() - 1
    }
}

/// One run of the server software.
#[derive(Clone, Debug)]
pub struct Incarnation {
    pub started_at: SimTime,
    pub skew_at_open: i64,
    /// Whether bytes on their way to clients were lost when it ended (acks may be missing).
    pub dropped_in_flight: bool,
    /// The server closed a client connection (its acks may be missing).
    pub closed_a_client: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Model {
    pub publishes: Vec<Publish>,
    pub streams: Vec<StreamModel>,
    /// Payload → the publishes that sent it (a retry sends the same bytes again).
    pub by_payload: BTreeMap<Bytes, Vec<PubId>>,
    /// The wall clock's offset from simulated time, as (since, offset) steps.
    pub skews: Vec<(SimTime, i64)>,
    /// When the disk was full: (from, until), `None` while it still is.
    pub disk_full: Vec<(SimTime, Option<SimTime>)>,
    pub incarnations: Vec<Incarnation>,
}

impl Model {
    pub fn new(plans: &[StreamPlan]) -> Model {
        Model {
            streams: plans
                .iter()
                .map(|plan| StreamModel {
                    plan: plan.clone(),
                    phase: Phase::NeedCreate,
                    generations: vec![Generation::default()],
                    outstanding: 0,
                })
                .collect(),
            skews: vec![(0, 0)],
            ..Model::default()
        }
    }

    pub fn generation(&self, stream: usize, generation: usize) -> &Generation {
        &self.streams[stream].generations[generation]
    }

    pub fn generation_mut(&mut self, stream: usize, generation: usize) -> &mut Generation {
        &mut self.streams[stream].generations[generation]
    }

    pub fn add_publish(&mut self, publish: Publish) -> PubId {
        let id = self.publishes.len();
        self.by_payload
            .entry(publish.payload.clone())
            .or_default()
            .push(id);
        self.generation_mut(publish.stream, publish.generation)
            .publishes
            .push(id);
        self.publishes.push(publish);
        id
    }

    /// The lowest wall clock offset in force at any time in `from..=to`.
    pub fn min_skew(&self, from: SimTime, to: SimTime) -> i64 {
        let mut min = i64::MAX;
        for (i, (since, skew)) in self.skews.iter().enumerate() {
            let until = self
                .skews
                .get(i + 1)
                .map_or(SimTime::MAX, |(next, _)| *next);
            if *since <= to && until > from {
                min = min.min(*skew);
            }
        }
        min
    }

    /// Whether every restart since `sent_at` (in incarnations after `sent_in`, up to
    /// `current`) opened with a wall clock no further ahead than at any time since: then
    /// recovered messages and duplicate ids stamped after `sent_at` were not aged early.
    pub fn no_forward_jump_at_opens(&self, sent_at: SimTime, sent_in: u32, current: u32) -> bool {
        ((sent_in + 1)..=current).all(|index| {
            let incarnation = &self.incarnations[index as usize];
            incarnation.skew_at_open <= self.min_skew(sent_at, incarnation.started_at)
        })
    }

    /// Why the acknowledged publish `id` may no longer be stored at `at` (in incarnation
    /// `current`), or `None` if it must be. See the module docs.
    pub fn removal(&self, id: PubId, at: SimTime, current: u32) -> Option<String> {
        let publish = &self.publishes[id];
        let PubOutcome::Acked { seq, .. } = publish.outcome else {
            return Some("not acknowledged".to_string());
        };
        let stream = &self.streams[publish.stream];
        let generation = &stream.generations[publish.generation];
        let plan = &stream.plan;
        if generation.closed {
            return Some("stream deleted".to_string());
        }
        let in_range = |(first, last): &(u64, u64)| (*first..=*last).contains(&seq);
        if generation.flipped.contains(&seq) || generation.flipped_ranges.iter().any(in_range) {
            return Some("a bit flip hit its segment".to_string());
        }
        if generation
            .purges
            .iter()
            .any(|purge| purge_may_remove(purge, publish, seq))
        {
            return Some("purge".to_string());
        }
        if generation.deletes_sent.contains(&seq) {
            return Some("msg delete".to_string());
        }
        if let Some(why) = self.limits_may_remove(id, seq) {
            return Some(why);
        }
        if plan.max_age > 0 {
            let max_age = plan.max_age as SimTime;
            if at >= publish.sent_at + max_age {
                return Some("max_age".to_string());
            }
            if !self.no_forward_jump_at_opens(publish.sent_at, publish.incarnation, current) {
                return Some("max_age after a forward wall clock jump and a restart".to_string());
            }
        }
        None
    }

    /// Whether the limits may have removed the message at `seq`: discard old drops the
    /// oldest first, so it goes only once enough messages may have been stored after it.
    fn limits_may_remove(&self, id: PubId, seq: u64) -> Option<String> {
        let publish = &self.publishes[id];
        let plan = &self.streams[publish.stream].plan;
        if plan.max_msgs == 0 && plan.max_msgs_per_subject == 0 && plan.max_bytes == 0 {
            return None;
        }
        let generation = self.generation(publish.stream, publish.generation);
        let (mut later, mut later_bytes, mut later_subject) = (0i64, 0i64, 0i64);
        for &other in &generation.publishes {
            if other == id {
                continue;
            }
            let candidate = &self.publishes[other];
            match candidate.outcome {
                PubOutcome::Acked { seq: stored, .. } if stored < seq => continue,
                PubOutcome::Duplicate { .. }
                | PubOutcome::NoResponders
                | PubOutcome::Error { limit: true, .. } => continue,
                _ => {}
            }
            later += 1;
            later_bytes += candidate.size as i64;
            if candidate.subject == publish.subject {
                later_subject += 1;
            }
        }
        if plan.max_msgs_per_subject > 0 && later_subject >= plan.max_msgs_per_subject {
            return Some(format!("max_msgs_per_subject ({later_subject} may follow)"));
        }
        if plan.discard_new {
            // Discard new refuses what would go over max_msgs or max_bytes: nothing old goes.
            return None;
        }
        if plan.max_msgs > 0 && later >= plan.max_msgs {
            return Some(format!("max_msgs ({later} may follow)"));
        }
        if plan.max_bytes > 0 && publish.size as i64 + later_bytes > plan.max_bytes {
            return Some(format!("max_bytes ({later_bytes} bytes may follow)"));
        }
        None
    }

    /// The publishes of this stream generation that sent exactly this message.
    pub fn senders_of(
        &self,
        stream: usize,
        generation: usize,
        subject: &str,
        headers: &[u8],
        payload: &[u8],
    ) -> Vec<PubId> {
        self.by_payload
            .get(payload)
            .map(|ids| {
                ids.iter()
                    .copied()
                    .filter(|&id| {
                        let p = &self.publishes[id];
                        p.stream == stream
                            && p.generation == generation
                            && p.subject == subject
                            && p.headers[..] == *headers
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Model {
    /// WORKAROUND (a core issue, see the report of seed 32): while the disk is full, a publish
    /// can be stored (its write fits) while the delete record that would enforce a discard-old
    /// limit cannot be written, so the stream keeps one message too many until a later publish
    /// enforces the limit again — across restarts too, since opening does not. The limits
    /// checker allows, per stream generation, one extra message (and its bytes) per publish
    /// that may have been stored while the disk was full: (all, on `subject`,
    /// bytes). Without disk-full faults the allowance is zero and the check is exact.
    pub fn disk_full_allowance(
        &self,
        stream: usize,
        generation: usize,
        subject: &str,
    ) -> (u64, u64, u64) {
        let mut allowance = (0, 0, 0);
        for &id in &self.generation(stream, generation).publishes {
            let p = &self.publishes[id];
            let at = match p.outcome {
                PubOutcome::Acked { at, .. } | PubOutcome::Error { at, limit: false } => at,
                PubOutcome::Pending | PubOutcome::Unknown => SimTime::MAX,
                _ => continue,
            };
            let overlaps = self
                .disk_full
                .iter()
                .any(|&(from, until)| p.sent_at <= until.unwrap_or(SimTime::MAX) && at >= from);
            if overlaps {
                allowance.0 += 1;
                allowance.1 += u64::from(p.subject == subject);
                allowance.2 += p.size;
            }
        }
        allowance
    }
}

/// Whether `purge` may have been applied after the message was stored, and selects it.
fn purge_may_remove(purge: &Purge, publish: &Publish, seq: u64) -> bool {
    // Sent in an earlier incarnation: it was applied then (before this message) or never.
    if publish.incarnation > purge.incarnation {
        return false;
    }
    // Answered before the message was sent: applied before it.
    if publish.incarnation == purge.incarnation
        && purge
            .replied_at
            .is_some_and(|replied| publish.sent_at > replied)
    {
        return false;
    }
    if purge
        .filter
        .as_ref()
        .is_some_and(|filter| *filter != publish.subject)
    {
        return false;
    }
    if purge.below_seq.is_some_and(|below| seq >= below) {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_skew_over_steps() {
        let mut model = Model::new(&[]);
        model.skews.push((100, 5));
        model.skews.push((200, -3));
        assert_eq!(model.min_skew(0, 50), 0);
        assert_eq!(model.min_skew(120, 150), 5);
        assert_eq!(model.min_skew(120, 250), -3);
        assert_eq!(model.min_skew(0, 150), 0);
    }
}
