//! JSON written the way nats-server's Go encoder writes it.
//!
//! Clients parse the JSON, so most differences would be harmless, but the API is checked byte
//! for byte against nats-server 2.12.8, so everything here follows `encoding/json`:
//! - `<`, `>`, `&`, U+2028 and U+2029 inside strings are written as `\u003c`, `\u003e`,
//!   `\u0026`, `\u2028`, `\u2029` (Go's HTML-safe default), so `foo.>` is `"foo.\u003e"`;
//! - times are RFC 3339 with nanoseconds, trailing zeros trimmed, in UTC
//!   (`2026-11-22T05:49:15.318031859Z`), and Go's zero time `0001-01-01T00:00:00Z` stands for
//!   "none" (an empty stream's `first_ts`);
//! - `[]byte` fields are standard base64 with padding.
//!
//! Field order and `omitempty` are the serde derives' business (declaration order,
//! `skip_serializing_if`); serde_json already escapes control characters as Go 1.22+ does.

use std::fmt::Write as _;

use serde::{Serialize, Serializer};

use crate::time::Wall;

/// Go's zero `time.Time` as `encoding/json` writes it.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `value` as nats-server would marshal it.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing our own types into a String cannot fail: no map has non-string keys and no
    // custom serializer returns an error. Fall back to an empty object rather than panic.
    let plain = serde_json::to_string(value).unwrap_or_else(|_| String::from("{}"));
    html_escape(plain)
}

/// Applies Go's HTML-safe escaping to already-rendered JSON. `<`, `>`, `&`, U+2028 and U+2029
/// can only occur inside JSON strings (never in structure or numbers), so replacing them
/// everywhere in the text is exact.
pub(crate) fn html_escape(json: String) -> String {
    if !json
        .chars()
        .any(|c| matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}'))
    {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// `wall` as Go's `time.Time.UTC().Format(time.RFC3339Nano)`, e.g.
/// `2026-11-22T05:50:44.1118013Z` (fraction trimmed of trailing zeros, absent when zero).
pub fn format_rfc3339_nano(wall: Wall) -> String {
    const NANOS_PER_SECOND: i64 = 1_000_000_000;
    const SECONDS_PER_DAY: i64 = 86_400;
    let nanos = wall.as_unix_nanos();
    let seconds = nanos.div_euclid(NANOS_PER_SECOND);
    let fraction = nanos.rem_euclid(NANOS_PER_SECOND);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = crate::time::civil_from_days(days);
    let mut out = String::with_capacity(30);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if fraction != 0 {
        let digits = format!("{fraction:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Serializes a [`Wall`] as an RFC 3339 string (`#[serde(serialize_with = ...)]`).
pub(crate) fn serialize_wall<S: Serializer>(wall: &Wall, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_rfc3339_nano(*wall))
}

/// Serializes an optional [`Wall`], `None` as Go's zero time.
pub(crate) fn serialize_wall_or_zero<S: Serializer>(
    wall: &Option<Wall>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match wall {
        Some(wall) => serialize_wall(wall, serializer),
        None => serializer.serialize_str(GO_ZERO_TIME),
    }
}

/// Serializes bytes as Go marshals a `[]byte`: standard base64 with padding.
pub(crate) fn serialize_base64<S: Serializer>(
    bytes: &bytes::Bytes,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&base64_standard(bytes))
}

/// Standard base64 (RFC 4648 §4) with `=` padding.
pub fn base64_standard(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b0 = chunk[0];
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let sextets = [
            b0 >> 2,
            ((b0 & 0x03) << 4) | (b1 >> 4),
            ((b1 & 0x0f) << 2) | (b2 >> 6),
            b2 & 0x3f,
        ];
        // chunks(3) yields 1 to 3 bytes, which encode to 2 to 4 characters.
        let used = chunk.len() + 1;
        for (i, sextet) in sextets.iter().enumerate() {
            if i < used {
                out.push(char::from(ALPHABET[usize::from(*sextet)]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Appends `s` quoted as Go's `%q` (strconv.Quote) does. nats-server builds the success PubAck
/// with `%q` rather than the JSON encoder, and formats some error texts with it.
///
/// Go escapes every rune `unicode.IsPrint` rejects; this approximates that table with control
/// characters, non-ASCII white space and the common format characters (the same rule as the
/// `-ERR` table in `protocol/errors.rs`).
pub fn go_quote(out: &mut String, s: &str) {
    crate::protocol::errors::go_quote(out, s);
}

/// `s` quoted as Go's `%q`.
pub fn go_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    go_quote(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_characters_are_escaped_as_go_does() {
        assert_eq!(
            to_json(&serde_json::json!({"s": "a.>&<\u{2028}"})),
            r#"{"s":"a.\u003e\u0026\u003c\u2028"}"#
        );
        assert_eq!(to_json(&"plain"), r#""plain""#);
        // Control characters as Go 1.22+ (nats-server 2.12 is built with a newer Go).
        assert_eq!(to_json(&"\n\t\u{1}"), r#""\n\t\u0001""#);
    }

    #[test]
    fn rfc3339_nano_matches_go() {
        // Timestamps seen in nats-server 2.12.8 replies, as Unix nanoseconds.
        let cases = [
            (1_795_326_555_318_031_859, "2026-11-22T05:49:15.318031859Z"),
            (1_795_326_644_111_801_300, "2026-11-22T05:50:44.1118013Z"),
            (1_795_326_644_000_000_000, "2026-11-22T05:50:44Z"),
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59.999999999Z"),
            (951_782_400_000_000_000, "2000-02-29T00:00:00Z"),
            (i64::MIN, "1677-09-21T00:12:43.145224192Z"),
            (i64::MAX, "2262-04-11T23:47:16.854775807Z"),
        ];
        for (nanos, text) in cases {
            assert_eq!(
                format_rfc3339_nano(Wall::from_unix_nanos(nanos)),
                text,
                "{nanos}"
            );
        }
    }

    #[test]
    fn base64_matches_go() {
        // nats-server 2.12.8 STREAM.MSG.GET of a message with payload "one": "data":"b25l".
        assert_eq!(base64_standard(b"one"), "b25l");
        assert_eq!(base64_standard(b""), "");
        assert_eq!(base64_standard(b"o"), "bw==");
        assert_eq!(base64_standard(b"on"), "b24=");
        assert_eq!(
            base64_standard(b"NATS/1.0\r\nNats-Msg-Id: m1\r\n\r\n"),
            "TkFUUy8xLjANCk5hdHMtTXNnLUlkOiBtMQ0KDQo="
        );
        assert_eq!(base64_standard(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn go_quote_matches_strconv_quote() {
        assert_eq!(go_quoted("S"), r#""S""#);
        assert_eq!(go_quoted("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quoted("a\u{1}\u{7f}"), r#""a\x01\x7f""#);
        assert_eq!(go_quoted("é<&"), "\"é<&\"");
        assert_eq!(go_quoted("\u{2028}"), r#""\u2028""#);
    }
}
