//! `:help`: the API table of `api::docs` (entries and topics), the error kinds and the
//! command line, rendered for the terminal, wrapped to its width.

use crate::api::docs::{ENTRIES, Entry, Kind, On, TOPICS, Topic, lookup};
use crate::kind::ErrorKind;

/// The width to wrap help to: the terminal's (at most 100), else `$COLUMNS`, else 88.
pub fn width() -> usize {
    let cols = terminal_columns()
        .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
        .unwrap_or(88);
    cols.clamp(40, 100)
}

fn terminal_columns() -> Option<usize> {
    // SAFETY: TIOCGWINSZ only writes a winsize into the struct given.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// The entries for `name`: `recvfrom`, `s.recvfrom`, `recvfrom()`, `dns::ask`.
pub fn entries(name: &str) -> Vec<&'static Entry> {
    let name = name.trim().trim_end_matches("()").trim_end_matches('(');
    if let Some((module, f)) = name.split_once("::") {
        return ENTRIES
            .iter()
            .filter(|e| e.name == f && e.kind == Kind::Module(leak_module(module)))
            .collect();
    }
    let name = name.rsplit('.').next().unwrap_or(name);
    lookup(name)
}

/// The module names the table knows, so `Kind::Module(&'static str)` can be compared.
fn leak_module(module: &str) -> &'static str {
    ENTRIES
        .iter()
        .find_map(|e| match e.kind {
            Kind::Module(m) if m == module => Some(m),
            _ => None,
        })
        .unwrap_or("")
}

/// `:help NAME`.
pub fn describe(name: &str, width: usize) -> Option<String> {
    let found = entries(name);
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
        out.push_str(&wrap(e.summary, width, 2));
        out.push_str("\n  example:\n");
        out.push_str(&indent(&indent(e.example)));
        out.push('\n');
    }
    Some(out.trim_end().to_string())
}

pub fn topic(name: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.name == name)
}

/// `:help TOPIC`.
pub fn describe_topic(t: &Topic, width: usize) -> String {
    let mut out = String::new();
    for line in t.text.lines() {
        let lead = line.len() - line.trim_start().len();
        out.push_str(&" ".repeat(lead));
        out.push_str(&wrap(line.trim_start(), width, lead.max(2).min(lead + 2)));
        out.push('\n');
    }
    if t.name == "errors" {
        for kind in ErrorKind::ALL {
            let name = format!("  {:<19}", kind.as_str());
            out.push_str(&name);
            out.push_str(&wrap(kind.describe(), width, name.len()));
            out.push('\n');
        }
    }
    out.trim_end().to_string()
}

/// `:help x` for a variable: what its type has, from the API table (one line each) and
/// Rhai's own methods of the type, and the topic about it.
pub fn describe_type(word: &str, width: usize) -> String {
    let on = crate::api::explain::on_of(word);
    let mut lines = Vec::new();
    let mut documented: Vec<&str> = Vec::new();
    for e in ENTRIES {
        let of_type = matches!(e.kind, Kind::Method(o) | Kind::Property(o) if Some(o) == on);
        if !of_type || documented.contains(&e.name) {
            continue;
        }
        documented.push(e.name);
        let first = e.signature.split("   (").next().unwrap_or(e.signature);
        let first = first.split(" / ").next().unwrap_or(first);
        lines.push(one_line_fit(&format!("  {first}"), e.summary, width));
    }
    // Rhai's own methods of the type; not the API's functions that take it first
    // (`udp("...")`), nor what every value has.
    let function = |name: &str| {
        ENTRIES
            .iter()
            .any(|e| e.name == name && e.kind == Kind::Function)
    };
    let rhai: Vec<&str> = crate::api::forms::members(word)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| !documented.contains(name) && !function(name))
        .filter(|name| !EVERY_VALUE.contains(name))
        .collect();
    let a = if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    let mut out = String::new();
    if !lines.is_empty() {
        out.push_str(&format!(
            "What {a} {word} has (:help NAME for one):\n{}",
            lines.join("\n")
        ));
    }
    if !rhai.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!(
            "Rhai's own {word} methods:\n  {}",
            wrap(&rhai.join(" "), width, 2)
        ));
    }
    let topic = match word {
        "blob" => Some("blob"),
        "string" => Some("strings"),
        "array" => Some("arrays"),
        "layout" => Some("pack"),
        _ => None,
    };
    if let Some(t) = topic {
        out.push_str(&format!("\n:help {t} tells more"));
    }
    if out.is_empty() {
        out = format!("{a} {word} has no methods of its own");
    }
    out
}

/// `:help WORD` when WORD names nothing: every entry, topic, error kind, command-line
/// option and meta-command that mentions it, best first (the name itself, the word in a
/// name, a name containing it, the word in a text, any text containing it), at most
/// [`SEARCH_SHOWN`] of them.
pub fn search(word: &str, width: usize) -> Option<String> {
    let w = word.to_lowercase();
    if w.len() < 2 {
        return None;
    }
    // (rank, line): the lower, the better; None when it does not match.
    let rank = |name: &str, text: &str| -> Option<usize> {
        let name = name.to_lowercase();
        let text = text.to_lowercase();
        let parts = |s: &str| -> bool {
            s.split(|c: char| !c.is_alphanumeric() && c != '-')
                .any(|part| part == w)
        };
        if name.trim_start_matches([':', '-']) == w {
            Some(0)
        } else if parts(&name) {
            Some(1)
        } else if w.len() >= 4 && name.contains(&w) {
            Some(2)
        } else if parts(&text) {
            Some(3)
        } else if text.contains(&w) {
            Some(4)
        } else {
            None
        }
    };
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut seen = Vec::new();
    for e in ENTRIES {
        let key = (e.name, e.kind);
        if seen.contains(&key) {
            continue;
        }
        let text = format!("{} {}", e.signature, e.summary);
        let Some(r) = rank(e.name, &text) else {
            continue;
        };
        seen.push(key);
        let first = e.signature.split("   (").next().unwrap_or(e.signature);
        let first = first.split(" / ").next().unwrap_or(first);
        found.push((r, one_line_fit(&format!("  {first}"), e.summary, width)));
    }
    for (name, what) in REPL_WORDS {
        if let Some(r) = rank(name, what) {
            found.push((r, one_line_fit(&format!("  {name}"), what, width)));
        }
    }
    for kind in ErrorKind::ALL {
        if let Some(r) = rank(kind.as_str(), kind.describe()) {
            let head = format!("  kind {}", kind.as_str());
            found.push((r, one_line_fit(&head, kind.describe(), width)));
        }
    }
    for (flag, command, help) in options() {
        if let Some(r) = rank(&flag, &help) {
            let head = format!("  {flag} (udpsh {command})");
            found.push((r, one_line_fit(&head, &help, width)));
        }
    }
    for t in TOPICS {
        if let Some(r) = rank(t.name, t.text) {
            let head = format!("  :help {}", t.name);
            found.push((r, one_line_fit(&head, t.summary, width)));
        }
    }
    for (cmd, what) in super::commands::HELP {
        let name = cmd.split_whitespace().next().unwrap_or(cmd);
        if let Some(r) = rank(name, &format!("{cmd} {what}")) {
            found.push((r, one_line_fit(&format!("  {cmd}"), what, width)));
        }
    }
    if found.is_empty() {
        return None;
    }
    // Stable: within a rank, the order above.
    found.sort_by_key(|(r, _)| *r);
    let total = found.len();
    let mut lines: Vec<String> = found
        .into_iter()
        .take(SEARCH_SHOWN)
        .map(|(_, l)| l)
        .collect();
    if total > SEARCH_SHOWN {
        lines.push(format!(
            "  … and {} more (a longer word finds fewer)",
            total - SEARCH_SHOWN
        ));
    }
    Some(format!("'{word}' appears in:\n{}", lines.join("\n")))
}

/// Methods every value has, left out of a type's list.
const EVERY_VALUE: &[&str] = &[
    "to_debug",
    "to_string",
    "debug",
    "print",
    "get_fn_metadata_list",
];

/// How many matches `:help WORD` shows.
pub const SEARCH_SHOWN: usize = 10;

/// Words of the REPL itself that are not in the API table.
const REPL_WORDS: &[(&str, &str)] = &[(
    "it",
    "the REPL's last result (an input ending in ; leaves it as it was)",
)];

/// `--timeout` and the other options of each subcommand: (flag, command, help).
fn options() -> Vec<(String, String, String)> {
    use clap::CommandFactory;
    let cli = crate::cli::Cli::command();
    let mut out: Vec<(String, String, String)> = Vec::new();
    for sub in cli.get_subcommands() {
        for arg in sub.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let flag = format!("--{long}");
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            if let Some(existing) = out.iter_mut().find(|(f, _, _)| *f == flag) {
                existing.1.push_str(&format!("/{}", sub.get_name()));
            } else {
                out.push((flag, sub.get_name().to_string(), help));
            }
        }
    }
    out
}

/// `head  text` on one line, the text cut to the width.
fn one_line_fit(head: &str, text: &str, width: usize) -> String {
    let head_len = head.chars().count();
    let pad = if head_len < 28 { 28 - head_len } else { 2 };
    let room = width.saturating_sub(head_len + pad).max(10);
    let mut text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > room {
        text = text
            .chars()
            .take(room.saturating_sub(1))
            .collect::<String>()
            + "…";
    }
    format!("{head}{}{text}", " ".repeat(pad))
}

/// A name close to `word`, for "no help for X; did you mean Y?".
pub fn nearest(word: &str) -> Option<&'static str> {
    let names = ENTRIES
        .iter()
        .map(|e| e.name)
        .chain(TOPICS.iter().map(|t| t.name));
    crate::api::forms::nearest(word, names)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Words of `text` in lines of at most `width` columns, for text that starts at column
/// `indent`; later lines are indented as much.
pub fn wrap(text: &str, width: usize, indent: usize) -> String {
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

/// `:help`. `tab` says whether the terminal completes with Tab (not under TERM=dumb).
pub fn overview(width: usize, tab: bool) -> String {
    let names = |kinds: &[Kind]| {
        let mut all: Vec<&str> = Vec::new();
        for e in ENTRIES.iter().filter(|e| kinds.contains(&e.kind)) {
            if !all.contains(&e.name) {
                all.push(e.name);
            }
        }
        all.join(" ")
    };
    let modules = {
        let mut all: Vec<&str> = Vec::new();
        for e in ENTRIES {
            if let Kind::Module(m) = e.kind
                && !all.contains(&m)
            {
                all.push(m);
            }
        }
        all.iter()
            .map(|m| format!("udpsh/{m}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let topics: Vec<&str> = TOPICS.iter().map(|t| t.name).collect();
    let meta: Vec<String> = super::commands::HELP
        .iter()
        .map(|(cmd, what)| format!("  {cmd:<24}{}", wrap(what, width, 26)))
        .collect();
    let keys = if tab {
        "Keys: Tab completes (methods by the value's type, file names in read_file(\"), → accepts \
         a hint, ↑ history, Ctrl-R search, Ctrl-C cancels a running line or clears the input, \
         Ctrl-D exits."
    } else {
        "Keys: this terminal (TERM=dumb) has no line editing: no completion, hints or history \
         keys. Ctrl-C cancels a running line, Ctrl-D exits."
    };
    let para = |text: &str| wrap(text, width, 0);
    let row = |head: &str, text: &str| format!("  {head:<14}{}", wrap(text, width, 16));
    [
        para(
            "Rhai with UDP. Every input runs at once; variables, sockets and functions stay. \
             A result is printed unless the input ends with `;`; `it` is the last result. \
             Input [3] is <repl>#3 in errors and capture comments.",
        ),
        row("functions:", &names(&[Kind::Function])),
        row(
            "socket s.:",
            &names(&[Kind::Method(On::Socket), Kind::Property(On::Socket)]),
        ),
        row(
            "datagram d.:",
            &names(&[Kind::Property(On::Datagram), Kind::Method(On::Datagram)]),
        ),
        row(
            "blob b.:",
            &names(&[Kind::Method(On::Blob), Kind::Property(On::Blob)]),
        ),
        row("modules:", &format!("{modules} (:help modules)")),
        row(":help NAME", "signature and example, e.g. :help recvfrom"),
        row(":help TOPIC", &topics.join(", ")),
        row(
            ":help WORD",
            "everything that mentions it, e.g. :help timeout",
        ),
        String::new(),
        "Meta-commands:".into(),
        meta.join("\n"),
        String::new(),
        para(keys),
        para(
            "An unfinished input (an open `{`, `(` or `` `backtick` `` string) continues at `...>`; two empty \
             lines send it as it is.",
        ),
        String::new(),
        "Try:".into(),
        "  let s = udp(\"127.0.0.1:0\");".into(),
        "  s.sendto(\"hello\", \"127.0.0.1:9000\");".into(),
        "  s.recvfrom(1024)".into(),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_name_has_help() {
        for e in ENTRIES {
            assert!(describe(e.name, 88).is_some(), "no :help for {}", e.name);
        }
        assert!(describe("dns::ask", 88).unwrap().starts_with("dns::ask("));
        assert!(
            describe("s.recvfrom()", 88)
                .unwrap()
                .starts_with("s.recvfrom(")
        );
    }

    #[test]
    fn hints_show_the_first_form() {
        let params = |name| lookup(name)[0].params().unwrap();
        assert_eq!(params("recvfrom"), "bufsize) → datagram");
        assert_eq!(params("sendto"), "data, \"host:port\") → int");
        assert_eq!(params("sleep"), "seconds)");
    }

    #[test]
    fn recvfrom_has_signature_and_example() {
        let text = describe("recvfrom", 88).unwrap();
        assert!(text.starts_with("s.recvfrom(bufsize)"), "{text}");
        assert!(
            text.contains("example:\n    let d = s.recvfrom(1024);"),
            "{text}"
        );
    }

    #[test]
    fn topics_cover_what_the_issue_asks() {
        for name in [
            "blob", "pack", "errors", "try", "strings", "arrays", "modules",
        ] {
            assert!(topic(name).is_some(), "no topic {name}");
        }
        let errors = describe_topic(topic("errors").unwrap(), 88);
        let flat = errors.split_whitespace().collect::<Vec<_>>().join(" ");
        for kind in ErrorKind::ALL {
            assert!(flat.contains(kind.describe()), "{kind} missing:\n{errors}");
        }
    }

    #[test]
    fn search_finds_names_kinds_and_options() {
        let found = search("timeout", 100).unwrap();
        for want in [
            "s.settimeout(",
            "s.gettimeout(",
            "kind timeout",
            "--timeout (udpsh",
        ] {
            assert!(found.contains(want), "{want} missing:\n{found}");
        }
    }

    #[test]
    fn search_puts_whole_words_first_and_shows_ten() {
        let found = search("it", 100).unwrap();
        let lines: Vec<&str> = found.lines().collect();
        assert_eq!(lines.len(), 1 + SEARCH_SHOWN + 1, "{found}");
        assert!(lines[1].starts_with("  it "), "{found}");
        assert!(lines[SEARCH_SHOWN + 1].contains("more"), "{found}");
        // No name that merely contains the letters (split, write_file) before whole words.
        assert!(
            !lines[1..=SEARCH_SHOWN].iter().any(|l| l.contains("split(")),
            "{found}"
        );
    }

    #[test]
    fn a_type_lists_what_it_has() {
        let socket = describe_type("socket", 100);
        assert!(socket.starts_with("What a socket has"), "{socket}");
        assert!(socket.contains("  s.recvfrom(bufsize)"), "{socket}");
        let datagram = describe_type("datagram", 100);
        assert!(datagram.contains("d.port"), "{datagram}");
        let text = describe_type("string", 100);
        assert!(
            text.contains("to_upper") && text.contains(":help strings"),
            "{text}"
        );
    }

    #[test]
    fn help_fits_the_width() {
        for width in [40, 60, 100] {
            for line in overview(width, true).lines() {
                assert!(line.chars().count() <= width, "{width}: {line}");
            }
        }
    }
}
