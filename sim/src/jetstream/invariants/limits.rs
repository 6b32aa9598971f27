//! Retention limits hold: STREAM.INFO never reports more messages than max_msgs, more bytes
//! than max_bytes, or more messages on one subject than max_msgs_per_subject.
//!
//! Source: NATS docs, JetStream stream configuration (MaxMsgs, MaxBytes, MaxMsgsPerSubject,
//! Discard policy); DESIGN.md ("retention limits hold").

//!
//! While the disk is full the stream may keep one message too many per publish stored then
//! (a core issue the simulator found; see [`Model::disk_full_allowance`], a marked workaround).

use crate::invariants::Verdict;
use crate::jetstream::json::Json;
use crate::jetstream::model::Model;

pub const NAME: &str = "limits";

pub fn on_info(
    model: &Model,
    (stream, generation): (usize, usize),
    state: &Json,
    verdict: &mut Verdict,
) {
    let plan = &model.streams[stream].plan;
    let field = |name: &str| state.get(name).and_then(Json::as_u64).unwrap_or(0);
    let (messages, bytes) = (field("messages"), field("bytes"));
    let (extra_msgs, _, extra_bytes) = model.disk_full_allowance(stream, generation, "");
    verdict.checked(NAME, 1);
    if plan.max_msgs > 0 && messages > plan.max_msgs as u64 + extra_msgs {
        verdict.fail(
            NAME,
            format!(
                "stream {}: {messages} messages over max_msgs {} (+{extra_msgs} allowed for a \
                 full disk)",
                plan.name, plan.max_msgs
            ),
        );
    }
    if plan.max_bytes > 0 && bytes > plan.max_bytes as u64 + extra_bytes {
        verdict.fail(
            NAME,
            format!(
                "stream {}: {bytes} bytes over max_bytes {} (+{extra_bytes} allowed for a full \
                 disk)",
                plan.name, plan.max_bytes
            ),
        );
    }
    if plan.max_msgs_per_subject <= 0 {
        return;
    }
    let Some(subjects) = state.get("subjects").and_then(Json::as_object) else {
        return;
    };
    for (subject, count) in subjects {
        let count = count.as_u64().unwrap_or(0);
        let (_, extra, _) = model.disk_full_allowance(stream, generation, subject);
        if count > plan.max_msgs_per_subject as u64 + extra {
            verdict.fail(
                NAME,
                format!(
                    "stream {}: {count} messages on {subject} over max_msgs_per_subject {} \
                     (+{extra} allowed for a full disk)",
                    plan.name, plan.max_msgs_per_subject
                ),
            );
        }
    }
}
