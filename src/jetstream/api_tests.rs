//! API subjects, request bodies, replies and direct gets against nats-server 2.12.8.
//!
//! Replies marked "recorded" were captured from nats-server 2.12.8 (`-js`, single server)
//! over a raw client connection and are compared byte for byte.

use bytes::Bytes;

use super::*;
use crate::jetstream::config::{decode_config_request, StreamConfig};
use crate::jetstream::direct::{
    direct_get_headers, parse_direct_get, parse_direct_get_last, DirectGet, DirectGetStatus,
};
use crate::jetstream::errors::JsError;
use crate::jetstream::json::to_json;
use crate::jetstream::responses::{
    response_type, AccountInfoResponse, AccountUsage, MsgGetResponse, StoredMessage, StreamInfo,
    StreamInfoResponse, StreamListResponse, StreamNamesResponse, StreamPurgeResponse, StreamState,
    SuccessResponse,
};
use crate::jetstream::validate::{prepare_create, prepare_update};
use crate::time::Wall;

const SERVER_ID: &str = "NDXBNNT375SC72VJ2DIREFBDJS2MLNE6XRKIKJWDYPSOT7IIXYFCY7CY";

fn wall(nanos: i64) -> Wall {
    Wall::from_unix_nanos(nanos)
}

fn created(name: &str, body: &str) -> StreamConfig {
    prepare_create(name, &decode_config_request(body.as_bytes()).unwrap()).unwrap()
}

#[test]
fn api_subjects() {
    use ApiSubject::*;
    let cases = [
        ("$JS.API.INFO", Some(AccountInfo)),
        (
            "$JS.API.STREAM.CREATE.S",
            Some(StreamCreate { stream: "S" }),
        ),
        (
            "$JS.API.STREAM.UPDATE.S",
            Some(StreamUpdate { stream: "S" }),
        ),
        ("$JS.API.STREAM.INFO.S", Some(StreamInfo { stream: "S" })),
        (
            "$JS.API.STREAM.DELETE.S",
            Some(StreamDelete { stream: "S" }),
        ),
        ("$JS.API.STREAM.PURGE.S", Some(StreamPurge { stream: "S" })),
        (
            "$JS.API.STREAM.MSG.GET.S",
            Some(StreamMsgGet { stream: "S" }),
        ),
        (
            "$JS.API.STREAM.MSG.DELETE.S",
            Some(StreamMsgDelete { stream: "S" }),
        ),
        ("$JS.API.STREAM.LIST", Some(StreamList)),
        ("$JS.API.STREAM.NAMES", Some(StreamNames)),
        ("$JS.API.DIRECT.GET.S", Some(DirectGet { stream: "S" })),
        (
            "$JS.API.DIRECT.GET.S.a.b.>",
            Some(DirectGetLastBySubject {
                stream: "S",
                subject: "a.b.>",
            }),
        ),
        // A stream called MSG is an ordinary name in a 5-token subject.
        (
            "$JS.API.STREAM.INFO.MSG",
            Some(StreamInfo { stream: "MSG" }),
        ),
        // Recorded: no reply at all (the client times out).
        ("$JS.API.BOGUS", Some(Unanswered)),
        ("$JS.API.STREAM.CREATE.a.b", Some(Unanswered)),
        ("$JS.API.STREAM.CREATE", Some(Unanswered)),
        ("$JS.API.STREAM.INFO", Some(Unanswered)),
        ("$JS.API.STREAM.CREATE.", Some(Unanswered)),
        ("$JS.API.META.LEADER.STEPDOWN", Some(Unanswered)),
        ("$JS.API.ACCOUNT.PURGE.A", Some(Unanswered)),
        ("$JS.API.CONSUMER.MSG.NEXT.S.C", Some(Unanswered)),
        ("$JS.API.INFO.x", Some(Unanswered)),
        ("$JS.APIX", None),
        ("foo", None),
    ];
    for (subject, expected) in cases {
        assert_eq!(parse_api_subject(subject), expected, "{subject}");
    }
    for subject in [
        "$JS.API.CONSUMER.CREATE.S",
        "$JS.API.CONSUMER.CREATE.S.C.f.>",
        "$JS.API.CONSUMER.DURABLE.CREATE.S.C",
        "$JS.API.CONSUMER.INFO.S.C",
        "$JS.API.CONSUMER.NAMES.S",
        "$JS.API.STREAM.SNAPSHOT.S",
        "$JS.API.STREAM.TEMPLATE.NAMES",
    ] {
        assert!(
            matches!(parse_api_subject(subject), Some(NotSupported { .. })),
            "{subject}"
        );
    }
    assert_eq!(
        parse_api_subject("$JS.API.CONSUMER.CREATE.S"),
        Some(NotSupported {
            response_type: "consumer_create_response",
            what: "consumers"
        })
    );
}

#[test]
fn empty_and_object_bodies() {
    for body in ["", "{}", " { } ", "{\n}"] {
        assert!(is_empty_request(body.as_bytes()), "{body:?}");
    }
    for body in ["null", "[]", "{\"x\":1}", "garbage", "{"] {
        assert!(!is_empty_request(body.as_bytes()), "{body:?}");
    }
    assert!(is_json_object_or_array(b" \n{"));
    assert!(is_json_object_or_array(b"[1]"));
    assert!(!is_json_object_or_array(b"garbage"));
    assert!(!is_json_object_or_array(b""));
}

#[test]
fn names_and_list_replies_match_nats_server() {
    // Recorded STREAM.NAMES replies.
    let (names, total, offset) = page(vec![String::from("S")], 0, NAMES_LIMIT);
    assert_eq!(
        to_json(&StreamNamesResponse::ok(names, total, offset)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_names_response","total":1,"offset":0,"limit":1024,"streams":["S"]}"#
    );
    assert_eq!(
        to_json(&StreamNamesResponse::ok(Vec::new(), 0, 0)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_names_response","total":0,"offset":0,"limit":1024,"streams":null}"#
    );
    // {"offset":5} with one stream: the offset is clamped to the total.
    let request = decode_list_request(br#"{"offset":5}"#, true).unwrap();
    let (names, total, offset) = page(vec![String::from("S")], request.offset, NAMES_LIMIT);
    assert_eq!(
        to_json(&StreamNamesResponse::ok(names, total, offset)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_names_response","total":1,"offset":1,"limit":1024,"streams":null}"#
    );
    let request = decode_list_request(br#"{"subject":"a.b.c", "offset":-3}"#, true).unwrap();
    assert_eq!((request.offset, request.subject.as_str()), (-3, "a.b.c"));
    assert_eq!(page(vec![1, 2, 3], request.offset, 2), (vec![1, 2], 3, 0));
    // A body that is not an object or array is ignored (recorded: the full list).
    assert_eq!(
        decode_list_request(b"garbage", true),
        Ok(StreamListRequest::default())
    );
    let error = decode_list_request(b"[1]", true).unwrap_err();
    assert_eq!(
        to_json(&StreamNamesResponse::error(&error)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_names_response","error":{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal array into Go value of type server.JSApiStreamNamesRequest"},"total":0,"offset":0,"limit":0,"streams":null}"#
    );
    let error = decode_list_request(br#"{"bogus":1}"#, false).unwrap_err();
    assert_eq!(
        error,
        JsError::InvalidJson(String::from(r#"json: unknown field "bogus""#))
    );
    assert_eq!(
        to_json(&StreamListResponse::ok(Vec::new(), 0, 0)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_list_response","total":0,"offset":0,"limit":256,"streams":[]}"#
    );
    let error = decode_list_request(br#"{"offset":"x"}"#, true).unwrap_err();
    assert_eq!(
        error,
        JsError::InvalidJson(String::from(
            "json: cannot unmarshal string into Go struct field JSApiStreamNamesRequest.ApiPagedRequest.offset of type int"
        ))
    );
}

#[test]
fn list_reports_the_stored_config_without_dynamic_metadata() {
    // Recorded STREAM.LIST after S was sealed by updates.
    let old = created("S", r#"{"name":"S","subjects":["foo.>"]}"#);
    let sealing = decode_config_request(
        br#"{"name":"S","subjects":["foo.>"],"deny_delete":true, "deny_purge":true, "sealed":true}"#,
    )
    .unwrap();
    let sealed = prepare_update("S", &sealing, Some(&old)).unwrap();
    let info = StreamInfo {
        config: sealed,
        created: wall(1_795_326_555_318_031_859),
        state: StreamState::default(),
        domain: None,
        cluster: None,
        timestamp: wall(1_795_326_615_653_777_790),
    };
    assert_eq!(
        to_json(&StreamListResponse::ok(vec![info], 1, 0)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_list_response","total":1,"offset":0,"limit":256,"streams":[{"config":{"name":"S","subjects":["foo.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"new","storage":"file","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":true,"deny_delete":true,"deny_purge":true,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.req.level":"0"}},"created":"2026-11-22T05:49:15.318031859Z","state":{"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z","last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0},"ts":"2026-11-22T05:50:15.65377779Z"}]}"#
    );
}

#[test]
fn info_replies_match_nats_server() {
    // Recorded STREAM.INFO.P after three messages.
    let config = created(
        "P",
        r#"{"name":"P","subjects":["p.>"],"max_msgs":3,"discard":"new","max_msg_size":10}"#,
    );
    let state = StreamState {
        messages: 3,
        bytes: 108,
        first_seq: 1,
        first_ts: Some(wall(1_795_326_632_633_618_004)),
        last_seq: 3,
        last_ts: Some(wall(1_795_326_632_637_873_973)),
        num_subjects: 1,
        ..StreamState::default()
    };
    let info = StreamInfo::reported(
        &config,
        wall(1_795_326_632_630_072_294),
        state,
        wall(1_795_326_632_642_586_531),
    );
    assert_eq!(
        to_json(&StreamInfoResponse::ok(info, SERVER_ID)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_info_response","total":0,"offset":0,"limit":0,"config":{"name":"P","subjects":["p.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":3,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":10,"discard":"new","storage":"file","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}},"created":"2026-11-22T05:50:32.630072294Z","state":{"messages":3,"bytes":108,"first_seq":1,"first_ts":"2026-11-22T05:50:32.633618004Z","last_seq":3,"last_ts":"2026-11-22T05:50:32.637873973Z","num_subjects":1,"consumer_count":0},"cluster":{"leader":"NDXBNNT375SC72VJ2DIREFBDJS2MLNE6XRKIKJWDYPSOT7IIXYFCY7CY"},"ts":"2026-11-22T05:50:32.642586531Z"}"#
    );
    assert_eq!(
        to_json(&StreamInfoResponse::error(&JsError::StreamNotFound)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_info_response","error":{"code":404,"err_code":10059,"description":"stream not found"},"total":0,"offset":0,"limit":0}"#
    );
    let error = decode_info_request(br#"{"bogus":1}"#).unwrap_err();
    assert_eq!(
        to_json(&StreamInfoResponse::error(&error)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_info_response","error":{"code":400,"err_code":10025,"description":"invalid JSON: json: unknown field \"bogus\""},"total":0,"offset":0,"limit":0}"#
    );
    let request =
        decode_info_request(br#"{"subjects_filter":">","deleted_details":true}"#).unwrap();
    assert!(request.deleted_details);
    assert_eq!(request.subjects_filter, ">");
}

#[test]
fn info_with_subject_details_matches_nats_server() {
    // Recorded STREAM.INFO.D {"subjects_filter":">"}.
    let config = created(
        "D",
        r#"{"name":"D","subjects":["d.>"],"max_msgs":3,"discard":"new","allow_rollup_hdrs":true,"max_bytes":500, "allow_direct":true}"#,
    );
    let request = decode_info_request(br#"{"subjects_filter":">"}"#).unwrap();
    assert_eq!(request.subjects_filter, ">");
    let state = StreamState {
        messages: 3,
        bytes: 261,
        first_seq: 1,
        first_ts: Some(wall(1_795_326_644_111_801_324)),
        last_seq: 3,
        last_ts: Some(wall(1_795_326_644_112_984_807)),
        num_subjects: 2,
        subjects: [(String::from("d.a"), 2), (String::from("d.b"), 1)].into(),
        ..StreamState::default()
    };
    let info = StreamInfo::reported(
        &config,
        wall(1_795_326_644_110_284_261),
        state,
        wall(1_795_330_666_848_199_859),
    );
    assert_eq!(
        to_json(&StreamInfoResponse::ok(info, SERVER_ID).with_subjects_page(2, 0)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_info_response","total":2,"offset":0,"limit":100000,"config":{"name":"D","subjects":["d.\u003e"],"retention":"limits","max_consumers":-1,"max_msgs":3,"max_bytes":500,"max_age":0,"max_msgs_per_subject":-1,"max_msg_size":-1,"discard":"new","storage":"file","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":true,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":true,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"3","_nats.req.level":"0","_nats.ver":"2.12.8"}},"created":"2026-11-22T05:50:44.110284261Z","state":{"messages":3,"bytes":261,"first_seq":1,"first_ts":"2026-11-22T05:50:44.111801324Z","last_seq":3,"last_ts":"2026-11-22T05:50:44.112984807Z","num_subjects":2,"subjects":{"d.a":2,"d.b":1},"consumer_count":0},"cluster":{"leader":"NDXBNNT375SC72VJ2DIREFBDJS2MLNE6XRKIKJWDYPSOT7IIXYFCY7CY"},"ts":"2026-11-22T06:57:46.848199859Z"}"#
    );
}

#[test]
fn account_info_matches_nats_server() {
    // Recorded $JS.API.INFO on a fresh server, then after one stream and 96 requests.
    assert_eq!(
        to_json(&AccountInfoResponse::ok(&AccountUsage::default())),
        r#"{"type":"io.nats.jetstream.api.v1.account_info_response","memory":0,"storage":0,"reserved_memory":0,"reserved_storage":0,"streams":0,"consumers":0,"limits":{"max_memory":-1,"max_storage":-1,"max_streams":-1,"max_consumers":-1,"max_ack_pending":-1,"memory_max_stream_bytes":-1,"storage_max_stream_bytes":-1,"max_bytes_required":false},"api":{"level":3,"total":0,"errors":0}}"#
    );
    let usage = AccountUsage {
        streams: 1,
        api_total: 96,
        api_errors: 75,
        ..AccountUsage::default()
    };
    assert_eq!(
        to_json(&AccountInfoResponse::ok(&usage)),
        r#"{"type":"io.nats.jetstream.api.v1.account_info_response","memory":0,"storage":0,"reserved_memory":0,"reserved_storage":0,"streams":1,"consumers":0,"limits":{"max_memory":-1,"max_storage":-1,"max_streams":-1,"max_consumers":-1,"max_ack_pending":-1,"memory_max_stream_bytes":-1,"storage_max_stream_bytes":-1,"max_bytes_required":false},"api":{"level":3,"total":96,"errors":75}}"#
    );
    assert_eq!(
        to_json(&AccountInfoResponse::error(&JsError::NotEnabledForAccount)),
        r#"{"type":"io.nats.jetstream.api.v1.account_info_response","error":{"code":503,"err_code":10039,"description":"JetStream not enabled for account"}}"#
    );
}

#[test]
fn delete_and_purge_replies_match_nats_server() {
    let delete = response_type::STREAM_DELETE;
    assert_eq!(
        to_json(&SuccessResponse::ok(delete)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_delete_response","success":true}"#
    );
    assert_eq!(
        to_json(&SuccessResponse::error(delete, &JsError::StreamNotFound)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_delete_response","error":{"code":404,"err_code":10059,"description":"stream not found"}}"#
    );
    assert_eq!(check_delete_request(b" { } "), Ok(()));
    let error = check_delete_request(br#"{"x":1}"#).unwrap_err();
    assert_eq!(
        to_json(&SuccessResponse::error(delete, &error)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_delete_response","error":{"code":400,"err_code":10038,"description":"expected an empty request payload"}}"#
    );
    // Purge: recorded replies.
    assert_eq!(
        to_json(&StreamPurgeResponse::ok(1)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_purge_response","success":true,"purged":1}"#
    );
    let error = decode_purge_request(br#"{"seq":1,"keep":1}"#).unwrap_err();
    assert_eq!(
        to_json(&StreamPurgeResponse::error(&error)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_purge_response","error":{"code":400,"err_code":10003,"description":"bad request"},"purged":0}"#
    );
    assert_eq!(
        to_json(&StreamPurgeResponse::error(&JsError::StreamSealed)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_purge_response","error":{"code":400,"err_code":10109,"description":"invalid operation on sealed stream"},"purged":0}"#
    );
    assert_eq!(
        decode_purge_request(br#"{"filter":"p.a","keep":1}"#),
        Ok(Some(PurgeRequest {
            seq: 0,
            filter: String::from("p.a"),
            keep: 1
        }))
    );
    assert_eq!(decode_purge_request(b""), Ok(None));
    assert_eq!(
        decode_purge_request(br#"{"bogus":1}"#),
        Err(JsError::InvalidJson(String::from(
            r#"json: unknown field "bogus""#
        )))
    );
}

#[test]
fn msg_get_and_delete_match_nats_server() {
    // Recorded STREAM.MSG.GET.P {"seq":1}.
    let message = StoredMessage {
        subject: String::from("p.a"),
        seq: 1,
        headers: Bytes::new(),
        payload: Bytes::from_static(b"one"),
        time: wall(1_795_326_632_633_618_004),
    };
    assert_eq!(
        to_json(&MsgGetResponse::ok(message, false)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","message":{"subject":"p.a","seq":1,"data":"b25l","time":"2026-11-22T05:50:32.633618004Z"}}"#
    );
    // Recorded STREAM.MSG.GET.D {"seq":1} of a message with headers, and with "no_hdr".
    let with_headers = StoredMessage {
        subject: String::from("d.a"),
        seq: 1,
        headers: Bytes::from_static(b"NATS/1.0\r\nNats-Msg-Id: m1\r\n\r\n"),
        payload: Bytes::from_static(b"one"),
        time: wall(1_795_326_644_111_801_324),
    };
    assert_eq!(
        to_json(&MsgGetResponse::ok(with_headers.clone(), false)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","message":{"subject":"d.a","seq":1,"hdrs":"TkFUUy8xLjANCk5hdHMtTXNnLUlkOiBtMQ0KDQo=","data":"b25l","time":"2026-11-22T05:50:44.111801324Z"}}"#
    );
    assert_eq!(
        to_json(&MsgGetResponse::ok(with_headers, true)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","message":{"subject":"d.a","seq":1,"data":"b25l","time":"2026-11-22T05:50:44.111801324Z"}}"#
    );
    let get_error = |body: &str| {
        to_json(&MsgGetResponse::error(
            &decode_msg_get_request(body.as_bytes()).unwrap_err(),
        ))
    };
    let bad_request = r#"{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","error":{"code":400,"err_code":10003,"description":"bad request"}}"#;
    for body in [
        "",
        "{}",
        r#"{"seq":1,"last_by_subj":"p.a"}"#,
        r#"{"seq":1,"batch":2}"#,
    ] {
        assert_eq!(get_error(body), bad_request, "{body}");
    }
    assert_eq!(
        get_error(r#"{"seq":-1}"#),
        r#"{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","error":{"code":400,"err_code":10025,"description":"invalid JSON: json: cannot unmarshal number -1 into Go struct field JSApiMsgGetRequest.seq of type uint64"}}"#
    );
    assert_eq!(
        get_error(r#"{"seq":1,"bogus":1}"#),
        r#"{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","error":{"code":400,"err_code":10025,"description":"invalid JSON: json: unknown field \"bogus\""}}"#
    );
    assert_eq!(
        to_json(&MsgGetResponse::error(&JsError::NoMessageFound)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","error":{"code":404,"err_code":10037,"description":"no message found"}}"#
    );
    assert_eq!(
        to_json(&MsgGetResponse::error(&JsError::RequiredApiLevel)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","error":{"code":412,"err_code":10185,"description":"JetStream minimum api level required"}}"#
    );
    let selector = |body: &str| decode_msg_get_request(body.as_bytes()).unwrap().selector();
    assert_eq!(selector(r#"{"seq":2}"#), Ok(MsgSelector::Seq(2)));
    assert_eq!(
        selector(r#"{"last_by_subj":"p.a"}"#),
        Ok(MsgSelector::LastBySubject(String::from("p.a")))
    );
    assert_eq!(
        selector(r#"{"next_by_subj":"p.>","seq":4}"#),
        Ok(MsgSelector::NextBySubject {
            subject: String::from("p.>"),
            from_seq: 4
        })
    );
    assert_eq!(
        selector(r#"{"start_time":"2026-01-01T00:00:00Z"}"#),
        Err(JsError::NotSupported("getting messages by time"))
    );
    // Delete: recorded replies.
    let delete = response_type::STREAM_MSG_DELETE;
    assert_eq!(
        to_json(&SuccessResponse::ok(delete)),
        r#"{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","success":true}"#
    );
    assert_eq!(
        to_json(&SuccessResponse::error(
            delete,
            &msg_delete_missing(1, 2, 3)
        )),
        r#"{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","error":{"code":500,"err_code":10057,"description":"no message found"}}"#
    );
    assert_eq!(
        to_json(&SuccessResponse::error(
            delete,
            &msg_delete_missing(1, 1, 0)
        )),
        r#"{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","error":{"code":500,"err_code":10057,"description":"stream store EOF"}}"#
    );
    assert_eq!(
        to_json(&SuccessResponse::error(
            delete,
            &msg_delete_missing(3, 2, 5)
        )),
        r#"{"type":"io.nats.jetstream.api.v1.stream_msg_delete_response","error":{"code":400,"err_code":10043,"description":"sequence 3 not found"}}"#
    );
    assert_eq!(decode_msg_delete_request(b"{}"), Err(JsError::BadRequest));
    assert_eq!(
        decode_msg_delete_request(br#"{"seq":2,"no_erase":true}"#),
        Ok(MsgDeleteRequest {
            seq: 2,
            no_erase: true
        })
    );
}

#[test]
fn not_supported_apis_get_a_clear_reply() {
    assert_eq!(
        crate::jetstream::responses::not_supported_reply("consumer_create_response", "consumers"),
        r#"{"type":"io.nats.jetstream.api.v1.consumer_create_response","error":{"code":400,"err_code":10003,"description":"consumers is not supported yet"}}"#
    );
}

#[test]
fn direct_get_matches_nats_server() {
    // Recorded DIRECT.GET.D {"seq":1} of a message stored with Nats-Msg-Id: m1.
    let block = direct_get_headers(
        b"NATS/1.0\r\nNats-Msg-Id: m1\r\n\r\n",
        "D",
        "d.a",
        1,
        wall(1_795_326_644_111_801_324),
        false,
    )
    .unwrap();
    assert_eq!(
        block,
        b"NATS/1.0\r\nNats-Msg-Id: m1\r\nNats-Stream: D\r\nNats-Subject: d.a\r\nNats-Sequence: 1\r\nNats-Time-Stamp: 2026-11-22T05:50:44.111801324Z\r\n\r\n"
    );
    let bare = direct_get_headers(b"", "D", "d.b", 3, wall(0), false).unwrap();
    assert_eq!(
        bare,
        b"NATS/1.0\r\nNats-Stream: D\r\nNats-Subject: d.b\r\nNats-Sequence: 3\r\nNats-Time-Stamp: 1970-01-01T00:00:00Z\r\n\r\n"
    );
    assert_eq!(direct_get_headers(b"", "D", "d.b", 3, wall(0), true), None);
    // Recorded statuses.
    assert_eq!(
        parse_direct_get(b"", b""),
        Err(DirectGetStatus::EmptyRequest)
    );
    assert_eq!(
        parse_direct_get(b"", b"garbage"),
        Err(DirectGetStatus::MalformedRequest)
    );
    assert_eq!(
        DirectGetStatus::EmptyRequest.header_block(),
        b"NATS/1.0 408 Empty Request\r\n\r\n"
    );
    assert_eq!(
        DirectGetStatus::MalformedRequest.header_block(),
        b"NATS/1.0 408 Malformed Request\r\n\r\n"
    );
    assert_eq!(
        DirectGetStatus::NotFound.header_block(),
        b"NATS/1.0 404 Message Not Found\r\n\r\n"
    );
    assert_eq!(
        parse_direct_get(b"", br#"{"seq":1,"whatever":true}"#),
        Ok(DirectGet {
            selector: MsgSelector::Seq(1),
            no_headers: false
        })
    );
    assert_eq!(
        parse_direct_get(b"", b"{}"),
        Err(DirectGetStatus::EmptyRequest)
    );
    assert_eq!(
        parse_direct_get(b"", br#"{"seq":1,"last_by_subj":"a"}"#),
        Err(DirectGetStatus::BadRequest)
    );
    assert_eq!(
        parse_direct_get(b"", br#"{"seq":"x"}"#),
        Err(DirectGetStatus::MalformedRequest)
    );
    assert_eq!(
        parse_direct_get(
            b"NATS/1.0\r\nNats-Required-Api-Level: 9\r\n\r\n",
            br#"{"seq":1}"#
        ),
        Err(DirectGetStatus::RequiredApiLevel)
    );
    assert_eq!(
        parse_direct_get_last(b"", "d.c", b""),
        Ok(DirectGet {
            selector: MsgSelector::LastBySubject(String::from("d.c")),
            no_headers: false
        })
    );
    assert_eq!(
        parse_direct_get_last(b"", "d.c", br#"{"seq":1}"#),
        Err(DirectGetStatus::BadRequest)
    );
    assert_eq!(
        parse_direct_get_last(b"", "d.c", br#"{"no_hdr":true}"#).map(|get| get.no_headers),
        Ok(true)
    );
}

#[test]
fn never_panics_on_any_body() {
    let bodies: [&[u8]; 7] = [
        b"\xff",
        b"{\"seq\":18446744073709551616}",
        b"{\"offset\":-9223372036854775808}",
        b"[[[",
        b"{\"start_time\":5}",
        b"{\"multi_last\":[1]}",
        b"{\"keep\":1e400}",
    ];
    for body in bodies {
        let _ = decode_list_request(body, true);
        let _ = decode_info_request(body);
        let _ = decode_purge_request(body);
        let _ = decode_msg_get_request(body).map(|request| request.selector());
        let _ = decode_msg_delete_request(body);
        let _ = parse_direct_get(body, body);
        let _ = parse_direct_get_last(body, "", body);
    }
    for subject in [
        "$JS.API.",
        "$JS.API..",
        "$JS.API.DIRECT.GET.S.",
        "$JS.API.DIRECT.GET..x",
    ] {
        let _ = parse_api_subject(subject);
    }
    assert_eq!(page(Vec::<u8>::new(), i64::MAX, 10), (Vec::new(), 0, 0));
}
