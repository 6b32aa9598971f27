//! `/metrics`: the `/varz` counters and gauges in the OpenMetrics text format (what
//! `prometheus-client` encodes; Prometheus scrapes it natively), so no exporter is needed.
//!
//! # Names
//! Everything of the broker is under `switchboard_`, so it cannot be mistaken for the
//! `gnatsd_*`/`nats_*` series of the separate nats-server exporter (those are gauges without
//! units, built from polling `/varz`). Counters end in `_total`, sizes are in bytes and times
//! in seconds, as Prometheus's naming guide asks; the process's own figures use the standard
//! `process_*` names every Prometheus client library exports.
//!
//! | series | type | from `/varz` |
//! | --- | --- | --- |
//! | `switchboard_server_info{server_id,server_name,version,switchboard_version}` | info | `server_id`, `server_name`, `version` |
//! | `switchboard_start_time_seconds` | gauge | `start` |
//! | `switchboard_uptime_seconds` | gauge | `uptime` |
//! | `switchboard_connections` | gauge | `connections` |
//! | `switchboard_connections_accepted_total` | counter | `total_connections` |
//! | `switchboard_connections_closed_total{reason}` | counter | per reason; `reason` is [`CloseReason::label`] (the snake_case of `/connz`'s `reason`) |
//! | `switchboard_subscriptions` | gauge | `subscriptions` |
//! | `switchboard_in_messages_total`, `switchboard_out_messages_total` | counter | `in_msgs`, `out_msgs` |
//! | `switchboard_in_bytes_total`, `switchboard_out_bytes_total` | counter | `in_bytes`, `out_bytes` |
//! | `switchboard_slow_consumers_total` | counter | `slow_consumers` |
//! | `switchboard_stale_connections_total` | counter | `stale_connections` |
//! | `switchboard_pending_bytes` | histogram | a connection's pending bytes at each hand-over of a write batch (see `switchboard::monitor::histogram`) |
//! | `switchboard_http_requests_total{path}` | counter | `http_req_stats` |
//! | `switchboard_jetstream_streams` | gauge | `/jsz` `streams` (JetStream series only when it is on) |
//! | `switchboard_jetstream_messages`, `switchboard_jetstream_stored_bytes` | gauge | `/jsz` `messages`, `bytes` |
//! | `switchboard_jetstream_api_requests_total`, `switchboard_jetstream_api_errors_total` | counter | `/jsz` `api.total`, `api.errors` |
//! | `switchboard_jetstream_acks_waiting_sync` | gauge | PubAcks queued until their message is on disk |
//! | `switchboard_jetstream_streams_failed` | gauge | streams whose store failed a sync (also a `503` on `/healthz`) |
//! | `process_resident_memory_bytes` | gauge | `mem` |
//! | `process_cpu_seconds_total` | counter | `cpu` is its rate: use `rate(process_cpu_seconds_total[1m])` |
//! | `process_start_time_seconds` | gauge | `start` |
//!
//! Every reason is always present (zero until it happens), so `rate()` and alerts see a series
//! from the first scrape.

use std::fmt;

use prometheus_client::encoding::{text, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use switchboard::monitor::{CloseReason, PendingBytesHistogram, Varz};
use switchboard::Stats;

/// The `Content-Type` of what [`render`] writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What one scrape shows: the same snapshot `/varz` is built from, plus the process's CPU time.
pub struct Scrape<'a> {
    pub varz: &'a Varz,
    pub stats: &'a Stats,
    /// User plus system CPU time of the process so far, seconds.
    pub cpu_seconds: f64,
    /// JetStream's figures, when it is on.
    pub jetstream: Option<JetStreamFigures>,
}

/// What `/metrics` shows of JetStream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JetStreamFigures {
    pub streams: u64,
    pub messages: u64,
    pub bytes: u64,
    pub api_total: u64,
    pub api_errors: u64,
    pub acks_waiting: u64,
    pub streams_failed: u64,
}

impl JetStreamFigures {
    pub fn of(js: &switchboard::jetstream::JetStream) -> JetStreamFigures {
        let usage = js.usage();
        let (messages, bytes) = js.totals();
        JetStreamFigures {
            streams: usage.streams,
            messages,
            bytes,
            api_total: usage.api_total,
            api_errors: usage.api_errors,
            acks_waiting: js.acks_waiting(),
            streams_failed: js.failed_streams().len() as u64,
        }
    }
}

fn register_jetstream(registry: &mut Registry, js: &JetStreamFigures) {
    let gauges = [
        ("streams", "JetStream streams", js.streams),
        (
            "messages",
            "Messages stored in JetStream streams",
            js.messages,
        ),
        (
            "acks_waiting_sync",
            "PubAcks queued until their message is synced to disk",
            js.acks_waiting,
        ),
        (
            "streams_failed",
            "Streams whose store failed a sync: they take no writes",
            js.streams_failed,
        ),
    ];
    for (name, help, value) in gauges {
        registry.register(name, help, ConstGauge::new(value));
    }
    registry.register_with_unit(
        "stored",
        "Bytes stored in JetStream streams (as nats-server counts them)",
        Unit::Bytes,
        ConstGauge::new(js.bytes),
    );
    registry.register(
        "api_requests",
        "JetStream API requests",
        ConstCounter::new(js.api_total),
    );
    registry.register(
        "api_errors",
        "JetStream API requests answered with an error",
        ConstCounter::new(js.api_errors),
    );
}

/// The exposition text for `scrape`. A fresh registry per scrape holds constant values: the
/// figures live in the broker, so there is nothing to keep in sync between scrapes.
pub fn render(scrape: &Scrape<'_>) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    register_process(&mut registry, scrape);
    let broker = registry.sub_registry_with_prefix("switchboard");
    register_broker(broker, scrape);
    if let Some(js) = &scrape.jetstream {
        register_jetstream(broker.sub_registry_with_prefix("jetstream"), js);
    }
    let mut out = String::new();
    text::encode(&mut out, &registry)?;
    Ok(out)
}

fn register_process(registry: &mut Registry, scrape: &Scrape<'_>) {
    let varz = scrape.varz;
    registry.register_with_unit(
        "process_resident_memory",
        "Resident memory size",
        Unit::Bytes,
        ConstGauge::new(varz.mem),
    );
    registry.register_with_unit(
        "process_cpu",
        "User and system CPU time spent",
        Unit::Seconds,
        ConstCounter::new(scrape.cpu_seconds),
    );
    registry.register_with_unit(
        "process_start_time",
        "Start time of the process since the Unix epoch",
        Unit::Seconds,
        ConstGauge::new(unix_seconds(varz.start.0)),
    );
}

fn register_broker(registry: &mut Registry, scrape: &Scrape<'_>) {
    let (varz, stats) = (scrape.varz, scrape.stats);
    registry.register(
        "server",
        "The server's identity; `version` is the nats-server protocol version it speaks",
        Info::new(vec![
            ("server_id", varz.server_id.clone()),
            ("server_name", varz.server_name.clone()),
            ("version", varz.version.clone()),
            ("switchboard_version", env!("CARGO_PKG_VERSION").to_string()),
        ]),
    );
    registry.register_with_unit(
        "start_time",
        "When the server started, since the Unix epoch",
        Unit::Seconds,
        ConstGauge::new(unix_seconds(varz.start.0)),
    );
    let uptime = (varz.now.0.as_unix_nanos() - varz.start.0.as_unix_nanos()).max(0);
    registry.register_with_unit(
        "uptime",
        "Time since the server started",
        Unit::Seconds,
        ConstGauge::new(uptime as f64 / 1e9),
    );
    registry.register(
        "connections",
        "Client connections open",
        ConstGauge::new(varz.connections),
    );
    registry.register(
        "connections_accepted",
        "Client connections accepted since start",
        ConstCounter::new(varz.total_connections),
    );
    registry.register(
        "connections_closed",
        "Client connections closed since start, by reason",
        closes_by_reason(stats),
    );
    registry.register(
        "subscriptions",
        "Subscriptions open",
        ConstGauge::new(varz.subscriptions),
    );
    register_traffic(registry, varz);
    registry.register(
        "slow_consumers",
        "Clients cut off as slow consumers",
        ConstCounter::new(varz.slow_consumers),
    );
    registry.register(
        "stale_connections",
        "Clients closed for not answering PINGs",
        ConstCounter::new(varz.stale_connections),
    );
    registry.register_with_unit(
        "pending",
        "A connection's pending outbound bytes each time a write batch is handed over",
        Unit::Bytes,
        ConstHistogram::from(&stats.pending_bytes),
    );
    let requests = varz
        .http_req_stats
        .iter()
        .map(|(path, &count)| (path.clone(), count));
    registry.register(
        "http_requests",
        "Monitoring requests served, by endpoint",
        LabelledCounters::new("path", requests),
    );
}

fn register_traffic(registry: &mut Registry, varz: &Varz) {
    registry.register(
        "in_messages",
        "Messages received from clients",
        ConstCounter::new(varz.in_msgs),
    );
    registry.register(
        "out_messages",
        "Messages delivered to clients",
        ConstCounter::new(varz.out_msgs),
    );
    registry.register_with_unit(
        "in",
        "Message payload and header bytes received from clients",
        Unit::Bytes,
        ConstCounter::new(varz.in_bytes),
    );
    registry.register_with_unit(
        "out",
        "Message payload and header bytes delivered to clients",
        Unit::Bytes,
        ConstCounter::new(varz.out_bytes),
    );
}

/// One series per reason, zeros included.
fn closes_by_reason(stats: &Stats) -> LabelledCounters {
    let series = stats
        .closes
        .iter()
        .map(|(reason, count)| (CloseReason::label(reason).to_string(), count));
    LabelledCounters::new("reason", series)
}

/// Counters told apart by one label, values fixed at scrape time, written in the order given
/// (`Family` keeps a hash map, so its order would change from scrape to scrape).
#[derive(Debug)]
struct LabelledCounters {
    label: &'static str,
    series: Vec<(String, u64)>,
}

impl LabelledCounters {
    fn new(label: &'static str, series: impl Iterator<Item = (String, u64)>) -> LabelledCounters {
        LabelledCounters {
            label,
            series: series.collect(),
        }
    }
}

impl EncodeMetric for LabelledCounters {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        for (value, count) in &self.series {
            let labels = [(self.label, value.as_str())];
            encoder
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(count, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// The core's bucket counts as an OpenMetrics histogram, values fixed at scrape time.
#[derive(Debug)]
struct ConstHistogram {
    sum: f64,
    count: u64,
    /// `(upper bound, count in that bucket alone)`, ending with `+Inf`, as the encoder wants.
    buckets: Vec<(f64, u64)>,
}

impl From<&PendingBytesHistogram> for ConstHistogram {
    fn from(histogram: &PendingBytesHistogram) -> ConstHistogram {
        let mut buckets = Vec::new();
        let mut below = 0;
        for (bound, cumulative) in histogram.cumulative() {
            buckets.push((bound as f64, cumulative - below));
            below = cumulative;
        }
        let count = histogram.count();
        buckets.push((f64::INFINITY, count - below));
        ConstHistogram {
            sum: histogram.sum_bytes() as f64,
            count,
            buckets,
        }
    }
}

impl EncodeMetric for ConstHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

fn unix_seconds(wall: switchboard::Wall) -> f64 {
    wall.as_unix_nanos() as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::monitor::{varz, HostFacts};
    use switchboard::{Broker, Config, Now, Seed, Wall};

    #[test]
    fn every_family_is_named_and_typed_as_documented() {
        let now = Now::new(
            switchboard::Mono::ZERO,
            Wall::from_unix_nanos(5_000_000_000),
        );
        let broker = Broker::new(Config::default(), Seed(1), now);
        let facts = HostFacts {
            mem_bytes: 4096,
            http_req_stats: [("/varz".to_string(), 3)].into_iter().collect(),
            ..HostFacts::default()
        };
        let varz = varz(&broker, now, &facts);
        let text = render(&Scrape {
            varz: &varz,
            stats: broker.stats(),
            cpu_seconds: 1.5,
            jetstream: None,
        })
        .expect("encodes");
        for line in [
            "# TYPE switchboard_connections gauge",
            "# TYPE switchboard_in_messages counter",
            "switchboard_in_messages_total 0",
            "switchboard_in_bytes_total 0",
            "switchboard_connections_closed_total{reason=\"stale_connection\"} 0",
            "switchboard_pending_bytes_bucket{le=\"+Inf\"} 0",
            "switchboard_http_requests_total{path=\"/varz\"} 3",
            "switchboard_uptime_seconds 5.0",
            "process_resident_memory_bytes 4096",
            "process_cpu_seconds_total 1.5",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn jetstream_series_appear_when_it_is_on() {
        let now = Now::new(switchboard::Mono::ZERO, Wall::from_unix_nanos(0));
        let broker = Broker::new(Config::default(), Seed(1), now);
        let varz = varz(&broker, now, &HostFacts::default());
        let figures = JetStreamFigures {
            streams: 2,
            messages: 10,
            bytes: 400,
            api_total: 7,
            api_errors: 1,
            acks_waiting: 3,
            streams_failed: 1,
        };
        let scrape = |jetstream| {
            render(&Scrape {
                varz: &varz,
                stats: broker.stats(),
                cpu_seconds: 0.0,
                jetstream,
            })
            .expect("encodes")
        };
        let text = scrape(Some(figures));
        for line in [
            "switchboard_jetstream_streams 2",
            "switchboard_jetstream_messages 10",
            "switchboard_jetstream_stored_bytes 400",
            "switchboard_jetstream_api_requests_total 7",
            "switchboard_jetstream_api_errors_total 1",
            "switchboard_jetstream_acks_waiting_sync 3",
            "switchboard_jetstream_streams_failed 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line:?} missing from:\n{text}"
            );
        }
        assert!(
            !scrape(None).contains("jetstream"),
            "no JetStream series when it is off"
        );
    }
}
