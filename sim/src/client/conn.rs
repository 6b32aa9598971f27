//! One simulated client connection: raw NATS protocol over a turmoil `TcpStream`.
//!
//! A reader task parses what the server sends (answering PINGs, resolving flushes, recording
//! deliveries, answering requests on responder subscriptions); a writer task writes frames in
//! the order they were queued. Every frame is recorded in the history when it is queued, so the
//! history's order is the order on the wire.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::parser::{ServerOp, ServerParser};
use super::payload;
use crate::history::{Body, CloseWhy, Event, MsgId, Recorder};
use crate::params::PORT;
use crate::server::ServerHost;

/// How long a TCP connect or the server's INFO may take before the attempt is given up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The connection is gone (the reason is in the history).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dead;

/// What a client's connections share: who the client is and its message sequence.
#[derive(Clone, Debug)]
pub struct ClientCtx {
    pub client: u32,
    pub recorder: Recorder,
    /// The client's next message sequence number (shared by its connections and responders).
    pub seq: Rc<Cell<u64>>,
    /// Connection numbers, unique across every client of the run.
    pub conn_numbers: Rc<Cell<u32>>,
}

impl ClientCtx {
    pub fn next_msg(&self) -> MsgId {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        MsgId {
            client: self.client,
            seq,
        }
    }
}

/// State the reader task and the connection's owner share.
#[derive(Default)]
struct Shared {
    closed: bool,
    /// PONGs received so far: the `n`th answers the client's `n`th PING.
    pongs: u64,
    waiters: VecDeque<(u64, oneshot::Sender<()>)>,
    /// Subscriptions that answer every request they receive (queue responders).
    responders: BTreeSet<u32>,
    /// Subscriptions whose deliveries a request is waiting for.
    inboxes: BTreeMap<u32, mpsc::UnboundedSender<Body>>,
}

/// Everything the reader needs besides the socket.
#[derive(Clone)]
struct Link {
    conn: u32,
    ctx: ClientCtx,
    shared: Rc<RefCell<Shared>>,
    tx: mpsc::UnboundedSender<Bytes>,
}

impl Link {
    /// Marks the connection gone (once) and fails everyone waiting on it.
    fn close(&self, why: CloseWhy) {
        let mut shared = self.shared.borrow_mut();
        if shared.closed {
            return;
        }
        shared.closed = true;
        shared.waiters.clear();
        shared.inboxes.clear();
        drop(shared);
        self.ctx.recorder.record(Event::Closed {
            conn: self.conn,
            why,
        });
    }

    fn closed(&self) -> bool {
        self.shared.borrow().closed
    }

    fn handle(&self, op: ServerOp) {
        match op {
            ServerOp::Ping => {
                let _ = self.tx.send(Bytes::from_static(b"PONG\r\n"));
            }
            ServerOp::Pong => {
                let mut shared = self.shared.borrow_mut();
                shared.pongs += 1;
                let n = shared.pongs;
                let waiter = match shared.waiters.front() {
                    Some(&(front, _)) if front == n => shared.waiters.pop_front(),
                    _ => None,
                };
                drop(shared);
                self.ctx.recorder.record(Event::Pong { conn: self.conn, n });
                if let Some((_, waiter)) = waiter {
                    let _ = waiter.send(());
                }
            }
            ServerOp::Msg {
                subject,
                sid,
                reply,
                headers,
                payload,
            } => {
                let body = payload::decode(headers.as_deref(), &payload);
                self.ctx.recorder.record(Event::Msg {
                    conn: self.conn,
                    sid,
                    subject,
                    reply: reply.clone(),
                    body: body.clone(),
                });
                let (responder, inbox) = {
                    let shared = self.shared.borrow();
                    (
                        shared.responders.contains(&sid),
                        shared.inboxes.get(&sid).cloned(),
                    )
                };
                if let (true, Some(reply), Body::Message { msg, .. }) = (responder, reply, &body) {
                    self.answer(&reply, *msg);
                }
                if let Some(inbox) = inbox {
                    let _ = inbox.send(body);
                }
            }
            ServerOp::Err(text) => {
                self.ctx.recorder.record(Event::Err {
                    conn: self.conn,
                    text,
                });
            }
            ServerOp::Info(_) | ServerOp::Ok => {}
        }
    }

    /// A responder's reply to request `re`, published to its reply subject.
    fn answer(&self, reply: &str, re: MsgId) {
        let msg = self.ctx.next_msg();
        let body = payload::encode(msg, Some(re), 8);
        self.ctx.recorder.record(Event::Pub {
            conn: self.conn,
            msg,
            subject: reply.to_string(),
            reply: None,
            len: body.len(),
        });
        let _ = self.tx.send(pub_frame(reply, None, &body));
    }
}

/// A live (or just failed) connection. Dropping it drops the socket, abruptly.
pub struct Conn {
    pub id: u32,
    pub server: u32,
    link: Link,
    paused: watch::Sender<bool>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
    next_sid: u32,
    pings: u64,
}

impl Conn {
    /// Connects to server `server`: TCP, INFO, then CONNECT (with headers and no_responders,
    /// so requests nobody answers get the 503 status, and echo, so a client hears itself).
    pub async fn connect(ctx: &ClientCtx, server: u32) -> Result<Conn, String> {
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            turmoil::net::TcpStream::connect((ServerHost::name_of(server), PORT)),
        )
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| format!("connect: {e}"))?;
        let (mut rd, wr) = stream.into_split();
        let mut parser = ServerParser::default();
        tokio::time::timeout(CONNECT_TIMEOUT, read_info(&mut rd, &mut parser))
            .await
            .map_err(|_| "INFO timed out".to_string())??;

        let id = ctx.conn_numbers.get() + 1;
        ctx.conn_numbers.set(id);
        let (tx, rx) = mpsc::unbounded_channel();
        let connect = format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"tls_required\":false,\
             \"name\":\"c{}.n{id}\",\"lang\":\"sim\",\"version\":\"0\",\"protocol\":1,\
             \"echo\":true,\"headers\":true,\"no_responders\":true}}\r\n",
            ctx.client
        );
        let _ = tx.send(Bytes::from(connect));
        ctx.recorder.record(Event::Connected {
            client: ctx.client,
            conn: id,
            server,
        });
        let link = Link {
            conn: id,
            ctx: ctx.clone(),
            shared: Rc::new(RefCell::new(Shared::default())),
            tx,
        };
        let (paused, paused_rx) = watch::channel(false);
        let reader = tokio::task::spawn_local(read_loop(link.clone(), rd, parser, paused_rx));
        let writer = tokio::task::spawn_local(write_loop(link.clone(), wr, rx));
        Ok(Conn {
            id,
            server,
            link,
            paused,
            reader,
            writer,
            next_sid: 0,
            pings: 0,
        })
    }

    pub fn is_closed(&self) -> bool {
        self.link.closed()
    }

    fn send(&self, frame: Bytes) -> Result<(), Dead> {
        if self.link.closed() {
            return Err(Dead);
        }
        self.link.tx.send(frame).map_err(|_| Dead)
    }

    /// SUB; returns the new sid.
    pub fn sub(&mut self, subject: &str, queue: Option<&str>) -> Result<u32, Dead> {
        if self.link.closed() {
            return Err(Dead);
        }
        self.next_sid += 1;
        let sid = self.next_sid;
        let frame = match queue {
            Some(queue) => format!("SUB {subject} {queue} {sid}\r\n"),
            None => format!("SUB {subject} {sid}\r\n"),
        };
        self.record(Event::Sub {
            conn: self.id,
            sid,
            subject: subject.to_string(),
            queue: queue.map(str::to_string),
        });
        self.send(Bytes::from(frame))?;
        Ok(sid)
    }

    pub fn unsub(&mut self, sid: u32, max: Option<u64>) -> Result<(), Dead> {
        if self.link.closed() {
            return Err(Dead);
        }
        let frame = match max {
            Some(max) => format!("UNSUB {sid} {max}\r\n"),
            None => format!("UNSUB {sid}\r\n"),
        };
        self.record(Event::Unsub {
            conn: self.id,
            sid,
            max,
        });
        // A responder keeps answering whatever still reaches it: after `UNSUB <sid> <max>` the
        // server goes on routing requests to it until the max.
        self.send(Bytes::from(frame))
    }

    /// PUB a new message of this client with `pad` bytes of padding; returns its id.
    pub fn publish(
        &mut self,
        subject: &str,
        reply: Option<&str>,
        pad: usize,
    ) -> Result<MsgId, Dead> {
        if self.link.closed() {
            return Err(Dead);
        }
        let msg = self.link.ctx.next_msg();
        let body = payload::encode(msg, None, pad);
        self.record(Event::Pub {
            conn: self.id,
            msg,
            subject: subject.to_string(),
            reply: reply.map(str::to_string),
            len: body.len(),
        });
        self.send(pub_frame(subject, reply, &body))?;
        Ok(msg)
    }

    /// PING, then wait for its PONG. A PONG that does not come within `timeout` gives the
    /// connection up (as a client library does with its ping timer).
    pub async fn flush(&mut self, timeout: Duration) -> Result<(), Dead> {
        if self.link.closed() {
            return Err(Dead);
        }
        self.pings += 1;
        let n = self.pings;
        let (done, wait) = oneshot::channel();
        self.link.shared.borrow_mut().waiters.push_back((n, done));
        self.record(Event::Ping { conn: self.id, n });
        self.send(Bytes::from_static(b"PING\r\n"))?;
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Dead),
            Err(_) => {
                self.fail(CloseWhy::FlushTimeout);
                Err(Dead)
            }
        }
    }

    /// Makes `sid` answer every request it receives.
    pub fn respond_on(&mut self, sid: u32) {
        self.link.shared.borrow_mut().responders.insert(sid);
    }

    /// Deliveries to `sid` from now on also go to the returned channel.
    pub fn watch_inbox(&mut self, sid: u32) -> mpsc::UnboundedReceiver<Body> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.link.shared.borrow_mut().inboxes.insert(sid, tx);
        rx
    }

    pub fn unwatch_inbox(&mut self, sid: u32) {
        self.link.shared.borrow_mut().inboxes.remove(&sid);
    }

    /// Stops (or resumes) reading the socket: a slow reader.
    pub fn pause_reading(&mut self, pause: bool) {
        if *self.paused.borrow() == pause {
            return;
        }
        self.record(if pause {
            Event::SlowStart { conn: self.id }
        } else {
            Event::SlowEnd { conn: self.id }
        });
        let _ = self.paused.send(pause);
    }

    /// Closes the connection from this side, now.
    pub fn fail(&mut self, why: CloseWhy) {
        self.link.close(why);
        self.reader.abort();
        self.writer.abort();
    }

    fn record(&self, event: Event) {
        self.link.ctx.recorder.record(event);
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.fail(CloseWhy::ByClient);
    }
}

fn pub_frame(subject: &str, reply: Option<&str>, body: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(body.len() + subject.len() + 32);
    match reply {
        Some(reply) => {
            out.put_slice(format!("PUB {subject} {reply} {}\r\n", body.len()).as_bytes())
        }
        None => out.put_slice(format!("PUB {subject} {}\r\n", body.len()).as_bytes()),
    }
    out.put_slice(body);
    out.put_slice(b"\r\n");
    out.freeze()
}

async fn read_info(rd: &mut OwnedReadHalf, parser: &mut ServerParser) -> Result<(), String> {
    let mut buf = vec![0u8; 4096];
    loop {
        match parser.next_op()? {
            Some(ServerOp::Info(_)) => return Ok(()),
            Some(op) => return Err(format!("expected INFO, got {op:?}")),
            None => {}
        }
        match rd.read(&mut buf).await {
            Ok(0) => return Err("closed before INFO".to_string()),
            Ok(n) => parser.push(&buf[..n]),
            Err(e) => return Err(format!("reading INFO: {e}")),
        }
    }
}

async fn read_loop(
    link: Link,
    mut rd: OwnedReadHalf,
    mut parser: ServerParser,
    mut paused: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        loop {
            match parser.next_op() {
                Ok(Some(op)) => link.handle(op),
                Ok(None) => break,
                Err(error) => {
                    link.ctx.recorder.record(Event::Err {
                        conn: link.conn,
                        text: format!("sim: unparsable server output: {error}"),
                    });
                    link.close(CloseWhy::Lost("unparsable server output".to_string()));
                    return;
                }
            }
            if link.closed() {
                return;
            }
        }
        while *paused.borrow_and_update() {
            if paused.changed().await.is_err() {
                return;
            }
        }
        match rd.read(&mut buf).await {
            Ok(0) => {
                link.close(CloseWhy::Lost("eof".to_string()));
                return;
            }
            Ok(n) => parser.push(&buf[..n]),
            Err(error) => {
                link.close(CloseWhy::Lost(error.kind().to_string()));
                return;
            }
        }
    }
}

async fn write_loop(link: Link, mut wr: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Bytes>) {
    let mut batch = BytesMut::new();
    while let Some(first) = rx.recv().await {
        batch.extend_from_slice(&first);
        while let Ok(more) = rx.try_recv() {
            batch.extend_from_slice(&more);
        }
        if let Err(error) = wr.write_all(&batch).await {
            link.close(CloseWhy::Lost(format!("write: {}", error.kind())));
            return;
        }
        batch.clear();
    }
}
