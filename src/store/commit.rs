//! Group commit as state: which files wait for a sync, what a sync covers, what is durable.
//!
//! The store tells [`GroupCommit`] about every write; the host pulls one [`SyncRequest`] at a
//! time, runs it, and reports back. Everything written before a request was made is durable
//! once that request succeeds. A failed sync fails the store for good (see the store module).

use std::collections::BTreeSet;
use std::time::Duration;

use super::disk::{Disk, DiskError};
use crate::time::Mono;

/// When the file store syncs, and so when a write may be acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Acknowledge only what a sync covered (the default: no acknowledged write is lost).
    #[default]
    Always,
    /// Acknowledge at once and sync every interval, as nats-server's `sync_interval`: a crash
    /// loses up to an interval of acknowledged writes. Only for users who ask for it.
    Interval(Duration),
}

/// Files to sync, and what that sync covers. The host runs it (e.g. with [`SyncRequest::run`])
/// and hands the result to the store's `synced`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRequest {
    /// Paths to sync, sorted.
    pub files: Vec<String>,
    /// The last message sequence written before the request.
    pub seq: u64,
    /// The last write id before the request.
    pub write_id: u64,
    /// Tells requests apart, so a stale result is not mistaken for the current one.
    id: u64,
}

impl SyncRequest {
    /// Syncs every file in order; stops at the first error.
    pub fn run(&self, disk: &dyn Disk) -> Result<(), DiskError> {
        self.files.iter().try_for_each(|path| disk.sync(path))
    }
}

#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    policy: SyncPolicy,
    /// Files written since their last sync request.
    dirty: BTreeSet<String>,
    written_seq: u64,
    written_id: u64,
    durable_seq: u64,
    durable_id: u64,
    in_flight: Option<SyncRequest>,
    next_request_id: u64,
    /// When the last request was made (for the interval policy).
    last_request_at: Option<Mono>,
    failure: Option<DiskError>,
}

impl GroupCommit {
    /// A tracker for a store whose last sequence is `seq`. What recovery read may be only in
    /// the page cache (a process restart is not a power cut), so nothing is called durable
    /// until the first sync, which the store makes cover every file it found.
    pub fn new(policy: SyncPolicy, seq: u64) -> GroupCommit {
        GroupCommit {
            policy,
            written_seq: seq,
            ..GroupCommit::default()
        }
    }

    /// Records a write to `path`; `seq` for a message. Returns the write's id.
    pub fn wrote(&mut self, path: &str, seq: Option<u64>) -> u64 {
        if !self.dirty.contains(path) {
            self.dirty.insert(path.to_string());
        }
        if let Some(seq) = seq {
            debug_assert!(seq > self.written_seq, "message sequences only grow");
            self.written_seq = seq;
        }
        self.written_id += 1;
        self.written_id
    }

    /// Marks `path` as needing a sync with no new write (a file found at recovery).
    pub fn mark_dirty(&mut self, path: &str) {
        self.dirty.insert(path.to_string());
    }

    /// Forgets a removed file: it needs no sync.
    pub fn forget(&mut self, path: &str) {
        self.dirty.remove(path);
    }

    /// Whether `path` is in the sync request in flight (so it must not be removed yet).
    pub fn is_in_flight(&self, path: &str) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|request| request.files.iter().any(|file| file == path))
    }

    pub fn failure(&self) -> Option<&DiskError> {
        self.failure.as_ref()
    }

    /// Whether [`GroupCommit::request`] would make a request at `now`.
    pub fn is_due(&self, now: Mono) -> bool {
        if self.dirty.is_empty() || self.in_flight.is_some() || self.failure.is_some() {
            return false;
        }
        match self.policy {
            SyncPolicy::Always => true,
            SyncPolicy::Interval(interval) => {
                self.last_request_at.is_none_or(|at| now >= at + interval)
            }
        }
    }

    /// Whether `path` was written since the last request.
    pub fn is_dirty(&self, path: &str) -> bool {
        self.dirty.contains(path)
    }

    pub fn request(&mut self, now: Mono) -> Option<SyncRequest> {
        if !self.is_due(now) {
            return None;
        }
        self.next_request_id += 1;
        let request = SyncRequest {
            files: std::mem::take(&mut self.dirty).into_iter().collect(),
            seq: self.written_seq,
            write_id: self.written_id,
            id: self.next_request_id,
        };
        self.last_request_at = Some(now);
        self.in_flight = Some(request.clone());
        Some(request)
    }

    pub fn synced(&mut self, request: &SyncRequest, result: Result<(), DiskError>) {
        if self.in_flight.as_ref().is_none_or(|r| r.id != request.id) {
            debug_assert!(false, "synced() with a request that is not in flight");
            return;
        }
        self.in_flight = None;
        match result {
            Ok(()) => {
                debug_assert!(
                    request.seq >= self.durable_seq,
                    "durability never regresses"
                );
                debug_assert!(
                    request.seq <= self.written_seq,
                    "a sync covers what was written"
                );
                self.durable_seq = request.seq;
                self.durable_id = request.write_id;
            }
            Err(cause) => {
                // The files' state is unknown now (a failed fsync may have dropped dirty
                // pages): keep them dirty so nothing they hold is ever called durable.
                self.dirty.extend(request.files.iter().cloned());
                self.failure = Some(cause);
            }
        }
    }

    pub fn deadline(&self) -> Option<Mono> {
        match self.policy {
            SyncPolicy::Interval(interval) if !self.dirty.is_empty() => {
                Some(self.last_request_at.map_or(Mono::ZERO, |at| at + interval))
            }
            _ => None,
        }
    }

    pub fn durable_seq(&self) -> u64 {
        self.durable_seq
    }

    pub fn ackable_seq(&self) -> u64 {
        #[cfg(feature = "fault-injection")]
        if super::faults::ack_before_sync() {
            // The planted bug (src/store/faults.rs): ack what was written, synced or not.
            return self.written_seq;
        }
        match self.policy {
            SyncPolicy::Always => self.durable_seq,
            SyncPolicy::Interval(_) => self.written_seq,
        }
    }

    pub fn written_id(&self) -> u64 {
        self.written_id
    }

    pub fn durable_id(&self) -> u64 {
        self.durable_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: u64) -> Mono {
        Mono::from_nanos(millis * 1_000_000)
    }

    #[test]
    fn one_sync_covers_every_earlier_write() {
        let mut commit = GroupCommit::new(SyncPolicy::Always, 0);
        assert_eq!(commit.request(at(0)), None);
        commit.wrote("s1", Some(1));
        commit.wrote("s1", Some(2));
        let first = commit.request(at(0)).expect("writes wait");
        assert_eq!(
            (first.files.clone(), first.seq),
            (vec!["s1".to_string()], 2)
        );
        commit.wrote("s2", Some(3));
        assert_eq!(commit.request(at(0)), None, "one request in flight");
        assert!(commit.is_in_flight("s1") && !commit.is_in_flight("s2"));
        commit.synced(&first, Ok(()));
        assert_eq!((commit.durable_seq(), commit.ackable_seq()), (2, 2));
        let second = commit.request(at(0)).expect("write 3 waits");
        assert_eq!(second.files, vec!["s2".to_string()]);
        commit.synced(&second, Ok(()));
        assert_eq!(commit.durable_seq(), 3);
        assert_eq!(commit.durable_id(), commit.written_id());
    }

    #[test]
    fn a_failed_sync_is_never_durable() {
        let mut commit = GroupCommit::new(SyncPolicy::Always, 5);
        commit.wrote("s", Some(6));
        let request = commit.request(at(0)).unwrap();
        commit.synced(&request, Err(DiskError::Io("eio".into())));
        assert_eq!(commit.durable_seq(), 0, "not even what was there at open");
        assert!(commit.failure().is_some());
        assert_eq!(
            commit.request(at(0)),
            None,
            "a failed store asks for nothing"
        );
    }

    #[test]
    fn interval_acks_at_once_and_syncs_later() {
        let mut commit = GroupCommit::new(SyncPolicy::Interval(Duration::from_millis(10)), 0);
        commit.wrote("s", Some(1));
        assert_eq!(commit.ackable_seq(), 1);
        assert_eq!(commit.deadline(), Some(Mono::ZERO));
        let request = commit.request(at(3)).unwrap();
        commit.synced(&request, Ok(()));
        commit.wrote("s", Some(2));
        assert_eq!(commit.deadline(), Some(at(13)));
        assert_eq!(commit.request(at(12)), None);
        assert!(commit.request(at(13)).is_some());
        assert_eq!(commit.durable_seq(), 1);
    }
}
