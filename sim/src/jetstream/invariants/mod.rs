//! The JetStream simulation's invariants: one file each, each citing where its property comes
//! from. They check what the clients saw against the [`Model`](super::model::Model) as replies
//! arrive (a reply is judged at the moment it arrives, the latest time the server can have
//! made it, so "may have been removed by then" is never understated), plus the gap check at
//! the end of every incarnation and the liveness check at the end of the run.

pub mod acked_not_lost;
pub mod dedupe;
pub mod limits;
pub mod liveness;
pub mod no_corrupt_served;
pub mod no_early_expiry;
pub mod sequences;

use crate::invariants::Verdict;

/// The server stayed well: replies parse, nothing unexpected closes, JetStream opens every
/// stream it wrote, nothing panics.
pub const SERVER_HEALTH: &str = "server_health";

/// Every invariant's name, for reports.
pub const NAMES: [&str; 8] = [
    SERVER_HEALTH,
    acked_not_lost::NAME,
    sequences::NAME,
    dedupe::NAME,
    limits::NAME,
    no_early_expiry::NAME,
    no_corrupt_served::NAME,
    liveness::NAME,
];

pub fn fail(verdict: &mut Verdict, invariant: &'static str, detail: String) {
    verdict.fail(invariant, detail);
}

/// The checkers can fail: each one, fed a model that breaks its property, reports it (and
/// stays quiet when the model shows a legitimate reason).
#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::jetstream::json::{self, Json};
    use crate::jetstream::model::{Incarnation, Model, PubId, PubOutcome, Publish, Purge};
    use crate::jetstream::params::{StreamPlan, MILLIS, SECONDS};
    use switchboard::jetstream::json::base64_standard;

    fn plan() -> StreamPlan {
        StreamPlan {
            name: "S0".to_string(),
            max_msgs: 0,
            max_msgs_per_subject: 0,
            max_bytes: 0,
            discard_new: false,
            max_age: 0,
            duplicate_window: 2 * SECONDS as i64,
            admin: false,
        }
    }

    fn model(plan: StreamPlan) -> Model {
        let mut model = Model::new(&[plan]);
        for started_at in [0, 10 * SECONDS] {
            model.incarnations.push(Incarnation {
                started_at,
                skew_at_open: 0,
                dropped_in_flight: false,
                closed_a_client: false,
            });
        }
        model
    }

    /// A publish on `S0.a`, acked (`seq`) at `sent_at + 1ms`, recorded as the replies do.
    fn acked(model: &mut Model, payload: &str, id: Option<&str>, sent_at: u64, seq: u64) -> PubId {
        let incarnation = u32::from(sent_at >= 10 * SECONDS);
        let publish = model.add_publish(Publish {
            client: 0,
            stream: 0,
            generation: 0,
            subject: "S0.a".to_string(),
            headers: Bytes::new(),
            payload: Bytes::from(payload.to_string()),
            msg_id: id.map(str::to_string),
            size: 60,
            sent_at,
            incarnation,
            outcome: PubOutcome::Pending,
            liveness: false,
            rollup: None,
        });
        model.publishes[publish].outcome = PubOutcome::Acked {
            seq,
            at: sent_at + MILLIS,
        };
        let generation = model.generation_mut(0, 0);
        generation.acked.insert(seq, publish);
        generation.max_acked = generation.max_acked.max(seq);
        generation
            .acked_by_incarnation
            .entry(incarnation)
            .or_default()
            .insert(seq);
        publish
    }

    #[test]
    fn a_lost_acked_message_is_found_unless_something_removed_it() {
        let mut model = model(plan());
        acked(&mut model, "one", None, 100 * MILLIS, 1);
        let mut verdict = Verdict::default();
        // Asked before the ack arrived: the server may have looked before storing it.
        acked_not_lost::on_not_found(&model, &mut verdict, (0, 0, 1), 100 * MILLIS, (SECONDS, 0));
        assert!(verdict.ok());
        acked_not_lost::on_not_found(&model, &mut verdict, (0, 0, 1), SECONDS, (SECONDS, 0));
        assert_eq!(verdict.violations.get(acked_not_lost::NAME), Some(&1));
        let mut verdict = Verdict::default();
        model.generation_mut(0, 0).purges.push(Purge {
            sent_at: 500 * MILLIS,
            incarnation: 0,
            replied_at: None,
            filter: None,
            below_seq: None,
        });
        acked_not_lost::on_not_found(&model, &mut verdict, (0, 0, 1), SECONDS, (SECONDS, 0));
        assert!(verdict.ok(), "a purge sent after it may have removed it");
    }

    #[test]
    fn early_expiry_is_told_apart_from_legitimate_expiry() {
        let mut model = model(StreamPlan {
            max_age: SECONDS as i64,
            ..plan()
        });
        acked(&mut model, "one", None, 100 * MILLIS, 1);
        let mut verdict = Verdict::default();
        acked_not_lost::on_not_found(&model, &mut verdict, (0, 0, 1), SECONDS, (1200 * MILLIS, 0));
        assert!(verdict.ok(), "max_age passed at 1.1s");
        acked_not_lost::on_not_found(
            &model,
            &mut verdict,
            (0, 0, 1),
            500 * MILLIS,
            (900 * MILLIS, 0),
        );
        assert_eq!(verdict.violations.get(no_early_expiry::NAME), Some(&1));
    }

    #[test]
    fn a_duplicate_stored_twice_within_the_window_is_found() {
        let mut model = model(plan());
        acked(&mut model, "one", Some("id1"), 100 * MILLIS, 1);
        let late = acked(&mut model, "one", Some("id1"), 3 * SECONDS, 3);
        let mut verdict = Verdict::default();
        dedupe::on_ack(&model, &mut verdict, late);
        assert!(verdict.ok(), "the 2s window had passed");
        let early = acked(&mut model, "one", Some("id1"), SECONDS, 2);
        dedupe::on_ack(&model, &mut verdict, early);
        assert_eq!(verdict.violations.get(dedupe::NAME), Some(&1));
    }

    #[test]
    fn sequence_reuse_and_gaps_are_found() {
        let mut model = model(plan());
        let first = acked(&mut model, "one", None, 100 * MILLIS, 1);
        acked(&mut model, "two", None, 200 * MILLIS, 3);
        let mut verdict = Verdict::default();
        sequences::check_incarnation_gaps(&model, &mut verdict, 0);
        assert_eq!(verdict.violations.get(sequences::NAME), Some(&1));
        let mut verdict = Verdict::default();
        let other = acked(&mut model, "three", None, 11 * SECONDS, 4);
        model.generation_mut(0, 0).acked.insert(1, first);
        sequences::on_ack(&model, &mut verdict, other, 1, None, (12 * SECONDS, 1));
        assert!(
            verdict.violations.get(sequences::NAME) >= Some(&2),
            "{verdict:?}"
        );
        assert_eq!(verdict.violations.get(acked_not_lost::NAME), Some(&1));
    }

    #[test]
    fn limits_and_corrupt_reads_are_found() {
        let model = model(StreamPlan {
            max_msgs: 2,
            ..plan()
        });
        let state = json::parse(br#"{"messages":3,"bytes":10}"#).expect("json");
        let mut verdict = Verdict::default();
        limits::on_info(&model, (0, 0), &state, &mut verdict);
        assert_eq!(verdict.violations.get(limits::NAME), Some(&1));

        let mut model = model.clone();
        acked(&mut model, "one", None, 100 * MILLIS, 1);
        let served = |payload: &[u8]| -> Json {
            let text = format!(
                r#"{{"subject":"S0.a","seq":1,"data":"{}"}}"#,
                base64_standard(payload)
            );
            json::parse(text.as_bytes()).expect("json")
        };
        let mut verdict = Verdict::default();
        no_corrupt_served::on_found(
            &model,
            &mut verdict,
            (0, 0),
            Some(1),
            &served(b"one"),
            (SECONDS, 0),
        );
        assert!(verdict.ok());
        no_corrupt_served::on_found(
            &model,
            &mut verdict,
            (0, 0),
            Some(1),
            &served(b"onf"),
            (SECONDS, 0),
        );
        assert_eq!(verdict.violations.get(no_corrupt_served::NAME), Some(&1));
    }
}
