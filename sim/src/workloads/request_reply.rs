//! Request/reply: either become a responder (a member of queue group `responders` on
//! `svc.echo`, answering every request), or make a request, on `svc.echo` (which may have
//! responders) or on `nobody.*` (which never has any, so the server must answer with the
//! `NATS/1.0 503` no-responders status).

use std::time::Duration;

use rand::Rng;

use super::subscribe_or_make_room;
use crate::client::{Client, Dead, FLUSH_TIMEOUT};

const REQUEST_TIMEOUT: Duration = Duration::from_millis(1000);

pub async fn run(client: &mut Client) -> Result<(), Dead> {
    let responding = client.wanted.iter().any(|w| w.responder);
    if !responding && client.rng.random_bool(0.3) {
        return subscribe_or_make_room(client, "svc.echo", Some("responders"), true).await;
    }
    let subject = if client.rng.random_bool(0.5) {
        "svc.echo".to_string()
    } else {
        format!("nobody.{}", client.rng.random_range(0..3))
    };
    let inbox = client.next_inbox();
    let conn = client.conn()?;
    let sid = conn.sub(&inbox, None)?;
    let mut answers = conn.watch_inbox(sid);
    conn.flush(FLUSH_TIMEOUT).await?;
    conn.publish(&subject, Some(&inbox), 16)?;
    conn.flush(FLUSH_TIMEOUT).await?;
    // The answer (a reply or the 503) is in the history either way; waiting for it only paces
    // the workload like a real requester.
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, answers.recv()).await;
    conn.unwatch_inbox(sid);
    conn.unsub(sid, None)
}
