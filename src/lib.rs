//! Switchboard's sans-IO core: a NATS-compatible broker as state machines.
//!
//! Nothing here reads a socket, file, clock or OS entropy. A host feeds inputs with the current
//! [`Now`] and drains outputs; see [`Broker`] for the loop contract. The tokio runtime
//! (`switchboard-server`) and the turmoil simulator (`switchboard-sim`) are the two hosts.

pub mod broker;
pub mod conf;
pub mod config;
pub mod fuzzing;
pub mod jetstream;
pub mod monitor;
pub mod protocol;
pub mod routing;
pub mod seed;
mod session;
pub mod store;
pub mod time;

pub use broker::{Broker, ConnId, Output, Stats, Work, WorkDone};
pub use config::{AuthConfig, Config, User};
pub use seed::Seed;
pub use time::{Mono, Now, Wall};
