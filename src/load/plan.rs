//! What a load run is asked to do, checked before the first send: the target, the schedule,
//! the requests and how replies pair with them. A bad option is an [`Invalid`] naming it.

use std::net::SocketAddr;
use std::time::Duration;

use super::pairing::{Pairing, Stamp};
use super::schedule::Schedule;
use crate::net::{MAX_IPV4_PAYLOAD, MAX_IPV6_PAYLOAD};

/// What to send, where, how fast, and how to pair.
pub struct Plan {
    pub target: SocketAddr,
    pub schedule: Schedule,
    pub clients: usize,
    pub pairing: Pairing,
    pub timeout: Duration,
    /// Record one request in `sample` (by index in the whole run) with its reply; 0: none.
    pub sample: u64,
    pub requests: Requests,
    /// Ask `Hooks::check` of each reply in time.
    pub check: bool,
}

pub enum Requests {
    /// The same blob every time.
    One(Vec<u8>),
    /// Request `i` is `turns[i % len]`.
    Turns(Vec<Vec<u8>>),
    /// Request `i` is what `Hooks::request` makes.
    Made,
}

/// A bad option: its name (as a script's map spells it) and what is wrong, to be read after
/// it: `rate must be above 0 …`.
#[derive(Clone, Debug, PartialEq)]
pub struct Invalid {
    pub option: &'static str,
    pub message: String,
}

impl Invalid {
    /// As the command line says it: `--rate must be above 0 …` (the request has no flag).
    pub fn flag(&self) -> String {
        match self.option {
            "request" => format!("the request {}", self.message),
            option => format!("--{option} {}", self.message),
        }
    }

    /// As a script's map says it: `rate must be above 0 …`.
    pub fn key(&self) -> String {
        format!("{} {}", self.option, self.message)
    }
}

pub fn invalid(option: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        option,
        message: message.into(),
    }
}

impl Plan {
    /// What can be known before the first send: sizes, stamps, ids enough for what is in
    /// flight. `constant`: every request is the same blob.
    pub fn check(&self, constant: bool) -> Result<(), Invalid> {
        let plan = self;
        let limit = if plan.target.is_ipv6() {
            MAX_IPV6_PAYLOAD
        } else {
            MAX_IPV4_PAYLOAD
        };
        let templates: Vec<&Vec<u8>> = match &plan.requests {
            Requests::One(one) => vec![one],
            Requests::Turns(turns) => turns.iter().collect(),
            Requests::Made => vec![],
        };
        for t in templates {
            if t.len() > limit {
                return Err(invalid(
                    "request",
                    format!("of {} bytes is over the UDP limit of {limit}", t.len()),
                ));
            }
            let stamp = Stamp { k: 0, i: 0, tag: 0 };
            plan.pairing
                .stamp(&mut t.clone(), stamp, constant)
                .map_err(|e| invalid("pair", e.trim_start_matches("pair ").to_string()))?;
        }
        let secs = plan.timeout.as_secs_f64();
        let per_process = plan.schedule.rate() / plan.schedule.segment().of as f64;
        if plan.pairing.per_client_ids() {
            let per_socket = per_process * secs / plan.clients as f64;
            if per_socket >= 32_768.0 {
                return Err(invalid(
                    "clients",
                    format!(
                        "are too few for pair {}: {per_socket:.0} requests per socket could be in \
                         flight at once (rate × timeout / clients), more than its 16-bit ids tell \
                         apart (32,768): use more clients or a shorter timeout",
                        plan.pairing
                    ),
                ));
            }
        }
        if let Some(span) = plan.pairing.global_span(constant)
            && plan.schedule.rate() * secs >= span as f64 / 2.0
        {
            return Err(invalid(
                "pair",
                format!(
                    "{}: {:.0} requests could be in flight at once (rate × timeout), more than its \
                     bytes tell apart ({}): widen the range or shorten the timeout",
                    plan.pairing,
                    plan.schedule.rate() * secs,
                    span / 2
                ),
            ));
        }
        Ok(())
    }
}
