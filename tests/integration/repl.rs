//! The REPL, driven like a person would: in a pseudo-terminal, talking to UDP peers on
//! loopback (ports picked by the OS). And its piped-stdin mode, driven like CI would.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use crate::support::*;

fn home() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `udpsh` (the REPL) in a pty, as a fresh user in `home`, without colour.
fn repl_in(home: &Path) -> Repl {
    Udpsh::new(&[]).home(home).pty()
}

/// `udpsh ARGS`, as a fresh user in `home`, with `stdin` piped in.
fn piped(home: &Path, args: &[&str], stdin: &str) -> Output {
    Udpsh::new(args).home(home).stdin(stdin).output()
}

/// A UDP peer on loopback that gives up after a few seconds.
fn peer() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind peer");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn receive(peer: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = peer.recv_from(&mut buf).expect("peer receives");
    (buf[..n].to_vec(), from)
}

/// `let NAME = udp("127.0.0.1:0")` in the REPL; returns the socket's address.
fn socket_in(repl: &mut Repl, name: &str) -> SocketAddr {
    repl.run(&format!("let {name} = udp(\"127.0.0.1:0\");"));
    repl.line(&format!("{name}.local_addr"));
    let groups = repl.expect_re(r#""(127\.0\.0\.1:\d+)""#);
    repl.expect(PROMPT);
    groups[1].parse().expect("an address")
}

#[test]
fn evaluates_keeps_state_and_survives_errors() {
    let home = home();
    let mut repl = repl_in(home.path());
    repl.run("let x = 40;");
    assert!(repl.eval("x + 2").contains("42"));
    // An error shows the caret under the column, and the session goes on.
    let shown = repl.eval("let y = nosuch(x);");
    assert!(shown.contains("nosuch"), "{shown}");
    assert!(shown.contains("<repl>:1:9"), "{shown}");
    assert!(shown.contains("^^^^^^"), "{shown}");
    assert!(repl.eval("x * 10").contains("400"));
    // Values print in Rhai's debug form; unit prints nothing.
    assert!(repl.eval("[1, \"two\"]").contains("[1, \"two\"]"));
    let quiet = repl.eval("let z = ();");
    assert!(!quiet.contains("()"), "{quiet}");
    repl.line(":quit");
    assert_eq!(repl.exit_code(), 0);
}

#[test]
fn binds_and_receives_from_a_peer() {
    let home = home();
    let peer = peer();
    let peer_addr = peer.local_addr().unwrap();
    let mut repl = repl_in(home.path());
    let addr = socket_in(&mut repl, "s");
    assert!(
        repl.eval(&format!("s.sendto(\"ping\", \"{peer_addr}\")"))
            .contains('4')
    );
    let (data, from) = receive(&peer);
    assert_eq!((data.as_slice(), from), (&b"ping"[..], addr));
    peer.send_to("你好".as_bytes(), addr).unwrap();
    repl.run("let d = s.recvfrom(1024);");
    let shown = repl.eval("d");
    assert!(
        shown.contains(&format!("\"你好\" from {peer_addr} (6 bytes)")),
        "{shown}"
    );
    assert!(repl.eval("d.port").contains(&peer_addr.port().to_string()));
    // A binary datagram comes with a hexdump.
    peer.send_to(&[0, 1, 2, 0xff], addr).unwrap();
    let shown = repl.eval("s.recvfrom()");
    assert!(shown.contains("<00 01 02 ff> from"), "{shown}");
    assert!(shown.contains("00 01 02 ff"), "{shown}");
    repl.ctrl_d();
    assert_eq!(repl.exit_code(), 0);
}

#[test]
fn ctrl_c_cancels_and_the_session_goes_on() {
    let home = home();
    let mut repl = repl_in(home.path());
    let addr = socket_in(&mut repl, "s");
    // During a blocking recvfrom.
    repl.line("s.recvfrom(1024)");
    std::thread::sleep(Duration::from_millis(400));
    repl.ctrl_c();
    repl.expect("interrupted");
    repl.expect(PROMPT);
    assert!(repl.eval("s.local_addr").contains(&addr.to_string()));
    // During a long loop.
    repl.run("let n = 0;");
    repl.line("loop { n += 1; }");
    std::thread::sleep(Duration::from_millis(400));
    repl.ctrl_c();
    repl.expect("interrupted");
    repl.expect(PROMPT);
    assert!(repl.eval("n > 0").contains("true"));
    // The socket still works.
    let peer = peer();
    peer.send_to(b"after", addr).unwrap();
    assert!(repl.eval("s.recvfrom().text").contains("\"after\""));
    // At the prompt: Ctrl-C clears the line; on an empty line it says how to leave.
    repl.type_text("let typed = 1");
    repl.ctrl_c();
    repl.expect(PROMPT);
    assert!(repl.eval("is_def_var(\"typed\")").contains("false"));
    repl.ctrl_c();
    repl.expect("Ctrl-D or :quit exits");
    repl.expect(PROMPT);
    repl.ctrl_d();
    assert_eq!(repl.exit_code(), 0);
}

#[test]
fn multi_line_function() {
    let home = home();
    let mut repl = repl_in(home.path());
    // The parser sees an open block, so Enter continues the input.
    repl.line("fn twice(x) {");
    repl.line("  let y = x * 2;");
    repl.line("  y");
    repl.run("}");
    assert!(repl.eval("twice(21)").contains("42"));
    // Functions stay, and see later inputs' sockets passed to them.
    repl.line("fn reply(s, d) {");
    repl.run("  s.sendto(\"re: \" + d.text, d.addr) }");
    let addr = socket_in(&mut repl, "s");
    let peer = peer();
    peer.send_to(b"hey", addr).unwrap();
    assert!(repl.eval("reply(s, s.recvfrom())").contains('7'));
    assert_eq!(receive(&peer).0, b"re: hey");
    // An error inside a function defined earlier shows that function's line.
    repl.run("fn bad(x) { x + nothing }");
    let shown = repl.eval("bad(1)");
    assert!(shown.contains("fn bad(x) { x + nothing }"), "{shown}");
}

#[test]
fn tab_completes_functions_variables_and_methods() {
    let home = home();
    let mut repl = repl_in(home.path());
    let addr = socket_in(&mut repl, "server");
    // A method after `.`, chosen by the variable's type.
    repl.type_text("server.recvf\t");
    repl.expect("recvfrom(");
    repl.ctrl_c();
    repl.expect(PROMPT);
    // A property completes without `(`, a variable by its name.
    repl.type_text("serv\t");
    repl.expect("server");
    repl.type_text(".local_ad\t");
    repl.expect("local_addr");
    repl.type_text("\r");
    repl.expect(&addr.to_string());
    repl.expect(PROMPT);
    // An API function.
    repl.type_text("to_he\t");
    repl.expect("to_hex(");
    repl.type_text("\"AB\")\r");
    repl.expect("\"4142\"");
    repl.expect(PROMPT);
    // A datagram's fields.
    let peer = peer();
    peer.send_to(b"x", addr).unwrap();
    repl.run("let d = server.recvfrom();");
    repl.type_text("d.trunc\t");
    repl.expect("truncated");
    repl.type_text("\r");
    repl.expect("false");
}

#[test]
fn colour_and_hints_on_a_terminal_never_with_no_color() {
    let home = home();
    let mut repl = Udpsh::new(&[]).home(home.path()).color().pty();
    repl.line("let s = udp(\"127.0.0.1:0\");");
    repl.expect(COLOR_PROMPT);
    // Keywords and strings coloured as typed; the call's parameters hinted, dimmed.
    repl.type_text("s.recvfrom(");
    repl.expect("\x1b[2mbufsize) → datagram\x1b[0m");
    repl.ctrl_c();
    repl.expect(COLOR_PROMPT);
    assert!(repl.transcript().windows(5).any(|w| w == b"\x1b[35m"));

    let mut plain = repl_in(home.path());
    plain.run("let s = udp(\"127.0.0.1:0\");");
    plain.type_text("s.recvfrom(");
    plain.ctrl_c();
    plain.expect(PROMPT);
    plain.eval("nosuch()");
    let screen = String::from_utf8_lossy(plain.transcript()).into_owned();
    // Cursor movement, yes; colours (SGR, `ESC [ ... m`), no.
    let sgr = screen.split('\x1b').skip(1).find(|seq| {
        seq.starts_with('[')
            && seq[1..]
                .find(|c: char| c.is_ascii_alphabetic())
                .is_some_and(|i| seq.as_bytes()[i + 1] == b'm')
    });
    assert!(
        sgr.is_none(),
        "colour with NO_COLOR: {sgr:?}\n{}",
        screen.escape_debug()
    );
    assert!(!screen.contains("bufsize)"), "a hint with NO_COLOR");
}

#[test]
fn history_survives_a_restart() {
    let home = home();
    let mut repl = repl_in(home.path());
    repl.run("let marker = 31337;");
    repl.ctrl_d();
    assert_eq!(repl.exit_code(), 0);
    let saved = std::fs::read_to_string(home.path().join(".local/state/udpsh/history"))
        .expect("history file in the XDG state folder");
    assert!(saved.contains("let marker = 31337;"), "{saved}");

    let mut repl = repl_in(home.path());
    repl.type_text("\x1b[A"); // Up
    repl.expect("let marker = 31337;");
    repl.type_text("\r");
    repl.expect(PROMPT);
    assert!(repl.eval("marker + 1").contains("31338"));
}

#[test]
fn malicious_payload_is_shown_escaped() {
    let home = home();
    let mut repl = repl_in(home.path());
    let addr = socket_in(&mut repl, "s");
    let evil: &[u8] = b"\x1b[2J\x1b[H\x1b]0;pwned\x07\x9b31m\x1bcgotcha";
    let peer = peer();
    peer.send_to(evil, addr).unwrap();
    repl.run("let d = s.recvfrom();");
    let shown = repl.eval("d");
    assert!(shown.contains("<1b 5b 32 4a 1b 5b 48"), "{shown}");
    let shown = repl.eval("d.text");
    assert!(shown.contains(r"\x1b[2J\x1b[H\x1b]0;pwned\x07"), "{shown}");
    repl.run("print(d.text);");
    // And while watching, above the prompt.
    repl.run("s.watch();");
    peer.send_to(evil, addr).unwrap();
    repl.expect("from 127.0.0.1:");
    repl.expect(".[2J.[H.]0;pwned");
    // Text with escape sequences in it is shown as text, escaped.
    peer.send_to(b"\x1b[2J\x1b]0;pwned\x07hi\x1bc", addr)
        .unwrap();
    repl.expect(r#""\x1b[2J\x1b]0;pwned\x07hi\x1bc" from 127.0.0.1:"#);
    let screen = repl.transcript().to_vec();
    for raw in [&b"\x1b[2J"[..], b"\x1b[H", b"\x1b]0;", b"\x07g", b"\x1bc"] {
        assert!(
            !screen.windows(raw.len()).any(|w| w == raw),
            "raw {raw:?} reached the terminal:\n{}",
            String::from_utf8_lossy(&screen).escape_debug()
        );
    }
}

#[test]
fn watch_prints_datagrams_while_typing() {
    let home = home();
    let mut repl = repl_in(home.path());
    let addr = socket_in(&mut repl, "s");
    repl.line(":watch s");
    repl.expect("watching socket(");
    repl.expect(PROMPT);
    repl.type_text("let half = ");
    let peer = peer();
    peer.send_to(b"tick", addr).unwrap();
    repl.expect(&format!(
        "[{addr}] \"tick\" from {}",
        peer.local_addr().unwrap()
    ));
    // The line being typed is still there.
    repl.type_text("21;\r");
    repl.expect(PROMPT);
    assert!(repl.eval("half * 2").contains("42"));
    assert!(repl.eval(":sockets").contains("watched"));
    repl.line(":unwatch s");
    repl.expect("stopped watching");
    repl.expect(PROMPT);
    peer.send_to(b"later", addr).unwrap();
    assert!(repl.eval("s.recvfrom().text").contains("\"later\""));
}

#[test]
fn save_then_replay_with_run() {
    let home = home();
    let peer = peer();
    let peer_addr = peer.local_addr().unwrap();
    let mut repl = repl_in(home.path());
    repl.run("let s = udp(\"127.0.0.1:0\");");
    repl.run(&format!("let peer = \"{peer_addr}\""));
    repl.eval("s.sendto(\"from the repl\", peer)");
    assert_eq!(receive(&peer).0, b"from the repl");
    repl.eval("oops(1)"); // fails: not saved
    repl.line("fn twice(x) {");
    repl.run("x * 2 }");
    repl.run("assert_eq(twice(21), 42)");
    repl.run("s.watch()"); // REPL-only: saved as a comment
    let shown = repl.eval(":save session.rhai");
    assert!(shown.contains("saved 6 inputs to session.rhai"), "{shown}");
    repl.line(":quit");
    assert_eq!(repl.exit_code(), 0);

    let script = home.path().join("session.rhai");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(!text.contains("oops"), "{text}");
    assert!(text.contains("// (REPL only) s.watch()"), "{text}");
    Udpsh::run(script.to_str().unwrap())
        .home(home.path())
        .output()
        .code(0);
    assert_eq!(receive(&peer).0, b"from the repl");
}

#[test]
fn piped_stdin_runs_inputs_quietly_and_fails_when_one_fails() {
    let home = home();
    let peer = peer();
    let peer_addr = peer.local_addr().unwrap();
    let input = format!(
        "let s = udp(\"127.0.0.1:0\");\n\
         fn twice(x) {{\n\
           x * 2\n\
         }}\n\
         \n\
         twice(21)\n\
         s.sendto(\"piped\", \"{peer_addr}\");\n\
         nosuch()\n\
         \"still here\"\n"
    );
    let out = piped(home.path(), &[], &input);
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert_eq!(stdout, "42\n\"still here\"\n", "{}", out.dump());
    assert!(stderr.contains("--> <stdin>:8:1"), "{stderr}");
    assert!(!stdout.contains("udpsh>") && !stderr.contains("udpsh>"));
    assert_eq!(out.code, Some(3));
    assert_eq!(receive(&peer).0, b"piped");

    let out = piped(home.path(), &[], "let a = 1;\na + 1\n").code(0);
    assert_eq!(out.stdout, "2\n");
    piped(home.path(), &[], "assert_eq(1, 2)\n").code(1);
    // An error in a function defined earlier names the function's own line of the input.
    let input = "let echo = 1;\n\nfn ask(m) { m + echo }\nask(1)\n";
    let out = piped(home.path(), &[], input);
    let stderr = &out.stderr;
    assert!(stderr.contains("--> <stdin>:3:17"), "{stderr}");
    assert!(
        stderr.contains("in call to function 'ask' at <stdin>:4:1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("a fn does not see the session's variables"),
        "{stderr}"
    );
}

#[test]
fn repl_takes_var_and_pcap() {
    let home = home();
    let pcap = home.path().join("repl.pcap");
    let input = "let a = udp(\"127.0.0.1:0\");\n\
                 let b = udp(\"127.0.0.1:0\");\n\
                 a.sendto(var(\"msg\", \"default\"), b.local_addr);\n\
                 b.recvfrom().text\n\
                 :pcap off\n\
                 a.sendto(\"not recorded\", b.local_addr);\n";
    let args = [
        "repl",
        "--var",
        "msg=hello",
        "--pcap",
        pcap.to_str().unwrap(),
    ];
    let out = piped(home.path(), &args, input).code(0);
    assert!(out.stdout.contains("\"hello\""));
    let bytes = std::fs::read(&pcap).unwrap();
    // Header (24) + one record (16 + Ethernet 14 + IPv4 20 + UDP 8 + "hello").
    assert_eq!(bytes.len(), 24 + 16 + 14 + 20 + 8 + 5);
    assert!(bytes.ends_with(b"hello"));
}
