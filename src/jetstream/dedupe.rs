//! The duplicate window: which `Nats-Msg-Id`s a stream has stored recently, and at which
//! sequence, so that a publish repeating one is answered `"duplicate": true` instead of being
//! stored again.
//!
//! # Which clock
//!
//! nats-server ages entries by the message's wall-clock timestamp (`now - ts >= window`), so
//! a wall clock stepping forward expires entries early (a retried publish is then stored
//! twice) and one stepping back keeps them for as long as the step. Here a live entry is aged
//! by the host's monotonic clock ([`Mono`]): it is a duplicate for exactly `window` after it
//! was stored, whatever the wall clock does, and it always expires.
//!
//! A restart loses the monotonic clock, so entries rebuilt from stored messages
//! ([`DedupeWindow::insert_recovered`]) can only be aged by wall time. Their age is taken as
//! `now.wall - stored_at` clamped to `[0, window]`: a message stamped in the future (the wall
//! clock went back since) gets a full window from the restart, never forever; one older than
//! the window is not kept. The one case that can still expire early is a wall clock that
//! jumped forward between storing and restarting, which nothing on this host can detect.
//!
//! Lookups check expiry themselves ([`DedupeWindow::get`] takes `now`), so a late timer never
//! makes an expired id count as a duplicate; [`DedupeWindow::expire`] only frees memory, at
//! [`DedupeWindow::next_expiry`].
//!
//! # Limits
//!
//! There is no entry limit: evicting an id inside its window would break the guarantee. The
//! count is bounded by the messages stored with an id during one window (at most one entry per
//! stored message, plus one stale queue slot per id stored again after its entry expired).

use std::collections::VecDeque;
use std::time::Duration;

use rustc_hash::FxHashMap;

use crate::time::{Mono, Now, Wall};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    seq: u64,
    stored_at: Mono,
}

/// Message ids stored within the last `window`, by the host's monotonic clock.
#[derive(Clone, Debug, Default)]
pub struct DedupeWindow {
    window: Duration,
    entries: FxHashMap<String, Entry>,
    /// Ids in the order stored, `stored_at` never decreasing: the front expires first. An id
    /// stored again leaves its older slot here; [`DedupeWindow::expire`] skips it.
    order: VecDeque<(Mono, String)>,
}

impl DedupeWindow {
    pub fn new(window: Duration) -> DedupeWindow {
        DedupeWindow {
            window,
            ..DedupeWindow::default()
        }
    }

    /// A window from a config's `duplicate_window` (nanoseconds; negative is treated as 0,
    /// which validation never lets through).
    pub fn from_nanos(window_nanos: i64) -> DedupeWindow {
        DedupeWindow::new(nanos_to_duration(window_nanos))
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// A STREAM.UPDATE changed `duplicate_window`: every entry is aged against the new window
    /// from now on (as nats-server does).
    pub fn set_window(&mut self, window: Duration) {
        self.window = window;
    }

    /// The sequence stored with `id`, if that was less than `window` before `now`.
    pub fn get(&self, id: &str, now: Mono) -> Option<u64> {
        let entry = self.entries.get(id)?;
        (now.saturating_since(entry.stored_at) < self.window).then_some(entry.seq)
    }

    /// Records that the message with `id` was stored at `seq` at `now`.
    pub fn insert(&mut self, id: String, seq: u64, now: Mono) {
        let stored_at = self.not_before_last(now);
        self.entries.insert(id.clone(), Entry { seq, stored_at });
        self.order.push_back((stored_at, id));
    }

    /// Records an id found in a stored message while rebuilding after a restart; the message
    /// was stamped `stored_at` (wall time). See the module docs for how it is aged.
    pub fn insert_recovered(&mut self, id: String, seq: u64, stored_at: Wall, now: Now) {
        let age_nanos = now
            .wall
            .as_unix_nanos()
            .saturating_sub(stored_at.as_unix_nanos());
        let age = nanos_to_duration(age_nanos);
        if age >= self.window {
            return;
        }
        let at = Mono::from_nanos(
            now.mono
                .as_nanos()
                .saturating_sub(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX)),
        );
        self.insert(id, seq, at);
    }

    /// Drops the entries whose window has passed at `now`; returns how many.
    pub fn expire(&mut self, now: Mono) -> usize {
        let mut dropped = 0;
        while let Some((stored_at, _)) = self.order.front() {
            if now.saturating_since(*stored_at) < self.window {
                break;
            }
            let Some((stored_at, id)) = self.order.pop_front() else {
                break;
            };
            // Only the slot of the id's current entry removes it; an older slot is stale.
            if self
                .entries
                .get(&id)
                .is_some_and(|e| e.stored_at == stored_at)
            {
                self.entries.remove(&id);
                dropped += 1;
            }
        }
        dropped
    }

    /// When [`DedupeWindow::expire`] next has something to drop.
    pub fn next_expiry(&self) -> Option<Mono> {
        self.order
            .front()
            .map(|(stored_at, _)| *stored_at + self.window)
    }

    /// How many ids are remembered (expired ones included until [`DedupeWindow::expire`]).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }

    /// Keeps `order` sorted even if a host hands in an earlier time, or a recovered entry is
    /// older than one already queued: the entry then lives longer, never shorter.
    fn not_before_last(&self, at: Mono) -> Mono {
        self.order.back().map_or(at, |(last, _)| at.max(*last))
    }
}

fn nanos_to_duration(nanos: i64) -> Duration {
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn mono(seconds: u64) -> Mono {
        Mono::from_nanos(seconds * SECOND)
    }

    fn wall(seconds: i64) -> Wall {
        Wall::from_unix_nanos(seconds * 1_000_000_000)
    }

    #[test]
    fn duplicate_until_the_window_passes() {
        let mut window = DedupeWindow::new(Duration::from_secs(120));
        window.insert(String::from("m1"), 1, mono(10));
        assert_eq!(window.get("m1", mono(10)), Some(1));
        assert_eq!(window.get("m1", mono(129)), Some(1));
        // nats-server expires at `now - ts >= window`.
        assert_eq!(window.get("m1", mono(130)), None);
        assert_eq!(window.get("m2", mono(10)), None);
        assert_eq!(window.next_expiry(), Some(mono(130)));
        assert_eq!(window.expire(mono(129)), 0);
        assert_eq!(window.expire(mono(130)), 1);
        assert!(window.is_empty());
        assert_eq!(window.next_expiry(), None);
    }

    #[test]
    fn wall_clock_jumps_do_not_matter_to_live_entries() {
        // Live entries never see the wall clock: only Mono ages them. The host's wall clock
        // jumping an hour either way between the calls changes nothing.
        let mut window = DedupeWindow::new(Duration::from_secs(60));
        window.insert(String::from("a"), 7, mono(1000));
        for elapsed in [0, 1, 30, 59] {
            assert_eq!(window.get("a", mono(1000 + elapsed)), Some(7), "{elapsed}");
        }
        assert_eq!(window.get("a", mono(1060)), None);
    }

    #[test]
    fn recovered_entries_are_aged_by_wall_time_clamped() {
        let mut window = DedupeWindow::new(Duration::from_secs(120));
        let now = Now::new(mono(500), wall(10_000));
        // Stored 100 s ago: 20 s left.
        window.insert_recovered(String::from("old"), 1, wall(9_900), now);
        // Stamped in the future (the wall clock went back since): a full window, not forever.
        window.insert_recovered(String::from("future"), 2, wall(50_000), now);
        // Older than the window: not kept.
        window.insert_recovered(String::from("gone"), 3, wall(9_000), now);
        assert_eq!(window.get("old", mono(519)), Some(1));
        assert_eq!(window.get("old", mono(520)), None);
        assert_eq!(window.get("future", mono(619)), Some(2));
        assert_eq!(window.get("future", mono(620)), None);
        assert_eq!(window.get("gone", mono(500)), None);
        assert_eq!(window.len(), 2);
        // "future" was queued after "old" though older by Mono: the queue stays ordered.
        assert_eq!(window.expire(mono(520)), 1);
        assert_eq!(window.expire(mono(620)), 1);
        assert!(window.is_empty());
    }

    #[test]
    fn recovery_soon_after_host_start_saturates_at_zero() {
        let mut window = DedupeWindow::new(Duration::from_secs(120));
        window.insert_recovered(
            String::from("m"),
            1,
            wall(900),
            Now::new(mono(5), wall(1_000)),
        );
        // Aged 100 s but the host started 5 s ago: it lives until Mono 120 s, longer, not shorter.
        assert_eq!(window.get("m", mono(119)), Some(1));
        assert_eq!(window.get("m", mono(120)), None);
    }

    #[test]
    fn an_id_stored_again_after_expiry_keeps_its_new_entry() {
        let mut window = DedupeWindow::new(Duration::from_secs(10));
        window.insert(String::from("m"), 1, mono(0));
        assert_eq!(window.get("m", mono(10)), None);
        window.insert(String::from("m"), 5, mono(10));
        // The stale first slot expires without removing the new entry.
        assert_eq!(window.expire(mono(10)), 0);
        assert_eq!(window.get("m", mono(15)), Some(5));
        assert_eq!(window.expire(mono(20)), 1);
        assert!(window.is_empty());
    }

    #[test]
    fn a_shorter_window_applies_to_existing_entries() {
        let mut window = DedupeWindow::from_nanos(120 * SECOND as i64);
        window.insert(String::from("m"), 1, mono(0));
        window.set_window(Duration::from_secs(5));
        assert_eq!(window.get("m", mono(5)), None);
        assert_eq!(window.next_expiry(), Some(mono(5)));
        window.clear();
        assert!(window.is_empty());
        assert_eq!(DedupeWindow::from_nanos(-1).window(), Duration::ZERO);
    }

    #[test]
    fn an_earlier_time_from_the_host_never_shortens_an_entry() {
        let mut window = DedupeWindow::new(Duration::from_secs(10));
        window.insert(String::from("a"), 1, mono(100));
        window.insert(String::from("b"), 2, mono(50));
        // "b" is treated as stored at 100.
        assert_eq!(window.get("b", mono(109)), Some(2));
        assert_eq!(window.expire(mono(110)), 2);
    }
}
