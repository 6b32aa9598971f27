//! One stream: its config, its store, its duplicate window, its limits and max_age, and the
//! replies that wait for their data to be synced.
//!
//! # Acknowledgements wait for the disk
//! A PubAck (or a purge's or delete's reply) is queued with what it waits for; it is
//! released by [`Stream::release`] once the store reports that write durable (the default
//! [`SyncPolicy::Always`]), at once with [`SyncPolicy::Interval`] or a memory store. A
//! duplicate's ack waits for the first copy. When a sync fails, every waiting publish is
//! answered with an error instead: nothing unsynced is ever acknowledged.
//!
//! # max_age without trusting the wall clock
//! A message stored by this process is aged by the host's monotonic clock from when it was
//! stored. A message found at open is aged by its stored wall time as read once at open,
//! plus monotonic time since: a wall clock that jumps after open moves nothing. Expiry
//! removes the oldest messages first and never one younger than max_age by those clocks.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::jetstream::api::MsgSelector;
use crate::jetstream::config::{RetentionPolicy, StorageType, StreamConfig};
use crate::jetstream::dedupe::DedupeWindow;
use crate::jetstream::errors::JsError;
use crate::jetstream::headers::{header_value, MSG_ID};
use crate::jetstream::publish::{
    check_discard_new, check_publish, pub_ack, pub_ack_duplicate, pub_ack_error, Publish,
    PublishDecision, RollupScope, StreamTotals, StreamView,
};
use crate::jetstream::responses::StreamState;
use crate::store::{
    msg_size_bytes, Disk, DiskError, FileStore, FileStoreConfig, MemStore, PurgeRequest,
    RecoveryReport, Store, StoreError, StoredMsg, SyncPolicy, SyncRequest,
};
use crate::time::{Mono, Now, Wall};

/// At most this many messages expire per timer firing; the timer re-fires at once for more.
const EXPIRE_BATCH_MAX: usize = 4096;
/// After an expiry that could not be written, wait this long before trying again.
const EXPIRY_RETRY: Duration = Duration::from_secs(1);

/// A message for the broker to publish (a reply to a request or a PubAck).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub subject: Bytes,
    pub headers: Option<Bytes>,
    pub payload: Bytes,
}

impl Reply {
    pub fn json(subject: Bytes, json: String) -> Reply {
        Reply {
            subject,
            headers: None,
            payload: Bytes::from(json),
        }
    }
}

/// What a queued reply waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// The message at this sequence to be ackable.
    Seq(u64),
    /// This write (a removal or purge) to be durable.
    Write(u64),
}

/// A waiting reply. If the store fails first, a PubAck (waiting on a sequence) is answered
/// with an error instead; other replies are dropped (the requester times out).
#[derive(Debug)]
struct Waiting {
    wait: Wait,
    reply: Reply,
}

/// A stream's store: memory or file.
#[derive(Debug)]
enum StreamStore {
    Memory(MemStore),
    File(Box<FileStore>),
}

impl StreamStore {
    fn get(&self) -> &dyn Store {
        match self {
            StreamStore::Memory(store) => store,
            StreamStore::File(store) => &**store,
        }
    }

    fn get_mut(&mut self) -> &mut dyn Store {
        match self {
            StreamStore::Memory(store) => store,
            StreamStore::File(store) => &mut **store,
        }
    }
}

/// One stream. See the module docs.
#[derive(Debug)]
pub struct Stream {
    config: StreamConfig,
    created: Wall,
    /// The meta slot version last written (0 for a memory stream, which has none).
    pub(crate) meta_version: u64,
    store: StreamStore,
    sync: SyncPolicy,
    dedupe: DedupeWindow,
    /// `Nats-Msg-Id` of the last message stored (`""` if it had none).
    last_msg_id: String,
    /// Messages stored by this process and when, by the monotonic clock, oldest first (only
    /// while max_age is set: see [`Stream::set_config`]).
    stamps: VecDeque<(u64, Mono)>,
    /// Messages up to this sequence were found at open.
    recovered_last: u64,
    opened: Now,
    waiting: VecDeque<Waiting>,
    /// The oldest message's sequence and when it expires, cached (loading a recovered
    /// message's time stamp reads the disk).
    front_expiry: Option<(u64, Mono)>,
    /// Expiry failed to write (a full disk, a failed store): not before this time again, so
    /// a due expiry that cannot run does not make the timer fire in a loop.
    expiry_retry_at: Option<Mono>,
}

/// Where a file stream keeps its data, and how it syncs.
#[derive(Clone)]
pub struct FileBacking {
    pub disk: Arc<dyn Disk>,
    pub dir: String,
    pub sync: SyncPolicy,
    pub segment_bytes_max: u64,
}

impl Stream {
    /// A stream over a new or existing store: a memory store, or the file store in
    /// `backing` (running its recovery; the report says what it found). Rebuilds the
    /// duplicate window from the messages stored within it.
    pub fn open(
        config: StreamConfig,
        created: Wall,
        backing: Option<FileBacking>,
        now: Now,
    ) -> Result<(Stream, Option<RecoveryReport>), StoreError> {
        let (store, sync, report) = match (config.storage, backing) {
            (StorageType::File, Some(backing)) => {
                let store = FileStore::open(
                    backing.disk,
                    FileStoreConfig {
                        dir: backing.dir,
                        segment_bytes_max: backing.segment_bytes_max,
                        sync: backing.sync,
                    },
                )?;
                let report = store.recovery_report().clone();
                (
                    StreamStore::File(Box::new(store)),
                    backing.sync,
                    Some(report),
                )
            }
            _ => (
                StreamStore::Memory(MemStore::new()),
                SyncPolicy::Always,
                None,
            ),
        };
        let recovered_last = store.get().state().last_seq;
        let mut stream = Stream {
            dedupe: DedupeWindow::from_nanos(config.duplicate_window_nanos),
            config,
            created,
            meta_version: 0,
            store,
            sync,
            last_msg_id: String::new(),
            stamps: VecDeque::new(),
            recovered_last,
            opened: now,
            waiting: VecDeque::new(),
            front_expiry: None,
            expiry_retry_at: None,
        };
        stream.rebuild_dedupe(now);
        // Removals that limits made before a crash may not have been synced: make them again
        // (each subject to its limit, then the totals oldest first, as publishing did).
        stream.apply_limits();
        Ok((stream, report))
    }

    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    pub fn created(&self) -> Wall {
        self.created
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Whether a message on `subject` is stored here.
    pub fn matches(&self, subject: &[u8]) -> bool {
        self.config
            .subjects
            .iter()
            .any(|filter| crate::routing::subject_matches(filter.as_bytes(), subject))
    }

    /// A new config from STREAM.UPDATE (already checked). When max_age changes, the messages
    /// stored so far are aged from their wall time as read now, like recovered ones (stamps
    /// are only kept while a max_age is set).
    pub fn set_config(&mut self, config: StreamConfig, now: Now) {
        self.dedupe.set_window(nanos(config.duplicate_window_nanos));
        if config.max_age_nanos != self.config.max_age_nanos {
            self.stamps.clear();
            self.recovered_last = self.store.get().state().last_seq;
            self.opened = now;
        }
        self.config = config;
        self.front_expiry = None;
    }

    /// The ids of messages stored within the duplicate window, from the newest back, and the
    /// last message's id.
    fn rebuild_dedupe(&mut self, now: Now) {
        let store = self.store.get();
        let state = store.state();
        let window = self.dedupe.window();
        let mut seq = state.last_seq;
        let mut first = true;
        while seq >= state.first_seq && seq > 0 {
            if let Ok(msg) = store.load_msg(seq) {
                let id = header_value(&msg.headers, MSG_ID)
                    .and_then(|id| std::str::from_utf8(id).ok())
                    .unwrap_or("");
                if first {
                    self.last_msg_id = id.to_string();
                    first = false;
                }
                let age = now
                    .wall
                    .as_unix_nanos()
                    .saturating_sub(msg.timestamp.as_unix_nanos());
                if age >= 0 && nanos(age) >= window {
                    break;
                }
                if !id.is_empty() && self.dedupe.get(id, now.mono).is_none() {
                    self.dedupe
                        .insert_recovered(id.to_string(), seq, msg.timestamp, now);
                }
            }
            seq -= 1;
        }
    }

    /// A message published on one of the stream's subjects. Replies (if `reply` is set) go to
    /// `out`, now or once durable (see [`Stream::release`]).
    pub fn publish(
        &mut self,
        now: Now,
        subject: &[u8],
        reply: Option<&Bytes>,
        headers: Option<&Bytes>,
        payload: &Bytes,
        out: &mut Vec<Reply>,
    ) {
        let subject_text = String::from_utf8_lossy(subject);
        let header_block = headers.map_or(&b""[..], |h| &h[..]);
        let message = Publish {
            subject: &subject_text,
            headers: header_block,
            payload_len: payload.len(),
        };
        let view = View {
            store: self.store.get(),
            last_msg_id: &self.last_msg_id,
        };
        let decision = check_publish(&self.config, &message, &view, &self.dedupe, now.mono);
        let (msg_id, rollup) = match decision {
            PublishDecision::Reject(error) => {
                if let Some(reply) = reply {
                    out.push(self.error_ack(reply, &error));
                }
                return;
            }
            PublishDecision::Duplicate { seq } => {
                if let Some(reply) = reply {
                    let ack = pub_ack_duplicate(&self.config.name, None, seq);
                    self.wait_for(Wait::Seq(seq), Reply::json(reply.clone(), ack), out);
                }
                return;
            }
            PublishDecision::Store { msg_id, rollup } => (msg_id, rollup),
        };
        let size = msg_size_bytes(subject.len(), header_block.len(), payload.len());
        if let Err(error) = check_discard_new(&self.config, &view, &subject_text, size) {
            if let Some(reply) = reply {
                out.push(self.error_ack(reply, &error));
            }
            return;
        }
        let stored = self.store.get_mut().store_msg(
            subject,
            headers.cloned().unwrap_or_default(),
            payload.clone(),
            now.wall,
        );
        let seq = match stored {
            Ok(seq) => seq,
            Err(error) => {
                tracing::error!(
                    "JetStream failed to store a msg on stream '{}': {error}",
                    self.config.name
                );
                if let Some(reply) = reply {
                    let error = JsError::StreamStoreFailed(error.to_string());
                    out.push(self.error_ack(reply, &error));
                }
                return;
            }
        };
        if self.config.max_age_nanos > 0 {
            self.stamps.push_back((seq, now.mono));
        }
        match msg_id {
            Some(id) => {
                self.dedupe.insert(id.clone(), seq, now.mono);
                self.last_msg_id = id;
            }
            None => self.last_msg_id.clear(),
        }
        let after = self.after_store(seq, subject, rollup);
        if let Err(error) = after {
            tracing::error!(
                "JetStream failed to apply limits on stream '{}': {error}",
                self.config.name
            );
        }
        if let Some(reply) = reply {
            let ack = pub_ack(&self.config.name, None, seq);
            self.wait_for(Wait::Seq(seq), Reply::json(reply.clone(), ack), out);
        }
    }

    fn error_ack(&self, reply: &Bytes, error: &JsError) -> Reply {
        Reply::json(reply.clone(), pub_ack_error(&self.config.name, error))
    }

    /// Rollup, interest retention without consumers, then the limits (discard old).
    fn after_store(
        &mut self,
        seq: u64,
        subject: &[u8],
        rollup: Option<RollupScope>,
    ) -> Result<(), StoreError> {
        let store = self.store.get_mut();
        match rollup {
            Some(RollupScope::Subject) => {
                store.purge(PurgeRequest {
                    filter: Some(subject),
                    up_to_seq: Some(seq),
                    keep: None,
                })?;
            }
            Some(RollupScope::All) => {
                store.purge(PurgeRequest {
                    filter: None,
                    up_to_seq: Some(seq),
                    keep: None,
                })?;
            }
            None => {}
        }
        if self.config.retention == RetentionPolicy::Interest {
            // No consumer can be interested (consumers are not built): nats-server assigns
            // the sequence and acks, but keeps nothing.
            store.remove_msg(seq)?;
        }
        enforce_limits(&self.config, store, subject)
    }

    /// Queues `reply` until `wait` holds, or sends it now if it already does.
    fn wait_for(&mut self, wait: Wait, reply: Reply, out: &mut Vec<Reply>) {
        if self.waiting.is_empty() && self.holds(wait) {
            out.push(reply);
            return;
        }
        self.waiting.push_back(Waiting { wait, reply });
    }

    fn holds(&self, wait: Wait) -> bool {
        let store = self.store.get();
        match wait {
            Wait::Seq(seq) => store.ackable_seq() >= seq,
            Wait::Write(id) => {
                matches!(self.sync, SyncPolicy::Interval(_)) || store.durable_write_id() >= id
            }
        }
    }

    /// Moves every reply whose write is now durable to `out`, in order.
    pub fn release(&mut self, out: &mut Vec<Reply>) {
        while let Some(front) = self.waiting.front() {
            if !self.holds(front.wait) {
                break;
            }
            if let Some(waiting) = self.waiting.pop_front() {
                out.push(waiting.reply);
            }
        }
    }

    /// Files to sync, if any write waits for one.
    pub fn sync_request(&mut self, now: Mono) -> Option<SyncRequest> {
        self.store.get_mut().sync_request(now)
    }

    /// When an interval sync is due.
    pub fn sync_deadline(&self) -> Option<Mono> {
        self.store.get().sync_deadline()
    }

    /// A sync finished. Releases what it made durable; on failure, answers every waiting
    /// publish with an error (the store takes no more writes).
    pub fn synced(
        &mut self,
        request: &SyncRequest,
        result: Result<(), DiskError>,
        out: &mut Vec<Reply>,
    ) {
        let failed = result.is_err();
        if let Err(error) = &result {
            tracing::error!(
                "JetStream stream '{}' failed to sync, it takes no more writes: {error}",
                self.config.name
            );
        }
        self.store.get_mut().synced(request, result);
        self.release(out);
        if failed {
            let error = JsError::StreamStoreFailed(String::from("store failed to sync"));
            let payload = Bytes::from(pub_ack_error(&self.config.name, &error));
            for waiting in self.waiting.drain(..) {
                if let Wait::Seq(_) = waiting.wait {
                    out.push(Reply {
                        subject: waiting.reply.subject,
                        headers: None,
                        payload: payload.clone(),
                    });
                }
            }
        }
    }

    /// Why the store takes no more writes (a sync failed), if it does not.
    pub fn failure(&self) -> Option<String> {
        match &self.store {
            StreamStore::File(store) => store.failure().map(ToString::to_string),
            StreamStore::Memory(_) => None,
        }
    }

    /// Replies queued until a sync.
    pub fn waiting_count(&self) -> u64 {
        self.waiting.len() as u64
    }

    /// Whether writes wait for a sync request to be made.
    pub fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    // --- the API's operations ---------------------------------------------------------------

    /// The stream's totals, with per-subject counts for `subjects_filter` (if not empty) and
    /// the deleted sequences if asked.
    pub fn state(&self, subjects_filter: &str, deleted_details: bool) -> StreamState {
        let store = self.store.get();
        let state = store.state();
        let mut reported = StreamState {
            messages: state.msgs,
            bytes: state.bytes,
            first_seq: state.first_seq,
            first_ts: (state.msgs > 0).then_some(state.first_time),
            last_seq: state.last_seq,
            last_ts: (state.last_seq > 0).then_some(state.last_time),
            num_subjects: state.num_subjects,
            num_deleted: state.num_deleted,
            ..StreamState::default()
        };
        if !subjects_filter.is_empty() {
            reported.subjects = store
                .subjects(subjects_filter.as_bytes())
                .into_iter()
                .map(|(subject, count)| (String::from_utf8_lossy(&subject).into_owned(), count))
                .collect();
        }
        if deleted_details && state.msgs > 0 {
            let mut expected = state.first_seq;
            while let Some(seq) = store.next_seq(expected) {
                reported.deleted.extend(expected..seq);
                expected = seq + 1;
            }
        }
        reported
    }

    /// Bytes the stream holds.
    pub fn bytes(&self) -> u64 {
        self.store.get().state().bytes
    }

    /// A message for MSG.GET or a direct get.
    pub fn get(&self, selector: &MsgSelector) -> Result<StoredMsg, JsError> {
        let store = self.store.get();
        let found = match selector {
            MsgSelector::Seq(seq) => store.load_msg(*seq),
            MsgSelector::LastBySubject(subject) => store.load_last_by_subject(subject.as_bytes()),
            MsgSelector::NextBySubject { subject, from_seq } => {
                let mut seq = (*from_seq).max(1);
                loop {
                    let Some(next) = store.next_seq(seq) else {
                        break Err(StoreError::NotFound);
                    };
                    match store.load_msg(next) {
                        Ok(msg)
                            if crate::routing::subject_matches(
                                subject.as_bytes(),
                                &msg.subject,
                            ) =>
                        {
                            break Ok(msg)
                        }
                        _ => seq = next + 1,
                    }
                }
            }
        };
        found.map_err(|_| JsError::NoMessageFound)
    }

    /// PURGE: how many messages it removed. Reply with [`Stream::reply_after_write`].
    pub fn purge(&mut self, request: PurgeRequest<'_>) -> Result<u64, JsError> {
        let purged = self
            .store
            .get_mut()
            .purge(request)
            .map_err(|e| JsError::StreamGeneral(e.to_string()))?;
        self.front_expiry = None;
        self.trim_stamps();
        Ok(purged)
    }

    /// MSG.DELETE: `Ok(false)` when there is no such message. Reply with
    /// [`Stream::reply_after_write`].
    pub fn delete_msg(&mut self, seq: u64) -> Result<bool, JsError> {
        let removed = self
            .store
            .get_mut()
            .remove_msg(seq)
            .map_err(|e| JsError::StreamMsgDeleteFailed(e.to_string()))?;
        self.front_expiry = None;
        Ok(removed)
    }

    /// Sends `reply` once every write made so far is durable.
    pub fn reply_after_write(&mut self, reply: Reply, out: &mut Vec<Reply>) {
        let id = self.store.get().written_id();
        self.wait_for(Wait::Write(id), reply, out);
    }

    /// Applies the limits again (after an update lowered them).
    pub fn apply_limits(&mut self) {
        let subjects: Vec<Bytes> = self
            .store
            .get()
            .subjects(b">")
            .into_iter()
            .map(|(subject, _)| subject)
            .collect();
        let config = &self.config;
        let store = self.store.get_mut();
        // Every subject to its own limit first, then the totals, so that the totals never
        // take a message the per-subject limit would have kept over one it removes.
        let mut result = Ok(());
        if config.max_msgs_per_subject > 0 {
            for subject in &subjects {
                result = result.and_then(|()| enforce_subject_limit(config, store, subject));
            }
        }
        // A discard-new stream refused what would pass its totals: only an update lowering
        // them can leave it over, and then, as nats-server, the oldest go.
        let result = result.and_then(|()| enforce_total_limits(config, store));
        if let Err(error) = result {
            tracing::error!(
                "JetStream failed to apply limits on stream '{}': {error}",
                self.config.name
            );
        }
        self.front_expiry = None;
        self.trim_stamps();
    }

    /// The last sequence assigned.
    pub fn last_seq(&self) -> u64 {
        self.store.get().state().last_seq
    }

    // --- timers -----------------------------------------------------------------------------

    /// Expires what max_age and the duplicate window let go at `now`.
    pub fn handle_timeout(&mut self, now: Now) {
        self.dedupe.expire(now.mono);
        let Some(max_age) = self.max_age() else {
            return;
        };
        let mut up_to = None;
        let mut seq = 0;
        for _ in 0..EXPIRE_BATCH_MAX {
            let Some(next) = self.store.get().next_seq(seq + 1) else {
                break;
            };
            match self.expires_at(next, max_age) {
                Some(at) if at <= now.mono => up_to = Some(next),
                _ => break,
            }
            seq = next;
        }
        if let Some(last) = up_to {
            let purged = self.store.get_mut().purge(PurgeRequest {
                filter: None,
                up_to_seq: Some(last + 1),
                keep: None,
            });
            if let Err(error) = purged {
                tracing::error!(
                    "JetStream failed to expire messages on stream '{}' (retrying in {}s): {error}",
                    self.config.name,
                    EXPIRY_RETRY.as_secs()
                );
                self.expiry_retry_at = Some(now.mono + EXPIRY_RETRY);
                return;
            }
            self.expiry_retry_at = None;
            while self.stamps.front().is_some_and(|(s, _)| *s <= last) {
                self.stamps.pop_front();
            }
            self.front_expiry = None;
        }
    }

    fn max_age(&self) -> Option<Duration> {
        (self.config.max_age_nanos > 0).then(|| nanos(self.config.max_age_nanos))
    }

    /// When the message at `seq` expires (see the module docs), `None` if it is unknown.
    fn expires_at(&self, seq: u64, max_age: Duration) -> Option<Mono> {
        if seq <= self.recovered_last {
            let msg = self.store.get().load_msg(seq).ok()?;
            let age_at_open = self
                .opened
                .wall
                .as_unix_nanos()
                .saturating_sub(msg.timestamp.as_unix_nanos())
                .max(0);
            let left = max_age.saturating_sub(nanos(age_at_open));
            return Some(self.opened.mono + left);
        }
        let at = self.stamps.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        Some(self.stamps[at].1 + max_age)
    }

    /// When [`Stream::handle_timeout`] next has something to do (max_age, the duplicate
    /// window). Caches the oldest message's expiry.
    pub fn next_deadline(&mut self) -> Option<Mono> {
        let dedupe = self.dedupe.next_expiry();
        let expiry = self.max_age().and_then(|max_age| {
            let first = self.store.get().next_seq(1)?;
            match self.front_expiry {
                Some((seq, at)) if seq == first => Some(at),
                _ => {
                    let at = self.expires_at(first, max_age)?;
                    self.front_expiry = Some((first, at));
                    Some(at)
                }
            }
        });
        let expiry = match (expiry, self.expiry_retry_at) {
            (Some(at), Some(retry)) => Some(at.max(retry)),
            (expiry, _) => expiry,
        };
        [dedupe, expiry, self.sync_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Drops stamps of messages that are gone (after removals), keeping the deque small.
    pub fn trim_stamps(&mut self) {
        let first = self.store.get().state().first_seq;
        while self.stamps.front().is_some_and(|(s, _)| *s < first) {
            self.stamps.pop_front();
        }
    }
}

/// Discard old: drop the oldest messages (of the subject, for max_msgs_per_subject) until
/// the stream is within its limits.
fn enforce_limits(
    config: &StreamConfig,
    store: &mut dyn Store,
    subject: &[u8],
) -> Result<(), StoreError> {
    enforce_subject_limit(config, store, subject)?;
    enforce_total_limits(config, store)
}

fn enforce_subject_limit(
    config: &StreamConfig,
    store: &mut dyn Store,
    subject: &[u8],
) -> Result<(), StoreError> {
    let per_subject_max = u64::try_from(config.max_msgs_per_subject).unwrap_or(0);
    if per_subject_max > 0 {
        while let Some(state) = store.subject_state(subject) {
            if state.msgs <= per_subject_max || !store.remove_msg(state.first_seq)? {
                break;
            }
        }
    }
    Ok(())
}

fn enforce_total_limits(config: &StreamConfig, store: &mut dyn Store) -> Result<(), StoreError> {
    let over = |store: &dyn Store| {
        let state = store.state();
        let msgs = u64::try_from(config.max_msgs).is_ok_and(|max| max > 0 && state.msgs > max);
        let bytes = u64::try_from(config.max_bytes).is_ok_and(|max| max > 0 && state.bytes > max);
        (msgs || bytes) && state.msgs > 0
    };
    while over(store) {
        let Some(first) = store.next_seq(1) else {
            break;
        };
        if !store.remove_msg(first)? {
            break;
        }
    }
    Ok(())
}

fn nanos(n: i64) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap_or(0))
}

/// The store as the publish checks see it.
struct View<'a> {
    store: &'a dyn Store,
    last_msg_id: &'a str,
}

impl StreamView for View<'_> {
    fn last_seq(&self) -> u64 {
        self.store.state().last_seq
    }

    fn last_msg_id(&self) -> &str {
        self.last_msg_id
    }

    fn last_seq_for_subject(&self, filter: &str) -> Option<u64> {
        self.store
            .load_last_by_subject(filter.as_bytes())
            .ok()
            .map(|msg| msg.seq)
    }
}

impl StreamTotals for View<'_> {
    fn msgs(&self) -> u64 {
        self.store.state().msgs
    }

    fn bytes(&self) -> u64 {
        self.store.state().bytes
    }

    fn subject_msgs(&self, subject: &str) -> u64 {
        self.store
            .subject_state(subject.as_bytes())
            .map_or(0, |s| s.msgs)
    }

    fn subject_first_msg_bytes(&self, subject: &str) -> Option<u64> {
        let state = self.store.subject_state(subject.as_bytes())?;
        let msg = self.store.load_msg(state.first_seq).ok()?;
        Some(msg_size_bytes(
            msg.subject.len(),
            msg.headers.len(),
            msg.payload.len(),
        ))
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
