//! Parser tests. Every fixture is also fed split at every byte (and every pair of bytes for
//! short inputs), one byte at a time, with and without draining ops between pushes: all must
//! give the same ops and error. Expected behaviour was observed on nats-server 2.12.8.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::protocol::encode;

const LIMITS: ParserLimits = ParserLimits {
    control_line_bytes_max: 64,
    payload_bytes_max: 32,
};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    ops: Vec<ClientOp>,
    err: Option<ParseError>,
}

/// Feeds `chunks` to a fresh parser; drains after every push when `drain_each`, else once.
fn run(chunks: &[&[u8]], limits: ParserLimits, headers: bool, drain_each: bool) -> Outcome {
    let mut parser = Parser::new(limits);
    parser.set_headers_enabled(headers);
    let mut outcome = Outcome {
        ops: Vec::new(),
        err: None,
    };
    let drain = |parser: &mut Parser, outcome: &mut Outcome| loop {
        match parser.next_op() {
            Ok(Some(op)) => outcome.ops.push(op),
            Ok(None) => return,
            Err(e) => {
                // Failed stays failed.
                assert_eq!(parser.next_op(), Err(e.clone()));
                outcome.err = Some(e);
                return;
            }
        }
    };
    for chunk in chunks {
        parser.push(Bytes::copy_from_slice(chunk));
        if drain_each && outcome.err.is_none() {
            drain(&mut parser, &mut outcome);
        }
    }
    if outcome.err.is_none() {
        drain(&mut parser, &mut outcome);
    }
    outcome
}

/// Checks that every way of splitting `input` gives the same outcome as one push.
fn assert_split_invariant(input: &[u8], limits: ParserLimits, headers: bool) -> Outcome {
    let whole = run(&[input], limits, headers, true);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        run(&bytes, limits, headers, true),
        whole,
        "one byte at a time"
    );
    assert_eq!(
        run(&bytes, limits, headers, false),
        whole,
        "one byte at a time, undrained"
    );
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        for drain_each in [true, false] {
            let got = run(&[a, b], limits, headers, drain_each);
            assert_eq!(got, whole, "split at {i}, drain_each {drain_each}");
        }
        if input.len() <= 64 {
            for j in i..=input.len() {
                let got = run(&[a, &input[i..j], &input[j..]], limits, headers, true);
                assert_eq!(got, whole, "split at {i} and {j}");
            }
        }
    }
    whole
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn publish(subject: &str, reply: Option<&str>, payload: &str) -> ClientOp {
    ClientOp::Pub {
        subject: b(subject),
        reply: reply.map(b),
        payload: b(payload),
    }
}

fn hpublish(subject: &str, reply: Option<&str>, headers: &str, payload: &str) -> ClientOp {
    ClientOp::Hpub {
        subject: b(subject),
        reply: reply.map(b),
        headers: b(headers),
        payload: b(payload),
    }
}

fn sub(subject: &str, queue: Option<&str>, sid: &str) -> ClientOp {
    ClientOp::Sub {
        subject: b(subject),
        queue: queue.map(b),
        sid: b(sid),
    }
}

fn unsub(sid: &str, max: Option<u64>) -> ClientOp {
    ClientOp::Unsub { sid: b(sid), max }
}

fn check(input: &[u8], ops: &[ClientOp], err: Option<ParseError>) {
    check_with(input, LIMITS, true, ops, err);
}

fn check_with(
    input: &[u8],
    limits: ParserLimits,
    headers: bool,
    ops: &[ClientOp],
    err: Option<ParseError>,
) {
    let got = assert_split_invariant(input, limits, headers);
    let want = Outcome {
        ops: ops.to_vec(),
        err,
    };
    assert_eq!(got, want, "input {:?}", String::from_utf8_lossy(input));
}

#[test]
fn ping_pong_ok_ignore_the_rest_of_their_line() {
    use ClientOp::{Ok as PlusOk, Ping, Pong};
    check(b"PING\r\n", &[Ping], None);
    check(b"ping\r\nPiNg\n", &[Ping, Ping], None);
    check(b"PING foo bar\r\nPINGX\n", &[Ping, Ping], None);
    check(b"PONG\r\npong \r\n", &[Pong, Pong], None);
    check(b"PING\rX", &[], None);
    check(b"+OK\r\n+ok extra\n", &[PlusOk, PlusOk], None);
    // Not limited by max_control_line, and not buffered.
    let long = [
        &b"PING "[..],
        &[b'x'; 200],
        b"\r\n+OK ",
        &[b'y'; 200],
        b"\n",
    ]
    .concat();
    check(&long, &[Ping, PlusOk], None);
}

#[test]
fn connect_info_and_err_carry_their_raw_argument() {
    check(
        b"CONNECT {\"verbose\":false}\r\n",
        &[ClientOp::Connect(b("{\"verbose\":false}"))],
        None,
    );
    check(b"connect\t {}\r\n", &[ClientOp::Connect(b("{}"))], None);
    check(b"CONNECT{}\r\n", &[ClientOp::Connect(b("{}"))], None);
    check(b"CONNECT\r\n", &[ClientOp::Connect(b(""))], None);
    check(b"CONNECT {} \r\n", &[ClientOp::Connect(b("{} "))], None);
    check(b"INFO {}\r\n", &[ClientOp::Info(b("{}"))], None);
    check(b"-ERR 'x y'\r\n", &[ClientOp::Err(b("'x y'"))], None);
}

#[test]
fn pub_forms() {
    check(
        b"PUB foo 5\r\nhello\r\n",
        &[publish("foo", None, "hello")],
        None,
    );
    check(
        b"pub\tfoo \t bar\t5\r\nhello\r\n",
        &[publish("foo", Some("bar"), "hello")],
        None,
    );
    check(b"PUB foo 0\r\n\r\n", &[publish("foo", None, "")], None);
    check(b"PUB foo 2 \r\nhi\r\n", &[publish("foo", None, "hi")], None);
    check(b"PUB foo 2\nhi\r\n", &[publish("foo", None, "hi")], None);
    check(
        b"PUB foo 002\r\nhi\r\n",
        &[publish("foo", None, "hi")],
        None,
    );
    // The payload may hold anything, CRLF included.
    check(
        b"PUB foo 4\r\n\r\n\r\n\r\n",
        &[publish("foo", None, "\r\n\r\n")],
        None,
    );
    // PUB splits only at blanks: a `\r` inside the line stays in the subject.
    check(
        b"PUB foo\r 2\r\nhi\r\n",
        &[publish("foo\r", None, "hi")],
        None,
    );
    // Blanks after the verb do not count toward max_control_line.
    let blanks = [&b"PUB"[..], &[b' '; 200], b"foo 2\r\nhi\r\n"].concat();
    check(&blanks, &[publish("foo", None, "hi")], None);
}

#[test]
fn hpub_forms() {
    check(
        b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
        &[hpublish("foo", None, "NATS/1.0\r\n\r\n", "hi")],
        None,
    );
    check(
        b"hpub foo r 18 20\r\nNATS/1.0\r\nA: B\r\n\r\nhi\r\n",
        &[hpublish("foo", Some("r"), "NATS/1.0\r\nA: B\r\n\r\n", "hi")],
        None,
    );
    check(
        b"HPUB foo 4 4\r\nabcd\r\n",
        &[hpublish("foo", None, "abcd", "")],
        None,
    );
    // Header size 0 is a plain PUB to nats-server.
    check(
        b"HPUB foo 0 2\r\nhi\r\n",
        &[publish("foo", None, "hi")],
        None,
    );
    check(
        b"HPUB foo bar 0 2\r\nhi\r\n",
        &[publish("foo", Some("bar"), "hi")],
        None,
    );
}

#[test]
fn sub_and_unsub_forms() {
    check(b"SUB foo 1\r\n", &[sub("foo", None, "1")], None);
    check(b"sub foo.* q 1\r\n", &[sub("foo.*", Some("q"), "1")], None);
    check(b"SUB foo\t1\t\r\n", &[sub("foo", None, "1")], None);
    // SUB also splits at `\r`.
    check(b"SUB foo\r1\r\n", &[sub("foo", None, "1")], None);
    check(b"SUB foo +1\r\n", &[sub("foo", None, "+1")], None);
    check(b"UNSUB 1\r\n", &[unsub("1", None)], None);
    check(b"unsub 1 5\r\n", &[unsub("1", Some(5))], None);
    check(
        b"UNSUB 1 999999999\r\n",
        &[unsub("1", Some(999_999_999))],
        None,
    );
    // nats-server unsubscribes at once for these.
    check(b"UNSUB 1 0\r\n", &[unsub("1", None)], None);
    check(b"UNSUB 1 x\r\n", &[unsub("1", None)], None);
    check(b"UNSUB 1 1234567890\r\n", &[unsub("1", None)], None);
}

#[test]
fn newline_right_after_a_verb_starts_the_argument() {
    // server/parser.go quirk: the `\n` becomes the argument's first byte.
    check(b"SUB \nfoo 1\r\n", &[sub("foo", None, "1")], None);
    check(b"CONNECT\n{}\r\n", &[ClientOp::Connect(b("\n{}"))], None);
    check(
        b"PUB \nfoo 2\r\nhi\r\n",
        &[publish("\nfoo", None, "hi")],
        None,
    );
    check(b"UNSUB\t\n\n7\n", &[], Some(ParseError::UnsubArguments));
}

#[test]
fn a_stream_of_ops() {
    let input = b"CONNECT {}\r\nSUB foo 1\r\nPUB foo r 2\r\nhi\r\nHPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\nUNSUB 1 3\r\nPING\r\n";
    check(
        input,
        &[
            ClientOp::Connect(b("{}")),
            sub("foo", None, "1"),
            publish("foo", Some("r"), "hi"),
            hpublish("foo", None, "NATS/1.0\r\n\r\n", ""),
            unsub("1", Some(3)),
            ClientOp::Ping,
        ],
        None,
    );
}

#[test]
fn unknown_protocol_operation() {
    use ParseError::UnknownProtocolOperation as Upo;
    for input in [
        &b"FOO\r\n"[..],
        b"X",
        b"PX",
        b"\r\n",
        b"\n",
        b" PING\r\n",
        b"PUB\r\n",
        b"PUB\n",
        b"PUBX foo 1\r\n",
        b"SUBfoo 1\r\n",
        b"PIN\n",
        b"-ERRX\r\n",
        b"-ERR\r\n",
        b"+OX\r\n",
        b"MSG foo 1 2\r\n",
        b"HMSG foo 1 2 2\r\n",
        b"RS+ foo\r\n",
        b"INF\r\n",
    ] {
        check(input, &[], Some(Upo));
    }
    check(b"PING\r\nFOO\r\nPING\r\n", &[ClientOp::Ping], Some(Upo));
}

#[test]
fn payload_must_end_with_crlf() {
    use ParseError::PayloadNotTerminated as Pnt;
    check(b"PUB foo 2\r\nhiX\r\n", &[], Some(Pnt));
    check(b"PUB foo 2\r\nhi\rX", &[], Some(Pnt));
    check(b"PUB foo 2\r\nhi\n", &[], Some(Pnt));
    check(b"PUB foo 2\r\nhiX", &[], Some(Pnt));
    check(b"HPUB foo 2 2\r\nab\n\n", &[], Some(Pnt));
    assert_eq!(
        ParseError::PayloadNotTerminated.err_text(),
        Some(ErrText::UnknownProtocolOperation)
    );
}

#[test]
fn malformed_arguments_close_without_err() {
    use ParseError::*;
    let cases: [(&[u8], ParseError); 19] = [
        (b"PUB foo\r\n", PubArguments),
        (b"PUB \r\n", PubArguments),
        (b"PUB a b c 1\r\n", PubArguments),
        (b"PUB foo x\r\n", PubSize),
        (b"PUB foo 1234567890\r\n", PubSize),
        (b"PUB foo +2\r\n", PubSize),
        (b"PUB foo -1\r\n", PubSize),
        (b"HPUB foo 5\r\n", HpubArguments),
        (b"HPUB a b c 1 2\r\n", HpubArguments),
        (b"HPUB foo x 5\r\n", HpubHeaderSize),
        (b"HPUB foo 1 x\r\n", HpubTotalSize),
        (b"HPUB foo 6 5\r\n", HpubHeaderExceedsTotal),
        // Header size is checked before max_payload.
        (b"HPUB foo 34 33\r\n", HpubHeaderExceedsTotal),
        (b"SUB foo\r\n", SubArguments),
        (b"SUB \r\n", SubArguments),
        (b"SUB a b c d\r\n", SubArguments),
        (b"UNSUB \r\n", UnsubArguments),
        (b"UNSUB 1 2 3\r\n", UnsubArguments),
        (b"SUB\t\r\n", SubArguments),
    ];
    for (input, err) in cases {
        assert_eq!(err.err_text(), None);
        check(input, &[], Some(err));
    }
}

#[test]
fn hpub_needs_headers_enabled_before_anything_else() {
    use ParseError::HeadersNotSupported as H;
    assert_eq!(H.err_text(), None);
    let ops = [ClientOp::Ping];
    check_with(b"PING\r\nHPUB foo 12 14\r\n", LIMITS, false, &ops, Some(H));
    // Before the argument count and max_payload checks...
    check_with(b"HPUB foo\r\n", LIMITS, false, &[], Some(H));
    check_with(b"HPUB foo 99 99\r\n", LIMITS, false, &[], Some(H));
    // ...but after max_control_line.
    let long = [&b"HPUB "[..], &[b'x'; 65], b"\r\n"].concat();
    check_with(
        &long,
        LIMITS,
        false,
        &[],
        Some(ParseError::MaxControlLineExceeded),
    );
    // PUB is unaffected.
    check_with(
        b"PUB foo 0\r\n\r\n",
        LIMITS,
        false,
        &[publish("foo", None, "")],
        None,
    );
}

/// `SUB <n bytes of argument>`.
fn sub_line(n: usize) -> Vec<u8> {
    [&b"SUB "[..], &vec![b'x'; n - 2], b" 1"].concat()
}

#[test]
fn control_line_limit_at_and_over() {
    use ParseError::MaxControlLineExceeded as Mcl;
    assert_eq!(Mcl.err_text(), Some(ErrText::MaxControlLineExceeded));
    let at = sub_line(64);
    let subject = String::from_utf8(at[4..66].to_vec()).expect("ascii");
    let ok = [sub(&subject, None, "1")];
    check(&[&at[..], b"\r\n"].concat(), &ok, None);
    check(&[&at[..], b"\n"].concat(), &ok, None);
    check(&[&sub_line(65)[..], b"\r\n"].concat(), &[], Some(Mcl));
    // Only one `\r` is dropped: `\r\r\n` leaves one in the argument.
    check(&[&at[..], b"\r\r\n"].concat(), &[], Some(Mcl));
    // Without `\n`: over the limit fails at once, at the limit waits (even with a `\r`).
    check(&sub_line(65), &[], Some(Mcl));
    check(&sub_line(64), &[], None);
    check(&[&at[..], b"\r"].concat(), &[], None);
    // CONNECT and -ERR arguments count too.
    let json = |n: usize| [&b"{\"a\":\""[..], &vec![b'y'; n - 8], b"\"}"].concat();
    let connect = |n: usize| [&b"CONNECT "[..], &json(n), b"\r\n"].concat();
    check(
        &connect(64),
        &[ClientOp::Connect(Bytes::from(json(64)))],
        None,
    );
    check(&connect(65), &[], Some(Mcl));
    check(&[&b"-ERR "[..], &[b'e'; 65]].concat(), &[], Some(Mcl));
}

#[test]
fn payload_limit_at_and_over_is_checked_at_the_control_line() {
    let payload = "p".repeat(32);
    let input = format!("PUB foo 32\r\n{payload}\r\n");
    check(input.as_bytes(), &[publish("foo", None, &payload)], None);
    let over = ParseError::MaxPayloadViolation { size: 33, max: 32 };
    assert_eq!(over.err_text(), Some(ErrText::MaxPayloadViolation));
    // No payload needed: the error comes from the control line alone.
    check(b"PUB foo 33\r\n", &[], Some(over.clone()));
    check(b"PUB foo x 33\r\n", &[], Some(over.clone()));
    check(b"HPUB foo 1 33\r\n", &[], Some(over));
    let hpub = format!("HPUB foo 2 32\r\nab{}\r\n", &payload[2..]);
    check(
        hpub.as_bytes(),
        &[hpublish("foo", None, "ab", &payload[2..])],
        None,
    );
}

#[test]
fn set_payload_bytes_max_applies_to_later_lines() {
    let mut parser = Parser::new(LIMITS);
    parser.push(b("PUB a 40\r\n"));
    parser.set_payload_bytes_max(40);
    assert_eq!(parser.next_op(), Ok(None));
    parser.set_payload_bytes_max(10);
    parser.push(Bytes::from(vec![b'z'; 40]));
    parser.push(b("\r\nPUB a 11\r\n"));
    assert!(matches!(parser.next_op(), Ok(Some(ClientOp::Pub { .. }))));
    let over = ParseError::MaxPayloadViolation { size: 11, max: 10 };
    assert_eq!(parser.next_op(), Err(over));
}

#[test]
fn payloads_are_slices_of_the_input() {
    let chunk = b("PUB foo 5\r\nhello\r\nHPUB bar 4 6\r\nh: xhi\r\n");
    let range = chunk.as_ptr_range();
    let mut parser = Parser::new(LIMITS);
    parser.set_headers_enabled(true);
    parser.push(chunk.clone());
    let mut fields = Vec::new();
    while let Some(op) = parser.next_op().expect("valid input") {
        match op {
            ClientOp::Pub {
                subject, payload, ..
            } => fields.extend([subject, payload]),
            ClientOp::Hpub {
                subject,
                headers,
                payload,
                ..
            } => fields.extend([subject, headers, payload]),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(fields.len(), 5);
    for field in fields {
        assert!(range.contains(&field.as_ptr()), "{field:?} was copied");
    }
}

#[test]
fn buffered_bytes_counts_unparsed_input() {
    let mut parser = Parser::new(LIMITS);
    assert_eq!(parser.buffered_bytes(), 0);
    parser.push(b("PUB foo 5\r\nhel"));
    assert_eq!(parser.buffered_bytes(), 14);
    assert_eq!(parser.next_op(), Ok(None));
    assert_eq!(parser.buffered_bytes(), 3, "the partial payload");
    parser.push(b("lo\r\nSU"));
    assert_eq!(parser.next_op(), Ok(Some(publish("foo", None, "hello"))));
    assert_eq!(parser.next_op(), Ok(None));
    assert_eq!(parser.buffered_bytes(), 2);
    parser.push(b("X"));
    assert_eq!(parser.next_op(), Err(ParseError::UnknownProtocolOperation));
    assert_eq!(
        parser.buffered_bytes(),
        0,
        "a failed parser drops its input"
    );
    parser.push(b("PING\r\n"));
    assert_eq!(parser.buffered_bytes(), 0);
    assert_eq!(parser.next_op(), Err(ParseError::UnknownProtocolOperation));
}

#[test]
fn unlimited_parts_of_a_line_are_not_buffered() {
    // nats-server skips blanks after a verb and the rest of a PING line without holding them.
    let mut parser = Parser::new(LIMITS);
    parser.push(b("PUB"));
    for _ in 0..100 {
        parser.push(Bytes::from(vec![b' '; 1000]));
        assert_eq!(parser.next_op(), Ok(None));
        assert!(parser.buffered_bytes() <= 4, "{}", parser.buffered_bytes());
    }
    parser.push(b("foo 0\r\n\r\nPING"));
    assert_eq!(parser.next_op(), Ok(Some(publish("foo", None, ""))));
    for _ in 0..100 {
        parser.push(Bytes::from(vec![b'x'; 1000]));
        assert_eq!(parser.next_op(), Ok(None));
        assert_eq!(parser.buffered_bytes(), 0);
    }
    parser.push(b("\n"));
    assert_eq!(parser.next_op(), Ok(Some(ClientOp::Ping)));
}

fn token() -> impl Strategy<Value = Bytes> {
    "[a-zA-Z0-9_.>*$-]{1,12}".prop_map(|s| Bytes::from(s.into_bytes()))
}

fn arb_op() -> impl Strategy<Value = ClientOp> {
    let payload = || prop::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from);
    let text = "[!-~][ -~]{0,20}".prop_map(|s| Bytes::from(s.into_bytes()));
    prop_oneof![
        text.clone().prop_map(ClientOp::Connect),
        text.clone().prop_map(ClientOp::Info),
        text.prop_map(ClientOp::Err),
        Just(ClientOp::Ping),
        Just(ClientOp::Pong),
        Just(ClientOp::Ok),
        (token(), prop::option::of(token()), payload()).prop_map(|(subject, reply, payload)| {
            ClientOp::Pub {
                subject,
                reply,
                payload,
            }
        }),
        (
            token(),
            prop::option::of(token()),
            prop::collection::vec(any::<u8>(), 1..40).prop_map(Bytes::from),
            payload()
        )
            .prop_map(|(subject, reply, headers, payload)| ClientOp::Hpub {
                subject,
                reply,
                headers,
                payload
            }),
        (token(), prop::option::of(token()), token()).prop_map(|(subject, queue, sid)| {
            ClientOp::Sub {
                subject,
                queue,
                sid,
            }
        }),
        (token(), prop::option::of(1u64..=999_999_999))
            .prop_map(|(sid, max)| ClientOp::Unsub { sid, max }),
    ]
}

/// Splits `input` at the given fractions of its length.
fn split_at_points<'a>(input: &'a [u8], points: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p.index(input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts {
        chunks.push(&input[start..cut]);
        start = cut;
    }
    chunks.push(&input[start..]);
    chunks
}

/// Fragments that make random input look like protocol often enough to reach every state.
fn arb_noise() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        prop::sample::select(vec![
            &b"PUB "[..],
            b"HPUB ",
            b"SUB ",
            b"UNSUB ",
            b"PING",
            b"PONG",
            b"CONNECT",
            b"INFO ",
            b"+OK",
            b"-ERR ",
            b" ",
            b"\t",
            b"\r",
            b"\n",
            b"\r\n",
            b"foo",
            b"1",
            b"2",
            b"12",
            b"0",
            b"x",
            b"NATS/1.0\r\n\r\n",
            b"hi",
        ])
        .prop_map(<[u8]>::to_vec),
        prop::collection::vec(any::<u8>(), 1..4),
    ];
    prop::collection::vec(fragment, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn encoded_ops_parse_back_however_split(
        ops in prop::collection::vec(arb_op(), 0..20),
        points in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        drain_each in any::<bool>(),
    ) {
        let mut input = BytesMut::new();
        for op in &ops {
            encode::client_op(&mut input, op);
        }
        let limits = ParserLimits { control_line_bytes_max: 4096, payload_bytes_max: 1 << 20 };
        let got = run(&split_at_points(&input, &points), limits, true, drain_each);
        prop_assert_eq!(got, Outcome { ops, err: None });
    }

    #[test]
    fn any_input_gives_the_same_outcome_however_split(
        input in arb_noise(),
        points in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        drain_each in any::<bool>(),
        headers in any::<bool>(),
    ) {
        let limits = ParserLimits { control_line_bytes_max: 16, payload_bytes_max: 16 };
        let whole = run(&[&input], limits, headers, true);
        let split = run(&split_at_points(&input, &points), limits, headers, drain_each);
        prop_assert_eq!(split, whole);
    }
}
