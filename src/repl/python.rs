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

/// Hints for an input that failed, when it looks like Python: one line for each habit
/// seen in its text (quotes, comments, f-strings, `elif`), then the one for its shape.
pub fn after_failure(input: &str) -> Vec<String> {
    let mut hints: Vec<String> = habits(input).into_iter().map(String::from).collect();
    let shaped = hint_for(input).map(|h| match assignment_target(input.trim()) {
        Some(name) if h.starts_with(NEEDS_LET) => {
            format!("a new variable needs let: let {name} = ... (then {name} = ... changes it)")
        }
        _ => h.to_string(),
    });
    hints.extend(shaped);
    hints
}

const NEEDS_LET: &str = "a new variable needs let";

/// Python spellings anywhere in the code (outside strings and comments).
fn habits(input: &str) -> Vec<&'static str> {
    let code = Code::scan(input);
    let mut out = Vec::new();
    if code.single_quoted {
        out.push("strings are in double quotes: \"hello\" (single quotes hold one character: 'h')");
    }
    if code.hash_comment {
        out.push("comments start with // (or /* ... */); # is not a comment here");
    }
    if code.f_string {
        out.push("Rhai's f-strings are backtick strings: `port ${p}` (not f\"port {p}\")");
    }
    if code.words.iter().any(|w| w == "elif") {
        out.push("Rhai writes else if: if a { ... } else if b { ... }");
    }
    out
}

/// What a quick scan of the code sees, strings and comments skipped.
#[derive(Default)]
struct Code {
    words: Vec<String>,
    /// `'hello'`: more than one character in single quotes.
    single_quoted: bool,
    /// `#` that is not the `#{` of a map.
    hash_comment: bool,
    /// `f"..."` or `f'...'`.
    f_string: bool,
}

impl Code {
    fn scan(input: &str) -> Code {
        let chars: Vec<char> = input.chars().collect();
        let mut code = Code::default();
        let mut word = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if c.is_alphanumeric() || c == '_' {
                word.push(c);
                i += 1;
                continue;
            }
            let before = std::mem::take(&mut word);
            if matches!(c, '"' | '\'') && before == "f" {
                code.f_string = true;
            }
            if !before.is_empty() {
                code.words.push(before);
            }
            match c {
                '"' | '`' => i = skip_string(&chars, i, c),
                '\'' => {
                    let end = skip_string(&chars, i, '\'');
                    // 'x' and '\n' are characters; more is Python's string.
                    let inside = &chars[i + 1..end.saturating_sub(1).max(i + 1)];
                    if inside.len() > 1 && inside.first() != Some(&'\\') {
                        code.single_quoted = true;
                    }
                    i = end;
                }
                '/' if next == Some('*') => {
                    let close = (i + 2..chars.len())
                        .find(|&k| chars[k] == '*' && chars.get(k + 1) == Some(&'/'));
                    i = close.map_or(chars.len(), |k| k + 2);
                }
                '/' if next == Some('/') => {
                    i = chars[i..]
                        .iter()
                        .position(|&c| c == '\n')
                        .map_or(chars.len(), |n| i + n);
                }
                '#' if next != Some('{') => {
                    code.hash_comment = true;
                    i += 1;
                }
                _ => i += 1,
            }
        }
        if !word.is_empty() {
            code.words.push(word);
        }
        code
    }
}

/// The index just past the string that opens at `open` with `quote` (or the end).
fn skip_string(chars: &[char], open: usize, quote: char) -> usize {
    let mut i = open + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            '\n' if quote != '`' => return i,
            _ => i += 1,
        }
    }
    chars.len()
}

/// `for i in range(3):`, `def f(x):`: a line that opens a Python block.
pub fn block_header(line: &str) -> bool {
    let line = line.trim();
    let keyword = line.split([' ', '(', ':']).next().unwrap_or("");
    line.ends_with(':')
        && matches!(
            keyword,
            "if" | "elif" | "else" | "for" | "while" | "def" | "try" | "except" | "with" | "class"
        )
}

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
    if keyword == "for" && first.contains(" in range(") {
        return Some("Rhai writes for i in 0..3 { ... } (a range is 0..3; the block is in braces)");
    }
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

    fn hint(input: &str) -> String {
        after_failure(input).join("\n")
    }

    #[test]
    fn failures_that_look_like_python_get_a_hint() {
        assert!(hint("data, addr = s.recvfrom(1024)").contains("d.addr"));
        assert!(!hint("let data, addr = s.recvfrom(1024)").is_empty());
        assert!(after_failure("let x = f(a, b)").is_empty());
        assert!(!hint("print \"hi\"").is_empty());
        assert!(hint("s.sendto(\"x\", (\"127.0.0.1\", 9999))").contains("127.0.0.1:9999"));
        assert!(after_failure("let s = udp(\"\", 8888)").is_empty());
        assert!(hint("if x == None:").contains("braces"));
        assert!(hint("x = 5").contains("let x = ..."));
        assert!(after_failure("x == 5").is_empty());
    }

    #[test]
    fn each_python_spelling_gets_one_line() {
        let hints = after_failure("msg = 'hello'");
        assert_eq!(hints.len(), 2, "{hints:?}");
        assert!(hints[0].starts_with("strings are in double quotes: \"hello\""));
        assert!(hints[1].contains("let msg = ..."));
        assert!(hint("# a comment").contains("comments start with //"));
        assert!(hint("let x = 1  # one").contains("comments start with //"));
        assert!(hint("for i in range(3):").contains("for i in 0..3 { ... }"));
        assert!(hint("let t = f\"a {b}\"").contains("backtick strings"));
        assert!(hint("if a { 1 } elif b { 2 }").contains("else if"));
        // Not Python: a map, a character, text in strings and comments.
        for rhai in [
            "let m = #{a: 1}",
            "let c = 'x'",
            "let n = '\\n'",
            "let t = \"it's # 'quoted'\"; // elif f\"x\" 'ab'",
            "let u = 1; /* it's # elif */ u",
            "let elif_count = 1; of(\"x\")",
        ] {
            assert!(
                after_failure(rhai).is_empty(),
                "{rhai}: {:?}",
                after_failure(rhai)
            );
        }
    }
}
