//! Publish a burst of messages to subjects from the pool, usually followed by a flush (which
//! tells the checkers the server has routed them).

use rand::Rng;

use super::{pad, pick, PUBLISH_SUBJECTS};
use crate::client::{Client, Dead, FLUSH_TIMEOUT};

pub async fn run(client: &mut Client) -> Result<(), Dead> {
    let count = client.rng.random_range(1..=6);
    for _ in 0..count {
        let subject = pick(client, &PUBLISH_SUBJECTS);
        let pad = pad(client);
        client.conn()?.publish(subject, None, pad)?;
    }
    if client.rng.random_bool(0.8) {
        client.conn()?.flush(FLUSH_TIMEOUT).await?;
    }
    Ok(())
}
