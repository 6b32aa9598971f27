//! Monitoring: nats-server's HTTP monitoring answers (`/varz`, `/connz`, `/subsz`, `/routez`,
//! `/healthz`, `/jsz`) as pure functions of the [`Broker`], the current [`Now`] and a few facts
//! only the host knows ([`HostFacts`]: memory, CPU, the monitor's address, start times).
//!
//! The core counts; the host serves. A host reads options from the query string with each
//! `*Options::from_query` (errors carry nats-server's `400` text), calls the function on the
//! broker's owner (they only read and copy, and `/connz` builds entries for the requested page
//! only), and serializes the result outside it. Field names, units and omissions follow
//! nats-server 2.12.8's JSON; fields for features this broker does not have are left out.
//!
//! What the broker keeps for this: per-connection counters in each session, per-reason close
//! counts and a pending-bytes histogram in [`crate::Stats`], and a bounded ring of recently
//! closed connections ([`closed`]).

pub mod closed;
mod connz;
pub mod format;
mod healthz;
pub mod histogram;
mod jsz;
pub mod query;
mod routez;
mod subsz;
#[cfg(test)]
mod tests;
mod varz;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::broker::{Broker, ConnId};
use crate::config::AuthConfig;
use crate::routing::{SubId, Sublist};
use crate::session::{Session, Subscription};
use crate::time::Wall;
pub use closed::{CloseCounts, CloseReason, CLOSED_CONNECTIONS_MAX};
pub use connz::{connz, ConnInfo, ConnState, Connz, ConnzOptions, SortBy, SubsShown};
pub use healthz::{healthz, Health, HealthStatus, HealthzError, HealthzOptions};
pub use histogram::{PendingBytesHistogram, PENDING_BUCKET_BOUNDS_BYTES};
pub use jsz::{jsz, Jsz, JszOptions};
pub use query::{BadRequest, Query};
pub use routez::{check_routez_query, routez, Routez};
pub use subsz::{subsz, Subsz, SubszOptions};
pub use varz::{varz, Varz};

/// nats-server's default page size for `/connz` and `/subsz` (`DefaultConnListSize`,
/// `DefaultSubListSize`).
pub const LIST_LIMIT_DEFAULT: usize = 1024;

/// The one account everything belongs to until accounts exist: nats-server's global account.
pub const GLOBAL_ACCOUNT: &str = "$G";

/// What `/varz` needs that only the host knows.
#[derive(Clone, Debug, Default)]
pub struct HostFacts {
    /// When the server started (`start`, and `uptime` from it).
    pub start: Wall,
    /// When the configuration was last loaded or reloaded (`config_load_time`).
    pub config_load_time: Wall,
    /// Resident memory (`mem`); 0 where the host cannot tell.
    pub mem_bytes: i64,
    /// CPU use in percent of one core (`cpu`); 0 where the host cannot tell.
    pub cpu_percent: f64,
    /// CPUs available to the process (`cores`).
    pub cores: u32,
    /// The monitor's address (`http_host`, `http_port`).
    pub http_host: String,
    pub http_port: u16,
    /// Requests served per endpoint path (`http_req_stats`).
    pub http_req_stats: BTreeMap<String, u64>,
}

/// One subscription in a listing (nats-server's `SubDetail`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubDetail {
    /// Shown where nats-server shows it (`/subsz`, closed connections); always `$G` here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_tag: Option<&'static str>,
    pub subject: String,
    #[serde(rename = "qgroup", skip_serializing_if = "String::is_empty")]
    pub queue: String,
    pub sid: String,
    /// Messages delivered to it.
    pub msgs: u64,
    /// Its auto-unsubscribe limit; 0 (none) is left out.
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub cid: u64,
}

impl SubDetail {
    fn new(
        account: Option<&'static str>,
        subject: &[u8],
        queue: Option<&[u8]>,
        sid: &[u8],
        msgs: u64,
        max: u64,
        cid: u64,
    ) -> SubDetail {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        SubDetail {
            account,
            account_tag: account,
            subject: text(subject),
            queue: queue.map(text).unwrap_or_default(),
            sid: text(sid),
            msgs,
            max,
            cid,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The broker state the monitor reads, borrowed (see [`Broker::monitor_view`]).
pub(crate) struct View<'a> {
    pub(crate) sessions: &'a FxHashMap<ConnId, Session>,
    pub(crate) subs: &'a FxHashMap<SubId, Subscription>,
    pub(crate) sublist: &'a Sublist,
    pub(crate) closed: &'a closed::ClosedRing,
}

/// The user a client authenticated as (`authorized_user`): its CONNECT `user` when users are
/// configured; nothing for token or no authentication.
pub(crate) fn authorized_user<'a>(broker: &Broker, session: &'a Session) -> Option<&'a str> {
    match broker.config().auth {
        AuthConfig::Users(_) => session.options.user.as_deref(),
        AuthConfig::None | AuthConfig::Token(_) => None,
    }
}
