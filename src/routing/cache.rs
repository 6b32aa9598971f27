//! The sublist's bounded match-result cache.
//!
//! Keyed by published subject; a hit lends out the cached result and allocates nothing.
//!
//! Invalidation is precise, as in nats-server (`addToCache`/`removeFromCache`): a change to a
//! literal subscription subject can only change the result for that exact subject, so it drops
//! one entry; a change to a wildcard subscription drops the entries whose subject it matches
//! (a scan of at most `entries_max` keys). A generation counter that flushed everything instead
//! would let churn of unrelated subscriptions (one `_INBOX.<id>` per request) empty the cache of
//! every hot subject, many times a second.
//!
//! Eviction is CLOCK (second chance), fully deterministic: entries sit in a ring in insertion
//! order; a hit sets the entry's `referenced` bit; to make room the hand skips (and clears)
//! referenced entries and evicts the first unreferenced one. Hot subjects survive a stream of
//! one-off subjects, which FIFO would not give, at the cost of one bit write per hit.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use rustc_hash::FxHashMap;

use super::subject::{is_literal_subject, subject_matches};
use super::sublist::SubMatch;

#[derive(Debug)]
pub(crate) struct MatchCache {
    entries_max: usize,
    entries: FxHashMap<Bytes, Entry>,
    /// The CLOCK ring: `(subject, stamp)` per entry, oldest first. Invalidation leaves stale
    /// slots behind (their key is gone, or was re-added with a newer stamp); the hand skips
    /// them and `compact` bounds how many can pile up. Invariant: every live entry has exactly
    /// one slot carrying its stamp.
    ring: VecDeque<(Bytes, u64)>,
    stamp_next: u64,
    evictions: u64,
}

#[derive(Debug)]
struct Entry {
    result: Arc<SubMatch>,
    stamp: u64,
    referenced: bool,
}

impl MatchCache {
    pub(crate) fn new(entries_max: usize) -> MatchCache {
        MatchCache {
            entries_max,
            entries: FxHashMap::default(),
            ring: VecDeque::new(),
            stamp_next: 0,
            evictions: 0,
        }
    }

    pub(crate) fn get(&mut self, subject: &[u8]) -> Option<&Arc<SubMatch>> {
        let entry = self.entries.get_mut(subject)?;
        entry.referenced = true;
        Some(&entry.result)
    }

    /// Caches `result` for `subject`, which must not be cached already (the caller just missed).
    pub(crate) fn insert(&mut self, subject: &[u8], result: Arc<SubMatch>) {
        if self.entries_max == 0 {
            return;
        }
        if self.entries.len() >= self.entries_max {
            self.evict_one();
        }
        let key = Bytes::copy_from_slice(subject);
        let stamp = self.stamp_next;
        self.stamp_next += 1;
        let entry = Entry {
            result,
            stamp,
            referenced: false,
        };
        let previous = self.entries.insert(key.clone(), entry);
        debug_assert!(previous.is_none(), "inserted a subject that was cached");
        self.ring.push_back((key, stamp));
        debug_assert!(self.entries.len() <= self.entries_max);
        if self.ring.len() > 2 * self.entries_max {
            self.compact();
        }
    }

    /// Drops every entry whose result a subscription on `filter` is part of.
    pub(crate) fn invalidate(&mut self, filter: &[u8]) {
        if self.entries.is_empty() {
            return;
        }
        if is_literal_subject(filter) {
            // Cached subjects have no empty token, and against those a literal filter matches
            // only itself.
            self.entries.remove(filter);
        } else {
            self.entries
                .retain(|subject, _| !subject_matches(filter, subject));
        }
        if self.entries.is_empty() {
            self.ring.clear();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn entries_max(&self) -> usize {
        self.entries_max
    }

    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    pub(crate) fn results(&self) -> impl Iterator<Item = &SubMatch> {
        self.entries.values().map(|entry| &*entry.result)
    }

    fn evict_one(&mut self) {
        while let Some((subject, stamp)) = self.ring.pop_front() {
            let Some(entry) = self.entries.get_mut(&subject) else {
                continue;
            };
            if entry.stamp != stamp {
                continue;
            }
            if entry.referenced {
                entry.referenced = false;
                self.ring.push_back((subject, stamp));
                continue;
            }
            self.entries.remove(&subject);
            self.evictions += 1;
            return;
        }
        // The loop ends only by evicting while entries remain: each live entry has a slot, and
        // a second pass over a slot finds its bit cleared.
        unreachable!("cache ring lost a live entry");
    }

    /// Drops stale ring slots, so the ring stays within twice the entry limit however many
    /// invalidations happen between evictions.
    fn compact(&mut self) {
        let entries = &self.entries;
        self.ring.retain(|(subject, stamp)| {
            entries
                .get(subject)
                .is_some_and(|entry| entry.stamp == *stamp)
        });
        debug_assert_eq!(self.ring.len(), self.entries.len());
    }

    #[cfg(test)]
    pub(crate) fn ring_len(&self) -> usize {
        self.ring.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::SubId;

    fn result(id: u64) -> Arc<SubMatch> {
        Arc::new(SubMatch {
            plain: vec![SubId(id)],
            queues: Vec::new(),
        })
    }

    #[test]
    fn zero_entries_disables() {
        let mut cache = MatchCache::new(0);
        cache.insert(b"a", result(1));
        assert_eq!(cache.len(), 0);
        assert!(cache.get(b"a").is_none());
    }

    #[test]
    fn evicts_in_insertion_order_when_nothing_is_hot() {
        let mut cache = MatchCache::new(3);
        for (i, subject) in [&b"a"[..], b"b", b"c", b"d"].into_iter().enumerate() {
            cache.insert(subject, result(i as u64));
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get(b"a").is_none(), "the oldest entry goes first");
        assert!(cache.get(b"b").is_some());
        assert_eq!(cache.evictions(), 1);
    }

    #[test]
    fn hot_entry_gets_a_second_chance() {
        let mut cache = MatchCache::new(3);
        cache.insert(b"hot", result(0));
        cache.insert(b"b", result(1));
        cache.insert(b"c", result(2));
        assert!(cache.get(b"hot").is_some());
        cache.insert(b"d", result(3));
        assert!(cache.get(b"hot").is_some(), "a hit spares the oldest entry");
        assert!(
            cache.get(b"b").is_none(),
            "the next unreferenced entry is evicted"
        );
        // Streams of one-off subjects keep evicting the cold ones while "hot" keeps hitting.
        for i in 0..100u64 {
            cache.insert(format!("one-off.{i}").as_bytes(), result(i));
            assert!(cache.get(b"hot").is_some(), "evicted hot entry at {i}");
        }
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn invalidation_is_precise() {
        let mut cache = MatchCache::new(10);
        for subject in ["foo.bar", "foo.baz", "foo.bar.x", "other"] {
            cache.insert(subject.as_bytes(), result(0));
        }
        cache.invalidate(b"foo.bar");
        assert!(cache.get(b"foo.bar").is_none());
        assert_eq!(cache.len(), 3);
        cache.invalidate(b"foo.*");
        assert!(cache.get(b"foo.baz").is_none());
        assert!(
            cache.get(b"foo.bar.x").is_some(),
            "`foo.*` does not match three tokens"
        );
        cache.invalidate(b"foo.>");
        assert!(cache.get(b"foo.bar.x").is_none());
        assert!(cache.get(b"other").is_some());
        cache.invalidate(b">");
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.ring_len(), 0, "an emptied cache drops its ring");
    }

    #[test]
    fn ring_stays_bounded_under_invalidation_churn() {
        let mut cache = MatchCache::new(4);
        cache.insert(b"keep", result(0));
        for i in 0..1000u64 {
            let subject = format!("churn.{}", i % 2);
            cache.insert(subject.as_bytes(), result(i));
            cache.invalidate(subject.as_bytes());
            assert!(
                cache.ring_len() <= 2 * 4,
                "ring grew to {}",
                cache.ring_len()
            );
        }
        assert!(cache.get(b"keep").is_some());
        // Re-added keys carry new stamps; eviction must skip their stale slots, not evict them.
        for subject in ["x", "y", "z", "w"] {
            cache.insert(subject.as_bytes(), result(1));
        }
        assert_eq!(cache.len(), 4);
    }
}
