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
    // Input 3 of the session: `<repl>#3`, line 1, column 9.
    assert!(shown.contains("<repl>#3:1:9"), "{shown}");
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
    // Right after `(` the parameters win over the history's `s.gettimeout()`.
    repl.line("s.gettimeout()");
    repl.expect(COLOR_PROMPT);
    repl.type_text("s.gettimeout(");
    repl.expect("\x1b[2m) → float or ()\x1b[0m");
    repl.ctrl_c();
    repl.expect(COLOR_PROMPT);
    // Elsewhere, history.
    repl.type_text("s.getti");
    repl.expect("\x1b[2mmeout()\x1b[0m");
    repl.ctrl_c();
    repl.expect(COLOR_PROMPT);
    assert!(repl.transcript().windows(5).any(|w| w == b"\x1b[35m"));

    let mut plain = repl_in(home.path());
    plain.run("let s = udp(\"127.0.0.1:0\");");
    // Without colour the signature is still hinted, marked so it cannot pass for typed text.
    plain.type_text("s.recvfrom(");
    plain.expect("s.recvfrom(  ‹bufsize) → datagram›");
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
fn save_then_replay_after_a_redefinition_a_watch_and_a_failed_input() {
    let home = home();
    let peer = peer();
    let peer_addr = peer.local_addr().unwrap();
    let mut repl = repl_in(home.path());
    repl.run("let s = udp(\"127.0.0.1:0\");");
    repl.run(&format!("let peer = \"{peer_addr}\";"));
    repl.run("fn greet(m) { \"hi \" + m }");
    assert!(repl.eval("greet(\"x\")").contains("\"hi x\""));
    repl.run("fn greet(m) { \"hello \" + m }");
    repl.run("let note = \"call s.watch() later\";");
    repl.line("s.watch();");
    repl.expect("watching socket(");
    repl.expect(PROMPT);
    // Fails after a side effect: the send ran, so it is replayed; the failing call is a
    // comment, and counted.
    let shown = repl.eval("s.sendto(greet(\"repl\"), peer); oops()");
    assert!(shown.contains("unknown function oops"), "{shown}");
    assert_eq!(receive(&peer).0, b"hello repl");
    repl.run("s.sendto(greet(\"again\"), peer);");
    assert_eq!(receive(&peer).0, b"hello again");
    repl.line("s.unwatch();");
    repl.expect("stopped watching");
    repl.expect(PROMPT);
    let shown = repl.eval(":save session.rhai");
    assert!(
        shown.contains(
            "saved 9 inputs to session.rhai, and 1 input that failed (the statements that ran \
             before the failure are kept, the one that failed and the rest are comments)"
        ),
        "{shown}"
    );
    assert!(shown.contains("s gets settimeout(5)"), "{shown}");
    repl.line(":quit");
    assert_eq!(repl.exit_code(), 0);

    let script = home.path().join("session.rhai");
    let text = std::fs::read_to_string(&script).unwrap();
    for want in [
        "1 input failed in the session: the statements that ran before the failure are",
        "// fn greet: defined again in input #5, which is kept",
        "fn greet(m) { \"hello \" + m }",
        "let note = \"call s.watch() later\";",
        "\ns.watch();\n",
        "// input #8 failed: unknown function oops (); what ran before the statement that \
         failed is kept\ns.sendto(greet(\"repl\"), peer);\n//     oops()\n",
        "let s = udp(\"127.0.0.1:0\"); s.settimeout(5);",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    assert!(!text.contains("\"hi \" + m"), "{text}");
    Udpsh::run(script.to_str().unwrap())
        .home(home.path())
        .output()
        .code(0);
    // What the session sent, in order, and nothing of the call that failed.
    assert_eq!(receive(&peer).0, b"hello repl");
    assert_eq!(receive(&peer).0, b"hello again");
    peer.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        peer.recv_from(&mut buf).is_err(),
        "more was replayed than the session sent"
    );
}

#[test]
fn a_saved_receive_times_out_instead_of_hanging() {
    let home = home();
    let peer = peer();
    let mut repl = repl_in(home.path());
    let addr = socket_in(&mut repl, "s");
    peer.send_to(b"answer", addr).unwrap();
    assert!(repl.eval("s.recvfrom(100).text").contains("\"answer\""));
    assert!(repl.eval("it.len()").contains('6'));
    repl.eval(":save wait.rhai");
    repl.ctrl_d();
    assert_eq!(repl.exit_code(), 0);
    let script = home.path().join("wait.rhai");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("let it = s.recvfrom(100).text;"), "{text}");
    // Nobody answers the replay: it fails at the receive, after the socket's 5 s.
    let started = std::time::Instant::now();
    let out = Udpsh::run(script.to_str().unwrap())
        .home(home.path())
        .output()
        .code(3);
    assert!(out.dump().contains("timed out after 5s"), "{}", out.dump());
    assert!(started.elapsed() < Duration::from_secs(9));
}

#[test]
fn type_ahead_during_a_running_line_is_kept() {
    let home = home();
    let mut repl = repl_in(home.path());
    repl.line("sleep(2)");
    // Typed while sleep(2) runs.
    std::thread::sleep(Duration::from_millis(300));
    repl.type_text("let a = 1;\r");
    repl.type_text("let b = 2;\r");
    repl.type_text("let c = 3;\r");
    repl.expect("[5] udpsh> ");
    assert!(repl.eval("a + b + c").contains('6'));
}

#[test]
fn a_pasted_block_without_bracketed_paste_loses_nothing() {
    let home = home();
    let mut repl = repl_in(home.path());
    let lines = [
        "let total = 0;",
        "fn add(a, b) {",
        "    a + b",
        "}",
        "let s = udp(\"127.0.0.1:0\");",
        "for i in 0..5 {",
        "    total += i;",
        "}",
        "let m = #{b: 1,",
        "  a: 2};",
        "let t = `two",
        "lines`;",
        "total = add(total, 10);",
        "let x1 = 1;",
        "let x2 = 2;",
        "let x3 = 3;",
        "let x4 = 4;",
        "let x5 = 5;",
        "let x6 = 6;",
        "let done = \"yes\";",
    ];
    assert_eq!(lines.len(), 20);
    // One write, as a terminal without bracketed paste sends a paste.
    repl.type_text(&format!("{}\r", lines.join("\r")));
    // 14 inputs: the function, the loop, the map and the string take several lines each.
    repl.expect("[15] udpsh> ");
    assert!(repl.eval("total + x1 + x6").contains("27"));
    assert!(repl.eval("t == \"two\\nlines\"").contains("true"));
    assert!(repl.eval("done").contains("\"yes\""));
    assert!(repl.eval("m.a + x2 + x3 + x4 + x5").contains("16"));
    // The block's own indentation was kept, not doubled.
    let saved = repl.eval(":save paste.rhai");
    assert!(saved.contains("saved 18 inputs"), "{saved}");
    let text = std::fs::read_to_string(home.path().join("paste.rhai")).unwrap();
    assert!(text.contains("fn add(a, b) {\n    a + b\n}"), "{text}");
}

#[test]
fn python_habits_get_a_hint() {
    let home = home();
    let mut repl = repl_in(home.path());
    let hints = [
        ("help()", "help is :help here"),
        ("help(recvfrom)", "s.recvfrom(bufsize)"),
        ("recvfrom?", "s.recvfrom(bufsize)"),
        ("exit", "to leave: :quit, Ctrl-D or exit()"),
        ("quit", "to leave: :quit, Ctrl-D or exit()"),
        (
            "import socket",
            "no import needed: udp() makes a UDP socket",
        ),
        ("let x = None", "Python's None is () in Rhai"),
        ("let y = True", "Rhai writes true and false"),
        (
            "data, addr = s.recvfrom(1024)",
            "let d = s.recvfrom(1024); then d.data and d.addr",
        ),
        ("\"abc\".encode()", "strings need no .encode()"),
        ("blob(2).decode()", "no .decode() needed: d.text"),
    ];
    for (input, hint) in hints {
        let shown = repl.eval(input);
        assert!(
            shown.contains(hint),
            "{input}: {hint:?} missing in\n{shown}"
        );
    }
    // Plain words for types, the forms that exist, a did-you-mean.
    repl.run("let s = udp(\"127.0.0.1:0\");");
    let shown = repl.eval("s.recvfrom(\"x\")");
    assert!(
        shown.contains("no form of recvfrom takes (socket, string)"),
        "{shown}"
    );
    assert!(
        shown.contains("recvfrom takes: s.recvfrom(bufsize)"),
        "{shown}"
    );
    assert!(!shown.contains("ImmutableString"), "{shown}");
    let shown = repl.eval("[1].pushh(2)");
    assert!(shown.contains("did you mean push?"), "{shown}");
    repl.line("exit()");
    assert_eq!(repl.exit_code(), 0);
}

#[test]
fn completion_knows_the_type_of_the_value() {
    let home = home();
    let peer = peer();
    let mut repl = repl_in(home.path());
    let addr = socket_in(&mut repl, "s");
    peer.send_to(b"x", addr).unwrap();
    repl.run("let d = s.recvfrom();");
    repl.run("let b = hex(\"00 2a\");");
    // A datagram's field.
    repl.type_text("d.po\t");
    repl.expect("d.port");
    repl.type_text("\r");
    repl.expect(&peer.local_addr().unwrap().port().to_string());
    repl.expect(PROMPT);
    // A blob's method.
    repl.type_text("b.parse_be_i\t");
    repl.expect("parse_be_int(");
    repl.type_text("0, 2)\r");
    repl.expect("42");
    repl.expect(PROMPT);
    // A string's method.
    repl.type_text("\"abc\".to_up\t");
    repl.expect("to_upper(");
    repl.type_text(")\r");
    repl.expect("\"ABC\"");
    repl.expect(PROMPT);
    // A socket's method.
    repl.type_text("s.setti\t");
    repl.expect("settimeout(");
    repl.type_text("1)\r");
    repl.expect(PROMPT);
    assert!(repl.eval("s.gettimeout()").contains("1.0"));
    // A file name inside read_file("...
    std::fs::write(home.path().join("golden-reply.bin"), b"ok").unwrap();
    repl.type_text("read_file(\"golden-re\t");
    repl.expect("golden-reply.bin");
    repl.type_text("\").len()\r");
    repl.expect("2");
}

#[test]
fn continuation_prompt_and_auto_indent() {
    let home = home();
    let mut repl = repl_in(home.path());
    repl.line("fn twice(x) {");
    repl.expect("      ...>     ");
    // Typed without indentation: the REPL indents, and `}` closes the level.
    repl.line("let y = x * 2;");
    repl.expect("...>     ");
    repl.line("y");
    repl.line("}");
    repl.expect("[2] udpsh> ");
    assert!(repl.eval("twice(21)").contains("42"));
    let saved = repl.eval(":save f.rhai");
    assert!(saved.contains("saved 2 inputs"), "{saved}");
    let text = std::fs::read_to_string(home.path().join("f.rhai")).unwrap();
    assert!(
        text.contains("fn twice(x) {\n    let y = x * 2;\n    y\n}"),
        "{text}"
    );
}

#[test]
fn numbered_inputs_in_errors_and_capture_comments() {
    let home = home();
    let peer = peer();
    let pcap = home.path().join("session.pcapng");
    let mut repl = Udpsh::new(&["repl", "--pcap", pcap.to_str().unwrap()])
        .home(home.path())
        .pty();
    repl.run("let s = udp(\"127.0.0.1:0\");");
    repl.run(&format!(
        "s.sendto(\"a\", \"{}\");",
        peer.local_addr().unwrap()
    ));
    // Fails without a datagram: no packet is annotated.
    let shown = repl.eval("1 + nosuch");
    assert!(shown.contains("--> <repl>#3:1:5"), "{shown}");
    // A block of two lines: the error is on its line 2.
    let shown = repl.eval(&format!(
        "{{ s.sendto(\"b\", \"{}\");\noops() }}",
        peer.local_addr().unwrap()
    ));
    // Line 2 as the REPL indented it.
    assert!(shown.contains("--> <repl>#4:2:5"), "{shown}");
    repl.line(":pcap off");
    repl.expect("holds 2 packets");
    repl.expect(PROMPT);
    let comments = pcapng_comments(&pcap);
    assert_eq!(
        comments,
        [
            vec!["<repl>#2:1 sendto".to_string()],
            vec![
                "<repl>#4:1 sendto".to_string(),
                "udpsh: <repl>#4: unknown function oops ()".to_string()
            ],
        ]
    );
}

/// The comments of each packet of a pcapng file.
fn pcapng_comments(path: &Path) -> Vec<Vec<String>> {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
    use pcap_file::pcapng::blocks::opt_common::CommonOption;
    use pcap_file::pcapng::{Block, PcapNgReader};
    let bytes = std::fs::read(path).unwrap();
    let mut reader = PcapNgReader::new(&bytes[..]).unwrap();
    let mut out = Vec::new();
    while let Some(block) = reader.next_block() {
        if let (Block::EnhancedPacket(epb), _) = block.expect("a complete block") {
            out.push(
                epb.options
                    .iter()
                    .filter_map(|o| match o {
                        EnhancedPacketOption::Common(CommonOption::Comment(c)) => {
                            Some(c.to_string())
                        }
                        _ => None,
                    })
                    .collect(),
            );
        }
    }
    out
}

#[test]
fn watch_lines_jobs_and_stop() {
    let home = home();
    let peer = peer();
    let mut repl = repl_in(home.path());
    let addr = socket_in(&mut repl, "s");
    repl.run("let hdr = layout(\"!H type, I seq\");");
    repl.line("s.watch(|d| hdr.unpack(d.data));");
    repl.expect("(formatted)");
    repl.expect(PROMPT);
    let from = peer.local_addr().unwrap();
    peer.send_to(&[0, 2, 0, 0, 0, 7], addr).unwrap();
    // In the order the layout names them, not Rhai's sorted order.
    repl.expect(&format!(
        "[{addr}] {from} ← #{{\"type\": 2, \"seq\": 7, \"rest\": blob[0] <>}}"
    ));
    repl.line("s.watch(#{compact: true, filter: |d| d.len > 3});");
    repl.expect("(compact, filtered)");
    repl.expect(PROMPT);
    peer.send_to(b"no", addr).unwrap();
    peer.send_to(b"long enough", addr).unwrap();
    repl.expect_re(r#"\] \d\d:\d\d:\d\d\.\d{3} "long enough" from"#);
    repl.line("s.unwatch();");
    repl.expect("1 datagram was hidden by its filter");
    repl.expect(PROMPT);
    repl.run("let t = spawn(|| { loop { sleep(0.05); } });");
    assert!(
        repl.eval(":jobs")
            .contains("[1] running thread (closure in <repl>#7)")
    );
    assert!(
        repl.eval(":stop 1")
            .contains("[1] thread (closure in <repl>#7) stopped")
    );
    assert!(repl.eval(":jobs").contains("[1] stopped"));
    assert!(
        repl.eval("t.join()")
            .contains("the thread was stopped (:stop)")
    );
}

#[test]
fn small_things() {
    let home = home();
    let peer = peer();
    let mut repl = repl_in(home.path());
    let addr = socket_in(&mut repl, "s");
    peer.send_to(b"x", addr).unwrap();
    assert!(repl.eval("s.recvfrom()").contains("(1 byte)"));
    repl.run("s.settimeout(0.1);");
    // The catch block's value is shown.
    let shown = repl.eval("try { s.recvfrom() } catch (e) { e.kind }");
    assert!(shown.contains("\"timeout\""), "{shown}");
    // A never-bound socket cannot receive: said at once.
    repl.run("let u = udp();");
    let shown = repl.eval("u.recvfrom(10)");
    assert!(shown.contains("will never get a datagram"), "{shown}");
    // Map keys as written.
    assert!(
        repl.eval("#{zeta: 1, alpha: 2}")
            .contains("#{\"zeta\": 1, \"alpha\": 2}")
    );
    // :help TOPIC and :help WORD.
    let shown = repl.eval(":help errors");
    assert!(
        shown.contains("refused") && shown.contains("permission denied"),
        "{shown}"
    );
    let shown = repl.eval(":help timeout");
    for want in [
        "s.settimeout(",
        "s.gettimeout(",
        "kind timeout",
        "--timeout",
    ] {
        assert!(shown.contains(want), "{want}: {shown}");
    }
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

#[test]
fn watch_under_run_does_nothing_and_unwatch_drops_what_it_would_have_shown() {
    let script = "let a = udp(\"127.0.0.1:0\"); let b = udp(\"127.0.0.1:0\");\n\
                  a.watch(#{compact: true}); a.watch(|d| d.text); a.watch();\n\
                  b.sendto(\"seen by the watch\", a.local_addr);\n\
                  b.sendto(\"also seen\", a.local_addr);\n\
                  sleep(0.1);\n\
                  a.unwatch();\n\
                  b.sendto(\"for recvfrom\", a.local_addr);\n\
                  a.settimeout(1);\n\
                  assert_eq(a.recvfrom().text, \"for recvfrom\");\n\
                  print(\"replayed\");";
    Udpsh::eval(script).output().code(0).stdout_has("replayed");
}

#[test]
fn save_keeps_what_a_failed_input_ran_so_the_replay_defines_it() {
    let home = home();
    let mut repl = repl_in(home.path());
    // It fails at its second statement: `d` exists all the same.
    let shown = repl.eval("let d = #{}; d.decode()");
    assert!(shown.contains("unknown function decode"), "{shown}");
    repl.run("d.txt");
    // Stopped by Ctrl-C in its loop: `i` exists.
    repl.line("let i = 0; while true { i += 1 }");
    std::thread::sleep(Duration::from_millis(400));
    repl.ctrl_c();
    repl.expect("interrupted");
    repl.expect(PROMPT);
    assert!(repl.eval("i > 0").contains("true"));
    // A layout a closure captured is still a layout to :vars.
    repl.run("let hdr = layout(\"!H a\"); let f = |d| hdr.unpack(d);");
    let vars = repl.eval(":vars");
    assert!(vars.contains("layout    layout(\"!H a\")"), "{vars}");
    assert!(vars.contains("function  closure"), "{vars}");
    assert!(
        !vars.contains("ScriptLayout") && !vars.contains("shared"),
        "{vars}"
    );
    // A mistyped meta-command.
    let shown = repl.eval(":sav s.rhai");
    assert!(
        shown.contains("unknown command :sav; did you mean :save?"),
        "{shown}"
    );
    let shown = repl.eval(":save s.rhai");
    assert!(
        shown.contains("and 2 inputs that failed (the statements that ran before the failure"),
        "{shown}"
    );
    assert!(
        shown.contains("; replay with: udpsh run s.rhai\r\n"),
        "{shown:?}"
    );
    // Never over a file without `!`.
    let shown = repl.eval(":save s.rhai");
    assert!(
        shown.contains("s.rhai exists; :save! s.rhai replaces it"),
        "{shown}"
    );
    assert!(
        repl.eval(":save! s.rhai")
            .contains("saved 3 inputs to s.rhai")
    );
    // The hint is a command a shell runs as it is.
    let shown = repl.eval(":save sp ace.rhai");
    assert!(
        shown.contains("replay with: udpsh run 'sp ace.rhai'"),
        "{shown}"
    );
    repl.ctrl_d();
    assert_eq!(repl.exit_code(), 0);

    let script = home.path().join("s.rhai");
    let text = std::fs::read_to_string(&script).unwrap();
    for want in [
        "// input #1 failed: unknown function decode (map); what ran before the statement that \
         failed is kept\nlet d = #{};\n//     d.decode()\nd.txt;\n",
        "// input #3 failed: stopped: interrupted (Ctrl-C); what ran before the statement that \
         failed is kept\nlet i = 0;\n//     while true { i += 1 }\ni > 0;\n",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    Udpsh::run(script.to_str().unwrap())
        .home(home.path())
        .output()
        .code(0);
    Udpsh::run(home.path().join("sp ace.rhai").to_str().unwrap())
        .home(home.path())
        .output()
        .code(0);
}

#[test]
fn timeouts_and_watch_comments_name_the_input() {
    let home = home();
    let peer = peer();
    let peer_addr = peer.local_addr().unwrap();
    let pcap = home.path().join("w.pcapng");
    let mut repl = Udpsh::new(&["repl", "--pcap", pcap.to_str().unwrap()])
        .home(home.path())
        .pty();
    repl.run("let s = udp(\"127.0.0.1:0\"); s.settimeout(0.2);");
    repl.line("s.local_addr");
    let addr: SocketAddr = repl.expect_re(r#""(127\.0\.0\.1:\d+)""#)[1]
        .parse()
        .unwrap();
    repl.expect(PROMPT);
    repl.run(&format!("s.sendto(\"q\", \"{peer_addr}\");"));
    let shown = repl.eval("s.recvfrom()");
    assert!(
        shown.contains(&format!(
            "this socket last sent 1 byte to {peer_addr} (<repl>#3)"
        )),
        "{shown}"
    );
    // A :watch is input #5: the prompt moves on, and what it records says so.
    repl.line(":watch s");
    repl.expect("watching socket(");
    repl.expect("[6] udpsh> ");
    peer.send_to(b"w1", addr).unwrap();
    repl.expect("\"w1\" from");
    repl.line(":unwatch s");
    repl.expect("stopped watching");
    repl.expect("[7] udpsh> ");
    repl.line("s.watch();");
    repl.expect("watching socket(");
    repl.expect(PROMPT);
    peer.send_to(b"w2", addr).unwrap();
    repl.expect("\"w2\" from");
    repl.line(":pcap off");
    repl.expect("holds 3 packets");
    repl.expect(PROMPT);
    assert_eq!(
        pcapng_comments(&pcap),
        [
            vec!["<repl>#3:1 sendto".to_string()],
            vec!["<repl>#5 watch".to_string()],
            vec!["<repl>#7:1 watch".to_string()],
        ]
    );
    // And :save writes the meta-commands as the calls they are.
    repl.eval(":save w.rhai");
    let text = std::fs::read_to_string(home.path().join("w.rhai")).unwrap();
    assert!(
        text.contains("s.watch(); // :watch s\ns.unwatch(); // :unwatch s\ns.watch();\n"),
        "{text}"
    );
}

#[test]
fn more_python_habits_get_a_hint() {
    let home = home();
    let mut repl = repl_in(home.path());
    repl.run(
        "let a = udp(\"127.0.0.1:0\"); let b = udp(\"127.0.0.1:0\"); \
         a.sendto(\"x\", b.local_addr); let d = b.recvfrom();",
    );
    let hints = [
        ("msg = 'hello'", "strings are in double quotes: \"hello\""),
        ("msg = 'hello'", "a new variable needs let: let msg = ..."),
        ("# a comment", "comments start with // (or /* ... */)"),
        ("for i in range(3):", "Rhai writes for i in 0..3 { ... }"),
        (
            "let t = f\"a {b}\"",
            "Rhai's f-strings are backtick strings: `port ${p}`",
        ),
        (
            "print(\"a\", 1)",
            "print takes one value: join them in a template",
        ),
        (
            "\"abc\".upper()",
            "Rhai's is to_upper(): \"abc\".to_upper()",
        ),
        ("\"abc\".lower()", "Rhai's is to_lower()"),
        (
            "\" a \".strip()",
            "Rhai's is trim(), which trims the string in place",
        ),
        (
            "len(d)",
            "Rhai writes x.len() (and a datagram's length is d.len, a field)",
        ),
        ("let t = False", "Rhai writes true and false, in lower case"),
        ("if d == None { 1 }", "Python's None is () in Rhai"),
        ("if 1 > 2 { 1 } elif 2 > 1 { 2 }", "Rhai writes else if"),
    ];
    for (input, hint) in hints {
        let shown = repl.eval(input);
        assert!(
            shown.contains(hint),
            "{input}: {hint:?} missing in\n{shown}"
        );
    }
    // Each hint once, one line each.
    let shown = repl.eval("msg = 'hello'");
    assert_eq!(shown.matches("= note:").count(), 2, "{shown}");
}

#[test]
fn help_on_a_value_no_wild_guesses_and_what_is_left_open() {
    let home = home();
    let peer = peer();
    let mut repl = repl_in(home.path());
    let addr = socket_in(&mut repl, "s");
    let shown = repl.eval("help(s)");
    assert!(
        shown.contains("s is a socket: socket(127.0.0.1:"),
        "{shown}"
    );
    assert!(shown.contains("  s.recvfrom(bufsize)"), "{shown}");
    peer.send_to(b"x", addr).unwrap();
    repl.run("let d = s.recvfrom();");
    let shown = repl.eval("d?");
    assert!(
        shown.contains("d is a datagram:") && shown.contains("d.port"),
        "{shown}"
    );
    // No guess for a one-letter name.
    let shown = repl.eval("f(1)");
    assert!(shown.contains("unknown function f (integer)"), "{shown}");
    assert!(!shown.contains("did you mean"), "{shown}");
    // A module's function lists its own forms.
    repl.run("import \"udpsh/dns\" as dns;");
    let shown = repl.eval("dns::ask(1)");
    assert!(
        shown.contains("ask takes: dns::ask(sock, server, name)"),
        "{shown}"
    );
    assert!(!shown.contains("ntp::ask"), "{shown}");
    // An input left open, sent with two empty lines: which bracket, where.
    repl.line("foo(1, ");
    repl.line("");
    repl.line("");
    let shown = repl.expect(PROMPT);
    assert!(
        shown.contains("the script ends too soon: the ( opened at 1:4 is never closed"),
        "{shown}"
    );
    // `it` holds the last result: help on its value.
    let shown = repl.eval(":help it");
    assert!(
        shown.starts_with("it (the last result) is a string:"),
        "{shown}"
    );
    // Before there is one, a search, the best ten.
    let mut fresh = repl_in(home.path());
    let shown = fresh.eval(":help it");
    assert!(shown.contains("  it "), "{shown}");
    assert!(shown.contains("… and "), "{shown}");
    // Ten, and how many more.
    assert_eq!(
        shown.lines().filter(|l| l.starts_with("  ")).count(),
        11,
        "{shown}"
    );
}

#[test]
fn save_keeps_a_receive_whose_chain_failed_after_it() {
    let home = home();
    let peer = peer();
    let mut repl = repl_in(home.path());
    let addr = socket_in(&mut repl, "s");
    peer.send_to(b"one", addr).unwrap();
    // The receive took "one", then `.txt` failed: the replay must take it too.
    let shown = repl.eval("s.recvfrom(1024).txt");
    assert!(shown.contains("txt"), "{shown}");
    peer.send_to(b"two", addr).unwrap();
    repl.run("let d = s.recvfrom(1024);");
    repl.run("assert_eq(d.text, \"two\");");
    repl.eval(":save chain.rhai");
    repl.ctrl_d();
    assert_eq!(repl.exit_code(), 0);
    let script = home.path().join("chain.rhai");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(
        text.contains("\ns.recvfrom(1024);\n//     .txt\n"),
        "{text}"
    );
    Udpsh::new(&["check"])
        .arg(script.display())
        .output()
        .success();
}
