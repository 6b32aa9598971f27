//! Direct gets (`$JS.API.DIRECT.GET.<stream>[.<subject>]`): the message itself as the
//! reply, its stream coordinates in headers, failures as a status line and no body
//! (`processDirectGetRequest`, `processDirectGetLastBySubjectRequest` and `getDirectRequest`
//! in server/stream.go, 2.12.8). Only streams with `allow_direct` subscribe to these
//! subjects; a request to any other gets nats-server's 503 no-responders.
//!
//! Unlike the JSON API, nats-server decodes a direct get body with plain `json.Unmarshal`:
//! unknown fields are ignored, and any error is `408 Malformed Request`.

use serde_json::Value;

use crate::jetstream::api::{MsgGetRequest, MsgSelector};
use crate::jetstream::decode::{FieldError, GoStruct};
use crate::jetstream::json::format_rfc3339_nano;
use crate::time::Wall;

/// Why a direct get has no message: the whole header block of the reply (which has no body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectGetStatus {
    /// `NATS/1.0 412 Required Api Level`
    RequiredApiLevel,
    /// `NATS/1.0 408 Empty Request`
    EmptyRequest,
    /// `NATS/1.0 408 Malformed Request`
    MalformedRequest,
    /// `NATS/1.0 408 Bad Request`
    BadRequest,
    /// `NATS/1.0 404 Message Not Found`
    NotFound,
}

impl DirectGetStatus {
    /// The reply's header block, byte for byte.
    pub fn header_block(self) -> &'static [u8] {
        match self {
            DirectGetStatus::RequiredApiLevel => b"NATS/1.0 412 Required Api Level\r\n\r\n",
            DirectGetStatus::EmptyRequest => b"NATS/1.0 408 Empty Request\r\n\r\n",
            DirectGetStatus::MalformedRequest => b"NATS/1.0 408 Malformed Request\r\n\r\n",
            DirectGetStatus::BadRequest => b"NATS/1.0 408 Bad Request\r\n\r\n",
            DirectGetStatus::NotFound => b"NATS/1.0 404 Message Not Found\r\n\r\n",
        }
    }
}

/// A validated direct get: which message, and whether to leave its headers out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectGet {
    pub selector: MsgSelector,
    pub no_headers: bool,
}

/// `$JS.API.DIRECT.GET.<stream>` with a JSON body. `headers` are the request's.
///
/// Batches, `multi_last` and time-based gets are answered `408 Bad Request` here: this server
/// does not implement them yet, and a status is the only way a direct get can say no.
pub fn parse_direct_get(headers: &[u8], body: &[u8]) -> Result<DirectGet, DirectGetStatus> {
    if crate::jetstream::api::requires_newer_api(headers) {
        return Err(DirectGetStatus::RequiredApiLevel);
    }
    if body.is_empty() {
        return Err(DirectGetStatus::EmptyRequest);
    }
    let request = decode_lenient(body).ok_or(DirectGetStatus::MalformedRequest)?;
    let has_seq = request.seq > 0;
    let has_last = !request.last_by_subj.is_empty();
    let has_next = !request.next_by_subj.is_empty();
    let has_multi = !request.multi_last.is_empty();
    let has_time = request.start_time.is_some();
    if !has_seq && !has_last && !has_next && !has_multi && !has_time {
        return Err(DirectGetStatus::EmptyRequest);
    }
    // nats-server's list of contradictory choices, grouped.
    let conflicting = (has_seq && (has_last || has_time))
        || (has_last && (has_time || has_next || has_multi || request.batch > 0))
        || (has_next && has_multi)
        || (request.up_to_seq > 0 && request.up_to_time.is_some());
    if conflicting {
        return Err(DirectGetStatus::BadRequest);
    }
    if request.batch > 0 || has_multi || has_time || request.up_to_seq > 0 {
        return Err(DirectGetStatus::BadRequest);
    }
    let selector = request
        .selector()
        .map_err(|_| DirectGetStatus::BadRequest)?;
    Ok(DirectGet {
        selector,
        no_headers: request.no_hdr,
    })
}

/// `$JS.API.DIRECT.GET.<stream>.<subject>`: the last message on `subject`; a body may only
/// carry `no_hdr` (anything selecting a message is `408 Bad Request`).
pub fn parse_direct_get_last(
    headers: &[u8],
    subject: &str,
    body: &[u8],
) -> Result<DirectGet, DirectGetStatus> {
    if crate::jetstream::api::requires_newer_api(headers) {
        return Err(DirectGetStatus::RequiredApiLevel);
    }
    let request = if body.is_empty() {
        MsgGetRequest::default()
    } else {
        decode_lenient(body).ok_or(DirectGetStatus::MalformedRequest)?
    };
    if subject.is_empty() {
        return Err(DirectGetStatus::BadRequest);
    }
    let selects = !request.last_by_subj.is_empty()
        || !request.next_by_subj.is_empty()
        || !request.multi_last.is_empty()
        || request.seq != 0
        || request.batch != 0
        || request.start_time.is_some()
        || request.up_to_seq != 0
        || request.up_to_time.is_some();
    if selects {
        return Err(DirectGetStatus::BadRequest);
    }
    Ok(DirectGet {
        selector: MsgSelector::LastBySubject(String::from(subject)),
        no_headers: request.no_hdr,
    })
}

/// Go's `json.Unmarshal` into `JSApiMsgGetRequest`: one JSON value, unknown keys ignored,
/// any error (including a type error) is `None`.
fn decode_lenient(body: &[u8]) -> Option<MsgGetRequest> {
    let mut request = MsgGetRequest::default();
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Null => {}
        Value::Object(entries) => {
            for (key, value) in &entries {
                let Some(field) = MsgGetRequest::FIELDS
                    .iter()
                    .find(|f| **f == key || f.eq_ignore_ascii_case(key))
                else {
                    continue;
                };
                let result: Result<(), FieldError> = request.set_field(field, value);
                result.ok()?;
            }
        }
        _ => return None,
    }
    Some(request)
}

/// The header block of a direct get reply for a stored message: its own headers (if any and
/// not dropped by `no_hdr`) followed by `Nats-Stream`, `Nats-Subject`, `Nats-Sequence` and
/// `Nats-Time-Stamp`, as nats-server's `genHeader` appends them. `None` when `no_headers`
/// (the reply then has no headers at all).
pub fn direct_get_headers(
    stored_headers: &[u8],
    stream: &str,
    subject: &str,
    seq: u64,
    timestamp: Wall,
    no_headers: bool,
) -> Option<Vec<u8>> {
    if no_headers {
        return None;
    }
    let mut block = Vec::with_capacity(stored_headers.len() + 96 + stream.len() + subject.len());
    // genHeader keeps the block up to its final blank line, or starts a new one.
    if stored_headers.len() > 2 {
        block.extend_from_slice(&stored_headers[..stored_headers.len() - 2]);
    } else {
        block.extend_from_slice(b"NATS/1.0\r\n");
    }
    for (key, value) in [
        ("Nats-Stream", stream),
        ("Nats-Subject", subject),
        ("Nats-Sequence", &seq.to_string()),
        ("Nats-Time-Stamp", &format_rfc3339_nano(timestamp)),
    ] {
        block.extend_from_slice(key.as_bytes());
        block.extend_from_slice(b": ");
        block.extend_from_slice(value.as_bytes());
        block.extend_from_slice(b"\r\n");
    }
    block.extend_from_slice(b"\r\n");
    Some(block)
}
