//! The bytes the simulated clients write, and what they make of the replies they read.

use bytes::Bytes;

use super::json::{self, Json};

/// `PUB` (no headers) or `HPUB` of a message with a reply subject.
pub fn publish(subject: &str, reply: &str, headers: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + headers.len() + payload.len());
    if headers.is_empty() {
        out.extend_from_slice(format!("PUB {subject} {reply} {}\r\n", payload.len()).as_bytes());
    } else {
        out.extend_from_slice(
            format!(
                "HPUB {subject} {reply} {} {}\r\n",
                headers.len(),
                headers.len() + payload.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(headers);
    }
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
    out
}

/// A header block carrying `Nats-Msg-Id` and `Nats-Rollup` (`sub` or `all`) if given, and
/// one more header of the simulator's.
pub fn header_block(msg_id: Option<&str>, rollup: Option<&str>, extra: Option<&str>) -> Vec<u8> {
    if msg_id.is_none() && rollup.is_none() && extra.is_none() {
        return Vec::new();
    }
    let mut out = String::from("NATS/1.0\r\n");
    if let Some(id) = msg_id {
        out.push_str(&format!("Nats-Msg-Id: {id}\r\n"));
    }
    if let Some(rollup) = rollup {
        out.push_str(&format!("{ROLLUP_HEADER}: {rollup}\r\n"));
    }
    if let Some(extra) = extra {
        out.push_str(&format!("X-Sim: {extra}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

pub const ROLLUP_HEADER: &str = "Nats-Rollup";

/// The `Nats-Rollup` value of a header block this module wrote.
pub fn rollup_of(headers: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(headers).ok()?;
    text.split("\r\n")
        .find_map(|line| line.strip_prefix(ROLLUP_HEADER)?.strip_prefix(": "))
}

/// What a reply to one of the simulated requests says.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// A PubAck.
    Ack {
        stream: String,
        seq: u64,
        duplicate: bool,
    },
    /// A JSON reply (a PubAck or an API response) carrying `error`.
    Error { err_code: u64, description: String },
    /// Any other API response.
    Api(Json),
    /// The `NATS/1.0 503` status: nobody took the request.
    NoResponders,
    /// Not what a server may answer.
    Malformed(String),
}

impl Reply {
    pub fn read(headers: Option<&Bytes>, payload: &[u8]) -> Reply {
        if let Some(headers) = headers {
            if headers.starts_with(b"NATS/1.0 503") {
                return Reply::NoResponders;
            }
            if headers.starts_with(b"NATS/1.0 ") {
                return Reply::Malformed(format!(
                    "unexpected status {:?}",
                    String::from_utf8_lossy(&headers[..headers.len().min(40)])
                ));
            }
        }
        let value = match json::parse(payload) {
            Ok(value) => value,
            Err(why) => {
                return Reply::Malformed(format!(
                    "not JSON ({why}): {:?}",
                    String::from_utf8_lossy(&payload[..payload.len().min(120)])
                ))
            }
        };
        if let Some(error) = value.get("error") {
            return Reply::Error {
                err_code: error.get("err_code").and_then(Json::as_u64).unwrap_or(0),
                description: error
                    .get("description")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_string(),
            };
        }
        if value.get("type").is_none() {
            if let (Some(stream), Some(seq)) = (
                value.get("stream").and_then(Json::as_str),
                value.get("seq").and_then(Json::as_u64),
            ) {
                return Reply::Ack {
                    stream: stream.to_string(),
                    seq,
                    duplicate: value.get("duplicate").and_then(Json::as_bool) == Some(true),
                };
            }
        }
        Reply::Api(value)
    }
}

/// nats-server's error codes the checkers tell apart.
pub mod err_code {
    pub const NO_MESSAGE_FOUND: u64 = 10037;
    pub const STREAM_NOT_FOUND: u64 = 10059;
    /// A publish the stream could not store (with a `maximum ... exceeded` description when
    /// `discard: new` refused it at a limit).
    pub const STREAM_STORE_FAILED: u64 = 10077;
}

/// Standard base64 with padding, decoded; `None` if it is not.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (index, chunk) in bytes.chunks(4).enumerate() {
        let last = index + 1 == bytes.len() / 4;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut word = 0u32;
        for &c in &chunk[..4 - pad] {
            word = (word << 6) | value(c)?;
        }
        word <<= 6 * pad as u32;
        let decoded = [(word >> 16) as u8, (word >> 8) as u8, word as u8];
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::jetstream::json::base64_standard;

    #[test]
    fn base64_round_trips() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64_decode(&base64_standard(&data)), Some(data));
        }
        assert_eq!(base64_decode("a=bc"), None);
        assert_eq!(base64_decode("abc"), None);
    }

    #[test]
    fn reads_acks_errors_and_statuses() {
        assert_eq!(
            Reply::read(None, br#"{"stream":"S","seq":3,"duplicate": true}"#),
            Reply::Ack {
                stream: "S".into(),
                seq: 3,
                duplicate: true
            }
        );
        let error =
            br#"{"error":{"code":503,"err_code":10077,"description":"x"},"stream":"S","seq":0}"#;
        assert!(matches!(
            Reply::read(None, error),
            Reply::Error {
                err_code: 10077,
                ..
            }
        ));
        let status = Bytes::from_static(b"NATS/1.0 503\r\n\r\n");
        assert_eq!(Reply::read(Some(&status), b""), Reply::NoResponders);
        assert!(matches!(
            Reply::read(
                None,
                br#"{"type":"io.nats.jetstream.api.v1.stream_info_response"}"#
            ),
            Reply::Api(_)
        ));
    }

    #[test]
    fn encodes_hpub() {
        let headers = header_block(Some("id1"), None, None);
        assert_eq!(
            rollup_of(&header_block(None, Some("all"), Some("x"))),
            Some("all")
        );
        assert_eq!(rollup_of(&headers), None);
        assert_eq!(
            publish("S.a", "_INBOX.1", &headers, b"hi"),
            b"HPUB S.a _INBOX.1 30 32\r\nNATS/1.0\r\nNats-Msg-Id: id1\r\n\r\nhi\r\n".to_vec()
        );
        assert_eq!(
            publish("S.a", "_INBOX.1", b"", b"hi"),
            b"PUB S.a _INBOX.1 2\r\nhi\r\n".to_vec()
        );
    }
}
