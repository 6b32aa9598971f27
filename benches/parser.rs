//! Parser throughput: streams of PUB and HPUB ops with 16 B to 16 KiB payloads, fed in 64 KiB
//! chunks as the runtime's reader hands them over (so some ops straddle two chunks). Each case
//! is measured twice, as bytes/s and as ops/s.
//!
//! `cargo bench --bench parser`

mod common;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use switchboard::protocol::encode::client_op;
use switchboard::protocol::{ClientOp, Parser, ParserLimits};

const SIZES: [usize; 4] = [16, 128, 1024, 16 * 1024];
/// About this many bytes of ops per stream.
const STREAM_BYTES: usize = 1024 * 1024;
/// What one socket read typically hands the parser.
const CHUNK_BYTES: usize = 64 * 1024;

fn stream(size: usize, headers: bool) -> (Bytes, u64) {
    let payload = Bytes::from(vec![b'x'; size]);
    let op = if headers {
        ClientOp::Hpub {
            subject: Bytes::from_static(b"bench.parser.subject"),
            reply: None,
            headers: Bytes::from_static(b"NATS/1.0\r\nKey: value\r\n\r\n"),
            payload,
        }
    } else {
        ClientOp::Pub {
            subject: Bytes::from_static(b"bench.parser.subject"),
            reply: None,
            payload,
        }
    };
    let mut one = BytesMut::new();
    client_op(&mut one, &op);
    let count = (STREAM_BYTES / one.len()).max(16);
    let mut all = BytesMut::with_capacity(one.len() * count);
    for _ in 0..count {
        all.extend_from_slice(&one);
    }
    (all.freeze(), count as u64)
}

/// Parses the whole stream with a fresh parser; returns the op count.
fn parse_all(stream: &Bytes) -> u64 {
    let mut parser = Parser::new(ParserLimits {
        control_line_bytes_max: 4096,
        payload_bytes_max: 1024 * 1024,
    });
    parser.set_headers_enabled(true);
    let mut ops = 0;
    let mut at = 0;
    while at < stream.len() {
        let end = (at + CHUNK_BYTES).min(stream.len());
        parser.push(stream.slice(at..end));
        at = end;
        while let Some(op) = parser.next_op().expect("the stream is valid") {
            black_box(&op);
            ops += 1;
        }
    }
    ops
}

fn parser(c: &mut Criterion) {
    let mut group = c.benchmark_group("parser");
    for (verb, headers) in [("PUB", false), ("HPUB", true)] {
        for size in SIZES {
            let (stream, count) = stream(size, headers);
            assert_eq!(parse_all(&stream), count);
            for (unit, throughput) in [
                ("bytes", Throughput::Bytes(stream.len() as u64)),
                ("ops", Throughput::Elements(count)),
            ] {
                group.throughput(throughput);
                let id = BenchmarkId::new(format!("{verb}/{unit}"), format!("{size}B"));
                group.bench_with_input(id, &stream, |b, stream| b.iter(|| parse_all(stream)));
            }
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = parser
}
criterion_main!(benches);
