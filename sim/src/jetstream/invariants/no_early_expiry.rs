//! Nothing expires early: a message is readable until max_age has passed since it was stored
//! — by the monotonic clock within one incarnation whatever the wall clock does, and after a
//! restart as long as the wall clock did not jump forward meanwhile (a restart can only age
//! recovered messages by wall time). The model checks this with the publish's send time, a
//! lower bound of when it was stored ([`Model::removal`](crate::jetstream::model::Model::removal)).
//!
//! Source: NATS docs, JetStream stream limits ("MaxAge: maximum age of any message in the
//! stream"); `src/jetstream/stream.rs`, "max_age without trusting the wall clock"; DESIGN.md
//! ("nothing is removed early under clock skew").

use crate::jetstream::params::StreamPlan;

pub const NAME: &str = "no_early_expiry";

/// Whether a protected message missing from this stream is reported as an early expiry (the
/// stream has max_age) rather than as a plain loss.
pub fn owns(plan: &StreamPlan) -> bool {
    plan.max_age > 0
}
