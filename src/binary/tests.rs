//! Vectors made once by Python's own `struct` (fixtures/binary/gen_vectors.py), and the
//! places where udpsh departs from it on purpose (errors instead of silent cuts).

use serde_json::Value as Json;

use super::{Format, Layout, Value};

const VECTORS: &str = include_str!("../../fixtures/binary/vectors.json");

fn value(j: &Json) -> Value {
    match j {
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Int(n.as_i64().expect("vector ints fit i64")),
        Json::Object(o) if o.contains_key("float") => {
            Value::Float(o["float"].as_str().unwrap().parse().unwrap())
        }
        Json::Object(o) => Value::Bytes(hex(o["bytes"].as_str().unwrap())),
        other => panic!("bad vector value {other}"),
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Floats compared by bits, so -0.0 and 0.0 differ as Python's bytes do.
fn same(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Value::Float(p), Value::Float(q)) => p.to_bits() == q.to_bits(),
            _ => x == y,
        })
}

/// udpsh's spellings of a Python format: "!" is also the default, "=" also "@".
fn spellings(fmt: &str) -> Vec<String> {
    let mut all = vec![fmt.to_string()];
    if let Some(body) = fmt.strip_prefix('!') {
        all.push(body.to_string());
    }
    if let Some(body) = fmt.strip_prefix('=') {
        all.push(format!("@{body}"));
    }
    all
}

#[test]
fn python_struct_vectors() {
    let all: Json = serde_json::from_str(VECTORS).unwrap();
    let vectors = all["vectors"].as_array().unwrap();
    assert!(vectors.len() > 500);
    for v in vectors {
        let values: Vec<Value> = v["values"].as_array().unwrap().iter().map(value).collect();
        let unpacked: Vec<Value> = v["unpacked"]
            .as_array()
            .unwrap()
            .iter()
            .map(value)
            .collect();
        let bytes = hex(v["hex"].as_str().unwrap());
        for fmt in spellings(v["fmt"].as_str().unwrap()) {
            let f = Format::parse(&fmt).unwrap_or_else(|e| panic!("{fmt}: {e}"));
            assert_eq!(
                f.size() as u64,
                v["size"].as_u64().unwrap(),
                "calcsize {fmt}"
            );
            let packed = f.pack(&values).unwrap_or_else(|e| panic!("{fmt}: {e}"));
            assert_eq!(packed, bytes, "pack {fmt} {values:?}");
            let back = f.unpack(&bytes).unwrap();
            assert!(
                same(&back, &unpacked),
                "unpack {fmt}: {back:?} vs {unpacked:?}"
            );
        }
    }
}

#[test]
fn python_struct_errors() {
    let all: Json = serde_json::from_str(VECTORS).unwrap();
    for v in all["errors"].as_array().unwrap() {
        let values: Vec<Value> = v["values"].as_array().unwrap().iter().map(value).collect();
        for fmt in spellings(v["fmt"].as_str().unwrap()) {
            let f = Format::parse(&fmt).unwrap();
            assert!(f.pack(&values).is_err(), "{fmt} {values:?} should fail");
        }
    }
}

fn message<T: std::fmt::Debug>(r: super::Result<T>) -> String {
    r.expect_err("should fail").0
}

#[test]
fn errors_say_what_was_expected() {
    let f = Format::parse("!HH").unwrap();
    assert_eq!(
        message(f.unpack(&[0; 3])),
        "unpack(\"!HH\") needs 4 bytes, got 3"
    );
    assert_eq!(
        message(f.pack(&[Value::Int(1)])),
        "pack(\"!HH\") takes 2 values, got 1"
    );
    let b = Format::parse("B").unwrap();
    assert_eq!(
        message(b.pack(&[Value::Int(300)])),
        "pack(\"B\"): value 1: 300 is out of range for 'B' (0 to 255)"
    );
    assert!(message(Format::parse("!Hz")).contains("unknown code 'z'"));
    assert!(message(Format::parse("H!")).contains("may only come first"));
    assert!(message(Format::parse("3")).contains("no code after it"));
    assert!(message(Format::parse("n")).contains("no standard size"));
    let s = Format::parse("4s").unwrap();
    assert!(
        message(s.pack(&[Value::Bytes(b"hello".to_vec())])).contains("nothing is cut silently")
    );
    assert!(message(b.pack(&[Value::Float(1.0)])).contains("takes an integer, not a float"));
    let q = Format::parse("Q").unwrap();
    assert!(message(q.unpack(&[0xff; 8])).contains("larger than a script integer"));
    let from = Format::parse("!I").unwrap();
    assert_eq!(
        message(from.unpack_from(&[0; 6], 4)),
        "unpack_from(\"!I\", offset 4) needs 4 bytes from there, the blob has 2 (of 6)"
    );
    assert!(from.unpack_from(&[0; 6], 9).is_err());
}

#[test]
fn unpack_from_reads_inside_a_longer_blob() {
    let f = Format::parse("!H").unwrap();
    assert_eq!(
        f.unpack_from(&[9, 9, 0x12, 0x34, 9], 2).unwrap(),
        vec![Value::Int(0x1234)]
    );
    assert_eq!(Format::parse("").unwrap().size(), 0);
    assert_eq!(Format::parse("!HHI").unwrap().size(), 8);
    assert_eq!(Format::parse(" 3H  4s ").unwrap().values(), 4);
}

#[test]
fn layouts_name_their_fields() {
    let l = Layout::parse("!H type, I seq, 2x, 8s tag").unwrap();
    assert_eq!(l.size(), 16);
    let get = |name: &str| match name {
        "type" => Some(vec![Value::Int(258)]),
        "seq" => Some(vec![Value::Int(1000)]),
        "tag" => Some(vec![Value::Bytes(b"pos".to_vec())]),
        _ => None,
    };
    let bytes = l.pack(["type", "seq", "tag"], get).unwrap();
    assert_eq!(bytes, hex("0102000003e80000706f730000000000"));
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"more");
    let (fields, rest) = l.unpack(&longer).unwrap();
    assert_eq!(fields[0].0, "type");
    assert_eq!(fields[0].2, vec![Value::Int(258)]);
    assert_eq!(fields[2].2, vec![Value::Bytes(b"pos\0\0\0\0\0".to_vec())]);
    assert_eq!(rest, b"more");
    assert_eq!(
        message(l.unpack(&bytes[..10])),
        "layout(\"!H type, I seq, 2x, 8s tag\") needs 16 bytes, got 10"
    );
    let partial = |name: &str| (name == "type").then(|| vec![Value::Int(1)]);
    assert!(message(l.pack(["type"], partial)).contains("missing field 'seq'"));
    assert!(message(l.pack(["type", "bogus"], get)).contains("has no field 'bogus'"));
}

#[test]
fn layout_syntax_errors_name_the_field() {
    assert!(message(Layout::parse("!H type, I")).contains("field 2 (\"I\") needs a name"));
    assert!(message(Layout::parse("H a, H a")).contains("two fields are named 'a'"));
    assert!(message(Layout::parse("H rest")).contains("kept for the bytes after"));
    assert!(message(Layout::parse("HH a")).contains("one code and a name"));
    assert!(message(Layout::parse("H 1a")).contains("not a field name"));
    let many = Layout::parse("<3H ids, B n").unwrap();
    assert!(many.fields[0].many && !many.fields[1].many);
    assert_eq!(many.size(), 7);
}

#[test]
fn formats_and_layouts_share_one_size_cap() {
    let fields: Vec<String> = (0..200).map(|i| format!("16777216s f{i}")).collect();
    let e = Layout::parse(&fields.join(", ")).unwrap_err();
    assert!(e.0.contains("more than 16777216 bytes"), "{}", e.0);
    let e = Format::parse(&"16777216s".repeat(200)).unwrap_err();
    assert!(e.0.contains("more than 16777216 bytes"), "{}", e.0);
    // Each part alone fits; the cap is on the whole.
    assert!(Layout::parse("16777216s a").is_ok());
    assert!(Layout::parse("8388608s a, 8388609s b").is_err());
    assert_eq!(
        Layout::parse("8388608s a, 8388608s b").unwrap().size(),
        1 << 24
    );
}
