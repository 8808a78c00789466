//! Rhai keeps a map's keys sorted; people wrote them in an order. The REPL remembers the
//! orders it has seen — map literals typed, layouts made, the maps the API table describes —
//! and prints a map's keys in the best matching one.

use rhai::{Engine, Token};

use super::lex::{self, Tok};

#[derive(Default)]
pub struct KeyOrders {
    /// Oldest first; a later order wins a tie.
    orders: Vec<Vec<String>>,
}

impl KeyOrders {
    /// With the key lists of the API table (`#{id, rcode, flags, ...}` in a signature).
    pub fn with_api() -> KeyOrders {
        let mut k = KeyOrders::default();
        for e in crate::api::docs::ENTRIES {
            for text in [e.signature, e.summary] {
                for list in braced_lists(text) {
                    k.learn(list);
                }
            }
        }
        k
    }

    pub fn learn(&mut self, keys: Vec<String>) {
        if keys.len() < 2 {
            return;
        }
        self.orders.retain(|o| o != &keys);
        self.orders.push(keys);
    }

    /// Map literals and `layout("...")` fields in an input.
    pub fn learn_from(&mut self, engine: &Engine, source: &str) {
        let toks = lex::tokens(engine, source);
        for (i, t) in toks.iter().enumerate() {
            if t.is(&Token::MapStart) {
                self.learn(literal_keys(&toks, i));
            }
            if t.ident() == Some("layout")
                && toks.get(i + 1).is_some_and(|n| n.is(&Token::LeftParen))
                && let Some(Token::StringConstant(spec)) = toks.get(i + 2).map(|n| &n.token)
                && let Ok(layout) = crate::binary::Layout::parse(spec)
            {
                let mut names: Vec<String> = layout.names().map(String::from).collect();
                names.push("rest".into());
                self.learn(names);
            }
        }
    }

    /// `keys` (Rhai's sorted order) in the order people wrote them, if one is known.
    pub fn arrange<'a>(&self, keys: &[&'a str]) -> Vec<&'a str> {
        let mut best: Option<(usize, &Vec<String>)> = None;
        for order in &self.orders {
            let common = order.iter().filter(|k| keys.contains(&k.as_str())).count();
            let enough = common >= 2 || (common == keys.len() && common > 0);
            if enough && best.is_none_or(|(c, _)| common >= c) {
                best = Some((common, order));
            }
        }
        let Some((_, order)) = best else {
            return keys.to_vec();
        };
        let mut out: Vec<&'a str> = order
            .iter()
            .filter_map(|k| keys.iter().find(|x| **x == k.as_str()).copied())
            .collect();
        for k in keys {
            if !out.contains(k) {
                out.push(k);
            }
        }
        out
    }
}

/// The keys of the map literal opened at `open`, in order (nested maps skipped).
fn literal_keys(toks: &[Tok], open: usize) -> Vec<String> {
    let mut keys = Vec::new();
    let mut depth = 0usize;
    let mut expect_key = true;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match &t.token {
            Token::MapStart | Token::LeftBrace | Token::LeftParen | Token::LeftBracket => {
                depth += 1
            }
            Token::RightBrace | Token::RightParen | Token::RightBracket => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::Comma if depth == 1 => expect_key = true,
            _ if depth == 1 && expect_key => {
                let key = match &t.token {
                    Token::Identifier(name) => Some(name.to_string()),
                    Token::StringConstant(s) => Some(s.to_string()),
                    _ => None,
                };
                if let Some(key) = key
                    && toks.get(i + 1).is_some_and(|n| n.is(&Token::Colon))
                {
                    keys.push(key);
                }
                expect_key = false;
            }
            _ => {}
        }
    }
    keys
}

/// `#{a, b, c}` lists inside a piece of documentation.
fn braced_lists(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("#{") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find('}') else { break };
        let keys: Vec<String> = rest[..end]
            .split(',')
            .map(|k| k.split(':').next().unwrap_or("").trim().to_string())
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_'))
            .collect();
        out.push(keys);
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_layouts_and_docs_give_orders() {
        let mut k = KeyOrders::default();
        k.learn_from(
            &Engine::new(),
            "let m = #{zeta: 1, alpha: #{q: 1, p: 2}, \"mid\": 3};",
        );
        assert_eq!(
            k.arrange(&["alpha", "mid", "zeta"]),
            ["zeta", "alpha", "mid"]
        );
        k.learn_from(
            &Engine::new(),
            "let h = layout(\"!H type, I seq, 8s tag\");",
        );
        assert_eq!(
            k.arrange(&["rest", "seq", "tag", "type"]),
            ["type", "seq", "tag", "rest"]
        );
        // Unknown keys keep Rhai's order, after the known ones.
        assert_eq!(k.arrange(&["b", "a"]), ["b", "a"]);
        let api = KeyOrders::with_api();
        let parsed = [
            "additional",
            "answers",
            "authority",
            "flags",
            "id",
            "questions",
            "rcode",
        ];
        assert_eq!(
            api.arrange(&parsed),
            [
                "id",
                "rcode",
                "flags",
                "questions",
                "answers",
                "authority",
                "additional"
            ]
        );
    }
}
