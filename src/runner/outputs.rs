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
/// shortened and given a hash of the whole. Each file is created once here (and removed), so
/// a folder or name that cannot be written is a usage error before anything runs.
pub fn capture_paths(dir: &Path, names: &[&str]) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create capture folder {}: {e}", dir.display()))?;
    let mut taken = HashSet::new();
    let mut paths = Vec::new();
    for name in names {
        let base = fit(&capture_name(name), name);
        let mut file = base.clone();
        let mut n = 1;
        while !taken.insert(file.clone()) {
            n += 1;
            file = with_suffix(&base, &format!("-{n}"));
        }
        let path = dir.join(&file);
        probe(&path)?;
        paths.push(path);
    }
    Ok(paths)
}

/// `base` if its length is fine, else a prefix of it and a hash of the script's name.
fn fit(base: &str, name: &str) -> String {
    if base.len() <= NAME_MAX - 8 {
        return base.to_string();
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut hasher);
    let tag = format!("-{:016x}", hasher.finish());
    let mut cut = NAME_MAX - 8 - tag.len() - ".pcapng".len();
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
    let mut all: Vec<PathBuf> = inputs.iter().map(|p| p.to_path_buf()).collect();
    for script in inputs {
        all.extend(imported(script));
    }
    let inputs: Vec<Identity> = all.iter().map(|p| identity(p)).collect();
    let mut seen: Vec<(&str, Identity)> = Vec::new();
    for (what, path) in outputs {
        let id = identity(path);
        if inputs.iter().any(|i| i.same(&id)) {
            return Err(format!(
                "{what} {} is also a script of this run (or a module one imports): refusing to overwrite it",
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

/// The files a script names in `import "x"` (its folder, `.rhai` added), read from its text:
/// only to keep them from being overwritten, so a mention in a comment does no harm.
fn imported(script: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(script) else {
        return Vec::new();
    };
    let dir = script.parent().unwrap_or(Path::new(""));
    text.split("import")
        .skip(1)
        .filter_map(|rest| {
            let rest = rest.trim_start().strip_prefix('"')?;
            let name = &rest[..rest.find('"')?];
            (!name.starts_with("udpsh/")).then(|| crate::api::modules::module_file(dir, name))
        })
        .collect()
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
        let paths = capture_paths(dir.path(), &names).unwrap();
        let files: Vec<_> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
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
        let paths = capture_paths(dir.path(), &[&a, &b]).unwrap();
        for p in &paths {
            assert!(p.file_name().unwrap().len() <= NAME_MAX);
        }
        assert_ne!(paths[0], paths[1]);
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
