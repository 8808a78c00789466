//! A fluent driver for the `udpsh` binary (script files, inline scripts, `-e`, the REPL piped or
//! in a pty, inside a network namespace), the Python ports of the seed programs, and UDP peers
//! written in Rust — everything on loopback, every port picked by the OS.

#![allow(dead_code)]

use std::fmt::Display;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;

mod pty;
#[cfg(test)]
mod tests;

pub use pty::{COLOR_PROMPT, PROMPT, Repl};

/// Wall-clock limit that every `udpsh run` gets (`--timeout`), so a bug cannot hang CI.
pub const SCRIPT_TIMEOUT: &str = "10";
/// How long the test waits for any child process before killing it.
const CHILD_DEADLINE: Duration = Duration::from_secs(20);
/// How long a Rust peer waits for a datagram.
const PEER_TIMEOUT: Duration = Duration::from_secs(5);

/// The repository's root: scripts and fixtures are found from here.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo().join("fixtures").join(name)
}

pub fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("reading fixtures/{name}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// udpsh

/// One invocation of the binary, and the only way tests start it:
///
/// - a file: `Udpsh::run("scripts/chat_client.rhai").var("port", p)`;
/// - inline: `Udpsh::script("t.rhai", "...").file("data.bin", bytes)`, written into a temp
///   folder the builder owns (and that outlives the run), and run there;
/// - a one-liner: `Udpsh::eval("print(1)")`;
/// - any command line: `Udpsh::new(&["check", "scripts"])`;
/// - then `.output()`, `.spawn()`, `.pty()` (the REPL in a pseudo-terminal), optionally
///   `.in_netns(ns)` (inside a network namespace).
///
/// Every child has a deadline after which it is killed, so a bug cannot hang CI.
pub struct Udpsh {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    cwd: PathBuf,
    /// Set (`Some`) or removed (`None`), after `NO_COLOR=1`, so they may undo it.
    env: Vec<(String, Option<String>)>,
    /// The folder of inline scripts and files, made on first use.
    dir: Option<TempDir>,
    /// Index in `args` of the inline script's name (relative to `dir`).
    script: Option<usize>,
    netns: Option<String>,
    color: bool,
    deadline: Duration,
    /// In a process group of its own, which `Running::kill_group` kills whole.
    own_group: bool,
}

impl Udpsh {
    /// `udpsh run --timeout 10 PATH` (PATH relative to the repo root).
    pub fn run(path: &str) -> Self {
        Self::new(&["run", "--timeout", SCRIPT_TIMEOUT, path])
    }

    /// Any other command line, e.g. `Udpsh::new(&["check", "scripts"])`.
    pub fn new(args: &[&str]) -> Self {
        Udpsh {
            args: args.iter().map(|a| a.to_string()).collect(),
            stdin: None,
            cwd: repo().to_path_buf(),
            env: Vec::new(),
            dir: None,
            script: None,
            netns: None,
            color: false,
            deadline: CHILD_DEADLINE,
            own_group: false,
        }
    }

    /// `udpsh run --timeout 10 NAME`, NAME holding `source`, in the builder's temp folder,
    /// which is also the current directory (so `.file()`s beside it are found by name).
    pub fn script(name: &str, source: &str) -> Self {
        let mut udpsh = Self::run(name).file(name, source);
        udpsh.script = Some(3);
        udpsh.cwd = udpsh.folder().to_path_buf();
        udpsh
    }

    /// `udpsh --timeout 10 -e SOURCE`, from the repo root.
    pub fn eval(source: &str) -> Self {
        Self::new(&["--timeout", SCRIPT_TIMEOUT, "-e", source])
    }

    /// Writes `contents` to NAME (folders made as needed) in the builder's temp folder.
    pub fn file(mut self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("making {}: {e}", parent.display()));
        }
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        self
    }

    /// Where NAME is (or would be) in the builder's temp folder; the folder is made on first
    /// use and lives as long as what the builder starts, and the `Output` it leaves.
    pub fn path(&mut self, name: &str) -> PathBuf {
        self.folder().join(name)
    }

    fn folder(&mut self) -> &Path {
        self.dir
            .get_or_insert_with(|| tempfile::tempdir().expect("a temp folder"))
            .path()
    }

    /// `--var NAME=VALUE`.
    pub fn var(mut self, name: &str, value: impl Display) -> Self {
        self.args.push("--var".into());
        self.args.push(format!("{name}={value}"));
        self
    }

    pub fn arg(mut self, arg: impl Display) -> Self {
        self.args.push(arg.to_string());
        self
    }

    pub fn args<T: Display>(mut self, args: impl IntoIterator<Item = T>) -> Self {
        self.args.extend(args.into_iter().map(|a| a.to_string()));
        self
    }

    /// Replaces the `--timeout` the form put in (or adds one), and gives the child at least
    /// that plus ten seconds before the test kills it.
    pub fn timeout(mut self, secs: impl Display) -> Self {
        let secs = secs.to_string();
        match self.args.iter().position(|a| a == "--timeout") {
            Some(i) if i + 1 < self.args.len() => self.args[i + 1] = secs.clone(),
            _ => self.args.extend(["--timeout".to_string(), secs.clone()]),
        }
        if let Ok(s) = secs.parse::<f64>()
            && s.is_finite()
            && s > 0.0
        {
            self.deadline =
                CHILD_DEADLINE.max(Duration::from_secs_f64(s) + Duration::from_secs(10));
        }
        self
    }

    /// What the script reads with `input()`; without it stdin is empty.
    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.as_bytes().to_vec());
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.cwd = dir.to_path_buf();
        self
    }

    pub fn env(mut self, key: &str, value: impl Display) -> Self {
        self.env.push((key.to_string(), Some(value.to_string())));
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.env.push((key.to_string(), None));
        self
    }

    /// A fresh user in `dir`: HOME there (history, state), no XDG_STATE_HOME, run from there.
    pub fn home(self, dir: &Path) -> Self {
        self.env("HOME", dir.display())
            .env_remove("XDG_STATE_HOME")
            .current_dir(dir)
    }

    /// Without NO_COLOR, so it colours what goes to a terminal (see `.pty()`).
    pub fn color(mut self) -> Self {
        self.color = true;
        self.env_remove("NO_COLOR")
    }

    /// Runs it inside network namespace `ns` (`ip netns exec NS udpsh ...`, the same process).
    pub fn in_netns(mut self, ns: &str) -> Self {
        self.netns = Some(ns.to_string());
        self
    }

    /// Starts it in a process group of its own (as a shell's job), for `kill_group()`.
    pub fn own_process_group(mut self) -> Self {
        self.own_group = true;
        self
    }

    /// Starts it; the test talks to it, then calls `finish()`.
    pub fn spawn(self) -> Running {
        let (cmd, label) = self.command();
        Running::start(cmd, label, self.stdin, self.deadline, self.dir)
    }

    /// Runs it to the end.
    pub fn output(self) -> Output {
        self.spawn().finish()
    }

    /// Starts it in a pseudo-terminal (TERM=xterm) and waits for its first prompt: for the
    /// REPL, `Udpsh::new(&[]).home(dir).pty()`.
    pub fn pty(mut self) -> Repl {
        assert!(
            self.stdin.is_none(),
            "a pty has no stdin to fill: type with Repl::line"
        );
        self.env.insert(0, ("TERM".into(), Some("xterm".into())));
        let (cmd, label) = self.command();
        Repl::spawn(cmd, &label, self.color, self.dir)
    }

    /// The one place that makes the binary's command line.
    fn command(&self) -> (Command, String) {
        let mut args = self.args.clone();
        if let (Some(i), Some(dir)) = (self.script, &self.dir)
            && self.cwd != dir.path()
        {
            args[i] = dir.path().join(&args[i]).display().to_string();
        }
        let udpsh = env!("CARGO_BIN_EXE_udpsh");
        let mut cmd = match &self.netns {
            None => Command::new(udpsh),
            Some(ns) => {
                let mut ip = Command::new("ip");
                ip.args(["netns", "exec", ns, udpsh]);
                ip
            }
        };
        cmd.args(&args).current_dir(&self.cwd).env("NO_COLOR", "1");
        if self.own_group {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        for (key, value) in &self.env {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        let prefix = self
            .netns
            .as_ref()
            .map_or(String::new(), |ns| format!("ip netns exec {ns} "));
        (cmd, format!("{prefix}udpsh {}", args.join(" ")))
    }
}

// ---------------------------------------------------------------------------------------------
// Python seed ports

/// `python3` if this machine has it. Tests that need it print a note and pass without it.
pub fn python() -> Option<&'static str> {
    static FOUND: OnceLock<bool> = OnceLock::new();
    let found = *FOUND.get_or_init(|| {
        Command::new("python3")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    });
    found.then_some("python3")
}

/// Returns from the test (passing) with a note when python3 is missing.
#[macro_export]
macro_rules! require_python {
    () => {
        if $crate::support::python().is_none() {
            eprintln!("note: python3 not found, skipping the seed-program half of this test");
            return;
        }
    };
}

/// One of the seed programs ported to Python 3: `Seed::new("chat_server.py").env("PORT", 0)`.
pub struct Seed {
    name: String,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    cwd: PathBuf,
}

impl Seed {
    pub fn new(name: &str) -> Self {
        Seed {
            name: name.to_string(),
            env: Vec::new(),
            stdin: None,
            cwd: repo().to_path_buf(),
        }
    }

    pub fn env(mut self, key: &str, value: impl Display) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.as_bytes().to_vec());
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.cwd = dir.to_path_buf();
        self
    }

    pub fn spawn(self) -> Running {
        let python = python().expect("python3 (use require_python!() first)");
        let script = repo().join("fixtures/seeds").join(&self.name);
        let mut cmd = Command::new(python);
        cmd.arg(&script)
            .current_dir(&self.cwd)
            .env("PYTHONIOENCODING", "utf-8");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let label = format!("{} python3 fixtures/seeds/{}", env.join(" "), self.name);
        Running::start(cmd, label, self.stdin, CHILD_DEADLINE, None)
    }

    pub fn output(self) -> Output {
        self.spawn().finish()
    }
}

// ---------------------------------------------------------------------------------------------
// A running child process

/// A child whose stdout and stderr are read as they come (so a server can announce its port),
/// killed at its deadline by `finish()`, and killed if still running when dropped.
pub struct Running {
    label: String,
    child: Child,
    started: Instant,
    deadline: Duration,
    stdout_chunks: Receiver<Vec<u8>>,
    stdout_seen: Vec<u8>,
    /// How much of `stdout_seen` `stdout_line()` and `wait_stdout()` have passed.
    stdout_read: usize,
    stdout: Option<JoinHandle<()>>,
    stderr_lines: Receiver<String>,
    stderr_seen: Vec<String>,
    stderr: Option<JoinHandle<()>>,
    dir: Option<TempDir>,
}

impl Running {
    fn start(
        mut cmd: Command,
        label: String,
        stdin: Option<Vec<u8>>,
        deadline: Duration,
        dir: Option<TempDir>,
    ) -> Running {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting `{label}`: {e}"));
        let mut pipe = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            // a thread, so a child that prints before it reads cannot block on us
            thread::spawn(move || {
                // a failed write means the child exited early; finish() reports that
                let _ = pipe.write_all(&bytes);
            });
        }
        let mut out = child.stdout.take().unwrap();
        let (tx, stdout_chunks) = mpsc::channel();
        let stdout = thread::spawn(move || {
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let err = child.stderr.take().unwrap();
        let (tx, stderr_lines) = mpsc::channel();
        let stderr = thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            label,
            child,
            started: Instant::now(),
            deadline,
            stdout_chunks,
            stdout_seen: Vec::new(),
            stdout_read: 0,
            stdout: Some(stdout),
            stderr_lines,
            stderr_seen: Vec::new(),
            stderr: Some(stderr),
            dir,
        }
    }

    /// Waits for a `PORT <n>` line on stderr (the Python servers print it when PORT=0).
    pub fn announced_port(&mut self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) => {
                    let port = line
                        .strip_prefix("PORT ")
                        .and_then(|p| p.trim().parse().ok());
                    self.stderr_seen.push(line);
                    if let Some(port) = port {
                        return port;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "`{}` announced no port; stderr so far:\n{}",
                        self.label,
                        self.stderr_seen.join("\n")
                    );
                }
            }
        }
    }

    /// The next line of stdout with its `\n` (as `BufRead::read_line`); panics if none comes
    /// before the deadline.
    pub fn stdout_line(&mut self) -> String {
        loop {
            let unread = &self.stdout_seen[self.stdout_read..];
            if let Some(i) = unread.iter().position(|&b| b == b'\n') {
                let line = String::from_utf8_lossy(&unread[..=i]).into_owned();
                self.stdout_read += i + 1;
                return line;
            }
            self.more_stdout("a line");
        }
    }

    /// Waits until stdout shows `text` (after what earlier waits passed); panics if it does not
    /// before the deadline.
    pub fn wait_stdout(&mut self, text: &str) {
        let needle = text.as_bytes();
        loop {
            let unread = &self.stdout_seen[self.stdout_read..];
            if let Some(i) = unread.windows(needle.len()).position(|w| w == needle) {
                self.stdout_read += i + needle.len();
                return;
            }
            self.more_stdout(&format!("{text:?}"));
        }
    }

    /// Takes the next piece of stdout; panics (killing the child) at the deadline or the end.
    fn more_stdout(&mut self, waiting_for: &str) {
        let left = self.deadline.saturating_sub(self.started.elapsed());
        match self.stdout_chunks.recv_timeout(left) {
            Ok(chunk) => self.stdout_seen.extend(chunk),
            Err(e) => {
                let _ = self.child.kill();
                panic!(
                    "`{}` printed no {waiting_for} ({e}); stdout so far:\n{}",
                    self.label,
                    String::from_utf8_lossy(&self.stdout_seen)
                );
            }
        }
    }

    /// Sends SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        self.signal(libc::SIGINT);
    }

    /// Sends a signal (SIGTERM: as CI cancels a job).
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) of our own child, not yet reaped (only finish() and kill() reap it).
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "signal {signal} to `{}`", self.label);
    }

    /// Ends it now (SIGKILL) and returns what it left.
    pub fn kill(mut self) -> Output {
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        self.collect(status)
    }

    /// Ends its whole process group now (SIGKILL to every process in it), as a job control
    /// or CI runner does; needs `own_process_group()`.
    pub fn kill_group(mut self) -> Output {
        // SAFETY: kill(2) of the group our child leads (it is not yet reaped).
        let rc = unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
        assert_eq!(rc, 0, "SIGKILL to the group of `{}`", self.label);
        let status = self.child.wait().ok();
        self.collect(status)
    }

    /// Waits for the process to end (killing it after a generous deadline).
    pub fn finish(mut self) -> Output {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the child") {
                break Some(status);
            }
            if self.started.elapsed() > self.deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(10));
        };
        self.collect(status)
    }

    /// What the ended child left; `None`: killed by the test.
    fn collect(&mut self, status: Option<ExitStatus>) -> Output {
        if let Some(reader) = self.stdout.take() {
            let _ = reader.join();
        }
        self.stdout_seen
            .extend(self.stdout_chunks.try_iter().flatten());
        if let Some(reader) = self.stderr.take() {
            let _ = reader.join();
        }
        self.stderr_seen.extend(self.stderr_lines.try_iter());
        Output {
            label: std::mem::take(&mut self.label),
            code: status.and_then(|s| s.code()),
            stdout: String::from_utf8_lossy(&self.stdout_seen).into_owned(),
            stderr: self.stderr_seen.join("\n"),
            elapsed: self.started.elapsed(),
            dir: self.dir.take(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a finished process left: exit code, stdout, stderr. Assertions chain and show it all.
pub struct Output {
    pub label: String,
    /// None: killed (by the test's deadline or a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The builder's temp folder, kept while the test reads what the run left there.
    dir: Option<TempDir>,
}

impl Output {
    /// Where NAME is in the builder's temp folder (see `Udpsh::script`, `Udpsh::path`).
    pub fn path(&self, name: &str) -> PathBuf {
        let dir = self.dir.as_ref().expect("a builder with a temp folder");
        dir.path().join(name)
    }

    /// Everything about the run, for an assertion's message.
    pub fn dump(&self) -> String {
        format!(
            "`{}` exited with {:?} after {:.2?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.label, self.code, self.elapsed, self.stdout, self.stderr
        )
    }

    pub fn code(self, expected: i32) -> Self {
        assert_eq!(
            self.code,
            Some(expected),
            "wrong exit code: {}",
            self.dump()
        );
        self
    }

    pub fn success(self) -> Self {
        self.code(0)
    }

    pub fn stdout_has(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}: {}",
            self.dump()
        );
        self
    }

    pub fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}: {}",
            self.dump()
        );
        self
    }

    /// The text appears in stdout or stderr (where a failure is reported is not our contract).
    pub fn output_has(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text) || self.stderr.contains(text),
            "output lacks {text:?}: {}",
            self.dump()
        );
        self
    }

    pub fn stdout_count(&self, text: &str) -> usize {
        self.stdout.matches(text).count()
    }
}

// ---------------------------------------------------------------------------------------------
// Ports

/// A UDP port that is free right now (the OS picks it; it is released at once). For scripts
/// that must be told their port: a server script binds it, the test then talks to it.
pub fn free_port() -> u16 {
    UdpSocket::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until some socket on this machine is bound to UDP `port`, i.e. until a server script
/// is ready to receive.
pub fn wait_bound(port: u16) {
    wait_sockets(port, 1);
}

/// Waits until `n` sockets are bound to UDP `port` (Linux: counted in /proc/net/udp and udp6).
/// Elsewhere, waits a fixed half second.
pub fn wait_sockets(port: u16, n: usize) {
    let tables = ["/proc/net/udp", "/proc/net/udp6"];
    if !Path::new(tables[0]).exists() {
        thread::sleep(Duration::from_millis(500));
        return;
    }
    let needle = format!(":{port:04X}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let bound: usize = tables
            .iter()
            .map(|t| {
                let table = std::fs::read_to_string(t).unwrap_or_default();
                table
                    .lines()
                    .skip(1)
                    .filter(|l| {
                        l.split_whitespace()
                            .nth(1)
                            .is_some_and(|a| a.ends_with(&needle))
                    })
                    .count()
            })
            .sum();
        if bound >= n {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!("fewer than {n} sockets bound to UDP port {port} after 10 s");
}

pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

// ---------------------------------------------------------------------------------------------
// Rust peers

/// A UDP socket of the test itself, on loopback, with a read timeout.
pub struct Peer {
    pub sock: UdpSocket,
}

impl Peer {
    /// Bound to 127.0.0.1 on a port the OS picks.
    pub fn new() -> Peer {
        Peer::bind(loopback(0))
    }

    pub fn bind(addr: SocketAddr) -> Peer {
        let sock = UdpSocket::bind(addr).unwrap_or_else(|e| panic!("binding {addr}: {e}"));
        sock.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        Peer { sock }
    }

    /// `n` sockets bound to 0.0.0.0 on one port with SO_REUSEADDR: each gets every broadcast
    /// sent to 127.255.255.255 on that port.
    pub fn reuse_group(n: usize) -> Vec<Peer> {
        use socket2::{Domain, Protocol, Socket, Type};
        let mut port = 0;
        (0..n)
            .map(|_| {
                let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
                s.set_reuse_address(true).unwrap();
                s.bind(&SocketAddr::from(([0, 0, 0, 0], port)).into())
                    .unwrap();
                let sock: UdpSocket = s.into();
                port = sock.local_addr().unwrap().port();
                sock.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
                Peer { sock }
            })
            .collect()
    }

    pub fn port(&self) -> u16 {
        self.sock.local_addr().unwrap().port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    /// The next datagram (whole, up to 65535 bytes) and its sender; panics after the timeout.
    pub fn recv(&self) -> (Vec<u8>, SocketAddr) {
        let mut buf = vec![0u8; 65535];
        let (n, from) = self
            .sock
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("peer {} got nothing: {e}", self.addr()));
        buf.truncate(n);
        (buf, from)
    }

    /// Nothing arrives within `window`.
    pub fn recv_nothing(&self, window: Duration) {
        self.sock.set_read_timeout(Some(window)).unwrap();
        let mut buf = [0u8; 2048];
        let got = self.sock.recv_from(&mut buf);
        self.sock.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        if let Ok((n, from)) = got {
            panic!(
                "unexpected datagram from {from}: {:?}",
                String::from_utf8_lossy(&buf[..n])
            );
        }
    }

    pub fn send_to(&self, data: impl AsRef<[u8]>, to: SocketAddr) {
        let data = data.as_ref();
        assert_eq!(self.sock.send_to(data, to).unwrap(), data.len());
    }

    /// Receives datagrams until `bye` (the upload protocol): the chunks, in order.
    pub fn recv_upload(&self) -> Vec<Vec<u8>> {
        let mut chunks = Vec::new();
        loop {
            let (data, _) = self.recv();
            if data == b"bye" {
                return chunks;
            }
            chunks.push(data);
        }
    }

    /// Sends `data` in `chunk`-byte datagrams, then `bye` (the upload protocol).
    pub fn send_upload(&self, data: &[u8], chunk: usize, to: SocketAddr) {
        for piece in data.chunks(chunk) {
            self.send_to(piece, to);
        }
        self.send_to(b"bye", to);
    }
}

/// Splits UTF-8 text in pieces of `n` characters, as the seed client's text-mode `f.read(1024)`.
pub fn char_chunks(text: &str, n: usize) -> Vec<Vec<u8>> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(n)
        .map(|c| c.iter().collect::<String>().into_bytes())
        .collect()
}

/// Durations change from run to run: `(0.01s)` → `(T)`, `in 0.53s` → `in T`.
pub fn without_times(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split(' ')
                .map(|w| {
                    let core = w.trim_start_matches('(').trim_end_matches([')', ',']);
                    let is_time = core.len() > 1
                        && core.ends_with('s')
                        && core[..core.len() - 1].parse::<f64>().is_ok();
                    if is_time {
                        w.replace(core, "T")
                    } else {
                        w.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .map(|l| l + "\n")
        .collect()
}

/// Compares with fixtures/golden/NAME; `UPDATE_GOLDEN=1 cargo test` rewrites it.
pub fn golden(name: &str, actual: &str) {
    let path = fixture(&format!("golden/{name}"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}
