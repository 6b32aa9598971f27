use proptest::prelude::*;

use super::*;

fn message(seq: u64) -> Vec<u8> {
    let mut out = Vec::new();
    encode(
        &mut out,
        Kind::Message,
        seq,
        Wall::from_unix_nanos(-5),
        b"orders.new",
        b"NATS/1.0\r\nA: b\r\n\r\n",
        b"hello",
    )
    .expect("small record");
    out
}

#[test]
fn round_trip() {
    let buf = message(42);
    assert_eq!(buf.len(), RECORD_BYTES_MIN + 10 + 18 + 5);
    let Decoded::Record(record) = decode(&buf) else {
        panic!("valid record");
    };
    assert_eq!(record.header.kind, Kind::Message);
    assert_eq!(record.header.seq, 42);
    assert_eq!(record.header.timestamp, Wall::from_unix_nanos(-5));
    assert_eq!(record.subject, b"orders.new");
    assert_eq!(record.headers, b"NATS/1.0\r\nA: b\r\n\r\n");
    assert_eq!(record.payload, b"hello");
    assert_eq!(record.len_bytes(), buf.len());
}

#[test]
fn every_prefix_is_incomplete() {
    let buf = message(1);
    for len in 0..buf.len() {
        assert_eq!(decode(&buf[..len]), Decoded::Incomplete, "prefix {len}");
    }
}

#[test]
fn every_bit_flip_is_caught_and_classified() {
    let buf = message(7);
    for offset in 0..buf.len() {
        for bit in 0..8 {
            let mut flipped = buf.clone();
            flipped[offset] ^= 1 << bit;
            match decode(&flipped) {
                Decoded::CorruptHeader => assert!(offset < HEADER_BYTES, "{offset}"),
                Decoded::CorruptBody(header) => {
                    assert!(offset >= HEADER_BYTES, "{offset}");
                    assert_eq!(header.seq, 7);
                }
                other => panic!("flip at {offset} bit {bit} gave {other:?}"),
            }
        }
    }
}

#[test]
fn trailing_bytes_are_ignored() {
    let mut buf = message(3);
    let len = buf.len();
    buf.extend_from_slice(&message(4));
    let Decoded::Record(record) = decode(&buf) else {
        panic!("valid record");
    };
    assert_eq!(record.len_bytes(), len);
    assert_eq!(record.header.seq, 3);
}

#[test]
fn zeros_are_a_corrupt_header() {
    assert_eq!(decode(&[0; 64]), Decoded::CorruptHeader);
}

#[test]
fn too_large_fields_refused() {
    let subject = vec![b'a'; usize::from(u16::MAX) + 1];
    let mut out = Vec::new();
    let result = encode(
        &mut out,
        Kind::Message,
        1,
        Wall::default(),
        &subject,
        b"",
        b"",
    );
    assert_eq!(result, Err(EncodeError::TooLarge));
    assert!(out.is_empty());
}

#[test]
fn ranges_round_trip_and_reject_bad_lengths() {
    let mut out = Vec::new();
    encode_ranges(&mut out, &[(1, 1), (5, 9)]);
    assert_eq!(decode_ranges(&out), Some(vec![(1, 1), (5, 9)]));
    assert_eq!(decode_ranges(&out[..17]), None);
    let mut backwards = Vec::new();
    backwards.extend_from_slice(&9u64.to_le_bytes());
    backwards.extend_from_slice(&5u64.to_le_bytes());
    assert_eq!(decode_ranges(&backwards), None);
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Decoded::Record(record) = decode(&bytes) {
            prop_assert!(record.len_bytes() <= bytes.len());
        }
    }

    #[test]
    fn any_fields_round_trip(
        seq in any::<u64>(),
        nanos in any::<i64>(),
        subject in proptest::collection::vec(any::<u8>(), 0..40),
        headers in proptest::collection::vec(any::<u8>(), 0..40),
        payload in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let mut out = vec![0xAA; 3];
        let len = encode(&mut out, Kind::Message, seq, Wall::from_unix_nanos(nanos), &subject,
            &headers, &payload).expect("small");
        prop_assert_eq!(len, out.len() - 3);
        let Decoded::Record(record) = decode(&out[3..]) else {
            return Err(TestCaseError::fail("not a record"));
        };
        prop_assert_eq!(record.header.seq, seq);
        prop_assert_eq!(record.header.timestamp.as_unix_nanos(), nanos);
        prop_assert_eq!(record.subject, &subject[..]);
        prop_assert_eq!(record.headers, &headers[..]);
        prop_assert_eq!(record.payload, &payload[..]);
    }
}
