//! `:help`: a signature, a sentence and an example for every function, method and field.

/// What a name is, which decides how it completes (`name(` or `name`) and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Function,
    SocketMethod,
    SocketProperty,
    DatagramField,
    DatagramMethod,
    ThreadMethod,
}

pub struct Entry {
    pub name: &'static str,
    pub kind: Kind,
    pub signature: &'static str,
    pub summary: &'static str,
    pub example: &'static str,
}

impl Entry {
    /// What is typed after `name(`, for the hint: `bufsize) → datagram` (the first form).
    pub fn params(&self) -> Option<String> {
        let first = self.signature.split(" / ").next()?;
        let after = &first[first.find('(')? + 1..];
        let after = after.split("   (").next().unwrap_or(after).trim_end();
        match self.signature.rsplit_once(" → ") {
            Some((_, ret)) if !after.contains(" → ") => Some(format!("{after} → {ret}")),
            _ => Some(after.to_string()),
        }
    }

    pub fn is_call(&self) -> bool {
        !matches!(self.kind, Kind::SocketProperty | Kind::DatagramField)
    }
}

const fn entry(
    name: &'static str,
    kind: Kind,
    signature: &'static str,
    summary: &'static str,
    example: &'static str,
) -> Entry {
    Entry {
        name,
        kind,
        signature,
        summary,
        example,
    }
}

use Kind::*;

pub const ENTRIES: &[Entry] = &[
    entry(
        "udp",
        Function,
        "udp() / udp(port) / udp(\"host:port\") / udp(host, port) → socket",
        "A UDP socket: unbound (the OS picks a port at the first send) or bound. IPv6 with \"[::1]:0\".",
        "let s = udp(\"127.0.0.1:0\");   // any free port\nlet server = udp(8888);         // 0.0.0.0:8888",
    ),
    entry(
        "var",
        Function,
        "var(name, default) → value",
        "A value given with --var NAME=VALUE, typed like the default; else the default.",
        "let port = var(\"port\", 8888);",
    ),
    entry(
        "sleep",
        Function,
        "sleep(seconds)",
        "Pauses; Ctrl-C cuts it short.",
        "sleep(0.5);",
    ),
    entry(
        "now",
        Function,
        "now() → float",
        "Seconds since 1970, with sub-microsecond precision: for timing a round trip.",
        "let t = now(); s.sendto(\"ping\", peer); s.recvfrom(); print(now() - t);",
    ),
    entry(
        "hex",
        Function,
        "hex(text) → blob",
        "Bytes from hex digits; spaces, colons, dashes and a 0x prefix are allowed.",
        "s.sendto(hex(\"de ad be ef\"), \"127.0.0.1:9000\");",
    ),
    entry(
        "to_hex",
        Function,
        "to_hex(blob_or_string) → string",
        "The bytes as lowercase hex digits.",
        "to_hex(d.data)   // \"48656c6c6f\"",
    ),
    entry(
        "hexdump",
        Function,
        "hexdump(blob_or_string) → string",
        "An offset / hex / ASCII dump (also d.hexdump() on a datagram).",
        "hexdump(d.data)",
    ),
    entry(
        "read_file",
        Function,
        "read_file(path) → blob",
        "A file's bytes, relative to the current directory.",
        "let data = read_file(\"fixtures/test.txt\");",
    ),
    entry(
        "write_file",
        Function,
        "write_file(path, data) → int",
        "Writes a string or blob to a file; returns the bytes written.",
        "write_file(\"out.bin\", d.data);",
    ),
    entry(
        "script_dir",
        Function,
        "script_dir() → string",
        "The running script's folder (\".\" in the REPL).",
        "read_file(script_dir() + \"/fixtures/test.txt\")",
    ),
    entry(
        "input",
        Function,
        "input() / input(prompt) → string or ()",
        "A line from stdin, like Python's input(); () at the end of input.",
        "let msg = input(\"message: \");",
    ),
    entry(
        "spawn",
        Function,
        "spawn(|| { ... }) / spawn(\"file.rhai\", #{vars}) → thread",
        "Runs a closure or another script on a thread of its own; join() waits for its result.",
        "let t = spawn(|| { let d = server.recvfrom(); d.text });\nclient.sendto(\"hi\", server.local_addr);\nt.join()",
    ),
    entry(
        "join",
        ThreadMethod,
        "thread.join() → value",
        "Waits for a spawned thread and returns its result (or raises its error).",
        "let t = spawn(|| 42); t.join()",
    ),
    entry(
        "assert",
        Function,
        "assert(condition, message)",
        "Fails with the message when the condition is false.",
        "assert(d.len > 0, \"empty datagram\");",
    ),
    entry(
        "assert_eq",
        Function,
        "assert_eq(actual, expected) / assert_eq(actual, expected, message)",
        "Fails, showing both values, when they differ; a blob equals the string of its bytes.",
        "assert_eq(d.text, \"你好\");",
    ),
    entry(
        "assert_ne",
        Function,
        "assert_ne(actual, unexpected)",
        "Fails when the values are equal.",
        "assert_ne(d.port, 0);",
    ),
    entry(
        "bind",
        SocketMethod,
        "s.bind(\"host:port\") / s.bind(host, port) / s.bind(port)",
        "Binds the socket, like Python's socket.bind.",
        "let s = udp(); s.bind(\"127.0.0.1:0\"); s.local_addr",
    ),
    entry(
        "local_addr",
        SocketProperty,
        "s.local_addr → string or ()",
        "The address the socket is bound to; () before its first bind or send.",
        "s.local_addr   // \"127.0.0.1:40312\"",
    ),
    entry(
        "port",
        SocketProperty,
        "s.port → int   /   d.port → int",
        "The socket's own port (0 if unbound), or the port a datagram came from.",
        "let peer = udp(0); peer.port",
    ),
    entry(
        "settimeout",
        SocketMethod,
        "s.settimeout(seconds) / s.settimeout(())",
        "How long recvfrom waits before raising a timeout error; () blocks forever (the default).",
        "s.settimeout(2.5);\ntry { s.recvfrom() } catch (e) { print(e.kind) }   // timeout",
    ),
    entry(
        "gettimeout",
        SocketMethod,
        "s.gettimeout() → float or ()",
        "The timeout set with settimeout, in seconds.",
        "s.gettimeout()",
    ),
    entry(
        "setbroadcast",
        SocketMethod,
        "s.setbroadcast(on)",
        "SO_BROADCAST: needed to send to a broadcast address.",
        "s.setbroadcast(true);",
    ),
    entry(
        "setreuse",
        SocketMethod,
        "s.setreuse(on)",
        "SO_REUSEADDR and SO_REUSEPORT, before bind: several sockets on one port.",
        "let s = udp(); s.setreuse(true); s.bind(7788);",
    ),
    entry(
        "sendto",
        SocketMethod,
        "s.sendto(data, \"host:port\") / s.sendto(data, host, port) → int",
        "Sends one datagram (a string as UTF-8, or a blob); returns the bytes sent.",
        "s.sendto(\"Hello\", \"127.0.0.1:8888\");\ns.sendto(hex(\"01 02\"), \"127.0.0.1\", 8888);",
    ),
    entry(
        "broadcast",
        SocketMethod,
        "s.broadcast(data, port) / s.broadcast(data, host, port) → int",
        "Sets SO_BROADCAST and sends to 255.255.255.255 (or the given broadcast address).",
        "s.broadcast(\"Hi\", \"127.255.255.255\", 7788);",
    ),
    entry(
        "recvfrom",
        SocketMethod,
        "s.recvfrom(bufsize) / s.recvfrom() → datagram",
        "Waits for one datagram, up to the socket's timeout. A datagram longer than bufsize is cut, and d.truncated says so. Ctrl-C stops the wait.",
        "let d = s.recvfrom(1024);\nprint(d.text + \" from \" + d.addr);",
    ),
    entry(
        "recv",
        SocketMethod,
        "s.recv(bufsize) → blob",
        "Like recvfrom, but only the data.",
        "let data = s.recv(1024);",
    ),
    entry(
        "collect",
        SocketMethod,
        "s.collect(seconds) / s.collect(#{count: n, timeout: seconds}) → array",
        "Every datagram that arrives within the window (or until count of them).",
        "let replies = s.collect(2.0);\nreplies.len()",
    ),
    entry(
        "blast",
        SocketMethod,
        "s.blast(data, \"host:port\", count) / s.blast(data, addr, count, #{rate, bps, sample, batch}) → map",
        "Sends count copies from native code in batches (sendmmsg), as fast as the kernel takes them or paced by rate (datagrams/s) or bps; returns #{count, bytes, seconds, rate, bps, recorded}.",
        "s.blast(\"x\", \"127.0.0.1:9000\", 10000, #{rate: 5000})",
    ),
    entry(
        "drops",
        SocketProperty,
        "s.drops → int",
        "How many datagrams the kernel dropped at this socket because its receive buffer was full (counted once collect has run).",
        "let all = s.collect(2.0); s.drops",
    ),
    entry(
        "close",
        SocketMethod,
        "s.close()",
        "Closes the socket; later calls on it fail.",
        "s.close();",
    ),
    entry(
        "watch",
        SocketMethod,
        "s.watch()   (REPL only; also :watch s)",
        "Prints every datagram the socket receives above the prompt, like nc -u -l, while you type. A line you run has the socket to itself.",
        "let s = udp(\"127.0.0.1:9000\"); s.watch();",
    ),
    entry(
        "unwatch",
        SocketMethod,
        "s.unwatch()   (REPL only; also :unwatch s)",
        "Stops watching the socket.",
        "s.unwatch();",
    ),
    entry(
        "data",
        DatagramField,
        "d.data → blob   (also d[0])",
        "The payload bytes.",
        "d.data",
    ),
    entry(
        "text",
        DatagramField,
        "d.text → string",
        "The payload as UTF-8 text (invalid bytes become �).",
        "d.text",
    ),
    entry(
        "addr",
        DatagramField,
        "d.addr → string   (also d[1])",
        "The sender, \"ip:port\": where to send a reply.",
        "s.sendto(\"pong\", d.addr);",
    ),
    entry(
        "ip",
        DatagramField,
        "d.ip → string",
        "The sender's IP address.",
        "d.ip",
    ),
    entry(
        "len",
        DatagramField,
        "d.len → int",
        "The datagram's real length, even when it was truncated.",
        "d.len",
    ),
    entry(
        "truncated",
        DatagramField,
        "d.truncated → bool",
        "True when the datagram was longer than the recvfrom buffer.",
        "let d = s.recvfrom(4); d.truncated",
    ),
    entry(
        "hexdump",
        DatagramMethod,
        "d.hexdump() → string",
        "The payload as an offset / hex / ASCII dump.",
        "d.hexdump()",
    ),
];

/// The entries named `name` (a name may be a function and a field, like `port`).
pub fn lookup(name: &str) -> Vec<&'static Entry> {
    ENTRIES.iter().filter(|e| e.name == name).collect()
}

/// `:help NAME`.
pub fn describe(name: &str) -> Option<String> {
    let found = lookup(name);
    if found.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (i, e) in found.iter().enumerate() {
        if i > 0 && e.signature == found[i - 1].signature {
            continue;
        }
        if i > 0 {
            out.push('\n');
        }
        out.push_str(e.signature);
        out.push('\n');
        out.push_str("  ");
        out.push_str(&wrap(e.summary, 88, 2));
        out.push_str("\n  example:\n");
        out.push_str(&indent(&indent(e.example)));
        out.push('\n');
    }
    Some(out.trim_end().to_string())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Words of `text` in lines of at most `width` columns, for text that starts at column
/// `indent`; later lines are indented as much.
fn wrap(text: &str, width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut column = indent;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if column > indent && column + 1 + len > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            column = indent;
        } else if column > indent {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += len;
    }
    out
}

/// `:help`.
pub fn overview() -> String {
    let names = |kinds: &[Kind], extra: &str| {
        let mut all: Vec<&str> = ENTRIES
            .iter()
            .filter(|e| kinds.contains(&e.kind))
            .map(|e| e.name)
            .collect();
        all.dedup();
        all.push(extra);
        wrap(&all.join(" "), 88, 16)
    };
    format!(
        "Rhai with UDP. Every line runs at once; variables, sockets and functions stay.
A result is printed unless the line ends with `;`.
  functions:    {}
  socket s.:    {}
  datagram d.:  {}
  thread t.:    join
  :help NAME    signature and example, e.g. :help recvfrom

Meta-commands:
  :help [NAME]        this, or one function
  :sockets            open sockets, their addresses and options
  :vars               variables in scope
  :watch s / :unwatch s   print s's datagrams above the prompt as they arrive
  :pcap FILE / :pcap off  record every datagram from now on (.pcapng or .pcap)
  :save FILE          the lines that ran, as a script for `udpsh run FILE`
  :quit               (or Ctrl-D)

Keys: Tab completes, → accepts a hint, ↑ history, Ctrl-R search, Ctrl-C cancels a
running line or clears the input, Ctrl-D exits. An unfinished line (an open `{{`, `(`
or string) continues on the next line; two empty lines send it as it is.

Try:
  let s = udp(\"127.0.0.1:0\");
  s.sendto(\"hello\", \"127.0.0.1:9000\");
  s.recvfrom(1024)",
        names(&[Function], ""),
        names(&[SocketMethod, SocketProperty], ""),
        names(&[DatagramField, DatagramMethod], "port"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_name_has_help() {
        let all = crate::api::FUNCTIONS
            .iter()
            .chain(crate::api::SOCKET_METHODS)
            .chain(crate::api::DATAGRAM_FIELDS);
        for name in all {
            assert!(describe(name).is_some(), "no :help for {name}");
        }
    }

    #[test]
    fn hints_show_the_first_form() {
        let params = |name| lookup(name)[0].params().unwrap();
        assert_eq!(params("recvfrom"), "bufsize) → datagram");
        assert_eq!(params("sendto"), "data, \"host:port\") → int");
        assert_eq!(params("watch"), ")");
        assert_eq!(params("sleep"), "seconds)");
    }

    #[test]
    fn recvfrom_has_signature_and_example() {
        let text = describe("recvfrom").unwrap();
        assert!(text.starts_with("s.recvfrom(bufsize)"), "{text}");
        assert!(
            text.contains("example:\n    let d = s.recvfrom(1024);"),
            "{text}"
        );
    }
}
