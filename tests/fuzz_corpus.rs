//! The fuzz targets on the stable toolchain: every checked-in input under `fuzz/corpus/<target>/`
//! and `fuzz/regressions/<target>/` replayed through its `switchboard::fuzzing` entry point,
//! plus a fixed-seed random sweep so the entry points run even where a corpus is thin.
//!
//! An empty corpus directory fails: a replay that exercised nothing proves nothing. A failing
//! input is named in the panic; replay it alone with
//! `cargo +nightly fuzz run <target> <path>` (see fuzz/README.md) or add it to the regressions.

// The ban on `std::fs` (clippy.toml) keeps disk access out of the sans-IO core; this test only
// reads the checked-in corpus.
#![allow(clippy::disallowed_methods)]

use std::panic::{catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use switchboard::fuzzing;

/// Random inputs per target in the sweep.
const SWEEP_INPUTS: usize = 2_000;
/// Seed of the sweep; each target mixes in its own constant so the streams differ.
const SWEEP_SEED: u64 = 0x5eed_f022_0000_0001;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files directly in `dir`, sorted by name; a missing directory has none. README files and
/// dotfiles are documentation, not inputs.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.') && !name.starts_with("README")
        })
        .collect();
    paths.sort();
    paths
}

/// Runs one input, naming it if the entry point panics.
fn run_one(target: &str, entry: fn(&[u8]), label: &str, data: &[u8]) {
    if let Err(panic) = catch_unwind(|| entry(data)) {
        eprintln!(
            "fuzz target {target} failed on {label} ({} bytes)",
            data.len()
        );
        resume_unwind(panic);
    }
}

/// Replays corpus and regressions for `target`; the corpus must not be empty.
fn replay(target: &str, entry: fn(&[u8])) {
    let corpus = inputs(&fuzz_dir().join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target}/ is empty: a replay that runs nothing checks nothing"
    );
    let regressions = inputs(&fuzz_dir().join("regressions").join(target));
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).expect("readable corpus file");
        run_one(target, entry, &path.display().to_string(), &data);
    }
    println!(
        "{target}: replayed {} corpus inputs and {} regressions",
        corpus.len(),
        regressions.len()
    );
}

/// Runs `SWEEP_INPUTS` inputs from `generate` through `entry`.
fn sweep(target: &str, stream: u64, entry: fn(&[u8]), generate: fn(&mut ChaCha8Rng) -> Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(SWEEP_SEED ^ stream);
    let mut bytes = 0;
    for i in 0..SWEEP_INPUTS {
        let data = generate(&mut rng);
        bytes += data.len();
        run_one(target, entry, &format!("sweep input {i}: {data:?}"), &data);
    }
    assert!(bytes > 0, "the {target} sweep generated only empty inputs");
    println!("{target}: swept {SWEEP_INPUTS} random inputs, {bytes} bytes");
}

fn random_bytes(rng: &mut ChaCha8Rng, len_max: usize) -> Vec<u8> {
    let len = rng.random_range(0..=len_max);
    (0..len).map(|_| rng.random()).collect()
}

/// Concatenated picks from `fragments`, with a random byte now and then.
fn fragment_soup(rng: &mut ChaCha8Rng, fragments: &[&[u8]], count_max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.random_range(0..=count_max) {
        if rng.random_range(0..8) == 0 {
            out.push(rng.random());
        } else {
            out.extend_from_slice(fragments[rng.random_range(0..fragments.len())]);
        }
    }
    out
}

/// Pieces of client protocol, so random streams reach every parser state.
const PROTOCOL_FRAGMENTS: &[&[u8]] = &[
    b"PUB ",
    b"HPUB ",
    b"SUB ",
    b"UNSUB ",
    b"PING",
    b"PONG",
    b"CONNECT ",
    b"INFO ",
    b"+OK",
    b"-ERR ",
    b"pub ",
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"foo",
    b"foo.*",
    b"_INBOX.>",
    b"q",
    b"0",
    b"1",
    b"2",
    b"5",
    b"12",
    b"22",
    b"x",
    b"hello",
    b"NATS/1.0\r\n\r\n",
    b"{}",
];

fn protocol_stream(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut data = vec![rng.random(), rng.random()];
    data.extend(fragment_soup(rng, PROTOCOL_FRAGMENTS, 40));
    data
}

/// Every CONNECT field we read, plus one we do not.
fn connect_keys() -> impl Iterator<Item = &'static str> {
    switchboard::fuzzing::CONNECT_FIELDS
        .into_iter()
        .chain(["extra"])
}
const JSON_VALUES: &[&str] = &[
    "true",
    "false",
    "null",
    "\"\"",
    "\"a\"",
    "\"\\u00e9\"",
    "0",
    "1",
    "2",
    "-1",
    "1.0",
    "-0",
    "[]",
    "{}",
    "[1,{\"a\":null}]",
];
const JSON_FRAGMENTS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b" ",
    b"\"",
    b"\\",
    b"null",
    b"true",
    b"false",
    b"0",
    b"-",
    b"1e3",
    b"\"verbose\"",
    b"\"protocol\"",
    b"\"user\"",
    b"\"x\"",
    b"\\u00",
];

/// Half well-formed objects over CONNECT's keys (random case, values of any type, repeats),
/// half JSON-ish soup.
fn connect_json_input(rng: &mut ChaCha8Rng) -> Vec<u8> {
    if rng.random() {
        return fragment_soup(rng, JSON_FRAGMENTS, 24);
    }
    let pairs: Vec<String> = (0..rng.random_range(0..6))
        .map(|_| {
            let keys: Vec<&str> = connect_keys().collect();
            let key: String = keys[rng.random_range(0..keys.len())]
                .chars()
                .map(|c| match rng.random() {
                    true => c.to_ascii_uppercase(),
                    false => c,
                })
                .collect();
            let value = JSON_VALUES[rng.random_range(0..JSON_VALUES.len())];
            format!("\"{key}\":{value}")
        })
        .collect();
    format!("{{{}}}", pairs.join(",")).into_bytes()
}

/// Pieces of `nats.conf` text, so random files reach every lexer state.
const CONF_FRAGMENTS: &[&[u8]] = &[
    b"port",
    b"a",
    b" ",
    b"\t",
    b"\n",
    b"\r\n",
    b"=",
    b":",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b";",
    b"#",
    b"//",
    b"/",
    b"'",
    b"\"",
    b"\\",
    b"\\x4",
    b"(",
    b"\n)\n",
    b")",
    b"$A",
    b"$B",
    b"$C",
    b"$x",
    b"$2a$",
    b"1",
    b"2k",
    b"3mb",
    b"-",
    b".",
    b"1.5",
    b"1.2.3.4",
    b"2016-05-04T18:53:41Z",
    b"true",
    b"include ",
    b"include 'x'",
    b"include missing",
    b"\xc3\xa9",
    b"\0",
];

fn conf_text(rng: &mut ChaCha8Rng) -> Vec<u8> {
    fragment_soup(rng, CONF_FRAGMENTS, 40)
}

fn structure_bytes(rng: &mut ChaCha8Rng) -> Vec<u8> {
    random_bytes(rng, 400)
}

#[test]
fn corpus_parser() {
    replay("parser", fuzzing::parser);
}

#[test]
fn corpus_parser_round_trip() {
    replay("parser_round_trip", fuzzing::parser_round_trip);
}

#[test]
fn corpus_sublist() {
    replay("sublist", fuzzing::sublist);
}

#[test]
fn corpus_connect_json() {
    replay("connect_json", fuzzing::connect_json);
}

#[test]
fn corpus_conf() {
    replay("conf", fuzzing::conf);
}

#[test]
fn corpus_store_recovery() {
    replay("store_recovery", fuzzing::store_recovery);
}

#[test]
fn corpus_jetstream_api() {
    replay("jetstream_api", fuzzing::jetstream_api);
}

#[test]
fn sweep_jetstream_api() {
    sweep(
        "jetstream_api",
        0x15,
        fuzzing::jetstream_api,
        js_api_requests,
    );
}

/// Request bodies the API takes, and some it refuses.
const JS_BODIES: &[&str] = &[
    "",
    "{}",
    r#"{"name":"M","subjects":["m.>"]}"#,
    r#"{"name":"M","subjects":["m.>"],"storage":"memory","max_msgs":2}"#,
    r#"{"name":"M","subjects":["S.>"]}"#,
    r#"{"name":"S","subjects":["S.>","s.>"],"allow_direct":true,"max_msgs":1}"#,
    r#"{"name":"S","subjects":["S.>","s.>"],"allow_direct":true,"max_age":1000000000}"#,
    r#"{"name":"S","subjects":["x.>"],"storage":"memory"}"#,
    r#"{"name":"M","max_bytes":100,"discard":"new","duplicate_window":5000000000}"#,
    r#"{"seq":1}"#,
    r#"{"seq":2,"no_erase":true}"#,
    r#"{"last_by_subj":"s.a"}"#,
    r#"{"next_by_subj":"s.>","seq":2}"#,
    r#"{"filter":"s.a","keep":1}"#,
    r#"{"seq":3}"#,
    r#"{"offset":1,"subject":"s.a"}"#,
    r#"{"subjects_filter":">","deleted_details":true}"#,
    r#"{"name":1}"#,
    "[1,2]",
    r#"{"name":"M","#,
];

/// A few requests, each a subject byte, a length and a body from [`JS_BODIES`] (sometimes
/// mangled).
fn js_api_requests(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.random_range(1..8) {
        out.push(rng.random());
        let mut body = JS_BODIES[rng.random_range(0..JS_BODIES.len())]
            .as_bytes()
            .to_vec();
        if !body.is_empty() && rng.random_bool(0.2) {
            let at = rng.random_range(0..body.len());
            body[at] = rng.random();
        }
        body.truncate(255);
        out.push(body.len() as u8);
        out.extend_from_slice(&body);
    }
    out
}

#[test]
fn sweep_parser() {
    sweep("parser", 1, fuzzing::parser, protocol_stream);
}

#[test]
fn sweep_parser_round_trip() {
    sweep(
        "parser_round_trip",
        2,
        fuzzing::parser_round_trip,
        structure_bytes,
    );
}

#[test]
fn sweep_sublist() {
    sweep("sublist", 3, fuzzing::sublist, structure_bytes);
}

#[test]
fn sweep_connect_json() {
    sweep("connect_json", 4, fuzzing::connect_json, connect_json_input);
}

#[test]
fn sweep_conf() {
    sweep("conf", 5, fuzzing::conf, conf_text);
}

#[test]
fn sweep_store_recovery() {
    sweep(
        "store_recovery",
        0x57,
        fuzzing::store_recovery,
        damaged_segments,
    );
}

/// Store segments as recovery meets them: valid records of every kind, then damage (bit flips,
/// a cut, zeros, garbage), behind a random setup byte and file split.
fn damaged_segments(rng: &mut ChaCha8Rng) -> Vec<u8> {
    use switchboard::store::record::{encode, encode_ranges, Kind};
    use switchboard::Wall;
    let mut segment = Vec::new();
    let mut seq = 0u64;
    for _ in 0..rng.random_range(0..8) {
        let time = Wall::from_unix_nanos(rng.random_range(0..1000));
        let result = match rng.random_range(0..6) {
            0 => {
                let mut ranges = Vec::new();
                let first = rng.random_range(0..=seq);
                encode_ranges(&mut ranges, &[(first, first + rng.random_range(0..3))]);
                encode(&mut segment, Kind::Delete, seq, time, b"", b"", &ranges)
            }
            1 => encode(&mut segment, Kind::SyncPoint, seq, time, b"", b"", b""),
            2 => {
                let id = rng.random_range(1..3u64).to_le_bytes();
                encode(&mut segment, Kind::SegmentHeader, seq, time, b"", b"", &id)
            }
            _ => {
                seq += rng.random_range(0..3);
                let payload = random_bytes(rng, 40);
                let subject: &[u8] = [&b"a"[..], b"a.b", b"c.>"][rng.random_range(0..3)];
                let kind = Kind::Message;
                encode(&mut segment, kind, seq, time, subject, b"", &payload)
            }
        };
        result.expect("small records encode");
    }
    for _ in 0..rng.random_range(0..3) {
        if segment.is_empty() {
            break;
        }
        let at = rng.random_range(0..segment.len());
        match rng.random_range(0..4) {
            0 => segment[at] ^= 1 << rng.random_range(0..8),
            1 => segment.truncate(at),
            2 => segment.extend(std::iter::repeat_n(0, rng.random_range(1..50))),
            _ => segment.extend(random_bytes(rng, 30)),
        }
    }
    let mut data = vec![rng.random()];
    if data[0] & 3 != 0 {
        // Two or three files: the first takes a random share.
        let share = rng.random_range(0..=segment.len()) as u16;
        data.extend_from_slice(&share.to_le_bytes());
    }
    if data[0] & 3 == 2 {
        data.extend_from_slice(&[0, 0]);
    }
    data.extend(segment);
    data
}

/// Every target in fuzz/fuzz_targets/ has a corpus replay here (a new target needs one).
#[test]
fn every_fuzz_target_is_replayed() {
    let replayed = [
        "parser",
        "parser_round_trip",
        "sublist",
        "connect_json",
        "conf",
        "store_recovery",
        "jetstream_api",
    ];
    for path in inputs(&fuzz_dir().join("fuzz_targets")) {
        let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            replayed.contains(&name),
            "fuzz target {name} has no replay in tests/fuzz_corpus.rs"
        );
    }
}
