//! The `Server` API on a real loopback socket.

use std::time::Duration;

use switchboard_server::{Server, ServerOptions};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
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
    assert!(line.ends_with("}\r\n"), "{line:?}");
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
