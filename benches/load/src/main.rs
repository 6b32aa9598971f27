//! `switchboard-load`: an end-to-end load tool for any NATS server, in the spirit of
//! `nats bench`. It speaks the raw client protocol over TCP with no client library in between,
//! so the same bytes measure Switchboard and nats-server alike.
//!
//! Each run prints one line of `key=value` pairs (see `--help`); `benches/compare.sh` runs the
//! scenarios against several servers and tabulates the medians, `benches/js_compare.sh` does
//! the same for JetStream acked publishing (`jspub`).

mod client;
mod jetstream;
mod scenarios;

use std::process::ExitCode;
use std::time::Duration;

use scenarios::{Flow, Options};

const USAGE: &str = "\
usage: switchboard-load <scenario> [options]

scenarios:
  pub        one publisher, no subscriber                  (msgs/s)
  pubsub     one publisher, one subscriber                 (msgs/s)
  fanout     one publisher, --subs subscribers             (msgs/s published; each gets all)
  queue      one publisher, --subs subscribers in a queue group
  reqrep     request/reply, one request in flight          (p50/p99/p99.9 in us)
  idle       --conns idle connections                      (connect time, server RSS per conn)
  jspub      JetStream publish, each acked: creates stream --stream on --subject (bench.js),
             keeps --inflight publishes unacked, deletes the stream  (acked msgs/s, ack p50/p99)

options:
  --url URL            server (nats://127.0.0.1:4222)
  --size BYTES         payload size (16)
  --msgs N             messages or requests to send (default: for --duration)
  --duration SECS      how long to publish (2; reqrep stops at --msgs 20000 or this)
  --subs N             subscribers for fanout/queue (4)
  --headers            HPUB with a 12-byte header block instead of PUB
  --conns N            idle connections (1000)
  --pid PID            server process id: its CPU time per message, its RSS (idle)
  --hold SECS          hold idle connections this long before reading RSS (1)
  --window N           PINGs in flight: batches the server has not answered yet (8)
  --batch-bytes N      bytes of PUB frames per write, each batch ends with a PING (65536)
  --ahead-bytes N      how far the publisher may run ahead of the slowest subscriber (16 MiB)
  --warmup N           requests before latencies are recorded (1000)
  --subject S          subject to publish on (bench.load)
  --inflight N         jspub: publishes awaiting their PubAck, at most; 1 is synchronous (256)
  --stream NAME        jspub: the stream to create and delete (BENCH)
  --threads N          tokio worker threads; 1 runs everything on one thread (1)
  --timeout SECS       give up after this long (120)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let (scenario, opts, threads, timeout) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("switchboard-load: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("switchboard-load: cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let run = async {
            match scenario.as_str() {
                "pub" => scenarios::throughput(&opts, Flow::PubOnly).await,
                "pubsub" => {
                    let opts = Options { subs: 1, ..opts };
                    scenarios::throughput(&opts, Flow::FanOut).await
                }
                "fanout" => scenarios::throughput(&opts, Flow::FanOut).await,
                "queue" => scenarios::throughput(&opts, Flow::Queue).await,
                "reqrep" => scenarios::request_reply(&opts).await,
                "idle" => scenarios::idle(&opts).await,
                "jspub" => jetstream::publish_acked(&opts).await,
                other => Err(std::io::Error::other(format!("unknown scenario {other:?}"))),
            }
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(std::io::Error::other(format!(
                "timed out after {timeout:?}"
            ))),
        }
    });
    match result {
        Ok(report) => {
            println!("{}", report.line());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("switchboard-load: {scenario}: {error}");
            ExitCode::FAILURE
        }
    }
}

type Parsed = (String, Options, usize, Duration);

fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut opts = Options::default();
    let mut subject = None;
    let mut threads = 1;
    let mut timeout = Duration::from_secs(120);
    let mut scenario = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        if !flag.starts_with('-') {
            if scenario.replace(flag.to_string()).is_some() {
                return Err(format!("unexpected argument {flag:?}"));
            }
            continue;
        }
        if flag == "--headers" {
            opts.headers = true;
            continue;
        }
        let value = match inline {
            Some(value) => value,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))?,
        };
        let number = |v: &str| -> Result<u64, String> {
            v.replace('_', "")
                .parse()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        let seconds = |v: &str| -> Result<Duration, String> {
            v.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("{flag}: {v:?} is not a number of seconds"))
        };
        match flag {
            "--url" | "-s" => opts.addr = client::address_of(&value),
            "--size" => opts.size = number(&value)? as usize,
            "--msgs" => opts.msgs = Some(number(&value)?),
            "--duration" => opts.duration = seconds(&value)?,
            "--subs" => opts.subs = (number(&value)? as usize).max(1),
            "--conns" => opts.conns = number(&value)? as usize,
            "--pid" => opts.pid = Some(number(&value)? as u32),
            "--hold" => opts.hold = seconds(&value)?,
            "--window" => opts.window = number(&value)?.max(1),
            "--batch-bytes" => opts.batch_bytes = number(&value)? as usize,
            "--ahead-bytes" => opts.ahead_bytes = number(&value)? as usize,
            "--warmup" => opts.warmup = number(&value)?,
            "--subject" => subject = Some(value),
            "--inflight" => opts.inflight = number(&value)?.max(1),
            "--stream" => opts.stream = value,
            "--threads" => threads = number(&value)? as usize,
            "--timeout" => timeout = seconds(&value)?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let scenario = scenario.ok_or("no scenario given")?;
    match subject {
        Some(subject) => opts.subject = subject,
        None if scenario == "jspub" => opts.subject = "bench.js".to_string(),
        None => {}
    }
    Ok((scenario, opts, threads, timeout))
}
