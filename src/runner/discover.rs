//! Which scripts a run means: files as given, `*.rhai` below directories (sorted), then
//! `--filter` and `--shard`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// A script file and the name users see for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptFile {
    pub path: PathBuf,
    pub name: String,
}

pub fn discover(paths: &[PathBuf]) -> Result<Vec<ScriptFile>, String> {
    let mut found = Vec::new();
    let mut visited = HashSet::new();
    for path in paths {
        let shown = || crate::display::one_line(&path.to_string_lossy()).into_owned();
        let meta = std::fs::metadata(path)
            .map_err(|_| format!("no such file or directory: {}", shown()))?;
        if meta.is_dir() {
            let mut below = Vec::new();
            walk(path, &mut below, &mut visited)
                .map_err(|e| format!("cannot read {}: {e}", shown()))?;
            below.sort();
            if below.is_empty() {
                return Err(format!("no *.rhai scripts below {}", shown()));
            }
            found.extend(below);
        } else if meta.is_file() {
            found.push(path.clone());
        } else {
            return Err(format!("{} is not a regular file", shown()));
        }
    }
    // Each real file once, however it was reached (two paths, a symlink).
    let mut seen = HashSet::new();
    found.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(found
        .into_iter()
        .map(|path| ScriptFile {
            name: display_name(&path),
            path,
        })
        .collect())
}

/// Every regular `*.rhai` below `dir`; a folder reached twice (a symlink loop) is read once.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, visited: &mut HashSet<PathBuf>) -> std::io::Result<()> {
    if !visited.insert(std::fs::canonicalize(dir)?) {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            // A dangling symlink: said, since a script someone meant to run is missing.
            if path.extension().is_some_and(|e| e == "rhai") {
                crate::display::print_warning(format!(
                    "{} is a symlink to nothing: not run",
                    crate::display::one_line(&display_name(&path))
                ));
            }
            continue;
        };
        if meta.is_dir() {
            walk(&path, out, visited)?;
        } else if meta.is_file() && path.extension().is_some_and(|e| e == "rhai") {
            out.push(path);
        }
    }
    Ok(())
}

fn display_name(path: &Path) -> String {
    let text = path.display().to_string();
    text.strip_prefix("./").unwrap_or(&text).to_string()
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
pub fn shard<T>(scripts: Vec<T>, (i, n): (usize, usize)) -> Vec<T> {
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
    fn a_symlink_loop_is_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("a.rhai"), "").unwrap();
        std::os::unix::fs::symlink(".", d.join("loop")).unwrap();
        std::os::unix::fs::symlink("a.rhai", d.join("b.rhai")).unwrap();
        let found = discover(std::slice::from_ref(&d)).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let fifo = dir.path().join("fifo.rhai");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = discover(&[fifo]).unwrap_err();
        assert!(err.ends_with("is not a regular file"), "{err}");
    }
}
