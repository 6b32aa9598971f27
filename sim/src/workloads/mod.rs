//! Workloads: one file per client action. Each action runs on the client's current connection
//! and returns `Err(Dead)` when the connection is lost, after which the client reconnects.
//!
//! Subjects come from small fixed pools so that subscriptions and publishes overlap a lot:
//! literal subjects under `s.` and `q.`, wildcards over them, and `x.a`, which only `*.a`
//! matches. Nothing in the pools matches `slow.>` (the slow reader's own subject), `live.>`
//! (the liveness phase's), `svc.>` or `nobody.>` (requests).

mod publish;
mod queue_subscribe;
mod reconnect;
mod request_reply;
mod subscribe;
mod unsubscribe;
mod wildcard_subscribe;

use rand::seq::IndexedRandom;
use rand::Rng;

use crate::client::{Client, Dead};

/// Subjects messages are published to.
pub const PUBLISH_SUBJECTS: [&str; 9] = [
    "s.a", "s.b", "s.c", "s.a.x", "s.b.y", "q.work", "q.a", "q.b", "x.a",
];

/// One client action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Subscribe,
    WildcardSubscribe,
    QueueSubscribe,
    Publish,
    RequestReply,
    Unsubscribe,
    Reconnect,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Subscribe,
        Action::WildcardSubscribe,
        Action::QueueSubscribe,
        Action::Publish,
        Action::RequestReply,
        Action::Unsubscribe,
        Action::Reconnect,
    ];
}

/// Runs `action` for `client`.
pub async fn run(action: Action, client: &mut Client) -> Result<(), Dead> {
    match action {
        Action::Subscribe => subscribe::run(client).await,
        Action::WildcardSubscribe => wildcard_subscribe::run(client).await,
        Action::QueueSubscribe => queue_subscribe::run(client).await,
        Action::Publish => publish::run(client).await,
        Action::RequestReply => request_reply::run(client).await,
        Action::Unsubscribe => unsubscribe::run(client).await,
        Action::Reconnect => reconnect::run(client).await,
    }
}

/// One of `items`, from the client's workload stream.
fn pick<'a>(client: &mut Client, items: &[&'a str]) -> &'a str {
    items.choose(&mut client.rng).copied().unwrap_or("s.a")
}

/// Subscribes to `subject` unless the client already wants as many subscriptions as it may
/// have; then it unsubscribes one instead.
async fn subscribe_or_make_room(
    client: &mut Client,
    subject: &str,
    queue: Option<&str>,
    responder: bool,
) -> Result<(), Dead> {
    if client.wanted.len() >= crate::client::WANTED_SUBS_MAX {
        return unsubscribe::run(client).await;
    }
    client.subscribe(subject, queue, responder).await
}

/// A payload padding length: mostly small, sometimes a few hundred bytes.
fn pad(client: &mut Client) -> usize {
    if client.rng.random_bool(0.1) {
        client.rng.random_range(200..=600)
    } else {
        client.rng.random_range(0..=64)
    }
}
