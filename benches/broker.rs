//! The broker's hot path alone, no sockets: published messages in, MSG frames out, per
//! message. Streams of `PUB` with 16 B to 16 KiB payloads are fed in 64 KiB chunks (as the
//! runtime's reader hands them over) to a broker with 0, 1 or 4 subscribers on the subject;
//! every `Transmit` is taken and reported written, as a host with fast sockets would.
//!
//! `cargo bench --bench broker`

mod common;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::net::SocketAddr;
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
    let now = Now::default();
    let mut broker = Broker::new(Config::default(), Seed(7), now);
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
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = broker
}
criterion_main!(benches);
