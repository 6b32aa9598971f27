//! The file store's write path over an in-memory disk (so the numbers are the store's own
//! cost, not a device's): appends with a sync request every batch, as group commit runs them,
//! and the record codec on its own.
//!
//! `cargo bench --bench store`

mod common;

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use switchboard::store::record::{decode, encode, Decoded, Kind};
use switchboard::store::{Disk, FileStore, FileStoreConfig, MemDisk, Store};
use switchboard::{Mono, Wall};

const SIZES: [usize; 3] = [16, 1024, 16 * 1024];
/// Messages appended per iteration, then one sync request covers them all.
const BATCH: usize = 256;

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_append");
    group.throughput(Throughput::Elements(BATCH as u64));
    for size in SIZES {
        let disk = Arc::new(MemDisk::new());
        let shared: Arc<dyn Disk> = disk.clone();
        let mut store = FileStore::open(shared, FileStoreConfig::new("bench")).expect("opens");
        let payload = Bytes::from(vec![b'x'; size]);
        let mut appended = 0u64;
        group.bench_function(
            BenchmarkId::new("FileStore/MemDisk", format!("{size}B")),
            |b| {
                b.iter(|| {
                    for _ in 0..BATCH {
                        let seq = store
                            .store_msg(
                                b"bench.store",
                                Bytes::new(),
                                payload.clone(),
                                Wall::default(),
                            )
                            .expect("MemDisk has room");
                        black_box(seq);
                    }
                    let request = store.sync_request(Mono::ZERO).expect("writes wait");
                    let result = request.run(&*disk);
                    store.synced(&request, result);
                    appended += BATCH as u64;
                    // Keep memory flat: drop what was appended now and then (as limits would).
                    if appended % (64 * BATCH as u64) == 0 {
                        store
                            .purge(switchboard::store::PurgeRequest::all())
                            .expect("purge");
                    }
                })
            },
        );
    }
    group.finish();
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_record");
    for size in SIZES {
        let payload = vec![b'x'; size];
        let mut buf = Vec::with_capacity(size + 128);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("encode", format!("{size}B")), |b| {
            b.iter(|| {
                buf.clear();
                let len = encode(
                    &mut buf,
                    Kind::Message,
                    42,
                    Wall::default(),
                    b"bench.store",
                    b"",
                    &payload,
                )
                .expect("small record");
                black_box(len)
            })
        });
        group.bench_function(BenchmarkId::new("decode", format!("{size}B")), |b| {
            b.iter(|| match decode(black_box(&buf)) {
                Decoded::Record(record) => black_box(record.payload.len()),
                _ => unreachable!("a valid record"),
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = append, codec
}
criterion_main!(benches);
