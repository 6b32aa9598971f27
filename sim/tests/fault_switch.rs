//! Proof that the checkers can fail: the core's test-only delivery fault
//! (`switchboard::broker::faults`, cargo feature `fault-injection`, on for this package's tests
//! only) breaks the broker, and the seed sweep must catch it.
//!
//! The switch is per thread and `run_seed` runs on the calling thread, so these tests run their
//! seeds one after another on the test's own thread.

use switchboard::broker::faults::{set_delivery_fault, DeliveryFault};
use switchboard_sim::{run_seed, Options, Outcome};

/// The first failing outcome among `seeds` with `fault` on, if any.
fn first_failure(fault: DeliveryFault, seeds: std::ops::Range<u64>) -> Option<Outcome> {
    let options = Options::default();
    let mut found = None;
    for seed in seeds {
        set_delivery_fault(fault);
        let outcome = run_seed(seed, &options);
        set_delivery_fault(DeliveryFault::Off);
        println!("{fault:?}: {}", outcome.summary());
        if !outcome.passed() {
            found = Some(outcome);
            break;
        }
    }
    found
}

#[test]
fn a_duplicate_every_1000_deliveries_is_caught() {
    let outcome = first_failure(DeliveryFault::DuplicateEvery(1000), 0..20)
        .expect("a broker that duplicates every 1000th delivery passed 20 seeds");
    println!("{}", outcome.failure_report());
    assert!(
        outcome.failed_invariants().contains(&"no_duplicates"),
        "caught, but not as a duplicate: {}",
        outcome.failure_report()
    );
}

#[test]
fn a_drop_every_1000_deliveries_is_caught() {
    let outcome = first_failure(DeliveryFault::DropEvery(1000), 0..20)
        .expect("a broker that drops every 1000th delivery passed 20 seeds");
    println!("{}", outcome.failure_report());
    let failed = outcome.failed_invariants();
    assert!(
        failed
            .iter()
            .any(|i| ["completeness", "queue_groups", "liveness"].contains(i)),
        "caught, but not as a lost message: {}",
        outcome.failure_report()
    );
}

#[test]
fn a_server_panic_fails_the_run_with_its_seed() {
    let outcome = first_failure(DeliveryFault::PanicEvery(500), 0..5)
        .expect("a broker that panics at its 500th delivery passed 5 seeds");
    let report = outcome.failure_report();
    println!("{report}");
    assert!(outcome.failed_invariants().contains(&"server_health") || outcome.error.is_some());
    assert!(
        report.contains("fault injection: panic at delivery"),
        "{report}"
    );
    assert!(
        report.contains(&format!("SWITCHBOARD_SEED={}", outcome.params.seed)),
        "{report}"
    );
}

#[test]
fn the_switch_off_changes_nothing() {
    set_delivery_fault(DeliveryFault::Off);
    let outcome = run_seed(2, &Options::default());
    assert!(outcome.passed(), "{}", outcome.failure_report());
}
