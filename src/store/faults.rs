//! A test-only fault switch in group commit: proof that the simulator's durability checker can
//! fail.
//!
//! Compiled only with the `fault-injection` cargo feature, which is off by default and turned on
//! only by `sim/`'s tests (a dev-dependency feature), so no build of the server contains it.
//! With the switch off (the default) the store is untouched.
//!
//! [`set_ack_before_sync`] makes [`SyncPolicy::Always`](super::SyncPolicy) acknowledge what
//! was written instead of what a sync covered (`ackable_seq` returns the last written
//! sequence): exactly the bug "ack before fsync". A crash then loses acknowledged messages.
//!
//! The switch is per thread, as the broker's delivery fault (`crate::broker::faults`): the
//! JetStream simulation runs each seed wholly on the calling thread, so parallel test threads
//! never see each other's setting.

use std::cell::Cell;

thread_local! {
    static ACK_BEFORE_SYNC: Cell<bool> = const { Cell::new(false) };
}

/// Turns "acknowledge before the sync" on (or off) for stores used on this thread.
pub fn set_ack_before_sync(on: bool) {
    ACK_BEFORE_SYNC.set(on);
}

/// Whether "acknowledge before the sync" is on for this thread.
pub fn ack_before_sync() -> bool {
    ACK_BEFORE_SYNC.get()
}
