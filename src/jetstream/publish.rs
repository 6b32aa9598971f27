//! The checks a message published to a stream goes through before it is stored, and the
//! PubAck reply, as nats-server's `processJetStreamMsg` (server/stream.go, 2.12.8).
//!
//! Order (the first failing check answers; each step checked on nats-server 2.12.8):
//! 1. sealed stream: 10109;
//! 2. only if the message has headers: `Nats-Incr` (10171 invalid, 10168 disabled);
//!    `Nats-Expected-Stream` (10060); `Nats-TTL` with a TTL (10166, TTLs are off);
//!    `Nats-Expected-Last-Subject-Sequence` (10071 with the subject's last sequence, or 10193
//!    for the `-Subject` header alone); `Nats-Expected-Last-Sequence` (10071 with the
//!    stream's); `Nats-Schedule` / `Nats-Schedule-Next: purge` (10188); `Nats-Msg-Id` within
//!    the window: a duplicate, acked with the first copy's sequence and not stored;
//!    `Nats-Expected-Last-Msg-Id` (10070); `Nats-Rollup` (10111, refused unless
//!    `allow_rollup_hdrs` and not `deny_purge`, then `sub` or `all`);
//! 3. headers plus payload over `max_msg_size`: 10054; a header block over 65,535 bytes:
//!    10097;
//! 4. an invalid `Nats-TTL`: 10165 (nats-server checks the server's and the account's
//!    resources just before this; those checks are the caller's, see below).
//!
//! A message with `Nats-Batch-Id` takes nats-server's batch path instead: sealed, max_msg_size,
//! then 10174 (atomic publish is off).
//!
//! After [`check_publish`] says [`PublishDecision::Store`], the caller (the stream, which owns
//! the store) checks the server's storage (10023), then [`check_discard_new`] (10077 with
//! `maximum messages exceeded` and friends), stores, records the id in the
//! [`DedupeWindow`] and as the last msg id, applies the rollup and replies [`pub_ack`].
//! (With interest retention and no interested consumer, nats-server skips the store but still
//! assigns and acks a sequence: that needs consumers, which are not built yet.)

use crate::jetstream::config::{DiscardPolicy, StreamConfig};
use crate::jetstream::dedupe::DedupeWindow;
use crate::jetstream::errors::{
    JsError, MAX_BYTES_EXCEEDED, MAX_MSGS_EXCEEDED, MAX_MSGS_PER_SUBJECT_EXCEEDED,
};
use crate::jetstream::headers::{PublishHeaders, Rollup, Ttl};
use crate::jetstream::json::{go_quote, go_quoted, to_json};
use crate::time::Mono;

/// nats-server refuses header blocks longer than this (`math.MaxUint16`): the store's record
/// keeps the length in 16 bits.
pub const HEADER_BYTES_MAX: usize = 65_535;

/// What the checks need to know about the stream's contents; the stream implements it over
/// its store. Only called when a header asks, so lookups may be costly.
pub trait StreamView {
    /// The last sequence assigned (nats-server's `mset.lseq`), 0 for an empty stream.
    fn last_seq(&self) -> u64;
    /// The `Nats-Msg-Id` of the last message stored, `""` if it had none.
    fn last_msg_id(&self) -> &str;
    /// The sequence of the newest message whose subject matches `filter` (which may have
    /// wildcards), `None` if there is none.
    fn last_seq_for_subject(&self, filter: &str) -> Option<u64>;
}

/// What the stream's totals are, for [`check_discard_new`].
pub trait StreamTotals {
    fn msgs(&self) -> u64;
    /// Sum of the messages' sizes as [`crate::store::msg_size_bytes`] counts them.
    fn bytes(&self) -> u64;
    /// How many messages `subject` (literal) has.
    fn subject_msgs(&self, subject: &str) -> u64;
    /// The size of the oldest message on `subject` (literal), if any.
    fn subject_first_msg_bytes(&self, subject: &str) -> Option<u64>;
}

/// A published message, as far as the checks need it.
#[derive(Clone, Copy, Debug)]
pub struct Publish<'a> {
    pub subject: &'a str,
    /// The header block as received (`b""` when none).
    pub headers: &'a [u8],
    pub payload_len: usize,
}

/// What a rollup purges once the message is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollupScope {
    /// Every older message on the message's subject.
    Subject,
    /// Every older message.
    All,
}

/// The outcome of [`check_publish`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishDecision {
    /// Store the message; then make `msg_id` the stream's last msg id (empty when `None`,
    /// as nats-server resets it), record it in the [`DedupeWindow`] (if any), and apply
    /// `rollup` (if any) keeping the new message.
    Store {
        msg_id: Option<String>,
        rollup: Option<RollupScope>,
    },
    /// A repeat of the message stored at `seq` within the duplicate window: reply
    /// [`pub_ack_duplicate`] and store nothing.
    Duplicate { seq: u64 },
    /// Refused: reply [`pub_ack_error`].
    Reject(JsError),
}

/// Runs nats-server's per-message checks (see the module docs for the order) at `now`.
pub fn check_publish(
    config: &StreamConfig,
    message: &Publish<'_>,
    view: &impl StreamView,
    dedupe: &DedupeWindow,
    now: Mono,
) -> PublishDecision {
    let headers = PublishHeaders::parse(message.headers);
    if headers.batch_id {
        let error = check_batch(config, message)
            .err()
            .unwrap_or(JsError::AtomicPublishDisabled);
        return PublishDecision::Reject(error);
    }
    if config.sealed {
        return PublishDecision::Reject(JsError::StreamSealed);
    }
    let mut decision = PublishDecision::Store {
        msg_id: None,
        rollup: None,
    };
    if !message.headers.is_empty() {
        decision = match check_headers(config, message, &headers, view, dedupe, now) {
            Ok(decision) => decision,
            Err(error) => return PublishDecision::Reject(error),
        };
        if matches!(decision, PublishDecision::Duplicate { .. }) {
            return decision;
        }
    }
    if let Err(error) = check_sizes(config, message) {
        return PublishDecision::Reject(error);
    }
    if headers.ttl == Ttl::Invalid {
        return PublishDecision::Reject(JsError::MessageTtlInvalid);
    }
    decision
}

/// nats-server's batch path before it refuses batches: sealed, then size.
fn check_batch(config: &StreamConfig, message: &Publish<'_>) -> Result<(), JsError> {
    if config.sealed {
        return Err(JsError::StreamSealed);
    }
    check_max_msg_size(config, message)
}

/// Step 2 of the module docs.
fn check_headers(
    config: &StreamConfig,
    message: &Publish<'_>,
    headers: &PublishHeaders,
    view: &impl StreamView,
    dedupe: &DedupeWindow,
    now: Mono,
) -> Result<PublishDecision, JsError> {
    match headers.incr {
        Some(false) => return Err(JsError::MessageIncrInvalid),
        Some(true) => return Err(JsError::MessageIncrDisabled),
        None => {}
    }
    if headers
        .expected_stream
        .as_ref()
        .is_some_and(|expected| *expected != config.name)
    {
        return Err(JsError::StreamNotMatch);
    }
    if headers.ttl == Ttl::Valid && !config.allow_msg_ttl {
        return Err(JsError::MessageTtlDisabled);
    }
    check_expected_sequences(message, headers, view)?;
    if headers.schedule || headers.schedule_next_purge {
        return Err(JsError::MessageSchedulesDisabled);
    }
    if let Some(seq) = headers.msg_id.as_deref().and_then(|id| dedupe.get(id, now)) {
        return Ok(PublishDecision::Duplicate { seq });
    }
    if let Some(expected) = &headers.expected_last_msg_id {
        let last = view.last_msg_id();
        if expected != last {
            return Err(JsError::StreamWrongLastMsgId(String::from(last)));
        }
    }
    let rollup = match &headers.rollup {
        None => None,
        Some(_) if !config.allow_rollup_hdrs || config.deny_purge => {
            return Err(JsError::StreamRollupFailed(String::from(
                "rollup not permitted",
            )))
        }
        Some(Rollup::Subject) => Some(RollupScope::Subject),
        Some(Rollup::All) => Some(RollupScope::All),
        Some(Rollup::Invalid(value)) => {
            return Err(JsError::StreamRollupFailed(format!(
                "rollup value invalid: {}",
                go_quoted(value)
            )))
        }
    };
    Ok(PublishDecision::Store {
        msg_id: headers.msg_id.clone(),
        rollup,
    })
}

fn check_expected_sequences(
    message: &Publish<'_>,
    headers: &PublishHeaders,
    view: &impl StreamView,
) -> Result<(), JsError> {
    if let Some(expected) = headers.expected_last_subject_seq {
        let subject = headers
            .expected_last_subject_seq_subject
            .as_deref()
            .unwrap_or(message.subject);
        // No message on the subject counts as 0, which only `...-Sequence: 0` expects.
        let last = view.last_seq_for_subject(subject).unwrap_or(0);
        if last != expected {
            return Err(JsError::StreamWrongLastSequence(last));
        }
    } else if headers.expected_last_subject_seq_subject.is_some() {
        return Err(JsError::StreamExpectedLastSeqPerSubjectInvalid);
    }
    if let Some(expected) = headers.expected_last_seq {
        let last = view.last_seq();
        if last != expected {
            return Err(JsError::StreamWrongLastSequence(last));
        }
    }
    Ok(())
}

/// Step 3 of the module docs.
fn check_sizes(config: &StreamConfig, message: &Publish<'_>) -> Result<(), JsError> {
    check_max_msg_size(config, message)?;
    if message.headers.len() > HEADER_BYTES_MAX {
        return Err(JsError::StreamHeaderExceedsMaximum);
    }
    Ok(())
}

/// Headers plus payload within `max_msg_size` (-1: no limit), compared without overflow as
/// nats-server does.
fn check_max_msg_size(config: &StreamConfig, message: &Publish<'_>) -> Result<(), JsError> {
    let Ok(max) = usize::try_from(config.max_msg_size) else {
        return Ok(());
    };
    let headers = message.headers.len();
    if headers > max || message.payload_len > max - headers {
        return Err(JsError::StreamMessageExceedsMaximum);
    }
    Ok(())
}

/// The limits a `discard: new` stream enforces by refusing the message, as nats-server's
/// stores do before writing (`storeRawMsg`): 10077 with `maximum messages per subject
/// exceeded` (only with `discard_new_per_subject`), `maximum messages exceeded` or `maximum
/// bytes exceeded`. A subject at its `max_msgs_per_subject` replaces its oldest message, so it
/// does not count against max_msgs, and against max_bytes only if that oldest message is not
/// bigger than the new one. `msg_bytes` is the new message's size as the store counts it.
///
/// `discard: old` never refuses: the store drops old messages instead.
pub fn check_discard_new(
    config: &StreamConfig,
    totals: &impl StreamTotals,
    subject: &str,
    msg_bytes: u64,
) -> Result<(), JsError> {
    if config.discard != DiscardPolicy::New {
        return Ok(());
    }
    let store_failed = |text: &str| Err(JsError::StreamStoreFailed(String::from(text)));
    let per_subject_max = u64::try_from(config.max_msgs_per_subject).unwrap_or(0);
    let at_subject_limit = per_subject_max > 0 && totals.subject_msgs(subject) >= per_subject_max;
    if at_subject_limit && config.discard_new_per_subject {
        return store_failed(MAX_MSGS_PER_SUBJECT_EXCEEDED);
    }
    if let Ok(max_msgs) = u64::try_from(config.max_msgs) {
        if max_msgs > 0 && totals.msgs() >= max_msgs && !at_subject_limit {
            return store_failed(MAX_MSGS_EXCEEDED);
        }
    }
    if let Ok(max_bytes) = u64::try_from(config.max_bytes) {
        // nats-server refuses a message that would bring the total to max_bytes exactly.
        if max_bytes > 0 && totals.bytes().saturating_add(msg_bytes) >= max_bytes {
            let replaced_bytes = if at_subject_limit {
                totals.subject_first_msg_bytes(subject).unwrap_or(0)
            } else {
                0
            };
            if !at_subject_limit || replaced_bytes <= msg_bytes {
                return store_failed(MAX_BYTES_EXCEEDED);
            }
        }
    }
    Ok(())
}

/// The PubAck for a stored message: `{"stream":"S","seq":6}`, with `"domain":"D"` before
/// `seq` when the server has a JetStream domain. nats-server writes this one with Go's `%q`,
/// not its JSON encoder (so no `\u003c` escaping here).
pub fn pub_ack(stream: &str, domain: Option<&str>, seq: u64) -> String {
    let mut out = pub_ack_prefix(stream, domain);
    out.push_str(&seq.to_string());
    out.push('}');
    out
}

/// The PubAck for a duplicate: `{"stream":"S","seq":1,"duplicate": true}` (with the space,
/// as nats-server 2.12.8 writes it).
pub fn pub_ack_duplicate(stream: &str, domain: Option<&str>, seq: u64) -> String {
    let mut out = pub_ack_prefix(stream, domain);
    out.push_str(&seq.to_string());
    out.push_str(",\"duplicate\": true}");
    out
}

fn pub_ack_prefix(stream: &str, domain: Option<&str>) -> String {
    let mut out = String::with_capacity(stream.len() + 32);
    out.push_str("{\"stream\":");
    go_quote(&mut out, stream);
    if let Some(domain) = domain {
        out.push_str(",\"domain\":");
        go_quote(&mut out, domain);
    }
    out.push_str(",\"seq\":");
    out
}

/// The PubAck for a refused message:
/// `{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 3"},"stream":"S","seq":0}`
/// (Go's JSON encoder, so HTML characters are escaped; never a domain).
pub fn pub_ack_error(stream: &str, error: &JsError) -> String {
    #[derive(serde::Serialize)]
    struct ErrorAck<'a> {
        error: crate::jetstream::errors::ApiError,
        stream: &'a str,
        seq: u64,
    }
    to_json(&ErrorAck {
        error: error.api_error(),
        stream,
        seq: 0,
    })
}

#[cfg(test)]
#[path = "publish_tests.rs"]
mod tests;
