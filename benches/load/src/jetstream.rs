//! JetStream acked publish (`jspub`): publishes to a stream's subject with a reply inbox and
//! counts a message done when its PubAck arrives, with `--inflight` messages unacknowledged at
//! most. Only the plain client protocol and the JSON API every JetStream server answers
//! (`$JS.API.STREAM.CREATE/DELETE.<name>`), so it measures any server the same way.

use std::fmt::Write as _;
use std::io;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::AsyncWriteExt;

use crate::client::{answer_pings, Client, Msg, HEADER_BLOCK};
use crate::scenarios::{cpu_nanos, Options, Report};

/// How long a JetStream API request (create, delete) may take before the run fails.
const API_TIMEOUT: Duration = Duration::from_secs(10);

/// The stream the run publishes to: file storage, limits retention, no limits.
fn stream_config(name: &str, subject: &str) -> String {
    format!(
        "{{\"name\":\"{name}\",\"subjects\":[\"{subject}\"],\"retention\":\"limits\",\
         \"storage\":\"file\",\"max_msgs\":-1,\"max_bytes\":-1,\"discard\":\"old\",\
         \"num_replicas\":1}}"
    )
}

/// Creates the stream (deleting any left from an earlier run), publishes for `--duration` (or
/// `--msgs`), waits for every PubAck, deletes the stream, and reports acked messages per
/// second and the ack latency percentiles.
pub async fn publish_acked(opts: &Options) -> io::Result<Report> {
    let mut client = Client::connect_with(&opts.addr, "load-jspub", true).await?;
    let version = client.server_version().to_string();
    let inbox = inbox_prefix();
    client.subscribe(&format!("{inbox}.>"), None).await?;
    client.reader.reserve_for_streaming();

    delete_stream(&mut client, &inbox, &opts.stream, true).await?;
    let created = api(
        &mut client,
        &inbox,
        &format!("$JS.API.STREAM.CREATE.{}", opts.stream),
        &stream_config(&opts.stream, &opts.subject),
    )
    .await?;
    if let Some(error) = api_error(&created) {
        return Err(io::Error::other(format!(
            "cannot create stream {}: {error}",
            opts.stream
        )));
    }

    let cpu_before = opts.pid.map(cpu_nanos).transpose()?;
    let run = publish(opts, &mut client, &inbox).await?;
    let cpu_after = opts.pid.map(cpu_nanos).transpose()?;
    delete_stream(&mut client, &inbox, &opts.stream, false).await?;

    let secs = run.elapsed.as_secs_f64();
    let rate = run.acked as f64 / secs;
    let mut latencies = run.latencies;
    latencies.sort_unstable();
    let mean = latencies.iter().sum::<u64>() as f64 / latencies.len().max(1) as f64 / 1000.0;
    let mut report = Report::default();
    report
        .add("scenario", "jspub")
        .add("size", opts.size)
        .add("inflight", opts.inflight)
        .add("msgs", run.acked)
        .add("secs", format!("{secs:.3}"))
        .add("msgs_per_sec", format!("{rate:.0}"))
        .add(
            "payload_mb_per_sec",
            format!("{:.1}", rate * opts.size as f64 / 1e6),
        )
        .add("p50_us", format!("{:.1}", percentile(&latencies, 50.0)))
        .add("p99_us", format!("{:.1}", percentile(&latencies, 99.0)))
        .add("p999_us", format!("{:.1}", percentile(&latencies, 99.9)))
        .add("max_us", format!("{:.1}", percentile(&latencies, 100.0)))
        .add("mean_us", format!("{mean:.1}"))
        .add("last_seq", run.last_seq);
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        let per_msg = after.saturating_sub(before) as f64 / run.acked.max(1) as f64;
        report.add("server_cpu_ns_per_msg", format!("{per_msg:.0}"));
    }
    report.add("server_version", version);
    Ok(report)
}

/// A reply prefix no other run shares: `_INBOX.jsbench.<pid><nanos>`.
fn inbox_prefix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("_INBOX.jsbench.{}x{nanos:x}", std::process::id())
}

struct AckedRun {
    acked: u64,
    /// Until the last PubAck.
    elapsed: Duration,
    /// Publish to PubAck, in nanoseconds, one per message.
    latencies: Vec<u64>,
    /// The highest stream sequence acknowledged.
    last_seq: u64,
}

/// The publish loop: keeps `inflight` messages unacknowledged, each with the reply subject
/// `<inbox>.<slot>` of a free slot, and frees the slot when its PubAck comes back.
async fn publish(opts: &Options, client: &mut Client, inbox: &str) -> io::Result<AckedRun> {
    let slots = usize::try_from(opts.inflight.max(1)).unwrap_or(usize::MAX);
    let mut sent_at: Vec<Option<Instant>> = vec![None; slots];
    let mut free: Vec<usize> = (0..slots).rev().collect();
    let payload: Vec<u8> = (0..opts.size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut out = Vec::new();
    let mut latencies = Vec::new();
    let mut sent = 0u64;
    let mut acked = 0u64;
    let mut last_seq = 0u64;

    let start = Instant::now();
    loop {
        let more = |sent: u64| match opts.msgs {
            Some(total) => sent < total,
            None => start.elapsed() < opts.duration,
        };
        let now = Instant::now();
        while more(sent) {
            let Some(slot) = free.pop() else {
                break;
            };
            push_frame(&mut out, opts, inbox, slot, &payload);
            sent_at[slot] = Some(now);
            sent += 1;
        }
        if !out.is_empty() {
            client.writer.write_all(&out).await?;
            out.clear();
        }
        if free.len() == slots {
            break; // nothing in flight and nothing more to send
        }
        client.reader.fill().await?;
        let now = Instant::now();
        let mut failure = None;
        let control = client.reader.drain(|msg| {
            if failure.is_some() {
                return;
            }
            match pub_ack(&msg, inbox, &opts.stream, &opts.subject) {
                Ok(Some((slot, seq))) => match sent_at.get_mut(slot).and_then(Option::take) {
                    Some(at) => {
                        let nanos = u64::try_from((now - at).as_nanos()).unwrap_or(u64::MAX);
                        latencies.push(nanos);
                        free.push(slot);
                        acked += 1;
                        last_seq = last_seq.max(seq);
                    }
                    None => failure = Some(format!("a PubAck for nothing in flight (slot {slot})")),
                },
                Ok(None) => {}
                Err(error) => failure = Some(error),
            }
        })?;
        answer_pings(&mut client.writer, control.pings).await?;
        if let Some(failure) = failure {
            return Err(io::Error::other(failure));
        }
    }
    Ok(AckedRun {
        acked,
        elapsed: start.elapsed(),
        latencies,
        last_seq,
    })
}

/// Appends one `PUB <subject> <inbox>.<slot> <size>` (or HPUB with `--headers`) frame.
fn push_frame(out: &mut Vec<u8>, opts: &Options, inbox: &str, slot: usize, payload: &[u8]) {
    let subject = &opts.subject;
    let mut line = String::with_capacity(subject.len() + inbox.len() + 32);
    if opts.headers {
        let total = HEADER_BLOCK.len() + payload.len();
        let header = HEADER_BLOCK.len();
        let _ = write!(line, "HPUB {subject} {inbox}.{slot} {header} {total}\r\n");
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(HEADER_BLOCK);
    } else {
        let _ = write!(line, "PUB {subject} {inbox}.{slot} {}\r\n", payload.len());
        out.extend_from_slice(line.as_bytes());
    }
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

/// A message on the inbox: `Ok(Some((slot, seq)))` for a PubAck, `Ok(None)` for anything not
/// a PubAck (a late API reply), `Err` for an error PubAck or a no-responders status.
fn pub_ack(
    msg: &Msg<'_>,
    inbox: &str,
    stream: &str,
    subject: &str,
) -> Result<Option<(usize, u64)>, String> {
    let Some(token) = msg
        .subject
        .strip_prefix(inbox.as_bytes())
        .and_then(|rest| rest.strip_prefix(b"."))
    else {
        return Ok(None);
    };
    let Some(slot) = std::str::from_utf8(token).ok().and_then(|t| t.parse().ok()) else {
        return Ok(None);
    };
    if let Some(status) = status_of(msg.header) {
        return Err(match status.as_str() {
            "503" => format!("no responders: no stream takes {subject}"),
            _ => format!("PubAck with status {status}"),
        });
    }
    let text = String::from_utf8_lossy(msg.payload);
    if let Some(error) = api_error(&text) {
        return Err(format!("error PubAck: {error}"));
    }
    let seq = json_value(&text, "seq").and_then(|s| s.parse().ok());
    let named = json_value(&text, "stream");
    match (seq, named) {
        (Some(seq), Some(named)) if named == stream => Ok(Some((slot, seq))),
        _ => Err(format!("unexpected PubAck {text:?}")),
    }
}

/// The status code of a header block (`NATS/1.0 503` gives `503`), if it has one.
fn status_of(header: &[u8]) -> Option<String> {
    let first = header.split(|&b| b == b'\n').next()?;
    let first = String::from_utf8_lossy(first);
    let code = first
        .trim()
        .strip_prefix("NATS/1.0")?
        .split_whitespace()
        .next()?;
    Some(code.to_string())
}

/// Deletes the stream; with `missing_ok`, a stream that does not exist is fine.
async fn delete_stream(
    client: &mut Client,
    inbox: &str,
    stream: &str,
    missing_ok: bool,
) -> io::Result<()> {
    let reply = api(
        client,
        inbox,
        &format!("$JS.API.STREAM.DELETE.{stream}"),
        "",
    )
    .await?;
    match api_error(&reply) {
        None => Ok(()),
        // 10059: stream not found.
        Some(_) if missing_ok && json_value(&reply, "err_code") == Some("10059") => Ok(()),
        Some(_) if missing_ok && json_value(&reply, "code") == Some("404") => Ok(()),
        Some(error) => Err(io::Error::other(format!(
            "cannot delete stream {stream}: {error}"
        ))),
    }
}

/// One JetStream API request: publishes `body` to `subject` with the reply `<inbox>.api` and
/// returns the reply's payload. Fails on no responders (JetStream off) or after
/// [`API_TIMEOUT`].
async fn api(client: &mut Client, inbox: &str, subject: &str, body: &str) -> io::Result<String> {
    let reply_to = format!("{inbox}.api");
    let frame = format!("PUB {subject} {reply_to} {}\r\n{body}\r\n", body.len());
    client.writer.write_all(frame.as_bytes()).await?;
    let wait = async {
        loop {
            client.reader.fill().await?;
            let mut reply: Option<Result<String, String>> = None;
            let control = client.reader.drain(|msg| {
                if reply.is_none() && msg.subject == reply_to.as_bytes() {
                    reply = Some(match status_of(msg.header).as_deref() {
                        Some("503") => Err(format!(
                            "no responders for {subject}: is JetStream enabled?"
                        )),
                        Some(status) => Err(format!("status {status} from {subject}")),
                        None => Ok(String::from_utf8_lossy(msg.payload).to_string()),
                    });
                }
            })?;
            answer_pings(&mut client.writer, control.pings).await?;
            if let Some(reply) = reply {
                return reply.map_err(io::Error::other);
            }
        }
    };
    match tokio::time::timeout(API_TIMEOUT, wait).await {
        Ok(reply) => reply,
        Err(_) => Err(io::Error::other(format!(
            "no reply to {subject} within {API_TIMEOUT:?}: is JetStream enabled?"
        ))),
    }
}

/// The `"error"` of a JetStream API reply, as `description (code N, err_code M)`.
fn api_error(reply: &str) -> Option<String> {
    let at = reply.find("\"error\"")?;
    let error = &reply[at..];
    let description = json_value(error, "description").unwrap_or(error);
    let mut text = description.to_string();
    if let Some(code) = json_value(error, "code") {
        let _ = write!(text, " (code {code}");
        if let Some(err_code) = json_value(error, "err_code") {
            let _ = write!(text, ", err_code {err_code}");
        }
        text.push(')');
    }
    Some(text)
}

/// The first value of `"key"` in a JSON text: a string's contents (escapes left as they are)
/// or a scalar's text. Enough for the flat replies of the JetStream API.
fn json_value<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("\"{key}\"");
    let mut from = 0;
    while let Some(at) = json[from..].find(&quoted) {
        let rest = json[from + at + quoted.len()..].trim_start();
        from += at + quoted.len();
        let Some(rest) = rest.strip_prefix(':') else {
            continue; // the key's text as a value, not a key
        };
        let rest = rest.trim_start();
        if let Some(string) = rest.strip_prefix('"') {
            let mut escaped = false;
            for (i, c) in string.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => return Some(&string[..i]),
                    _ => escaped = false,
                }
            }
            return None;
        }
        let end = rest
            .find(|c: char| c == ',' || c == '}' || c == ']' || c.is_whitespace())
            .unwrap_or(rest.len());
        return Some(&rest[..end]);
    }
    None
}

/// The `p`th percentile of sorted nanoseconds, in microseconds (0 when empty).
fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values() {
        let ack = r#"{"stream":"BENCH","seq":42}"#;
        assert_eq!(json_value(ack, "stream"), Some("BENCH"));
        assert_eq!(json_value(ack, "seq"), Some("42"));
        assert_eq!(json_value(r#"{ "seq" : 7 , "x":1}"#, "seq"), Some("7"));
        assert_eq!(json_value(ack, "missing"), None);
        let error = r#"{"type":"t","error":{"code":404,"err_code":10059,"description":"stream not found"}}"#;
        assert_eq!(
            api_error(error).as_deref(),
            Some("stream not found (code 404, err_code 10059)")
        );
        assert_eq!(api_error(r#"{"success":true}"#), None);
    }

    #[test]
    fn pub_acks() {
        let msg = |subject: &'static [u8], header: &'static [u8], payload: &'static [u8]| Msg {
            subject,
            reply: None,
            header,
            payload,
        };
        let ok = msg(b"_INBOX.j.3", b"", br#"{"stream":"BENCH","seq":9}"#);
        assert_eq!(pub_ack(&ok, "_INBOX.j", "BENCH", "b"), Ok(Some((3, 9))));
        let api = msg(b"_INBOX.j.api", b"", b"{}");
        assert_eq!(pub_ack(&api, "_INBOX.j", "BENCH", "b"), Ok(None));
        let error = msg(
            b"_INBOX.j.0",
            b"",
            br#"{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}"#,
        );
        let text = pub_ack(&error, "_INBOX.j", "BENCH", "b").unwrap_err();
        assert!(text.contains("maximum messages exceeded"), "{text}");
        let none = msg(b"_INBOX.j.0", b"NATS/1.0 503\r\n\r\n", b"");
        assert!(pub_ack(&none, "_INBOX.j", "BENCH", "b")
            .unwrap_err()
            .contains("no responders"));
        let other = msg(b"_INBOX.j.0", b"", br#"{"stream":"OTHER","seq":1}"#);
        assert!(pub_ack(&other, "_INBOX.j", "BENCH", "b").is_err());
    }

    #[test]
    fn frames() {
        let opts = crate::scenarios::tests::options();
        let mut out = Vec::new();
        push_frame(&mut out, &opts, "_I.x", 5, b"abc");
        assert_eq!(out, b"PUB bench.js _I.x.5 3\r\nabc\r\n");
        let opts = Options {
            headers: true,
            ..opts
        };
        out.clear();
        push_frame(&mut out, &opts, "_I.x", 0, b"ab");
        assert_eq!(out, b"HPUB bench.js _I.x.0 12 14\r\nNATS/1.0\r\n\r\nab\r\n");
        assert_eq!(status_of(b"NATS/1.0 503\r\n\r\n").as_deref(), Some("503"));
        assert_eq!(status_of(b"NATS/1.0\r\n\r\n"), None);
    }

    #[test]
    fn percentiles() {
        assert_eq!(percentile(&[], 50.0), 0.0);
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
    }
}
