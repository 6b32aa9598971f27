//! `/jsz`: JetStream's state. JetStream is not built yet, so this is nats-server's answer with
//! JetStream disabled: zeros, `"disabled": true`, and a `400` for `leader-only` (there is no
//! leader to answer). The JetStream work replaces it with real figures.

use serde::Serialize;

use super::format::GoTime;
use super::query::{BadRequest, Query};
use crate::broker::Broker;
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

/// nats-server's `JSInfo` with JetStream disabled.
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
    pub disabled: bool,
    pub config: JszConfig,
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

/// JetStream's configured limits (none while disabled).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct JszConfig {
    pub max_memory: i64,
    pub max_storage: i64,
}

/// `/jsz` for `broker` at `now`.
pub fn jsz(broker: &Broker, now: Now, options: &JszOptions) -> Result<Jsz, BadRequest> {
    if options.leader_only {
        return Err(BadRequest("filtered response: not leader".to_string()));
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
}
