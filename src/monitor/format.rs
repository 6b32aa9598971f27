//! Times and durations written the way nats-server's JSON writes them, since dashboards and
//! `nats` CLI tools parse these strings:
//! - [`GoTime`]: Go's `time.Time` JSON, RFC 3339 in UTC with nanoseconds and trailing zeros
//!   trimmed (`2026-11-22T05:32:45.01892Z`);
//! - [`go_duration`]: Go's `time.Duration.String()` (`1.70667ms`, `229µs`, `1h0m0s`), used for
//!   `rtt`;
//! - [`uptime`]: nats-server's `myUptime` (`1y2d3h4m5s`), used for `uptime` and `idle`.

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::time::Wall;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// A wall-clock time that serializes as Go's `time.Time` does in JSON (always UTC here, as
/// nats-server calls `.UTC()` on every time it reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoTime(pub Wall);

impl Serialize for GoTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&rfc3339_nanos(self.0))
    }
}

/// `2006-01-02T15:04:05.999999999Z` for `wall`.
pub fn rfc3339_nanos(wall: Wall) -> String {
    let nanos = wall.as_unix_nanos();
    let seconds = nanos.div_euclid(NANOS_PER_SECOND);
    let fraction = nanos.rem_euclid(NANOS_PER_SECOND);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = crate::time::civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    push_fraction(&mut out, fraction as u64, 9);
    out.push('Z');
    out
}

/// Appends `.digits` of a fraction with `width` digits, trailing zeros trimmed; nothing when
/// it is zero (Go's `.999999999` layouts).
fn push_fraction(out: &mut String, fraction: u64, width: usize) {
    if fraction == 0 {
        return;
    }
    let digits = format!("{fraction:0width$}");
    out.push('.');
    out.push_str(digits.trim_end_matches('0'));
}

/// Go's `time.Duration.String()`: `0s`, `15ns`, `229µs`, `1.70667ms`, `2.5s`, `1m1s`,
/// `1h0m0s`.
pub fn go_duration(duration: Duration) -> String {
    crate::config::go_duration(duration)
}

/// nats-server's `myUptime`: whole seconds, with minutes, hours, days and 365-day years
/// shown from the largest unit present.
pub fn uptime(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (minutes, hours) = (seconds / 60, seconds / 3600);
    let (days, years) = (hours / 24, hours / 24 / 365);
    let (s, m, h, d) = (seconds % 60, minutes % 60, hours % 24, days % 365);
    if years > 0 {
        format!("{years}y{d}d{h}h{m}m{s}s")
    } else if days > 0 {
        format!("{days}d{h}h{m}m{s}s")
    } else if hours > 0 {
        format!("{hours}h{m}m{s}s")
    } else if minutes > 0 {
        format!("{minutes}m{s}s")
    } else {
        format!("{seconds}s")
    }
}

/// nats-server's `getRTT` rounding: between 1 µs and 1 ms an RTT is truncated to whole
/// microseconds; otherwise it is shown to the nanosecond.
pub fn rtt(duration: Duration) -> String {
    let micro = Duration::from_micros(1);
    let milli = Duration::from_millis(1);
    if duration > micro && duration < milli {
        go_duration(Duration::from_micros(duration.as_micros() as u64))
    } else {
        go_duration(duration)
    }
}

/// The time from `earlier` to `later`, or zero if the wall clock went backwards.
pub fn wall_since(later: Wall, earlier: Wall) -> Duration {
    let nanos = later
        .as_unix_nanos()
        .saturating_sub(earlier.as_unix_nanos());
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(nanos: i64) -> Wall {
        Wall::from_unix_nanos(nanos)
    }

    #[test]
    fn times_are_rfc3339_utc_with_trimmed_nanoseconds() {
        // Taken from nats-server 2.12.8 output: 2026-11-22T05:32:45.018920277Z.
        let at = 1_795_325_565 * NANOS_PER_SECOND + 18_920_277;
        assert_eq!(rfc3339_nanos(wall(at)), "2026-11-22T05:32:45.018920277Z");
        assert_eq!(
            rfc3339_nanos(wall(at - 18_920_277 + 500_000_000)),
            "2026-11-22T05:32:45.5Z"
        );
        assert_eq!(rfc3339_nanos(wall(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_nanos(wall(951_782_400 * NANOS_PER_SECOND)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(rfc3339_nanos(wall(-1)), "1969-12-31T23:59:59.999999999Z");
        let json = serde_json::to_string(&GoTime(wall(0))).expect("a time serializes");
        assert_eq!(json, "\"1970-01-01T00:00:00Z\"");
    }

    #[test]
    fn durations_read_like_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(15), "15ns"),
            (Duration::from_nanos(229_000), "229µs"),
            (Duration::from_nanos(1_706_670), "1.70667ms"),
            (Duration::from_millis(2500), "2.5s"),
            (Duration::from_secs(61), "1m1s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(90_061), "25h1m1s"),
        ];
        for (duration, text) in cases {
            assert_eq!(go_duration(duration), text, "{duration:?}");
        }
    }

    #[test]
    fn rtt_truncates_to_microseconds_below_a_millisecond() {
        assert_eq!(rtt(Duration::from_nanos(229_123)), "229µs");
        assert_eq!(rtt(Duration::from_nanos(1_706_670)), "1.70667ms");
        assert_eq!(rtt(Duration::from_nanos(999)), "999ns");
        assert_eq!(rtt(Duration::ZERO), "0s");
    }

    #[test]
    fn uptime_reads_like_nats_server() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (61, "1m1s"),
            (3_661, "1h1m1s"),
            (90_061, "1d1h1m1s"),
            (365 * 86_400 + 86_400 + 1, "1y1d0h0m1s"),
        ];
        for (seconds, text) in cases {
            assert_eq!(uptime(Duration::from_secs(seconds)), text);
        }
    }

    #[test]
    fn wall_since_never_goes_negative() {
        assert_eq!(wall_since(wall(5), wall(2)), Duration::from_nanos(3));
        assert_eq!(wall_since(wall(2), wall(5)), Duration::ZERO);
    }
}
