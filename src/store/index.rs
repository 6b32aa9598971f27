//! The file store's in-memory index: where each message is, each subject's sequences, which
//! sequences are known corrupt, and each segment's counts. Rebuilt by recovery at open.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::subjects::SubjectIndex;
use super::{StoreState, SubjectState};
use crate::time::Wall;

/// Where one message's record is, and what the index needs without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub segment: u64,
    pub offset: u64,
    pub record_len: u64,
    pub timestamp: Wall,
    pub subject: Bytes,
    pub size_bytes: u64,
}

/// One segment file's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentInfo {
    pub len_bytes: u64,
    /// Messages in it that are not removed.
    pub live: u64,
    /// Corrupt message records in it whose sequence is not removed.
    pub corrupt: u64,
    /// Recovery could not frame part of it: it is never removed automatically.
    pub unreadable: bool,
    /// A sync of it succeeded (or it was found at open and the first sync covered it).
    pub durable: bool,
}

#[derive(Debug, Default)]
pub struct FileIndex {
    pub slots: BTreeMap<u64, Slot>,
    pub subjects: SubjectIndex,
    /// Sequences whose record failed its CRC (with its segment): loads say `Corrupt`.
    pub corrupt: BTreeMap<u64, u64>,
    pub segments: BTreeMap<u64, SegmentInfo>,
    pub bytes: u64,
    pub last_seq: u64,
    pub last_time: Wall,
}

impl FileIndex {
    /// Raises the last assigned sequence to `seq` (stamped `timestamp`) if it is higher.
    pub fn raise_floor(&mut self, seq: u64, timestamp: Wall) {
        if seq > self.last_seq {
            self.last_seq = seq;
            self.last_time = timestamp;
        }
    }

    /// Adds a message at `seq` (above every sequence seen) on `subject`, which replaces the
    /// slot's own (so callers need not copy it: the index interns it).
    pub fn insert(&mut self, seq: u64, subject: &[u8], slot: Slot) {
        debug_assert!(seq > self.last_seq, "sequences only grow");
        self.raise_floor(seq, slot.timestamp);
        let subject = self.subjects.insert(subject, seq);
        self.bytes += slot.size_bytes;
        self.segments.entry(slot.segment).or_default().live += 1;
        self.slots.insert(seq, Slot { subject, ..slot });
    }

    /// Marks `seq` corrupt (its record in `segment` failed its check).
    pub fn mark_corrupt(&mut self, seq: u64, segment: u64) {
        if self.slots.contains_key(&seq) || self.corrupt.contains_key(&seq) {
            return;
        }
        self.corrupt.insert(seq, segment);
        self.segments.entry(segment).or_default().corrupt += 1;
    }

    /// Removes every message and corrupt mark in `first..=last`; returns how many messages.
    pub fn delete_range(&mut self, first: u64, last: u64) -> u64 {
        let seqs: Vec<u64> = self.slots.range(first..=last).map(|(s, _)| *s).collect();
        for seq in &seqs {
            let slot = self.slots.remove(seq).expect("collected from the map");
            self.subjects.remove(&slot.subject, *seq);
            self.bytes -= slot.size_bytes;
            let info = self.segments.entry(slot.segment).or_default();
            debug_assert!(info.live > 0, "a live message is counted in its segment");
            info.live = info.live.saturating_sub(1);
        }
        let corrupt: Vec<(u64, u64)> = self
            .corrupt
            .range(first..=last)
            .map(|(s, g)| (*s, *g))
            .collect();
        for (seq, segment) in corrupt {
            self.corrupt.remove(&seq);
            let info = self.segments.entry(segment).or_default();
            info.corrupt = info.corrupt.saturating_sub(1);
        }
        seqs.len() as u64
    }

    /// Whether anything (a message or a corrupt mark) is strictly between `low` and `high`.
    fn occupied_between(&self, low: u64, high: u64) -> bool {
        if high <= low + 1 {
            return false;
        }
        self.slots.range(low + 1..high).next().is_some()
            || self.corrupt.range(low + 1..high).next().is_some()
    }

    /// Inclusive ranges covering exactly `seqs` (ascending) among what the index holds: two
    /// neighbours join when nothing lies between them.
    pub fn ranges(&self, seqs: &[u64]) -> Vec<(u64, u64)> {
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for &seq in seqs {
            match ranges.last_mut() {
                Some((_, last)) if !self.occupied_between(*last, seq) => *last = seq,
                _ => ranges.push((seq, seq)),
            }
        }
        ranges
    }

    pub fn subject_state(&self, subject: &[u8]) -> Option<SubjectState> {
        self.subjects.state(subject)
    }

    pub fn state(&self) -> StoreState {
        let first = self.slots.iter().next();
        let msgs = self.slots.len() as u64;
        let first_seq = match first {
            Some((seq, _)) => *seq,
            None if self.last_seq == 0 => 0,
            None => self.last_seq + 1,
        };
        StoreState {
            msgs,
            bytes: self.bytes,
            first_seq,
            first_time: first.map_or(Wall::default(), |(_, slot)| slot.timestamp),
            last_seq: self.last_seq,
            last_time: self.last_time,
            num_subjects: self.subjects.len() as u64,
            num_deleted: if msgs == 0 {
                0
            } else {
                self.last_seq - first_seq + 1 - msgs
            },
        }
    }

    /// Checks the totals against the slots (tests and debug builds): the pair of every
    /// incremental update.
    pub fn check(&self) {
        let bytes: u64 = self.slots.values().map(|slot| slot.size_bytes).sum();
        assert_eq!(bytes, self.bytes, "byte total matches the slots");
        for (id, info) in &self.segments {
            let live = self.slots.values().filter(|s| s.segment == *id).count() as u64;
            assert_eq!(live, info.live, "segment {id} live count");
            let corrupt = self.corrupt.values().filter(|g| *g == id).count() as u64;
            assert_eq!(corrupt, info.corrupt, "segment {id} corrupt count");
        }
        for (seq, slot) in &self.slots {
            let state = self.subjects.state(&slot.subject).expect("indexed subject");
            assert!(state.first_seq <= *seq && *seq <= state.last_seq);
            assert!(!self.corrupt.contains_key(seq), "live and corrupt at once");
        }
        assert!(self.slots.keys().all(|seq| *seq <= self.last_seq));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(segment: u64) -> Slot {
        Slot {
            segment,
            offset: 0,
            record_len: 50,
            timestamp: Wall::default(),
            subject: Bytes::new(),
            size_bytes: 40,
        }
    }

    #[test]
    fn ranges_join_across_empty_gaps_only() {
        let mut index = FileIndex::default();
        for seq in 1..=6 {
            let subject: &[u8] = if seq % 2 == 0 { b"even" } else { b"odd" };
            index.insert(seq, subject, slot(1));
        }
        index.delete_range(3, 3);
        assert_eq!(index.ranges(&[2, 4, 6]), vec![(2, 4), (6, 6)]);
        index.mark_corrupt(8, 1);
        index.insert(9, b"odd", slot(1));
        assert_eq!(index.ranges(&[6, 9]), vec![(6, 6), (9, 9)]);
        index.check();
    }

    #[test]
    fn delete_range_updates_every_count() {
        let mut index = FileIndex::default();
        index.insert(1, b"a", slot(1));
        index.insert(2, b"a", slot(2));
        index.mark_corrupt(3, 2);
        index.raise_floor(3, Wall::default());
        assert_eq!(index.delete_range(1, 10), 2);
        assert!(index.corrupt.is_empty());
        assert_eq!(index.segments[&2], SegmentInfo::default());
        let state = index.state();
        assert_eq!(
            (state.msgs, state.bytes, state.first_seq, state.last_seq),
            (0, 0, 4, 3)
        );
        index.check();
    }
}
