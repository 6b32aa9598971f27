//! Workload payloads: `m <client> <seq> <pad>[ re <client> <seq>];<pad bytes>`.
//!
//! The header names the message (its publisher and per-publisher sequence) and, for a reply,
//! the request it answers; the padding is a function of the sequence, so a payload corrupted or
//! spliced on the way is caught (`intact`).

use bytes::{BufMut, Bytes, BytesMut};

use crate::history::{Body, MsgId};

/// The status line and header the server sends a requester nobody answered.
const NO_RESPONDERS: &[u8] = b"NATS/1.0 503";

pub fn encode(msg: MsgId, re: Option<MsgId>, pad: usize) -> Bytes {
    let mut out = BytesMut::with_capacity(32 + pad);
    out.put_slice(format!("m {} {} {pad}", msg.client, msg.seq).as_bytes());
    if let Some(re) = re {
        out.put_slice(format!(" re {} {}", re.client, re.seq).as_bytes());
    }
    out.put_u8(b';');
    for i in 0..pad {
        out.put_u8(pad_byte(msg.seq, i));
    }
    out.freeze()
}

fn pad_byte(seq: u64, i: usize) -> u8 {
    b'a' + ((seq as usize).wrapping_add(i) % 26) as u8
}

/// What a delivered message is.
pub fn decode(headers: Option<&[u8]>, payload: &[u8]) -> Body {
    if let Some(headers) = headers {
        if headers.starts_with(NO_RESPONDERS) && payload.is_empty() {
            let text = String::from_utf8_lossy(headers);
            let subject = text
                .lines()
                .find_map(|line| line.strip_prefix("Nats-Subject: "))
                .unwrap_or("")
                .to_string();
            return Body::NoResponders { subject };
        }
        return Body::Unknown(format!("headers {:?}", String::from_utf8_lossy(headers)));
    }
    decode_message(payload).unwrap_or_else(|| {
        let shown = &payload[..payload.len().min(40)];
        Body::Unknown(String::from_utf8_lossy(shown).into_owned())
    })
}

fn decode_message(payload: &[u8]) -> Option<Body> {
    let split = payload.iter().position(|&b| b == b';')?;
    let head = std::str::from_utf8(&payload[..split]).ok()?;
    let pad = &payload[split + 1..];
    let fields: Vec<&str> = head.split(' ').collect();
    let (msg, pad_len, re) = match fields.as_slice() {
        ["m", client, seq, pad_len] => (id(client, seq)?, pad_len.parse::<usize>().ok()?, None),
        ["m", client, seq, pad_len, "re", rc, rs] => (
            id(client, seq)?,
            pad_len.parse::<usize>().ok()?,
            Some(id(rc, rs)?),
        ),
        _ => return None,
    };
    let intact = pad.len() == pad_len
        && pad
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pad_byte(msg.seq, i));
    Some(Body::Message { msg, re, intact })
}

fn id(client: &str, seq: &str) -> Option<MsgId> {
    Some(MsgId {
        client: client.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_damage() {
        let msg = MsgId { client: 3, seq: 41 };
        let re = Some(MsgId { client: 1, seq: 9 });
        for pad in [0, 1, 100] {
            let bytes = encode(msg, re, pad);
            assert_eq!(
                decode(None, &bytes),
                Body::Message {
                    msg,
                    re,
                    intact: true
                }
            );
            let mut damaged = bytes.to_vec();
            damaged.push(b'z');
            assert!(matches!(
                decode(None, &damaged),
                Body::Message { intact: false, .. }
            ));
        }
        assert_eq!(
            decode(Some(b"NATS/1.0 503\r\nNats-Subject: foo\r\n\r\n"), b""),
            Body::NoResponders {
                subject: "foo".into()
            }
        );
        assert!(matches!(decode(None, b"junk"), Body::Unknown(_)));
    }
}
