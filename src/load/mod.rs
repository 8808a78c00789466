//! Load with latency: `load()` in scripts and `udpsh load` on the command line, one engine.
//! Open loop — request `i` is due at `start + i / rate` and leaves then whether or not replies
//! came — with each reply paired to its request, and two HDR histograms: `latency` from each
//! request's due time (what a user of the service waits: wrk2's correction for coordinated
//! omission) and `service` from its actual send. No Rhai here: a script's closures come in
//! through [`engine::Hooks`], and so does the recording of the sample.
//!
//! - [`plan`]: what a run is asked, checked; [`schedule`]: due times from a given time (no
//!   clock), segments `I/N`.
//! - [`pairing`]: ids written into each request, and read back from replies.
//! - [`table`]: the requests in flight, bounded by rate × timeout.
//! - [`books`]: what each send, reply, error and timeout does to the counts (no clock).
//! - [`histogram`], [`timeline`], [`result`]: the figures, `--json`, and the merge.
//! - [`io`], [`engine`]: the sockets and the loop around the rest.
//! - [`settings`]: options as asked, defaults, checks; [`record`]: the sample into a capture.
//! - [`render`], [`command`]: what a person reads, and `udpsh load`.

pub mod books;
pub mod command;
pub mod engine;
pub mod histogram;
mod io;
pub mod pairing;
pub mod plan;
pub mod record;
pub mod render;
pub mod result;
pub mod schedule;
pub mod settings;
pub mod table;
pub mod timeline;

pub use engine::{Failure, Hooks, Progress, Reply, Sampled, Way, run};
pub use pairing::Pairing;
pub use plan::{Invalid, Plan, Requests};
pub use result::{Counts, Report};
pub use schedule::{Schedule, Segment};
