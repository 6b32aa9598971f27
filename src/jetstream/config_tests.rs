//! Stream config decoding, defaults and validation against nats-server 2.12.8.
//!
//! Every reply below marked "recorded" was captured from nats-server 2.12.8 (`-js`, single
//! server) over a raw client connection, for the request shown, and is compared byte for byte.

use super::*;
use crate::jetstream::errors::JsError;
use crate::jetstream::json::to_json;
use crate::jetstream::responses::{StreamCreateResponse, StreamInfo, StreamState};
use crate::jetstream::validate::{
    check_storage_reservation, check_stream_config, prepare_create, prepare_update,
    same_config_for_create, with_dynamic_metadata,
};
use crate::time::Wall;

/// STREAM.CREATE as far as this module goes: decode, then the create rules. Returns the
/// reply for an error, or the config as nats-server reports it.
fn create(name: &str, body: &str) -> Result<StreamConfig, String> {
    decode_config_request(body.as_bytes())
        .and_then(|request| prepare_create(name, &request))
        .map_err(|error| to_json(&StreamCreateResponse::error(&error)))
}

fn reported_config(name: &str, body: &str) -> String {
    let config = create(name, body).unwrap_or_else(|reply| panic!("{body}: {reply}"));
    to_json(&with_dynamic_metadata(&config))
}

fn create_error(name: &str, body: &str) -> String {
    match create(name, body) {
        Ok(config) => panic!("{body} was accepted: {config:?}"),
        Err(reply) => reply,
    }
}

fn error_reply(err_code_json: &str) -> String {
    format!(
        r#"{{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{err_code_json}}}"#
    )
}

#[test]
fn create_reply_matches_nats_server_byte_for_byte() {
    // Recorded: STREAM.CREATE.S {"name":"S","subjects":["foo.>"]}.
    let recorded = r#"{"type":"io.nats.jetstream.api.v1.stream_create_response","config":{"name":"S","subjects":["foo.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}},"created":"2026-11-22T05:49:15.318031859Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"ts":"2026-11-22T05:49:15.320365413Z","did_create":true}"#;
    let config = create("S", r#"{"name":"S","subjects":["foo.>"]}"#).unwrap();
    let info = StreamInfo::reported(
        &config,
        Wall::from_unix_nanos(1_795_326_555_318_031_859),
        StreamState::default(),
        Wall::from_unix_nanos(1_795_326_555_320_365_413),
    );
    assert_eq!(to_json(&StreamCreateResponse::ok(info)), recorded);
}

#[test]
fn defaults_and_options_as_nats_server_reports_them() {
    // Recorded config objects from STREAM.CREATE replies.
    let cases = [
        (
            "M2",
            r#"{"name":"M2","max_msgs":-5,"max_age":10000000000,"description":"d","metadata":{"k":"v"}}"#,
            r#"{"name":"M2","description":"d","subjects":["M2"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":10000000000,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":10000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8","k":"v"}}"#,
        ),
        (
            "F",
            r#"{"name":"F","subjects":["f"],"max_msgs_per_subject":1,"discard":"new","discard_new_per_subject":true}"#,
            r#"{"name":"F","subjects":["f"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":1,"max_msg_size":-1,"discard":"new","storage":"file","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"discard_new_per_subject":true,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}}"#,
        ),
        (
            "D",
            r#"{"name":"D","subjects":["d.>"],"max_msgs":3,"discard":"new","allow_rollup_hdrs":true,"max_bytes":500, "allow_direct":true}"#,
            r#"{"name":"D","subjects":["d.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":3,"max_bytes":500,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"new","storage":"file","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":true,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":true,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}}"#,
        ),
        (
            // Go matches keys ignoring case.
            "N1",
            r#"{"NAME":"N1","Max_Msgs":5}"#,
            r#"{"name":"N1","subjects":["N1"],"retention":"limits","max_consumers":-1,"max_msgs":5,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}}"#,
        ),
        (
            // Concatenated values decode into one config; discard is case-insensitive.
            "N2",
            r#"{"name":"X"} {"name":"N2","max_msgs":7,"discard":"NEW"}"#,
            r#"{"name":"N2","subjects":["N2"],"retention":"limits","max_consumers":-1,"max_msgs":7,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"new","storage":"file","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}}"#,
        ),
        (
            // nulls leave defaults; an empty placement is dropped; user-set _nats keys are
            // replaced (M4 recorded with {"_nats.req.level":"7","_nats.level":"9"}).
            "N3",
            r#"{"name":"N3","consumer_limits":null,"max_msgs":null,"subjects":null,"placement":{},"metadata":{"_nats.req.level":"7","_nats.level":"9"}}"#,
            r#"{"name":"N3","subjects":["N3"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}}"#,
        ),
        (
            // max_msg_size is not checked against the server's max_payload.
            "T",
            r#"{"name":"T","max_msg_size":2000000,"max_age":10000000000,"duplicate_window":5000000000}"#,
            r#"{"name":"T","subjects":["T"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":10000000000,"max_msgs_per_subject":-1,"max_msg_size":2000000,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":5000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}}"#,
        ),
    ];
    for (name, body, recorded) in cases {
        assert_eq!(reported_config(name, body), recorded, "{body}");
    }
    // Allowed on reserved subjects without no_ack (recorded as created).
    for subject in ["$JS.EVENT.x", "$SYS.ACCOUNT.x"] {
        let body = format!(r#"{{"name":"M","subjects":["{subject}"]}}"#);
        assert!(create("M", &body).is_ok(), "{subject}");
    }
    assert!(create("M", r#"{"name":"M","subjects":[">"],"no_ack":true}"#).is_ok());
    assert!(create("M", r#"{"name":"M","subjects":["a.*.c","a.b"]}"#).is_ok());
}

#[test]
fn every_create_error_text_matches_nats_server() {
    // (subject name, body, recorded error object).
    let cases = [
        (
            "T",
            r#"{"name":"X"}"#,
            r#"{"code":400,"err_code":10056,"description":"stream name in subject does not match request"}"#,
        ),
        (
            "T",
            "",
            r#"{"code":400,"err_code":10056,"description":"stream name in subject does not match request"}"#,
        ),
        (
            "T",
            r#"{"name":"T","bogus":1}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: unknown field \"bogus\""}"#,
        ),
        (
            "T",
            r#"{"name":"T","#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: unexpected EOF"}"#,
        ),
        (
            "T",
            "hello",
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: invalid character 'h' looking for beginning of value at offset 1"}"#,
        ),
        (
            "T",
            r#"{"name":"T","retention":"bogus"}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: can not unmarshal \"\\\"bogus\\\"\""}"#,
        ),
        (
            "T",
            r#"{"name":"T","max_msgs":"x"}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal string into Go struct field StreamConfigRequest.StreamConfig.max_msgs of type int64"}"#,
        ),
        (
            "T",
            r#"{"name":"T","num_replicas":3}"#,
            r#"{"code":500,"err_code":10074,"description":"replicas \u003e 1 not supported in non-clustered mode"}"#,
        ),
        (
            "T",
            r#"{"name":"T","num_replicas":-1}"#,
            r#"{"code":400,"err_code":10133,"description":"replicas count cannot be negative"}"#,
        ),
        (
            "T",
            r#"{"name":"T","num_replicas":6}"#,
            r#"{"code":500,"err_code":10052,"description":"maximum replicas is 5"}"#,
        ),
        (
            "a/b",
            r#"{"name":"a/b"}"#,
            r#"{"code":400,"err_code":10128,"description":"Stream name can not contain path separators"}"#,
        ),
        (
            "a*b",
            r#"{"name":"a*b"}"#,
            r#"{"code":500,"err_code":10052,"description":"stream name is required and can not contain '.', '*', '\u003e', '\\', '/'"}"#,
        ),
        (
            "T",
            r#"{"name":"T","subjects":["a","a"]}"#,
            r#"{"code":500,"err_code":10052,"description":"subject \"a\" overlaps with \"a\""}"#,
        ),
        (
            "T",
            r#"{"name":"T","subjects":["a.*","a.b"]}"#,
            r#"{"code":500,"err_code":10052,"description":"subject \"a.*\" overlaps with \"a.b\""}"#,
        ),
        (
            "M7",
            r#"{"name":"M7","subjects":["a.*.c","a.b.*"]}"#,
            r#"{"code":500,"err_code":10052,"description":"subject \"a.*.c\" overlaps with \"a.b.*\""}"#,
        ),
        (
            "T",
            r#"{"name":"T","subjects":["a..b"]}"#,
            r#"{"code":500,"err_code":10052,"description":"invalid subject"}"#,
        ),
        (
            "T",
            r#"{"name":"T","subjects":[">"]}"#,
            r#"{"code":500,"err_code":10052,"description":"capturing all subjects requires no-ack to be true"}"#,
        ),
        (
            "T",
            r#"{"name":"T","subjects":["$JS.API.>"]}"#,
            r#"{"code":500,"err_code":10052,"description":"subjects that overlap with jetstream api require no-ack to be true"}"#,
        ),
        (
            "M6",
            r#"{"name":"M6","subjects":["$SYS.>"]}"#,
            r#"{"code":500,"err_code":10052,"description":"subjects that overlap with system api require no-ack to be true"}"#,
        ),
        (
            "T",
            r#"{"name":"T","max_age":50000000}"#,
            r#"{"code":500,"err_code":10052,"description":"max age needs to be \u003e= 100ms"}"#,
        ),
        (
            "T",
            r#"{"name":"T","max_age":-1}"#,
            r#"{"code":500,"err_code":10052,"description":"max age can not be negative"}"#,
        ),
        (
            "T",
            r#"{"name":"T","max_age":1000000000,"duplicate_window":2000000000}"#,
            r#"{"code":500,"err_code":10052,"description":"duplicates window can not be larger then max age"}"#,
        ),
        (
            "T",
            r#"{"name":"T","duplicate_window":-5}"#,
            r#"{"code":500,"err_code":10052,"description":"duplicates window can not be negative"}"#,
        ),
        (
            "T",
            r#"{"name":"T","duplicate_window":5}"#,
            r#"{"code":500,"err_code":10052,"description":"duplicates window needs to be \u003e= 100ms"}"#,
        ),
        (
            "T",
            r#"{"name":"T","deny_purge":true,"allow_rollup_hdrs":true}"#,
            r#"{"code":500,"err_code":10052,"description":"roll-ups require the purge permission"}"#,
        ),
        (
            "T",
            r#"{"name":"T","sealed":true}"#,
            r#"{"code":500,"err_code":10052,"description":"stream configuration for create can not be sealed"}"#,
        ),
        (
            "T",
            r#"{"name":"T","discard_new_per_subject":true}"#,
            r#"{"code":500,"err_code":10052,"description":"discard new per subject requires discard new policy to be set"}"#,
        ),
        (
            "T",
            r#"{"name":"T","mirror_direct":true}"#,
            r#"{"code":500,"err_code":10052,"description":"stream has no mirror but does have mirror direct"}"#,
        ),
        (
            "N2",
            r#"{"name":"N2","retention":null}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: can not unmarshal \"null\""}"#,
        ),
        (
            "N2",
            r#"{"name":"N2","compression":5}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal number into Go struct field StreamConfigRequest.StreamConfig.compression of type string"}"#,
        ),
        (
            "N2",
            r#"{"name":"N2","compression":"zz"}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: unknown compression algorithm"}"#,
        ),
        (
            "N2",
            r#"{"name":"N2","compression":""}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: unknown compression algorithm"}"#,
        ),
        (
            "N3",
            "[1]",
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal array into Go value of type server.StreamConfigRequest"}"#,
        ),
        (
            "N3",
            r#""x""#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal string into Go value of type server.StreamConfigRequest"}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","subjects":[1,"a"]}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal number into Go struct field StreamConfigRequest.StreamConfig.subjects of type string"}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","subjects":"a"}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal string into Go struct field StreamConfigRequest.StreamConfig.subjects of type []string"}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","max_msg_size":3000000000}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal number 3000000000 into Go struct field StreamConfigRequest.StreamConfig.max_msg_size of type int32"}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","max_msgs":1.5}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal number 1.5 into Go struct field StreamConfigRequest.StreamConfig.max_msgs of type int64"}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","bogus":1,"max_msgs":"x"}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: unknown field \"bogus\""}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","max_msgs":"x","bogus":1}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal string into Go struct field StreamConfigRequest.StreamConfig.max_msgs of type int64"}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","max_msgs":"x","retention":"zz"}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: can not unmarshal \"\\\"zz\\\"\""}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","metadata":{"a":1}}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal number into Go struct field StreamConfigRequest.StreamConfig.metadata of type string"}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","consumer_limits":{"max_ack_pending":"x"}}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal string into Go struct field StreamConsumerLimits.StreamConfig.consumer_limits.max_ack_pending of type int"}"#,
        ),
        (
            "N3",
            r#"{"name":"N3",}"#,
            r#"{"code":400,"err_code":10025,"description":"invalid JSON: invalid character '}' looking for beginning of object key string at offset 14"}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","placement":{"preferred":"x"}}"#,
            r#"{"code":500,"err_code":10052,"description":"preferred server not permitted in placement"}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","pedantic":true,"max_msgs":-5}"#,
            r#"{"code":400,"err_code":10157,"description":"pedantic mode: max_msgs must be set to -1"}"#,
        ),
        (
            "N3",
            r#"{"name":"N3","pedantic":true,"max_age":10000000000}"#,
            r#"{"code":400,"err_code":10157,"description":"pedantic mode: duplicate window cannot be bigger than max age"}"#,
        ),
    ];
    for (name, body, error) in cases {
        assert_eq!(create_error(name, body), error_reply(error), "{body}");
    }
}

#[test]
fn rules_not_reachable_through_a_subject_still_have_nats_server_texts() {
    // These names cannot be in a request subject, so nats-server answers a mismatch first;
    // the texts are checkStreamCfg's (server/stream.go, 2.12.8).
    let check = |config: StreamConfig| check_stream_config(&config, false).unwrap_err();
    let named = |name: &str| StreamConfig {
        name: String::from(name),
        ..StreamConfig::default()
    };
    let name_rule = "stream name is required and can not contain '.', '*', '>', '\\', '/'";
    for name in ["", "a b", "a\tb", "a.b", "a>b", "a\\b"] {
        assert_eq!(
            check(named(name)),
            JsError::StreamInvalidConfig(name_rule.into()),
            "{name:?}"
        );
    }
    assert_eq!(
        check(named(&"x".repeat(256))),
        JsError::StreamInvalidConfig("stream name is too long, maximum allowed is 255".into())
    );
    let mut long_description = named("S");
    long_description.description = "d".repeat(4097);
    assert_eq!(
        check(long_description),
        JsError::StreamInvalidConfig(
            "stream description is too long, maximum allowed is 4096".into()
        )
    );
    let mut big_metadata = named("S");
    big_metadata
        .metadata
        .insert("k".into(), "v".repeat(128 * 1024));
    assert_eq!(
        check(big_metadata),
        JsError::StreamInvalidConfig("stream metadata exceeds maximum size of 131072 bytes".into())
    );
    let mut per_subject = named("S");
    per_subject.discard = DiscardPolicy::New;
    per_subject.discard_new_per_subject = true;
    assert_eq!(
        check(per_subject),
        JsError::StreamInvalidConfig(
            "discard new per subject requires max msgs per subject > 0".into()
        )
    );
    // A repeated subject also overlaps itself, and that check comes first (in nats-server
    // too, which makes its "duplicate subjects detected" unreachable).
    let mut duplicate = named("S");
    duplicate.subjects = vec!["a".into(), "b".into(), "a".into()];
    assert_eq!(
        check(duplicate),
        JsError::StreamInvalidConfig("subject \"a\" overlaps with \"a\"".into())
    );
    let mut capture_all = named("S");
    capture_all.subjects = vec![">".into()];
    capture_all.no_ack = true;
    capture_all.num_replicas = 3;
    assert_eq!(
        check(capture_all),
        JsError::StreamInvalidConfig("capturing all subjects requires replicas of 1".into())
    );
    let mut counter = named("S");
    counter.allow_msg_counter = true;
    counter.discard = DiscardPolicy::New;
    assert_eq!(
        check(counter),
        JsError::StreamInvalidConfig("counter stream cannot use discard new".into())
    );
    let mut marker = named("S");
    marker.subject_delete_marker_ttl_nanos = 5;
    assert_eq!(
        check(marker),
        JsError::StreamInvalidConfig("subject delete marker TTL must be at least 1 second".into())
    );
    let mut async_memory = named("S");
    async_memory.persist_mode = PersistMode::Async;
    async_memory.storage = StorageType::Memory;
    assert_eq!(
        check(async_memory),
        JsError::StreamInvalidConfig("async persist mode is only supported on file storage".into())
    );
}

#[test]
fn unsupported_features_are_refused_by_name() {
    let cases = [
        (
            r#""mirror":{"name":"S"}"#,
            "stream mirrors is not supported yet",
        ),
        (
            r#""sources":[{"name":"S"}]"#,
            "stream sources is not supported yet",
        ),
        (
            r#""subject_transform":{"src":"a","dest":"b"}"#,
            "subject transforms is not supported yet",
        ),
        (
            r#""republish":{"dest":"x"}"#,
            "republish is not supported yet",
        ),
        (r#""compression":"s2""#, "compression is not supported yet"),
        (r#""first_seq":5"#, "first_seq is not supported yet"),
        (
            r#""consumer_limits":{"max_ack_pending":5}"#,
            "consumer_limits is not supported yet",
        ),
        (
            r#""allow_msg_ttl":true"#,
            "per-message TTL (allow_msg_ttl) is not supported yet",
        ),
        (
            r#""allow_msg_counter":true"#,
            "message counters (allow_msg_counter) is not supported yet",
        ),
        (
            r#""allow_atomic":true"#,
            "atomic batch publish (allow_atomic) is not supported yet",
        ),
        (
            r#""allow_msg_schedules":true"#,
            "message schedules (allow_msg_schedules) is not supported yet",
        ),
        (
            r#""persist_mode":"async""#,
            "persist_mode async is not supported yet",
        ),
        (
            r#""template_owner":"x""#,
            "stream templates is not supported yet",
        ),
    ];
    for (option, text) in cases {
        let body = format!(r#"{{"name":"S",{option}}}"#);
        let error = decode_config_request(body.as_bytes())
            .and_then(|request| prepare_create("S", &request))
            .unwrap_err();
        assert_eq!(error, JsError::StreamInvalidConfig(text.into()), "{body}");
    }
}

#[test]
fn async_nats_requests_parse_and_replies_parse_in_async_nats() {
    use async_nats::jetstream::stream;
    let sent = stream::Config {
        name: String::from("ORDERS"),
        subjects: vec![String::from("orders.>")],
        max_messages: 1000,
        max_bytes: 1 << 20,
        max_age: std::time::Duration::from_secs(3600),
        discard: stream::DiscardPolicy::New,
        storage: stream::StorageType::Memory,
        duplicate_window: std::time::Duration::from_secs(60),
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        description: Some(String::from("orders")),
        ..Default::default()
    };
    let body = serde_json::to_vec(&sent).unwrap();
    let request = decode_config_request(&body).expect("async-nats's request decodes");
    let config = prepare_create("ORDERS", &request).expect("and is valid");
    assert_eq!(config.max_msgs, 1000);
    assert_eq!(config.max_age_nanos, 3_600_000_000_000);
    assert_eq!(config.duplicate_window_nanos, 60_000_000_000);
    assert_eq!(config.storage, StorageType::Memory);
    assert_eq!(config.num_replicas, 1);
    assert_eq!(config.max_consumers, -1);
    let info = StreamInfo::reported(
        &config,
        Wall::from_unix_nanos(1_795_326_555_318_031_859),
        StreamState::default(),
        Wall::from_unix_nanos(1_795_326_555_320_365_413),
    );
    let reply = to_json(&StreamCreateResponse::ok(info));
    let parsed: stream::Info = serde_json::from_str(&reply).expect("async-nats parses the reply");
    assert_eq!(parsed.config.name, "ORDERS");
    assert_eq!(parsed.config.subjects, vec![String::from("orders.>")]);
    assert_eq!(parsed.config.max_messages, 1000);
    assert_eq!(parsed.config.discard, stream::DiscardPolicy::New);
    assert!(parsed.config.allow_rollup && parsed.config.deny_delete && parsed.config.allow_direct);
    // The minimal request async-nats sends for `create_stream("S")`.
    let minimal = serde_json::to_vec(&stream::Config::from("S")).unwrap();
    let config = prepare_create("S", &decode_config_request(&minimal).unwrap()).unwrap();
    assert_eq!(config.subjects, vec![String::from("S")]);
    // Our config round-trips through async-nats's type unchanged where both have fields.
    let echoed: stream::Config = serde_json::from_str(&to_json(&config)).unwrap();
    let again = decode_config_request(&serde_json::to_vec(&echoed).unwrap()).unwrap();
    assert_eq!(
        check_stream_config(&again.config, false).unwrap().subjects,
        config.subjects
    );
}

#[test]
fn our_json_decodes_back_to_the_same_config() {
    let config = create(
        "RT",
        r#"{"name":"RT","subjects":["a.*","b"],"max_msgs":9,"max_bytes":100,"max_age":3000000000,"duplicate_window":1000000000,"discard":"new","storage":"memory","retention":"interest","allow_direct":true,"deny_delete":true,"metadata":{"x":"y"},"description":"rt","placement":{"cluster":"c","tags":["t"]},"no_ack":true,"max_msgs_per_subject":2,"max_msg_size":64,"max_consumers":4}"#,
    )
    .unwrap();
    let json = to_json(&config);
    let decoded = decode_config_request(json.as_bytes()).unwrap();
    assert_eq!(decoded.config, config);
    assert!(!decoded.pedantic);
}

fn checked(body: &str) -> StreamConfig {
    let request = decode_config_request(body.as_bytes()).unwrap();
    prepare_create(&request.config.name.clone(), &request).unwrap()
}

fn update(old: &StreamConfig, name: &str, body: &str) -> Result<StreamConfig, JsError> {
    let request = decode_config_request(body.as_bytes())?;
    prepare_update(name, &request, Some(old))
}

#[test]
fn update_rules_match_nats_server() {
    let old = checked(r#"{"name":"S","subjects":["foo.>"]}"#);
    let invalid = |text: &str| Err(JsError::StreamInvalidConfig(text.into()));
    // Recorded STREAM.UPDATE.S errors.
    assert_eq!(
        update(
            &old,
            "S",
            r#"{"name":"S","subjects":["foo.>"],"storage":"memory"}"#
        ),
        invalid("stream configuration update can not change storage type")
    );
    assert_eq!(
        update(
            &old,
            "S",
            r#"{"name":"S","subjects":["foo.>"],"retention":"workqueue"}"#
        ),
        invalid("stream configuration update can not change retention policy to/from workqueue")
    );
    assert_eq!(
        update(&old, "S", r#"{"name":"X","subjects":["foo.>"]}"#),
        Err(JsError::StreamMismatch)
    );
    let request = decode_config_request(br#"{"name":"X"}"#).unwrap();
    assert_eq!(
        prepare_update("X", &request, None),
        Err(JsError::StreamNotFound)
    );
    let interest = update(
        &old,
        "S",
        r#"{"name":"S","subjects":["foo.>"],"retention":"interest"}"#,
    );
    assert_eq!(interest.unwrap().retention, RetentionPolicy::Interest);
    let denying = update(
        &old,
        "S",
        r#"{"name":"S","subjects":["foo.>"],"deny_delete":true,"deny_purge":true}"#,
    )
    .unwrap();
    assert_eq!(
        update(
            &denying,
            "S",
            r#"{"name":"S","subjects":["foo.>"],"deny_purge":true}"#
        ),
        invalid("stream configuration update can not cancel deny message deletes")
    );
    assert_eq!(
        update(
            &denying,
            "S",
            r#"{"name":"S","subjects":["foo.>"],"deny_delete":true}"#
        ),
        invalid("stream configuration update can not cancel deny purge")
    );
    // Recorded: sealing drops max_age, sets discard new and both denies.
    let sealed = update(
        &denying,
        "S",
        r#"{"name":"S","subjects":["foo.>"],"deny_delete":true, "deny_purge":true, "sealed":true}"#,
    )
    .unwrap();
    assert_eq!(
        to_json(&with_dynamic_metadata(&sealed)),
        r#"{"name":"S","subjects":["foo.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"new","storage":"file","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":true,"deny_delete":true,"deny_purge":true,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}}"#
    );
    assert_eq!(
        update(
            &sealed,
            "S",
            r#"{"name":"S","subjects":["foo.>"],"deny_delete":true,"deny_purge":true}"#
        ),
        invalid("stream configuration update can not unseal a sealed stream")
    );
    // Deliberately stricter than nats-server 2.12.8 (see validate.rs).
    assert_eq!(
        update(
            &old,
            "S",
            r#"{"name":"S","subjects":["foo.>"],"num_replicas":3}"#
        ),
        Err(JsError::StreamReplicasNotSupported)
    );
    // check_stream_config runs before the name check, as in nats-server.
    assert_eq!(
        update(&old, "S", r#"{"name":"S","max_age":-1}"#),
        invalid("max age can not be negative")
    );
}

#[test]
fn same_config_for_create_as_nats_server_decides() {
    // Recorded: a second STREAM.CREATE.M2 succeeded for each of these bodies.
    let existing = checked(
        r#"{"name":"M2","max_msgs":-5,"max_age":10000000000,"description":"d","metadata":{"k":"v"}}"#,
    );
    for body in [
        r#"{"name":"M2","max_msgs":-1,"max_age":10000000000,"description":"d","metadata":{"k":"v"}}"#,
        r#"{"name":"M2","max_age":10000000000,"description":"d","metadata":{"k":"v","_nats.ver":"1"}}"#,
        r#"{"name":"M2","max_age":10000000000,"description":"d","metadata":{"k":"v","_nats.req.level":"1"}}"#,
        r#"{"name":"M2","max_age":10000000000,"description":"d","metadata":{"k":"v"},"duplicate_window":10000000000}"#,
    ] {
        assert!(same_config_for_create(&checked(body), &existing), "{body}");
    }
    // Recorded 10058 for a different limit.
    let different =
        checked(r#"{"name":"M2","max_age":20000000000,"description":"d","metadata":{"k":"v"}}"#);
    assert!(!same_config_for_create(&different, &existing));
}

#[test]
fn storage_reservation() {
    assert_eq!(
        check_storage_reservation(-1, StorageType::File, 0, 100),
        Ok(())
    );
    assert_eq!(
        check_storage_reservation(60, StorageType::File, 40, 100),
        Ok(())
    );
    assert_eq!(
        check_storage_reservation(61, StorageType::File, 40, 100),
        Err(JsError::StorageResourcesExceeded)
    );
    assert_eq!(
        check_storage_reservation(1, StorageType::Memory, 200, 100),
        Err(JsError::MemoryResourcesExceeded)
    );
}

#[test]
fn never_panics_on_any_body() {
    let bodies: [&[u8]; 8] = [
        b"{\"name\":\"S\",\"subjects\":[\"\"]}",
        b"{\"name\":\"S\",\"max_age\":9223372036854775807,\"duplicate_window\":-9223372036854775808}",
        b"{\"name\":\"S\",\"max_msg_size\":-2147483648,\"num_replicas\":-9223372036854775808}",
        b"{\"name\":\"S\",\"placement\":[],\"mirror\":5,\"sources\":{}}",
        b"{\"name\":\"\xff\"}",
        b"{\"name\":\"S\",\"consumer_limits\":{\"zz\":1,\"max_ack_pending\":1.5}}",
        b"{\"name\":\"S\",\"subjects\":[\"a\",\"a.>\",\">\",\"*\"],\"no_ack\":true}",
        b"\x00",
    ];
    for body in bodies {
        if let Ok(request) = decode_config_request(body) {
            let _ = prepare_create("S", &request);
            let _ = prepare_update("S", &request, Some(&StreamConfig::default()));
        }
    }
}
