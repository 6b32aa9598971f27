//! Queue-group member choice.
//!
//! A message published on a subject goes to every plain subscription that matches it and to
//! exactly one member of each matching queue group (NATS queue semantics: the group shares the
//! work). nats-server picks that member uniformly at random, and if the chosen member cannot
//! take the message (its connection closed, echo is off and it is the publisher, a deny
//! permission, an auto-unsubscribe limit reached) tries the next ones in turn, wrapping around,
//! until one takes it or all refused (`server/client.go` `processMsgResults`). [`member_order`]
//! is that order; [`choose_member`] is its first element.
//!
//! The randomness comes from the stream the broker derives from its `Seed`, never from the OS,
//! so a seed replays every choice.

use std::iter::{Chain, Copied};
use std::slice::Iter;

use rand::Rng;

use super::sublist::SubId;

/// The member of a queue group that gets the message: uniform over `members`, `None` when it is
/// empty. Draws one number from `rng` only when there are at least two members, as nats-server.
pub fn choose_member(members: &[SubId], rng: &mut impl Rng) -> Option<SubId> {
    member_order(members, rng).next()
}

/// Every member exactly once, starting at a uniformly chosen one and wrapping around: the
/// order in which to offer the message until a member takes it.
pub fn member_order<'a>(
    members: &'a [SubId],
    rng: &mut impl Rng,
) -> Copied<Chain<Iter<'a, SubId>, Iter<'a, SubId>>> {
    let start = if members.len() > 1 {
        rng.random_range(0..members.len())
    } else {
        0
    };
    let (before, after) = members.split_at(start);
    after.iter().chain(before).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Seed;
    use rand::RngCore;

    fn members(n: u64) -> Vec<SubId> {
        (0..n).map(SubId).collect()
    }

    #[test]
    fn empty_and_single() {
        let mut rng = Seed(1).stream("queue");
        assert_eq!(choose_member(&[], &mut rng), None);
        assert_eq!(member_order(&[], &mut rng).count(), 0);
        let before = rng.clone().next_u64();
        assert_eq!(choose_member(&[SubId(7)], &mut rng), Some(SubId(7)));
        assert_eq!(rng.next_u64(), before, "no draw for fewer than two members");
    }

    #[test]
    fn choice_is_uniform() {
        let group = members(5);
        let mut rng = Seed(42).stream("queue");
        let mut counts = [0u32; 5];
        let draws = 50_000;
        for _ in 0..draws {
            let chosen = choose_member(&group, &mut rng).expect("group is not empty");
            counts[chosen.0 as usize] += 1;
        }
        // Expected 10,000 each; 5% is over 10 standard deviations.
        for (member, &count) in counts.iter().enumerate() {
            assert!(
                (9_500..=10_500).contains(&count),
                "member {member} chosen {count} times: {counts:?}"
            );
        }
    }

    #[test]
    fn order_visits_every_member_once_from_a_random_start() {
        let group = members(4);
        let mut rng = Seed(3).stream("queue");
        let mut starts = [false; 4];
        for _ in 0..200 {
            let order: Vec<SubId> = member_order(&group, &mut rng).collect();
            let start = order[0].0 as usize;
            starts[start] = true;
            let expected: Vec<SubId> = (0..4).map(|i| SubId(((start + i) % 4) as u64)).collect();
            assert_eq!(order, expected, "wraps around from the start");
        }
        assert_eq!(starts, [true; 4], "every member gets to be first");
    }

    #[test]
    fn same_seed_same_choices() {
        let group = members(10);
        let picks = |seed: u64| -> Vec<Option<SubId>> {
            let mut rng = Seed(seed).stream("queue");
            (0..32).map(|_| choose_member(&group, &mut rng)).collect()
        };
        assert_eq!(picks(9), picks(9));
        assert_ne!(picks(9), picks(10));
    }
}
