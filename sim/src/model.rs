//! The history, indexed for the checkers: connections with their flushes, subscriptions with
//! their deliveries, messages with their acknowledgements, and fault windows.
//!
//! The checkers' one tool is *causal evidence* from flushes. A client's `n`th PONG on a
//! connection means the server processed everything the client wrote before its `n`th PING,
//! and that everything the server queued for that connection before processing that PING has
//! arrived (one TCP stream, in order). Since the history is in execution order:
//! - a SUB is *confirmed* by the first PONG for a PING written after it;
//! - a PUB is *acked* (routed) by the first PONG for a PING written after it;
//! - a subscription *got everything routed to it before index i* if its connection completed a
//!   flush whose PING was written after i.

use std::collections::BTreeMap;

use crate::history::{Body, CloseWhy, Entry, Event, FaultKind, MsgId};

/// One client connection.
#[derive(Debug)]
pub struct ConnInfo {
    pub client: u32,
    pub server: u32,
    pub opened: usize,
    pub closed: Option<(usize, CloseWhy)>,
    /// Index of the client's `n`th PING at `n - 1`.
    pub pings: Vec<usize>,
    /// Index of the `n`th PONG at `n - 1`.
    pub pongs: Vec<usize>,
}

impl ConnInfo {
    /// The PONG answering the first PING written after `index`, if it came.
    pub fn confirmed_after(&self, index: usize) -> Option<usize> {
        let n = self.pings.partition_point(|&at| at <= index);
        self.pongs.get(n).copied()
    }

    /// Whether a flush begun after `index` completed.
    pub fn flushed_after(&self, index: usize) -> bool {
        let n = self.pings.partition_point(|&at| at <= index);
        self.pongs.len() > n
    }
}

/// One subscription: `(conn, sid)`.
#[derive(Debug)]
pub struct SubInfo {
    pub conn: u32,
    pub sid: u32,
    pub subject: String,
    pub queue: Option<String>,
    pub sub_at: usize,
    pub confirmed: Option<usize>,
    /// The UNSUB (index, max), if any was written.
    pub unsub: Option<(usize, Option<u64>)>,
    /// Deliveries, in order.
    pub deliveries: Vec<Delivery>,
}

/// One MSG or HMSG a subscription received.
#[derive(Debug)]
pub struct Delivery {
    pub at: usize,
    pub subject: String,
    pub body: Body,
}

impl SubInfo {
    /// Whether the subscription was certainly in the server's sublist for a message written at
    /// `pub_at` and routed by `acked`: confirmed before the PUB was written, and not
    /// unsubscribed (or given a max) before the message was routed.
    pub fn certainly_live(&self, pub_at: usize, acked: usize) -> bool {
        self.confirmed.is_some_and(|c| c < pub_at) && self.unsub.is_none_or(|(at, _)| at > acked)
    }

    /// Whether the subscription may have been in the sublist when a message written at
    /// `pub_at` and acked at `acked` (or not acked, `usize::MAX`) was routed.
    pub fn possibly_live(
        &self,
        conns: &BTreeMap<u32, ConnInfo>,
        pub_at: usize,
        acked: usize,
    ) -> bool {
        if self.sub_at > acked {
            return false;
        }
        // A connection the client saw the server end (EOF, reset) was forgotten by the server
        // before that: the server closes its socket only after the broker drops the session.
        let conn = conns.get(&self.conn);
        if let Some((at, CloseWhy::Lost(_))) = conn.and_then(|c| c.closed.as_ref()) {
            if *at < pub_at {
                return false;
            }
        }
        match self.unsub {
            Some((at, None)) => {
                // Gone for sure once an UNSUB is confirmed before the PUB was written.
                let confirmed = conn.and_then(|c| c.confirmed_after(at));
                confirmed.is_none_or(|c| c > pub_at)
            }
            _ => true,
        }
    }

    /// The messages (not statuses) delivered, with their indexes.
    pub fn messages(&self) -> impl Iterator<Item = (usize, MsgId)> + '_ {
        self.deliveries.iter().filter_map(|d| match d.body {
            Body::Message { msg, .. } => Some((d.at, msg)),
            _ => None,
        })
    }
}

/// One published message.
#[derive(Debug)]
pub struct MsgInfo {
    pub id: MsgId,
    pub conn: u32,
    pub server: u32,
    pub subject: String,
    pub reply: Option<String>,
    pub len: usize,
    pub pub_at: usize,
    /// The PONG that proves it was routed.
    pub acked: Option<usize>,
}

/// A network fault window between one client and one server, or a server crash window.
#[derive(Clone, Debug)]
pub struct FaultWindow {
    pub kind: FaultKind,
    pub client: Option<u32>,
    pub server: Option<u32>,
    pub from: usize,
    /// When healed (`usize::MAX` if never).
    pub until: usize,
}

#[derive(Debug, Default)]
pub struct Model {
    pub conns: BTreeMap<u32, ConnInfo>,
    pub subs: BTreeMap<(u32, u32), SubInfo>,
    pub msgs: BTreeMap<MsgId, MsgInfo>,
    /// Deliveries to a (conn, sid) with no SUB: kept for the routing checker.
    pub strays: Vec<(u32, u32, Delivery)>,
    pub faults: Vec<FaultWindow>,
    /// Index of the heal (start of the liveness phase).
    pub healed: Option<usize>,
}

impl Model {
    pub fn build(entries: &[Entry]) -> Model {
        let mut model = Model::default();
        let mut open: BTreeMap<(FaultKind, Option<u32>, Option<u32>), usize> = BTreeMap::new();
        for (index, entry) in entries.iter().enumerate() {
            model.add(index, &entry.event, &mut open);
        }
        for ((kind, client, server), from) in open {
            model.faults.push(FaultWindow {
                kind,
                client,
                server,
                from,
                until: model.healed.unwrap_or(usize::MAX),
            });
        }
        // Acks need the whole log (the PONG comes later).
        for msg in model.msgs.values_mut() {
            msg.acked = model
                .conns
                .get(&msg.conn)
                .and_then(|c| c.confirmed_after(msg.pub_at));
        }
        for sub in model.subs.values_mut() {
            sub.confirmed = model
                .conns
                .get(&sub.conn)
                .and_then(|c| c.confirmed_after(sub.sub_at));
        }
        model
    }

    fn add(
        &mut self,
        index: usize,
        event: &Event,
        open: &mut BTreeMap<(FaultKind, Option<u32>, Option<u32>), usize>,
    ) {
        match event {
            Event::Connected {
                client,
                conn,
                server,
            } => {
                self.conns.insert(
                    *conn,
                    ConnInfo {
                        client: *client,
                        server: *server,
                        opened: index,
                        closed: None,
                        pings: Vec::new(),
                        pongs: Vec::new(),
                    },
                );
            }
            Event::Closed { conn, why } => {
                if let Some(c) = self.conns.get_mut(conn) {
                    c.closed.get_or_insert((index, why.clone()));
                }
            }
            Event::Ping { conn, .. } => {
                if let Some(c) = self.conns.get_mut(conn) {
                    c.pings.push(index);
                }
            }
            Event::Pong { conn, .. } => {
                if let Some(c) = self.conns.get_mut(conn) {
                    c.pongs.push(index);
                }
            }
            Event::Sub {
                conn,
                sid,
                subject,
                queue,
            } => {
                self.subs.insert(
                    (*conn, *sid),
                    SubInfo {
                        conn: *conn,
                        sid: *sid,
                        subject: subject.clone(),
                        queue: queue.clone(),
                        sub_at: index,
                        confirmed: None,
                        unsub: None,
                        deliveries: Vec::new(),
                    },
                );
            }
            Event::Unsub { conn, sid, max } => {
                if let Some(sub) = self.subs.get_mut(&(*conn, *sid)) {
                    sub.unsub.get_or_insert((index, *max));
                }
            }
            Event::Pub {
                conn,
                msg,
                subject,
                reply,
                len,
            } => {
                let server = self.conns.get(conn).map_or(u32::MAX, |c| c.server);
                self.msgs.insert(
                    *msg,
                    MsgInfo {
                        id: *msg,
                        conn: *conn,
                        server,
                        subject: subject.clone(),
                        reply: reply.clone(),
                        len: *len,
                        pub_at: index,
                        acked: None,
                    },
                );
            }
            Event::Msg {
                conn,
                sid,
                subject,
                body,
                ..
            } => {
                let delivery = Delivery {
                    at: index,
                    subject: subject.clone(),
                    body: body.clone(),
                };
                match self.subs.get_mut(&(*conn, *sid)) {
                    Some(sub) => sub.deliveries.push(delivery),
                    None => self.strays.push((*conn, *sid, delivery)),
                }
            }
            Event::Fault {
                kind,
                on,
                client,
                server,
                ..
            } => {
                let key = (*kind, *client, *server);
                let instant = matches!(
                    kind,
                    FaultKind::Disconnect | FaultKind::ClockJump | FaultKind::SlowReader
                );
                if instant {
                    return;
                }
                if *on {
                    open.entry(key).or_insert(index);
                } else if let Some(from) = open.remove(&key) {
                    self.faults.push(FaultWindow {
                        kind: *kind,
                        client: *client,
                        server: *server,
                        from,
                        until: index,
                    });
                }
            }
            Event::ServerCrashed { server } => {
                open.entry((FaultKind::Bounce, None, Some(*server)))
                    .or_insert(index);
            }
            Event::ServerStarted { server, .. } => {
                if let Some(from) = open.remove(&(FaultKind::Bounce, None, Some(*server))) {
                    self.faults.push(FaultWindow {
                        kind: FaultKind::Bounce,
                        client: None,
                        server: Some(*server),
                        from,
                        until: index,
                    });
                }
            }
            Event::Healed => self.healed = Some(index),
            _ => {}
        }
    }

    /// Whether a network fault or a crash touched connection `conn` (its link to its server,
    /// or its server) at any time in `[from, until]`.
    pub fn touched(&self, conn: u32, from: usize, until: usize) -> bool {
        let Some(c) = self.conns.get(&conn) else {
            return true;
        };
        self.faults.iter().any(|f| {
            let overlaps = f.from <= until && f.until >= from;
            let link =
                f.kind.is_network() && f.client == Some(c.client) && f.server == Some(c.server);
            let crash = f.kind == FaultKind::Bounce && f.server == Some(c.server);
            overlaps && (link || crash)
        })
    }

    /// The server a connection is on.
    pub fn server_of(&self, conn: u32) -> Option<u32> {
        self.conns.get(&conn).map(|c| c.server)
    }
}

/// Whether `subject` matches the subscription `filter`: the simulator's own matcher, written
/// from the NATS docs (subject-based messaging), independent of the core's sublist.
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in filter.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (literal, Some(s)) if literal == s => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn matcher_follows_the_docs() {
        assert!(subject_matches("s.a", "s.a"));
        assert!(subject_matches("s.*", "s.a"));
        assert!(!subject_matches("s.*", "s.a.x"));
        assert!(subject_matches("s.>", "s.a.x"));
        assert!(!subject_matches("s.>", "s"));
        assert!(subject_matches("*.a", "x.a"));
        assert!(subject_matches("s.*.x", "s.a.x"));
        assert!(!subject_matches("s.a", "s.b"));
        assert!(!subject_matches("s.a.x", "s.a"));
    }
}
