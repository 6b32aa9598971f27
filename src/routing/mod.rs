//! Routing: subjects, the sublist, and queue-group member choice.
//!
//! Contracts (all of them follow nats-server, `server/sublist.go` and `server/client.go`):
//! - Subjects are `.`-separated tokens. In a subscription, a whole token `*` matches one token
//!   and a whole last token `>` matches one or more; wildcard characters inside a longer token
//!   are literal. Published subjects are matched token by token as literals.
//! - [`Sublist::insert`] refuses what nats-server's `Sublist.Insert` refuses (the source of
//!   SUB's `-ERR 'Invalid Subject'`); [`is_valid_literal_subject`] is the pedantic PUB check
//!   (`-ERR 'Invalid Publish Subject'`). nats-server does not validate queue names, beyond
//!   reserving [`RESERVED_QUEUE_GROUP`].
//! - [`Sublist::match_subject`] returns a shared, immutable [`SubMatch`] in a deterministic
//!   order (plain subscriptions by [`SubId`], queue groups by name, members by [`SubId`]).
//!   Results are cached (bounded, deterministic CLOCK eviction, precise invalidation on every
//!   insert and remove); a cache hit allocates nothing.
//! - Each message goes to every plain subscription in the match and to exactly one member of
//!   each queue group, chosen by [`choose_member`] (or offered in [`member_order`]) with the
//!   seeded RNG the broker passes in.
//! - [`subject_matches`] is the naive matcher: the sublist's reference model in tests.

mod cache;
pub mod queue;
pub mod subject;
pub mod sublist;

pub use queue::{choose_member, member_order};
pub use subject::{
    is_literal_subject, is_valid_literal_subject, is_valid_publish_subject, is_valid_subject,
    subject_matches, RESERVED_QUEUE_GROUP,
};
pub use sublist::{
    QueueGroup, SubId, SubMatch, Sublist, SublistError, SublistStats, CACHE_ENTRIES_MAX_DEFAULT,
};
