//! Which scripts a run means: files as given, `*.rhai` below directories (sorted), then
//! `--filter` and `--shard`.

use std::path::{Path, PathBuf};

/// A script file and the name users see for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptFile {
    pub path: PathBuf,
    pub name: String,
}

pub fn discover(paths: &[PathBuf]) -> Result<Vec<ScriptFile>, String> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut below = Vec::new();
            walk(path, &mut below).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            below.sort();
            if below.is_empty() {
                return Err(format!("no *.rhai scripts below {}", path.display()));
            }
            found.extend(below);
        } else if path.is_file() {
            found.push(path.clone());
        } else {
            return Err(format!("no such file or directory: {}", path.display()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|p| seen.insert(p.clone()));
    Ok(found
        .into_iter()
        .map(|path| ScriptFile {
            name: display_name(&path),
            path,
        })
        .collect())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rhai") {
            out.push(path);
        }
    }
    Ok(())
}

fn display_name(path: &Path) -> String {
    let text = path.display().to_string();
    text.strip_prefix("./").unwrap_or(&text).to_string()
}

/// Keeps the scripts whose name contains `pattern` (`*` matches any run of characters).
pub fn filter(scripts: Vec<ScriptFile>, pattern: &str) -> Vec<ScriptFile> {
    scripts
        .into_iter()
        .filter(|s| matches(&s.name, pattern))
        .collect()
}

fn matches(name: &str, pattern: &str) -> bool {
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

/// `I/N`: 1-based slice I of N.
pub fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("bad --shard '{text}': expected I/N with 1 <= I <= N, e.g. 2/4");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if i == 0 || n == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The deterministic slice: every N-th script starting at the I-th.
pub fn shard(scripts: Vec<ScriptFile>, (i, n): (usize, usize)) -> Vec<ScriptFile> {
    scripts
        .into_iter()
        .enumerate()
        .filter(|(k, _)| k % n == i - 1)
        .map(|(_, s)| s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> Vec<ScriptFile> {
        names
            .iter()
            .map(|n| ScriptFile {
                path: n.into(),
                name: n.to_string(),
            })
            .collect()
    }

    #[test]
    fn shards_cover_everything_once() {
        let all = files(&["a", "b", "c", "d", "e"]);
        let mut union: Vec<String> = (1..=3)
            .flat_map(|i| shard(all.clone(), (i, 3)))
            .map(|s| s.name)
            .collect();
        union.sort();
        assert_eq!(union, ["a", "b", "c", "d", "e"]);
        assert!(parse_shard("0/2").is_err());
        assert!(parse_shard("3/2").is_err());
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
    }

    #[test]
    fn filters_by_substring_or_glob() {
        let all = files(&["s/chat.rhai", "s/echo.rhai", "s/chat_client.rhai"]);
        assert_eq!(filter(all.clone(), "chat").len(), 2);
        assert_eq!(filter(all, "s/*o.rhai").len(), 1);
    }
}
