//! `SimClock`: each server host's own sense of time.
//!
//! turmoil gives every host one shared simulated clock, so skew between hosts has to come in
//! through the core's `Now`. `mono` is tokio's (simulated, paused) clock since the server
//! incarnation started, scaled by a per-host drift rate: a fast host's timers (pings, write
//! deadline) fire early relative to everyone else's, a slow host's late. `wall` starts at a
//! fixed epoch plus a per-host offset, runs at its own drift rate, and jumps (either way) when the
//! nemesis says so. `mono` never jumps and never goes backwards; the clock checks that it hands
//! out no smaller `mono` than before and counts any breach for the health invariant.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use switchboard::{Mono, Now, Seed, Wall};
use switchboard_server::Clock;
use tokio::time::Instant;

/// 2024-01-01T00:00:00Z: the simulation's wall-clock epoch (never the real time).
pub const EPOCH_UNIX_NANOS: i64 = 1_704_067_200_000_000_000;

const PPM: i128 = 1_000_000;

/// A server host's clock parameters (drawn once per host; they outlive restarts, as a
/// machine's clock outlives the process).
#[derive(Debug)]
pub struct HostClock {
    /// `mono` runs at (1 + ppm / 10^6) times simulated time.
    pub mono_drift_ppm: i64,
    /// `wall` runs at its own rate ...
    pub wall_drift_ppm: i64,
    /// ... from this offset to the epoch ...
    pub wall_offset_nanos: i64,
    /// ... plus every jump so far (the nemesis adds to it).
    pub wall_jumps_nanos: AtomicI64,
    /// Times `now()` would have gone backwards in `mono` (must stay 0).
    pub mono_backwards: AtomicU64,
}

impl HostClock {
    /// Draws server `server`'s clock from the `clock` stream; without drift faults the rates
    /// are exact.
    pub fn draw(seed: u64, server: u32, drift: bool) -> HostClock {
        let mut rng = Seed(seed).stream(&format!("clock.s{server}"));
        let wall_offset_nanos = rng.random_range(-5_000_000_000i64..=5_000_000_000);
        let (mono_drift_ppm, wall_drift_ppm) = if drift {
            (
                rng.random_range(-20_000..=20_000),
                rng.random_range(-50_000..=50_000),
            )
        } else {
            (0, 0)
        };
        HostClock {
            mono_drift_ppm,
            wall_drift_ppm,
            wall_offset_nanos,
            wall_jumps_nanos: AtomicI64::new(0),
            mono_backwards: AtomicU64::new(0),
        }
    }

    /// The nemesis moves this host's wall clock by `nanos` (either way).
    pub fn jump(&self, nanos: i64) {
        self.wall_jumps_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// The `Clock` a simulated server's driver runs on. One per server incarnation.
#[derive(Debug)]
pub struct SimClock {
    host: Arc<HostClock>,
    /// tokio's (simulated) instant when this incarnation started: `mono` zero.
    origin: Instant,
    last_mono: AtomicU64,
}

impl SimClock {
    /// Must be called inside the host's runtime (it reads tokio's clock).
    pub fn new(host: Arc<HostClock>) -> SimClock {
        SimClock {
            host,
            origin: Instant::now(),
            last_mono: AtomicU64::new(0),
        }
    }
}

/// `nanos` scaled by (1 + ppm / 10^6), rounded down, saturating.
fn scale(nanos: u128, ppm: i64) -> u128 {
    let rate = PPM + i128::from(ppm);
    let scaled = (nanos as i128).saturating_mul(rate) / PPM;
    scaled.max(0) as u128
}

impl Clock for SimClock {
    fn now(&self) -> Now {
        let elapsed = self.origin.elapsed().as_nanos();
        let mono = u64::try_from(scale(elapsed, self.host.mono_drift_ppm)).unwrap_or(u64::MAX);
        let last = self.last_mono.fetch_max(mono, Ordering::Relaxed);
        if mono < last {
            self.host.mono_backwards.fetch_add(1, Ordering::Relaxed);
        }
        let wall_elapsed =
            i64::try_from(scale(elapsed, self.host.wall_drift_ppm)).unwrap_or(i64::MAX);
        let wall = EPOCH_UNIX_NANOS
            .saturating_add(self.host.wall_offset_nanos)
            .saturating_add(wall_elapsed)
            .saturating_add(self.host.wall_jumps_nanos.load(Ordering::Relaxed));
        Now::new(Mono::from_nanos(mono), Wall::from_unix_nanos(wall))
    }

    fn instant_at(&self, deadline: Mono) -> Instant {
        // The inverse of `scale`, rounded up, so that `now().mono >= deadline` once tokio's
        // timer fires (it never fires early). Otherwise the driver would wake, find nothing
        // due, and re-arm the same instant forever without time moving.
        let rate = u128::try_from(PPM + i128::from(self.host.mono_drift_ppm)).unwrap_or(1);
        let nanos = (u128::from(deadline.as_nanos()) * PPM as u128).div_ceil(rate);
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
        self.origin
            .checked_add(Duration::from_nanos(nanos))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_round_trips_up() {
        for ppm in [-20_000i64, -1, 0, 1, 20_000] {
            let rate = (PPM + i128::from(ppm)) as u128;
            for deadline in [0u64, 1, 999, 1_000_000_007, 3_000_000_000] {
                let elapsed = (u128::from(deadline) * PPM as u128).div_ceil(rate);
                assert!(
                    scale(elapsed, ppm) >= u128::from(deadline),
                    "ppm {ppm} deadline {deadline}"
                );
            }
        }
    }
}
