//! CRC-framed records: the unit of every segment file.
//!
//! ```text
//! offset  bytes  field
//!  0      4      magic "SBR1"
//!  4      1      kind (1 message, 2 delete ranges, 3 segment header, 4 sync point)
//!  5      1      flags (0)
//!  6      2      subject length
//!  8      4      headers length
//! 12      4      payload length
//! 16      8      sequence
//! 24      8      timestamp (wall, Unix nanoseconds)
//! 32      4      header CRC: crc32 of bytes 0..32
//! 36      ...    subject, headers, payload
//! end-4   4      record CRC: crc32 of everything before it
//! ```
//! All integers little-endian.
//!
//! The header has its own CRC so that a record whose body is damaged still tells its length
//! and sequence: recovery can skip it by its length and name it in the report. Decoding never
//! panics and tells apart:
//! - [`Decoded::Incomplete`]: the bytes end before the record does (fewer than a header, or
//!   fewer than a valid header's length) — at the end of a file, a torn write;
//! - [`Decoded::CorruptHeader`]: a whole header that fails its magic, CRC or field checks —
//!   the length is unknown, so nothing after it can be framed;
//! - [`Decoded::CorruptBody`]: a valid header, a complete record, a bad record CRC — skippable.

use crate::time::Wall;

/// Bytes before the body.
pub const HEADER_BYTES: usize = 36;
/// Bytes after the body (the record CRC).
pub const TRAILER_BYTES: usize = 4;
/// The smallest record: a header and a trailer around an empty body.
pub const RECORD_BYTES_MIN: usize = HEADER_BYTES + TRAILER_BYTES;
/// Bytes of one encoded range in a delete record.
pub const RANGE_BYTES: usize = 16;

/// The first four bytes of every record.
pub const MAGIC: [u8; 4] = *b"SBR1";
const HEADER_CRC_AT: usize = 32;

/// What a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A stored message: subject, headers, payload at a sequence.
    Message = 1,
    /// Sequences removed: the payload is a list of inclusive `(first, last)` ranges.
    Delete = 2,
    /// The first record of a segment: `seq` is the last sequence assigned before the segment
    /// was made (so sequences survive removal of every message), `timestamp` that message's
    /// time, and the payload the segment's id.
    SegmentHeader = 3,
    /// Written just before each sync, so the sync covers it: `seq` is the last sequence
    /// written before it, `timestamp` that message's time. Recovery takes it as a floor, so a
    /// durable message damaged at the end of a file is mid-file (followed by a valid record),
    /// reported rather than cut, and its sequence never reused.
    SyncPoint = 4,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        match byte {
            1 => Some(Kind::Message),
            2 => Some(Kind::Delete),
            3 => Some(Kind::SegmentHeader),
            4 => Some(Kind::SyncPoint),
            _ => None,
        }
    }
}

/// A decoded, CRC-checked header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub subject_len: u16,
    pub headers_len: u32,
    pub payload_len: u32,
    pub seq: u64,
    pub timestamp: Wall,
}

impl Header {
    /// The whole record's length in bytes (saturating: a length past memory never fits).
    pub fn record_len(&self) -> usize {
        let body =
            u64::from(self.subject_len) + u64::from(self.headers_len) + u64::from(self.payload_len);
        usize::try_from(body)
            .ok()
            .and_then(|body| body.checked_add(RECORD_BYTES_MIN))
            .unwrap_or(usize::MAX)
    }
}

/// A record whose CRCs both passed, borrowing from the decoded buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub header: Header,
    pub subject: &'a [u8],
    pub headers: &'a [u8],
    pub payload: &'a [u8],
}

impl Record<'_> {
    pub fn len_bytes(&self) -> usize {
        self.header.record_len()
    }
}

/// The outcome of decoding the bytes at the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    Record(Record<'a>),
    /// The buffer ends before the record does.
    Incomplete,
    /// A whole header is there but it is not valid: the record's length is unknown.
    CorruptHeader,
    /// A valid header and all of its bytes, but the record CRC fails.
    CorruptBody(Header),
}

/// Why a record cannot be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A subject over 65,535 bytes, or headers or payload over 4 GiB.
    TooLarge,
}

fn crc(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

fn u16_at(buf: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([buf[at], buf[at + 1]])
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    let bytes: [u8; 4] = buf[at..at + 4].try_into().expect("four bytes");
    u32::from_le_bytes(bytes)
}

fn u64_at(buf: &[u8], at: usize) -> u64 {
    let bytes: [u8; 8] = buf[at..at + 8].try_into().expect("eight bytes");
    u64::from_le_bytes(bytes)
}

/// Appends one record to `out`; returns its length in bytes.
pub fn encode(
    out: &mut Vec<u8>,
    kind: Kind,
    seq: u64,
    timestamp: Wall,
    subject: &[u8],
    headers: &[u8],
    payload: &[u8],
) -> Result<usize, EncodeError> {
    let subject_len = u16::try_from(subject.len()).map_err(|_| EncodeError::TooLarge)?;
    let headers_len = u32::try_from(headers.len()).map_err(|_| EncodeError::TooLarge)?;
    let payload_len = u32::try_from(payload.len()).map_err(|_| EncodeError::TooLarge)?;
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.push(kind as u8);
    out.push(0);
    out.extend_from_slice(&subject_len.to_le_bytes());
    out.extend_from_slice(&headers_len.to_le_bytes());
    out.extend_from_slice(&payload_len.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&timestamp.as_unix_nanos().to_le_bytes());
    let header_crc = crc(&out[start..]);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(subject);
    out.extend_from_slice(headers);
    out.extend_from_slice(payload);
    let record_crc = crc(&out[start..]);
    out.extend_from_slice(&record_crc.to_le_bytes());
    let len = out.len() - start;
    debug_assert!(
        matches!(decode(&out[start..]), Decoded::Record(r) if r.len_bytes() == len),
        "an encoded record decodes to itself"
    );
    Ok(len)
}

/// Checks a header; `None` if its magic, CRC, kind or flags are wrong.
fn decode_header(buf: &[u8]) -> Option<Header> {
    if buf[..4] != MAGIC || crc(&buf[..HEADER_CRC_AT]) != u32_at(buf, HEADER_CRC_AT) {
        return None;
    }
    let kind = Kind::from_byte(buf[4])?;
    if buf[5] != 0 {
        return None;
    }
    Some(Header {
        kind,
        subject_len: u16_at(buf, 6),
        headers_len: u32_at(buf, 8),
        payload_len: u32_at(buf, 12),
        seq: u64_at(buf, 16),
        timestamp: Wall::from_unix_nanos(u64_at(buf, 24) as i64),
    })
}

/// Decodes the record at the start of `buf`. Never panics, whatever the bytes.
pub fn decode(buf: &[u8]) -> Decoded<'_> {
    if buf.len() < HEADER_BYTES {
        return Decoded::Incomplete;
    }
    let Some(header) = decode_header(buf) else {
        return Decoded::CorruptHeader;
    };
    let len = header.record_len();
    if buf.len() < len {
        return Decoded::Incomplete;
    }
    let crc_at = len - TRAILER_BYTES;
    if crc(&buf[..crc_at]) != u32_at(buf, crc_at) {
        return Decoded::CorruptBody(header);
    }
    let subject_end = HEADER_BYTES + usize::from(header.subject_len);
    let headers_end = subject_end + header.headers_len as usize;
    Decoded::Record(Record {
        header,
        subject: &buf[HEADER_BYTES..subject_end],
        headers: &buf[subject_end..headers_end],
        payload: &buf[headers_end..crc_at],
    })
}

/// The record length a header's length fields claim, without checking anything else (for
/// framing past a damaged header); `None` if the bytes are shorter than a header.
pub fn unchecked_len(buf: &[u8]) -> Option<usize> {
    if buf.len() < HEADER_BYTES {
        return None;
    }
    let body = u64::from(u16_at(buf, 6)) + u64::from(u32_at(buf, 8)) + u64::from(u32_at(buf, 12));
    usize::try_from(body).ok()?.checked_add(RECORD_BYTES_MIN)
}

/// Appends the payload of a delete record: each inclusive range as two u64.
pub fn encode_ranges(out: &mut Vec<u8>, ranges: &[(u64, u64)]) {
    for (first, last) in ranges {
        debug_assert!(first <= last, "ranges are non-empty");
        out.extend_from_slice(&first.to_le_bytes());
        out.extend_from_slice(&last.to_le_bytes());
    }
}

/// The ranges of a delete record's payload; `None` if its length is not a whole number of
/// ranges or a range is empty (`first > last`).
pub fn decode_ranges(payload: &[u8]) -> Option<Vec<(u64, u64)>> {
    if payload.len() % RANGE_BYTES != 0 {
        return None;
    }
    payload
        .chunks_exact(RANGE_BYTES)
        .map(|chunk| {
            let (first, last) = (u64_at(chunk, 0), u64_at(chunk, 8));
            (first <= last).then_some((first, last))
        })
        .collect()
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
