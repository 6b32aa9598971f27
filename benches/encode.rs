//! MSG and HMSG encoding as delivery does it: the header line, then the payload (copied, or
//! by reference when large) and `\r\n`, appended to one connection's outbound buffer.
//!
//! `cargo bench --bench encode`

mod common;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use switchboard::protocol::encode::{hmsg_header, msg_header};

const SIZES: [usize; 4] = [16, 128, 1024, 16 * 1024];
/// Messages encoded per iteration (then the buffer is cleared, as a write would drain it).
const BATCH: usize = 256;
const HEADERS: &[u8] = b"NATS/1.0\r\nKey: value\r\n\r\n";

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(BATCH as u64));
    for size in SIZES {
        let payload = vec![b'x'; size];
        let mut out = BytesMut::with_capacity(BATCH * (size + 128));
        group.bench_function(BenchmarkId::new("MSG", format!("{size}B")), |b| {
            b.iter(|| {
                out.clear();
                for _ in 0..BATCH {
                    msg_header(
                        &mut out,
                        b"bench.encode.subject",
                        b"42",
                        None,
                        payload.len(),
                    );
                    out.extend_from_slice(&payload);
                    out.extend_from_slice(b"\r\n");
                }
                black_box(out.len())
            })
        });
        group.bench_function(BenchmarkId::new("MSG+reply", format!("{size}B")), |b| {
            b.iter(|| {
                out.clear();
                for _ in 0..BATCH {
                    let reply = Some(&b"_INBOX.abcdefghijklmnop.1"[..]);
                    msg_header(
                        &mut out,
                        b"bench.encode.subject",
                        b"42",
                        reply,
                        payload.len(),
                    );
                    out.extend_from_slice(&payload);
                    out.extend_from_slice(b"\r\n");
                }
                black_box(out.len())
            })
        });
        group.bench_function(BenchmarkId::new("HMSG", format!("{size}B")), |b| {
            b.iter(|| {
                out.clear();
                for _ in 0..BATCH {
                    let total = HEADERS.len() + payload.len();
                    hmsg_header(
                        &mut out,
                        b"bench.encode.subject",
                        b"42",
                        None,
                        HEADERS.len(),
                        total,
                    );
                    out.extend_from_slice(HEADERS);
                    out.extend_from_slice(&payload);
                    out.extend_from_slice(b"\r\n");
                }
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = encode
}
criterion_main!(benches);
