//! A receive on a socket that is not bound and has never sent can never get a datagram (no
//! port exists for one to reach): the REPL says so instead of waiting forever.

use rhai::{Engine, Token};

use super::lex::{self, Tok};

/// Calls that give a socket an address (a send binds it to a port the OS picks).
const BINDS: &[&str] = &[
    "bind",
    "sendto",
    "send",
    "broadcast",
    "blast",
    "connect",
    "request",
    "join",
];
const RECEIVES: &[&str] = &["recvfrom", "recv", "collect"];

/// The first receive in `source` on a socket that has no address when it runs: the name and
/// the 1-based line and column of the call. `unbound(name)` says whether a variable of the
/// session holds such a socket now.
pub fn first_hopeless_receive(
    engine: &Engine,
    source: &str,
    unbound: impl Fn(&str) -> bool,
) -> Option<(String, usize, usize)> {
    let toks = lex::tokens(engine, source);
    // Names made unbound in this input (`let s = udp();`) and names that got an address.
    let mut fresh: Vec<&str> = Vec::new();
    let mut bound: Vec<&str> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        // `udp()` is `udp` and one `()` token.
        if let (Some(name), Some(eq), Some(udp), Some(unit)) =
            (t.ident(), toks.get(i + 1), toks.get(i + 2), toks.get(i + 3))
            && eq.is(&Token::Equals)
            && udp.ident() == Some("udp")
            && unit.is(&Token::Unit)
        {
            fresh.push(name);
            bound.retain(|b| *b != name);
            continue;
        }
        let Some((name, method)) = method_call(&toks, i) else {
            continue;
        };
        if BINDS.contains(&method) {
            bound.push(name);
        } else if RECEIVES.contains(&method)
            && !bound.contains(&name)
            && (fresh.contains(&name) || unbound(name))
        {
            let call = &toks[i + 2];
            return Some((name.to_string(), call.line, call.col));
        }
    }
    None
}

/// `NAME . METHOD (` starting at `i`, not after another `.`.
fn method_call(toks: &[Tok], i: usize) -> Option<(&str, &str)> {
    let name = toks[i].ident()?;
    if i > 0 && toks[i - 1].is(&Token::Period) {
        return None;
    }
    if !toks.get(i + 1)?.is(&Token::Period) || !toks.get(i + 3)?.opens_call() {
        return None;
    }
    Some((name, toks.get(i + 2)?.ident()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str, unbound: &[&str]) -> Option<(String, usize, usize)> {
        first_hopeless_receive(&Engine::new(), src, |n| unbound.contains(&n))
    }

    #[test]
    fn receives_that_cannot_succeed() {
        assert_eq!(check("s.recvfrom(1024)", &["s"]), Some(("s".into(), 1, 3)));
        assert_eq!(
            check("let s = udp(); s.recv(10)", &[]),
            Some(("s".into(), 1, 18))
        );
        assert_eq!(check("s.sendto(\"x\", p); s.recvfrom()", &["s"]), None);
        assert_eq!(check("s.recvfrom()", &[]), None);
        assert_eq!(check("let s = udp(0); s.recvfrom()", &[]), None);
        assert_eq!(check("s.bind(\"127.0.0.1:0\"); s.recvfrom()", &["s"]), None);
        assert_eq!(check("x.s.recvfrom()", &["s"]), None);
    }
}
