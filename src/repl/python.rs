//! Habits from Python's REPL and its socket tutorials, met with a one-line hint instead of a
//! bare error: `help()`, `x?`, `exit`, `import socket`, `data, addr = s.recvfrom(1024)`.
//! (Hints for errors every script can meet — `None`, `.encode()` — are in `api::explain`.)

/// What to do with an input instead of running it.
#[derive(Debug, PartialEq)]
pub enum Instead {
    /// Show `:help NAME` (or the overview for ""), after a hint line.
    Help { name: String, hint: &'static str },
    /// Leave the REPL.
    Quit,
    /// Only print this line.
    Hint(String),
}

/// Inputs that are Python, not Rhai, recognised before they run. `defined` says whether a
/// name is a variable or function of the session (then it is the user's, and runs).
pub fn instead(input: &str, defined: impl Fn(&str) -> bool) -> Option<Instead> {
    let text = input.trim().trim_end_matches(';').trim();
    if text.contains('\n') {
        return None;
    }
    if let Some(call) = text.strip_prefix("help")
        && !defined("help")
    {
        let call = call.trim();
        if call.is_empty() {
            return Some(Instead::Help {
                name: String::new(),
                hint: "(help is :help here; :help NAME or :help TOPIC for more)",
            });
        }
        if let Some(arg) = call.strip_prefix('(').and_then(|c| c.strip_suffix(')')) {
            let name = arg.trim().trim_matches(|c| c == '"' || c == '\'');
            if name.is_empty() {
                return Some(Instead::Help {
                    name: String::new(),
                    hint: "(help is :help here; :help NAME or :help TOPIC for more)",
                });
            }
            return Some(Instead::Help {
                name: name.to_string(),
                hint: "(help(x) is :help x here)",
            });
        }
    }
    if let Some(name) = text.strip_suffix('?')
        && !name.is_empty()
        && !name.ends_with('?')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == ':')
    {
        return Some(Instead::Help {
            name: name.to_string(),
            hint: "(x? is :help x here)",
        });
    }
    match text {
        "exit()" | "quit()" if !defined("exit") && !defined("quit") => return Some(Instead::Quit),
        "exit" | "quit" if !defined(text) => {
            return Some(Instead::Hint(
                "to leave: :quit, Ctrl-D or exit()".to_string(),
            ));
        }
        _ => {}
    }
    if let Some(module) = text
        .strip_prefix("import ")
        .or_else(|| text.strip_prefix("from "))
        .map(|m| m.split_whitespace().next().unwrap_or(""))
        && !module.starts_with('"')
        && !module.starts_with('`')
    {
        return Some(Instead::Hint(import_hint(module).to_string()));
    }
    None
}

fn import_hint(module: &str) -> &'static str {
    match module.trim_end_matches(',') {
        "socket" => "no import needed: udp() makes a UDP socket, e.g. let s = udp(\"127.0.0.1:0\")",
        "struct" => "no import needed: pack, unpack and calcsize are built in (:help pack)",
        "time" => "no import needed: sleep(seconds) and now() are built in",
        "select" => "no import needed: select([a, b], 1.0) is built in",
        _ => "import takes a quoted path: import \"udpsh/dns\" as dns; (:help modules)",
    }
}

/// A hint for an input that failed, when it looks like Python.
pub fn after_failure(input: &str) -> Option<String> {
    hint_for(input).map(|h| match assignment_target(input.trim()) {
        Some(name) if h.starts_with(NEEDS_LET) => {
            format!("a new variable needs let: let {name} = ... (then {name} = ... changes it)")
        }
        _ => h.to_string(),
    })
}

const NEEDS_LET: &str = "a new variable needs let";

fn hint_for(input: &str) -> Option<&'static str> {
    let text = input.trim();
    let first = text.lines().next().unwrap_or("");
    if tuple_assignment(first) {
        return Some(
            "Rhai has no tuple unpacking: let d = s.recvfrom(1024); then d.data and d.addr (or d[0], d[1])",
        );
    }
    if first.starts_with("print ") && !first.starts_with("print (") {
        return Some("print is a function here: print(\"text\")");
    }
    if first.starts_with("def ") {
        return Some("functions are written fn name(x) { ... } (a closure: |x| x + 1)");
    }
    if first.starts_with("b\"") || first.contains(" b\"") || first.contains("(b\"") {
        return Some(
            "bytes are blobs: \"text\".to_blob(), hex(\"01 02\"), or send the string as is",
        );
    }
    if first.starts_with("while True") || first.starts_with("if True") {
        return Some("Rhai writes true, and braces: while true { ... }");
    }
    let keyword = first.split_whitespace().next().unwrap_or("");
    if first.trim_end().ends_with(':')
        && matches!(
            keyword,
            "if" | "elif" | "else" | "for" | "while" | "try" | "except"
        )
    {
        return Some("blocks are in braces, not after a colon: if x == () { ... } else { ... }");
    }
    if tuple_address(first) {
        return Some(
            "an address is one string, \"127.0.0.1:9999\", or host and port apart: s.sendto(data, \"127.0.0.1\", 9999)",
        );
    }
    if assignment_target(first).is_some() {
        return Some(NEEDS_LET);
    }
    None
}

/// `("127.0.0.1", 9999)`: Python's address tuple.
fn tuple_address(line: &str) -> bool {
    let Ok(re) = regex::Regex::new(r#"\(\s*"[^"]*"\s*,\s*\d+\s*\)"#) else {
        return false;
    };
    re.find_iter(line).any(|m| {
        // Not the arguments of a call (`udp("", 8888)`): a parenthesis right after a name.
        let before = line[..m.start()].trim_end();
        !before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
    })
}

/// `x = 5` (not `x == 5`, not `let x = 5`): the name assigned.
fn assignment_target(line: &str) -> Option<&str> {
    let (left, right) = line.split_once('=')?;
    let name = left.trim();
    (!right.starts_with('=')
        && !name.is_empty()
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !name.starts_with(char::is_numeric))
    .then_some(name)
}

/// `a, b = ...` or `let a, b = ...`.
fn tuple_assignment(line: &str) -> bool {
    let line = line.strip_prefix("let ").unwrap_or(line);
    let Some((left, _)) = line.split_once('=') else {
        return false;
    };
    let names: Vec<&str> = left.split(',').map(str::trim).collect();
    names.len() > 1
        && names
            .iter()
            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> bool {
        false
    }

    #[test]
    fn python_inputs_are_met() {
        assert!(
            matches!(instead("help()", none), Some(Instead::Help { name, .. }) if name.is_empty())
        );
        assert!(
            matches!(instead("help(recvfrom)", none), Some(Instead::Help { name, .. }) if name == "recvfrom")
        );
        assert!(
            matches!(instead("help(\"blob\")", none), Some(Instead::Help { name, .. }) if name == "blob")
        );
        assert!(
            matches!(instead("s.recvfrom?", none), Some(Instead::Help { name, .. }) if name == "s.recvfrom")
        );
        assert_eq!(instead("exit()", none), Some(Instead::Quit));
        assert!(matches!(instead("quit", none), Some(Instead::Hint(h)) if h.contains(":quit")));
        assert!(
            matches!(instead("import socket", none), Some(Instead::Hint(h)) if h.contains("udp()"))
        );
        assert_eq!(instead("import \"udpsh/dns\" as dns;", none), None);
        assert_eq!(instead("let x = a ? b : c", none), None);
        assert_eq!(instead("exit", |n| n == "exit"), None);
    }

    #[test]
    fn failures_that_look_like_python_get_a_hint() {
        assert!(
            after_failure("data, addr = s.recvfrom(1024)")
                .unwrap()
                .contains("d.addr")
        );
        assert!(after_failure("let data, addr = s.recvfrom(1024)").is_some());
        assert!(after_failure("let x = f(a, b)").is_none());
        assert!(after_failure("print \"hi\"").is_some());
        assert!(
            after_failure("s.sendto(\"x\", (\"127.0.0.1\", 9999))")
                .unwrap()
                .contains("127.0.0.1:9999")
        );
        assert!(after_failure("let s = udp(\"\", 8888)").is_none());
        assert!(after_failure("if x == None:").unwrap().contains("braces"));
        assert!(after_failure("x = 5").unwrap().contains("let x = ..."));
        assert!(after_failure("x == 5").is_none());
    }
}
