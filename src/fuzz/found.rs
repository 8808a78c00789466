//! A crash once confirmed: pinned and minimized (unless it is the same as one known, seen
//! again and again), deduplicated, written as a reproducer and a capture; then the program is
//! started again, or the fuzzing ends.

use super::engine::{Flow, Session};
use super::oracle::Verdict;
use super::pin;
use super::reproducer;
use super::{Crash, Error};

/// After this many crashes in a row of one kind and place that all minimized to a crash
/// already known, the next ones of that kind and place are counted as it without pinning:
/// a shallow bug hit every few hundred cases must not cost a minimization each time.
const REPEATS: u32 = 3;

impl Session<'_> {
    pub(super) fn on_crash(&mut self, seen: Verdict) -> Result<Flow, Error> {
        self.count_drops();
        let window = std::mem::take(&mut self.log);
        let case = self.report.sent;
        let bucket = format!("{}|{}", seen.kind.as_str(), seen.place);
        if self.repeats.get(&bucket).is_some_and(|n| *n >= REPEATS)
            && let Some(known) = self
                .report
                .crashes
                .iter_mut()
                .rev()
                .find(|c| c.verdict.same(&seen))
        {
            known.seen += 1;
            self.report.repeats += 1;
            return self.after_crash();
        }
        let pinned = match &self.child {
            Some(_) => {
                let trials = self.cfg.trials;
                let pinned = pin::pin(self, &window, trials);
                pinned.map_err(|h| self.halted(h))?
            }
            None => None,
        };
        let (sequence, verdict, is_pinned) = match pinned {
            Some(p) => (p.sequence, p.verdict, true),
            None => {
                let why = if self.child.is_some() {
                    "replaying what was sent since the last good check did not crash it again"
                } else {
                    "without `process` it cannot be started again to replay"
                };
                self.report
                    .notes
                    .push(format!("{} not pinned: {why}", seen.detail));
                (window, seen, false)
            }
        };
        let key = reproducer::key(&verdict, &sequence);
        if let Some(known) = self
            .report
            .crashes
            .iter_mut()
            .find(|c| reproducer::key(&c.verdict, &c.sequence) == key)
        {
            known.seen += 1;
            *self.repeats.entry(bucket).or_default() += 1;
        } else {
            self.repeats.insert(bucket, 0);
            let mut crash = Crash {
                verdict,
                sequence,
                pinned: is_pinned,
                case,
                at: self.report.elapsed,
                seen: 1,
                file: None,
                capture: None,
            };
            self.write_reproducer(&mut crash).map_err(Error::Failed)?;
            self.report.crashes.push(crash);
        }
        self.after_crash()
    }

    /// The program started again to go on (with `restart`), or the end.
    fn after_crash(&mut self) -> Result<Flow, Error> {
        self.hooks
            .progress(&self.report, self.report.crashes.last());
        match &self.child {
            Some(_) if self.cfg.restart => {
                let started = self.fresh_start();
                started.map_err(|h| self.halted(h))?;
                self.report.restarts += 1;
                self.drops_base = self.backlog().map(|b| b.drops);
                self.output_seen = 0;
                Ok(Flow::Go)
            }
            _ => Ok(Flow::End),
        }
    }

    fn write_reproducer(&mut self, crash: &mut Crash) -> Result<(), String> {
        let name = format!(
            "crash-{}",
            reproducer::hash(&reproducer::key(&crash.verdict, &crash.sequence))
        );
        let capture = self.cfg.out.join(format!("{name}.pcapng"));
        let script = self.cfg.out.join(format!("{name}.rhai"));
        if script.exists() {
            // Found before (the same crash, the same minimized input): kept as it is.
            crash.file = Some(script);
            crash.capture = capture.exists().then_some(capture);
            return Ok(());
        }
        std::fs::create_dir_all(&self.cfg.out)
            .map_err(|e| format!("fuzz: cannot create {}: {e}", self.cfg.out.display()))?;
        if self.child.is_some() {
            self.record_run(&crash.sequence, &capture, &name)?;
        } else {
            reproducer::write_capture(
                &capture,
                &name,
                self.wire.local(),
                self.cfg.target,
                &crash.sequence,
            )?;
        }
        let text = reproducer::script(&reproducer::Reproduction {
            name: &name,
            crash,
            program: self.child.as_ref().map(|c| (c.program(), c.args())),
            target: self.cfg.target,
            probe: self.probe.as_deref(),
            protocol: self.cfg.protocol,
            seed: self.cfg.seed,
        });
        write_new(&script, text.as_bytes())
            .map_err(|e| format!("fuzz: cannot write {}: {e}", script.display()))?;
        crash.file = Some(script);
        crash.capture = Some(capture);
        Ok(())
    }
}

/// Writes a file that must not exist yet: nothing is overwritten.
fn write_new(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)
}
