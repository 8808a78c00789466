//! The capture comment of a datagram (`chat.rhai:12 sendto`), made once per call site: a
//! loop records from the same few lines, and formatting the comment cost more than the rest
//! of the record.

use std::cell::RefCell;
use std::rc::Rc;

/// Call sites remembered per thread (a direct-mapped table on the line number).
const SLOTS: usize = 16;

struct Site {
    line: usize,
    what: &'static str,
    script: Box<str>,
    comment: Rc<str>,
}

thread_local! {
    static SITES: RefCell<[Option<Site>; SLOTS]> = const { RefCell::new([const { None }; SLOTS]) };
}

/// Runs `f` with `"{script}:{line} {what}"`.
pub(super) fn with_comment<R>(
    script: &str,
    line: usize,
    what: &'static str,
    f: impl FnOnce(&str) -> R,
) -> R {
    let slot = line % SLOTS;
    let cached = SITES.with(|sites| {
        let sites = sites.try_borrow().ok()?;
        let site = sites[slot].as_ref()?;
        (site.line == line && site.what == what && &*site.script == script)
            .then(|| site.comment.clone())
    });
    let comment = cached.unwrap_or_else(|| {
        // Line 0: a REPL meta-command (`:watch s`), which has no line of its own.
        let comment: Rc<str> = match line {
            0 => format!("{script} {what}"),
            n if crate::diagnostic::saturated(n) => format!("{script}:≥65535 {what}"),
            _ => format!("{script}:{line} {what}"),
        }
        .into();
        SITES.with(|sites| {
            if let Ok(mut sites) = sites.try_borrow_mut() {
                sites[slot] = Some(Site {
                    line,
                    what,
                    script: script.into(),
                    comment: comment.clone(),
                });
            }
        });
        comment
    });
    f(&comment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comment_names_script_line_and_call() {
        let get = |script, line, what| with_comment(script, line, what, |c| c.to_string());
        assert_eq!(get("a.rhai", 12, "sendto"), "a.rhai:12 sendto");
        assert_eq!(get("a.rhai", 12, "sendto"), "a.rhai:12 sendto");
        // The same slot for another script, call or line: never the cached text.
        assert_eq!(get("b.rhai", 12, "sendto"), "b.rhai:12 sendto");
        assert_eq!(get("b.rhai", 12, "recvfrom"), "b.rhai:12 recvfrom");
        assert_eq!(get("b.rhai", 28, "recvfrom"), "b.rhai:28 recvfrom");
        assert_eq!(get("a.rhai", 12, "sendto"), "a.rhai:12 sendto");
    }
}
