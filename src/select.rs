//! Which tests a run means: `--filter` and `--exclude` patterns (repeatable, `*` matches any
//! run of characters) on `file › test` names, and `--tag` / `--skip-tag` on a test's tags.

/// The selection options of `udpsh run`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Keep names matching any of these (all when empty).
    pub filters: Vec<String>,
    /// Drop names matching any of these.
    pub excludes: Vec<String>,
    /// Keep only tests with one of these tags (all when empty).
    pub tags: Vec<String>,
    /// Drop tests with any of these tags.
    pub skip_tags: Vec<String>,
}

impl Selection {
    /// Whether the test (or file) named `name`, with `tags`, runs.
    pub fn selects(&self, name: &str, tags: &[String]) -> bool {
        (self.filters.is_empty() || self.filters.iter().any(|p| matches(name, p)))
            && !self.excludes.iter().any(|p| matches(name, p))
            && (self.tags.is_empty() || tags.iter().any(|t| self.tags.contains(t)))
            && !tags.iter().any(|t| self.skip_tags.contains(t))
    }
}

/// `name` contains `pattern`, where `*` in the pattern matches any run of characters.
pub fn matches(name: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return name.contains(pattern);
    }
    let mut rest = name;
    for part in parts {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// `dns.rhai › A record`: how a test is named in listings, filters and reports.
pub fn test_name(file: &str, test: &str) -> String {
    format!("{file} › {test}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(filters: &[&str], excludes: &[&str], tags: &[&str], skip: &[&str]) -> Selection {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        Selection {
            filters: v(filters),
            excludes: v(excludes),
            tags: v(tags),
            skip_tags: v(skip),
        }
    }

    #[test]
    fn filters_excludes_and_tags_combine() {
        let dns = ["dns".to_string()];
        let all = Selection::default();
        assert!(all.selects("a.rhai › A", &[]));
        let s = sel(&["a.rhai", "b.rhai › x*"], &["› slow"], &[], &[]);
        assert!(s.selects("d/a.rhai › A record", &[]));
        assert!(s.selects("b.rhai › xyz", &[]));
        assert!(!s.selects("b.rhai › y", &[]));
        assert!(!s.selects("a.rhai › slow", &[]));
        assert!(sel(&[], &[], &["dns"], &[]).selects("x", &dns));
        assert!(!sel(&[], &[], &["dns"], &[]).selects("x", &[]));
        assert!(!sel(&[], &[], &[], &["dns"]).selects("x", &dns));
        assert!(matches("s/chat.rhai", "s/*.rhai"));
        assert!(!matches("s/chat.rhai", "s/*o.rhai"));
    }
}
