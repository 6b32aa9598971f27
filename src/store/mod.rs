//! Message storage for streams: a memory store and a crash-safe file store behind one trait.
//!
//! - [`Disk`] is the only way the core reaches storage (small, synchronous, positional); the
//!   runtime implements it over real files, [`MemDisk`] over memory with injected faults.
//! - [`Store`] is what a stream needs: append a message and get its sequence, load by sequence
//!   or by last subject, remove, purge (all, by subject filter, keep N, up to a sequence),
//!   expire by age, and the state (first/last sequence, counts, bytes, per-subject counts).
//! - [`MemStore`] keeps messages in memory; [`FileStore`] in segment files of CRC-framed
//!   records ([`record`]) with an in-memory index rebuilt by recovery at open.
//!
//! # Group commit (sans-IO)
//!
//! A store never waits for a sync. [`Store::store_msg`] writes through [`Disk::write_at`] at
//! once (page-cache fast) and returns the sequence, but the message is not acknowledged yet:
//! the host asks [`Store::sync_request`] which files need a sync, runs [`Disk::sync`] on each
//! (off its driver thread), and hands the result to [`Store::synced`]. Then
//! [`Store::durable_seq`] covers every message written before the request, and the caller acks
//! up to [`Store::ackable_seq`]. One sync request is in flight at a time; writes made while it
//! runs wait for the next one, so one sync covers every write waiting in the batch. With
//! [`SyncPolicy::Interval`] (the relaxed mode a user must ask for) `ackable_seq` is the last
//! written sequence and syncs run every interval. A failed sync fails the store: nothing
//! written since the last good sync is ever reported durable, and every later write, remove or
//! purge returns [`StoreError::Failed`] (reads still work); reopening runs recovery.
//!
//! Removals and purges are writes too (delete records in the file store): each write gets an
//! id ([`Store::written_id`]) that is durable once [`Store::durable_write_id`] reaches it.

pub mod commit;
pub mod disk;
#[cfg(feature = "fault-injection")]
pub mod faults;
pub mod file;
mod index;
pub mod mem_disk;
pub mod memory;
pub mod record;
pub mod recovery;
mod subjects;

use std::fmt;

use bytes::Bytes;

use crate::time::{Mono, Wall};

pub use commit::{SyncPolicy, SyncRequest};
pub use disk::{Disk, DiskError};
pub use file::{FileStore, FileStoreConfig};
pub use mem_disk::{DiskOp, FaultEvent, MemDisk};
pub use memory::MemStore;
pub use recovery::{CorruptReason, CorruptRecord, RecoveryReport, TornTail, UnreadableRange};

/// A message as stored, with its sequence and the wall time it was stored at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMsg {
    pub seq: u64,
    pub timestamp: Wall,
    pub subject: Bytes,
    pub headers: Bytes,
    pub payload: Bytes,
}

/// A store's totals, as nats-server's `StreamState` counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreState {
    pub msgs: u64,
    /// Sum of [`msg_size_bytes`] over the messages.
    pub bytes: u64,
    /// The oldest message's sequence; `last_seq + 1` when there is none (0 for a new store).
    pub first_seq: u64,
    pub first_time: Wall,
    /// The last sequence assigned, even if that message is gone.
    pub last_seq: u64,
    pub last_time: Wall,
    pub num_subjects: u64,
    /// Sequences between first and last that hold no message (removed, or corrupt).
    pub num_deleted: u64,
}

/// One subject's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubjectState {
    pub msgs: u64,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// What to purge, as nats-server's `PurgeEx(subject, seq, keep)`: the messages matching
/// `filter` (all for `None` or `>`), only those below `up_to_seq` (exclusive), and of those
/// only the oldest, leaving the newest `keep` matching messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeRequest<'a> {
    pub filter: Option<&'a [u8]>,
    pub up_to_seq: Option<u64>,
    pub keep: Option<u64>,
}

impl PurgeRequest<'_> {
    /// Everything.
    pub fn all() -> PurgeRequest<'static> {
        PurgeRequest::default()
    }

    /// Whether this removes every message and every sequence below a bound, whatever its
    /// subject (so the file store can write one range).
    fn unfiltered(&self) -> bool {
        self.keep.is_none() && self.filter.is_none_or(|filter| filter == b">")
    }
}

/// Why a store operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// No message at that sequence (never stored, removed, or purged).
    NotFound,
    /// The record at that sequence failed its CRC or checks: it is never served.
    Corrupt { seq: u64 },
    /// An empty subject, a subject over 65,535 bytes, or headers or payload over 4 GiB.
    InvalidMessage,
    /// No sequence is left (the last one is `u64::MAX`).
    SequencesExhausted,
    /// A sync failed earlier: the store takes no more writes (see the module docs).
    Failed(DiskError),
    /// The disk refused an operation; nothing was changed.
    Disk(DiskError),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound => f.write_str("no message found"),
            StoreError::Corrupt { seq } => write!(f, "message {seq} is corrupt"),
            StoreError::InvalidMessage => f.write_str("invalid message"),
            StoreError::SequencesExhausted => f.write_str("no sequences left"),
            StoreError::Failed(cause) => write!(f, "store failed after a sync error: {cause}"),
            StoreError::Disk(cause) => write!(f, "disk error: {cause}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<DiskError> for StoreError {
    fn from(cause: DiskError) -> StoreError {
        StoreError::Disk(cause)
    }
}

/// A message's size in byte totals, as nats-server's file store counts it (`fileStoreMsgSize`):
/// 22 bytes of framing, the subject, headers (with 4 more bytes when there are any), payload,
/// and an 8-byte hash. Both stores count this, so limits agree whatever the storage.
pub fn msg_size_bytes(subject_len: usize, headers_len: usize, payload_len: usize) -> u64 {
    let headers = if headers_len == 0 { 0 } else { 4 + headers_len };
    (22 + subject_len + headers + payload_len + 8) as u64
}

/// The checks both stores make before storing: a subject that is not empty and fits the
/// record's 16-bit length, headers and payload that fit 32 bits.
fn check_message(subject: &[u8], headers: &[u8], payload: &[u8]) -> Result<(), StoreError> {
    let fits = !subject.is_empty()
        && u16::try_from(subject.len()).is_ok()
        && u32::try_from(headers.len()).is_ok()
        && u32::try_from(payload.len()).is_ok();
    fits.then_some(()).ok_or(StoreError::InvalidMessage)
}

/// A stream's storage. See the module docs for group commit; a [`MemStore`] is durable at once.
pub trait Store {
    /// Stores a message stamped `timestamp`; returns its sequence (the last plus one).
    fn store_msg(
        &mut self,
        subject: &[u8],
        headers: Bytes,
        payload: Bytes,
        timestamp: Wall,
    ) -> Result<u64, StoreError>;

    /// The message at `seq`.
    fn load_msg(&self, seq: u64) -> Result<StoredMsg, StoreError>;

    /// The newest message whose subject matches `filter` (which may have wildcards).
    fn load_last_by_subject(&self, filter: &[u8]) -> Result<StoredMsg, StoreError>;

    /// The smallest sequence at or after `start` that holds a message.
    fn next_seq(&self, start: u64) -> Option<u64>;

    /// Removes the message at `seq`; `false` if there is none.
    fn remove_msg(&mut self, seq: u64) -> Result<bool, StoreError>;

    /// Removes what `request` selects; returns how many messages.
    fn purge(&mut self, request: PurgeRequest<'_>) -> Result<u64, StoreError>;

    /// Removes messages stamped before `cutoff`, oldest first, stopping at the first one that
    /// is not (so a message stamped out of order, after a wall clock jump back, waits for the
    /// ones before it, and nothing is removed before its own time). Returns how many.
    fn expire_before(&mut self, cutoff: Wall) -> Result<u64, StoreError>;

    fn state(&self) -> StoreState;

    /// One subject's counts (`subject` is literal); `None` if it has no message.
    fn subject_state(&self, subject: &[u8]) -> Option<SubjectState>;

    /// Message counts of the subjects matching `filter`, sorted by subject.
    fn subjects(&self, filter: &[u8]) -> Vec<(Bytes, u64)>;

    /// Files to sync now, if any writes wait for one and no sync is in flight (and, with
    /// [`SyncPolicy::Interval`], the interval has passed at `now`).
    fn sync_request(&mut self, now: Mono) -> Option<SyncRequest>;

    /// The outcome of running `request` (every file synced, or the first error).
    fn synced(&mut self, request: &SyncRequest, result: Result<(), DiskError>);

    /// When to call [`Store::sync_request`] again for an interval sync.
    fn sync_deadline(&self) -> Option<Mono>;

    /// Every message up to this sequence is on disk.
    fn durable_seq(&self) -> u64;

    /// Messages up to this sequence may be acknowledged: `durable_seq` unless the policy is
    /// [`SyncPolicy::Interval`].
    fn ackable_seq(&self) -> u64;

    /// The id of the last write (message, removal or purge).
    fn written_id(&self) -> u64;

    /// Every write up to this id is on disk.
    fn durable_write_id(&self) -> u64;
}

#[cfg(test)]
mod proptests;
