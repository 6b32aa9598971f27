//! The run's trace: one line per input to the server and per thing it or the disk did, hashed
//! in order. Two runs of one seed must give the same hash; a replay (`verbose`) prints every
//! line as it happens, and a failure report shows the last ones.

use std::collections::VecDeque;
use std::hash::Hasher;

use super::params::SimTime;
use crate::history::Fnv64;

/// Lines kept for a failure report.
const TAIL_LINES_MAX: usize = 40;

#[derive(Debug, Default)]
pub struct Trace {
    hash: Fnv64,
    lines: u64,
    tail: VecDeque<String>,
    verbose: bool,
}

impl Trace {
    pub fn new(verbose: bool) -> Trace {
        Trace {
            verbose,
            ..Trace::default()
        }
    }

    /// Appends one line at simulated time `at`.
    pub fn note(&mut self, at: SimTime, text: &str) {
        let line = format!("{:>9.3}ms {text}", at as f64 / 1e6);
        self.hash.write(line.as_bytes());
        self.hash.write(b"\n");
        self.lines += 1;
        if self.verbose {
            println!("{line}");
        }
        if self.tail.len() == TAIL_LINES_MAX {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    pub fn hash(&self) -> u64 {
        self.hash.finish()
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The last lines, oldest first.
    pub fn tail(&self) -> impl Iterator<Item = &String> {
        self.tail.iter()
    }
}
