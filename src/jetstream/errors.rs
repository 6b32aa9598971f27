//! Every JetStream API error a client can receive, in one table.
//!
//! nats-server keeps its JetStream errors in `server/errors.json` as (HTTP-like `code`,
//! JetStream `err_code`, `description`); clients match on `err_code`, people read the
//! description. [`JsError`] names the entries this server can send, and
//! [`JsError::api_error`] is the one `match` that gives each its triple, byte-identical to
//! nats-server 2.12.8 (templated descriptions such as `wrong last sequence: {seq}` take their
//! argument from the variant).
//!
//! nats-server wraps lower-level errors in a templated entry "unless" the error already is an
//! API error (`Unless(err)`, e.g. a store failure becomes 10077 `{err}`). Here the caller picks
//! the variant, so that rule lives where the error is produced.

use std::borrow::Cow;

use serde::Serialize;

/// One JetStream error, as nats-server's `errors.json` names it (the constant in a comment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsError {
    /// JSAccountResourcesExceededErr: account limits would be exceeded by a message.
    AccountResourcesExceeded,
    /// JSBadRequestErr.
    BadRequest,
    /// JSInsufficientResourcesErr: the server's own storage is full.
    InsufficientResources,
    /// JSInvalidJSONErr: `invalid JSON: {err}`, `err` being Go's decoder error text.
    InvalidJson(String),
    /// JSMaximumStreamsLimitErr.
    MaximumStreamsLimit,
    /// JSMemoryResourcesExceededErr: a memory stream's max_bytes does not fit.
    MemoryResourcesExceeded,
    /// JSMessageIncrDisabledErr: a `Nats-Incr` header on a stream without counters.
    MessageIncrDisabled,
    /// JSMessageIncrInvalidErr: a `Nats-Incr` header that is not an integer.
    MessageIncrInvalid,
    /// JSMessageSchedulesDisabledErr: a `Nats-Schedule` header without schedules.
    MessageSchedulesDisabled,
    /// JSMessageTTLDisabledErr: a `Nats-TTL` header on a stream without TTLs.
    MessageTtlDisabled,
    /// JSMessageTTLInvalidErr: a `Nats-TTL` header that does not parse.
    MessageTtlInvalid,
    /// JSAtomicPublishDisabledErr: a `Nats-Batch-Id` header on a stream without batches.
    AtomicPublishDisabled,
    /// JSNoMessageFoundErr.
    NoMessageFound,
    /// JSNotEmptyRequestErr: STREAM.DELETE with a body.
    NotEmptyRequest,
    /// Not in nats-server's table: an API or option nats-server has that this server does
    /// not implement yet. Sent as a bad request (400, 10003, the code clients know) whose
    /// description names what is missing: `{what} is not supported yet`.
    NotSupported(&'static str),
    /// JSNotEnabledErr. nats-server never sends it on the API when JetStream is off (nobody
    /// subscribes to `$JS.API.>`, so a requester gets a 503 no-responders); kept for the host.
    NotEnabled,
    /// JSNotEnabledForAccountErr.
    NotEnabledForAccount,
    /// JSPedanticErrF: `pedantic mode: {err}`.
    Pedantic(String),
    /// JSReplicasCountCannotBeNegative.
    ReplicasCountCannotBeNegative,
    /// JSRequiredApiLevelErr: a `Nats-Required-Api-Level` above ours.
    RequiredApiLevel,
    /// JSSequenceNotFoundErrF: `sequence {seq} not found`.
    SequenceNotFound(u64),
    /// JSStorageResourcesExceededErr: a file stream's max_bytes does not fit.
    StorageResourcesExceeded,
    /// JSStreamCreateErrF: `{err}`.
    StreamCreate(String),
    /// JSStreamDeleteErrF: `{err}`.
    StreamDelete(String),
    /// JSStreamExpectedLastSeqPerSubjectInvalid: the `-Subject` header without the sequence.
    StreamExpectedLastSeqPerSubjectInvalid,
    /// JSStreamGeneralErrorF: `{err}` (a purge that failed in the store).
    StreamGeneral(String),
    /// JSStreamHeaderExceedsMaximumErr: a header block over 65,535 bytes.
    StreamHeaderExceedsMaximum,
    /// JSStreamInvalidConfigF: `{err}`.
    StreamInvalidConfig(String),
    /// JSStreamLimitsErrF: `{err}`.
    StreamLimits(String),
    /// JSStreamMessageExceedsMaximumErr: headers plus payload over max_msg_size.
    StreamMessageExceedsMaximum,
    /// JSStreamMismatchErr: the name in the subject is not the name in the body.
    StreamMismatch,
    /// JSStreamMsgDeleteFailedF: `{err}`.
    StreamMsgDeleteFailed(String),
    /// JSStreamNameContainsPathSeparatorsErr.
    StreamNameContainsPathSeparators,
    /// JSStreamNameExistErr.
    StreamNameExists,
    /// JSStreamNotFoundErr.
    StreamNotFound,
    /// JSStreamNotMatchErr: `Nats-Expected-Stream` names another stream.
    StreamNotMatch,
    /// JSStreamPurgeFailedF: `{err}`.
    StreamPurgeFailed(String),
    /// JSStreamReplicasNotSupportedErr.
    StreamReplicasNotSupported,
    /// JSStreamRollupFailedF: `{err}`.
    StreamRollupFailed(String),
    /// JSStreamSealedErr.
    StreamSealed,
    /// JSStreamStoreFailedF: `{err}` (what the store said, e.g. `maximum messages exceeded`).
    StreamStoreFailed(String),
    /// JSStreamSubjectOverlapErr.
    StreamSubjectOverlap,
    /// JSStreamUpdateErrF: `{err}`.
    StreamUpdate(String),
    /// JSStreamWrongLastMsgIDErrF: `wrong last msg ID: {id}`.
    StreamWrongLastMsgId(String),
    /// JSStreamWrongLastSequenceErrF: `wrong last sequence: {seq}`.
    StreamWrongLastSequence(u64),
}

/// The error object of every JetStream reply:
/// `{"code":400,"err_code":10065,"description":"subjects overlap with an existing stream"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiError {
    pub code: u16,
    pub err_code: u16,
    pub description: Cow<'static, str>,
}

/// The `error` text of a store refusing a message under `discard: new` (nats-server's
/// `ErrMaxMsgs`, `ErrMaxBytes`, `ErrMaxMsgsPerSubject`), sent as [`JsError::StreamStoreFailed`].
pub const MAX_MSGS_EXCEEDED: &str = "maximum messages exceeded";
pub const MAX_BYTES_EXCEEDED: &str = "maximum bytes exceeded";
pub const MAX_MSGS_PER_SUBJECT_EXCEEDED: &str = "maximum messages per subject exceeded";

impl JsError {
    /// The table: (code, err_code, description) exactly as nats-server 2.12.8 sends them.
    pub fn api_error(&self) -> ApiError {
        let (code, err_code, fixed): (u16, u16, &'static str) = match self {
            JsError::AccountResourcesExceeded => {
                (400, 10002, "resource limits exceeded for account")
            }
            JsError::BadRequest => (400, 10003, "bad request"),
            JsError::InsufficientResources => (503, 10023, "insufficient resources"),
            JsError::InvalidJson(err) => return templated(400, 10025, "invalid JSON: ", err),
            JsError::MaximumStreamsLimit => (400, 10027, "maximum number of streams reached"),
            JsError::MemoryResourcesExceeded => {
                (500, 10028, "insufficient memory resources available")
            }
            JsError::NoMessageFound => (404, 10037, "no message found"),
            JsError::NotEmptyRequest => (400, 10038, "expected an empty request payload"),
            JsError::NotSupported(what) => {
                return owned(400, 10003, format!("{what} is not supported yet"))
            }
            JsError::NotEnabledForAccount => (503, 10039, "JetStream not enabled for account"),
            JsError::SequenceNotFound(seq) => {
                return owned(400, 10043, format!("sequence {seq} not found"))
            }
            JsError::StorageResourcesExceeded => {
                (500, 10047, "insufficient storage resources available")
            }
            JsError::StreamCreate(err) => return templated(500, 10049, "", err),
            JsError::StreamDelete(err) => return templated(500, 10050, "", err),
            JsError::StreamGeneral(err) => return templated(500, 10051, "", err),
            JsError::StreamInvalidConfig(err) => return templated(500, 10052, "", err),
            JsError::StreamLimits(err) => return templated(500, 10053, "", err),
            JsError::StreamMessageExceedsMaximum => {
                (400, 10054, "message size exceeds maximum allowed")
            }
            JsError::StreamMismatch => {
                (400, 10056, "stream name in subject does not match request")
            }
            JsError::StreamMsgDeleteFailed(err) => return templated(500, 10057, "", err),
            JsError::StreamNameExists => (
                400,
                10058,
                "stream name already in use with a different configuration",
            ),
            JsError::StreamNotFound => (404, 10059, "stream not found"),
            JsError::StreamNotMatch => (400, 10060, "expected stream does not match"),
            JsError::StreamSubjectOverlap => {
                (400, 10065, "subjects overlap with an existing stream")
            }
            JsError::StreamUpdate(err) => return templated(500, 10069, "", err),
            JsError::StreamWrongLastMsgId(id) => {
                return templated(400, 10070, "wrong last msg ID: ", id)
            }
            JsError::StreamWrongLastSequence(seq) => {
                return owned(400, 10071, format!("wrong last sequence: {seq}"))
            }
            JsError::StreamReplicasNotSupported => (
                500,
                10074,
                "replicas > 1 not supported in non-clustered mode",
            ),
            JsError::NotEnabled => (503, 10076, "JetStream not enabled"),
            JsError::StreamStoreFailed(err) => return templated(503, 10077, "", err),
            JsError::StreamHeaderExceedsMaximum => {
                (400, 10097, "header size exceeds maximum allowed of 64k")
            }
            JsError::StreamSealed => (400, 10109, "invalid operation on sealed stream"),
            JsError::StreamPurgeFailed(err) => return templated(500, 10110, "", err),
            JsError::StreamRollupFailed(err) => return templated(500, 10111, "", err),
            JsError::StreamNameContainsPathSeparators => {
                (400, 10128, "Stream name can not contain path separators")
            }
            JsError::ReplicasCountCannotBeNegative => {
                (400, 10133, "replicas count cannot be negative")
            }
            JsError::Pedantic(err) => return templated(400, 10157, "pedantic mode: ", err),
            JsError::MessageTtlInvalid => (400, 10165, "invalid per-message TTL"),
            JsError::MessageTtlDisabled => (400, 10166, "per-message TTL is disabled"),
            JsError::MessageIncrDisabled => (400, 10168, "message counters is disabled"),
            JsError::MessageIncrInvalid => (400, 10171, "message counter increment is invalid"),
            JsError::AtomicPublishDisabled => (400, 10174, "atomic publish is disabled"),
            JsError::RequiredApiLevel => (412, 10185, "JetStream minimum api level required"),
            JsError::MessageSchedulesDisabled => (400, 10188, "message schedules is disabled"),
            JsError::StreamExpectedLastSeqPerSubjectInvalid => (
                400,
                10193,
                "missing sequence for expected last sequence per subject",
            ),
        };
        ApiError {
            code,
            err_code,
            description: Cow::Borrowed(fixed),
        }
    }
}

fn templated(code: u16, err_code: u16, prefix: &str, arg: &str) -> ApiError {
    owned(code, err_code, format!("{prefix}{arg}"))
}

fn owned(code: u16, err_code: u16, description: String) -> ApiError {
    ApiError {
        code,
        err_code,
        description: Cow::Owned(description),
    }
}

impl From<JsError> for ApiError {
    fn from(error: JsError) -> ApiError {
        error.api_error()
    }
}

impl std::fmt::Display for JsError {
    /// nats-server's `ApiError.Error()`: `description (err_code)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let error = self.api_error();
        write!(f, "{} ({})", error.description, error.err_code)
    }
}

impl std::error::Error for JsError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jetstream::json::to_json;

    /// Every entry, with its (code, err_code, description template) copied from nats-server
    /// 2.12.8's server/errors.json; `{err}`, `{seq}` and `{id}` take the variant's argument.
    #[test]
    fn table_matches_errors_json() {
        let text = || String::from("X");
        let entries: [(JsError, u16, u16, &str); 44] = [
            (
                JsError::AccountResourcesExceeded,
                400,
                10002,
                "resource limits exceeded for account",
            ),
            (JsError::BadRequest, 400, 10003, "bad request"),
            (
                JsError::InsufficientResources,
                503,
                10023,
                "insufficient resources",
            ),
            (
                JsError::InvalidJson(text()),
                400,
                10025,
                "invalid JSON: {err}",
            ),
            (
                JsError::MaximumStreamsLimit,
                400,
                10027,
                "maximum number of streams reached",
            ),
            (
                JsError::MemoryResourcesExceeded,
                500,
                10028,
                "insufficient memory resources available",
            ),
            (JsError::NoMessageFound, 404, 10037, "no message found"),
            (
                JsError::NotEmptyRequest,
                400,
                10038,
                "expected an empty request payload",
            ),
            (
                JsError::NotEnabledForAccount,
                503,
                10039,
                "JetStream not enabled for account",
            ),
            (
                JsError::SequenceNotFound(7),
                400,
                10043,
                "sequence {seq} not found",
            ),
            (
                JsError::StorageResourcesExceeded,
                500,
                10047,
                "insufficient storage resources available",
            ),
            (JsError::StreamCreate(text()), 500, 10049, "{err}"),
            (JsError::StreamDelete(text()), 500, 10050, "{err}"),
            (JsError::StreamGeneral(text()), 500, 10051, "{err}"),
            (JsError::StreamInvalidConfig(text()), 500, 10052, "{err}"),
            (JsError::StreamLimits(text()), 500, 10053, "{err}"),
            (
                JsError::StreamMessageExceedsMaximum,
                400,
                10054,
                "message size exceeds maximum allowed",
            ),
            (
                JsError::StreamMismatch,
                400,
                10056,
                "stream name in subject does not match request",
            ),
            (JsError::StreamMsgDeleteFailed(text()), 500, 10057, "{err}"),
            (
                JsError::StreamNameExists,
                400,
                10058,
                "stream name already in use with a different configuration",
            ),
            (JsError::StreamNotFound, 404, 10059, "stream not found"),
            (
                JsError::StreamNotMatch,
                400,
                10060,
                "expected stream does not match",
            ),
            (
                JsError::StreamSubjectOverlap,
                400,
                10065,
                "subjects overlap with an existing stream",
            ),
            (JsError::StreamUpdate(text()), 500, 10069, "{err}"),
            (
                JsError::StreamWrongLastMsgId(text()),
                400,
                10070,
                "wrong last msg ID: {id}",
            ),
            (
                JsError::StreamWrongLastSequence(7),
                400,
                10071,
                "wrong last sequence: {seq}",
            ),
            (
                JsError::StreamReplicasNotSupported,
                500,
                10074,
                "replicas > 1 not supported in non-clustered mode",
            ),
            (JsError::NotEnabled, 503, 10076, "JetStream not enabled"),
            (JsError::StreamStoreFailed(text()), 503, 10077, "{err}"),
            (
                JsError::StreamHeaderExceedsMaximum,
                400,
                10097,
                "header size exceeds maximum allowed of 64k",
            ),
            (
                JsError::StreamSealed,
                400,
                10109,
                "invalid operation on sealed stream",
            ),
            (JsError::StreamPurgeFailed(text()), 500, 10110, "{err}"),
            (JsError::StreamRollupFailed(text()), 500, 10111, "{err}"),
            (
                JsError::StreamNameContainsPathSeparators,
                400,
                10128,
                "Stream name can not contain path separators",
            ),
            (
                JsError::ReplicasCountCannotBeNegative,
                400,
                10133,
                "replicas count cannot be negative",
            ),
            (
                JsError::Pedantic(text()),
                400,
                10157,
                "pedantic mode: {err}",
            ),
            (
                JsError::MessageTtlInvalid,
                400,
                10165,
                "invalid per-message TTL",
            ),
            (
                JsError::MessageTtlDisabled,
                400,
                10166,
                "per-message TTL is disabled",
            ),
            (
                JsError::MessageIncrDisabled,
                400,
                10168,
                "message counters is disabled",
            ),
            (
                JsError::MessageIncrInvalid,
                400,
                10171,
                "message counter increment is invalid",
            ),
            (
                JsError::AtomicPublishDisabled,
                400,
                10174,
                "atomic publish is disabled",
            ),
            (
                JsError::RequiredApiLevel,
                412,
                10185,
                "JetStream minimum api level required",
            ),
            (
                JsError::MessageSchedulesDisabled,
                400,
                10188,
                "message schedules is disabled",
            ),
            (
                JsError::StreamExpectedLastSeqPerSubjectInvalid,
                400,
                10193,
                "missing sequence for expected last sequence per subject",
            ),
        ];
        for (error, code, err_code, template) in entries {
            let description = template
                .replace("{err}", "X")
                .replace("{id}", "X")
                .replace("{seq}", "7");
            let api = error.api_error();
            assert_eq!((api.code, api.err_code), (code, err_code), "{error:?}");
            assert_eq!(api.description, description, "{error:?}");
        }
        // Ours, not nats-server's: a bad request naming what is missing.
        assert_eq!(
            JsError::NotSupported("consumers").api_error(),
            ApiError {
                code: 400,
                err_code: 10003,
                description: "consumers is not supported yet".into()
            }
        );
    }

    #[test]
    fn templated_entries() {
        assert_eq!(
            JsError::StreamWrongLastSequence(3).api_error().description,
            "wrong last sequence: 3"
        );
        assert_eq!(
            JsError::StreamWrongLastMsgId(String::new())
                .api_error()
                .description,
            "wrong last msg ID: "
        );
        assert_eq!(
            JsError::SequenceNotFound(9).api_error().description,
            "sequence 9 not found"
        );
        assert_eq!(
            JsError::InvalidJson("unexpected EOF".into())
                .api_error()
                .description,
            "invalid JSON: unexpected EOF"
        );
        assert_eq!(
            JsError::StreamStoreFailed(MAX_MSGS_EXCEEDED.into()).api_error(),
            ApiError {
                code: 503,
                err_code: 10077,
                description: "maximum messages exceeded".into()
            }
        );
    }

    #[test]
    fn renders_like_nats_server() {
        // nats-server 2.12.8: `num_replicas: 3` on a single server; Go's encoder writes `>`
        // as \u003e.
        assert_eq!(
            to_json(&JsError::StreamReplicasNotSupported.api_error()),
            r#"{"code":500,"err_code":10074,"description":"replicas \u003e 1 not supported in non-clustered mode"}"#
        );
        assert_eq!(
            JsError::StreamWrongLastSequence(3).to_string(),
            "wrong last sequence: 3 (10071)"
        );
    }
}
