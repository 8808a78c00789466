//! The jobs of a run and their results. With `--repeat N` each script is N jobs, numbered
//! round by round and made one at a time as workers ask, so `--repeat 4294967295` allocates
//! nothing up front; results are kept as they end, never copied per job.

use std::time::{Duration, Instant};

use crate::outcome::{Attempt, CaseResult, FileResult, Status};

use super::script::{Compiled, RunSettings};

/// Every job of a run, by number: job `i` is run `i / scripts + 1` of script `i % scripts`.
pub struct Plan<'a> {
    scripts: &'a [Compiled],
    repeat: u32,
}

/// One run of one script: with `--repeat 3`, each script is three jobs.
pub struct Job<'a> {
    pub script: &'a Compiled,
    /// Its place among the scripts (for its `--pcap-dir` capture).
    pub index: usize,
    /// `x.rhai`, or `x.rhai [2/3]` when repeated.
    pub name: String,
    /// Run k of N, when repeated.
    pub run: Option<(u32, u32)>,
}

impl<'a> Plan<'a> {
    pub fn new(scripts: &'a [Compiled], repeat: u32) -> Plan<'a> {
        Plan {
            scripts,
            repeat: repeat.max(1),
        }
    }

    pub fn jobs(&self) -> u64 {
        self.scripts.len() as u64 * u64::from(self.repeat)
    }

    pub fn repeat(&self) -> u32 {
        self.repeat
    }

    /// The jobs of the first round: each script once.
    pub fn first_round(&self) -> u64 {
        self.scripts.len() as u64
    }

    pub fn job(&self, i: u64) -> Option<Job<'a>> {
        if i >= self.jobs() {
            return None;
        }
        let n = self.scripts.len() as u64;
        let index = (i % n) as usize;
        // `i < n × repeat`, so the round fits in a u32.
        let k = u32::try_from(i / n + 1).unwrap_or(u32::MAX);
        let script = &self.scripts[index];
        let repeated = self.repeat > 1;
        Some(Job {
            script,
            index,
            name: if repeated {
                format!("{} [{k}/{}]", script.name, self.repeat)
            } else {
                script.name.clone()
            },
            run: repeated.then_some((k, self.repeat)),
        })
    }
}

/// The results so far, in the order they ended (with `-j 1`, the plan's order).
#[derive(Default)]
pub struct Finished {
    results: Vec<FileResult>,
    order: Vec<u64>,
    /// When the reports may next be rewritten.
    next_rewrite: Option<Instant>,
}

/// Rewriting the reports takes at most about this share of a run's time (1 / (1 + N)): each
/// rewrite is whole, so after every job of a long `--repeat` it would make the run quadratic.
const REWRITE_SPACING: u32 = 9;

impl Finished {
    pub fn push(&mut self, job: u64, result: FileResult) {
        crate::memory::set_aside(result.held_bytes() + 16);
        self.order.push(job);
        self.results.push(result);
    }

    pub fn so_far(&self) -> &[FileResult] {
        &self.results
    }

    pub fn contains_first_round(&self, first: u64) -> Vec<bool> {
        let mut done = vec![false; usize::try_from(first).unwrap_or(0)];
        for &i in &self.order {
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| done.get_mut(i)) {
                *slot = true;
            }
        }
        done
    }

    /// Whether the reports are due for a rewrite now; `rewritten` says how long one took.
    pub fn rewrite_due(&self, now: Instant) -> bool {
        self.next_rewrite.is_none_or(|next| now >= next)
    }

    pub fn rewritten(&mut self, took: Duration) {
        self.next_rewrite = Instant::now().checked_add(took.saturating_mul(REWRITE_SPACING));
    }

    /// Every result, in the plan's order.
    pub fn into_ordered(self) -> Vec<(u64, FileResult)> {
        let mut all: Vec<(u64, FileResult)> = self.order.into_iter().zip(self.results).collect();
        all.sort_by_key(|(i, _)| *i);
        all
    }
}

pub const NOT_RUN: &str = "not run: an earlier test failed, and --fail-fast";
pub const NOT_RUN_INTERRUPTED: &str = "not run: the run was interrupted";

/// A job never started: its selected tests (or the file) skipped — or, after Ctrl-C or
/// SIGTERM, interrupted, which is never a pass.
pub fn not_run(job: &Job, settings: &RunSettings, why: &str) -> FileResult {
    let script = job.script;
    let case = |name: Option<String>| {
        if why == NOT_RUN_INTERRUPTED {
            let attempt = Attempt {
                status: Status::Interrupted,
                duration: Duration::ZERO,
                failure: None,
            };
            CaseResult {
                skip_reason: Some(why.into()),
                ..CaseResult::once(name, attempt)
            }
        } else {
            CaseResult::skipped(name, why.into())
        }
    };
    let tests: Vec<CaseResult> = script
        .selected_tests(&settings.suite.selection)
        .map(|d| case(Some(d.name.clone())))
        .collect();
    FileResult {
        path: script.path.clone(),
        name: job.name.clone(),
        duration: Duration::ZERO,
        output: String::new(),
        sent: 0,
        received: 0,
        capture: None,
        cases: if tests.is_empty() {
            vec![case(None)]
        } else {
            tests
        },
        run: job.run,
    }
}
