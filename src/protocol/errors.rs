//! Every `-ERR '<text>'` a client can receive, in one table.
//!
//! Checked against nats-server 2.12.8 and 2.9.10 over raw loopback sockets (both behave the
//! same for everything below); texts are from server/client.go, parser.go, errors.go, server.go.
//!
//! Sent, then the connection closes:
//! - `Unknown Protocol Operation`: unknown verb, a verb not followed by the byte it needs (`PUB`
//!   without a space, `PUBX`), an empty line, `MSG`/`HMSG`/`RS+` from a client, and a payload not
//!   followed by `\r\n`. Sent as soon as the bad byte arrives, without waiting for `\n`.
//! - `maximum control line exceeded`: the argument (after the verb and its blanks, without the
//!   final `\r`) is longer than max_control_line; also raised before `\n` arrives once the
//!   buffered argument is too long. PING/PONG/+OK lines are never counted.
//! - `Maximum Payload Violation`: PUB/HPUB size over max_payload, at the control line.
//! - `Stale Connection`, `Authorization Violation`, `Authentication Timeout`,
//!   `maximum connections exceeded`, `Secure Connection - TLS Required`,
//!   `invalid client protocol` (CONNECT `protocol` < 0 or > 1),
//!   `no responders requires headers support`.
//!
//! Sent, connection stays open: `Invalid Subject`, `Invalid Publish Subject` (pedantic; the
//! message is still delivered), `maximum subscriptions exceeded`, and the three permission
//! violations; subjects in them are quoted like Go's `%q` (`"ba\"z"`, `"\xff\x01"`, `"é\x7f"`).
//!
//! Closed with NO `-ERR` at all (nats-server logs a "protocol violation"): malformed PUB, HPUB,
//! SUB or UNSUB arguments (wrong count, bad size, header size > total size), HPUB from a client
//! that did not send `headers: true`, CONNECT whose JSON does not decode, INFO from a client
//! whose JSON does not decode, and `-ERR` sent by a client. That is why
//! [`ParseError::err_text`](super::ParseError::err_text) returns an `Option`.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The text of one `-ERR` line, byte-identical to nats-server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrText {
    UnknownProtocolOperation,
    MaxControlLineExceeded,
    MaxPayloadViolation,
    StaleConnection,
    AuthorizationViolation,
    AuthenticationTimeout,
    MaxConnectionsExceeded,
    SecureConnectionTlsRequired,
    InvalidClientProtocol,
    NoRespondersRequiresHeaders,
    InvalidSubject,
    InvalidPublishSubject,
    MaxSubscriptionsExceeded,
    /// The subject the client may not publish to.
    PermissionsPublish(String),
    /// A subscription the client may not make; `queue` adds nats-server's ` using queue "<q>"`.
    PermissionsSubscribe {
        subject: String,
        queue: Option<String>,
    },
    /// The reply subject the client may not use.
    PermissionsPublishReply(String),
}

impl ErrText {
    /// The text between the quotes of `-ERR '<text>'`.
    pub fn text(&self) -> Cow<'static, str> {
        let fixed = match self {
            ErrText::UnknownProtocolOperation => "Unknown Protocol Operation",
            ErrText::MaxControlLineExceeded => "maximum control line exceeded",
            ErrText::MaxPayloadViolation => "Maximum Payload Violation",
            ErrText::StaleConnection => "Stale Connection",
            ErrText::AuthorizationViolation => "Authorization Violation",
            ErrText::AuthenticationTimeout => "Authentication Timeout",
            ErrText::MaxConnectionsExceeded => "maximum connections exceeded",
            ErrText::SecureConnectionTlsRequired => "Secure Connection - TLS Required",
            ErrText::InvalidClientProtocol => "invalid client protocol",
            ErrText::NoRespondersRequiresHeaders => "no responders requires headers support",
            ErrText::InvalidSubject => "Invalid Subject",
            ErrText::InvalidPublishSubject => "Invalid Publish Subject",
            ErrText::MaxSubscriptionsExceeded => "maximum subscriptions exceeded",
            ErrText::PermissionsPublish(subject) => {
                let mut text = String::from("Permissions Violation for Publish to ");
                go_quote(&mut text, subject);
                return Cow::Owned(text);
            }
            ErrText::PermissionsSubscribe { subject, queue } => {
                let mut text = String::from("Permissions Violation for Subscription to ");
                go_quote(&mut text, subject);
                if let Some(queue) = queue {
                    text.push_str(" using queue ");
                    go_quote(&mut text, queue);
                }
                return Cow::Owned(text);
            }
            ErrText::PermissionsPublishReply(reply) => {
                let mut text = String::from("Permissions Violation for Publish with Reply of ");
                go_quote(&mut text, reply);
                return Cow::Owned(text);
            }
        };
        Cow::Borrowed(fixed)
    }

    /// Whether nats-server closes the connection right after sending this.
    pub fn closes_connection(&self) -> bool {
        match self {
            ErrText::UnknownProtocolOperation
            | ErrText::MaxControlLineExceeded
            | ErrText::MaxPayloadViolation
            | ErrText::StaleConnection
            | ErrText::AuthorizationViolation
            | ErrText::AuthenticationTimeout
            | ErrText::MaxConnectionsExceeded
            | ErrText::SecureConnectionTlsRequired
            | ErrText::InvalidClientProtocol
            | ErrText::NoRespondersRequiresHeaders => true,
            ErrText::InvalidSubject
            | ErrText::InvalidPublishSubject
            | ErrText::MaxSubscriptionsExceeded
            | ErrText::PermissionsPublish(_)
            | ErrText::PermissionsSubscribe { .. }
            | ErrText::PermissionsPublishReply(_) => false,
        }
    }
}

/// Appends `s` quoted the way Go's `%q` (strconv.Quote) does, since nats-server formats
/// subjects in permission errors with it.
///
/// Go escapes every rune `unicode.IsPrint` rejects; we approximate that table with control
/// characters, non-ASCII white space and the common format characters. Subjects that are not
/// UTF-8 reach us already made lossy, so Go's `\xff` for a raw byte shows as U+FFFD here.
pub(crate) fn go_quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c < ' ' || c == '\u{7f}' => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_go_printable(c) => out.push(c),
            c if u32::from(c) < 0x1_0000 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
}

fn is_go_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let format_char = matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    );
    !c.is_control() && !c.is_whitespace() && !format_char
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_texts_match_nats_server() {
        let table = [
            (
                ErrText::UnknownProtocolOperation,
                "Unknown Protocol Operation",
                true,
            ),
            (
                ErrText::MaxControlLineExceeded,
                "maximum control line exceeded",
                true,
            ),
            (
                ErrText::MaxPayloadViolation,
                "Maximum Payload Violation",
                true,
            ),
            (ErrText::StaleConnection, "Stale Connection", true),
            (
                ErrText::AuthorizationViolation,
                "Authorization Violation",
                true,
            ),
            (
                ErrText::AuthenticationTimeout,
                "Authentication Timeout",
                true,
            ),
            (
                ErrText::MaxConnectionsExceeded,
                "maximum connections exceeded",
                true,
            ),
            (
                ErrText::SecureConnectionTlsRequired,
                "Secure Connection - TLS Required",
                true,
            ),
            (
                ErrText::InvalidClientProtocol,
                "invalid client protocol",
                true,
            ),
            (
                ErrText::NoRespondersRequiresHeaders,
                "no responders requires headers support",
                true,
            ),
            (ErrText::InvalidSubject, "Invalid Subject", false),
            (
                ErrText::InvalidPublishSubject,
                "Invalid Publish Subject",
                false,
            ),
            (
                ErrText::MaxSubscriptionsExceeded,
                "maximum subscriptions exceeded",
                false,
            ),
        ];
        for (err, text, closes) in table {
            assert_eq!(err.text(), text);
            assert_eq!(err.closes_connection(), closes, "{text}");
        }
    }

    #[test]
    fn permission_texts_quote_like_go() {
        // Each expected string was sent by nats-server 2.12.8 for the same subject.
        let cases = [
            (
                ErrText::PermissionsPublish("baz".into()),
                r#"Permissions Violation for Publish to "baz""#,
            ),
            (
                ErrText::PermissionsPublish("ba\"z\\".into()),
                r#"Permissions Violation for Publish to "ba\"z\\""#,
            ),
            (
                ErrText::PermissionsPublish("é\u{7f}".into()),
                r#"Permissions Violation for Publish to "é\x7f""#,
            ),
            (
                ErrText::PermissionsSubscribe {
                    subject: "baz".into(),
                    queue: None,
                },
                r#"Permissions Violation for Subscription to "baz""#,
            ),
            (
                ErrText::PermissionsSubscribe {
                    subject: "bar".into(),
                    queue: Some("q2".into()),
                },
                r#"Permissions Violation for Subscription to "bar" using queue "q2""#,
            ),
            (
                ErrText::PermissionsPublishReply("_INBOX.x".into()),
                r#"Permissions Violation for Publish with Reply of "_INBOX.x""#,
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.text(), text);
            assert!(!err.closes_connection());
        }
    }

    #[test]
    fn go_quote_escapes_unprintable_runes() {
        let mut out = String::new();
        go_quote(&mut out, "a\u{1}\t\u{a0}\u{200b}\u{1f600}\u{e0001}");
        assert_eq!(out, r#""a\x01\t\u00a0\u200b😀\U000e0001""#);
    }
}
