//! The service under test as a child process: [`child`] starts and stops one (TERM, then KILL
//! after a grace period), [`ready`] tells when a UDP socket is bound (Linux `/proc/net/udp`).
//! A run keeps its children in its background registry (`api::background`), so none outlives
//! it; [`orphans`] catches what they fork into the background. Knows nothing of Rhai.

pub mod child;
pub mod orphans;
pub mod ready;

pub use child::{Child, GRACE, ProcessError, code_of};
