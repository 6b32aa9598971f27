//! The simulated clients: raw protocol over a link with latency, one inbox subscription each
//! (`_INBOX.c<n>.*`, one reply subject per request), and the requests they have in flight.
//! One extra client, the verifier, only checks: after every restart it reads back the
//! acknowledged messages with `$JS.API.STREAM.MSG.GET` and asks STREAM.INFO.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::seq::SliceRandom;
use switchboard::ConnId;

use super::model::{Phase, PubId, PubOutcome};
use super::params::{SimTime, MILLIS};
use super::world::{Event, RunPhase, World};
use super::{invariants, wire};
use crate::client::parser::{ServerOp, ServerParser};

/// Requests the verifier keeps in flight.
const VERIFIER_IN_FLIGHT_MAX: usize = 16;
/// Acknowledged messages per stream the verifier reads back after a mid-run restart (the
/// newest half, and a random half of the rest); after the final restart it reads them all.
const VERIFY_PER_STREAM_MAX: usize = 200;

/// What a request was, to check its reply.
#[derive(Clone, Debug)]
pub enum RequestKind {
    Publish(PubId),
    Create {
        stream: usize,
    },
    Delete {
        stream: usize,
    },
    Info {
        stream: usize,
        generation: usize,
    },
    /// MSG.GET by sequence (`None`: by last subject).
    Get {
        stream: usize,
        generation: usize,
        seq: Option<u64>,
        verify: bool,
    },
    Purge {
        stream: usize,
        generation: usize,
        index: usize,
    },
    MsgDelete {
        stream: usize,
        generation: usize,
        seq: u64,
    },
}

impl RequestKind {
    /// The stream a request counts as outstanding on (CREATE and DELETE are not counted:
    /// the stream's phase keeps them apart from everything else).
    pub fn counted_stream(&self) -> Option<usize> {
        match self {
            RequestKind::Publish(_) | RequestKind::Create { .. } | RequestKind::Delete { .. } => {
                None
            }
            RequestKind::Info { stream, .. }
            | RequestKind::Get { stream, .. }
            | RequestKind::Purge { stream, .. }
            | RequestKind::MsgDelete { stream, .. } => Some(*stream),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Request {
    pub kind: RequestKind,
    pub sent_at: SimTime,
    pub incarnation: u32,
}

/// Something the verifier reads back.
#[derive(Clone, Copy, Debug)]
pub enum Check {
    Get {
        stream: usize,
        generation: usize,
        seq: u64,
    },
    Info {
        stream: usize,
        generation: usize,
    },
}

/// One connection of a client.
#[derive(Debug)]
pub struct ClientConn {
    pub id: ConnId,
    pub incarnation: u32,
    parser: ServerParser,
    /// CONNECT and SUB were answered (the PONG after them arrived).
    pub ready: bool,
    /// The last non-duplicate PubAck sequence per stream generation on this connection.
    pub last_ack: BTreeMap<(usize, usize), u64>,
}

#[derive(Debug)]
pub struct Client {
    pub index: usize,
    pub verifier: bool,
    pub conn: Option<ClientConn>,
    pub connecting: bool,
    /// When the last bytes each way on the current link arrive (links are FIFO).
    pub up_tail: SimTime,
    pub down_tail: SimTime,
    next_request: u64,
    pub pending: BTreeMap<u64, Request>,
    /// This client's publishes that carried a `Nats-Msg-Id` (what it may retry).
    pub with_ids: Vec<PubId>,
    pub next_publish: u64,
    pub verify_queue: VecDeque<Check>,
    /// Stream generations this client sent its liveness publish to.
    pub liveness_sent: BTreeSet<(usize, usize)>,
    act_scheduled: bool,
}

impl Client {
    pub fn new(index: usize, verifier: bool) -> Client {
        Client {
            index,
            verifier,
            conn: None,
            connecting: true,
            up_tail: 0,
            down_tail: 0,
            next_request: 0,
            pending: BTreeMap::new(),
            with_ids: Vec::new(),
            next_publish: 0,
            verify_queue: VecDeque::new(),
            liveness_sent: BTreeSet::new(),
            act_scheduled: false,
        }
    }

    pub fn connected(&mut self, id: ConnId, incarnation: u32) {
        self.conn = Some(ClientConn {
            id,
            incarnation,
            parser: ServerParser::default(),
            ready: false,
            last_ack: BTreeMap::new(),
        });
        self.connecting = false;
        self.up_tail = 0;
        self.down_tail = 0;
    }

    pub fn ready(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.ready)
    }
}

impl World {
    /// Bytes from the server on `conn`.
    pub fn client_receive(&mut self, client: usize, conn: ConnId, data: &[u8]) {
        match &mut self.clients[client].conn {
            Some(current) if current.id == conn => current.parser.push(data),
            _ => return,
        }
        loop {
            let next = self.clients[client]
                .conn
                .as_mut()
                .map(|c| c.parser.next_op());
            let op = match next {
                Some(Ok(Some(op))) => op,
                Some(Ok(None)) | None => return,
                Some(Err(why)) => {
                    invariants::fail(
                        &mut self.verdict,
                        invariants::SERVER_HEALTH,
                        format!("client {client} cannot parse what the server sent: {why}"),
                    );
                    self.error = Some(format!("client {client}: {why}"));
                    return;
                }
            };
            self.client_op(client, op);
        }
    }

    fn client_op(&mut self, client: usize, op: ServerOp) {
        match op {
            ServerOp::Info(_) => {
                let hello = format!(
                    "CONNECT {{\"verbose\":false,\"pedantic\":false,\"headers\":true,\
                     \"no_responders\":true,\"protocol\":1,\"name\":\"c{client}\",\
                     \"lang\":\"sim\",\"version\":\"0\"}}\r\nSUB _INBOX.c{client}.* 1\r\nPING\r\n"
                );
                self.send_to_server(client, hello.into_bytes());
            }
            ServerOp::Ping => self.send_to_server(client, b"PONG\r\n".to_vec()),
            ServerOp::Pong => {
                let Some(conn) = &mut self.clients[client].conn else {
                    return;
                };
                if !conn.ready {
                    conn.ready = true;
                    self.note(&format!("client {client} ready"));
                    self.schedule_act(client, self.now);
                }
            }
            ServerOp::Ok => {}
            ServerOp::Err(text) => {
                self.note(&format!("client {client} got -ERR {text}"));
                invariants::fail(
                    &mut self.verdict,
                    invariants::SERVER_HEALTH,
                    format!("client {client} got -ERR {text}"),
                );
            }
            ServerOp::Msg {
                subject,
                headers,
                payload,
                ..
            } => {
                let number = subject
                    .strip_prefix(&format!("_INBOX.c{client}."))
                    .and_then(|n| n.parse::<u64>().ok());
                let request = number.and_then(|n| self.clients[client].pending.remove(&n));
                let Some(request) = request else {
                    invariants::fail(
                        &mut self.verdict,
                        invariants::SERVER_HEALTH,
                        format!("client {client} got a message it did not ask for on {subject}"),
                    );
                    return;
                };
                let reply = wire::Reply::read(headers.as_ref(), &payload);
                self.on_reply(client, number.unwrap_or(0), request, reply);
            }
        }
    }

    /// The client's connection is gone: what it waits for will never come.
    pub fn client_closed(&mut self, client: usize, incarnation: u32, conn: ConnId) {
        let same = self.clients[client]
            .conn
            .as_ref()
            .is_some_and(|c| c.id == conn && c.incarnation == incarnation);
        if !same {
            return;
        }
        self.clients[client].conn = None;
        let pending = std::mem::take(&mut self.clients[client].pending);
        self.note(&format!(
            "client {client} disconnected: {} requests unanswered",
            pending.len()
        ));
        for request in pending.into_values() {
            self.request_lost(request);
        }
        if self.server.is_some() && !self.clients[client].connecting {
            self.clients[client].connecting = true;
            let at = self.now + MILLIS;
            self.schedule(at, Event::Connect { client });
        }
    }

    fn request_lost(&mut self, request: Request) {
        if let Some(stream) = request.kind.counted_stream() {
            self.model.streams[stream].outstanding -= 1;
        }
        match request.kind {
            RequestKind::Publish(id) => {
                let publish = &mut self.model.publishes[id];
                publish.outcome = PubOutcome::Unknown;
                let (stream, generation) = (publish.stream, publish.generation);
                self.model.streams[stream].outstanding -= 1;
                if publish.liveness {
                    // Lost with a connection the final crash closed: the client sends another.
                    publish.liveness = false;
                    let client = publish.client as usize;
                    self.clients[client]
                        .liveness_sent
                        .remove(&(stream, generation));
                }
            }
            // Unanswered: a CREATE is sent again (it answers OK if it took), a DELETE too.
            RequestKind::Create { stream }
                if self.model.streams[stream].phase == Phase::Creating =>
            {
                self.model.streams[stream].phase = Phase::NeedCreate;
            }
            RequestKind::Delete { stream }
                if self.model.streams[stream].phase == Phase::Deleting =>
            {
                self.model.streams[stream].phase = Phase::Draining;
            }
            _ => {}
        }
    }

    pub fn schedule_act(&mut self, client: usize, at: SimTime) {
        if !self.clients[client].act_scheduled {
            self.clients[client].act_scheduled = true;
            self.schedule(at, Event::Act { client });
        }
    }

    /// A client's turn.
    pub fn act(&mut self, client: usize) {
        self.clients[client].act_scheduled = false;
        if !self.clients[client].ready() {
            return;
        }
        if self.clients[client].verifier {
            self.verify_step(client);
            if !self.clients[client].verify_queue.is_empty() {
                self.schedule_act(client, self.now + 200_000);
            }
            return;
        }
        self.workload_step(client);
        let think = {
            use rand::Rng;
            self.rng
                .workload
                .random_range(1_000..=self.params.think_max)
        };
        self.schedule_act(client, self.now + think);
    }

    /// Sends `body` to `subject` with a fresh reply subject; returns the request number.
    pub fn send_request(
        &mut self,
        client: usize,
        kind: RequestKind,
        subject: &str,
        headers: &[u8],
        body: &[u8],
        summary: &str,
    ) -> u64 {
        let number = self.clients[client].next_request;
        self.clients[client].next_request += 1;
        let reply = format!("_INBOX.c{client}.{number}");
        if let Some(stream) = kind.counted_stream() {
            self.model.streams[stream].outstanding += 1;
        }
        if let RequestKind::Publish(id) = kind {
            let stream = self.model.publishes[id].stream;
            self.model.streams[stream].outstanding += 1;
        }
        self.clients[client].pending.insert(
            number,
            Request {
                kind,
                sent_at: self.now,
                incarnation: self.incarnation,
            },
        );
        self.note(&format!("c{client} #{number} -> {summary}"));
        self.send_to_server(client, wire::publish(subject, &reply, headers, body));
        number
    }

    // --- the verifier -----------------------------------------------------------------------

    /// Queues a read-back of the acknowledged messages that must still be there.
    pub fn plan_verification(&mut self, everything: bool) {
        let verifier = self.clients.len() - 1;
        let mut checks = Vec::new();
        for stream in 0..self.model.streams.len() {
            if self.model.streams[stream].phase != Phase::Live {
                continue;
            }
            let generation = self.model.streams[stream].current();
            let mut seqs: Vec<u64> = self
                .model
                .generation(stream, generation)
                .acked
                .iter()
                .filter(|(_, &id)| self.model.removal(id, self.now, self.incarnation).is_none())
                .map(|(&seq, _)| seq)
                .collect();
            if !everything && seqs.len() > VERIFY_PER_STREAM_MAX {
                let newest = seqs.split_off(seqs.len() - VERIFY_PER_STREAM_MAX / 2);
                seqs.shuffle(&mut self.rng.workload);
                seqs.truncate(VERIFY_PER_STREAM_MAX / 2);
                seqs.extend(newest);
            }
            checks.push(Check::Info { stream, generation });
            checks.extend(seqs.into_iter().map(|seq| Check::Get {
                stream,
                generation,
                seq,
            }));
        }
        self.note(&format!("verifier plans {} checks", checks.len()));
        self.clients[verifier].verify_queue.extend(checks);
        if self.clients[verifier].ready() {
            self.schedule_act(verifier, self.now);
        }
    }

    fn verify_step(&mut self, client: usize) {
        while self.clients[client].pending.len() < VERIFIER_IN_FLIGHT_MAX {
            let Some(check) = self.clients[client].verify_queue.pop_front() else {
                return;
            };
            match check {
                Check::Get {
                    stream,
                    generation,
                    seq,
                } => {
                    if self.model.streams[stream].current() != generation
                        || self.model.streams[stream].phase != Phase::Live
                    {
                        continue;
                    }
                    self.send_get(client, stream, Some(seq), true);
                }
                Check::Info { stream, generation } => {
                    if self.model.streams[stream].current() != generation
                        || self.model.streams[stream].phase != Phase::Live
                    {
                        continue;
                    }
                    self.send_info(client, stream, true);
                }
            }
        }
    }

    /// Whether the liveness phase has nothing left to do.
    pub fn quiesced(&self) -> bool {
        if self.server.is_none() || self.phase != RunPhase::Liveness {
            return false;
        }
        let live: Vec<(usize, usize)> = self
            .model
            .streams
            .iter()
            .enumerate()
            .map(|(index, stream)| (index, stream.current()))
            .collect();
        self.model.streams.iter().all(|s| s.phase == Phase::Live)
            && self.clients.iter().all(|c| {
                c.ready()
                    && c.pending.is_empty()
                    && c.verify_queue.is_empty()
                    && (c.verifier || live.iter().all(|key| c.liveness_sent.contains(key)))
            })
    }
}
