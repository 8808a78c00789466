//! Hashes, HMACs, random values and `--seed`, and `a.join(sep)`, through the binary.

use crate::support::Udpsh;

#[test]
fn digests_and_hmacs_match_the_published_vectors() {
    Udpsh::eval(
        r#"assert_eq(to_hex(md5("")), "d41d8cd98f00b204e9800998ecf8427e");
           assert_eq(to_hex(sha1(hex("616263"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
           assert_eq(to_hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
           assert_eq(to_hex(hmac("md5", "Jefe", "what do ya want for nothing?")), "750c783e6ab0b503eaa86e310a5db738");
           assert_eq(to_hex(hmac("SHA-256", blob(20, 0x0b), "Hi There")),
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");"#,
    )
    .output()
    .success();
    Udpsh::eval(r#"hmac("sha512", "k", "d")"#)
        .output()
        .code(3)
        .stderr_has("hmac: 'sha512' is not a hash udpsh has; use \"md5\", \"sha1\" or \"sha256\"");
}

#[test]
fn random_values_are_bounded_and_checked() {
    Udpsh::eval(
        r#"for i in 0..200 { let v = random_int(-3, 3); assert(v >= -3 && v <= 3, `${v}`); }
           assert_eq(random_int(7, 7), 7);
           assert_eq(random_bytes(0).len(), 0);
           assert_eq(random_bytes(32).len(), 32);
           assert_ne(random_bytes(16), random_bytes(16));"#,
    )
    .output()
    .success();
    Udpsh::eval("random_int(5, 1)")
        .output()
        .code(3)
        .stderr_has("random_int(5, 1): the low end is above the high end");
    Udpsh::eval("random_bytes(1 << 40)")
        .output()
        .code(3)
        .stderr_has("is over the memory limit");
}

/// Every draw of a script the seed decides: the script's own values and the modules' ids,
/// tokens and branches.
const DRAWS: &str = r#"
import "udpsh/coap" as coap;
import "udpsh/radius" as radius;
import "udpsh/sip" as sip;
print(to_hex(random_bytes(8)));
print(random_int(0, 1000000));
print(to_hex(coap::parse(coap::get("/")).token));
print(radius::parse(radius::request("Access-Request", #{"User-Name": "a"}, "k")).id);
print(sip::parse(sip::request("OPTIONS", "sip:a@127.0.0.1")).headers.via);
print(proxy("127.0.0.1:9").stats().seed);
"#;

#[test]
fn a_seed_repeats_every_draw_and_another_seed_changes_them() {
    let run = |seed: Option<&str>| {
        let mut u = Udpsh::script("draws.rhai", DRAWS);
        if let Some(seed) = seed {
            u = u.args(["--seed", seed]);
        }
        let out = u.output().success().stdout;
        // The draws, without the result lines.
        out.lines()
            .filter(|l| !l.starts_with("ok ") && !l.contains(" passed"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let first = run(Some("7"));
    assert_eq!(first.lines().count(), 6, "{first}");
    assert_eq!(run(Some("7")), first);
    let other = run(Some("8"));
    assert!(
        first.lines().zip(other.lines()).all(|(a, b)| a != b),
        "{first}\n{other}"
    );
    assert_ne!(run(None), run(None));
    // -e and the REPL take it too.
    let e = |seed| {
        Udpsh::new(&["--seed", seed, "-e", "print(to_hex(random_bytes(4)))"])
            .output()
            .success()
            .stdout
    };
    assert_eq!(e("1"), e("1"));
}

/// Each script draws from its own stream: beside another one (-j 2) it draws what it drew
/// alone.
#[test]
fn a_script_draws_the_same_alone_or_beside_others() {
    let alone = Udpsh::script("a.rhai", DRAWS)
        .args(["--seed", "3"])
        .output()
        .success()
        .stdout;
    let together = Udpsh::script("a.rhai", DRAWS)
        .file(
            "b.rhai",
            "for i in 0..50 { random_bytes(8); sleep(0.001); }",
        )
        .file("c.rhai", DRAWS.replace("print(", "print(\"c \" + "))
        .args(["b.rhai", "c.rhai", "--seed", "3", "-j", "3"])
        .output()
        .success()
        .stdout;
    for line in alone
        .lines()
        .filter(|l| !l.starts_with("ok") && !l.contains("passed"))
    {
        assert!(together.contains(line), "{line} missing from\n{together}");
    }
}

#[test]
fn join_makes_text_or_bytes() {
    Udpsh::eval(
        r#"assert_eq(["a", "b", "c"].join(", "), "a, b, c");
           assert_eq([].join(","), "");
           let b = ["GET ", hex("ff 00"), "!"].join("");
           assert_eq(type_of(b), "blob");
           assert_eq(b, hex("47 45 54 20 ff 00 21"));
           assert_eq(["a", "b"].join(hex("00")), hex("61 00 62"));"#,
    )
    .output()
    .success();
    Udpsh::eval(r#"[1, "a"].join(",")"#)
        .output()
        .code(3)
        .stderr_has("join: item 0 (integer) is not a string or a blob");
}
