//! Fuzz entry points: one function per target, each taking any bytes.
//!
//! The same functions run under cargo-fuzz (`fuzz/`, one `fuzz_target!` per function) and as a
//! plain `cargo test` over the checked-in corpus and regressions (`tests/fuzz_corpus.rs`), so a
//! finding replays on the stable toolchain.
//!
//! Contract: every function accepts any input. It returns normally when the code under test
//! behaved, and panics with a message naming the broken property when it did not — that panic
//! is how a fuzzer reports a finding. Structure (limits, split points, op sequences) is decoded
//! from the bytes themselves, as `arbitrary::Unstructured` would, so the core needs no fuzzing
//! dependency: past the end of the input every read gives zero, so any input decodes, and a
//! shorter input is a simpler case (which is what minimization relies on).
//!
//! Where a naive model exists the result is checked against it: the sublist against a linear
//! scan with [`subject_matches`], CONNECT decoding against a plain fold over its key/value pairs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::protocol::{
    encode, parse_connect, ClientOp, ConnectOptions, ParseError, Parser, ParserLimits,
};
use crate::routing::{subject_matches, QueueGroup, SubId, SubMatch, Sublist, SublistError};

#[path = "fuzzing_jetstream.rs"]
mod jetstream_api;
pub use jetstream_api::jetstream_api;

/// Reads structure out of fuzz bytes; past the end every read gives zero.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn byte(&mut self) -> u8 {
        let Some((&first, rest)) = self.data.split_first() else {
            return 0;
        };
        self.data = rest;
        first
    }

    /// A number in `0..n`, for `n` of at most 256.
    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// Up to `len` bytes: fewer when the input runs out.
    fn bytes(&mut self, len: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(len.min(self.data.len()));
        self.data = rest;
        head
    }
}

/// SplitMix64: a fixed mixing function, so split points are a pure function of the input.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Cuts `input` into chunks of 1 to `chunk_bytes_max` bytes, lengths drawn from `seed`.
fn split(input: &[u8], seed: u64, chunk_bytes_max: usize) -> Vec<&[u8]> {
    let mut state = seed;
    let mut chunks = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let len = 1 + (splitmix64(&mut state) % chunk_bytes_max as u64) as usize;
        let (chunk, tail) = rest.split_at(len.min(rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

// --- Parser ---------------------------------------------------------------------------------

/// Limits indexed by two bits of the first input byte. Index 0 is nats-server's default, the
/// others are small enough that random input reaches the control-line and payload limits.
const CONTROL_LINE_BYTES_MAX: [usize; 4] = [4096, 64, 16, 4];
const PAYLOAD_BYTES_MAX: [usize; 4] = [1 << 20, 32, 8, 0];
/// Longest chunk of the seeded split, indexed by the top two bits of the first byte.
const CHUNK_BYTES_MAX: [usize; 4] = [2, 7, 32, 256];
/// Longest verb (`CONNECT`), one blank kept after it, and a final `\r` not counted as argument.
const LINE_OVERHEAD_BYTES_MAX: usize = 7 + 1 + 1;

/// How one input is fed to the parser: decoded from the first two bytes.
#[derive(Debug, Clone, Copy)]
struct ParserSetup {
    limits: ParserLimits,
    headers_enabled: bool,
    drain_each: bool,
    chunk_bytes_max: usize,
    split_seed: u64,
}

impl ParserSetup {
    /// Byte 0: bits 0-1 control-line limit, bits 2-3 payload limit, bit 4 set disables
    /// headers, bit 5 set drains only once at the end, bits 6-7 the longest chunk. Byte 1
    /// seeds the chunk lengths.
    fn decode(input: &mut Input<'_>) -> ParserSetup {
        let config = usize::from(input.byte());
        let split_seed = u64::from(input.byte());
        ParserSetup {
            limits: ParserLimits {
                control_line_bytes_max: CONTROL_LINE_BYTES_MAX[config & 3],
                payload_bytes_max: PAYLOAD_BYTES_MAX[(config >> 2) & 3],
            },
            headers_enabled: config & 0x10 == 0,
            drain_each: config & 0x20 == 0,
            chunk_bytes_max: CHUNK_BYTES_MAX[config >> 6],
            split_seed,
        }
    }

    /// What a parser fed one byte at a time may hold while waiting for more input: a control
    /// line at the limit (with its verb), or a payload at the limit with its `\r\n`.
    fn buffered_bytes_max(&self) -> usize {
        let line = LINE_OVERHEAD_BYTES_MAX + self.limits.control_line_bytes_max;
        line.max(self.limits.payload_bytes_max + 2)
    }
}

/// Everything a parser produced from one input.
#[derive(Debug, Default)]
struct Outcome {
    ops: Vec<ClientOp>,
    error: Option<ParseError>,
    /// Read with [`pubs_in_place`] before each `next_op` (not part of the comparison).
    in_place: bool,
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Outcome) -> bool {
        (&self.ops, &self.error) == (&other.ops, &other.error)
    }
}

/// Feeds `chunks` to a fresh parser, draining after every push when `drain_each` (else once at
/// the end). With `buffered_bytes_max`, checks the parser never holds more while waiting.
fn feed(
    chunks: &[&[u8]],
    setup: &ParserSetup,
    drain_each: bool,
    buffered_bytes_max: Option<usize>,
) -> Outcome {
    feed_as(chunks, setup, drain_each, buffered_bytes_max, false)
}

/// [`feed`], reading whole PUBs in place first when `in_place`, as the broker does.
fn feed_as(
    chunks: &[&[u8]],
    setup: &ParserSetup,
    drain_each: bool,
    buffered_bytes_max: Option<usize>,
    in_place: bool,
) -> Outcome {
    let mut parser = Parser::new(setup.limits);
    parser.set_headers_enabled(setup.headers_enabled);
    let mut outcome = Outcome {
        in_place,
        ..Outcome::default()
    };
    for chunk in chunks {
        parser.push(Bytes::copy_from_slice(chunk));
        if outcome.error.is_some() {
            assert_eq!(
                parser.buffered_bytes(),
                0,
                "a failed parser must drop further input"
            );
        } else if drain_each {
            drain(&mut parser, &mut outcome, buffered_bytes_max);
        }
    }
    drain(&mut parser, &mut outcome, buffered_bytes_max);
    outcome
}

/// The broker's hot path over the parser (`broker/ops.rs`): borrows the front chunk, reads
/// whole canonical PUBs from it with `canonical_pub`, hands the rest back.
fn pubs_in_place(parser: &mut Parser, outcome: &mut Outcome) {
    let Some(mut chunk) = parser.lend_front() else {
        return;
    };
    while let Some(spans) = parser.canonical_pub(&chunk) {
        outcome.ops.push(spans.op(&chunk));
        chunk.advance(spans.len);
    }
    parser.give_back(chunk);
}

fn drain(parser: &mut Parser, outcome: &mut Outcome, buffered_bytes_max: Option<usize>) {
    if outcome.error.is_some() {
        return;
    }
    loop {
        if outcome.in_place {
            pubs_in_place(parser, outcome);
        }
        match parser.next_op() {
            Ok(Some(op)) => outcome.ops.push(op),
            Ok(None) => {
                if let Some(max) = buffered_bytes_max {
                    let held = parser.buffered_bytes();
                    assert!(
                        held <= max,
                        "parser holds {held} bytes waiting for input, over its limits' {max}"
                    );
                }
                return;
            }
            Err(error) => {
                assert_eq!(
                    parser.next_op(),
                    Err(error.clone()),
                    "a failed parser must stay failed with the same error"
                );
                assert_eq!(
                    parser.buffered_bytes(),
                    0,
                    "a failed parser must drop its input"
                );
                // Every error has a log text; only some have an -ERR.
                let _ = (error.to_string(), error.err_text());
                outcome.error = Some(error);
                return;
            }
        }
    }
}

/// Arbitrary bytes through the client-protocol parser.
///
/// Input: byte 0 picks the limits, headers, draining and chunk size ([`ParserSetup`]), byte 1
/// seeds the split points, the rest is the client's byte stream. Checks: no panic; the same
/// ops and error whether the stream arrives whole, in seeded chunks (also read in place, as the
/// broker reads whole PUBs) or one byte at a time; a
/// failed parser stays failed and holds nothing; fed one byte at a time, it never holds more
/// than its limits allow; and every op it produced encodes back to bytes that parse to it.
pub fn parser(data: &[u8]) {
    let mut input = Input::new(data);
    let setup = ParserSetup::decode(&mut input);
    let stream = input.data;

    let whole = feed(&[stream], &setup, true, None);
    let chunks = split(stream, setup.split_seed, setup.chunk_bytes_max);
    let seeded = feed(&chunks, &setup, setup.drain_each, None);
    assert_eq!(
        seeded,
        whole,
        "split into {} chunks (drain_each {}) the parser gave another outcome than whole",
        chunks.len(),
        setup.drain_each
    );
    let lent = feed_as(&chunks, &setup, setup.drain_each, None, true);
    assert_eq!(
        lent, whole,
        "read in place where possible (as the broker does) the parser gave another outcome"
    );
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    let dribbled = feed(&bytes, &setup, true, Some(setup.buffered_bytes_max()));
    assert_eq!(
        dribbled, whole,
        "one byte at a time the parser gave another outcome than whole"
    );

    let mut encoded = BytesMut::new();
    for op in &whole.ops {
        encode::client_op(&mut encoded, op);
    }
    let reparsed = feed(&[&encoded], &setup, true, None);
    assert_eq!(
        reparsed,
        Outcome {
            ops: whole.ops,
            ..Outcome::default()
        },
        "parsed ops, encoded again, did not parse back to themselves: {:?}",
        String::from_utf8_lossy(&encoded)
    );
}

/// Limits for the round trip: nats-server's defaults, far above what the generator makes.
const ROUND_TRIP_LIMITS: ParserLimits = ParserLimits {
    control_line_bytes_max: 4096,
    payload_bytes_max: 1 << 20,
};
/// Ops per round-trip input.
const ROUND_TRIP_OPS_MAX: usize = 64;

/// Valid ops built from the bytes, encoded with [`encode::client_op`], parse back to the same.
///
/// Input: byte 0 picks draining and chunk size as in [`parser`], byte 1 seeds the split
/// points (its low bit: read whole PUBs in place first, as the broker does), then each op
/// takes a kind byte and its fields' bytes. Checks: the ops, and no error, however the
/// encoding is split and read; nothing left buffered after the last op.
pub fn parser_round_trip(data: &[u8]) {
    let mut input = Input::new(data);
    let mut setup = ParserSetup::decode(&mut input);
    setup.limits = ROUND_TRIP_LIMITS;
    setup.headers_enabled = true;
    let mut ops = Vec::new();
    while !input.is_empty() && ops.len() < ROUND_TRIP_OPS_MAX {
        ops.push(valid_op(&mut input));
    }
    let mut encoded = BytesMut::new();
    for op in &ops {
        encode::client_op(&mut encoded, op);
    }
    let chunks = split(&encoded, setup.split_seed, setup.chunk_bytes_max);
    let mut parser = Parser::new(setup.limits);
    parser.set_headers_enabled(true);
    // Half the inputs are also read the broker's way (whole PUBs in place first).
    let mut outcome = Outcome {
        in_place: setup.split_seed % 2 == 1,
        ..Outcome::default()
    };
    for chunk in &chunks {
        parser.push(Bytes::copy_from_slice(chunk));
        if setup.drain_each {
            drain(&mut parser, &mut outcome, None);
        }
    }
    drain(&mut parser, &mut outcome, None);
    assert_eq!(
        outcome,
        Outcome {
            ops,
            ..Outcome::default()
        },
        "valid ops did not parse back from their encoding {:?}",
        String::from_utf8_lossy(&encoded)
    );
    assert_eq!(
        parser.buffered_bytes(),
        0,
        "bytes left over after the last op"
    );
}

/// One op the parser can produce, with fields from the input.
fn valid_op(input: &mut Input<'_>) -> ClientOp {
    match input.below(10) {
        0 => ClientOp::Connect(text(input)),
        1 => ClientOp::Info(text(input)),
        2 => ClientOp::Err(text(input)),
        3 => ClientOp::Ping,
        4 => ClientOp::Pong,
        5 => ClientOp::Ok,
        6 => ClientOp::Pub {
            subject: token(input),
            reply: optional_token(input),
            payload: payload(input, 0),
        },
        7 => ClientOp::Hpub {
            subject: token(input),
            reply: optional_token(input),
            // Never empty: HPUB with no headers parses as PUB.
            headers: payload(input, 1),
            payload: payload(input, 0),
        },
        8 => ClientOp::Sub {
            subject: token(input),
            queue: optional_token(input),
            sid: token(input),
        },
        _ => ClientOp::Unsub {
            sid: token(input),
            max: (input.byte() & 1 == 1).then(|| 1 + u64::from(input.u32() % 999_999_999)),
        },
    }
}

/// A CONNECT/INFO/-ERR argument: no `\n`, not starting with a blank (the parser skips those),
/// not ending in `\r` (the parser drops one before `\n`). Anything else passes through.
fn text(input: &mut Input<'_>) -> Bytes {
    let len = input.below(48);
    let mut text = input.bytes(len).to_vec();
    for b in text.iter_mut().filter(|b| **b == b'\n') {
        *b = b'n';
    }
    if let Some(first) = text.first_mut().filter(|b| matches!(b, b' ' | b'\t')) {
        *first = b'_';
    }
    if let Some(last) = text.last_mut().filter(|b| **b == b'\r') {
        *last = b'r';
    }
    Bytes::from(text)
}

/// A subject, reply, queue or sid: not empty, none of the bytes the parser splits on.
fn token(input: &mut Input<'_>) -> Bytes {
    let len = 1 + input.below(16);
    let mut token = input.bytes(len).to_vec();
    for b in token.iter_mut() {
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            *b = b'_';
        }
    }
    if token.is_empty() {
        token.push(b'x');
    }
    Bytes::from(token)
}

fn optional_token(input: &mut Input<'_>) -> Option<Bytes> {
    (input.byte() & 1 == 1).then(|| token(input))
}

/// Any bytes, at least `len_min` of them (padded when the input runs out).
fn payload(input: &mut Input<'_>, len_min: usize) -> Bytes {
    let len = len_min + input.below(64);
    let mut payload = input.bytes(len).to_vec();
    payload.resize(payload.len().max(len_min), b'h');
    Bytes::from(payload)
}

// --- Sublist --------------------------------------------------------------------------------

/// Cache sizes, from disabled through tiny (constant eviction) to the default.
const SUBLIST_CACHE_ENTRIES_MAX: [usize; 6] = [0, 1, 2, 3, 8, 1024];
/// Ops per sublist input.
const SUBLIST_OPS_MAX: usize = 256;
/// Match results handed out and re-checked after every later op.
const HANDED_OUT_MAX: usize = 4;
/// Tokens of valid filters (`>` is added only last); `a*` is a literal token.
const FILTER_TOKENS: [&str; 4] = ["a", "b", "a*", "*"];
/// Tokens of raw filters, which may be invalid (`>` not last, an empty token).
const RAW_FILTER_TOKENS: [&str; 6] = ["a", "b", "a*", "*", ">", ""];
/// Tokens of published subjects: a non-pedantic client may publish `*`, `>` and empty tokens.
const PUBLISH_TOKENS: [&str; 7] = ["a", "b", "c", "a*", "*", ">", ""];
const QUEUES: [Option<&str>; 3] = [None, Some("q1"), Some("q2")];
/// Subscription ids, few so that ids repeat across subjects and queues.
const SUB_IDS: u64 = 6;

/// One subscription in the naive sublist models: `(filter, queue, id)`.
pub(crate) type Entry = (String, Option<String>, u64);

/// The linear matcher the sublist is checked against (here and in routing's proptest): every
/// subscription tested with [`subject_matches`], grouped and ordered as [`SubMatch`] promises.
pub(crate) fn model_match(entries: &BTreeSet<Entry>, subject: &str) -> SubMatch {
    let mut plain = BTreeSet::new();
    let mut queues: BTreeMap<&str, BTreeSet<SubId>> = BTreeMap::new();
    for (filter, queue, id) in entries {
        if !subject_matches(filter.as_bytes(), subject.as_bytes()) {
            continue;
        }
        match queue {
            None => plain.insert(SubId(*id)),
            Some(name) => queues.entry(name).or_default().insert(SubId(*id)),
        };
    }
    SubMatch {
        plain: plain.into_iter().collect(),
        queues: queues
            .into_iter()
            .map(|(name, members)| QueueGroup {
                name: Bytes::copy_from_slice(name.as_bytes()),
                members: members.into_iter().collect(),
            })
            .collect(),
    }
}

/// The sublist against a linear model: every live subscription tested with [`subject_matches`].
///
/// Input: byte 0 picks the cache size, then each op takes a kind byte (insert a valid filter,
/// insert a raw one, remove a live subscription, remove any, match) and its fields' bytes.
/// Checks after every op: results equal the model's, inserts and removes succeed or fail as
/// the model says, `len`, `generation` and the cache bound agree, and results handed out
/// earlier have not changed. At the end, removing everything leaves no trie node.
pub fn sublist(data: &[u8]) {
    let mut input = Input::new(data);
    let cache_entries_max = input.pick(&SUBLIST_CACHE_ENTRIES_MAX);
    let mut sublist = Sublist::new(cache_entries_max);
    let mut model = SublistModel::default();
    let mut handed_out: Vec<(String, Arc<SubMatch>, SubMatch)> = Vec::new();
    let mut ops = 0;
    while !input.is_empty() && ops < SUBLIST_OPS_MAX {
        ops += 1;
        match input.below(16) {
            0..=5 => {
                let entry = (valid_filter(&mut input), queue(&mut input), id(&mut input));
                model.apply_insert(&mut sublist, entry);
            }
            6 => {
                let entry = (raw_filter(&mut input), queue(&mut input), id(&mut input));
                model.apply_insert(&mut sublist, entry);
            }
            7 | 8 => {
                let live = model.entries.len().max(1);
                let n = usize::from(u16::from_le_bytes([input.byte(), input.byte()])) % live;
                if let Some(entry) = model.entries.iter().nth(n).cloned() {
                    model.apply_remove(&mut sublist, entry);
                }
            }
            9 => {
                let entry = (raw_filter(&mut input), queue(&mut input), id(&mut input));
                model.apply_remove(&mut sublist, entry);
            }
            _ => {
                let subject = publish_subject(&mut input);
                let got = sublist.match_subject(subject.as_bytes());
                let expected = model.matches(&subject);
                assert_eq!(
                    *got, expected,
                    "match of {subject:?} differs from the model"
                );
                handed_out.push((subject, got, expected));
                if handed_out.len() > HANDED_OUT_MAX {
                    handed_out.remove(0);
                }
            }
        }
        model.check(&sublist, cache_entries_max);
        for (subject, result, expected) in &handed_out {
            assert_eq!(
                **result, *expected,
                "a result handed out for {subject:?} changed afterwards"
            );
        }
    }
    for entry in std::mem::take(&mut model.entries) {
        let (subject, queue, id) = &entry;
        assert_eq!(
            sublist.remove(
                subject.as_bytes(),
                queue.as_deref().map(str::as_bytes),
                SubId(*id)
            ),
            Ok(()),
            "draining {entry:?}"
        );
    }
    assert!(sublist.is_empty(), "sublist not empty after draining");
    assert_eq!(sublist.node_count(), 0, "trie nodes left after draining");
}

/// The naive sublist: a set of `(filter, queue, id)` and the generation it should be at.
#[derive(Default)]
struct SublistModel {
    entries: BTreeSet<Entry>,
    generation: u64,
}

impl SublistModel {
    fn apply_insert(&mut self, sublist: &mut Sublist, entry: Entry) {
        let (subject, queue, id) = &entry;
        let got = sublist.insert(
            subject.as_bytes(),
            queue.as_deref().map(str::as_bytes),
            SubId(*id),
        );
        let expected = if !is_valid_filter(subject) {
            Err(SublistError::InvalidSubject)
        } else {
            if !self.entries.contains(&entry) {
                self.generation += 1;
            }
            Ok(())
        };
        assert_eq!(got, expected, "insert {entry:?}");
        if got.is_ok() {
            self.entries.insert(entry);
        }
    }

    fn apply_remove(&mut self, sublist: &mut Sublist, entry: Entry) {
        let (subject, queue, id) = &entry;
        let got = sublist.remove(
            subject.as_bytes(),
            queue.as_deref().map(str::as_bytes),
            SubId(*id),
        );
        let expected = if !is_valid_filter(subject) {
            Err(SublistError::InvalidSubject)
        } else if self.entries.remove(&entry) {
            self.generation += 1;
            Ok(())
        } else {
            Err(SublistError::NotFound)
        };
        assert_eq!(got, expected, "remove {entry:?}");
    }

    fn matches(&self, subject: &str) -> SubMatch {
        model_match(&self.entries, subject)
    }

    fn check(&self, sublist: &Sublist, cache_entries_max: usize) {
        assert_eq!(sublist.len(), self.entries.len(), "subscription count");
        assert_eq!(
            sublist.generation(),
            self.generation,
            "generation must move on every change and only then"
        );
        assert!(
            sublist.cache_len() <= cache_entries_max,
            "cache holds {} entries, over its bound {cache_entries_max}",
            sublist.cache_len()
        );
    }
}

/// nats-server's `Sublist.Insert` rule, written out: no empty token, `>` only last.
fn is_valid_filter(filter: &str) -> bool {
    let tokens: Vec<&str> = filter.split('.').collect();
    let last = tokens.len() - 1;
    tokens
        .iter()
        .enumerate()
        .all(|(i, token)| !token.is_empty() && (*token != ">" || i == last))
}

fn valid_filter(input: &mut Input<'_>) -> String {
    let shape = input.byte();
    let mut tokens: Vec<&str> = (0..1 + usize::from(shape & 3))
        .map(|_| input.pick(&FILTER_TOKENS))
        .collect();
    if shape & 4 != 0 {
        tokens.push(">");
    }
    tokens.join(".")
}

fn raw_filter(input: &mut Input<'_>) -> String {
    let count = 1 + input.below(4);
    let tokens: Vec<&str> = (0..count).map(|_| input.pick(&RAW_FILTER_TOKENS)).collect();
    tokens.join(".")
}

fn publish_subject(input: &mut Input<'_>) -> String {
    let count = input.below(5);
    let tokens: Vec<&str> = (0..count).map(|_| input.pick(&PUBLISH_TOKENS)).collect();
    tokens.join(".")
}

fn queue(input: &mut Input<'_>) -> Option<String> {
    input.pick(&QUEUES).map(String::from)
}

fn id(input: &mut Input<'_>) -> u64 {
    u64::from(input.byte()) % SUB_IDS
}

// --- CONNECT --------------------------------------------------------------------------------

/// The CONNECT JSON decoder, on the input as the JSON.
///
/// Checks: no panic; [`parse_connect`] and [`ConnectOptions::update`] over the defaults agree;
/// applying the same CONNECT twice equals applying it once; [`ConnectOptions::check`] and the
/// error's texts do not panic; and an accepted CONNECT gives exactly what a plain fold over its
/// top-level key/value pairs gives with Go's rules (keys case-insensitive, last one wins,
/// `null` keeps the earlier value, an empty string is "not given", unknown keys ignored).
pub fn connect_json(data: &[u8]) {
    let parsed = parse_connect(data);
    let mut updated = ConnectOptions::default();
    let update = updated.update(data);
    let options = match parsed {
        Err(error) => {
            assert!(
                update.is_err(),
                "update accepted what parse_connect refused"
            );
            let _ = (error.to_string(), error.err_text());
            return;
        }
        Ok(options) => options,
    };
    assert!(update.is_ok(), "update refused what parse_connect accepted");
    assert_eq!(
        updated, options,
        "update over the defaults != parse_connect"
    );
    let _ = options.check();
    let mut twice = options.clone();
    twice
        .update(data)
        .expect("the same JSON was just accepted over the defaults");
    assert_eq!(twice, options, "a CONNECT applied twice differs from once");
    assert_eq!(
        connect_model(data),
        options,
        "parse_connect differs from the fold over {:?}",
        String::from_utf8_lossy(data)
    );
}

/// What an accepted CONNECT should decode to, by folding its pairs in order over the defaults.
fn connect_model(data: &[u8]) -> ConnectOptions {
    let mut deserializer = serde_json::Deserializer::from_slice(data);
    let pairs = deserializer
        .deserialize_any(PairsVisitor)
        .expect("parse_connect accepted it, so it is null or an object");
    deserializer
        .end()
        .expect("parse_connect accepted it, so nothing follows the value");
    let mut options = ConnectOptions::default();
    for (key, value) in &pairs {
        model_set(&mut options, key, value);
    }
    options
}

/// The names client.go `ClientOpts` gives the fields Switchboard reads.
pub const CONNECT_FIELDS: [&str; 18] = [
    "verbose",
    "pedantic",
    "echo",
    "tls_required",
    "user",
    "pass",
    "auth_token",
    "name",
    "lang",
    "version",
    "protocol",
    "account",
    "new_account",
    "headers",
    "no_responders",
    "sig",
    "jwt",
    "nkey",
];

/// Applies one pair. `value` is `None` for a key that is not a field (its value was skipped).
fn model_set(o: &mut ConnectOptions, key: &str, value: &Option<serde_json::Value>) {
    let Some(value) = value.as_ref().filter(|value| !value.is_null()) else {
        return;
    };
    let flag = || {
        value
            .as_bool()
            .unwrap_or_else(|| panic!("accepted {key:?}: {value}, not a bool"))
    };
    let text = || {
        let text = value
            .as_str()
            .unwrap_or_else(|| panic!("accepted {key:?}: {value}, not a string"));
        (!text.is_empty()).then(|| text.to_owned())
    };
    match key.to_ascii_lowercase().as_str() {
        "verbose" => o.verbose = flag(),
        "pedantic" => o.pedantic = flag(),
        "echo" => o.echo = flag(),
        "tls_required" => o.tls_required = flag(),
        "new_account" => o.new_account = flag(),
        "headers" => o.headers = flag(),
        "no_responders" => o.no_responders = flag(),
        "user" => o.user = text(),
        "pass" => o.pass = text(),
        "auth_token" => o.auth_token = text(),
        "name" => o.name = text(),
        "lang" => o.lang = text(),
        "version" => o.version = text(),
        "account" => o.account = text(),
        "sig" => o.sig = text(),
        "jwt" => o.jwt = text(),
        "nkey" => o.nkey = text(),
        "protocol" => {
            o.protocol = value
                .as_i64()
                .unwrap_or_else(|| panic!("accepted \"protocol\": {value}, not an integer"));
        }
        _ => unreachable!("only field names carry a value"),
    }
}

/// The top-level pairs of a CONNECT, in order, duplicates kept. Values of non-field keys are
/// skipped the way the decoder skips them (so the same leniencies apply to both).
struct PairsVisitor;

type Pairs = Vec<(String, Option<serde_json::Value>)>;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = Pairs;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null or a JSON object")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Pairs, E> {
        Ok(Vec::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
        let mut pairs = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let is_field = CONNECT_FIELDS
                .iter()
                .any(|name| name.eq_ignore_ascii_case(&key));
            let value = if is_field {
                Some(map.next_value::<serde_json::Value>()?)
            } else {
                map.next_value::<IgnoredAny>()?;
                None
            };
            pairs.push((key, value));
        }
        Ok(pairs)
    }
}

// --- Conf -----------------------------------------------------------------------------------

/// Includes and environment variables for [`conf`]: every include reads the input itself
/// (so includes nest and fan out up to their limits), except a path ending in `missing`; a
/// few variables cover numbers, maps, references and a cycle.
struct ConfFuzzSource {
    text: String,
}

impl crate::conf::ConfSource for ConfFuzzSource {
    fn read_include(&self, path: &str) -> Result<String, String> {
        if path.ends_with("missing") {
            return Err(format!("open {path}: no such file or directory"));
        }
        Ok(self.text.clone())
    }

    fn env(&self, name: &str) -> Option<String> {
        let value = match name {
            "A" => "1k",
            "B" => "{x: $A, y: [1, two ]}",
            "C" => "$C",
            "D" => "$B",
            "E" => "'quoted'",
            _ => return None,
        };
        Some(value.to_owned())
    }
}

/// Arbitrary bytes (read as UTF-8, invalid sequences replaced) as a `nats.conf`.
///
/// Checks: no panic; the same outcome parsed twice; every error and every value's position
/// (key positions included) on a line of the text and at most one column past its end —
/// includes read the same text, so positions in them are checked against it too.
pub fn conf(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let source = ConfFuzzSource { text: text.clone() };
    let first = crate::conf::parse(&text, "fuzz.conf", &source);
    let second = crate::conf::parse(&text, "fuzz.conf", &source);
    assert_eq!(first, second, "parsing the same text twice differed");
    match &first {
        Err(error) => check_conf_position(&text, &error.position, &error.to_string()),
        Ok(map) => {
            let mut pending: Vec<&crate::conf::Value> = Vec::new();
            for entry in map {
                check_conf_position(&text, &entry.key_position, &entry.key);
                pending.push(&entry.value);
            }
            while let Some(value) = pending.pop() {
                check_conf_position(&text, &value.position, "a value");
                match &value.kind {
                    crate::conf::ValueKind::Array(values) => pending.extend(values),
                    crate::conf::ValueKind::Map(map) => {
                        for entry in map {
                            check_conf_position(&text, &entry.key_position, &entry.key);
                            pending.push(&entry.value);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A position must name a line of `text` and a column at most one past that line's end.
fn check_conf_position(text: &str, position: &crate::conf::Position, what: &str) {
    let line = position.line as usize;
    let width = text
        .split('\n')
        .nth(line.wrapping_sub(1))
        .map(|l| l.chars().count());
    let Some(width) = width else {
        panic!("{what}: line {line} is not in the text ({position})");
    };
    let column = position.column as usize;
    assert!(
        (1..=width + 1).contains(&column),
        "{what}: column {column} is outside line {line} of {width} characters ({position})"
    );
}

// --- Store recovery -------------------------------------------------------------------------

/// Segment size limits for [`store_recovery`], picked by the first byte.
const STORE_SEGMENT_BYTES_MAX: [u64; 4] = [8 * 1024 * 1024, 4096, 256, 64];

/// File store recovery from arbitrary segment files.
///
/// Input: byte 0 picks the number of segment files (1 to 3, bits 0-1) and the segment size
/// limit (bits 2-3); then, for each file but the last, two bytes give its length (cut to what
/// is left); the rest is the last file. Checks: opening never panics; every message served
/// re-encodes to a record that is byte for byte in the files (so it passed its CRC where it
/// lies); the index agrees with itself; a new message gets a sequence above every one
/// recovered and loads back; and after a sync, reopening recovers the same state.
pub fn store_recovery(data: &[u8]) {
    use crate::store::{record, Disk, FileStore, FileStoreConfig, MemDisk, Store};
    use crate::time::{Mono, Wall};

    let mut input = Input::new(data);
    let setup = input.byte();
    let files = 1 + usize::from(setup & 3) % 3;
    let config = FileStoreConfig {
        segment_bytes_max: STORE_SEGMENT_BYTES_MAX[usize::from(setup >> 2) & 3],
        ..FileStoreConfig::new("s")
    };
    let disk = Arc::new(MemDisk::new());
    let mut contents = Vec::new();
    for id in 1..=files {
        let len = match id == files {
            true => input.data.len(),
            false => usize::from(u16::from_le_bytes([input.byte(), input.byte()])),
        };
        let bytes = input.bytes(len).to_vec();
        disk.put_durable(&format!("s/{id:020}.seg"), &bytes);
        contents.push(bytes);
    }
    let shared: Arc<dyn Disk> = disk.clone();
    let mut store = FileStore::open(shared.clone(), config.clone()).expect("a MemDisk opens");
    store.check_invariants();
    let state = store.state();
    let mut seq = store.next_seq(0);
    while let Some(current) = seq {
        match store.load_msg(current) {
            Ok(msg) => {
                let mut encoded = Vec::new();
                record::encode(
                    &mut encoded,
                    record::Kind::Message,
                    msg.seq,
                    msg.timestamp,
                    &msg.subject,
                    &msg.headers,
                    &msg.payload,
                )
                .expect("a served message was decoded from a record");
                assert!(
                    contents
                        .iter()
                        .any(|file| memchr::memmem::find(file, &encoded).is_some()),
                    "message {current} is served but its record is not in the files"
                );
            }
            Err(error) => panic!("message {current} is indexed but does not load: {error:?}"),
        }
        seq = current.checked_add(1).and_then(|next| store.next_seq(next));
    }
    let payload = bytes::Bytes::from_static(b"after recovery");
    let headers = bytes::Bytes::new();
    let Ok(new_seq) = store.store_msg(b"new", headers, payload.clone(), Wall::default()) else {
        assert_eq!(state.last_seq, u64::MAX, "only exhaustion refuses a write");
        return;
    };
    assert_eq!(new_seq, state.last_seq + 1, "a new message takes the next");
    assert_eq!(store.load_msg(new_seq).map(|m| m.payload), Ok(payload));
    while let Some(request) = store.sync_request(Mono::ZERO) {
        let result = request.run(&*disk);
        store.synced(&request, result);
    }
    let before = store.state();
    drop(store);
    let again = FileStore::open(shared, config).expect("a MemDisk opens");
    again.check_invariants();
    assert_eq!(again.state(), before, "recovery is stable across a reopen");
}
