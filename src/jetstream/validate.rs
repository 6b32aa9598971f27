//! Stream configuration rules: defaults and validation on create and update, in nats-server's
//! order and with its error texts (`checkStreamCfg`, `jsStreamCreateRequest`,
//! `addStreamWithAssignment` and `configUpdateCheck` in server/stream.go and
//! server/jetstream_api.go, 2.12.8).
//!
//! The order matters because a config with several faults gets the first one's error. Where
//! this server does not implement a feature it refuses it with [`JsError::StreamInvalidConfig`]
//! saying "... is not supported yet", at the point where nats-server would start validating
//! that feature (mirrors, sources) or, for the rest, after every nats-server check has passed,
//! so a config nats-server refuses gets nats-server's error.
//!
//! Deliberate difference: `num_replicas > 1` is refused on update as on create (10074).
//! nats-server 2.12.8 single-server accepts it on update and then reports `num_replicas: 3`
//! for a stream that has one copy; this server does not claim durability it does not have.

use crate::jetstream::config::{
    Compression, DiscardPolicy, PersistMode, RetentionPolicy, StorageType, StreamConfig,
    StreamConfigRequest,
};
use crate::jetstream::errors::JsError;
use crate::jetstream::json::go_quoted;
use crate::jetstream::subjects::{is_subset_match, is_valid_asset_name, subjects_overlap};
use crate::routing::is_valid_subject;

/// nats-server's `JSMaxNameLen`: stream names become directory names.
pub const STREAM_NAME_BYTES_MAX: usize = 255;
/// nats-server's `JSMaxDescriptionLen`.
pub const DESCRIPTION_BYTES_MAX: usize = 4 * 1024;
/// nats-server's `JSMaxMetadataLen`: keys plus values.
pub const METADATA_BYTES_MAX: usize = 128 * 1024;
/// nats-server's `StreamMaxReplicas`.
pub const REPLICAS_MAX: i64 = 5;
/// nats-server's `StreamDefaultDuplicatesWindow`: 2 minutes.
pub const DUPLICATE_WINDOW_DEFAULT_NANOS: i64 = 120_000_000_000;
/// The smallest max_age and duplicate_window nats-server accepts: 100 ms.
pub const WINDOW_MIN_NANOS: i64 = 100_000_000;
/// The smallest subject_delete_marker_ttl nats-server accepts: 1 s.
const DELETE_MARKER_TTL_MIN_NANOS: i64 = 1_000_000_000;
/// The JetStream API level this server reports (`_nats.level`), as nats-server 2.12.8.
pub const API_LEVEL: u32 = 3;
/// The version reported in `_nats.ver`: the nats-server release whose behaviour this follows.
pub const SERVER_VERSION: &str = "2.12.8";

const REQUIRED_LEVEL_KEY: &str = "_nats.req.level";
const SERVER_VERSION_KEY: &str = "_nats.ver";
const SERVER_LEVEL_KEY: &str = "_nats.level";

fn invalid(text: &str) -> JsError {
    JsError::StreamInvalidConfig(String::from(text))
}

fn unsupported(feature: &str) -> JsError {
    JsError::StreamInvalidConfig(format!("{feature} is not supported yet"))
}

fn pedantic_mode(text: &str) -> JsError {
    JsError::Pedantic(String::from(text))
}

/// STREAM.CREATE's rules that need no other stream, in nats-server's order: the config to
/// create, with its defaults filled in and its metadata stamped. `subject_name` is the name in
/// the request subject (`$JS.API.STREAM.CREATE.<name>`). It is [`check_create_request`] then
/// [`check_create_config`]; a caller enforcing storage limits calls those two itself, because
/// nats-server checks the request's raw `max_bytes` against the storage left
/// ([`check_storage_reservation`]) between them.
///
/// Before: [`crate::jetstream::api::requires_newer_api`] on the request's headers (10185).
/// After (the caller's, it needs the other streams): an existing stream of that name answers
/// success if [`same_config_for_create`], else [`JsError::StreamNameExists`]; then
/// [`check_storage_reservation`] again with the checked config; then
/// [`JsError::StreamSubjectOverlap`] if any subject [`subjects_overlap`] another stream's.
pub fn prepare_create(
    subject_name: &str,
    request: &StreamConfigRequest,
) -> Result<StreamConfig, JsError> {
    let requested = check_create_request(subject_name, request)?;
    check_create_config(&requested, request.pedantic)
}

/// The create handler's own checks (`jsStreamCreateRequest`): the name in the subject, path
/// separators, `sealed`, `mirror_direct`. Returns the requested config with its metadata
/// stamped, not yet defaulted.
pub fn check_create_request(
    subject_name: &str,
    request: &StreamConfigRequest,
) -> Result<StreamConfig, JsError> {
    let mut requested = request.config.clone();
    set_static_metadata(&mut requested);
    if subject_name != requested.name {
        return Err(JsError::StreamMismatch);
    }
    if subject_name.contains(['\\', '/']) {
        return Err(JsError::StreamNameContainsPathSeparators);
    }
    if requested.sealed {
        return Err(invalid("stream configuration for create can not be sealed"));
    }
    if requested.mirror_direct && requested.mirror.is_none() {
        return Err(invalid("stream has no mirror but does have mirror direct"));
    }
    Ok(requested)
}

/// [`check_stream_config`], then the single-server rule on replicas (10074).
pub fn check_create_config(
    requested: &StreamConfig,
    pedantic: bool,
) -> Result<StreamConfig, JsError> {
    let config = check_stream_config(requested, pedantic)?;
    if config.num_replicas > 1 {
        return Err(JsError::StreamReplicasNotSupported);
    }
    Ok(config)
}

/// The checks of a STREAM.UPDATE request, in nats-server's order: [`check_stream_config`],
/// the name in the subject, then (the caller having found `old`, else
/// [`JsError::StreamNotFound`]) the update rules of [`check_update`]. Returns the config to
/// apply. The caller still checks [`subjects_overlap`] with the other streams (10065).
pub fn prepare_update(
    subject_name: &str,
    request: &StreamConfigRequest,
    old: Option<&StreamConfig>,
) -> Result<StreamConfig, JsError> {
    let checked = check_stream_config(&request.config, request.pedantic)?;
    if subject_name != checked.name {
        return Err(JsError::StreamMismatch);
    }
    let old = old.ok_or(JsError::StreamNotFound)?;
    let mut requested = checked;
    set_static_metadata(&mut requested);
    check_update(old, &requested, request.pedantic)
}

/// nats-server's `configUpdateCheck`: what an update may not change. `new` is the requested
/// config; returns it checked and adjusted (a sealed stream drops max_age, discards new and
/// denies deletes and purges).
pub fn check_update(
    old: &StreamConfig,
    new: &StreamConfig,
    pedantic: bool,
) -> Result<StreamConfig, JsError> {
    let mut config = check_stream_config(new, pedantic)?;
    if config.name != old.name {
        return Err(invalid("stream configuration name must match original"));
    }
    if config.storage != old.storage {
        return Err(invalid(
            "stream configuration update can not change storage type",
        ));
    }
    if config.retention != old.retention
        && (old.retention == RetentionPolicy::WorkQueue
            || config.retention == RetentionPolicy::WorkQueue)
    {
        return Err(invalid(
            "stream configuration update can not change retention policy to/from workqueue",
        ));
    }
    if !old.template_owner.is_empty() {
        return Err(invalid(
            "stream configuration update not allowed on template owned stream",
        ));
    }
    if !config.template_owner.is_empty() {
        return Err(invalid(
            "stream configuration update can not be owned by a template",
        ));
    }
    if !config.sealed && old.sealed {
        return Err(invalid(
            "stream configuration update can not unseal a sealed stream",
        ));
    }
    if !config.deny_delete && old.deny_delete {
        return Err(invalid(
            "stream configuration update can not cancel deny message deletes",
        ));
    }
    if !config.deny_purge && old.deny_purge {
        return Err(invalid(
            "stream configuration update can not cancel deny purge",
        ));
    }
    // Mirror changes (10055) and the TTL, counter, schedule and persist-mode rules cannot
    // arise: check_stream_config refuses those features.
    if config.num_replicas > 1 {
        return Err(JsError::StreamReplicasNotSupported);
    }
    if config.sealed {
        config.max_age_nanos = 0;
        config.discard = DiscardPolicy::New;
        config.deny_delete = true;
        config.deny_purge = true;
        config.allow_rollup_hdrs = false;
    }
    Ok(config)
}

/// nats-server's `checkStreamCfg` for a single server: `config` with defaults filled in, or
/// the first rule it breaks. Defaults: subjects `[name]`, replicas 1, limits -1 (for 0 or
/// below -1), duplicate_window 2 min (or max_age when smaller), placement `{}` dropped.
/// `pedantic` turns those adjustments into [`JsError::Pedantic`] errors where nats-server
/// does.
pub fn check_stream_config(config: &StreamConfig, pedantic: bool) -> Result<StreamConfig, JsError> {
    check_names(config)?;
    let mut config = config.clone();
    check_replicas(&mut config)?;
    default_limits(&mut config, pedantic)?;
    check_windows(&mut config, pedantic)?;
    check_feature_combinations(&mut config, pedantic)?;
    if config.mirror.is_some() {
        return Err(unsupported("stream mirrors"));
    }
    if config.sources.is_some() {
        return Err(unsupported("stream sources"));
    }
    check_subjects(&mut config)?;
    if config.subject_transform.is_some() {
        return Err(unsupported("subject transforms"));
    }
    if config.republish.is_some() {
        return Err(unsupported("republish"));
    }
    check_placement(&mut config)?;
    check_supported(&config)?;
    Ok(config)
}

fn check_names(config: &StreamConfig) -> Result<(), JsError> {
    if !is_valid_asset_name(&config.name) {
        return Err(invalid(
            "stream name is required and can not contain '.', '*', '>', '\\', '/'",
        ));
    }
    if config.name.len() > STREAM_NAME_BYTES_MAX {
        return Err(JsError::StreamInvalidConfig(format!(
            "stream name is too long, maximum allowed is {STREAM_NAME_BYTES_MAX}"
        )));
    }
    if config.description.len() > DESCRIPTION_BYTES_MAX {
        return Err(JsError::StreamInvalidConfig(format!(
            "stream description is too long, maximum allowed is {DESCRIPTION_BYTES_MAX}"
        )));
    }
    let metadata_bytes: usize = config.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    if metadata_bytes > METADATA_BYTES_MAX {
        return Err(JsError::StreamInvalidConfig(format!(
            "stream metadata exceeds maximum size of {METADATA_BYTES_MAX} bytes"
        )));
    }
    Ok(())
}

fn check_replicas(config: &mut StreamConfig) -> Result<(), JsError> {
    if config.num_replicas == 0 {
        config.num_replicas = 1;
    }
    if config.num_replicas > REPLICAS_MAX {
        return Err(JsError::StreamInvalidConfig(format!(
            "maximum replicas is {REPLICAS_MAX}"
        )));
    }
    if config.num_replicas < 0 {
        return Err(JsError::ReplicasCountCannotBeNegative);
    }
    Ok(())
}

/// 0 and values below -1 mean "unlimited" (-1), except that pedantic mode refuses < -1.
fn default_limits(config: &mut StreamConfig, pedantic: bool) -> Result<(), JsError> {
    fn unlimited(value: &mut i64, pedantic: bool, name: &str) -> Result<(), JsError> {
        if *value == 0 || *value < -1 {
            if pedantic && *value < -1 {
                return Err(JsError::Pedantic(format!("{name} must be set to -1")));
            }
            *value = -1;
        }
        Ok(())
    }
    unlimited(&mut config.max_msgs, pedantic, "max_msgs")?;
    unlimited(
        &mut config.max_msgs_per_subject,
        pedantic,
        "max_msgs_per_subject",
    )?;
    unlimited(&mut config.max_bytes, pedantic, "max_bytes")?;
    let mut max_msg_size = i64::from(config.max_msg_size);
    unlimited(&mut max_msg_size, pedantic, "max_msg_size")?;
    // Either unchanged or -1, so it still fits.
    config.max_msg_size = i32::try_from(max_msg_size).unwrap_or(-1);
    unlimited(&mut config.max_consumers, pedantic, "max_consumers")
}

fn check_windows(config: &mut StreamConfig, pedantic: bool) -> Result<(), JsError> {
    let max_age = config.max_age_nanos;
    if max_age < 0 {
        return Err(invalid("max age can not be negative"));
    }
    if max_age != 0 && max_age < WINDOW_MIN_NANOS {
        return Err(invalid("max age needs to be >= 100ms"));
    }
    if config.duplicate_window_nanos == 0 && config.mirror.is_none() {
        if max_age != 0 && max_age < DUPLICATE_WINDOW_DEFAULT_NANOS {
            if pedantic {
                return Err(pedantic_mode(
                    "duplicate window cannot be bigger than max age",
                ));
            }
            config.duplicate_window_nanos = max_age;
        } else {
            config.duplicate_window_nanos = DUPLICATE_WINDOW_DEFAULT_NANOS;
        }
    }
    let window = config.duplicate_window_nanos;
    if window < 0 {
        return Err(invalid("duplicates window can not be negative"));
    }
    if max_age != 0 && window > max_age {
        return Err(invalid("duplicates window can not be larger then max age"));
    }
    if window > 0 && window < WINDOW_MIN_NANOS {
        return Err(invalid("duplicates window needs to be >= 100ms"));
    }
    Ok(())
}

/// Rules between options, in nats-server's order (some only matter for features refused
/// later, but a config breaking them gets nats-server's error, not ours).
fn check_feature_combinations(config: &mut StreamConfig, pedantic: bool) -> Result<(), JsError> {
    if config.deny_purge && config.allow_rollup_hdrs {
        return Err(invalid("roll-ups require the purge permission"));
    }
    if config.allow_msg_counter {
        if config.discard == DiscardPolicy::New {
            return Err(invalid("counter stream cannot use discard new"));
        }
        if config.allow_msg_ttl {
            return Err(invalid("counter stream cannot use message TTLs"));
        }
        if config.retention != RetentionPolicy::Limits {
            return Err(invalid("counter stream can only use limits retention"));
        }
    }
    check_discard_new_per_subject(config)?;
    let marker_ttl = config.subject_delete_marker_ttl_nanos;
    if marker_ttl > 0 {
        if marker_ttl < DELETE_MARKER_TTL_MIN_NANOS {
            return Err(invalid(
                "subject delete marker TTL must be at least 1 second",
            ));
        }
        if !config.allow_msg_ttl {
            if pedantic {
                return Err(invalid(
                    "subject delete marker cannot be set if message TTLs are disabled",
                ));
            }
            config.allow_msg_ttl = true;
        }
        if !config.allow_rollup_hdrs {
            if pedantic {
                return Err(invalid(
                    "subject delete marker cannot be set if roll-ups are disabled",
                ));
            }
            config.allow_rollup_hdrs = true;
            config.deny_purge = false;
        }
    } else if marker_ttl < 0 {
        return Err(invalid("subject delete marker TTL must not be negative"));
    }
    if config.allow_msg_schedules && !config.allow_rollup_hdrs {
        if pedantic {
            return Err(invalid(
                "message scheduling cannot be set if roll-ups are disabled",
            ));
        }
        config.allow_rollup_hdrs = true;
        config.deny_purge = false;
    }
    if config.persist_mode == PersistMode::Async {
        if config.storage != StorageType::File {
            return Err(invalid(
                "async persist mode is only supported on file storage",
            ));
        }
        if config.num_replicas > 1 {
            return Err(invalid(
                "async persist mode is not supported on replicated streams",
            ));
        }
        if config.allow_atomic {
            return Err(invalid(
                "async persist mode is not supported with atomic batch publish",
            ));
        }
    }
    Ok(())
}

fn check_discard_new_per_subject(config: &StreamConfig) -> Result<(), JsError> {
    if config.discard_new_per_subject {
        if config.discard != DiscardPolicy::New {
            return Err(invalid(
                "discard new per subject requires discard new policy to be set",
            ));
        }
        if config.max_msgs_per_subject <= 0 {
            return Err(invalid(
                "discard new per subject requires max msgs per subject > 0",
            ));
        }
    }
    Ok(())
}

/// Subjects: `[name]` when none; each valid, not repeated, not overlapping another of the
/// stream's own, and clear of the API subjects unless `no_ack`.
fn check_subjects(config: &mut StreamConfig) -> Result<(), JsError> {
    if config.subjects.is_empty() {
        config.subjects.push(config.name.clone());
        return Ok(());
    }
    for (i, subject) in config.subjects.iter().enumerate() {
        if !is_valid_subject(subject.as_bytes()) {
            return Err(invalid("invalid subject"));
        }
        if config.subjects[..i].contains(subject) {
            return Err(invalid("duplicate subjects detected"));
        }
        if subject == ">" {
            if !config.no_ack {
                return Err(invalid("capturing all subjects requires no-ack to be true"));
            }
            if config.num_replicas != 1 {
                return Err(invalid("capturing all subjects requires replicas of 1"));
            }
        }
        if !config.no_ack {
            check_reserved_subject(subject)?;
        }
        if let Some(other) = config.subjects[i + 1..]
            .iter()
            .find(|other| subjects_overlap(other, subject))
        {
            return Err(JsError::StreamInvalidConfig(format!(
                "subject {} overlaps with {}",
                go_quoted(subject),
                go_quoted(other)
            )));
        }
    }
    Ok(())
}

/// A stream acking messages on the API's own subjects would answer API requests.
fn check_reserved_subject(subject: &str) -> Result<(), JsError> {
    let api = ["$JS.>", "$JSC.>", "$NRG.>"]
        .iter()
        .any(|namespace| subjects_overlap(subject, namespace));
    if api && !is_subset_match(subject, "$JS.EVENT.>") {
        return Err(invalid(
            "subjects that overlap with jetstream api require no-ack to be true",
        ));
    }
    if subjects_overlap(subject, "$SYS.>") && !is_subset_match(subject, "$SYS.ACCOUNT.>") {
        return Err(invalid(
            "subjects that overlap with system api require no-ack to be true",
        ));
    }
    Ok(())
}

fn check_placement(config: &mut StreamConfig) -> Result<(), JsError> {
    if config
        .placement
        .as_ref()
        .is_some_and(|p| *p == Default::default())
    {
        config.placement = None;
    }
    if config
        .placement
        .as_ref()
        .is_some_and(|p| !p.preferred.is_empty())
    {
        return Err(invalid("preferred server not permitted in placement"));
    }
    Ok(())
}

/// Features nats-server accepts that this server does not implement yet: refused by name
/// rather than accepted and ignored.
fn check_supported(config: &StreamConfig) -> Result<(), JsError> {
    let refused = [
        (config.compression == Compression::S2, "compression"),
        (config.first_seq != 0, "first_seq"),
        (
            config.consumer_limits != Default::default(),
            "consumer_limits",
        ),
        (config.allow_msg_ttl, "per-message TTL (allow_msg_ttl)"),
        (
            config.subject_delete_marker_ttl_nanos != 0,
            "subject_delete_marker_ttl",
        ),
        (
            config.allow_msg_counter,
            "message counters (allow_msg_counter)",
        ),
        (config.allow_atomic, "atomic batch publish (allow_atomic)"),
        (
            config.allow_msg_schedules,
            "message schedules (allow_msg_schedules)",
        ),
        (
            config.persist_mode == PersistMode::Async,
            "persist_mode async",
        ),
        (!config.template_owner.is_empty(), "stream templates"),
    ];
    match refused.iter().find(|(used, _)| *used) {
        Some((_, feature)) => Err(unsupported(feature)),
        None => Ok(()),
    }
}

/// nats-server's `setStaticStreamMetadata`: drops the reported-only keys (`_nats.ver`,
/// `_nats.level`) and records the API level the config needs (`_nats.req.level`; always 0
/// here, since every feature needing a higher level is refused).
pub fn set_static_metadata(config: &mut StreamConfig) {
    config.metadata.remove(SERVER_VERSION_KEY);
    config.metadata.remove(SERVER_LEVEL_KEY);
    config
        .metadata
        .insert(String::from(REQUIRED_LEVEL_KEY), String::from("0"));
}

/// nats-server's `setDynamicStreamMetadata`: the config as STREAM.CREATE, UPDATE and INFO
/// report it, with `_nats.ver` and `_nats.level` added (STREAM.LIST reports it without).
pub fn with_dynamic_metadata(config: &StreamConfig) -> StreamConfig {
    let mut reported = config.clone();
    reported.metadata.insert(
        String::from(SERVER_VERSION_KEY),
        String::from(SERVER_VERSION),
    );
    reported
        .metadata
        .insert(String::from(SERVER_LEVEL_KEY), API_LEVEL.to_string());
    reported
}

/// Whether a STREAM.CREATE for an existing stream is the same request (answered with the
/// existing stream) rather than a conflicting one (10058): the checked configs are equal once
/// the new one's metadata takes the existing `_nats.req.level` (nats-server's
/// `copyStreamMetadata` before its `reflect.DeepEqual`).
pub fn same_config_for_create(new: &StreamConfig, existing: &StreamConfig) -> bool {
    let mut new = new.clone();
    new.metadata.remove(SERVER_VERSION_KEY);
    new.metadata.remove(SERVER_LEVEL_KEY);
    match existing.metadata.get(REQUIRED_LEVEL_KEY) {
        Some(level) => {
            new.metadata
                .insert(String::from(REQUIRED_LEVEL_KEY), level.clone());
        }
        None => {
            new.metadata.remove(REQUIRED_LEVEL_KEY);
        }
    }
    new == *existing
}

/// nats-server's `checkBytesLimits` for a new stream (or the growth of one on update):
/// `max_bytes` (at least 1 byte when unlimited) must fit in what the server has not reserved
/// for other streams of the same storage. `reserved_bytes` is the sum of their positive
/// max_bytes (not counting a stream of the same name, as nats-server's `tieredReservation`),
/// `server_bytes_max` the server's JetStream capacity for that storage.
pub fn check_storage_reservation(
    max_bytes: i64,
    storage: StorageType,
    reserved_bytes: i64,
    server_bytes_max: i64,
) -> Result<(), JsError> {
    let wanted = if max_bytes < 0 { 1 } else { max_bytes };
    let fits = reserved_bytes <= server_bytes_max && wanted <= server_bytes_max - reserved_bytes;
    if fits {
        return Ok(());
    }
    Err(match storage {
        StorageType::Memory => JsError::MemoryResourcesExceeded,
        StorageType::File => JsError::StorageResourcesExceeded,
    })
}
