//! The slow-reader fault, as the client plays it: stop reading the socket while publishing a
//! steady stream to a subject only this client subscribes to. The server's writer to this
//! client stalls once turmoil's TCP window is full, its pending bytes grow past the budget (or
//! the write deadline passes), and it must cut this client off, and only this client.

use std::time::Duration;

use super::{Client, Dead, FLUSH_TIMEOUT};

/// Payload of each message while slow: large enough to fill the 64 KiB budget in seconds.
pub const SLOW_PAYLOAD_BYTES: usize = 1000;
/// One message this often while slow.
pub const SLOW_PUBLISH_INTERVAL: Duration = Duration::from_millis(20);

pub async fn run(client: &mut Client, length: Duration) -> Result<(), Dead> {
    client.ensure_connected(client.safety).await?;
    let subject = format!("slow.c{}", client.ctx.client);
    let start = client.start;
    let conn = client.conn()?;
    let sid = conn.sub(&subject, None)?;
    conn.flush(FLUSH_TIMEOUT).await?;
    conn.pause_reading(true);
    let until = start.elapsed() + length;
    while start.elapsed() < until {
        if conn.publish(&subject, None, SLOW_PAYLOAD_BYTES).is_err() {
            break;
        }
        tokio::time::sleep(SLOW_PUBLISH_INTERVAL).await;
    }
    conn.pause_reading(false);
    // Expected to fail: the server should have cut this connection off.
    conn.flush(FLUSH_TIMEOUT).await?;
    conn.unsub(sid, None)?;
    Ok(())
}
