//! Subscribe with wildcards: `*` matches one token, `>` one or more at the end.

use super::{pick, subscribe_or_make_room};
use crate::client::{Client, Dead};

const SUBJECTS: [&str; 5] = ["s.*", "s.>", "*.a", "s.*.x", "q.>"];

pub async fn run(client: &mut Client) -> Result<(), Dead> {
    let subject = pick(client, &SUBJECTS);
    subscribe_or_make_room(client, subject, None, false).await
}
