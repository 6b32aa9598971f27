//! `/connz`: open and recently closed connections, filtered, sorted and paged
//! (nats-server's `Connz`, server/monitor.go and monitor_sort_opts.go).
//!
//! The work is split so the broker's owner is held only briefly: every candidate connection
//! becomes a small [`Row`] of the figures sorting needs, the rows are sorted and paged, and
//! only the page is turned into [`ConnInfo`]s with their strings.

use std::cmp::Ordering;
use std::time::Duration;

use serde::Serialize;

use super::closed::{CloseReason, ClosedConn};
use super::format::{rtt, uptime, wall_since, GoTime};
use super::query::{BadRequest, Query};
use super::{authorized_user, SubDetail, View, GLOBAL_ACCOUNT, LIST_LIMIT_DEFAULT};
use crate::broker::{Broker, ConnId};
use crate::session::Session;
use crate::time::{Now, Wall};

/// How `/connz` sorts (`sort=`). Only `cid`/`start` and `uptime` and `reason` are ascending;
/// every other order is descending, as in nats-server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortBy {
    #[default]
    Cid,
    Start,
    Subs,
    Pending,
    MsgsTo,
    MsgsFrom,
    BytesTo,
    BytesFrom,
    Last,
    Idle,
    Uptime,
    Stop,
    Reason,
    Rtt,
}

impl SortBy {
    /// nats-server's `SortOpt` names; an unknown one is refused as nats-server refuses it.
    pub fn parse(text: &str) -> Result<SortBy, BadRequest> {
        Ok(match text {
            "" | "cid" => SortBy::Cid,
            "start" => SortBy::Start,
            "subs" => SortBy::Subs,
            "pending" => SortBy::Pending,
            "msgs_to" => SortBy::MsgsTo,
            "msgs_from" => SortBy::MsgsFrom,
            "bytes_to" => SortBy::BytesTo,
            "bytes_from" => SortBy::BytesFrom,
            "last" => SortBy::Last,
            "idle" => SortBy::Idle,
            "uptime" => SortBy::Uptime,
            "stop" => SortBy::Stop,
            "reason" => SortBy::Reason,
            "rtt" => SortBy::Rtt,
            _ => return Err(BadRequest(format!("invalid sorting option: {text}"))),
        })
    }
}

/// Which connections `/connz` lists (`state=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnState {
    #[default]
    Open,
    Closed,
    All,
}

/// What `/connz` shows of each connection's subscriptions (`subs=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubsShown {
    #[default]
    None,
    /// `subs=true`: the subjects (`subscriptions_list`).
    List,
    /// `subs=detail`: subject, queue, sid, messages (`subscriptions_list_detail`).
    Detail,
}

/// `/connz`'s query options, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnzOptions {
    pub sort: SortBy,
    /// `auth=true`: show `authorized_user`.
    pub auth: bool,
    pub subs: SubsShown,
    pub offset: usize,
    /// At least 1; nats-server's default of 1024 when not given.
    pub limit: usize,
    /// `cid=N`: only that connection (the limit becomes 1).
    pub cid: Option<u64>,
    pub state: ConnState,
    /// `user=`: only connections authenticated as this user.
    pub user: Option<String>,
    /// `acc=`: only this account's connections. Everything is in nats-server's global
    /// account `$G` here, so any other name lists nothing.
    pub account: Option<String>,
    /// `mqtt_client=`: there are no MQTT clients, so any value lists nothing.
    pub mqtt_client: Option<String>,
}

impl Default for ConnzOptions {
    fn default() -> ConnzOptions {
        ConnzOptions {
            sort: SortBy::Cid,
            auth: false,
            subs: SubsShown::None,
            offset: 0,
            limit: LIST_LIMIT_DEFAULT,
            cid: None,
            state: ConnState::Open,
            user: None,
            account: None,
            mqtt_client: None,
        }
    }
}

impl ConnzOptions {
    /// Reads the options in nats-server's order (`HandleConnz`, then `Connz`), so the first
    /// bad one is the one reported, with nats-server's text.
    pub fn from_query(query: &Query) -> Result<ConnzOptions, BadRequest> {
        let sort_text = query.get("sort");
        let auth = query.bool("auth")?;
        let subs = if query.get("subs").eq_ignore_ascii_case("detail") {
            SubsShown::Detail
        } else if query.bool("subs")? {
            SubsShown::List
        } else {
            SubsShown::None
        };
        let offset = query.int("offset")?;
        let limit = query.int("limit")?;
        let cid = query.uint("cid")?;
        let state = parse_state(query.get("state"))?;
        let sort = SortBy::parse(sort_text)?;
        if sort == SortBy::Stop && state != ConnState::Closed {
            return Err(BadRequest(
                "sort by stop only valid on closed connections".to_string(),
            ));
        }
        if sort == SortBy::Reason && state != ConnState::Closed {
            return Err(BadRequest(
                "sort by reason only valid on closed connections".to_string(),
            ));
        }
        let non_empty = |key: &str| Some(query.get(key).to_string()).filter(|v| !v.is_empty());
        Ok(ConnzOptions {
            sort,
            auth,
            subs,
            offset: usize::try_from(offset).unwrap_or(0),
            limit: match (cid, usize::try_from(limit)) {
                (1.., _) => 1,
                (_, Ok(limit @ 1..)) => limit,
                _ => LIST_LIMIT_DEFAULT,
            },
            cid: Some(cid).filter(|&cid| cid > 0),
            state,
            user: non_empty("user"),
            account: non_empty("acc"),
            mqtt_client: non_empty("mqtt_client"),
        })
    }
}

/// nats-server `decodeState`.
fn parse_state(text: &str) -> Result<ConnState, BadRequest> {
    match text.to_ascii_lowercase().as_str() {
        "" | "open" => Ok(ConnState::Open),
        "closed" => Ok(ConnState::Closed),
        "any" | "all" => Ok(ConnState::All),
        _ => Err(BadRequest(format!("Error decoding state for {text}"))),
    }
}

/// nats-server's `/connz` answer.
#[derive(Clone, Debug, Serialize)]
pub struct Connz {
    pub server_id: String,
    pub now: GoTime,
    /// Connections in this page.
    pub num_connections: usize,
    /// Connections in the chosen state, before paging (and before a `cid` filter).
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub connections: Vec<ConnInfo>,
}

/// One connection (nats-server's `ConnInfo`). Empty strings and lists are left out, as Go's
/// `omitempty` leaves them out.
#[derive(Clone, Debug, Serialize)]
pub struct ConnInfo {
    pub cid: u64,
    pub kind: &'static str,
    #[serde(rename = "type")]
    pub kind_type: &'static str,
    pub ip: String,
    pub port: u16,
    pub start: GoTime,
    pub last_activity: GoTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<GoTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    pub rtt: String,
    pub uptime: String,
    pub idle: String,
    pub pending_bytes: usize,
    pub in_msgs: u64,
    pub out_msgs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    pub subscriptions: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lang: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub authorized_user: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list_detail: Vec<SubDetail>,
}

/// Where a row came from.
#[derive(Clone, Copy)]
enum Source<'a> {
    Open(&'a Session),
    Closed(&'a ClosedConn),
}

/// The figures a connection is sorted by.
#[derive(Clone, Copy)]
struct Row<'a> {
    cid: u64,
    subs: usize,
    pending_bytes: usize,
    in_msgs: u64,
    out_msgs: u64,
    in_bytes: u64,
    out_bytes: u64,
    start: Wall,
    last: Wall,
    stop: Option<Wall>,
    reason: Option<CloseReason>,
    rtt: Duration,
    source: Source<'a>,
}

impl<'a> Row<'a> {
    fn open(session: &'a Session) -> Row<'a> {
        Row {
            cid: session.id.0,
            subs: session.subs.len(),
            pending_bytes: session.outbound.pending_bytes(),
            in_msgs: session.in_msgs,
            out_msgs: session.out_msgs,
            in_bytes: session.in_bytes,
            out_bytes: session.out_bytes,
            start: session.start,
            last: session.last_activity,
            stop: None,
            reason: None,
            rtt: session.rtt,
            source: Source::Open(session),
        }
    }

    fn closed(conn: &'a ClosedConn) -> Row<'a> {
        Row {
            cid: conn.cid,
            subs: conn.subs.len(),
            pending_bytes: conn.pending_bytes,
            in_msgs: conn.in_msgs,
            out_msgs: conn.out_msgs,
            in_bytes: conn.in_bytes,
            out_bytes: conn.out_bytes,
            start: conn.start,
            last: conn.last_activity,
            stop: Some(conn.stop),
            reason: Some(conn.reason),
            rtt: conn.rtt,
            source: Source::Closed(conn),
        }
    }

    /// How long it was (or has been) connected.
    fn uptime(&self, now: Wall) -> Duration {
        wall_since(self.stop.unwrap_or(now), self.start)
    }
}

/// `/connz` for `broker` at `now`.
pub fn connz(broker: &Broker, now: Now, options: &ConnzOptions) -> Connz {
    let view = broker.monitor_view();
    let mut connz = Connz {
        server_id: broker.server_id().to_string(),
        now: GoTime(now.wall),
        num_connections: 0,
        total: 0,
        offset: options.offset,
        limit: options.limit,
        connections: Vec::new(),
    };
    if options
        .account
        .as_deref()
        .is_some_and(|a| a != GLOBAL_ACCOUNT)
    {
        return connz; // an account that does not exist has no connections
    }
    let (open, closed) = match options.state {
        ConnState::Open => (true, false),
        ConnState::Closed => (false, true),
        ConnState::All => (true, true),
    };
    connz.total = usize::from(open) * view.sessions.len() + usize::from(closed) * view.closed.len();
    let mut rows = candidates(&view, options, open, closed);
    rows.retain(|row| keep(broker, row, options));
    sort(&mut rows, options.sort, now.wall);
    let first = options.offset.min(rows.len());
    let end = first + options.limit.min(rows.len() - first);
    connz.connections = rows[first..end]
        .iter()
        .map(|row| conn_info(broker, &view, row, options, now.wall))
        .collect();
    connz.num_connections = connz.connections.len();
    connz
}

/// The rows in the chosen state; with a `cid`, only that connection (open first, then closed,
/// as nats-server looks).
fn candidates<'a>(
    view: &View<'a>,
    options: &ConnzOptions,
    open: bool,
    closed: bool,
) -> Vec<Row<'a>> {
    if let Some(cid) = options.cid {
        let open_row = view
            .sessions
            .get(&ConnId(cid))
            .filter(|_| open)
            .map(Row::open);
        let closed_row = || {
            view.closed
                .iter()
                .filter(|_| closed)
                .find(|c| c.cid == cid)
                .map(Row::closed)
        };
        return open_row.or_else(closed_row).into_iter().collect();
    }
    let mut rows = Vec::with_capacity(
        usize::from(open) * view.sessions.len() + usize::from(closed) * view.closed.len(),
    );
    if open {
        rows.extend(view.sessions.values().map(Row::open));
    }
    if closed {
        rows.extend(view.closed.iter().map(Row::closed));
    }
    rows
}

/// The `user` and `mqtt_client` filters.
fn keep(broker: &Broker, row: &Row<'_>, options: &ConnzOptions) -> bool {
    if options.mqtt_client.is_some() {
        return false;
    }
    let Some(wanted) = options.user.as_deref() else {
        return true;
    };
    let user = match row.source {
        Source::Open(session) => authorized_user(broker, session),
        Source::Closed(conn) => conn.user.as_deref(),
    };
    user == Some(wanted)
}

/// Sorts as nats-server does; ties go to the lower cid, so the order is always the same.
fn sort(rows: &mut [Row<'_>], by: SortBy, now: Wall) {
    let order = |a: &Row<'_>, b: &Row<'_>| -> Ordering {
        match by {
            SortBy::Cid | SortBy::Start => Ordering::Equal,
            SortBy::Subs => b.subs.cmp(&a.subs),
            SortBy::Pending => b.pending_bytes.cmp(&a.pending_bytes),
            SortBy::MsgsTo => b.out_msgs.cmp(&a.out_msgs),
            SortBy::MsgsFrom => b.in_msgs.cmp(&a.in_msgs),
            SortBy::BytesTo => b.out_bytes.cmp(&a.out_bytes),
            SortBy::BytesFrom => b.in_bytes.cmp(&a.in_bytes),
            SortBy::Last => b.last.cmp(&a.last),
            // Longest idle first: the oldest last activity.
            SortBy::Idle => a.last.cmp(&b.last),
            SortBy::Uptime => a.uptime(now).cmp(&b.uptime(now)),
            SortBy::Stop => b.stop.cmp(&a.stop),
            SortBy::Reason => {
                let text = |row: &Row<'_>| row.reason.map(CloseReason::as_str);
                text(a).cmp(&text(b))
            }
            SortBy::Rtt => b.rtt.cmp(&a.rtt),
        }
    };
    rows.sort_unstable_by(|a, b| order(a, b).then(a.cid.cmp(&b.cid)));
}

/// The full entry for one row of the page.
fn conn_info(
    broker: &Broker,
    view: &View<'_>,
    row: &Row<'_>,
    options: &ConnzOptions,
    now: Wall,
) -> ConnInfo {
    let until = row.stop.unwrap_or(now);
    let mut info = ConnInfo {
        cid: row.cid,
        kind: "Client",
        kind_type: "nats",
        ip: String::new(),
        port: 0,
        start: GoTime(row.start),
        last_activity: GoTime(row.last),
        stop: row.stop.map(GoTime),
        reason: row.reason.map(CloseReason::as_str),
        rtt: rtt(row.rtt),
        uptime: uptime(row.uptime(now)),
        idle: uptime(wall_since(until, row.last)),
        pending_bytes: row.pending_bytes,
        in_msgs: row.in_msgs,
        out_msgs: row.out_msgs,
        in_bytes: row.in_bytes,
        out_bytes: row.out_bytes,
        subscriptions: row.subs,
        name: String::new(),
        lang: String::new(),
        version: String::new(),
        authorized_user: String::new(),
        subscriptions_list: Vec::new(),
        subscriptions_list_detail: Vec::new(),
    };
    match row.source {
        Source::Open(session) => fill_open(&mut info, broker, view, session, options),
        Source::Closed(conn) => fill_closed(&mut info, conn, options),
    }
    info
}

fn fill_open(
    info: &mut ConnInfo,
    broker: &Broker,
    view: &View<'_>,
    session: &Session,
    options: &ConnzOptions,
) {
    info.ip = session.peer.ip().to_string();
    info.port = session.peer.port();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    info.name = text(&session.options.name);
    info.lang = text(&session.options.lang);
    info.version = text(&session.options.version);
    if options.auth {
        info.authorized_user = authorized_user(broker, session)
            .unwrap_or_default()
            .to_string();
    }
    if options.subs == SubsShown::None {
        return;
    }
    // Creation order: sids are the client's, the broker-wide ids grow with each SUB.
    let mut subs: Vec<_> = session
        .subs
        .values()
        .filter_map(|id| view.subs.get(id).map(|sub| (*id, sub)))
        .collect();
    subs.sort_unstable_by_key(|&(id, _)| id);
    for (_, sub) in subs {
        match options.subs {
            SubsShown::List => info
                .subscriptions_list
                .push(String::from_utf8_lossy(&sub.subject).into_owned()),
            _ => info.subscriptions_list_detail.push(SubDetail::new(
                None,
                &sub.subject,
                sub.queue.as_deref(),
                &sub.sid,
                sub.delivered,
                sub.deliveries_max,
                session.id.0,
            )),
        }
    }
}

fn fill_closed(info: &mut ConnInfo, conn: &ClosedConn, options: &ConnzOptions) {
    info.ip = conn.peer.ip().to_string();
    info.port = conn.peer.port();
    info.name = conn.name.clone().unwrap_or_default();
    info.lang = conn.lang.clone().unwrap_or_default();
    info.version = conn.version.clone().unwrap_or_default();
    if options.auth {
        info.authorized_user = conn.user.clone().unwrap_or_default();
    }
    for sub in &conn.subs {
        match options.subs {
            SubsShown::None => return,
            SubsShown::List => info
                .subscriptions_list
                .push(String::from_utf8_lossy(&sub.subject).into_owned()),
            // nats-server keeps closed connections' subscriptions with their account.
            SubsShown::Detail => info.subscriptions_list_detail.push(SubDetail::new(
                Some(GLOBAL_ACCOUNT),
                &sub.subject,
                sub.queue.as_deref(),
                &sub.sid,
                sub.msgs,
                sub.max,
                conn.cid,
            )),
        }
    }
}
