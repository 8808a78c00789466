//! `:help`: the API table of `api::docs`, rendered for the terminal.

use crate::api::docs::{ENTRIES, Kind, On, lookup};

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
        names(&[Kind::Function], ""),
        names(&[Kind::Method(On::Socket), Kind::Property(On::Socket)], ""),
        names(
            &[Kind::Property(On::Datagram), Kind::Method(On::Datagram)],
            "port"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_name_has_help() {
        for e in ENTRIES {
            assert!(describe(e.name).is_some(), "no :help for {}", e.name);
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
