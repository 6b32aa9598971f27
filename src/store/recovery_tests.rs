use super::*;
use crate::store::mem_disk::MemDisk;
use crate::time::Wall;

fn message(seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    record::encode(
        &mut out,
        Kind::Message,
        seq,
        Wall::default(),
        b"s",
        b"",
        payload,
    )
    .unwrap();
    out
}

#[test]
fn segment_names_round_trip() {
    assert_eq!(segment_name(7), "00000000000000000007.seg");
    assert_eq!(parse_segment_name(&segment_name(u64::MAX)), Some(u64::MAX));
    for bad in [
        "7.seg",
        "0000000000000000000x.seg",
        "00000000000000000007.se",
    ] {
        assert_eq!(parse_segment_name(bad), None, "{bad}");
    }
}

#[test]
fn framing_classifies_damage() {
    let mut buf = message(1, b"a");
    let second = buf.len();
    buf.extend(message(2, b"bb"));
    buf.extend(message(3, b"c"));
    assert!(frame(&buf).is_clean());
    let mut body = buf.clone();
    body[second + 38] ^= 1;
    let framing = frame(&body);
    assert!(matches!(
        framing.items[1],
        Item::Bad {
            header: Some(_),
            ..
        }
    ));
    assert_eq!(framing.items.len(), 3);
    let mut torn = buf.clone();
    torn.truncate(buf.len() - 3);
    let framing = frame(&torn);
    assert_eq!(framing.stop, Some(second + message(2, b"bb").len()));
    assert_eq!(framing.valid_end(), framing.stop.unwrap());
}

#[test]
fn zeros_after_records_are_a_torn_tail() {
    let disk = MemDisk::new();
    let mut buf = message(1, b"a");
    let len = buf.len();
    buf.extend([0u8; 100]);
    disk.put_durable("d/00000000000000000001.seg", &buf);
    let recovered = recover(&disk, "d").unwrap();
    let torn = recovered.report.torn_tail.expect("a torn tail");
    assert_eq!((torn.offset, torn.len_bytes), (len as u64, 100));
    assert_eq!(disk.len("d/00000000000000000001.seg").unwrap(), len as u64);
    assert_eq!(recovered.index.slots.len(), 1);
}

#[test]
fn damage_in_an_older_segment_is_never_cut() {
    let disk = MemDisk::new();
    let mut old = message(1, b"a");
    old.extend([0u8; 10]);
    disk.put_durable("d/00000000000000000001.seg", &old);
    disk.put_durable("d/00000000000000000002.seg", &message(2, b"b"));
    let recovered = recover(&disk, "d").unwrap();
    assert!(recovered.report.torn_tail.is_none());
    assert_eq!(recovered.report.unreadable.len(), 1);
    assert_eq!(
        disk.len("d/00000000000000000001.seg").unwrap(),
        old.len() as u64
    );
    assert_eq!(recovered.index.slots.len(), 2);
}

#[test]
fn out_of_order_and_bad_ranges_are_rejected() {
    let disk = MemDisk::new();
    let mut buf = message(5, b"a");
    buf.extend(message(5, b"again"));
    record::encode(&mut buf, Kind::Delete, 5, Wall::default(), b"", b"", b"odd").unwrap();
    buf.extend(message(6, b"b"));
    disk.put_durable("d/00000000000000000001.seg", &buf);
    let recovered = recover(&disk, "d").unwrap();
    let reasons: Vec<CorruptReason> = recovered.report.corrupt.iter().map(|c| c.reason).collect();
    assert_eq!(
        reasons,
        vec![CorruptReason::OutOfOrder, CorruptReason::BadRanges]
    );
    assert_eq!(recovered.index.slots.len(), 2);
    assert_eq!(recovered.index.last_seq, 6);
}
