//! `FileStore`: messages in segment files of CRC-framed records, over any [`Disk`].
//!
//! Layout: a directory of segments named by id (`00000000000000000001.seg`, ids only grow).
//! Each segment starts with a segment-header record (the last sequence assigned before it, so
//! sequences survive the removal of every message), then message and delete records in the
//! order they were made. A segment takes records until the next would pass
//! `segment_bytes_max` (a record larger than that gets a segment of its own).
//!
//! - Appends go to the current segment with one `write_at` per message (and one per removal
//!   or purge: a delete record of sequence ranges, so removals survive restarts). The in-memory
//!   index changes only after the write succeeded; a failed write changes nothing (the next
//!   write goes to the same offset).
//! - Loads read one record through the disk and check it (its CRCs, its sequence and subject
//!   against the index) before serving it: a record that fails is never served
//!   ([`StoreError::Corrupt`]); one retry covers a misdirected read.
//! - Opening runs recovery ([`super::recovery`]) and always appends to a new segment, so a
//!   damaged or truncated segment is never written again.
//! - A segment is removed when it holds nothing live, nothing corrupt and nothing unreadable,
//!   every older segment is gone, and a newer segment has been synced (it carries the floor).
//!
//! Group commit and the failure rule are in the module docs of [`super`].

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;

use super::commit::{GroupCommit, SyncPolicy, SyncRequest};
use super::disk::{join, Disk, DiskError};
use super::index::{FileIndex, SegmentInfo, Slot};
use super::record::{self, Decoded, Kind, RANGE_BYTES};
use super::recovery::{recover, segment_name, RecoveryReport};
use super::subjects::purge_selection;
use super::{
    check_message, msg_size_bytes, PurgeRequest, Store, StoreError, StoreState, StoredMsg,
    SubjectState,
};
use crate::time::{Mono, Wall};

/// Ranges per delete record (64 KiB of payload); a larger purge writes several records.
const DELETE_RANGES_PER_RECORD: usize = 4096;

/// Where and how a file store keeps its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStoreConfig {
    /// The store's directory, relative to the disk's root (`""` for the root itself).
    pub dir: String,
    /// A segment takes records until the next would make it larger than this.
    pub segment_bytes_max: u64,
    pub sync: SyncPolicy,
}

impl FileStoreConfig {
    /// 8 MiB segments, syncing before every acknowledgement.
    pub fn new(dir: &str) -> FileStoreConfig {
        FileStoreConfig {
            dir: dir.to_string(),
            segment_bytes_max: 8 * 1024 * 1024,
            sync: SyncPolicy::Always,
        }
    }
}

/// A crash-safe message store over a [`Disk`]. See the module docs.
pub struct FileStore {
    disk: Arc<dyn Disk>,
    config: FileStoreConfig,
    pub(super) index: FileIndex,
    commit: GroupCommit,
    /// The segment appends go to; made at the first write after open.
    current: Option<u64>,
    next_segment_id: u64,
    /// Reused encoding buffer.
    buf: Vec<u8>,
    report: RecoveryReport,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("config", &self.config)
            .field("state", &self.index.state())
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// Opens (or starts) the store in `config.dir`, running recovery. The report is also kept
    /// in [`FileStore::recovery_report`]. Every segment found is synced by the first sync
    /// request, since what recovery read may still be only in the page cache.
    pub fn open(disk: Arc<dyn Disk>, config: FileStoreConfig) -> Result<FileStore, StoreError> {
        let recovered = recover(&*disk, &config.dir)?;
        let mut commit = GroupCommit::new(config.sync, recovered.index.last_seq);
        for id in &recovered.segment_ids {
            commit.mark_dirty(&join(&config.dir, &segment_name(*id)));
        }
        let next_segment_id = recovered.segment_ids.last().map_or(1, |id| id + 1);
        let store = FileStore {
            disk,
            config,
            index: recovered.index,
            commit,
            current: None,
            next_segment_id,
            buf: Vec::new(),
            report: recovered.report,
        };
        store.check_index();
        Ok(store)
    }

    /// What recovery found at open.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    /// The sync error that failed the store, if one did.
    pub fn failure(&self) -> Option<&DiskError> {
        self.commit.failure()
    }

    /// Re-checks the index totals against its entries; panics if they disagree (for tests and
    /// fuzzing: the pair of every incremental update).
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        self.index.check();
    }

    /// Sequences whose records are known corrupt (never served), ascending.
    pub fn corrupt_seqs(&self) -> Vec<u64> {
        self.index.corrupt.keys().copied().collect()
    }

    fn segment_path(&self, id: u64) -> String {
        join(&self.config.dir, &segment_name(id))
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        match self.commit.failure() {
            Some(cause) => Err(StoreError::Failed(cause.clone())),
            None => Ok(()),
        }
    }

    /// Debug builds re-check the index totals after every change.
    fn check_index(&self) {
        if cfg!(debug_assertions) && self.index.slots.len() <= 4096 {
            self.index.check();
        }
    }

    /// A segment with room for `len` more bytes: the current one, or a new one.
    fn writable_segment(&mut self, len: u64) -> Result<(u64, u64), StoreError> {
        if let Some(id) = self.current {
            let used = self
                .index
                .segments
                .get(&id)
                .map_or(0, |info| info.len_bytes);
            let empty = used <= self.header_len();
            if empty || used.saturating_add(len) <= self.config.segment_bytes_max {
                return Ok((id, used));
            }
        }
        self.new_segment()
    }

    fn header_len(&self) -> u64 {
        (record::RECORD_BYTES_MIN + 8) as u64
    }

    /// Creates the next segment with its header record; it becomes the current one.
    fn new_segment(&mut self) -> Result<(u64, u64), StoreError> {
        let id = self.next_segment_id;
        let path = self.segment_path(id);
        let mut header = Vec::with_capacity(self.header_len() as usize);
        let (floor, time) = (self.index.last_seq, self.index.last_time);
        let payload = id.to_le_bytes();
        record::encode(
            &mut header,
            Kind::SegmentHeader,
            floor,
            time,
            b"",
            b"",
            &payload,
        )
        .expect("a segment header is small");
        self.disk.create(&path)?;
        if let Err(cause) = self.disk.write_at(&path, 0, &header) {
            // Best effort: an empty or partial segment is harmless to recovery anyway.
            let _ = self.disk.remove(&path);
            return Err(cause.into());
        }
        self.next_segment_id += 1;
        self.commit.wrote(&path, None);
        let info = SegmentInfo {
            len_bytes: header.len() as u64,
            ..SegmentInfo::default()
        };
        self.index.segments.insert(id, info);
        self.current = Some(id);
        Ok((id, header.len() as u64))
    }

    /// Writes `self.buf` as one append; returns the segment and offset it went to.
    fn append(&mut self, seq: Option<u64>) -> Result<(u64, u64), StoreError> {
        let len = self.buf.len() as u64;
        let (id, offset) = self.writable_segment(len)?;
        let path = self.segment_path(id);
        self.disk.write_at(&path, offset, &self.buf)?;
        let info = self
            .index
            .segments
            .get_mut(&id)
            .expect("the current segment");
        info.len_bytes = offset + len;
        self.commit.wrote(&path, seq);
        Ok((id, offset))
    }

    /// Writes delete records for `ranges`, then applies them; returns the messages removed.
    fn delete(&mut self, ranges: &[(u64, u64)]) -> Result<u64, StoreError> {
        self.check_writable()?;
        if ranges.is_empty() {
            return Ok(0);
        }
        self.buf.clear();
        let (floor, time) = (self.index.last_seq, self.index.last_time);
        let mut payload = Vec::with_capacity(DELETE_RANGES_PER_RECORD * RANGE_BYTES);
        for chunk in ranges.chunks(DELETE_RANGES_PER_RECORD) {
            payload.clear();
            record::encode_ranges(&mut payload, chunk);
            record::encode(&mut self.buf, Kind::Delete, floor, time, b"", b"", &payload)
                .expect("a delete record is at most 64 KiB");
        }
        self.append(None)?;
        let removed = ranges
            .iter()
            .map(|(first, last)| self.index.delete_range(*first, *last))
            .sum();
        self.remove_empty_segments();
        self.check_index();
        Ok(removed)
    }

    /// Appends a sync point to the current segment if it waits for a sync, so the sync about
    /// to be requested covers it (see [`Kind::SyncPoint`]). It goes in even past
    /// `segment_bytes_max`. When it cannot be written the sync waits (see `sync_request`).
    /// Returns `false` when the marker could not be written.
    fn write_sync_point(&mut self) -> bool {
        let Some(id) = self.current else {
            return true;
        };
        let path = self.segment_path(id);
        if !self.commit.is_dirty(&path) {
            return true;
        }
        self.buf.clear();
        let (seq, time) = (self.index.last_seq, self.index.last_time);
        record::encode(&mut self.buf, Kind::SyncPoint, seq, time, b"", b"", b"")
            .expect("a sync point is small");
        let info = self
            .index
            .segments
            .get_mut(&id)
            .expect("the current segment");
        if self
            .disk
            .write_at(&path, info.len_bytes, &self.buf)
            .is_err()
        {
            return false;
        }
        info.len_bytes += self.buf.len() as u64;
        self.commit.wrote(&path, None);
        true
    }

    /// Removes the oldest segments while they hold nothing and a newer synced one exists.
    fn remove_empty_segments(&mut self) {
        let newest_durable = self
            .index
            .segments
            .iter()
            .rev()
            .find(|(_, info)| info.durable)
            .map(|(id, _)| *id);
        while let Some((&id, info)) = self.index.segments.first_key_value() {
            let path = self.segment_path(id);
            let removable = newest_durable.is_some_and(|newest| id < newest)
                && Some(id) != self.current
                && info.live == 0
                && info.corrupt == 0
                && !info.unreadable
                && !self.commit.is_in_flight(&path);
            if !removable {
                return;
            }
            match self.disk.remove(&path) {
                Ok(()) | Err(DiskError::NotFound) => {}
                // Not fatal: the segment stays and is tried again later.
                Err(_) => return,
            }
            self.commit.forget(&path);
            self.index.segments.remove(&id);
        }
    }

    /// Reads and checks the record of `seq` at `slot`.
    fn read_msg(&self, seq: u64, slot: &Slot) -> Option<StoredMsg> {
        let len = usize::try_from(slot.record_len).ok()?;
        let mut buf = vec![0; len];
        let path = self.segment_path(slot.segment);
        let read = self.disk.read_at(&path, slot.offset, &mut buf).ok()?;
        if read != len {
            return None;
        }
        let Decoded::Record(record) = record::decode(&buf) else {
            return None;
        };
        let header = record.header;
        let matches = header.kind == Kind::Message
            && header.seq == seq
            && record.len_bytes() == len
            && record.subject == &slot.subject[..];
        if !matches {
            return None;
        }
        let subject_end = record::HEADER_BYTES + record.subject.len();
        let headers_end = subject_end + record.headers.len();
        let payload_end = headers_end + record.payload.len();
        let buf = Bytes::from(buf);
        Some(StoredMsg {
            seq,
            timestamp: header.timestamp,
            subject: slot.subject.clone(),
            headers: buf.slice(subject_end..headers_end),
            payload: buf.slice(headers_end..payload_end),
        })
    }
}

impl Store for FileStore {
    fn store_msg(
        &mut self,
        subject: &[u8],
        headers: Bytes,
        payload: Bytes,
        timestamp: Wall,
    ) -> Result<u64, StoreError> {
        self.check_writable()?;
        check_message(subject, &headers, &payload)?;
        let seq = self
            .index
            .last_seq
            .checked_add(1)
            .ok_or(StoreError::SequencesExhausted)?;
        self.buf.clear();
        let record_len = record::encode(
            &mut self.buf,
            Kind::Message,
            seq,
            timestamp,
            subject,
            &headers,
            &payload,
        )
        .map_err(|_| StoreError::InvalidMessage)?;
        let (segment, offset) = self.append(Some(seq))?;
        let slot = Slot {
            segment,
            offset,
            record_len: record_len as u64,
            timestamp,
            subject: Bytes::new(),
            size_bytes: msg_size_bytes(subject.len(), headers.len(), payload.len()),
        };
        self.index.insert(seq, subject, slot);
        Ok(seq)
    }

    fn load_msg(&self, seq: u64) -> Result<StoredMsg, StoreError> {
        let Some(slot) = self.index.slots.get(&seq) else {
            return match self.index.corrupt.contains_key(&seq) {
                true => Err(StoreError::Corrupt { seq }),
                false => Err(StoreError::NotFound),
            };
        };
        // A second read covers a misdirected one; a record that fails twice is corrupt.
        self.read_msg(seq, slot)
            .or_else(|| self.read_msg(seq, slot))
            .ok_or(StoreError::Corrupt { seq })
    }

    fn load_last_by_subject(&self, filter: &[u8]) -> Result<StoredMsg, StoreError> {
        let seq = self
            .index
            .subjects
            .last_matching(filter)
            .ok_or(StoreError::NotFound)?;
        self.load_msg(seq)
    }

    fn next_seq(&self, start: u64) -> Option<u64> {
        self.index.slots.range(start..).next().map(|(seq, _)| *seq)
    }

    /// Removes a message, or forgets a corrupt record (both return `true`).
    fn remove_msg(&mut self, seq: u64) -> Result<bool, StoreError> {
        self.check_writable()?;
        if !self.index.slots.contains_key(&seq) && !self.index.corrupt.contains_key(&seq) {
            return Ok(false);
        }
        self.delete(&[(seq, seq)])?;
        Ok(true)
    }

    fn purge(&mut self, request: PurgeRequest<'_>) -> Result<u64, StoreError> {
        self.check_writable()?;
        if request.unfiltered() {
            // Everything below the bound goes, corrupt records included: one range.
            let last = match request.up_to_seq {
                Some(bound) => bound.saturating_sub(1).min(self.index.last_seq),
                None => self.index.last_seq,
            };
            let first = self.index.slots.keys().next().copied();
            let first_corrupt = self.index.corrupt.keys().next().copied();
            let Some(first) = first.into_iter().chain(first_corrupt).min() else {
                return Ok(0);
            };
            return match first <= last {
                true => self.delete(&[(first, last)]),
                false => Ok(0),
            };
        }
        let matching: Vec<u64> = match request.filter {
            Some(filter) if filter != b">" => self.index.subjects.seqs_matching(filter),
            _ => self.index.slots.keys().copied().collect(),
        };
        let selected = purge_selection(&matching, request.up_to_seq, request.keep);
        let ranges = self.index.ranges(selected);
        self.delete(&ranges)
    }

    fn expire_before(&mut self, cutoff: Wall) -> Result<u64, StoreError> {
        self.check_writable()?;
        let expired: Vec<u64> = self
            .index
            .slots
            .iter()
            .take_while(|(_, slot)| slot.timestamp < cutoff)
            .map(|(seq, _)| *seq)
            .collect();
        let ranges = self.index.ranges(&expired);
        self.delete(&ranges)
    }

    fn state(&self) -> StoreState {
        self.index.state()
    }

    fn subject_state(&self, subject: &[u8]) -> Option<SubjectState> {
        self.index.subject_state(subject)
    }

    fn subjects(&self, filter: &[u8]) -> Vec<(Bytes, u64)> {
        self.index.subjects.counts(filter)
    }

    fn sync_request(&mut self, now: Mono) -> Option<SyncRequest> {
        // Without its sync point, recovery could not tell the synced last record from a torn
        // tail (a later bit flip in it would cut an acknowledged message): no sync, so no
        // ack, until the marker can be written (e.g. the disk has room again).
        if self.commit.is_due(now) && !self.write_sync_point() {
            return None;
        }
        self.commit.request(now)
    }

    fn synced(&mut self, request: &SyncRequest, result: Result<(), DiskError>) {
        let ok = result.is_ok();
        self.commit.synced(request, result);
        if !ok {
            return;
        }
        let synced: BTreeSet<&str> = request.files.iter().map(String::as_str).collect();
        let ids: Vec<u64> = self.index.segments.keys().copied().collect();
        for id in ids {
            if synced.contains(self.segment_path(id).as_str()) {
                self.index
                    .segments
                    .get_mut(&id)
                    .expect("listed just above")
                    .durable = true;
            }
        }
        self.remove_empty_segments();
    }

    fn sync_deadline(&self) -> Option<Mono> {
        self.commit.deadline()
    }

    fn durable_seq(&self) -> u64 {
        self.commit.durable_seq()
    }

    fn ackable_seq(&self) -> u64 {
        self.commit.ackable_seq()
    }

    fn written_id(&self) -> u64 {
        self.commit.written_id()
    }

    fn durable_write_id(&self) -> u64 {
        self.commit.durable_id()
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
