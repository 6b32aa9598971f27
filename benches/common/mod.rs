//! What every micro benchmark shares.

use criterion::Criterion;
use std::time::Duration;

/// Short runs (the whole set takes about a minute on 2 cores): enough samples for a stable
/// median of these tight loops, without criterion's default 5 s per benchmark.
pub fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
}
