//! The monitoring HTTP server (`-m`, `--http_port`): nats-server's endpoints on their own
//! listener, answered from snapshots the core builds (`switchboard::monitor`).
//!
//! | path | answer |
//! | --- | --- |
//! | `/` | an HTML page linking the endpoints |
//! | `/varz`, `/connz`, `/subsz` (and `/subscriptionsz`), `/routez`, `/jsz` | nats-server's JSON, indented as nats-server indents it |
//! | `/healthz` | `{"status":"ok"}` (compact, as nats-server), or its error answers |
//! | `/metrics` | Prometheus / OpenMetrics text ([`crate::metrics`]) |
//! | anything else | `404 page not found`, as Go's `http.NotFound` |
//!
//! As nats-server: JSON is `application/json` with `Access-Control-Allow-Origin: *`; a
//! `callback=` parameter turns it into JSONP (`application/javascript`, `cb(...)`), though only
//! for a callback that is a plain JavaScript name (nats-server echoes anything, which lets a
//! link inject script); a bad query parameter is a `400` with nats-server's text as
//! `text/plain`.
//!
//! Each request takes one snapshot on the driver's task through [`DriverHandle::inspect`]: the
//! closure copies out what the answer shows and nothing else; query parsing before it and JSON
//! encoding after it run on the request's own task.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use switchboard::monitor::{self, BadRequest, HostFacts, Query};
use switchboard::Wall;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::driver::DriverHandle;
use crate::metrics;

/// A client must send its request headers within this time, so idle sockets cannot pile up.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause after a failed accept (too many open files...), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// CPU use is measured over at least this window (nats-server samples every second).
const CPU_SAMPLE_WINDOW: Duration = Duration::from_secs(1);

/// A running monitor. Dropping it does not stop it; [`Monitor::stop`] does.
#[derive(Debug)]
pub struct Monitor {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Monitor {
    /// The address the monitor listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Records that the configuration was (re)loaded now (`/varz` `config_load_time`).
    pub fn config_loaded(&self, at: Wall) {
        *lock(&self.state.config_load_time) = at;
    }

    /// Stops accepting and drops every open monitoring connection.
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Binds the monitor's listener. Called before the client listener is bound, so that a probe
/// polling `/varz` can connect as soon as the client port accepts.
pub async fn bind(host: &str, port: u16) -> io::Result<TcpListener> {
    TcpListener::bind((host, port)).await.map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("can't listen to the monitor port: {error}"),
        )
    })
}

/// Serves the endpoints on `listener` for the driver behind `handle`. `http_host` is the
/// configured host, shown in `/varz` and in the log line; `start` is the server's start.
pub fn spawn(
    listener: TcpListener,
    handle: DriverHandle,
    http_host: &str,
    start: Wall,
) -> io::Result<Monitor> {
    let addr = listener.local_addr()?;
    let state = Arc::new(State {
        handle,
        http_host: http_host.to_string(),
        http_port: addr.port(),
        start,
        started: Instant::now(),
        config_load_time: Mutex::new(start),
        requests: Mutex::new(BTreeMap::new()),
        cpu: Mutex::new(CpuSampler::default()),
    });
    let task = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
    Ok(Monitor { addr, state, task })
}

/// What every request needs.
#[derive(Debug)]
struct State {
    handle: DriverHandle,
    http_host: String,
    http_port: u16,
    start: Wall,
    /// The same moment as `start`, on the monotonic clock (the first CPU window begins here).
    started: Instant,
    config_load_time: Mutex<Wall>,
    /// Requests per endpoint (`http_req_stats`).
    requests: Mutex<BTreeMap<String, u64>>,
    cpu: Mutex<CpuSampler>,
}

/// A poisoned lock only means another request panicked mid-update of a counter; the counter
/// is still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    /// The facts `/varz` needs from the host, read now.
    fn host_facts(&self) -> (HostFacts, f64) {
        let usage = process_usage();
        let cpu_percent = lock(&self.cpu).percent(Instant::now(), usage.cpu_seconds, self.started);
        let facts = HostFacts {
            start: self.start,
            config_load_time: *lock(&self.config_load_time),
            mem_bytes: usage.rss_bytes,
            cpu_percent,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            http_host: self.http_host.clone(),
            http_port: self.http_port,
            http_req_stats: lock(&self.requests).clone(),
        };
        (facts, usage.cpu_seconds)
    }

    fn count(&self, endpoint: Endpoint) {
        *lock(&self.requests)
            .entry(endpoint.stats_key().to_string())
            .or_default() += 1;
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    // Owned here, so aborting this task drops every connection's task with it.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&state)));
                }
                Err(error) => {
                    tracing::error!("Monitor accept error: {error}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
}

async fn serve_connection(stream: TcpStream, state: Arc<State>) {
    let service = service_fn(move |request| respond(Arc::clone(&state), request));
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = served {
        tracing::debug!("Monitor connection error: {error}");
    }
}

/// The endpoints, by path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Root,
    Varz,
    Connz,
    Subsz,
    Routez,
    Healthz,
    Jsz,
    Metrics,
}

impl Endpoint {
    fn from_path(path: &str) -> Option<Endpoint> {
        Some(match path {
            "/" => Endpoint::Root,
            "/varz" => Endpoint::Varz,
            "/connz" => Endpoint::Connz,
            "/subsz" | "/subscriptionsz" => Endpoint::Subsz,
            "/routez" => Endpoint::Routez,
            "/healthz" => Endpoint::Healthz,
            "/jsz" => Endpoint::Jsz,
            "/metrics" => Endpoint::Metrics,
            _ => return None,
        })
    }

    /// The `http_req_stats` key: nats-server counts `/subscriptionsz` as `/subsz`.
    fn stats_key(self) -> &'static str {
        match self {
            Endpoint::Root => "/",
            Endpoint::Varz => "/varz",
            Endpoint::Connz => "/connz",
            Endpoint::Subsz => "/subsz",
            Endpoint::Routez => "/routez",
            Endpoint::Healthz => "/healthz",
            Endpoint::Jsz => "/jsz",
            Endpoint::Metrics => "/metrics",
        }
    }
}

/// What an endpoint answers, before it becomes HTTP.
enum Reply {
    /// JSON with its HTTP status.
    Json(StatusCode, Vec<u8>),
    Text(StatusCode, &'static str, String),
}

async fn respond(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some(endpoint) = Endpoint::from_path(request.uri().path()) else {
        return Ok(not_found());
    };
    state.count(endpoint);
    let query = Query::parse(request.uri().query().unwrap_or(""));
    let reply = match answer(&state, endpoint, &query).await {
        Ok(reply) => reply,
        Err(Failure::BadRequest(BadRequest(text))) => {
            Reply::Text(StatusCode::BAD_REQUEST, "text/plain; charset=utf-8", text)
        }
        Err(Failure::Unavailable) => Reply::Text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "server is shutting down".to_string(),
        ),
    };
    Ok(into_response(reply, query.get("callback")))
}

/// Why an endpoint did not answer normally.
enum Failure {
    BadRequest(BadRequest),
    /// The driver has stopped (shutdown, or the end of lame duck mode).
    Unavailable,
}

impl From<BadRequest> for Failure {
    fn from(error: BadRequest) -> Failure {
        Failure::BadRequest(error)
    }
}

async fn answer(state: &State, endpoint: Endpoint, query: &Query) -> Result<Reply, Failure> {
    let handle = &state.handle;
    match endpoint {
        Endpoint::Root => Ok(Reply::Text(
            StatusCode::OK,
            "text/html; charset=utf-8",
            root_page(),
        )),
        Endpoint::Varz => {
            let (facts, _) = state.host_facts();
            let varz = snapshot(handle, move |b, now| monitor::varz(b, now, &facts)).await?;
            json(&varz)
        }
        Endpoint::Connz => {
            let options = monitor::ConnzOptions::from_query(query)?;
            json(&snapshot(handle, move |b, now| monitor::connz(b, now, &options)).await?)
        }
        Endpoint::Subsz => {
            let options = monitor::SubszOptions::from_query(query)?;
            json(&snapshot(handle, move |b, now| monitor::subsz(b, now, &options)).await?)
        }
        Endpoint::Routez => {
            monitor::check_routez_query(query)?;
            json(&snapshot(handle, monitor::routez).await?)
        }
        Endpoint::Jsz => {
            let options = monitor::JszOptions::from_query(query)?;
            json(&snapshot(handle, move |b, now| monitor::jsz(b, now, &options)).await??)
        }
        Endpoint::Healthz => {
            let options = monitor::HealthzOptions::from_query(query)?;
            // A round trip through the driver: healthy means routing is running, not only
            // that this task is.
            let failed = snapshot(handle, |b, _| {
                b.jetstream()
                    .map(|js| js.failed_streams())
                    .unwrap_or_default()
            })
            .await?;
            let health = monitor::healthz(&options, &failed);
            let status = StatusCode::from_u16(health.http_status).unwrap_or(StatusCode::OK);
            Ok(Reply::Json(status, to_json(&health.status, false)?))
        }
        Endpoint::Metrics => {
            let (facts, cpu_seconds) = state.host_facts();
            let (varz, stats, jetstream) = snapshot(handle, move |b, now| {
                let js = b.jetstream().map(metrics::JetStreamFigures::of);
                (monitor::varz(b, now, &facts), b.stats().clone(), js)
            })
            .await?;
            let scrape = metrics::Scrape {
                varz: &varz,
                stats: &stats,
                cpu_seconds,
                jetstream,
            };
            let text = metrics::render(&scrape).map_err(|_| Failure::Unavailable)?;
            Ok(Reply::Text(StatusCode::OK, metrics::CONTENT_TYPE, text))
        }
    }
}

/// Runs `look` on the driver's task.
async fn snapshot<R, F>(handle: &DriverHandle, look: F) -> Result<R, Failure>
where
    R: Send + 'static,
    F: FnOnce(&switchboard::Broker, switchboard::Now) -> R + Send + 'static,
{
    handle.inspect(look).await.ok_or(Failure::Unavailable)
}

fn json<T: serde::Serialize>(value: &T) -> Result<Reply, Failure> {
    Ok(Reply::Json(StatusCode::OK, to_json(value, true)?))
}

/// JSON as nats-server writes it: indented by two spaces (`json.MarshalIndent`) or compact.
fn to_json<T: serde::Serialize>(value: &T, pretty: bool) -> Result<Vec<u8>, Failure> {
    let encoded = if pretty {
        serde_json::to_vec_pretty(value)
    } else {
        serde_json::to_vec(value)
    };
    // Our own structs always serialize; a failure would be a bug, answered rather than panicked.
    encoded.map_err(|error| Failure::BadRequest(BadRequest(format!("encoding error: {error}"))))
}

fn into_response(reply: Reply, callback: &str) -> Response<Full<Bytes>> {
    match reply {
        Reply::Json(status, body) if is_js_name(callback) => {
            let mut wrapped = Vec::with_capacity(body.len() + callback.len() + 2);
            wrapped.extend_from_slice(callback.as_bytes());
            wrapped.push(b'(');
            wrapped.extend_from_slice(&body);
            wrapped.push(b')');
            response(status, "application/javascript", wrapped.into(), false)
        }
        Reply::Json(status, body) => response(status, "application/json", body.into(), true),
        Reply::Text(status, content_type, text) => {
            response(status, content_type, text.into(), false)
        }
    }
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
    cors: bool,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if cors {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    response
}

/// Go's `http.NotFound`.
fn not_found() -> Response<Full<Bytes>> {
    let mut response = response(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        Bytes::from_static(b"404 page not found\n"),
        false,
    );
    response.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A JSONP callback we are willing to echo: a dotted JavaScript name, nothing that could
/// close the call and start other script.
fn is_js_name(callback: &str) -> bool {
    let mut chars = callback.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.'))
}

fn root_page() -> String {
    let links: String = [
        ("varz", "General"),
        ("connz", "Connections"),
        ("subsz", "Subscriptions"),
        ("routez", "Routes"),
        ("jsz", "JetStream"),
        ("healthz", "Health Probe"),
        ("metrics", "Prometheus Metrics"),
    ]
    .iter()
    .map(|(path, title)| format!("  <a href=./{path}>{title}<span> /{path}</span></a><br/>\n"))
    .collect();
    format!(
        "<html lang=\"en\">\n<head><title>switchboard</title></head>\n<body>\n  <h1>switchboard v{}</h1>\n{links}</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// CPU use as a percentage of one core, over windows of at least [`CPU_SAMPLE_WINDOW`] (the
/// last full window's figure is shown between samples, as nats-server's periodic sampling).
#[derive(Debug, Default)]
struct CpuSampler {
    last: Option<(Instant, f64)>,
    percent: f64,
}

impl CpuSampler {
    fn percent(&mut self, now: Instant, cpu_seconds: f64, started: Instant) -> f64 {
        if let Some((at, _)) = self.last {
            if now.saturating_duration_since(at) < CPU_SAMPLE_WINDOW {
                return self.percent;
            }
        }
        let (from, cpu_before) = self.last.unwrap_or((started, 0.0));
        let window_seconds = now.saturating_duration_since(from).as_secs_f64();
        if window_seconds > 0.0 {
            let percent = (cpu_seconds - cpu_before).max(0.0) / window_seconds * 100.0;
            // One decimal, as nats-server reports it.
            self.percent = (percent * 10.0).round() / 10.0;
        }
        self.last = Some((now, cpu_seconds));
        self.percent
    }
}

/// Resident memory and CPU time of this process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct ProcessUsage {
    rss_bytes: i64,
    cpu_seconds: f64,
}

/// On Linux from `/proc/self/statm` (resident pages) and `/proc/self/stat` (user and system
/// clock ticks); zeros where that is unavailable.
#[cfg(target_os = "linux")]
fn process_usage() -> ProcessUsage {
    // SAFETY: sysconf only reads a configuration value.
    let (page_bytes, ticks_per_second) = unsafe {
        (
            libc::sysconf(libc::_SC_PAGESIZE),
            libc::sysconf(libc::_SC_CLK_TCK),
        )
    };
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    parse_proc(&statm, &stat, page_bytes, ticks_per_second)
}

#[cfg(not(target_os = "linux"))]
fn process_usage() -> ProcessUsage {
    ProcessUsage::default()
}

/// Reads `/proc/self/statm` and `/proc/self/stat`. The command name in `stat` is in
/// parentheses and may hold spaces, so fields are counted after the last `)`: `utime` and
/// `stime` are the 14th and 15th fields, the 12th and 13th after it.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_proc(statm: &str, stat: &str, page_bytes: i64, ticks_per_second: i64) -> ProcessUsage {
    let resident_pages: i64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .unwrap_or(0);
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |at: usize| -> f64 {
        fields
            .get(at)
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0) as f64
    };
    let cpu_seconds = if ticks_per_second > 0 {
        (ticks(11) + ticks(12)) / ticks_per_second as f64
    } else {
        0.0
    };
    ProcessUsage {
        rss_bytes: resident_pages.saturating_mul(page_bytes.max(0)),
        cpu_seconds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_give_rss_and_cpu_time() {
        let statm = "5000 1200 300 10 0 900 0\n";
        let stat =
            "4242 (switch board) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 100 \
                    20480000 1200 18446744073709551615";
        let usage = parse_proc(statm, stat, 4096, 100);
        assert_eq!(usage.rss_bytes, 1200 * 4096);
        assert_eq!(usage.cpu_seconds, 3.0);
        assert_eq!(parse_proc("", "", 4096, 100), ProcessUsage::default());
    }

    #[test]
    fn cpu_percent_is_measured_over_whole_windows() {
        let started = Instant::now();
        let mut sampler = CpuSampler::default();
        let at = |seconds: u64| started + Duration::from_secs(seconds);
        assert_eq!(sampler.percent(at(2), 1.0, started), 50.0);
        // Within the window: the last figure again.
        assert_eq!(
            sampler.percent(at(2) + Duration::from_millis(10), 9.0, started),
            50.0
        );
        assert_eq!(sampler.percent(at(4), 1.5, started), 25.0);
    }

    #[test]
    fn paths_map_to_endpoints_like_nats_server() {
        assert_eq!(
            Endpoint::from_path("/subscriptionsz"),
            Some(Endpoint::Subsz)
        );
        assert_eq!(Endpoint::Subsz.stats_key(), "/subsz");
        assert_eq!(Endpoint::from_path("/varz/"), None);
        assert_eq!(Endpoint::from_path("/varzz"), None);
    }

    #[test]
    fn only_plain_names_are_echoed_as_jsonp_callbacks() {
        assert!(is_js_name("cb"));
        assert!(is_js_name("jQuery_1.done$"));
        assert!(!is_js_name(""));
        assert!(!is_js_name("alert(1);x"));
        assert!(!is_js_name("1cb"));
    }
}
