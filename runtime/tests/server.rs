//! The `Server` API on a real loopback socket.

use std::time::Duration;

use switchboard_server::{Server, ServerOptions};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Long enough for a loaded CI machine, short enough to fail fast instead of hanging.
const PATIENCE: Duration = Duration::from_secs(10);

async fn start() -> Server {
    let options = ServerOptions {
        host: "127.0.0.1".to_string(),
        port: 0,
        seed: Some(1),
        ..ServerOptions::default()
    };
    Server::start(options).await.expect("bind 127.0.0.1:0")
}

#[tokio::test]
async fn binds_a_random_port_and_reports_it() {
    let server = start().await;
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    assert_eq!(
        server.client_url(),
        format!("nats://127.0.0.1:{}", addr.port())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_gets_info_first() {
    let server = start().await;
    let stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    timeout(PATIENCE, reader.read_line(&mut line))
        .await
        .expect("INFO within the deadline")
        .unwrap();
    assert!(line.starts_with("INFO {"), "{line:?}");
    // nats-server ends INFO with "} \r\n"; take either.
    assert!(line.ends_with("\r\n"), "{line:?}");
    assert!(line.trim_end().ends_with('}'), "{line:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_connected_clients() {
    let server = start().await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    server.shutdown().await;
    // Whatever the broker sent first (INFO), the stream must end: EOF or a reset.
    let mut rest = Vec::new();
    let end = timeout(PATIENCE, stream.read_to_end(&mut rest)).await;
    assert!(end.is_ok(), "the client was not disconnected");
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let server = start().await;
    let addr = server.local_addr();
    server.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn stats_answer_while_running() {
    let server = start().await;
    let stats = timeout(PATIENCE, server.stats())
        .await
        .expect("stats reply");
    assert_eq!(stats.connections, 0);
    server.shutdown().await;
}

/// Reads until `done` says the bytes so far are complete, or fails after PATIENCE.
async fn read_until(stream: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let read_all = async {
        while !done(&seen) {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "EOF after {:?}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buffer[..n]);
        }
    };
    timeout(PATIENCE, read_all)
        .await
        .expect("reply within the deadline");
    seen
}

#[tokio::test]
async fn a_large_message_round_trips_through_reader_and_writer() {
    let server = start().await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    // 900 KiB: several reads in, several vectored writes out.
    let payload: Vec<u8> = (0..=255u8).cycle().take(900 * 1024).collect();
    let mut publish = b"CONNECT {\"verbose\":false}\r\nSUB big 7\r\n".to_vec();
    publish.extend_from_slice(format!("PUB big {}\r\n", payload.len()).as_bytes());
    publish.extend_from_slice(&payload);
    publish.extend_from_slice(b"\r\nPING\r\n");
    stream.write_all(&publish).await.unwrap();
    let got = read_until(&mut stream, |seen| seen.ends_with(b"PONG\r\n")).await;
    let header = format!("MSG big 7 {}\r\n", payload.len());
    let at = got
        .windows(header.len())
        .position(|w| w == header.as_bytes())
        .expect("MSG header");
    let body = &got[at + header.len()..at + header.len() + payload.len()];
    assert!(body == payload.as_slice(), "payload corrupted");
    let stats = server.stats().await;
    assert_eq!(stats.in_msgs, 1);
    assert_eq!(stats.out_msgs, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_closing_error_is_written_before_the_socket_closes() {
    let server = start().await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream.write_all(b"BOGUS\r\n").await.unwrap();
    // The broker queues -ERR then asks for Close: the writer must flush it, then shut down.
    let mut got = Vec::new();
    timeout(PATIENCE, stream.read_to_end(&mut got))
        .await
        .expect("closed within the deadline")
        .unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.ends_with("-ERR 'Unknown Protocol Operation'\r\n"),
        "{text:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn stats_count_connections() {
    let server = start().await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream.write_all(b"CONNECT {}\r\nPING\r\n").await.unwrap();
    read_until(&mut stream, |seen| seen.ends_with(b"PONG\r\n")).await;
    let stats = server.stats().await;
    assert_eq!(stats.connections, 1);
    assert_eq!(stats.total_connections, 1);
    drop(stream);
    // The disconnect reaches the broker asynchronously: poll its observable state.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.stats().await.connections != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "disconnect not seen"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_subscriber_that_never_reads_is_cut_off_and_the_publisher_is_not() {
    let mut options = ServerOptions {
        host: "127.0.0.1".to_string(),
        port: 0,
        seed: Some(2),
        ..ServerOptions::default()
    };
    options.config.pending_bytes_max = 256 * 1024;
    // nats-server refuses max_payload above max_pending; keep the payload limit below it.
    options.config.payload_bytes_max = 64 * 1024;
    let server = Server::start(options).await.unwrap();
    let mut subscriber = TcpStream::connect(server.local_addr()).await.unwrap();
    subscriber
        .write_all(b"CONNECT {\"verbose\":false}\r\nSUB slow 1\r\nPING\r\n")
        .await
        .unwrap();
    read_until(&mut subscriber, |seen| seen.ends_with(b"PONG\r\n")).await;

    // Far more than the socket buffers and the budget hold; the subscriber reads nothing.
    let mut publisher = TcpStream::connect(server.local_addr()).await.unwrap();
    let payload = vec![b'x'; 64 * 1024];
    let mut message = b"PUB slow 65536\r\n".to_vec();
    message.extend_from_slice(&payload);
    message.extend_from_slice(b"\r\n");
    publisher
        .write_all(b"CONNECT {\"verbose\":false}\r\n")
        .await
        .unwrap();
    for _ in 0..512 {
        publisher.write_all(&message).await.unwrap();
    }
    publisher.write_all(b"PING\r\n").await.unwrap();
    read_until(&mut publisher, |seen| seen.ends_with(b"PONG\r\n")).await;

    assert_eq!(server.stats().await.slow_consumers, 1);
    // The driver dropped the socket (Abort): the subscriber reaches EOF or a reset.
    let mut rest = Vec::new();
    let end = timeout(PATIENCE, subscriber.read_to_end(&mut rest)).await;
    assert!(end.is_ok(), "the slow consumer's socket was not closed");
    server.shutdown().await;
}
