//! Property tests of the stores: the file store against the memory store (the naive model),
//! and the file store under crashes, torn writes and bit flips.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

const SUBJECTS: [&str; 4] = ["a.1", "a.2", "b.1", "c"];
const FILTERS: [&str; 5] = ["a.*", "a.1", ">", "b.>", "c"];
const DIR: &str = "s";

/// `cases` per property, and no regression files written into the source tree.
fn config_cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[derive(Clone, Debug)]
enum Op {
    Store {
        subject: usize,
        payload_len: usize,
        headers: bool,
        time: i64,
    },
    Remove(u64),
    Purge {
        filter: Option<usize>,
        up_to: Option<u64>,
        keep: Option<u64>,
    },
    Expire(i64),
    /// Request and run a sync; report it now, or only at the next sync (a crash in between
    /// leaves the data synced but the store unaware).
    Sync {
        report: bool,
    },
    Reopen,
    Crash {
        tear: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..SUBJECTS.len(), 0..120usize, any::<bool>(), 0..100i64).prop_map(
            |(subject, payload_len, headers, time)| Op::Store { subject, payload_len, headers, time }
        ),
        2 => (0..40u64).prop_map(Op::Remove),
        1 => (
            proptest::option::of(0..FILTERS.len()),
            proptest::option::of(0..40u64),
            proptest::option::of(0..4u64)
        ).prop_map(|(filter, up_to, keep)| Op::Purge { filter, up_to, keep }),
        1 => (0..100i64).prop_map(Op::Expire),
        3 => any::<bool>().prop_map(|report| Op::Sync { report }),
        1 => Just(Op::Reopen),
        1 => any::<bool>().prop_map(|tear| Op::Crash { tear }),
    ]
}

fn config() -> FileStoreConfig {
    FileStoreConfig {
        segment_bytes_max: 400,
        ..FileStoreConfig::new(DIR)
    }
}

fn open(disk: &Arc<MemDisk>) -> FileStore {
    let shared: Arc<dyn Disk> = disk.clone();
    FileStore::open(shared, config()).expect("a MemDisk store opens")
}

fn message(subject: usize, payload_len: usize, headers: bool, seed: u64) -> (Bytes, Bytes) {
    let headers = match headers {
        true => Bytes::from(format!("NATS/1.0\r\nN: {seed}\r\n\r\n")),
        false => Bytes::new(),
    };
    let payload: Vec<u8> = (0..payload_len)
        .map(|i| (seed as usize * 31 + i * 7 + subject) as u8)
        .collect();
    (headers, Bytes::from(payload))
}

fn purge_request(
    filter: Option<usize>,
    up_to: Option<u64>,
    keep: Option<u64>,
) -> PurgeRequest<'static> {
    PurgeRequest {
        filter: filter.map(|i| FILTERS[i].as_bytes()),
        up_to_seq: up_to,
        keep,
    }
}

/// Runs every sync the store asks for.
fn sync_all(fs: &mut FileStore, disk: &MemDisk) {
    while let Some(request) = fs.sync_request(Mono::ZERO) {
        let result = request.run(disk);
        fs.synced(&request, result);
    }
}

/// Everything observable of a store, for comparing two.
fn observe(store: &dyn Store) -> String {
    let state = store.state();
    let mut out = format!("{state:?}\n{:?}\n", store.subjects(b">"));
    for seq in 0..=state.last_seq + 1 {
        out += &format!(
            "{seq}: {:?} next {:?}\n",
            store.load_msg(seq),
            store.next_seq(seq)
        );
    }
    for filter in FILTERS {
        let last = store.load_last_by_subject(filter.as_bytes()).map(|m| m.seq);
        out += &format!(
            "{filter}: {last:?} {:?}\n",
            store.subjects(filter.as_bytes())
        );
    }
    for subject in SUBJECTS {
        out += &format!("{subject}: {:?}\n", store.subject_state(subject.as_bytes()));
    }
    out
}

/// Brute-force subject counts from the loadable messages: the subject index's pair.
fn check_subjects_by_scan(store: &dyn Store) {
    let state = store.state();
    let mut counts: BTreeMap<Bytes, u64> = BTreeMap::new();
    let mut bytes = 0;
    for seq in state.first_seq..=state.last_seq {
        if let Ok(msg) = store.load_msg(seq) {
            bytes += msg_size_bytes(msg.subject.len(), msg.headers.len(), msg.payload.len());
            *counts.entry(msg.subject).or_default() += 1;
        }
    }
    assert_eq!(store.subjects(b">"), counts.into_iter().collect::<Vec<_>>());
    assert_eq!(state.bytes, bytes);
}

proptest! {
    #![proptest_config(config_cases(128))]

    /// With no crash, the file store behaves exactly as the memory store, through syncs and
    /// reopens.
    #[test]
    fn file_store_agrees_with_memory_store(ops in proptest::collection::vec(op(), 1..60)) {
        let disk = Arc::new(MemDisk::new());
        let mut fs = open(&disk);
        let mut ms = MemStore::new();
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Store { subject, payload_len, headers, time } => {
                    let (headers, payload) = message(subject, payload_len, headers, i as u64);
                    let time = Wall::from_unix_nanos(time);
                    let subject = SUBJECTS[subject].as_bytes();
                    let a = fs.store_msg(subject, headers.clone(), payload.clone(), time);
                    let b = ms.store_msg(subject, headers, payload, time);
                    prop_assert_eq!(a, b);
                }
                Op::Remove(seq) => prop_assert_eq!(fs.remove_msg(seq), ms.remove_msg(seq)),
                Op::Purge { filter, up_to, keep } => {
                    let request = purge_request(filter, up_to, keep);
                    prop_assert_eq!(fs.purge(request), ms.purge(request));
                }
                Op::Expire(cutoff) => {
                    let cutoff = Wall::from_unix_nanos(cutoff);
                    prop_assert_eq!(fs.expire_before(cutoff), ms.expire_before(cutoff));
                }
                Op::Sync { .. } => sync_all(&mut fs, &disk),
                Op::Reopen | Op::Crash { .. } => {
                    drop(fs);
                    fs = open(&disk);
                    prop_assert!(fs.recovery_report().is_clean(), "{:?}", fs.recovery_report());
                }
            }
            prop_assert_eq!(observe(&fs), observe(&ms));
        }
        check_subjects_by_scan(&fs);
        fs.index.check();
    }
}

/// What the crash test knows: each sequence's content, and which were removed by which write.
#[derive(Default)]
struct Model {
    /// The content last stored at each sequence.
    contents: BTreeMap<u64, StoredMsg>,
    /// Removed sequences, with the write id of the removal (in the current store instance).
    removed: BTreeMap<u64, u64>,
    /// The highest sequence ever reported durable.
    durable_max: u64,
}

impl Model {
    fn record_removals(&mut self, fs: &FileStore, before: &BTreeSet<u64>) {
        let write_id = fs.written_id();
        for seq in before {
            if fs.load_msg(*seq).is_err() {
                self.removed.entry(*seq).or_insert(write_id);
            }
        }
    }

    /// Checks a store just recovered from a crash against what was durable before it.
    fn check_after_crash(&mut self, fs: &FileStore, durable_seq: u64, durable_write_id: u64) {
        let report = fs.recovery_report();
        assert!(
            report.corrupt.is_empty() && report.unreadable.is_empty(),
            "{report:?}"
        );
        assert!(
            fs.state().last_seq >= self.durable_max,
            "a durable sequence would be reused"
        );
        for (seq, expected) in &self.contents {
            let loaded = fs.load_msg(*seq);
            let removal = self.removed.get(seq);
            let must_be_present = *seq <= durable_seq && removal.is_none();
            let must_be_absent = removal.is_some_and(|id| *id <= durable_write_id);
            match &loaded {
                Ok(msg) => {
                    assert_eq!(msg, expected, "seq {seq} changed");
                    assert!(
                        !must_be_absent,
                        "seq {seq} came back after a durable removal"
                    );
                }
                Err(StoreError::NotFound) => {
                    assert!(!must_be_present, "durable seq {seq} lost")
                }
                Err(other) => panic!("seq {seq}: {other:?}"),
            }
        }
        // From here on the store's contents are the model.
        self.contents.retain(|seq, _| fs.load_msg(*seq).is_ok());
        self.removed.clear();
    }
}

proptest! {
    #![proptest_config(config_cases(256))]

    /// Crashes (with torn writes) never lose a durable message, never bring back a durable
    /// removal, never reuse a durable sequence and never serve a damaged record.
    #[test]
    fn crashes_keep_every_durable_message(
        ops in proptest::collection::vec(op(), 1..80),
        seed in any::<u64>(),
    ) {
        crash_case(ops, seed)?;
    }

    /// Bit flips in synced data: every flipped record is reported and never served, every
    /// message not covered by a report is intact, and no sequence is reused.
    #[test]
    fn bit_flips_are_reported_and_never_served(
        ops in proptest::collection::vec(op(), 1..50),
        flips in 1..4usize,
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let disk = Arc::new(MemDisk::new());
        let mut fs = open(&disk);
        let mut contents = BTreeMap::new();
        for (i, op) in ops.into_iter().enumerate() {
            if let Op::Store { subject, payload_len, headers, time } = op {
                let (headers, payload) = message(subject, payload_len, headers, i as u64);
                let time = Wall::from_unix_nanos(time);
                let seq = fs.store_msg(SUBJECTS[subject].as_bytes(), headers, payload, time)
                    .expect("stored");
                contents.insert(seq, fs.load_msg(seq).expect("just stored"));
            } else if let Op::Remove(seq) = op {
                fs.remove_msg(seq).expect("removal");
                contents.remove(&seq);
            }
        }
        sync_all(&mut fs, &disk);
        let slots = fs.index.slots.clone();
        let last_seq = fs.state().last_seq;
        drop(fs);
        let mut flipped = 0;
        for _ in 0..flips {
            flipped += usize::from(disk.flip_random_bit(&mut rng).is_some());
        }
        let mut fs = open(&disk);
        let report = fs.recovery_report().clone();
        if flipped > 0 {
            prop_assert!(!report.is_clean(), "a flip went unreported");
        }
        for (seq, expected) in &contents {
            match fs.load_msg(*seq) {
                Ok(msg) => prop_assert_eq!(&msg, expected),
                Err(_) => {
                    let slot = &slots[seq];
                    let path = format!("{DIR}/{}", recovery::segment_name(slot.segment));
                    prop_assert!(covered(&report, &path, slot.offset), "seq {} lost silently: {:?}", seq, report);
                }
            }
        }
        // One flip cannot make a sequence reusable (a sync point follows the last message);
        // flips in both the last message and its sync point can.
        let next = fs.store_msg(b"x", Bytes::new(), Bytes::new(), Wall::default()).expect("stored");
        prop_assert!(flipped > 1 || next > last_seq, "seq {} reused", next);
    }
}

/// One run of the crash property: `ops` on a file store, crashes tearing with `seed`.
fn crash_case(ops: Vec<Op>, seed: u64) -> Result<(), TestCaseError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    let mut model = Model::default();
    let mut unreported: Option<SyncRequest> = None;
    for (i, op) in ops.into_iter().enumerate() {
        let live: BTreeSet<u64> = model.contents.keys().copied().collect();
        match op {
            Op::Store {
                subject,
                payload_len,
                headers,
                time,
            } => {
                let (headers, payload) = message(subject, payload_len, headers, i as u64);
                let time = Wall::from_unix_nanos(time);
                let subject_bytes = SUBJECTS[subject].as_bytes();
                let seq = fs
                    .store_msg(subject_bytes, headers.clone(), payload.clone(), time)
                    .expect("a MemDisk store takes writes");
                prop_assert!(seq > model.durable_max, "seq {} reused", seq);
                let subject = Bytes::from_static(SUBJECTS[subject].as_bytes());
                let msg = StoredMsg {
                    seq,
                    timestamp: time,
                    subject,
                    headers,
                    payload,
                };
                model.contents.insert(seq, msg);
                model.removed.remove(&seq);
            }
            Op::Remove(seq) => {
                fs.remove_msg(seq).expect("removal");
                model.record_removals(&fs, &live);
            }
            Op::Purge {
                filter,
                up_to,
                keep,
            } => {
                fs.purge(purge_request(filter, up_to, keep)).expect("purge");
                model.record_removals(&fs, &live);
            }
            Op::Expire(cutoff) => {
                fs.expire_before(Wall::from_unix_nanos(cutoff))
                    .expect("expiry");
                model.record_removals(&fs, &live);
            }
            Op::Sync { report } => {
                if let Some(request) = unreported.take() {
                    fs.synced(&request, Ok(()));
                }
                if let Some(request) = fs.sync_request(Mono::ZERO) {
                    let result = request.run(&*disk);
                    prop_assert!(result.is_ok());
                    match report {
                        true => fs.synced(&request, result),
                        false => unreported = Some(request),
                    }
                }
                model.durable_max = model.durable_max.max(fs.durable_seq());
            }
            Op::Reopen => {
                unreported = None;
                drop(fs);
                fs = open(&disk);
                prop_assert!(fs.recovery_report().is_clean());
                model.check_after_crash(&fs, u64::MAX, u64::MAX);
            }
            Op::Crash { tear } => {
                let (durable_seq, durable_write_id) = (fs.durable_seq(), fs.durable_write_id());
                unreported = None;
                drop(fs);
                match tear {
                    true => disk.crash_tearing(&mut rng),
                    false => disk.crash(),
                }
                fs = open(&disk);
                model.check_after_crash(&fs, durable_seq, durable_write_id);
            }
        }
    }
    fs.index.check();
    Ok(())
}

/// Whether the report names damage at `offset` of `path`.
fn covered(report: &RecoveryReport, path: &str, offset: u64) -> bool {
    let within = |start: u64, len: u64| start <= offset && offset < start + len;
    report
        .corrupt
        .iter()
        .any(|c| c.segment == path && within(c.offset, c.len_bytes))
        || report
            .unreadable
            .iter()
            .any(|u| u.segment == path && within(u.offset, u.len_bytes))
        || report
            .torn_tail
            .as_ref()
            .is_some_and(|t| t.segment == path && within(t.offset, t.len_bytes))
}

fn store_op(payload_len: usize) -> Op {
    Op::Store {
        subject: 0,
        payload_len,
        headers: true,
        time: 0,
    }
}

/// A crash after a sync that ran but was not reported, found by the property above.
#[test]
fn crash_after_an_unreported_sync() {
    let mut ops: Vec<Op> = [33, 40, 115, 28, 27, 108]
        .into_iter()
        .map(store_op)
        .collect();
    ops.push(Op::Sync { report: false });
    ops.push(store_op(0));
    ops.push(Op::Sync { report: false });
    ops.extend([store_op(100), store_op(29)]);
    ops.extend([
        Op::Crash { tear: true },
        Op::Sync { report: true },
        Op::Reopen,
    ]);
    crash_case(ops, 1376869461850897237).unwrap();
}
