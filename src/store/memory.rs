//! `MemStore`: messages in memory (streams with `storage: memory`, and the file store's
//! reference model in tests).
//!
//! A message is durable as soon as it is stored: there is nothing to sync, so `durable_seq`
//! and `ackable_seq` are the last sequence and `sync_request` is always `None`.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::subjects::{purge_selection, SubjectIndex};
use super::{
    check_message, msg_size_bytes, DiskError, PurgeRequest, Store, StoreError, StoreState,
    StoredMsg, SubjectState, SyncRequest,
};
use crate::time::{Mono, Wall};

/// Messages in a `BTreeMap` by sequence, with a per-subject index.
#[derive(Debug, Default)]
pub struct MemStore {
    msgs: BTreeMap<u64, StoredMsg>,
    subjects: SubjectIndex,
    bytes: u64,
    last_seq: u64,
    last_time: Wall,
    written_id: u64,
}

fn size_of(msg: &StoredMsg) -> u64 {
    msg_size_bytes(msg.subject.len(), msg.headers.len(), msg.payload.len())
}

impl MemStore {
    pub fn new() -> MemStore {
        MemStore::default()
    }

    fn remove_seqs(&mut self, seqs: &[u64]) -> u64 {
        let mut removed = 0;
        for seq in seqs {
            let Some(msg) = self.msgs.remove(seq) else {
                continue;
            };
            self.subjects.remove(&msg.subject, msg.seq);
            self.bytes -= size_of(&msg);
            removed += 1;
        }
        if removed > 0 {
            self.written_id += 1;
        }
        removed
    }
}

impl Store for MemStore {
    fn store_msg(
        &mut self,
        subject: &[u8],
        headers: Bytes,
        payload: Bytes,
        timestamp: Wall,
    ) -> Result<u64, StoreError> {
        check_message(subject, &headers, &payload)?;
        let seq = self
            .last_seq
            .checked_add(1)
            .ok_or(StoreError::SequencesExhausted)?;
        let subject = self.subjects.insert(subject, seq);
        let msg = StoredMsg {
            seq,
            timestamp,
            subject,
            headers,
            payload,
        };
        self.bytes += size_of(&msg);
        self.msgs.insert(seq, msg);
        self.last_seq = seq;
        self.last_time = timestamp;
        self.written_id += 1;
        Ok(seq)
    }

    fn load_msg(&self, seq: u64) -> Result<StoredMsg, StoreError> {
        self.msgs.get(&seq).cloned().ok_or(StoreError::NotFound)
    }

    fn load_last_by_subject(&self, filter: &[u8]) -> Result<StoredMsg, StoreError> {
        let seq = self
            .subjects
            .last_matching(filter)
            .ok_or(StoreError::NotFound)?;
        self.load_msg(seq)
    }

    fn next_seq(&self, start: u64) -> Option<u64> {
        self.msgs.range(start..).next().map(|(seq, _)| *seq)
    }

    fn remove_msg(&mut self, seq: u64) -> Result<bool, StoreError> {
        Ok(self.remove_seqs(&[seq]) == 1)
    }

    fn purge(&mut self, request: PurgeRequest<'_>) -> Result<u64, StoreError> {
        let matching: Vec<u64> = match request.filter {
            Some(filter) if filter != b">" => self.subjects.seqs_matching(filter),
            _ => self.msgs.keys().copied().collect(),
        };
        let selected = purge_selection(&matching, request.up_to_seq, request.keep);
        Ok(self.remove_seqs(selected))
    }

    fn expire_before(&mut self, cutoff: Wall) -> Result<u64, StoreError> {
        let expired: Vec<u64> = self
            .msgs
            .values()
            .take_while(|msg| msg.timestamp < cutoff)
            .map(|msg| msg.seq)
            .collect();
        Ok(self.remove_seqs(&expired))
    }

    fn state(&self) -> StoreState {
        let first = self.msgs.values().next();
        let msgs = self.msgs.len() as u64;
        let first_seq = match first {
            Some(msg) => msg.seq,
            None if self.last_seq == 0 => 0,
            None => self.last_seq + 1,
        };
        StoreState {
            msgs,
            bytes: self.bytes,
            first_seq,
            first_time: first.map_or(Wall::default(), |msg| msg.timestamp),
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

    fn subject_state(&self, subject: &[u8]) -> Option<SubjectState> {
        self.subjects.state(subject)
    }

    fn subjects(&self, filter: &[u8]) -> Vec<(Bytes, u64)> {
        self.subjects.counts(filter)
    }

    fn sync_request(&mut self, _now: Mono) -> Option<SyncRequest> {
        None
    }

    fn synced(&mut self, _request: &SyncRequest, _result: Result<(), DiskError>) {
        debug_assert!(false, "a memory store never asks for a sync");
    }

    fn sync_deadline(&self) -> Option<Mono> {
        None
    }

    fn durable_seq(&self) -> u64 {
        self.last_seq
    }

    fn ackable_seq(&self) -> u64 {
        self.last_seq
    }

    fn written_id(&self) -> u64 {
        self.written_id
    }

    fn durable_write_id(&self) -> u64 {
        self.written_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(store: &mut MemStore, subject: &str, nanos: i64) -> u64 {
        store
            .store_msg(
                subject.as_bytes(),
                Bytes::new(),
                Bytes::from(format!("{subject}@{nanos}")),
                Wall::from_unix_nanos(nanos),
            )
            .expect("valid message")
    }

    #[test]
    fn store_load_remove() {
        let mut ms = MemStore::new();
        assert_eq!(ms.state().first_seq, 0);
        assert_eq!(store(&mut ms, "a", 1), 1);
        assert_eq!(store(&mut ms, "b", 2), 2);
        assert_eq!(store(&mut ms, "a", 3), 3);
        assert_eq!(ms.load_msg(2).unwrap().payload, "b@2");
        assert_eq!(ms.load_last_by_subject(b"a").unwrap().seq, 3);
        assert_eq!(ms.load_last_by_subject(b"*").unwrap().seq, 3);
        assert!(ms.remove_msg(2).unwrap());
        assert!(!ms.remove_msg(2).unwrap());
        assert_eq!(ms.load_msg(2), Err(StoreError::NotFound));
        let state = ms.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (2, 1, 3));
        assert_eq!(state.num_deleted, 1);
        assert_eq!(state.bytes, 2 * msg_size_bytes(1, 0, 3));
        assert_eq!(ms.next_seq(2), Some(3));
        assert!(ms.remove_msg(1).unwrap() && ms.remove_msg(3).unwrap());
        let state = ms.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (0, 4, 3));
        assert_eq!(store(&mut ms, "c", 4), 4, "sequences are never reused");
    }

    #[test]
    fn purge_variants() {
        let mut ms = MemStore::new();
        for (i, subject) in ["a.1", "b.1", "a.2", "a.1", "b.2", "a.1"]
            .iter()
            .enumerate()
        {
            store(&mut ms, subject, i as i64);
        }
        let keep_one = PurgeRequest {
            filter: Some(b"a.1"),
            keep: Some(1),
            ..PurgeRequest::default()
        };
        assert_eq!(ms.purge(keep_one).unwrap(), 2);
        assert_eq!(ms.subject_state(b"a.1").unwrap().first_seq, 6);
        let below_five = PurgeRequest {
            filter: Some(b"b.*"),
            up_to_seq: Some(5),
            ..PurgeRequest::default()
        };
        assert_eq!(ms.purge(below_five).unwrap(), 1);
        assert_eq!(
            ms.subjects(b">"),
            vec![
                (Bytes::from_static(b"a.1"), 1),
                (Bytes::from_static(b"a.2"), 1),
                (Bytes::from_static(b"b.2"), 1)
            ]
        );
        assert_eq!(ms.purge(PurgeRequest::all()).unwrap(), 3);
        assert_eq!(ms.state().first_seq, 7);
        assert_eq!(ms.state().bytes, 0);
    }

    #[test]
    fn expiry_stops_at_the_first_young_message() {
        let mut ms = MemStore::new();
        for nanos in [10, 20, 5, 30] {
            store(&mut ms, "x", nanos);
        }
        assert_eq!(ms.expire_before(Wall::from_unix_nanos(25)).unwrap(), 3);
        assert_eq!(ms.state().first_seq, 4);
        assert_eq!(ms.expire_before(Wall::from_unix_nanos(30)).unwrap(), 0);
    }

    #[test]
    fn invalid_messages_refused() {
        let mut ms = MemStore::new();
        let empty = ms.store_msg(b"", Bytes::new(), Bytes::new(), Wall::default());
        assert_eq!(empty, Err(StoreError::InvalidMessage));
        assert_eq!(ms.state().last_seq, 0);
    }
}
