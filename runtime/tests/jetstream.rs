//! JetStream streams end to end: the real binary started with `-js -sd <dir>`, driven by
//! async-nats's `jetstream` API and by raw requests where the exact reply matters.
//!
//! The expectations were taken from nats-server 2.12.8 and are checked against it: set
//! `SWITCHBOARD_JS_REFERENCE=/path/to/nats-server` and the same tests run against that binary
//! instead of `switchboard` (nats-server takes the same `-a`, `-p -1`, `-js` and `-sd` flags).
//! Nothing here depends on the store's file layout, only on what a client can observe.

#![cfg(unix)]

mod common;

use std::future::{Future, IntoFuture};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{
    ContextBuilder, CreateStreamErrorKind, GetStreamErrorKind, PublishErrorKind,
};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{
    Config, DeleteMessageErrorKind, DirectGetErrorKind, DiscardPolicy, LastRawMessageErrorKind,
    StorageType,
};
use async_nats::jetstream::{self, Context};
use async_nats::{Client, HeaderMap};
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt, TryStreamExt};
use serde_json::{json, Value};

use common::{path_str, temp_dir, Process, DEADLINE};

/// Names a nats-server binary to run the tests against instead of `switchboard`.
const REFERENCE_VARIABLE: &str = "SWITCHBOARD_JS_REFERENCE";

/// The server binary under test.
fn server_program() -> String {
    std::env::var(REFERENCE_VARIABLE)
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_switchboard").to_string())
}

/// Starts the server under test on a random loopback port with JetStream on and its store in
/// `store`, and waits until it is ready.
fn start_server(store: &Path) -> Process {
    let server = Process::start_program(
        &server_program(),
        &["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", path_str(store)],
    );
    assert!(
        server.port.is_some(),
        "the server logged no client port; output:\n{}",
        server.output().join("\n")
    );
    server
}

/// Awaits `future`, failing the test if it takes longer than `DEADLINE`.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {DEADLINE:?}"))
}

/// A client and a JetStream context whose API requests and acks time out after `timeout`.
async fn connect_with_timeout(server: &Process, timeout: Duration) -> (Client, Context) {
    let client = within(
        "connect",
        async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(server.client_url()),
    )
    .await
    .expect("the client connects");
    let context = ContextBuilder::new().timeout(timeout).build(client.clone());
    (client, context)
}

async fn connect(server: &Process) -> (Client, Context) {
    connect_with_timeout(server, Duration::from_secs(5)).await
}

/// A file-backed stream named `name` capturing `subjects`, everything else default.
fn file_stream(name: &str, subjects: &[&str]) -> Config {
    Config {
        name: name.to_string(),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        storage: StorageType::File,
        ..Default::default()
    }
}

async fn create(context: &Context, config: Config) -> jetstream::stream::Stream {
    let name = config.name.clone();
    within("create a stream", context.create_stream(config))
        .await
        .unwrap_or_else(|e| panic!("create stream {name}: {e}"))
}

/// Publishes and waits for the PubAck.
async fn publish(
    context: &Context,
    subject: &str,
    payload: &str,
) -> jetstream::publish::PublishAck {
    send(
        context,
        subject,
        PublishMessage::build().payload(payload.to_string().into()),
    )
    .await
    .unwrap_or_else(|e| panic!("publish to {subject}: {e}"))
}

/// Publishes `message` and waits for the PubAck or the error it carries.
async fn send(
    context: &Context,
    subject: &str,
    message: PublishMessage,
) -> Result<jetstream::publish::PublishAck, jetstream::context::PublishError> {
    within("publish and ack", async {
        context
            .send_publish(subject.to_string(), message)
            .await?
            .await
    })
    .await
}

/// The JetStream API error somewhere in `error`'s chain of sources, if any. async-nats keeps
/// the server's error there for the kinds that do not name it (`PublishErrorKind::Other`).
fn api_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a jetstream::Error> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(api) = error.downcast_ref::<jetstream::Error>() {
            return Some(api);
        }
        next = error.source();
    }
    None
}

/// Asserts that `error` carries the JetStream API error (status, err_code, description).
#[track_caller]
fn assert_api_error(
    error: &(dyn std::error::Error + 'static),
    code: usize,
    err_code: u64,
    description: &str,
) {
    let api = api_error(error).unwrap_or_else(|| panic!("no JetStream API error in {error}"));
    assert_api(api, code, err_code, description);
}

/// A STREAM.CREATE or UPDATE refused with this JetStream error.
#[track_caller]
fn assert_create_refused(
    error: &async_nats::jetstream::context::CreateStreamError,
    code: usize,
    err_code: u64,
    description: &str,
) {
    match error.kind() {
        CreateStreamErrorKind::JetStream(api) => assert_api(&api, code, err_code, description),
        other => panic!("unexpected error kind {other:?}"),
    }
}

#[track_caller]
fn assert_api(api: &jetstream::Error, code: usize, err_code: u64, description: &str) {
    assert_eq!(
        (api.code(), api.error_code().0),
        (code, err_code),
        "error {api}"
    );
    // async-nats shows "<description> (code .., error code ..)".
    assert_eq!(
        api.to_string(),
        format!("{description} (code {code}, error code {err_code})")
    );
}

/// A request with `headers`, its reply parsed as JSON: exact, whatever async-nats makes of it.
async fn raw_request(
    client: &Client,
    subject: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Value {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(*name, *value);
    }
    let reply = within(
        "a raw request",
        client.request_with_headers(subject.to_string(), map, body.to_string().into()),
    )
    .await
    .unwrap_or_else(|e| panic!("request to {subject}: {e}"));
    serde_json::from_slice(&reply.payload).unwrap_or_else(|e| {
        panic!(
            "reply to {subject} is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&reply.payload)
        )
    })
}

async fn stream_state(context: &Context, name: &str) -> jetstream::stream::State {
    within("stream info", context.get_stream(name))
        .await
        .unwrap_or_else(|e| panic!("info of {name}: {e}"))
        .cached_info()
        .state
        .clone()
}

/// The sequences a stream still holds, in order, read one by one up to `last`.
async fn sequences(stream: &jetstream::stream::Stream, last: u64) -> Vec<u64> {
    let mut present = Vec::new();
    for sequence in 1..=last {
        match within("get a message", stream.get_raw_message(sequence)).await {
            Ok(message) => {
                assert_eq!(message.sequence, sequence);
                present.push(sequence);
            }
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => {}
            Err(e) => panic!("get {sequence}: {e}"),
        }
    }
    present
}

/// Asserts that deleting message `sequence` is refused with the given API error.
async fn assert_delete_refused(
    stream: &jetstream::stream::Stream,
    sequence: u64,
    code: usize,
    err_code: u64,
    description: &str,
) {
    let error = within("delete", stream.delete_message(sequence))
        .await
        .expect_err("nothing to delete");
    match error.kind() {
        DeleteMessageErrorKind::JetStream(api) => assert_eq!(
            api.to_string(),
            format!("{description} (code {code}, error code {err_code})"),
            "deleting message {sequence}"
        ),
        other => panic!("deleting message {sequence}: unexpected error kind {other:?}"),
    }
}

/// Standard base64 with padding, as the JSON API encodes payloads and header blocks.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for character in text.bytes().filter(|&c| c != b'=') {
        let value = ALPHABET
            .iter()
            .position(|&a| a == character)
            .unwrap_or_else(|| panic!("not base64: {text:?}"));
        buffer = (buffer << 6) | u32::try_from(value).expect("< 64");
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push(u8::try_from((buffer >> bits) & 0xff).expect("masked"));
        }
    }
    bytes
}

#[tokio::test]
async fn streams_are_created_listed_updated_and_deleted() {
    let store = temp_dir("js-admin");
    let server = start_server(&store);
    let (_client, context) = connect(&server).await;

    let orders = create(&context, file_stream("ORDERS", &["orders.*", "billing.>"])).await;
    let info = orders.cached_info();
    assert_eq!(info.config.name, "ORDERS");
    assert_eq!(info.config.subjects, ["orders.*", "billing.>"]);
    assert_eq!(info.config.storage, StorageType::File);
    assert_eq!(info.config.discard, DiscardPolicy::Old);
    // Zero (what the client sends for "unset") comes back as -1, unlimited.
    assert_eq!(info.config.max_messages, -1);
    assert_eq!(info.config.max_bytes, -1);
    assert_eq!(info.config.max_messages_per_subject, -1);
    assert_eq!(info.config.num_replicas, 1);
    assert_eq!(info.config.duplicate_window, Duration::from_secs(120));
    assert_eq!((info.state.messages, info.state.last_sequence), (0, 0));
    create(&context, file_stream("EVENTS", &["events.>"])).await;

    // The same name with the same configuration is not an error.
    create(&context, file_stream("ORDERS", &["orders.*", "billing.>"])).await;
    // With a different one it is.
    let changed = Config {
        max_messages: 10,
        ..file_stream("ORDERS", &["orders.*", "billing.>"])
    };
    let error = within("create", context.create_stream(changed))
        .await
        .expect_err("a different configuration under a used name is refused");
    assert_create_refused(
        &error,
        400,
        10058,
        "stream name already in use with a different configuration",
    );
    // Subjects already captured by another stream.
    let error = within(
        "create",
        context.create_stream(file_stream("OVERLAP", &["orders.eu"])),
    )
    .await
    .expect_err("overlapping subjects are refused");
    assert_create_refused(
        &error,
        400,
        10065,
        "subjects overlap with an existing stream",
    );

    let missing = within("info", context.get_stream("MISSING"))
        .await
        .expect_err("no such stream");
    match missing.kind() {
        GetStreamErrorKind::JetStream(api) => assert_api(&api, 404, 10059, "stream not found"),
        other => panic!("unexpected error kind {other:?}"),
    }

    let mut names: Vec<String> = within("names", context.stream_names().try_collect())
        .await
        .expect("stream names");
    names.sort();
    assert_eq!(names, ["EVENTS", "ORDERS"]);
    let listed: Vec<jetstream::stream::Info> = within("list", context.streams().try_collect())
        .await
        .expect("stream list");
    let mut listed: Vec<(String, Vec<String>)> = listed
        .into_iter()
        .map(|info| (info.config.name, info.config.subjects))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            ("EVENTS".to_string(), vec!["events.>".to_string()]),
            (
                "ORDERS".to_string(),
                vec!["orders.*".to_string(), "billing.>".to_string()]
            ),
        ]
    );

    // The wildcards capture what they should, and only that.
    assert_eq!(publish(&context, "orders.new", "a").await.stream, "ORDERS");
    assert_eq!(
        publish(&context, "billing.eu.paid", "b").await.stream,
        "ORDERS"
    );
    let nobody = send(
        &context,
        "orders.new.deep",
        PublishMessage::build().payload("c".into()),
    )
    .await
    .expect_err("orders.* does not capture orders.new.deep");
    assert_eq!(nobody.kind(), PublishErrorKind::StreamNotFound);

    // Update: more subjects, a limit and a description; the messages stay.
    let updated = Config {
        subjects: vec!["orders.*".into(), "billing.>".into(), "refunds.>".into()],
        max_messages: 1000,
        description: Some("orders and money".into()),
        ..file_stream("ORDERS", &[])
    };
    let info = within("update", context.update_stream(&updated))
        .await
        .expect("update");
    assert_eq!(info.config.subjects, updated.subjects);
    assert_eq!(info.config.max_messages, 1000);
    assert_eq!(info.config.description.as_deref(), Some("orders and money"));
    assert_eq!(info.state.messages, 2);
    assert_eq!(publish(&context, "refunds.x", "r").await.sequence, 3);
    let info = within("info", context.get_stream("ORDERS"))
        .await
        .expect("info")
        .cached_info()
        .clone();
    assert_eq!(info.config.max_messages, 1000);
    assert_eq!(info.state.messages, 3);

    // Some things cannot be updated, and a missing stream cannot be.
    let error = within(
        "update",
        context.update_stream(Config {
            storage: StorageType::Memory,
            ..updated.clone()
        }),
    )
    .await
    .expect_err("the storage type is fixed");
    assert_create_refused(
        &error,
        500,
        10052,
        "stream configuration update can not change storage type",
    );
    let error = within(
        "update",
        context.update_stream(file_stream("MISSING", &["m"])),
    )
    .await
    .expect_err("no such stream");
    assert_eq!(error.kind(), CreateStreamErrorKind::NotFound);

    let deleted = within("delete", context.delete_stream("EVENTS"))
        .await
        .expect("delete");
    assert!(deleted.success);
    let names: Vec<String> = within("names", context.stream_names().try_collect())
        .await
        .expect("stream names");
    assert_eq!(names, ["ORDERS"]);
    match within("delete", context.delete_stream("EVENTS")).await {
        Ok(status) => panic!("deleted twice (success {})", status.success),
        Err(error) => match error.kind() {
            GetStreamErrorKind::JetStream(api) => assert_api(&api, 404, 10059, "stream not found"),
            other => panic!("unexpected error kind {other:?}"),
        },
    }
    // Its subjects are free again.
    let nobody = send(
        &context,
        "events.x",
        PublishMessage::build().payload("e".into()),
    )
    .await
    .expect_err("no stream captures events.> any more");
    assert_eq!(nobody.kind(), PublishErrorKind::StreamNotFound);
}

#[tokio::test]
async fn published_messages_are_acked_in_order_and_read_back() {
    let store = temp_dir("js-publish");
    let server = start_server(&store);
    let (client, context) = connect(&server).await;
    let stream = create(
        &context,
        Config {
            allow_direct: true,
            ..file_stream("LOG", &["log.>"])
        },
    )
    .await;

    let subjects = ["log.a", "log.b", "log.a", "log.b", "log.a"];
    for (index, subject) in subjects.iter().enumerate() {
        let ack = publish(&context, subject, &format!("m{index}")).await;
        assert_eq!(ack.stream, "LOG");
        assert_eq!(ack.sequence, index as u64 + 1);
        assert!(!ack.duplicate);
    }
    let mut headers = HeaderMap::new();
    headers.insert("X-Trace", "abc");
    headers.append("X-Multi", "1");
    headers.append("X-Multi", "2");
    let ack = within("publish with headers", async {
        context
            .publish_with_headers("log.h", headers, "with headers".into())
            .await?
            .await
    })
    .await
    .expect("published");
    assert_eq!((ack.stream.as_str(), ack.sequence), ("LOG", 6));

    // The PubAck exactly as the server sends it: no `duplicate` or `domain` when not set.
    let ack = raw_request(&client, "log.raw", &[], "raw").await;
    assert_eq!(ack, json!({"stream": "LOG", "seq": 7}));

    for (index, subject) in subjects.iter().enumerate() {
        let sequence = index as u64 + 1;
        let message = within("get", stream.get_raw_message(sequence))
            .await
            .expect("stored");
        assert_eq!(message.sequence, sequence);
        assert_eq!(message.subject.as_str(), *subject);
        assert_eq!(message.payload, format!("m{index}"));
        let direct = within("direct get", stream.direct_get(sequence))
            .await
            .expect("stored");
        assert_eq!(direct.sequence, sequence);
        assert_eq!(direct.subject.as_str(), *subject);
        assert_eq!(direct.payload, format!("m{index}"));
    }
    // STREAM.MSG.GET returns the header block as sent, base64 encoded. (async-nats parses it
    // into a map that keeps one value per name, so read the raw reply.)
    let raw = raw_request(&client, "$JS.API.STREAM.MSG.GET.LOG", &[], r#"{"seq":6}"#).await;
    let message = &raw["message"];
    assert_eq!(message["subject"], "log.h");
    assert_eq!(message["seq"], 6);
    assert_eq!(
        base64_decode(message["data"].as_str().expect("data")),
        b"with headers"
    );
    let block = base64_decode(message["hdrs"].as_str().expect("hdrs"));
    let block = String::from_utf8(block).expect("a text header block");
    assert!(block.starts_with("NATS/1.0\r\n"), "{block:?}");
    assert!(block.ends_with("\r\n\r\n"), "{block:?}");
    let mut lines: Vec<&str> = block.trim_end().lines().skip(1).collect();
    lines.sort_unstable();
    assert_eq!(lines, ["X-Multi: 1", "X-Multi: 2", "X-Trace: abc"]);
    let message = within("get", stream.get_raw_message(6))
        .await
        .expect("stored");
    assert_eq!(message.subject.as_str(), "log.h");
    assert_eq!(message.payload, "with headers");
    assert_eq!(
        message.headers.get("X-Trace").map(|v| v.as_str()),
        Some("abc")
    );
    // A direct get answers with the message itself, its headers as headers.
    let message = within("direct get", stream.direct_get(6))
        .await
        .expect("stored");
    assert_eq!(message.subject.as_str(), "log.h");
    assert_eq!(message.payload, "with headers");
    assert_eq!(
        message.headers.get("X-Trace").map(|v| v.as_str()),
        Some("abc")
    );
    let multi: Vec<&str> = message
        .headers
        .get_all("X-Multi")
        .map(|v| v.as_str())
        .collect();
    assert_eq!(multi, ["1", "2"]);
    assert_eq!(
        message.headers.get("Nats-Stream").map(|v| v.as_str()),
        Some("LOG")
    );
    assert_eq!(
        message.headers.get("Nats-Subject").map(|v| v.as_str()),
        Some("log.h")
    );
    assert_eq!(
        message.headers.get("Nats-Sequence").map(|v| v.as_str()),
        Some("6")
    );

    let last_a = within(
        "last by subject",
        stream.get_last_raw_message_by_subject("log.a"),
    )
    .await
    .expect("log.a has messages");
    assert_eq!((last_a.sequence, &last_a.payload[..]), (5, &b"m4"[..]));
    let last_b = within("direct last", stream.direct_get_last_for_subject("log.b"))
        .await
        .expect("log.b has messages");
    assert_eq!((last_b.sequence, &last_b.payload[..]), (4, &b"m3"[..]));

    let missing = within("get", stream.get_raw_message(99))
        .await
        .expect_err("no message 99");
    assert_eq!(missing.kind(), LastRawMessageErrorKind::NoMessageFound);
    let missing = within("get", stream.get_last_raw_message_by_subject("log.none"))
        .await
        .expect_err("nothing on log.none");
    assert_eq!(missing.kind(), LastRawMessageErrorKind::NoMessageFound);
    let missing = within("direct get", stream.direct_get(99))
        .await
        .expect_err("no message 99");
    assert_eq!(missing.kind(), DirectGetErrorKind::NotFound);
    let raw = raw_request(&client, "$JS.API.STREAM.MSG.GET.LOG", &[], r#"{"seq":99}"#).await;
    assert_eq!(
        raw["error"],
        json!({"code": 404, "err_code": 10037, "description": "no message found"})
    );

    let state = stream_state(&context, "LOG").await;
    assert_eq!(state.messages, 7);
    assert_eq!((state.first_sequence, state.last_sequence), (1, 7));
    assert_eq!(state.subjects_count, 4);
}

#[tokio::test]
async fn a_repeated_message_id_is_acked_as_a_duplicate() {
    let store = temp_dir("js-dedupe");
    let server = start_server(&store);
    let (client, context) = connect(&server).await;
    let stream = create(&context, file_stream("DEDUPE", &["dedupe.>"])).await;

    let first = send(
        &context,
        "dedupe.a",
        PublishMessage::build()
            .payload("one".into())
            .message_id("id-1"),
    )
    .await
    .expect("first");
    assert_eq!((first.sequence, first.duplicate), (1, false));
    let again = send(
        &context,
        "dedupe.a",
        PublishMessage::build()
            .payload("two".into())
            .message_id("id-1"),
    )
    .await
    .expect("a duplicate is acked, not refused");
    assert_eq!(
        (again.stream.as_str(), again.sequence, again.duplicate),
        ("DEDUPE", 1, true)
    );
    let other = send(
        &context,
        "dedupe.b",
        PublishMessage::build()
            .payload("three".into())
            .message_id("id-2"),
    )
    .await
    .expect("another id");
    assert_eq!((other.sequence, other.duplicate), (2, false));

    // The raw ack of a duplicate.
    let raw = raw_request(&client, "dedupe.c", &[("Nats-Msg-Id", "id-2")], "four").await;
    assert_eq!(raw["stream"], "DEDUPE");
    assert_eq!(raw["seq"], 2);
    assert_eq!(raw["duplicate"], true);
    assert!(raw.get("error").is_none(), "{raw}");

    let state = stream_state(&context, "DEDUPE").await;
    assert_eq!((state.messages, state.last_sequence), (2, 2));
    let kept = within("get", stream.get_raw_message(1))
        .await
        .expect("stored");
    assert_eq!(kept.payload, "one", "the first copy is the one kept");
}

#[tokio::test]
async fn max_messages_discards_the_oldest_or_refuses_the_newest() {
    let store = temp_dir("js-max-msgs");
    let server = start_server(&store);
    let (_client, context) = connect(&server).await;

    let old = create(
        &context,
        Config {
            max_messages: 3,
            ..file_stream("OLD", &["old.>"])
        },
    )
    .await;
    for index in 1..=5 {
        assert_eq!(
            publish(&context, "old.x", &format!("o{index}"))
                .await
                .sequence,
            index
        );
    }
    let state = stream_state(&context, "OLD").await;
    assert_eq!(state.messages, 3);
    assert_eq!((state.first_sequence, state.last_sequence), (3, 5));
    assert_eq!(sequences(&old, 5).await, [3, 4, 5]);
    let oldest = within("get", old.get_raw_message(3)).await.expect("kept");
    assert_eq!(oldest.payload, "o3");

    create(
        &context,
        Config {
            max_messages: 3,
            discard: DiscardPolicy::New,
            ..file_stream("NEW", &["new.>"])
        },
    )
    .await;
    for index in 1..=3 {
        assert_eq!(
            publish(&context, "new.x", &format!("n{index}"))
                .await
                .sequence,
            index
        );
    }
    let refused = send(
        &context,
        "new.x",
        PublishMessage::build().payload("n4".into()),
    )
    .await
    .expect_err("the stream is full");
    assert_eq!(refused.kind(), PublishErrorKind::Other);
    assert_api_error(&refused, 503, 10077, "maximum messages exceeded");
    let state = stream_state(&context, "NEW").await;
    assert_eq!(
        (state.messages, state.first_sequence, state.last_sequence),
        (3, 1, 3)
    );
}

#[tokio::test]
async fn max_bytes_discards_the_oldest_or_refuses_the_newest() {
    let store = temp_dir("js-max-bytes");
    let server = start_server(&store);
    let (_client, context) = connect(&server).await;

    for (name, discard) in [
        ("BYTESOLD", DiscardPolicy::Old),
        ("BYTESNEW", DiscardPolicy::New),
    ] {
        let subject = format!("{}.x", name.to_lowercase());
        let config = file_stream(name, &[&format!("{}.>", name.to_lowercase())]);
        let stream = create(&context, config.clone()).await;
        // How the stream counts one message's bytes is the server's business: measure it,
        // then allow three and a half messages of the same size.
        publish(&context, &subject, "0123456789").await;
        let size = stream_state(&context, name).await.bytes;
        assert!(size >= 10, "one 10-byte message counts {size} bytes");
        let limited = Config {
            max_bytes: i64::try_from(size * 7 / 2).expect("small"),
            discard,
            ..config
        };
        within("update", context.update_stream(&limited))
            .await
            .expect("the limit can be set on a stream in use");
        for _ in 2..=3 {
            publish(&context, &subject, "0123456789").await;
        }
        let fourth = send(
            &context,
            &subject,
            PublishMessage::build().payload("0123456789".into()),
        )
        .await;
        match discard {
            DiscardPolicy::Old => {
                assert_eq!(fourth.expect("room is made").sequence, 4);
                let state = stream_state(&context, name).await;
                assert_eq!((state.messages, state.first_sequence), (3, 2));
                assert_eq!(state.bytes, 3 * size);
                assert_eq!(sequences(&stream, 4).await, [2, 3, 4]);
            }
            _ => {
                let refused = fourth.expect_err("the stream is full");
                assert_api_error(&refused, 503, 10077, "maximum bytes exceeded");
                let state = stream_state(&context, name).await;
                assert_eq!(
                    (state.messages, state.first_sequence, state.last_sequence),
                    (3, 1, 3)
                );
                assert_eq!(state.bytes, 3 * size);
            }
        }
    }
}

#[tokio::test]
async fn max_messages_per_subject_keeps_the_newest_of_each_subject() {
    let store = temp_dir("js-per-subject");
    let server = start_server(&store);
    let (_client, context) = connect(&server).await;

    let stream = create(
        &context,
        Config {
            max_messages_per_subject: 2,
            ..file_stream("PER", &["per.>"])
        },
    )
    .await;
    // a: 1 2 3 4, b: 5, a: 6 → a keeps 4 and 6, b keeps 5.
    for subject in ["per.a", "per.a", "per.a", "per.a", "per.b", "per.a"] {
        publish(&context, subject, subject).await;
    }
    let state = stream_state(&context, "PER").await;
    assert_eq!(
        (state.messages, state.first_sequence, state.last_sequence),
        (3, 4, 6)
    );
    assert_eq!(sequences(&stream, 6).await, [4, 5, 6]);

    // Discard new alone still drops the old message of a subject...
    create(
        &context,
        Config {
            max_messages_per_subject: 1,
            discard: DiscardPolicy::New,
            ..file_stream("PERNEW", &["pernew.>"])
        },
    )
    .await;
    publish(&context, "pernew.a", "1").await;
    assert_eq!(publish(&context, "pernew.a", "2").await.sequence, 2);
    let state = stream_state(&context, "PERNEW").await;
    assert_eq!((state.messages, state.first_sequence), (1, 2));

    // ...it takes discard_new_per_subject to refuse the new one.
    create(
        &context,
        Config {
            max_messages_per_subject: 1,
            discard: DiscardPolicy::New,
            discard_new_per_subject: true,
            ..file_stream("PERREFUSE", &["perrefuse.>"])
        },
    )
    .await;
    publish(&context, "perrefuse.a", "1").await;
    let refused = send(
        &context,
        "perrefuse.a",
        PublishMessage::build().payload("2".into()),
    )
    .await
    .expect_err("per.a is full");
    assert_api_error(
        &refused,
        503,
        10077,
        "maximum messages per subject exceeded",
    );
    assert_eq!(publish(&context, "perrefuse.b", "3").await.sequence, 2);
    let state = stream_state(&context, "PERREFUSE").await;
    assert_eq!(
        (state.messages, state.first_sequence, state.last_sequence),
        (2, 1, 2)
    );

    // And discard_new_per_subject makes no sense without discard new.
    let error = within(
        "create",
        context.create_stream(Config {
            max_messages_per_subject: 1,
            discard_new_per_subject: true,
            ..file_stream("PERBAD", &["perbad.>"])
        }),
    )
    .await
    .expect_err("discard_new_per_subject needs discard new");
    assert_create_refused(
        &error,
        500,
        10052,
        "discard new per subject requires discard new policy to be set",
    );
}

#[tokio::test]
async fn max_message_size_counts_headers_and_payload() {
    let store = temp_dir("js-max-size");
    let server = start_server(&store);
    let (client, context) = connect(&server).await;
    create(
        &context,
        Config {
            max_message_size: 10,
            ..file_stream("SIZE", &["size.>"])
        },
    )
    .await;

    assert_eq!(publish(&context, "size.a", "0123456789").await.sequence, 1);
    let refused = send(
        &context,
        "size.a",
        PublishMessage::build().payload("0123456789A".into()),
    )
    .await
    .expect_err("11 bytes > 10");
    assert_api_error(&refused, 400, 10054, "message size exceeds maximum allowed");
    let refused = send(
        &context,
        "size.a",
        PublishMessage::build()
            .payload("0123".into())
            .header("X-Pad", "pad"),
    )
    .await
    .expect_err("the headers count too");
    assert_api_error(&refused, 400, 10054, "message size exceeds maximum allowed");
    let raw = raw_request(&client, "size.a", &[], "0123456789AB").await;
    assert_eq!(
        raw["error"],
        json!({"code": 400, "err_code": 10054, "description": "message size exceeds maximum allowed"})
    );
    let state = stream_state(&context, "SIZE").await;
    assert_eq!((state.messages, state.last_sequence), (1, 1));
}

#[tokio::test]
async fn messages_expire_after_max_age_and_not_before() {
    let store = temp_dir("js-max-age");
    let server = start_server(&store);
    let (_client, context) = connect(&server).await;
    let max_age = Duration::from_secs(1);
    let info = create(
        &context,
        Config {
            max_age,
            ..file_stream("AGE", &["age.>"])
        },
    )
    .await
    .cached_info()
    .clone();
    assert_eq!(info.config.max_age, max_age);
    // The duplicate window defaults to the smaller of two minutes and max_age.
    assert_eq!(info.config.duplicate_window, max_age);

    let published = Instant::now();
    for index in 1..=5 {
        publish(&context, "age.x", &index.to_string()).await;
    }
    let state = stream_state(&context, "AGE").await;
    assert_eq!(state.messages, 5, "nothing expires before max_age");

    let deadline = published + max_age + DEADLINE;
    let state = loop {
        let state = stream_state(&context, "AGE").await;
        if state.messages == 0 {
            break state;
        }
        assert!(
            Instant::now() < deadline,
            "{} messages still there {:?} after publishing",
            state.messages,
            published.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Published after `published`, so none may be gone before `published + max_age`.
    assert!(
        published.elapsed() >= max_age,
        "messages expired after {:?}, before max_age {max_age:?}",
        published.elapsed()
    );
    assert_eq!((state.first_sequence, state.last_sequence), (6, 5));
    assert_eq!(publish(&context, "age.x", "later").await.sequence, 6);
}

#[tokio::test]
async fn expected_headers_guard_a_publish() {
    let store = temp_dir("js-expected");
    let server = start_server(&store);
    let (client, context) = connect(&server).await;
    create(&context, file_stream("EXPECT", &["expect.>"])).await;

    let build = || PublishMessage::build().payload("x".into());
    send(&context, "expect.a", build().message_id("first"))
        .await
        .expect("seq 1");
    send(&context, "expect.b", build().message_id("second"))
        .await
        .expect("seq 2");

    let error = send(&context, "expect.a", build().expected_stream("OTHER"))
        .await
        .expect_err("wrong stream");
    assert_api_error(&error, 400, 10060, "expected stream does not match");

    let error = send(&context, "expect.a", build().expected_last_sequence(1))
        .await
        .expect_err("the last sequence is 2");
    assert_eq!(error.kind(), PublishErrorKind::WrongLastSequence);
    assert_api_error(&error, 400, 10071, "wrong last sequence: 2");

    let error = send(
        &context,
        "expect.a",
        build().expected_last_subject_sequence(2),
    )
    .await
    .expect_err("the last sequence of expect.a is 1");
    assert_eq!(error.kind(), PublishErrorKind::WrongLastSequence);
    assert_api_error(&error, 400, 10071, "wrong last sequence: 1");
    let error = send(
        &context,
        "expect.a",
        build().expected_last_subject_sequence(0),
    )
    .await
    .expect_err("0 means no message on the subject yet");
    assert_api_error(&error, 400, 10071, "wrong last sequence: 1");

    let error = send(
        &context,
        "expect.a",
        build().expected_last_message_id("first"),
    )
    .await
    .expect_err("the last message id is second");
    assert_eq!(error.kind(), PublishErrorKind::WrongLastMessageId);
    assert_api_error(&error, 400, 10070, "wrong last msg ID: second");

    // The error PubAck as sent.
    let raw = raw_request(
        &client,
        "expect.a",
        &[("Nats-Expected-Last-Sequence", "7")],
        "x",
    )
    .await;
    assert_eq!(
        raw["error"],
        json!({"code": 400, "err_code": 10071, "description": "wrong last sequence: 2"})
    );

    // Nothing refused was stored; right expectations pass, alone or together.
    assert_eq!(stream_state(&context, "EXPECT").await.messages, 2);
    let ack = send(
        &context,
        "expect.a",
        build()
            .expected_stream("EXPECT")
            .expected_last_sequence(2)
            .expected_last_subject_sequence(1)
            .expected_last_message_id("second"),
    )
    .await
    .expect("all expectations hold");
    assert_eq!(ack.sequence, 3);
    let ack = send(
        &context,
        "expect.c",
        build().expected_last_subject_sequence(0),
    )
    .await
    .expect("nothing on expect.c yet");
    assert_eq!(ack.sequence, 4);
    let ack = send(
        &context,
        "expect.b",
        build().expected_last_subject_sequence(2),
    )
    .await
    .expect("expect.b was last written at 2");
    assert_eq!(ack.sequence, 5);
    let state = stream_state(&context, "EXPECT").await;
    assert_eq!((state.messages, state.last_sequence), (5, 5));
    // A message without an id clears the last message id.
    let error = send(
        &context,
        "expect.a",
        build().expected_last_message_id("second"),
    )
    .await
    .expect_err("the last message had no id");
    assert_api_error(&error, 400, 10070, "wrong last msg ID: ");
}

#[tokio::test]
async fn purge_and_delete_remove_what_they_name() {
    let store = temp_dir("js-purge");
    let server = start_server(&store);
    let (_client, context) = connect(&server).await;
    let stream = create(&context, file_stream("PURGE", &["purge.>"])).await;
    // Odd sequences on purge.a, even on purge.b.
    for sequence in 1..=10u64 {
        let subject = if sequence % 2 == 1 {
            "purge.a"
        } else {
            "purge.b"
        };
        assert_eq!(
            publish(&context, subject, &sequence.to_string())
                .await
                .sequence,
            sequence
        );
    }

    assert!(within("delete", stream.delete_message(3))
        .await
        .expect("deleted"));
    // nats-server words "not there" three ways: a gap inside the stream, a sequence below its
    // first, one past its last (see the purge below for the second).
    assert_delete_refused(&stream, 3, 400, 10043, "sequence 3 not found").await;
    assert_delete_refused(&stream, 99, 500, 10057, "stream store EOF").await;
    let state = stream_state(&context, "PURGE").await;
    assert_eq!(
        (state.messages, state.first_sequence, state.last_sequence),
        (9, 1, 10)
    );

    // purge.b keeping its newest two: 2 4 6 go, 8 10 stay.
    let purged = within(
        "purge",
        stream.purge().filter("purge.b").keep(2).into_future(),
    )
    .await
    .expect("purge");
    assert!(purged.success);
    assert_eq!(purged.purged, 3);
    assert_eq!(sequences(&stream, 10).await, [1, 5, 7, 8, 9, 10]);

    // Everything below 7.
    let purged = within("purge", stream.purge().sequence(7).into_future())
        .await
        .expect("purge");
    assert_eq!(purged.purged, 2);
    let state = stream_state(&context, "PURGE").await;
    assert_eq!((state.messages, state.first_sequence), (4, 7));
    assert_delete_refused(&stream, 1, 500, 10057, "no message found").await;

    // purge.a below 9: just 7.
    let purged = within(
        "purge",
        stream.purge().filter("purge.a").sequence(9).into_future(),
    )
    .await
    .expect("purge");
    assert_eq!(purged.purged, 1);
    assert_eq!(sequences(&stream, 10).await, [8, 9, 10]);

    // All of it; the sequence carries on.
    let purged = within("purge", stream.purge().into_future())
        .await
        .expect("purge");
    assert_eq!(purged.purged, 3);
    let state = stream_state(&context, "PURGE").await;
    assert_eq!(
        (
            state.messages,
            state.bytes,
            state.first_sequence,
            state.last_sequence
        ),
        (0, 0, 11, 10)
    );
    assert_eq!(publish(&context, "purge.a", "11").await.sequence, 11);
    let state = stream_state(&context, "PURGE").await;
    assert_eq!(
        (state.messages, state.first_sequence, state.last_sequence),
        (1, 11, 11)
    );
}

#[tokio::test]
async fn streams_and_messages_survive_a_graceful_restart() {
    let store = temp_dir("js-restart");
    let config = Config {
        max_messages: 1000,
        description: Some("kept across restarts".into()),
        ..file_stream("DURABLE", &["durable.>"])
    };
    let mut expected = Vec::new();
    {
        let mut server = start_server(&store);
        let (client, context) = connect(&server).await;
        let stream = create(&context, config.clone()).await;
        create(&context, file_stream("GONE", &["gone.>"])).await;
        for index in 1..=50u64 {
            let subject = format!("durable.{}", index % 4);
            let payload = format!("payload {index}");
            let mut message = PublishMessage::build().payload(payload.clone().into());
            if index % 5 == 0 {
                message = message.header("X-Index", index.to_string().as_str());
            }
            let ack = send(&context, &subject, message).await.expect("acked");
            assert_eq!(ack.sequence, index);
            expected.push((index, subject, payload));
        }
        assert!(within("delete", stream.delete_message(10))
            .await
            .expect("deleted"));
        expected.retain(|(sequence, _, _)| *sequence != 10);
        within("delete", context.delete_stream("GONE"))
            .await
            .expect("deleted");
        within("flush", client.flush()).await.expect("flushed");
        drop(client);
        server.signal(libc::SIGTERM);
        let status = server.wait();
        assert!(status.success(), "SIGTERM exit: {status}");
    }

    let server = start_server(&store);
    let (_client, context) = connect(&server).await;
    let names: Vec<String> = within("names", context.stream_names().try_collect())
        .await
        .expect("stream names");
    assert_eq!(names, ["DURABLE"], "the deleted stream stays deleted");
    let stream = within("info", context.get_stream("DURABLE"))
        .await
        .expect("the stream is back");
    let info = stream.cached_info();
    assert_eq!(info.config.subjects, config.subjects);
    assert_eq!(info.config.max_messages, 1000);
    assert_eq!(info.config.description, config.description);
    assert_eq!(info.config.storage, StorageType::File);
    assert_eq!(info.state.messages, 49);
    assert_eq!(
        (info.state.first_sequence, info.state.last_sequence),
        (1, 50)
    );
    for (sequence, subject, payload) in &expected {
        let message = within("get", stream.get_raw_message(*sequence))
            .await
            .unwrap_or_else(|e| panic!("message {sequence} after the restart: {e}"));
        assert_eq!(message.subject.as_str(), subject);
        assert_eq!(message.payload, payload.as_bytes());
        let index = if sequence % 5 == 0 {
            Some(sequence.to_string())
        } else {
            None
        };
        assert_eq!(
            message
                .headers
                .get("X-Index")
                .map(|v| v.as_str().to_string()),
            index
        );
    }
    let deleted = within("get", stream.get_raw_message(10))
        .await
        .expect_err("a deleted message stays deleted");
    assert_eq!(deleted.kind(), LastRawMessageErrorKind::NoMessageFound);
    assert_eq!(publish(&context, "durable.x", "after").await.sequence, 51);
}

/// The `index`th message of the crash test: distinct, all the same length.
fn crash_payload(index: u64) -> Bytes {
    Bytes::from(format!("crash {index:08} {}", "x".repeat(100)))
}

/// Publishes distinct payloads with up to `IN_FLIGHT` acks outstanding until `stop`, and records
/// every (sequence, payload) the server acked. Returns how many publishes got no ack.
async fn publish_until_stopped(
    context: Context,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(u64, Bytes)>>>,
) -> u64 {
    const IN_FLIGHT: usize = 64;
    let mut in_flight = FuturesUnordered::new();
    let mut next = 0u64;
    let mut unacked = 0;
    loop {
        while !stop.load(Ordering::Relaxed) && in_flight.len() < IN_FLIGHT {
            let payload = crash_payload(next);
            next += 1;
            match context.publish("crash.data", payload.clone()).await {
                Ok(ack) => in_flight.push(async move { (ack.await, payload) }),
                // The server is gone; the rest is draining.
                Err(_) => {
                    unacked += 1;
                    stop.store(true, Ordering::Relaxed);
                }
            }
        }
        match in_flight.next().await {
            Some((Ok(ack), payload)) => acked.lock().unwrap().push((ack.sequence, payload)),
            Some((Err(_), _)) => unacked += 1,
            None if stop.load(Ordering::Relaxed) => return unacked,
            None => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_messages_survive_kill_9_mid_publish() {
    let store = temp_dir("js-kill");
    let acked = Arc::new(Mutex::new(Vec::new()));
    {
        let mut server = start_server(&store);
        // Short ack timeouts: once the server is gone, the outstanding acks fail fast.
        let (client, context) = connect_with_timeout(&server, Duration::from_secs(2)).await;
        create(&context, file_stream("CRASH", &["crash.>"])).await;
        let stop = Arc::new(AtomicBool::new(false));
        let publisher = tokio::spawn(publish_until_stopped(
            context,
            Arc::clone(&stop),
            Arc::clone(&acked),
        ));

        // Kill after a second of publishing and a good number of acks, while publishes are
        // still in flight.
        let started = Instant::now();
        let deadline = started + DEADLINE;
        while acked.lock().unwrap().len() < 2000 || started.elapsed() < Duration::from_secs(1) {
            assert!(
                Instant::now() < deadline,
                "only {} acks within {DEADLINE:?}",
                acked.lock().unwrap().len()
            );
            assert!(!publisher.is_finished(), "the publisher stopped early");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.signal(libc::SIGKILL);
        // Publishing goes on until the process is gone, so the kill lands mid-publish.
        let status = tokio::task::block_in_place(|| server.wait());
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL)
        );
        stop.store(true, Ordering::Relaxed);
        let unacked = within("the publisher drains", publisher)
            .await
            .expect("the publisher does not panic");
        assert!(unacked > 0, "the publisher had stopped before the kill");
        drop(client);
    }

    let acked = std::mem::take(&mut *acked.lock().unwrap());
    // Shown on failure (or with --nocapture): how much the kill interrupted.
    eprintln!("{} publishes acked before the kill", acked.len());
    let server = start_server(&store);
    let (_client, context) = connect(&server).await;
    let stream = within("info", context.get_stream("CRASH"))
        .await
        .expect("the stream is back");
    let state = stream.cached_info().state.clone();
    let highest = acked
        .iter()
        .map(|(sequence, _)| *sequence)
        .max()
        .expect("acks");
    assert!(
        state.last_sequence >= highest,
        "last sequence {} below the highest ack {highest}",
        state.last_sequence
    );
    // Writes go in sequence order, so a crash may cut the tail but leaves no holes.
    assert_eq!(
        (state.first_sequence, state.messages),
        (1, state.last_sequence),
        "a hole in the stream after the crash"
    );
    // The tail that survived, acked or not, is whole: a message as published.
    let last = within("get", stream.get_raw_message(state.last_sequence))
        .await
        .expect("the last message");
    assert!(
        last.payload.starts_with(b"crash ") && last.payload.len() == crash_payload(0).len(),
        "a torn last message: {:?}",
        last.payload
    );
    let mut seen = std::collections::BTreeSet::new();
    for (sequence, _) in &acked {
        assert!(seen.insert(*sequence), "sequence {sequence} acked twice");
    }
    // Every acked message, read back 32 at a time.
    let checks = futures::stream::iter(acked.iter().map(|(sequence, payload)| {
        let stream = stream.clone();
        async move {
            let message = stream
                .get_raw_message(*sequence)
                .await
                .unwrap_or_else(|e| panic!("acked message {sequence} lost: {e}"));
            assert_eq!(
                message.payload, *payload,
                "acked message {sequence} changed"
            );
            assert_eq!(message.subject.as_str(), "crash.data");
        }
    }))
    .buffer_unordered(32)
    .collect::<Vec<()>>();
    let checked = within("read every acked message", checks).await.len();
    assert_eq!(checked, acked.len());
    // The stream takes new messages after the highest sequence it kept.
    let ack = publish(&context, "crash.data", "after").await;
    assert_eq!(ack.sequence, state.last_sequence + 1);
}
