//! One stream over a `MemDisk`: acks wait for syncs, max_age ignores the wall clock, a failed
//! sync answers with errors.

use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::store::{DiskOp, MemDisk};

const SECOND: u64 = 1_000_000_000;
const WALL_START: i64 = 1_700_000_000 * 1_000_000_000;

fn at(mono_secs: u64, wall_secs: i64) -> Now {
    Now::new(
        Mono::from_nanos(mono_secs * SECOND),
        Wall::from_unix_nanos(WALL_START + wall_secs * 1_000_000_000),
    )
}

fn config(max_age_secs: i64) -> StreamConfig {
    StreamConfig {
        name: "S".to_string(),
        subjects: vec!["s.>".to_string()],
        storage: StorageType::File,
        max_msgs: -1,
        max_bytes: -1,
        max_msgs_per_subject: -1,
        max_msg_size: -1,
        max_age_nanos: max_age_secs * 1_000_000_000,
        duplicate_window_nanos: 120 * 1_000_000_000,
        ..StreamConfig::default()
    }
}

fn open(disk: &Arc<MemDisk>, max_age_secs: i64, now: Now) -> Stream {
    let backing = FileBacking {
        disk: disk.clone(),
        dir: "streams/S".to_string(),
        sync: SyncPolicy::Always,
        segment_bytes_max: 1 << 20,
    };
    Stream::open(config(max_age_secs), now.wall, Some(backing), now)
        .expect("opens")
        .0
}

fn publish(stream: &mut Stream, now: Now, payload: &'static str) -> Vec<Reply> {
    let mut out = Vec::new();
    let reply = Bytes::from_static(b"inbox");
    stream.publish(
        now,
        b"s.a",
        Some(&reply),
        None,
        &Bytes::from_static(payload.as_bytes()),
        &mut out,
    );
    out
}

/// Runs the stream's pending sync (if any) with `result`; returns what it released.
fn sync(stream: &mut Stream, now: Now, fail: bool, disk: &MemDisk) -> Vec<Reply> {
    let mut out = Vec::new();
    if let Some(request) = stream.sync_request(now.mono) {
        if fail {
            disk.fail_next(Some(DiskOp::Sync), 1);
        }
        let result = request.run(disk);
        stream.synced(&request, result, &mut out);
    }
    out
}

fn payloads(replies: &[Reply]) -> Vec<String> {
    replies
        .iter()
        .map(|r| String::from_utf8_lossy(&r.payload).into_owned())
        .collect()
}

#[test]
fn a_pub_ack_waits_for_its_sync() {
    let disk = Arc::new(MemDisk::new());
    let now = at(1, 0);
    let mut stream = open(&disk, 0, now);
    // A new store syncs its files first; settle that.
    sync(&mut stream, now, false, &disk);
    assert!(
        publish(&mut stream, now, "a").is_empty(),
        "no ack before the sync"
    );
    assert!(publish(&mut stream, now, "b").is_empty());
    assert_eq!(stream.waiting_count(), 2);
    let released = sync(&mut stream, now, false, &disk);
    assert_eq!(
        payloads(&released),
        [r#"{"stream":"S","seq":1}"#, r#"{"stream":"S","seq":2}"#]
    );
    // Both survive a crash: they were acked.
    disk.crash();
    let reopened = open(&disk, 0, now);
    assert_eq!(reopened.state("", false).messages, 2);
}

#[test]
fn a_failed_sync_answers_errors_and_acks_nothing() {
    let disk = Arc::new(MemDisk::new());
    let now = at(1, 0);
    let mut stream = open(&disk, 0, now);
    sync(&mut stream, now, false, &disk);
    publish(&mut stream, now, "a");
    let answered = sync(&mut stream, now, true, &disk);
    assert_eq!(answered.len(), 1);
    assert!(
        payloads(&answered)[0].contains(r#""err_code":10077"#),
        "{answered:?}"
    );
    assert!(stream.failure().is_some());
    // The store takes nothing more.
    let refused = publish(&mut stream, now, "b");
    assert!(payloads(&refused)[0].contains("error"), "{refused:?}");
}

#[test]
fn max_age_follows_the_monotonic_clock_not_the_wall() {
    let disk = Arc::new(MemDisk::new());
    let mut now = at(1, 0);
    let mut stream = open(&disk, 10, now);
    publish(&mut stream, now, "a");
    sync(&mut stream, now, false, &disk);
    // The wall clock jumps a day ahead: nothing expires.
    now = at(2, 86_400);
    stream.handle_timeout(now);
    assert_eq!(stream.state("", false).messages, 1);
    let deadline = stream.next_deadline().expect("an expiry is armed");
    assert_eq!(deadline, Mono::from_nanos(11 * SECOND));
    // Just before max_age by the monotonic clock, with the wall jumping back: still there.
    now = at(10, -86_400);
    stream.handle_timeout(now);
    assert_eq!(stream.state("", false).messages, 1);
    now = at(11, -86_400);
    stream.handle_timeout(now);
    assert_eq!(stream.state("", false).messages, 0);
}

#[test]
fn a_recovered_message_is_aged_by_its_wall_time_at_open() {
    let disk = Arc::new(MemDisk::new());
    let now = at(1, 0);
    let mut stream = open(&disk, 10, now);
    publish(&mut stream, now, "a");
    sync(&mut stream, now, false, &disk);
    drop(stream);
    // Reopened 4 s of wall time later, on a fresh monotonic clock (a new process).
    let reopened_at = at(100, 4);
    let mut stream = open(&disk, 10, reopened_at);
    assert_eq!(
        stream.next_deadline(),
        Some(Mono::from_nanos(106 * SECOND)),
        "6 s left of its 10"
    );
    // A wall jump after the open changes nothing.
    stream.handle_timeout(at(105, 1_000));
    assert_eq!(stream.state("", false).messages, 1);
    stream.handle_timeout(at(106, 1_000));
    assert_eq!(stream.state("", false).messages, 0);
}

#[test]
fn the_duplicate_window_survives_a_restart() {
    let disk = Arc::new(MemDisk::new());
    let now = at(1, 0);
    let mut stream = open(&disk, 0, now);
    let headers = Bytes::from_static(b"NATS/1.0\r\nNats-Msg-Id: x\r\n\r\n");
    let reply = Bytes::from_static(b"inbox");
    let mut out = Vec::new();
    stream.publish(
        now,
        b"s.a",
        Some(&reply),
        Some(&headers),
        &Bytes::from_static(b"1"),
        &mut out,
    );
    out.extend(sync(&mut stream, now, false, &disk));
    drop(stream);
    let later = at(5, 30);
    let mut stream = open(&disk, 0, later);
    stream.publish(
        later,
        b"s.a",
        Some(&reply),
        Some(&headers),
        &Bytes::from_static(b"1"),
        &mut out,
    );
    out.extend(sync(&mut stream, later, false, &disk));
    assert_eq!(
        payloads(&out),
        [
            r#"{"stream":"S","seq":1}"#,
            r#"{"stream":"S","seq":1,"duplicate": true}"#
        ]
    );
    assert_eq!(stream.state("", false).messages, 1);
}

#[test]
fn setting_max_age_later_ages_existing_messages_from_then() {
    let disk = Arc::new(MemDisk::new());
    let now = at(1, 0);
    let mut stream = open(&disk, 0, now);
    publish(&mut stream, now, "a");
    sync(&mut stream, now, false, &disk);
    // Ten seconds later max_age becomes 20 s: the message is 10 s old by its wall time.
    let update = at(11, 10);
    stream.set_config(config(20), update);
    assert_eq!(stream.next_deadline(), Some(Mono::from_nanos(21 * SECOND)));
    stream.handle_timeout(at(20, 500));
    assert_eq!(stream.state("", false).messages, 1);
    stream.handle_timeout(at(21, 500));
    assert_eq!(stream.state("", false).messages, 0);
}

#[test]
fn an_expiry_that_cannot_be_written_backs_off_instead_of_spinning() {
    let disk = Arc::new(MemDisk::new());
    let now = at(1, 0);
    let mut stream = open(&disk, 5, now);
    publish(&mut stream, now, "a");
    sync(&mut stream, now, false, &disk);
    // The next sync fails: the store takes no more writes, so expiry cannot write its purge.
    publish(&mut stream, now, "b");
    sync(&mut stream, now, true, &disk);
    let due = at(7, 6);
    stream.handle_timeout(due);
    let next = stream.next_deadline().expect("armed");
    assert!(
        next > due.mono,
        "deadline {next:?} is not in the past after a failed expiry"
    );
    assert_eq!(next, due.mono + EXPIRY_RETRY);
}
