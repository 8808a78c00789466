//! The service under test as a child process: [`child`] starts and stops one (TERM, then KILL
//! after a grace period), [`registry`] keeps a run's children so none outlives it, [`ready`]
//! tells when a UDP socket is bound (Linux `/proc/net/udp`). Knows nothing of Rhai.

pub mod child;
pub mod ready;
pub mod registry;

pub use child::{Child, ProcessError, code_of};
pub use registry::Children;
