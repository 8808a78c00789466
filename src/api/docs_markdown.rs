//! The README's API tables, made from the one API table (`api::docs`). `tests/integration/
//! readme.rs` checks that the README holds exactly this text between its markers.

use std::fmt::Write;

use super::docs::{ENTRIES, Entry, Kind, On};

/// Whether an entry belongs to a group.
type Belongs = fn(&Kind) -> bool;

/// The groups in the order the README shows them, with their headings.
const GROUPS: &[(&str, Belongs)] = &[
    ("Functions", |k| *k == Kind::Function),
    ("Sockets: `s.`", |k| is_on(k, On::Socket)),
    ("Datagrams: `d.`", |k| is_on(k, On::Datagram)),
    ("Blobs: `b.`", |k| is_on(k, On::Blob)),
    ("Strings", |k| is_on(k, On::Text)),
    ("Arrays", |k| is_on(k, On::Array)),
    ("Layouts: `layout(...)`", |k| is_on(k, On::Layout)),
    ("Threads: `spawn(...)`", |k| is_on(k, On::Thread)),
    ("Processes: `start(...)`", |k| is_on(k, On::Process)),
    ("Proxies: `proxy(...)`", |k| is_on(k, On::Proxy)),
    ("Load results: `load(...)`", |k| is_on(k, On::Load)),
    ("Protocol modules: `import \"udpsh/NAME\" as NAME`", |k| {
        matches!(k, Kind::Module(_))
    }),
];

fn is_on(kind: &Kind, on: On) -> bool {
    matches!(kind, Kind::Method(o) | Kind::Property(o) if *o == on)
}

/// Every entry, grouped; an entry whose signature repeats the one before it (a name that
/// is a function and a field) shows once.
pub fn api_tables() -> String {
    let mut out = String::new();
    for (heading, belongs) in GROUPS {
        let entries: Vec<&Entry> = ENTRIES.iter().filter(|e| belongs(&e.kind)).collect();
        if entries.is_empty() {
            continue;
        }
        let _ = writeln!(out, "#### {heading}\n\n| call | does |\n| --- | --- |");
        let mut last = "";
        for e in entries {
            if e.signature == last {
                continue;
            }
            last = e.signature;
            let _ = writeln!(out, "| {} | {} |", code(e.signature), cell(e.summary));
        }
        out.push('\n');
    }
    out
}

/// Every error kind a script can catch (`e.kind`), with what it means.
pub fn error_kinds() -> String {
    let mut out = String::from("| `e.kind` | means |\n| --- | --- |\n");
    for kind in crate::kind::ErrorKind::ALL {
        let _ = writeln!(out, "| `{}` | {} |", kind.as_str(), cell(kind.describe()));
    }
    out
}

/// `a / b` forms as code spans, `|` escaped for the table.
fn code(signature: &str) -> String {
    signature
        .split(" / ")
        .map(|form| format!("`{}`", form.trim().replace('|', "\\|")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_in_a_group() {
        for e in ENTRIES {
            assert!(
                GROUPS.iter().any(|(_, belongs)| belongs(&e.kind)),
                "{} ({:?}) is in no README group",
                e.name,
                e.kind
            );
        }
        let tables = api_tables();
        assert!(tables.contains("| `udp()`"), "{tables}");
    }
}
