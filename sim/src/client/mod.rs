//! A simulated client: a turmoil host that runs one workload, speaking raw NATS protocol.
//!
//! Like a NATS client library it keeps a set of wanted subscriptions, reconnects (to a server
//! the workload stream picks) when its connection is lost or a flush times out, and restores
//! its subscriptions on the new connection. Its life is the run's two phases: workload actions
//! under faults until the safety phase ends, then the liveness routine ([`liveness`]).

pub mod conn;
pub mod liveness;
pub mod parser;
pub mod payload;
pub mod slow;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use crate::history::{CloseWhy, Event};
use crate::workloads::{self, Action};
pub use conn::{ClientCtx, Conn, Dead};

/// How long a flush may take before the connection is given up.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// Subscriptions one client wants at most (more would only slow the run down).
pub const WANTED_SUBS_MAX: usize = 8;

/// A subscription the client keeps across reconnects.
#[derive(Clone, Debug)]
pub struct Wanted {
    pub subject: String,
    pub queue: Option<String>,
    /// Answers every request it receives.
    pub responder: bool,
    /// Its sid on the current connection.
    pub sid: Option<u32>,
}

/// What the nemesis asks of a client; read between actions.
#[derive(Debug, Default)]
pub struct Control {
    /// Drop the connection now (abruptly), then reconnect.
    pub disconnect: bool,
    /// Become a slow reader for this long.
    pub slow: Option<Duration>,
    /// The liveness phase has begun: ignore the nemesis.
    pub healed: bool,
}

pub struct Client {
    pub ctx: ClientCtx,
    /// This client's `workload.c<N>` stream.
    pub rng: ChaCha8Rng,
    pub conn: Option<Conn>,
    pub wanted: Vec<Wanted>,
    pub servers: u32,
    pub weights: Vec<(Action, u32)>,
    pub control: Rc<RefCell<Control>>,
    /// When the client (and the run) started; phases are measured from here.
    pub start: Instant,
    /// When the safety phase ends and the liveness phase begins.
    pub safety: Duration,
    pub inboxes: u32,
}

impl Client {
    /// The host software. Errors are reserved for the simulator's own failures; everything the
    /// server does wrong shows up in the history instead.
    pub async fn run(mut self) -> turmoil::Result {
        while self.start.elapsed() < self.safety {
            if self.step().await.is_err() {
                self.conn = None;
            }
            let think = Duration::from_millis(self.rng.random_range(0..=40));
            tokio::time::sleep(think).await;
        }
        liveness::run(&mut self).await;
        Ok(())
    }

    /// One action of the safety phase (or what the nemesis asked for).
    async fn step(&mut self) -> Result<(), Dead> {
        let (disconnect, slow) = {
            let mut control = self.control.borrow_mut();
            (std::mem::take(&mut control.disconnect), control.slow.take())
        };
        if disconnect {
            if let Some(mut conn) = self.conn.take() {
                conn.fail(CloseWhy::ByClient);
            }
            return Ok(());
        }
        if let Some(length) = slow {
            return slow::run(self, length).await;
        }
        self.ensure_connected(self.safety).await?;
        let action = self.pick_action();
        workloads::run(action, self).await
    }

    fn pick_action(&mut self) -> Action {
        let total: u32 = self.weights.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return Action::Publish;
        }
        let mut pick = self.rng.random_range(0..total);
        for &(action, weight) in &self.weights {
            if pick < weight {
                return action;
            }
            pick -= weight;
        }
        Action::Publish
    }

    /// The connection, or `Dead` if there is none (or it is gone).
    pub fn conn(&mut self) -> Result<&mut Conn, Dead> {
        match &mut self.conn {
            Some(conn) if !conn.is_closed() => Ok(conn),
            _ => Err(Dead),
        }
    }

    /// Connects (to a server the workload stream picks) unless connected, restoring every
    /// wanted subscription, until `until` (measured from the start).
    pub async fn ensure_connected(&mut self, until: Duration) -> Result<(), Dead> {
        if self.conn().is_ok() {
            return Ok(());
        }
        self.conn = None;
        while self.start.elapsed() < until {
            let server = self.rng.random_range(0..self.servers);
            match Conn::connect(&self.ctx, server).await {
                Ok(conn) => {
                    self.conn = Some(conn);
                    if self.restore().await.is_ok() {
                        return Ok(());
                    }
                    self.conn = None;
                }
                Err(why) => {
                    self.ctx.recorder.record(Event::ConnectFailed {
                        client: self.ctx.client,
                        server,
                        why,
                    });
                }
            }
            let backoff = Duration::from_millis(self.rng.random_range(50..=300));
            tokio::time::sleep(backoff).await;
        }
        Err(Dead)
    }

    /// Subscribes every wanted subscription on a new connection and confirms them.
    async fn restore(&mut self) -> Result<(), Dead> {
        let mut wanted = std::mem::take(&mut self.wanted);
        let result = async {
            let conn = self.conn()?;
            for want in &mut wanted {
                let sid = conn.sub(&want.subject, want.queue.as_deref())?;
                if want.responder {
                    conn.respond_on(sid);
                }
                want.sid = Some(sid);
            }
            conn.flush(FLUSH_TIMEOUT).await
        }
        .await;
        self.wanted = wanted;
        result
    }

    /// SUB (kept across reconnects), then a flush to confirm it.
    pub async fn subscribe(
        &mut self,
        subject: &str,
        queue: Option<&str>,
        responder: bool,
    ) -> Result<(), Dead> {
        let conn = self.conn()?;
        let sid = conn.sub(subject, queue)?;
        if responder {
            conn.respond_on(sid);
        }
        self.wanted.push(Wanted {
            subject: subject.to_string(),
            queue: queue.map(str::to_string),
            responder,
            sid: Some(sid),
        });
        self.conn()?.flush(FLUSH_TIMEOUT).await
    }

    /// A fresh inbox subject of this client.
    pub fn next_inbox(&mut self) -> String {
        self.inboxes += 1;
        format!("_INBOX.c{}.{}", self.ctx.client, self.inboxes)
    }

    /// Sleeps until `at` (measured from the start); returns at once if it has passed.
    pub async fn sleep_until(&self, at: Duration) {
        tokio::time::sleep_until(self.start + at).await;
    }
}
