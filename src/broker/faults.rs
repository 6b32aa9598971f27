//! A test-only fault switch in delivery: proof that the simulator's checkers can fail.
//!
//! Compiled only with the `fault-injection` cargo feature, which is off by default and turned on
//! only by `sim/`'s tests (a dev-dependency feature), so no build of the server contains it.
//! With the switch off (the default) delivery is untouched.
//!
//! The switch is per thread: the simulator runs each seed wholly on one thread (turmoil drives
//! every host's current-thread runtime from the thread that steps it), so parallel test threads
//! never see each other's setting. This is the one piece of ambient state in the core, and it is
//! here only because a test must be able to break a broker it does not construct itself.

use std::cell::Cell;

/// What [`set_delivery_fault`] makes `deliver_to` do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeliveryFault {
    /// Deliver normally.
    #[default]
    Off,
    /// Queue every `n`th delivery twice (a duplicate the subscriber must not see).
    DuplicateEvery(u64),
    /// Silently skip every `n`th delivery (a loss on a healthy connection).
    DropEvery(u64),
    /// Panic at every `n`th delivery (a bug that takes the server down).
    PanicEvery(u64),
}

thread_local! {
    static FAULT: Cell<DeliveryFault> = const { Cell::new(DeliveryFault::Off) };
    /// Deliveries counted since the fault was set.
    static DELIVERIES: Cell<u64> = const { Cell::new(0) };
    /// Set while a duplicate is being queued, so that nested delivery passes through uncounted.
    static NESTED: Cell<bool> = const { Cell::new(false) };
}

/// Turns the fault on (or `Off`) for brokers running on this thread, and restarts its count.
pub fn set_delivery_fault(fault: DeliveryFault) {
    FAULT.set(fault);
    DELIVERIES.set(0);
}

/// The fault set on this thread.
pub fn delivery_fault() -> DeliveryFault {
    FAULT.get()
}

/// The hook at the top of `deliver_to`. `again` queues the same delivery once (re-entering
/// `deliver_to`, whose nested call this lets through). Returns `Some(queued)` when `deliver_to`
/// must return at once (the delivery is dropped, but reported as queued so that no
/// no-responders status follows), `None` to go on and queue it (a second time, for a duplicate).
pub(super) fn intercept(again: impl FnOnce() -> bool) -> Option<bool> {
    if NESTED.get() {
        return None;
    }
    let every = match FAULT.get() {
        DeliveryFault::Off => return None,
        DeliveryFault::DuplicateEvery(n)
        | DeliveryFault::DropEvery(n)
        | DeliveryFault::PanicEvery(n) => n.max(1),
    };
    let count = DELIVERIES.get() + 1;
    DELIVERIES.set(count);
    if count % every != 0 {
        return None;
    }
    match FAULT.get() {
        DeliveryFault::DropEvery(_) => Some(true),
        DeliveryFault::PanicEvery(_) => panic!("fault injection: panic at delivery {count}"),
        _ => {
            NESTED.set(true);
            again();
            NESTED.set(false);
            None
        }
    }
}
