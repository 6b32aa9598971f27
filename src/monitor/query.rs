//! Query strings, read the way nats-server's handlers read them (Go's `url.ParseQuery`, then
//! `strconv`), so that a bad value gets nats-server's exact `400 Bad Request` text.
//!
//! Go's rules kept here: pairs split on `&`; a pair with `;` in its key or a bad `%` escape is
//! dropped; `+` is a space; a repeated key answers with its first value; a missing or empty
//! value means the option's default.

use std::fmt;

/// A request nats-server would refuse with `400 Bad Request` and this text as the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl fmt::Display for BadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadRequest {}

/// The decoded pairs of one query string, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses the part of a URL after `?` (without the `?`).
    pub fn parse(raw: &str) -> Query {
        let pairs = raw
            .split('&')
            .filter(|pair| !pair.is_empty())
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                if key.contains(';') {
                    return None; // Go refuses `;` as a separator and drops the pair
                }
                Some((unescape(key)?, unescape(value)?))
            })
            .collect();
        Query { pairs }
    }

    /// The first value given for `key`, or `""` (Go's `Values.Get`).
    pub fn get(&self, key: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// nats-server `decodeBool`: empty is false; otherwise Go's `strconv.ParseBool`.
    pub fn bool(&self, key: &str) -> Result<bool, BadRequest> {
        let text = self.get(key);
        match text {
            "" => Ok(false),
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            _ => Err(BadRequest(format!(
                "Error decoding boolean for '{key}': strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(text)
            ))),
        }
    }

    /// nats-server `decodeInt`: empty is 0; otherwise Go's `strconv.Atoi` (64-bit).
    pub fn int(&self, key: &str) -> Result<i64, BadRequest> {
        let text = self.get(key);
        if text.is_empty() {
            return Ok(0);
        }
        let (negative, digits) = match text.as_bytes()[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let fail = |why: &str| {
            BadRequest(format!(
                "Error decoding int for '{key}': strconv.Atoi: parsing {}: {why}",
                go_quote(text)
            ))
        };
        let magnitude = parse_digits(digits).map_err(|e| fail(e.text()))?;
        let value = if negative {
            0i128 - i128::from(magnitude)
        } else {
            i128::from(magnitude)
        };
        i64::try_from(value).map_err(|_| fail(DigitsError::Range.text()))
    }

    /// nats-server `decodeUint64`: empty is 0; otherwise Go's `strconv.ParseUint(s, 10, 64)`
    /// (no sign allowed).
    pub fn uint(&self, key: &str) -> Result<u64, BadRequest> {
        let text = self.get(key);
        if text.is_empty() {
            return Ok(0);
        }
        parse_digits(text).map_err(|e| {
            BadRequest(format!(
                "Error decoding uint64 for '{key}': strconv.ParseUint: parsing {}: {}",
                go_quote(text),
                e.text()
            ))
        })
    }
}

#[derive(Clone, Copy, Debug)]
enum DigitsError {
    Syntax,
    Range,
}

impl DigitsError {
    fn text(self) -> &'static str {
        match self {
            DigitsError::Syntax => "invalid syntax",
            DigitsError::Range => "value out of range",
        }
    }
}

/// Decimal digits only; Go reports a bad character before an overflow.
fn parse_digits(digits: &str) -> Result<u64, DigitsError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DigitsError::Syntax);
    }
    digits.parse::<u64>().map_err(|_| DigitsError::Range)
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; `None` for a bad escape.
fn unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(at + 1..at + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                at += 2;
            }
            byte => out.push(byte),
        }
        at += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `%q` for the values quoted in `strconv` errors: printable text as is, escapes for the
/// rest.
pub(crate) fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_decode_like_go() {
        let query = Query::parse("a=1&b=x+y&c=%41%2f&a=2&bad=%zz&k;x=1&flag&=v");
        assert_eq!(query.get("a"), "1");
        assert_eq!(query.get("b"), "x y");
        assert_eq!(query.get("c"), "A/");
        assert_eq!(query.get("bad"), "");
        assert_eq!(query.get("k;x"), "");
        assert_eq!(query.get("flag"), "");
        assert_eq!(query.get("missing"), "");
    }

    #[test]
    fn booleans_follow_strconv() {
        let query = Query::parse("a=true&b=0&c=T&d=yes");
        assert_eq!(query.bool("a"), Ok(true));
        assert_eq!(query.bool("b"), Ok(false));
        assert_eq!(query.bool("c"), Ok(true));
        assert_eq!(query.bool("none"), Ok(false));
        // nats-server 2.12.8, /connz?subs=x, with the parameter's name.
        assert_eq!(
            query.bool("d").unwrap_err().to_string(),
            "Error decoding boolean for 'd': strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
    }

    #[test]
    fn integers_follow_strconv() {
        let query = Query::parse("a=-3&b=%2B7&c=x&d=99999999999999999999&e=-1");
        assert_eq!(query.int("a"), Ok(-3));
        assert_eq!(query.int("b"), Ok(7));
        assert_eq!(query.int("none"), Ok(0));
        assert_eq!(
            query.int("c").unwrap_err().0,
            "Error decoding int for 'c': strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            query.int("d").unwrap_err().0,
            "Error decoding int for 'd': strconv.Atoi: parsing \"99999999999999999999\": value out of range"
        );
        assert!(query.uint("b").unwrap_err().0.contains("invalid syntax"));
        assert_eq!(
            query.uint("e").unwrap_err().0,
            "Error decoding uint64 for 'e': strconv.ParseUint: parsing \"-1\": invalid syntax"
        );
    }

    #[test]
    fn quoting_escapes_control_characters() {
        assert_eq!(go_quote("a\"b\\\n\u{1}"), "\"a\\\"b\\\\\\n\\x01\"");
    }
}
