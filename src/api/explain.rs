//! Rhai's own errors said for people: types in plain words, the forms a function has (from
//! the API table, else from the engine), a did-you-mean, and a hint for Python habits.

use rhai::EvalAltResult;

use super::docs::{self, Kind, On};
use super::forms::{self, Form};

/// Message and notes for an error Rhai raised, or `None` to keep Rhai's words.
pub fn rhai_error(err: &EvalAltResult) -> Option<(String, Vec<String>)> {
    match err {
        EvalAltResult::ErrorFunctionNotFound(signature, _) => Some(function_not_found(signature)),
        EvalAltResult::ErrorDotExpr(text, _) => property(text),
        EvalAltResult::ErrorVariableNotFound(name, _) => {
            let notes = python_name(name).into_iter().map(String::from).collect();
            Some((format!("no variable named {name}"), notes))
        }
        EvalAltResult::ErrorMismatchDataType(expected, actual, _)
        | EvalAltResult::ErrorMismatchOutputType(expected, actual, _) => {
            let (e, a) = (forms::type_word(expected), forms::type_word(actual));
            Some(
                match (e.is_empty() || expected.is_empty(), actual.is_empty()) {
                    (true, _) => (format!("wrong type: {a}"), Vec::new()),
                    (false, true) => (format!("wrong type: expected {e}"), Vec::new()),
                    _ => (format!("expected {e}, got {a}"), Vec::new()),
                },
            )
        }
        EvalAltResult::ErrorIndexingType(ty, _) => Some((
            format!("{} cannot be indexed with []", a_word(ty)),
            Vec::new(),
        )),
        EvalAltResult::ErrorFor(_) => Some((
            "for needs something to go through: an array, a range (0..10), a string or a blob"
                .into(),
            Vec::new(),
        )),
        _ => None,
    }
}

/// An index out of range (kind `index` when not caught), said for people.
pub fn index_error(err: &EvalAltResult) -> Option<String> {
    // `it has 2 items, so indexes are 0 to 1 (or -2 to -1 from the end)`.
    let has = |len: usize, whose: &str, one: &str, many: &str| match len {
        0 => format!("{whose} is empty"),
        1 => format!("{whose} has 1 {one}, so the only index is 0 (or -1 from the end)"),
        n => format!(
            "{whose} has {n} {many}, so indexes are 0 to {} (or -{n} to -1 from the end)",
            n - 1
        ),
    };
    Some(match err {
        EvalAltResult::ErrorArrayBounds(len, index, _) => format!(
            "index {index} is out of range: {}",
            has(*len, "it", "item", "items")
        ),
        EvalAltResult::ErrorStringBounds(len, index, _) => format!(
            "index {index} is out of range: {}",
            has(*len, "the string", "character", "characters")
        ),
        EvalAltResult::ErrorBitFieldBounds(bits, index, _) => format!(
            "bit {index} is out of range: an integer has bits 0 to {}",
            bits.saturating_sub(1)
        ),
        _ => return None,
    })
}

/// `pushh (array, i64)`: what exists with that name, or the name that was meant.
fn function_not_found(signature: &str) -> (String, Vec<String>) {
    let (name, args) = match signature.find(" (") {
        Some(i) => (&signature[..i], &signature[i + 1..]),
        None => (signature, "()"),
    };
    let words = forms::arg_words(args);
    let shown_args = format!("({})", words.join(", "));
    if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        let message = match words.as_slice() {
            [a, b] => format!("{name} does not work on {} and {}", a_word(a), a_word(b)),
            [a] => format!("{name} does not work on {}", a_word(a)),
            _ => format!("{name} does not work on {shown_args}"),
        };
        return (message, operator_hint(name, &words));
    }
    let short = name.rsplit("::").next().unwrap_or(name);
    let mut notes = Vec::new();
    if matches!(short, "print" | "debug") && words.len() > 1 {
        notes.push(format!(
            "{short} takes one value: join them in a template, {short}(`a ${{x}}`), or with +, {short}(\"a \" + x)"
        ));
        return (format!("no form of {short} takes {shown_args}"), notes);
    }
    if let Some(hint) = python_call(short) {
        notes.push(hint.to_string());
    }
    // `dns::ask`: that module's forms only (an alias that is no module's name: all of them).
    let known = Some(forms_of(name))
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| forms_of(short));
    if !known.is_empty() {
        notes.push(format!("{short} takes: {}", known.join(" / ")));
        return (format!("no form of {short} takes {shown_args}"), notes);
    }
    let receiver = words.first().map(String::as_str);
    if let Some(meant) = guess(short, receiver) {
        let mut forms = forms_of(meant);
        // Of an engine function, the forms for this receiver, when it has some.
        if docs::lookup(meant).is_empty()
            && let Some(r) = receiver
        {
            let own: Vec<String> = forms::named(meant)
                .into_iter()
                .filter(|f| !f.property && f.params.first().is_some_and(|p| p == r))
                .map(Form::shown)
                .collect();
            if !own.is_empty() {
                forms = dedup(own);
            }
        }
        notes.push(format!(
            "did you mean {meant}? {meant} takes: {}",
            forms.join(" / ")
        ));
    }
    (format!("unknown function {short} {shown_args}"), notes)
}

/// `Unknown property 'txt' - a getter is not registered for type 'datagram'`.
fn property(text: &str) -> Option<(String, Vec<String>)> {
    let (prop, ty) = if let Some(rest) = text.strip_prefix("Unknown property '") {
        let (prop, rest) = rest.split_once("' - a getter is not registered for type '")?;
        (prop, rest.strip_suffix('\'')?)
    } else if let Some(rest) = text.strip_prefix("No writable property '") {
        let (prop, rest) = rest.split_once("' - a setter is not registered for type '")?;
        let ty = rest.split_once('\'')?.0;
        return Some((
            format!("{}'s {prop} cannot be set", a_word(&forms::type_word(ty))),
            Vec::new(),
        ));
    } else {
        return None;
    };
    let ty = forms::type_word(ty);
    let fields = fields_of(&ty);
    let mut notes = Vec::new();
    if let Some(hint) = python_call(prop) {
        notes.push(hint.to_string());
    }
    if let Some(meant) = forms::nearest(prop, fields.iter().map(String::as_str)) {
        notes.push(format!("did you mean {meant}?"));
    }
    if !fields.is_empty() {
        notes.push(format!("{} has: {}", a_word(&ty), fields.join(", ")));
    }
    Some((format!("{} has no field {prop}", a_word(&ty)), notes))
}

/// "a socket", "an integer".
fn a_word(word: &str) -> String {
    let word = forms::type_word(word);
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {word}"),
        Some('(') => word,
        _ => format!("a {word}"),
    }
}

/// How `name` can be called: the API table's signatures, else the engine's forms.
fn forms_of(name: &str) -> Vec<String> {
    let documented: Vec<String> = docs::lookup(name)
        .iter()
        .filter(|e| e.is_call())
        .flat_map(|e| e.signature.split(" / "))
        .map(str::to_string)
        .collect();
    if !documented.is_empty() {
        return dedup(documented);
    }
    let engine: Vec<String> = forms::named(name)
        .into_iter()
        .filter(|f| !f.property)
        .map(Form::shown)
        .collect();
    dedup(engine)
}

fn dedup(mut all: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    all.retain(|s| seen.insert(s.clone()));
    all
}

/// The known name closest to `name`: methods of the receiver's type first.
fn guess(name: &str, receiver: Option<&str>) -> Option<&'static str> {
    if let Some(ty) = receiver {
        let methods: Vec<&'static str> = forms::all()
            .iter()
            .filter(|f| !f.property && f.params.first().is_some_and(|p| p == ty))
            .map(|f| f.name.as_str())
            .collect();
        if let Some(m) = forms::nearest(name, methods) {
            return Some(m);
        }
    }
    let everything = docs::ENTRIES
        .iter()
        .filter(|e| e.is_call())
        .map(|e| e.name)
        .chain(
            forms::all()
                .iter()
                .filter(|f| !f.property)
                .map(|f| f.name.as_str()),
        );
    forms::nearest(name, everything)
}

/// Fields and methods of a value of type `ty`: the API table's, then the engine's.
fn fields_of(ty: &str) -> Vec<String> {
    let on = on_of(ty);
    let mut out: Vec<String> = docs::ENTRIES
        .iter()
        .filter(|e| on.is_some_and(|o| e.kind == Kind::Property(o)))
        .map(|e| e.name.to_string())
        .collect();
    for (name, is_property) in forms::members(ty) {
        if is_property && !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// The API table's name for values of type `ty` (`socket` → `On::Socket`).
pub fn on_of(ty: &str) -> Option<On> {
    Some(match ty {
        "socket" => On::Socket,
        "datagram" => On::Datagram,
        "thread" => On::Thread,
        "blob" => On::Blob,
        "string" => On::Text,
        "array" => On::Array,
        "layout" => On::Layout,
        "process" => On::Process,
        "proxy" => On::Proxy,
        "histogram" => On::Load,
        _ => return None,
    })
}

/// A Python name that is something else here.
pub fn python_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "None" => "Python's None is () in Rhai",
        "True" | "False" => "Rhai writes true and false, in lower case",
        "socket" => "no import is needed: udp() makes a socket (let s = udp(\"127.0.0.1:0\"))",
        "self" => "Rhai's methods see their object as this",
        "null" | "nil" => "nothing is () in Rhai",
        _ => return None,
    })
}

/// A Python function or method that is something else here.
pub fn python_call(name: &str) -> Option<&'static str> {
    Some(match name {
        "encode" => {
            "strings need no .encode(): sendto sends a string as UTF-8 bytes; \"abc\".to_blob() gives the bytes"
        }
        "decode" => {
            "no .decode() needed: d.text is a datagram as text; b.as_string() turns a blob into text"
        }
        "help" => "help is :help here (:help NAME for one function, :help TOPIC for a topic)",
        "exit" | "quit" => "to leave: :quit or Ctrl-D",
        "str" => "x.to_string() makes text of a value",
        "int" => "parse_int(\"42\") reads an integer from text; to_int() converts a float",
        "bytes" | "bytearray" => "bytes are blobs: blob(n), hex(\"01 02\"), \"abc\".to_blob()",
        "range" => "Rhai writes a range as 0..10 (for i in 0..10 { ... })",
        "upper" => "Rhai's is to_upper(): \"abc\".to_upper() (make_upper() changes it in place)",
        "lower" => "Rhai's is to_lower(): \"ABC\".to_lower() (make_lower() changes it in place)",
        "strip" | "lstrip" | "rstrip" => {
            "Rhai's is trim(), which trims the string in place and returns (): let t = x; t.trim(); then t"
        }
        "startswith" => "Rhai's is starts_with(): s.starts_with(\"x\")",
        "endswith" => "Rhai's is ends_with(): s.ends_with(\"x\")",
        "find" => "Rhai's is index_of(): s.index_of(\"x\") (-1 when absent)",
        "append" => "Rhai's is push(): a.push(x)",
        "len" => "Rhai writes x.len() (and a datagram's length is d.len, a field)",
        "socket" => "udp() makes a UDP socket: let s = udp(\"127.0.0.1:0\")",
        "settimeout" | "recvfrom" | "sendto" => return None,
        _ => return None,
    })
}

fn operator_hint(op: &str, words: &[String]) -> Vec<String> {
    let pair: Vec<&str> = words.iter().map(String::as_str).collect();
    let hint = match (op, pair.as_slice()) {
        ("+", ["string", "integer" | "float"]) | ("+", ["integer" | "float", "string"]) => {
            "join text and numbers with a template: `port ${p}`, or p.to_string()"
        }
        ("+", ["blob", "integer"]) => "to append a byte: b.push(n); to append bytes: b + blob",
        ("==", _) | ("!=", _) => "values of different types are never equal: convert one first",
        _ => return Vec::new(),
    };
    vec![hint.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_found(sig: &str) -> (String, Vec<String>) {
        function_not_found(sig)
    }

    #[test]
    fn unknown_functions_get_a_guess_and_forms() {
        let (message, notes) = not_found("pushh (array, i64)");
        assert_eq!(message, "unknown function pushh (array, integer)");
        assert!(
            notes[0].starts_with("did you mean push? push takes: a.push(value) / b.push(byte)"),
            "{notes:?}"
        );
    }

    #[test]
    fn known_functions_list_their_forms() {
        let (message, notes) = not_found("recvfrom (socket, &str | ImmutableString | String)");
        assert_eq!(message, "no form of recvfrom takes (socket, string)");
        assert!(
            notes[0].starts_with("recvfrom takes: s.recvfrom("),
            "{notes:?}"
        );
        let (message, _) = not_found("- (&str | ImmutableString | String, i64)");
        assert_eq!(message, "- does not work on a string and an integer");
    }

    #[test]
    fn properties_get_a_guess() {
        let (message, notes) =
            property("Unknown property 'txt' - a getter is not registered for type 'datagram'")
                .unwrap();
        assert_eq!(message, "a datagram has no field txt");
        assert_eq!(notes[0], "did you mean text?");
        assert!(notes[1].contains("port"), "{notes:?}");
    }

    #[test]
    fn indexes_out_of_range_say_what_is_valid() {
        let e = EvalAltResult::ErrorArrayBounds(1, 5, rhai::Position::NONE);
        assert_eq!(
            index_error(&e).unwrap(),
            "index 5 is out of range: it has 1 item, so the only index is 0 (or -1 from the end)"
        );
        let e = EvalAltResult::ErrorStringBounds(2, 7, rhai::Position::NONE);
        assert!(
            index_error(&e)
                .unwrap()
                .contains("2 characters, so indexes are 0 to 1"),
        );
    }

    /// What `:help errors` and the README say a caught Rhai error holds.
    #[test]
    fn a_caught_rhai_error_is_the_map_the_docs_describe() {
        let engine = crate::api::compiler();
        let caught = |body: &str| {
            let src = format!("let r = ();\ntry {{ {body} }} catch (e) {{ r = e }}\nr");
            engine.eval::<rhai::Map>(&src).unwrap()
        };
        let e = caught("[1][5]");
        assert!(!e.contains_key("kind"));
        assert_eq!(e["error"].to_string(), "ErrorArrayBounds");
        assert_eq!((e["index"].as_int(), e["length"].as_int()), (Ok(5), Ok(1)));
        assert!(e["message"].to_string().contains("out of bounds"));
        assert_eq!(
            (e["line"].as_int(), e["position"].as_int()),
            (Ok(2), Ok(11))
        );
        let e = caught("nosuch(1)");
        assert_eq!(e["error"].to_string(), "ErrorFunctionNotFound");
        assert!(e.contains_key("function"));
        let e = caught("let x = 1; x.y");
        assert!(e.contains_key("error") && !e.contains_key("kind"), "{e:?}");
        // udpsh's own errors have their kind.
        let e = caught("udp(\"nonsense\")");
        assert_eq!(e["kind"].to_string(), "address");
    }

    #[test]
    fn module_functions_list_their_own_forms() {
        let (_, notes) = not_found("dns::ask (i64)");
        assert!(notes[0].starts_with("ask takes: dns::ask("), "{notes:?}");
        assert!(!notes[0].contains("ntp::"), "{notes:?}");
        // print takes one value.
        let (m, notes) = not_found("print (&str | ImmutableString | String, i64)");
        assert_eq!(m, "no form of print takes (string, integer)");
        assert!(notes[0].contains("print(`a ${x}`)"), "{notes:?}");
        assert_eq!(notes.len(), 1);
        // A Python method: where Rhai has it.
        let (_, notes) = not_found("upper (&str | ImmutableString | String)");
        assert!(notes[0].contains("to_upper()"), "{notes:?}");
        let (_, notes) = not_found("strip (&str | ImmutableString | String)");
        assert!(notes[0].contains("trim()"), "{notes:?}");
        // One-letter names are never guessed.
        let (_, notes) = not_found("f (i64)");
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn python_habits_are_named() {
        let (_, notes) = not_found("encode (&str | ImmutableString | String)");
        assert!(notes[0].contains("to_blob()"), "{notes:?}");
        assert_eq!(python_name("None"), Some("Python's None is () in Rhai"));
    }
}
