//! Binary data from a user's side: pack/unpack, layouts, ranges, bytes that stay bytes, and
//! failures whose one-line message says what was expected.

use crate::support::Udpsh;

fn script(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.rhai");
    std::fs::write(&path, text).unwrap();
    let p = path.display().to_string();
    (dir, p)
}

#[test]
fn pack_layout_and_ranges_over_a_real_socket() {
    let (_d, path) = script(
        r#"
let a = udp("127.0.0.1:0");
let b = udp("127.0.0.1:0");
let hdr = layout("!H type, I seq, 2x, 8s tag");
a.sendto(hdr.pack(#{type: 258, seq: 1000, tag: "pos", rest: hex("ff 80") + "a"}), b.local_addr);
let d = b.recvfrom(100);
let m = hdr.unpack(d.data);
assert_eq(m.seq, 1000);
assert_eq(m.rest, hex("ff 80 61"));
assert_eq(d.data[0..2], pack("!H", 258));
assert_eq(unpack("!HI", d.data[0..6]), [258, 1000]);
assert_eq(d.data.unpack_from("!I", 2)[0], 1000);
assert_eq(hex("12 34").parse_be_int(0, 2), 0x1234);
assert_eq(d.data[16..].len(), 3);
fn first(x) { x[0..1] }
assert_eq(first(d.data), hex("01"));
let t = spawn(|| d.data[2..6]);
assert_eq(t.join(), pack("!I", 1000));
"#,
    );
    Udpsh::run(&path).output().success();
}

#[test]
fn errors_are_kind_value_with_what_was_expected() {
    let (_d, path) = script(
        r#"
try { unpack("!HH", hex("01 02 03")); } catch (e) { assert_eq(e.kind, "value"); assert_eq(e.message, `unpack("!HH") needs 4 bytes, got 3`); }
try { pack("B", 300); } catch (e) { assert_eq(e.kind, "value"); }
try { layout("!H a, I b").pack(#{a: 1}); } catch (e) { assert_contains(e.message, "missing field 'b'"); }
"#,
    );
    Udpsh::run(&path).output().success();
}

#[test]
fn a_blob_mismatch_summary_is_the_junit_message() {
    let (dir, path) =
        script("let a = blob(60000); let b = blob(60000); b[30000] = 1; assert_eq(a, b);");
    let junit = dir.path().join("r.xml");
    let out = Udpsh::run(&path)
        .arg("--report")
        .arg(format!("junit={}", junit.display()))
        .output()
        .code(1)
        .stdout_has("blobs differ at byte 30000: expected 01, got 00");
    assert!(out.stdout.lines().count() < 40, "{}", out.stdout);
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(
        xml.contains("blobs differ at byte 30000: expected 01, got 00"),
        "{xml}"
    );
}

#[test]
fn bytes_never_turn_into_wrong_text_or_wrong_bytes_silently() {
    // What is right stays allowed: UTF-8 bytes join text, text + bytes is bytes.
    Udpsh::eval(
        r#"let s = "a"; s += hex("62 63"); assert_eq(s, "abc");
           s = s + hex("64"); assert_eq(s, "abcd");
           let r = "a" + hex("ff"); assert_eq(type_of(r), "blob"); assert_eq(r, hex("61 ff"));
           let b = blob(2, 255); b.push(0); b.insert(0, 1); b.pad(6, 7);
           assert_eq(b, hex("01 ff ff 00 07 07"));"#,
    )
    .output()
    .success();
    // What Rhai would do lossily or cut to 8 bits is an error at its line, kind value.
    for (source, says) in [
        (
            r#"let s = "a"; s += hex("ff 80");"#,
            "byte 0 of the 2 bytes is not UTF-8",
        ),
        (r#"let s = "a"; s = s + hex("ff");"#, "let out = s + b"),
        (
            "let b = blob(); b.push(300);",
            "push: 300 is not a byte (0 to 255)",
        ),
        (
            "let b = blob(); b.insert(0, -1);",
            "insert: -1 is not a byte",
        ),
        ("let b = blob(1); b.pad(4, 256);", "pad: 256 is not a byte"),
        ("blob(2, 300)", "blob(n, byte): 300 is not a byte"),
    ] {
        let out = Udpsh::eval(source).output().code(3).stderr_has(says);
        assert!(out.stderr.contains("<-e>:1:"), "{}", out.stderr);
    }
}
