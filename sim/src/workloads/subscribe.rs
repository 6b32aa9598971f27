//! Subscribe to a literal subject (and confirm it with a flush).

use super::{pick, subscribe_or_make_room};
use crate::client::{Client, Dead};

const SUBJECTS: [&str; 6] = ["s.a", "s.b", "s.c", "s.a.x", "s.b.y", "q.a"];

pub async fn run(client: &mut Client) -> Result<(), Dead> {
    let subject = pick(client, &SUBJECTS);
    subscribe_or_make_room(client, subject, None, false).await
}
