//! Unsubscribe one wanted subscription: at once, or after `max` more messages in all
//! (auto-unsubscribe, `UNSUB <sid> <max>`).

use rand::Rng;

use crate::client::{Client, Dead, FLUSH_TIMEOUT};

pub async fn run(client: &mut Client) -> Result<(), Dead> {
    if client.wanted.is_empty() {
        return Ok(());
    }
    let index = client.rng.random_range(0..client.wanted.len());
    let max = client
        .rng
        .random_bool(0.5)
        .then(|| client.rng.random_range(1..=3));
    let wanted = client.wanted.remove(index);
    let conn = client.conn()?;
    if let Some(sid) = wanted.sid {
        conn.unsub(sid, max)?;
    }
    conn.flush(FLUSH_TIMEOUT).await
}
