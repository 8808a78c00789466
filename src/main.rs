fn main() {
    // Like cat and grep: when the reader of our output goes away (`| head -1`), end quietly
    // instead of failing on every later print. Rust ignores SIGPIPE by default.
    // SAFETY: setting a signal's disposition to its default, before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // Scripts run on this thread: it gets the stack deep data needs (see SCRIPT_STACK).
    let run = || udpsh::run(std::env::args_os());
    let code = udpsh::threads::start("udpsh", Some(udpsh::api::SCRIPT_STACK), run).map_or_else(
        |_| run(),
        |t| t.join().unwrap_or(udpsh::outcome::exit::ERROR),
    );
    std::process::exit(code);
}
