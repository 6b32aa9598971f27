//! File store recovery: rebuild the index from the segment files, and say what was wrong.
//!
//! Segments are read whole, in id order, and their records applied in file order. What is
//! not a good record is handled by one rule: **bytes are cut only where no record passes its
//! CRC**, and only at the end of the last segment (a torn tail: the last writes before a crash,
//! never acknowledged under [`SyncPolicy::Always`](super::SyncPolicy)). Everything else that
//! fails a check is reported in the [`RecoveryReport`], never served, and left on disk:
//!
//! - a record with a valid header but a bad record CRC is skipped by its length (the header
//!   CRC vouches for it) and reported with its sequence; loads of that sequence say `Corrupt`;
//! - a record whose header fails is skipped by its length only when that length lands exactly
//!   on the next record that passes its CRC (or on the end of the file) — a flip in the header's
//!   sequence, time or CRC; then its sequence is unknown. Otherwise (a damaged length, garbage)
//!   the rest of the segment cannot be framed safely: scanning for the next magic could land
//!   inside a payload that happens to hold a record. The rest of the segment is reported as an
//!   [`UnreadableRange`] and not served, but the sequences of any CRC-valid records found in it
//!   are kept from reuse;
//! - a CRC-valid record that makes no sense (a sequence not above the ones before it, a bad
//!   delete payload, a segment header naming another segment) is reported and ignored.
//!
//! A segment that had any problem is read again until two reads agree, so a misdirected read
//! (a transient fault) neither invents damage nor causes a cut.

use std::fmt;

use memchr::memmem;

use super::disk::{Disk, DiskError};
use super::index::{FileIndex, SegmentInfo, Slot};
use super::msg_size_bytes;
use super::record::{self, Decoded, Header, Kind, Record, RECORD_BYTES_MIN};

/// Why a record was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorruptReason {
    /// The record CRC failed (the header was valid).
    Crc,
    /// The header failed its checks; its length was confirmed by the next record.
    Header,
    /// A message whose sequence is not above every sequence before it.
    OutOfOrder,
    /// A delete record whose payload is not a list of ranges.
    BadRanges,
    /// A segment header not at the start of its segment, or naming another segment.
    MisplacedSegmentHeader,
}

/// A record that is reported and never served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorruptRecord {
    pub segment: String,
    pub offset: u64,
    pub len_bytes: u64,
    /// The message sequence, when the header could be trusted to tell it.
    pub seq: Option<u64>,
    pub reason: CorruptReason,
}

/// The end of a segment that could not be framed (not a torn tail): kept, reported, not served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreadableRange {
    pub segment: String,
    pub offset: u64,
    pub len_bytes: u64,
    /// CRC-valid records found by scanning the range (their sequences are kept from reuse).
    pub records_found: u64,
}

/// The torn end of the last segment, cut off: it held no record that passes its CRC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    pub segment: String,
    pub offset: u64,
    pub len_bytes: u64,
    /// Sequences named by valid headers in it. They are free again: every sync is preceded
    /// by a sync point, so a torn tail holds only writes no sync covered (never acknowledged
    /// under [`SyncPolicy::Always`](super::SyncPolicy); lost by choice under `Interval`).
    pub seqs: Vec<u64>,
}

/// What recovery found. Empty lists and no torn tail mean the files were clean.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    pub segments: u64,
    pub records: u64,
    pub corrupt: Vec<CorruptRecord>,
    pub unreadable: Vec<UnreadableRange>,
    pub torn_tail: Option<TornTail>,
    /// Files in the store's directory that are not segments (left alone).
    pub ignored_files: Vec<String>,
}

impl RecoveryReport {
    /// No damage: nothing corrupt, unreadable or torn.
    pub fn is_clean(&self) -> bool {
        self.corrupt.is_empty() && self.unreadable.is_empty() && self.torn_tail.is_none()
    }
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} segments, {} records, {} corrupt, {} unreadable ranges, torn tail: {}",
            self.segments,
            self.records,
            self.corrupt.len(),
            self.unreadable.len(),
            self.torn_tail
                .as_ref()
                .map_or("none".to_string(), |t| format!("{} bytes", t.len_bytes))
        )
    }
}

/// The index and report recovery rebuilt, and the segment ids it found.
pub(crate) struct Recovered {
    pub index: FileIndex,
    pub report: RecoveryReport,
    pub segment_ids: Vec<u64>,
}

/// A segment file's name: its id as 20 decimal digits, then `.seg`.
pub(crate) fn segment_name(id: u64) -> String {
    format!("{id:020}.seg")
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One framing step of a segment scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    /// A record that passes both CRCs, at `offset`, `len` bytes.
    Valid { offset: usize, len: usize },
    /// A record skipped by a trusted or confirmed length; `header` if its header was valid.
    Bad {
        offset: usize,
        len: usize,
        header: Option<Header>,
    },
}

/// How a segment's bytes frame: records in order, then possibly bytes that cannot be framed.
#[derive(Debug, Default)]
struct Framing {
    items: Vec<Item>,
    /// Where framing stopped short of the end, if it did.
    stop: Option<usize>,
}

impl Framing {
    /// The end of the last valid record.
    fn valid_end(&self) -> usize {
        self.items
            .iter()
            .rev()
            .find_map(|item| match item {
                Item::Valid { offset, len } => Some(offset + len),
                Item::Bad { .. } => None,
            })
            .unwrap_or(0)
    }

    fn is_clean(&self) -> bool {
        self.stop.is_none() && self.items.iter().all(|i| matches!(i, Item::Valid { .. }))
    }
}

/// The next offset at or after `from` where a record passes its CRCs.
fn next_valid_record(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    memmem::find_iter(rest, &record::MAGIC)
        .map(|at| from + at)
        .find(|at| matches!(record::decode(&buf[*at..]), Decoded::Record(_)))
}

/// Frames a damaged header at `offset`: `Some(len)` if its own length field lands exactly on
/// the next valid record, or on the end of the buffer when there is none.
fn confirmed_len(buf: &[u8], offset: usize) -> Option<usize> {
    let claimed = record::unchecked_len(&buf[offset..])?;
    let end = match next_valid_record(buf, offset + 1) {
        Some(next) => next,
        None => buf.len(),
    };
    (claimed >= RECORD_BYTES_MIN && offset.checked_add(claimed) == Some(end)).then_some(claimed)
}

fn frame(buf: &[u8]) -> Framing {
    let mut framing = Framing::default();
    let mut offset = 0;
    while offset < buf.len() {
        let item = match record::decode(&buf[offset..]) {
            Decoded::Record(record) => Item::Valid {
                offset,
                len: record.len_bytes(),
            },
            Decoded::CorruptBody(header) => Item::Bad {
                offset,
                len: header.record_len(),
                header: Some(header),
            },
            Decoded::CorruptHeader => match confirmed_len(buf, offset) {
                Some(len) => Item::Bad {
                    offset,
                    len,
                    header: None,
                },
                None => {
                    framing.stop = Some(offset);
                    break;
                }
            },
            Decoded::Incomplete => {
                framing.stop = Some(offset);
                break;
            }
        };
        offset += match item {
            Item::Valid { len, .. } | Item::Bad { len, .. } => len,
        };
        framing.items.push(item);
    }
    framing
}

/// Reads a whole file.
fn read_file(disk: &dyn Disk, path: &str) -> Result<Vec<u8>, DiskError> {
    let len = disk.len(path)?;
    let len = usize::try_from(len).map_err(|_| DiskError::Io("segment beyond memory".into()))?;
    let mut buf = vec![0; len];
    let mut filled = 0;
    while filled < len {
        let read = disk.read_at(path, filled as u64, &mut buf[filled..])?;
        if read == 0 {
            buf.truncate(filled);
            break;
        }
        filled += read;
    }
    Ok(buf)
}

/// Reads attempts until two consecutive reads agree.
const STABLE_READ_ATTEMPTS: usize = 4;

/// Reads a segment; if it does not frame cleanly, reads it again until two reads agree.
/// Returns the bytes, their framing, and whether they are stable (safe to cut).
fn read_segment(disk: &dyn Disk, path: &str) -> Result<(Vec<u8>, Framing, bool), DiskError> {
    let mut buf = read_file(disk, path)?;
    let mut framing = frame(&buf);
    if framing.is_clean() {
        return Ok((buf, framing, true));
    }
    for _ in 1..STABLE_READ_ATTEMPTS {
        let again = read_file(disk, path)?;
        if again == buf {
            return Ok((buf, framing, true));
        }
        buf = again;
        framing = frame(&buf);
    }
    Ok((buf, framing, false))
}

/// Rebuilds the index of the segments under `dir`, cutting a torn tail off the last one.
pub(crate) fn recover(disk: &dyn Disk, dir: &str) -> Result<Recovered, DiskError> {
    let mut report = RecoveryReport::default();
    let mut ids = Vec::new();
    for name in disk.list(dir)? {
        match parse_segment_name(&name) {
            Some(id) => ids.push(id),
            None => report.ignored_files.push(name),
        }
    }
    ids.sort_unstable();
    let mut index = FileIndex::default();
    for (position, &id) in ids.iter().enumerate() {
        let path = super::disk::join(dir, &segment_name(id));
        let is_last = position + 1 == ids.len();
        let mut segment = SegmentScan {
            index: &mut index,
            report: &mut report,
            id,
            path: &path,
        };
        segment.recover(disk, is_last)?;
    }
    report.segments = ids.len() as u64;
    Ok(Recovered {
        index,
        report,
        segment_ids: ids,
    })
}

/// Recovery of one segment into the shared index and report.
struct SegmentScan<'a> {
    index: &'a mut FileIndex,
    report: &'a mut RecoveryReport,
    id: u64,
    path: &'a str,
}

impl SegmentScan<'_> {
    fn recover(&mut self, disk: &dyn Disk, is_last: bool) -> Result<(), DiskError> {
        let (buf, framing, stable) = read_segment(disk, self.path)?;
        let valid_end = framing.valid_end();
        let tail_is_torn = is_last
            && stable
            && valid_end < buf.len()
            && next_valid_record(&buf, valid_end + 1).is_none();
        let mut len_bytes = buf.len() as u64;
        if tail_is_torn {
            disk.truncate(self.path, valid_end as u64)?;
            len_bytes = valid_end as u64;
        }
        self.index.segments.insert(
            self.id,
            SegmentInfo {
                len_bytes,
                ..SegmentInfo::default()
            },
        );
        for item in &framing.items {
            match *item {
                Item::Valid { offset, .. } if offset < valid_end || !tail_is_torn => {
                    self.apply_valid(&buf, offset);
                }
                Item::Bad {
                    offset,
                    len,
                    header,
                } if offset < valid_end || !tail_is_torn => self.report_bad(offset, len, header),
                _ => {}
            }
        }
        if tail_is_torn {
            self.report_torn_tail(&framing, valid_end, buf.len());
        } else if let Some(stop) = framing.stop {
            self.report_unreadable(&buf, stop);
        }
        Ok(())
    }

    fn apply_valid(&mut self, buf: &[u8], offset: usize) {
        let Decoded::Record(record) = record::decode(&buf[offset..]) else {
            debug_assert!(false, "framing found a valid record at {offset}");
            return;
        };
        self.report.records += 1;
        let header = record.header;
        let rejected = match header.kind {
            Kind::Message => self.apply_message(offset, &record),
            Kind::Delete => self.apply_delete(&record),
            Kind::SegmentHeader => self.apply_segment_header(offset, &record),
            Kind::SyncPoint => {
                self.index
                    .raise_floor(record.header.seq, record.header.timestamp);
                None
            }
        };
        if let Some(reason) = rejected {
            self.report.corrupt.push(CorruptRecord {
                segment: self.path.to_string(),
                offset: offset as u64,
                len_bytes: record.len_bytes() as u64,
                seq: (header.kind == Kind::Message).then_some(header.seq),
                reason,
            });
        }
    }

    fn apply_message(&mut self, offset: usize, record: &Record<'_>) -> Option<CorruptReason> {
        let seq = record.header.seq;
        if seq == 0 || seq <= self.index.last_seq {
            return Some(CorruptReason::OutOfOrder);
        }
        let slot = Slot {
            segment: self.id,
            offset: offset as u64,
            record_len: record.len_bytes() as u64,
            timestamp: record.header.timestamp,
            subject: bytes::Bytes::new(),
            size_bytes: msg_size_bytes(
                record.subject.len(),
                record.headers.len(),
                record.payload.len(),
            ),
        };
        self.index.insert(seq, record.subject, slot);
        None
    }

    fn apply_delete(&mut self, record: &Record<'_>) -> Option<CorruptReason> {
        let Some(ranges) = record::decode_ranges(record.payload) else {
            return Some(CorruptReason::BadRanges);
        };
        for (first, last) in ranges {
            self.index.delete_range(first, last);
        }
        self.index
            .raise_floor(record.header.seq, record.header.timestamp);
        None
    }

    fn apply_segment_header(
        &mut self,
        offset: usize,
        record: &Record<'_>,
    ) -> Option<CorruptReason> {
        if offset != 0 || record.payload != self.id.to_le_bytes() {
            return Some(CorruptReason::MisplacedSegmentHeader);
        }
        self.index
            .raise_floor(record.header.seq, record.header.timestamp);
        None
    }

    fn report_bad(&mut self, offset: usize, len: usize, header: Option<Header>) {
        let message_seq = header
            .filter(|h| h.kind == Kind::Message && h.seq > 0)
            .map(|h| h.seq);
        if let (Some(seq), Some(header)) = (message_seq, header) {
            self.index.mark_corrupt(seq, self.id);
            self.index.raise_floor(seq, header.timestamp);
        }
        self.report.corrupt.push(CorruptRecord {
            segment: self.path.to_string(),
            offset: offset as u64,
            len_bytes: len as u64,
            seq: message_seq,
            reason: if header.is_some() {
                CorruptReason::Crc
            } else {
                CorruptReason::Header
            },
        });
    }

    fn report_torn_tail(&mut self, framing: &Framing, valid_end: usize, len: usize) {
        let mut seqs = Vec::new();
        for item in &framing.items {
            if let Item::Bad {
                offset,
                header: Some(header),
                ..
            } = item
            {
                if *offset >= valid_end && header.kind == Kind::Message {
                    seqs.push(header.seq);
                }
            }
        }
        self.report.torn_tail = Some(TornTail {
            segment: self.path.to_string(),
            offset: valid_end as u64,
            len_bytes: (len - valid_end) as u64,
            seqs,
        });
    }

    fn report_unreadable(&mut self, buf: &[u8], stop: usize) {
        let mut records_found = 0;
        let mut at = stop + 1;
        while let Some(found) = next_valid_record(buf, at) {
            if let Decoded::Record(record) = record::decode(&buf[found..]) {
                records_found += 1;
                self.index
                    .raise_floor(record.header.seq, record.header.timestamp);
            }
            at = found + 1;
        }
        self.index.segments.entry(self.id).or_default().unreadable = true;
        self.report.unreadable.push(UnreadableRange {
            segment: self.path.to_string(),
            offset: stop as u64,
            len_bytes: (buf.len() - stop) as u64,
            records_found,
        });
    }
}

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod tests;
