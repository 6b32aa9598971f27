//! `/jsz`: JetStream's state, as nats-server 2.12.8 answers on a single server: usage, API
//! counts, the configuration (`sync_always` when every ack waits for a sync, the default
//! here), and totals. With JetStream disabled: zeros and `"disabled": true`. `leader-only`
//! is a `400` (there is no cluster, so no leader). Per-account and per-stream details
//! (`accounts=true`, `streams=true`) are not reported yet.

use serde::Serialize;

use super::format::GoTime;
use super::query::{BadRequest, Query};
use crate::broker::Broker;
use crate::jetstream::validate::API_LEVEL;
use crate::store::SyncPolicy;
use crate::time::Now;

/// `/jsz`'s query options. Only `leader-only` changes the answer while JetStream is off; the
/// others are decoded so a bad value gets nats-server's error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JszOptions {
    pub accounts: bool,
    pub streams: bool,
    pub consumers: bool,
    pub direct_consumers: bool,
    pub config: bool,
    pub offset: i64,
    pub limit: i64,
    pub leader_only: bool,
    pub raft: bool,
    pub stream_leader_only: bool,
    pub account: String,
}

impl JszOptions {
    /// Reads the options in nats-server's order (`HandleJsz`).
    pub fn from_query(query: &Query) -> Result<JszOptions, BadRequest> {
        Ok(JszOptions {
            accounts: query.bool("accounts")?,
            streams: query.bool("streams")?,
            consumers: query.bool("consumers")?,
            direct_consumers: query.bool("direct-consumers")?,
            config: query.bool("config")?,
            offset: query.int("offset")?,
            limit: query.int("limit")?,
            leader_only: query.bool("leader-only")?,
            raft: query.bool("raft")?,
            stream_leader_only: query.bool("stream-leader-only")?,
            account: query.get("acc").to_string(),
        })
    }
}

/// nats-server's `JSInfo`.
#[derive(Clone, Debug, Serialize)]
pub struct Jsz {
    pub memory: u64,
    pub storage: u64,
    pub reserved_memory: u64,
    pub reserved_storage: u64,
    pub accounts: u64,
    pub ha_assets: u64,
    pub api: JszApi,
    pub server_id: String,
    pub now: GoTime,
    #[serde(skip_serializing_if = "is_false")]
    pub disabled: bool,
    pub config: JszConfig,
    /// `{}` when enabled (no account limits), absent when disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<serde_json::Map<String, serde_json::Value>>,
    pub streams: u64,
    pub consumers: u64,
    pub messages: u64,
    pub bytes: u64,
    pub total: u64,
}

/// JetStream API request counts.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct JszApi {
    pub level: u64,
    pub total: u64,
    pub errors: u64,
}

/// JetStream's configuration (limits -1: none set).
#[derive(Clone, Debug, Default, Serialize)]
pub struct JszConfig {
    pub max_memory: i64,
    pub max_storage: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub store_dir: String,
    /// Nanoseconds between syncs when acks do not wait for them.
    #[serde(skip_serializing_if = "is_zero")]
    pub sync_interval: u64,
    #[serde(skip_serializing_if = "is_false")]
    pub sync_always: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `/jsz` for `broker` at `now`.
pub fn jsz(broker: &Broker, now: Now, options: &JszOptions) -> Result<Jsz, BadRequest> {
    if options.leader_only {
        return Err(BadRequest("filtered response: not leader".to_string()));
    }
    if let Some(js) = broker.jetstream() {
        let usage = js.usage();
        let config = js.config();
        let (sync_interval, sync_always) = match config.sync {
            SyncPolicy::Always => (0, true),
            SyncPolicy::Interval(every) => {
                (u64::try_from(every.as_nanos()).unwrap_or(u64::MAX), false)
            }
        };
        let (messages, bytes) = js.totals();
        return Ok(Jsz {
            memory: usage.memory_bytes,
            storage: usage.storage_bytes,
            reserved_memory: usage.reserved_memory_bytes,
            reserved_storage: usage.reserved_storage_bytes,
            accounts: 1,
            ha_assets: 0,
            api: JszApi {
                level: u64::from(API_LEVEL),
                total: usage.api_total,
                errors: usage.api_errors,
            },
            server_id: broker.server_id().to_string(),
            now: GoTime(now.wall),
            disabled: false,
            config: JszConfig {
                max_memory: config.memory_bytes_max,
                max_storage: config.file_bytes_max,
                store_dir: config.store_dir.clone(),
                sync_interval,
                sync_always,
            },
            limits: Some(serde_json::Map::new()),
            streams: usage.streams,
            consumers: 0,
            messages,
            bytes,
            total: 1,
        });
    }
    Ok(Jsz {
        memory: 0,
        storage: 0,
        reserved_memory: 0,
        reserved_storage: 0,
        accounts: 0,
        ha_assets: 0,
        api: JszApi::default(),
        server_id: broker.server_id().to_string(),
        now: GoTime(now.wall),
        disabled: true,
        config: JszConfig::default(),
        limits: None,
        streams: 0,
        consumers: 0,
        messages: 0,
        bytes: 0,
        total: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::Scenario;
    use super::*;
    use crate::config::Config;

    /// Keys and values of nats-server 2.12.8's `/jsz` with JetStream disabled.
    #[test]
    fn disabled_answer_matches_nats_server() {
        let scenario = Scenario::new(Config::default());
        let (broker, now) = (&scenario.broker, scenario.now);
        let jsz = jsz(broker, now, &JszOptions::default()).expect("answered");
        let json = serde_json::to_value(&jsz).expect("jsz serializes");
        let mut keys: Vec<&str> = json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "accounts",
                "api",
                "bytes",
                "config",
                "consumers",
                "disabled",
                "ha_assets",
                "memory",
                "messages",
                "now",
                "reserved_memory",
                "reserved_storage",
                "server_id",
                "storage",
                "streams",
                "total"
            ]
        );
        assert_eq!(json["disabled"], true);
        assert_eq!(
            json["api"],
            serde_json::json!({"level": 0, "total": 0, "errors": 0})
        );
        assert_eq!(
            json["config"],
            serde_json::json!({"max_memory": 0, "max_storage": 0})
        );
        let leader = JszOptions::from_query(&Query::parse("leader-only=true")).expect("valid");
        assert_eq!(
            super::jsz(broker, now, &leader).unwrap_err().0,
            "filtered response: not leader"
        );
    }

    /// Keys of nats-server 2.12.8's `/jsz` with JetStream on (single server), and real figures.
    #[test]
    fn enabled_answer_counts_streams_messages_and_api_calls() {
        use crate::jetstream::{JetStream, JetStreamConfig};
        use crate::store::MemDisk;
        let mut scenario = Scenario::new(Config::default());
        let config = JetStreamConfig {
            store_dir: "/data/jetstream".to_string(),
            ..JetStreamConfig::default()
        };
        let disk = std::sync::Arc::new(MemDisk::new());
        let (js, _) = JetStream::open(disk, config, "s", scenario.now).expect("opens");
        scenario.broker.enable_jetstream(js);
        let conn = scenario.connect("{}");
        let create = r#"{"name":"S","subjects":["s.>"]}"#;
        scenario.send(
            conn,
            &format!(
                "PUB $JS.API.STREAM.CREATE.S r {}\r\n{create}\r\n",
                create.len()
            ),
        );
        scenario.send(conn, "PUB $JS.API.STREAM.INFO.NOPE r 0\r\n\r\n");
        scenario.send(conn, "PUB s.a r 5\r\nhello\r\nPUB s.b r 3\r\nbye\r\n");
        let (broker, now) = (&scenario.broker, scenario.now);
        let json = serde_json::to_value(jsz(broker, now, &JszOptions::default()).unwrap()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "accounts",
                "api",
                "bytes",
                "config",
                "consumers",
                "ha_assets",
                "limits",
                "memory",
                "messages",
                "now",
                "reserved_memory",
                "reserved_storage",
                "server_id",
                "storage",
                "streams",
                "total"
            ]
        );
        assert_eq!(
            json["api"],
            serde_json::json!({"level": 3, "total": 2, "errors": 1})
        );
        assert_eq!(
            (json["streams"].as_u64(), json["messages"].as_u64()),
            (Some(1), Some(2))
        );
        // Two messages as the store counts them (nats-server's fileStoreMsgSize).
        let bytes = (22 + 3 + 5 + 8) + (22 + 3 + 3 + 8);
        assert_eq!(
            (json["bytes"].as_u64(), json["storage"].as_u64()),
            (Some(bytes), Some(bytes))
        );
        assert_eq!(
            json["config"],
            serde_json::json!({"max_memory": -1, "max_storage": -1,
                "store_dir": "/data/jetstream", "sync_always": true})
        );
        // `/varz` carries the same config and usage under `jetstream`.
        let varz = super::super::varz(broker, now, &super::super::tests::host_facts());
        let varz = serde_json::to_value(&varz).unwrap();
        assert_eq!(varz["jetstream"]["config"], json["config"]);
        assert_eq!(varz["jetstream"]["stats"]["api"], json["api"]);
        assert_eq!(varz["jetstream"]["stats"]["storage"], json["storage"]);
        assert_eq!(varz["jetstream"]["limits"], serde_json::json!({}));
    }
}
