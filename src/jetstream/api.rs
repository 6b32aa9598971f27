//! The `$JS.API.` request subjects and request bodies (server/jetstream_api.go, 2.12.8).
//!
//! nats-server routes an API request by matching its subject against a fixed table of
//! patterns (`$JS.API.STREAM.CREATE.*`, ...), so the number of tokens must be exact:
//! `$JS.API.STREAM.CREATE.a.b` matches nothing. A subject under `$JS.API.` that matches no
//! pattern gets no reply at all (the requester times out; checked on 2.12.8), and neither do
//! the system-account-only `META.`, `SERVER.` and `ACCOUNT.` ones. Direct gets are not in that
//! table: each stream with `allow_direct` subscribes to its own `$JS.API.DIRECT.GET.<name>`,
//! so a direct get to any other stream finds no subscriber (503 no responders).
//!
//! Handling order, as nats-server's handlers: a `Nats-Required-Api-Level` above ours
//! ([`requires_newer_api`], 10185) first, then the body, then the stream lookup (10059).
//! Bodies: see each request type for when nats-server decodes it at all. Decoding follows
//! Go's strict rules (`decode.rs`); the errors are [`JsError::InvalidJson`].

use serde_json::Value;

use crate::jetstream::decode::{self, set_bool, set_i64, set_string, set_strings, set_u64};
use crate::jetstream::decode::{FieldError, GoStruct};
use crate::jetstream::errors::JsError;
use crate::jetstream::headers::requires_higher_api_level;
use crate::jetstream::validate::API_LEVEL;

/// Every API subject starts with this.
pub const API_PREFIX: &str = "$JS.API.";
/// STREAM.LIST pages hold at most this many streams (nats-server `JSApiListLimit`).
pub const LIST_LIMIT: usize = 256;
/// STREAM.NAMES pages hold at most this many names (nats-server `JSApiNamesLimit`).
pub const NAMES_LIMIT: usize = 1024;

/// What an API subject asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiSubject<'a> {
    /// `$JS.API.INFO`: the account's usage and limits.
    AccountInfo,
    StreamCreate {
        stream: &'a str,
    },
    StreamUpdate {
        stream: &'a str,
    },
    StreamInfo {
        stream: &'a str,
    },
    StreamDelete {
        stream: &'a str,
    },
    StreamPurge {
        stream: &'a str,
    },
    StreamMsgGet {
        stream: &'a str,
    },
    StreamMsgDelete {
        stream: &'a str,
    },
    StreamList,
    StreamNames,
    /// `$JS.API.DIRECT.GET.<stream>`, a JSON body saying which message.
    DirectGet {
        stream: &'a str,
    },
    /// `$JS.API.DIRECT.GET.<stream>.<subject>`: the last message on `subject`.
    DirectGetLastBySubject {
        stream: &'a str,
        subject: &'a str,
    },
    /// An API nats-server serves that this server does not yet (consumers, snapshots, ...):
    /// answer with this response type and [`JsError::NotSupported`] rather than silence.
    NotSupported {
        response_type: &'static str,
        what: &'static str,
    },
    /// Not answered, as nats-server does not answer it.
    Unanswered,
}

/// Classifies `subject`; `None` when it is not under `$JS.API.` at all.
pub fn parse_api_subject(subject: &str) -> Option<ApiSubject<'_>> {
    let rest = subject.strip_prefix(API_PREFIX)?;
    let tokens: Vec<&str> = rest.split('.').collect();
    if tokens.iter().any(|token| token.is_empty()) {
        // A subject with an empty token matches no subscription, not even `$JS.API.>`.
        return Some(ApiSubject::Unanswered);
    }
    Some(match tokens.as_slice() {
        ["INFO"] => ApiSubject::AccountInfo,
        ["STREAM", "NAMES"] => ApiSubject::StreamNames,
        ["STREAM", "LIST"] => ApiSubject::StreamList,
        ["STREAM", "TEMPLATE", "NAMES"] => {
            unsupported("stream_template_names_response", "stream templates")
        }
        ["STREAM", verb, stream] => stream_verb(verb, stream),
        ["STREAM", "MSG", "GET", stream] => ApiSubject::StreamMsgGet { stream },
        ["STREAM", "MSG", "DELETE", stream] => ApiSubject::StreamMsgDelete { stream },
        ["DIRECT", "GET", stream] => ApiSubject::DirectGet { stream },
        ["DIRECT", "GET", stream, ..] => {
            // The subject is everything after the fifth token of the full subject.
            let prefix_len = API_PREFIX.len() + "DIRECT.GET.".len() + stream.len() + 1;
            ApiSubject::DirectGetLastBySubject {
                stream,
                subject: &subject[prefix_len..],
            }
        }
        other => not_supported(other),
    })
}

fn stream_verb<'a>(verb: &str, stream: &'a str) -> ApiSubject<'a> {
    match verb {
        "CREATE" => ApiSubject::StreamCreate { stream },
        "UPDATE" => ApiSubject::StreamUpdate { stream },
        "INFO" => ApiSubject::StreamInfo { stream },
        "DELETE" => ApiSubject::StreamDelete { stream },
        "PURGE" => ApiSubject::StreamPurge { stream },
        "SNAPSHOT" => unsupported("stream_snapshot_response", "stream snapshots"),
        "RESTORE" => unsupported("stream_restore_response", "stream restores"),
        _ => ApiSubject::Unanswered,
    }
}

/// The other patterns of nats-server's API table, by token count.
fn not_supported<'a>(tokens: &[&str]) -> ApiSubject<'a> {
    const CONSUMERS: &str = "consumers";
    match tokens {
        ["STREAM", "PEER", "REMOVE", _] => unsupported("stream_remove_peer_response", "clustering"),
        ["STREAM", "LEADER", "STEPDOWN", _] => {
            unsupported("stream_leader_stepdown_response", "clustering")
        }
        ["STREAM", "TEMPLATE", "CREATE" | "INFO" | "DELETE", _] => {
            unsupported(template_response(tokens[2]), "stream templates")
        }
        ["CONSUMER", "CREATE", _] | ["CONSUMER", "CREATE", _, _, ..] => {
            unsupported("consumer_create_response", CONSUMERS)
        }
        ["CONSUMER", "DURABLE", "CREATE", _, _] => {
            unsupported("consumer_create_response", CONSUMERS)
        }
        ["CONSUMER", "NAMES", _] => unsupported("consumer_names_response", CONSUMERS),
        ["CONSUMER", "LIST", _] => unsupported("consumer_list_response", CONSUMERS),
        ["CONSUMER", "INFO", _, _] => unsupported("consumer_info_response", CONSUMERS),
        ["CONSUMER", "DELETE", _, _] => unsupported("consumer_delete_response", CONSUMERS),
        ["CONSUMER", "PAUSE", _, _] => unsupported("consumer_pause_response", CONSUMERS),
        ["CONSUMER", "UNPIN", _, _] => unsupported("consumer_unpin_response", CONSUMERS),
        ["CONSUMER", "LEADER", "STEPDOWN", _, _] => {
            unsupported("consumer_leader_stepdown_response", CONSUMERS)
        }
        // CONSUMER.MSG.NEXT is a subscription of each pull consumer: with no consumer there is
        // no subscriber (503), like META., SERVER. and ACCOUNT. for a client account.
        _ => ApiSubject::Unanswered,
    }
}

fn template_response(verb: &str) -> &'static str {
    match verb {
        "CREATE" => "stream_template_create_response",
        "INFO" => "stream_template_info_response",
        _ => "stream_template_delete_response",
    }
}

fn unsupported<'a>(response_type: &'static str, what: &'static str) -> ApiSubject<'a> {
    ApiSubject::NotSupported {
        response_type,
        what,
    }
}

/// Whether an API request's headers ask for a higher API level than ours (answered with
/// [`JsError::RequiredApiLevel`], or `412 Required Api Level` on a direct get).
pub fn requires_newer_api(headers: &[u8]) -> bool {
    requires_higher_api_level(headers, API_LEVEL)
}

/// nats-server's `isJSONObjectOrArray`: NAMES, LIST, INFO and PURGE only decode a body that
/// starts (after white space) with `{` or `[`; anything else is ignored, as if empty.
pub fn is_json_object_or_array(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|b| *b == b'{' || *b == b'[')
}

/// nats-server's `isEmptyRequest`: no body, or a JSON object with no keys. STREAM.DELETE
/// requires one (10038), MSG.GET and MSG.DELETE refuse one (10003).
pub fn is_empty_request(body: &[u8]) -> bool {
    if body.is_empty() || body == b"{}" {
        return true;
    }
    matches!(
        serde_json::from_slice::<Value>(body),
        Ok(Value::Object(map)) if map.is_empty()
    )
}

/// STREAM.NAMES and STREAM.LIST: `{"offset": n, "subject": "filter"}`, both optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamListRequest {
    /// Negative is read as 0.
    pub offset: i64,
    /// Only streams with a subject overlapping this one; empty for all.
    pub subject: String,
}

/// STREAM.INFO: `{"offset", "deleted_details", "subjects_filter"}`. The two details need the
/// store (`state.deleted`, `state.subjects`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamInfoRequest {
    pub offset: i64,
    pub deleted_details: bool,
    pub subjects_filter: String,
}

/// STREAM.PURGE: `{"filter", "seq", "keep"}`, all optional; `seq` (purge below it) and `keep`
/// (keep the newest N) exclude each other (10003).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeRequest {
    pub seq: u64,
    pub filter: String,
    pub keep: u64,
}

/// STREAM.MSG.GET and DIRECT.GET: which message (`seq`, `last_by_subj`, `next_by_subj`).
/// The batch and time fields are parsed so that they can be refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MsgGetRequest {
    pub seq: u64,
    pub last_by_subj: String,
    pub next_by_subj: String,
    pub batch: i64,
    pub max_bytes: i64,
    /// RFC 3339, as sent; not supported yet.
    pub start_time: Option<String>,
    pub multi_last: Vec<String>,
    pub up_to_seq: u64,
    /// RFC 3339, as sent; not supported yet.
    pub up_to_time: Option<String>,
    pub no_hdr: bool,
}

/// STREAM.MSG.DELETE: `{"seq", "no_erase"}` (erasing overwrites the payload on disk).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MsgDeleteRequest {
    pub seq: u64,
    pub no_erase: bool,
}

/// Which message a get asks for, once the request is validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MsgSelector {
    /// The message at this sequence.
    Seq(u64),
    /// The newest message matching this subject (which may have wildcards).
    LastBySubject(String),
    /// The first message at or after `from_seq` matching `subject`.
    NextBySubject { subject: String, from_seq: u64 },
}

/// The body of STREAM.NAMES / STREAM.LIST as nats-server reads it (ignored unless it is an
/// object or array).
pub fn decode_list_request(body: &[u8], names: bool) -> Result<StreamListRequest, JsError> {
    if !is_json_object_or_array(body) {
        return Ok(StreamListRequest::default());
    }
    let decoded = if names {
        decode::decode::<NamesBody>(body).map(|b| b.0)
    } else {
        decode::decode::<ListBody>(body).map(|b| b.0)
    };
    decoded.map_err(JsError::InvalidJson)
}

/// The body of STREAM.INFO as nats-server reads it (ignored unless object or array).
pub fn decode_info_request(body: &[u8]) -> Result<StreamInfoRequest, JsError> {
    if !is_json_object_or_array(body) {
        return Ok(StreamInfoRequest::default());
    }
    decode::decode(body).map_err(JsError::InvalidJson)
}

/// The body of STREAM.PURGE as nats-server reads it: `None` when ignored (purge everything).
pub fn decode_purge_request(body: &[u8]) -> Result<Option<PurgeRequest>, JsError> {
    if !is_json_object_or_array(body) {
        return Ok(None);
    }
    let request: PurgeRequest = decode::decode(body).map_err(JsError::InvalidJson)?;
    if request.seq > 0 && request.keep > 0 {
        return Err(JsError::BadRequest);
    }
    Ok(Some(request))
}

/// STREAM.MSG.GET's body, validated as nats-server does before looking the stream up:
/// empty → 10003, bad JSON → 10025, batch or max_bytes → 10003, a contradictory or empty
/// choice → 10003.
pub fn decode_msg_get_request(body: &[u8]) -> Result<MsgGetRequest, JsError> {
    if is_empty_request(body) {
        return Err(JsError::BadRequest);
    }
    let request: MsgGetRequest = decode::decode(body).map_err(JsError::InvalidJson)?;
    if request.batch > 0 || request.max_bytes > 0 {
        return Err(JsError::BadRequest);
    }
    let has_seq = request.seq > 0;
    let has_last = !request.last_by_subj.is_empty();
    let has_next = !request.next_by_subj.is_empty();
    let has_time = request.start_time.is_some();
    if (has_seq && has_last)
        || (!has_seq && !has_last && !has_next && !has_time)
        || (has_seq && has_time)
        || (has_time && has_last)
        || (has_last && has_next)
    {
        return Err(JsError::BadRequest);
    }
    Ok(request)
}

/// STREAM.MSG.DELETE's body: empty → 10003, bad JSON → 10025.
pub fn decode_msg_delete_request(body: &[u8]) -> Result<MsgDeleteRequest, JsError> {
    if is_empty_request(body) {
        return Err(JsError::BadRequest);
    }
    decode::decode(body).map_err(JsError::InvalidJson)
}

/// STREAM.DELETE takes no body (10038 otherwise).
pub fn check_delete_request(body: &[u8]) -> Result<(), JsError> {
    if is_empty_request(body) {
        Ok(())
    } else {
        Err(JsError::NotEmptyRequest)
    }
}

impl MsgGetRequest {
    /// Which message to load, for the parts this server supports (time-based and
    /// multi-subject gets are refused by name).
    pub fn selector(&self) -> Result<MsgSelector, JsError> {
        if self.start_time.is_some() || self.up_to_time.is_some() {
            return Err(JsError::NotSupported("getting messages by time"));
        }
        if !self.multi_last.is_empty() || self.up_to_seq > 0 {
            return Err(JsError::NotSupported("multi_last and up_to_seq"));
        }
        Ok(if !self.next_by_subj.is_empty() {
            MsgSelector::NextBySubject {
                subject: self.next_by_subj.clone(),
                from_seq: self.seq,
            }
        } else if !self.last_by_subj.is_empty() {
            MsgSelector::LastBySubject(self.last_by_subj.clone())
        } else {
            MsgSelector::Seq(self.seq)
        })
    }
}

/// The error a MSG.DELETE of a missing message gets, as nats-server's store answers: past the
/// last sequence 10057 `stream store EOF`; below the first message (`first_seq`) 10057 `no
/// message found`; a gap between them (already deleted) 10043 `sequence N not found`.
pub fn msg_delete_missing(seq: u64, first_seq: u64, last_seq: u64) -> JsError {
    if seq > last_seq {
        JsError::StreamMsgDeleteFailed(String::from("stream store EOF"))
    } else if seq < first_seq {
        JsError::StreamMsgDeleteFailed(String::from("no message found"))
    } else {
        JsError::SequenceNotFound(seq)
    }
}

// Go struct layouts, for decoding. nats-server embeds `ApiPagedRequest` (the `offset`), so
// its path carries that struct's name.

#[derive(Default)]
struct NamesBody(StreamListRequest);

#[derive(Default)]
struct ListBody(StreamListRequest);

fn set_list_field(
    request: &mut StreamListRequest,
    field: &str,
    value: &Value,
) -> Result<(), FieldError> {
    match field {
        "offset" => set_i64(&mut request.offset, value, "int"),
        _ => set_string(&mut request.subject, value),
    }
}

fn paged_path(go_struct: &str, field: &str) -> String {
    if field == "offset" {
        format!("{go_struct}.ApiPagedRequest.offset")
    } else {
        format!("{go_struct}.{field}")
    }
}

impl GoStruct for NamesBody {
    const GO_TYPE: &'static str = "server.JSApiStreamNamesRequest";
    const FIELDS: &'static [&'static str] = &["offset", "subject"];
    fn field_path(field: &'static str) -> String {
        paged_path("JSApiStreamNamesRequest", field)
    }
    fn set_field(&mut self, field: &'static str, value: &Value) -> Result<(), FieldError> {
        set_list_field(&mut self.0, field, value)
    }
}

impl GoStruct for ListBody {
    const GO_TYPE: &'static str = "server.JSApiStreamListRequest";
    const FIELDS: &'static [&'static str] = &["offset", "subject"];
    fn field_path(field: &'static str) -> String {
        paged_path("JSApiStreamListRequest", field)
    }
    fn set_field(&mut self, field: &'static str, value: &Value) -> Result<(), FieldError> {
        set_list_field(&mut self.0, field, value)
    }
}

impl GoStruct for StreamInfoRequest {
    const GO_TYPE: &'static str = "server.JSApiStreamInfoRequest";
    const FIELDS: &'static [&'static str] = &["offset", "deleted_details", "subjects_filter"];
    fn field_path(field: &'static str) -> String {
        paged_path("JSApiStreamInfoRequest", field)
    }
    fn set_field(&mut self, field: &'static str, value: &Value) -> Result<(), FieldError> {
        match field {
            "offset" => set_i64(&mut self.offset, value, "int"),
            "deleted_details" => set_bool(&mut self.deleted_details, value),
            _ => set_string(&mut self.subjects_filter, value),
        }
    }
}

impl GoStruct for PurgeRequest {
    const GO_TYPE: &'static str = "server.JSApiStreamPurgeRequest";
    const FIELDS: &'static [&'static str] = &["seq", "filter", "keep"];
    fn field_path(field: &'static str) -> String {
        format!("JSApiStreamPurgeRequest.{field}")
    }
    fn set_field(&mut self, field: &'static str, value: &Value) -> Result<(), FieldError> {
        match field {
            "seq" => set_u64(&mut self.seq, value),
            "filter" => set_string(&mut self.filter, value),
            _ => set_u64(&mut self.keep, value),
        }
    }
}

impl GoStruct for MsgGetRequest {
    const GO_TYPE: &'static str = "server.JSApiMsgGetRequest";
    const FIELDS: &'static [&'static str] = &[
        "seq",
        "last_by_subj",
        "next_by_subj",
        "batch",
        "max_bytes",
        "start_time",
        "multi_last",
        "up_to_seq",
        "up_to_time",
        "no_hdr",
    ];
    fn field_path(field: &'static str) -> String {
        format!("JSApiMsgGetRequest.{field}")
    }
    fn set_field(&mut self, field: &'static str, value: &Value) -> Result<(), FieldError> {
        match field {
            "seq" => set_u64(&mut self.seq, value),
            "last_by_subj" => set_string(&mut self.last_by_subj, value),
            "next_by_subj" => set_string(&mut self.next_by_subj, value),
            "batch" => set_i64(&mut self.batch, value, "int"),
            "max_bytes" => set_i64(&mut self.max_bytes, value, "int"),
            "start_time" => set_time(&mut self.start_time, value),
            "multi_last" => set_strings(&mut self.multi_last, value),
            "up_to_seq" => set_u64(&mut self.up_to_seq, value),
            "up_to_time" => set_time(&mut self.up_to_time, value),
            _ => set_bool(&mut self.no_hdr, value),
        }
    }
}

/// A Go `*time.Time`: kept as the string sent (this server refuses time-based gets).
fn set_time(slot: &mut Option<String>, value: &Value) -> Result<(), FieldError> {
    match value {
        Value::Null => *slot = None,
        Value::String(text) => *slot = Some(text.clone()),
        other => {
            return Err(FieldError::Type {
                found: String::from(decode::kind(other)),
                go_type: "time.Time",
                nested: None,
            })
        }
    }
    Ok(())
}

impl GoStruct for MsgDeleteRequest {
    const GO_TYPE: &'static str = "server.JSApiMsgDeleteRequest";
    const FIELDS: &'static [&'static str] = &["seq", "no_erase"];
    fn field_path(field: &'static str) -> String {
        format!("JSApiMsgDeleteRequest.{field}")
    }
    fn set_field(&mut self, field: &'static str, value: &Value) -> Result<(), FieldError> {
        match field {
            "seq" => set_u64(&mut self.seq, value),
            _ => set_bool(&mut self.no_erase, value),
        }
    }
}

/// A page of a sorted list as nats-server cuts it: `offset` clamped to `[0, total]`, at most
/// `limit` items. Returns (page, total, offset used).
pub fn page<T>(mut sorted: Vec<T>, offset: i64, limit: usize) -> (Vec<T>, usize, usize) {
    let total = sorted.len();
    let offset = usize::try_from(offset.max(0))
        .unwrap_or(usize::MAX)
        .min(total);
    let page: Vec<T> = sorted.drain(offset..).take(limit).collect();
    (page, total, offset)
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
