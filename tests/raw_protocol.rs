//! Raw protocol sessions, typed as bytes, checked against a table of transcripts recorded from
//! nats-server 2.12.8 — and run against both nats-server itself and Switchboard.
//!
//! Each [`Session`] is one connection: the bytes a client writes, the bytes the server must
//! answer after its INFO line, and whether the server then keeps the connection open or closes
//! it. The same table runs against a live nats-server (which keeps the table honest) and against
//! Switchboard (which must answer byte for byte the same). INFO is the one line not compared
//! byte for byte, since ids, versions and addresses differ; instead the fields clients read are
//! checked on both servers.
//!
//! A session that leaves the connection open ends with PING, and reading stops at the matching
//! PONG: everything before it was answered, in order. The client then closes its side and waits
//! for the server to close too, so nothing is left of the session when the next one starts on
//! the same server. A session that closes is read until the server closes. So no session waits
//! on a timer, except the one about the auth timer.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use common::reference::ReferenceServer;
use common::{find, parse_info_line, show, start_server, RawClient, ReadEnd, DEADLINE};
use serde_json::Value;
use switchboard::{AuthConfig, Config, User};
use switchboard_server::Server;

/// Every session starts with this unless it is about CONNECT itself. async-nats and most
/// clients send `verbose:false`; `pedantic` is left out, so it defaults to true.
const QUIET: &str = r#"CONNECT {"verbose":false}"#;

/// The payload limit both servers run with (nats-server's default).
const PAYLOAD_MAX: usize = 1024 * 1024;

/// How many bytes of arguments a control line may carry (after `VERB `, before CRLF).
const CONTROL_LINE_ARGUMENTS_MAX: usize = 4096;

/// The sessions. Adding a case is adding a line here.
#[rustfmt::skip]
fn sessions() -> Vec<Session> {
    let sub_at_limit = format!("SUB {} 1", "x".repeat(CONTROL_LINE_ARGUMENTS_MAX - 2));
    let sub_over_limit = format!("SUB {} 1", "x".repeat(CONTROL_LINE_ARGUMENTS_MAX - 1));
    let payload_at_limit = "x".repeat(PAYLOAD_MAX);
    let pub_at_limit = format!("PUB big {PAYLOAD_MAX}");
    let pub_over_limit = format!("PUB big {}", PAYLOAD_MAX + 1);
    vec![
        // The session in the NATS protocol documentation.
        open("documented session", &[QUIET, "SUB greetings 1", "PUB greetings 12", "Hello World!", "PING"], &["MSG greetings 1 12", "Hello World!", "PONG"]),
        open("documented session, one byte per write", &[QUIET, "SUB greetings 1", "PUB greetings 12", "Hello World!", "PING"], &["MSG greetings 1 12", "Hello World!", "PONG"]).byte_by_byte(),
        // CONNECT options.
        open("verbose acknowledges every operation but PING", &[r#"CONNECT {"verbose":true}"#, "SUB foo 1", "PUB foo 2", "hi", "UNSUB 1", "PING"], &["+OK", "+OK", "+OK", "MSG foo 1 2", "hi", "+OK", "PONG"]),
        open("verbose defaults to true", &["CONNECT {}", "PING"], &["+OK", "PONG"]),
        closes("invalid CONNECT JSON closes silently", &["CONNECT {verbose", "PING"], &[]),
        closes("no_responders without headers is refused", &[r#"CONNECT {"verbose":false,"no_responders":true}"#, "PING"], &["-ERR 'no responders requires headers support'"]),
        // PING and PONG.
        open("PING before CONNECT", &["PING"], &["PONG"]),
        open("each PING gets a PONG; a client PONG gets nothing", &[QUIET, "PING", "PONG", "PING"], &["PONG", "PONG"]),
        // Parsing leniency real clients and people with telnet rely on.
        open("verbs are case-insensitive", &[r#"connect {"verbose":false}"#, "sub foo 1", "pub foo 1", "a", "ping"], &["MSG foo 1 1", "a", "PONG"]),
        open("arguments may be separated by runs of spaces and tabs", &[QUIET, "SUB  foo\t 1", "PUB foo   2", "hi", "PING"], &["MSG foo 1 2", "hi", "PONG"]),
        open("lines may end in a bare LF", &[], &["PONG"]).raw_input(b"CONNECT {\"verbose\":false}\nPING\n"),
        open("empty payload", &[QUIET, "SUB foo 1", "PUB foo 0", "", "PING"], &["MSG foo 1 0", "", "PONG"]),
        open("a duplicate SUB of the same sid delivers once", &[QUIET, "SUB foo 1", "SUB foo 1", "PUB foo 1", "a", "PING"], &["MSG foo 1 1", "a", "PONG"]),
        // Wildcards.
        open("wildcards: * matches one token, > one or more", &[QUIET, "SUB foo.> 1", "SUB bar.* 2", "SUB *.baz 3", "PUB foo 1", "a", "PUB foo.a.b 1", "b", "PUB bar.x 1", "c", "PUB bar.x.y 1", "d", "PUB qux.baz 1", "e", "PUB baz 1", "f", "PING"], &["MSG foo.a.b 1 1", "b", "MSG bar.x 2 1", "c", "MSG qux.baz 3 1", "e", "PONG"]),
        // nats-server does not define the order of one message's deliveries to several sids.
        open("overlapping wildcards each get a copy", &[QUIET, "SUB foo.* 1", "SUB foo.> 2", "SUB *.bar 3", "SUB > 4", "PUB foo.bar 2", "hi", "PUB foo.bar.baz 1", "x", "PING"], &["MSG foo.bar 4 2", "hi", "MSG foo.bar 3 2", "hi", "MSG foo.bar 2 2", "hi", "MSG foo.bar 1 2", "hi", "MSG foo.bar.baz 4 1", "x", "MSG foo.bar.baz 2 1", "x", "PONG"]).any_order(),
        // Queue groups.
        open("each queue group gets one copy, plain subscribers one each", &[QUIET, "SUB foo q1 1", "SUB foo q2 2", "SUB foo 3", "PUB foo 1", "a", "PING"], &["MSG foo 3 1", "a", "MSG foo 1 1", "a", "MSG foo 2 1", "a", "PONG"]).any_order(),
        open("an unsubscribed queue member gets nothing", &[QUIET, "SUB foo q 1", "SUB foo q 2", "UNSUB 2", "PUB foo 1", "a", "PING"], &["MSG foo 1 1", "a", "PONG"]),
        // Reply subjects.
        open("reply subject is passed on", &[QUIET, "SUB foo 1", "PUB foo bar.reply 2", "hi", "PING"], &["MSG foo 1 bar.reply 2", "hi", "PONG"]),
        // Headers.
        open("HPUB becomes HMSG, with and without reply", &[r#"CONNECT {"verbose":false,"headers":true}"#, "SUB foo 1", "HPUB foo 18 20", "NATS/1.0", "A: b", "", "hi", "HPUB foo r.x 12 12", "NATS/1.0", "", "", "PING"], &["HMSG foo 1 18 20", "NATS/1.0", "A: b", "", "hi", "HMSG foo 1 r.x 12 12", "NATS/1.0", "", "", "PONG"]),
        closes("HPUB without headers:true closes silently", &[r#"CONNECT {"verbose":false,"headers":false}"#, "HPUB foo 12 14", "NATS/1.0", "", "hi"], &[]),
        closes("HPUB header size over total size closes silently", &[r#"CONNECT {"verbose":false,"headers":true}"#, "HPUB foo 30 20"], &[]),
        // No responders (2.12 adds the Nats-Subject header).
        open("no responders: a request nobody subscribes to gets a 503", &[r#"CONNECT {"verbose":false,"headers":true,"no_responders":true}"#, "SUB _INBOX.x 9", "PUB nobody.home _INBOX.x 2", "hi", "PING"], &["HMSG _INBOX.x 9 43 43", "NATS/1.0 503", "Nats-Subject: nobody.home", "", "", "PONG"]),
        // UNSUB.
        open("UNSUB with max delivers max, then stops", &[QUIET, "SUB foo 1", "UNSUB 1 2", "PUB foo 1", "a", "PUB foo 1", "b", "PUB foo 1", "c", "PING"], &["MSG foo 1 1", "a", "MSG foo 1 1", "b", "PONG"]),
        open("UNSUB with max already reached removes at once; unknown sid is ignored", &[QUIET, "SUB foo 1", "PUB foo 1", "a", "UNSUB 1 1", "PUB foo 1", "b", "UNSUB 99", "PING"], &["MSG foo 1 1", "a", "PONG"]),
        // Subjects.
        open("invalid SUB subjects get -ERR and the connection stays", &[QUIET, "SUB foo..bar 1", "SUB foo.>.bar 2", "SUB foo. 3", "SUB .foo 4", "SUB foo*.bar 5", "SUB > 6", "PING"], &["-ERR 'Invalid Subject'", "-ERR 'Invalid Subject'", "-ERR 'Invalid Subject'", "-ERR 'Invalid Subject'", "PONG"]),
        open("pedantic (the default) PUB to a wildcard gets -ERR and is still delivered", &[QUIET, "SUB foo.* 1", "PUB foo.* 2", "hi", "PUB foo.> 2", "ho", "PING"], &["-ERR 'Invalid Publish Subject'", "MSG foo.* 1 2", "hi", "-ERR 'Invalid Publish Subject'", "MSG foo.> 1 2", "ho", "PONG"]),
        open("pedantic PUB to an invalid subject gets -ERR", &[r#"CONNECT {"verbose":false,"pedantic":true}"#, "PUB foo..bar 2", "hi", "PING"], &["-ERR 'Invalid Publish Subject'", "PONG"]),
        open("non-pedantic PUB subjects are not checked", &[r#"CONNECT {"verbose":false,"pedantic":false}"#, "SUB foo.* 1", "PUB foo.* 2", "hi", "PUB foo..bar 2", "hi", "PING"], &["MSG foo.* 1 2", "hi", "PONG"]),
        // Limits: the control line counts the arguments after `VERB `.
        open("control line arguments at the limit", &[QUIET, &sub_at_limit, "PING"], &["PONG"]),
        closes("control line arguments over the limit", &[QUIET, &sub_over_limit], &["-ERR 'maximum control line exceeded'"]),
        open("payload at max_payload", &[QUIET, &pub_at_limit, &payload_at_limit, "PING"], &["PONG"]),
        closes("payload over max_payload", &[QUIET, &pub_over_limit], &["-ERR 'Maximum Payload Violation'"]),
        // Protocol errors.
        closes("unknown verb", &[QUIET, "FOO"], &["-ERR 'Unknown Protocol Operation'"]),
        closes("empty line", &[QUIET, ""], &["-ERR 'Unknown Protocol Operation'"]),
        closes("verb without arguments: SUB", &[QUIET, "SUB"], &["-ERR 'Unknown Protocol Operation'"]),
        closes("verb without arguments: PUB", &[QUIET, "PUB"], &["-ERR 'Unknown Protocol Operation'"]),
        closes("verb without arguments: UNSUB", &[QUIET, "UNSUB"], &["-ERR 'Unknown Protocol Operation'"]),
        closes("payload longer than its declared size", &[QUIET, "PUB foo 2", "hixx", "PING"], &["-ERR 'Unknown Protocol Operation'"]),
        closes("PUB without size closes silently", &[QUIET, "PUB foo"], &[]),
        closes("PUB with too many arguments closes silently", &[QUIET, "PUB foo bar baz qux"], &[]),
        closes("PUB with a size that is not a number closes silently", &[QUIET, "PUB foo abc"], &[]),
        closes("PUB with a negative size closes silently", &[QUIET, "PUB foo -1"], &[]),
        closes("SUB without sid closes silently", &[QUIET, "SUB foo"], &[]),
        closes("SUB with too many arguments closes silently", &[QUIET, "SUB foo bar baz qux"], &[]),
        // Authentication: user a, password b.
        open("user and password accepted", &[r#"CONNECT {"verbose":false,"user":"a","pass":"b"}"#, "PING"], &["PONG"]).auth(Auth::UserPassword),
        closes("wrong password", &[r#"CONNECT {"verbose":false,"user":"a","pass":"x"}"#, "PING"], &["-ERR 'Authorization Violation'"]).auth(Auth::UserPassword),
        closes("unknown user", &[r#"CONNECT {"verbose":false,"user":"z","pass":"b"}"#, "PING"], &["-ERR 'Authorization Violation'"]).auth(Auth::UserPassword),
        closes("CONNECT without credentials", &[QUIET, "PING"], &["-ERR 'Authorization Violation'"]).auth(Auth::UserPassword),
        closes("PING before CONNECT when auth is required", &["PING"], &["-ERR 'Authorization Violation'"]).auth(Auth::UserPassword),
        closes("SUB before CONNECT when auth is required", &["SUB foo 1"], &["-ERR 'Authorization Violation'"]).auth(Auth::UserPassword),
        // Authentication: token tok.
        open("token accepted", &[r#"CONNECT {"verbose":false,"auth_token":"tok"}"#, "PING"], &["PONG"]).auth(Auth::Token),
        closes("wrong token", &[r#"CONNECT {"verbose":false,"auth_token":"x"}"#, "PING"], &["-ERR 'Authorization Violation'"]).auth(Auth::Token),
        // Authentication timeout (0.5 s here; 2 s by default).
        closes("no CONNECT within the auth timeout", &[], &["-ERR 'Authentication Timeout'"]).auth(Auth::UserPasswordQuickTimeout),
    ]
}

/// nats-server 2.12.8 produces every transcript in the table. This keeps the table honest, and
/// shows what Switchboard is measured against.
#[tokio::test]
async fn nats_server_matches_the_transcripts() {
    let sessions = sessions();
    let mut servers = BTreeMap::new();
    for auth in auths(&sessions) {
        let Some(server) =
            ReferenceServer::start(auth.reference_flags(), auth.reference_config()).await
        else {
            return;
        };
        servers.insert(auth, (server.addr(), Running::Reference(server)));
    }
    check_all("nats-server 2.12.8", &sessions, &servers).await;
}

/// Switchboard answers every session byte for byte as nats-server 2.12.8 does.
#[tokio::test]
async fn switchboard_matches_the_transcripts() {
    let sessions = sessions();
    let mut servers = BTreeMap::new();
    for auth in auths(&sessions) {
        let server = start_server(auth.switchboard_config()).await;
        servers.insert(auth, (server.local_addr(), Running::Switchboard(server)));
    }
    check_all("Switchboard", &sessions, &servers).await;
    for (_, (_, running)) in servers {
        if let Running::Switchboard(server) = running {
            server.shutdown().await;
        }
    }
}

/// The table is well formed: names are unique, and every session that stays open ends in PING
/// so that reading it knows where to stop.
#[test]
fn the_table_is_well_formed() {
    let sessions = sessions();
    let mut names = std::collections::BTreeSet::new();
    for session in &sessions {
        assert!(
            names.insert(session.name),
            "duplicate session {:?}",
            session.name
        );
        if session.after == After::Open {
            assert!(
                session.expect.ends_with(b"PONG\r\n") && pong_count(&session.expect) > 0,
                "open session {:?} must end with PING/PONG",
                session.name
            );
        }
    }
}

/// One connection's worth of protocol.
struct Session {
    name: &'static str,
    auth: Auth,
    input: Vec<u8>,
    /// What the server sends after its INFO line.
    expect: Vec<u8>,
    after: After,
    order: Order,
    write: Write,
}

/// Whether the server keeps the connection after the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    Open,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// The bytes must be identical.
    Exact,
    /// The same frames (lines, or MSG/HMSG with their payloads) in any order: nats-server does
    /// not define the order of one message's deliveries to several subscriptions.
    AnyOrder,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Write {
    /// All input in one write.
    Whole,
    /// One byte per write, so the server sees every split of every operation.
    ByteByByte,
}

/// Which authentication the server runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Auth {
    None,
    /// User `a`, password `b`.
    UserPassword,
    /// Token `tok`.
    Token,
    /// User `a`, password `b`, and a 0.5 s auth timeout.
    UserPasswordQuickTimeout,
}

impl Auth {
    fn reference_flags(self) -> &'static [&'static str] {
        match self {
            Auth::None | Auth::UserPasswordQuickTimeout => &[],
            Auth::UserPassword => &["--user", "a", "--pass", "b"],
            Auth::Token => &["--auth", "tok"],
        }
    }

    /// nats-server has no flag for the auth timeout, so that case uses a configuration file.
    fn reference_config(self) -> Option<&'static str> {
        match self {
            Auth::UserPasswordQuickTimeout => {
                Some("authorization { user: a, password: b, timeout: 0.5 }\n")
            }
            _ => None,
        }
    }

    fn switchboard_config(self) -> Config {
        let user_a = || {
            AuthConfig::Users(vec![User {
                user: "a".to_string(),
                password: "b".to_string(),
            }])
        };
        match self {
            Auth::None => Config::default(),
            Auth::UserPassword => Config {
                auth: user_a(),
                ..Config::default()
            },
            Auth::Token => Config {
                auth: AuthConfig::Token("tok".to_string()),
                ..Config::default()
            },
            Auth::UserPasswordQuickTimeout => Config {
                auth: user_a(),
                auth_timeout: Duration::from_millis(500),
                ..Config::default()
            },
        }
    }
}

/// Joins protocol lines with CRLF, ending with one.
fn lines(lines: &[&str]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|line| [line.as_bytes(), b"\r\n"])
        .flatten()
        .copied()
        .collect()
}

fn open(name: &'static str, input: &[&str], expect: &[&str]) -> Session {
    Session {
        name,
        auth: Auth::None,
        input: lines(input),
        expect: lines(expect),
        after: After::Open,
        order: Order::Exact,
        write: Write::Whole,
    }
}

fn closes(name: &'static str, input: &[&str], expect: &[&str]) -> Session {
    Session {
        after: After::Closed,
        ..open(name, input, expect)
    }
}

impl Session {
    fn auth(self, auth: Auth) -> Session {
        Session { auth, ..self }
    }

    fn any_order(self) -> Session {
        Session {
            order: Order::AnyOrder,
            ..self
        }
    }

    fn byte_by_byte(self) -> Session {
        Session {
            write: Write::ByteByByte,
            ..self
        }
    }

    /// For inputs that are not CRLF-terminated lines.
    fn raw_input(self, input: &[u8]) -> Session {
        Session {
            input: input.to_vec(),
            ..self
        }
    }
}

fn auths(sessions: &[Session]) -> std::collections::BTreeSet<Auth> {
    sessions.iter().map(|session| session.auth).collect()
}

/// Keeps a server alive while its sessions run.
enum Running {
    Reference(ReferenceServer),
    Switchboard(Server),
}

/// What one session got back.
struct Transcript {
    info_line: Vec<u8>,
    output: Vec<u8>,
    closed: bool,
    /// For a connection left open: what happened when the client then sent FIN.
    on_client_close: Option<ClientClose>,
}

struct ClientClose {
    /// Bytes that arrived after the expected output.
    extra: Vec<u8>,
    /// Whether the server closed its side in turn.
    closed: bool,
}

/// Runs every session against `servers` and fails with every difference at once.
async fn check_all(
    server_name: &str,
    sessions: &[Session],
    servers: &BTreeMap<Auth, (SocketAddr, Running)>,
) {
    let mut failures = Vec::new();
    for session in sessions {
        let (addr, _) = &servers[&session.auth];
        let transcript = run(session, *addr).await;
        let problems = compare(session, &transcript, *addr);
        if !problems.is_empty() {
            failures.push(format!(
                "  {:?}:\n    {}",
                session.name,
                problems.join("\n    ")
            ));
        }
    }
    if !failures.is_empty() {
        let logs: Vec<String> = servers
            .values()
            .filter_map(|(_, running)| match running {
                Running::Reference(server) => Some(server.log()),
                Running::Switchboard(_) => None,
            })
            .collect();
        panic!(
            "{server_name}: {} of {} sessions differ from the transcripts:\n{}\n{}",
            failures.len(),
            sessions.len(),
            failures.join("\n"),
            logs.join("\n")
        );
    }
}

async fn run(session: &Session, addr: SocketAddr) -> Transcript {
    let mut client = RawClient::connect(addr).await;
    let info_line = client.read_until_contains(b"\r\n", DEADLINE).await;
    // A failed write only means the server closed early; what it sent first is still read.
    let _ = match session.write {
        Write::Whole => client.try_send(&session.input).await,
        Write::ByteByByte => client.send_byte_by_byte(&session.input).await,
    };
    let pongs = pong_count(&session.expect);
    let end = match session.after {
        After::Open => {
            client
                .read_until(DEADLINE, |received| pong_count(received) >= pongs)
                .await
        }
        After::Closed => client.read_until(DEADLINE, |_| false).await,
    };
    let output = client.take_received();
    let closed = end == ReadEnd::Closed;
    // Close our side and wait for the server to close its: then this connection's
    // subscriptions are gone before the next session on the same server publishes.
    let on_client_close = if closed {
        None
    } else {
        let _ = client.shutdown_write().await;
        let end = client.read_until(DEADLINE, |_| false).await;
        Some(ClientClose {
            extra: client.take_received(),
            closed: end == ReadEnd::Closed,
        })
    };
    Transcript {
        info_line,
        output,
        closed,
        on_client_close,
    }
}

fn compare(session: &Session, transcript: &Transcript, addr: SocketAddr) -> Vec<String> {
    let mut problems = match parse_info_line(&transcript.info_line) {
        Ok(info) => info_problems(&info, addr, session.auth),
        Err(problem) => vec![format!("{problem}: {}", show(&transcript.info_line))],
    };
    let same = match session.order {
        Order::Exact => transcript.output == session.expect,
        Order::AnyOrder => sorted_frames(&transcript.output) == sorted_frames(&session.expect),
    };
    if !same {
        problems.push(format!(
            "sent   {}\n    expected {}\n    got      {}",
            show(&session.input),
            show(&session.expect),
            show(&transcript.output)
        ));
    }
    let expected_closed = session.after == After::Closed;
    if transcript.closed != expected_closed {
        problems.push(format!(
            "the connection {} (expected it to {})",
            if transcript.closed {
                "closed"
            } else {
                "stayed open"
            },
            if expected_closed {
                "close"
            } else {
                "stay open"
            }
        ));
    }
    if let Some(close) = &transcript.on_client_close {
        if !close.extra.is_empty() {
            problems.push(format!(
                "more bytes after the expected output: {}",
                show(&close.extra)
            ));
        }
        if !close.closed {
            problems.push("the server did not close after the client closed its side".to_string());
        }
    }
    problems
}

/// Checks the INFO fields clients read. Ids, names, versions of Go and git differ by design.
fn info_problems(info: &Value, addr: SocketAddr, auth: Auth) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, what: &str| {
        if !ok {
            problems.push(format!("INFO {what}: {info}"));
        }
    };
    check(
        info["server_id"].as_str().is_some_and(|id| !id.is_empty()),
        "server_id is a non-empty string",
    );
    check(
        info["version"].as_str().is_some_and(version_at_least_2_9),
        "version is a string >= 2.9.0 (clients gate features on it)",
    );
    check(info["proto"] == 1, "proto is 1");
    check(info["headers"] == true, "headers is true");
    check(
        info["max_payload"] == PAYLOAD_MAX as u64,
        "max_payload is the configured limit",
    );
    check(info["host"].is_string(), "host is a string");
    check(
        info["port"] == u64::from(addr.port()),
        "port is the port it listens on",
    );
    let auth_required = info
        .get("auth_required")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    check(
        auth_required == (auth != Auth::None),
        "auth_required is true exactly when auth is configured",
    );
    problems
}

fn version_at_least_2_9(version: &str) -> bool {
    let mut numbers = version.split('.').map(|part| part.parse::<u32>().ok());
    match (numbers.next().flatten(), numbers.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (2, 9),
        _ => false,
    }
}

/// Splits server output into frames: a line, or a MSG/HMSG line with its payload.
fn frames(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let Some(end_of_line) = find(bytes, b"\r\n") else {
            frames.push(bytes);
            break;
        };
        let line = &bytes[..end_of_line];
        let mut length = end_of_line + 2;
        if line.starts_with(b"MSG ") || line.starts_with(b"HMSG ") {
            let size = line
                .rsplit(|byte| *byte == b' ')
                .next()
                .and_then(|size| std::str::from_utf8(size).ok())
                .and_then(|size| size.parse::<usize>().ok());
            if let Some(size) = size {
                length += size + 2;
            }
        }
        let length = length.min(bytes.len());
        frames.push(&bytes[..length]);
        bytes = &bytes[length..];
    }
    frames
}

fn sorted_frames(bytes: &[u8]) -> Vec<&[u8]> {
    let mut frames = frames(bytes);
    frames.sort();
    frames
}

fn pong_count(bytes: &[u8]) -> usize {
    frames(bytes)
        .iter()
        .filter(|frame| **frame == b"PONG\r\n")
        .count()
}
