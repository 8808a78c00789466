//! The options of a run as asked (by a script's map, by flags, or both: flags win), their
//! defaults, and the checks that turn them into a [`Plan`]. An error names the option.

use std::net::SocketAddr;
use std::time::Duration;

use super::pairing::Pairing;
use super::plan::{Invalid, Plan, Requests, invalid};
use super::schedule::{Schedule, Segment};

pub const DEFAULT_RATE: f64 = 1000.0;
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
pub const DEFAULT_CLIENTS: usize = 8;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
pub const DEFAULT_SAMPLE: u64 = 1000;
pub const MAX_CLIENTS: usize = 1024;
pub const MAX_RATE: f64 = 10_000_000.0;
/// A timeout longer than the histograms reach is no use.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// What was asked; `None`: not said.
#[derive(Clone, Debug, Default)]
pub struct Asked {
    pub rate: Option<f64>,
    pub duration: Option<Duration>,
    pub count: Option<u64>,
    pub clients: Option<usize>,
    pub pair: Option<Pairing>,
    pub timeout: Option<Duration>,
    pub warmup: Option<Duration>,
    pub sample: Option<u64>,
    pub segment: Option<Segment>,
}

impl Asked {
    /// These options, and `under`'s where these say nothing.
    pub fn over(self, under: Asked) -> Asked {
        // Giving a length here replaces both of the other's.
        let length_here = self.duration.is_some() || self.count.is_some();
        Asked {
            rate: self.rate.or(under.rate),
            duration: if length_here {
                self.duration
            } else {
                under.duration
            },
            count: if length_here { self.count } else { under.count },
            clients: self.clients.or(under.clients),
            pair: self.pair.or(under.pair),
            timeout: self.timeout.or(under.timeout),
            warmup: self.warmup.or(under.warmup),
            sample: self.sample.or(under.sample),
            segment: self.segment.or(under.segment),
        }
    }

    /// The plan, with the defaults for what was not said; `pair` defaults to `default_pair`.
    pub fn plan(
        &self,
        target: SocketAddr,
        requests: Requests,
        check: bool,
        default_pair: Pairing,
    ) -> Result<Plan, Invalid> {
        let rate = self.rate.unwrap_or(DEFAULT_RATE);
        if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE) {
            return Err(invalid(
                "rate",
                format!("must be above 0 and at most 10M requests/s, not {rate}"),
            ));
        }
        let total = match (self.duration, self.count) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "count",
                    "cannot go with a duration: give one of them",
                ));
            }
            (_, Some(n)) => n,
            (d, None) => (d.unwrap_or(DEFAULT_DURATION).as_secs_f64() * rate).round() as u64,
        };
        if total == 0 {
            return Err(invalid(
                if self.count.is_some() {
                    "count"
                } else {
                    "duration"
                },
                "would have the run send no request",
            ));
        }
        let warm = match self.warmup {
            Some(w) => (w.as_secs_f64() * rate).ceil() as u64,
            None => 0,
        };
        if warm >= total {
            return Err(invalid(
                "warmup",
                "must be shorter than the run (it is its first part)",
            ));
        }
        let clients = self.clients.unwrap_or(DEFAULT_CLIENTS);
        if !(1..=MAX_CLIENTS).contains(&clients) {
            return Err(invalid(
                "clients",
                format!("must be 1 to {MAX_CLIENTS}, not {clients}"),
            ));
        }
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() || timeout > MAX_TIMEOUT {
            return Err(invalid(
                "timeout",
                "must be above 0 and at most 60 s (the histograms' reach)",
            ));
        }
        let segment = self.segment.unwrap_or(Segment::WHOLE);
        Ok(Plan {
            target,
            schedule: Schedule::new(rate, total, warm, segment),
            clients,
            pairing: self.pair.clone().unwrap_or(default_pair),
            timeout,
            sample: self.sample.unwrap_or(DEFAULT_SAMPLE),
            requests,
            check,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> SocketAddr {
        "127.0.0.1:53".parse().unwrap()
    }

    fn plan(asked: Asked) -> Result<Plan, Invalid> {
        asked.plan(target(), Requests::One(vec![0; 12]), false, Pairing::Order)
    }

    #[test]
    fn defaults_are_ten_seconds_at_a_thousand() {
        let p = plan(Asked::default()).unwrap();
        assert_eq!(p.schedule.total(), 10_000);
        assert_eq!((p.clients, p.timeout, p.sample), (8, DEFAULT_TIMEOUT, 1000));
    }

    #[test]
    fn flags_win_over_the_map_and_a_length_replaces_both() {
        let map = Asked {
            rate: Some(50.0),
            count: Some(7),
            clients: Some(2),
            ..Asked::default()
        };
        let flags = Asked {
            duration: Some(Duration::from_secs(2)),
            clients: Some(4),
            ..Asked::default()
        };
        let p = plan(flags.over(map)).unwrap();
        assert_eq!((p.schedule.total(), p.clients), (100, 4));
    }

    #[test]
    fn bad_options_are_named() {
        let bad = |a: Asked| plan(a).err().unwrap().option;
        assert_eq!(
            bad(Asked {
                rate: Some(0.0),
                ..Default::default()
            }),
            "rate"
        );
        assert_eq!(
            bad(Asked {
                count: Some(3),
                duration: Some(Duration::from_secs(1)),
                ..Default::default()
            }),
            "count"
        );
        assert_eq!(
            bad(Asked {
                clients: Some(0),
                ..Default::default()
            }),
            "clients"
        );
        assert_eq!(
            bad(Asked {
                timeout: Some(Duration::ZERO),
                ..Default::default()
            }),
            "timeout"
        );
        assert_eq!(
            bad(Asked {
                warmup: Some(Duration::from_secs(10)),
                ..Default::default()
            }),
            "warmup"
        );
    }
}
