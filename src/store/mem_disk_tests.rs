use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

fn read_all(disk: &MemDisk, path: &str) -> Vec<u8> {
    let len = disk.len(path).expect("file exists") as usize;
    let mut buf = vec![0; len];
    let read = disk.read_at(path, 0, &mut buf).expect("readable");
    assert_eq!(read, len);
    buf
}

#[test]
fn positional_reads_and_writes() {
    let disk = MemDisk::new();
    disk.create("a/f").unwrap();
    assert_eq!(disk.create("a/f"), Err(DiskError::AlreadyExists));
    disk.write_at("a/f", 4, b"xyz").unwrap();
    assert_eq!(read_all(&disk, "a/f"), b"\0\0\0\0xyz");
    let mut buf = [0u8; 8];
    assert_eq!(disk.read_at("a/f", 5, &mut buf).unwrap(), 2);
    assert_eq!(&buf[..2], b"yz");
    assert_eq!(disk.read_at("a/f", 99, &mut buf).unwrap(), 0);
    disk.truncate("a/f", 5).unwrap();
    assert_eq!(disk.open("a/f").unwrap(), 5);
    assert_eq!(disk.read_at("nope", 0, &mut buf), Err(DiskError::NotFound));
    assert_eq!(disk.create("/abs"), Err(DiskError::InvalidPath));
}

#[test]
fn list_is_one_directory_level() {
    let disk = MemDisk::new();
    for path in ["a/1", "a/2", "a/b/3", "top"] {
        disk.create(path).unwrap();
    }
    assert_eq!(disk.list("a").unwrap(), vec!["1", "2"]);
    assert_eq!(disk.list("").unwrap(), vec!["top"]);
    assert!(disk.list("missing").unwrap().is_empty());
    disk.remove("a/1").unwrap();
    assert_eq!(disk.list("a").unwrap(), vec!["2"]);
    assert_eq!(disk.remove("a/1"), Err(DiskError::NotFound));
}

#[test]
fn crash_keeps_only_synced_data() {
    let disk = MemDisk::new();
    disk.create("f").unwrap();
    disk.write_at("f", 0, b"durable").unwrap();
    disk.sync("f").unwrap();
    disk.write_at("f", 7, b"-lost").unwrap();
    disk.truncate("f", 3).unwrap();
    disk.create("unsynced").unwrap();
    disk.crash();
    assert_eq!(read_all(&disk, "f"), b"durable");
    assert_eq!(disk.paths(), vec!["f"]);
    assert_eq!(
        disk.faults(),
        vec![FaultEvent::Crash {
            writes_lost: 2,
            files_lost: vec!["unsynced".into()]
        }]
    );
}

#[test]
fn torn_write_keeps_a_prefix() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..20 {
        let disk = MemDisk::new();
        disk.create("f").unwrap();
        disk.write_at("f", 0, b"head").unwrap();
        disk.sync("f").unwrap();
        disk.write_at("f", 4, b"lost write").unwrap();
        disk.write_at("f", 14, b"0123456789").unwrap();
        disk.crash_tearing(&mut rng);
        let data = read_all(&disk, "f");
        let FaultEvent::TornWrite { kept_bytes, .. } = disk.faults()[1] else {
            panic!("expected a torn write: {:?}", disk.faults());
        };
        assert!(kept_bytes < 10);
        assert_eq!(&data[..4], b"head");
        assert_eq!(&data[4..14], &[0; 10], "the earlier unsynced write is lost");
        assert_eq!(&data[14..14 + kept_bytes], &b"0123456789"[..kept_bytes]);
        assert_eq!(data.len(), 24);
    }
}

#[test]
fn bit_flips_hit_synced_data() {
    let disk = MemDisk::new();
    disk.create("f").unwrap();
    disk.write_at("f", 0, &[0u8; 4]).unwrap();
    assert!(!disk.flip_bit("f", 0, 1), "no synced data yet");
    disk.sync("f").unwrap();
    assert!(disk.flip_bit("f", 2, 3));
    assert_eq!(read_all(&disk, "f"), [0, 0, 8, 0]);
    disk.crash();
    assert_eq!(read_all(&disk, "f"), [0, 0, 8, 0], "the flip is durable");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (path, offset, _) = disk.flip_random_bit(&mut rng).expect("a file with data");
    assert_eq!(path, "f");
    assert!(offset < 4);
}

#[test]
fn misdirected_reads_come_from_elsewhere() {
    let disk = MemDisk::new();
    disk.create("f").unwrap();
    disk.write_at("f", 0, b"abcdefgh").unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    disk.misdirect_next_reads(1, &mut rng);
    let mut buf = [0u8; 1];
    disk.read_at("f", 0, &mut buf).unwrap();
    assert_ne!(&buf, b"a");
    disk.read_at("f", 0, &mut buf).unwrap();
    assert_eq!(&buf, b"a", "only one read was misdirected");
    assert!(matches!(
        disk.faults()[0],
        FaultEvent::MisdirectedRead { requested: 0, .. }
    ));
}

#[test]
fn injected_errors_and_failed_sync() {
    let disk = MemDisk::new();
    disk.create("f").unwrap();
    disk.write_at("f", 0, b"x").unwrap();
    disk.fail_next(Some(DiskOp::Sync), 1);
    assert!(matches!(disk.sync("f"), Err(DiskError::Io(_))));
    disk.crash();
    assert!(
        disk.paths().is_empty(),
        "a failed sync made nothing durable"
    );
    disk.fail_next(None, 2);
    assert!(disk.create("g").is_err());
    assert!(disk.list("").is_err());
    disk.create("g").unwrap();
    assert_eq!(disk.faults().len(), 4, "sync, crash, create, list");
    println!("{}", disk.faults()[1]);
}

#[test]
fn full_disk_refuses_growth() {
    let disk = MemDisk::new();
    disk.set_capacity_bytes(Some(10));
    disk.create("f").unwrap();
    disk.write_at("f", 0, &[1; 8]).unwrap();
    assert_eq!(disk.write_at("f", 8, &[1; 3]), Err(DiskError::NoSpace));
    disk.write_at("f", 0, &[2; 10]).unwrap();
    assert_eq!(disk.truncate("f", 11), Err(DiskError::NoSpace));
    assert_eq!(read_all(&disk, "f"), [2; 10]);
    assert!(matches!(disk.faults()[0], FaultEvent::NoSpace { .. }));
}
