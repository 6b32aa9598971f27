//! The sublist: every subscription indexed by subject, answering "who gets a message published
//! on this subject" (nats-server `server/sublist.go`).
//!
//! A token trie: each level maps literal tokens to child nodes and has one slot for `*` and one
//! for `>`. A node holds the subscriptions whose subject ends there and the next level. Nodes
//! and levels are created on insert and pruned on remove as soon as they hold nothing, so the
//! trie's size follows the live subscriptions, whatever the churn.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use rustc_hash::FxHashMap;

use super::cache::MatchCache;
use super::subject::{
    has_empty_token, is_valid_subscription_subject, split_first_token, tokens, FULL_WILDCARD,
    PARTIAL_WILDCARD,
};

/// nats-server's match cache size (`slCacheMax`).
pub const CACHE_ENTRIES_MAX_DEFAULT: usize = 1024;

/// One subscription, as named by its owner (the broker). The sublist only stores and returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubId(pub u64);

/// Who a message published on one subject goes to.
///
/// Deterministic: `plain` is sorted by [`SubId`] and has no repeats; `queues` is sorted by name
/// with one entry per name (a group whose members subscribed on different matching subjects,
/// such as `foo.*` and `foo.>`, is one group, as in nats-server `findQSlot`); each group's
/// `members` is sorted, without repeats, and never empty. Every plain subscription gets the
/// message; each queue group gets it once (see [`crate::routing::choose_member`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SubMatch {
    pub plain: Vec<SubId>,
    pub queues: Vec<QueueGroup>,
}

impl SubMatch {
    /// No subscription matched (e.g. the publish goes nowhere, or gets a no-responders status).
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty()
    }
}

/// The members of one queue group that match a subject.
#[derive(Debug, PartialEq, Eq)]
pub struct QueueGroup {
    pub name: Bytes,
    pub members: Vec<SubId>,
}

/// Why an insert or remove was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SublistError {
    /// Empty subject, empty token, or a token after `>` (nats-server `ErrInvalidSubject`).
    InvalidSubject,
    /// Remove of a `(subject, queue, id)` that is not in the sublist (nats-server `ErrNotFound`).
    NotFound,
}

/// Counters and gauges of one sublist, as nats-server's `SublistStats` (`/subsz`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SublistStats {
    /// Subscriptions in the sublist (`num_subscriptions`).
    pub subscriptions: u64,
    /// Results in the match cache (`num_cache`).
    pub cache_len: u64,
    pub cache_entries_max: u64,
    /// Successful inserts of a new subscription (`num_inserts`).
    pub inserts: u64,
    /// Successful removes (`num_removes`).
    pub removes: u64,
    /// Calls to `match_subject` (`num_matches`).
    pub matches: u64,
    /// Matches answered from the cache.
    pub cache_hits: u64,
    /// Cache entries evicted to make room (invalidations are not counted).
    pub cache_evictions: u64,
    /// Largest fanout among cached results (`max_fanout`): plain subscriptions plus queue
    /// groups, each group counting once since it gets one copy.
    pub max_fanout: u64,
    /// Sum of the fanouts of cached results, for [`SublistStats::avg_fanout`].
    pub total_fanout: u64,
}

impl SublistStats {
    /// nats-server `cache_hit_rate`: hits over matches, 0 before any match.
    pub fn cache_hit_rate(&self) -> f64 {
        if self.matches == 0 {
            return 0.0;
        }
        self.cache_hits as f64 / self.matches as f64
    }

    /// nats-server `avg_fanout`: mean fanout over cached results, 0 with an empty cache.
    pub fn avg_fanout(&self) -> f64 {
        if self.cache_len == 0 {
            return 0.0;
        }
        self.total_fanout as f64 / self.cache_len as f64
    }
}

/// The subscription index with its match cache.
///
/// Contract:
/// - `insert`/`remove` take the subscription's `(subject, queue, id)`; the same triple is one
///   subscription. Inserting it again is a no-op (`Ok`, not counted), as nats-server's
///   set-per-node is, minus its count drift. The same `id` under another subject or queue is
///   another entry; a match lists an `id` at most once in `plain` and once per group.
/// - `match_subject` treats the subject's tokens as literal and returns an empty result for a
///   subject with an empty token, like nats-server `Sublist.Match`; it never fails.
/// - Results are `Arc`s shared with the cache: a later insert or remove never changes a result
///   already handed out, and the next match sees the change.
#[derive(Debug)]
pub struct Sublist {
    root: Level,
    subscriptions: usize,
    cache: MatchCache,
    /// Returned for every empty match, so misses with no interest allocate nothing either.
    empty: Arc<SubMatch>,
    generation: u64,
    matches: u64,
    cache_hits: u64,
    inserts: u64,
    removes: u64,
}

impl Default for Sublist {
    fn default() -> Sublist {
        Sublist::new(CACHE_ENTRIES_MAX_DEFAULT)
    }
}

impl Sublist {
    /// An empty sublist caching up to `cache_entries_max` match results; 0 disables the cache.
    pub fn new(cache_entries_max: usize) -> Sublist {
        Sublist {
            root: Level::default(),
            subscriptions: 0,
            cache: MatchCache::new(cache_entries_max),
            empty: Arc::new(SubMatch::default()),
            generation: 0,
            matches: 0,
            cache_hits: 0,
            inserts: 0,
            removes: 0,
        }
    }

    /// Adds a subscription. Refuses a subject nats-server's `Sublist.Insert` refuses: empty,
    /// with an empty token, or with a token after `>` (whitespace is not checked, see
    /// [`crate::routing::is_valid_subject`]).
    pub fn insert(
        &mut self,
        subject: &[u8],
        queue: Option<&[u8]>,
        id: SubId,
    ) -> Result<(), SublistError> {
        if !is_valid_subscription_subject(subject) {
            return Err(SublistError::InvalidSubject);
        }
        if !self.root.node_for_insert(subject).add(queue, id) {
            return Ok(());
        }
        self.subscriptions += 1;
        self.inserts += 1;
        self.generation += 1;
        self.cache.invalidate(subject);
        Ok(())
    }

    /// Removes a subscription inserted with the same `(subject, queue, id)`, pruning the nodes
    /// it leaves empty.
    pub fn remove(
        &mut self,
        subject: &[u8],
        queue: Option<&[u8]>,
        id: SubId,
    ) -> Result<(), SublistError> {
        if !is_valid_subscription_subject(subject) {
            return Err(SublistError::InvalidSubject);
        }
        self.root.remove(subject, queue, id)?;
        debug_assert!(
            self.subscriptions > 0,
            "removed from a sublist counting none"
        );
        self.subscriptions -= 1;
        self.removes += 1;
        self.generation += 1;
        self.cache.invalidate(subject);
        Ok(())
    }

    /// Everyone a message published on `subject` goes to. From the cache when possible: then
    /// it costs one hash lookup and an `Arc` clone, and allocates nothing.
    pub fn match_subject(&mut self, subject: &[u8]) -> Arc<SubMatch> {
        self.with_match(subject, Arc::clone)
    }

    /// Calls `look` with everyone a message published on `subject` goes to, and returns what
    /// it returns. The delivery path: a cache hit costs one hash lookup and, unlike
    /// [`Sublist::match_subject`], not even an `Arc` clone (two atomic operations) unless
    /// `look` keeps one.
    #[inline]
    pub fn with_match<R>(&mut self, subject: &[u8], look: impl FnOnce(&Arc<SubMatch>) -> R) -> R {
        self.matches += 1;
        if let Some(result) = self.cache.get(subject) {
            self.cache_hits += 1;
            return look(result);
        }
        // Checked before the walk, which could otherwise collect results for the tokens
        // preceding the empty one. Not cached, like nats-server: such subjects are rare.
        if has_empty_token(subject) {
            return look(&self.empty);
        }
        let mut collector = Collector::default();
        collect_level(&self.root, subject, &mut collector);
        if collector.is_empty() {
            let answer = look(&self.empty);
            // Without a cache, not even an `Arc` clone (two atomic operations).
            if self.cache.entries_max() > 0 {
                self.cache.insert(subject, Arc::clone(&self.empty));
            }
            return answer;
        }
        let result = Arc::new(collector.finish());
        let answer = look(&result);
        self.cache.insert(subject, result);
        answer
    }

    /// Number of subscriptions.
    pub fn len(&self) -> usize {
        self.subscriptions
    }

    pub fn is_empty(&self) -> bool {
        self.subscriptions == 0
    }

    /// Number of cached match results.
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Bumped by every insert or remove that changed the sublist. A holder of match results
    /// (as nats-server's per-client L1 cache does with `genid`) knows they may be stale when
    /// it has moved.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Trie nodes in use (one per distinct token position of the subscribed subjects). Zero
    /// when the sublist is empty: nothing leaks through insert/remove churn.
    pub fn node_count(&self) -> usize {
        self.root.node_count()
    }

    /// Counters, plus fanout figures computed over the cached results (a scan of at most
    /// `cache_entries_max` entries: for monitoring, not the message path).
    pub fn stats(&self) -> SublistStats {
        let (mut max_fanout, mut total_fanout) = (0u64, 0u64);
        for result in self.cache.results() {
            let fanout = (result.plain.len() + result.queues.len()) as u64;
            max_fanout = max_fanout.max(fanout);
            total_fanout += fanout;
        }
        SublistStats {
            subscriptions: self.subscriptions as u64,
            cache_len: self.cache.len() as u64,
            cache_entries_max: self.cache.entries_max() as u64,
            inserts: self.inserts,
            removes: self.removes,
            matches: self.matches,
            cache_hits: self.cache_hits,
            cache_evictions: self.cache.evictions(),
            max_fanout,
            total_fanout,
        }
    }
}

/// One token position: literal children and the two wildcard slots. Invariant: every child
/// present is non-empty (empty ones are pruned on remove).
#[derive(Debug, Default)]
struct Level {
    literals: FxHashMap<Bytes, Node>,
    partial_wildcard: Option<Box<Node>>,
    full_wildcard: Option<Box<Node>>,
}

/// The subscriptions whose subject ends at this token, and the level below it.
#[derive(Debug, Default)]
struct Node {
    /// `None` rather than an empty level, so an unused node costs no allocation.
    next: Option<Box<Level>>,
    /// Sorted, no repeats: a match copies it as is.
    plain: Vec<SubId>,
    /// Each member list sorted, no repeats, never empty. A `BTreeMap` keeps groups ordered by
    /// name; a subject rarely has more than a few.
    queues: BTreeMap<Bytes, Vec<SubId>>,
}

impl Level {
    fn is_empty(&self) -> bool {
        self.literals.is_empty() && self.partial_wildcard.is_none() && self.full_wildcard.is_none()
    }

    fn node_count(&self) -> usize {
        let children = self
            .literals
            .values()
            .chain(self.partial_wildcard.as_deref())
            .chain(self.full_wildcard.as_deref());
        children
            .map(|node| 1 + node.next.as_ref().map_or(0, |l| l.node_count()))
            .sum()
    }

    /// The node where `subject` ends, creating the path to it. `subject` is valid.
    fn node_for_insert(&mut self, subject: &[u8]) -> &mut Node {
        let mut tokens = tokens(subject);
        let mut token = tokens.next().expect("split yields at least one token");
        let mut level = self;
        loop {
            let node = level.child_or_insert(token);
            match tokens.next() {
                None => return node,
                Some(next_token) => {
                    token = next_token;
                    level = node.next.get_or_insert_with(Box::default);
                }
            }
        }
    }

    fn child_or_insert(&mut self, token: &[u8]) -> &mut Node {
        if token == PARTIAL_WILDCARD {
            return self.partial_wildcard.get_or_insert_with(Box::default);
        }
        if token == FULL_WILDCARD {
            return self.full_wildcard.get_or_insert_with(Box::default);
        }
        // Two lookups rather than `entry`, which would copy the token on every insert.
        if !self.literals.contains_key(token) {
            self.literals
                .insert(Bytes::copy_from_slice(token), Node::default());
        }
        self.literals
            .get_mut(token)
            .expect("inserted just above if it was missing")
    }

    fn child_mut(&mut self, token: &[u8]) -> Option<&mut Node> {
        if token == PARTIAL_WILDCARD {
            self.partial_wildcard.as_deref_mut()
        } else if token == FULL_WILDCARD {
            self.full_wildcard.as_deref_mut()
        } else {
            self.literals.get_mut(token)
        }
    }

    fn remove_child(&mut self, token: &[u8]) {
        if token == PARTIAL_WILDCARD {
            self.partial_wildcard = None;
        } else if token == FULL_WILDCARD {
            self.full_wildcard = None;
        } else {
            self.literals.remove(token);
        }
    }

    /// Removes the subscription and prunes, on the way back up, every node and level it leaves
    /// empty. Recursion depth is the subject's token count, which the control-line limit bounds.
    fn remove(
        &mut self,
        subject: &[u8],
        queue: Option<&[u8]>,
        id: SubId,
    ) -> Result<(), SublistError> {
        let (token, rest) = split_first_token(subject);
        let node = self.child_mut(token).ok_or(SublistError::NotFound)?;
        match rest {
            None => node.remove(queue, id)?,
            Some(rest) => {
                let next = node.next.as_deref_mut().ok_or(SublistError::NotFound)?;
                next.remove(rest, queue, id)?;
                if next.is_empty() {
                    node.next = None;
                }
            }
        }
        if node.is_empty() {
            self.remove_child(token);
        }
        Ok(())
    }
}

impl Node {
    fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty() && self.next.is_none()
    }

    /// Adds the subscription; false if it was already here.
    fn add(&mut self, queue: Option<&[u8]>, id: SubId) -> bool {
        let members = match queue {
            None => &mut self.plain,
            Some(name) => match self.queues.get_mut(name) {
                Some(members) => members,
                None => {
                    self.queues.insert(Bytes::copy_from_slice(name), vec![id]);
                    return true;
                }
            },
        };
        match members.binary_search(&id) {
            Ok(_) => false,
            Err(at) => {
                members.insert(at, id);
                true
            }
        }
    }

    fn remove(&mut self, queue: Option<&[u8]>, id: SubId) -> Result<(), SublistError> {
        let members = match queue {
            None => &mut self.plain,
            Some(name) => self.queues.get_mut(name).ok_or(SublistError::NotFound)?,
        };
        let at = members
            .binary_search(&id)
            .map_err(|_| SublistError::NotFound)?;
        members.remove(at);
        if let Some(name) = queue {
            if members.is_empty() {
                self.queues.remove(name);
            }
        }
        Ok(())
    }
}

/// What a walk of the trie found, borrowed from it until `finish` builds the owned result.
#[derive(Default)]
struct Collector<'a> {
    plain: Vec<SubId>,
    queues: Vec<(&'a Bytes, &'a [SubId])>,
}

impl<'a> Collector<'a> {
    fn add(&mut self, node: &'a Node) {
        self.plain.extend_from_slice(&node.plain);
        self.queues.extend(
            node.queues
                .iter()
                .map(|(name, members)| (name, members.as_slice())),
        );
    }

    fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty()
    }

    fn finish(mut self) -> SubMatch {
        // Several nodes may contribute (`foo.bar`, `foo.*`, `>`); each contribution is sorted,
        // so these sorts are cheap, and the common single-node case is already in order.
        self.plain.sort_unstable();
        self.plain.dedup();
        self.queues.sort_by(|a, b| a.0.cmp(b.0));
        let mut queues: Vec<QueueGroup> = Vec::new();
        for (name, members) in self.queues {
            match queues.last_mut() {
                Some(group) if group.name == *name => group.members.extend_from_slice(members),
                _ => queues.push(QueueGroup {
                    name: name.clone(),
                    members: members.to_vec(),
                }),
            }
        }
        for group in &mut queues {
            group.members.sort_unstable();
            group.members.dedup();
        }
        SubMatch {
            plain: self.plain,
            queues,
        }
    }
}

/// Collects every node matching `subject` (valid, no empty token) from `level` down. Literal
/// tokens are followed in a loop; only a `*` slot branches, so recursion depth is bounded by
/// the `*` tokens of the subscriptions on the path, as in nats-server `matchLevel`.
fn collect_level<'a>(mut level: &'a Level, mut subject: &[u8], out: &mut Collector<'a>) {
    loop {
        let (token, rest) = split_first_token(subject);
        // `>` matches this token and whatever follows.
        if let Some(node) = level.full_wildcard.as_deref() {
            out.add(node);
        }
        if let Some(node) = level.partial_wildcard.as_deref() {
            collect_below(node, rest, out);
        }
        let Some(node) = level.literals.get(token) else {
            return;
        };
        match (rest, node.next.as_deref()) {
            (None, _) => {
                out.add(node);
                return;
            }
            (Some(rest), Some(next)) => {
                level = next;
                subject = rest;
            }
            (Some(_), None) => return,
        }
    }
}

/// `node` matched one token: it matches the subject if no token is left, else its level goes on.
fn collect_below<'a>(node: &'a Node, rest: Option<&[u8]>, out: &mut Collector<'a>) {
    match (rest, node.next.as_deref()) {
        (None, _) => out.add(node),
        (Some(rest), Some(next)) => collect_level(next, rest, out),
        (Some(_), None) => {}
    }
}

#[cfg(test)]
#[path = "sublist_tests.rs"]
mod tests;
