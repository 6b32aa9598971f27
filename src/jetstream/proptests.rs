//! Property tests: nothing a client sends makes the JetStream layer panic, whatever the bytes;
//! the dedupe window never reports an id after its window nor drops one inside it; subject
//! overlap is symmetric and agrees with matching a common literal subject.

use std::time::Duration;

use proptest::prelude::*;

use crate::jetstream::api::{self, parse_api_subject};
use crate::jetstream::config::decode_config_request;
use crate::jetstream::dedupe::DedupeWindow;
use crate::jetstream::direct;
use crate::jetstream::headers::PublishHeaders;
use crate::jetstream::publish::{check_publish, Publish, StreamView};
use crate::jetstream::subjects::subjects_overlap;
use crate::jetstream::validate::{prepare_create, prepare_update};
use crate::routing::subject_matches;
use crate::time::Mono;

/// `cases` per property, and no regression files written into the source tree.
fn config_cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

struct Empty;

impl StreamView for Empty {
    fn last_seq(&self) -> u64 {
        0
    }
    fn last_msg_id(&self) -> &str {
        ""
    }
    fn last_seq_for_subject(&self, _: &str) -> Option<u64> {
        None
    }
}

/// JSON-ish bytes: mostly the characters and keys requests are made of, so that decoding gets
/// past the first byte often.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "null",
        "true",
        "1",
        "-1",
        "1.5",
        "1e3",
        " ",
        "\"name\"",
        "\"S\"",
        "\"subjects\"",
        "\"max_msgs\"",
        "\"seq\"",
        "\"keep\"",
        "\"filter\"",
        "\"retention\"",
        "\"limits\"",
        "\"discard\"",
        "\"NEW\"",
        "\"mirror\"",
        "\"placement\"",
        "\"metadata\"",
        "\"consumer_limits\"",
        "\"\\u00\"",
        "\u{ff}",
        "\\",
    ]);
    prop::collection::vec(pieces, 0..24).prop_map(|pieces| pieces.concat().into_bytes())
}

proptest! {
    #![proptest_config(config_cases(512))]

    #[test]
    fn requests_never_panic(body in prop_oneof![jsonish(), prop::collection::vec(any::<u8>(), 0..64)]) {
        if let Ok(request) = decode_config_request(&body) {
            let _ = prepare_create("S", &request);
            let _ = prepare_update("S", &request, Some(&request.config));
        }
        let _ = api::decode_list_request(&body, true);
        let _ = api::decode_info_request(&body);
        let _ = api::decode_purge_request(&body);
        let _ = api::decode_msg_get_request(&body).map(|request| request.selector());
        let _ = api::decode_msg_delete_request(&body);
        let _ = api::check_delete_request(&body);
        let _ = direct::parse_direct_get(&body, &body);
        let _ = direct::parse_direct_get_last(&body, "a", &body);
    }

    #[test]
    fn headers_and_subjects_never_panic(block in prop::collection::vec(any::<u8>(), 0..96), subject in ".{0,24}") {
        let _ = PublishHeaders::parse(&block);
        let _ = parse_api_subject(&subject);
        let _ = parse_api_subject(&format!("$JS.API.{subject}"));
        let request = decode_config_request(br#"{"name":"S","allow_rollup_hdrs":true,"max_msg_size":8}"#).unwrap();
        let config = prepare_create("S", &request).unwrap();
        let message = Publish { subject: "S", headers: &block, payload_len: 3 };
        let _ = check_publish(&config, &message, &Empty, &DedupeWindow::default(), Mono::ZERO);
    }

    #[test]
    fn dedupe_window_is_exact(
        window_ms in 1u64..1_000,
        gaps_ms in prop::collection::vec(0u64..400, 1..40),
        probe_ms in 0u64..2_000,
    ) {
        let window = Duration::from_millis(window_ms);
        let mut dedupe = DedupeWindow::new(window);
        let mut now = Mono::ZERO;
        let mut stored = Vec::new();
        for (i, gap) in gaps_ms.iter().enumerate() {
            now = now + Duration::from_millis(*gap);
            let id = format!("m{}", i % 7);
            if dedupe.get(&id, now).is_none() {
                dedupe.insert(id.clone(), i as u64, now);
                stored.push((id, i as u64, now));
            }
            if i % 5 == 0 {
                dedupe.expire(now);
            }
        }
        let probe = now + Duration::from_millis(probe_ms);
        for (id, seq, at) in &stored {
            // The newest entry for the id decides.
            let newest = stored.iter().rev().find(|(other, _, _)| other == id).unwrap();
            if (newest.1, newest.2) != (*seq, *at) {
                continue;
            }
            let expected = (probe.saturating_since(*at) < window).then_some(*seq);
            prop_assert_eq!(dedupe.get(id, probe), expected);
        }
        dedupe.expire(probe);
        for (id, _, at) in &stored {
            if probe.saturating_since(*at) < window {
                prop_assert!(dedupe.get(id, probe).is_some());
            }
        }
    }

    #[test]
    fn overlap_is_symmetric_and_matches_a_literal(
        a in prop::collection::vec(prop::sample::select(vec!["a", "b", "*"]), 1..4),
        b in prop::collection::vec(prop::sample::select(vec!["a", "b", "*"]), 1..4),
        a_full in any::<bool>(),
        b_full in any::<bool>(),
    ) {
        let join = |tokens: &Vec<&str>, full: bool| {
            let mut subject = tokens.join(".");
            if full {
                subject.push_str(".>");
            }
            subject
        };
        let (a, b) = (join(&a, a_full), join(&b, b_full));
        prop_assert_eq!(subjects_overlap(&a, &b), subjects_overlap(&b, &a));
        // A witness: each filter's tokens with wildcards replaced by a fresh token, padded.
        let witness_for = |filter: &str, other: &str| {
            let mut tokens: Vec<String> = Vec::new();
            let f: Vec<&str> = filter.split('.').collect();
            let o: Vec<&str> = other.split('.').collect();
            for i in 0..f.len().max(o.len()) {
                let pick = match (f.get(i), o.get(i)) {
                    (Some(x), _) if *x != "*" && *x != ">" => *x,
                    (_, Some(y)) if *y != "*" && *y != ">" => *y,
                    _ => "z",
                };
                tokens.push(String::from(pick));
            }
            tokens.join(".")
        };
        let witness = witness_for(&a, &b);
        let both = subject_matches(a.as_bytes(), witness.as_bytes())
            && subject_matches(b.as_bytes(), witness.as_bytes());
        if both {
            prop_assert!(subjects_overlap(&a, &b), "{} / {} share {}", a, b, witness);
        }
    }
}

mod routes {
    //! Which stream a published subject goes to comes from a sublist of the streams'
    //! subjects. Against the obvious model (each stream's subjects scanned with
    //! `Stream::matches`), through creates (some refused for overlapping), subject updates
    //! and deletes.
    use super::*;
    use crate::jetstream::{JetStream, JetStreamConfig};
    use crate::store::MemDisk;
    use crate::time::{Now, Wall};
    use bytes::Bytes;
    use std::sync::Arc;

    const FILTERS: &[&str] = &["a", "a.b", "a.*", "a.>", "b.>", "*.c", "c.*.d", "d"];
    const SUBJECTS: &[&str] = &["a", "a.b", "a.c", "a.b.c", "b.x", "x.c", "c.x.d", "d", "e"];
    const NAMES: &[&str] = &["S1", "S2", "S3", "S4"];

    #[derive(Debug, Clone)]
    enum Op {
        Create(usize, Vec<usize>),
        Update(usize, Vec<usize>),
        Delete(usize),
        Publish(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let filters = prop::collection::vec(0..FILTERS.len(), 1..3);
        prop_oneof![
            1 => (0..NAMES.len(), filters.clone()).prop_map(|(n, f)| Op::Create(n, f)),
            1 => (0..NAMES.len(), filters).prop_map(|(n, f)| Op::Update(n, f)),
            1 => (0..NAMES.len()).prop_map(Op::Delete),
            3 => (0..SUBJECTS.len()).prop_map(Op::Publish),
        ]
    }

    fn request(js: &mut JetStream, now: Now, subject: &str, body: String) {
        js.handle_message(
            now,
            &Bytes::from(subject.to_string()),
            Some(&Bytes::from_static(b"_INBOX.r")),
            None,
            &Bytes::from(body),
        );
        let _ = js.take_replies();
    }

    /// Each stream's message count, by name.
    fn counts(js: &JetStream, now: Now) -> Vec<(String, u64)> {
        js.stream_infos(now)
            .into_iter()
            .map(|info| (info.config.name.clone(), info.state.messages))
            .collect()
    }

    proptest! {
        #![proptest_config(config_cases(200))]
        #[test]
        fn published_subjects_reach_the_stream_a_scan_would_find(
            ops in prop::collection::vec(op(), 1..40),
        ) {
            let now = Now::new(Mono::from_nanos(1), Wall::from_unix_nanos(1_700_000_000_000_000_000));
            let (mut js, _) = JetStream::open(Arc::new(MemDisk::new()), JetStreamConfig::default(), "t", now)
                .expect("a fresh MemDisk opens");
            for op in ops {
                match &op {
                    Op::Create(n, f) | Op::Update(n, f) => {
                        let verb = if matches!(op, Op::Create(..)) { "CREATE" } else { "UPDATE" };
                        let subjects: Vec<&str> = f.iter().map(|&i| FILTERS[i]).collect();
                        let body = serde_json::json!({
                            "name": NAMES[*n], "subjects": subjects, "storage": "memory",
                        });
                        request(&mut js, now, &format!("$JS.API.STREAM.{verb}.{}", NAMES[*n]), body.to_string());
                    }
                    Op::Delete(n) => {
                        request(&mut js, now, &format!("$JS.API.STREAM.DELETE.{}", NAMES[*n]), String::new());
                    }
                    Op::Publish(i) => {
                        let subject = SUBJECTS[*i];
                        // The model: the first stream by name whose subjects match.
                        let expected = js.stream_by_scan(subject.as_bytes());
                        prop_assert_eq!(js.wants(subject.as_bytes()), expected.is_some(), "{}", subject);
                        let before = counts(&js, now);
                        let taken = js.handle_message(
                            now,
                            &Bytes::from_static(subject.as_bytes()),
                            None,
                            None,
                            &Bytes::from_static(b"x"),
                        );
                        prop_assert_eq!(taken, expected.is_some());
                        let after = counts(&js, now);
                        for ((name, was), (_, is)) in before.iter().zip(&after) {
                            let grew = u64::from(Some(name) == expected.as_ref());
                            prop_assert_eq!(*is, was + grew, "{} on {}", subject, name);
                        }
                    }
                }
            }
        }
    }
}
