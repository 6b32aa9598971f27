//! The per-subject index both stores keep: each subject's sequences, in order.

use std::collections::BTreeSet;

use bytes::Bytes;
use rustc_hash::FxHashMap;

use super::SubjectState;
use crate::routing::{is_literal_subject, subject_matches};

/// Whether a stored `subject` matches `filter`: by equality for a literal filter (any bytes a
/// stream stored), by [`subject_matches`] for one with wildcards.
pub fn filter_matches(filter: &[u8], subject: &[u8]) -> bool {
    if is_literal_subject(filter) {
        filter == subject
    } else {
        subject_matches(filter, subject)
    }
}

/// Subject → its sequences. Subjects are interned: the key is shared with every message.
#[derive(Debug, Default)]
pub struct SubjectIndex {
    subjects: FxHashMap<Bytes, BTreeSet<u64>>,
}

impl SubjectIndex {
    /// Adds `seq` under `subject`; returns the interned subject.
    pub fn insert(&mut self, subject: &[u8], seq: u64) -> Bytes {
        let key = match self.subjects.get_key_value(subject) {
            Some((key, _)) => key.clone(),
            None => Bytes::copy_from_slice(subject),
        };
        let inserted = self.subjects.entry(key.clone()).or_default().insert(seq);
        debug_assert!(inserted, "a sequence is stored once");
        key
    }

    /// Removes `seq` from `subject`.
    pub fn remove(&mut self, subject: &[u8], seq: u64) {
        let Some(seqs) = self.subjects.get_mut(subject) else {
            debug_assert!(false, "removed subject {subject:?} is indexed");
            return;
        };
        let removed = seqs.remove(&seq);
        debug_assert!(removed, "removed sequence {seq} is indexed");
        if seqs.is_empty() {
            self.subjects.remove(subject);
        }
    }

    pub fn len(&self) -> usize {
        self.subjects.len()
    }

    pub fn state(&self, subject: &[u8]) -> Option<SubjectState> {
        let seqs = self.subjects.get(subject)?;
        Some(SubjectState {
            msgs: seqs.len() as u64,
            first_seq: *seqs.first()?,
            last_seq: *seqs.last()?,
        })
    }

    /// The subjects matching `filter` with their sequences, in no particular order.
    fn matching<'a>(
        &'a self,
        filter: &'a [u8],
    ) -> Box<dyn Iterator<Item = (&'a Bytes, &'a BTreeSet<u64>)> + 'a> {
        if is_literal_subject(filter) {
            return Box::new(self.subjects.get_key_value(filter).into_iter());
        }
        Box::new(
            self.subjects
                .iter()
                .filter(move |(subject, _)| filter_matches(filter, subject)),
        )
    }

    /// The last sequence of any subject matching `filter`.
    pub fn last_matching(&self, filter: &[u8]) -> Option<u64> {
        self.matching(filter)
            .filter_map(|(_, seqs)| seqs.last().copied())
            .max()
    }

    /// The sequences of every subject matching `filter`, ascending.
    pub fn seqs_matching(&self, filter: &[u8]) -> Vec<u64> {
        let mut seqs: Vec<u64> = self
            .matching(filter)
            .flat_map(|(_, seqs)| seqs.iter().copied())
            .collect();
        seqs.sort_unstable();
        seqs
    }

    /// Counts of the subjects matching `filter`, sorted by subject.
    pub fn counts(&self, filter: &[u8]) -> Vec<(Bytes, u64)> {
        let mut counts: Vec<(Bytes, u64)> = self
            .matching(filter)
            .map(|(subject, seqs)| (subject.clone(), seqs.len() as u64))
            .collect();
        counts.sort_unstable();
        counts
    }
}

/// What a purge removes, from the sequences (ascending) of the messages matching its filter:
/// those below `up_to_seq`, at most all but the newest `keep` (nats-server `PurgeEx`).
pub fn purge_selection(matching: &[u64], up_to_seq: Option<u64>, keep: Option<u64>) -> &[u64] {
    let total = matching.len();
    let keep = keep.map_or(0, |keep| usize::try_from(keep).unwrap_or(usize::MAX));
    let purgeable = total.saturating_sub(keep);
    let below = match up_to_seq {
        Some(bound) => matching.partition_point(|&seq| seq < bound),
        None => total,
    };
    &matching[..purgeable.min(below)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_tracks_first_last_and_counts() {
        let mut index = SubjectIndex::default();
        let a = index.insert(b"a.x", 1);
        index.insert(b"a.y", 2);
        let again = index.insert(b"a.x", 3);
        assert_eq!(a.as_ptr(), again.as_ptr(), "subjects are interned");
        assert_eq!(
            index.state(b"a.x"),
            Some(SubjectState {
                msgs: 2,
                first_seq: 1,
                last_seq: 3
            })
        );
        assert_eq!(index.last_matching(b"a.*"), Some(3));
        assert_eq!(index.seqs_matching(b"a.>"), vec![1, 2, 3]);
        assert_eq!(index.seqs_matching(b"a.y"), vec![2]);
        index.remove(b"a.x", 1);
        index.remove(b"a.x", 3);
        assert_eq!(index.state(b"a.x"), None);
        assert_eq!(index.len(), 1);
        assert_eq!(index.counts(b">"), vec![(Bytes::from_static(b"a.y"), 1)]);
    }

    #[test]
    fn literal_filters_match_by_equality() {
        assert!(filter_matches(b"a..b", b"a..b"));
        assert!(!filter_matches(b"a.*", b"a..b"));
        assert!(filter_matches(b"a.*", b"a.b"));
    }

    #[test]
    fn purge_selection_follows_purge_ex() {
        let seqs = [2, 4, 6, 8, 10];
        assert_eq!(purge_selection(&seqs, None, None), &seqs[..]);
        assert_eq!(purge_selection(&seqs, None, Some(2)), &[2, 4, 6]);
        assert_eq!(purge_selection(&seqs, None, Some(9)), &[] as &[u64]);
        assert_eq!(purge_selection(&seqs, Some(6), None), &[2, 4]);
        assert_eq!(purge_selection(&seqs, Some(1), None), &[] as &[u64]);
        assert_eq!(purge_selection(&seqs, Some(9), Some(3)), &[2, 4]);
    }
}
