use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::store::mem_disk::{DiskOp, MemDisk};
use crate::store::recovery::CorruptReason;

const DIR: &str = "streams/S";

fn open(disk: &Arc<MemDisk>) -> FileStore {
    open_with(disk, FileStoreConfig::new(DIR))
}

fn open_with(disk: &Arc<MemDisk>, config: FileStoreConfig) -> FileStore {
    let disk: Arc<dyn Disk> = disk.clone();
    FileStore::open(disk, config).expect("store opens")
}

fn put(fs: &mut FileStore, subject: &str, payload: &str) -> u64 {
    fs.store_msg(
        subject.as_bytes(),
        Bytes::from_static(b"NATS/1.0\r\n\r\n"),
        Bytes::copy_from_slice(payload.as_bytes()),
        Wall::from_unix_nanos(1_000),
    )
    .expect("stored")
}

/// Runs every pending sync against `disk` and reports it.
fn sync(fs: &mut FileStore, disk: &MemDisk) {
    while let Some(request) = fs.sync_request(Mono::ZERO) {
        let result = request.run(disk);
        fs.synced(&request, result);
    }
}

fn segments(disk: &MemDisk) -> Vec<String> {
    disk.list(DIR).unwrap()
}

#[test]
fn store_load_and_reopen() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    assert!(fs.recovery_report().is_clean());
    assert_eq!(put(&mut fs, "a", "one"), 1);
    assert_eq!(put(&mut fs, "b", "two"), 2);
    let msg = fs.load_msg(2).unwrap();
    assert_eq!(
        (&msg.subject[..], &msg.payload[..]),
        (&b"b"[..], &b"two"[..])
    );
    assert_eq!(&msg.headers[..], b"NATS/1.0\r\n\r\n");
    assert_eq!(fs.load_last_by_subject(b">").unwrap().seq, 2);
    sync(&mut fs, &disk);
    let state = fs.state();
    drop(fs);
    let fs = open(&disk);
    assert!(fs.recovery_report().is_clean(), "{}", fs.recovery_report());
    assert_eq!(fs.state(), state);
    assert_eq!(fs.load_msg(1).unwrap().payload, "one");
}

#[test]
fn acks_wait_for_the_sync() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    put(&mut fs, "a", "1");
    put(&mut fs, "a", "2");
    assert_eq!(fs.durable_seq(), 0);
    assert_eq!(fs.ackable_seq(), 0);
    let request = fs.sync_request(Mono::ZERO).expect("writes wait");
    assert_eq!(request.seq, 2);
    put(&mut fs, "a", "3");
    assert!(fs.sync_request(Mono::ZERO).is_none(), "one sync in flight");
    fs.synced(&request, request.run(&*disk));
    assert_eq!(fs.durable_seq(), 2);
    sync(&mut fs, &disk);
    assert_eq!((fs.durable_seq(), fs.ackable_seq()), (3, 3));
    assert_eq!(fs.durable_write_id(), fs.written_id());
}

#[test]
fn crash_loses_only_unsynced_messages() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    put(&mut fs, "a", "durable");
    sync(&mut fs, &disk);
    put(&mut fs, "a", "lost");
    disk.crash_tearing(&mut ChaCha8Rng::seed_from_u64(9));
    let fs = open(&disk);
    assert_eq!(fs.load_msg(1).unwrap().payload, "durable");
    assert_eq!(fs.load_msg(2), Err(StoreError::NotFound));
    assert!(fs.recovery_report().corrupt.is_empty());
}

#[test]
fn torn_tail_is_cut_and_reported() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    put(&mut fs, "a", "one");
    sync(&mut fs, &disk);
    let path = fs.segment_path(1);
    let len = disk.len(&path).unwrap();
    // A write of a record's first half, synced: the shape a torn write leaves.
    let mut record = Vec::new();
    record::encode(
        &mut record,
        Kind::Message,
        2,
        Wall::default(),
        b"a",
        b"",
        b"xx",
    )
    .unwrap();
    disk.write_at(&path, len, &record[..record.len() / 2])
        .unwrap();
    disk.sync(&path).unwrap();
    drop(fs);
    let mut fs = open(&disk);
    let torn = fs.recovery_report().torn_tail.clone().expect("torn tail");
    assert_eq!(
        (torn.offset, torn.len_bytes),
        (len, record.len() as u64 / 2)
    );
    assert_eq!(
        disk.len(&path).unwrap(),
        len,
        "cut back to the last good record"
    );
    assert_eq!(
        put(&mut fs, "a", "two"),
        2,
        "its header was not valid: seq 2 is free"
    );
}

#[test]
fn corrupt_body_is_reported_and_never_served() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    for i in 0..3 {
        put(&mut fs, "a", &format!("m{i}"));
    }
    sync(&mut fs, &disk);
    let slot = fs.index.slots[&2].clone();
    let path = fs.segment_path(slot.segment);
    assert!(disk.flip_bit(&path, slot.offset + slot.record_len - 6, 0));
    assert_eq!(fs.load_msg(2), Err(StoreError::Corrupt { seq: 2 }));
    drop(fs);
    let mut fs = open(&disk);
    let report = fs.recovery_report().clone();
    assert_eq!(report.corrupt.len(), 1, "{report:?}");
    assert_eq!(report.corrupt[0].seq, Some(2));
    assert_eq!(report.corrupt[0].reason, CorruptReason::Crc);
    assert_eq!(fs.load_msg(2), Err(StoreError::Corrupt { seq: 2 }));
    assert_eq!(fs.load_msg(3).unwrap().payload, "m2");
    assert_eq!(fs.state().msgs, 2);
    assert_eq!(fs.state().num_deleted, 1);
    assert_eq!(fs.corrupt_seqs(), vec![2]);
    assert!(fs.remove_msg(2).unwrap(), "a corrupt record can be removed");
    assert_eq!(fs.load_msg(2), Err(StoreError::NotFound));
}

#[test]
fn header_flip_in_sequence_is_skipped_by_its_length() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    for i in 0..3 {
        put(&mut fs, "a", &format!("m{i}"));
    }
    sync(&mut fs, &disk);
    let slot = fs.index.slots[&2].clone();
    let path = fs.segment_path(slot.segment);
    assert!(
        disk.flip_bit(&path, slot.offset + 17, 4),
        "a bit of the sequence"
    );
    drop(fs);
    let fs = open(&disk);
    let report = fs.recovery_report();
    assert_eq!(report.corrupt.len(), 1);
    assert_eq!(report.corrupt[0].reason, CorruptReason::Header);
    assert_eq!(report.corrupt[0].seq, None);
    assert!(report.unreadable.is_empty());
    assert_eq!(fs.load_msg(3).unwrap().payload, "m2");
    assert_eq!(fs.load_msg(2), Err(StoreError::NotFound));
}

#[test]
fn header_flip_in_length_stops_the_segment_without_cutting() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    for i in 0..3 {
        put(&mut fs, "a", &format!("m{i}"));
    }
    sync(&mut fs, &disk);
    let slot = fs.index.slots[&2].clone();
    let path = fs.segment_path(slot.segment);
    let len = disk.len(&path).unwrap();
    assert!(
        disk.flip_bit(&path, slot.offset + 12, 2),
        "a bit of the payload length"
    );
    drop(fs);
    let mut fs = open(&disk);
    let report = fs.recovery_report().clone();
    assert_eq!(report.unreadable.len(), 1, "{report:?}");
    assert_eq!(
        report.unreadable[0].records_found, 2,
        "message 3 and a sync point"
    );
    assert!(report.torn_tail.is_none());
    assert_eq!(disk.len(&path).unwrap(), len, "nothing cut");
    assert_eq!(fs.load_msg(1).unwrap().payload, "m0");
    assert_eq!(
        put(&mut fs, "a", "new"),
        4,
        "seq 3, found by scanning, is not reused"
    );
    assert_ne!(
        fs.current,
        Some(slot.segment),
        "appends go to a new segment"
    );
}

#[test]
fn removals_and_purges_survive_restart() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    for subject in ["a.1", "b.1", "a.2", "a.1", "b.2", "a.1"] {
        put(&mut fs, subject, subject);
    }
    assert!(fs.remove_msg(2).unwrap());
    assert!(!fs.remove_msg(2).unwrap());
    let keep_one = PurgeRequest {
        filter: Some(b"a.1"),
        keep: Some(1),
        ..PurgeRequest::default()
    };
    assert_eq!(fs.purge(keep_one).unwrap(), 2);
    sync(&mut fs, &disk);
    let state = fs.state();
    let subjects = fs.subjects(b">");
    drop(fs);
    let mut fs = open(&disk);
    assert_eq!(fs.state(), state);
    assert_eq!(fs.subjects(b">"), subjects);
    assert_eq!(fs.purge(PurgeRequest::all()).unwrap(), 3);
    sync(&mut fs, &disk);
    drop(fs);
    let mut fs = open(&disk);
    assert_eq!(fs.state().msgs, 0);
    assert_eq!(fs.state().first_seq, 7);
    assert_eq!(put(&mut fs, "c", "after"), 7, "sequences are never reused");
}

#[test]
fn segments_roll_and_empty_ones_are_removed() {
    let disk = Arc::new(MemDisk::new());
    let config = FileStoreConfig {
        segment_bytes_max: 200,
        ..FileStoreConfig::new(DIR)
    };
    let mut fs = open_with(&disk, config.clone());
    for i in 0..10 {
        put(&mut fs, "a", &format!("{i:040}"));
    }
    sync(&mut fs, &disk);
    assert!(segments(&disk).len() >= 5, "{:?}", segments(&disk));
    let purge = PurgeRequest {
        up_to_seq: Some(10),
        ..PurgeRequest::default()
    };
    assert_eq!(fs.purge(purge).unwrap(), 9);
    sync(&mut fs, &disk);
    let left = segments(&disk);
    assert_eq!(
        left.len(),
        2,
        "message 10's segment and the current one: {left:?}"
    );
    assert_eq!(left[0], "00000000000000000010.seg");
    drop(fs);
    let mut fs = open_with(&disk, config);
    assert_eq!(fs.state().first_seq, 10);
    assert_eq!(fs.load_msg(10).unwrap().payload, format!("{:040}", 9));
    assert_eq!(fs.remove_msg(10), Ok(true));
    sync(&mut fs, &disk);
    assert_eq!(put(&mut fs, "a", "x"), 11);
}

#[test]
fn a_failed_sync_fails_the_store() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    put(&mut fs, "a", "1");
    disk.fail_next(Some(DiskOp::Sync), 1);
    let request = fs.sync_request(Mono::ZERO).unwrap();
    fs.synced(&request, request.run(&*disk));
    assert_eq!(fs.durable_seq(), 0);
    assert!(fs.failure().is_some());
    let refused = fs.store_msg(b"a", Bytes::new(), Bytes::new(), Wall::default());
    assert!(matches!(refused, Err(StoreError::Failed(_))));
    assert!(matches!(fs.remove_msg(1), Err(StoreError::Failed(_))));
    assert_eq!(fs.load_msg(1).unwrap().payload, "1", "reads still work");
    assert!(fs.sync_request(Mono::ZERO).is_none());
}

#[test]
fn a_full_disk_refuses_writes_and_changes_nothing() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    put(&mut fs, "a", "1");
    disk.set_capacity_bytes(Some(disk.len(&fs.segment_path(1)).unwrap() + 10));
    let refused = fs.store_msg(
        b"a",
        Bytes::new(),
        Bytes::from_static(b"big"),
        Wall::default(),
    );
    assert_eq!(refused, Err(StoreError::Disk(DiskError::NoSpace)));
    assert_eq!(fs.state().last_seq, 1);
    disk.set_capacity_bytes(None);
    assert_eq!(put(&mut fs, "a", "2"), 2);
    sync(&mut fs, &disk);
    drop(fs);
    assert_eq!(open(&disk).load_msg(2).unwrap().payload, "2");
}

#[test]
fn misdirected_read_is_retried() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    put(&mut fs, "a", "1");
    put(&mut fs, "a", "2");
    disk.misdirect_next_reads(1, &mut ChaCha8Rng::seed_from_u64(1));
    assert_eq!(fs.load_msg(2).unwrap().payload, "2");
    disk.misdirect_next_reads(2, &mut ChaCha8Rng::seed_from_u64(1));
    assert_eq!(fs.load_msg(2), Err(StoreError::Corrupt { seq: 2 }));
    assert_eq!(fs.load_msg(2).unwrap().payload, "2", "transient");
}

#[test]
fn interval_policy_acks_before_the_sync() {
    let disk = Arc::new(MemDisk::new());
    let config = FileStoreConfig {
        sync: SyncPolicy::Interval(Duration::from_secs(1)),
        ..FileStoreConfig::new(DIR)
    };
    let mut fs = open_with(&disk, config);
    put(&mut fs, "a", "1");
    assert_eq!((fs.ackable_seq(), fs.durable_seq()), (1, 0));
    assert_eq!(fs.sync_deadline(), Some(Mono::ZERO));
}

#[test]
fn expiry_writes_a_delete() {
    let disk = Arc::new(MemDisk::new());
    let mut fs = open(&disk);
    for nanos in [10, 20, 30] {
        fs.store_msg(
            b"a",
            Bytes::new(),
            Bytes::new(),
            Wall::from_unix_nanos(nanos),
        )
        .unwrap();
    }
    assert_eq!(fs.expire_before(Wall::from_unix_nanos(25)).unwrap(), 2);
    sync(&mut fs, &disk);
    drop(fs);
    let fs = open(&disk);
    assert_eq!(fs.state().first_seq, 3);
    assert_eq!(fs.state().first_time, Wall::from_unix_nanos(30));
    assert_eq!(fs.state().last_time, Wall::from_unix_nanos(30));
}

#[test]
fn other_files_are_ignored_and_reported() {
    let disk = Arc::new(MemDisk::new());
    disk.put_durable("streams/S/meta.json", b"{}");
    let fs = open(&disk);
    assert_eq!(fs.recovery_report().ignored_files, vec!["meta.json"]);
}
