//! The options a server runs with: nats-server's defaults, then the config file, then the
//! command-line flags on top (server/opts.go `MergeOptions`: a flag that was given wins).
//!
//! The same function runs at start and on every reload (SIGHUP), with the same flags, so a
//! flag keeps overriding the file after a reload, as in nats-server.

use std::path::PathBuf;
use std::time::Duration;

use switchboard::jetstream::JetStreamConfig;
use switchboard::store::SyncPolicy;
use switchboard::{AuthConfig, Config, User};

use crate::cli::Flags;
use crate::config_file::{FileOptions, JetStreamSync, Loaded};
use crate::logging::LogOptions;
use crate::server::{JetStreamOptions, ServerOptions};

/// What to run with, and what to warn about.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub server: ServerOptions,
    pub log: LogOptions,
    /// `file:line:col: message` lines to log as warnings (keys read but not supported yet
    /// that do not change behaviour clients see, nats-server's own warnings).
    pub warnings: Vec<String>,
}

/// Lays `flags` over `loaded` (when there is a config file) over the defaults. Errors are
/// `file:line:col: message` lines, every one found.
pub fn resolve(loaded: Option<&Loaded>, flags: &Flags) -> Result<Resolved, Vec<String>> {
    let mut server = ServerOptions::default();
    let mut log = LogOptions::default();
    let mut warnings = Vec::new();
    if let Some(loaded) = loaded {
        refuse_unsupported(loaded)?;
        for (key, position) in &loaded.unsupported_harmless {
            warnings.push(format!(
                "{position}: {key:?} is not supported by switchboard yet and is ignored"
            ));
        }
        warnings.extend(loaded.warnings.iter().map(ToString::to_string));
        apply_file(&loaded.options, &mut server, &mut log).map_err(|e| vec![e])?;
    }
    apply_flags(flags, &mut server, &mut log);
    apply_jetstream(loaded.map(|l| &l.options), flags, &mut server);
    server.config.validate().map_err(|e| vec![e])?;
    Ok(Resolved {
        server,
        log,
        warnings,
    })
}

/// Keys that would change security, routing or persistence if ignored: refused, each named
/// with its position.
fn refuse_unsupported(loaded: &Loaded) -> Result<(), Vec<String>> {
    let errors: Vec<String> = loaded
        .unsupported
        .iter()
        .map(|(key, position)| format!("{position}: {key:?} is not supported by switchboard yet"))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn apply_file(
    file: &FileOptions,
    server: &mut ServerOptions,
    log: &mut LogOptions,
) -> Result<(), String> {
    let config = &mut server.config;
    if let Some(host) = file.host.as_ref().filter(|h| !h.is_empty()) {
        server.host.clone_from(host);
    }
    if let Some(port) = file.port.filter(|&p| p != 0) {
        server.port = i32::try_from(port).map_err(|_| at(file, "port", "port out of range"))?;
    }
    if let Some(name) = &file.server_name {
        config.server_name.clone_from(name);
    }
    if let Some(auth) = &file.authorization {
        if let Some(seconds) = auth.timeout_seconds.filter(|s| *s > 0.0) {
            config.auth_timeout = Duration::try_from_secs_f64(seconds)
                .map_err(|_| at(file, "authorization", "authorization timeout out of range"))?;
        }
        config.auth = if let Some(users) = &auth.users {
            AuthConfig::Users(
                users
                    .iter()
                    .map(|u| User {
                        user: u.user.clone(),
                        password: u.password.clone().unwrap_or_default(),
                    })
                    .collect(),
            )
        } else if let Some(token) = auth.token.as_ref().filter(|t| !t.is_empty()) {
            AuthConfig::Token(token.clone())
        } else if let Some(user) = auth.user.as_ref().filter(|u| !u.is_empty()) {
            AuthConfig::Users(vec![User {
                user: user.clone(),
                password: auth.password.clone().unwrap_or_default(),
            }])
        } else {
            AuthConfig::None
        };
    }
    // Zero means "the default" for these, as in nats-server's setBaselineOptions.
    if let Some(n) = file.payload_bytes_max.filter(|&n| n != 0) {
        config.payload_bytes_max = u32::try_from(n)
            .map_err(|_| at(file, "payload_bytes_max", "max_payload must be positive"))?;
    }
    if let Some(n) = file.control_line_bytes_max.filter(|&n| n != 0) {
        config.control_line_bytes_max = u32::try_from(n).map_err(|_| {
            at(
                file,
                "control_line_bytes_max",
                "max_control_line must be positive",
            )
        })?;
    }
    if let Some(n) = file.pending_bytes_max.filter(|&n| n != 0) {
        config.pending_bytes_max = u64::try_from(n)
            .map_err(|_| at(file, "pending_bytes_max", "max_pending must be positive"))?;
    }
    if let Some(n) = file.connections_max {
        // nats-server: a negative limit refuses every client; larger than ours saturates.
        config.connections_max = u32::try_from(n.max(0)).unwrap_or(u32::MAX);
    }
    if let Some(n) = file.subscriptions_max {
        config.subscriptions_max = u32::try_from(n.max(0)).unwrap_or(u32::MAX);
    }
    if let Some(d) = file.write_deadline.filter(|d| !d.is_zero()) {
        config.write_deadline = d;
    }
    if let Some(d) = file.ping_interval.filter(|d| !d.is_zero()) {
        config.ping_interval = d;
    }
    if let Some(n) = file.pings_outstanding_max.filter(|&n| n != 0) {
        config.pings_outstanding_max = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    }
    if let Some(d) = file.lame_duck_duration.filter(|d| !d.is_zero()) {
        config.lame_duck_duration = d;
    }
    if let Some(d) = file.lame_duck_grace_period.filter(|d| !d.is_zero()) {
        config.lame_duck_grace_period = d;
    }
    if let Some(host) = file.http_host.as_ref().filter(|h| !h.is_empty()) {
        server.http_host = Some(host.clone());
    }
    if let Some(port) = file.http_port.filter(|&p| p != 0) {
        let port =
            i32::try_from(port).map_err(|_| at(file, "http_port", "http port out of range"))?;
        server.http_port = Some(port);
    }
    if let Some(path) = &file.pid_file {
        server.pid_file = Some(path.clone());
    }
    if let Some(dir) = &file.ports_file_dir {
        server.ports_file_dir = Some(dir.clone());
    }
    if let Some(path) = &file.log_file {
        log.file = Some(path.clone());
    }
    log.debug = file.debug.unwrap_or(log.debug);
    log.trace = file.trace.unwrap_or(log.trace);
    log.logtime = file.logtime.unwrap_or(log.logtime);
    log.logtime_utc = file.logtime_utc.unwrap_or(log.logtime_utc);
    Ok(())
}

/// `file:line:col: message` for the option named `field` (a [`FileOptions`] field name).
fn at(file: &FileOptions, field: &str, message: &str) -> String {
    match file.positions.get(field) {
        Some(position) => format!("{position}: {message}"),
        None => message.to_string(),
    }
}

fn apply_flags(flags: &Flags, server: &mut ServerOptions, log: &mut LogOptions) {
    if let Some(port) = flags.port {
        server.port = port;
    }
    if let Some(host) = &flags.host {
        server.host.clone_from(host);
    }
    if let Some(name) = &flags.server_name {
        server.config.server_name.clone_from(name);
    }
    if let Some(path) = &flags.pid_file {
        server.pid_file = Some(path.clone());
    }
    if let Some(dir) = &flags.ports_file_dir {
        server.ports_file_dir = Some(dir.clone());
    }
    if let Some(port) = flags.http_port {
        server.http_port = Some(port);
    }
    server.seed = flags.seed.or(server.seed);
    apply_auth_flags(flags, &mut server.config);
    if let Some(path) = &flags.log_file {
        log.file = Some(path.clone());
    }
    log.debug = flags.debug.unwrap_or(log.debug);
    log.trace = flags.trace.unwrap_or(log.trace);
    log.logtime = flags.logtime.unwrap_or(log.logtime);
    log.logtime_utc = flags.logtime_utc.unwrap_or(log.logtime_utc);
}

/// Where JetStream stores when neither `-sd` nor `store_dir` says: under the working
/// directory, so that data outlives the process (nats-server uses the temp directory).
pub const DEFAULT_STORE_DIR: &str = "./data";

/// JetStream is on if `-js` or the file's `jetstream` says so; `-sd` wins over `store_dir`.
fn apply_jetstream(file: Option<&FileOptions>, flags: &Flags, server: &mut ServerOptions) {
    let block = file.and_then(|f| f.jetstream.as_ref());
    let enabled = flags.jetstream == Some(true) || block.is_some_and(|js| js.enabled);
    if !enabled {
        server.jetstream = None;
        return;
    }
    let store_dir = flags
        .store_dir
        .clone()
        .or_else(|| file.and_then(|f| f.store_dir.clone()))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STORE_DIR));
    let mut config = JetStreamConfig::default();
    if let Some(block) = block {
        config.memory_bytes_max = block.memory_store_bytes_max.unwrap_or(-1);
        config.file_bytes_max = block.file_store_bytes_max.unwrap_or(-1);
        config.sync = match block.sync {
            None | Some(JetStreamSync::Always) => SyncPolicy::Always,
            Some(JetStreamSync::Interval(every)) => SyncPolicy::Interval(every),
        };
    }
    server.jetstream = Some(JetStreamOptions { store_dir, config });
}

/// `--user`, `--pass`, `--auth` over the file's authorization, as nats-server's check: a token,
/// when given, is what is required; a user given alone keeps the file's password.
fn apply_auth_flags(flags: &Flags, config: &mut Config) {
    if let Some(token) = &flags.auth {
        config.auth = AuthConfig::Token(token.clone());
        return;
    }
    let Some(user) = &flags.user else {
        return;
    };
    let file_password = match &config.auth {
        AuthConfig::Users(users) if users.len() == 1 => Some(users[0].password.clone()),
        _ => None,
    };
    config.auth = AuthConfig::Users(vec![User {
        user: user.clone(),
        password: flags.pass.clone().or(file_password).unwrap_or_default(),
    }]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_file::load_str;
    use switchboard::conf::NoSource;

    fn resolve_text(text: &str, flags: &Flags) -> Result<Resolved, Vec<String>> {
        let loaded = load_str(text, "test.conf", &NoSource).map_err(|e| vec![e.to_string()])?;
        resolve(Some(&loaded), flags)
    }

    #[test]
    fn file_values_reach_the_server_and_flags_override_them() {
        let text = "port: 5222\nserver_name: a\nmax_payload: 2KB\nping_interval: \"30s\"\n\
                    authorization { user: u, password: p, timeout: 3 }\ndebug: true\n\
                    http: \"127.0.0.1:8333\"\nlame_duck_duration: \"30s\"\nlame_duck_grace_period: \"5s\"\n";
        let resolved = resolve_text(text, &Flags::default()).unwrap();
        let config = &resolved.server.config;
        assert_eq!(resolved.server.port, 5222);
        assert_eq!(config.server_name, "a");
        assert_eq!(config.payload_bytes_max, 2048);
        assert_eq!(config.ping_interval, Duration::from_secs(30));
        assert_eq!(config.auth_timeout, Duration::from_secs(3));
        assert_eq!(config.lame_duck_duration, Duration::from_secs(30));
        assert_eq!(config.lame_duck_grace_period, Duration::from_secs(5));
        assert_eq!(
            config.auth,
            AuthConfig::Users(vec![User {
                user: "u".into(),
                password: "p".into()
            }])
        );
        assert!(resolved.log.debug);
        assert_eq!(resolved.server.http_host.as_deref(), Some("127.0.0.1"));
        assert_eq!(resolved.server.http_port, Some(8333));

        let flags = Flags {
            port: Some(-1),
            server_name: Some("b".into()),
            debug: Some(false),
            pass: Some("other".into()),
            user: Some("v".into()),
            ..Flags::default()
        };
        let resolved = resolve_text(text, &flags).unwrap();
        assert_eq!(resolved.server.port, -1);
        assert_eq!(resolved.server.config.server_name, "b");
        assert!(!resolved.log.debug);
        assert_eq!(
            resolved.server.config.auth,
            AuthConfig::Users(vec![User {
                user: "v".into(),
                password: "other".into()
            }])
        );
        let token = Flags {
            auth: Some("t".into()),
            ..Flags::default()
        };
        assert_eq!(
            resolve_text(text, &token).unwrap().server.config.auth,
            AuthConfig::Token("t".into())
        );
    }

    #[test]
    fn unsupported_keys_are_refused_or_warned_with_their_position() {
        let errors =
            resolve_text("port: 1\ntls {\n  cert_file: x\n}\n", &Flags::default()).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("test.conf:2:1: "), "{errors:?}");
        assert!(errors[0].contains("\"tls\""), "{errors:?}");

        let errors = resolve_text("jetstream { domain: hub }\n", &Flags::default()).unwrap_err();
        assert_eq!(
            errors,
            ["test.conf:1:13: \"jetstream.domain\" is not supported by switchboard yet"]
        );
    }

    #[test]
    fn jetstream_from_the_file_and_the_flags() {
        let off = resolve_text("store_dir: /x\n", &Flags::default()).unwrap();
        assert_eq!(
            off.server.jetstream, None,
            "a store_dir alone enables nothing"
        );

        let on = resolve_text("jetstream: enabled\n", &Flags::default()).unwrap();
        let js = on.server.jetstream.expect("enabled");
        assert_eq!(js.store_dir, PathBuf::from(DEFAULT_STORE_DIR));
        assert_eq!(js.config.sync, SyncPolicy::Always);

        let text = "jetstream {\n  store_dir: /file\n  sync_interval: 2s\n  max_file: 1G\n}\n";
        let js = resolve_text(text, &Flags::default())
            .unwrap()
            .server
            .jetstream
            .unwrap();
        assert_eq!(js.store_dir, PathBuf::from("/file"));
        assert_eq!(js.config.sync, SyncPolicy::Interval(Duration::from_secs(2)));
        assert_eq!(
            js.config.file_bytes_max, 1_000_000_000,
            "1G is 10^9, 1GB is 2^30"
        );
        let flags = Flags {
            store_dir: Some(PathBuf::from("/flag")),
            ..Flags::default()
        };
        let js = resolve_text(text, &flags)
            .unwrap()
            .server
            .jetstream
            .unwrap();
        assert_eq!(
            js.store_dir,
            PathBuf::from("/flag"),
            "-sd wins over the file"
        );

        let always = "jetstream { sync: always }\n";
        let js = resolve_text(always, &Flags::default())
            .unwrap()
            .server
            .jetstream
            .unwrap();
        assert_eq!(js.config.sync, SyncPolicy::Always);

        let flags = Flags {
            jetstream: Some(true),
            ..Flags::default()
        };
        let js = resolve_text("jetstream: disabled\n", &flags)
            .unwrap()
            .server
            .jetstream;
        assert!(
            js.is_some(),
            "-js enables whatever the file says, as nats-server merges it"
        );
    }

    #[test]
    fn limits_the_core_refuses_are_refused() {
        let errors =
            resolve_text("max_payload: 2MB\nmax_pending: 1MB\n", &Flags::default()).unwrap_err();
        assert_eq!(
            errors,
            ["max_payload (2097152) cannot be higher than max_pending (1048576)"]
        );
    }
}
