//! Header blocks the server generates itself.
//!
//! nats-server does not validate a client's header block: `HPUB foo 4 6\r\nabcdhi\r\n` is
//! delivered as is (checked on 2.12.8 and 2.9.10), so there is no validator here.

use bytes::{BufMut, BytesMut};

use super::encode;

/// The no-responders status line.
pub const NO_RESPONDERS_STATUS: &[u8] = b"NATS/1.0 503\r\n";

/// Length of the no-responders header block for a request on `subject`:
/// `NATS/1.0 503\r\n` (14) + `Nats-Subject: ` (14) + subject + `\r\n\r\n` (4), the
/// `32 + len(subject)` of server/client.go.
pub fn no_responders_len(subject: &[u8]) -> usize {
    32 + subject.len()
}

/// The whole no-responders message nats-server 2.12.8 sends to a requester whose request on
/// `subject` reached nobody, on its subscription `sid` to `reply`:
///
/// `HMSG <reply> <sid> <n> <n>\r\nNATS/1.0 503\r\nNats-Subject: <subject>\r\n\r\n\r\n`
///
/// (2.9.10 sent only `NATS/1.0 503\r\n\r\n`; `Nats-Subject` arrived in 2.12.)
pub fn no_responders(out: &mut BytesMut, reply: &[u8], sid: &[u8], subject: &[u8]) {
    let len = no_responders_len(subject);
    encode::hmsg_header(out, reply, sid, None, len, len);
    no_responders_block(out, subject);
    out.put_slice(b"\r\n");
}

/// Only the header block of [`no_responders`].
pub fn no_responders_block(out: &mut BytesMut, subject: &[u8]) {
    out.put_slice(NO_RESPONDERS_STATUS);
    out.put_slice(b"Nats-Subject: ");
    out.put_slice(subject);
    out.put_slice(b"\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_responders_matches_nats_server_2_12_8() {
        // nats-server 2.12.8, `PUB foo _INBOX.x 2` with `SUB _INBOX.x 9` and nobody on foo.
        let mut out = BytesMut::new();
        no_responders(&mut out, b"_INBOX.x", b"9", b"foo");
        assert_eq!(
            &out[..],
            b"HMSG _INBOX.x 9 35 35\r\nNATS/1.0 503\r\nNats-Subject: foo\r\n\r\n\r\n"
        );
        let mut block = BytesMut::new();
        no_responders_block(&mut block, b"a.b.c");
        assert_eq!(block.len(), no_responders_len(b"a.b.c"));
    }
}
