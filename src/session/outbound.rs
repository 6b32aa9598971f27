//! One connection's outbound queue and its pending-bytes budget.
//!
//! Bytes move through two stages: *queued* (appended here, not yet handed to the host) and
//! *in flight* (handed over in an `Output::Transmit`, not yet reported written). Their sum is
//! the connection's pending bytes, which the slow-consumer policy bounds: a subscriber whose
//! socket does not drain cannot make the broker hold more than `pending_bytes_max` for it.

use bytes::{Bytes, BytesMut};

use crate::time::Mono;

/// Payloads at least this long are queued by reference (a vectored write) instead of copied.
/// Below it, a copy into the coalescing buffer is cheaper than another iovec.
const PAYLOAD_BY_REFERENCE_BYTES_MIN: usize = 4096;
/// The most payloads one connection holds by reference at a time (queued or in flight); past
/// it they are copied until its writes catch up. A reference keeps the whole read buffer it
/// points into alive (up to the runtime's largest read, 1 MiB), and the pending budget counts
/// only the payload: without this bound, a subscriber that never reads, fed 4 KiB messages
/// that each sit in their own read buffer, would pin 256 times its budget. With it, a
/// connection pins at most this many read buffers beyond its budget.
const PAYLOADS_BY_REFERENCE_MAX: usize = 32;
/// A coalescing buffer holding at least this much is sealed as a chunk when it runs out of
/// room, rather than grown: growing copies everything in it. Below it, a copy is cheap.
const SEAL_BYTES_MIN: usize = 4096;
/// The most room a new coalescing buffer starts with after one was sealed (each starts with
/// twice what the sealed one held, so a busy connection quickly writes 64 KiB chunks).
const FRESH_BUFFER_BYTES_MAX: usize = 64 * 1024;

#[derive(Debug, Default)]
pub(crate) struct Outbound {
    /// Finished chunks, in order, waiting to be handed over.
    chunks: Vec<Bytes>,
    /// Small writes coalesce here; becomes a chunk when taken or when a large payload follows.
    buf: BytesMut,
    /// Bytes in `chunks` plus `buf`.
    queued_bytes: usize,
    /// Bytes handed over and not yet reported written.
    in_flight_bytes: usize,
    /// Payloads held by reference in `chunks`, and in what was handed over since the host last
    /// had nothing in flight (the host reports bytes, not chunks: all of those count until
    /// everything in flight is written).
    references_queued: usize,
    references_in_flight: usize,
    /// When the host last made write progress while bytes were in flight (write deadline).
    write_progress_at: Option<Mono>,
}

impl Outbound {
    /// Queued plus in-flight bytes: what the pending budget limits.
    pub(crate) fn pending_bytes(&self) -> usize {
        self.queued_bytes + self.in_flight_bytes
    }

    pub(crate) fn in_flight_bytes(&self) -> usize {
        self.in_flight_bytes
    }

    pub(crate) fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    pub(crate) fn write_progress_at(&self) -> Option<Mono> {
        self.write_progress_at
    }

    /// The buffer to encode a control line (or small frame) into; call `commit` after.
    pub(crate) fn buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Accounts for `n` bytes just appended through `buf()`.
    pub(crate) fn commit(&mut self, n: usize) {
        self.queued_bytes += n;
    }

    /// Makes room for `n` more bytes in the coalescing buffer without copying what it holds
    /// once that is at least [`SEAL_BYTES_MIN`]: a full buffer becomes a chunk of its own.
    #[inline]
    pub(crate) fn reserve(&mut self, n: usize) {
        if self.buf.capacity() - self.buf.len() >= n {
            return;
        }
        let held = self.buf.len();
        if held >= SEAL_BYTES_MIN {
            self.chunks.push(self.buf.split().freeze());
            self.buf
                .reserve(n.max((2 * held).min(FRESH_BUFFER_BYTES_MAX)));
        } else {
            self.buf.reserve(n);
        }
    }

    /// [`Outbound::reserve`] for a message: its control line, then payloads of these lengths
    /// (those [`Outbound::push_payload`] will copy rather than reference), then `\r\n`.
    #[inline]
    pub(crate) fn reserve_message(&mut self, line: usize, payloads: [usize; 2]) {
        let copied = payloads
            .iter()
            .filter(|&&n| n < PAYLOAD_BY_REFERENCE_BYTES_MIN)
            .sum::<usize>();
        self.reserve(line + copied + 2);
    }

    pub(crate) fn push_slice(&mut self, data: &[u8]) {
        self.reserve(data.len());
        self.buf.extend_from_slice(data);
        self.queued_bytes += data.len();
    }

    /// Appends a payload (a sub-slice of `owner`), by reference when it is large (no copy),
    /// else copied.
    pub(crate) fn push_payload(&mut self, payload: &[u8], owner: &Bytes) {
        if payload.len() >= PAYLOAD_BY_REFERENCE_BYTES_MIN
            && self.references_queued + self.references_in_flight < PAYLOADS_BY_REFERENCE_MAX
        {
            if !self.buf.is_empty() {
                self.chunks.push(self.buf.split().freeze());
            }
            self.chunks.push(owner.slice_ref(payload));
            self.references_queued += 1;
            self.queued_bytes += payload.len();
        } else {
            self.push_slice(payload);
        }
    }

    /// Hands every queued byte over to the host; they are in flight from `now` on.
    pub(crate) fn take(&mut self, now: Mono) -> Vec<Bytes> {
        if !self.buf.is_empty() {
            self.chunks.push(self.buf.split().freeze());
        }
        if self.in_flight_bytes == 0 {
            self.write_progress_at = Some(now);
        }
        self.in_flight_bytes += self.queued_bytes;
        self.queued_bytes = 0;
        self.references_in_flight += std::mem::take(&mut self.references_queued);
        std::mem::take(&mut self.chunks)
    }

    /// The host wrote `n` bytes of what was in flight.
    pub(crate) fn written(&mut self, now: Mono, n: usize) {
        // A host reporting more than it was given is a host bug; saturate rather than wrap.
        self.in_flight_bytes = self.in_flight_bytes.saturating_sub(n);
        self.write_progress_at = if self.in_flight_bytes == 0 {
            self.references_in_flight = 0;
            None
        } else {
            Some(now)
        };
    }

    /// Drops everything queued (the connection is being cut off).
    pub(crate) fn discard(&mut self) {
        self.chunks.clear();
        self.buf.clear();
        self.queued_bytes = 0;
        self.references_queued = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_counts_queued_and_in_flight_until_written() {
        let mut out = Outbound::default();
        out.push_slice(b"PING\r\n");
        // A payload in the middle of a larger buffer (as in a read chunk) goes by reference.
        let input = Bytes::from(vec![b'x'; 5100]);
        out.push_payload(&input[50..5050], &input);
        out.push_slice(b"\r\n");
        assert_eq!(out.pending_bytes(), 5008);
        let chunks = out.take(Mono::from_nanos(1));
        assert_eq!(chunks.iter().map(Bytes::len).sum::<usize>(), 5008);
        // The large payload went by reference: its own chunk between two small ones.
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[1].as_ptr(), input[50..].as_ptr());
        assert_eq!(out.queued_bytes(), 0);
        assert_eq!(out.pending_bytes(), 5008);
        assert_eq!(out.write_progress_at(), Some(Mono::from_nanos(1)));
        out.written(Mono::from_nanos(2), 5000);
        assert_eq!(out.pending_bytes(), 8);
        assert_eq!(out.write_progress_at(), Some(Mono::from_nanos(2)));
        out.written(Mono::from_nanos(3), 8);
        assert_eq!(out.pending_bytes(), 0);
        assert_eq!(out.write_progress_at(), None);
    }

    #[test]
    fn a_connection_that_does_not_drain_holds_few_references_then_gets_copies() {
        let mut out = Outbound::default();
        // Each payload is a slice of its own 1 MiB read buffer.
        let reads: Vec<Bytes> = (0..100).map(|_| Bytes::from(vec![b'x'; 1 << 20])).collect();
        let payload = |i: usize| &reads[i][..5000];
        let shares =
            |chunks: &[Bytes], i: usize| chunks.iter().any(|c| c.as_ptr() == reads[i].as_ptr());
        for read in &reads[..50] {
            out.push_payload(&read[..5000], read);
        }
        let first = out.take(Mono::ZERO);
        assert!((0..PAYLOADS_BY_REFERENCE_MAX).all(|i| shares(&first, i)));
        assert!((PAYLOADS_BY_REFERENCE_MAX..50).all(|i| !shares(&first, i)));
        // Still in flight (the socket is stuck): everything new is copied.
        out.written(Mono::ZERO, 1000);
        out.push_payload(payload(50), &reads[50]);
        assert!(!shares(&out.take(Mono::ZERO), 50));
        // Once everything in flight is written, references are allowed again.
        out.written(Mono::ZERO, out.in_flight_bytes());
        out.push_payload(payload(51), &reads[51]);
        assert!(shares(&out.take(Mono::ZERO), 51));
        let total: usize = [&first[..]]
            .iter()
            .map(|c| c.iter().map(Bytes::len).sum::<usize>())
            .sum();
        assert_eq!(total, 50 * 5000);
    }

    #[test]
    fn a_full_buffer_is_sealed_as_a_chunk_not_grown() {
        let mut out = Outbound::default();
        let line = [b'm'; 100];
        let mut expected = Vec::new();
        for _ in 0..3000 {
            out.push_slice(&line);
            expected.extend_from_slice(&line);
        }
        let chunks = out.take(Mono::ZERO);
        assert_eq!(chunks.concat(), expected);
        // 300 000 bytes: sealed buffers from 4 KiB up to 64 KiB chunks, not one grown buffer.
        assert!(chunks.len() > 4 && chunks.len() < 16, "{}", chunks.len());
        assert!(chunks.iter().all(|c| c.len() <= FRESH_BUFFER_BYTES_MAX));
    }

    #[test]
    fn small_payloads_are_coalesced_into_one_chunk() {
        let mut out = Outbound::default();
        for _ in 0..100 {
            out.push_slice(b"MSG a 1 1\r\n");
            let payload = Bytes::from_static(b"x");
            out.push_payload(&payload, &payload);
            out.push_slice(b"\r\n");
        }
        assert_eq!(out.take(Mono::ZERO).len(), 1);
    }
}
