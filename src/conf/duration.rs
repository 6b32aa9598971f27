//! Go's `time.ParseDuration` and `Duration.String`, and Go's `%q` quoting: nats-server parses
//! durations in its config with the first, names them in its messages with the second, and
//! quotes names with the third, so matching its behaviour and wording needs all three.

const NANOSECOND: u64 = 1;
const MICROSECOND: u64 = 1_000 * NANOSECOND;
const MILLISECOND: u64 = 1_000 * MICROSECOND;
const SECOND: u64 = 1_000 * MILLISECOND;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
/// Go accumulates in a `uint64` and accepts up to 2^63 before the sign is applied, so that the
/// most negative duration parses.
const MAGNITUDE_MAX: u64 = 1 << 63;

/// Nanoseconds per unit, with Go's spellings (`µs` in both the micro sign and the Greek mu).
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => NANOSECOND,
        "us" | "\u{b5}s" | "\u{3bc}s" => MICROSECOND,
        "ms" => MILLISECOND,
        "s" => SECOND,
        "m" => MINUTE,
        "h" => HOUR,
        _ => return None,
    })
}

/// Parses a Go duration (`300ms`, `-1.5h`, `2h45m`) into signed nanoseconds, with Go's error
/// texts (`time: invalid duration "x"`, `time: missing unit in duration "1"`,
/// `time: unknown unit "d" in duration "1d"`).
pub fn parse_go_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", time_quote(text));
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (nanos, tail) = component(rest, text)?;
        rest = tail;
        total = total
            .checked_add(nanos)
            .filter(|&sum| sum <= MAGNITUDE_MAX)
            .ok_or_else(invalid)?;
    }
    if negative {
        // 2^63 is exactly i64::MIN's magnitude; anything smaller fits before negation.
        return Ok(0i64.wrapping_sub_unsigned(total));
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// One `<number><unit>` of a duration: its nanoseconds and the rest of the text.
fn component<'a>(rest: &'a str, text: &str) -> Result<(u64, &'a str), String> {
    let invalid = || format!("time: invalid duration {}", time_quote(text));
    if !rest.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
        return Err(invalid());
    }
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let whole = leading_int(&rest[..digits]).ok_or_else(invalid)?;
    let mut rest = &rest[digits..];
    let mut fraction = (0u64, 1.0f64);
    let mut has_fraction = false;
    if let Some(tail) = rest.strip_prefix('.') {
        let digits = tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        fraction = leading_fraction(&tail[..digits]);
        has_fraction = digits > 0;
        rest = &tail[digits..];
    }
    if digits == 0 && !has_fraction {
        return Err(invalid());
    }
    let unit_len = rest
        .find(|c: char| c == '.' || c.is_ascii_digit())
        .unwrap_or(rest.len());
    if unit_len == 0 {
        return Err(format!(
            "time: missing unit in duration {}",
            time_quote(text)
        ));
    }
    let (unit, rest) = rest.split_at(unit_len);
    let Some(unit_nanos) = unit_nanos(unit) else {
        return Err(format!(
            "time: unknown unit {} in duration {}",
            time_quote(unit),
            time_quote(text)
        ));
    };
    if whole > MAGNITUDE_MAX / unit_nanos {
        return Err(invalid());
    }
    let mut nanos = whole * unit_nanos;
    let (numerator, scale) = fraction;
    if numerator > 0 {
        // Go scales the fraction in floating point and truncates; so do we, for equal results.
        let extra = (numerator as f64 * (unit_nanos as f64 / scale)) as u64;
        nanos = nanos
            .checked_add(extra)
            .filter(|&sum| sum <= MAGNITUDE_MAX)
            .ok_or_else(invalid)?;
    }
    Ok((nanos, rest))
}

/// The value of a run of ASCII digits, or `None` past 2^63 (Go's `leadingInt` overflow).
fn leading_int(digits: &str) -> Option<u64> {
    let mut value: u64 = 0;
    for digit in digits.bytes() {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
        if value > MAGNITUDE_MAX {
            return None;
        }
    }
    Some(value)
}

/// The digits after a `.` as `(numerator, 10^digits kept)`: precision past 63 bits is dropped,
/// never an error (Go's `leadingFraction`).
fn leading_fraction(digits: &str) -> (u64, f64) {
    let mut value: u64 = 0;
    let mut scale = 1.0;
    for digit in digits.bytes() {
        let next = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
            .filter(|&v| v <= MAGNITUDE_MAX);
        match next {
            Some(next) if value <= (MAGNITUDE_MAX - 1) / 10 => {
                value = next;
                scale *= 10.0;
            }
            _ => break,
        }
    }
    (value, scale)
}

/// Signed nanoseconds written as Go's `Duration.String` writes them: `1h2m3.5s`, `1.5ms`, `0s`.
pub fn format_go_duration(nanos: i64) -> String {
    let magnitude = nanos.unsigned_abs();
    let mut text = if magnitude < SECOND {
        small_duration(magnitude)
    } else {
        let (seconds, fraction) = (magnitude / SECOND, magnitude % SECOND);
        let mut text = String::new();
        let (hours, minutes) = (seconds / 3600, seconds / 60 % 60);
        if hours > 0 {
            text.push_str(&format!("{hours}h"));
        }
        if seconds >= 60 {
            text.push_str(&format!("{minutes}m"));
        }
        text.push_str(&format!(
            "{}{}s",
            seconds % 60,
            fraction_digits(fraction, 9)
        ));
        text
    };
    if nanos < 0 {
        text.insert(0, '-');
    }
    text
}

/// Under a second Go switches to the largest unit below it: `ns`, `µs` or `ms`.
fn small_duration(nanos: u64) -> String {
    let (unit, unit_nanos, places) = match nanos {
        0 => return "0s".to_owned(),
        n if n < MICROSECOND => ("ns", NANOSECOND, 0),
        n if n < MILLISECOND => ("\u{b5}s", MICROSECOND, 3),
        _ => ("ms", MILLISECOND, 6),
    };
    let whole = nanos / unit_nanos;
    let fraction = nanos % unit_nanos;
    format!("{whole}{}{unit}", fraction_digits(fraction, places))
}

/// `.` and the `places` digits of `fraction`, trailing zeros trimmed; empty for zero.
fn fraction_digits(fraction: u64, places: usize) -> String {
    if fraction == 0 {
        return String::new();
    }
    let digits = format!("{fraction:0places$}");
    format!(".{}", digits.trim_end_matches('0'))
}

/// The `time` package's own quoting: control and non-ASCII bytes as `\xHH`.
fn time_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c < ' ' || !c.is_ascii() {
            let mut bytes = [0u8; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                quoted.push_str(&format!("\\x{byte:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                quoted.push('\\');
            }
            quoted.push(c);
        }
    }
    quoted.push('"');
    quoted
}

/// `text` quoted as Go's `%q` (`strconv.Quote`) quotes it, close enough for messages: printable
/// characters as they are, the usual escapes, `\xHH` for other ASCII controls and `\uHHHH` for
/// non-printing Unicode.
pub fn go_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    crate::protocol::errors::go_quote(&mut quoted, text);
    quoted
}
