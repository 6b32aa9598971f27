//! Drop the connection and reconnect, maybe to another server; the wanted subscriptions are
//! restored on the new connection. Half the time the client leaves gracefully first (UNSUB of
//! everything, confirmed by a flush, as a draining client library does); otherwise it just
//! drops the socket.

use rand::Rng;

use crate::client::{Client, Dead, FLUSH_TIMEOUT};
use crate::history::CloseWhy;

pub async fn run(client: &mut Client) -> Result<(), Dead> {
    if client.rng.random_bool(0.5) {
        let sids: Vec<u32> = client.wanted.iter().filter_map(|w| w.sid).collect();
        let conn = client.conn()?;
        for sid in sids {
            conn.unsub(sid, None)?;
        }
        conn.flush(FLUSH_TIMEOUT).await?;
    }
    if let Some(mut conn) = client.conn.take() {
        conn.fail(CloseWhy::ByClient);
    }
    client.ensure_connected(client.safety).await
}
