//! Lame duck mode with a real client: the server tells it (`"ldm":true` in an INFO), stops
//! taking connections, closes it after the grace period, and the client reconnects to the
//! other server it knows; then the server stops by itself.

mod common;

use std::time::Duration;

use futures::StreamExt;
use switchboard::Config;
use tokio::sync::mpsc;

use common::{start_server, within, DEADLINE};

#[tokio::test]
async fn client_is_told_closed_and_reconnects_elsewhere() {
    let config = Config {
        lame_duck_duration: Duration::from_secs(2),
        lame_duck_grace_period: Duration::from_millis(300),
        ..Config::default()
    };
    let mut leaving = start_server(config.clone()).await;
    let staying = start_server(config).await;

    let (events_tx, mut events) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .retain_servers_order()
        .event_callback(move |event| {
            let events_tx = events_tx.clone();
            async move {
                let _ = events_tx.send(event.to_string());
            }
        })
        .connect(vec![leaving.client_url(), staying.client_url()])
        .await
        .expect("client connects to the first server");
    assert_eq!(client.server_info().port, leaving.local_addr().port());
    let mut sub = client.subscribe("moving").await.unwrap();
    client.flush().await.unwrap();

    leaving.lame_duck().await;
    let seen = within(
        DEADLINE,
        "lame duck, disconnect and reconnect events",
        async {
            // The first connection's own "connected" may arrive late: start at the lame duck event.
            let mut seen = Vec::new();
            while let Some(event) = events.recv().await {
                if seen.is_empty() && event != "lame duck mode detected" {
                    continue;
                }
                seen.push(event);
                if seen.last().is_some_and(|e| e == "connected") {
                    return seen;
                }
            }
            seen
        },
    )
    .await;
    assert_eq!(
        seen,
        ["lame duck mode detected", "disconnected", "connected"],
        "events in order"
    );
    assert_eq!(client.server_info().port, staying.local_addr().port());

    // The subscription moved with the client.
    client.publish("moving", "after".into()).await.unwrap();
    let msg = within(DEADLINE, "a message through the other server", sub.next()).await;
    assert_eq!(msg.expect("subscription open").payload, "after");

    // With its last client gone, the leaving server stops by itself and refuses connections.
    within(
        DEADLINE,
        "the server to stop after lame duck",
        leaving.stopped(),
    )
    .await;
    assert!(tokio::net::TcpStream::connect(leaving.local_addr())
        .await
        .is_err());
    leaving.shutdown().await;
    staying.shutdown().await;
}

#[tokio::test]
async fn lame_duck_with_no_clients_stops_at_once() {
    let mut server = start_server(Config::default()).await;
    server.lame_duck().await;
    within(DEADLINE, "the server to stop", server.stopped()).await;
    server.shutdown().await;
}
