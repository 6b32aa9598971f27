//! JetStream on one server: every stream, the `$JS.API.` requests, and the syncs that
//! acknowledgements wait for. Sans-IO: it writes through a [`Disk`] (quick, page-cache
//! writes) but never waits for a sync; it hands [`SyncJob`]s to the host, which runs them off
//! its driver thread and hands back [`SyncDone`].
//!
//! The broker feeds it every published message whose subject is under `$JS.API.` or matches
//! a stream ([`JetStream::handle_message`]) and publishes the replies it makes
//! ([`JetStream::take_replies`]) to their subjects like any other message.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::jetstream::api::{
    self, check_delete_request, decode_list_request, decode_msg_delete_request,
    decode_msg_get_request, decode_purge_request, msg_delete_missing, page, parse_api_subject,
    requires_newer_api, ApiSubject, LIST_LIMIT, NAMES_LIMIT,
};
use crate::jetstream::config::{decode_config_request, StorageType, StreamConfig};
use crate::jetstream::direct::{
    direct_get_headers, parse_direct_get, parse_direct_get_last, DirectGetStatus,
};
use crate::jetstream::errors::JsError;
use crate::jetstream::json::to_json;
use crate::jetstream::meta::{self, StreamMeta};
use crate::jetstream::responses::{
    not_supported_reply, response_type, AccountInfoResponse, AccountLimits, AccountUsage,
    MsgGetResponse, StoredMessage, StreamCreateResponse, StreamInfo, StreamInfoResponse,
    StreamListResponse, StreamNamesResponse, StreamPurgeResponse, StreamUpdateResponse,
    SuccessResponse, SUBJECT_DETAILS_LIMIT,
};
use crate::jetstream::stream::{FileBacking, Reply, Stream};
use crate::jetstream::subjects::{any_subjects_overlap, subjects_overlap};
use crate::jetstream::validate::{
    check_create_config, check_create_request, check_storage_reservation, prepare_update,
    same_config_for_create,
};
use crate::routing::{SubId, Sublist};
use crate::store::{Disk, DiskError, PurgeRequest, SyncPolicy, SyncRequest};
use crate::time::{Mono, Now};
use rustc_hash::FxHashMap;

/// How JetStream stores and syncs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JetStreamConfig {
    /// When acks may be sent: after a sync (the default) or at once with a periodic sync.
    pub sync: SyncPolicy,
    /// Bytes all memory streams may reserve with `max_bytes`; -1 for no limit.
    pub memory_bytes_max: i64,
    /// Bytes all file streams may reserve with `max_bytes`; -1 for no limit.
    pub file_bytes_max: i64,
    pub segment_bytes_max: u64,
    /// Where the host keeps the files, for monitoring to show (the core never uses it).
    pub store_dir: String,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        JetStreamConfig {
            sync: SyncPolicy::Always,
            memory_bytes_max: -1,
            file_bytes_max: -1,
            segment_bytes_max: 8 * 1024 * 1024,
            store_dir: String::new(),
        }
    }
}

/// A sync for the host to run off its driver thread: [`SyncJob::run`], then
/// [`JetStream::handle_synced`] (through the broker).
pub struct SyncJob {
    stream: String,
    generation: u64,
    request: SyncRequest,
    disk: Arc<dyn Disk>,
}

impl std::fmt::Debug for SyncJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncJob")
            .field("stream", &self.stream)
            .field("generation", &self.generation)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

/// The outcome of a [`SyncJob`].
#[derive(Debug)]
pub struct SyncDone {
    stream: String,
    generation: u64,
    request: SyncRequest,
    result: Result<(), DiskError>,
}

impl SyncJob {
    /// Syncs every file of the request (blocking). Safe on any thread.
    pub fn run(self) -> SyncDone {
        let result = self.request.run(&*self.disk);
        SyncDone {
            stream: self.stream,
            generation: self.generation,
            request: self.request,
            result,
        }
    }

    pub fn files(&self) -> &[String] {
        &self.request.files
    }
}

struct Entry {
    /// Tells a stream apart from an earlier one of the same name (a sync result for a deleted
    /// stream is ignored).
    generation: u64,
    stream: Stream,
    /// A sync of this stream is running.
    syncing: bool,
}

/// What [`JetStream::open`] found on disk.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// One line per stream recovered, and per problem (a stream that could not be opened is
    /// left on disk untouched, and not served).
    pub lines: Vec<String>,
}

/// Every stream on this server. See the module docs.
pub struct JetStream {
    config: JetStreamConfig,
    disk: Arc<dyn Disk>,
    streams: BTreeMap<String, Entry>,
    /// Every stream's subjects, to the stream's generation: which stream (if any) a published
    /// subject is for, in one walk of a trie whatever the number of streams, where a scan of
    /// every stream's subjects would cost each core publish more with each stream added.
    /// Without a match cache: most subjects are not for a stream and the walk stops at their
    /// first token, while caching them would copy every new subject (inboxes) into the cache.
    routes: Sublist,
    /// The stream name of each generation in `routes`.
    route_names: FxHashMap<u64, String>,
    next_generation: u64,
    server_name: String,
    api_total: u64,
    api_errors: u64,
    replies: Vec<Reply>,
}

impl JetStream {
    /// Opens every file stream found on `disk` (running each store's recovery).
    pub fn open(
        disk: Arc<dyn Disk>,
        config: JetStreamConfig,
        server_name: &str,
        now: Now,
    ) -> Result<(JetStream, OpenReport), DiskError> {
        let mut js = JetStream {
            config,
            disk,
            streams: BTreeMap::new(),
            routes: Sublist::new(0),
            route_names: FxHashMap::default(),
            next_generation: 1,
            server_name: server_name.to_string(),
            api_total: 0,
            api_errors: 0,
            replies: Vec::new(),
        };
        let mut report = OpenReport::default();
        for name in meta::list_streams(&*js.disk)? {
            let found = match meta::read(&*js.disk, &name) {
                Ok(found) => found,
                Err(error) => {
                    report
                        .lines
                        .push(format!("stream '{name}' not loaded: {error}"));
                    continue;
                }
            };
            match js.open_stream(&found, now) {
                Ok((stream, recovery)) => {
                    let state = stream.state("", false);
                    let mut line = format!(
                        "stream '{name}' recovered: {} messages, {} bytes, sequences {}..{}",
                        state.messages, state.bytes, state.first_seq, state.last_seq
                    );
                    if let Some(recovery) = recovery.filter(|r| !r.is_clean()) {
                        line.push_str(&format!("; damage found (never served): {recovery}"));
                    }
                    report.lines.push(line);
                    js.insert(stream);
                }
                Err(error) => report
                    .lines
                    .push(format!("stream '{name}' not loaded: {error}")),
            }
        }
        Ok((js, report))
    }

    fn backing(&self, name: &str) -> FileBacking {
        FileBacking {
            disk: Arc::clone(&self.disk),
            dir: meta::data_dir(name),
            sync: self.config.sync,
            segment_bytes_max: self.config.segment_bytes_max,
        }
    }

    fn open_stream(
        &self,
        found: &StreamMeta,
        now: Now,
    ) -> Result<(Stream, Option<crate::store::RecoveryReport>), crate::store::StoreError> {
        let backing = self.backing(&found.config.name);
        let (mut stream, report) =
            Stream::open(found.config.clone(), found.created, Some(backing), now)?;
        stream.meta_version = found.version;
        Ok((stream, report))
    }

    fn insert(&mut self, stream: Stream) {
        let generation = self.next_generation;
        self.next_generation += 1;
        self.route(generation, stream.name(), &stream.config().subjects);
        self.streams.insert(
            stream.name().to_string(),
            Entry {
                generation,
                stream,
                syncing: false,
            },
        );
    }

    /// Sends what is published on `subjects` to the stream of `generation`.
    fn route(&mut self, generation: u64, name: &str, subjects: &[String]) {
        for subject in subjects {
            // Stream subjects were checked when the stream was made (`checkStreamCfg`); one
            // the sublist refuses could never match a published subject anyway.
            if self
                .routes
                .insert(subject.as_bytes(), None, SubId(generation))
                .is_err()
            {
                tracing::warn!("JetStream stream '{name}': subject {subject:?} cannot be routed");
            }
        }
        self.route_names.insert(generation, name.to_string());
    }

    /// Undoes [`JetStream::route`].
    fn unroute(&mut self, generation: u64, subjects: &[String]) {
        for subject in subjects {
            // Fails only for a subject `route` could not insert.
            let _ = self
                .routes
                .remove(subject.as_bytes(), None, SubId(generation));
        }
        self.route_names.remove(&generation);
    }

    /// The generation of the stream a message on `subject` is stored in. Stream subjects may
    /// not overlap, so there is one at most; should streams from disk overlap all the same,
    /// the first by name takes it, as a scan of the streams in name order would.
    fn stream_for(&mut self, subject: &[u8]) -> Option<u64> {
        if self.route_names.is_empty() {
            return None;
        }
        let names = &self.route_names;
        self.routes.with_match(subject, |matched| {
            matched
                .plain
                .iter()
                .min_by_key(|id| names.get(&id.0))
                .map(|id| id.0)
        })
    }

    /// The model [`JetStream::stream_for`] is tested against: the first stream by name whose
    /// subjects match, by scanning them all.
    #[cfg(test)]
    pub(crate) fn stream_by_scan(&self, subject: &[u8]) -> Option<String> {
        self.streams
            .iter()
            .find(|(_, e)| e.stream.matches(subject))
            .map(|(name, _)| name.clone())
    }

    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// PubAcks queued until their message is on disk, over every stream.
    pub fn acks_waiting(&self) -> u64 {
        self.streams
            .values()
            .map(|e| e.stream.waiting_count())
            .sum()
    }

    /// Streams whose store failed, and why (for `/healthz`).
    pub fn failed_streams(&self) -> Vec<(String, String)> {
        self.streams
            .iter()
            .filter_map(|(name, e)| e.stream.failure().map(|why| (name.clone(), why)))
            .collect()
    }

    pub fn config(&self) -> &JetStreamConfig {
        &self.config
    }

    /// Messages and bytes over every stream.
    pub fn totals(&self) -> (u64, u64) {
        self.streams.values().fold((0, 0), |(msgs, bytes), e| {
            let state = e.stream.state("", false);
            (msgs + state.messages, bytes + state.bytes)
        })
    }

    /// Usage as `$JS.API.INFO` and `/jsz` report it.
    pub fn usage(&self) -> AccountUsage {
        let mut usage = AccountUsage {
            limits: AccountLimits {
                max_memory: self.config.memory_bytes_max,
                max_storage: self.config.file_bytes_max,
                ..AccountLimits::default()
            },
            api_total: self.api_total,
            api_errors: self.api_errors,
            streams: self.streams.len() as u64,
            ..AccountUsage::default()
        };
        for entry in self.streams.values() {
            let config = entry.stream.config();
            let bytes = entry.stream.bytes();
            let reserved = u64::try_from(config.max_bytes).unwrap_or(0);
            match config.storage {
                StorageType::Memory => {
                    usage.memory_bytes += bytes;
                    usage.reserved_memory_bytes += reserved;
                }
                StorageType::File => {
                    usage.storage_bytes += bytes;
                    usage.reserved_storage_bytes += reserved;
                }
            }
        }
        usage
    }

    /// Totals for monitoring: (messages, bytes, first..last per stream are in `stream_infos`).
    pub fn stream_infos(&self, now: Now) -> Vec<StreamInfo> {
        self.streams
            .values()
            .map(|e| {
                StreamInfo::reported(
                    e.stream.config(),
                    e.stream.created(),
                    e.stream.state("", false),
                    now.wall,
                )
            })
            .collect()
    }

    /// Whether a message on `subject` is for JetStream (the API or a stream).
    pub fn wants(&mut self, subject: &[u8]) -> bool {
        subject.starts_with(api::API_PREFIX.as_bytes()) || self.stream_for(subject).is_some()
    }

    /// A published message. Returns whether JetStream answers it (or stored it): when not,
    /// and nobody else received it, the broker may say no-responders.
    pub fn handle_message(
        &mut self,
        now: Now,
        subject: &Bytes,
        reply: Option<&Bytes>,
        headers: Option<&Bytes>,
        payload: &Bytes,
    ) -> bool {
        if subject.starts_with(api::API_PREFIX.as_bytes()) {
            let Ok(text) = std::str::from_utf8(subject) else {
                return false;
            };
            return self.handle_api(now, text, reply, headers, payload);
        }
        let Some(generation) = self.stream_for(subject) else {
            return false;
        };
        let entry = self
            .route_names
            .get(&generation)
            .and_then(|name| self.streams.get_mut(name));
        let Some(entry) = entry else {
            debug_assert!(false, "a routed stream is missing");
            return false;
        };
        entry
            .stream
            .publish(now, subject, reply, headers, payload, &mut self.replies);
        true
    }

    /// Replies ready to publish, in order.
    pub fn take_replies(&mut self) -> Vec<Reply> {
        std::mem::take(&mut self.replies)
    }

    pub fn has_replies(&self) -> bool {
        !self.replies.is_empty()
    }

    /// Syncs to run now: at most one per stream at a time.
    pub fn sync_jobs(&mut self, now: Mono) -> Vec<SyncJob> {
        let mut jobs = Vec::new();
        for (name, entry) in &mut self.streams {
            if entry.syncing {
                continue;
            }
            if let Some(request) = entry.stream.sync_request(now) {
                entry.syncing = true;
                jobs.push(SyncJob {
                    stream: name.clone(),
                    generation: entry.generation,
                    request,
                    disk: Arc::clone(&self.disk),
                });
            }
        }
        jobs
    }

    /// A sync finished: releases the acks it covers.
    pub fn handle_synced(&mut self, done: SyncDone) {
        let Some(entry) = self.streams.get_mut(&done.stream) else {
            return;
        };
        if entry.generation != done.generation {
            return;
        }
        entry.syncing = false;
        entry
            .stream
            .synced(&done.request, done.result, &mut self.replies);
    }

    /// Expiry (max_age, duplicate windows) due at `now`.
    pub fn handle_timeout(&mut self, now: Now) {
        for entry in self.streams.values_mut() {
            entry.stream.handle_timeout(now);
        }
    }

    /// The earliest time [`JetStream::handle_timeout`] (or an interval sync) is due.
    pub fn poll_timeout(&mut self) -> Option<Mono> {
        self.streams
            .values_mut()
            .filter_map(|e| e.stream.next_deadline())
            .min()
    }

    // --- the API ----------------------------------------------------------------------------

    fn handle_api(
        &mut self,
        now: Now,
        subject: &str,
        reply: Option<&Bytes>,
        headers: Option<&Bytes>,
        payload: &Bytes,
    ) -> bool {
        let Some(request) = parse_api_subject(subject) else {
            return false;
        };
        let header_block = headers.map_or(&b""[..], |h| &h[..]);
        // Direct gets answer only for streams that allow them; everything else answers.
        match request {
            ApiSubject::Unanswered => return false,
            ApiSubject::DirectGet { stream }
            | ApiSubject::DirectGetLastBySubject { stream, .. }
                if !self
                    .streams
                    .get(stream)
                    .is_some_and(|e| e.stream.config().allow_direct) =>
            {
                return false;
            }
            _ => {}
        }
        // nats-server drops API requests without a reply subject.
        let Some(reply) = reply else {
            return true;
        };
        self.api_total += 1;
        let answer = match request {
            ApiSubject::DirectGet { stream } => {
                let parsed = parse_direct_get(header_block, payload);
                self.direct_get(stream, parsed, reply);
                return true;
            }
            ApiSubject::DirectGetLastBySubject { stream, subject } => {
                let parsed = parse_direct_get_last(header_block, subject, payload);
                self.direct_get(stream, parsed, reply);
                return true;
            }
            ApiSubject::NotSupported {
                response_type,
                what,
            } => {
                let suffix = response_type;
                Answer::error(not_supported_reply(suffix, what))
            }
            _ if requires_newer_api(header_block) => {
                Answer::error(error_reply(&request, &JsError::RequiredApiLevel))
            }
            ApiSubject::AccountInfo => Answer::ok(to_json(&AccountInfoResponse::ok(&self.usage()))),
            ApiSubject::StreamCreate { stream } => self.stream_create(now, stream, payload),
            ApiSubject::StreamUpdate { stream } => self.stream_update(now, stream, payload),
            ApiSubject::StreamInfo { stream } => self.stream_info(now, stream, payload),
            ApiSubject::StreamDelete { stream } => self.stream_delete(stream, payload),
            ApiSubject::StreamPurge { stream } => {
                return self.stream_purge(stream, payload, reply);
            }
            ApiSubject::StreamMsgGet { stream } => self.msg_get(stream, payload),
            ApiSubject::StreamMsgDelete { stream } => {
                return self.msg_delete(stream, payload, reply);
            }
            ApiSubject::StreamList => self.stream_list(now, payload),
            ApiSubject::StreamNames => self.stream_names(payload),
            ApiSubject::Unanswered => return false,
        };
        if answer.is_error {
            self.api_errors += 1;
        }
        self.replies.push(Reply::json(reply.clone(), answer.json));
        true
    }

    fn direct_get(
        &mut self,
        stream: &str,
        parsed: Result<crate::jetstream::direct::DirectGet, DirectGetStatus>,
        reply: &Bytes,
    ) {
        let status_reply = |status: DirectGetStatus| Reply {
            subject: reply.clone(),
            headers: Some(Bytes::from_static(status.header_block())),
            payload: Bytes::new(),
        };
        let Some(entry) = self.streams.get(stream) else {
            return;
        };
        let get = match parsed {
            Ok(get) => get,
            Err(status) => {
                self.replies.push(status_reply(status));
                return;
            }
        };
        let msg = match entry.stream.get(&get.selector) {
            Ok(msg) => msg,
            Err(_) => {
                self.replies.push(status_reply(DirectGetStatus::NotFound));
                return;
            }
        };
        let headers = direct_get_headers(
            &msg.headers,
            stream,
            &String::from_utf8_lossy(&msg.subject),
            msg.seq,
            msg.timestamp,
            get.no_headers,
        );
        self.replies.push(Reply {
            subject: reply.clone(),
            headers: headers.map(Bytes::from),
            payload: msg.payload,
        });
    }

    fn stream_create(&mut self, now: Now, name: &str, body: &[u8]) -> Answer {
        let fail = |error: JsError| Answer::error(to_json(&StreamCreateResponse::error(&error)));
        let request = match decode_config_request(body) {
            Ok(request) => request,
            Err(error) => return fail(error),
        };
        let requested = match check_create_request(name, &request) {
            Ok(config) => config,
            Err(error) => return fail(error),
        };
        if let Err(error) = self.check_reservation(&requested, requested.max_bytes) {
            return fail(error);
        }
        let config = match check_create_config(&requested, request.pedantic) {
            Ok(config) => config,
            Err(error) => return fail(error),
        };
        if let Some(existing) = self.streams.get(name) {
            if !same_config_for_create(&config, existing.stream.config()) {
                return fail(JsError::StreamNameExists);
            }
            let info = self.reported_info(name, now);
            return Answer::ok(to_json(&StreamCreateResponse::ok(info)));
        }
        if let Err(error) = self.check_reservation(&config, config.max_bytes) {
            return fail(error);
        }
        if self.overlaps(name, &config.subjects) {
            return fail(JsError::StreamSubjectOverlap);
        }
        let created = now.wall;
        let stream = match config.storage {
            StorageType::Memory => Stream::open(config, created, None, now).map(|(s, _)| s),
            StorageType::File => {
                let meta = StreamMeta {
                    config: config.clone(),
                    created,
                    version: 1,
                };
                let written = meta::remove_data(&*self.disk, name)
                    .and_then(|()| meta::write(&*self.disk, &meta));
                if let Err(error) = written {
                    // Leave no half-written slot behind to be found at the next open.
                    let _ = meta::remove(&*self.disk, name);
                    return fail(JsError::StreamCreate(error.to_string()));
                }
                self.open_stream(&meta, now).map(|(s, _)| s)
            }
        };
        match stream {
            Ok(stream) => {
                self.insert(stream);
                let info = self.reported_info(name, now);
                Answer::ok(to_json(&StreamCreateResponse::ok(info)))
            }
            Err(error) => {
                let _ = meta::remove(&*self.disk, name);
                fail(JsError::StreamCreate(error.to_string()))
            }
        }
    }

    fn check_reservation(&self, config: &StreamConfig, max_bytes: i64) -> Result<(), JsError> {
        let server_max = match config.storage {
            StorageType::Memory => self.config.memory_bytes_max,
            StorageType::File => self.config.file_bytes_max,
        };
        if server_max < 0 {
            return Ok(());
        }
        let reserved: i64 = self
            .streams
            .iter()
            .filter(|(name, e)| {
                **name != config.name && e.stream.config().storage == config.storage
            })
            .map(|(_, e)| e.stream.config().max_bytes.max(0))
            .sum();
        check_storage_reservation(max_bytes, config.storage, reserved, server_max)
    }

    fn overlaps(&self, name: &str, subjects: &[String]) -> bool {
        self.streams.iter().any(|(other, e)| {
            other != name && any_subjects_overlap(subjects, &e.stream.config().subjects)
        })
    }

    fn reported_info(&self, name: &str, now: Now) -> StreamInfo {
        let entry = &self.streams[name];
        StreamInfo::reported(
            entry.stream.config(),
            entry.stream.created(),
            entry.stream.state("", false),
            now.wall,
        )
    }

    fn stream_update(&mut self, now: Now, name: &str, body: &[u8]) -> Answer {
        let fail = |error: JsError| Answer::error(to_json(&StreamUpdateResponse::error(&error)));
        let request = match decode_config_request(body) {
            Ok(request) => request,
            Err(error) => return fail(error),
        };
        let old = self.streams.get(name).map(|e| e.stream.config());
        let config = match prepare_update(name, &request, old) {
            Ok(config) => config,
            Err(error) => return fail(error),
        };
        if self.overlaps(name, &config.subjects) {
            return fail(JsError::StreamSubjectOverlap);
        }
        if let Err(error) = self.check_reservation(&config, config.max_bytes) {
            return fail(error);
        }
        let Some(entry) = self.streams.get_mut(name) else {
            return fail(JsError::StreamNotFound);
        };
        if config.storage == StorageType::File {
            let meta = StreamMeta {
                config: config.clone(),
                created: entry.stream.created(),
                version: entry.stream.meta_version + 1,
            };
            if let Err(error) = meta::write(&*self.disk, &meta) {
                return fail(JsError::StreamUpdate(error.to_string()));
            }
            entry.stream.meta_version = meta.version;
        }
        let (generation, old_subjects) = (entry.generation, entry.stream.config().subjects.clone());
        let new_subjects = config.subjects.clone();
        entry.stream.set_config(config, now);
        entry.stream.apply_limits();
        self.unroute(generation, &old_subjects);
        self.route(generation, name, &new_subjects);
        let info = self.reported_info(name, now);
        Answer::ok(to_json(&StreamUpdateResponse::ok(info)))
    }

    fn stream_info(&mut self, now: Now, name: &str, body: &[u8]) -> Answer {
        let fail = |error: JsError| Answer::error(to_json(&StreamInfoResponse::error(&error)));
        let request = match api::decode_info_request(body) {
            Ok(request) => request,
            Err(error) => return fail(error),
        };
        let Some(entry) = self.streams.get(name) else {
            return fail(JsError::StreamNotFound);
        };
        let mut state = entry
            .stream
            .state(&request.subjects_filter, request.deleted_details);
        let mut page_info = None;
        if !state.subjects.is_empty() {
            let all: Vec<(String, u64)> = std::mem::take(&mut state.subjects).into_iter().collect();
            let (subjects, total, offset) = page(all, request.offset, SUBJECT_DETAILS_LIMIT);
            state.subjects = subjects.into_iter().collect();
            page_info = Some((total, offset));
        }
        let info = StreamInfo::reported(
            entry.stream.config(),
            entry.stream.created(),
            state,
            now.wall,
        );
        let mut response = StreamInfoResponse::ok(info, &self.server_name);
        if let Some((total, offset)) = page_info {
            response = response.with_subjects_page(total, offset);
        }
        Answer::ok(to_json(&response))
    }

    fn stream_delete(&mut self, name: &str, body: &[u8]) -> Answer {
        let fail = |error: JsError| {
            Answer::error(to_json(&SuccessResponse::error(
                response_type::STREAM_DELETE,
                &error,
            )))
        };
        if let Err(error) = check_delete_request(body) {
            return fail(error);
        }
        let Some(entry) = self.streams.get(name) else {
            return fail(JsError::StreamNotFound);
        };
        if entry.stream.config().storage == StorageType::File {
            if let Err(error) = meta::remove(&*self.disk, name) {
                return fail(JsError::StreamDelete(error.to_string()));
            }
        }
        if let Some(entry) = self.streams.remove(name) {
            self.unroute(entry.generation, &entry.stream.config().subjects);
        }
        Answer::ok(to_json(&SuccessResponse::ok(response_type::STREAM_DELETE)))
    }

    fn stream_purge(&mut self, name: &str, body: &[u8], reply: &Bytes) -> bool {
        let result = self.try_purge(name, body, reply);
        if let Err(error) = result {
            self.api_errors += 1;
            let json = to_json(&StreamPurgeResponse::error(&error));
            self.replies.push(Reply::json(reply.clone(), json));
        }
        true
    }

    fn try_purge(&mut self, name: &str, body: &[u8], reply: &Bytes) -> Result<(), JsError> {
        let request = decode_purge_request(body)?;
        let entry = self.streams.get_mut(name).ok_or(JsError::StreamNotFound)?;
        let config = entry.stream.config();
        if config.sealed {
            return Err(JsError::StreamSealed);
        }
        if config.deny_purge {
            return Err(JsError::StreamPurgeFailed(String::from(
                "stream purge not permitted",
            )));
        }
        let request = request.unwrap_or_default();
        let purged = entry.stream.purge(PurgeRequest {
            filter: (!request.filter.is_empty()).then_some(request.filter.as_bytes()),
            up_to_seq: (request.seq > 0).then_some(request.seq),
            keep: (request.keep > 0).then_some(request.keep),
        })?;
        let json = to_json(&StreamPurgeResponse::ok(purged));
        entry
            .stream
            .reply_after_write(Reply::json(reply.clone(), json), &mut self.replies);
        Ok(())
    }

    fn msg_get(&mut self, name: &str, body: &[u8]) -> Answer {
        let fail = |error: JsError| Answer::error(to_json(&MsgGetResponse::error(&error)));
        let request = match decode_msg_get_request(body) {
            Ok(request) => request,
            Err(error) => return fail(error),
        };
        let Some(entry) = self.streams.get(name) else {
            return fail(JsError::StreamNotFound);
        };
        let selector = match request.selector() {
            Ok(selector) => selector,
            Err(error) => return fail(error),
        };
        match entry.stream.get(&selector) {
            Ok(msg) => {
                let message = StoredMessage {
                    subject: String::from_utf8_lossy(&msg.subject).into_owned(),
                    seq: msg.seq,
                    headers: msg.headers,
                    payload: msg.payload,
                    time: msg.timestamp,
                };
                Answer::ok(to_json(&MsgGetResponse::ok(message, request.no_hdr)))
            }
            Err(error) => fail(error),
        }
    }

    fn msg_delete(&mut self, name: &str, body: &[u8], reply: &Bytes) -> bool {
        if let Err(error) = self.try_msg_delete(name, body, reply) {
            self.api_errors += 1;
            let json = to_json(&SuccessResponse::error(
                response_type::STREAM_MSG_DELETE,
                &error,
            ));
            self.replies.push(Reply::json(reply.clone(), json));
        }
        true
    }

    fn try_msg_delete(&mut self, name: &str, body: &[u8], reply: &Bytes) -> Result<(), JsError> {
        let request = decode_msg_delete_request(body)?;
        let entry = self.streams.get_mut(name).ok_or(JsError::StreamNotFound)?;
        let config = entry.stream.config();
        if config.sealed {
            return Err(JsError::StreamSealed);
        }
        if config.deny_delete {
            return Err(JsError::StreamMsgDeleteFailed(String::from(
                "message delete not permitted",
            )));
        }
        if !entry.stream.delete_msg(request.seq)? {
            let state = entry.stream.state("", false);
            return Err(msg_delete_missing(
                request.seq,
                state.first_seq,
                state.last_seq,
            ));
        }
        let json = to_json(&SuccessResponse::ok(response_type::STREAM_MSG_DELETE));
        entry
            .stream
            .reply_after_write(Reply::json(reply.clone(), json), &mut self.replies);
        Ok(())
    }

    fn filtered_names(&self, filter: &str) -> Vec<&str> {
        self.streams
            .iter()
            .filter(|(_, e)| {
                filter.is_empty()
                    || e.stream
                        .config()
                        .subjects
                        .iter()
                        .any(|s| subjects_overlap(s, filter))
            })
            .map(|(name, _)| name.as_str())
            .collect()
    }

    fn stream_list(&mut self, now: Now, body: &[u8]) -> Answer {
        let request = match decode_list_request(body, false) {
            Ok(request) => request,
            Err(error) => return Answer::error(to_json(&StreamListResponse::error(&error))),
        };
        let names: Vec<String> = self
            .filtered_names(&request.subject)
            .into_iter()
            .map(str::to_string)
            .collect();
        let (names, total, offset) = page(names, request.offset, LIST_LIMIT);
        let infos = names
            .iter()
            .map(|name| {
                let e = &self.streams[name];
                StreamInfo {
                    config: e.stream.config().clone(),
                    created: e.stream.created(),
                    state: e.stream.state("", false),
                    domain: None,
                    cluster: None,
                    timestamp: now.wall,
                }
            })
            .collect();
        Answer::ok(to_json(&StreamListResponse::ok(infos, total, offset)))
    }

    fn stream_names(&mut self, body: &[u8]) -> Answer {
        let request = match decode_list_request(body, true) {
            Ok(request) => request,
            Err(error) => return Answer::error(to_json(&StreamNamesResponse::error(&error))),
        };
        let names: Vec<String> = self
            .filtered_names(&request.subject)
            .into_iter()
            .map(str::to_string)
            .collect();
        let (names, total, offset) = page(names, request.offset, NAMES_LIMIT);
        Answer::ok(to_json(&StreamNamesResponse::ok(names, total, offset)))
    }
}

/// A rendered API reply and whether it reports an error (for the API error count).
struct Answer {
    json: String,
    is_error: bool,
}

impl Answer {
    fn ok(json: String) -> Answer {
        Answer {
            json,
            is_error: false,
        }
    }

    fn error(json: String) -> Answer {
        Answer {
            json,
            is_error: true,
        }
    }
}

/// The error reply of `request`'s own type.
fn error_reply(request: &ApiSubject<'_>, error: &JsError) -> String {
    match request {
        ApiSubject::AccountInfo => to_json(&AccountInfoResponse::error(error)),
        ApiSubject::StreamCreate { .. } => to_json(&StreamCreateResponse::error(error)),
        ApiSubject::StreamUpdate { .. } => to_json(&StreamUpdateResponse::error(error)),
        ApiSubject::StreamInfo { .. } => to_json(&StreamInfoResponse::error(error)),
        ApiSubject::StreamPurge { .. } => to_json(&StreamPurgeResponse::error(error)),
        ApiSubject::StreamMsgGet { .. } => to_json(&MsgGetResponse::error(error)),
        ApiSubject::StreamMsgDelete { .. } => to_json(&SuccessResponse::error(
            response_type::STREAM_MSG_DELETE,
            error,
        )),
        ApiSubject::StreamList => to_json(&StreamListResponse::error(error)),
        ApiSubject::StreamNames => to_json(&StreamNamesResponse::error(error)),
        _ => to_json(&SuccessResponse::error(response_type::STREAM_DELETE, error)),
    }
}
