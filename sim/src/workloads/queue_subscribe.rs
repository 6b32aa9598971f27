//! Join a queue group: each message goes to one member of each group with a matching member.
//! A group is its name: `q.work` with `g1` and `q.*` with `g1` are one group for a message on
//! `q.work` (as in nats-server's sublist).

use super::{pick, subscribe_or_make_room};
use crate::client::{Client, Dead};

const SUBJECTS: [&str; 2] = ["q.work", "q.*"];
const GROUPS: [&str; 2] = ["g1", "g2"];

pub async fn run(client: &mut Client) -> Result<(), Dead> {
    let subject = pick(client, &SUBJECTS);
    let group = pick(client, &GROUPS);
    subscribe_or_make_room(client, subject, Some(group), false).await
}
