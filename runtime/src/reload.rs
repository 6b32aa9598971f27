//! SIGHUP: read the config file again and apply what may change on a running server, as
//! nats-server's `Reload` (server/reload.go). All or nothing: if any option that cannot change
//! live differs, nothing is applied and the error names it (`config reload not supported for
//! HTTPPort: old=8222, new=8223`). The broker applies and checks its own settings
//! ([`switchboard::Broker::reload`]); this file handles the runtime's (logging, PID file,
//! monitoring port) and the order of the whole.

use std::path::PathBuf;

use crate::cli::Flags;
use crate::config_file;
use crate::logging::{LogHandle, LogOptions};
use crate::options::{self, Resolved};
use crate::server::{Server, ServerOptions};

/// What a reload needs: the file, the flags that override it, and what runs now.
#[derive(Debug)]
pub struct Reloader {
    config_file: Option<PathBuf>,
    flags: Flags,
    server: ServerOptions,
    log: LogOptions,
}

impl Reloader {
    /// `server` and `log` are what the server was started with.
    pub fn new(
        config_file: Option<PathBuf>,
        flags: Flags,
        server: ServerOptions,
        log: LogOptions,
    ) -> Reloader {
        Reloader {
            config_file,
            flags,
            server,
            log,
        }
    }

    /// Reloads, logging each change as nats-server does; the error is nats-server's wording.
    pub async fn reload(&mut self, server: &Server, log: &LogHandle) -> Result<(), String> {
        let Some(path) = &self.config_file else {
            return Err(
                "can only reload config when a file is provided using -c or --config".to_string(),
            );
        };
        let loaded = config_file::load(path).map_err(|error| error.to_string())?;
        let resolved = options::resolve(Some(&loaded), &self.flags).map_err(|e| e.join("\n"))?;
        for warning in &resolved.warnings {
            tracing::warn!("{warning}");
        }
        let Resolved {
            server: new_server,
            log: new_log,
            ..
        } = resolved;
        refuse_fixed_changes(&self.server, &new_server)?;

        let mut config = new_server.config.clone();
        // The bound address is what the broker knows; a random port (-1) asks for no change.
        config.host.clone_from(&self.server.host);
        config.port = match u16::try_from(new_server.port) {
            Ok(port) if port != 0 => port,
            _ => 0,
        };
        let changes = server
            .handle()
            .control(move |broker, now| broker.reload(now, config))
            .await
            .ok_or("the server is shutting down")??;
        for change in changes {
            tracing::info!("{change}");
        }
        if new_server.pid_file != self.server.pid_file {
            if let Some(path) = &new_server.pid_file {
                std::fs::write(path, std::process::id().to_string())
                    .map_err(|error| format!("Could not write pidfile: {error}"))?;
            }
            tracing::info!("Reloaded: pid_file = {}", path_text(&new_server.pid_file));
        }
        self.apply_log(&new_log, log)?;
        self.server = new_server;
        if let Some(monitor) = server.monitor() {
            // /varz `config_load_time` follows reloads, as in nats-server.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
            monitor.config_loaded(switchboard::Wall::from_unix_nanos(now));
        }
        tracing::info!("Reloaded server configuration");
        Ok(())
    }

    fn apply_log(&mut self, new: &LogOptions, log: &LogHandle) -> Result<(), String> {
        let old = &self.log;
        if old.debug != new.debug || old.trace != new.trace {
            log.set_levels(new.debug, new.trace);
        }
        if old.trace != new.trace {
            tracing::info!("Reloaded: trace = {}", new.trace);
        }
        if old.debug != new.debug {
            tracing::info!("Reloaded: debug = {}", new.debug);
        }
        if old.logtime != new.logtime || old.logtime_utc != new.logtime_utc {
            log.set_logtime(new.logtime, new.logtime_utc);
            if old.logtime != new.logtime {
                tracing::info!("Reloaded: logtime = {}", new.logtime);
            }
            if old.logtime_utc != new.logtime_utc {
                tracing::info!("Reloaded: logtime_utc = {}", new.logtime_utc);
            }
        }
        if old.file != new.file {
            log.set_file(new.file.as_deref())
                .map_err(|error| error.to_string())?;
            tracing::info!("Reloaded: log_file = {}", path_text(&new.file));
        }
        self.log = new.clone();
        Ok(())
    }
}

fn path_text(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Runtime options that cannot change on a running server, named by nats-server's Go fields.
fn refuse_fixed_changes(old: &ServerOptions, new: &ServerOptions) -> Result<(), String> {
    fn refuse(field: &str, old: impl std::fmt::Display, new: impl std::fmt::Display) -> String {
        format!("config reload not supported for {field}: old={old}, new={new}")
    }
    if old.host != new.host {
        return Err(refuse("Host", &old.host, &new.host));
    }
    let port = |p: i32| if p == -1 { 0 } else { p };
    if port(old.port) != port(new.port) && new.port != -1 {
        return Err(refuse("Port", old.port, new.port));
    }
    if old.http_port != new.http_port {
        let show = |p: Option<i32>| p.unwrap_or(0);
        return Err(refuse("HTTPPort", show(old.http_port), show(new.http_port)));
    }
    if old.http_host != new.http_host {
        let show = |h: &Option<String>| h.clone().unwrap_or_default();
        return Err(refuse(
            "HTTPHost",
            show(&old.http_host),
            show(&new.http_host),
        ));
    }
    if old.ports_file_dir != new.ports_file_dir {
        // nats-server rewrites the ports file; we have not built that yet: refuse, never ignore.
        return Err(refuse(
            "PortsFileDir",
            path_text(&old.ports_file_dir),
            path_text(&new.ports_file_dir),
        ));
    }
    Ok(())
}
