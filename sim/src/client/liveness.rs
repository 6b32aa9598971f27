//! The liveness phase, as each client plays it. The runner heals every fault when the safety
//! phase ends; then every client must, on a fixed schedule (`params::liveness`):
//! 1. get a connection whose flush succeeds (reconnecting as often as needed) by `READY_BY`,
//!    and subscribe `live.all`, queue-subscribe `live.q` (group `lq`) and answer `svc.echo`;
//! 2. at `PUBLISH_AT`, publish to both subjects and get one request answered;
//! 3. at `FINAL_FLUSH_AT`, flush once more, so the checkers know everything routed to it
//!    arrived.
//!
//! Whatever goes wrong is recorded in `LiveDone`; the `liveness` invariant fails the run on it.

use std::time::Duration;

use super::{Client, Dead, FLUSH_TIMEOUT};
use crate::history::{Body, Event};
use crate::params::liveness::{FINAL_FLUSH_AT, PUBLISH_AT, READY_BY};

/// Messages each client publishes to `live.all` and to `live.q`.
pub const LIVE_ALL_MESSAGES: usize = 4;
pub const LIVE_QUEUE_MESSAGES: usize = 2;
/// Attempts at the liveness request (a queue group may pick a member the server has not yet
/// found dead; a second pick must work).
const REQUEST_ATTEMPTS: usize = 3;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

pub async fn run(client: &mut Client) {
    client.sleep_until(client.safety).await;
    client.control.borrow_mut().healed = true;
    let heal = client.safety;
    let problem = play(client, heal).await.err();
    client.ctx.recorder.record(Event::LiveDone {
        client: client.ctx.client,
        problem,
    });
}

async fn play(client: &mut Client, heal: Duration) -> Result<(), String> {
    ready(client, heal + READY_BY).await?;
    let conn = client
        .conn()
        .map_err(|_| "connection lost before publishing")?
        .id;
    client.ctx.recorder.record(Event::LiveReady {
        client: client.ctx.client,
        conn,
    });

    client.sleep_until(heal + PUBLISH_AT).await;
    publish(client)
        .await
        .map_err(|_| "connection lost while publishing".to_string())?;
    request(client).await?;

    client.sleep_until(heal + FINAL_FLUSH_AT).await;
    client
        .conn()
        .map_err(|_| "connection lost before the final flush")?
        .flush(FLUSH_TIMEOUT)
        .await
        .map_err(|_| "final flush failed".to_string())
}

/// A connection that demonstrably works, with the liveness subscriptions confirmed on it.
async fn ready(client: &mut Client, ready_by: Duration) -> Result<(), String> {
    loop {
        if client.start.elapsed() >= ready_by {
            return Err("could not get a working connection after the heal".to_string());
        }
        if client.ensure_connected(ready_by).await.is_err() {
            continue;
        }
        if subscribe(client).await.is_ok() {
            return Ok(());
        }
        client.conn = None;
    }
}

async fn subscribe(client: &mut Client) -> Result<(), Dead> {
    client.conn()?.flush(Duration::from_secs(1)).await?;
    let wanted =
        |client: &Client, subject: &str| client.wanted.iter().any(|w| w.subject == subject);
    if !wanted(client, "live.all") {
        client.subscribe("live.all", None, false).await?;
    }
    if !wanted(client, "live.q") {
        client.subscribe("live.q", Some("lq"), false).await?;
    }
    if !client
        .wanted
        .iter()
        .any(|w| w.subject == "svc.echo" && w.responder)
    {
        client
            .subscribe("svc.echo", Some("responders"), true)
            .await?;
    }
    client.conn()?.flush(FLUSH_TIMEOUT).await
}

async fn publish(client: &mut Client) -> Result<(), Dead> {
    let conn = client.conn()?;
    for _ in 0..LIVE_ALL_MESSAGES {
        conn.publish("live.all", None, 16)?;
    }
    for _ in 0..LIVE_QUEUE_MESSAGES {
        conn.publish("live.q", None, 16)?;
    }
    conn.flush(FLUSH_TIMEOUT).await
}

async fn request(client: &mut Client) -> Result<(), String> {
    let inbox = client.next_inbox();
    let lost = |_: Dead| "connection lost during the request".to_string();
    let conn = client.conn().map_err(lost)?;
    let sid = conn.sub(&inbox, None).map_err(lost)?;
    let mut answers = conn.watch_inbox(sid);
    conn.flush(FLUSH_TIMEOUT).await.map_err(lost)?;
    for _ in 0..REQUEST_ATTEMPTS {
        let request = conn.publish("svc.echo", Some(&inbox), 16).map_err(lost)?;
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        while let Ok(Some(body)) = tokio::time::timeout_at(deadline, answers.recv()).await {
            if matches!(body, Body::Message { re: Some(re), .. } if re == request) {
                conn.unwatch_inbox(sid);
                return conn.unsub(sid, None).map_err(lost);
            }
        }
    }
    Err(format!(
        "no reply to svc.echo in {REQUEST_ATTEMPTS} attempts"
    ))
}
