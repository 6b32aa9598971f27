//! The JSON replies of the stream API, field for field as nats-server 2.12.8 writes them
//! (`JSApi*Response` in server/jetstream_api.go; the fixtures in `responses_tests.rs` were
//! recorded from it).
//!
//! Every reply starts with `"type"` and, on failure, `"error"`; what follows the error differs
//! by reply, because Go marshals the whole struct: an INFO error still carries
//! `"total":0,"offset":0,"limit":0`, a PURGE error `"purged":0`, a NAMES error also
//! `"streams":null`. Each reply type here has an `ok` and an `error` constructor producing
//! exactly that, and [`to_json`] renders it.
//!
//! Times are [`Wall`]s the caller stamps (`created` when the stream was made, `ts` now); an
//! empty stream's first/last times are `None` (Go's zero time).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::jetstream::api::{LIST_LIMIT, NAMES_LIMIT};
use crate::jetstream::config::StreamConfig;
use crate::jetstream::errors::{ApiError, JsError};
use crate::jetstream::json::{serialize_base64, serialize_wall, serialize_wall_or_zero, to_json};
use crate::jetstream::validate::{with_dynamic_metadata, API_LEVEL};
use crate::time::Wall;

/// The `type` of each reply.
pub mod response_type {
    pub const ACCOUNT_INFO: &str = "io.nats.jetstream.api.v1.account_info_response";
    pub const STREAM_CREATE: &str = "io.nats.jetstream.api.v1.stream_create_response";
    pub const STREAM_UPDATE: &str = "io.nats.jetstream.api.v1.stream_update_response";
    pub const STREAM_INFO: &str = "io.nats.jetstream.api.v1.stream_info_response";
    pub const STREAM_LIST: &str = "io.nats.jetstream.api.v1.stream_list_response";
    pub const STREAM_NAMES: &str = "io.nats.jetstream.api.v1.stream_names_response";
    pub const STREAM_DELETE: &str = "io.nats.jetstream.api.v1.stream_delete_response";
    pub const STREAM_PURGE: &str = "io.nats.jetstream.api.v1.stream_purge_response";
    pub const STREAM_MSG_GET: &str = "io.nats.jetstream.api.v1.stream_msg_get_response";
    pub const STREAM_MSG_DELETE: &str = "io.nats.jetstream.api.v1.stream_msg_delete_response";
    /// nats-server's reply to an API request it cannot route.
    pub const SYSTEM: &str = "io.nats.jetstream.api.v1.system_response";
    /// The prefix of every type: `NotSupported` APIs append their own suffix.
    pub const PREFIX: &str = "io.nats.jetstream.api.v1.";
}

/// A stream's totals (`StreamState` in server/store.go).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StreamState {
    pub messages: u64,
    pub bytes: u64,
    pub first_seq: u64,
    #[serde(serialize_with = "serialize_wall_or_zero")]
    pub first_ts: Option<Wall>,
    pub last_seq: u64,
    #[serde(serialize_with = "serialize_wall_or_zero")]
    pub last_ts: Option<Wall>,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_subjects: u64,
    /// Per-subject counts, only when STREAM.INFO asked with `subjects_filter`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub subjects: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_deleted: u64,
    /// Deleted sequences, only when STREAM.INFO asked with `deleted_details`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<u64>,
    pub consumer_count: u64,
}

/// Who leads the stream: on a single server, the server itself (its name, which defaults to
/// its id). Only STREAM.INFO reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterInfo {
    pub leader: String,
}

/// A stream's config and state (`StreamInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StreamInfo {
    pub config: StreamConfig,
    #[serde(serialize_with = "serialize_wall")]
    pub created: Wall,
    pub state: StreamState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    /// When this info was gathered.
    #[serde(rename = "ts", serialize_with = "serialize_wall")]
    pub timestamp: Wall,
}

impl StreamInfo {
    /// The info as CREATE, UPDATE and INFO report it: the config with `_nats.ver` and
    /// `_nats.level` added. STREAM.LIST reports the stored config as is.
    pub fn reported(config: &StreamConfig, created: Wall, state: StreamState, now: Wall) -> Self {
        StreamInfo {
            config: with_dynamic_metadata(config),
            created,
            state,
            domain: None,
            cluster: None,
            timestamp: now,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// STREAM.CREATE's reply. nats-server sets `did_create` on every success, also when the
/// stream already existed with the same config.
#[derive(Clone, Debug, Serialize)]
pub struct StreamCreateResponse {
    #[serde(rename = "type")]
    pub response_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub info: Option<StreamInfo>,
    #[serde(skip_serializing_if = "is_false")]
    pub did_create: bool,
}

impl StreamCreateResponse {
    pub fn ok(info: StreamInfo) -> Self {
        StreamCreateResponse {
            response_type: response_type::STREAM_CREATE,
            error: None,
            info: Some(info),
            did_create: true,
        }
    }

    pub fn error(error: &JsError) -> Self {
        StreamCreateResponse {
            response_type: response_type::STREAM_CREATE,
            error: Some(error.api_error()),
            info: None,
            did_create: false,
        }
    }
}

/// STREAM.UPDATE's reply.
#[derive(Clone, Debug, Serialize)]
pub struct StreamUpdateResponse {
    #[serde(rename = "type")]
    pub response_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub info: Option<StreamInfo>,
}

impl StreamUpdateResponse {
    pub fn ok(info: StreamInfo) -> Self {
        StreamUpdateResponse {
            response_type: response_type::STREAM_UPDATE,
            error: None,
            info: Some(info),
        }
    }

    pub fn error(error: &JsError) -> Self {
        StreamUpdateResponse {
            response_type: response_type::STREAM_UPDATE,
            error: Some(error.api_error()),
            info: None,
        }
    }
}

/// STREAM.INFO's reply. The paging fields describe `state.subjects` and are zero otherwise.
#[derive(Clone, Debug, Serialize)]
pub struct StreamInfoResponse {
    #[serde(rename = "type")]
    pub response_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub info: Option<StreamInfo>,
}

/// nats-server's `JSMaxSubjectDetails`: STREAM.INFO pages `state.subjects` by this many.
pub const SUBJECT_DETAILS_LIMIT: usize = 100_000;

impl StreamInfoResponse {
    /// `server_name` becomes `cluster.leader`, as a single nats-server reports itself.
    pub fn ok(mut info: StreamInfo, server_name: &str) -> Self {
        info.cluster = Some(ClusterInfo {
            leader: String::from(server_name),
        });
        StreamInfoResponse {
            response_type: response_type::STREAM_INFO,
            error: None,
            total: 0,
            offset: 0,
            limit: 0,
            info: Some(info),
        }
    }

    /// Sets the paging of `state.subjects` (total matching subjects, the offset used), as
    /// nats-server does whenever a `subjects_filter` matched something.
    pub fn with_subjects_page(mut self, total: usize, offset: usize) -> Self {
        self.total = total;
        self.offset = offset;
        self.limit = SUBJECT_DETAILS_LIMIT;
        self
    }

    pub fn error(error: &JsError) -> Self {
        StreamInfoResponse {
            response_type: response_type::STREAM_INFO,
            error: Some(error.api_error()),
            total: 0,
            offset: 0,
            limit: 0,
            info: None,
        }
    }
}

/// STREAM.LIST's reply: a page of infos sorted by name (at most [`LIST_LIMIT`]).
#[derive(Clone, Debug, Serialize)]
pub struct StreamListResponse {
    #[serde(rename = "type")]
    pub response_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub streams: Vec<StreamInfo>,
}

impl StreamListResponse {
    pub fn ok(streams: Vec<StreamInfo>, total: usize, offset: usize) -> Self {
        StreamListResponse {
            response_type: response_type::STREAM_LIST,
            error: None,
            total,
            offset,
            limit: LIST_LIMIT,
            streams,
        }
    }

    pub fn error(error: &JsError) -> Self {
        StreamListResponse {
            response_type: response_type::STREAM_LIST,
            error: Some(error.api_error()),
            total: 0,
            offset: 0,
            limit: 0,
            streams: Vec::new(),
        }
    }
}

/// STREAM.NAMES's reply: a page of names sorted (at most [`NAMES_LIMIT`]); Go writes an
/// empty page as `null`.
#[derive(Clone, Debug, Serialize)]
pub struct StreamNamesResponse {
    #[serde(rename = "type")]
    pub response_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub streams: Option<Vec<String>>,
}

impl StreamNamesResponse {
    pub fn ok(names: Vec<String>, total: usize, offset: usize) -> Self {
        StreamNamesResponse {
            response_type: response_type::STREAM_NAMES,
            error: None,
            total,
            offset,
            limit: NAMES_LIMIT,
            streams: (!names.is_empty()).then_some(names),
        }
    }

    pub fn error(error: &JsError) -> Self {
        StreamNamesResponse {
            response_type: response_type::STREAM_NAMES,
            error: Some(error.api_error()),
            total: 0,
            offset: 0,
            limit: 0,
            streams: None,
        }
    }
}

/// The reply of STREAM.DELETE, STREAM.MSG.DELETE and the unsupported APIs:
/// `{"type":...,"success":true}` or `{"type":...,"error":...}`.
#[derive(Clone, Debug, Serialize)]
pub struct SuccessResponse {
    #[serde(rename = "type")]
    pub response_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(skip_serializing_if = "is_false")]
    pub success: bool,
}

impl SuccessResponse {
    pub fn ok(response_type: &'static str) -> Self {
        SuccessResponse {
            response_type,
            error: None,
            success: true,
        }
    }

    pub fn error(response_type: &'static str, error: &JsError) -> Self {
        SuccessResponse {
            response_type,
            error: Some(error.api_error()),
            success: false,
        }
    }
}

/// Renders the reply to an API this server does not implement (see
/// [`ApiSubject::NotSupported`](crate::jetstream::api::ApiSubject::NotSupported)): its own
/// response type and a 10003 naming what is missing.
pub fn not_supported_reply(response_type_suffix: &str, what: &'static str) -> String {
    #[derive(Serialize)]
    struct Reply {
        #[serde(rename = "type")]
        response_type: String,
        error: ApiError,
    }
    to_json(&Reply {
        response_type: format!("{}{response_type_suffix}", response_type::PREFIX),
        error: JsError::NotSupported(what).api_error(),
    })
}

/// STREAM.PURGE's reply: `purged` is written even on error (0).
#[derive(Clone, Debug, Serialize)]
pub struct StreamPurgeResponse {
    #[serde(rename = "type")]
    pub response_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(skip_serializing_if = "is_false")]
    pub success: bool,
    pub purged: u64,
}

impl StreamPurgeResponse {
    pub fn ok(purged: u64) -> Self {
        StreamPurgeResponse {
            response_type: response_type::STREAM_PURGE,
            error: None,
            success: true,
            purged,
        }
    }

    pub fn error(error: &JsError) -> Self {
        StreamPurgeResponse {
            response_type: response_type::STREAM_PURGE,
            error: Some(error.api_error()),
            success: false,
            purged: 0,
        }
    }
}

/// A message as STREAM.MSG.GET returns it (`StoredMsg`): headers and payload in base64,
/// omitted when empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredMessage {
    pub subject: String,
    pub seq: u64,
    #[serde(
        rename = "hdrs",
        skip_serializing_if = "bytes::Bytes::is_empty",
        serialize_with = "serialize_base64"
    )]
    pub headers: bytes::Bytes,
    #[serde(
        rename = "data",
        skip_serializing_if = "bytes::Bytes::is_empty",
        serialize_with = "serialize_base64"
    )]
    pub payload: bytes::Bytes,
    #[serde(serialize_with = "serialize_wall")]
    pub time: Wall,
}

/// STREAM.MSG.GET's reply.
#[derive(Clone, Debug, Serialize)]
pub struct MsgGetResponse {
    #[serde(rename = "type")]
    pub response_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<StoredMessage>,
}

impl MsgGetResponse {
    /// `no_hdr` in the request drops the headers.
    pub fn ok(mut message: StoredMessage, no_hdr: bool) -> Self {
        if no_hdr {
            message.headers = bytes::Bytes::new();
        }
        MsgGetResponse {
            response_type: response_type::STREAM_MSG_GET,
            error: None,
            message: Some(message),
        }
    }

    pub fn error(error: &JsError) -> Self {
        MsgGetResponse {
            response_type: response_type::STREAM_MSG_GET,
            error: Some(error.api_error()),
            message: None,
        }
    }
}

/// An account's JetStream limits; -1 is unlimited (this server has no account limits yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AccountLimits {
    pub max_memory: i64,
    pub max_storage: i64,
    pub max_streams: i64,
    pub max_consumers: i64,
    pub max_ack_pending: i64,
    pub memory_max_stream_bytes: i64,
    pub storage_max_stream_bytes: i64,
    pub max_bytes_required: bool,
}

impl Default for AccountLimits {
    fn default() -> Self {
        AccountLimits {
            max_memory: -1,
            max_storage: -1,
            max_streams: -1,
            max_consumers: -1,
            max_ack_pending: -1,
            memory_max_stream_bytes: -1,
            storage_max_stream_bytes: -1,
            max_bytes_required: false,
        }
    }
}

/// API request counters: every request, and those answered with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ApiStats {
    pub level: u32,
    pub total: u64,
    pub errors: u64,
}

/// `$JS.API.INFO`'s figures (`JetStreamAccountStats`): bytes used by memory and file
/// streams, bytes reserved by their `max_bytes`, counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountUsage {
    pub memory_bytes: u64,
    pub storage_bytes: u64,
    pub reserved_memory_bytes: u64,
    pub reserved_storage_bytes: u64,
    pub streams: u64,
    pub consumers: u64,
    pub limits: AccountLimits,
    pub api_total: u64,
    pub api_errors: u64,
}

/// `$JS.API.INFO`'s reply.
#[derive(Clone, Debug, Serialize)]
pub struct AccountInfoResponse {
    #[serde(rename = "type")]
    pub response_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub stats: Option<AccountStats>,
}

/// The body of a successful `$JS.API.INFO` reply, in nats-server's field order.
#[derive(Clone, Debug, Serialize)]
pub struct AccountStats {
    pub memory: u64,
    pub storage: u64,
    pub reserved_memory: u64,
    pub reserved_storage: u64,
    pub streams: u64,
    pub consumers: u64,
    pub limits: AccountLimits,
    pub api: ApiStats,
}

impl AccountInfoResponse {
    pub fn ok(usage: &AccountUsage) -> Self {
        AccountInfoResponse {
            response_type: response_type::ACCOUNT_INFO,
            error: None,
            stats: Some(AccountStats {
                memory: usage.memory_bytes,
                storage: usage.storage_bytes,
                reserved_memory: usage.reserved_memory_bytes,
                reserved_storage: usage.reserved_storage_bytes,
                streams: usage.streams,
                consumers: usage.consumers,
                limits: usage.limits,
                api: ApiStats {
                    level: API_LEVEL,
                    total: usage.api_total,
                    errors: usage.api_errors,
                },
            }),
        }
    }

    pub fn error(error: &JsError) -> Self {
        AccountInfoResponse {
            response_type: response_type::ACCOUNT_INFO,
            error: Some(error.api_error()),
            stats: None,
        }
    }
}
