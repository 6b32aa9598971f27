//! The `jetstream_api` fuzz target: arbitrary `$JS.API.` requests against a JetStream over a
//! [`MemDisk`].

use std::sync::Arc;

use bytes::Bytes;

use super::Input;
use crate::jetstream::config::decode_config_request;
use crate::jetstream::json::to_json;
use crate::jetstream::{JetStream, JetStreamConfig};
use crate::store::MemDisk;
use crate::time::{Mono, Now, Wall};

/// Requests per input.
const REQUESTS_MAX: usize = 8;

/// API subjects a request may go to; `S` exists (file storage, direct gets allowed, three
/// messages), `M` is a name that may be created by the input.
const SUBJECTS: &[&str] = &[
    "$JS.API.INFO",
    "$JS.API.STREAM.CREATE.M",
    "$JS.API.STREAM.CREATE.S",
    "$JS.API.STREAM.UPDATE.S",
    "$JS.API.STREAM.UPDATE.M",
    "$JS.API.STREAM.INFO.S",
    "$JS.API.STREAM.DELETE.M",
    "$JS.API.STREAM.PURGE.S",
    "$JS.API.STREAM.MSG.GET.S",
    "$JS.API.STREAM.MSG.DELETE.S",
    "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.NAMES",
    "$JS.API.DIRECT.GET.S",
    "$JS.API.DIRECT.GET.S.s.a",
    "$JS.API.CONSUMER.INFO.S.C",
    "S.pub",
];

/// Arbitrary API requests against a JetStream holding one stream.
///
/// Input: per request a subject byte (of [`SUBJECTS`]), a length byte and that many body bytes.
/// Checks: no panic; every `$JS.API.` request with a reply is answered exactly once (only
/// `$JS.API.CONSUMER.MSG.NEXT`-like unanswered subjects excepted, none of which are used),
/// with JSON whose `type` is the API's (direct gets answer with headers, and a JSON body only
/// for a stored message); a stored config encodes and decodes back to itself; after all
/// requests and their syncs, reopening from the disk finds the same streams with the same
/// configs and message counts.
pub fn jetstream_api(data: &[u8]) {
    let mut input = Input::new(data);
    let disk = Arc::new(MemDisk::new());
    let now = Now::new(
        Mono::from_nanos(1),
        Wall::from_unix_nanos(1_700_000_000_000_000_000),
    );
    let (mut js, _) = JetStream::open(disk.clone(), JetStreamConfig::default(), "fuzz", now)
        .expect("a fresh MemDisk opens");
    let reply = Bytes::from_static(b"_INBOX.r");
    let setup = br#"{"name":"S","subjects":["S.>","s.>"],"allow_direct":true}"#;
    js.handle_message(
        now,
        &Bytes::from_static(b"$JS.API.STREAM.CREATE.S"),
        Some(&reply),
        None,
        &Bytes::from_static(setup),
    );
    for subject in ["s.a", "s.b", "S.c"] {
        js.handle_message(
            now,
            &Bytes::from_static(subject.as_bytes()),
            None,
            None,
            &Bytes::from_static(b"x"),
        );
    }
    settle(&mut js);
    let _ = js.take_replies();

    for _ in 0..REQUESTS_MAX {
        if input.is_empty() {
            break;
        }
        let subject = input.pick(SUBJECTS);
        let len = usize::from(input.byte());
        let body = Bytes::copy_from_slice(input.bytes(len));
        let answered = js.handle_message(
            now,
            &Bytes::from_static(subject.as_bytes()),
            Some(&reply),
            None,
            &body,
        );
        settle(&mut js);
        let replies = js.take_replies();
        if subject == "S.pub" {
            assert!(answered, "a publish to a stream subject is taken");
            assert!(replies.len() <= 1, "one PubAck per publish");
            continue;
        }
        assert!(answered, "{subject} is answered");
        assert_eq!(replies.len(), 1, "{subject} answered once: {replies:?}");
        let reply = &replies[0];
        if subject.starts_with("$JS.API.DIRECT.GET.") {
            assert!(reply.headers.is_some(), "a direct get answers with headers");
            continue;
        }
        let json: serde_json::Value = serde_json::from_slice(&reply.payload)
            .unwrap_or_else(|e| panic!("{subject}: reply is not JSON ({e}): {:?}", reply.payload));
        let kind = json["type"].as_str().unwrap_or_default();
        assert!(
            kind.starts_with("io.nats.jetstream.api.v1."),
            "{subject}: reply type {kind:?}"
        );
    }

    // Configs round-trip through their JSON (what the meta files store).
    let infos = js.stream_infos(now);
    for info in &infos {
        let json = to_json(&info.config);
        let decoded = decode_config_request(json.as_bytes())
            .unwrap_or_else(|e| panic!("a stored config does not decode: {e:?}: {json}"));
        assert_eq!(
            decoded.config, info.config,
            "config changed through its JSON"
        );
    }
    // Everything synced: a reopen finds the same file streams.
    let (reopened, report) =
        JetStream::open(disk, JetStreamConfig::default(), "fuzz", now).expect("reopens");
    let again = reopened.stream_infos(now);
    let summary = |infos: &[crate::jetstream::responses::StreamInfo]| -> Vec<(String, u64)> {
        infos
            .iter()
            .filter(|i| i.config.storage == crate::jetstream::config::StorageType::File)
            .map(|i| (to_json(&i.config), i.state.messages))
            .collect()
    };
    assert_eq!(
        summary(&again),
        summary(&infos),
        "reopen differs: {:?}",
        report.lines
    );
}

/// Runs every sync the engine asks for until none is left.
fn settle(js: &mut JetStream) {
    loop {
        let jobs = js.sync_jobs(Mono::from_nanos(1));
        if jobs.is_empty() {
            return;
        }
        for job in jobs {
            js.handle_synced(job.run());
        }
    }
}
