//! The scenarios: throughput (pub-only, pub→sub, fan-out, queue group), request/reply latency
//! and idle connections. Each returns one [`Report`] line.

use std::fmt::Write as _;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::client::{answer_pings, pub_frame, Client, Reader};

/// What to run and how hard.
#[derive(Clone, Debug)]
pub struct Options {
    /// `host:port` of the server.
    pub addr: String,
    /// Payload bytes per message.
    pub size: usize,
    /// Messages (or requests) to send; `None` sends for `duration`.
    pub msgs: Option<u64>,
    pub duration: Duration,
    /// Subscribers for fan-out and queue groups.
    pub subs: usize,
    /// Connections for the idle scenario.
    pub conns: usize,
    /// The server's process id, to read its RSS (idle) and CPU time per message (throughput).
    pub pid: Option<u32>,
    /// How long idle connections are held before the server's RSS is read.
    pub hold: Duration,
    /// PINGs in flight at most: each batch of PUBs ends with one, so this bounds how far the
    /// publisher runs ahead of what the server has processed.
    pub window: u64,
    /// Bytes of PUB frames per write (and per PING).
    pub batch_bytes: usize,
    /// How far (in bytes of frames) the publisher may run ahead of the slowest subscriber, so
    /// a fast publisher measures what the subscribers sustain instead of making them slow
    /// consumers.
    pub ahead_bytes: usize,
    /// Requests answered before latencies are recorded.
    pub warmup: u64,
    pub subject: String,
    /// HPUB with a small header block instead of PUB.
    pub headers: bool,
    /// Idle connections being opened at once.
    pub connect_concurrency: usize,
    /// JetStream publishes not yet acknowledged, at most (`jspub`).
    pub inflight: u64,
    /// The stream `jspub` creates, publishes to and deletes.
    pub stream: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            addr: crate::client::address_of("nats://127.0.0.1:4222"),
            size: 16,
            msgs: None,
            duration: Duration::from_secs(2),
            subs: 4,
            conns: 1000,
            pid: None,
            hold: Duration::from_secs(1),
            window: 8,
            batch_bytes: 64 * 1024,
            ahead_bytes: 16 * 1024 * 1024,
            warmup: 1000,
            subject: "bench.load".to_string(),
            headers: false,
            connect_concurrency: 128,
            inflight: 256,
            stream: "BENCH".to_string(),
        }
    }
}

/// `key=value` pairs printed on one line, for people and for `compare.sh`.
#[derive(Default)]
pub struct Report {
    line: String,
}

impl Report {
    pub fn add(&mut self, key: &str, value: impl std::fmt::Display) -> &mut Report {
        if !self.line.is_empty() {
            self.line.push(' ');
        }
        let _ = write!(self.line, "{key}={value}");
        self
    }

    pub fn line(&self) -> &str {
        &self.line
    }
}

/// The throughput scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// One publisher, nobody subscribed.
    PubOnly,
    /// One publisher, `subs` subscribers each getting every message (pub→sub is 1).
    FanOut,
    /// One publisher, `subs` subscribers in one queue group (each message to one of them).
    Queue,
}

/// State shared by the publisher, its reader and the subscribers.
struct Shared {
    /// Messages each subscriber has received.
    received: Vec<AtomicU64>,
    /// PONGs the publisher has received (one per batch).
    pongs: AtomicU64,
    /// Server PINGs the publisher's reader saw and the writer has not yet answered.
    pings_owed: AtomicU64,
    /// Wakes the publisher when any of the above moves or a task fails.
    wake: Notify,
    error: Mutex<Option<String>>,
}

impl Shared {
    fn fail(&self, error: &io::Error) {
        let mut slot = self.error.lock().expect("no task panics holding this lock");
        slot.get_or_insert_with(|| error.to_string());
        self.wake.notify_one();
    }

    fn check(&self) -> io::Result<()> {
        match &*self.error.lock().expect("no task panics holding this lock") {
            Some(error) => Err(io::Error::other(error.clone())),
            None => Ok(()),
        }
    }

    /// Delivery progress in published messages: the slowest subscriber for fan-out, the
    /// group's total for a queue group.
    fn progress(&self, flow: Flow) -> u64 {
        let counts = self.received.iter().map(|r| r.load(Ordering::Acquire));
        match flow {
            Flow::PubOnly => 0,
            Flow::FanOut => counts.min().unwrap_or(0),
            Flow::Queue => counts.sum(),
        }
    }
}

/// Publishes as fast as the server (and subscribers) take it; reports messages per second
/// from the first PUB until the server has processed the last one (its PONG) and every
/// subscriber has received everything.
pub async fn throughput(opts: &Options, flow: Flow) -> io::Result<Report> {
    let sub_count = if flow == Flow::PubOnly { 0 } else { opts.subs };
    let shared = Arc::new(Shared {
        received: (0..sub_count).map(|_| AtomicU64::new(0)).collect(),
        pongs: AtomicU64::new(0),
        pings_owed: AtomicU64::new(0),
        wake: Notify::new(),
        error: Mutex::new(None),
    });
    let queue = (flow == Flow::Queue).then_some("load-group");
    let mut tasks = JoinSet::new();
    for index in 0..sub_count {
        let mut client = Client::connect(&opts.addr, "load-sub").await?;
        client.subscribe(&opts.subject, queue).await?;
        client.reader.reserve_for_streaming();
        let shared = Arc::clone(&shared);
        tasks.spawn(async move {
            if let Err(error) = subscriber(client, index, &shared).await {
                shared.fail(&error);
            }
        });
    }
    let publisher = Client::connect(&opts.addr, "load-pub").await?;
    let version = publisher.server_version().to_string();
    let Client {
        mut reader, writer, ..
    } = publisher;
    reader.reserve_for_streaming();
    let reader_shared = Arc::clone(&shared);
    tasks.spawn(async move {
        if let Err(error) = publisher_reader(reader, &reader_shared).await {
            reader_shared.fail(&error);
        }
    });
    let cpu_before = opts.pid.map(cpu_nanos).transpose()?;
    let result = publish(opts, flow, &shared, writer).await;
    tasks.abort_all();
    let run = result?;
    let cpu_after = opts.pid.map(cpu_nanos).transpose()?;

    let secs = run.elapsed.as_secs_f64();
    let rate = run.sent as f64 / secs;
    let delivered = match flow {
        Flow::PubOnly => 0,
        Flow::FanOut => run.sent * sub_count as u64,
        Flow::Queue => run.sent,
    };
    let mut report = Report::default();
    report
        .add("scenario", scenario_name(flow, sub_count))
        .add("size", opts.size)
        .add("msgs", run.sent)
        .add("secs", format!("{secs:.3}"))
        .add("msgs_per_sec", format!("{rate:.0}"))
        .add(
            "payload_mb_per_sec",
            format!("{:.1}", rate * opts.size as f64 / 1e6),
        )
        .add(
            "delivered_per_sec",
            format!("{:.0}", delivered as f64 / secs),
        )
        .add("pub_secs", format!("{:.3}", run.published.as_secs_f64()));
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        // CPU time the server spent per published message: unlike msgs/s, barely moved by
        // other processes competing for the server's core.
        let per_msg = after.saturating_sub(before) as f64 / run.sent.max(1) as f64;
        report.add("server_cpu_ns_per_msg", format!("{per_msg:.0}"));
    }
    report.add("server_version", version);
    Ok(report)
}

fn scenario_name(flow: Flow, subs: usize) -> String {
    match flow {
        Flow::PubOnly => "pub".to_string(),
        Flow::FanOut if subs == 1 => "pubsub".to_string(),
        Flow::FanOut => format!("fanout{subs}"),
        Flow::Queue => format!("queue{subs}"),
    }
}

struct PublishRun {
    sent: u64,
    /// Until the server's last PONG.
    published: Duration,
    /// Until every subscriber had everything.
    elapsed: Duration,
}

async fn publish(
    opts: &Options,
    flow: Flow,
    shared: &Shared,
    mut writer: OwnedWriteHalf,
) -> io::Result<PublishRun> {
    let frame = pub_frame(&opts.subject, None, opts.size, opts.headers);
    let per_batch = (opts.batch_bytes / frame.len()).clamp(1, 100_000);
    let batch = batch_of(&frame, per_batch);
    let ahead_msgs = (opts.ahead_bytes / frame.len()).max(2 * per_batch) as u64;
    let has_subs = !shared.received.is_empty();

    let start = Instant::now();
    let mut sent = 0u64;
    let mut pings = 0u64;
    loop {
        let n = match opts.msgs {
            Some(total) => (total - sent).min(per_batch as u64) as usize,
            None if start.elapsed() >= opts.duration => 0,
            None => per_batch,
        };
        if n == 0 {
            break;
        }
        loop {
            shared.check()?;
            let in_flight = pings - shared.pongs.load(Ordering::Acquire);
            let ahead = sent.saturating_sub(shared.progress(flow));
            if in_flight < opts.window && (!has_subs || ahead <= ahead_msgs) {
                break;
            }
            shared.wake.notified().await;
        }
        let owed = shared.pings_owed.swap(0, Ordering::AcqRel);
        answer_pings(&mut writer, owed).await?;
        if n == per_batch {
            writer.write_all(&batch).await?;
        } else {
            writer.write_all(&batch_of(&frame, n)).await?;
        }
        pings += 1;
        sent += n as u64;
    }
    let mut published = None;
    loop {
        shared.check()?;
        if published.is_none() && shared.pongs.load(Ordering::Acquire) == pings {
            published = Some(start.elapsed());
        }
        if published.is_some() && (!has_subs || shared.progress(flow) >= sent) {
            break;
        }
        let owed = shared.pings_owed.swap(0, Ordering::AcqRel);
        answer_pings(&mut writer, owed).await?;
        shared.wake.notified().await;
    }
    let elapsed = start.elapsed();
    Ok(PublishRun {
        sent,
        published: published.unwrap_or(elapsed),
        elapsed,
    })
}

/// `n` frames followed by a PING.
fn batch_of(frame: &[u8], n: usize) -> Vec<u8> {
    let mut batch = Vec::with_capacity(frame.len() * n + 6);
    for _ in 0..n {
        batch.extend_from_slice(frame);
    }
    batch.extend_from_slice(b"PING\r\n");
    batch
}

/// Counts PONGs (and server PINGs, which the publisher answers) on the publisher's connection.
async fn publisher_reader(mut reader: Reader, shared: &Shared) -> io::Result<()> {
    loop {
        reader.fill().await?;
        let control = reader.drain(|_| {})?;
        if control.pings > 0 {
            shared.pings_owed.fetch_add(control.pings, Ordering::AcqRel);
        }
        if control.pongs > 0 || control.pings > 0 {
            shared.pongs.fetch_add(control.pongs, Ordering::AcqRel);
            shared.wake.notify_one();
        }
    }
}

/// Counts messages on one subscriber connection until aborted.
async fn subscriber(mut client: Client, index: usize, shared: &Shared) -> io::Result<()> {
    let mut count = 0u64;
    loop {
        client.reader.fill().await?;
        let before = count;
        let control = client.reader.drain(|_| count += 1)?;
        answer_pings(&mut client.writer, control.pings).await?;
        if count != before {
            shared.received[index].store(count, Ordering::Release);
            shared.wake.notify_one();
        }
    }
}

/// Request/reply latency: one requester with one request in flight, one responder echoing the
/// payload. Reports percentiles of the round trip in microseconds.
pub async fn request_reply(opts: &Options) -> io::Result<Report> {
    let request_subject = format!("{}.req", opts.subject);
    let mut responder = Client::connect(&opts.addr, "load-responder").await?;
    responder.subscribe(&request_subject, None).await?;
    let mut requester = Client::connect(&opts.addr, "load-requester").await?;
    requester.subscribe("_INBOX.load.*", None).await?;
    let version = requester.server_version().to_string();
    let responder_task = tokio::spawn(respond(responder));

    let frame = pub_frame(
        &request_subject,
        Some("_INBOX.load.1"),
        opts.size,
        opts.headers,
    );
    let count = opts.msgs.unwrap_or(20_000);
    let mut latencies: Vec<u64> = Vec::with_capacity(count as usize);
    let start = Instant::now();
    let mut sent = 0u64;
    let cpu_before = opts.pid.map(cpu_nanos).transpose()?;
    let result: io::Result<()> = async {
        while (latencies.len() as u64) < count
            && (opts.msgs.is_some() || start.elapsed() < opts.duration || latencies.is_empty())
        {
            let t = Instant::now();
            requester.writer.write_all(&frame).await?;
            let mut replies = 0;
            while replies == 0 {
                requester.reader.fill().await?;
                let control = requester.reader.drain(|_| replies += 1)?;
                answer_pings(&mut requester.writer, control.pings).await?;
            }
            let nanos = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
            sent += 1;
            if sent > opts.warmup {
                latencies.push(nanos);
            }
        }
        Ok(())
    }
    .await;
    responder_task.abort();
    result?;
    let cpu_after = opts.pid.map(cpu_nanos).transpose()?;

    latencies.sort_unstable();
    let percentile = |p: f64| {
        let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
        latencies[rank.clamp(1, latencies.len()) - 1] as f64 / 1000.0
    };
    let mean = latencies.iter().sum::<u64>() as f64 / latencies.len() as f64 / 1000.0;
    let mut report = Report::default();
    report
        .add("scenario", "reqrep")
        .add("size", opts.size)
        .add("requests", latencies.len())
        .add("p50_us", format!("{:.1}", percentile(50.0)))
        .add("p99_us", format!("{:.1}", percentile(99.0)))
        .add("p999_us", format!("{:.1}", percentile(99.9)))
        .add("max_us", format!("{:.1}", percentile(100.0)))
        .add("mean_us", format!("{mean:.1}"))
        .add(
            "req_per_sec",
            format!(
                "{:.0}",
                latencies.len() as f64 / start.elapsed().as_secs_f64()
            ),
        );
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        // Both messages of each round trip (request and reply), warm-up included.
        let per_request = after.saturating_sub(before) as f64 / sent.max(1) as f64;
        report.add("server_cpu_ns_per_req", format!("{per_request:.0}"));
    }
    report.add("server_version", version);
    Ok(report)
}

/// Answers each request with its own payload, one write per read.
async fn respond(mut client: Client) -> io::Result<()> {
    let mut out = Vec::new();
    loop {
        client.reader.fill().await?;
        out.clear();
        let control = client.reader.drain(|msg| {
            if let Some(reply) = msg.reply {
                out.extend_from_slice(b"PUB ");
                out.extend_from_slice(reply);
                out.extend_from_slice(format!(" {}\r\n", msg.payload.len()).as_bytes());
                out.extend_from_slice(msg.payload);
                out.extend_from_slice(b"\r\n");
            }
        })?;
        for _ in 0..control.pings {
            out.extend_from_slice(b"PONG\r\n");
        }
        if !out.is_empty() {
            client.writer.write_all(&out).await?;
        }
    }
}

/// Opens `conns` connections (each through the whole handshake), holds them, reads the
/// server's RSS, and checks every one still answers a PING.
pub async fn idle(opts: &Options) -> io::Result<Report> {
    let rss_before = opts.pid.map(rss_kib).transpose()?;
    let start = Instant::now();
    let mut clients = Vec::with_capacity(opts.conns);
    let mut failures = 0usize;
    let mut first_error = None;
    let mut pending = JoinSet::new();
    let addr = Arc::new(opts.addr.clone());
    let mut record = |result: Result<io::Result<Client>, tokio::task::JoinError>| match result {
        Ok(Ok(client)) => clients.push(client),
        Ok(Err(error)) => {
            failures += 1;
            first_error.get_or_insert(error.to_string());
        }
        Err(error) => {
            failures += 1;
            first_error.get_or_insert(error.to_string());
        }
    };
    for _ in 0..opts.conns {
        if pending.len() >= opts.connect_concurrency {
            if let Some(result) = pending.join_next().await {
                record(result);
            }
        }
        let addr = Arc::clone(&addr);
        pending.spawn(async move { Client::connect(&addr, "load-idle").await });
    }
    while let Some(result) = pending.join_next().await {
        record(result);
    }
    let connect_secs = start.elapsed().as_secs_f64();
    let version = clients
        .first()
        .map_or("?".to_string(), |c| c.server_version().to_string());
    tokio::time::sleep(opts.hold).await;
    let rss_after = opts.pid.map(rss_kib).transpose()?;

    // Every connection must still be open and served: PING them all, then collect the PONGs.
    for client in &mut clients {
        client.writer.write_all(b"PING\r\n").await?;
    }
    let mut held = 0usize;
    for client in &mut clients {
        let pong = tokio::time::timeout(
            Duration::from_secs(10),
            client.reader.wait_pong(&mut client.writer),
        )
        .await;
        if matches!(pong, Ok(Ok(()))) {
            held += 1;
        }
    }
    let mut report = Report::default();
    report
        .add("scenario", "idle")
        .add("conns", opts.conns)
        .add("connected", clients.len())
        .add("held", held)
        .add("failed", failures)
        .add("connect_secs", format!("{connect_secs:.3}"))
        .add(
            "conns_per_sec",
            format!("{:.0}", clients.len() as f64 / connect_secs),
        );
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        let per_conn = (after.saturating_sub(before) * 1024) as f64 / clients.len().max(1) as f64;
        report
            .add("rss_before_kib", before)
            .add("rss_after_kib", after)
            .add("rss_per_conn_bytes", format!("{per_conn:.0}"));
    }
    report.add("server_version", version);
    if let Some(error) = first_error {
        report.add("first_error", format!("{error:?}").replace(' ', "_"));
    }
    drop(clients);
    Ok(report)
}

/// CPU time a process has run so far, in nanoseconds: the sum over its threads of the
/// scheduler's run time (`/proc/<pid>/task/*/schedstat`).
pub(crate) fn cpu_nanos(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        // A thread may end between the listing and the read.
        let Ok(stat) = std::fs::read_to_string(path) else {
            continue;
        };
        let nanos = stat
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok());
        total += nanos.ok_or_else(|| io::Error::other(format!("bad schedstat for {pid}")))?;
    }
    Ok(total)
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("no VmRSS for pid {pid}")))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The defaults, publishing on `bench.js`.
    pub(crate) fn options() -> Options {
        Options {
            subject: "bench.js".to_string(),
            ..Options::default()
        }
    }

    #[test]
    fn batches_end_with_a_ping() {
        assert_eq!(
            batch_of(b"PUB a 0\r\n\r\n", 2),
            b"PUB a 0\r\n\r\nPUB a 0\r\n\r\nPING\r\n"
        );
    }

    #[test]
    fn reports_are_key_value_lines() {
        let mut report = Report::default();
        report.add("a", 1).add("b", "x");
        assert_eq!(report.line(), "a=1 b=x");
    }

    #[test]
    fn rss_and_cpu_of_self() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
        assert!(cpu_nanos(std::process::id()).unwrap() > 0);
    }
}
