//! JetStream in the broker: published messages for the API or a stream go to
//! [`JetStream`], its replies are published like any message (from no connection), and its
//! syncs become [`Output::Sync`].

use super::*;
use crate::jetstream::{JetStream, SyncDone};

/// The publisher of JetStream's replies: no connection has id 0 (ids start at 1).
const JETSTREAM_CONN: ConnId = ConnId(0);

impl Broker {
    /// Turns JetStream on with these (already opened) streams.
    pub fn enable_jetstream(&mut self, jetstream: JetStream) {
        self.jetstream = Some(jetstream);
        self.flush_jetstream();
    }

    pub fn jetstream(&self) -> Option<&JetStream> {
        self.jetstream.as_ref()
    }

    /// The result of an [`Output::Sync`].
    pub fn handle_synced(&mut self, now: Now, done: SyncDone) {
        self.now = now;
        if let Some(js) = &mut self.jetstream {
            js.handle_synced(done);
            self.flush_jetstream();
        }
    }

    /// Hands a published message to JetStream if it wants it; whether it answers it.
    pub(super) fn jetstream_publish(&mut self, msg: &Message) -> bool {
        let Some(js) = &mut self.jetstream else {
            return false;
        };
        if !js.wants(msg.subject) {
            return false;
        }
        // JetStream keeps what it is given (a memory stream keeps the message for its life), so
        // it gets copies: a slice would keep the whole read buffer it came in alive (up to
        // 1 MiB, however small the message, and long after the rest was delivered).
        let subject = Bytes::copy_from_slice(msg.subject);
        let reply = msg.reply.map(Bytes::copy_from_slice);
        let headers = msg.headers.map(Bytes::copy_from_slice);
        let payload = Bytes::copy_from_slice(msg.payload);
        js.handle_message(
            self.now,
            &subject,
            reply.as_ref(),
            headers.as_ref(),
            &payload,
        )
    }

    pub(super) fn jetstream_timeout(&mut self, now: Now) {
        if let Some(js) = &mut self.jetstream {
            if self.jetstream_deadline.is_some_and(|at| at <= now.mono) {
                js.handle_timeout(now);
            }
            self.flush_jetstream();
        }
    }

    /// Publishes JetStream's ready replies, queues its syncs and re-reads its deadline.
    pub(super) fn flush_jetstream(&mut self) {
        let Some(js) = &mut self.jetstream else {
            return;
        };
        let replies = js.take_replies();
        let jobs = js.sync_jobs(self.now.mono);
        self.jetstream_deadline = js.poll_timeout();
        self.outputs.extend(jobs.into_iter().map(Output::Sync));
        for reply in replies {
            let msg =
                Message::from_parts(&reply.subject, None, reply.headers.as_ref(), &reply.payload);
            self.deliver(JETSTREAM_CONN, true, &msg);
        }
    }
}
