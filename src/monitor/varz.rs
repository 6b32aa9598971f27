//! `/varz`: the server's identity, limits and counters (nats-server's `Varz`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::closed::CloseReason;
use super::format::{uptime, wall_since, GoTime};
use super::HostFacts;
use crate::broker::Broker;
use crate::config::AuthConfig;
use crate::protocol::info::PROTO;
use crate::time::Now;

/// nats-server's `/varz` answer, with the fields this broker can fill. Fields for features it
/// does not have (TLS, clustering, gateways, leaf nodes, MQTT, websockets, JetStream) are
/// left out, or shown empty or zero where nats-server always shows them. Durations are
/// nanoseconds and `auth_timeout` seconds, as nats-server writes them.
#[derive(Clone, Debug, Serialize)]
pub struct Varz {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub proto: i32,
    pub host: String,
    pub port: u16,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auth_required: bool,
    pub max_connections: u32,
    /// Per connection; 0 (unlimited) is left out, as nats-server does.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_subscriptions: u32,
    pub ping_interval: u64,
    pub ping_max: u32,
    pub http_host: String,
    pub http_port: u16,
    pub http_base_path: String,
    pub https_port: u16,
    pub auth_timeout: f64,
    pub max_control_line: u32,
    pub max_payload: u32,
    pub max_pending: u64,
    /// Not configured: nats-server shows these as `{}` then.
    pub cluster: Empty,
    pub gateway: Empty,
    pub leaf: Empty,
    pub mqtt: Empty,
    pub websocket: Empty,
    pub jetstream: VarzJetStream,
    pub write_deadline: u64,
    pub start: GoTime,
    pub now: GoTime,
    pub uptime: String,
    /// Resident memory, bytes.
    pub mem: i64,
    pub cores: u32,
    /// Percent of one core.
    pub cpu: f64,
    pub connections: u64,
    pub total_connections: u64,
    pub routes: u64,
    pub remotes: u64,
    pub leafnodes: u64,
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    pub slow_consumers: u64,
    pub stale_connections: u64,
    /// Publishers held back to let a slow subscriber catch up: never here (a slow subscriber
    /// is cut off instead), so always 0.
    pub stalled_clients: u64,
    pub subscriptions: u64,
    pub http_req_stats: BTreeMap<String, u64>,
    pub config_load_time: GoTime,
    /// A hash of the config file; empty without one, as nats-server.
    pub config_digest: String,
    pub slow_consumer_stats: KindCounts,
    pub stale_connection_stats: KindCounts,
}

/// An options block for a feature that is not configured: serializes as `{}`.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Empty {}

/// `/varz`'s `jetstream`: `{}` when JetStream is off, else its config, usage and (empty)
/// account limits, as nats-server 2.12.8.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VarzJetStream {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<super::jsz::JszConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<VarzJetStreamStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Empty>,
}

/// The usage part of `/varz`'s `jetstream`.
#[derive(Clone, Debug, Serialize)]
pub struct VarzJetStreamStats {
    pub memory: u64,
    pub storage: u64,
    pub reserved_memory: u64,
    pub reserved_storage: u64,
    pub accounts: u64,
    pub ha_assets: u64,
    pub api: super::jsz::JszApi,
}

impl VarzJetStream {
    fn of(broker: &Broker, now: Now) -> VarzJetStream {
        if broker.jetstream().is_none() {
            return VarzJetStream::default();
        }
        let Ok(jsz) = super::jsz::jsz(broker, now, &super::jsz::JszOptions::default()) else {
            return VarzJetStream::default();
        };
        VarzJetStream {
            config: Some(jsz.config),
            stats: Some(VarzJetStreamStats {
                memory: jsz.memory,
                storage: jsz.storage,
                reserved_memory: jsz.reserved_memory,
                reserved_storage: jsz.reserved_storage,
                accounts: jsz.accounts,
                ha_assets: jsz.ha_assets,
                api: jsz.api,
            }),
            limits: Some(Empty {}),
        }
    }
}

/// A count split by connection kind; only clients exist here.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct KindCounts {
    pub clients: u64,
    pub routes: u64,
    pub gateways: u64,
    pub leafs: u64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// `/varz` for `broker` at `now`, with what only the host knows.
pub fn varz(broker: &Broker, now: Now, host: &HostFacts) -> Varz {
    let config = broker.config();
    let stats = broker.stats();
    let stale = stats.closes.get(CloseReason::StaleConnection);
    Varz {
        server_id: broker.server_id().to_string(),
        server_name: broker.server_name().to_string(),
        version: config.version.clone(),
        proto: PROTO,
        host: config.host.clone(),
        port: config.port,
        auth_required: !matches!(config.auth, AuthConfig::None),
        max_connections: config.connections_max,
        max_subscriptions: config.subscriptions_max,
        ping_interval: nanos(config.ping_interval),
        ping_max: config.pings_outstanding_max,
        http_host: host.http_host.clone(),
        http_port: host.http_port,
        http_base_path: String::new(),
        https_port: 0,
        auth_timeout: config.auth_timeout.as_secs_f64(),
        max_control_line: config.control_line_bytes_max,
        max_payload: config.payload_bytes_max,
        max_pending: config.pending_bytes_max,
        cluster: Empty {},
        gateway: Empty {},
        leaf: Empty {},
        mqtt: Empty {},
        websocket: Empty {},
        jetstream: VarzJetStream::of(broker, now),
        write_deadline: nanos(config.write_deadline),
        start: GoTime(host.start),
        now: GoTime(now.wall),
        uptime: uptime(wall_since(now.wall, host.start)),
        mem: host.mem_bytes,
        cores: host.cores,
        cpu: host.cpu_percent,
        connections: stats.connections,
        total_connections: stats.total_connections,
        routes: 0,
        remotes: 0,
        leafnodes: 0,
        in_msgs: stats.in_msgs,
        out_msgs: stats.out_msgs,
        in_bytes: stats.in_bytes,
        out_bytes: stats.out_bytes,
        slow_consumers: stats.slow_consumers,
        stale_connections: stale,
        stalled_clients: 0,
        subscriptions: stats.subscriptions,
        http_req_stats: host.http_req_stats.clone(),
        config_load_time: GoTime(host.config_load_time),
        config_digest: String::new(),
        slow_consumer_stats: KindCounts {
            clients: stats.slow_consumers,
            ..KindCounts::default()
        },
        stale_connection_stats: KindCounts {
            clients: stale,
            ..KindCounts::default()
        },
    }
}

/// Go's `time.Duration` in JSON: whole nanoseconds.
fn nanos(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{host_facts, Scenario};
    use super::*;
    use crate::config::Config;

    #[test]
    fn counters_follow_the_traffic() {
        let mut scenario = Scenario::new(Config::default());
        let sub = scenario.connect(r#"{"name":"sub"}"#);
        let publisher = scenario.connect(r#"{"name":"pub"}"#);
        scenario.send(sub, "SUB foo 1\r\nSUB bar 2\r\n");
        scenario.send(
            publisher,
            "PUB foo 5\r\nhello\r\nPUB bar 3\r\nabc\r\nPUB none 1\r\nx\r\n",
        );
        let varz = varz(&scenario.broker, scenario.now, &host_facts());
        assert_eq!(varz.connections, 2);
        assert_eq!(varz.total_connections, 2);
        assert_eq!(varz.subscriptions, 2);
        assert_eq!((varz.in_msgs, varz.in_bytes), (3, 9));
        assert_eq!((varz.out_msgs, varz.out_bytes), (2, 8));
        assert_eq!(varz.proto, 1);
        assert_eq!(varz.max_pending, 64 * 1024 * 1024);
    }

    #[test]
    fn json_uses_nats_server_names_and_units() {
        let scenario = Scenario::new(Config::default());
        let varz = varz(&scenario.broker, scenario.now, &host_facts());
        let json = serde_json::to_value(&varz).expect("varz serializes");
        assert_eq!(json["ping_interval"], 120_000_000_000u64);
        assert_eq!(json["write_deadline"], 10_000_000_000u64);
        assert_eq!(json["auth_timeout"], 2.0);
        assert_eq!(json["cluster"], serde_json::json!({}));
        assert_eq!(json["http_port"], 8222);
        assert_eq!(json["uptime"], "1m1s");
        assert_eq!(json["start"], "1970-01-01T00:00:00Z");
        assert_eq!(json["slow_consumer_stats"]["clients"], 0);
        // Left out when false or zero, as nats-server's `omitempty`.
        assert!(json.get("auth_required").is_none());
        assert!(json.get("max_subscriptions").is_none());
    }

    #[test]
    fn stale_connections_are_counted() {
        let mut scenario = Scenario::new(Config::default());
        scenario.connect("{}");
        // Ping interval 2 min, two pings outstanding allowed: closed on the third tick.
        for _ in 0..4 {
            scenario.advance(Config::default().ping_interval);
        }
        let varz = varz(&scenario.broker, scenario.now, &host_facts());
        assert_eq!(varz.stale_connections, 1);
        assert_eq!(varz.stale_connection_stats.clients, 1);
        assert_eq!(varz.connections, 0);
    }
}
