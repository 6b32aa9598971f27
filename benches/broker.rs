//! The broker's hot path alone, no sockets: published messages in, MSG frames out, per
//! message. Streams of `PUB` with 16 B to 16 KiB payloads are fed in 64 KiB chunks (as the
//! runtime's reader hands them over) to a broker with 0, 1 or 4 subscribers on the subject;
//! every `Transmit` is taken and reported written, as a host with fast sockets would. Also:
//! the same core PUBs (for no stream) with JetStream on and 0 or 200 streams, which must cost
//! the same (which stream a subject is for is one walk of a sublist, not a scan of streams).
//!
//! `cargo bench --bench broker`

mod common;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use switchboard::jetstream::{JetStream, JetStreamConfig};
use switchboard::store::mem_disk::MemDisk;
use switchboard::{Broker, Config, ConnId, Now, Output, Seed};

const SIZES: [usize; 4] = [16, 128, 1024, 16 * 1024];
/// About this many bytes of ops per stream.
const STREAM_BYTES: usize = 1024 * 1024;
/// What one socket read typically hands the broker.
const CHUNK_BYTES: usize = 64 * 1024;

struct Setup {
    broker: Broker,
    publisher: ConnId,
}

/// A broker with one publisher and `subscribers` clients subscribed to the subject.
fn setup(subscribers: usize) -> Setup {
    setup_with(subscribers, None)
}

/// [`setup`], with JetStream on (over memory) holding `streams` memory streams when `Some`.
fn setup_with(subscribers: usize, streams: Option<usize>) -> Setup {
    let now = Now::default();
    let mut broker = Broker::new(Config::default(), Seed(7), now);
    if let Some(streams) = streams {
        let disk = Arc::new(MemDisk::new());
        let (js, _) = JetStream::open(disk, JetStreamConfig::default(), "bench", now)
            .expect("a fresh MemDisk opens");
        broker.enable_jetstream(js);
        let peer = SocketAddr::from(([127, 0, 0, 1], 4001));
        let admin = broker.handle_accept(now, peer);
        broker.handle_read(
            now,
            admin,
            Bytes::from_static(b"CONNECT {\"verbose\":false}\r\nSUB _INBOX.a 1\r\n"),
        );
        for i in 0..streams {
            let body = format!(
                r#"{{"name":"S{i}","subjects":["orders.{i}.>","events.{i}"],"storage":"memory"}}"#
            );
            let op = format!(
                "PUB $JS.API.STREAM.CREATE.S{i} _INBOX.a {}\r\n{body}\r\n",
                body.len()
            );
            broker.handle_read(now, admin, Bytes::from(op));
            drain(&mut broker, now);
        }
        assert_eq!(
            broker.jetstream().map(JetStream::stream_count),
            Some(streams)
        );
    }
    let peer = SocketAddr::from(([127, 0, 0, 1], 4000));
    let connect = |broker: &mut Broker, ops: &'static str| {
        let conn = broker.handle_accept(now, peer);
        broker.handle_read(now, conn, Bytes::from_static(ops.as_bytes()));
        conn
    };
    let publisher = connect(&mut broker, "CONNECT {\"verbose\":false}\r\n");
    for _ in 0..subscribers {
        connect(
            &mut broker,
            "CONNECT {\"verbose\":false}\r\nSUB bench.broker.subject 1\r\n",
        );
    }
    drain(&mut broker, now);
    Setup { broker, publisher }
}

/// Hands every output over and reports it written; returns the bytes transmitted.
fn drain(broker: &mut Broker, now: Now) -> usize {
    let mut total = 0;
    while let Some(output) = broker.poll_output() {
        if let Output::Transmit { conn, chunks } = output {
            let n: usize = chunks.iter().map(Bytes::len).sum();
            black_box(&chunks);
            broker.handle_written(now, conn, n);
            total += n;
        }
    }
    total
}

fn stream(size: usize) -> (Vec<Bytes>, u64) {
    let one = format!(
        "PUB bench.broker.subject {size}\r\n{}\r\n",
        "x".repeat(size)
    );
    let count = (STREAM_BYTES / one.len()).max(16);
    let mut all = BytesMut::with_capacity(one.len() * count);
    for _ in 0..count {
        all.extend_from_slice(one.as_bytes());
    }
    let all = all.freeze();
    let chunks = (0..all.len())
        .step_by(CHUNK_BYTES)
        .map(|at| all.slice(at..(at + CHUNK_BYTES).min(all.len())))
        .collect();
    (chunks, count as u64)
}

fn publish_all(setup: &mut Setup, chunks: &[Bytes]) -> usize {
    let now = Now::default();
    let mut out = 0;
    for chunk in chunks {
        setup
            .broker
            .handle_read(now, setup.publisher, chunk.clone());
        out += drain(&mut setup.broker, now);
    }
    out
}

fn broker(c: &mut Criterion) {
    let mut group = c.benchmark_group("broker");
    for subscribers in [0, 1, 4] {
        for size in SIZES {
            let (chunks, count) = stream(size);
            let mut setup = setup(subscribers);
            // Every message reaches every subscriber (and the publisher stays connected).
            let out = publish_all(&mut setup, &chunks);
            assert!(out >= count as usize * subscribers * size);
            assert_eq!(setup.broker.stats().in_msgs, count);
            assert_eq!(setup.broker.stats().out_msgs, count * subscribers as u64);
            group.throughput(Throughput::Elements(count));
            let id = BenchmarkId::new(format!("pub/{subscribers}sub"), format!("{size}B"));
            group.bench_with_input(id, &chunks, |b, chunks| {
                b.iter(|| publish_all(&mut setup, chunks))
            });
        }
    }
    for streams in [0, 200] {
        let size = 16;
        let (chunks, count) = stream(size);
        let mut setup = setup_with(0, Some(streams));
        publish_all(&mut setup, &chunks);
        group.throughput(Throughput::Elements(count));
        let id = BenchmarkId::new(
            format!("pub/0sub/jetstream-{streams}-streams"),
            format!("{size}B"),
        );
        group.bench_with_input(id, &chunks, |b, chunks| {
            b.iter(|| publish_all(&mut setup, chunks))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = broker
}
criterion_main!(benches);
