//! A stream's configuration in nats-server's JSON (`StreamConfig` in server/stream.go).
//!
//! Field names, order and `omitempty` are nats-server 2.12.8's, so [`to_json`] of a config
//! that went through [`check_stream_config`] is byte for byte what nats-server sends for the
//! same request. Durations are Go `time.Duration`s: signed nanoseconds (the Rust fields carry
//! `_nanos`). Requests are decoded by [`decode_config_request`] with Go's rules (see
//! `decode.rs`), so async-nats's requests (which send `consumer_limits: null`, zero limits and
//! absent options) parse, and a bad request gets nats-server's `invalid JSON: ...` text.
//!
//! Features this server does not implement yet (mirrors, sources, subject transforms,
//! republish, TTLs, counters, schedules, atomic batches, compression, first_seq, consumer
//! limits, async persistence, templates) still parse, so that validation can refuse them by
//! name instead of dropping them silently.
//!
//! [`to_json`]: crate::jetstream::json::to_json
//! [`check_stream_config`]: crate::jetstream::validate::check_stream_config

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::jetstream::decode::{
    self, enum_error, set_bool, set_i32, set_i64, set_raw_array, set_raw_object, set_string,
    set_string_map, set_strings, set_u64, FieldError, GoStruct,
};
use crate::jetstream::errors::JsError;

/// How long a stream keeps messages: by limits only, while consumers are interested, or until
/// one consumer acknowledges them (a work queue). JSON: `limits`, `interest`, `workqueue`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RetentionPolicy {
    #[default]
    Limits,
    Interest,
    WorkQueue,
}

/// What a stream at a limit drops: its oldest messages, or the new one. JSON: `old`, `new`
/// (nats-server accepts any case on input).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiscardPolicy {
    #[default]
    Old,
    New,
}

/// Where messages live. JSON: `file`, `memory`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StorageType {
    #[default]
    File,
    Memory,
}

/// File store compression. JSON: `none`, `s2` (this server stores uncompressed only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    #[default]
    None,
    S2,
}

/// When a write counts as persisted. JSON: `default` (written as nothing: omitted), `async`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PersistMode {
    #[default]
    Default,
    Async,
}

/// Cluster placement (`Placement` in server/jetstream_cluster.go). Meaningless on a single
/// server, where nats-server keeps and echoes it; so does this server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Placement {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub preferred: String,
}

/// Defaults for the stream's consumers (`StreamConsumerLimits`). Not implemented yet: a
/// non-zero value is refused by validation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConsumerLimits {
    #[serde(rename = "inactive_threshold", skip_serializing_if = "is_zero_i64")]
    pub inactive_threshold_nanos: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_ack_pending: i64,
}

/// A stream's configuration, in nats-server's field order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StreamConfig {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    pub retention: RetentionPolicy,
    pub max_consumers: i64,
    pub max_msgs: i64,
    pub max_bytes: i64,
    #[serde(rename = "max_age")]
    pub max_age_nanos: i64,
    pub max_msgs_per_subject: i64,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub max_msg_size: i32,
    pub discard: DiscardPolicy,
    pub storage: StorageType,
    pub num_replicas: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub no_ack: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub template_owner: String,
    #[serde(rename = "duplicate_window", skip_serializing_if = "is_zero_i64")]
    pub duplicate_window_nanos: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Not implemented: kept raw so that validation can refuse it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Value>,
    /// Not implemented: kept raw so that validation can refuse it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<Value>,
    pub compression: Compression,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub first_seq: u64,
    /// Not implemented: kept raw so that validation can refuse it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_transform: Option<Value>,
    /// Not implemented: kept raw so that validation can refuse it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub republish: Option<Value>,
    pub allow_direct: bool,
    pub mirror_direct: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub discard_new_per_subject: bool,
    pub sealed: bool,
    pub deny_delete: bool,
    pub deny_purge: bool,
    pub allow_rollup_hdrs: bool,
    pub consumer_limits: ConsumerLimits,
    pub allow_msg_ttl: bool,
    #[serde(
        rename = "subject_delete_marker_ttl",
        skip_serializing_if = "is_zero_i64"
    )]
    pub subject_delete_marker_ttl_nanos: i64,
    #[serde(skip_serializing_if = "is_false")]
    pub allow_msg_counter: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub allow_atomic: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub allow_msg_schedules: bool,
    #[serde(skip_serializing_if = "PersistMode::is_default")]
    pub persist_mode: PersistMode,
    /// Sorted, as Go marshals maps.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// The body of STREAM.CREATE and STREAM.UPDATE: a config plus the request-only `pedantic`
/// flag (nats-server's `StreamConfigRequest`), which turns silent adjustments into errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamConfigRequest {
    pub config: StreamConfig,
    pub pedantic: bool,
}

/// Decodes a STREAM.CREATE or STREAM.UPDATE body as nats-server does.
pub fn decode_config_request(body: &[u8]) -> Result<StreamConfigRequest, JsError> {
    decode::decode(body).map_err(JsError::InvalidJson)
}

impl RetentionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionPolicy::Limits => "limits",
            RetentionPolicy::Interest => "interest",
            RetentionPolicy::WorkQueue => "workqueue",
        }
    }
}

impl DiscardPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DiscardPolicy::Old => "old",
            DiscardPolicy::New => "new",
        }
    }
}

impl StorageType {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageType::File => "file",
            StorageType::Memory => "memory",
        }
    }
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::S2 => "s2",
        }
    }
}

impl PersistMode {
    fn is_default(&self) -> bool {
        *self == PersistMode::Default
    }
}

macro_rules! serialize_as_str {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    )*};
}

serialize_as_str!(RetentionPolicy, DiscardPolicy, StorageType, Compression);

impl Serialize for PersistMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self {
            PersistMode::Default => "default",
            PersistMode::Async => "async",
        })
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_i32(n: &i32) -> bool {
    *n == 0
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

// Decoding: each enum as its Go `UnmarshalJSON` (a wrong value stops decoding at once).

fn set_retention(slot: &mut RetentionPolicy, value: &Value) -> Result<(), FieldError> {
    *slot = match value.as_str() {
        Some("limits") => RetentionPolicy::Limits,
        Some("interest") => RetentionPolicy::Interest,
        Some("workqueue") => RetentionPolicy::WorkQueue,
        _ => return Err(enum_error(value)),
    };
    Ok(())
}

fn set_discard(slot: &mut DiscardPolicy, value: &Value) -> Result<(), FieldError> {
    // The one enum nats-server reads case-insensitively.
    *slot = match value.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("old") => DiscardPolicy::Old,
        Some("new") => DiscardPolicy::New,
        _ => return Err(enum_error(value)),
    };
    Ok(())
}

fn set_storage(slot: &mut StorageType, value: &Value) -> Result<(), FieldError> {
    *slot = match value.as_str() {
        Some("file") => StorageType::File,
        Some("memory") => StorageType::Memory,
        _ => return Err(enum_error(value)),
    };
    Ok(())
}

fn set_compression(slot: &mut Compression, value: &Value) -> Result<(), FieldError> {
    // Go decodes a string first (a type error, but raised from UnmarshalJSON, so it stops
    // decoding), then matches it.
    let text = match value {
        Value::String(text) => text,
        Value::Null => return Ok(()),
        other => {
            return Err(FieldError::Hard(format!(
                "json: cannot unmarshal {} into Go struct field StreamConfigRequest.StreamConfig.compression of type string",
                decode::kind(other)
            )))
        }
    };
    *slot = match text.as_str() {
        "none" => Compression::None,
        "s2" => Compression::S2,
        _ => {
            return Err(FieldError::Hard(String::from(
                "unknown compression algorithm",
            )))
        }
    };
    Ok(())
}

fn set_persist_mode(slot: &mut PersistMode, value: &Value) -> Result<(), FieldError> {
    *slot = match value.as_str() {
        Some("default") | Some("") => PersistMode::Default,
        Some("async") => PersistMode::Async,
        _ => return Err(enum_error(value)),
    };
    Ok(())
}

/// A nested struct field: `null` leaves it (Go's rule for a struct value), an object is
/// decoded field by field; type errors carry the nested path.
fn set_nested<T: GoStruct>(
    slot: &mut T,
    value: &Value,
    go_struct: &'static str,
) -> Result<(), FieldError> {
    let entries = match value {
        Value::Null => return Ok(()),
        Value::Object(entries) => entries,
        other => {
            return Err(FieldError::Type {
                found: String::from(decode::kind(other)),
                go_type: T::GO_TYPE,
                nested: None,
            })
        }
    };
    let mut first_soft = None;
    for (key, item) in entries {
        let Some(field) = T::FIELDS
            .iter()
            .find(|field| **field == key || field.eq_ignore_ascii_case(key))
        else {
            first_soft.get_or_insert(FieldError::Unknown(format!(
                "json: unknown field {}",
                crate::jetstream::json::go_quoted(key)
            )));
            continue;
        };
        match slot.set_field(field, item) {
            Ok(()) => {}
            Err(FieldError::Hard(text)) => return Err(FieldError::Hard(text)),
            Err(FieldError::Unknown(text)) => {
                first_soft.get_or_insert(FieldError::Unknown(text));
            }
            Err(FieldError::Type { found, go_type, .. }) => {
                first_soft.get_or_insert(FieldError::Type {
                    found,
                    go_type,
                    nested: Some((go_struct, field)),
                });
            }
        }
    }
    first_soft.map_or(Ok(()), Err)
}

impl GoStruct for ConsumerLimits {
    const GO_TYPE: &'static str = "server.StreamConsumerLimits";
    const FIELDS: &'static [&'static str] = &["inactive_threshold", "max_ack_pending"];

    fn field_path(field: &'static str) -> String {
        format!("StreamConsumerLimits.{field}")
    }

    fn set_field(&mut self, field: &'static str, value: &Value) -> Result<(), FieldError> {
        match field {
            "inactive_threshold" => {
                set_i64(&mut self.inactive_threshold_nanos, value, "time.Duration")
            }
            _ => set_i64(&mut self.max_ack_pending, value, "int"),
        }
    }
}

impl GoStruct for Placement {
    const GO_TYPE: &'static str = "server.Placement";
    const FIELDS: &'static [&'static str] = &["cluster", "tags", "preferred"];

    fn field_path(field: &'static str) -> String {
        format!("Placement.{field}")
    }

    fn set_field(&mut self, field: &'static str, value: &Value) -> Result<(), FieldError> {
        match field {
            "cluster" => set_string(&mut self.cluster, value),
            "tags" => set_strings(&mut self.tags, value),
            _ => set_string(&mut self.preferred, value),
        }
    }
}

impl GoStruct for StreamConfigRequest {
    const GO_TYPE: &'static str = "server.StreamConfigRequest";
    const FIELDS: &'static [&'static str] = &[
        "name",
        "description",
        "subjects",
        "retention",
        "max_consumers",
        "max_msgs",
        "max_bytes",
        "max_age",
        "max_msgs_per_subject",
        "max_msg_size",
        "discard",
        "storage",
        "num_replicas",
        "no_ack",
        "template_owner",
        "duplicate_window",
        "placement",
        "mirror",
        "sources",
        "compression",
        "first_seq",
        "subject_transform",
        "republish",
        "allow_direct",
        "mirror_direct",
        "discard_new_per_subject",
        "sealed",
        "deny_delete",
        "deny_purge",
        "allow_rollup_hdrs",
        "consumer_limits",
        "allow_msg_ttl",
        "subject_delete_marker_ttl",
        "allow_msg_counter",
        "allow_atomic",
        "allow_msg_schedules",
        "persist_mode",
        "metadata",
        "pedantic",
    ];

    fn field_path(field: &'static str) -> String {
        if field == "pedantic" {
            String::from("StreamConfigRequest.pedantic")
        } else {
            format!("StreamConfigRequest.StreamConfig.{field}")
        }
    }

    fn set_field(&mut self, field: &'static str, value: &Value) -> Result<(), FieldError> {
        let c = &mut self.config;
        match field {
            "name" => set_string(&mut c.name, value),
            "description" => set_string(&mut c.description, value),
            "subjects" => set_strings(&mut c.subjects, value),
            "retention" => set_retention(&mut c.retention, value),
            "max_consumers" => set_i64(&mut c.max_consumers, value, "int"),
            "max_msgs" => set_i64(&mut c.max_msgs, value, "int64"),
            "max_bytes" => set_i64(&mut c.max_bytes, value, "int64"),
            "max_age" => set_i64(&mut c.max_age_nanos, value, "time.Duration"),
            "max_msgs_per_subject" => set_i64(&mut c.max_msgs_per_subject, value, "int64"),
            "max_msg_size" => set_i32(&mut c.max_msg_size, value),
            "discard" => set_discard(&mut c.discard, value),
            "storage" => set_storage(&mut c.storage, value),
            "num_replicas" => set_i64(&mut c.num_replicas, value, "int"),
            "no_ack" => set_bool(&mut c.no_ack, value),
            "template_owner" => set_string(&mut c.template_owner, value),
            "duplicate_window" => set_i64(&mut c.duplicate_window_nanos, value, "time.Duration"),
            "placement" => set_placement(&mut c.placement, value),
            "mirror" => set_raw_object(&mut c.mirror, value, "server.StreamSource"),
            "sources" => set_raw_array(&mut c.sources, value, "[]*server.StreamSource"),
            "compression" => set_compression(&mut c.compression, value),
            "first_seq" => set_u64(&mut c.first_seq, value),
            "subject_transform" => set_raw_object(
                &mut c.subject_transform,
                value,
                "server.SubjectTransformConfig",
            ),
            "republish" => set_raw_object(&mut c.republish, value, "server.RePublish"),
            "allow_direct" => set_bool(&mut c.allow_direct, value),
            "mirror_direct" => set_bool(&mut c.mirror_direct, value),
            "discard_new_per_subject" => set_bool(&mut c.discard_new_per_subject, value),
            "sealed" => set_bool(&mut c.sealed, value),
            "deny_delete" => set_bool(&mut c.deny_delete, value),
            "deny_purge" => set_bool(&mut c.deny_purge, value),
            "allow_rollup_hdrs" => set_bool(&mut c.allow_rollup_hdrs, value),
            "consumer_limits" => set_nested(&mut c.consumer_limits, value, "StreamConsumerLimits"),
            "allow_msg_ttl" => set_bool(&mut c.allow_msg_ttl, value),
            "subject_delete_marker_ttl" => set_i64(
                &mut c.subject_delete_marker_ttl_nanos,
                value,
                "time.Duration",
            ),
            "allow_msg_counter" => set_bool(&mut c.allow_msg_counter, value),
            "allow_atomic" => set_bool(&mut c.allow_atomic, value),
            "allow_msg_schedules" => set_bool(&mut c.allow_msg_schedules, value),
            "persist_mode" => set_persist_mode(&mut c.persist_mode, value),
            "metadata" => set_string_map(&mut c.metadata, value),
            _ => set_bool(&mut self.pedantic, value),
        }
    }
}

/// `placement` is a pointer in Go: `null` clears it.
fn set_placement(slot: &mut Option<Placement>, value: &Value) -> Result<(), FieldError> {
    if value.is_null() {
        *slot = None;
        return Ok(());
    }
    let placement = slot.get_or_insert_with(Placement::default);
    set_nested(placement, value, "Placement")
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
