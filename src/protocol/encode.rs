//! Encoders for what the server writes, appending to a [`BytesMut`].
//!
//! Shapes are nats-server's (server/client.go msgHeader, sendErr, generateInfoJSON): one
//! space between fields, the sid left out when empty, the reply written whenever present.
//! Numbers are formatted by hand: this runs once per delivered message.

use bytes::{BufMut, BytesMut};

use super::errors::ErrText;
use super::info::ServerInfo;
use super::parser::ClientOp;

pub const PING: &[u8] = b"PING\r\n";
pub const PONG: &[u8] = b"PONG\r\n";
pub const OK: &[u8] = b"+OK\r\n";

/// Appends the decimal digits of `n`.
pub fn put_usize(out: &mut BytesMut, n: usize) {
    // usize is at most 64 bits on every target Rust supports.
    put_u64(out, n as u64);
}

/// Appends the decimal digits of `n`.
pub fn put_u64(out: &mut BytesMut, n: u64) {
    let mut digits = [0u8; 20];
    out.put_slice(decimal(&mut digits, n));
}

/// MSG and HMSG control lines up to this long are built on the stack and appended in one
/// copy; longer ones (subjects near the control-line limit) are appended piece by piece.
const MSG_LINE_STACK_BYTES: usize = 128;

/// Builds a control line in a fixed buffer; every `put` fails once the line would not fit.
struct LineBuilder {
    line: [u8; MSG_LINE_STACK_BYTES],
    len: usize,
}

impl LineBuilder {
    fn new() -> LineBuilder {
        LineBuilder {
            line: [0; MSG_LINE_STACK_BYTES],
            len: 0,
        }
    }

    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len + bytes.len();
        self.line.get_mut(self.len..end)?.copy_from_slice(bytes);
        self.len = end;
        Some(())
    }

    #[inline(always)]
    fn put_usize(&mut self, n: usize) -> Option<()> {
        let mut digits = [0u8; 20];
        self.put(decimal(&mut digits, n as u64))
    }

    /// `<verb><subject> <sid> [reply] `, the part MSG and HMSG share.
    #[inline(always)]
    fn put_msg_fields(
        &mut self,
        verb: &[u8],
        subject: &[u8],
        sid: &[u8],
        reply: Option<&[u8]>,
    ) -> Option<()> {
        self.put(verb)?;
        self.put(subject)?;
        self.put(b" ")?;
        if !sid.is_empty() {
            self.put(sid)?;
            self.put(b" ")?;
        }
        if let Some(reply) = reply {
            self.put(reply)?;
            self.put(b" ")?;
        }
        Some(())
    }

    fn as_slice(&self) -> &[u8] {
        &self.line[..self.len]
    }
}

/// The decimal digits of `n`, written at the end of `digits`.
#[inline(always)]
fn decimal(digits: &mut [u8; 20], mut n: u64) -> &[u8] {
    // 20 digits hold u64::MAX.
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[start..]
}

/// `<subject> <sid> [reply] ` shared by MSG and HMSG, piece by piece (long lines).
fn put_msg_fields(out: &mut BytesMut, subject: &[u8], sid: &[u8], reply: Option<&[u8]>) {
    out.put_slice(subject);
    out.put_u8(b' ');
    if !sid.is_empty() {
        out.put_slice(sid);
        out.put_u8(b' ');
    }
    if let Some(reply) = reply {
        out.put_slice(reply);
        out.put_u8(b' ');
    }
}

/// `MSG <subject> <sid> [reply] <len>\r\n`; the caller appends the payload and `\r\n`.
///
/// nats-server echoes the publisher's size digits verbatim (`PUB foo 002` is delivered as
/// `MSG foo 1 002`); we always write the canonical number.
pub fn msg_header(
    out: &mut BytesMut,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    payload_len: usize,
) {
    // Runs once per delivered message: one append of a line built on the stack.
    let mut line = LineBuilder::new();
    let built = line
        .put_msg_fields(b"MSG ", subject, sid, reply)
        .and_then(|()| line.put_usize(payload_len))
        .and_then(|()| line.put(b"\r\n"));
    if built.is_some() {
        out.extend_from_slice(line.as_slice());
        return;
    }
    out.reserve(subject.len() + sid.len() + reply.map_or(0, <[u8]>::len) + 32);
    out.put_slice(b"MSG ");
    put_msg_fields(out, subject, sid, reply);
    put_usize(out, payload_len);
    out.put_slice(b"\r\n");
}

/// `HMSG <subject> <sid> [reply] <header_len> <total_len>\r\n`; the caller appends the
/// header block, the payload and `\r\n`.
pub fn hmsg_header(
    out: &mut BytesMut,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    header_len: usize,
    total_len: usize,
) {
    let mut line = LineBuilder::new();
    let built = line
        .put_msg_fields(b"HMSG ", subject, sid, reply)
        .and_then(|()| line.put_usize(header_len))
        .and_then(|()| line.put(b" "))
        .and_then(|()| line.put_usize(total_len))
        .and_then(|()| line.put(b"\r\n"));
    if built.is_some() {
        out.extend_from_slice(line.as_slice());
        return;
    }
    out.reserve(subject.len() + sid.len() + reply.map_or(0, <[u8]>::len) + 48);
    out.put_slice(b"HMSG ");
    put_msg_fields(out, subject, sid, reply);
    put_usize(out, header_len);
    out.put_u8(b' ');
    put_usize(out, total_len);
    out.put_slice(b"\r\n");
}

/// `-ERR '<text>'\r\n`.
pub fn err(out: &mut BytesMut, err: &ErrText) {
    out.put_slice(b"-ERR '");
    out.put_slice(err.text().as_bytes());
    out.put_slice(b"'\r\n");
}

/// `INFO <json> \r\n` — with the space before `\r\n` that nats-server writes (it joins
/// "INFO", the JSON and CRLF with spaces).
pub fn info(out: &mut BytesMut, info: &ServerInfo) {
    out.put_slice(b"INFO ");
    info.write_json(out);
    out.put_slice(b" \r\n");
}

/// Encodes an op the way a client would send it. For tests, fuzzing and simulated clients;
/// `parse(client_op(op)) == op` for every op the parser can produce.
pub fn client_op(out: &mut BytesMut, op: &ClientOp) {
    match op {
        ClientOp::Connect(json) => put_line(out, b"CONNECT ", &[json]),
        ClientOp::Info(json) => put_line(out, b"INFO ", &[json]),
        ClientOp::Err(text) => put_line(out, b"-ERR ", &[text]),
        ClientOp::Ping => out.put_slice(PING),
        ClientOp::Pong => out.put_slice(PONG),
        ClientOp::Ok => out.put_slice(OK),
        ClientOp::Pub {
            subject,
            reply,
            payload,
        } => {
            out.put_slice(b"PUB ");
            out.put_slice(subject);
            out.put_u8(b' ');
            if let Some(reply) = reply {
                out.put_slice(reply);
                out.put_u8(b' ');
            }
            put_usize(out, payload.len());
            out.put_slice(b"\r\n");
            out.put_slice(payload);
            out.put_slice(b"\r\n");
        }
        ClientOp::Hpub {
            subject,
            reply,
            headers,
            payload,
        } => {
            out.put_slice(b"HPUB ");
            out.put_slice(subject);
            out.put_u8(b' ');
            if let Some(reply) = reply {
                out.put_slice(reply);
                out.put_u8(b' ');
            }
            put_usize(out, headers.len());
            out.put_u8(b' ');
            put_usize(out, headers.len() + payload.len());
            out.put_slice(b"\r\n");
            out.put_slice(headers);
            out.put_slice(payload);
            out.put_slice(b"\r\n");
        }
        ClientOp::Sub {
            subject,
            queue,
            sid,
        } => match queue {
            Some(queue) => put_line(out, b"SUB ", &[subject, b" ", queue, b" ", sid]),
            None => put_line(out, b"SUB ", &[subject, b" ", sid]),
        },
        ClientOp::Unsub { sid, max } => {
            out.put_slice(b"UNSUB ");
            out.put_slice(sid);
            if let Some(max) = max {
                out.put_u8(b' ');
                put_u64(out, *max);
            }
            out.put_slice(b"\r\n");
        }
    }
}

fn put_line(out: &mut BytesMut, verb: &[u8], parts: &[&[u8]]) {
    out.put_slice(verb);
    for part in parts {
        out.put_slice(part);
    }
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
        let mut out = BytesMut::new();
        f(&mut out);
        out.to_vec()
    }

    #[test]
    fn put_usize_writes_decimal() {
        for n in [0, 1, 9, 10, 99, 100, 1_048_576, 999_999_999, usize::MAX] {
            assert_eq!(bytes_of(|o| put_usize(o, n)), n.to_string().into_bytes());
        }
        assert_eq!(
            bytes_of(|o| put_u64(o, u64::MAX)),
            u64::MAX.to_string().into_bytes()
        );
    }

    #[test]
    fn msg_header_matches_nats_server() {
        // As nats-server 2.12.8 wrote them for `PUB foo 2` and `PUB foo bar 2`.
        assert_eq!(
            bytes_of(|o| msg_header(o, b"foo", b"1", None, 2)),
            b"MSG foo 1 2\r\n"
        );
        assert_eq!(
            bytes_of(|o| msg_header(o, b"foo", b"1", Some(b"bar"), 2)),
            b"MSG foo 1 bar 2\r\n"
        );
        assert_eq!(
            bytes_of(|o| msg_header(o, b"a.b", b"sid7", None, 0)),
            b"MSG a.b sid7 0\r\n"
        );
        // Go writes the reply whenever it is non-nil, even empty.
        assert_eq!(
            bytes_of(|o| msg_header(o, b"f", b"1", Some(b""), 3)),
            b"MSG f 1  3\r\n"
        );
    }

    #[test]
    fn long_lines_match_short_ones() {
        // Past the stack buffer the line is appended piece by piece: same bytes.
        for len in (100..=130).chain([300, 4096]) {
            let subject = vec![b's'; len];
            let msg = bytes_of(|o| msg_header(o, &subject, b"12", Some(b"r"), 1234));
            let mut expected = b"MSG ".to_vec();
            expected.extend_from_slice(&subject);
            expected.extend_from_slice(b" 12 r 1234\r\n");
            assert_eq!(msg, expected, "MSG with a {len}-byte subject");
            let hmsg = bytes_of(|o| hmsg_header(o, &subject, b"", None, 12, 99));
            let mut expected = b"HMSG ".to_vec();
            expected.extend_from_slice(&subject);
            expected.extend_from_slice(b" 12 99\r\n");
            assert_eq!(hmsg, expected, "HMSG with a {len}-byte subject");
        }
    }

    #[test]
    fn hmsg_header_matches_nats_server() {
        assert_eq!(
            bytes_of(|o| hmsg_header(o, b"foo", b"1", None, 12, 14)),
            b"HMSG foo 1 12 14\r\n"
        );
        assert_eq!(
            bytes_of(|o| hmsg_header(o, b"foo", b"1", Some(b"r"), 18, 20)),
            b"HMSG foo 1 r 18 20\r\n"
        );
    }

    #[test]
    fn err_and_constants() {
        assert_eq!(
            bytes_of(|o| err(o, &ErrText::MaxPayloadViolation)),
            b"-ERR 'Maximum Payload Violation'\r\n"
        );
        assert_eq!(
            bytes_of(|o| err(o, &ErrText::PermissionsPublish("baz".into()))),
            b"-ERR 'Permissions Violation for Publish to \"baz\"'\r\n"
        );
        assert_eq!(
            (PING, PONG, OK),
            (&b"PING\r\n"[..], &b"PONG\r\n"[..], &b"+OK\r\n"[..])
        );
    }

    #[test]
    fn info_has_space_before_crlf() {
        let info = ServerInfo {
            server_id: "S".into(),
            ..ServerInfo::default()
        };
        let line = bytes_of(|o| super::info(o, &info));
        assert!(line.starts_with(b"INFO {\"server_id\":\"S\","));
        assert!(line.ends_with(b"} \r\n"));
    }
}
