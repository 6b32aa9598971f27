//! JetStream streams: the parts that need no store — the `$JS.API.` requests and replies,
//! stream configuration rules, the per-message publish checks, the duplicate window, and the
//! one table of JetStream errors — all pure and checked against nats-server 2.12.8.
//!
//! The stream layer (which owns a [`crate::store::Store`] per stream) drives these:
//! - an API request: [`api::parse_api_subject`], then the body decoder for that request
//!   (`config::decode_config_request`, `api::decode_*`), the rules in [`validate`], the
//!   store, and a reply from [`responses`] rendered with [`json::to_json`];
//! - a published message on a stream's subject: [`publish::check_publish`] (with the
//!   stream's [`dedupe::DedupeWindow`] and a [`publish::StreamView`] of its store), then
//!   [`publish::check_discard_new`], the store, and [`publish::pub_ack`] or
//!   [`publish::pub_ack_error`];
//! - a direct get: [`direct::parse_direct_get`] / [`direct::parse_direct_get_last`], the
//!   store, [`direct::direct_get_headers`].
//!
//! Nothing here reads a clock: times come in as [`crate::time::Mono`] (the dedupe window)
//! and [`crate::time::Wall`] (timestamps written into replies).

pub mod api;
pub mod config;
mod decode;
pub mod dedupe;
pub mod direct;
pub mod engine;
pub mod errors;
pub mod headers;
pub mod json;
pub mod meta;
pub mod publish;
pub mod responses;
pub mod stream;
pub mod subjects;
pub mod validate;

#[cfg(test)]
mod proptests;

pub use config::{StreamConfig, StreamConfigRequest};
pub use dedupe::DedupeWindow;
pub use engine::{JetStream, JetStreamConfig, OpenReport, SyncDone, SyncJob};
pub use errors::{ApiError, JsError};
pub use subjects::{any_subjects_overlap, subjects_overlap};
