//! Text a peer sent never reaches a terminal raw, however it gets there — in a value, in an
//! error message of any kind (a parse, an assertion, an address, a file name, a throw), in a
//! REPL watch's formatter or filter failing on it — and every report stays valid, JUnit's
//! XML included, whatever code points it holds.

use std::thread;

use crate::support::*;

/// Retitles the terminal, colours, rings, reorders (RLO), hides (ZWSP, BOM), and holds the
/// two code points XML 1.0 has no room for, and a C0 control it forbids too.
const HOSTILE: &str = "\x1b]0;pwned\x07\x1b[31mRED\u{202e}exe\u{200b}\u{feff}\u{fffe}\u{ffff}\x01";

/// What must never reach a terminal or a report raw (U+FFFE and U+FFFF may: no terminal acts
/// on them, and only XML cannot hold them, which `valid_xml_chars` checks).
const RAW: [char; 6] = ['\x1b', '\x07', '\u{202e}', '\u{200b}', '\u{feff}', '\x01'];

fn no_raw(what: &str, text: &str) {
    for c in RAW {
        assert!(!text.contains(c), "raw {c:?} in {what}:\n{text}");
    }
}

/// Every character XML 1.0 allows (its `Char` production), in the text and in each
/// character reference.
fn valid_xml_chars(xml: &str) {
    let allowed = |c: u32| matches!(c, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF);
    for c in xml.chars() {
        assert!(allowed(c as u32), "XML holds U+{:04X}:\n{xml}", c as u32);
    }
    for reference in xml.split("&#").skip(1) {
        let body = &reference[..reference.find(';').expect("a closed reference")];
        let code = match body.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
            None => body.parse().unwrap(),
        };
        assert!(allowed(code), "XML refers to U+{code:04X}");
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    while reader.read_event().expect("well-formed XML") != quick_xml::events::Event::Eof {}
}

#[test]
fn errors_quoting_a_peer_are_escaped_on_the_terminal_and_in_every_report() {
    let peer = Peer::new();
    let addr = peer.addr();
    let answering = thread::spawn(move || {
        let (_, from) = peer.recv();
        peer.send_to(HOSTILE.as_bytes(), from);
    });
    // Each kind of error a peer's text can end up in; the names hold it too.
    let script = "let s = udp(\"127.0.0.1:0\");\ns.settimeout(5);\n\
        s.sendto(\"hi\", var(\"peer\", \"\"));\nlet t = s.recvfrom(1024).text;\n\
        test(\"parse \\uFFFE\\uFFFF\\x01\\x1b[2J\", || parse_int(t));\n\
        test(\"assert\", || assert(false, t));\n\
        test(\"assert_eq\", || assert_eq(t, \"x\"));\n\
        test(\"address\", || s.sendto(\"x\", t));\n\
        test(\"file\", || read_file(t));\n\
        test(\"throw\", || throw t);\n\
        test(\"print\", || { print(t); assert(false, \"after print\") });\n";
    let out = Udpsh::script("hostile.rhai", script)
        .var("peer", addr)
        .args([
            "--report",
            "junit=j.xml",
            "--report",
            "tap=t.tap",
            "--report",
            "json=j.json",
        ])
        .output()
        .code(3);
    answering.join().unwrap();
    no_raw("stdout", &out.stdout);
    no_raw("stderr", &out.stderr);
    assert!(out.stdout.contains("\\x1b]0;pwned\\x07"), "{}", out.dump());
    assert!(out.stdout.contains("7 tests: 0 passed"), "{}", out.dump());
    for report in ["j.xml", "t.tap", "j.json"] {
        let text = std::fs::read_to_string(out.path(report)).unwrap();
        no_raw(report, &text);
        assert!(text.contains("pwned"), "{report} lost the text:\n{text}");
    }
    let xml = std::fs::read_to_string(out.path("j.xml")).unwrap();
    valid_xml_chars(&xml);
    assert!(xml.contains("parse \\u{fffe}\\u{ffff}"), "{xml}");
}

#[test]
fn a_watch_formatter_or_filter_failing_on_a_peer_text_shows_it_escaped() {
    let home = tempfile::tempdir().unwrap();
    let mut repl = Udpsh::new(&[]).home(home.path()).pty();
    repl.run("let s = udp(\"127.0.0.1:0\");");
    repl.line("s.local_addr");
    let addr: std::net::SocketAddr = repl.expect_re(r#""(127\.0\.0\.1:\d+)""#)[1]
        .parse()
        .unwrap();
    repl.expect(PROMPT);
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for watch in [
        "s.watch(|d| parse_int(d.text));",
        "s.watch(|d| { assert(false, d.text); 1 });",
        "s.watch(#{filter: |d| d.text.nope()});",
        "s.watch(#{filter: |d| { s.sendto(\"x\", d.text); true }});",
        "s.watch(|d| { throw d.text; });",
    ] {
        repl.line(watch);
        repl.expect("watch");
        repl.expect(PROMPT);
        peer.send_to(HOSTILE.as_bytes(), addr).unwrap();
        repl.expect("failed (");
        repl.expect("pwned");
    }
    repl.run("s.unwatch();");
    let screen = String::from_utf8_lossy(repl.transcript()).into_owned();
    for raw in [
        "\x1b]0;pwned",
        "pwned\x07",
        "\x1b[31mRED",
        "\u{202e}exe",
        "\u{200b}",
    ] {
        assert!(
            !screen.contains(raw),
            "raw {raw:?} reached the terminal:\n{}",
            screen.escape_debug()
        );
    }
}
