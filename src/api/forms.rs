//! Every function the engine knows, as forms with types in plain words (`string`, not
//! `&str | ImmutableString | String`): for error messages that list what exists and guess
//! what was meant, and for completing the methods of Rhai's own types.

use std::sync::OnceLock;

use rhai::Dynamic;

/// One registered function: `push(array, value)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Form {
    pub name: String,
    /// Parameter types in plain words; the first is the receiver of a method call.
    pub params: Vec<String>,
    /// `get$x` / `set$x`: a property.
    pub property: bool,
    /// What it returns, in plain words ("" when nothing).
    pub ret: String,
}

impl Form {
    /// `push(array, value)`, or `x.len` for a property.
    pub fn shown(&self) -> String {
        if self.property {
            return format!(
                "{}.{}",
                self.params.first().map_or("x", String::as_str),
                self.name
            );
        }
        format!("{}({})", self.name, self.params.join(", "))
    }
}

/// The forms of the standard engine (API and Rhai's packages), parsed once.
pub fn all() -> &'static [Form] {
    static FORMS: OnceLock<Vec<Form>> = OnceLock::new();
    FORMS.get_or_init(|| {
        let engine = super::compiler();
        let mut forms: Vec<Form> = engine
            .gen_fn_signatures(true)
            .iter()
            .filter_map(|s| parse(s))
            .collect();
        forms.dedup();
        forms
    })
}

/// `name(a: &mut T, _: U) -> R` → a form; `None` for operators and indexers.
fn parse(signature: &str) -> Option<Form> {
    let signature = signature.strip_prefix("fn ").unwrap_or(signature);
    let open = signature.find('(')?;
    let (mut name, rest) = (&signature[..open], &signature[open + 1..]);
    let mut depth = 1usize;
    let close = rest.char_indices().find_map(|(i, c)| {
        match c {
            '(' | '<' => depth += 1,
            ')' | '>' => depth -= 1,
            _ => {}
        }
        (depth == 0).then_some(i)
    })?;
    let args = &rest[..close];
    let ret = rest[close + 1..]
        .trim()
        .strip_prefix("->")
        .map_or(String::new(), type_word);
    let mut property = false;
    for prefix in ["get$", "set$"] {
        if let Some(p) = name.strip_prefix(prefix) {
            name = p;
            property = true;
        }
    }
    if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') || name.contains('$') {
        return None;
    }
    let params = split_args(args)
        .into_iter()
        .map(|a| {
            let ty = a.split_once(':').map_or(a, |(_, t)| t);
            type_word(ty.trim().trim_end_matches('='))
        })
        .collect();
    Some(Form {
        name: name.to_string(),
        params,
        property,
        ret,
    })
}

/// Commas at depth 0 only (`Result<A, B>` is one type).
fn split_args(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in args.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !args[start..].trim().is_empty() {
        out.push(args[start..].trim());
    }
    out
}

/// A Rust or Rhai type name in the words a script writer uses.
pub fn type_word(name: &str) -> String {
    let name = name.trim();
    let name = name.strip_prefix("&mut ").unwrap_or(name);
    let name = name.strip_prefix('&').unwrap_or(name).trim();
    if name.contains('|') {
        // Rhai writes a string argument as `&str | ImmutableString | String`.
        let words: Vec<String> = name.split('|').map(type_word).collect();
        return if words.iter().all(|w| w == &words[0]) {
            words[0].clone()
        } else {
            words.join(" or ")
        };
    }
    let word = match name {
        "str" | "String" | "ImmutableString" | "string" | "SmartString" => "string",
        "i64" | "i32" | "u8" | "u16" | "u32" | "u64" | "usize" | "INT" | "int" => "integer",
        "f64" | "f32" | "FLOAT" | "float" => "float",
        "bool" => "bool",
        "char" => "character",
        "()" | "unit" => "()",
        "Dynamic" | "?" => "value",
        "Blob" | "blob" | "Vec<u8>" => "blob",
        "Array" | "array" => "array",
        "Map" | "map" => "map",
        "FnPtr" | "Fn" => "function",
        "Range<i64>" | "RangeInclusive<i64>" | "range" | "range=" => "range",
        "Instant" | "timestamp" => "timestamp",
        other => {
            if let Some(inner) = other
                .strip_prefix("Result<")
                .or_else(|| other.strip_prefix("core::result::Result<"))
            {
                let ok = split_args(inner.trim_end_matches('>'))
                    .first()
                    .copied()
                    .unwrap_or("value");
                return type_word(ok);
            }
            let last = other.rsplit("::").next().unwrap_or(other);
            return match last {
                "Sock" => "socket".into(),
                "Datagram" => "datagram".into(),
                "SpawnHandle" => "thread".into(),
                "ScriptLayout" => "layout".into(),
                "Blob" => "blob".into(),
                _ if last != other => last.to_lowercase(),
                _ => other.to_string(),
            };
        }
    };
    word.to_string()
}

/// What a value is, in plain words (`integer`, `blob`, `socket`).
pub fn value_word(value: &Dynamic) -> String {
    type_word(value.type_name())
}

/// A list of types in words, from Rhai's `(array, i64)`.
pub fn arg_words(args: &str) -> Vec<String> {
    split_args(args.trim().trim_start_matches('(').trim_end_matches(')'))
        .into_iter()
        .map(type_word)
        .collect()
}

/// Methods and properties of a type (`string`, `blob`, `array`, `map`), sorted, once each:
/// (name, is a property).
pub fn members(of: &str) -> Vec<(&'static str, bool)> {
    let mut out: Vec<(&'static str, bool)> = all()
        .iter()
        .filter(|f| f.params.first().is_some_and(|p| p == of))
        .filter(|f| !f.name.starts_with('_'))
        .map(|f| (f.name.as_str(), f.property))
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// The forms named `name`.
pub fn named(name: &str) -> Vec<&'static Form> {
    all().iter().filter(|f| f.name == name).collect()
}

/// The closest of `candidates` to `word` (edit distance at most a third of its length, at
/// least 1), if one is clearly closest.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let d = distance(&word.to_lowercase(), &c.to_lowercase());
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance, with a swap of two neighbours counted as one.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_in_plain_words() {
        assert_eq!(type_word("&str | ImmutableString | String"), "string");
        assert_eq!(type_word("i64"), "integer");
        assert_eq!(type_word("Range<i64>"), "range");
        assert_eq!(type_word("&mut blob"), "blob");
        assert_eq!(type_word("udpsh::api::socket::Sock"), "socket");
        assert_eq!(
            type_word(
                "core::result::Result<udpsh::api::datagram::Datagram,alloc::boxed::Box<rhai::EvalAltResult>>"
            ),
            "datagram"
        );
        assert_eq!(
            arg_words("(socket, &str | ImmutableString | String)"),
            ["socket", "string"]
        );
    }

    #[test]
    fn the_engine_forms_are_read() {
        let push = named("push");
        assert!(
            push.iter().any(|f| f.params == ["array", "value"]),
            "{push:?}"
        );
        assert!(
            push.iter().any(|f| f.params == ["blob", "integer"]),
            "{push:?}"
        );
        let recv = named("recvfrom");
        assert!(
            recv.iter().any(|f| f.params == ["socket", "integer"]),
            "{recv:?}"
        );
        assert!(members("string").iter().any(|m| m == &("trim", false)));
        assert!(members("datagram").iter().any(|m| m == &("port", true)));
        assert!(members("blob").iter().any(|m| m.0 == "parse_be_int"));
    }

    #[test]
    fn did_you_mean() {
        assert_eq!(nearest("pushh", ["pop", "push", "pad"]), Some("push"));
        assert_eq!(nearest("txt", ["data", "text", "addr"]), Some("text"));
        assert_eq!(nearest("recvfrom", ["recvform"]), Some("recvform"));
        assert_eq!(nearest("zzz", ["push"]), None);
    }
}
