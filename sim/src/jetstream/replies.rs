//! What the clients do with each reply: update the model, and hand it to the checkers.

use super::client::{Request, RequestKind};
use super::invariants::{self, acked_not_lost, dedupe, limits, no_corrupt_served, sequences};
use super::json::Json;
use super::model::{Generation, Phase, PubId, PubOutcome};
use super::wire::{err_code, Reply};
use super::world::World;

fn summary(reply: &Reply) -> String {
    match reply {
        Reply::Ack {
            stream,
            seq,
            duplicate,
        } => format!(
            "ack {stream} seq {seq}{}",
            if *duplicate { " duplicate" } else { "" }
        ),
        Reply::Error {
            err_code,
            description,
        } => format!("error {err_code} {description}"),
        Reply::Api(json) => {
            if let Some(message) = json.get("message") {
                let seq = message.get("seq").and_then(Json::as_u64).unwrap_or(0);
                let subject = message.get("subject").and_then(Json::as_str).unwrap_or("");
                format!("message seq {seq} on {subject}")
            } else if let Some(state) = json.get("state") {
                let field = |name: &str| state.get(name).and_then(Json::as_u64).unwrap_or(0);
                format!(
                    "state messages={} bytes={} first={} last={}",
                    field("messages"),
                    field("bytes"),
                    field("first_seq"),
                    field("last_seq")
                )
            } else if let Some(purged) = json.get("purged").and_then(Json::as_u64) {
                format!("purged {purged}")
            } else {
                "ok".to_string()
            }
        }
        Reply::NoResponders => "no responders".to_string(),
        Reply::Malformed(why) => format!("malformed: {why}"),
    }
}

impl World {
    pub fn on_reply(&mut self, client: usize, number: u64, request: Request, reply: Reply) {
        self.note(&format!("c{client} #{number} <- {}", summary(&reply)));
        if let Reply::Malformed(why) = &reply {
            invariants::fail(
                &mut self.verdict,
                invariants::SERVER_HEALTH,
                format!("client {client} request #{number}: {why}"),
            );
        }
        if let Some(stream) = request.kind.counted_stream() {
            self.model.streams[stream].outstanding -= 1;
        }
        match request.kind {
            RequestKind::Publish(id) => {
                let stream = self.model.publishes[id].stream;
                self.model.streams[stream].outstanding -= 1;
                self.on_pub_ack(client, id, reply);
            }
            RequestKind::Create { stream } => self.on_create(stream, reply),
            RequestKind::Delete { stream } => self.on_delete(stream, reply),
            RequestKind::Info { stream, generation } => {
                self.on_info(
                    stream,
                    generation,
                    (request.sent_at, request.incarnation),
                    reply,
                );
            }
            RequestKind::Get {
                stream,
                generation,
                seq,
                verify,
            } => self.on_get(
                (stream, generation, seq),
                verify,
                (request.sent_at, request.incarnation),
                reply,
            ),
            RequestKind::Purge {
                stream,
                generation,
                index,
            } => {
                self.model.generation_mut(stream, generation).purges[index].replied_at =
                    Some(self.now);
            }
            RequestKind::MsgDelete { .. } => {}
        }
    }

    fn on_pub_ack(&mut self, client: usize, id: PubId, reply: Reply) {
        let now = self.now;
        self.rollup_answered(id, &reply);
        let (stream, generation) = {
            let p = &self.model.publishes[id];
            (p.stream, p.generation)
        };
        let outcome = match reply {
            Reply::Ack {
                stream: name,
                seq,
                duplicate,
            } => {
                if name != self.model.streams[stream].plan.name {
                    invariants::fail(
                        &mut self.verdict,
                        invariants::SERVER_HEALTH,
                        format!("a publish to stream {stream} was acked by stream {name}"),
                    );
                }
                if duplicate {
                    self.counters.duplicates += 1;
                    dedupe::on_duplicate(&self.model, &mut self.verdict, id, seq);
                    PubOutcome::Duplicate { seq, at: now }
                } else {
                    self.counters.acks += 1;
                    self.record_ack(client, id, seq);
                    return;
                }
            }
            Reply::Error {
                err_code,
                description,
            } => {
                self.counters.errors += 1;
                PubOutcome::Error {
                    at: now,
                    limit: err_code == err_code::STREAM_STORE_FAILED
                        && description.starts_with("maximum "),
                }
            }
            Reply::NoResponders => {
                if self.model.streams[stream].phase == Phase::Live
                    && self.model.streams[stream].current() == generation
                {
                    acked_not_lost::stream_missing(
                        &self.model,
                        &mut self.verdict,
                        stream,
                        "a publish got no responders",
                    );
                }
                PubOutcome::NoResponders
            }
            Reply::Api(_) | Reply::Malformed(_) => PubOutcome::Unknown,
        };
        self.model.publishes[id].outcome = outcome;
    }

    /// A rollup's purge was made (if it was stored) by the time its answer came, and removed
    /// only sequences below its own.
    fn rollup_answered(&mut self, id: PubId, reply: &Reply) {
        let publish = &self.model.publishes[id];
        let Some(index) = publish.rollup else {
            return;
        };
        let (stream, generation) = (publish.stream, publish.generation);
        let purge = &mut self.model.generation_mut(stream, generation).purges[index];
        purge.replied_at = Some(self.now);
        if let Reply::Ack {
            seq,
            duplicate: false,
            ..
        } = reply
        {
            purge.below_seq = Some(*seq);
        }
    }

    /// A non-duplicate PubAck: checked, then recorded.
    fn record_ack(&mut self, client: usize, id: PubId, seq: u64) {
        let (stream, generation, incarnation) = {
            let p = &self.model.publishes[id];
            (p.stream, p.generation, p.incarnation)
        };
        let last_on_conn = self.clients[client]
            .conn
            .as_ref()
            .and_then(|c| c.last_ack.get(&(stream, generation)).copied());
        sequences::on_ack(
            &self.model,
            &mut self.verdict,
            id,
            seq,
            last_on_conn,
            (self.now, incarnation),
        );
        if let Some(conn) = &mut self.clients[client].conn {
            conn.last_ack.insert((stream, generation), seq);
        }
        self.model.publishes[id].outcome = PubOutcome::Acked { seq, at: self.now };
        let record: &mut Generation = self.model.generation_mut(stream, generation);
        record.acked.insert(seq, id);
        record.max_acked = record.max_acked.max(seq);
        record
            .acked_by_incarnation
            .entry(incarnation)
            .or_default()
            .insert(seq);
        dedupe::on_ack(&self.model, &mut self.verdict, id);
    }

    fn on_create(&mut self, stream: usize, reply: Reply) {
        let model = &mut self.model.streams[stream];
        match reply {
            Reply::Api(json) if json.get("config").is_some() => {
                model.phase = Phase::Live;
                self.counters.creates += 1;
            }
            _ => model.phase = Phase::NeedCreate,
        }
    }

    fn on_delete(&mut self, stream: usize, reply: Reply) {
        let gone = match &reply {
            Reply::Api(json) => json.get("success").and_then(Json::as_bool) == Some(true),
            Reply::Error { err_code, .. } => *err_code == err_code::STREAM_NOT_FOUND,
            _ => false,
        };
        let model = &mut self.model.streams[stream];
        if gone {
            model.generations.push(Generation::default());
            model.phase = Phase::NeedCreate;
        } else {
            model.phase = Phase::Draining;
        }
    }

    /// `sent`: when and in which incarnation the request went out (the reply comes from it).
    fn on_info(&mut self, stream: usize, generation: usize, sent: (u64, u32), reply: Reply) {
        let (sent_at, incarnation) = sent;
        self.counters.infos += 1;
        match reply {
            Reply::Api(json) => {
                let Some(state) = json.get("state") else {
                    return;
                };
                limits::on_info(&self.model, (stream, generation), state, &mut self.verdict);
                sequences::on_info(
                    &self.model,
                    &mut self.verdict,
                    stream,
                    generation,
                    sent_at,
                    state,
                );
                acked_not_lost::on_info(
                    &self.model,
                    &mut self.verdict,
                    (stream, generation),
                    sent_at,
                    (self.now, incarnation),
                    state,
                );
            }
            Reply::Error { err_code, .. } if err_code == err_code::STREAM_NOT_FOUND => {
                acked_not_lost::stream_missing(
                    &self.model,
                    &mut self.verdict,
                    stream,
                    "STREAM.INFO says stream not found",
                );
            }
            _ => {}
        }
    }

    fn on_get(
        &mut self,
        (stream, generation, seq): (usize, usize, Option<u64>),
        verify: bool,
        (sent_at, incarnation): (u64, u32),
        reply: Reply,
    ) {
        self.counters.gets += 1;
        if verify {
            self.counters.verified += 1;
        }
        match reply {
            Reply::Api(json) => {
                let Some(message) = json.get("message") else {
                    return;
                };
                no_corrupt_served::on_found(
                    &self.model,
                    &mut self.verdict,
                    (stream, generation),
                    seq,
                    message,
                    (self.now, incarnation),
                );
            }
            Reply::Error { err_code, .. } if err_code == err_code::NO_MESSAGE_FOUND => {
                if let Some(seq) = seq {
                    acked_not_lost::on_not_found(
                        &self.model,
                        &mut self.verdict,
                        (stream, generation, seq),
                        sent_at,
                        (self.now, incarnation),
                    );
                }
            }
            Reply::Error { err_code, .. } if err_code == err_code::STREAM_NOT_FOUND => {
                acked_not_lost::stream_missing(
                    &self.model,
                    &mut self.verdict,
                    stream,
                    "MSG.GET says stream not found",
                );
            }
            _ => {}
        }
    }
}
