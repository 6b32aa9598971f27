//! Helpers shared by the integration tests: a Switchboard server on an ephemeral loopback port,
//! async-nats clients connected to it, a raw TCP client that speaks bytes, and (in
//! [`reference`]) a real nats-server to compare against.
//!
//! Nothing here sleeps to let something happen. Every wait is on observable state — bytes
//! arriving, a socket closing, a PING/PONG round trip, a counter in `Server::stats` — and every
//! wait has a deadline after which the test fails with what it saw so far.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

pub mod reference;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use switchboard::{Config, Stats};
use switchboard_server::{Server, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// The longest any single wait may take before the test fails. A passing run never comes close;
/// it is generous so that a loaded two-core CI machine does not turn slowness into failures.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Seed for every Switchboard started here, so a failing run replays the same random choices
/// (server id, queue-group picks).
pub const SEED: u64 = 0x5eed_5b0a_4d00_0001;

/// Starts Switchboard on 127.0.0.1 with an OS-chosen port.
pub async fn start_server(config: Config) -> Server {
    let options = ServerOptions {
        config,
        host: "127.0.0.1".to_string(),
        port: 0,
        seed: Some(SEED),
        ..ServerOptions::default()
    };
    Server::start(options)
        .await
        .expect("Switchboard starts on an ephemeral loopback port")
}

/// Starts Switchboard with nats-server's defaults.
pub async fn start_default_server() -> Server {
    start_server(Config::default()).await
}

/// Connects an async-nats client with default options, failing the test if it cannot.
pub async fn connect(server: &Server) -> async_nats::Client {
    connect_with(server, async_nats::ConnectOptions::new()).await
}

/// Connects an async-nats client with `options`, failing the test if it cannot.
pub async fn connect_with(
    server: &Server,
    options: async_nats::ConnectOptions,
) -> async_nats::Client {
    try_connect_with(server, options)
        .await
        .expect("async-nats connects to Switchboard")
}

/// Connects an async-nats client once (no retries), returning the connect error for auth tests.
pub async fn try_connect_with(
    server: &Server,
    options: async_nats::ConnectOptions,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    let options = options
        .connection_timeout(DEADLINE)
        .max_reconnects(Some(0))
        .ignore_discovered_servers();
    within(
        DEADLINE,
        "async-nats connect",
        options.connect(server.client_url()),
    )
    .await
}

/// A round trip through the server for `client`: returns once the server has processed
/// everything the client sent before, and the client holds every message the server routed to
/// it before. (async-nats's `flush` only empties the client's write buffer, it sends no PING.)
/// It publishes to a fresh inbox the client subscribes to, so it needs echo on.
pub async fn sync(client: &async_nats::Client) {
    let inbox = client.new_inbox();
    let mut echo = client
        .subscribe(inbox.clone())
        .await
        .expect("subscribe to a sync inbox");
    client
        .publish(inbox, bytes::Bytes::new())
        .await
        .expect("publish to the sync inbox");
    within(
        DEADLINE,
        "a round trip through the server",
        futures::StreamExt::next(&mut echo),
    )
    .await
    .expect("the sync subscription stays open");
}

/// Awaits `future`, failing the test with `what` if it takes longer than `limit`. The limit is a
/// failure deadline only: a passing test finishes as soon as the future does.
pub async fn within<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: nothing after {limit:?}"),
    }
}

/// Polls `server.stats()` until `done` holds, failing the test after [`DEADLINE`] with the last
/// counters seen. Polling is the observable way to see a counter change; the interval only
/// bounds how much CPU the wait burns.
pub async fn wait_for_stats(server: &Server, what: &str, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let stats = server.stats().await;
        if done(&stats) {
            return stats;
        }
        if Instant::now() >= deadline {
            panic!("waiting for {what}: not reached after {DEADLINE:?}; last stats {stats:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Shows bytes as an escaped string, so `\r\n` and binary garbage are visible in failures.
pub fn show(bytes: &[u8]) -> String {
    const SHOWN_MAX: usize = 2000;
    let escaped = bytes.escape_ascii().to_string();
    if escaped.len() > SHOWN_MAX {
        format!("{}… ({} bytes in all)", &escaped[..SHOWN_MAX], bytes.len())
    } else {
        escaped
    }
}

/// How a read loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadEnd {
    /// The condition the caller waited for holds.
    Done,
    /// The peer closed (EOF or reset) before the condition held.
    Closed,
    /// The deadline passed first.
    TimedOut,
}

/// A client that speaks the NATS protocol as raw bytes over a loopback TCP socket. Everything
/// read is kept in `received` until the test takes it.
pub struct RawClient {
    stream: TcpStream,
    received: Vec<u8>,
    closed: bool,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> RawClient {
        let stream = within(DEADLINE, "raw connect", TcpStream::connect(addr))
            .await
            .expect("raw TCP connect to the server");
        RawClient::from_stream(stream)
    }

    /// Connects with a small kernel receive buffer, so a client that stops reading pushes back
    /// on the server after a few KiB instead of megabytes (slow-consumer tests).
    pub async fn connect_with_receive_buffer(addr: SocketAddr, bytes: u32) -> RawClient {
        let socket = TcpSocket::new_v4().expect("a TCP socket");
        socket
            .set_recv_buffer_size(bytes)
            .expect("SO_RCVBUF can be set before connect");
        let stream = within(DEADLINE, "raw connect", socket.connect(addr))
            .await
            .expect("raw TCP connect to the server");
        RawClient::from_stream(stream)
    }

    fn from_stream(stream: TcpStream) -> RawClient {
        stream.set_nodelay(true).expect("TCP_NODELAY");
        RawClient {
            stream,
            received: Vec::new(),
            closed: false,
        }
    }

    /// Writes all of `bytes`, failing the test if the socket refuses them.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes)
            .await
            .unwrap_or_else(|error| panic!("raw send of {}: {error}", show(bytes)));
    }

    /// Writes all of `bytes`; an error means the server already closed the connection.
    pub async fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        within(DEADLINE, "raw send", self.stream.write_all(bytes)).await
    }

    /// Sends FIN: the client will write no more. A server answers by closing its side.
    pub async fn shutdown_write(&mut self) -> std::io::Result<()> {
        within(DEADLINE, "raw shutdown", self.stream.shutdown()).await
    }

    /// Writes `bytes` one byte per write, so the server sees every possible split of them.
    pub async fn send_byte_by_byte(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        for byte in bytes {
            within(DEADLINE, "raw send", self.stream.write_all(&[*byte])).await?;
        }
        Ok(())
    }

    /// Reads until `done(received)` holds, the peer closes, or `timeout` passes.
    pub async fn read_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&[u8]) -> bool,
    ) -> ReadEnd {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.received) {
                return ReadEnd::Done;
            }
            if self.closed {
                return ReadEnd::Closed;
            }
            self.received.reserve(64 * 1024);
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.received)).await
            {
                Err(_) => return ReadEnd::TimedOut,
                Ok(Ok(0)) => self.closed = true,
                Ok(Ok(_)) => {}
                // A server that closes with our bytes still unread resets instead of sending FIN.
                Ok(Err(error)) if is_closed_error(&error) => self.closed = true,
                Ok(Err(error)) => panic!("raw read failed: {error}"),
            }
        }
    }

    /// Reads until `pattern` arrives and returns everything up to and including it; later bytes
    /// stay buffered. Fails the test if the peer closes or `timeout` passes first.
    pub async fn read_until_contains(&mut self, pattern: &[u8], timeout: Duration) -> Vec<u8> {
        let end = self
            .read_until(timeout, |received| find(received, pattern).is_some())
            .await;
        match find(&self.received, pattern) {
            Some(at) => self.received.drain(..at + pattern.len()).collect(),
            None => panic!(
                "waiting for {:?}: {end:?}; received {}",
                show(pattern),
                show(&self.received)
            ),
        }
    }

    /// Reads until the peer closes and returns everything not yet taken. Fails the test if the
    /// connection is still open after `timeout`.
    pub async fn read_all_until_closed(&mut self, timeout: Duration) -> Vec<u8> {
        match self.read_until(timeout, |_| false).await {
            ReadEnd::Closed => std::mem::take(&mut self.received),
            end => panic!(
                "expected the server to close the connection: {end:?} after {timeout:?}; received {}",
                show(&self.received)
            ),
        }
    }

    /// Reads the INFO line the server sends on accept and returns its JSON.
    pub async fn read_info(&mut self) -> serde_json::Value {
        let line = self.read_until_contains(b"\r\n", DEADLINE).await;
        parse_info_line(&line).unwrap_or_else(|problem| panic!("{problem}: {}", show(&line)))
    }

    /// Sends CONNECT (with `connect_json`), then PING, and waits for the PONG that proves the
    /// server processed it. Returns the INFO the server sent first.
    pub async fn handshake(&mut self, connect_json: &str) -> serde_json::Value {
        let info = self.read_info().await;
        self.send(format!("CONNECT {connect_json}\r\nPING\r\n").as_bytes())
            .await;
        let reply = self.read_until_contains(b"PONG\r\n", DEADLINE).await;
        assert_eq!(
            reply,
            b"PONG\r\n",
            "unexpected bytes before PONG: {}",
            show(&reply)
        );
        info
    }

    /// Everything received and not yet taken.
    pub fn received(&self) -> &[u8] {
        &self.received
    }

    pub fn take_received(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.received)
    }

    /// Whether a read has seen the peer close.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

fn is_closed_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
    )
}

/// The index of the first occurrence of `pattern` in `haystack`.
pub fn find(haystack: &[u8], pattern: &[u8]) -> Option<usize> {
    if pattern.is_empty() {
        return Some(0);
    }
    haystack
        .windows(pattern.len())
        .position(|window| window == pattern)
}

/// Parses `INFO {json} \r\n` (nats-server puts a space before the CRLF) into its JSON.
pub fn parse_info_line(line: &[u8]) -> Result<serde_json::Value, String> {
    let Some(rest) = line.strip_prefix(b"INFO ") else {
        return Err("the first line is not INFO".to_string());
    };
    let Some(json) = rest.strip_suffix(b"\r\n") else {
        return Err("INFO does not end with CRLF".to_string());
    };
    serde_json::from_slice(json.trim_ascii()).map_err(|error| format!("INFO is not JSON: {error}"))
}
