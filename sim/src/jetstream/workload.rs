//! What the workload clients do: keep every stream's life going (create, and for admin streams
//! now and then delete and re-create), publish with and without `Nats-Msg-Id` (and retry with
//! the same id and bytes), read messages back, ask STREAM.INFO, purge and delete messages.

use bytes::Bytes;
use rand::Rng;
use switchboard::store::msg_size_bytes;

use super::client::RequestKind;
use super::model::{Phase, PubOutcome, Publish, Purge};
use super::wire;
use super::world::{RunPhase, World};

/// Relative weights of the random actions (admin ones only on admin streams).
const PUBLISH_WEIGHT: u32 = 70;
const RETRY_WEIGHT: u32 = 8;
const GET_WEIGHT: u32 = 12;
const INFO_WEIGHT: u32 = 5;
const PURGE_WEIGHT: u32 = 1;
const MSG_DELETE_WEIGHT: u32 = 2;
const ROLLUP_WEIGHT: u32 = 1;
/// Per mille of the actions on an admin stream that start deleting it.
const STREAM_DELETE_PER_MILLE: u32 = 3;

impl World {
    pub fn workload_step(&mut self, client: usize) {
        if self.lifecycle_step(client) {
            return;
        }
        if self.clients[client].pending.len() >= self.params.in_flight_max {
            return;
        }
        match self.phase {
            RunPhase::Safety => self.random_action(client),
            RunPhase::Liveness => self.liveness_action(client),
        }
    }

    /// Creates a stream that needs it, or deletes one that has drained. Whether it sent one.
    fn lifecycle_step(&mut self, client: usize) -> bool {
        for stream in 0..self.model.streams.len() {
            let model = &self.model.streams[stream];
            match model.phase {
                Phase::NeedCreate => {
                    self.model.streams[stream].phase = Phase::Creating;
                    let body = self.model.streams[stream].plan.create_json();
                    let name = self.model.streams[stream].plan.name.clone();
                    self.send_request(
                        client,
                        RequestKind::Create { stream },
                        &format!("$JS.API.STREAM.CREATE.{name}"),
                        b"",
                        body.as_bytes(),
                        &format!("create {name}"),
                    );
                    return true;
                }
                Phase::Draining if model.outstanding == 0 => {
                    self.model.streams[stream].phase = Phase::Deleting;
                    let generation = self.model.streams[stream].current();
                    self.model.generation_mut(stream, generation).closed = true;
                    let name = self.model.streams[stream].plan.name.clone();
                    self.counters.stream_deletes += 1;
                    self.send_request(
                        client,
                        RequestKind::Delete { stream },
                        &format!("$JS.API.STREAM.DELETE.{name}"),
                        b"",
                        b"",
                        &format!("delete stream {name}"),
                    );
                    return true;
                }
                _ => {}
            }
        }
        false
    }

    fn random_action(&mut self, client: usize) {
        let live: Vec<usize> = (0..self.model.streams.len())
            .filter(|&s| self.model.streams[s].phase == Phase::Live)
            .collect();
        if live.is_empty() {
            return;
        }
        let stream = live[self.rng.workload.random_range(0..live.len())];
        let admin = self.model.streams[stream].plan.admin;
        if admin && self.rng.workload.random_range(0..1000) < STREAM_DELETE_PER_MILLE {
            self.note(&format!("stream {stream} starts draining for a delete"));
            self.model.streams[stream].phase = Phase::Draining;
            return;
        }
        let admin_weight = if admin {
            PURGE_WEIGHT + MSG_DELETE_WEIGHT + ROLLUP_WEIGHT
        } else {
            0
        };
        let total = PUBLISH_WEIGHT + RETRY_WEIGHT + GET_WEIGHT + INFO_WEIGHT + admin_weight;
        let mut roll = self.rng.workload.random_range(0..total);
        for (weight, action) in [
            (PUBLISH_WEIGHT, 0),
            (RETRY_WEIGHT, 1),
            (GET_WEIGHT, 2),
            (INFO_WEIGHT, 3),
            (if admin { PURGE_WEIGHT } else { 0 }, 4),
            (if admin { MSG_DELETE_WEIGHT } else { 0 }, 5),
            (if admin { ROLLUP_WEIGHT } else { 0 }, 6),
        ] {
            if roll >= weight {
                roll -= weight;
                continue;
            }
            match action {
                0 => self.send_publish(client, stream, false),
                1 => self.send_retry(client, stream),
                2 => {
                    let seq = self.pick_seq(stream);
                    self.send_get(client, stream, seq, false);
                }
                3 => self.send_info(client, stream, false),
                4 => self.send_purge(client, stream),
                5 => self.send_msg_delete(client, stream),
                _ => {
                    let scope = ["sub", "all"][self.rng.workload.random_range(0..2)];
                    self.send_publish_with(client, stream, false, Some(scope));
                }
            }
            return;
        }
    }

    /// In the liveness phase: one plain publish to every live stream, which must be acked.
    fn liveness_action(&mut self, client: usize) {
        for stream in 0..self.model.streams.len() {
            if self.model.streams[stream].phase != Phase::Live {
                continue;
            }
            let key = (stream, self.model.streams[stream].current());
            if self.clients[client].liveness_sent.insert(key) {
                self.send_publish(client, stream, true);
                return;
            }
        }
    }

    /// A sequence to read: mostly one that was acked, sometimes any up to a bit past the end;
    /// `None` for "the last message of a subject".
    fn pick_seq(&mut self, stream: usize) -> Option<u64> {
        let generation = self.model.streams[stream].current();
        let acked: Vec<u64> = self
            .model
            .generation(stream, generation)
            .acked
            .keys()
            .rev()
            .take(64)
            .copied()
            .collect();
        let max = self.model.generation(stream, generation).max_acked;
        match self.rng.workload.random_range(0..10) {
            0 => None,
            1 | 2 => Some(self.rng.workload.random_range(1..=max + 3)),
            _ if !acked.is_empty() => Some(acked[self.rng.workload.random_range(0..acked.len())]),
            _ => Some(self.rng.workload.random_range(1..=max + 3)),
        }
    }

    /// A new message: a unique payload, on one of three subjects, with a fresh
    /// `Nats-Msg-Id` half of the time.
    pub fn send_publish(&mut self, client: usize, stream: usize, liveness: bool) {
        self.send_publish_with(client, stream, liveness, None);
    }

    /// A new message, as [`World::send_publish`], rolling up `sub` or `all` if asked.
    fn send_publish_with(
        &mut self,
        client: usize,
        stream: usize,
        liveness: bool,
        rollup: Option<&str>,
    ) {
        let plan = &self.model.streams[stream].plan;
        let subjects = plan.subjects();
        let subject = subjects[self.rng.workload.random_range(0..subjects.len())].clone();
        let number = self.clients[client].next_publish;
        self.clients[client].next_publish += 1;
        let msg_id = (!liveness && self.rng.workload.random_bool(0.5))
            .then(|| format!("c{client}-{number}"));
        let extra = self
            .rng
            .workload
            .random_bool(0.2)
            .then(|| format!("x{number}"));
        let headers = wire::header_block(msg_id.as_deref(), rollup, extra.as_deref());
        let mut payload = format!("c{client}p{number}:").into_bytes();
        let padding = self
            .rng
            .workload
            .random_range(0..=self.params.payload_bytes_max);
        payload.extend((0..padding).map(|_| self.rng.workload.random::<u8>()));
        self.publish(
            client,
            stream,
            subject,
            Bytes::from(headers),
            Bytes::from(payload),
            msg_id,
            liveness,
        );
    }

    /// The same message again (same id, subject, headers and bytes), as a client retrying a
    /// publish whose ack it did not get (or did) would send it.
    fn send_retry(&mut self, client: usize, stream: usize) {
        let generation = self.model.streams[stream].current();
        let candidates: Vec<usize> = self.clients[client]
            .with_ids
            .iter()
            .rev()
            .copied()
            .filter(|&id| {
                let p = &self.model.publishes[id];
                p.stream == stream && p.generation == generation
            })
            .take(16)
            .collect();
        if candidates.is_empty() {
            self.send_publish(client, stream, false);
            return;
        }
        let original =
            &self.model.publishes[candidates[self.rng.workload.random_range(0..candidates.len())]];
        let (subject, headers, payload, msg_id) = (
            original.subject.clone(),
            original.headers.clone(),
            original.payload.clone(),
            original.msg_id.clone(),
        );
        self.counters.retries += 1;
        self.publish(client, stream, subject, headers, payload, msg_id, false);
    }

    #[allow(clippy::too_many_arguments)]
    fn publish(
        &mut self,
        client: usize,
        stream: usize,
        subject: String,
        headers: Bytes,
        payload: Bytes,
        msg_id: Option<String>,
        liveness: bool,
    ) {
        let generation = self.model.streams[stream].current();
        let rollup = wire::rollup_of(&headers).map(|scope| {
            let generation = self.model.generation_mut(stream, generation);
            generation.purges.push(Purge {
                sent_at: self.now,
                incarnation: self.incarnation,
                replied_at: None,
                filter: (scope == "sub").then(|| subject.clone()),
                below_seq: None,
            });
            generation.purges.len() - 1
        });
        let summary = format!(
            "pub {subject} id={} hdr={} len={} tag={}",
            msg_id.as_deref().unwrap_or("-"),
            headers.len(),
            payload.len(),
            String::from_utf8_lossy(
                &payload[..payload.iter().position(|&b| b == b':').unwrap_or(0)]
            )
        );
        let id = self.model.add_publish(Publish {
            client: client as u32,
            stream,
            generation,
            size: msg_size_bytes(subject.len(), headers.len(), payload.len()),
            subject: subject.clone(),
            headers: headers.clone(),
            payload: payload.clone(),
            msg_id: msg_id.clone(),
            sent_at: self.now,
            incarnation: self.incarnation,
            outcome: PubOutcome::Pending,
            liveness,
            rollup,
        });
        if msg_id.is_some() {
            self.clients[client].with_ids.push(id);
        }
        self.counters.publishes += 1;
        self.send_request(
            client,
            RequestKind::Publish(id),
            &subject,
            &headers,
            &payload,
            &summary,
        );
    }

    pub fn send_get(&mut self, client: usize, stream: usize, seq: Option<u64>, verify: bool) {
        let generation = self.model.streams[stream].current();
        let name = self.model.streams[stream].plan.name.clone();
        let body = match seq {
            Some(seq) => format!("{{\"seq\":{seq}}}"),
            None => {
                let subjects = self.model.streams[stream].plan.subjects();
                let subject = &subjects[self.rng.workload.random_range(0..subjects.len())];
                format!("{{\"last_by_subj\":\"{subject}\"}}")
            }
        };
        self.send_request(
            client,
            RequestKind::Get {
                stream,
                generation,
                seq,
                verify,
            },
            &format!("$JS.API.STREAM.MSG.GET.{name}"),
            b"",
            body.as_bytes(),
            &format!("get {name} {body}{}", if verify { " (verify)" } else { "" }),
        );
    }

    pub fn send_info(&mut self, client: usize, stream: usize, subjects: bool) {
        let generation = self.model.streams[stream].current();
        let name = self.model.streams[stream].plan.name.clone();
        let subjects = subjects || self.rng.workload.random_bool(0.5);
        let body: &[u8] = if subjects {
            br#"{"subjects_filter":">"}"#
        } else {
            b""
        };
        self.send_request(
            client,
            RequestKind::Info { stream, generation },
            &format!("$JS.API.STREAM.INFO.{name}"),
            b"",
            body,
            &format!("info {name} {}", String::from_utf8_lossy(body)),
        );
    }

    fn send_purge(&mut self, client: usize, stream: usize) {
        let generation = self.model.streams[stream].current();
        let name = self.model.streams[stream].plan.name.clone();
        let subjects = self.model.streams[stream].plan.subjects();
        let max = self.model.generation(stream, generation).max_acked;
        let (body, filter, below_seq) = match self.rng.workload.random_range(0..4) {
            0 => (String::new(), None, None),
            1 => {
                let subject = subjects[self.rng.workload.random_range(0..subjects.len())].clone();
                (format!("{{\"filter\":\"{subject}\"}}"), Some(subject), None)
            }
            2 => {
                let keep = self.rng.workload.random_range(1..5);
                (format!("{{\"keep\":{keep}}}"), None, None)
            }
            _ => {
                let seq = self.rng.workload.random_range(1..=max + 1);
                (format!("{{\"seq\":{seq}}}"), None, Some(seq))
            }
        };
        let index = {
            let generation = self.model.generation_mut(stream, generation);
            generation.purges.push(Purge {
                sent_at: self.now,
                incarnation: self.incarnation,
                replied_at: None,
                filter,
                below_seq,
            });
            generation.purges.len() - 1
        };
        self.counters.purges += 1;
        self.send_request(
            client,
            RequestKind::Purge {
                stream,
                generation,
                index,
            },
            &format!("$JS.API.STREAM.PURGE.{name}"),
            b"",
            body.as_bytes(),
            &format!("purge {name} {body}"),
        );
    }

    fn send_msg_delete(&mut self, client: usize, stream: usize) {
        let Some(seq) = self.pick_seq(stream) else {
            return;
        };
        let generation = self.model.streams[stream].current();
        let name = self.model.streams[stream].plan.name.clone();
        self.model
            .generation_mut(stream, generation)
            .deletes_sent
            .insert(seq);
        self.counters.msg_deletes += 1;
        let body = format!("{{\"seq\":{seq}}}");
        self.send_request(
            client,
            RequestKind::MsgDelete {
                stream,
                generation,
                seq,
            },
            &format!("$JS.API.STREAM.MSG.DELETE.{name}"),
            b"",
            body.as_bytes(),
            &format!("msg delete {name} {body}"),
        );
    }
}
