//! nats-server's command line, parsed the way Go's `flag` package does (main.go,
//! server/opts.go `ConfigureOptions`):
//! - `-flag` and `--flag` are the same flag;
//! - a value is given as `-flag=value` or `-flag value` (the next argument is taken whatever it
//!   looks like, so `-p -1` is port -1, which means "pick a free port");
//! - a boolean flag takes no separate value: `-D`, or `-D=false`;
//! - flags end at `--` or at the first argument that is not a flag; after them only the
//!   commands `version` and `help` are understood.
//!
//! Only flags nats-server has are accepted, plus our own `--seed N` (replay a run's random
//! choices). nats-server flags for features Switchboard does not have yet (`-c`, `-js`,
//! TLS, cluster, monitoring...) are recognised and refused with a clear message rather than
//! silently ignored.
//!
//! Exit codes: a malformed command line (unknown flag, bad value, missing value) exits 2, as Go's
//! `flag.ExitOnError` does. nats-server itself exits 0 there, because its usage function calls
//! `os.Exit(0)`; we do not copy that, so a mistyped flag fails a script instead of passing.
//! A well-formed request we cannot honour exits 1, as nats-server's `PrintAndDie`.

use std::path::PathBuf;

use crate::logging::LogOptions;
use crate::options;
use crate::server::ServerOptions;

/// What the command line asks for.
#[derive(Debug)]
pub enum Action {
    Run(Box<RunOptions>),
    /// `-h`, `--help`, or the command `help`: print [`USAGE`] to stdout, exit 0.
    Help,
    /// `-v`, `--version`, or the command `version`: print the version, exit 0.
    Version,
    /// `-sl`, `--signal <command>[=<pid or pid file>]`: signal a running server, exit.
    Signal {
        command: String,
        pid: Option<String>,
    },
}

/// Everything needed to run the server.
#[derive(Debug)]
pub struct RunOptions {
    /// The options from the flags alone (what runs when there is no config file).
    pub server: ServerOptions,
    pub log: LogOptions,
    /// The flags given explicitly, to lay over a config file (now and on every reload).
    pub flags: Flags,
    /// `-c`, `--config`.
    pub config_file: Option<PathBuf>,
    /// `-t`: check the config file and exit.
    pub check_config: bool,
}

/// The flags that were given, each `None` when absent. They override a config file, as
/// nats-server's `MergeOptions`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flags {
    pub port: Option<i32>,
    pub host: Option<String>,
    pub server_name: Option<String>,
    pub pid_file: Option<PathBuf>,
    pub ports_file_dir: Option<PathBuf>,
    pub log_file: Option<PathBuf>,
    pub debug: Option<bool>,
    pub trace: Option<bool>,
    pub logtime: Option<bool>,
    pub logtime_utc: Option<bool>,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub auth: Option<String>,
    pub http_port: Option<i32>,
    pub seed: Option<u64>,
    /// `-js`: `Some(true)` when given (nats-server merges only a `true`).
    pub jetstream: Option<bool>,
    pub store_dir: Option<PathBuf>,
}

/// Why the command line was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CliError {
    /// Malformed: print the message and the usage to stderr, exit 2.
    Usage(String),
    /// Well-formed but not something we can do: print the message to stderr, exit 1.
    Fatal(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Fatal(_) => 1,
        }
    }
}

/// The help text, in nats-server's layout, listing the flags we accept.
pub const USAGE: &str = "
Usage: switchboard [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222, -1 for random)
    -n, --name
        --server_name <server_name>  Server name (default: auto)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring
    -c, --config <file>              Configuration file
    -t                               Test configuration and exit
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports).

JetStream Options:
    -js, --jetstream                 Enable JetStream functionality
    -sd, --store_dir <dir>           Set the storage directory (default: ./data)

Logging Options:
    -l, --log <file>                 File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true)
        --logtime_utc                Timestamps in UTC instead of local timezone
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -VV                              Verbose trace (same as -V: there is no system account yet)
    -DV                              Debug and trace
    -DVV                             Debug and verbose trace

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

Switchboard Options:
        --seed <n>                   Seed for every random choice (default: from the OS; logged at start)

Signal Options:
    -sl,--signal <signal>[=<pid>]    Send signal to switchboard process (ldm, stop, quit, term, reopen, reload)
                                     <pid> can be either a PID (e.g. 1) or the path to a PID file (e.g. /var/run/switchboard.pid)

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version

Not supported yet (refused with an error): -ms/--https_port, --client_advertise, -s/--syslog, -r/--remote_syslog,
--log_size_limit, --max_traced_msg_len, TLS, cluster
and profiling options.
";

/// The flags we accept. Names map to these as in nats-server's `ConfigureOptions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    Help,
    Version,
    Port,
    Addr,
    Name,
    Pid,
    PortsFileDir,
    Log,
    Logtime,
    LogtimeUtc,
    Debug,
    Trace,
    TraceVerbose,
    DebugTrace,
    DebugTraceVerbose,
    User,
    Pass,
    Auth,
    Config,
    CheckConfig,
    Signal,
    HttpPort,
    Seed,
    JetStream,
    StoreDir,
}

impl Flag {
    fn lookup(name: &str) -> Option<Flag> {
        Some(match name {
            "h" | "help" => Flag::Help,
            "v" | "version" => Flag::Version,
            "p" | "port" => Flag::Port,
            "a" | "addr" | "net" => Flag::Addr,
            "n" | "name" | "server_name" => Flag::Name,
            "P" | "pid" => Flag::Pid,
            "ports_file_dir" => Flag::PortsFileDir,
            "l" | "log" => Flag::Log,
            "T" | "logtime" => Flag::Logtime,
            "logtime_utc" => Flag::LogtimeUtc,
            "D" | "debug" => Flag::Debug,
            "V" | "trace" => Flag::Trace,
            "VV" => Flag::TraceVerbose,
            "DV" => Flag::DebugTrace,
            "DVV" => Flag::DebugTraceVerbose,
            "user" => Flag::User,
            "pass" => Flag::Pass,
            "auth" => Flag::Auth,
            "c" | "config" => Flag::Config,
            "t" => Flag::CheckConfig,
            "sl" | "signal" => Flag::Signal,
            "m" | "http_port" => Flag::HttpPort,
            "seed" => Flag::Seed,
            "js" | "jetstream" => Flag::JetStream,
            "sd" | "store_dir" => Flag::StoreDir,
            _ => return None,
        })
    }

    fn is_bool(self) -> bool {
        matches!(
            self,
            Flag::Help
                | Flag::Version
                | Flag::Logtime
                | Flag::LogtimeUtc
                | Flag::Debug
                | Flag::Trace
                | Flag::TraceVerbose
                | Flag::DebugTrace
                | Flag::DebugTraceVerbose
                | Flag::CheckConfig
                | Flag::JetStream
        )
    }
}

/// nats-server flags for features we do not have yet, and whether each is boolean (takes no
/// separate value). They parse like any flag and are refused after parsing.
const UNSUPPORTED: &[(&str, bool)] = &[
    ("ms", false),
    ("https_port", false),
    ("client_advertise", false),
    ("s", true),
    ("syslog", true),
    ("r", false),
    ("remote_syslog", false),
    ("log_size_limit", false),
    ("max_traced_msg_len", false),
    ("tls", true),
    ("tlsverify", true),
    ("tlscert", false),
    ("tlskey", false),
    ("tlscacert", false),
    ("help_tls", true),
    ("routes", false),
    ("cluster", false),
    ("cluster_listen", false),
    ("cluster_name", false),
    ("cluster_advertise", false),
    ("no_advertise", true),
    ("connect_retries", false),
    ("profile", false),
];

/// Flag values as parsed, before they become options.
#[derive(Default)]
struct Parsed {
    help: bool,
    version: bool,
    port: Option<i32>,
    addr: Option<String>,
    name: Option<String>,
    pid: Option<String>,
    ports_file_dir: Option<String>,
    http_port: Option<i32>,
    log: LogOptions,
    /// Which of `log`'s fields a flag set (`-D`, `-V`, `-T`, `--logtime_utc`).
    log_set: [bool; 4],
    // Like Go, the combined flags override -D/-V whatever the order: see `finish`.
    trace_verbose: Option<bool>,
    debug_trace: Option<bool>,
    debug_trace_verbose: Option<bool>,
    user: Option<String>,
    pass: Option<String>,
    auth: Option<String>,
    config: Option<String>,
    check_config: bool,
    signal: Option<String>,
    jetstream: bool,
    store_dir: Option<String>,
    seed: Option<u64>,
    /// Unsupported flags seen, as written (without dashes).
    unsupported: Vec<String>,
}

/// Parses the arguments after the program name.
pub fn parse<I, S>(args: I) -> Result<Action, CliError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let args: Vec<String> = args.into_iter().map(Into::into).collect();
    let mut parsed = Parsed {
        log: LogOptions::default(),
        ..Parsed::default()
    };
    let mut at = 0;
    while at < args.len() {
        let arg = &args[at];
        if arg.len() < 2 || !arg.starts_with('-') {
            break; // the first non-flag argument ends the flags
        }
        at += 1;
        let dashes = if arg.as_bytes()[1] == b'-' { 2 } else { 1 };
        if dashes == 2 && arg.len() == 2 {
            break; // "--" ends the flags and is consumed
        }
        let body = &arg[dashes..];
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(CliError::Usage(format!("bad flag syntax: {arg}")));
        }
        let (name, value) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        let Some(flag) = Flag::lookup(name) else {
            let Some(&(_, is_bool)) = UNSUPPORTED.iter().find(|(n, _)| *n == name) else {
                return Err(CliError::Usage(format!(
                    "flag provided but not defined: -{name}"
                )));
            };
            if !is_bool && value.is_none() {
                if at == args.len() {
                    return Err(CliError::Usage(format!("flag needs an argument: -{name}")));
                }
                at += 1;
            }
            parsed.unsupported.push(name.to_string());
            continue;
        };
        if flag.is_bool() {
            let on = match value {
                None => true,
                Some(text) => parse_bool(text).ok_or_else(|| {
                    CliError::Usage(format!(
                        "invalid boolean value {text:?} for -{name}: parse error"
                    ))
                })?,
            };
            parsed.set_bool(flag, on);
        } else {
            let text = match value {
                Some(text) => text,
                None => {
                    let Some(next) = args.get(at) else {
                        return Err(CliError::Usage(format!("flag needs an argument: -{name}")));
                    };
                    at += 1;
                    next.as_str()
                }
            };
            parsed.set_value(flag, text).map_err(|reason| {
                CliError::Usage(format!("invalid value {text:?} for flag -{name}: {reason}"))
            })?;
        }
    }
    parsed.finish(&args[at..])
}

impl Parsed {
    fn set_bool(&mut self, flag: Flag, on: bool) {
        match flag {
            Flag::Help => self.help = on,
            Flag::Version => self.version = on,
            Flag::Logtime => (self.log.logtime, self.log_set[2]) = (on, true),
            Flag::LogtimeUtc => (self.log.logtime_utc, self.log_set[3]) = (on, true),
            Flag::Debug => (self.log.debug, self.log_set[0]) = (on, true),
            Flag::Trace => (self.log.trace, self.log_set[1]) = (on, true),
            Flag::TraceVerbose => self.trace_verbose = Some(on),
            Flag::DebugTrace => self.debug_trace = Some(on),
            Flag::DebugTraceVerbose => self.debug_trace_verbose = Some(on),
            Flag::CheckConfig => self.check_config = on,
            Flag::JetStream => self.jetstream = on,
            _ => {} // not boolean: `is_bool` keeps them away
        }
    }

    fn set_value(&mut self, flag: Flag, text: &str) -> Result<(), &'static str> {
        let text_owned = || Some(text.to_string());
        match flag {
            // Ports are small; anything past i32 is out of range before it reaches bind.
            Flag::Port => {
                self.port = Some(i32::try_from(parse_int(text)?).map_err(|_| "value out of range")?)
            }
            Flag::Seed => self.seed = Some(parse_uint(text)?),
            Flag::HttpPort => {
                self.http_port =
                    Some(i32::try_from(parse_int(text)?).map_err(|_| "value out of range")?)
            }
            Flag::Addr => self.addr = text_owned(),
            Flag::Name => self.name = text_owned(),
            Flag::Pid => self.pid = text_owned(),
            Flag::PortsFileDir => self.ports_file_dir = text_owned(),
            Flag::Log => self.log.file = Some(PathBuf::from(text)),
            Flag::User => self.user = text_owned(),
            Flag::Pass => self.pass = text_owned(),
            Flag::Auth => self.auth = text_owned(),
            Flag::Config => self.config = text_owned(),
            Flag::Signal => self.signal = text_owned(),
            Flag::StoreDir => self.store_dir = text_owned(),
            _ => {} // boolean: `is_bool` keeps them away
        }
        Ok(())
    }

    /// Applies nats-server's precedence and defaults, and refuses what we cannot do.
    fn finish(mut self, rest: &[String]) -> Result<Action, CliError> {
        if self.version {
            return Ok(Action::Version);
        }
        if self.help {
            return Ok(Action::Help);
        }
        if let Some(command) = rest.first() {
            return match command.to_lowercase().as_str() {
                "version" => Ok(Action::Version),
                "help" => Ok(Action::Help),
                _ => Err(CliError::Fatal(format!(
                    "unrecognized command: {command:?}"
                ))),
            };
        }
        // nats-server handles a signal request before anything else is checked.
        if let Some(signal) = self.signal.filter(|s| !s.is_empty()) {
            let mut parts = signal.split('=');
            let command = parts.next().unwrap_or_default().to_string();
            let pid = parts.next().map(str::to_string);
            let extra: Vec<&str> = parts.collect();
            if !extra.is_empty() {
                return Err(CliError::Fatal(format!(
                    "invalid signal parameters: [{}]",
                    extra.join(" ")
                )));
            }
            return Ok(Action::Signal { command, pid });
        }
        if let Some(name) = self.unsupported.first() {
            return Err(CliError::Fatal(format!(
                "flag -{name} is a nats-server option that switchboard does not support yet"
            )));
        }
        let config_file = self.config.filter(|c| !c.is_empty()).map(PathBuf::from);
        if self.check_config && config_file.is_none() {
            return Err(CliError::Fatal(
                "must specify [-c, --config] option to check configuration file syntax".to_string(),
            ));
        }
        // Go applies these after parsing, in name order, whatever order they were given in.
        if let Some(on) = self.debug_trace {
            (self.log.debug, self.log.trace) = (on, on);
            (self.log_set[0], self.log_set[1]) = (true, true);
        }
        if let Some(on) = self.debug_trace_verbose {
            (self.log.debug, self.log.trace) = (on, on);
            (self.log_set[0], self.log_set[1]) = (true, true);
        }
        if let Some(on) = self.trace_verbose {
            self.log.trace = on;
            self.log_set[1] = true;
        }
        let set = |on: bool, value: bool| on.then_some(value);
        let flags = Flags {
            // nats-server: port 0 means the default port; -1 means a random one.
            port: self.port.filter(|&p| p != 0),
            host: self.addr.filter(|a| !a.is_empty()),
            server_name: self.name,
            pid_file: self.pid.filter(|p| !p.is_empty()).map(PathBuf::from),
            ports_file_dir: self
                .ports_file_dir
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
            log_file: self.log.file.clone(),
            debug: set(self.log_set[0], self.log.debug),
            trace: set(self.log_set[1], self.log.trace),
            logtime: set(self.log_set[2], self.log.logtime),
            logtime_utc: set(self.log_set[3], self.log.logtime_utc),
            user: self.user.filter(|u| !u.is_empty()),
            pass: self.pass,
            auth: self.auth.filter(|a| !a.is_empty()),
            http_port: self.http_port.filter(|&p| p != 0),
            seed: self.seed,
            jetstream: self.jetstream.then_some(true),
            store_dir: self.store_dir.filter(|d| !d.is_empty()).map(PathBuf::from),
        };
        let resolved =
            options::resolve(None, &flags).map_err(|errors| CliError::Fatal(errors.join("\n")))?;
        Ok(Action::Run(Box::new(RunOptions {
            server: resolved.server,
            log: resolved.log,
            flags,
            config_file,
            check_config: self.check_config,
        })))
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(text, 0, 64)`: optional sign, then decimal, `0x` hex, `0o` or
/// leading-`0` octal, or `0b` binary. (Go's `_` digit separators are not accepted.)
fn parse_int(text: &str) -> Result<i64, &'static str> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = parse_uint(digits)?;
    if negative {
        // i64::MIN's magnitude is one more than i64::MAX's.
        0i64.checked_sub_unsigned(magnitude)
            .ok_or("value out of range")
    } else {
        i64::try_from(magnitude).map_err(|_| "value out of range")
    }
}

/// Go's `strconv.ParseUint(text, 0, 64)` (without `_` separators).
fn parse_uint(text: &str) -> Result<u64, &'static str> {
    let lower = text.to_ascii_lowercase();
    let (radix, digits) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    // from_str_radix would also take a sign; Go does not, after the prefix or for unsigned.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err("parse error");
    }
    u64::from_str_radix(digits, radix).map_err(|_| "value out of range")
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard::{AuthConfig, User};

    fn run(args: &[&str]) -> RunOptions {
        match parse(args.iter().copied()) {
            Ok(Action::Run(options)) => *options,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    fn error(args: &[&str]) -> CliError {
        match parse(args.iter().copied()) {
            Err(error) => error,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn defaults_match_nats_server() {
        let options = run(&[]);
        assert_eq!(options.server.host, "0.0.0.0");
        assert_eq!(options.server.port, 4222);
        assert_eq!(options.server.config.auth, AuthConfig::None);
        assert_eq!(options.log, LogOptions::default());
        assert!(options.log.logtime);
    }

    #[test]
    fn every_value_form_sets_the_port() {
        for args in [
            &["-p", "1234"][..],
            &["--p", "1234"],
            &["-port", "1234"],
            &["--port", "1234"],
            &["-p=1234"],
            &["--port=1234"],
            &["-p", "0x4d2"],
            &["-p", "02322"],
        ] {
            assert_eq!(run(args).server.port, 1234, "{args:?}");
        }
    }

    #[test]
    fn port_minus_one_is_random_and_zero_is_default() {
        assert_eq!(run(&["-p", "-1"]).server.port, -1);
        assert_eq!(run(&["--port=-1"]).server.port, -1);
        assert_eq!(run(&["-p", "0"]).server.port, 4222);
    }

    #[test]
    fn string_flags_and_their_aliases() {
        for flag in ["-a", "--addr", "-net", "--net"] {
            assert_eq!(run(&[flag, "127.0.0.1"]).server.host, "127.0.0.1");
        }
        for flag in ["-n", "--name", "--server_name"] {
            assert_eq!(run(&[flag, "hub"]).server.config.server_name, "hub");
        }
        let options = run(&[
            "-P",
            "/tmp/s.pid",
            "--ports_file_dir",
            "/tmp/d",
            "-l=/tmp/s.log",
        ]);
        assert_eq!(options.server.pid_file, Some(PathBuf::from("/tmp/s.pid")));
        assert_eq!(options.server.ports_file_dir, Some(PathBuf::from("/tmp/d")));
        assert_eq!(options.log.file, Some(PathBuf::from("/tmp/s.log")));
        assert_eq!(run(&["--pid", "x"]).server.pid_file, Some("x".into()));
        assert_eq!(run(&["--log", "y"]).log.file, Some("y".into()));
    }

    #[test]
    fn a_value_may_contain_equals_and_dashes() {
        assert_eq!(
            run(&["--auth=a=b"]).server.config.auth,
            AuthConfig::Token("a=b".into())
        );
        assert_eq!(
            run(&["--auth", "--x"]).server.config.auth,
            AuthConfig::Token("--x".into())
        );
    }

    #[test]
    fn auth_flags() {
        assert_eq!(
            run(&["--user", "u", "--pass", "p"]).server.config.auth,
            AuthConfig::Users(vec![User {
                user: "u".into(),
                password: "p".into()
            }])
        );
        assert_eq!(
            run(&["--auth", "s3cr3t"]).server.config.auth,
            AuthConfig::Token("s3cr3t".into())
        );
        // nats-server checks the token first when both are given.
        assert_eq!(
            run(&["--user", "u", "--auth", "t"]).server.config.auth,
            AuthConfig::Token("t".into())
        );
    }

    #[test]
    fn log_level_flags() {
        let levels = |args: &[&str]| {
            let log = run(args).log;
            (log.debug, log.trace)
        };
        assert_eq!(levels(&[]), (false, false));
        assert_eq!(levels(&["-D"]), (true, false));
        assert_eq!(levels(&["--debug"]), (true, false));
        assert_eq!(levels(&["-V"]), (false, true));
        assert_eq!(levels(&["-trace"]), (false, true));
        assert_eq!(levels(&["-DV"]), (true, true));
        assert_eq!(levels(&["--DV"]), (true, true));
        assert_eq!(levels(&["-VV"]), (false, true));
        assert_eq!(levels(&["-DVV"]), (true, true));
        assert_eq!(levels(&["-D", "-V"]), (true, true));
        assert_eq!(levels(&["-D=false", "-V=1"]), (false, true));
        // Go applies -DV after parsing, so it wins over -D whatever the order.
        assert_eq!(levels(&["-DV", "-D=false"]), (true, true));
        assert_eq!(levels(&["-D", "-DV=false"]), (false, false));
        assert!(!run(&["-T=false"]).log.logtime);
        assert!(run(&["--logtime_utc"]).log.logtime_utc);
    }

    #[test]
    fn a_bool_flag_does_not_take_the_next_argument() {
        // `-D false`: "false" is the first non-flag argument, an unknown command.
        assert_eq!(
            error(&["-D", "false"]),
            CliError::Fatal("unrecognized command: \"false\"".into())
        );
    }

    #[test]
    fn signal_flag_takes_a_command_and_an_optional_pid() {
        let signal = |args: &[&str]| match parse(args.iter().copied()) {
            Ok(Action::Signal { command, pid }) => (command, pid),
            other => panic!("{args:?} gave {other:?}"),
        };
        assert_eq!(signal(&["--signal", "reload"]), ("reload".into(), None));
        assert_eq!(
            signal(&["-sl", "ldm=/run/s.pid"]),
            ("ldm".into(), Some("/run/s.pid".into()))
        );
        // It wins over everything else, as in nats-server.
        assert_eq!(
            signal(&["--signal=quit=12", "-c", "x.conf"]),
            ("quit".into(), Some("12".into()))
        );
        assert_eq!(
            error(&["--signal", "stop=1=2=3"]),
            CliError::Fatal("invalid signal parameters: [2 3]".into())
        );
    }

    #[test]
    fn seed_flag() {
        assert_eq!(run(&["--seed", "42"]).server.seed, Some(42));
        assert_eq!(run(&["-seed=0xff"]).server.seed, Some(255));
        assert_eq!(
            error(&["--seed", "-1"]),
            CliError::Usage("invalid value \"-1\" for flag -seed: parse error".into())
        );
    }

    #[test]
    fn unknown_flag_is_named() {
        let e = error(&["-p", "1", "-foo"]);
        assert_eq!(
            e,
            CliError::Usage("flag provided but not defined: -foo".into())
        );
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            error(&["--foo=bar"]),
            CliError::Usage("flag provided but not defined: -foo".into())
        );
        // Go's flag names are case sensitive.
        assert_eq!(
            error(&["-PORT", "1"]),
            CliError::Usage("flag provided but not defined: -PORT".into())
        );
    }

    #[test]
    fn bad_values_are_named() {
        assert_eq!(
            error(&["-p", "abc"]),
            CliError::Usage("invalid value \"abc\" for flag -p: parse error".into())
        );
        assert_eq!(
            error(&["--port=99999999999999999999"]),
            CliError::Usage(
                "invalid value \"99999999999999999999\" for flag -port: value out of range".into()
            )
        );
        assert_eq!(
            error(&["-p", "9999999999"]),
            CliError::Usage("invalid value \"9999999999\" for flag -p: value out of range".into())
        );
        assert_eq!(
            error(&["-D=yes"]),
            CliError::Usage("invalid boolean value \"yes\" for -D: parse error".into())
        );
        assert_eq!(
            error(&["-p"]),
            CliError::Usage("flag needs an argument: -p".into())
        );
        assert_eq!(
            error(&["---p", "1"]),
            CliError::Usage("bad flag syntax: ---p".into())
        );
        assert_eq!(
            error(&["-=1"]),
            CliError::Usage("bad flag syntax: -=1".into())
        );
    }

    #[test]
    fn help_and_version() {
        for args in [&["-h"][..], &["--help"], &["help"], &["-p", "1", "-help"]] {
            assert!(
                matches!(parse(args.iter().copied()), Ok(Action::Help)),
                "{args:?}"
            );
        }
        for args in [&["-v"][..], &["--version"], &["version"], &["-h", "-v"]] {
            assert!(
                matches!(parse(args.iter().copied()), Ok(Action::Version)),
                "{args:?}"
            );
        }
        // Help wins over refusals that come after parsing.
        assert!(matches!(parse(["--tls", "-h"]), Ok(Action::Help)));
    }

    #[test]
    fn flags_end_at_double_dash_or_a_non_flag() {
        assert_eq!(
            error(&["--", "-p"]),
            CliError::Fatal("unrecognized command: \"-p\"".into())
        );
        assert_eq!(
            error(&["serve", "-p", "1"]),
            CliError::Fatal("unrecognized command: \"serve\"".into())
        );
        assert_eq!(
            error(&["-"]),
            CliError::Fatal("unrecognized command: \"-\"".into())
        );
    }

    #[test]
    fn config_file_flags_and_missing_features() {
        let options = run(&["-c", "nats.conf", "-t", "-m", "8222", "-D"]);
        assert_eq!(options.config_file, Some(PathBuf::from("nats.conf")));
        assert!(options.check_config);
        assert_eq!(options.flags.http_port, Some(8222));
        assert_eq!(options.flags.debug, Some(true));
        // Flags not given stay unset, so they do not override a config file.
        assert_eq!(options.flags.trace, None);
        assert_eq!(options.flags.port, None);
        assert_eq!(run(&["--config=x.conf"]).config_file, Some("x.conf".into()));
        let e = error(&["-t"]);
        assert!(matches!(&e, CliError::Fatal(m) if m.contains("must specify [-c, --config]")));
        assert_eq!(e.exit_code(), 1);
        // -js is boolean: the following flag still parses.
        let options = run(&["-js", "-p", "1"]);
        assert_eq!(options.server.port, 1);
        let js = options.server.jetstream.expect("-js enables JetStream");
        assert_eq!(js.store_dir, PathBuf::from("./data"));
        // -sd takes a value, so the directory is not mistaken for a command; alone it enables
        // nothing, as in nats-server.
        assert!(run(&["-sd", "/data"]).server.jetstream.is_none());
        let js = run(&["-sd", "/data", "--jetstream"]).server.jetstream;
        assert_eq!(js.map(|j| j.store_dir), Some(PathBuf::from("/data")));
        // A flag for a feature not built yet is still refused, naming it.
        let e = error(&["--tls", "-p", "1"]);
        assert!(
            matches!(&e, CliError::Fatal(m) if m.contains("-tls")),
            "{e:?}"
        );
    }

    #[test]
    fn go_integers() {
        assert_eq!(parse_int("10"), Ok(10));
        assert_eq!(parse_int("-1"), Ok(-1));
        assert_eq!(parse_int("+7"), Ok(7));
        assert_eq!(parse_int("0"), Ok(0));
        assert_eq!(parse_int("010"), Ok(8));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(parse_int("0o17"), Ok(15));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), Err("value out of range"));
        assert_eq!(parse_int(""), Err("parse error"));
        assert_eq!(parse_int("-"), Err("parse error"));
        assert_eq!(parse_int("--1"), Err("parse error"));
        assert_eq!(parse_int("0x"), Err("parse error"));
        assert_eq!(parse_int("09"), Err("parse error"));
        assert_eq!(parse_int("1_000"), Err("parse error"));
    }
}
