//! A broker driven with virtual time, and `/connz` checked against it: counters, paging,
//! every sort, subscriptions, closed connections with their reasons, RTT and users.

use core::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::broker::{ConnId, Output};
use crate::config::{Config, User};
use crate::seed::Seed;
use crate::time::{Mono, Now};

/// The scenario's wall clock starts 61 s after [`host_facts`]'s server start, so `uptime` reads
/// `1m1s`.
const WALL_START_NANOS: i64 = 61_000_000_000;

/// A host in miniature: every write completes at once, nothing else happens by itself.
pub(super) struct Scenario {
    pub(super) broker: Broker,
    pub(super) now: Now,
    next_port: u16,
}

impl Scenario {
    pub(super) fn new(config: Config) -> Scenario {
        let now = Now::new(Mono::ZERO, Wall::from_unix_nanos(WALL_START_NANOS));
        Scenario {
            broker: Broker::new(config, Seed(1), now),
            now,
            next_port: 40_000,
        }
    }

    /// Accepts a client and sends its CONNECT.
    pub(super) fn connect(&mut self, connect_json: &str) -> ConnId {
        self.next_port += 1;
        let peer = SocketAddr::from(([127, 0, 0, 1], self.next_port));
        let conn = self.broker.handle_accept(self.now, peer);
        self.drain();
        self.send(conn, &format!("CONNECT {connect_json}\r\n"));
        conn
    }

    pub(super) fn send(&mut self, conn: ConnId, text: &str) {
        let data = Bytes::copy_from_slice(text.as_bytes());
        self.broker.handle_read(self.now, conn, data);
        self.drain();
    }

    /// Moves both clocks forward and fires what is due.
    pub(super) fn advance(&mut self, by: Duration) {
        let nanos = i64::try_from(by.as_nanos()).expect("a short test duration");
        self.now = Now::new(
            self.now.mono + by,
            Wall::from_unix_nanos(self.now.wall.as_unix_nanos() + nanos),
        );
        self.broker.handle_timeout(self.now);
        self.drain();
    }

    /// The client's socket went away.
    pub(super) fn disconnect(&mut self, conn: ConnId) {
        self.broker.handle_disconnected(self.now, conn);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(output) = self.broker.poll_output() {
            match output {
                Output::Transmit { conn, chunks } => {
                    let n = chunks.iter().map(Bytes::len).sum();
                    self.broker.handle_written(self.now, conn, n);
                }
                Output::Sync(job) => self.broker.handle_synced(self.now, job.run()),
                _ => {}
            }
        }
    }

    pub(super) fn connz(&self, query: &str) -> Connz {
        let options = ConnzOptions::from_query(&Query::parse(query)).expect("valid options");
        connz(&self.broker, self.now, &options)
    }
}

/// Host facts with the server started at the Unix epoch.
pub(super) fn host_facts() -> HostFacts {
    HostFacts {
        start: Wall::from_unix_nanos(0),
        config_load_time: Wall::from_unix_nanos(0),
        mem_bytes: 1 << 20,
        cpu_percent: 0.5,
        cores: 2,
        http_host: "0.0.0.0".to_string(),
        http_port: 8222,
        http_req_stats: BTreeMap::new(),
    }
}

fn cids(connz: &Connz) -> Vec<u64> {
    connz.connections.iter().map(|c| c.cid).collect()
}

/// nats-server's scenario from the reference run: two subscribers and a publisher.
fn three_clients() -> (Scenario, [ConnId; 3]) {
    let mut scenario = Scenario::new(Config::default());
    let client = |name: &str| format!(r#"{{"name":"{name}","lang":"rust","version":"1.0"}}"#);
    let a = scenario.connect(&client("sub-a"));
    let b = scenario.connect(&client("sub-b"));
    let p = scenario.connect(&client("pub"));
    scenario.send(a, "SUB foo 1\r\nSUB bar.* q 2\r\n");
    scenario.send(b, "SUB foo 1\r\n");
    scenario.advance(Duration::from_secs(1));
    for _ in 0..5 {
        scenario.send(p, "PUB foo 5\r\nhello\r\n");
    }
    scenario.send(p, "PUB bar.x 3\r\nabc\r\n");
    (scenario, [a, b, p])
}

#[test]
fn counts_each_connection_like_nats_server() {
    let (scenario, [a, b, p]) = three_clients();
    let connz = scenario.connz("");
    assert_eq!(cids(&connz), [a.0, b.0, p.0]);
    assert_eq!((connz.total, connz.num_connections), (3, 3));
    assert_eq!((connz.offset, connz.limit), (0, 1024));
    // The figures nats-server 2.12.8 showed for the same traffic.
    let figures: Vec<_> = connz
        .connections
        .iter()
        .map(|c| {
            (
                c.in_msgs,
                c.in_bytes,
                c.out_msgs,
                c.out_bytes,
                c.subscriptions,
            )
        })
        .collect();
    assert_eq!(
        figures,
        [(0, 0, 6, 28, 2), (0, 0, 5, 25, 1), (6, 28, 0, 0, 0)]
    );
    let first = &connz.connections[0];
    assert_eq!((first.kind, first.kind_type), ("Client", "nats"));
    assert_eq!((first.ip.as_str(), first.port), ("127.0.0.1", 40_001));
    assert_eq!(
        (first.name.as_str(), first.lang.as_str()),
        ("sub-a", "rust")
    );
    assert_eq!(first.version, "1.0");
    assert_eq!(first.uptime, "1s");
    // Delivered to a second after it connected, and nothing since.
    assert_eq!(
        first.last_activity.0.as_unix_nanos(),
        WALL_START_NANOS + 1_000_000_000
    );
    assert_eq!(first.idle, "0s");
    let json = serde_json::to_value(first).expect("conn info serializes");
    assert!(json.get("stop").is_none() && json.get("reason").is_none());
    assert!(json.get("subscriptions_list").is_none());
    assert!(json.get("authorized_user").is_none());
}

#[test]
fn sorts_by_every_nats_server_key() {
    let (mut scenario, [a, b, p]) = three_clients();
    scenario.advance(Duration::from_secs(1));
    scenario.send(b, "SUB more 3\r\nSUB evenmore 4\r\n");
    let order = |sort: &str| cids(&scenario.connz(&format!("sort={sort}")));
    assert_eq!(order("cid"), [a.0, b.0, p.0]);
    assert_eq!(order("start"), [a.0, b.0, p.0]);
    assert_eq!(order("msgs_to"), [a.0, b.0, p.0]);
    assert_eq!(order("bytes_to"), [a.0, b.0, p.0]);
    assert_eq!(order("msgs_from"), [p.0, a.0, b.0]);
    assert_eq!(order("bytes_from"), [p.0, a.0, b.0]);
    assert_eq!(order("subs"), [b.0, a.0, p.0]);
    // b changed its subscriptions last; a and p were last active at the same moment.
    assert_eq!(order("last"), [b.0, a.0, p.0]);
    assert_eq!(order("idle"), [a.0, p.0, b.0]);
    // Equal uptimes: ties go to the lower cid.
    assert_eq!(order("uptime"), [a.0, b.0, p.0]);
    assert_eq!(order("pending"), [a.0, b.0, p.0]);
    assert_eq!(order("rtt"), [a.0, b.0, p.0]);
}

#[test]
fn pages_with_offset_and_limit() {
    let (scenario, [a, b, _]) = three_clients();
    let page = scenario.connz("sort=msgs_to&offset=1&limit=1");
    assert_eq!(cids(&page), [b.0]);
    assert_eq!(
        (page.total, page.num_connections, page.offset, page.limit),
        (3, 1, 1, 1)
    );
    assert!(scenario.connz("offset=7").connections.is_empty());
    assert_eq!(scenario.connz("offset=-2&limit=-3").limit, 1024);
    // A cid asks for one connection; `total` still counts every open one (as nats-server).
    let one = scenario.connz(&format!("cid={}", a.0));
    assert_eq!((cids(&one), one.total, one.limit), (vec![a.0], 3, 1));
    assert!(scenario.connz("cid=99").connections.is_empty());
}

#[test]
fn lists_subscriptions_on_request() {
    let (scenario, [a, ..]) = three_clients();
    let list = scenario.connz("subs=1");
    assert_eq!(list.connections[0].subscriptions_list, ["foo", "bar.*"]);
    assert!(list.connections[0].subscriptions_list_detail.is_empty());
    let detail = scenario.connz(&format!("subs=detail&cid={}", a.0));
    let subs = &detail.connections[0].subscriptions_list_detail;
    assert_eq!(subs.len(), 2);
    assert_eq!(
        (subs[0].subject.as_str(), subs[0].sid.as_str()),
        ("foo", "1")
    );
    assert_eq!((subs[0].msgs, subs[0].cid), (5, a.0));
    assert_eq!((subs[1].queue.as_str(), subs[1].msgs), ("q", 1));
    let json = serde_json::to_value(&subs[0]).expect("sub detail serializes");
    // As nats-server: no account under an open connection, no qgroup or max when unset.
    assert_eq!(
        json,
        serde_json::json!({"subject": "foo", "sid": "1", "msgs": 5, "cid": a.0})
    );
}

#[test]
fn remembers_closed_connections_with_their_reason() {
    let (mut scenario, [a, b, p]) = three_clients();
    scenario.advance(Duration::from_secs(2));
    scenario.disconnect(a);
    let bad = scenario.connect("{}");
    scenario.send(bad, "GARBAGE\r\n");
    let closed = scenario.connz("state=closed&subs=1");
    assert_eq!(cids(&closed), [a.0, bad.0]);
    let gone = &closed.connections[0];
    assert_eq!(gone.reason, Some("Client Closed"));
    assert_eq!(gone.stop.map(|t| t.0), Some(scenario.now.wall));
    assert_eq!((gone.out_msgs, gone.subscriptions), (6, 2));
    assert_eq!(gone.subscriptions_list, ["foo", "bar.*"]);
    assert_eq!(gone.uptime, "3s");
    assert_eq!(gone.idle, "2s");
    assert_eq!(closed.connections[1].reason, Some("Protocol Violation"));

    let detail = scenario.connz("state=closed&subs=detail");
    let sub = &detail.connections[0].subscriptions_list_detail[0];
    assert_eq!(sub.account, Some(GLOBAL_ACCOUNT));

    let by_reason = scenario.connz("state=closed&sort=reason");
    assert_eq!(cids(&by_reason), [a.0, bad.0]);
    let by_stop = scenario.connz("state=closed&sort=stop");
    assert_eq!(cids(&by_stop), [a.0, bad.0]);
    let all = scenario.connz("state=all");
    assert_eq!((all.total, cids(&all)), (4, vec![a.0, b.0, p.0, bad.0]));
    let stats = scenario.broker.stats();
    assert_eq!(stats.closes.get(CloseReason::ClientClosed), 1);
    assert_eq!(stats.closes.get(CloseReason::ProtocolViolation), 1);
}

#[test]
fn measures_rtt_from_ping_to_pong() {
    let mut scenario = Scenario::new(Config::default());
    let conn = scenario.connect("{}");
    // The first PING goes out within 2 s (+20% jitter) of CONNECT.
    scenario.advance(Duration::from_millis(2_400));
    scenario.advance(Duration::from_micros(1_706));
    scenario.send(conn, "PONG\r\n");
    let rtt = scenario.connz("").connections[0].rtt.clone();
    assert!(rtt.ends_with("ms"), "{rtt}");
    let by_rtt = scenario.connz("sort=rtt");
    assert_eq!(by_rtt.connections[0].rtt, rtt);
}

#[test]
fn shows_and_filters_authorized_users() {
    let config = Config {
        auth: AuthConfig::Users(vec![
            User {
                user: "alice".to_string(),
                password: "a".to_string(),
            },
            User {
                user: "bob".to_string(),
                password: "b".to_string(),
            },
        ]),
        ..Config::default()
    };
    let mut scenario = Scenario::new(config);
    let alice = scenario.connect(r#"{"user":"alice","pass":"a"}"#);
    let bob = scenario.connect(r#"{"user":"bob","pass":"b"}"#);
    let intruder = scenario.connect(r#"{"user":"bob","pass":"wrong"}"#);
    let shown = scenario.connz("auth=true");
    let users: Vec<&str> = shown
        .connections
        .iter()
        .map(|c| c.authorized_user.as_str())
        .collect();
    assert_eq!(users, ["alice", "bob"]);
    assert!(scenario.connz("").connections[0].authorized_user.is_empty());
    assert_eq!(cids(&scenario.connz("user=bob")), [bob.0]);
    assert_ne!(alice, bob);
    let refused = scenario.connz("state=closed");
    assert_eq!(cids(&refused), [intruder.0]);
    assert_eq!(
        refused.connections[0].reason,
        Some("Authentication Failure")
    );
    assert!(scenario.connz("acc=OTHER").connections.is_empty());
    assert_eq!(scenario.connz("acc=$G").connections.len(), 2);
    assert!(scenario.connz("mqtt_client=x").connections.is_empty());
}

#[test]
fn slow_consumers_are_closed_counted_and_remembered() {
    let config = Config {
        pending_bytes_max: 64 * 1024,
        payload_bytes_max: 32 * 1024,
        ..Config::default()
    };
    let mut scenario = Scenario::new(config);
    let slow = scenario.connect("{}");
    let publisher = scenario.connect("{}");
    scenario.send(slow, "SUB foo 1\r\n");
    // Take the subscriber's socket off the host: nothing it is sent is written any more.
    let payload = "x".repeat(30 * 1024);
    let mut stuck = Vec::new();
    for _ in 0..3 {
        let data = Bytes::from(format!("PUB foo {}\r\n{payload}\r\n", payload.len()));
        scenario.broker.handle_read(scenario.now, publisher, data);
        while let Some(output) = scenario.broker.poll_output() {
            stuck.push(output);
        }
    }
    let stats = scenario.broker.stats();
    assert_eq!(stats.slow_consumers, 1);
    assert_eq!(stats.closes.get(CloseReason::SlowConsumerPendingBytes), 1);
    assert!(stats.pending_bytes.count() > 0);
    let closed = scenario.connz("state=closed");
    assert_eq!(cids(&closed), [slow.0]);
    assert_eq!(
        closed.connections[0].reason,
        Some("Slow Consumer (Pending Bytes)")
    );
}

#[test]
fn bad_options_get_nats_server_errors() {
    let error = |query: &str| {
        ConnzOptions::from_query(&Query::parse(query))
            .expect_err("refused")
            .0
    };
    // Texts from nats-server 2.12.8.
    assert_eq!(error("sort=foo"), "invalid sorting option: foo");
    assert_eq!(
        error("sort=stop"),
        "sort by stop only valid on closed connections"
    );
    assert_eq!(
        error("sort=reason&state=all"),
        "sort by reason only valid on closed connections"
    );
    assert_eq!(error("state=x"), "Error decoding state for x");
    assert_eq!(
        error("limit=x"),
        "Error decoding int for 'limit': strconv.Atoi: parsing \"x\": invalid syntax"
    );
    assert_eq!(
        error("subs=x"),
        "Error decoding boolean for 'subs': strconv.ParseBool: parsing \"x\": invalid syntax"
    );
    assert_eq!(
        error("cid=-1"),
        "Error decoding uint64 for 'cid': strconv.ParseUint: parsing \"-1\": invalid syntax"
    );
    // The first bad option in nats-server's reading order is the one reported.
    assert_eq!(
        error("state=x&auth=x&sort=foo"),
        "Error decoding boolean for 'auth': strconv.ParseBool: parsing \"x\": invalid syntax"
    );
    let parsed = ConnzOptions::from_query(&Query::parse("subs=DETAIL&state=ANY&sort=uptime"))
        .expect("valid options");
    assert_eq!(
        (parsed.subs, parsed.state, parsed.sort),
        (SubsShown::Detail, ConnState::All, SortBy::Uptime)
    );
}
