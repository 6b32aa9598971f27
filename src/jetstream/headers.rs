//! The JetStream headers of a published message, read the way nats-server reads them.
//!
//! nats-server does not parse a header block into a map; it searches it (`sliceHeader` in
//! server/client.go): a key matches only when it is spelled exactly (case-sensitive), starts
//! right after a `\r\n` and is followed by `:`. The value skips leading spaces and runs to the
//! next `\r\n` (trailing spaces kept). The first occurrence wins. An empty value counts as
//! absent. Sequence headers are parsed as nats-server's `parseInt64`: anything but ASCII
//! digits gives -1, which as a sequence is `u64::MAX`, so `Nats-Expected-Last-Sequence: abc`
//! is a mismatch (`wrong last sequence: N`), not an error of its own.

/// `Nats-Msg-Id`: the dedupe key.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// `Nats-Expected-Stream`: refuse unless stored in this stream.
pub const EXPECTED_STREAM: &str = "Nats-Expected-Stream";
/// `Nats-Expected-Last-Sequence`: refuse unless the stream's last sequence is this.
pub const EXPECTED_LAST_SEQ: &str = "Nats-Expected-Last-Sequence";
/// `Nats-Expected-Last-Subject-Sequence`: refuse unless the last message on the subject has
/// this sequence (0: there is none).
pub const EXPECTED_LAST_SUBJECT_SEQ: &str = "Nats-Expected-Last-Subject-Sequence";
/// `Nats-Expected-Last-Subject-Sequence-Subject`: the subject (or filter) that check uses
/// instead of the message's own.
pub const EXPECTED_LAST_SUBJECT_SEQ_SUBJECT: &str = "Nats-Expected-Last-Subject-Sequence-Subject";
/// `Nats-Expected-Last-Msg-Id`: refuse unless the last stored message had this id.
pub const EXPECTED_LAST_MSG_ID: &str = "Nats-Expected-Last-Msg-Id";
/// `Nats-Rollup`: `sub` or `all` (any case); purge older messages once this one is stored.
pub const ROLLUP: &str = "Nats-Rollup";
/// `Nats-TTL`: per-message TTL (not supported: refused with 10166 as on a stream without it).
pub const MSG_TTL: &str = "Nats-TTL";
/// `Nats-Incr`: counter increment (not supported: 10168 / 10171 as without counters).
pub const INCR: &str = "Nats-Incr";
/// `Nats-Schedule`: message schedule (not supported: 10188 as without schedules).
pub const SCHEDULE: &str = "Nats-Schedule";
/// `Nats-Schedule-Next`: `purge` ends a schedule (not supported: 10188).
pub const SCHEDULE_NEXT: &str = "Nats-Schedule-Next";
/// `Nats-Batch-Id`: atomic batch publish (not supported: 10174 as without it).
pub const BATCH_ID: &str = "Nats-Batch-Id";
/// `Nats-Required-Api-Level`: on API requests, refuse if above our level.
pub const REQUIRED_API_LEVEL: &str = "Nats-Required-Api-Level";

/// The value of header `key` in the header block `headers` (starting `NATS/1.0`), as
/// nats-server's `sliceHeader`: `None` if absent, possibly `Some(b"")`.
pub fn header_value<'a>(headers: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let key = key.as_bytes();
    let mut from = 0;
    while let Some(found) = find(&headers[from..], key) {
        // As Go's `getHeaderKeyIndex`: a match less than two bytes past where the search
        // resumed cannot follow a `\r\n`, and ends the search.
        if found < 2 {
            return None;
        }
        let start = from + found;
        let after = start + key.len();
        let at_line_start = &headers[start - 2..start] == b"\r\n";
        if at_line_start && headers.get(after) == Some(&b':') {
            let value_start = after
                + 1
                + headers[after + 1..]
                    .iter()
                    .take_while(|&&b| b == b' ')
                    .count();
            let rest = &headers[value_start..];
            let value_len = find(rest, b"\r\n").unwrap_or(rest.len());
            return Some(&rest[..value_len]);
        }
        from = after;
    }
    None
}

/// A header's value when present and not empty (nats-server treats an empty value as absent).
pub fn non_empty_header<'a>(headers: &'a [u8], key: &str) -> Option<&'a [u8]> {
    header_value(headers, key).filter(|value| !value.is_empty())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    memchr::memmem::find(haystack, needle)
}

/// nats-server's `parseInt64`: ASCII digits only, else -1; an empty value is -1 too. Like
/// Go's, it wraps on overflow instead of failing.
pub fn parse_int64(digits: &[u8]) -> i64 {
    if digits.is_empty() {
        return -1;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return -1;
        }
        n = n.wrapping_mul(10).wrapping_add(i64::from(d - b'0'));
    }
    n
}

/// A sequence header as nats-server reads it: present and non-empty, parsed by
/// [`parse_int64`] and reinterpreted as unsigned (so garbage is `u64::MAX`).
fn sequence_header(headers: &[u8], key: &str) -> Option<u64> {
    non_empty_header(headers, key).map(|digits| parse_int64(digits) as u64)
}

/// `Nats-Rollup` as nats-server reads it: lower-cased, then `sub` or `all`, else invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rollup {
    /// Purge older messages on this message's subject.
    Subject,
    /// Purge every older message.
    All,
    /// Anything else (refused: `rollup value invalid: "x"`), lower-cased.
    Invalid(String),
}

/// The JetStream headers of one published message. Strings are lossy UTF-8 of the raw
/// values (they are compared to stored ids and stream names, which are UTF-8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublishHeaders {
    pub msg_id: Option<String>,
    pub expected_stream: Option<String>,
    pub expected_last_seq: Option<u64>,
    pub expected_last_subject_seq: Option<u64>,
    pub expected_last_subject_seq_subject: Option<String>,
    pub expected_last_msg_id: Option<String>,
    pub rollup: Option<Rollup>,
    /// The `Nats-TTL` header, classified as nats-server's `getMessageTTL` would.
    pub ttl: Ttl,
    /// A `Nats-Incr` header: `Some(true)` when its value is an integer (Go `big.Int`
    /// base 10: an optional sign and digits), `Some(false)` when not.
    pub incr: Option<bool>,
    /// A `Nats-Schedule` header was present and not empty.
    pub schedule: bool,
    /// `Nats-Schedule-Next: purge`.
    pub schedule_next_purge: bool,
    /// A `Nats-Batch-Id` header was present and not empty.
    pub batch_id: bool,
}

impl PublishHeaders {
    /// Reads the JetStream headers of a header block (`b""` for a message without headers).
    pub fn parse(headers: &[u8]) -> PublishHeaders {
        if headers.is_empty() {
            return PublishHeaders::default();
        }
        let text = |key| non_empty_header(headers, key).map(lossy);
        PublishHeaders {
            msg_id: text(MSG_ID),
            expected_stream: text(EXPECTED_STREAM),
            expected_last_seq: sequence_header(headers, EXPECTED_LAST_SEQ),
            expected_last_subject_seq: sequence_header(headers, EXPECTED_LAST_SUBJECT_SEQ),
            expected_last_subject_seq_subject: text(EXPECTED_LAST_SUBJECT_SEQ_SUBJECT),
            expected_last_msg_id: text(EXPECTED_LAST_MSG_ID),
            rollup: text(ROLLUP).map(|value| match value.to_lowercase().as_str() {
                "sub" => Rollup::Subject,
                "all" => Rollup::All,
                other => Rollup::Invalid(String::from(other)),
            }),
            ttl: non_empty_header(headers, MSG_TTL).map_or(Ttl::None, classify_ttl),
            incr: non_empty_header(headers, INCR).map(is_big_integer),
            schedule: non_empty_header(headers, SCHEDULE).is_some(),
            schedule_next_purge: header_value(headers, SCHEDULE_NEXT) == Some(b"purge"),
            batch_id: non_empty_header(headers, BATCH_ID).is_some(),
        }
    }
}

/// A `Nats-TTL` header as nats-server's `getMessageTTL` sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ttl {
    /// No header, or one that means no TTL (an integer 0 spelled other than `0`, e.g. `00`).
    #[default]
    None,
    /// A TTL: `never`, whole seconds (`5`), or a Go duration of at least 1 s (`1.5s`, `1h`).
    Valid,
    /// Anything else: `0`, `500ms`, `-5s`, `-1`, `abc` (10165 `invalid per-message TTL`).
    Invalid,
}

/// nats-server's `parseMessageTTL`: `never`, else a Go duration (which must be at least
/// 1 s), else an integer number of seconds.
pub fn classify_ttl(value: &[u8]) -> Ttl {
    let Ok(text) = std::str::from_utf8(value) else {
        return Ttl::Invalid;
    };
    if text.eq_ignore_ascii_case("never") {
        return Ttl::Valid;
    }
    match parse_go_duration_nanos(text) {
        Some(nanos) if nanos < 1_000_000_000 => Ttl::Invalid,
        Some(_) => Ttl::Valid,
        None => match parse_int64(value) {
            n if n < 0 => Ttl::Invalid,
            0 => Ttl::None,
            _ => Ttl::Valid,
        },
    }
}

/// Go's `time.ParseDuration`: an optional sign, then one or more decimal numbers each with a
/// unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`), e.g. `1h2m3.5s`; `0` alone needs no
/// unit. `None` where Go returns an error (including overflow of 2^63 ns).
pub fn parse_go_duration_nanos(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let limit: u128 = 1 << 63;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after_int) = rest.split_at(int_len);
        let (fraction, after_number) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(len)
            }
            None => ("", after_int),
        };
        if int_part.is_empty() && fraction.is_empty() {
            return None;
        }
        let unit_len = after_number
            .bytes()
            .take_while(|b| *b != b'.' && !b.is_ascii_digit())
            .count();
        let (unit, remaining) = after_number.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse::<u128>().ok().filter(|v| *v < limit)?
        };
        let mut value = whole.checked_mul(unit_nanos).filter(|v| *v <= limit)?;
        // Go keeps the fraction's leading digits (while they fit) and scales them by the unit.
        let mut scale: u128 = 1;
        let mut digits: u128 = 0;
        for d in fraction.bytes() {
            if digits > (limit - 1) / 10 {
                break;
            }
            digits = digits * 10 + u128::from(d - b'0');
            scale *= 10;
        }
        value += digits * unit_nanos / scale;
        total = total.checked_add(value).filter(|v| *v <= limit)?;
        rest = remaining;
    }
    if negative {
        Some((-(i128::try_from(total).ok()?)).try_into().ok()?)
    } else {
        i64::try_from(total).ok()
    }
}

/// Go's `big.Int.SetString(s, 10)`: an optional sign and at least one ASCII digit.
fn is_big_integer(value: &[u8]) -> bool {
    let digits = match value.first() {
        Some(b'+' | b'-') => &value[1..],
        _ => value,
    };
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether an API request's `Nats-Required-Api-Level` asks for more than `level` (nats-server
/// `errorOnRequiredApiLevel`: a value that is not an integer counts as too high).
pub fn requires_higher_api_level(headers: &[u8], level: u32) -> bool {
    match non_empty_header(headers, REQUIRED_API_LEVEL) {
        None => false,
        Some(value) => std::str::from_utf8(value)
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
            .is_none_or(|wanted| wanted > i64::from(level)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_follows_slice_header() {
        let block =
            b"NATS/1.0\r\nX-Nats-Msg-Id: no\r\nNats-Msg-Id:   m1  \r\nNats-Msg-Id: m2\r\n\r\n";
        assert_eq!(header_value(block, MSG_ID), Some(&b"m1  "[..]));
        assert_eq!(
            header_value(b"NATS/1.0\r\nnats-msg-id: m\r\n\r\n", MSG_ID),
            None
        );
        assert_eq!(
            header_value(b"NATS/1.0\r\nNats-Msg-Idx: m\r\n\r\n", MSG_ID),
            None
        );
        assert_eq!(
            header_value(b"NATS/1.0\r\nNats-Msg-Id:\r\n\r\n", MSG_ID),
            Some(&b""[..])
        );
        assert_eq!(
            non_empty_header(b"NATS/1.0\r\nNats-Msg-Id:\r\n\r\n", MSG_ID),
            None
        );
        // A value running to the end of a truncated block.
        assert_eq!(
            header_value(b"NATS/1.0\r\nNats-Msg-Id: m", MSG_ID),
            Some(&b"m"[..])
        );
        assert_eq!(header_value(b"Nats-Msg-Id: m\r\n", MSG_ID), None);
        assert_eq!(header_value(b"", MSG_ID), None);
        assert_eq!(header_value(b"\r\nNats-Msg-Id", MSG_ID), None);
        // The longer key is not matched by its prefix.
        let both = b"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence-Subject: a\r\n\r\n";
        assert_eq!(header_value(both, EXPECTED_LAST_SUBJECT_SEQ), None);
        assert_eq!(
            header_value(both, EXPECTED_LAST_SUBJECT_SEQ_SUBJECT),
            Some(&b"a"[..])
        );
    }

    #[test]
    fn parse_int64_is_go_parse_int64() {
        assert_eq!(parse_int64(b"5"), 5);
        assert_eq!(parse_int64(b"007"), 7);
        assert_eq!(parse_int64(b""), -1);
        assert_eq!(parse_int64(b"abc"), -1);
        assert_eq!(parse_int64(b"-1"), -1);
        assert_eq!(parse_int64(b"1 "), -1);
        assert_eq!(parse_int64(b"9223372036854775808"), i64::MIN);
    }

    #[test]
    fn publish_headers() {
        let block = b"NATS/1.0\r\nNats-Msg-Id: m1\r\nNats-Expected-Stream: S\r\n\
Nats-Expected-Last-Sequence: abc\r\nNats-Expected-Last-Subject-Sequence: 0\r\n\
Nats-Rollup: SUB\r\nNats-Expected-Last-Msg-Id: m0\r\n\r\n";
        let parsed = PublishHeaders::parse(block);
        assert_eq!(parsed.msg_id.as_deref(), Some("m1"));
        assert_eq!(parsed.expected_stream.as_deref(), Some("S"));
        assert_eq!(parsed.expected_last_seq, Some(u64::MAX));
        assert_eq!(parsed.expected_last_subject_seq, Some(0));
        assert_eq!(parsed.expected_last_msg_id.as_deref(), Some("m0"));
        assert_eq!(parsed.rollup, Some(Rollup::Subject));
        assert_eq!(
            PublishHeaders::parse(b"NATS/1.0\r\nNats-Rollup: Bogus\r\n\r\n").rollup,
            Some(Rollup::Invalid(String::from("bogus")))
        );
        assert_eq!(PublishHeaders::parse(b""), PublishHeaders::default());
    }

    #[test]
    fn ttl_classes_match_nats_server() {
        // nats-server 2.12.8 on a stream without TTLs: Valid got 10166 (TTL disabled),
        // Invalid 10165 (invalid TTL), None was stored.
        let cases = [
            ("5", Ttl::Valid),
            ("1s", Ttl::Valid),
            ("0", Ttl::Invalid),
            ("00", Ttl::None),
            ("500ms", Ttl::Invalid),
            ("never", Ttl::Valid),
            ("NEVER", Ttl::Valid),
            ("abc", Ttl::Invalid),
            ("-1", Ttl::Invalid),
            ("1h", Ttl::Valid),
            ("1.5s", Ttl::Valid),
            ("-5s", Ttl::Invalid),
        ];
        for (value, class) in cases {
            assert_eq!(classify_ttl(value.as_bytes()), class, "{value}");
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration_nanos("1h2m3.5s"), Some(3_723_500_000_000));
        assert_eq!(parse_go_duration_nanos("-1.5ms"), Some(-1_500_000));
        assert_eq!(parse_go_duration_nanos(".5s"), Some(500_000_000));
        assert_eq!(parse_go_duration_nanos("1µs"), Some(1_000));
        assert_eq!(parse_go_duration_nanos("+0"), Some(0));
        assert_eq!(
            parse_go_duration_nanos("2562047h47m16.854775807s"),
            Some(i64::MAX)
        );
        assert_eq!(
            parse_go_duration_nanos("-2562047h47m16.854775808s"),
            Some(i64::MIN)
        );
        for bad in [
            "",
            "5",
            "1x",
            "s",
            ".s",
            "1.s.",
            "9999999999999h",
            "-",
            "1h-1m",
        ] {
            assert_eq!(parse_go_duration_nanos(bad), None, "{bad}");
        }
    }

    #[test]
    fn required_api_level() {
        assert!(!requires_higher_api_level(b"", 3));
        assert!(!requires_higher_api_level(
            b"NATS/1.0\r\nNats-Required-Api-Level: 3\r\n\r\n",
            3
        ));
        assert!(requires_higher_api_level(
            b"NATS/1.0\r\nNats-Required-Api-Level: 9\r\n\r\n",
            3
        ));
        assert!(requires_higher_api_level(
            b"NATS/1.0\r\nNats-Required-Api-Level: x\r\n\r\n",
            3
        ));
    }
}
