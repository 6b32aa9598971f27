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

/// The proleptic Gregorian date (year, month, day) of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`): time stamps in logs and JSON without a date crate.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    // Both are small and non-negative by construction (1..=31 and 1..=12).
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod civil_tests {
    use super::civil_from_days;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        // 2026-11-22
        assert_eq!(civil_from_days(20_779), (2026, 11, 22));
    }
}
