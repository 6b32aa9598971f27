//! Invariants: one file each, each citing where its property comes from. They read the
//! client-observed history (indexed by [`Model`]) and what the servers reported, after the run.
//!
//! Soundness rule: a checker only demands what causality proves (see `model.rs`): a client
//! that was partitioned, held or cut off legitimately misses messages (core NATS is
//! at-most-once), so completeness-style checks need flush evidence on the very connection, and
//! safety-style checks (no duplicates, order, routing) hold under every fault.

mod completeness;
mod delivery_routing;
mod liveness;
mod no_duplicates;
mod no_responders;
mod protocol_errors;
mod publisher_order;
mod queue_groups;
mod server_health;
mod slow_consumers;
mod unsubscribe;

use std::collections::BTreeMap;
use std::fmt;

use crate::history::Entry;
use crate::model::Model;
use crate::params::Params;

/// What the checkers read.
pub struct Input<'a> {
    pub params: &'a Params,
    pub entries: &'a [Entry],
    pub model: &'a Model,
    /// Whether each server's software was running when the run ended.
    pub servers_running: &'a [bool],
}

/// One violation.
#[derive(Clone, Debug)]
pub struct Finding {
    pub invariant: &'static str,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.invariant, self.detail)
    }
}

/// Every checker's result: how many cases it checked, and what it found.
#[derive(Debug, Default)]
pub struct Verdict {
    pub checks: BTreeMap<&'static str, u64>,
    pub findings: Vec<Finding>,
    /// Violations per invariant (details are kept for the first few only).
    pub violations: BTreeMap<&'static str, u64>,
}

/// Details kept per invariant; the count goes on.
const DETAILS_PER_INVARIANT_MAX: u64 = 5;

impl Verdict {
    pub fn checked(&mut self, invariant: &'static str, cases: u64) {
        *self.checks.entry(invariant).or_default() += cases;
    }

    pub fn fail(&mut self, invariant: &'static str, detail: String) {
        let count = self.violations.entry(invariant).or_default();
        *count += 1;
        if *count <= DETAILS_PER_INVARIANT_MAX {
            self.findings.push(Finding { invariant, detail });
        }
    }

    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn checks_of(&self, invariant: &str) -> u64 {
        self.checks.get(invariant).copied().unwrap_or(0)
    }

    /// `checks: name=count ...` for each of `names`, in that order.
    pub fn checks_line(&self, names: &[&str]) -> String {
        let checks: Vec<String> = names
            .iter()
            .map(|name| format!("{name}={}", self.checks_of(name)))
            .collect();
        format!("checks: {}", checks.join(" "))
    }

    /// The start of a failed run's report, the same for every simulation: the summary,
    /// parameters and checks, then the simulation error, why the run counts as empty, and
    /// each violated invariant with its findings.
    pub fn failure_head(
        &self,
        summary: &str,
        params: &dyn std::fmt::Display,
        checks: &str,
        error: Option<&String>,
        empty: &[String],
    ) -> String {
        let mut out = format!("FAILED {summary}\n  params: {params}\n  {checks}\n");
        if let Some(error) = error {
            out.push_str(&format!("  simulation error: {error}\n"));
        }
        for why in empty {
            out.push_str(&format!("  empty run: {why}\n"));
        }
        for (invariant, count) in &self.violations {
            out.push_str(&format!("  {invariant}: {count} violation(s)\n"));
        }
        for finding in &self.findings {
            out.push_str(&format!("    {finding}\n"));
        }
        out
    }
}

/// Runs every checker.
pub fn check_all(input: &Input<'_>) -> Verdict {
    let mut verdict = Verdict::default();
    server_health::check(input, &mut verdict);
    protocol_errors::check(input, &mut verdict);
    delivery_routing::check(input, &mut verdict);
    no_duplicates::check(input, &mut verdict);
    publisher_order::check(input, &mut verdict);
    completeness::check(input, &mut verdict);
    queue_groups::check(input, &mut verdict);
    no_responders::check(input, &mut verdict);
    unsubscribe::check(input, &mut verdict);
    slow_consumers::check(input, &mut verdict);
    liveness::check(input, &mut verdict);
    verdict
}

/// The names of every invariant, for reports.
pub const NAMES: [&str; 11] = [
    server_health::NAME,
    protocol_errors::NAME,
    delivery_routing::NAME,
    no_duplicates::NAME,
    publisher_order::NAME,
    completeness::NAME,
    queue_groups::NAME,
    no_responders::NAME,
    unsubscribe::NAME,
    slow_consumers::NAME,
    liveness::NAME,
];
