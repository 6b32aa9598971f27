//! The broker driven directly, with virtual time: what a host sees for each input.

use super::*;
use crate::config::User;
use std::collections::BTreeMap;

/// A host in miniature: feeds inputs, drains outputs, and writes instantly unless a
/// connection is `stuck` (its socket never drains).
struct Host {
    broker: Broker,
    now: Now,
    received: BTreeMap<ConnId, Vec<u8>>,
    closed: BTreeMap<ConnId, &'static str>,
    stuck: BTreeSet<ConnId>,
    work: Vec<Work>,
    /// The broker asked to stop accepting / to exit (lame duck mode).
    accepting: bool,
    exited: bool,
}

fn peer(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl Host {
    fn new(config: Config) -> Host {
        Host {
            broker: Broker::new(config, Seed(1), Now::default()),
            now: Now::default(),
            received: BTreeMap::new(),
            closed: BTreeMap::new(),
            stuck: BTreeSet::new(),
            work: Vec::new(),
            accepting: true,
            exited: false,
        }
    }

    fn drain(&mut self) {
        while let Some(output) = self.broker.poll_output() {
            match output {
                Output::Transmit { conn, chunks } => {
                    let n: usize = chunks.iter().map(Bytes::len).sum();
                    if !self.stuck.contains(&conn) {
                        let got = self.received.entry(conn).or_default();
                        chunks.iter().for_each(|c| got.extend_from_slice(c));
                        self.broker.handle_written(self.now, conn, n);
                    }
                }
                Output::Close { conn } => {
                    self.closed.insert(conn, "close");
                }
                Output::Abort { conn } => {
                    self.closed.insert(conn, "abort");
                }
                Output::Work(work) => self.work.push(work),
                Output::Sync(job) => {
                    let done = job.run();
                    self.broker.handle_synced(self.now, done);
                }
                Output::StopAccepting => self.accepting = false,
                Output::Exit => self.exited = true,
            }
        }
    }

    fn connect(&mut self, connect_json: &str) -> ConnId {
        let conn = self.broker.handle_accept(self.now, peer(40000));
        self.drain();
        self.take(conn);
        self.send(conn, &format!("CONNECT {connect_json}\r\n"));
        conn
    }

    fn send(&mut self, conn: ConnId, text: &str) {
        let data = Bytes::copy_from_slice(text.as_bytes());
        self.broker.handle_read(self.now, conn, data);
        self.drain();
    }

    fn advance(&mut self, by: Duration) {
        self.now.mono = self.now.mono + by;
        self.broker.handle_timeout(self.now);
        self.drain();
    }

    /// Advances to the next armed timer, if any is due within `limit`.
    fn advance_to_next_timer(&mut self, limit: Duration) -> bool {
        match self.broker.poll_timeout() {
            Some(at) if at <= self.now.mono + limit => {
                let by = at - self.now.mono;
                self.advance(by);
                true
            }
            _ => false,
        }
    }

    fn take(&mut self, conn: ConnId) -> String {
        let bytes = self.received.remove(&conn).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[test]
fn info_then_documented_session() {
    let mut host = Host::new(Config::default());
    let conn = host.broker.handle_accept(host.now, peer(1));
    host.drain();
    let info = host.take(conn);
    // nats-server writes a space before the CRLF of INFO.
    assert!(
        info.starts_with("INFO {") && info.ends_with("} \r\n"),
        "{info}"
    );
    assert!(info.contains("\"max_payload\":1048576"), "{info}");
    // Without CONNECT, nats-server's defaults hold: verbose is on, so SUB and PUB are acked.
    host.send(
        conn,
        "SUB greetings 1\r\nPUB greetings 12\r\nHello World!\r\n",
    );
    assert_eq!(
        host.take(conn),
        "+OK\r\n+OK\r\nMSG greetings 1 12\r\nHello World!\r\n"
    );
}

#[test]
fn verbose_acks_and_ping_pong() {
    let mut host = Host::new(Config::default());
    let conn = host.connect(r#"{"verbose":true}"#);
    assert_eq!(host.take(conn), "+OK\r\n");
    host.send(conn, "SUB a 1\r\nPING\r\n");
    assert_eq!(host.take(conn), "+OK\r\nPONG\r\n");
}

#[test]
fn queue_group_gets_one_copy_and_spreads() {
    let mut host = Host::new(Config::default());
    let members: Vec<ConnId> = (0..3)
        .map(|_| host.connect(r#"{"verbose":false}"#))
        .collect();
    for (i, m) in members.iter().enumerate() {
        host.send(*m, &format!("SUB work q {i}\r\n"));
    }
    let publisher = host.connect(r#"{"verbose":false}"#);
    for _ in 0..300 {
        host.send(publisher, "PUB work 1\r\nx\r\n");
    }
    let counts: Vec<usize> = members
        .iter()
        .map(|m| host.take(*m).matches("MSG work").count())
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), 300, "{counts:?}");
    assert!(counts.iter().all(|&c| c > 50), "uneven: {counts:?}");
}

#[test]
fn auto_unsubscribe_after_max() {
    let mut host = Host::new(Config::default());
    let conn = host.connect(r#"{"verbose":false}"#);
    host.send(conn, "SUB a 1\r\nUNSUB 1 2\r\n");
    for _ in 0..5 {
        host.send(conn, "PUB a 1\r\nx\r\n");
    }
    assert_eq!(host.take(conn).matches("MSG a 1 1").count(), 2);
    assert_eq!(host.broker.stats().subscriptions, 0);
}

#[test]
fn echo_off_skips_own_messages() {
    let mut host = Host::new(Config::default());
    let me = host.connect(r#"{"verbose":false,"echo":false}"#);
    let other = host.connect(r#"{"verbose":false}"#);
    host.send(me, "SUB a 1\r\n");
    host.send(other, "SUB a 1\r\n");
    host.send(me, "PUB a 1\r\nx\r\n");
    assert_eq!(host.take(me), "");
    assert_eq!(host.take(other), "MSG a 1 1\r\nx\r\n");
}

#[test]
fn no_responders_status_goes_to_the_reply_subscription() {
    let mut host = Host::new(Config::default());
    let conn = host.connect(r#"{"verbose":false,"headers":true,"no_responders":true}"#);
    host.send(conn, "SUB _INBOX.x 7\r\nPUB svc _INBOX.x 2\r\nhi\r\n");
    let got = host.take(conn);
    assert!(got.starts_with("HMSG _INBOX.x 7 "), "{got}");
    assert!(got.contains("NATS/1.0 503"), "{got}");
}

#[test]
fn headers_are_stripped_for_clients_without_headers() {
    let mut host = Host::new(Config::default());
    let plain = host.connect(r#"{"verbose":false}"#);
    let with = host.connect(r#"{"verbose":false,"headers":true}"#);
    host.send(plain, "SUB h 1\r\n");
    host.send(with, "SUB h 2\r\n");
    host.send(with, "HPUB h 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
    assert_eq!(host.take(plain), "MSG h 1 2\r\nhi\r\n");
    assert_eq!(host.take(with), "HMSG h 2 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
}

#[test]
fn stale_connection_after_unanswered_pings() {
    let mut host = Host::new(Config::default());
    let conn = host.connect(r#"{"verbose":false}"#);
    let mut pings = 0;
    while !host.closed.contains_key(&conn) {
        assert!(
            host.advance_to_next_timer(Duration::from_secs(600)),
            "no timer armed"
        );
        pings += host.take(conn).matches("PING\r\n").count();
        assert!(pings <= 2, "more PINGs than pings_outstanding_max");
    }
    assert_eq!(pings, 2);
    assert!(host.now.mono >= Mono::ZERO + Duration::from_secs(2 * 120));
}

#[test]
fn answered_pings_keep_the_connection() {
    let mut host = Host::new(Config::default());
    let conn = host.connect(r#"{"verbose":false}"#);
    for _ in 0..10 {
        assert!(host.advance_to_next_timer(Duration::from_secs(600)));
        if host.take(conn).contains("PING") {
            host.send(conn, "PONG\r\n");
        }
    }
    assert!(!host.closed.contains_key(&conn));
}

#[test]
fn auth_timeout_closes_a_silent_client() {
    let config = Config {
        auth: AuthConfig::Token("t".into()),
        ..Config::default()
    };
    let mut host = Host::new(config);
    let conn = host.broker.handle_accept(host.now, peer(1));
    host.drain();
    host.take(conn);
    host.advance(Duration::from_millis(1999));
    assert!(!host.closed.contains_key(&conn));
    host.advance(Duration::from_millis(1));
    assert_eq!(host.take(conn), "-ERR 'Authentication Timeout'\r\n");
    assert_eq!(host.closed.get(&conn), Some(&"close"));
}

#[test]
fn bcrypt_runs_as_work_and_input_waits_for_it() {
    let hash = bcrypt::hash("pw", 4).expect("cost 4 is valid");
    let config = Config {
        auth: AuthConfig::Users(vec![User {
            user: "u".into(),
            password: hash,
        }]),
        ..Config::default()
    };
    let mut host = Host::new(config);
    let good = host.connect(r#"{"verbose":false,"user":"u","pass":"pw"}"#);
    host.send(good, "PING\r\n");
    assert_eq!(host.take(good), "", "input must wait for the bcrypt check");
    let bad = host.connect(r#"{"verbose":false,"user":"u","pass":"nope"}"#);
    for work in std::mem::take(&mut host.work) {
        let done = work.run();
        host.broker.handle_work_done(host.now, done);
        host.drain();
    }
    assert_eq!(host.take(good), "PONG\r\n");
    assert_eq!(host.take(bad), "-ERR 'Authorization Violation'\r\n");
    assert_eq!(host.closed.get(&bad), Some(&"close"));
    assert!(!host.closed.contains_key(&good));
}

#[test]
fn slow_consumer_over_pending_budget_is_cut_off_alone() {
    let config = Config {
        pending_bytes_max: 64 * 1024,
        ..Config::default()
    };
    let mut host = Host::new(config);
    let slow = host.connect(r#"{"verbose":false}"#);
    let fast = host.connect(r#"{"verbose":false}"#);
    let publisher = host.connect(r#"{"verbose":false}"#);
    host.send(slow, "SUB s 1\r\n");
    host.send(fast, "SUB s 1\r\n");
    host.stuck.insert(slow);
    let payload = "x".repeat(1000);
    for _ in 0..200 {
        host.send(publisher, &format!("PUB s 1000\r\n{payload}\r\n"));
        let pending = host.broker.pending_bytes(slow).unwrap_or(0);
        assert!(pending <= 64 * 1024 + 1100, "pending {pending} over budget");
    }
    assert_eq!(host.closed.get(&slow), Some(&"abort"));
    assert_eq!(host.broker.stats().slow_consumers, 1);
    assert_eq!(host.take(fast).matches("MSG s 1 1000").count(), 200);
    assert!(!host.closed.contains_key(&publisher));
    assert!(!host.closed.contains_key(&fast));
}

#[test]
fn ping_flood_without_reading_is_cut_off_by_the_pending_budget() {
    let config = Config {
        pending_bytes_max: 1024,
        payload_bytes_max: 1024,
        ..Config::default()
    };
    let mut host = Host::new(config);
    let conn = host.connect(r#"{"verbose":false}"#);
    host.stuck.insert(conn);
    for _ in 0..200 {
        host.send(conn, "PING\r\n");
        let pending = host.broker.pending_bytes(conn).unwrap_or(0);
        assert!(pending <= 1024, "pending {pending} over budget");
    }
    assert_eq!(host.closed.get(&conn), Some(&"abort"));
    assert_eq!(host.broker.stats().slow_consumers, 1);
}

#[test]
fn write_deadline_cuts_off_a_stuck_socket() {
    let mut host = Host::new(Config::default());
    let slow = host.connect(r#"{"verbose":false}"#);
    host.send(slow, "SUB s 1\r\n");
    host.stuck.insert(slow);
    host.send(slow, "PUB s 1\r\nx\r\n");
    host.advance(Duration::from_secs(9));
    assert!(!host.closed.contains_key(&slow));
    host.advance(Duration::from_secs(1));
    assert_eq!(host.closed.get(&slow), Some(&"abort"));
    assert_eq!(host.broker.stats().slow_consumers, 1);
}

#[test]
fn garbage_closes_only_its_connection() {
    let mut host = Host::new(Config::default());
    let good = host.connect(r#"{"verbose":false}"#);
    let bad = host.connect(r#"{"verbose":false}"#);
    host.send(good, "SUB a 1\r\n");
    host.send(bad, "\u{1}\u{2}garbage\r\n");
    assert_eq!(host.take(bad), "-ERR 'Unknown Protocol Operation'\r\n");
    assert_eq!(host.closed.get(&bad), Some(&"close"));
    host.send(good, "PUB a 1\r\nx\r\n");
    assert_eq!(host.take(good), "MSG a 1 1\r\nx\r\n");
}

#[test]
fn max_connections_refuses_the_extra_client() {
    let config = Config {
        connections_max: 1,
        ..Config::default()
    };
    let mut host = Host::new(config);
    let first = host.connect(r#"{"verbose":false}"#);
    let second = host.broker.handle_accept(host.now, peer(2));
    host.drain();
    assert!(host
        .take(second)
        .ends_with("-ERR 'maximum connections exceeded'\r\n"));
    assert!(host.closed.contains_key(&second));
    assert!(!host.closed.contains_key(&first));
    assert_eq!(host.broker.stats().connections, 1);
}

#[test]
fn disconnect_removes_subscriptions() {
    let mut host = Host::new(Config::default());
    let conn = host.connect(r#"{"verbose":false}"#);
    host.send(conn, "SUB a 1\r\nSUB b.* 2\r\nSUB c q 3\r\n");
    assert_eq!(host.broker.stats().subscriptions, 3);
    host.broker.handle_disconnected(host.now, conn);
    assert_eq!(host.broker.stats().subscriptions, 0);
    assert_eq!(host.broker.stats().connections, 0);
    assert!(host.broker.poll_timeout().is_none(), "timers left armed");
}

#[test]
fn max_subscriptions_refuses_the_extra_sub_and_keeps_the_connection() {
    let config = Config {
        subscriptions_max: 2,
        ..Config::default()
    };
    let mut host = Host::new(config);
    let conn = host.connect(r#"{"verbose":false}"#);
    host.send(conn, "SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPING\r\n");
    assert_eq!(
        host.take(conn),
        "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n"
    );
    assert!(!host.closed.contains_key(&conn));
    assert_eq!(host.broker.stats().subscriptions, 2);
    // A sid already in use is not a new subscription, so it is not refused.
    host.send(conn, "SUB a 1\r\nPUB c 1\r\nx\r\nPUB a 1\r\ny\r\n");
    assert_eq!(host.take(conn), "MSG a 1 1\r\ny\r\n");
}

#[test]
fn lame_duck_informs_protocol_1_clients_then_closes_all_and_exits() {
    let config = Config {
        lame_duck_duration: Duration::from_secs(30),
        lame_duck_grace_period: Duration::from_secs(10),
        ..Config::default()
    };
    let mut host = Host::new(config);
    let modern = host.connect(r#"{"protocol":1,"verbose":false}"#);
    host.send(modern, "PING\r\n");
    let old = host.connect(r#"{"verbose":false}"#);
    host.send(old, "PING\r\n");
    // Protocol 1, but no PING answered yet: nats-server does not send it async INFO.
    let fresh = host.connect(r#"{"protocol":1,"verbose":false}"#);
    for conn in [modern, old, fresh] {
        host.take(conn);
    }

    host.broker.enter_lame_duck(host.now);
    host.drain();
    assert!(!host.accepting);
    assert!(host.broker.in_lame_duck());
    let info = host.take(modern);
    assert!(
        info.starts_with("INFO {") && info.contains(r#""ldm":true"#),
        "{info}"
    );
    assert_eq!(host.take(old), "");
    assert_eq!(host.take(fresh), "");

    // Nothing closes during the grace period.
    host.advance(Duration::from_millis(9_999));
    assert!(host.closed.is_empty());
    // Then the three close one at a time, at most 1 s apart (20 s spread / 3, capped).
    let mut closes = Vec::new();
    while host.advance_to_next_timer(Duration::from_secs(2)) {
        if host.closed.len() > closes.len() {
            closes.push(host.now.mono);
        }
        if host.exited {
            break;
        }
    }
    assert_eq!(host.closed.len(), 3, "{:?}", host.closed);
    assert!(host.closed.values().all(|how| *how == "close"));
    assert!(host.exited);
    for pair in closes.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(500) && gap <= Duration::from_secs(1),
            "{gap:?}"
        );
    }
    // Entering again changes nothing.
    host.exited = false;
    host.broker.enter_lame_duck(host.now);
    host.drain();
    assert!(!host.exited);
}

#[test]
fn lame_duck_without_clients_exits_at_once_and_refuses_late_accepts() {
    let mut host = Host::new(Config::default());
    host.broker.enter_lame_duck(host.now);
    host.drain();
    assert!(!host.accepting && host.exited);
    // A connection the listener took just before it closed is closed without INFO.
    let late = host.broker.handle_accept(host.now, peer(40001));
    host.drain();
    assert_eq!(host.closed.get(&late), Some(&"close"));
    assert_eq!(host.take(late), "");
}

#[test]
fn reload_applies_limits_to_open_clients_and_rechecks_credentials() {
    let user = |user: &str, password: &str| User {
        user: user.into(),
        password: password.into(),
    };
    let before = Config {
        auth: AuthConfig::Users(vec![user("a", "x"), user("b", "y")]),
        ..Config::default()
    };
    let mut host = Host::new(before.clone());
    let a = host.connect(r#"{"verbose":false,"user":"a","pass":"x"}"#);
    let b = host.connect(r#"{"verbose":false,"user":"b","pass":"y"}"#);
    host.take(a);
    host.take(b);

    let after = Config {
        auth: AuthConfig::Users(vec![user("a", "x"), user("b", "changed")]),
        payload_bytes_max: 8,
        ..before.clone()
    };
    let changes = host
        .broker
        .reload(host.now, after)
        .expect("live changes only");
    host.drain();
    assert_eq!(
        changes,
        ["Reloaded: max_payload = 8", "Reloaded: authorization users"]
    );
    assert_eq!(host.take(b), "-ERR 'Authorization Violation'\r\n");
    assert_eq!(host.closed.get(&b), Some(&"close"));
    assert!(!host.closed.contains_key(&a));
    // The new payload limit holds for the client that was already connected.
    host.send(a, "PUB x 9\r\n123456789\r\n");
    assert_eq!(host.take(a), "-ERR 'Maximum Payload Violation'\r\n");

    // A field that cannot change refuses the whole reload.
    let mut host = Host::new(before.clone());
    let refused = Config {
        server_name: "other".into(),
        payload_bytes_max: 8,
        ..before.clone()
    };
    assert!(host.broker.reload(host.now, refused).is_err());
    assert_eq!(
        host.broker.config().payload_bytes_max,
        before.payload_bytes_max
    );
}

mod in_place {
    //! The broker runs whole canonical PUBs in place in the read chunk (`pubs_in_place`) and
    //! everything else through the parser's state machine. Both must do exactly the same:
    //! the same input, given whole (in place wherever possible) or a byte at a time (never
    //! in place), must give every client the same bytes and close the same connections.
    use super::*;
    use proptest::prelude::*;

    fn op() -> impl Strategy<Value = String> {
        let subject = prop::sample::select(vec!["a", "a.b", "a.c", "q", "_INBOX.1"]);
        let size = prop_oneof![0usize..20, 4090usize..4200];
        prop_oneof![
            4 => (subject.clone(), size.clone()).prop_map(|(s, n)| format!("PUB {s} {n}\r\n{}\r\n", "p".repeat(n))),
            2 => (subject.clone(), size.clone()).prop_map(|(s, n)| format!("PUB {s} _INBOX.1 {n}\r\n{}\r\n", "r".repeat(n))),
            2 => (subject.clone(), size).prop_map(|(s, n)| {
                let h = "NATS/1.0\r\nK: v\r\n\r\n";
                format!("HPUB {s} {} {}\r\n{h}{}\r\n", h.len(), h.len() + n, "h".repeat(n))
            }),
            // Not canonical: the state machine's to read.
            1 => subject.clone().prop_map(|s| format!("PUB  {s} 2\r\nxy\r\n")),
            1 => subject.clone().prop_map(|s| format!("pub {s} 2\r\nxy\r\n")),
            1 => subject.clone().prop_map(|s| format!("HPUB {s} 0 1\r\nz\r\n")),
            1 => (subject.clone(), 1u8..4).prop_map(|(s, sid)| format!("SUB {s} {sid}\r\n")),
            1 => (1u8..4, 1u8..3).prop_map(|(sid, max)| format!("UNSUB {sid} {max}\r\n")),
            1 => Just("PING\r\n".to_string()),
            // Wrong sizes and terminators: the connection closes with the same -ERR.
            1 => Just("PUB a 3\r\nxy\r\n".to_string()),
            1 => Just("PUB a 2\r\nxy!!".to_string()),
        ]
    }

    /// Runs `script` from one client, split into pieces of `piece` bytes (0: whole), and
    /// returns what each of the three clients received and which connections closed.
    fn run(
        script: &str,
        verbose: bool,
        piece: usize,
    ) -> (Vec<String>, BTreeMap<ConnId, &'static str>) {
        let mut host = Host::new(Config::default());
        let options = format!(r#"{{"verbose":{verbose},"headers":true,"no_responders":true}}"#);
        let publisher = host.connect(&options);
        let wildcard = host.connect(r#"{"verbose":false}"#);
        let plain = host.connect(r#"{"verbose":false,"headers":true}"#);
        host.send(publisher, "SUB _INBOX.1 9\r\nSUB a 1\r\n");
        host.send(wildcard, "SUB a.* 1\r\nSUB q 2 g\r\n");
        host.send(plain, "SUB a 1\r\nSUB q 2 g\r\n");
        let bytes = script.as_bytes();
        if piece == 0 {
            host.send(publisher, script);
        } else {
            for part in bytes.chunks(piece) {
                let data = Bytes::copy_from_slice(part);
                host.broker.handle_read(host.now, publisher, data);
                host.drain();
            }
        }
        let received = [publisher, wildcard, plain].map(|c| host.take(c)).to_vec();
        (received, host.closed)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn whole_or_split_input_gives_the_same_deliveries(
            ops in prop::collection::vec(op(), 1..40),
            verbose in any::<bool>(),
            piece in 1usize..64,
        ) {
            let script = ops.concat();
            let whole = run(&script, verbose, 0);
            prop_assert_eq!(&whole, &run(&script, verbose, 1));
            prop_assert_eq!(&whole, &run(&script, verbose, piece));
        }
    }

    #[test]
    fn a_publisher_cut_off_as_its_own_slow_consumer_stops_mid_chunk() {
        let config = Config {
            pending_bytes_max: 64 * 1024,
            ..Config::default()
        };
        let mut host = Host::new(config);
        let me = host.connect(r#"{"verbose":false}"#);
        let other = host.connect(r#"{"verbose":false}"#);
        // Two subscriptions: the publisher receives twice what the other client does.
        host.send(me, "SUB a 1\r\nSUB a 2\r\n");
        host.send(other, "SUB a 1\r\n");
        host.stuck.insert(me);
        // One read with 100 whole PUBs of 1 KiB: the publisher's own copies pass its budget
        // part way through, it is cut off, and the rest of its input goes with it.
        let payload = "x".repeat(1024);
        let script = format!("PUB a 1024\r\n{payload}\r\n").repeat(100);
        host.send(me, &script);
        assert_eq!(host.closed.get(&me), Some(&"abort"));
        let delivered = host.take(other).matches("MSG a 1 1024\r\n").count();
        assert_eq!(host.closed.get(&other), None);
        assert!(delivered > 0 && delivered < 100, "{delivered}");
        assert_eq!(host.broker.stats().in_msgs as usize, delivered);
    }
}

#[test]
fn in_place_messages_trace_like_parsed_ops() {
    let payload = Bytes::from_static(b"hi\r\n");
    let headers = Bytes::from_static(b"NATS/1.0\r\n\r\n");
    let msg = Message::from_parts(b"a.b", Some(b"_INBOX.1"), Some(&headers), &payload);
    assert_eq!(
        format!("{msg:?}"),
        r#"Hpub { subject: b"a.b", reply: b"_INBOX.1", headers: b"NATS/1.0\r\n\r\n", payload: b"hi\r\n" }"#
    );
    let op = crate::protocol::ClientOp::Pub {
        subject: Bytes::from_static(b"a.b"),
        reply: None,
        payload: payload.clone(),
    };
    let msg = Message::from_parts(b"a.b", None, None, &payload);
    // The same text as the parser's op, but for the `reply: None` it leaves out.
    assert_eq!(
        format!("{op:?}").replace("reply: None, ", ""),
        format!("{msg:?}")
    );
}

#[test]
fn the_reused_delivery_list_is_let_go_after_a_huge_fan_out() {
    let mut host = Host::new(Config::default());
    let publisher = host.connect(r#"{"verbose":false}"#);
    let subscriber = host.connect(r#"{"verbose":false}"#);
    let subs: String = (1..=4000)
        .map(|sid| format!("SUB wide {sid}\r\n"))
        .collect();
    host.send(subscriber, &subs);
    host.send(publisher, "PUB wide 1\r\nx\r\n");
    assert_eq!(host.take(subscriber).matches("MSG wide ").count(), 4000);
    // Within the limit: kept for the next message.
    assert!(host.broker.deliver_targets.capacity() >= 4000);
    let more: String = (4001..=DELIVER_TARGETS_KEPT_MAX + 1)
        .map(|sid| format!("SUB wide {sid}\r\n"))
        .collect();
    host.send(subscriber, &more);
    host.send(publisher, "PUB wide 1\r\nx\r\n");
    assert_eq!(
        host.take(subscriber).matches("MSG wide ").count(),
        DELIVER_TARGETS_KEPT_MAX + 1
    );
    // Over it: let go.
    assert_eq!(host.broker.deliver_targets.capacity(), 0);
}
