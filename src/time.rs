//! Time as the core sees it: handed in by the host, never read from the OS.
//!
//! `Mono` is a host's monotonic clock (nanoseconds since the host started); it never goes
//! backwards and drives every timer. `Wall` is Unix time in nanoseconds; it may jump or skew
//! (the simulator makes it do so) and is only ever stamped into data, never used for timers.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on the host's monotonic clock, in nanoseconds since the host's own epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mono(u64);

impl Mono {
    pub const ZERO: Mono = Mono(0);

    pub const fn from_nanos(nanos: u64) -> Mono {
        Mono(nanos)
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Mono) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Mono {
    type Output = Mono;
    fn add(self, d: Duration) -> Mono {
        // Saturate: a deadline past u64 nanoseconds (584 years) is "never".
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Mono(self.0.saturating_add(nanos))
    }
}

impl Sub<Mono> for Mono {
    type Output = Duration;
    fn sub(self, earlier: Mono) -> Duration {
        self.saturating_since(earlier)
    }
}

/// Wall-clock time: nanoseconds since the Unix epoch. May jump; never used for timers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Wall(i64);

impl Wall {
    pub const fn from_unix_nanos(nanos: i64) -> Wall {
        Wall(nanos)
    }

    pub const fn as_unix_nanos(self) -> i64 {
        self.0
    }
}

/// The current time, given by the host with every input. `mono` never goes backwards
/// between calls on one state machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Now {
    pub mono: Mono,
    pub wall: Wall,
}

impl Now {
    pub const fn new(mono: Mono, wall: Wall) -> Now {
        Now { mono, wall }
    }
}
