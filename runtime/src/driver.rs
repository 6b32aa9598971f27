//! The driver: one task that owns the [`Broker`] and moves bytes between it and sockets.
//!
//! The driver is thin on purpose. It knows sockets, tasks, channels and timers; it knows
//! nothing about NATS. Every decision about the protocol is the broker's — if this file ever
//! needs an `if` about NATS semantics, that logic belongs in the core.
//!
//! # Tasks
//! - **acceptor** (one): owns the [`Listener`], sends `Accepted` events. Accepting in a task
//!   of its own rather than in the driver's `select!` means `Listener::accept` need not be
//!   cancel-safe, and puts new connections in the same FIFO as every other event.
//! - **reader** (one per socket): reads into a `BytesMut` and sends each read as one `Bytes`
//!   chunk (one channel hop per read, never per message).
//! - **writer** (one per socket): receives `Vec<Bytes>` batches, coalesces everything already
//!   queued, writes it with vectored writes, and reports the byte count as one `Written` event
//!   per batch. On `Close` it finishes what is queued (for at most the write deadline), then
//!   shuts the socket down; on `Abort` the socket is dropped at once, queue and all.
//! - **driver** (one): owns the broker. All tasks above report to it over one shared, bounded
//!   event channel, so the broker sees one totally ordered stream of inputs.
//!
//! # Loop
//! Each turn: re-arm the timer from `poll_timeout`, then wait (`select!` with `biased;`) on,
//! in this order, (1) commands from the [`DriverHandle`] (stats, shutdown), (2) the timer,
//! (3) the event channel, taking every event already queued (up to [`EVENTS_PER_BATCH_MAX`])
//! in one go. After the batch, drain `poll_output` until it returns `None`. The timer comes
//! before events so a busy event stream cannot starve ping and auth timers; it fires only when
//! due, so it cannot starve events either.
//!
//! # Determinism
//! Driven code must not use an unbiased `select!` (its random branch choice would make
//! simulator runs unreplayable), so every `select!` here is `biased;`. Events from all sockets
//! go through one FIFO channel, and connections live in a `BTreeMap`, so given the same order of
//! socket events the broker sees the same inputs. The listener, stream and clock are generic
//! so the simulator runs this very code on turmoil sockets and a simulated clock.
//!
//! # Backpressure
//! Outbound: the per-connection writer channels are unbounded; the broker bounds what it hands
//! over with its pending-bytes budget and slow-consumer policy. Inbound: each reader stops
//! reading while its connection has [`READ_QUEUED_BYTES_MAX`] bytes read but not yet handled by
//! the broker (the driver gives the room back after each `handle_read`), and the event channel
//! is bounded ([`EVENTS_QUEUED_MAX`]), so when the driver falls behind, readers wait and TCP
//! pushes back on clients instead of input queueing without limit. The driver never sends on
//! that channel, so it can never deadlock on it.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes, BytesMut};
use switchboard::jetstream::SyncDone;
use switchboard::{Broker, ConnId, Mono, Now, Output, Stats, Wall, WorkDone};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

/// Events the driver may hold queued before readers, writers and the acceptor wait for it.
pub const EVENTS_QUEUED_MAX: usize = 1024;
/// Events the driver takes in one batch before it drains outputs again.
pub const EVENTS_PER_BATCH_MAX: usize = 256;
/// What a reader asks the socket for at first, and returns to after a large burst.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;
/// The most a reader asks for in one read; it doubles towards this while reads fill the buffer.
pub const READ_BUFFER_BYTES_MAX: usize = 1024 * 1024;
/// Bytes one connection may have read and not yet had handled by the broker; past it, its
/// reader waits (and TCP pushes back on the client). Enough for reads to stay ahead of the
/// broker; without it a fast publisher could queue up to [`EVENTS_QUEUED_MAX`] reads of up to
/// [`READ_BUFFER_BYTES_MAX`] each (a GiB) in front of the driver.
pub const READ_QUEUED_BYTES_MAX: usize = 2 * 1024 * 1024;
/// Chunks handed to one `write_vectored` call (Linux allows 1024; 64 keeps the slice array on
/// the stack and is already far past the point of diminishing returns).
pub const WRITE_SLICES_MAX: usize = 64;
/// First and last pause after a failed accept (too many open files...), doubling in between.
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A source of connections. Implemented for `tokio::net::TcpListener`; the simulator
/// implements it for turmoil's listener.
pub trait Listener: Send + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next connection and its peer address. Runs in its own task, so it need not be
    /// cancel-safe.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;

    /// The address actually bound (the port chosen when asked for port 0).
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Stream, SocketAddr)> {
        let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
        // Go (and so nats-server) turns Nagle off on every TCP connection; small protocol
        // lines such as PONG must not wait for an ACK. Failing to set it is not fatal.
        let _ = stream.set_nodelay(true);
        Ok((stream, peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        tokio::net::TcpListener::local_addr(self)
    }
}

/// The host's clocks. `now().mono` never goes backwards.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Now;

    /// The tokio instant at which the monotonic clock reads `deadline`, to sleep until it.
    fn instant_at(&self, deadline: Mono) -> Instant;
}

/// The real clocks: `mono` is nanoseconds since this clock was made (on tokio's clock, so a
/// paused or simulated tokio clock is honoured), `wall` is the system time.
#[derive(Clone, Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Now {
        let elapsed = self.origin.elapsed().as_nanos();
        // u64 nanoseconds last 584 years of uptime; saturate rather than wrap.
        let mono = Mono::from_nanos(u64::try_from(elapsed).unwrap_or(u64::MAX));
        let wall = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        };
        Now::new(mono, Wall::from_unix_nanos(wall))
    }

    fn instant_at(&self, deadline: Mono) -> Instant {
        let offset = Duration::from_nanos(deadline.as_nanos());
        // A deadline too far to represent is "never": a year away is as good, and is re-armed
        // long before it matters.
        self.origin
            .checked_add(offset)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600))
    }
}

/// Looks at the broker after every turn of the driver's loop, once its outputs are drained,
/// with the ids of the connections the driver holds. The simulator uses it to check invariants
/// over the server's state (every connection's pending bytes within budget); the server sets
/// none. It runs on the driver's task between turns: it must be quick and must not block.
pub type Observer = Box<dyn FnMut(&Broker, &mut dyn Iterator<Item = ConnId>) + Send>;

/// A look at the broker from outside the driver's task (a monitoring request). It runs on the
/// driver's task between turns: it must be quick.
type Inspect = Box<dyn FnOnce(&Broker, Now) + Send>;
/// A change to the broker from outside (a config reload, lame duck mode). Outputs it causes
/// are handed over right after it runs.
type Control = Box<dyn FnOnce(&mut Broker, Now) + Send>;

/// Requests from a [`DriverHandle`].
enum Command {
    Stats(oneshot::Sender<Stats>),
    Inspect(Inspect),
    Control(Control),
    Shutdown,
}

/// What the tasks tell the driver, in one channel.
enum Event<S> {
    Accepted {
        stream: S,
        peer: SocketAddr,
    },
    Read {
        conn: ConnId,
        data: Bytes,
    },
    /// EOF, a read error or a write error.
    Closed {
        conn: ConnId,
    },
    Written {
        conn: ConnId,
        bytes: usize,
    },
    WorkDone(WorkDone),
    Synced(SyncDone),
}

/// How the driver runs JetStream's syncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// On tokio's blocking pool (a real fsync may take milliseconds): production.
    Blocking,
    /// On a task, after this (simulated) delay: the simulator, whose disk is memory and whose
    /// runs must replay, which a blocking-pool thread on real time would break.
    Task(Duration),
}

/// What the driver tells a writer.
enum WriterMsg {
    Chunks(Vec<Bytes>),
    /// Finish what is queued, then shut the socket down.
    Close,
}

/// The driver's side of one socket.
struct Conn {
    writer: mpsc::UnboundedSender<WriterMsg>,
    writer_task: JoinHandle<()>,
    reader_task: AbortHandle,
    inbound: Arc<Inbound>,
}

/// What one connection has read and the broker has not handled yet, shared by its reader (which
/// adds) and the driver (which takes away after `handle_read`).
#[derive(Default)]
struct Inbound {
    queued_bytes: AtomicUsize,
    /// Wakes a reader waiting for room.
    room: Notify,
}

impl Inbound {
    /// The driver handled `n` bytes of this connection's input.
    fn handled(&self, n: usize) {
        let before = self.queued_bytes.fetch_sub(n, Ordering::AcqRel);
        if before >= READ_QUEUED_BYTES_MAX && before - n < READ_QUEUED_BYTES_MAX {
            // A permit is kept if the reader is not waiting yet, so the wake is never lost.
            self.room.notify_one();
        }
    }
}

/// Talks to a running driver from outside its task. Dropping every handle shuts it down.
#[derive(Clone, Debug)]
pub struct DriverHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl DriverHandle {
    /// A copy of the broker's counters, or the defaults if the driver has stopped.
    pub async fn stats(&self) -> Stats {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Stats(reply)).is_err() {
            return Stats::default();
        }
        answer.await.unwrap_or_default()
    }

    /// Runs `look` on the driver's task with the broker and the current time, and returns what
    /// it returns; `None` if the driver has stopped. `look` must be quick: routing waits for it.
    pub async fn inspect<R, F>(&self, look: F) -> Option<R>
    where
        R: Send + 'static,
        F: FnOnce(&Broker, Now) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let command = Command::Inspect(Box::new(move |broker: &Broker, now: Now| {
            // The asker may have gone; then nobody wants the answer.
            let _ = reply.send(look(broker, now));
        }));
        self.commands.send(command).ok()?;
        answer.await.ok()
    }

    /// Runs `change` on the driver's task with the broker and the current time, hands over the
    /// outputs it causes, and returns what it returns; `None` if the driver has stopped.
    pub async fn control<R, F>(&self, change: F) -> Option<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Broker, Now) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let command = Command::Control(Box::new(move |broker: &mut Broker, now: Now| {
            let _ = reply.send(change(broker, now));
        }));
        self.commands.send(command).ok()?;
        answer.await.ok()
    }

    /// Enters lame duck mode (see [`Broker::enter_lame_duck`]); `run` returns when it is over.
    pub async fn lame_duck(&self) {
        self.control(|broker, now| broker.enter_lame_duck(now))
            .await;
    }

    /// Asks the driver to stop accepting, close every client and return from `run`.
    pub fn shutdown(&self) {
        // An error means the driver has already stopped, which is what was asked.
        let _ = self.commands.send(Command::Shutdown);
    }
}

/// Owns the broker and runs its loop; see the module docs.
pub struct Driver<L: Listener, C: Clock> {
    broker: Broker,
    clock: C,
    listener: Option<L>,
    commands: mpsc::UnboundedReceiver<Command>,
    events_tx: mpsc::Sender<Event<L::Stream>>,
    events: mpsc::Receiver<Event<L::Stream>>,
    conns: BTreeMap<ConnId, Conn>,
    /// How long a closing socket may take to flush what is queued before it is dropped.
    close_linger: Duration,
    observer: Option<Observer>,
    /// The accept loop's task, while it runs.
    acceptor: Option<JoinHandle<()>>,
    sync_mode: SyncMode,
    /// The broker asked to exit (lame duck mode is over).
    exit: bool,
}

impl<L: Listener, C: Clock> Driver<L, C> {
    /// A driver for `broker`, accepting on `listener`. Nothing runs until [`Driver::run`].
    pub fn new(broker: Broker, listener: L, clock: C) -> (Driver<L, C>, DriverHandle) {
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let (events_tx, events) = mpsc::channel(EVENTS_QUEUED_MAX);
        // A closing client gets as long to take its last bytes as any write gets.
        let close_linger = broker.config().write_deadline;
        let driver = Driver {
            broker,
            clock,
            listener: Some(listener),
            commands,
            events_tx,
            events,
            conns: BTreeMap::new(),
            close_linger,
            observer: None,
            acceptor: None,
            sync_mode: SyncMode::Blocking,
            exit: false,
        };
        let handle = DriverHandle {
            commands: commands_tx,
        };
        (driver, handle)
    }

    /// Calls `observer` after every turn of the loop (see [`Observer`]).
    pub fn set_observer(&mut self, observer: Observer) {
        self.observer = Some(observer);
    }

    /// How JetStream's syncs run (blocking pool by default).
    pub fn set_sync_mode(&mut self, mode: SyncMode) {
        self.sync_mode = mode;
    }

    /// Runs until [`DriverHandle::shutdown`] (or until every handle is dropped), then closes
    /// every connection, giving each up to the close linger to flush.
    pub async fn run(mut self) {
        if let Some(listener) = self.listener.take() {
            let events = self.events_tx.clone();
            self.acceptor = Some(tokio::spawn(accept_loop(listener, events)));
        }
        // The broker may have output from construction; hand it over before waiting.
        self.drain_outputs();

        let mut batch: Vec<Event<L::Stream>> = Vec::with_capacity(EVENTS_PER_BATCH_MAX);
        let mut timer = pin!(tokio::time::sleep_until(Instant::now()));
        let mut armed: Option<Mono> = None;
        loop {
            let deadline = self.broker.poll_timeout();
            if deadline != armed {
                if let Some(at) = deadline {
                    timer.as_mut().reset(self.clock.instant_at(at));
                }
                armed = deadline;
            }
            tokio::select! {
                biased;
                command = self.commands.recv() => match command {
                    Some(Command::Stats(reply)) => {
                        // The asker may have gone; then nobody wants the answer.
                        let _ = reply.send(self.broker.stats().clone());
                    }
                    Some(Command::Inspect(look)) => look(&self.broker, self.clock.now()),
                    Some(Command::Control(change)) => change(&mut self.broker, self.clock.now()),
                    Some(Command::Shutdown) | None => break,
                },
                () = &mut timer, if armed.is_some() => {
                    // Fired: it must be re-armed from poll_timeout even if the deadline is the same.
                    armed = None;
                    self.broker.handle_timeout(self.clock.now());
                }
                // The driver holds a sender itself, so the channel never closes and 0 never comes.
                _ = self.events.recv_many(&mut batch, EVENTS_PER_BATCH_MAX) => {
                    let now = self.clock.now();
                    for event in batch.drain(..) {
                        self.handle_event(now, event);
                    }
                }
            }
            self.drain_outputs();
            if let Some(observe) = &mut self.observer {
                observe(&self.broker, &mut self.conns.keys().copied());
            }
            if self.exit {
                break;
            }
        }
        // Wait until the task is really gone, so the listener is closed when `run` returns.
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.abort();
            let _ = acceptor.await;
        }
        self.close_all().await;
    }

    fn handle_event(&mut self, now: Now, event: Event<L::Stream>) {
        match event {
            Event::Accepted { stream, peer } => {
                let conn = self.broker.handle_accept(now, peer);
                self.spawn_conn(conn, stream);
            }
            Event::Read { conn, data } => {
                let n = data.len();
                self.broker.handle_read(now, conn, data);
                // The broker may have closed it meanwhile; then its reader is gone too.
                if let Some(c) = self.conns.get(&conn) {
                    c.inbound.handled(n);
                }
            }
            Event::Written { conn, bytes } => self.broker.handle_written(now, conn, bytes),
            Event::Closed { conn } => {
                // Both the reader and the writer may report one socket's end, and a socket the
                // broker closed is already forgotten: tell the broker once, about live ones.
                if self.conns.remove(&conn).is_some() {
                    self.broker.handle_disconnected(now, conn);
                }
            }
            Event::WorkDone(done) => self.broker.handle_work_done(now, done),
            Event::Synced(done) => self.broker.handle_synced(now, done),
        }
    }

    fn spawn_conn(&mut self, conn: ConnId, stream: L::Stream) {
        let (read_half, write_half) = tokio::io::split(stream);
        let (writer_tx, writer_rx) = mpsc::unbounded_channel();
        // The writer holds `stop`; when it ends, for any reason, the reader stops too.
        let (stop, stopped) = oneshot::channel::<()>();
        let inbound = Arc::new(Inbound::default());
        let reader = tokio::spawn(read_loop(
            conn,
            read_half,
            self.events_tx.clone(),
            stopped,
            Arc::clone(&inbound),
        ));
        let writer = tokio::spawn(write_loop(
            conn,
            write_half,
            writer_rx,
            self.events_tx.clone(),
            stop,
        ));
        self.conns.insert(
            conn,
            Conn {
                writer: writer_tx,
                writer_task: writer,
                reader_task: reader.abort_handle(),
                inbound,
            },
        );
    }

    /// Does everything the broker asked for, until it has nothing more.
    fn drain_outputs(&mut self) {
        while let Some(output) = self.broker.poll_output() {
            match output {
                Output::Transmit { conn, chunks } => {
                    if let Some(c) = self.conns.get(&conn) {
                        // Fails only if the writer has ended; its Closed event is on the way.
                        let _ = c.writer.send(WriterMsg::Chunks(chunks));
                    }
                }
                Output::Close { conn } => {
                    if let Some(c) = self.conns.remove(&conn) {
                        self.close_conn(c);
                    }
                }
                Output::Abort { conn } => {
                    if let Some(c) = self.conns.remove(&conn) {
                        // Dropping both halves closes the socket; queued bytes are discarded.
                        c.writer_task.abort();
                        c.reader_task.abort();
                    }
                }
                Output::StopAccepting => {
                    // Aborting the task drops the listener: the port refuses new clients.
                    if let Some(acceptor) = self.acceptor.take() {
                        acceptor.abort();
                    }
                }
                Output::Exit => self.exit = true,
                Output::Work(work) => {
                    let events = self.events_tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let done = work.run();
                        // Fails only if the driver has stopped, and then the result is moot.
                        let _ = events.blocking_send(Event::WorkDone(done));
                    });
                }
                Output::Sync(job) => {
                    let events = self.events_tx.clone();
                    match self.sync_mode {
                        SyncMode::Blocking => {
                            tokio::task::spawn_blocking(move || {
                                let done = job.run();
                                // As for Work: only a stopped driver refuses it.
                                let _ = events.blocking_send(Event::Synced(done));
                            });
                        }
                        SyncMode::Task(delay) => {
                            tokio::spawn(async move {
                                tokio::time::sleep(delay).await;
                                let done = job.run();
                                let _ = events.send(Event::Synced(done)).await;
                            });
                        }
                    }
                }
            }
        }
    }

    /// Lets the writer flush and shut down, and drops the socket if that takes too long.
    fn close_conn(&self, c: Conn) {
        let _ = c.writer.send(WriterMsg::Close);
        let writer = c.writer_task.abort_handle();
        let linger = self.close_linger;
        tokio::spawn(async move {
            tokio::time::sleep(linger).await;
            writer.abort();
        });
    }

    /// Shutdown: close every client, and wait (at most the close linger) for their writers.
    async fn close_all(&mut self) {
        // Nothing will read events any more: make sends fail at once so no task waits on us.
        self.events.close();
        let conns = std::mem::take(&mut self.conns);
        let deadline = Instant::now() + self.close_linger;
        let mut writers = Vec::with_capacity(conns.len());
        for (_, c) in conns {
            let _ = c.writer.send(WriterMsg::Close);
            c.reader_task.abort();
            writers.push(c.writer_task);
        }
        for writer in writers {
            let abort = writer.abort_handle();
            if tokio::time::timeout_at(deadline, writer).await.is_err() {
                abort.abort();
            }
        }
    }
}

/// Accepts connections until the driver goes away, backing off after errors.
async fn accept_loop<L: Listener>(mut listener: L, events: mpsc::Sender<Event<L::Stream>>) {
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                backoff = ACCEPT_BACKOFF_MIN;
                if events.send(Event::Accepted { stream, peer }).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                tracing::error!("Temporary Client Accept Error({error}), sleeping {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
            }
        }
    }
}

/// Reads until EOF, an error, or the writer ending; one `Read` event per read, and never more
/// than [`READ_QUEUED_BYTES_MAX`] ahead of the broker.
async fn read_loop<S: AsyncRead>(
    conn: ConnId,
    mut socket: ReadHalf<S>,
    events: mpsc::Sender<Event<S>>,
    mut stop: oneshot::Receiver<()>,
    inbound: Arc<Inbound>,
) {
    let mut buffer = BytesMut::new();
    let mut want = READ_BUFFER_BYTES;
    loop {
        while inbound.queued_bytes.load(Ordering::Acquire) >= READ_QUEUED_BYTES_MAX {
            tokio::select! {
                biased;
                _ = &mut stop => return,
                _ = inbound.room.notified() => {}
            }
        }
        buffer.reserve(want);
        let spare = buffer.capacity() - buffer.len();
        let read = tokio::select! {
            biased;
            _ = &mut stop => return,
            read = socket.read_buf(&mut buffer) => read,
        };
        match read {
            Ok(0) | Err(_) => {
                // Fails only if the driver has stopped.
                let _ = events.send(Event::Closed { conn }).await;
                return;
            }
            Ok(n) => {
                // A full buffer hints at a burst: ask for more next time. A small read goes
                // back to the usual size so idle connections do not hold large buffers.
                want = if n >= spare {
                    (want * 2).min(READ_BUFFER_BYTES_MAX)
                } else if n < want / 4 {
                    READ_BUFFER_BYTES
                } else {
                    want
                };
                inbound.queued_bytes.fetch_add(n, Ordering::AcqRel);
                let data = buffer.split().freeze();
                if events.send(Event::Read { conn, data }).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes what the driver hands over, one `Written` event per coalesced batch.
async fn write_loop<S: AsyncWrite>(
    conn: ConnId,
    mut socket: WriteHalf<S>,
    mut queue: mpsc::UnboundedReceiver<WriterMsg>,
    events: mpsc::Sender<Event<S>>,
    // Held, not used: dropping it when this task ends (or is aborted) stops the reader.
    _stop: oneshot::Sender<()>,
) {
    let mut chunks: Vec<Bytes> = Vec::new();
    // `None` means the driver forgot this socket (it disconnected): nothing more to write.
    while let Some(first) = queue.recv().await {
        let mut close = false;
        for msg in std::iter::once(first).chain(std::iter::from_fn(|| queue.try_recv().ok())) {
            match msg {
                WriterMsg::Chunks(more) => chunks.extend(more),
                WriterMsg::Close => close = true,
            }
        }
        let result = write_all_vectored(&mut socket, &mut chunks).await;
        chunks.clear();
        let driver_gone = match result {
            Ok(0) => false,
            Ok(bytes) => events.send(Event::Written { conn, bytes }).await.is_err(),
            Err(_) => {
                let _ = events.send(Event::Closed { conn }).await;
                return;
            }
        };
        if close {
            // The peer may already be gone; the socket is dropped either way.
            let _ = socket.shutdown().await;
            return;
        }
        if driver_gone {
            return;
        }
    }
}

/// Writes every chunk, in order, with as few system calls as the stream allows. Returns the
/// bytes written. Chunks are consumed (advanced) as they go out.
async fn write_all_vectored<W: AsyncWrite + Unpin>(
    socket: &mut W,
    chunks: &mut [Bytes],
) -> io::Result<usize> {
    let mut written = 0;
    let mut next = 0; // the first chunk not fully written
    loop {
        while next < chunks.len() && chunks[next].is_empty() {
            next += 1;
        }
        if next == chunks.len() {
            break;
        }
        let mut slices = [IoSlice::new(&[]); WRITE_SLICES_MAX];
        let mut count = 0;
        for (slot, chunk) in slices.iter_mut().zip(chunks[next..].iter()) {
            *slot = IoSlice::new(chunk);
            count += 1;
        }
        let mut n = socket.write_vectored(&slices[..count]).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        written += n;
        // Skip what went out: whole chunks, then part of the next (a partial write).
        while n > 0 && next < chunks.len() {
            let len = chunks[next].len();
            if n >= len {
                n -= len;
                next += 1;
            } else {
                chunks[next].advance(n);
                n = 0;
            }
        }
    }
    socket.flush().await?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A stream that accepts at most `step` bytes per write, to exercise partial writes.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.step);
            self.out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let mut room = self.step;
            let mut n = 0;
            for buf in bufs {
                let take = buf.len().min(room);
                self.out.extend_from_slice(&buf[..take]);
                room -= take;
                n += take;
                if room == 0 {
                    break;
                }
            }
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn partial_vectored_writes_keep_every_byte_in_order() {
        let expected: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for step in [1, 3, 7, 64, 999, 5000] {
            // Uneven chunks, empty ones included, and more than WRITE_SLICES_MAX of them.
            let mut chunks = Vec::new();
            let mut at = 0;
            let mut size = 0;
            while at < expected.len() {
                let end = (at + size).min(expected.len());
                chunks.push(Bytes::copy_from_slice(&expected[at..end]));
                at = end;
                size = (size + 1) % 13;
            }
            assert!(chunks.len() > WRITE_SLICES_MAX);
            let mut socket = Trickle {
                out: Vec::new(),
                step,
            };
            let written = write_all_vectored(&mut socket, &mut chunks).await.unwrap();
            assert_eq!(written, expected.len(), "step {step}");
            assert_eq!(socket.out, expected, "step {step}");
        }
    }

    #[tokio::test]
    async fn a_reader_stops_while_the_broker_is_behind_and_resumes_when_it_catches_up() {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let (read_half, _write_half) = tokio::io::split(server);
        let (events_tx, mut events) = mpsc::channel(EVENTS_QUEUED_MAX);
        let (_stop, stopped) = oneshot::channel();
        let inbound = Arc::new(Inbound::default());
        tokio::spawn(read_loop(
            ConnId(1),
            read_half,
            events_tx,
            stopped,
            Arc::clone(&inbound),
        ));
        // A client with far more to say than the reader may queue.
        let total = 8 * READ_QUEUED_BYTES_MAX;
        tokio::spawn(async move {
            let block = vec![b'x'; 64 * 1024];
            for _ in 0..total / block.len() {
                if client.write_all(&block).await.is_err() {
                    return;
                }
            }
            // Keep the stream open until the test is done with it.
            std::future::pending::<()>().await;
        });
        // Nothing handled: reads stop at the limit (plus the read that crossed it).
        let mut read = 0;
        let quiet = Duration::from_millis(200);
        while let Ok(Some(Event::Read { data, .. })) =
            tokio::time::timeout(quiet, events.recv()).await
        {
            read += data.len();
        }
        assert!(read >= READ_QUEUED_BYTES_MAX, "{read}");
        assert!(
            read < READ_QUEUED_BYTES_MAX + READ_BUFFER_BYTES_MAX,
            "{read}"
        );
        // As the broker handles input, the reader goes on, to the end.
        while read < total {
            inbound.handled(inbound.queued_bytes.load(Ordering::Acquire));
            match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
                Ok(Some(Event::Read { data, .. })) => read += data.len(),
                other => panic!("no read after room was made: {}", other.is_ok()),
            }
        }
        assert_eq!(read, total);
    }

    #[tokio::test]
    async fn system_clock_deadlines_round_trip() {
        let clock = SystemClock::new();
        let start = clock.now().mono;
        let at = start + Duration::from_millis(20);
        tokio::time::sleep_until(clock.instant_at(at)).await;
        assert!(clock.now().mono >= at);
        assert!(clock.now().wall.as_unix_nanos() > 0);
        // Far-future deadlines must not panic.
        let _ = clock.instant_at(Mono::from_nanos(u64::MAX));
    }
}
