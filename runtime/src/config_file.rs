//! `nats.conf` files: read from disk (with their includes and environment variables), parsed by
//! [`switchboard::conf`], and mapped to [`FileOptions`] the way nats-server's
//! `processConfigFileLine` (server/opts.go) maps them: the same keys and aliases, matched
//! without regard to case, the same meanings, and nats-server's error wording.
//!
//! Nothing is ignored silently. A key nats-server knows and Switchboard does not implement yet
//! is parsed and reported in [`Loaded::unsupported`] when ignoring it would change security,
//! routing, persistence or what clients see (the caller refuses the config), or in
//! [`Loaded::unsupported_harmless`] when it only changes operations (logging, profiling,
//! monitoring cosmetics; the caller warns). A key nats-server does not know is an error, worded
//! as nats-server words it (`unknown field "foo"`), unless it is a variable that a `$reference`
//! used. Errors are collected, not stopped at, as nats-server reports all of them at once.
//!
//! Zero values mean what they mean in nats-server (mostly "the default"); the caller applies
//! defaults, as it does for command-line flags, and command-line flags override the file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use switchboard::conf::{
    self, format_go_duration, go_quote, parse_go_duration, ConfSource, Entry, Map, Position, Value,
    ValueKind,
};

/// What a config file sets. `None` is "not in the file".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileOptions {
    /// `host`, `net`, or the host part of `listen`. `Some("")` (from `listen: 4222`) is the
    /// default host, as in nats-server.
    pub host: Option<String>,
    /// `port`, or the port part of `listen`. -1 picks a free port, 0 is the default.
    pub port: Option<i64>,
    pub server_name: Option<String>,
    pub authorization: Option<Authorization>,
    /// `max_payload`.
    pub payload_bytes_max: Option<i32>,
    /// `max_control_line`.
    pub control_line_bytes_max: Option<i32>,
    /// `max_pending`.
    pub pending_bytes_max: Option<i64>,
    /// `max_connections` / `max_conn`. nats-server turns 0 into -1, and a negative limit
    /// refuses every client; that meaning is kept.
    pub connections_max: Option<i64>,
    /// `max_subscriptions` / `max_subs`; 0 is unlimited.
    pub subscriptions_max: Option<i64>,
    pub write_deadline: Option<Duration>,
    pub ping_interval: Option<Duration>,
    /// `ping_max`.
    pub pings_outstanding_max: Option<i64>,
    /// The host part of `http` (monitoring).
    pub http_host: Option<String>,
    /// `http_port` / `monitor_port`, or the port part of `http`.
    pub http_port: Option<i64>,
    /// `pid_file` / `pidfile`.
    pub pid_file: Option<PathBuf>,
    pub ports_file_dir: Option<PathBuf>,
    /// `log_file` / `logfile`.
    pub log_file: Option<PathBuf>,
    pub debug: Option<bool>,
    /// `trace`, also set by `trace_verbose` and `trace_headers` as in nats-server.
    pub trace: Option<bool>,
    pub logtime: Option<bool>,
    pub logtime_utc: Option<bool>,
    pub lame_duck_duration: Option<Duration>,
    pub lame_duck_grace_period: Option<Duration>,
    /// `store_dir` / `storedir` at the top level, or `store_dir` in `jetstream`.
    pub store_dir: Option<PathBuf>,
    pub jetstream: Option<JetStreamOptions>,
    /// Where each option above was set (its key), by field name, for the caller's own checks.
    pub positions: BTreeMap<&'static str, Position>,
}

/// The `authorization` block's settings Switchboard implements.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Authorization {
    /// `user` / `username`.
    pub user: Option<String>,
    /// `pass` / `password` (plain, or a bcrypt hash).
    pub password: Option<String>,
    pub token: Option<String>,
    /// `users`. `Some` even when empty: nats-server treats `users: []` as a users list.
    pub users: Option<Vec<UserEntry>>,
    /// `timeout`, in seconds (a duration string is converted, as in nats-server).
    pub timeout_seconds: Option<f64>,
}

/// One entry of `authorization { users: [...] }`.
#[derive(Clone, Debug, PartialEq)]
pub struct UserEntry {
    pub user: String,
    pub password: Option<String>,
    pub position: Position,
}

/// `jetstream { sync_interval }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JetStreamSync {
    Always,
    Interval(Duration),
}

/// The `jetstream` key: `true`/`false`, `enabled`/`disabled`, or a block.
#[derive(Clone, Debug, PartialEq)]
pub struct JetStreamOptions {
    /// A block enables JetStream unless it says `enabled: false`.
    pub enabled: bool,
    /// `max_memory_store` / `max_mem_store` / `max_mem`.
    pub memory_store_bytes_max: Option<i64>,
    /// `max_file_store` / `max_file`.
    pub file_store_bytes_max: Option<i64>,
    /// `sync` / `sync_interval`: `always` (every write synced before its ack, the default
    /// here) or a duration (acks at once, a sync every interval, as nats-server's default).
    pub sync: Option<JetStreamSync>,
    pub position: Position,
}

/// A config file read and mapped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Loaded {
    pub options: FileOptions,
    /// Keys nats-server knows that Switchboard does not implement yet and that change security,
    /// routing, persistence or the wire (TLS, cluster, accounts, permissions, JetStream
    /// enabled ...): the caller must refuse to run with them. Nested keys are dotted paths
    /// (`authorization.users.permissions`).
    pub unsupported: Vec<(String, Position)>,
    /// Keys nats-server knows that Switchboard does not implement yet and that only change
    /// operations (logging, profiling, monitoring cosmetics): the caller warns.
    pub unsupported_harmless: Vec<(String, Position)>,
    /// nats-server's warnings (an integer duration, a high auth timeout, an empty config).
    pub warnings: Vec<Diagnostic>,
}

/// One error or warning: `file:line:column: message`, or the message alone when it is about
/// the file as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub position: Option<Position>,
    pub message: String,
}

impl Diagnostic {
    fn at(position: &Position, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            position: Some(position.clone()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.position {
            Some(position) => write!(f, "{position}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a config file was refused: every error found, and the warnings seen on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

impl ConfigError {
    fn one(diagnostic: Diagnostic) -> ConfigError {
        ConfigError {
            errors: vec![diagnostic],
            warnings: Vec::new(),
        }
    }
}

/// One line per problem, warnings first, as nats-server prints them.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self
            .warnings
            .iter()
            .chain(&self.errors)
            .map(Diagnostic::to_string)
            .collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for ConfigError {}

/// Reads the config file at `path`, its includes (relative to the including file) and the
/// environment variables it references, and maps it.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let file = path.to_string_lossy();
    let text = read_text(path).map_err(ConfigError::one)?;
    load_str(&text, &file, &FileSystemSource)
}

/// Maps config `text`, named `file`, with includes and environment variables from `source`.
pub fn load_str(text: &str, file: &str, source: &dyn ConfSource) -> Result<Loaded, ConfigError> {
    let map = conf::parse(text, file, source)
        .map_err(|error| ConfigError::one(Diagnostic::at(&error.position, error.message)))?;
    let mut mapper = Mapper::default();
    if map.is_empty() {
        mapper.warnings.push(Diagnostic {
            position: None,
            message: format!("{file}: config has no values or is empty"),
        });
    }
    for entry in &map {
        mapper.top_level(entry);
    }
    mapper.finish()
}

/// Files from disk, variables from the process environment.
struct FileSystemSource;

impl ConfSource for FileSystemSource {
    fn read_include(&self, path: &str) -> Result<String, String> {
        read_text(Path::new(path)).map_err(|diagnostic| diagnostic.to_string())
    }

    fn env(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
    }
}

/// A file's text. nats-server reads bytes; we need UTF-8, and say where it stops being that.
fn read_text(path: &Path) -> Result<String, Diagnostic> {
    let bytes = std::fs::read(path).map_err(|error| Diagnostic {
        position: None,
        message: format!("open {}: {}", path.display(), go_io_error_text(&error)),
    })?;
    String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        let position = Position {
            file: path.to_string_lossy().as_ref().into(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        };
        Diagnostic::at(&position, "config file is not valid UTF-8")
    })
}

/// An I/O error as Go prints one: `no such file or directory`, without Rust's `(os error 2)`.
fn go_io_error_text(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = match text.find(" (os error") {
        Some(end) => &text[..end],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

// --- Keys nats-server knows and Switchboard does not implement -------------------------------

/// Top-level keys that change security, routing, persistence or the wire: refused.
const REFUSED_KEYS: &[&str] = &[
    "accounts",
    "account_resolver",
    "accounts_resolver",
    "allow_non_tls",
    "cluster",
    "default_js_domain",
    "default_sentinel",
    "gateway",
    "https",
    "https_port",
    "leaf",
    "leafnodes",
    "mappings",
    "maps",
    "max_sub_tokens",
    "max_subscription_tokens",
    "mqtt",
    "no_auth_user",
    "no_header_support",
    "ocsp",
    "ocsp_cache",
    "operator",
    "operators",
    "proxies",
    "proxy_protocol",
    "resolver",
    "resolver_pinned_accounts",
    "resolver_preload",
    "resolver_tls",
    "root",
    "root_operator",
    "root_operators",
    "roots",
    "system",
    "system_account",
    "tls",
    "trusted",
    "trusted_keys",
    "websocket",
    "write_timeout",
    "ws",
];

/// The type a harmless key must have, checked as nats-server's type assertion would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Bool,
    Integer,
    String,
    Any,
}

/// Top-level keys that only change operations: reported as warnings.
const HARMLESS_KEYS: &[(&str, Expect)] = &[
    ("client_advertise", Expect::String),
    ("connect_error_reports", Expect::Integer),
    ("disable_sublist_cache", Expect::Bool),
    ("http_base_path", Expect::String),
    ("log_max_num", Expect::Integer),
    ("log_size_limit", Expect::Integer),
    ("logfile_max_num", Expect::Integer),
    ("logfile_size_limit", Expect::Integer),
    ("max_closed_clients", Expect::Integer),
    ("max_traced_msg_len", Expect::Integer),
    ("no_fast_producer_stall", Expect::Bool),
    ("no_sublist_cache", Expect::Bool),
    ("no_sys_acc", Expect::Bool),
    ("no_system", Expect::Bool),
    ("no_system_account", Expect::Bool),
    ("prof_block_rate", Expect::Integer),
    ("prof_port", Expect::Integer),
    ("reconnect_error_reports", Expect::Integer),
    ("remote_syslog", Expect::String),
    ("server_metadata", Expect::Any),
    ("server_tags", Expect::Any),
    ("syslog", Expect::Bool),
];

/// `authorization` keys that change who may do what: refused.
const REFUSED_AUTHORIZATION_KEYS: &[&str] = &[
    "auth_callout",
    "auth_hook",
    "default_permission",
    "default_permissions",
    "permissions",
    "proxy_required",
];

/// Keys of a `users` entry that change who may do what: refused.
const REFUSED_USER_KEYS: &[&str] = &[
    "allowed_connection_types",
    "authorization",
    "clients",
    "connection_types",
    "nkey",
    "permission",
    "permissions",
    "proxy_required",
];

/// `jetstream` block keys other than the ones mapped: all about storage, so refused.
const REFUSED_JETSTREAM_KEYS: &[&str] = &[
    "cipher",
    "domain",
    "ek",
    "encryption_key",
    "extension_hint",
    "key",
    "limits",
    "max_buffered_msgs",
    "max_buffered_size",
    "max_outstanding_catchup",
    "meta_compact",
    "meta_compact_size",
    "meta_compact_sync",
    "prev_ek",
    "prev_encryption_key",
    "prev_key",
    "request_queue_limit",
    "strict",
    "tpm",
    "unique_tag",
];

/// nats-server's minimum `lame_duck_duration`.
const LAME_DUCK_DURATION_MIN: Duration = Duration::from_secs(30);
/// An `authorization { timeout }` above this draws nats-server's warning.
const AUTH_TIMEOUT_WARN_SECONDS: f64 = 60.0;

// --- Mapping ------------------------------------------------------------------------------------

#[derive(Default)]
struct Mapper {
    options: FileOptions,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    unsupported: Vec<(String, Position)>,
    unsupported_harmless: Vec<(String, Position)>,
}

impl Mapper {
    fn finish(self) -> Result<Loaded, ConfigError> {
        if !self.errors.is_empty() {
            return Err(ConfigError {
                errors: self.errors,
                warnings: self.warnings,
            });
        }
        Ok(Loaded {
            options: self.options,
            unsupported: self.unsupported,
            unsupported_harmless: self.unsupported_harmless,
            warnings: self.warnings,
        })
    }

    fn error(&mut self, position: &Position, message: impl Into<String>) {
        self.errors.push(Diagnostic::at(position, message));
    }

    /// nats-server's configWarningErr: `invalid use of field "<field>": <reason>`.
    fn field_warning(&mut self, position: &Position, field: &str, reason: &str) {
        let message = format!("invalid use of field {}: {reason}", go_quote(field));
        self.warnings.push(Diagnostic::at(position, message));
    }

    fn unknown_field(&mut self, entry: &Entry) {
        if !entry.value.is_used_as_variable() {
            let message = format!("unknown field {}", go_quote(&entry.key));
            self.error(&entry.key_position, message);
        }
    }

    fn set_position(&mut self, field: &'static str, entry: &Entry) {
        self.options
            .positions
            .insert(field, entry.key_position.clone());
    }

    // Type checks worded as the panic of nats-server's type assertion is.

    fn typed<'v, T>(
        &mut self,
        entry: &'v Entry,
        want: &str,
        get: impl Fn(&'v Value) -> Option<T>,
    ) -> Option<T> {
        let found = get(&entry.value);
        if found.is_none() {
            let message = format!(
                "interface conversion: interface {{}} is {}, not {want}",
                entry.value.go_type_name()
            );
            self.error(&entry.key_position, message);
        }
        found
    }

    fn string(&mut self, entry: &Entry) -> Option<String> {
        self.typed(entry, "string", |v| v.as_str().map(str::to_owned))
    }

    fn integer(&mut self, entry: &Entry) -> Option<i64> {
        self.typed(entry, "int64", Value::as_integer)
    }

    fn boolean(&mut self, entry: &Entry) -> Option<bool> {
        self.typed(entry, "bool", Value::as_bool)
    }

    fn map<'v>(&mut self, entry: &'v Entry) -> Option<&'v Map> {
        self.typed(entry, "map[string]interface {}", Value::as_map)
    }

    // --- Top level ---------------------------------------------------------------------------

    fn top_level(&mut self, entry: &Entry) {
        let key = entry.key.to_lowercase();
        if self.logging_or_files(&key, entry) || self.limits(&key, entry) {
            return;
        }
        match key.as_str() {
            "listen" => {
                if let Some((host, port)) = self.host_port(entry) {
                    self.options.host = Some(host);
                    self.options.port = Some(port);
                    self.set_position("host", entry);
                    self.set_position("port", entry);
                }
            }
            "http" => {
                if let Some((host, port)) = self.host_port(entry) {
                    self.options.http_host = Some(host);
                    self.options.http_port = Some(port);
                    self.set_position("http_host", entry);
                    self.set_position("http_port", entry);
                }
            }
            "host" | "net" => {
                self.options.host = self.string(entry);
                self.set_position("host", entry);
            }
            "port" => {
                self.options.port = self.integer(entry);
                self.set_position("port", entry);
            }
            "http_port" | "monitor_port" => {
                self.options.http_port = self.integer(entry);
                self.set_position("http_port", entry);
            }
            "server_name" => self.server_name(entry),
            "authorization" => self.authorization(entry),
            "store_dir" | "storedir" => self.store_dir(entry),
            "jetstream" => self.jetstream(entry),
            _ => self.not_implemented(&key, entry),
        }
    }

    /// Logging flags and the files nats-server writes. True when `key` was one of them.
    fn logging_or_files(&mut self, key: &str, entry: &Entry) -> bool {
        let field: &'static str = match key {
            "debug" => "debug",
            "trace" => "trace",
            "logtime" => "logtime",
            "logtime_utc" => "logtime_utc",
            "trace_verbose" | "trace_headers" => "trace",
            "logfile" | "log_file" => "log_file",
            "pidfile" | "pid_file" => "pid_file",
            "ports_file_dir" => "ports_file_dir",
            _ => return false,
        };
        match field {
            "log_file" | "pid_file" | "ports_file_dir" => {
                let path = self.string(entry).map(PathBuf::from);
                let slot = match field {
                    "log_file" => &mut self.options.log_file,
                    "pid_file" => &mut self.options.pid_file,
                    _ => &mut self.options.ports_file_dir,
                };
                *slot = path;
            }
            _ => {
                let flag = self.boolean(entry);
                let slot = match field {
                    "debug" => &mut self.options.debug,
                    "logtime" => &mut self.options.logtime,
                    "logtime_utc" => &mut self.options.logtime_utc,
                    _ => &mut self.options.trace,
                };
                *slot = flag;
            }
        }
        if key == "trace_verbose" || key == "trace_headers" {
            // Trace is on; the verbose and header parts of it are not implemented.
            self.unsupported_harmless
                .push((entry.key.clone(), entry.key_position.clone()));
        }
        self.set_position(field, entry);
        true
    }

    /// Sizes, counts and durations. True when `key` was one of them.
    fn limits(&mut self, key: &str, entry: &Entry) -> bool {
        match key {
            "max_payload" => {
                self.options.payload_bytes_max = self.int32(entry);
                self.set_position("payload_bytes_max", entry);
            }
            "max_control_line" => {
                self.options.control_line_bytes_max = self.int32(entry);
                self.set_position("control_line_bytes_max", entry);
            }
            "max_pending" => {
                self.options.pending_bytes_max = self.integer(entry);
                self.set_position("pending_bytes_max", entry);
            }
            "max_connections" | "max_conn" => {
                let limit = self.integer(entry);
                self.options.connections_max = limit.map(|n| if n == 0 { -1 } else { n });
                self.set_position("connections_max", entry);
            }
            "max_subscriptions" | "max_subs" => {
                self.options.subscriptions_max = self.integer(entry);
                self.set_position("subscriptions_max", entry);
            }
            "ping_max" => {
                self.options.pings_outstanding_max = self.integer(entry);
                self.set_position("pings_outstanding_max", entry);
            }
            "ping_interval" => {
                self.options.ping_interval = self.duration_or_seconds(entry, "ping_interval");
                self.set_position("ping_interval", entry);
            }
            "write_deadline" => {
                self.options.write_deadline = self.duration_or_seconds(entry, "write_deadline");
                self.set_position("write_deadline", entry);
            }
            "lame_duck_duration" => self.lame_duck_duration(entry),
            "lame_duck_grace_period" => self.lame_duck_grace_period(entry),
            _ => return false,
        }
        true
    }

    /// A size nats-server keeps in an `int32`: above its range is "too big" (below it, where
    /// nats-server wraps around, too).
    fn int32(&mut self, entry: &Entry) -> Option<i32> {
        let number = self.integer(entry)?;
        match i32::try_from(number) {
            Ok(number) => Some(number),
            Err(_) => {
                let message = format!("{} value is too big", entry.key);
                self.error(&entry.key_position, message);
                None
            }
        }
    }

    fn server_name(&mut self, entry: &Entry) {
        let Some(name) = self.string(entry) else {
            return;
        };
        if name.contains(' ') {
            self.error(&entry.key_position, "server name cannot contain spaces");
            return;
        }
        self.options.server_name = Some(name);
        self.set_position("server_name", entry);
    }

    fn store_dir(&mut self, entry: &Entry) {
        let Some(dir) = self.string(entry) else {
            return;
        };
        if self.options.store_dir.is_some() {
            self.error(&entry.key_position, "Duplicate 'store_dir' configuration");
            return;
        }
        self.options.store_dir = Some(PathBuf::from(dir));
        self.set_position("store_dir", entry);
    }

    /// Every other key: refused, warned about, or unknown.
    fn not_implemented(&mut self, key: &str, entry: &Entry) {
        let reported = (entry.key.clone(), entry.key_position.clone());
        if REFUSED_KEYS.contains(&key) {
            self.unsupported.push(reported);
            return;
        }
        let Some(&(_, expect)) = HARMLESS_KEYS.iter().find(|(name, _)| *name == key) else {
            self.unknown_field(entry);
            return;
        };
        let well_typed = match expect {
            Expect::Bool => self.boolean(entry).is_some(),
            Expect::Integer => self.integer(entry).is_some(),
            Expect::String => self.string(entry).is_some(),
            Expect::Any => true,
        };
        if well_typed {
            self.unsupported_harmless.push(reported);
        }
    }

    // --- Addresses and durations -------------------------------------------------------------

    /// `listen` and `http`: a port alone, or `host:port` (nats-server's `parseListen`).
    fn host_port(&mut self, entry: &Entry) -> Option<(String, i64)> {
        let parsed = match &entry.value.kind {
            ValueKind::Integer(port) => Ok((String::new(), *port)),
            ValueKind::String(text) => split_host_port(text),
            _ => Err(format!(
                "expected port or host:port, got {}",
                entry.value.go_type_name()
            )),
        };
        parsed
            .map_err(|message| self.error(&entry.key_position, message))
            .ok()
    }

    /// `ping_interval` and `write_deadline`: a Go duration, or (deprecated, with nats-server's
    /// warning) an integer number of seconds.
    fn duration_or_seconds(&mut self, entry: &Entry, field: &str) -> Option<Duration> {
        if let Some(seconds) = entry.value.as_integer() {
            let reason = format!("{field} should be converted to a duration");
            self.field_warning(&entry.key_position, field, &reason);
            let duration = u64::try_from(seconds)
                .ok()
                .filter(|&s| s <= i64::MAX as u64 / 1_000_000_000)
                .map(Duration::from_secs);
            if duration.is_none() {
                let message = format!("invalid {field} of {seconds} seconds");
                self.error(&entry.key_position, message);
            }
            return duration;
        }
        if entry.value.as_str().is_none() {
            // nats-server takes anything but a string for seconds and asserts an int64.
            return self.integer(entry).and(None);
        }
        let nanos = self.go_duration(entry, field)?;
        self.non_negative(entry, field, nanos)
    }

    /// A string Go duration, in signed nanoseconds (`error parsing <field>: time: ...`).
    fn go_duration(&mut self, entry: &Entry, field: &str) -> Option<i64> {
        let text = self.string(entry)?;
        match parse_go_duration(&text) {
            Ok(nanos) => Some(nanos),
            Err(reason) => {
                let message = format!("error parsing {field}: {reason}");
                self.error(&entry.key_position, message);
                None
            }
        }
    }

    /// nats-server lets a negative ping interval or write deadline through (to fire at once);
    /// we refuse it rather than guess.
    fn non_negative(&mut self, entry: &Entry, field: &str, nanos: i64) -> Option<Duration> {
        match u64::try_from(nanos) {
            Ok(nanos) => Some(Duration::from_nanos(nanos)),
            Err(_) => {
                let message = format!(
                    "invalid {field} of {}, needs to be positive",
                    format_go_duration(nanos)
                );
                self.error(&entry.key_position, message);
                None
            }
        }
    }

    fn lame_duck_duration(&mut self, entry: &Entry) {
        let Some(nanos) = self.go_duration(entry, "lame_duck_duration") else {
            return;
        };
        let duration = u64::try_from(nanos).map(Duration::from_nanos);
        match duration {
            Ok(duration) if duration >= LAME_DUCK_DURATION_MIN => {
                self.options.lame_duck_duration = Some(duration);
                self.set_position("lame_duck_duration", entry);
            }
            _ => {
                let message = format!(
                    "invalid lame_duck_duration of {}, minimum is 30 seconds",
                    format_go_duration(nanos)
                );
                self.error(&entry.key_position, message);
            }
        }
    }

    fn lame_duck_grace_period(&mut self, entry: &Entry) {
        let Some(nanos) = self.go_duration(entry, "lame_duck_grace_period") else {
            return;
        };
        match u64::try_from(nanos) {
            Ok(nanos) => {
                self.options.lame_duck_grace_period = Some(Duration::from_nanos(nanos));
                self.set_position("lame_duck_grace_period", entry);
            }
            Err(_) => self.error(
                &entry.key_position,
                "invalid lame_duck_grace_period, needs to be positive",
            ),
        }
    }

    // --- authorization -----------------------------------------------------------------------

    fn authorization(&mut self, entry: &Entry) {
        let Some(block) = self.map(entry) else {
            return;
        };
        let mut auth = Authorization::default();
        for item in block {
            let key = item.key.to_lowercase();
            match key.as_str() {
                "user" | "username" => auth.user = self.string(item),
                "pass" | "password" => auth.password = self.string(item),
                "token" => auth.token = self.string(item),
                "timeout" => auth.timeout_seconds = self.auth_timeout(item),
                "users" => match self.users(item) {
                    Ok(users) => auth.users = Some(users),
                    Err(diagnostic) => self.errors.push(diagnostic),
                },
                _ if REFUSED_AUTHORIZATION_KEYS.contains(&key.as_str()) => self.unsupported.push((
                    format!("{}.{}", entry.key, item.key),
                    item.key_position.clone(),
                )),
                _ => self.unknown_field(item),
            }
        }
        if let Some(message) = auth_conflict(&auth) {
            self.error(&entry.key_position, message);
            return;
        }
        self.options.authorization = Some(auth);
        self.set_position("authorization", entry);
    }

    /// `timeout`: seconds as an integer or float, or a duration string.
    fn auth_timeout(&mut self, item: &Entry) -> Option<f64> {
        let (seconds, shown) = match &item.value.kind {
            ValueKind::Integer(n) => (*n as f64, n.to_string()),
            ValueKind::Float(x) => (*x, go_float_text(*x)),
            ValueKind::String(text) => match parse_go_duration(text) {
                Ok(nanos) => (nanos as f64 / 1e9, text.clone()),
                Err(reason) => {
                    let message = format!("error parsing authorization config, 'timeout' {reason}");
                    self.error(&item.key_position, message);
                    return None;
                }
            },
            _ => {
                let message = "error parsing authorization config, 'timeout' wrong type";
                self.error(&item.key_position, message);
                return None;
            }
        };
        if seconds > AUTH_TIMEOUT_WARN_SECONDS {
            let reason = format!(
                "timeout of {shown} ({seconds:.6} seconds) is high, consider keeping it under 60 seconds. possibly caused by unquoted duration; use '1m' instead of 1m, for example"
            );
            self.field_warning(&item.key_position, &item.key, &reason);
        }
        Some(seconds)
    }

    /// `users: [ {user, password}, ... ]`. An entry without a user fails the whole list, as
    /// in nats-server.
    fn users(&mut self, item: &Entry) -> Result<Vec<UserEntry>, Diagnostic> {
        let Some(list) = item.value.as_array() else {
            let message = format!(
                "Expected users field to be an array, got {}",
                go_value_text(&item.value)
            );
            return Err(Diagnostic::at(&item.key_position, message));
        };
        let mut users = Vec::new();
        for element in list {
            let Some(fields) = element.as_map() else {
                let message = format!(
                    "Expected user entry to be a map/struct, got {}",
                    go_value_text(element)
                );
                self.error(&element.position, message);
                continue;
            };
            users.extend(self.user(item, element, fields)?);
        }
        Ok(users)
    }

    fn user(
        &mut self,
        users: &Entry,
        element: &Value,
        fields: &Map,
    ) -> Result<Option<UserEntry>, Diagnostic> {
        let (mut user, mut password, mut nkey) = (None, None, None);
        for field in fields {
            let key = field.key.to_lowercase();
            match key.as_str() {
                "user" | "username" => user = self.string(field),
                "pass" | "password" => password = self.string(field),
                "nkey" => {
                    nkey = self.string(field);
                    self.refuse_user_key(users, field);
                }
                _ if REFUSED_USER_KEYS.contains(&key.as_str()) => {
                    self.refuse_user_key(users, field)
                }
                _ => self.unknown_field(field),
            }
        }
        let empty = |text: &Option<String>| text.as_deref().unwrap_or("").is_empty();
        if empty(&nkey) && empty(&user) {
            return Err(Diagnostic::at(
                &element.position,
                "User entry requires a user",
            ));
        }
        if !empty(&nkey) {
            if !empty(&user) || !empty(&password) {
                let message = "Nkey users do not take usernames or passwords";
                return Err(Diagnostic::at(&element.position, message));
            }
            return Ok(None);
        }
        Ok(Some(UserEntry {
            user: user.unwrap_or_default(),
            password,
            position: element.position.clone(),
        }))
    }

    fn refuse_user_key(&mut self, users: &Entry, field: &Entry) {
        let path = format!("authorization.{}.{}", users.key, field.key);
        self.unsupported.push((path, field.key_position.clone()));
    }

    // --- jetstream ---------------------------------------------------------------------------

    fn jetstream(&mut self, entry: &Entry) {
        let mut options = JetStreamOptions {
            enabled: false,
            memory_store_bytes_max: None,
            file_store_bytes_max: None,
            sync: None,
            position: entry.key_position.clone(),
        };
        match &entry.value.kind {
            ValueKind::Bool(enabled) => options.enabled = *enabled,
            ValueKind::String(text) => match text.to_lowercase().as_str() {
                "enabled" | "enable" => options.enabled = true,
                "disabled" | "disable" => options.enabled = false,
                _ => {
                    let message =
                        format!("Expected 'enabled' or 'disabled' for string value, got '{text}'");
                    return self.error(&entry.key_position, message);
                }
            },
            ValueKind::Map(block) => {
                options.enabled = true;
                if self.jetstream_block(entry, block, &mut options).is_none() {
                    return;
                }
            }
            _ => {
                let message = format!(
                    "Expected map, bool or string to define JetStream, got {}",
                    entry.value.go_type_name()
                );
                return self.error(&entry.key_position, message);
            }
        }
        self.options.jetstream = Some(options);
        self.set_position("jetstream", entry);
    }

    /// The keys of a `jetstream { }` block. `None` where nats-server gives up on the block.
    fn jetstream_block(
        &mut self,
        entry: &Entry,
        block: &Map,
        options: &mut JetStreamOptions,
    ) -> Option<()> {
        for item in block {
            let key = item.key.to_lowercase();
            match key.as_str() {
                "store" | "store_dir" | "storedir" => {
                    if self.options.store_dir.is_some() {
                        self.error(&item.key_position, "Duplicate 'store_dir' configuration");
                        return None;
                    }
                    self.options.store_dir = Some(PathBuf::from(self.string(item)?));
                    self.set_position("store_dir", item);
                }
                "max_memory_store" | "max_mem_store" | "max_mem" => {
                    options.memory_store_bytes_max =
                        Some(self.storage_size(item, "max_mem_store")?);
                }
                "max_file_store" | "max_file" => {
                    options.file_store_bytes_max = Some(self.storage_size(item, "max_file_store")?);
                }
                "enable" | "enabled" => options.enabled = self.boolean(item)?,
                "sync" | "sync_interval" => {
                    options.sync = Some(match item.value.as_str() {
                        Some(text) if text.eq_ignore_ascii_case("always") => JetStreamSync::Always,
                        _ => {
                            let nanos = self.go_duration(item, "sync_interval")?;
                            let nanos = self.non_negative(item, "sync_interval", nanos)?;
                            if nanos.is_zero() {
                                JetStreamSync::Always
                            } else {
                                JetStreamSync::Interval(nanos)
                            }
                        }
                    });
                }
                _ if REFUSED_JETSTREAM_KEYS.contains(&key.as_str()) => self.unsupported.push((
                    format!("{}.{}", entry.key, item.key),
                    item.key_position.clone(),
                )),
                _ => self.unknown_field(item),
            }
        }
        Some(())
    }

    fn storage_size(&mut self, item: &Entry, name: &str) -> Option<i64> {
        storage_size(&item.value)
            .map_err(|reason| self.error(&item.key_position, format!("{name} {reason}")))
            .ok()
    }
}

/// nats-server's checks between `user`/`password`, `token` and `users`, in its order.
fn auth_conflict(auth: &Authorization) -> Option<String> {
    let set = |text: &Option<String>| text.as_deref().is_some_and(|t| !t.is_empty());
    if (set(&auth.user) || set(&auth.password)) && set(&auth.token) {
        return Some("Cannot have a user/pass and token".to_owned());
    }
    let users = auth.users.as_ref()?;
    if set(&auth.user) {
        return Some("Can not have a single user/pass and a users array".to_owned());
    }
    if set(&auth.token) {
        return Some("Can not have a token and a users array".to_owned());
    }
    let mut seen = std::collections::BTreeSet::new();
    users
        .iter()
        .find(|user| !seen.insert(user.user.as_str()))
        .map(|user| format!("Duplicate user {} detected", go_quote(&user.user)))
}

/// Go's `net.SplitHostPort` and `strconv.Atoi`, with nats-server's messages.
fn split_host_port(text: &str) -> Result<(String, i64), String> {
    let unparsable = || format!("could not parse address string {}", go_quote(text));
    let colon = text.rfind(':').ok_or_else(unparsable)?;
    // A bracketed host (`[::1]:4222`) must close right before the port's colon; an unbracketed
    // one may not contain a colon; and no bracket may appear anywhere else.
    let (host, after_open, after_close) = if text.starts_with('[') {
        let close = text.find(']').ok_or_else(unparsable)?;
        if close + 1 != colon {
            return Err(unparsable());
        }
        (&text[1..close], 1, close + 1)
    } else {
        let host = &text[..colon];
        if host.contains(':') {
            return Err(unparsable());
        }
        (host, 0, 0)
    };
    if text[after_open..].contains('[') || text[after_close..].contains(']') {
        return Err(unparsable());
    }
    let port = &text[colon + 1..];
    let port = port
        .parse::<i64>()
        .map_err(|_| format!("could not parse port {}", go_quote(port)))?;
    Ok((host.to_owned(), port))
}

/// nats-server's `getStorageSize`: an integer, or a string number ending in K, M, G or T
/// (powers of 1024).
fn storage_size(value: &Value) -> Result<i64, String> {
    let text = match &value.kind {
        ValueKind::Integer(size) => return Ok(*size),
        ValueKind::String(text) => text,
        _ => return Err("must be int64 or string".to_owned()),
    };
    let Some(suffix) = text.chars().last() else {
        return Ok(0);
    };
    let number = &text[..text.len() - suffix.len_utf8()];
    let number: i64 = number.parse().map_err(|error: std::num::ParseIntError| {
        let reason = match error.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.ParseInt: parsing {}: {reason}", go_quote(number))
    })?;
    let shift = match suffix {
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        _ => return Err("sizes defined as strings must end in K, M, G, T".to_owned()),
    };
    number.checked_mul(1 << shift).ok_or_else(|| {
        format!(
            "strconv.ParseInt: parsing {}: value out of range",
            go_quote(text)
        )
    })
}

/// A value as Go's `%v` prints it, for messages that quote a value.
fn go_value_text(value: &Value) -> String {
    match &value.kind {
        ValueKind::String(text) => text.clone(),
        ValueKind::Integer(number) => number.to_string(),
        ValueKind::Float(number) => go_float_text(*number),
        ValueKind::Bool(flag) => flag.to_string(),
        ValueKind::Datetime(d) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0000 UTC",
            d.year, d.month, d.day, d.hour, d.minute, d.second
        ),
        ValueKind::Array(values) => {
            let items: Vec<String> = values.iter().map(go_value_text).collect();
            format!("[{}]", items.join(" "))
        }
        ValueKind::Map(map) => {
            let mut items: Vec<String> = map
                .iter()
                .map(|e| format!("{}:{}", e.key, go_value_text(&e.value)))
                .collect();
            items.sort();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// A float as Go's `%v` prints it: shortest digits, exponent form below 1e-4 and from 1e21.
fn go_float_text(number: f64) -> String {
    let magnitude = number.abs();
    if magnitude != 0.0 && !(1e-4..1e21).contains(&magnitude) {
        let text = format!("{number:e}");
        if let Some((mantissa, exponent)) = text.split_once('e') {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(digits) => ('-', digits),
                None => ('+', exponent),
            };
            return format!("{mantissa}e{sign}{digits:0>2}");
        }
        return text;
    }
    format!("{number}")
}

#[cfg(test)]
mod tests;
