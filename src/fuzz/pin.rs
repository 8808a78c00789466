//! Pinning and minimizing a crash: the datagrams sent since the last good check are replayed
//! from a fresh start, checking after each, to find the one after which it crashes; then ddmin
//! keeps only the earlier datagrams it needs (a crash may need a sequence), shrinks the bytes
//! of each, and turns the bytes that do not matter into zeros. Every trial starts the program
//! afresh, through [`Trial`].

use super::minimize::ddmin;
use super::oracle::Verdict;
use crate::stop::StopReason;

/// Why pinning ended early.
#[derive(Debug)]
pub enum Halt {
    Stopped(StopReason),
    Failed(String),
}

/// Running the program under test from a fresh start.
pub trait Trial {
    /// Starts it afresh, sends `sequence`, and tells how it crashed (`None`: it did not).
    fn run(&mut self, sequence: &[Vec<u8>]) -> Result<Option<Verdict>, Halt>;
    /// Starts it afresh and sends `window` one datagram at a time, checking after each: the
    /// index of the first after which it crashed, and how.
    fn replay(&mut self, window: &[Vec<u8>]) -> Result<Option<(usize, Verdict)>, Halt>;
}

/// A pinned crash: the minimized sequence and the crash it makes.
#[derive(Debug, PartialEq)]
pub struct Pinned {
    pub sequence: Vec<Vec<u8>>,
    pub verdict: Verdict,
}

/// Pins a crash within `window`, then minimizes it with at most `trials` runs. The crash the
/// replay makes is the one minimized (usually the one seen; if another comes first, it is as
/// real, and it can be made again). `None`: replaying the window did not crash the program.
pub fn pin(
    trial: &mut impl Trial,
    window: &[Vec<u8>],
    trials: u32,
) -> Result<Option<Pinned>, Halt> {
    let Some((at, found)) = trial.replay(window)? else {
        return Ok(None);
    };
    let last = window[at].clone();
    let mut budget = Budget {
        left: trials,
        halted: None,
    };
    // Most crashes need their last datagram alone: one trial says so.
    let alone = crashes_like(&mut budget, trial, std::slice::from_ref(&last), &found);
    let before = match alone {
        Some(true) => Vec::new(),
        _ => ddmin(window[..at].to_vec(), |prefix| {
            let mut seq = prefix.to_vec();
            seq.push(last.clone());
            crashes_like(&mut budget, trial, &seq, &found)
        }),
    };
    let mut sequence = before;
    sequence.push(last);
    // Then the bytes of each datagram, the last (the input) first.
    for i in (0..sequence.len()).rev() {
        let shrunk = ddmin(sequence[i].clone(), |bytes| {
            let mut seq = sequence.clone();
            seq[i] = bytes.to_vec();
            crashes_like(&mut budget, trial, &seq, &found)
        });
        sequence[i] = shrunk;
    }
    // Last, as afl-tmin does, the bytes that do not matter become zero (or '0'), so that two
    // inputs of the same crash that ddmin left with different filler minimize alike.
    for i in (0..sequence.len()).rev() {
        for j in 0..sequence[i].len() {
            for filler in [0u8, b'0'] {
                if sequence[i][j] == filler {
                    break;
                }
                let mut seq = sequence.clone();
                seq[i][j] = filler;
                if crashes_like(&mut budget, trial, &seq, &found) == Some(true) {
                    sequence = seq;
                    break;
                }
            }
        }
    }
    if let Some(halt) = budget.halted {
        return Err(halt);
    }
    Ok(Some(Pinned {
        sequence,
        verdict: found,
    }))
}

/// Whether `seq` makes the same crash as `found`; `None` when no trial may run.
fn crashes_like(
    budget: &mut Budget,
    trial: &mut impl Trial,
    seq: &[Vec<u8>],
    found: &Verdict,
) -> Option<bool> {
    budget
        .try_once(|| trial.run(seq))
        .map(|v| v.is_some_and(|v| v.same(found)))
}

/// Trials left, and why they stopped if they did.
struct Budget {
    left: u32,
    halted: Option<Halt>,
}

impl Budget {
    /// One trial, if any are left and nothing stopped them; `None` otherwise.
    fn try_once(
        &mut self,
        run: impl FnOnce() -> Result<Option<Verdict>, Halt>,
    ) -> Option<Option<Verdict>> {
        if self.left == 0 || self.halted.is_some() {
            return None;
        }
        self.left -= 1;
        match run() {
            Ok(v) => Some(v),
            Err(h) => {
                self.halted = Some(h);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::oracle::Kind;

    /// A program that crashes on a datagram containing "X" after one that was "arm".
    struct Armed {
        runs: u32,
    }

    fn crashed(seq: &[Vec<u8>]) -> Option<usize> {
        let mut armed = false;
        for (i, d) in seq.iter().enumerate() {
            if armed && d.contains(&b'X') {
                return Some(i);
            }
            armed |= d == b"arm";
        }
        None
    }

    fn segv() -> Verdict {
        Verdict {
            kind: Kind::Signal,
            detail: "SIGSEGV".into(),
            place: "SIGSEGV".into(),
            report: None,
        }
    }

    impl Trial for Armed {
        fn run(&mut self, seq: &[Vec<u8>]) -> Result<Option<Verdict>, Halt> {
            self.runs += 1;
            Ok(crashed(seq).map(|_| segv()))
        }
        fn replay(&mut self, window: &[Vec<u8>]) -> Result<Option<(usize, Verdict)>, Halt> {
            Ok(crashed(window).map(|i| (i, segv())))
        }
    }

    #[test]
    fn pins_a_two_datagram_sequence_and_shrinks_its_bytes() {
        let mut window: Vec<Vec<u8>> = (0..300)
            .map(|i| format!("noise {i}").into_bytes())
            .collect();
        window[40] = b"arm".to_vec();
        window[250] = b"abcXdef".to_vec();
        let mut t = Armed { runs: 0 };
        let p = pin(&mut t, &window, 400).unwrap().unwrap();
        assert_eq!(p.sequence, vec![b"arm".to_vec(), b"X".to_vec()]);
        // Filler that does not matter becomes zero.
        let window = vec![b"abc".to_vec()];
        struct Len3 {}
        impl Trial for Len3 {
            fn run(&mut self, seq: &[Vec<u8>]) -> Result<Option<Verdict>, Halt> {
                Ok((seq.last().is_some_and(|d| d.len() == 3)).then(segv))
            }
            fn replay(&mut self, w: &[Vec<u8>]) -> Result<Option<(usize, Verdict)>, Halt> {
                Ok(w.iter().position(|d| d.len() == 3).map(|i| (i, segv())))
            }
        }
        let p = pin(&mut Len3 {}, &window, 100).unwrap().unwrap();
        assert_eq!(p.sequence, vec![vec![0u8, 0, 0]]);
        assert!(t.runs < 150, "{} runs", t.runs);
    }

    #[test]
    fn a_crash_that_does_not_come_back_is_not_pinned() {
        let window = vec![b"quiet".to_vec()];
        let mut t = Armed { runs: 0 };
        assert_eq!(pin(&mut t, &window, 10).unwrap(), None);
    }

    #[test]
    fn a_spent_budget_still_gives_a_crashing_sequence() {
        let mut window: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8]).collect();
        window[10] = b"arm".to_vec();
        window[90] = b"XXXX".to_vec();
        let mut t = Armed { runs: 0 };
        let p = pin(&mut t, &window, 5).unwrap().unwrap();
        assert!(crashed(&p.sequence).is_some(), "{:?}", p.sequence);
        assert!(t.runs <= 5);
    }
}
