//! Logs in nats-server's format: `[pid] 2006/01/02 15:04:05.000000 [INF] message`, to stderr or
//! appended to a file (`-l`). Notices, warnings and errors always show; `-D` adds debug lines,
//! `-V` trace lines (the raw protocol), each independently as in nats-server.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// What the logging flags asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogOptions {
    /// `-l FILE`: append to this file instead of writing to stderr.
    pub file: Option<PathBuf>,
    /// `-D`
    pub debug: bool,
    /// `-V`
    pub trace: bool,
    /// `-T` (on by default): stamp each line with the time.
    pub logtime: bool,
    /// `--logtime_utc`: stamp in UTC rather than local time.
    pub logtime_utc: bool,
}

impl Default for LogOptions {
    fn default() -> LogOptions {
        LogOptions {
            file: None,
            debug: false,
            trace: false,
            logtime: true,
            logtime_utc: false,
        }
    }
}

/// Changes the installed logger while the server runs: SIGUSR1 reopens the log file (after a
/// rotation moved it), a config reload switches levels, time stamps and the file.
#[derive(Clone, Debug)]
pub struct LogHandle {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    debug: AtomicBool,
    trace: AtomicBool,
    logtime: AtomicBool,
    utc: AtomicBool,
    sink: Mutex<Sink>,
}

/// Where lines go.
#[derive(Debug)]
enum Sink {
    Stderr,
    File { path: PathBuf, file: File },
}

impl LogHandle {
    /// Switches `-D` / `-V` on or off.
    pub fn set_levels(&self, debug: bool, trace: bool) {
        self.shared.debug.store(debug, Ordering::Relaxed);
        self.shared.trace.store(trace, Ordering::Relaxed);
        // tracing caches each call site's interest; ask it to consult the filter again.
        tracing::callsite::rebuild_interest_cache();
    }

    /// Switches the time stamp (`-T`) and its zone.
    pub fn set_logtime(&self, logtime: bool, utc: bool) {
        self.shared.logtime.store(logtime, Ordering::Relaxed);
        self.shared.utc.store(utc, Ordering::Relaxed);
    }

    /// Writes to `file` from now on (stderr when `None`). On error nothing changes.
    pub fn set_file(&self, file: Option<&Path>) -> io::Result<()> {
        let sink = match file {
            Some(path) => Sink::File {
                path: path.to_path_buf(),
                file: open_log(path)?,
            },
            None => Sink::Stderr,
        };
        *lock(&self.shared.sink) = sink;
        Ok(())
    }

    /// Opens the log file again by its name (SIGUSR1, after logrotate moved it). A no-op when
    /// logging to stderr.
    pub fn reopen(&self) -> io::Result<()> {
        let mut sink = lock(&self.shared.sink);
        if let Sink::File { path, file } = &mut *sink {
            *file = open_log(path)?;
        }
        Ok(())
    }

    /// The file being logged to, if any.
    pub fn file(&self) -> Option<PathBuf> {
        match &*lock(&self.shared.sink) {
            Sink::File { path, .. } => Some(path.clone()),
            Sink::Stderr => None,
        }
    }
}

/// Locks the sink; a panic while writing a log line leaves it usable.
fn lock(sink: &Mutex<Sink>) -> MutexGuard<'_, Sink> {
    sink.lock().unwrap_or_else(PoisonError::into_inner)
}

fn open_log(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("error opening file {}: {error}", path.display()),
            )
        })
}

/// Installs the global logger and returns the handle that changes it. Fails only if the log
/// file cannot be opened (or a logger is already installed).
pub fn init(options: &LogOptions) -> io::Result<LogHandle> {
    let sink = match &options.file {
        Some(path) => Sink::File {
            path: path.clone(),
            file: open_log(path)?,
        },
        None => Sink::Stderr,
    };
    let shared = Arc::new(Shared {
        debug: AtomicBool::new(options.debug),
        trace: AtomicBool::new(options.trace),
        logtime: AtomicBool::new(options.logtime),
        utc: AtomicBool::new(options.logtime_utc),
        sink: Mutex::new(sink),
    });
    let format = NatsFormat {
        pid: std::process::id(),
        shared: Arc::clone(&shared),
    };
    let layer = tracing_subscriber::fmt::layer()
        .event_format(format)
        .with_ansi(false)
        .with_writer(SinkWriter(Arc::clone(&shared)))
        .with_filter(LevelFlags(Arc::clone(&shared)));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::set_global_default(subscriber).map_err(io::Error::other)?;
    Ok(LogHandle { shared })
}

/// Notices, warnings and errors always; debug with `-D`, trace with `-V`. Decided per call
/// site from its level alone, so tracing caches it (no cost per event) until
/// [`LogHandle::set_levels`] asks it to decide again.
struct LevelFlags(Arc<Shared>);

impl<S> Filter<S> for LevelFlags {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.level_enabled(*metadata.level())
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.level_enabled(*metadata.level()) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(if self.0.trace.load(Ordering::Relaxed) {
            LevelFilter::TRACE
        } else if self.0.debug.load(Ordering::Relaxed) {
            LevelFilter::DEBUG
        } else {
            LevelFilter::INFO
        })
    }
}

impl LevelFlags {
    fn level_enabled(&self, level: Level) -> bool {
        match level {
            Level::TRACE => self.0.trace.load(Ordering::Relaxed),
            Level::DEBUG => self.0.debug.load(Ordering::Relaxed),
            _ => true,
        }
    }
}

/// Hands tracing a writer for each line: the current sink, locked for the line.
struct SinkWriter(Arc<Shared>);

impl<'a> MakeWriter<'a> for SinkWriter {
    type Writer = SinkGuard<'a>;

    fn make_writer(&'a self) -> SinkGuard<'a> {
        SinkGuard(lock(&self.0.sink))
    }
}

struct SinkGuard<'a>(MutexGuard<'a, Sink>);

impl io::Write for SinkGuard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut *self.0 {
            Sink::Stderr => io::stderr().write(buf),
            Sink::File { file, .. } => file.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut *self.0 {
            Sink::Stderr => io::stderr().flush(),
            Sink::File { file, .. } => file.flush(),
        }
    }
}

/// nats-server's line format.
struct NatsFormat {
    pid: u32,
    shared: Arc<Shared>,
}

impl<S, N> FormatEvent<S, N> for NatsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "[{}] ", self.pid)?;
        if self.shared.logtime.load(Ordering::Relaxed) {
            write_timestamp(&mut writer, self.shared.utc.load(Ordering::Relaxed))?;
            writer.write_str(" ")?;
        }
        let label = match *event.metadata().level() {
            Level::ERROR => "[ERR]",
            Level::WARN => "[WRN]",
            Level::INFO => "[INF]",
            Level::DEBUG => "[DBG]",
            Level::TRACE => "[TRC]",
        };
        write!(writer, "{label} ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// `2006/01/02 15:04:05.000000`, Go's `log.LstdFlags | log.Lmicroseconds`.
fn write_timestamp(writer: &mut Writer<'_>, utc: bool) -> fmt::Result {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX);
    let offset = if utc {
        0
    } else {
        local_offset_seconds(seconds)
    };
    let local = seconds.saturating_add(offset);
    let (year, month, day) = switchboard::time::civil_from_days(local.div_euclid(86_400));
    let of_day = local.rem_euclid(86_400);
    write!(
        writer,
        "{year:04}/{month:02}/{day:02} {:02}:{:02}:{:02}.{:06}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since_epoch.subsec_micros()
    )
}

/// The local zone's offset from UTC at `unix_seconds`, from the C library (TZ, /etc/localtime).
#[cfg(unix)]
fn local_offset_seconds(unix_seconds: i64) -> i64 {
    // Only a 32-bit time_t can fail this, past 2038; a clamped time still has the zone's offset.
    let time = libc::time_t::try_from(unix_seconds).unwrap_or(libc::time_t::MAX);
    // SAFETY: localtime_r only writes the `tm` we pass it; all-zero bytes are a valid `tm`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the thread-safe variant.
    let filled = unsafe { libc::localtime_r(&time, &mut tm) };
    if filled.is_null() {
        return 0;
    }
    // `tm_gmtoff` is a C long: i64 here, i32 on 32-bit targets.
    #[allow(clippy::useless_conversion)]
    i64::from(tm.tm_gmtoff)
}

#[cfg(not(unix))]
fn local_offset_seconds(_unix_seconds: i64) -> i64 {
    0
}
