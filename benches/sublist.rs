//! Sublist matching at 1k, 100k and 1M subscriptions (a tenth with `*`, a hundredth with `>`),
//! with the match cache hot (a working set that fits it) and cold (every subject new to it,
//! so each match walks the trie, then caches and evicts).
//!
//! `cargo bench --bench sublist`

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use switchboard::routing::{SubId, Sublist, CACHE_ENTRIES_MAX_DEFAULT};

const SUBSCRIPTIONS: [usize; 3] = [1_000, 100_000, 1_000_000];
/// Subjects matched per iteration.
const BATCH: usize = 1_000;
/// Distinct subjects in the hot working set: well under the cache size.
const HOT_SUBJECTS: usize = 256;
/// Distinct subjects in the cold working set, visited in order: far more than the cache holds.
const COLD_SUBJECTS: usize = 64 * CACHE_ENTRIES_MAX_DEFAULT;

/// The literal subject of subscription `i`: `bench.<a>.<b>.<c>`, spread over three levels.
fn literal(i: usize) -> String {
    format!("bench.{}.{}.{}", i % 100, (i / 100) % 100, i / 10_000)
}

fn build(count: usize) -> Sublist {
    let mut sublist = Sublist::new(CACHE_ENTRIES_MAX_DEFAULT);
    for i in 0..count {
        let subject = match i % 100 {
            0 => format!("bench.{}.>", i % 97),
            n if n % 10 == 0 => format!("bench.{}.*.{}", i % 100, i / 10_000),
            _ => literal(i),
        };
        let queue = (i % 50 == 7).then_some(&b"workers"[..]);
        sublist
            .insert(subject.as_bytes(), queue, SubId(i as u64))
            .expect("valid subject");
    }
    sublist
}

/// Published subjects: `distinct` of them (of subscribed literals while `distinct <= count`),
/// matching literals, wildcards, or nothing.
/// Hot and cold sets take disjoint ranges of `k`, so the cold set never hits what the hot one
/// cached.
fn subjects(count: usize, distinct: usize, skip: usize) -> Vec<Vec<u8>> {
    // A stride coprime with 100 visits every residue, so the set mixes all kinds of matches;
    // one modulus for both sets keeps them disjoint.
    let modulus = count.max(HOT_SUBJECTS + COLD_SUBJECTS);
    (skip..skip + distinct)
        .map(|k| literal((k * 7_919) % modulus).into_bytes())
        .collect()
}

fn sublist(c: &mut Criterion) {
    let mut group = c.benchmark_group("sublist_match");
    group.throughput(Throughput::Elements(BATCH as u64));
    for count in SUBSCRIPTIONS {
        let mut sublist = build(count);
        let hot = subjects(count, HOT_SUBJECTS, 0);
        let cold = subjects(count, COLD_SUBJECTS, HOT_SUBJECTS);
        let mut next = 0usize;
        group.bench_function(BenchmarkId::new("hot", count), |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    next = (next + 1) % hot.len();
                    black_box(sublist.match_subject(&hot[next]));
                }
            })
        });
        let hits = sublist.stats().cache_hits;
        group.bench_function(BenchmarkId::new("cold", count), |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    next = (next + 1) % cold.len();
                    black_box(sublist.match_subject(&cold[next]));
                }
            })
        });
        assert!(
            sublist.stats().cache_hits == hits,
            "the cold working set must miss the cache"
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::quick();
    targets = sublist
}
criterion_main!(benches);
