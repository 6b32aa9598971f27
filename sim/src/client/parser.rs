//! A small incremental parser for what a NATS server sends a client: INFO, MSG, HMSG, PING,
//! PONG, +OK, -ERR (the core's `Parser` parses the other direction).
//!
//! Strict on purpose: the simulated server is Switchboard, so anything malformed is a finding,
//! reported as an error that closes the simulated connection and fails the run.

use bytes::{Bytes, BytesMut};

/// One operation from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerOp {
    Info(String),
    Msg {
        subject: String,
        sid: u32,
        reply: Option<String>,
        /// The header block of an HMSG (`NATS/1.0 ...\r\n...\r\n\r\n`).
        headers: Option<Bytes>,
        payload: Bytes,
    },
    Ping,
    Pong,
    Ok,
    Err(String),
}

/// Control lines longer than this are malformed (the server's own limit is 4 KiB inbound).
const CONTROL_LINE_BYTES_MAX: usize = 4096;

#[derive(Debug, Default)]
pub struct ServerParser {
    buf: BytesMut,
}

impl ServerParser {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete op, `Ok(None)` if more bytes are needed.
    pub fn next_op(&mut self) -> Result<Option<ServerOp>, String> {
        let Some(end) = find_crlf(&self.buf) else {
            if self.buf.len() > CONTROL_LINE_BYTES_MAX {
                return Err(format!("control line over {CONTROL_LINE_BYTES_MAX} bytes"));
            }
            return Ok(None);
        };
        let line = std::str::from_utf8(&self.buf[..end])
            .map_err(|_| "control line is not UTF-8".to_string())?
            .to_string();
        let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let op = match verb {
            "PING" => ServerOp::Ping,
            "PONG" => ServerOp::Pong,
            "+OK" => ServerOp::Ok,
            "-ERR" => ServerOp::Err(rest.to_string()),
            "INFO" => ServerOp::Info(rest.to_string()),
            "MSG" | "HMSG" => return self.message(end, verb == "HMSG", rest),
            _ => return Err(format!("unknown op {line:?}")),
        };
        let _ = self.buf.split_to(end + 2);
        Ok(Some(op))
    }

    /// MSG `<subject> <sid> [reply] <size>` or HMSG `<subject> <sid> [reply] <hdr> <total>`.
    fn message(
        &mut self,
        end: usize,
        headers: bool,
        args: &str,
    ) -> Result<Option<ServerOp>, String> {
        let fields: Vec<&str> = args.split(' ').collect();
        let sizes = if headers { 2 } else { 1 };
        if fields.len() != 2 + sizes && fields.len() != 3 + sizes {
            return Err(format!("bad message line {args:?}"));
        }
        let number = |s: &str| {
            s.parse::<usize>()
                .map_err(|_| format!("bad number {s:?} in {args:?}"))
        };
        let subject = fields[0].to_string();
        let sid = fields[1]
            .parse::<u32>()
            .map_err(|_| format!("bad sid in {args:?}"))?;
        let reply = (fields.len() == 3 + sizes).then(|| fields[2].to_string());
        let total = number(fields[fields.len() - 1])?;
        let header_len = if headers {
            number(fields[fields.len() - 2])?
        } else {
            0
        };
        if header_len > total {
            return Err(format!("header size over total in {args:?}"));
        }
        let body_start = end + 2;
        if self.buf.len() < body_start + total + 2 {
            return Ok(None);
        }
        if &self.buf[body_start + total..body_start + total + 2] != b"\r\n" {
            return Err(format!("message body not followed by CRLF: {args:?}"));
        }
        let mut frame = self.buf.split_to(body_start + total + 2).freeze();
        let mut body = frame.split_off(body_start);
        body.truncate(total);
        let payload = body.split_off(header_len);
        Ok(Some(ServerOp::Msg {
            subject,
            sid,
            reply,
            headers: headers.then_some(body),
            payload,
        }))
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_op_split_at_every_byte() {
        let input: &[u8] = b"INFO {\"a\":1}\r\nPING\r\nMSG s.a 7 5\r\nhello\r\nMSG s.b 8 _INBOX.x 0\r\n\r\n\
            HMSG _INBOX.x 3 35 35\r\nNATS/1.0 503\r\nNats-Subject: foo\r\n\r\n\r\n+OK\r\n-ERR 'Stale Connection'\r\nPONG\r\n";
        let expected = 8;
        for split in 0..input.len() {
            let mut parser = ServerParser::default();
            let mut ops = Vec::new();
            for part in [&input[..split], &input[split..]] {
                parser.push(part);
                while let Some(op) = parser.next_op().unwrap() {
                    ops.push(op);
                }
            }
            assert_eq!(ops.len(), expected, "split at {split}");
            assert_eq!(
                ops[2],
                ServerOp::Msg {
                    subject: "s.a".into(),
                    sid: 7,
                    reply: None,
                    headers: None,
                    payload: Bytes::from_static(b"hello"),
                }
            );
            let ServerOp::Msg {
                headers: Some(h),
                payload,
                reply,
                ..
            } = &ops[4]
            else {
                panic!("not an HMSG: {:?}", ops[4]);
            };
            assert!(h.starts_with(b"NATS/1.0 503"));
            assert!(payload.is_empty());
            assert_eq!(reply, &None);
            assert_eq!(ops[6], ServerOp::Err("'Stale Connection'".into()));
        }
    }

    #[test]
    fn malformed_input_is_an_error() {
        let mut parser = ServerParser::default();
        parser.push(b"MSG a b 1\r\nx\r\n");
        assert!(parser.next_op().is_err());
        let mut parser = ServerParser::default();
        parser.push(b"MSG a 1 1\r\nxyz");
        assert!(parser.next_op().is_err());
        let mut parser = ServerParser::default();
        parser.push(b"BOGUS\r\n");
        assert!(parser.next_op().is_err());
    }
}
