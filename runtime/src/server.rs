//! A running server: a TCP listener, the driver task, and the files nats-server writes (PID
//! file, ports file). This is what the binary runs and what integration tests start.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use switchboard::jetstream::{JetStream, JetStreamConfig};
use switchboard::store::SyncPolicy;
use switchboard::{Broker, Config, Now, Seed, Stats};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::disk::StdDisk;
use crate::driver::{Clock, Driver, DriverHandle, SystemClock};
use crate::monitor::{self, Monitor};
use crate::ports;

/// How to start a [`Server`].
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The broker's configuration. `host` and `port` in it are overwritten with what was bound.
    pub config: Config,
    /// Address to bind (an IP or a host name).
    pub host: String,
    /// Port to bind; -1 or 0 picks a free one.
    pub port: i32,
    /// Seed for every random choice the broker makes; drawn from the OS when `None`.
    pub seed: Option<u64>,
    /// Directory for a `<executable>_<pid>.ports` file, as nats-server's `--ports_file_dir`.
    pub ports_file_dir: Option<PathBuf>,
    /// File to write the process id into, as nats-server's `--pid`.
    pub pid_file: Option<PathBuf>,
    /// Monitoring host (`http: host:port`); the client host when `None`.
    pub http_host: Option<String>,
    /// Monitoring port (`-m`, `http_port`); no monitoring when `None`; -1 picks a free port.
    pub http_port: Option<i32>,
    /// JetStream (`-js`), storing under a directory; off when `None`.
    pub jetstream: Option<JetStreamOptions>,
}

/// Where and how JetStream stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JetStreamOptions {
    /// `-sd` / `store_dir`: streams live in `<store_dir>/jetstream/`.
    pub store_dir: PathBuf,
    pub config: JetStreamConfig,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            config: Config::default(),
            host: "0.0.0.0".to_string(),
            port: 4222,
            seed: None,
            ports_file_dir: None,
            pid_file: None,
            http_host: None,
            http_port: None,
            jetstream: None,
        }
    }
}

/// A started server. Call [`Server::shutdown`] to stop it cleanly.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    handle: DriverHandle,
    /// `None` once [`Server::stopped`] has seen it end.
    driver: Option<JoinHandle<()>>,
    ports_file: Option<PathBuf>,
    /// The monitoring HTTP server, when `http_port` asked for one.
    monitor: Option<Monitor>,
}

impl Server {
    /// Binds, writes the PID and ports files, and spawns the driver on the current tokio
    /// runtime. Logs nats-server's start-up lines, including the seed to replay the run with.
    pub async fn start(opts: ServerOptions) -> io::Result<Server> {
        opts.config
            .validate()
            .map_err(|message| io::Error::new(io::ErrorKind::InvalidInput, message))?;
        let port = bind_port(opts.port)?;
        // The monitor's listener is bound first, as nats-server starts monitoring before it
        // accepts clients: a readiness probe that polls /varz once the client port accepts
        // must find it there. Port 0 means no monitoring, as in nats-server.
        let http_host = opts.http_host.clone().unwrap_or_else(|| opts.host.clone());
        let http_listener = match opts.http_port {
            None | Some(0) => None,
            Some(http_port) => Some(monitor::bind(&http_host, bind_port(http_port)?).await?),
        };
        let listener = TcpListener::bind((opts.host.as_str(), port))
            .await
            .map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!(
                        "Error listening on port: {}, \"{error}\"",
                        join_host_port(&opts.host, port)
                    ),
                )
            })?;
        let local_addr = listener.local_addr()?;
        if let Some(path) = &opts.pid_file {
            std::fs::write(path, std::process::id().to_string()).map_err(|error| {
                io::Error::new(error.kind(), format!("Could not write pidfile: {error}"))
            })?;
        }

        let seed = opts.seed.unwrap_or_else(os_seed);
        let mut config = opts.config;
        config.host.clone_from(&opts.host);
        config.port = local_addr.port();
        let clock = SystemClock::new();
        let started = clock.now();
        let mut broker = Broker::new(config, Seed(seed), started);
        log_banner(&broker, seed);
        if let Some(js) = &opts.jetstream {
            let server_name = broker.server_name().to_string();
            broker.enable_jetstream(open_jetstream(js, &server_name, started)?);
        }

        let (driver, handle) = Driver::new(broker, listener, clock);
        let monitor = match http_listener {
            Some(listener) => {
                let monitor = monitor::spawn(listener, handle.clone(), &http_host, started.wall)?;
                let port = monitor.local_addr().port();
                tracing::info!(
                    "Starting http monitor on {}",
                    join_host_port(&http_host, port)
                );
                Some(monitor)
            }
            None => None,
        };
        let driver = tokio::spawn(driver.run());
        tracing::info!(
            "Listening for client connections on {}",
            join_host_port(&opts.host, local_addr.port())
        );

        let ports_file = opts.ports_file_dir.map(|dir| {
            let monitor_addr = monitor.as_ref().map(Monitor::local_addr);
            ports::write_ports_file(&dir, local_addr, monitor_addr)
        });
        tracing::info!("Server is ready");
        Ok(Server {
            local_addr,
            handle,
            driver: Some(driver),
            ports_file: ports_file.flatten(),
            monitor,
        })
    }

    /// The address the client listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address the monitoring HTTP server is bound to, if it runs.
    pub fn monitor_addr(&self) -> Option<SocketAddr> {
        self.monitor.as_ref().map(Monitor::local_addr)
    }

    /// The monitoring server, if it runs (a config reload updates its `config_load_time`).
    pub fn monitor(&self) -> Option<&Monitor> {
        self.monitor.as_ref()
    }

    /// A URL a client on this machine can connect to: `nats://127.0.0.1:<port>` when bound to
    /// every interface, the bound address otherwise.
    pub fn client_url(&self) -> String {
        let ip = match self.local_addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        format!("nats://{}", SocketAddr::new(ip, self.local_addr.port()))
    }

    /// A copy of the broker's counters (the defaults if the driver has stopped).
    pub async fn stats(&self) -> Stats {
        self.handle.stats().await
    }

    /// The handle to the running driver (monitoring, reload and lame duck use it).
    pub fn handle(&self) -> &DriverHandle {
        &self.handle
    }

    /// Enters lame duck mode (SIGUSR2): stops accepting, tells clients with an INFO carrying
    /// `ldm`, closes them over the lame duck duration, then the driver stops by itself
    /// ([`Server::stopped`] returns); call [`Server::shutdown`] to finish.
    pub async fn lame_duck(&self) {
        self.handle.lame_duck().await;
    }

    /// Returns when the driver has stopped by itself (the end of lame duck mode). Cancel-safe.
    pub async fn stopped(&mut self) {
        if let Some(driver) = &mut self.driver {
            if let Err(error) = driver.await {
                tracing::error!("Driver task failed: {error}");
            }
            self.driver = None;
        }
    }

    /// Stops accepting, closes every client (each gets up to the write deadline to take what
    /// was queued for it), waits for the driver, and removes the ports file.
    pub async fn shutdown(mut self) {
        tracing::info!("Initiating Shutdown...");
        if let Some(monitor) = &self.monitor {
            monitor.stop();
        }
        self.handle.shutdown();
        self.stopped().await;
        if let Some(path) = &self.ports_file {
            if let Err(error) = std::fs::remove_file(path) {
                tracing::error!("Error cleaning up ports file {}: {error}", path.display());
            }
        }
        tracing::info!("Server Exiting..");
    }
}

/// nats-server's port convention: -1 (and, for this API, 0) asks the OS for a free port.
fn bind_port(port: i32) -> io::Result<u16> {
    match port {
        -1 | 0 => Ok(0),
        port => u16::try_from(port).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid port {port}: must be -1 (random) or 0..=65535"),
            )
        }),
    }
}

/// `host:port`, with an IPv6 host in brackets (Go's `net.JoinHostPort`).
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// nats-server's start-up banner, plus the seed so a run can be replayed with `--seed`.
fn log_banner(broker: &Broker, seed: u64) {
    let config = broker.config();
    tracing::info!("Starting switchboard");
    tracing::info!(
        "  Version:  {} (nats-server protocol {})",
        env!("CARGO_PKG_VERSION"),
        config.version
    );
    tracing::info!("  Name:     {}", broker.server_name());
    tracing::info!("  ID:       {}", broker.server_id());
    tracing::info!("  Seed:     {seed} (replay with --seed {seed})");
}

/// 64 bits from the OS's entropy source. The runtime may use OS randomness; only the core
/// may not. std seeds every `RandomState`'s SipHash keys from the OS, so hashing with fresh
/// keys gives random bits without another crate; the time and pid are mixed in for good measure.
fn os_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// Opens the store directory and every stream in it, logging what recovery found.
fn open_jetstream(
    options: &JetStreamOptions,
    server_name: &str,
    now: Now,
) -> io::Result<JetStream> {
    let root = options.store_dir.join("jetstream");
    let disk = StdDisk::new(&root).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!(
                "Could not create storage directory {}: {error}",
                root.display()
            ),
        )
    })?;
    tracing::info!("Starting JetStream");
    tracing::info!("    Store Directory: \"{}\"", root.display());
    match options.config.sync {
        SyncPolicy::Always => tracing::info!("    Sync:            before every acknowledgement"),
        SyncPolicy::Interval(every) => tracing::warn!(
            "    Sync:            every {} (acknowledged messages of the last interval can be lost on power failure)",
            switchboard::config::go_duration(every)
        ),
    }
    let mut config = options.config.clone();
    config.store_dir = root.display().to_string();
    let (js, report) =
        JetStream::open(Arc::new(disk), config, server_name, now).map_err(|error| {
            io::Error::other(format!(
                "Could not read storage directory {}: {error}",
                root.display()
            ))
        })?;
    for line in report.lines {
        if line.contains("not loaded") || line.contains("damage") {
            tracing::warn!("  {line}");
        } else {
            tracing::info!("  {line}");
        }
    }
    Ok(js)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_follow_nats_server_conventions() {
        assert_eq!(bind_port(-1).unwrap(), 0);
        assert_eq!(bind_port(0).unwrap(), 0);
        assert_eq!(bind_port(4222).unwrap(), 4222);
        assert!(bind_port(-2).is_err());
        assert!(bind_port(65536).is_err());
    }

    #[test]
    fn host_port_joins_like_go() {
        assert_eq!(join_host_port("0.0.0.0", 4222), "0.0.0.0:4222");
        assert_eq!(join_host_port("::", 4222), "[::]:4222");
        assert_eq!(join_host_port("localhost", 1), "localhost:1");
    }

    #[test]
    fn os_seeds_differ() {
        assert_ne!(os_seed(), os_seed());
    }
}
