//! The fuzz loop: cases in batches, a probe after each batch (at most two batches unanswered,
//! so the target's receive buffer never overflows and a silent target is noticed at once),
//! the process and its output looked at after each batch, the script's `alive` every
//! `every` cases; on a suspicion, a confirmation, then pinning, minimizing, the reproducer,
//! and a restart or the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cases::Generator;
use super::pin::Halt;
use super::wire::{Fault, Wire};
use super::{Config, Error, Hooks, Report};
use crate::process::Child;
use crate::process::ready::{self, Target};

/// Cases per batch, and the most bytes a batch may hold in the target's receive buffer
/// (counted as the kernel does, with about 768 bytes of overhead a datagram).
const BATCH: usize = 64;
const BATCH_BYTES: usize = 64 * 1024;
const OVERHEAD: usize = 768;
/// Probes unanswered at once.
const WINDOW: usize = 2;
/// How often the caller hears of the progress.
const TICK: Duration = Duration::from_millis(100);
/// Without a probe, the bytes the target may have waiting before the next batch goes.
const QUEUED: u64 = 64 * 1024;

pub struct Session<'a> {
    pub(super) cfg: &'a Config,
    pub(super) wire: Wire,
    pub(super) child: Option<Arc<Child>>,
    pub(super) hooks: &'a mut dyn Hooks,
    pub(super) probe: Option<Vec<u8>>,
    pub(super) report: Report,
    /// Output bytes of the program already looked at for a sanitizer report.
    pub(super) output_seen: u64,
    /// Drops at the target's socket: counted so far, and the current socket's at its start.
    drops_banked: u64,
    pub(super) drops_base: Option<u64>,
    /// Datagrams sent since the last good check, in order (probes included).
    pub(super) log: Vec<Vec<u8>>,
    /// Crashes in a row, per kind and place, that minimized to one already known.
    pub(super) repeats: std::collections::HashMap<String, u32>,
    in_flight: usize,
}

/// Fuzzes `cfg.target`; `child` is the program serving it, when the caller owns it.
pub fn run(
    cfg: &Config,
    child: Option<Arc<Child>>,
    hooks: &mut dyn Hooks,
) -> Result<Report, Error> {
    if cfg.seeds.is_empty() {
        return Err(Error::Failed("fuzz needs at least one seed".into()));
    }
    let recording = hooks.recorder();
    let wire = Wire::open(cfg.target, recording)
        .map_err(|e| Error::Failed(format!("fuzz: cannot open a socket to {}: {e}", cfg.target)))?;
    let mut s = Session {
        cfg,
        wire,
        child,
        hooks,
        probe: None,
        report: Report {
            seed: cfg.seed,
            ..Report::default()
        },
        output_seen: 0,
        drops_banked: 0,
        drops_base: None,
        log: Vec::new(),
        repeats: Default::default(),
        in_flight: 0,
    };
    s.calibrate()?;
    s.fuzz()?;
    Ok(s.report)
}

pub(super) enum Flow {
    Go,
    End,
}

impl Session<'_> {
    /// Picks the probe and checks that the target is alive before anything is sent.
    fn calibrate(&mut self) -> Result<(), Error> {
        if let Some(v) = self.process_verdict() {
            return Err(Error::Failed(format!(
                "fuzz: the program is not running before fuzzing ({})",
                v.detail
            )));
        }
        self.probe = match &self.cfg.probe {
            Some(p) => Some(p.clone()),
            None => self.answered_seed()?,
        };
        if self.probe.is_none() {
            self.report.notes.push(
                "no seed was answered, so there is no probe: a hang is seen only through `alive`, and sends are paced by the target's queue".into(),
            );
        }
        let answer = self.ask_alive();
        match answer.map_err(|h| self.halted(h))? {
            Answer::Yes => {}
            answer => {
                return Err(Error::Failed(format!(
                    "fuzz: {} is not alive before fuzzing ({})",
                    self.cfg.target,
                    answer.describe()
                )));
            }
        }
        self.drops_base = self.backlog().map(|b| b.drops);
        Ok(())
    }

    /// The first of (up to eight) seeds that the target answers.
    fn answered_seed(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let wait = self.cfg.hang.min(Duration::from_millis(500));
        for seed in self.cfg.seeds.iter().take(8) {
            self.wire.ask(seed).map_err(|e| fault_error(self.cfg, e))?;
            let child = self.child.clone();
            let answered = self
                .wire
                .answer(wait, || child.as_ref().is_some_and(|c| !c.alive()))
                .map_err(|e| fault_error(self.cfg, e))?;
            if answered {
                return Ok(Some(seed.clone()));
            }
        }
        Ok(None)
    }

    fn fuzz(&mut self) -> Result<(), Error> {
        let cfg = self.cfg;
        let started = Instant::now();
        let mut generator = Generator::new(
            cfg.seeds.clone(),
            cfg.fields.clone(),
            cfg.protocol,
            cfg.seed,
            cfg.max_len(),
        );
        let mut since_check = 0u64;
        let mut last_tick = Instant::now();
        // Time spent on crashes (confirming, pinning, minimizing, restarting) is not fuzzing:
        // neither the rate nor `duration` counts it.
        let mut aside = Duration::ZERO;
        let fuzzing = |aside: Duration| started.elapsed().saturating_sub(aside);
        loop {
            self.report.elapsed = fuzzing(aside);
            if let Some(reason) = self.hooks.stopped() {
                return Err(Error::Stopped(reason, Box::new(self.finish())));
            }
            let left = cfg
                .cases
                .map_or(u64::MAX, |n| n.saturating_sub(self.report.sent));
            if left == 0 || cfg.duration.is_some_and(|d| self.report.elapsed >= d) {
                break;
            }
            let batch = self.batch(
                &mut generator,
                left.min(cfg.every.saturating_sub(since_check)),
            );
            since_check += batch.len() as u64;
            let sent = self.wire.send(&batch);
            self.report.sent += batch.len() as u64;
            self.log.extend(batch);
            let mut suspect = matches!(sent, Err(Fault::Refused));
            if let Err(Fault::Io(e)) = sent {
                return Err(Error::Failed(format!(
                    "fuzz: sending to {}: {e}",
                    cfg.target
                )));
            }
            if !suspect {
                suspect = !self.pace()?;
            }
            self.report.replies += self.wire.drain().unwrap_or(0);
            if !suspect && self.process_verdict().is_some() {
                suspect = true;
            }
            if !suspect && since_check >= cfg.every {
                since_check = 0;
                suspect = !self.checkpoint()?;
            }
            if suspect {
                since_check = 0;
                self.report.elapsed = fuzzing(aside);
                let began = Instant::now();
                let flow = self.suspicion()?;
                aside += began.elapsed();
                if let Flow::End = flow {
                    break;
                }
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                self.report.elapsed = fuzzing(aside);
                self.count_drops();
                self.hooks.progress(&self.report, None);
            }
        }
        self.report.elapsed = fuzzing(aside);
        self.finish_in_place();
        Ok(())
    }

    /// The next cases: up to [`BATCH`], fewer when they are large or fewer are `wanted`.
    fn batch(&mut self, generator: &mut Generator, wanted: u64) -> Vec<Vec<u8>> {
        let mut batch = Vec::with_capacity(BATCH);
        let mut bytes = 0;
        while batch.len() < BATCH && (batch.len() as u64) < wanted.max(1) && bytes < BATCH_BYTES {
            let case = generator.next_case();
            bytes += case.len() + OVERHEAD;
            batch.push(case);
        }
        batch
    }

    /// After a batch: a probe, and a wait for the one before the last (so at most two batches
    /// are in the target's buffer); without a probe, a wait for the target's queue to drain.
    /// False: no answer within the hang time (or a refusal), a suspicion.
    fn pace(&mut self) -> Result<bool, Error> {
        let Some(probe) = self.probe.clone() else {
            return self.drain_queue();
        };
        if self.wire.ask(&probe).is_err() {
            return Ok(false);
        }
        self.log.push(probe);
        self.in_flight += 1;
        while self.in_flight > WINDOW - 1 {
            if !self.answered()? {
                return Ok(false);
            }
            self.in_flight -= 1;
        }
        Ok(true)
    }

    /// Waits for the answer to the oldest probe in flight.
    fn answered(&mut self) -> Result<bool, Error> {
        let child = self.child.clone();
        match self
            .wire
            .answer(self.cfg.hang, || child.as_ref().is_some_and(|c| !c.alive()))
        {
            Ok(answered) => Ok(answered),
            Err(Fault::Refused) => Ok(false),
            Err(Fault::Io(e)) => Err(Error::Failed(format!("fuzz: {e}"))),
        }
    }

    /// Without a probe: waits (up to the hang time) until the target has read all but
    /// [`QUEUED`] bytes, when its socket can be seen here.
    fn drain_queue(&mut self) -> Result<bool, Error> {
        let end = Instant::now() + self.cfg.hang;
        while let Some(b) = self.backlog() {
            if b.queued <= QUEUED {
                return Ok(true);
            }
            if Instant::now() >= end || self.process_verdict().is_some() {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        Ok(true)
    }

    /// Every `every` cases: the probes all answered and the script's `alive` true; what was
    /// sent before is then known to be harmless.
    fn checkpoint(&mut self) -> Result<bool, Error> {
        while self.in_flight > 0 {
            if !self.answered()? {
                return Ok(false);
            }
            self.in_flight -= 1;
        }
        match self.hooks.alive() {
            Some(Ok(true)) => {}
            Some(_) => return Ok(false),
            // Neither a probe nor `alive`: the port still bound is all there is to ask.
            None if self.probe.is_none() && !self.bound() => return Ok(false),
            None => {}
        }
        self.count_drops();
        self.log.clear();
        Ok(true)
    }

    /// Something looked wrong: confirm it, and if it is a crash, pin, minimize and report it.
    fn suspicion(&mut self) -> Result<Flow, Error> {
        self.in_flight = 0;
        let confirmed = self.confirm();
        let Some(verdict) = confirmed.map_err(|h| self.halted(h))? else {
            // A false alarm (a probe lost on the way): go on where it was.
            self.wire
                .reopen()
                .map_err(|e| Error::Failed(format!("fuzz: {e}")))?;
            return Ok(Flow::Go);
        };
        self.on_crash(verdict)
    }

    pub(super) fn backlog(&self) -> Option<ready::Backlog> {
        ready::backlog(self.target())
    }

    pub(super) fn target(&self) -> Target {
        Target {
            ip: Some(self.cfg.target.ip()),
            port: self.cfg.target.port(),
        }
    }

    pub(super) fn bound(&self) -> bool {
        ready::is_bound(self.target())
    }

    /// Cases that reached the target: those sent less those its full buffer dropped.
    pub(super) fn count_drops(&mut self) {
        self.report.probes = self.wire.asked();
        if let (Some(base), Some(now)) = (self.drops_base, self.backlog()) {
            self.report.dropped = self.drops_banked + now.drops.saturating_sub(base);
        }
        self.report.cases = self.report.sent.saturating_sub(self.report.dropped);
    }

    /// Before a restart: what the old socket dropped stays counted.
    pub(super) fn bank_drops(&mut self) {
        self.count_drops();
        self.drops_banked = self.report.dropped;
        self.drops_base = None;
    }

    fn finish_in_place(&mut self) {
        self.count_drops();
    }

    fn finish(&mut self) -> Report {
        self.finish_in_place();
        self.report.clone()
    }

    /// A halt as the run's error, with what was found so far.
    pub(super) fn halted(&mut self, h: Halt) -> Error {
        match h {
            Halt::Stopped(r) => Error::Stopped(r, Box::new(self.finish())),
            Halt::Failed(m) => Error::Failed(m),
        }
    }
}

/// Answers to "are you alive?".
pub(super) enum Answer {
    Yes,
    No(String),
    Refused,
}

impl Answer {
    pub(super) fn describe(&self) -> String {
        match self {
            Answer::Yes => "it answers".into(),
            Answer::No(why) => why.clone(),
            Answer::Refused => "the port refused: nothing is bound there".into(),
        }
    }
}

fn fault_error(cfg: &Config, f: Fault) -> Error {
    match f {
        Fault::Refused => Error::Failed(format!(
            "fuzz: {} refused (ICMP port unreachable): nothing is bound there",
            cfg.target
        )),
        Fault::Io(e) => Error::Failed(format!("fuzz: {}: {e}", cfg.target)),
    }
}
