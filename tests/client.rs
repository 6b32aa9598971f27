//! Switchboard driven by a real NATS client (async-nats), plus raw sockets where a real client
//! would hide what the server does.
//!
//! Every wait is on something observable: a message arriving, a round trip through the server, a
//! socket closing, or a counter in `Server::stats`. Timeouts are failure deadlines only.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::{ConnectErrorKind, ConnectOptions, HeaderMap, PublishErrorKind, RequestErrorKind};
use bytes::Bytes;
use common::{
    connect, connect_with, show, start_default_server, start_server, sync, try_connect_with,
    wait_for_stats, within, RawClient, DEADLINE,
};
use futures::{FutureExt, StreamExt};
use switchboard::{AuthConfig, Config, User};
use switchboard_server::Server;

/// The next message on `subscriber`, failing the test if none comes.
async fn next_message(subscriber: &mut async_nats::Subscriber, what: &str) -> async_nats::Message {
    within(DEADLINE, what, subscriber.next())
        .await
        .unwrap_or_else(|| panic!("{what}: the subscription ended"))
}

/// Asserts that nothing is buffered for `subscriber` right now. Call it after [`sync`] of its
/// client: the server routes the round trip's message after everything before it.
fn assert_nothing_pending(subscriber: &mut async_nats::Subscriber, what: &str) {
    if let Some(Some(message)) = subscriber.next().now_or_never() {
        panic!(
            "{what}: unexpected message on {:?}: {}",
            message.subject,
            show(&message.payload)
        );
    }
}

#[tokio::test]
async fn publish_subscribe_round_trip() {
    let server = start_default_server().await;
    let subscriber = connect(&server).await;
    let publisher = connect(&server).await;
    let mut greetings = subscriber.subscribe("greetings").await.expect("subscribe");
    sync(&subscriber).await;

    publisher
        .publish("greetings", "Hello World!".into())
        .await
        .expect("publish");
    let message = next_message(&mut greetings, "the greeting").await;
    assert_eq!(message.subject.as_str(), "greetings");
    assert_eq!(message.payload, "Hello World!");
    assert_eq!(message.reply, None);
    server.shutdown().await;
}

/// Subscribes to `pattern`, publishes every subject in `not_matching` then every one in
/// `matching` (payload = subject), and checks exactly the matching ones arrive, in order.
async fn assert_wildcard(pattern: &str, matching: &[&str], not_matching: &[&str]) {
    let server = start_default_server().await;
    let client = connect(&server).await;
    let mut subscriber = client
        .subscribe(pattern.to_string())
        .await
        .expect("subscribe");
    sync(&client).await;

    for subject in not_matching.iter().chain(matching) {
        client
            .publish(subject.to_string(), Bytes::from(subject.to_string()))
            .await
            .expect("publish");
    }
    // Delivery is in publish order, so a wrongly matched subject would arrive first.
    let mut received = Vec::new();
    for _ in matching {
        let message = next_message(&mut subscriber, pattern).await;
        assert_eq!(message.payload, message.subject.as_str());
        received.push(message.subject.to_string());
    }
    assert_eq!(received, matching, "subjects delivered to {pattern:?}");
    sync(&client).await;
    assert_nothing_pending(&mut subscriber, pattern);
    server.shutdown().await;
}

#[tokio::test]
async fn wildcard_star_in_the_middle_matches_one_token() {
    assert_wildcard(
        "orders.*.shipped",
        &["orders.eu.shipped", "orders.us.shipped"],
        &[
            "orders.shipped",
            "orders.eu.west.shipped",
            "orders.eu.paid",
            "orders.eu.shipped.late",
        ],
    )
    .await;
}

#[tokio::test]
async fn wildcard_star_last_matches_one_token() {
    assert_wildcard(
        "sensors.*",
        &["sensors.a", "sensors.temperature"],
        &["sensors", "sensors.a.b", "other.a"],
    )
    .await;
}

#[tokio::test]
async fn wildcard_full_matches_one_or_more_tokens() {
    assert_wildcard(
        "logs.>",
        &["logs.a", "logs.a.b", "logs.a.b.c"],
        &["logs", "log.a", "other.logs.a"],
    )
    .await;
}

#[tokio::test]
async fn queue_group_delivers_each_message_to_exactly_one_member() {
    const MEMBERS: usize = 3;
    const MESSAGES: usize = 300;
    let server = start_default_server().await;
    let mut member_clients = Vec::new();
    let mut member_streams = Vec::new();
    for member in 0..MEMBERS {
        let client = connect(&server).await;
        let subscriber = client
            .queue_subscribe("jobs", "workers".to_string())
            .await
            .expect("queue subscribe");
        sync(&client).await;
        member_clients.push(client);
        member_streams.push(subscriber.map(move |message| (member, message)).boxed());
    }
    let mut members = futures::stream::select_all(member_streams);
    let publisher = connect(&server).await;
    for index in 0..MESSAGES {
        publisher
            .publish("jobs", Bytes::from(index.to_string()))
            .await
            .expect("publish");
    }
    sync(&publisher).await;

    let mut receivers_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut per_member = [0usize; MEMBERS];
    for _ in 0..MESSAGES {
        let (member, message) = within(DEADLINE, "a queue-group message", members.next())
            .await
            .expect("the queue subscriptions stay open");
        let index: usize = std::str::from_utf8(&message.payload)
            .expect("payload is a decimal index")
            .parse()
            .expect("payload is a decimal index");
        receivers_of.entry(index).or_default().push(member);
        per_member[member] += 1;
    }
    for client in &member_clients {
        sync(client).await;
    }
    if let Some(Some((member, message))) = members.next().now_or_never() {
        panic!(
            "member {member} got an extra message {}",
            show(&message.payload)
        );
    }
    assert_eq!(receivers_of.len(), MESSAGES, "every message exactly once");
    assert!(
        receivers_of.values().all(|members| members.len() == 1),
        "no message went to two members"
    );
    let busy = per_member.iter().filter(|count| **count > 0).count();
    assert!(
        busy > 1,
        "the group should spread messages over its members, got {per_member:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn request_reply() {
    let server = start_default_server().await;
    let responder = connect(&server).await;
    let mut requests = responder
        .subscribe("service.echo")
        .await
        .expect("subscribe");
    sync(&responder).await;
    let responding = tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            let reply = request.reply.expect("a request carries a reply subject");
            let mut answer = b"echo: ".to_vec();
            answer.extend_from_slice(&request.payload);
            responder
                .publish(reply, answer.into())
                .await
                .expect("publish the reply");
        }
    });

    let requester = connect(&server).await;
    for index in 0..3 {
        let response = within(
            DEADLINE,
            "a reply",
            requester.request("service.echo", Bytes::from(format!("request {index}"))),
        )
        .await
        .expect("request gets a reply");
        assert_eq!(response.payload, format!("echo: request {index}"));
    }
    responding.abort();
    server.shutdown().await;
}

#[tokio::test]
async fn headers_round_trip() {
    let server = start_default_server().await;
    let subscriber = connect(&server).await;
    let publisher = connect(&server).await;
    let mut messages = subscriber
        .subscribe("with.headers")
        .await
        .expect("subscribe");
    sync(&subscriber).await;

    let mut headers = HeaderMap::new();
    headers.insert("Trace-Id", "abc-123");
    headers.append("Multi", "one");
    headers.append("Multi", "two");
    publisher
        .publish_with_headers("with.headers", headers.clone(), "body".into())
        .await
        .expect("publish with headers");
    publisher
        .publish_with_headers("with.headers", HeaderMap::new(), "".into())
        .await
        .expect("publish with empty headers");
    publisher
        .publish("with.headers", "plain".into())
        .await
        .expect("publish without headers");

    let message = next_message(&mut messages, "the message with headers").await;
    assert_eq!(message.headers.as_ref(), Some(&headers));
    assert_eq!(message.payload, "body");
    assert_eq!(message.status, None);
    let message = next_message(&mut messages, "the message with empty headers").await;
    assert!(message.headers.unwrap_or_default().is_empty());
    assert_eq!(message.payload, "");
    let message = next_message(&mut messages, "the plain message").await;
    assert!(message.headers.unwrap_or_default().is_empty());
    assert_eq!(message.payload, "plain");
    server.shutdown().await;
}

#[tokio::test]
async fn request_without_responders_fails_with_no_responders() {
    let server = start_default_server().await;
    let client = connect(&server).await;
    // The no-responders status arrives at once; only a server that ignores it would make the
    // client wait for its request timeout, which the deadline catches first.
    let error = within(
        DEADLINE,
        "the no-responders status",
        client.request("nobody.home", "anyone?".into()),
    )
    .await
    .expect_err("nobody subscribes to the subject");
    assert_eq!(error.kind(), RequestErrorKind::NoResponders, "{error}");
    server.shutdown().await;
}

#[tokio::test]
async fn unsubscribe_after_delivers_exactly_n() {
    const MAX: u64 = 3;
    const PUBLISHED: u64 = 5;
    let server = start_default_server().await;
    let before = server.stats().await;
    let client = connect(&server).await;
    let mut subscriber = client.subscribe("countdown").await.expect("subscribe");
    subscriber
        .unsubscribe_after(MAX)
        .await
        .expect("UNSUB with max");
    sync(&client).await;

    for index in 0..PUBLISHED {
        client
            .publish("countdown", Bytes::from(index.to_string()))
            .await
            .expect("publish");
    }
    sync(&client).await;
    for index in 0..MAX {
        let message = next_message(&mut subscriber, "a message before the max").await;
        assert_eq!(message.payload, index.to_string());
    }
    assert!(
        within(DEADLINE, "the subscription to end", subscriber.next())
            .await
            .is_none(),
        "the subscription ends after {MAX} messages"
    );
    // The server, not just the client, dropped the subscription after MAX deliveries.
    // (Each sync round trip adds one message in and out, and a subscription it removes.)
    let stats = wait_for_stats(&server, "the subscription removed", |stats| {
        stats.subscriptions == before.subscriptions
            && stats.in_msgs == before.in_msgs + PUBLISHED + 2
    })
    .await;
    assert_eq!(stats.out_msgs, before.out_msgs + MAX + 2, "{stats:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn no_echo_client_does_not_receive_its_own_messages() {
    let server = start_default_server().await;
    let quiet = connect_with(&server, ConnectOptions::new().no_echo()).await;
    let chatty = connect(&server).await;
    let mut chatty_messages = chatty.subscribe("chat").await.expect("subscribe");
    sync(&chatty).await;
    // The server handles one connection's operations in order, so once chatty holds "from
    // quiet", quiet's SUB was in place before its PUB.
    let mut quiet_messages = quiet.subscribe("chat").await.expect("subscribe");
    quiet
        .publish("chat", "from quiet".into())
        .await
        .expect("publish");
    let message = next_message(&mut chatty_messages, "the no-echo client's message").await;
    assert_eq!(message.payload, "from quiet");

    chatty
        .publish("chat", "from chatty".into())
        .await
        .expect("publish");
    // Routed in publish order: an echoed "from quiet" would reach quiet before "from chatty".
    let message = next_message(&mut quiet_messages, "the other client's message").await;
    assert_eq!(message.payload, "from chatty");
    let message = next_message(&mut chatty_messages, "its own message (echo is on)").await;
    assert_eq!(message.payload, "from chatty");
    server.shutdown().await;
}

/// Connects with `options` and checks the connection works end to end.
async fn assert_accepted(server: &Server, options: ConnectOptions, what: &str) {
    let client = try_connect_with(server, options)
        .await
        .unwrap_or_else(|error| panic!("{what} should be accepted: {error}"));
    let mut subscriber = client.subscribe("authed").await.expect("subscribe");
    client
        .publish("authed", "in".into())
        .await
        .expect("publish");
    let message = next_message(&mut subscriber, what).await;
    assert_eq!(message.payload, "in");
}

async fn assert_refused(server: &Server, options: ConnectOptions, what: &str) {
    match try_connect_with(server, options).await {
        Ok(_) => panic!("{what} should be refused"),
        Err(error) => assert_eq!(
            error.kind(),
            ConnectErrorKind::AuthorizationViolation,
            "{what}: {error}"
        ),
    }
}

#[tokio::test]
async fn token_auth() {
    let server = start_server(Config {
        auth: AuthConfig::Token("s3cret".to_string()),
        ..Config::default()
    })
    .await;
    assert_accepted(
        &server,
        ConnectOptions::with_token("s3cret".into()),
        "the token",
    )
    .await;
    assert_refused(
        &server,
        ConnectOptions::with_token("guess".into()),
        "a wrong token",
    )
    .await;
    assert_refused(&server, ConnectOptions::new(), "no token").await;
    server.shutdown().await;
}

fn user_password_server_config(password: String) -> Config {
    Config {
        auth: AuthConfig::Users(vec![
            User {
                user: "alice".to_string(),
                password,
            },
            User {
                user: "bob".to_string(),
                password: "builder".to_string(),
            },
        ]),
        ..Config::default()
    }
}

async fn assert_user_password_auth(server: Server) {
    let alice = |password: &str| {
        ConnectOptions::with_user_and_password("alice".into(), password.to_string())
    };
    assert_accepted(&server, alice("wonderland"), "alice's password").await;
    assert_accepted(
        &server,
        ConnectOptions::with_user_and_password("bob".into(), "builder".into()),
        "bob's password",
    )
    .await;
    assert_refused(&server, alice("looking-glass"), "a wrong password").await;
    assert_refused(&server, alice("builder"), "another user's password").await;
    assert_refused(
        &server,
        ConnectOptions::with_user_and_password("mallory".into(), "wonderland".into()),
        "an unknown user",
    )
    .await;
    assert_refused(&server, ConnectOptions::new(), "no credentials").await;
    server.shutdown().await;
}

#[tokio::test]
async fn user_password_auth_plain() {
    let server = start_server(user_password_server_config("wonderland".to_string())).await;
    assert_user_password_auth(server).await;
}

#[tokio::test]
async fn user_password_auth_bcrypt() {
    // Cost 4 is bcrypt's minimum: the same code path, fast enough for a test.
    let hash = bcrypt::hash("wonderland", 4).expect("bcrypt hashes");
    assert!(
        hash.starts_with("$2"),
        "bcrypt hashes start with $2: {hash}"
    );
    let server = start_server(user_password_server_config(hash)).await;
    assert_user_password_auth(server).await;
}

#[tokio::test]
async fn max_payload_is_advertised_and_enforced() {
    const PAYLOAD_MAX: usize = 1024;
    let server = start_server(Config {
        payload_bytes_max: PAYLOAD_MAX as u32,
        ..Config::default()
    })
    .await;
    let client = connect(&server).await;
    assert_eq!(client.server_info().max_payload, PAYLOAD_MAX);

    let mut subscriber = client.subscribe("big").await.expect("subscribe");
    client
        .publish("big", vec![b'x'; PAYLOAD_MAX].into())
        .await
        .expect("a payload at the limit is accepted");
    let message = next_message(&mut subscriber, "the payload at the limit").await;
    assert_eq!(message.payload.len(), PAYLOAD_MAX);
    let error = client
        .publish("big", vec![b'x'; PAYLOAD_MAX + 1].into())
        .await
        .expect_err("the client refuses a payload over the advertised limit");
    assert_eq!(error.kind(), PublishErrorKind::MaxPayloadExceeded);

    // The server enforces the limit for clients that do not check it themselves.
    let mut raw = RawClient::connect(server.local_addr()).await;
    raw.handshake(r#"{"verbose":false}"#).await;
    raw.send(format!("PUB big {}\r\n", PAYLOAD_MAX + 1).as_bytes())
        .await;
    let answer = raw.read_all_until_closed(DEADLINE).await;
    assert_eq!(show(&answer), show(b"-ERR 'Maximum Payload Violation'\r\n"));

    // The well-behaved client is unaffected.
    client
        .publish("big", "small".into())
        .await
        .expect("publish");
    let message = next_message(&mut subscriber, "a small message afterwards").await;
    assert_eq!(message.payload, "small");
    server.shutdown().await;
}

#[tokio::test]
async fn stats_count_connections_subscriptions_and_messages() {
    let server = start_default_server().await;
    // Counted from what the server reports before any client, so internal subscriptions (a
    // system account) do not matter.
    let before = server.stats().await;
    let subscriber = connect(&server).await;
    let publisher = connect(&server).await;
    let mut messages = subscriber.subscribe("counted").await.expect("subscribe");
    sync(&subscriber).await;
    for _ in 0..3 {
        publisher
            .publish("counted", "hello".into())
            .await
            .expect("publish");
    }
    for _ in 0..3 {
        next_message(&mut messages, "a counted message").await;
    }
    // The sync round trip above is one more message of zero bytes, in and out.
    let stats = wait_for_stats(&server, "the counted messages in and out", |stats| {
        stats.in_msgs == before.in_msgs + 4 && stats.out_msgs == before.out_msgs + 4
    })
    .await;
    assert_eq!(stats.connections, 2, "{stats:?}");
    assert_eq!(stats.total_connections, 2, "{stats:?}");
    // Bytes count payloads, as nats-server's /varz does.
    assert_eq!(
        (stats.in_bytes, stats.out_bytes),
        (before.in_bytes + 15, before.out_bytes + 15),
        "{stats:?}"
    );
    // The sync subscription is gone once its UNSUB is processed.
    wait_for_stats(&server, "one subscription", |stats| {
        stats.subscriptions == before.subscriptions + 1
    })
    .await;

    drop(messages);
    drop(publisher);
    let stats = wait_for_stats(&server, "the publisher gone", |stats| {
        stats.connections == 1
    })
    .await;
    assert_eq!(stats.total_connections, 2, "{stats:?}");
    server.shutdown().await;
}

/// A subscriber that stops reading is cut off as a slow consumer once its backlog passes
/// `pending_bytes_max`, while a subscriber that reads gets every message and the publisher is
/// never disconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_cut_off_while_others_get_every_message() {
    const PENDING_MAX: u64 = 256 * 1024;
    const MESSAGE_BYTES: usize = 8 * 1024;
    // 8 MiB in all: more than the kernel can buffer for the stalled socket (the server's send
    // buffer grows to at most 4 MiB on Linux) plus PENDING_MAX.
    const MESSAGES: usize = 1024;
    // The reader drains each batch before the next is sent, so its backlog stays far below
    // PENDING_MAX however the machine schedules the two.
    const BATCH: usize = 8;
    let server = start_server(Config {
        // nats-server refuses a max_payload above max_pending; keep the pair valid.
        payload_bytes_max: 64 * 1024,
        pending_bytes_max: PENDING_MAX,
        write_deadline: Duration::from_secs(1),
        ..Config::default()
    })
    .await;

    let mut stalled = RawClient::connect_with_receive_buffer(server.local_addr(), 4096).await;
    stalled.handshake(r#"{"verbose":false}"#).await;
    stalled.send(b"SUB firehose 1\r\nPING\r\n").await;
    stalled.read_until_contains(b"PONG\r\n", DEADLINE).await;
    // From here on it never reads, until it is told it was cut off.

    let reader = connect(&server).await;
    let mut firehose = reader.subscribe("firehose").await.expect("subscribe");
    sync(&reader).await;

    let (events_sender, mut events) = tokio::sync::mpsc::unbounded_channel();
    let publisher = connect_with(
        &server,
        ConnectOptions::new().event_callback(move |event| {
            let events_sender = events_sender.clone();
            async move {
                let _ = events_sender.send(event);
            }
        }),
    )
    .await;

    for batch in 0..MESSAGES / BATCH {
        let indices = batch * BATCH..(batch + 1) * BATCH;
        for index in indices.clone() {
            publisher
                .publish("firehose", numbered_payload(index, MESSAGE_BYTES))
                .await
                .expect("publish");
        }
        for index in indices {
            let message = next_message(&mut firehose, "the reader's next message").await;
            assert_eq!(
                message.payload,
                numbered_payload(index, MESSAGE_BYTES),
                "the reader gets message {index}, in order"
            );
        }
    }
    sync(&publisher).await;

    wait_for_stats(&server, "the stalled subscriber cut off", |stats| {
        stats.slow_consumers >= 1
    })
    .await;
    // Its socket closes once what was already in flight drains.
    let delivered = stalled.read_all_until_closed(DEADLINE).await;
    assert!(
        delivered.len() < MESSAGES * MESSAGE_BYTES,
        "the stalled subscriber was cut off before the end ({} bytes)",
        delivered.len()
    );
    let stats = wait_for_stats(&server, "the stalled subscriber gone", |stats| {
        stats.connections == 2
    })
    .await;
    assert_eq!(stats.total_connections, 3, "nobody reconnected: {stats:?}");

    // The publisher still works and never saw a disconnect.
    sync(&publisher).await;
    sync(&reader).await;
    assert_nothing_pending(&mut firehose, "the reader after the last batch");
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(
                event,
                async_nats::Event::Disconnected | async_nats::Event::ServerError(_)
            ),
            "the publisher saw {event}"
        );
    }
    // Counted once. (nats-server 2.12.8 counts it a second time when the write it had in flight
    // to the closed connection passes the write deadline.)
    let stats = server.stats().await;
    assert_eq!(
        stats.slow_consumers, 1,
        "only the stalled subscriber, once: {stats:?}"
    );
    server.shutdown().await;
}

/// `size` bytes starting with the decimal `index`, so a reader can check order and identity.
fn numbered_payload(index: usize, size: usize) -> Bytes {
    let mut payload = format!("{index:08}").into_bytes();
    payload.resize(size, b'.');
    payload.into()
}

#[tokio::test]
async fn garbage_closes_only_that_connection() {
    let server = start_default_server().await;
    let subscriber = connect(&server).await;
    let publisher = connect(&server).await;
    let mut chat = subscriber.subscribe("chat").await.expect("subscribe");
    sync(&subscriber).await;
    publisher
        .publish("chat", "before".into())
        .await
        .expect("publish");
    assert_eq!(next_message(&mut chat, "before").await.payload, "before");

    let mut vandal = RawClient::connect(server.local_addr()).await;
    vandal.read_info().await;
    vandal.send(b"\x00\xff\xfegarbage\r\n").await;
    let answer = vandal.read_all_until_closed(DEADLINE).await;
    assert_eq!(
        show(&answer),
        show(b"-ERR 'Unknown Protocol Operation'\r\n")
    );
    wait_for_stats(&server, "the vandal gone", |stats| stats.connections == 2).await;

    publisher
        .publish("chat", "after".into())
        .await
        .expect("publish");
    assert_eq!(next_message(&mut chat, "after").await.payload, "after");
    let stats = server.stats().await;
    assert_eq!(stats.total_connections, 3, "nobody reconnected: {stats:?}");
    server.shutdown().await;
}
