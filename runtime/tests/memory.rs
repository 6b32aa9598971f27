//! The server's memory under a subscriber that never reads: what it holds for it must stay
//! near its pending budget, whatever the publisher's traffic looks like. The trap is zero
//! copy: a payload queued by reference keeps the whole read buffer it arrived in alive, and
//! the budget counts only the payload. Linux only (reads the server's RSS from /proc).

mod common;

use common::{path_str, temp_dir, Process, DEADLINE};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Instant;

/// The subscriber's pending budget, set in the config file.
const BUDGET_MIB: usize = 32;
/// Messages of `PAYLOAD` bytes for the stalled subscriber: about 24 MiB, under its budget.
const SLOW_MSGS: usize = 6000;
const PAYLOAD: usize = 4096;
/// After each, as much again (and more) to a subject nobody wants, so each slow payload sits
/// in a read buffer mostly made of other bytes.
const FILLER: usize = 60 * 1024;

fn rss_bytes(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line");
    kib * 1024
}

/// Connects, sends `ops` after CONNECT, and waits for the PONG of a PING sent after them
/// (so the server has handled everything before it).
fn client(port: u16, ops: &[u8]) -> (TcpStream, BufReader<TcpStream>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).expect("INFO");
    assert!(line.starts_with("INFO "), "{line}");
    stream
        .write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
        .unwrap();
    stream.write_all(ops).unwrap();
    stream.write_all(b"PING\r\n").unwrap();
    wait_for_pong(&mut reader);
    (stream, reader)
}

fn wait_for_pong(reader: &mut BufReader<TcpStream>) {
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .expect("a line before the deadline");
        assert!(n > 0, "the server closed the connection");
        if line == "PONG\r\n" {
            return;
        }
    }
}

#[test]
fn a_subscriber_that_never_reads_pins_little_beyond_its_budget() {
    let dir = temp_dir("memory");
    let conf = dir.join("memory.conf");
    std::fs::write(&conf, format!("max_pending: {BUDGET_MIB}MB\n")).unwrap();
    let server = Process::start(&["-c", path_str(&conf), "-a", "127.0.0.1", "-p", "-1"]);
    let port = server.port.expect("port");
    let (_stalled, _never_read) = client(port, b"SUB slow 1\r\n");
    let (mut publisher, mut publisher_reader) = client(port, b"");
    let before = rss_bytes(server.pid());

    let slow = format!("PUB slow {PAYLOAD}\r\n{}\r\n", "s".repeat(PAYLOAD));
    let filler = format!("PUB nobody {FILLER}\r\n{}\r\n", "f".repeat(FILLER));
    let round = [slow.as_bytes(), filler.as_bytes()].concat();
    let started = Instant::now();
    for _ in 0..SLOW_MSGS {
        publisher
            .write_all(&round)
            .expect("the publisher is never cut off");
    }
    publisher.write_all(b"PING\r\n").unwrap();
    wait_for_pong(&mut publisher_reader);
    let grown = rss_bytes(server.pid()).saturating_sub(before);
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    eprintln!(
        "{} MiB published in {:?}; server RSS grew {:.1} MiB",
        (SLOW_MSGS * round.len()) >> 20,
        started.elapsed(),
        mib(grown)
    );
    // What the server may hold for the stalled subscriber: its queued bytes (under the
    // budget) plus at most 32 read buffers held by reference, and some slack. Holding every
    // slow payload by reference would pin their read buffers: hundreds of MiB.
    let allowed = (BUDGET_MIB + 32 + 32) << 20;
    assert!(
        grown < allowed,
        "server RSS grew {:.1} MiB for a subscriber with a {BUDGET_MIB} MiB budget",
        mib(grown)
    );
    // The subscriber was under its budget all along: still connected.
    assert!(
        server.find_line("Slow Consumer").is_none(),
        "{:?}",
        server.output()
    );
}
