//! How the REPL shows a value: a datagram as text plus sender (with a hexdump when binary),
//! anything else in Rhai's debug form. Every byte from the network is escaped here.

use rhai::{Array, Blob, Dynamic, FnPtr, ImmutableString, Map};

use crate::api::{Datagram, ScriptLayout, Sock, SpawnHandle};
use crate::display;

use super::keys::KeyOrders;

/// Longest array or map shown in full.
const MAX_ITEMS: usize = 100;
/// Blobs longer than this get a hexdump below their first bytes.
const SHORT_BLOB: usize = 32;

/// What the REPL prints for a result; `None` for `()`. Map keys come in the order they
/// were written, when `orders` knows it.
pub fn result(value: &Dynamic, orders: &KeyOrders) -> Option<String> {
    if value.is_unit() {
        return None;
    }
    if let Some(d) = value.read_lock::<Datagram>() {
        return Some(datagram(&d));
    }
    if let Some(s) = value.read_lock::<ImmutableString>() {
        // Multi-line text (a hexdump, a file) reads better as itself than quoted.
        if s.trim_end().contains('\n') {
            return Some(display::terminal_safe(s.trim_end()).into_owned());
        }
    }
    if let Some(b) = value.read_lock::<Blob>()
        && b.len() > SHORT_BLOB
    {
        return Some(format!("{}\n{}", blob(&b), display::hexdump(&b).trim_end()));
    }
    Some(debug(value, orders))
}

/// A datagram on one line, then its hexdump when it is not plain text.
pub fn datagram(d: &Datagram) -> String {
    let mut out = datagram_line(d);
    if !d.data.is_empty() && display::as_text(&d.data).is_none() {
        out.push('\n');
        out.push_str(display::hexdump(&d.data).trim_end());
    }
    out
}

/// `"Hello" from 127.0.0.1:5000 (5 bytes)`: UTF-8 as text with control characters escaped
/// (`\x1b[2J`), anything else as hex.
pub fn datagram_line(d: &Datagram) -> String {
    let payload = match std::str::from_utf8(&d.data) {
        Ok(text) => display::quoted(text),
        Err(_) => display::payload_summary(&d.data),
    };
    let cut = if d.truncated() {
        format!(", truncated to {}", d.data.len())
    } else {
        String::new()
    };
    format!("{payload} from {} ({}{cut})", d.from, bytes(d.len))
}

pub fn socket(s: &Sock) -> String {
    let closed = if s.net().is_closed() { " closed" } else { "" };
    match s.local_addr() {
        Some(addr) => format!("socket({addr}{closed})"),
        None => format!("socket(unbound{closed})"),
    }
}

/// `1 byte`, `2 bytes`.
pub fn bytes(n: usize) -> String {
    plural(n as u64, "byte", "bytes")
}

pub use crate::display::plural;

/// One-line debug form, recursing into arrays and maps.
pub fn debug(value: &Dynamic, orders: &KeyOrders) -> String {
    if let Some(s) = value.read_lock::<ImmutableString>() {
        return display::quoted(&s);
    }
    if let Some(b) = value.read_lock::<Blob>() {
        return blob(&b);
    }
    if let Some(d) = value.read_lock::<Datagram>() {
        return datagram_line(&d);
    }
    if let Some(s) = value.read_lock::<Sock>() {
        return socket(&s);
    }
    if let Some(h) = value.read_lock::<SpawnHandle>() {
        return format!("thread({})", display::terminal_safe(h.name()));
    }
    if let Some(a) = value.read_lock::<Array>() {
        return items("[", "]", a.iter().map(|v| debug(v, orders)), a.len());
    }
    if let Some(m) = value.read_lock::<Map>() {
        let keys: Vec<&str> = m.keys().map(|k| k.as_str()).collect();
        let shown = orders.arrange(&keys).into_iter().map(|k| {
            let v = m.get(k).map_or_else(String::new, |v| debug(v, orders));
            format!("{}: {v}", display::quoted(k))
        });
        return items("#{", "}", shown, m.len());
    }
    if let Some(l) = value.read_lock::<ScriptLayout>() {
        return format!("layout({})", display::quoted(&l.0.text));
    }
    if let Some(f) = value.read_lock::<FnPtr>() {
        return if f.is_anonymous() {
            "closure".to_string()
        } else {
            format!("Fn({})", display::quoted(f.fn_name()))
        };
    }
    let shown = format!("{:?}", value.flatten_clone());
    // A type of ours with no form of its own (Rhai shows its Rust path): its plain name.
    if shown.starts_with("udpsh::") {
        return crate::api::forms::value_word(value);
    }
    display::terminal_safe(&shown).into_owned()
}

fn items(open: &str, close: &str, shown: impl Iterator<Item = String>, len: usize) -> String {
    let mut parts: Vec<String> = shown.take(MAX_ITEMS).collect();
    if len > MAX_ITEMS {
        parts.push(format!("… {} more", len - MAX_ITEMS));
    }
    format!("{open}{}{close}", parts.join(", "))
}

fn blob(b: &[u8]) -> String {
    let mut hex = display::spaced_hex(&b[..b.len().min(SHORT_BLOB)]);
    if b.len() > SHORT_BLOB {
        hex.push_str(" …");
    }
    format!("blob[{}] <{hex}>", b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_and_escaped() {
        let v = Dynamic::from("a\x1b[2Jb");
        assert_eq!(result(&v, &KeyOrders::default()).unwrap(), "\"a\\x1b[2Jb\"");
        let v = Dynamic::from("line\n\x1b]0;x\x07\n");
        assert_eq!(
            result(&v, &KeyOrders::default()).unwrap(),
            "line\n\\x1b]0;x\\x07"
        );
    }

    #[test]
    fn unit_prints_nothing_and_containers_recurse() {
        assert_eq!(result(&Dynamic::UNIT, &KeyOrders::default()), None);
        let a: Array = vec![
            Dynamic::from(1_i64),
            Dynamic::from("x"),
            Dynamic::from_blob(vec![0x48, 0xff]),
        ];
        assert_eq!(
            result(&Dynamic::from_array(a), &KeyOrders::default()).unwrap(),
            "[1, \"x\", blob[2] <48 ff>]"
        );
    }

    #[test]
    fn our_types_in_plain_words_even_when_shared() {
        let engine = crate::api::compiler();
        let mut scope = rhai::Scope::new();
        let value: Dynamic = engine
            .eval_with_scope(
                &mut scope,
                "let hdr = layout(\"!H type\"); let f = |d| hdr.unpack(d); [hdr, f]",
            )
            .unwrap();
        assert_eq!(
            debug(&value, &KeyOrders::default()),
            "[layout(\"!H type\"), closure]"
        );
        let shared = scope.get("hdr").unwrap();
        assert!(shared.is_shared());
        assert_eq!(crate::api::forms::value_word(shared), "layout");
        assert_eq!(debug(shared, &KeyOrders::default()), "layout(\"!H type\")");
    }

    #[test]
    fn binary_datagrams_get_a_hexdump() {
        let d = Datagram {
            data: vec![0x1b, b'[', b'2', b'J'],
            len: 4,
            from: "127.0.0.1:9".parse().unwrap(),
            ..Datagram::default()
        };
        let shown = result(&Dynamic::from(d), &KeyOrders::default()).unwrap();
        assert!(
            shown.starts_with("\"\\x1b[2J\" from 127.0.0.1:9 (4 bytes)\n0000:"),
            "{shown}"
        );
        assert!(!shown.contains('\x1b'));
        let d = Datagram {
            data: vec![0xff, 0x1b],
            len: 9,
            from: "127.0.0.1:9".parse().unwrap(),
            ..Datagram::default()
        };
        let shown = result(&Dynamic::from(d), &KeyOrders::default()).unwrap();
        assert!(
            shown.starts_with("<ff 1b> from 127.0.0.1:9 (9 bytes, truncated to 2)\n"),
            "{shown}"
        );
    }
}
