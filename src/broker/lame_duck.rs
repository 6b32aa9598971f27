//! Lame duck mode: stop taking clients, tell the connected ones to move elsewhere, then close
//! them gradually so they do not all reconnect to the same place at once, then exit.
//!
//! nats-server's sequence (server/server.go `lameDuckMode`), kept here:
//! 1. stop accepting (the host closes the listener: [`Output::StopAccepting`]);
//! 2. with no client connected, exit at once ([`Output::Exit`]);
//! 3. otherwise send every client that understands asynchronous INFO (CONNECT `protocol` ≥ 1,
//!    after its first PONG) an INFO with `"ldm":true`;
//! 4. wait `lame_duck_grace_period`, so that servers put into lame duck mode together do not
//!    push clients onto each other;
//! 5. close the clients connected at step 3 one by one, spread over what is left of
//!    `lame_duck_duration` (at most 1 s apart, each pause drawn between half and all of the
//!    interval), then exit.

use super::*;

/// nats-server never waits longer than this between two closes (`lameDuckMode`).
const CLOSE_INTERVAL_MAX: Duration = Duration::from_secs(1);

/// Where lame duck mode is.
#[derive(Debug)]
pub(super) struct LameDuck {
    /// The clients to close, in the order they are closed (oldest first).
    pending: VecDeque<ConnId>,
    /// When the next close (or the first, at the end of the grace period) is due; `None`
    /// once every client is closed.
    next_at: Option<Mono>,
    /// The nominal pause between closes.
    interval: Duration,
    /// Clients closed per step: more than one only when there are more clients than
    /// nanoseconds in the duration, as nats-server batches them.
    batch: usize,
    /// The grace period is over and closing has begun.
    closing: bool,
}

impl Broker {
    /// Enters lame duck mode (SIGUSR2). Does nothing if already in it.
    pub fn enter_lame_duck(&mut self, now: Now) {
        self.now = now;
        if self.lame_duck.is_some() {
            return;
        }
        tracing::info!("Entering lame duck mode, stop accepting new clients");
        self.outputs.push_back(Output::StopAccepting);
        // Oldest first, as the ids are given out in accept order.
        let mut pending: Vec<ConnId> = self.sessions.keys().copied().collect();
        pending.sort_unstable();
        let grace = self.config.lame_duck_grace_period;
        let spread = self
            .config
            .lame_duck_duration
            .saturating_sub(grace)
            .max(Duration::from_secs(1));
        let (interval, batch) = close_pacing(spread, pending.len());
        self.lame_duck = Some(LameDuck {
            pending: pending.into(),
            next_at: Some(now.mono + grace),
            interval,
            batch,
            closing: false,
        });
        if self.sessions.is_empty() {
            self.finish_lame_duck();
            return;
        }
        self.send_lame_duck_info();
    }

    /// Whether the broker is in lame duck mode.
    pub fn in_lame_duck(&self) -> bool {
        self.lame_duck.is_some()
    }

    /// The INFO with `"ldm":true`, to every client that can take an asynchronous INFO.
    fn send_lame_duck_info(&mut self) {
        let mut told: Vec<ConnId> = self
            .sessions
            .values()
            .filter(|s| s.options.protocol >= 1 && s.first_pong_sent)
            .map(|s| s.id)
            .collect();
        told.sort_unstable();
        for conn in told {
            let Some(session) = self.sessions.get(&conn) else {
                continue;
            };
            let info = ServerInfo {
                lame_duck_mode: true,
                ..self.info_for(session)
            };
            if let Some(session) = self.sessions.get_mut(&conn) {
                let before = session.outbound.buf().len();
                encode::info(session.outbound.buf(), &info);
                let n = session.outbound.buf().len() - before;
                session.outbound.commit(n);
                self.mark_dirty(conn);
            }
        }
    }

    /// The next lame duck deadline, if one is armed.
    pub(super) fn lame_duck_deadline(&self) -> Option<Mono> {
        self.lame_duck.as_ref().and_then(|ldm| ldm.next_at)
    }

    /// Closes the next batch of clients if it is due, and exits after the last one.
    pub(super) fn fire_lame_duck(&mut self, now: Mono) {
        let Some(ldm) = self.lame_duck.as_mut() else {
            return;
        };
        match ldm.next_at {
            Some(at) if at <= now => {}
            _ => return,
        }
        if !ldm.closing {
            ldm.closing = true;
            tracing::info!("Closing existing clients");
        }
        let mut to_close = Vec::with_capacity(ldm.batch);
        // Clients that left on their own are skipped: they do not count towards a batch.
        while to_close.len() < ldm.batch {
            let Some(conn) = ldm.pending.pop_front() else {
                break;
            };
            if self.sessions.contains_key(&conn) {
                to_close.push(conn);
            }
        }
        let pause = pause_between(ldm.interval, &mut self.jitter_rng);
        ldm.next_at = Some(now + pause);
        let done = !ldm.pending.iter().any(|c| self.sessions.contains_key(c));
        for conn in to_close {
            self.close_because(conn, CloseReason::ServerShutdown, None);
        }
        if done {
            self.finish_lame_duck();
        }
    }

    /// Every client is gone: the host should shut down.
    fn finish_lame_duck(&mut self) {
        if let Some(ldm) = self.lame_duck.as_mut() {
            ldm.pending.clear();
            ldm.next_at = None;
        }
        self.outputs.push_back(Output::Exit);
    }
}

/// The pause between closes and how many clients each close takes, as nats-server computes
/// them: the spread divided by the client count, at most [`CLOSE_INTERVAL_MAX`]; when that is
/// under a nanosecond, several clients per step.
fn close_pacing(spread: Duration, clients: usize) -> (Duration, usize) {
    let spread_nanos = spread.as_nanos().max(1);
    let clients_wide = clients.max(1) as u128;
    let interval_nanos = spread_nanos / clients_wide;
    if interval_nanos < 1 {
        let batch = usize::try_from(clients_wide / spread_nanos).unwrap_or(usize::MAX);
        return (Duration::from_nanos(1), batch.max(1));
    }
    let interval = Duration::from_nanos(u64::try_from(interval_nanos).unwrap_or(u64::MAX));
    (interval.min(CLOSE_INTERVAL_MAX), 1)
}

/// A pause drawn between half the interval and the interval (nats-server's `rand.Int63n(si)`
/// raised to at least `si/2`), so closes are not in lockstep across servers.
fn pause_between(interval: Duration, rng: &mut ChaCha8Rng) -> Duration {
    let nanos = u64::try_from(interval.as_nanos())
        .unwrap_or(u64::MAX)
        .max(1);
    let drawn = rng.random_range(0..nanos);
    Duration::from_nanos(drawn.max(nanos / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_spreads_clients_and_caps_the_pause() {
        // 10 clients over 110 s: nats-server would wait 11 s each, capped at 1 s.
        assert_eq!(
            close_pacing(Duration::from_secs(110), 10),
            (Duration::from_secs(1), 1)
        );
        assert_eq!(
            close_pacing(Duration::from_secs(1), 4),
            (Duration::from_millis(250), 1)
        );
        // More clients than nanoseconds: batches.
        assert_eq!(
            close_pacing(Duration::from_nanos(10), 100),
            (Duration::from_nanos(1), 10)
        );
        assert_eq!(
            close_pacing(Duration::from_secs(1), 0),
            (Duration::from_secs(1), 1)
        );
    }

    #[test]
    fn pauses_stay_between_half_and_all_of_the_interval() {
        let mut rng = crate::Seed(7).stream("test");
        let interval = Duration::from_millis(100);
        for _ in 0..1000 {
            let pause = pause_between(interval, &mut rng);
            assert!(pause >= interval / 2 && pause < interval, "{pause:?}");
        }
    }
}
