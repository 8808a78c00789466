//! The checks the engine makes and the trials pinning runs: is the target alive (the script's
//! `alive`, else the probe, else its port still bound), how did it crash, and the program
//! started afresh with a sequence sent to it.

use std::path::Path;
use std::time::{Duration, Instant};

use super::engine::{Answer, Session};
use super::oracle::{self, Verdict};
use super::pin::{Halt, Trial};
use super::wire::{CaptureTap, Fault, Recording, Wire};
use crate::capture::Recorder;

/// A restarted program gets this long after TERM before KILL (a hung one never ends by TERM).
const GRACE: Duration = Duration::from_millis(200);
/// How long a restarted program may take to bind its port.
const STARTUP: Duration = Duration::from_secs(10);
/// How long a program that has begun a sanitizer report may take to finish it and exit.
const REPORTING: Duration = Duration::from_secs(5);
/// How long a dying program may take to be reaped once its port is gone.
const DYING: Duration = Duration::from_millis(100);
/// Without a probe or `alive`: how long to let a datagram be handled before looking.
const SETTLE: Duration = Duration::from_millis(3);
/// Datagrams sent at once in a trial before waiting for the target to read them.
const CHUNK: usize = 64;

impl Session<'_> {
    /// The program ended, or reported a sanitizer error (which may not end it).
    pub(super) fn process_verdict(&mut self) -> Option<Verdict> {
        let child = self.child.clone()?;
        if let Some(status) = child.try_status() {
            return Some(Verdict::ended(status, &child.output()));
        }
        let written = child.written();
        if written == self.output_seen {
            return None;
        }
        let verdict = oracle::sanitizer(&child.output());
        if verdict.is_none() {
            self.output_seen = written;
        }
        verdict
    }

    /// Asks whether the target is alive: the script's `alive`, else the probe (waiting the
    /// hang time), else whether its port is still bound.
    pub(super) fn ask_alive(&mut self) -> Result<Answer, Halt> {
        if let Some(reason) = self.hooks.stopped() {
            return Err(Halt::Stopped(reason));
        }
        if let Some(alive) = self.hooks.alive() {
            return Ok(match alive {
                Ok(true) => Answer::Yes,
                Ok(false) => Answer::No("`alive` returned false".into()),
                Err(e) => Answer::No(format!("`alive` failed: {e}")),
            });
        }
        let Some(probe) = self.probe.clone() else {
            return Ok(if self.child.as_ref().is_some_and(|c| !c.alive()) {
                Answer::No("the program ended".into())
            } else if self.bound() {
                Answer::Yes
            } else {
                Answer::Refused
            });
        };
        let child = self.child.clone();
        let asked = self.wire.ask(&probe).and_then(|()| {
            self.wire
                .answer(self.cfg.hang, || child.as_ref().is_some_and(|c| !c.alive()))
        });
        Ok(match asked {
            Ok(true) => Answer::Yes,
            Ok(false) => Answer::No(format!(
                "no answer to the probe within {}s",
                self.cfg.hang.as_secs_f64()
            )),
            Err(Fault::Refused) => Answer::Refused,
            Err(Fault::Io(e)) => Answer::No(e.to_string()),
        })
    }

    /// After a suspicion: the crash, or `None` for a false alarm (asked again, it answers).
    pub(super) fn confirm(&mut self) -> Result<Option<Verdict>, Halt> {
        if let Some(v) = self.process_verdict() {
            return Ok(Some(self.finished_report(v)));
        }
        self.wire
            .reopen()
            .map_err(|e| Halt::Failed(format!("fuzz: {e}")))?;
        match self.ask_alive()? {
            Answer::Yes => Ok(self.process_verdict()),
            Answer::No(_) => Ok(Some(self.classify(false))),
            Answer::Refused => Ok(Some(self.classify(true))),
        }
    }

    /// No answer (or a refusal): how did it crash? A program that died, or that has begun a
    /// sanitizer report, is waited for; one still running with its port bound hangs.
    fn classify(&mut self, refused: bool) -> Verdict {
        if let Some(child) = self.child.clone() {
            let reporting = oracle::sanitizer(&child.output()).is_some()
                || child.output().contains("Sanitizer");
            let end = Instant::now() + if reporting { REPORTING } else { DYING };
            while Instant::now() < end {
                if child.try_status().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            if let Some(v) = self.process_verdict() {
                return self.finished_report(v);
            }
        }
        if refused || !self.bound() {
            Verdict::refused(self.cfg.target)
        } else {
            Verdict::hang(self.cfg.hang)
        }
    }

    /// A sanitizer report read while the program was still writing it: once it has ended,
    /// read whole.
    fn finished_report(&mut self, v: Verdict) -> Verdict {
        let Some(child) = self.child.clone() else {
            return v;
        };
        if v.kind != oracle::Kind::Sanitizer || child.try_status().is_some() {
            return v;
        }
        let end = Instant::now() + REPORTING;
        while Instant::now() < end && child.try_status().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        match child.try_status() {
            Some(status) => Verdict::ended(status, &child.output()),
            None => oracle::sanitizer(&child.output()).unwrap_or(v),
        }
    }

    /// Stops the program and starts it again, waiting until its port is bound.
    pub(super) fn fresh_start(&mut self) -> Result<(), Halt> {
        let Some(child) = self.child.clone() else {
            return Err(Halt::Failed("fuzz: no program to start again".into()));
        };
        self.bank_drops();
        child
            .restart(GRACE)
            .map_err(|e| Halt::Failed(format!("fuzz: starting it again: {e}")))?;
        self.output_seen = 0;
        let end = Instant::now() + STARTUP;
        while !self.bound() {
            if let Some(reason) = self.hooks.stopped() {
                return Err(Halt::Stopped(reason));
            }
            if let Some(status) = child.try_status() {
                return Err(Halt::Failed(format!(
                    "fuzz: {} ended ({}) as it started again:\n{}",
                    child.program(),
                    Verdict::ended(status, "").detail,
                    child.output().trim_end()
                )));
            }
            if Instant::now() >= end {
                return Err(Halt::Failed(format!(
                    "fuzz: {} bound nothing at {} within {}s of starting again",
                    child.program(),
                    self.cfg.target,
                    STARTUP.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        self.wire
            .reopen()
            .map_err(|e| Halt::Failed(format!("fuzz: {e}")))
    }

    /// Sends `seq` in order, a chunk at a time, letting the target read each chunk first.
    fn send_paced(&mut self, seq: &[Vec<u8>]) -> Result<bool, Halt> {
        for chunk in seq.chunks(CHUNK) {
            match self.wire.send(chunk) {
                Ok(()) => {}
                Err(Fault::Refused) => return Ok(false),
                Err(Fault::Io(e)) => return Err(Halt::Failed(format!("fuzz: {e}"))),
            }
            if seq.len() > CHUNK {
                let end = Instant::now() + self.cfg.hang;
                while self.backlog_queued() > 0 && Instant::now() < end {
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        }
        Ok(true)
    }

    fn backlog_queued(&self) -> u64 {
        crate::process::ready::backlog(self.target()).map_or(0, |b| b.queued)
    }

    /// After datagrams were sent in a trial: the crash they made, if any.
    fn verdict_now(&mut self, sent: bool) -> Result<Option<Verdict>, Halt> {
        if !sent {
            return Ok(Some(self.classify(true)));
        }
        if self.probe.is_none() && !self.hooks.has_alive() {
            std::thread::sleep(SETTLE);
        }
        match self.ask_alive()? {
            Answer::Yes => Ok(self.process_verdict()),
            Answer::No(_) => Ok(Some(self.classify(false))),
            Answer::Refused => Ok(Some(self.classify(true))),
        }
    }

    /// Runs `seq` once more from a fresh start, recording it to `path`: the crash's capture.
    pub(super) fn record_run(
        &mut self,
        seq: &[Vec<u8>],
        path: &Path,
        name: &str,
    ) -> Result<(), String> {
        let recorder = Recorder::create(path).map_err(|e| e.to_string())?;
        let tap = CaptureTap {
            recorder,
            comment: format!("{name}: a crash found by udpsh fuzz"),
        };
        let recording = Recording {
            tap: std::sync::Arc::new(tap),
            sample: 1,
        };
        let wire = Wire::open(self.cfg.target, Some(recording)).map_err(|e| e.to_string())?;
        let old = std::mem::replace(&mut self.wire, wire);
        let ran = self.run(seq);
        // The capture's wire is let go: its file is complete.
        let _ = std::mem::replace(&mut self.wire, old);
        match ran {
            Ok(_) => Ok(()),
            Err(Halt::Failed(m)) => Err(m),
            Err(Halt::Stopped(r)) => Err(format!("stopped ({})", r.as_str())),
        }
    }
}

impl Trial for Session<'_> {
    fn run(&mut self, seq: &[Vec<u8>]) -> Result<Option<Verdict>, Halt> {
        self.fresh_start()?;
        let sent = self.send_paced(seq)?;
        self.verdict_now(sent)
    }

    fn replay(&mut self, window: &[Vec<u8>]) -> Result<Option<(usize, Verdict)>, Halt> {
        self.fresh_start()?;
        for (i, datagram) in window.iter().enumerate() {
            let sent = self.send_paced(std::slice::from_ref(datagram))?;
            if let Some(v) = self.verdict_now(sent)? {
                return Ok(Some((i, v)));
            }
        }
        Ok(None)
    }
}
