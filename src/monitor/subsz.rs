//! `/subsz` (also served as `/subscriptionsz`): the sublist's statistics and, with `subs=1`,
//! its subscriptions, optionally only those a `test` subject would reach.

use serde::Serialize;

use super::format::GoTime;
use super::query::{BadRequest, Query};
use super::{SubDetail, GLOBAL_ACCOUNT, LIST_LIMIT_DEFAULT};
use crate::broker::Broker;
use crate::routing::{is_valid_literal_subject, subject_matches, SublistStats};
use crate::time::Now;

/// `/subsz`'s query options, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubszOptions {
    /// `subs=true`: list the subscriptions.
    pub subs: bool,
    pub offset: usize,
    /// At least 1; 1024 when not given.
    pub limit: usize,
    /// `test=`: only subscriptions a message published to this subject would reach.
    pub test: Option<String>,
    /// `acc=`: only `$G` (the one account here) has subscriptions.
    pub account: Option<String>,
}

impl Default for SubszOptions {
    fn default() -> SubszOptions {
        SubszOptions {
            subs: false,
            offset: 0,
            limit: LIST_LIMIT_DEFAULT,
            test: None,
            account: None,
        }
    }
}

impl SubszOptions {
    /// Reads the options in nats-server's order (`HandleSubsz`, then `Subsz`).
    pub fn from_query(query: &Query) -> Result<SubszOptions, BadRequest> {
        let subs = query.bool("subs")?;
        let offset = query.int("offset")?;
        let limit = query.int("limit")?;
        let test = Some(query.get("test").to_string()).filter(|t| !t.is_empty());
        if let Some(test) = &test {
            if !is_valid_literal_subject(test.as_bytes()) {
                return Err(BadRequest(format!(
                    "invalid test subject, must be valid publish subject: {test}"
                )));
            }
        }
        Ok(SubszOptions {
            subs,
            offset: usize::try_from(offset).unwrap_or(0),
            limit: usize::try_from(limit)
                .ok()
                .filter(|&l| l > 0)
                .unwrap_or(LIST_LIMIT_DEFAULT),
            test,
            account: Some(query.get("acc").to_string()).filter(|a| !a.is_empty()),
        })
    }
}

/// nats-server's `/subsz` answer (its `SublistStats` fields inlined).
#[derive(Clone, Debug, Serialize)]
pub struct Subsz {
    pub server_id: String,
    pub now: GoTime,
    pub num_subscriptions: u64,
    pub num_cache: u64,
    pub num_inserts: u64,
    pub num_removes: u64,
    pub num_matches: u64,
    pub cache_hit_rate: f64,
    pub max_fanout: u64,
    pub avg_fanout: f64,
    /// Subscriptions listed before paging; 0 without `subs=1`, as nats-server.
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_list: Vec<SubDetail>,
}

/// `/subsz` for `broker` at `now`.
pub fn subsz(broker: &Broker, now: Now, options: &SubszOptions) -> Subsz {
    let view = broker.monitor_view();
    let in_account = options
        .account
        .as_deref()
        .is_none_or(|a| a == GLOBAL_ACCOUNT);
    let stats = if in_account {
        view.sublist.stats()
    } else {
        SublistStats::default()
    };
    let mut subsz = Subsz {
        server_id: broker.server_id().to_string(),
        now: GoTime(now.wall),
        num_subscriptions: stats.subscriptions,
        num_cache: stats.cache_len,
        num_inserts: stats.inserts,
        num_removes: stats.removes,
        num_matches: stats.matches,
        cache_hit_rate: stats.cache_hit_rate(),
        max_fanout: stats.max_fanout,
        avg_fanout: stats.avg_fanout(),
        total: 0,
        offset: options.offset,
        limit: options.limit,
        subscriptions_list: Vec::new(),
    };
    if !options.subs || !in_account {
        return subsz;
    }
    let test = options.test.as_deref().map(str::as_bytes);
    // Creation order, so pages are stable between requests.
    let mut listed: Vec<_> = view
        .subs
        .iter()
        .filter(|(_, sub)| test.is_none_or(|subject| subject_matches(&sub.subject, subject)))
        .collect();
    listed.sort_unstable_by_key(|&(id, _)| *id);
    subsz.total = listed.len();
    let first = options.offset.min(listed.len());
    let end = first + options.limit.min(listed.len() - first);
    subsz.subscriptions_list = listed[first..end]
        .iter()
        .map(|(_, sub)| {
            SubDetail::new(
                Some(GLOBAL_ACCOUNT),
                &sub.subject,
                sub.queue.as_deref(),
                &sub.sid,
                sub.delivered,
                sub.deliveries_max,
                sub.conn.0,
            )
        })
        .collect();
    subsz
}

#[cfg(test)]
mod tests {
    use super::super::tests::Scenario;
    use super::*;
    use crate::config::Config;

    fn options(query: &str) -> SubszOptions {
        SubszOptions::from_query(&Query::parse(query)).expect("valid options")
    }

    fn subjects(subsz: &Subsz) -> Vec<(&str, u64)> {
        subsz
            .subscriptions_list
            .iter()
            .map(|d| (d.subject.as_str(), d.cid))
            .collect()
    }

    #[test]
    fn lists_page_and_test_subscriptions() {
        let mut scenario = Scenario::new(Config::default());
        let a = scenario.connect("{}");
        let b = scenario.connect("{}");
        scenario.send(a, "SUB foo 1\r\nSUB bar.* q 2\r\n");
        scenario.send(b, "SUB foo 1\r\nSUB > 2\r\n");
        scenario.send(a, "PUB foo 2\r\nhi\r\n");
        let broker = &scenario.broker;
        let now = scenario.now;

        let plain = subsz(broker, now, &SubszOptions::default());
        assert_eq!(plain.num_subscriptions, 4);
        assert_eq!(plain.num_inserts, 4);
        assert_eq!(plain.num_matches, 1);
        assert_eq!(plain.total, 0);
        assert!(plain.subscriptions_list.is_empty());

        let all = subsz(broker, now, &options("subs=1"));
        assert_eq!(all.total, 4);
        assert_eq!(
            subjects(&all),
            [("foo", a.0), ("bar.*", a.0), ("foo", b.0), (">", b.0)]
        );
        assert_eq!(all.subscriptions_list[0].msgs, 1);
        assert_eq!(all.subscriptions_list[1].queue, "q");

        let page = subsz(broker, now, &options("subs=1&offset=1&limit=2"));
        assert_eq!((page.total, page.offset, page.limit), (4, 1, 2));
        assert_eq!(subjects(&page), [("bar.*", a.0), ("foo", b.0)]);

        let tested = subsz(broker, now, &options("subs=1&test=bar.x"));
        assert_eq!(subjects(&tested), [("bar.*", a.0), (">", b.0)]);

        let elsewhere = subsz(broker, now, &options("subs=1&acc=OTHER"));
        assert_eq!((elsewhere.total, elsewhere.num_subscriptions), (0, 0));
    }

    #[test]
    fn bad_options_get_nats_server_errors() {
        let error = |query: &str| {
            SubszOptions::from_query(&Query::parse(query))
                .expect_err("refused")
                .0
        };
        assert_eq!(
            error("test=foo.*"),
            "invalid test subject, must be valid publish subject: foo.*"
        );
        assert_eq!(
            error("limit=x"),
            "Error decoding int for 'limit': strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(options("offset=-5&limit=0"), SubszOptions::default());
    }
}
