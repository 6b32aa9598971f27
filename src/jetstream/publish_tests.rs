//! Publish checks and PubAcks against nats-server 2.12.8.
//!
//! Each scenario replays, against a model of the stream's state, a sequence of publishes
//! made to nats-server 2.12.8 (`-js`, single server, raw client connection); every expected
//! reply is the PubAck it recorded, compared byte for byte.

use std::time::Duration;

use super::*;
use crate::jetstream::config::{decode_config_request, StreamConfig};
use crate::jetstream::validate::prepare_create;
use crate::routing::subject_matches;
use crate::store::msg_size_bytes;

/// A stream as the checks see it: stored (subject, seq, size) and the last msg id.
struct Model {
    config: StreamConfig,
    stored: Vec<(String, u64, u64)>,
    last_seq: u64,
    last_msg_id: String,
    dedupe: DedupeWindow,
}

impl StreamView for Model {
    fn last_seq(&self) -> u64 {
        self.last_seq
    }
    fn last_msg_id(&self) -> &str {
        &self.last_msg_id
    }
    fn last_seq_for_subject(&self, filter: &str) -> Option<u64> {
        self.stored
            .iter()
            .filter(|(subject, _, _)| subject_matches(filter.as_bytes(), subject.as_bytes()))
            .map(|(_, seq, _)| *seq)
            .max()
    }
}

impl StreamTotals for Model {
    fn msgs(&self) -> u64 {
        self.stored.len() as u64
    }
    fn bytes(&self) -> u64 {
        self.stored.iter().map(|(_, _, size)| size).sum()
    }
    fn subject_msgs(&self, subject: &str) -> u64 {
        self.stored.iter().filter(|(s, _, _)| s == subject).count() as u64
    }
    fn subject_first_msg_bytes(&self, subject: &str) -> Option<u64> {
        self.stored
            .iter()
            .find(|(s, _, _)| s == subject)
            .map(|(_, _, size)| *size)
    }
}

impl Model {
    fn new(body: &str) -> Model {
        let request = decode_config_request(body.as_bytes()).unwrap();
        let name = request.config.name.clone();
        let config = prepare_create(&name, &request).unwrap();
        Model {
            dedupe: DedupeWindow::from_nanos(config.duplicate_window_nanos),
            config,
            stored: Vec::new(),
            last_seq: 0,
            last_msg_id: String::new(),
        }
    }

    /// Publishes as the stream layer would, returning the reply.
    fn publish(&mut self, subject: &str, payload: &str, headers: &[(&str, &str)]) -> String {
        let block = header_block(headers);
        let message = Publish {
            subject,
            headers: &block,
            payload_len: payload.len(),
        };
        let now = crate::time::Mono::from_nanos(1_000);
        let name = self.config.name.clone();
        match check_publish(&self.config, &message, self, &self.dedupe, now) {
            PublishDecision::Reject(error) => pub_ack_error(&name, &error),
            PublishDecision::Duplicate { seq } => pub_ack_duplicate(&name, None, seq),
            PublishDecision::Store { msg_id, .. } => {
                let size = msg_size_bytes(subject.len(), block.len(), payload.len());
                if let Err(error) = check_discard_new(&self.config, self, subject, size) {
                    return pub_ack_error(&name, &error);
                }
                self.last_seq += 1;
                self.stored
                    .push((String::from(subject), self.last_seq, size));
                self.last_msg_id = msg_id.clone().unwrap_or_default();
                if let Some(id) = msg_id {
                    self.dedupe.insert(id, self.last_seq, now);
                }
                pub_ack(&name, None, self.last_seq)
            }
        }
    }
}

/// The header block the recording client sent: `NATS/1.0`, `Key: value` lines, blank line.
fn header_block(headers: &[(&str, &str)]) -> Vec<u8> {
    if headers.is_empty() {
        return Vec::new();
    }
    let mut block = b"NATS/1.0\r\n".to_vec();
    for (key, value) in headers {
        block.extend_from_slice(format!("{key}: {value}\r\n").as_bytes());
    }
    block.extend_from_slice(b"\r\n");
    block
}

/// (subject, payload, headers, recorded reply).
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, String);

fn error_ack(stream: &str, error: &str) -> String {
    format!(r#"{{"error":{error},"stream":"{stream}","seq":0}}"#)
}

const TOO_BIG: &str =
    r#"{"code":400,"err_code":10054,"description":"message size exceeds maximum allowed"}"#;
const WRONG_STREAM: &str =
    r#"{"code":400,"err_code":10060,"description":"expected stream does not match"}"#;
const ROLLUP_REFUSED: &str =
    r#"{"code":500,"err_code":10111,"description":"rollup not permitted"}"#;

fn wrong_last(seq: u64) -> String {
    format!(r#"{{"code":400,"err_code":10071,"description":"wrong last sequence: {seq}"}}"#)
}

fn wrong_msg_id(id: &str) -> String {
    format!(r#"{{"code":400,"err_code":10070,"description":"wrong last msg ID: {id}"}}"#)
}

#[test]
fn checks_and_their_order_on_a_small_stream() {
    // Recorded on stream P.
    let mut p = Model::new(
        r#"{"name":"P","subjects":["p.>"],"max_msgs":3,"discard":"new","max_msg_size":10}"#,
    );
    let cases: Vec<Case> = vec![
        (
            "p.a",
            "one",
            vec![],
            String::from(r#"{"stream":"P","seq":1}"#),
        ),
        (
            "p.a",
            "one",
            vec![("Nats-Msg-Id", "m1")],
            error_ack("P", TOO_BIG),
        ),
        (
            "p.a",
            "one",
            vec![("Nats-Msg-Id", "m1"), ("Nats-Expected-Stream", "Q")],
            error_ack("P", WRONG_STREAM),
        ),
        (
            "p.a",
            "one",
            vec![("Nats-Expected-Stream", "P")],
            error_ack("P", TOO_BIG),
        ),
        (
            "p.a",
            "one",
            vec![],
            String::from(r#"{"stream":"P","seq":2}"#),
        ),
        (
            "p.a",
            "one",
            vec![],
            String::from(r#"{"stream":"P","seq":3}"#),
        ),
        ("p.a", "01234567890", vec![], error_ack("P", TOO_BIG)),
        (
            "p.a",
            "0123",
            vec![("X", "1234567")],
            error_ack("P", TOO_BIG),
        ),
        (
            "p.b",
            "x",
            vec![("Nats-Expected-Last-Sequence", "5")],
            error_ack("P", &wrong_last(3)),
        ),
        (
            "p.b",
            "x",
            vec![("Nats-Expected-Last-Sequence", "abc")],
            error_ack("P", &wrong_last(3)),
        ),
        (
            "p.b",
            "x",
            vec![("Nats-Expected-Last-Subject-Sequence", "9")],
            error_ack("P", &wrong_last(0)),
        ),
        (
            "p.b",
            "x",
            vec![("Nats-Expected-Last-Subject-Sequence-Subject", "p.a")],
            error_ack(
                "P",
                r#"{"code":400,"err_code":10193,"description":"missing sequence for expected last sequence per subject"}"#,
            ),
        ),
        (
            "p.b",
            "x",
            vec![("Nats-Expected-Last-Msg-Id", "zz")],
            error_ack("P", &wrong_msg_id("")),
        ),
        (
            "p.b",
            "x",
            vec![("Nats-Rollup", "sub")],
            error_ack("P", ROLLUP_REFUSED),
        ),
        (
            "p.b",
            "x",
            vec![("Nats-Rollup", "bogus")],
            error_ack("P", ROLLUP_REFUSED),
        ),
        (
            "p.b",
            "x",
            vec![
                ("Nats-Expected-Last-Sequence", "5"),
                ("Nats-Expected-Stream", "Q"),
            ],
            error_ack("P", WRONG_STREAM),
        ),
        (
            "p.b",
            "x",
            vec![
                ("Nats-Expected-Last-Sequence", "5"),
                ("Nats-Expected-Last-Subject-Sequence", "7"),
            ],
            error_ack("P", &wrong_last(0)),
        ),
        (
            "p.b",
            "x",
            vec![("Nats-Msg-Id", "m1"), ("Nats-Expected-Last-Sequence", "5")],
            error_ack("P", &wrong_last(3)),
        ),
        (
            "p.b",
            "x",
            vec![("Nats-Msg-Id", "m1"), ("Nats-Expected-Last-Msg-Id", "zz")],
            error_ack("P", &wrong_msg_id("")),
        ),
        (
            "p.b",
            "01234567890",
            vec![("Nats-Expected-Last-Sequence", "5")],
            error_ack("P", &wrong_last(3)),
        ),
        (
            "p.b",
            "01234567890",
            vec![("Nats-Msg-Id", "m1")],
            error_ack("P", TOO_BIG),
        ),
        (
            "p.b",
            "01234567890",
            vec![("Nats-Rollup", "sub")],
            error_ack("P", ROLLUP_REFUSED),
        ),
        // With the subject given, its last sequence (p.a: 3) is checked.
        (
            "p.b",
            "x",
            vec![
                ("Nats-Expected-Last-Subject-Sequence", "2"),
                ("Nats-Expected-Last-Subject-Sequence-Subject", "p.a"),
            ],
            error_ack("P", &wrong_last(3)),
        ),
    ];
    for (subject, payload, headers, expected) in cases {
        assert_eq!(
            p.publish(subject, payload, &headers),
            expected,
            "{subject} {headers:?}"
        );
    }
}

#[test]
fn dedupe_expected_ids_rollups_and_limits() {
    // Recorded on streams D, E and F.
    let mut d = Model::new(
        r#"{"name":"D","subjects":["d.>"],"max_msgs":3,"discard":"new","allow_rollup_hdrs":true,"max_bytes":500, "allow_direct":true}"#,
    );
    let max_msgs = r#"{"code":503,"err_code":10077,"description":"maximum messages exceeded"}"#;
    let cases: Vec<Case> = vec![
        (
            "d.a",
            "one",
            vec![("Nats-Msg-Id", "m1")],
            String::from(r#"{"stream":"D","seq":1}"#),
        ),
        (
            "d.a",
            "one",
            vec![("Nats-Msg-Id", "m1")],
            String::from(r#"{"stream":"D","seq":1,"duplicate": true}"#),
        ),
        (
            "d.a",
            "one",
            vec![("Nats-Msg-Id", "m1"), ("Nats-Expected-Last-Sequence", "7")],
            error_ack("D", &wrong_last(1)),
        ),
        (
            "d.a",
            "one",
            vec![("Nats-Msg-Id", "m1"), ("Nats-Expected-Last-Msg-Id", "zz")],
            String::from(r#"{"stream":"D","seq":1,"duplicate": true}"#),
        ),
        (
            "d.a",
            "one",
            vec![("Nats-Msg-Id", "m2"), ("Nats-Expected-Last-Msg-Id", "m1")],
            String::from(r#"{"stream":"D","seq":2}"#),
        ),
        (
            "d.a",
            "one",
            vec![("Nats-Expected-Last-Msg-Id", "m1")],
            error_ack("D", &wrong_msg_id("m2")),
        ),
        (
            "d.b",
            "two",
            vec![("Nats-Expected-Last-Subject-Sequence", "0")],
            String::from(r#"{"stream":"D","seq":3}"#),
        ),
        (
            "d.b",
            "two",
            vec![("Nats-Expected-Last-Subject-Sequence", "0")],
            error_ack("D", &wrong_last(3)),
        ),
        (
            "d.b",
            "two",
            vec![("Nats-Rollup", "bogus")],
            error_ack(
                "D",
                r#"{"code":500,"err_code":10111,"description":"rollup value invalid: \"bogus\""}"#,
            ),
        ),
        (
            "d.b",
            "two",
            vec![("Nats-Rollup", "SUB")],
            error_ack("D", max_msgs),
        ),
        ("d.c", "three", vec![], error_ack("D", max_msgs)),
    ];
    for (subject, payload, headers, expected) in cases {
        assert_eq!(
            d.publish(subject, payload, &headers),
            expected,
            "{subject} {headers:?}"
        );
    }
    let mut e = Model::new(r#"{"name":"E","subjects":["e"],"max_bytes":50,"discard":"new"}"#);
    assert_eq!(
        e.publish("e", &"x".repeat(10), &[]),
        r#"{"stream":"E","seq":1}"#
    );
    assert_eq!(
        e.publish("e", &"x".repeat(10), &[]),
        error_ack(
            "E",
            r#"{"code":503,"err_code":10077,"description":"maximum bytes exceeded"}"#
        )
    );
    let mut f = Model::new(
        r#"{"name":"F","subjects":["f"],"max_msgs_per_subject":1,"discard":"new","discard_new_per_subject":true}"#,
    );
    assert_eq!(f.publish("f", "x", &[]), r#"{"stream":"F","seq":1}"#);
    assert_eq!(
        f.publish("f", "x", &[]),
        error_ack(
            "F",
            r#"{"code":503,"err_code":10077,"description":"maximum messages per subject exceeded"}"#
        )
    );
}

#[test]
fn rollup_scopes_and_ids_reach_the_caller() {
    let d = Model::new(r#"{"name":"R","allow_rollup_hdrs":true}"#);
    let block = header_block(&[("Nats-Rollup", "all"), ("Nats-Msg-Id", "x")]);
    let message = Publish {
        subject: "R",
        headers: &block,
        payload_len: 1,
    };
    assert_eq!(
        check_publish(&d.config, &message, &d, &d.dedupe, crate::time::Mono::ZERO),
        PublishDecision::Store {
            msg_id: Some(String::from("x")),
            rollup: Some(RollupScope::All)
        }
    );
    let mut denied = d.config.clone();
    denied.allow_rollup_hdrs = false;
    assert_eq!(
        check_publish(&denied, &message, &d, &d.dedupe, crate::time::Mono::ZERO),
        PublishDecision::Reject(JsError::StreamRollupFailed(String::from(
            "rollup not permitted"
        )))
    );
}

#[test]
fn unsupported_feature_headers_as_on_a_stream_without_them() {
    // Recorded on stream H (no TTLs, counters, schedules or batches).
    let mut h = Model::new(r#"{"name":"H","subjects":["h.>"]}"#);
    let ttl_disabled =
        r#"{"code":400,"err_code":10166,"description":"per-message TTL is disabled"}"#;
    let ttl_invalid = r#"{"code":400,"err_code":10165,"description":"invalid per-message TTL"}"#;
    let incr_disabled =
        r#"{"code":400,"err_code":10168,"description":"message counters is disabled"}"#;
    let incr_invalid =
        r#"{"code":400,"err_code":10171,"description":"message counter increment is invalid"}"#;
    let schedules =
        r#"{"code":400,"err_code":10188,"description":"message schedules is disabled"}"#;
    let batches = r#"{"code":400,"err_code":10174,"description":"atomic publish is disabled"}"#;
    let cases: Vec<(Vec<(&str, &str)>, String)> = vec![
        (vec![("Nats-TTL", "5")], error_ack("H", ttl_disabled)),
        (vec![("Nats-TTL", "0")], error_ack("H", ttl_invalid)),
        (
            vec![("Nats-TTL", "00")],
            String::from(r#"{"stream":"H","seq":1}"#),
        ),
        (vec![("Nats-TTL", "never")], error_ack("H", ttl_disabled)),
        (vec![("Nats-TTL", "-5s")], error_ack("H", ttl_invalid)),
        (vec![("Nats-Incr", "+5")], error_ack("H", incr_disabled)),
        (
            vec![("Nats-Incr", "x"), ("Nats-Expected-Stream", "Q")],
            error_ack("H", incr_invalid),
        ),
        (vec![("Nats-Schedule", "bogus")], error_ack("H", schedules)),
        (
            vec![("Nats-Schedule-Next", "purge")],
            error_ack("H", schedules),
        ),
        (
            vec![("Nats-Batch-Id", "b1"), ("Nats-Expected-Stream", "Q")],
            error_ack("H", batches),
        ),
        // Header names are case-sensitive: not an id, so not a duplicate.
        (
            vec![("nats-msg-id", "q1")],
            String::from(r#"{"stream":"H","seq":2}"#),
        ),
        (
            vec![("nats-msg-id", "q1")],
            String::from(r#"{"stream":"H","seq":3}"#),
        ),
        // Leading spaces are not part of the value, trailing ones are.
        (
            vec![("Nats-Msg-Id", "  q2  ")],
            String::from(r#"{"stream":"H","seq":4}"#),
        ),
        (
            vec![("Nats-Msg-Id", "q2  ")],
            String::from(r#"{"stream":"H","seq":4,"duplicate": true}"#),
        ),
        (
            vec![("Nats-Msg-Id", "q2")],
            String::from(r#"{"stream":"H","seq":5}"#),
        ),
        (
            vec![("Nats-TTL", "abc"), ("Nats-Expected-Last-Sequence", "1")],
            error_ack("H", &wrong_last(5)),
        ),
    ];
    for (headers, expected) in cases {
        assert_eq!(h.publish("h.a", "x", &headers), expected, "{headers:?}");
    }
}

#[test]
fn sealed_and_oversized_headers() {
    let mut sealed = Model::new(r#"{"name":"Z"}"#);
    sealed.config.sealed = true;
    assert_eq!(
        sealed.publish("Z", "x", &[]),
        error_ack(
            "Z",
            r#"{"code":400,"err_code":10109,"description":"invalid operation on sealed stream"}"#
        )
    );
    let mut big = Model::new(r#"{"name":"B"}"#);
    let value = "v".repeat(HEADER_BYTES_MAX);
    assert_eq!(
        big.publish("B", "x", &[("X", &value)]),
        error_ack(
            "B",
            r#"{"code":400,"err_code":10097,"description":"header size exceeds maximum allowed of 64k"}"#
        )
    );
}

#[test]
fn duplicates_end_with_the_window() {
    let mut model = Model::new(r#"{"name":"W","duplicate_window":1000000000}"#);
    assert_eq!(
        model.publish("W", "x", &[("Nats-Msg-Id", "a")]),
        r#"{"stream":"W","seq":1}"#
    );
    let block = header_block(&[("Nats-Msg-Id", "a")]);
    let message = Publish {
        subject: "W",
        headers: &block,
        payload_len: 1,
    };
    let stored_at = crate::time::Mono::from_nanos(1_000);
    let check = |at| check_publish(&model.config, &message, &model, &model.dedupe, at);
    assert_eq!(check(stored_at), PublishDecision::Duplicate { seq: 1 });
    assert_eq!(
        check(stored_at + Duration::from_millis(999)),
        PublishDecision::Duplicate { seq: 1 }
    );
    assert!(matches!(
        check(stored_at + Duration::from_secs(1)),
        PublishDecision::Store { .. }
    ));
}

#[test]
fn pub_acks_as_nats_server_writes_them() {
    assert_eq!(pub_ack("ORDERS", None, 6), r#"{"stream":"ORDERS","seq":6}"#);
    assert_eq!(
        pub_ack("ORDERS", Some("hub"), 6),
        r#"{"stream":"ORDERS","domain":"hub","seq":6}"#
    );
    assert_eq!(
        pub_ack_duplicate("S", Some("hub"), 2),
        r#"{"stream":"S","domain":"hub","seq":2,"duplicate": true}"#
    );
    // %q (not the JSON encoder) for the success ack; the JSON encoder for errors.
    assert_eq!(pub_ack("a<b", None, 1), r#"{"stream":"a<b","seq":1}"#);
    assert_eq!(
        pub_ack_error("a<b", &JsError::StreamSealed),
        r#"{"error":{"code":400,"err_code":10109,"description":"invalid operation on sealed stream"},"stream":"a\u003cb","seq":0}"#
    );
    // async-nats parses both.
    let ack: async_nats::jetstream::publish::PublishAck =
        serde_json::from_str(&pub_ack_duplicate("S", None, 2)).unwrap();
    assert!(ack.duplicate);
    assert_eq!(ack.sequence, 2);
}

#[test]
fn never_panics_on_any_headers() {
    let model = Model::new(r#"{"name":"N","allow_rollup_hdrs":true,"max_msg_size":0}"#);
    let blocks: [&[u8]; 6] = [
        b"NATS/1.0",
        b"\r\n\r\n",
        b"NATS/1.0\r\nNats-Msg-Id:",
        b"NATS/1.0\r\nNats-Expected-Last-Sequence: 99999999999999999999999\r\n\r\n",
        b"NATS/1.0\r\nNats-Rollup: \xff\r\nNats-TTL: \xff\r\n\r\n",
        b"\xff\xfe\r\nNats-Expected-Stream: \xff\r\n",
    ];
    for block in blocks {
        let message = Publish {
            subject: "N",
            headers: block,
            payload_len: usize::MAX,
        };
        let _ = check_publish(
            &model.config,
            &message,
            &model,
            &model.dedupe,
            crate::time::Mono::ZERO,
        );
    }
}
