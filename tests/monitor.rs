//! The monitoring endpoints of a real server, over HTTP, after real client traffic: every
//! endpoint answers in nats-server's shape, the figures follow a known scenario, the JSON keys
//! are ones nats-server 2.12.8 uses, and `/metrics` parses and agrees with `/varz`.
//!
//! Every wait is on something observable (messages arriving, a closed connection showing up in
//! `/connz`); timeouts are failure deadlines only.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use async_nats::ConnectOptions;
use bytes::Bytes;
use common::{connect_with, within, DEADLINE, SEED};
use futures::StreamExt;
use serde_json::Value;
use switchboard::{AuthConfig, Config, User};
use switchboard_server::{Server, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// JSON keys nats-server 2.12.8 wrote for the scenario of [`Scenario::run`] (three named
/// subscribers and a publisher with user/password auth, ten 16-byte messages, one subscriber
/// gone), taken by hand from a real run (`nats-server -m`, queried with `state=all`, `subs=1`,
/// `subs=detail` and `auth=1`). Our keys must be among them.
mod nats_server_2_12_8 {
    pub const VARZ: &[&str] = &[
        "auth_required",
        "auth_timeout",
        "cluster",
        "config_digest",
        "config_load_time",
        "connections",
        "cores",
        "cpu",
        "gateway",
        "git_commit",
        "go",
        "gomaxprocs",
        "host",
        "http_base_path",
        "http_host",
        "http_port",
        "http_req_stats",
        "https_port",
        "in_bytes",
        "in_msgs",
        "jetstream",
        "leaf",
        "leafnodes",
        "max_connections",
        "max_control_line",
        "max_payload",
        "max_pending",
        "mem",
        "mqtt",
        "now",
        "out_bytes",
        "out_msgs",
        "ping_interval",
        "ping_max",
        "port",
        "proto",
        "remotes",
        "routes",
        "server_id",
        "server_name",
        "slow_consumer_stats",
        "slow_consumers",
        "stale_connection_stats",
        "stale_connections",
        "stalled_clients",
        "start",
        "subscriptions",
        "system_account",
        "tls_timeout",
        "total_connections",
        "uptime",
        "version",
        "websocket",
        "write_deadline",
    ];
    pub const CONNZ: &[&str] = &[
        "connections",
        "limit",
        "now",
        "num_connections",
        "offset",
        "server_id",
        "total",
    ];
    pub const CONN_INFO: &[&str] = &[
        "authorized_user",
        "cid",
        "idle",
        "in_bytes",
        "in_msgs",
        "ip",
        "kind",
        "lang",
        "last_activity",
        "name",
        "name_tag",
        "out_bytes",
        "out_msgs",
        "pending_bytes",
        "port",
        "reason",
        "rtt",
        "start",
        "stop",
        "subscriptions",
        "subscriptions_list",
        "subscriptions_list_detail",
        "type",
        "uptime",
        "version",
    ];
    pub const SUB_DETAIL: &[&str] = &["account", "account_tag", "cid", "msgs", "sid", "subject"];
    pub const SUBSZ: &[&str] = &[
        "avg_fanout",
        "cache_hit_rate",
        "limit",
        "max_fanout",
        "now",
        "num_cache",
        "num_inserts",
        "num_matches",
        "num_removes",
        "num_subscriptions",
        "offset",
        "server_id",
        "subscriptions_list",
        "total",
    ];
    pub const ROUTEZ: &[&str] = &["now", "num_routes", "routes", "server_id", "server_name"];
    pub const JSZ: &[&str] = &[
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
        "total",
    ];
}

const SUBSCRIBERS: usize = 3;
const MESSAGES: usize = 10;
const PAYLOAD: &[u8; 16] = b"0123456789abcdef";

/// Starts Switchboard with user/password auth and the monitor on ephemeral loopback ports.
async fn start_monitored_server() -> Server {
    let config = Config {
        auth: AuthConfig::Users(vec![User {
            user: "u".to_string(),
            password: "p".to_string(),
        }]),
        ..Config::default()
    };
    let options = ServerOptions {
        config,
        host: "127.0.0.1".to_string(),
        port: 0,
        seed: Some(SEED),
        http_host: Some("127.0.0.1".to_string()),
        http_port: Some(-1),
        ..ServerOptions::default()
    };
    Server::start(options)
        .await
        .expect("Switchboard starts with a monitor on ephemeral loopback ports")
}

fn monitor_addr(server: &Server) -> SocketAddr {
    server.monitor_addr().expect("the monitor runs")
}

/// An HTTP response, as read off the socket.
struct HttpResponse {
    status: u16,
    /// Header names in lower case.
    headers: BTreeMap<String, String>,
    body: String,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// `GET path` over a fresh connection, read to the end.
async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    let mut stream = within(DEADLINE, "connect to the monitor", TcpStream::connect(addr))
        .await
        .expect("the monitor accepts");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut raw = Vec::new();
    within(
        DEADLINE,
        "the monitor's answer",
        stream.read_to_end(&mut raw),
    )
    .await
    .expect("read the answer");
    let text = String::from_utf8(raw).expect("the answer is UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|n| n.parse().ok())
        .expect("a Content-Length");
    assert_eq!(body.len(), length, "body of {path}");
    HttpResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

/// `GET path`, which must answer `200` with JSON, parsed.
async fn get_json(addr: SocketAddr, path: &str) -> Value {
    let response = get(addr, path).await;
    assert_eq!(response.status, 200, "{path}: {}", response.body);
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{path}"
    );
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("*"),
        "{path}"
    );
    serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Polls `path` until `done` holds for its JSON, failing after [`DEADLINE`].
async fn wait_for_json(addr: SocketAddr, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let json = get_json(addr, path).await;
        if done(&json) {
            return json;
        }
        if Instant::now() >= deadline {
            panic!("{path}: not as expected after {DEADLINE:?}; last answer {json:#}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

fn assert_keys_within(what: &str, ours: &BTreeSet<String>, theirs: &[&str]) {
    let extra: Vec<&String> = ours
        .iter()
        .filter(|k| !theirs.contains(&k.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "{what}: keys nats-server does not have: {extra:?}"
    );
}

fn connections(connz: &Value) -> &Vec<Value> {
    connz["connections"].as_array().expect("a connections list")
}

/// The clients of the scenario, kept connected until dropped.
struct Scenario {
    subscribers: Vec<(async_nats::Client, async_nats::Subscriber)>,
    publisher: async_nats::Client,
}

impl Scenario {
    /// Three subscribers `sub-0..2` on `updates`, a publisher `pub` sending ten 16-byte
    /// messages, and every message received before returning.
    async fn run(server: &Server) -> Scenario {
        let options = |name: &str| {
            ConnectOptions::with_user_and_password("u".to_string(), "p".to_string()).name(name)
        };
        let mut subscribers = Vec::new();
        for i in 0..SUBSCRIBERS {
            let client = connect_with(server, options(&format!("sub-{i}"))).await;
            let subscriber = client.subscribe("updates").await.expect("subscribe");
            client.flush().await.expect("flush the SUB");
            subscribers.push((client, subscriber));
        }
        // The SUBs must be in before anything is published: wait until the server has them.
        let addr = monitor_addr(server);
        wait_for_json(addr, "/varz", |v| v["subscriptions"] == SUBSCRIBERS).await;
        let publisher = connect_with(server, options("pub")).await;
        for _ in 0..MESSAGES {
            publisher
                .publish("updates", Bytes::from_static(PAYLOAD))
                .await
                .expect("publish");
        }
        publisher.flush().await.expect("flush the PUBs");
        for (_, subscriber) in &mut subscribers {
            for n in 0..MESSAGES {
                within(DEADLINE, &format!("message {n}"), subscriber.next())
                    .await
                    .expect("the subscription stays open");
            }
        }
        Scenario {
            subscribers,
            publisher,
        }
    }
}

#[tokio::test]
async fn every_endpoint_answers_in_nats_server_shape() {
    let server = start_monitored_server().await;
    let addr = monitor_addr(&server);

    let root = get(addr, "/").await;
    assert_eq!(root.status, 200);
    assert_eq!(
        root.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(root.body.contains("./varz"));

    for path in [
        "/varz",
        "/connz",
        "/subsz",
        "/subscriptionsz",
        "/routez",
        "/jsz",
    ] {
        get_json(addr, path).await;
    }
    let health = get(addr, "/healthz").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
    let health = get(addr, "/healthz?js-enabled-only=true").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
    let health = get(addr, "/healthz?stream=x").await;
    assert_eq!(health.status, 400);
    assert!(health
        .body
        .contains("must not be empty when checking stream health"));
    let jsz = get_json(addr, "/jsz").await;
    assert_eq!(jsz["disabled"], true);

    let metrics = get(addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .is_some_and(|t| t.contains("openmetrics-text")));

    // Go's http.NotFound for anything else, including near misses.
    for path in ["/nope", "/varz/", "/varzz"] {
        let missing = get(addr, path).await;
        assert_eq!(
            (missing.status, missing.body.as_str()),
            (404, "404 page not found\n")
        );
        assert_eq!(
            missing.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }

    // nats-server's 400 answers, word for word.
    for (path, text) in [
        ("/connz?sort=foo", "invalid sorting option: foo"),
        (
            "/connz?sort=stop",
            "sort by stop only valid on closed connections",
        ),
        ("/connz?state=x", "Error decoding state for x"),
        (
            "/connz?limit=x",
            "Error decoding int for 'limit': strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        (
            "/subsz?test=foo.*",
            "invalid test subject, must be valid publish subject: foo.*",
        ),
        ("/jsz?leader-only=true", "filtered response: not leader"),
    ] {
        let refused = get(addr, path).await;
        assert_eq!(
            (refused.status, refused.body.as_str()),
            (400, text),
            "{path}"
        );
        assert_eq!(
            refused.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }

    // JSONP, as nats-server's `callback=`.
    let jsonp = get(addr, "/varz?callback=cb").await;
    assert_eq!(jsonp.header("content-type"), Some("application/javascript"));
    assert!(jsonp.body.starts_with("cb({") && jsonp.body.ends_with("})"));

    let varz = get_json(addr, "/varz").await;
    let requests = &varz["http_req_stats"];
    assert_eq!(
        requests["/subsz"], 3,
        "/subscriptionsz counts as /subsz: {requests}"
    );
    assert_eq!(requests["/connz"], 5);
    server.shutdown().await;
}

#[tokio::test]
async fn figures_follow_the_traffic() {
    let server = start_monitored_server().await;
    let addr = monitor_addr(&server);
    let scenario = Scenario::run(&server).await;

    let varz = get_json(addr, "/varz").await;
    let total = (MESSAGES * SUBSCRIBERS) as u64;
    assert_eq!(varz["in_msgs"], MESSAGES as u64);
    assert_eq!(varz["in_bytes"], (MESSAGES * PAYLOAD.len()) as u64);
    assert_eq!(varz["out_msgs"], total);
    assert_eq!(varz["out_bytes"], total * PAYLOAD.len() as u64);
    assert_eq!(varz["connections"], SUBSCRIBERS + 1);
    assert_eq!(varz["total_connections"], SUBSCRIBERS + 1);
    assert_eq!(varz["subscriptions"], SUBSCRIBERS);
    assert_eq!(varz["auth_required"], true);
    assert_eq!(varz["http_port"], addr.port());
    assert_eq!(varz["port"], server.local_addr().port());
    assert!(varz["mem"]
        .as_i64()
        .is_some_and(|m| cfg!(not(target_os = "linux")) || m > 0));

    // Most messages delivered first; the publisher, which received none, last.
    let by_out = get_json(addr, "/connz?sort=msgs_to&auth=1").await;
    assert_eq!(by_out["total"], SUBSCRIBERS + 1);
    assert_eq!(by_out["num_connections"], SUBSCRIBERS + 1);
    let rows = connections(&by_out);
    for row in &rows[..SUBSCRIBERS] {
        assert_eq!(row["out_msgs"], MESSAGES as u64);
        assert_eq!(row["out_bytes"], (MESSAGES * PAYLOAD.len()) as u64);
        assert_eq!(row["subscriptions"], 1);
        assert_eq!(row["authorized_user"], "u");
        assert_eq!(row["lang"], "rust");
    }
    assert_eq!(rows[SUBSCRIBERS]["name"], "pub");
    assert_eq!(rows[SUBSCRIBERS]["in_msgs"], MESSAGES as u64);

    let top = get_json(addr, "/connz?sort=msgs_from&limit=1").await;
    assert_eq!(connections(&top).len(), 1);
    assert_eq!(connections(&top)[0]["name"], "pub");
    let page = get_json(addr, "/connz?offset=1&limit=2").await;
    assert_eq!(page["offset"], 1);
    assert_eq!(page["limit"], 2);
    let names: Vec<&str> = connections(&page)
        .iter()
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        ["sub-1", "sub-2"],
        "sorted by cid, the second and third"
    );

    let with_subs = get_json(addr, "/connz?subs=1&limit=1").await;
    assert_eq!(
        connections(&with_subs)[0]["subscriptions_list"],
        serde_json::json!(["updates"])
    );

    let subsz = get_json(addr, "/subsz?subs=1").await;
    assert_eq!(subsz["num_subscriptions"], SUBSCRIBERS);
    assert_eq!(subsz["total"], SUBSCRIBERS);
    assert_eq!(subsz["subscriptions_list"][0]["msgs"], MESSAGES as u64);

    // One subscriber leaves: it shows up as closed, with nats-server's reason.
    let Scenario {
        mut subscribers,
        publisher,
    } = scenario;
    drop(subscribers.remove(0));
    let closed = wait_for_json(addr, "/connz?state=closed&subs=1", |c| {
        !connections(c).is_empty()
    })
    .await;
    let gone = &connections(&closed)[0];
    assert_eq!(gone["name"], "sub-0");
    assert_eq!(gone["reason"], "Client Closed");
    assert_eq!(gone["out_msgs"], MESSAGES as u64);
    assert_eq!(gone["subscriptions_list"], serde_json::json!(["updates"]));
    assert!(gone["stop"].is_string());
    let all = get_json(addr, "/connz?state=all").await;
    assert_eq!(all["total"], SUBSCRIBERS + 1);
    let subsz = get_json(addr, "/subsz").await;
    assert_eq!(subsz["num_subscriptions"], SUBSCRIBERS - 1);
    drop((subscribers, publisher));
    server.shutdown().await;
}

#[tokio::test]
async fn json_keys_are_ones_nats_server_uses() {
    let server = start_monitored_server().await;
    let addr = monitor_addr(&server);
    let scenario = Scenario::run(&server).await;
    let Scenario {
        mut subscribers,
        publisher,
    } = scenario;
    drop(subscribers.remove(0));
    wait_for_json(addr, "/connz?state=closed", |c| !connections(c).is_empty()).await;

    use nats_server_2_12_8 as reference;
    assert_keys_within(
        "varz",
        &keys(&get_json(addr, "/varz").await),
        reference::VARZ,
    );
    for query in ["state=all&subs=1&auth=1", "state=all&subs=detail&auth=1"] {
        let connz = get_json(addr, &format!("/connz?{query}")).await;
        assert_keys_within("connz", &keys(&connz), reference::CONNZ);
        for conn in connections(&connz) {
            assert_keys_within("connection", &keys(conn), reference::CONN_INFO);
            for sub in conn["subscriptions_list_detail"]
                .as_array()
                .into_iter()
                .flatten()
            {
                assert_keys_within("subscription", &keys(sub), reference::SUB_DETAIL);
            }
        }
    }
    let subsz = get_json(addr, "/subsz?subs=1").await;
    assert_keys_within("subsz", &keys(&subsz), reference::SUBSZ);
    for sub in subsz["subscriptions_list"].as_array().into_iter().flatten() {
        assert_keys_within("subsz subscription", &keys(sub), reference::SUB_DETAIL);
    }
    assert_keys_within(
        "routez",
        &keys(&get_json(addr, "/routez").await),
        reference::ROUTEZ,
    );
    assert_keys_within("jsz", &keys(&get_json(addr, "/jsz").await), reference::JSZ);
    drop((subscribers, publisher));
    server.shutdown().await;
}

#[tokio::test]
async fn metrics_parse_and_agree_with_varz() {
    let server = start_monitored_server().await;
    let addr = monitor_addr(&server);
    let scenario = Scenario::run(&server).await;

    // Nothing moves between the two requests: the scenario is over and idle.
    let varz = get_json(addr, "/varz").await;
    let metrics = get(addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    let families = exposition::parse(&metrics.body);
    let value = |name: &str| exposition::value(&families, name, &[]);
    for (series, field) in [
        ("switchboard_in_messages_total", "in_msgs"),
        ("switchboard_out_messages_total", "out_msgs"),
        ("switchboard_in_bytes_total", "in_bytes"),
        ("switchboard_out_bytes_total", "out_bytes"),
        ("switchboard_connections", "connections"),
        (
            "switchboard_connections_accepted_total",
            "total_connections",
        ),
        ("switchboard_subscriptions", "subscriptions"),
        ("switchboard_slow_consumers_total", "slow_consumers"),
        ("switchboard_stale_connections_total", "stale_connections"),
    ] {
        let expected = varz[field]
            .as_f64()
            .unwrap_or_else(|| panic!("varz {field}"));
        assert_eq!(value(series), expected, "{series} against /varz {field}");
    }
    assert_eq!(
        exposition::value(
            &families,
            "switchboard_connections_closed_total",
            &[("reason", "client_closed")]
        ),
        0.0
    );
    let histogram = &families["switchboard_pending_bytes"];
    assert_eq!(histogram.kind, "histogram");
    assert!(
        value("switchboard_pending_bytes_count") > 0.0,
        "writes were observed"
    );
    assert!(value("process_resident_memory_bytes") >= 0.0);
    assert_eq!(
        exposition::value(
            &families,
            "switchboard_server_info",
            &[("server_id", varz["server_id"].as_str().unwrap_or(""))]
        ),
        1.0
    );

    // A client leaves: its close is counted under its reason.
    let Scenario {
        mut subscribers,
        publisher,
    } = scenario;
    drop(subscribers.remove(0));
    wait_for_json(addr, "/connz?state=closed", |c| !connections(c).is_empty()).await;
    let families = exposition::parse(&get(addr, "/metrics").await.body);
    assert_eq!(
        exposition::value(
            &families,
            "switchboard_connections_closed_total",
            &[("reason", "client_closed")]
        ),
        1.0
    );
    drop((subscribers, publisher));
    server.shutdown().await;
}

#[tokio::test]
async fn the_monitor_answers_as_soon_as_the_server_is_started() {
    let server = start_monitored_server().await;
    // No retry: bound before the client listener, serving before `start` returns.
    let varz = get_json(monitor_addr(&server), "/varz").await;
    assert_eq!(varz["connections"], 0);
    let connz = get_json(monitor_addr(&server), "/connz").await;
    assert_eq!(connz["connections"], serde_json::json!([]));
    server.shutdown().await;
}

/// A strict reader of the OpenMetrics text format, enough to prove `/metrics` is well formed:
/// every line must parse, every sample must belong to a family declared before it with a
/// suffix its type allows, histograms must be cumulative and end at `+Inf` with `_count`, and
/// the text must end with `# EOF`.
mod exposition {
    use std::collections::BTreeMap;

    pub struct Family {
        pub kind: String,
        pub samples: Vec<Sample>,
    }

    pub struct Sample {
        pub name: String,
        pub labels: BTreeMap<String, String>,
        pub value: f64,
    }

    pub fn parse(text: &str) -> BTreeMap<String, Family> {
        let body = text
            .strip_suffix("# EOF\n")
            .unwrap_or_else(|| panic!("no final `# EOF`:\n{text}"));
        let mut families: BTreeMap<String, Family> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in body.lines() {
            if let Some(comment) = line.strip_prefix("# ") {
                let mut words = comment.splitn(3, ' ');
                let (keyword, name) = (words.next(), words.next());
                let rest = words.next().unwrap_or("");
                let name = name.unwrap_or_else(|| panic!("bad comment line {line:?}"));
                check_name(name, line);
                match keyword {
                    Some("TYPE") => {
                        assert!(
                            matches!(rest, "counter" | "gauge" | "histogram" | "info" | "unknown"),
                            "bad type in {line:?}"
                        );
                        let fresh = Family {
                            kind: rest.to_string(),
                            samples: Vec::new(),
                        };
                        assert!(
                            families.insert(name.to_string(), fresh).is_none(),
                            "{name} twice"
                        );
                        current = Some(name.to_string());
                    }
                    Some("HELP") => {}
                    Some("UNIT") => {
                        assert!(
                            name.ends_with(&format!("_{rest}")),
                            "unit not a suffix: {line:?}"
                        )
                    }
                    _ => panic!("unknown comment {line:?}"),
                }
                continue;
            }
            let family = current
                .as_deref()
                .unwrap_or_else(|| panic!("sample before any TYPE: {line:?}"));
            let sample = parse_sample(line);
            let entry = families.get_mut(family).expect("declared above");
            let suffix = sample
                .name
                .strip_prefix(family)
                .unwrap_or_else(|| panic!("{line:?} is not in family {family}"));
            let allowed: &[&str] = match entry.kind.as_str() {
                "counter" => &["_total", "_created"],
                "gauge" | "unknown" => &[""],
                "histogram" => &["_bucket", "_count", "_sum", "_created"],
                "info" => &["_info"],
                _ => &[],
            };
            assert!(
                allowed.contains(&suffix),
                "{line:?}: suffix {suffix:?} in a {}",
                entry.kind
            );
            entry.samples.push(sample);
        }
        for (name, family) in &families {
            if family.kind == "histogram" {
                check_histogram(name, family);
            }
        }
        families
    }

    fn check_name(name: &str, line: &str) {
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
        assert!(
            first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line:?}"
        );
    }

    fn parse_sample(line: &str) -> Sample {
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("no value in {line:?}"));
        let name = &line[..name_end];
        check_name(name, line);
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(inner) = rest.strip_prefix('{') {
            rest = parse_labels(inner, &mut labels, line);
        }
        let mut fields = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no space before the value in {line:?}"))
            .split(' ');
        let value = parse_value(fields.next().unwrap_or(""), line);
        if let Some(timestamp) = fields.next() {
            parse_value(timestamp, line);
        }
        assert!(fields.next().is_none(), "trailing fields in {line:?}");
        Sample {
            name: name.to_string(),
            labels,
            value,
        }
    }

    /// Reads `name="value",...}` and returns what follows the `}`.
    fn parse_labels<'a>(
        mut text: &'a str,
        labels: &mut BTreeMap<String, String>,
        line: &str,
    ) -> &'a str {
        loop {
            if let Some(after) = text.strip_prefix('}') {
                return after;
            }
            let (name, after) = text
                .split_once("=\"")
                .unwrap_or_else(|| panic!("bad label in {line:?}"));
            check_name(name, line);
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        _ => panic!("bad escape in {line:?}"),
                    },
                    Some((at, '"')) => break at,
                    Some((_, c)) => value.push(c),
                    None => panic!("unterminated label value in {line:?}"),
                }
            };
            assert!(
                labels.insert(name.to_string(), value).is_none(),
                "label twice in {line:?}"
            );
            text = &after[end + 1..];
            text = text.strip_prefix(',').unwrap_or(text);
        }
    }

    fn parse_value(text: &str, line: &str) -> f64 {
        match text {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            _ => text
                .parse()
                .unwrap_or_else(|_| panic!("bad number {text:?} in {line:?}")),
        }
    }

    fn check_histogram(name: &str, family: &Family) {
        let buckets: Vec<(f64, f64)> = family
            .samples
            .iter()
            .filter(|s| s.name.ends_with("_bucket"))
            .map(|s| (parse_value(&s.labels["le"], name), s.value))
            .collect();
        assert!(
            buckets
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{name}: buckets not cumulative in order: {buckets:?}"
        );
        let last = buckets
            .last()
            .unwrap_or_else(|| panic!("{name}: no buckets"));
        assert_eq!(last.0, f64::INFINITY, "{name}: no +Inf bucket");
        let count = family
            .samples
            .iter()
            .find(|s| s.name.ends_with("_count"))
            .unwrap_or_else(|| panic!("{name}: no _count"));
        assert_eq!(
            last.1, count.value,
            "{name}: +Inf bucket differs from _count"
        );
    }

    /// The value of the one sample named `name` whose labels include `labels`.
    pub fn value(families: &BTreeMap<String, Family>, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<f64> = families
            .values()
            .flat_map(|f| &f.samples)
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .collect();
        match found.as_slice() {
            [value] => *value,
            _ => panic!("{name} {labels:?}: {} samples", found.len()),
        }
    }
}
