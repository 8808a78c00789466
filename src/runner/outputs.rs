//! Where a run writes: one capture per script with `--pcap-dir` (distinct names, whatever
//! the paths), and the check that no output is an input or another output — decided before
//! anything runs, so nothing is overwritten or cut silently.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// The longest file name most file systems take, in bytes.
const NAME_MAX: usize = 255;

/// `scripts/scenarios/chat.rhai` → `scripts_scenarios_chat.pcapng`.
pub fn capture_name(name: &str) -> String {
    let stem = name.strip_suffix(".rhai").unwrap_or(name);
    let flat: String = stem
        .chars()
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    format!("{}.pcapng", flat.trim_start_matches(['.', '_']))
}

/// One capture path per script name, all different: a name two scripts flatten to
/// (`a/b_c.rhai`, `a_b/c.rhai`) gets `-2`, `-3`…; a name too long for the file system is
/// shortened and given a hash of the whole. With `runs` > 1 each run k of a script gets
/// `-runK` (`x-run2.pcapng`), made when the run starts, so a long `--repeat` plans nothing up
/// front. Each file is created once here (and removed), so a folder or name that cannot be
/// written is a usage error before anything runs.
pub fn capture_paths(dir: &Path, names: &[&str], runs: u32) -> Result<CapturePaths, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create capture folder {}: {e}", dir.display()))?;
    // Room for the longest `-runK` this run adds.
    let reserve = if runs > 1 { run_suffix(runs).len() } else { 0 };
    let mut taken = HashSet::new();
    let mut bases = Vec::new();
    for name in names {
        let base = fit(&capture_name(name), name, reserve);
        let mut file = base.clone();
        let mut n = 1;
        while !taken.insert(file.clone()) {
            n += 1;
            file = with_suffix(&base, &format!("-{n}"));
        }
        bases.push(dir.join(&file));
    }
    let paths = CapturePaths { bases, runs };
    for i in 0..names.len() {
        probe(&paths.of(i, 1))?;
    }
    Ok(paths)
}

/// The capture of each run of each script of a `--pcap-dir` run.
pub struct CapturePaths {
    bases: Vec<PathBuf>,
    runs: u32,
}

impl CapturePaths {
    /// Run `run` (1-based) of script `script`.
    pub fn of(&self, script: usize, run: u32) -> PathBuf {
        let base = &self.bases[script];
        if self.runs <= 1 {
            return base.clone();
        }
        let file = base.file_name().unwrap_or_default().to_string_lossy();
        base.with_file_name(with_suffix(&file, &run_suffix(run)))
    }
}

fn run_suffix(run: u32) -> String {
    format!("-run{run}")
}

/// `base` if its length (and `reserve` bytes more) is fine, else a prefix of it and a hash of the script's name.
fn fit(base: &str, name: &str, reserve: usize) -> String {
    if base.len() + reserve <= NAME_MAX - 8 {
        return base.to_string();
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut hasher);
    let tag = format!("-{:016x}", hasher.finish());
    let mut cut = NAME_MAX - 8 - reserve - tag.len() - ".pcapng".len();
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{tag}.pcapng", &base[..cut])
}

fn with_suffix(file: &str, suffix: &str) -> String {
    let stem = file.strip_suffix(".pcapng").unwrap_or(file);
    format!("{stem}{suffix}.pcapng")
}

fn probe(path: &Path) -> Result<(), String> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| format!("cannot write capture {}: {e}", path.display()))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Refuses when an output is one of the inputs (a script, or a module one imports), or two
/// outputs are one file. `outputs` are (what, path): ("--pcap", "run.pcap"),
/// ("--report junit", "j.xml").
pub fn check_distinct(inputs: &[&Path], outputs: &[(String, &Path)]) -> Result<(), String> {
    let inputs: Vec<Identity> = inputs_of(inputs).iter().map(|p| identity(p)).collect();
    let mut seen: Vec<(&str, Identity)> = Vec::new();
    for (what, path) in outputs {
        let id = identity(path);
        if inputs.iter().any(|i| i.same(&id)) {
            return Err(format!(
                "{what} {} is also a script of this run (or a module one imports, or a capture one reads): refusing to overwrite it",
                path.display()
            ));
        }
        if let Some((other, _)) = seen.iter().find(|(_, p)| p.same(&id)) {
            return Err(format!(
                "{what} and {other} both write {}: give each its own file",
                path.display()
            ));
        }
        seen.push((what, id));
    }
    Ok(())
}

/// The files a run reads: its scripts, the modules they name in `import "x"` (the script's
/// folder, `.rhai` added) and the captures they name in `read_pcap("x")` or `replay("x")`
/// (the current folder), read from their text: only to keep them from being overwritten,
/// so a mention in a comment does no harm.
pub fn inputs_of(scripts: &[&Path]) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = scripts.iter().map(|p| p.to_path_buf()).collect();
    for script in scripts {
        let Ok(text) = std::fs::read_to_string(script) else {
            continue;
        };
        let dir = script.parent().unwrap_or(Path::new(""));
        all.extend(
            quoted_after(&text, "import")
                .filter(|name| !name.starts_with("udpsh/"))
                .map(|name| crate::api::modules::module_file(dir, name)),
        );
        for call in ["read_pcap(", "replay("] {
            all.extend(quoted_after(&text, call).map(PathBuf::from));
        }
    }
    all
}

/// The string literal right after each `word` in `text`: `import "x"` → `x`.
fn quoted_after<'a>(text: &'a str, word: &str) -> impl Iterator<Item = &'a str> {
    text.split(word).skip(1).filter_map(|rest| {
        let rest = rest.trim_start().strip_prefix('"')?;
        Some(&rest[..rest.find('"')?])
    })
}

/// No capture of this run may replace one of its scripts or the modules they import. (A
/// capture a script reads may be recorded again by it: record, read back, record anew.)
pub fn protect_inputs(scripts: &[&Path]) {
    for script in scripts {
        crate::capture::protect(script);
        let Ok(text) = std::fs::read_to_string(script) else {
            continue;
        };
        let dir = script.parent().unwrap_or(Path::new(""));
        for name in quoted_after(&text, "import").filter(|n| !n.starts_with("udpsh/")) {
            crate::capture::protect(&crate::api::modules::module_file(dir, name));
        }
    }
}

/// The same file however it is named: the real path (of the file, or of its folder when the
/// file does not exist yet), and for a file that exists its device and inode (a hard link).
struct Identity {
    path: PathBuf,
    inode: Option<(u64, u64)>,
}

impl Identity {
    fn same(&self, other: &Identity) -> bool {
        self.path == other.path || (self.inode.is_some() && self.inode == other.inode)
    }
}

fn identity(path: &Path) -> Identity {
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| (m.dev(), m.ino()));
    if let Ok(real) = std::fs::canonicalize(path) {
        return Identity { path: real, inode };
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    Identity {
        path: dir.join(path.file_name().unwrap_or_default()),
        inode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_gets_its_own_capture() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["a/b_c.rhai", "a_b/c.rhai", "a_b_c-2.rhai", "x.rhai"];
        let paths = capture_paths(dir.path(), &names, 1).unwrap();
        let files: Vec<_> = (0..names.len())
            .map(|i| {
                paths
                    .of(i, 1)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(files[0], "a_b_c.pcapng");
        assert_eq!(files[3], "x.pcapng");
        let unique: HashSet<_> = files.iter().collect();
        assert_eq!(unique.len(), files.len(), "{files:?}");
    }

    #[test]
    fn long_names_are_shortened_and_still_distinct() {
        let dir = tempfile::tempdir().unwrap();
        let a = format!("{}a.rhai", "d/".repeat(200));
        let b = format!("{}b.rhai", "d/".repeat(200));
        let paths = capture_paths(dir.path(), &[&a, &b], u32::MAX).unwrap();
        let longest = [paths.of(0, u32::MAX), paths.of(1, u32::MAX)];
        for p in &longest {
            assert!(p.file_name().unwrap().len() <= NAME_MAX, "{p:?}");
        }
        assert_ne!(longest[0], longest[1]);
        assert!(
            longest[0]
                .to_string_lossy()
                .ends_with("-run4294967295.pcapng")
        );
    }

    #[test]
    fn an_output_may_not_be_an_input_or_another_output() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s.rhai");
        std::fs::write(&script, "").unwrap();
        let other = dir.path().join("./s.rhai");
        let err = check_distinct(&[&script], &[("--pcap".into(), &other)]).unwrap_err();
        assert!(err.contains("is also a script"), "{err}");
        let x = dir.path().join("x");
        let err = check_distinct(
            &[&script],
            &[("--pcap".into(), &x), ("--report junit".into(), &x)],
        )
        .unwrap_err();
        assert!(err.contains("both write"), "{err}");
        let y = dir.path().join("y");
        assert!(
            check_distinct(
                &[&script],
                &[("--pcap".into(), &x), ("--report".into(), &y)]
            )
            .is_ok()
        );
    }
}
