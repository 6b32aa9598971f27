//! Switchboard's tokio runtime: the host that runs the sans-IO [`switchboard::Broker`] on real
//! sockets and clocks.
//!
//! - [`driver`]: the thin task that owns the broker, generic over listener and clock so the
//!   simulator can run the same code on turmoil sockets;
//! - [`server`]: binds a TCP listener and runs a driver on it ([`Server`], [`ServerOptions`]),
//!   the API integration tests use;
//! - [`cli`]: nats-server's command-line flags, Go style;
//! - [`logging`]: nats-server's log format on `tracing`.
//! - [`monitor`]: the monitoring HTTP endpoints (`/varz`, `/connz`, ...); [`metrics`]: `/metrics`.
//! - [`disk`]: [`disk::StdDisk`], the store's `Disk` over real files with real fsync.

pub mod cli;
pub mod config_file;
pub mod disk;
pub mod driver;
pub mod logging;
pub mod metrics;
pub mod monitor;
pub mod options;
mod ports;
pub mod reload;
pub mod server;
pub mod signals;

pub use driver::{Clock, Driver, DriverHandle, Listener, SystemClock};
pub use server::{Server, ServerOptions};
