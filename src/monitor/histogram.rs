//! A fixed-bucket histogram of connections' pending bytes, for `/metrics`.
//!
//! What is observed: a connection's pending bytes (queued plus in flight) each time the broker
//! hands a batch of its bytes to the host (every `Output::Transmit`). That is once per write
//! batch, not per message, and costs a few integer operations; a subscriber falling behind shows
//! up as observations creeping towards `pending_bytes_max` long before it is cut off. The counts
//! only grow, so Prometheus's `rate()` and `histogram_quantile()` work on them as on any
//! histogram.

/// Upper bounds of the buckets, in bytes: powers of 4 from 1 KiB to 64 MiB (nats-server's
/// default `max_pending`). Anything larger falls in the implicit `+Inf` bucket.
pub const PENDING_BUCKET_BOUNDS_BYTES: [u64; 9] = [
    1 << 10,
    1 << 12,
    1 << 14,
    1 << 16,
    1 << 18,
    1 << 20,
    1 << 22,
    1 << 24,
    1 << 26,
];

const BUCKETS: usize = PENDING_BUCKET_BOUNDS_BYTES.len() + 1;

/// Observation counts per bucket (not cumulative; the last is `+Inf`), their sum and count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingBytesHistogram {
    counts: [u64; BUCKETS],
    sum_bytes: u64,
}

impl PendingBytesHistogram {
    /// Counts one observation. Constant time: the bucket comes from the bit length.
    pub(crate) fn observe(&mut self, bytes: u64) {
        self.counts[bucket_of(bytes)] += 1;
        self.sum_bytes = self.sum_bytes.saturating_add(bytes);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn sum_bytes(&self) -> u64 {
        self.sum_bytes
    }

    /// `(upper bound in bytes, cumulative count)` per finite bucket, as Prometheus's `le`
    /// buckets; the `+Inf` bucket is [`PendingBytesHistogram::count`].
    pub fn cumulative(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let mut running = 0;
        PENDING_BUCKET_BOUNDS_BYTES
            .iter()
            .zip(self.counts)
            .map(move |(&bound, n)| {
                running += n;
                (bound, running)
            })
    }
}

/// The bucket of `bytes`: the first bound at or above it. The bounds are 4^k KiB, so the index
/// is half the bit length of `bytes - 1` past 10 bits, rounded up.
fn bucket_of(bytes: u64) -> usize {
    if bytes <= PENDING_BUCKET_BOUNDS_BYTES[0] {
        return 0;
    }
    let bits = 64 - (bytes - 1).leading_zeros() as usize; // ceil(log2(bytes))
    ((bits - 9) / 2).min(BUCKETS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_size_lands_in_the_first_bucket_that_holds_it() {
        for bytes in [
            0,
            1,
            1023,
            1024,
            1025,
            4096,
            4097,
            1 << 26,
            (1 << 26) + 1,
            u64::MAX,
        ] {
            let expected = PENDING_BUCKET_BOUNDS_BYTES
                .iter()
                .position(|&bound| bytes <= bound)
                .unwrap_or(BUCKETS - 1);
            assert_eq!(bucket_of(bytes), expected, "{bytes} bytes");
        }
    }

    #[test]
    fn cumulative_counts_grow_to_the_total() {
        let mut histogram = PendingBytesHistogram::default();
        for bytes in [10, 2000, 2000, 1 << 30] {
            histogram.observe(bytes);
        }
        let buckets: Vec<(u64, u64)> = histogram.cumulative().collect();
        assert_eq!(buckets[0], (1024, 1));
        assert_eq!(buckets[1], (4096, 3));
        assert_eq!(buckets.last(), Some(&(1 << 26, 3)));
        assert_eq!(histogram.count(), 4);
        assert_eq!(histogram.sum_bytes(), 4010 + (1 << 30));
    }
}
