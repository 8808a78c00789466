//! Every thread udpsh starts is made here. The OS may refuse one (no room for its stack, a
//! thread limit): that is an error the caller reports — a script sees kind `thread` — never
//! a panic, as `std::thread::spawn` would make it.

use std::fmt;
use std::io;
use std::thread::{Builder, JoinHandle, Scope, ScopedJoinHandle};

/// The OS refused a thread.
#[derive(Debug)]
pub struct NoThread {
    name: String,
    error: io::Error,
}

impl fmt::Display for NoThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot start a thread ({}): {}", self.name, self.error)
    }
}

impl std::error::Error for NoThread {}

impl From<NoThread> for io::Error {
    fn from(e: NoThread) -> io::Error {
        io::Error::other(e)
    }
}

/// Whether an I/O error is a refused thread (for callers that pass errors on as `io::Error`).
pub fn is_no_thread(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<NoThread>())
}

fn builder(name: &str, stack: Option<usize>) -> Builder {
    let builder = Builder::new().name(name.to_string());
    match stack {
        Some(bytes) => builder.stack_size(bytes),
        None => builder,
    }
}

/// Starts `work` on a thread named `name`, with `stack` bytes of stack (the default if `None`).
pub fn start<T, F>(name: &str, stack: Option<usize>, work: F) -> Result<JoinHandle<T>, NoThread>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    builder(name, stack).spawn(work).map_err(|error| NoThread {
        name: name.to_string(),
        error,
    })
}

/// [`start`] within a scope: the thread may borrow what the scope outlives.
pub fn start_scoped<'scope, 'env, T, F>(
    scope: &'scope Scope<'scope, 'env>,
    name: &str,
    stack: Option<usize>,
    work: F,
) -> Result<ScopedJoinHandle<'scope, T>, NoThread>
where
    F: FnOnce() -> T + Send + 'scope,
    T: Send + 'scope,
{
    builder(name, stack)
        .spawn_scoped(scope, work)
        .map_err(|error| NoThread {
            name: name.to_string(),
            error,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_thread_is_an_error_naming_it() {
        // More stack than any address space holds.
        let e = start("huge", Some(usize::MAX - 4096), || ()).unwrap_err();
        assert!(
            e.to_string().starts_with("cannot start a thread (huge): "),
            "{e}"
        );
        assert!(is_no_thread(&io::Error::from(e)));
        assert_eq!(start("ok", None, || 7).unwrap().join().unwrap(), 7);
    }
}
