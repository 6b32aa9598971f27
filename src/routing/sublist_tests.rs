//! Sublist tests: behaviour cases (many after nats-server's sublist_test.go), the cache, pruning,
//! and a model check against a linear matcher built on `subject_matches`.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

fn ids(raw: &[u64]) -> Vec<SubId> {
    raw.iter().copied().map(SubId).collect()
}

fn plain(sublist: &mut Sublist, subject: &str) -> Vec<SubId> {
    sublist.match_subject(subject.as_bytes()).plain.clone()
}

/// `(name, members)` per group, for compact assertions.
fn groups(sublist: &mut Sublist, subject: &str) -> Vec<(String, Vec<u64>)> {
    sublist
        .match_subject(subject.as_bytes())
        .queues
        .iter()
        .map(|group| {
            let name = String::from_utf8(group.name.to_vec()).expect("test names are UTF-8");
            (name, group.members.iter().map(|id| id.0).collect())
        })
        .collect()
}

fn insert(sublist: &mut Sublist, subject: &str, id: u64) {
    sublist
        .insert(subject.as_bytes(), None, SubId(id))
        .expect("test subjects are valid");
}

fn insert_queue(sublist: &mut Sublist, subject: &str, queue: &str, id: u64) {
    sublist
        .insert(subject.as_bytes(), Some(queue.as_bytes()), SubId(id))
        .expect("test subjects are valid");
}

/// Each behaviour test runs with the cache off and on, matching twice so the second answer
/// comes from the cache when there is one.
fn both_caches(test: impl Fn(&mut Sublist)) {
    for cache_entries_max in [0, CACHE_ENTRIES_MAX_DEFAULT] {
        test(&mut Sublist::new(cache_entries_max));
    }
}

#[test]
fn literal_subjects() {
    both_caches(|sl| {
        insert(sl, "foo", 1);
        insert(sl, "foo.bar", 2);
        for _ in 0..2 {
            assert_eq!(plain(sl, "foo"), ids(&[1]));
            assert_eq!(plain(sl, "foo.bar"), ids(&[2]));
            assert!(sl.match_subject(b"bar").is_empty());
            assert!(
                sl.match_subject(b"foo.bar.baz").is_empty(),
                "no prefix matching"
            );
            assert!(sl.match_subject(b"fo").is_empty());
        }
    });
}

#[test]
fn partial_wildcard_matches_exactly_one_token() {
    both_caches(|sl| {
        insert(sl, "a.*.c", 1);
        insert(sl, "a.b.*", 2);
        insert(sl, "*", 3);
        for _ in 0..2 {
            assert_eq!(plain(sl, "a.b.c"), ids(&[1, 2]));
            assert_eq!(plain(sl, "a.x.c"), ids(&[1]));
            assert_eq!(plain(sl, "a.b.x"), ids(&[2]));
            assert_eq!(plain(sl, "a"), ids(&[3]));
            assert_eq!(plain(sl, "a.b"), ids(&[]), "`a.b.*` needs a third token");
            assert_eq!(plain(sl, "a.b.c.d"), ids(&[]));
        }
    });
}

#[test]
fn full_wildcard_matches_one_or_more_tokens() {
    both_caches(|sl| {
        insert(sl, "foo.>", 1);
        insert(sl, ">", 2);
        insert(sl, "foo.*.>", 3);
        for _ in 0..2 {
            assert_eq!(plain(sl, "foo"), ids(&[2]), "`foo.>` does not match `foo`");
            assert_eq!(plain(sl, "foo.bar"), ids(&[1, 2]));
            assert_eq!(plain(sl, "foo.bar.baz"), ids(&[1, 2, 3]));
            assert_eq!(
                plain(sl, "x.y.z.w"),
                ids(&[2]),
                "`>` matches any token count"
            );
            assert_eq!(plain(sl, "*"), ids(&[2]));
        }
    });
}

#[test]
fn published_wildcards_are_literal_tokens() {
    // A non-pedantic client may publish to `foo.*`; nats-server routes it as the token "*".
    both_caches(|sl| {
        insert(sl, "foo.bar", 1);
        insert(sl, "foo.*", 2);
        insert(sl, "foo.>", 3);
        for _ in 0..2 {
            assert_eq!(plain(sl, "foo.*"), ids(&[2, 3]));
            assert_eq!(plain(sl, "foo.>"), ids(&[2, 3]));
        }
    });
}

#[test]
fn wildcard_characters_inside_tokens_are_literal() {
    // nats-server `TestSublistInsertWithWildcardsAsLiterals`.
    both_caches(|sl| {
        insert(sl, "foo.*-", 1);
        insert(sl, "foo.>-", 2);
        insert(sl, "foo*", 3);
        for _ in 0..2 {
            assert_eq!(plain(sl, "foo.bar"), ids(&[]));
            assert_eq!(plain(sl, "foo.*-"), ids(&[1]));
            assert_eq!(plain(sl, "foo.>-"), ids(&[2]));
            assert_eq!(plain(sl, "foo*"), ids(&[3]));
            assert_eq!(plain(sl, "foox"), ids(&[]));
        }
        assert_eq!(
            sl.remove(b"foo.bar", None, SubId(1)),
            Err(SublistError::NotFound)
        );
        assert_eq!(sl.len(), 3);
    });
}

#[test]
fn subjects_with_empty_tokens_match_nothing() {
    // nats-server `TestSublistMatchWithEmptyTokens`.
    both_caches(|sl| {
        insert(sl, ">", 1);
        insert_queue(sl, ">", "queue", 2);
        for subject in [
            "",
            ".",
            ".foo",
            "..foo",
            "foo..",
            "foo.",
            "foo..bar",
            "foo...bar",
        ] {
            assert!(
                sl.match_subject(subject.as_bytes()).is_empty(),
                "{subject:?}"
            );
        }
        assert_eq!(sl.cache_len(), 0, "invalid subjects are not cached");
    });
}

#[test]
fn queue_groups_are_grouped_by_name_and_sorted() {
    // After nats-server `TestSublistBasicQueueResults`, plus groups spanning several nodes.
    both_caches(|sl| {
        insert(sl, "foo", 9);
        insert_queue(sl, "foo", "baz", 4);
        insert_queue(sl, "foo", "bar", 3);
        insert_queue(sl, "*", "bar", 1);
        insert_queue(sl, ">", "bar", 2);
        insert_queue(sl, ">", "aaa", 7);
        for _ in 0..2 {
            assert_eq!(plain(sl, "foo"), ids(&[9]));
            assert_eq!(
                groups(sl, "foo"),
                [
                    ("aaa".into(), vec![7]),
                    ("bar".into(), vec![1, 2, 3]),
                    ("baz".into(), vec![4]),
                ]
            );
            assert_eq!(
                groups(sl, "foo.x"),
                [("aaa".into(), vec![7]), ("bar".into(), vec![2])]
            );
        }
        sl.remove(b"*", Some(b"bar"), SubId(1)).expect("inserted");
        sl.remove(b">", Some(b"bar"), SubId(2)).expect("inserted");
        sl.remove(b"foo", Some(b"bar"), SubId(3)).expect("inserted");
        assert_eq!(
            groups(sl, "foo"),
            [("aaa".into(), vec![7]), ("baz".into(), vec![4])],
            "a group with no member left is gone"
        );
    });
}

#[test]
fn queue_name_is_part_of_the_subscription() {
    both_caches(|sl| {
        insert_queue(sl, "foo", "q", 1);
        assert_eq!(
            sl.remove(b"foo", None, SubId(1)),
            Err(SublistError::NotFound)
        );
        assert_eq!(
            sl.remove(b"foo", Some(b"other"), SubId(1)),
            Err(SublistError::NotFound)
        );
        insert(sl, "foo", 1);
        assert_eq!(plain(sl, "foo"), ids(&[1]));
        assert_eq!(groups(sl, "foo"), [("q".into(), vec![1])]);
        assert_eq!(sl.len(), 2);
    });
}

#[test]
fn duplicates() {
    both_caches(|sl| {
        // The same triple twice is one subscription: listed once, counted once, removed once.
        insert(sl, "foo", 1);
        insert(sl, "foo", 1);
        insert_queue(sl, "foo", "q", 2);
        insert_queue(sl, "foo", "q", 2);
        assert_eq!(sl.len(), 2);
        assert_eq!(sl.stats().inserts, 2);
        assert_eq!(plain(sl, "foo"), ids(&[1]));
        assert_eq!(groups(sl, "foo"), [("q".into(), vec![2])]);
        // One id on two matching subjects is two entries, but a match lists it once.
        insert(sl, "*", 1);
        insert_queue(sl, ">", "q", 2);
        assert_eq!(sl.len(), 4);
        assert_eq!(plain(sl, "foo"), ids(&[1]));
        assert_eq!(groups(sl, "foo"), [("q".into(), vec![2])]);
        sl.remove(b"foo", None, SubId(1)).expect("inserted");
        assert_eq!(plain(sl, "foo"), ids(&[1]), "still subscribed through `*`");
        assert_eq!(
            sl.remove(b"foo", None, SubId(1)),
            Err(SublistError::NotFound)
        );
    });
}

#[test]
fn invalid_subjects_are_refused_and_change_nothing() {
    // nats-server `testSublistInvalidSubjectsInsert` and `testSublistBadSubjectOnRemove`.
    both_caches(|sl| {
        insert(sl, "a.b", 1);
        let nodes = sl.node_count();
        let generation = sl.generation();
        for subject in [
            "",
            ".",
            ".foo",
            "foo.",
            "foo..bar",
            "a.b..d",
            ">.foo",
            "foo.>.bar",
        ] {
            for queue in [None, Some(&b"q"[..])] {
                let s = subject.as_bytes();
                assert_eq!(
                    sl.insert(s, queue, SubId(9)),
                    Err(SublistError::InvalidSubject),
                    "insert {subject:?}"
                );
                assert_eq!(
                    sl.remove(s, queue, SubId(9)),
                    Err(SublistError::InvalidSubject),
                    "remove {subject:?}"
                );
            }
        }
        assert_eq!(sl.len(), 1);
        assert_eq!(
            sl.node_count(),
            nodes,
            "a refused insert leaves no node behind"
        );
        assert_eq!(sl.generation(), generation);
        // Whitespace is not the sublist's business (see `is_valid_subject`).
        insert(sl, "foo bar", 2);
        assert_eq!(plain(sl, "foo bar"), ids(&[2]));
    });
}

#[test]
fn remove_of_absent_subscriptions_is_not_found() {
    both_caches(|sl| {
        assert_eq!(
            sl.remove(b"foo", None, SubId(1)),
            Err(SublistError::NotFound)
        );
        insert(sl, "foo.bar", 1);
        for (subject, id) in [("foo.bar", 2), ("foo", 1), ("foo.bar.baz", 1), ("foo.*", 1)] {
            assert_eq!(
                sl.remove(subject.as_bytes(), None, SubId(id)),
                Err(SublistError::NotFound),
                "{subject:?} {id}"
            );
        }
        assert_eq!(sl.len(), 1);
        assert_eq!(sl.stats().removes, 0);
        assert_eq!(sl.node_count(), 2, "failed removes prune nothing");
    });
}

#[test]
fn node_count_tracks_token_positions_and_prunes() {
    let mut sl = Sublist::new(0);
    insert(&mut sl, "a.b.c", 1);
    assert_eq!(sl.node_count(), 3);
    insert(&mut sl, "a.*", 2);
    insert(&mut sl, "a.>", 3);
    assert_eq!(sl.node_count(), 5);
    insert(&mut sl, "a.b", 4);
    assert_eq!(sl.node_count(), 5, "`a.b` ends on an existing node");
    sl.remove(b"a.b.c", None, SubId(1)).expect("inserted");
    assert_eq!(
        sl.node_count(),
        4,
        "`c` pruned, `a.b` still holds a subscription"
    );
    sl.remove(b"a.b", None, SubId(4)).expect("inserted");
    sl.remove(b"a.*", None, SubId(2)).expect("inserted");
    assert_eq!(sl.node_count(), 2);
    sl.remove(b"a.>", None, SubId(3)).expect("inserted");
    assert_eq!(sl.node_count(), 0);
    assert!(sl.is_empty());
}

#[test]
fn churn_leaves_nothing_behind() {
    let mut sl = Sublist::new(16);
    let subjects: Vec<String> = (0..600u64)
        .map(|i| match i % 4 {
            0 => format!("orders.{}.created", i % 37),
            1 => format!("orders.*.{}", i % 11),
            2 => format!("_INBOX.{i}.>"),
            _ => format!("{}.{}", i % 7, i),
        })
        .collect();
    for round in 0..3u64 {
        for (i, subject) in subjects.iter().enumerate() {
            let queue = (i % 3 == 0).then_some(&b"workers"[..]);
            sl.insert(subject.as_bytes(), queue, SubId(i as u64))
                .expect("valid");
            sl.match_subject(format!("orders.{}.created", i % 37).as_bytes());
        }
        assert_eq!(sl.len(), subjects.len());
        // Remove in a different order each round.
        let mut order: Vec<usize> = (0..subjects.len()).collect();
        order.rotate_left((round as usize * 101) % subjects.len());
        order.reverse();
        for i in order {
            let queue = (i % 3 == 0).then_some(&b"workers"[..]);
            sl.remove(subjects[i].as_bytes(), queue, SubId(i as u64))
                .expect("inserted");
        }
        assert!(sl.is_empty());
        assert_eq!(sl.node_count(), 0, "round {round} leaked nodes");
        assert!(sl.match_subject(b"orders.1.created").is_empty());
    }
}

#[test]
fn cache_sees_inserts_and_removes_after_a_cached_match() {
    // nats-server `TestSublistCache`.
    let mut sl = Sublist::new(CACHE_ENTRIES_MAX_DEFAULT);
    insert(&mut sl, "a.b.c.d", 1);
    assert_eq!(plain(&mut sl, "a.b.c.d"), ids(&[1]));
    insert(&mut sl, "a.b.*.d", 2);
    insert(&mut sl, "a.b.>", 3);
    assert_eq!(plain(&mut sl, "a.b.c.d"), ids(&[1, 2, 3]));
    sl.remove(b"a.b.c.d", None, SubId(1)).expect("inserted");
    assert_eq!(plain(&mut sl, "a.b.c.d"), ids(&[2, 3]));
    sl.remove(b"a.b.>", None, SubId(3)).expect("inserted");
    assert_eq!(plain(&mut sl, "a.b.c.d"), ids(&[2]));
    sl.remove(b"a.b.*.d", None, SubId(2)).expect("inserted");
    assert_eq!(
        sl.cache_len(),
        0,
        "every change invalidated the one cached subject"
    );
    assert_eq!(plain(&mut sl, "a.b.c.d"), ids(&[]));

    // A wildcard insert reaches cached subjects it matches, and only those.
    let mut sl = Sublist::new(CACHE_ENTRIES_MAX_DEFAULT);
    insert(&mut sl, "foo.*", 1);
    insert(&mut sl, "foo.bar", 2);
    assert_eq!(plain(&mut sl, "foo.baz"), ids(&[1]));
    assert_eq!(plain(&mut sl, "foo.bar"), ids(&[1, 2]));
    let unrelated = sl.match_subject(b"other");
    insert(&mut sl, "foo.>", 3);
    assert_eq!(plain(&mut sl, "foo.bar"), ids(&[1, 2, 3]));
    assert_eq!(plain(&mut sl, "foo.baz"), ids(&[1, 3]));
    let hits = sl.stats().cache_hits;
    assert!(Arc::ptr_eq(&unrelated, &sl.match_subject(b"other")));
    assert_eq!(
        sl.stats().cache_hits,
        hits + 1,
        "an unrelated entry survived"
    );
}

#[test]
fn handed_out_results_do_not_change() {
    let mut sl = Sublist::default();
    insert(&mut sl, "foo", 1);
    let before = sl.match_subject(b"foo");
    insert(&mut sl, "foo", 2);
    assert_eq!(before.plain, ids(&[1]));
    assert_eq!(sl.match_subject(b"foo").plain, ids(&[1, 2]));
}

#[test]
fn cache_hits_return_the_same_allocation() {
    let mut sl = Sublist::default();
    insert_queue(&mut sl, "foo.*", "q", 1);
    let first = sl.match_subject(b"foo.bar");
    let second = sl.match_subject(b"foo.bar");
    assert!(
        Arc::ptr_eq(&first, &second),
        "a hit must not rebuild the result"
    );
    // Empty results share one allocation, cached or not.
    let none = sl.match_subject(b"nobody");
    let none_again = sl.match_subject(b"nobody.else");
    assert!(Arc::ptr_eq(&none, &none_again));
    let stats = sl.stats();
    assert_eq!((stats.matches, stats.cache_hits), (4, 1));
}

#[test]
fn cache_is_bounded() {
    let mut sl = Sublist::new(64);
    insert(&mut sl, ">", 1);
    for i in 0..1000u64 {
        let subject = format!("foo.{i}");
        assert_eq!(plain(&mut sl, &subject), ids(&[1]));
        assert!(sl.cache_len() <= 64, "cache grew to {}", sl.cache_len());
    }
    assert_eq!(sl.cache_len(), 64);
    let stats = sl.stats();
    assert_eq!(stats.cache_evictions, 1000 - 64);
    assert_eq!(stats.cache_entries_max, 64);
    // Evicted subjects are recomputed correctly.
    insert(&mut sl, "foo.0", 2);
    assert_eq!(plain(&mut sl, "foo.0"), ids(&[1, 2]));
}

#[test]
fn cache_disabled_with_zero() {
    let mut sl = Sublist::new(0);
    insert(&mut sl, "foo", 1);
    for _ in 0..3 {
        assert_eq!(plain(&mut sl, "foo"), ids(&[1]));
    }
    assert_eq!(sl.cache_len(), 0);
    assert_eq!(sl.stats().cache_hits, 0);
}

#[test]
fn stats_and_generation() {
    let mut sl = Sublist::default();
    assert_eq!(
        sl.stats(),
        SublistStats {
            cache_entries_max: CACHE_ENTRIES_MAX_DEFAULT as u64,
            ..SublistStats::default()
        }
    );
    assert_eq!(sl.stats().cache_hit_rate(), 0.0);
    insert(&mut sl, "foo", 1);
    insert(&mut sl, "foo", 2);
    insert_queue(&mut sl, "foo", "q", 3);
    insert_queue(&mut sl, "foo", "q", 4);
    insert(&mut sl, "foo", 2); // duplicate: not counted, no new generation
    assert_eq!(sl.generation(), 4);
    sl.match_subject(b"foo");
    sl.match_subject(b"foo");
    sl.match_subject(b"bar");
    sl.remove(b"foo", None, SubId(1)).expect("inserted");
    assert_eq!(sl.generation(), 5);
    sl.match_subject(b"foo");
    let stats = sl.stats();
    assert_eq!(stats.subscriptions, 3);
    assert_eq!(stats.inserts, 4);
    assert_eq!(stats.removes, 1);
    assert_eq!(stats.matches, 4);
    assert_eq!(stats.cache_hits, 1);
    assert_eq!(stats.cache_len, 2);
    // "foo": one plain subscription plus one queue group; "bar": nothing.
    assert_eq!((stats.max_fanout, stats.total_fanout), (2, 2));
    assert_eq!(stats.avg_fanout(), 1.0);
    assert_eq!(stats.cache_hit_rate(), 0.25);
}

// --- Model check ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Insert(String, Option<String>, u64),
    /// Removes the n-th (modulo) live subscription, or a random absent one when there is none.
    RemoveLive(usize),
    RemoveAny(String, Option<String>, u64),
    Match(String),
}

fn filter_strategy() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec!["a", "b", "a*", "*"]);
    (prop::collection::vec(token, 1..4), any::<bool>()).prop_map(|(mut tokens, full)| {
        if full {
            tokens.push(">");
        }
        tokens.join(".")
    })
}

fn publish_strategy() -> impl Strategy<Value = String> {
    // Includes tokens a non-pedantic client could publish ("*", ">") and empty tokens.
    let token = prop::sample::select(vec!["a", "b", "c", "a*", "*", ">", ""]);
    prop::collection::vec(token, 0..5).prop_map(|tokens| tokens.join("."))
}

fn queue_strategy() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(vec!["q1", "q2"]).prop_map(String::from))
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (filter_strategy(), queue_strategy(), 0..6u64)
            .prop_map(|(s, q, id)| Op::Insert(s, q, id)),
        2 => any::<usize>().prop_map(Op::RemoveLive),
        1 => (filter_strategy(), queue_strategy(), 0..6u64)
            .prop_map(|(s, q, id)| Op::RemoveAny(s, q, id)),
        5 => publish_strategy().prop_map(Op::Match),
    ]
}

use crate::fuzzing::{model_match, Entry};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn agrees_with_linear_model(
        cache_entries_max in prop::sample::select(vec![0usize, 1, 3, 1024]),
        ops in prop::collection::vec(op_strategy(), 1..120),
    ) {
        let mut sl = Sublist::new(cache_entries_max);
        let mut model: BTreeSet<Entry> = BTreeSet::new();
        for op in ops {
            match op {
                Op::Insert(subject, queue, id) => {
                    sl.insert(subject.as_bytes(), queue.as_deref().map(str::as_bytes), SubId(id))
                        .expect("generated filters are valid");
                    model.insert((subject, queue, id));
                }
                Op::RemoveLive(n) => {
                    let Some(entry) = model.iter().nth(n % model.len().max(1)).cloned() else {
                        continue;
                    };
                    let (subject, queue, id) = &entry;
                    prop_assert_eq!(
                        sl.remove(subject.as_bytes(), queue.as_deref().map(str::as_bytes), SubId(*id)),
                        Ok(())
                    );
                    model.remove(&entry);
                }
                Op::RemoveAny(subject, queue, id) => {
                    let result =
                        sl.remove(subject.as_bytes(), queue.as_deref().map(str::as_bytes), SubId(id));
                    let entry = (subject, queue, id);
                    let expected = if model.remove(&entry) {
                        Ok(())
                    } else {
                        Err(SublistError::NotFound)
                    };
                    prop_assert_eq!(result, expected);
                }
                Op::Match(subject) => {
                    let got = sl.match_subject(subject.as_bytes());
                    let expected = model_match(&model, &subject);
                    prop_assert_eq!(&*got, &expected, "subject {:?}", subject);
                }
            }
            prop_assert_eq!(sl.len(), model.len());
            prop_assert!(sl.cache_len() <= cache_entries_max);
        }
        // Draining the model must leave an empty trie.
        for (subject, queue, id) in std::mem::take(&mut model) {
            prop_assert_eq!(
                sl.remove(subject.as_bytes(), queue.as_deref().map(str::as_bytes), SubId(id)),
                Ok(())
            );
        }
        prop_assert_eq!(sl.node_count(), 0);
        prop_assert!(sl.is_empty());
    }
}
