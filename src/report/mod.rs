//! Results of a run for people (terminal) and for CI (JUnit, TAP, JSON), one file per format.

mod json;
mod junit;
mod tap;
pub mod terminal;

#[cfg(test)]
mod sample;

use std::borrow::Cow;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use crate::display::one_line;
use crate::outcome::{Case, FileResult, Status, all_cases};

pub use json::JsonReport;
pub use junit::JunitReport;
pub use tap::TapReport;

/// One machine-readable format: renders a finished run, whole, to a writer.
pub trait Reporter {
    fn write(&self, files: &[FileResult], total: Duration, out: &mut dyn Write) -> io::Result<()>;
}

/// A `--report` flag: which format, and where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportSpec {
    /// `junit=FILE`
    Junit(PathBuf),
    /// `tap` (stdout) or `tap=FILE`
    Tap(Option<PathBuf>),
    /// `json=FILE`
    Json(PathBuf),
}

const EXPECTED: &str = "expected junit=FILE, tap or json=FILE";

impl FromStr for ReportSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (format, file) = match s.split_once('=') {
            Some((format, file)) => (format, Some(file)),
            None => (s, None),
        };
        let need_file = || match file {
            Some(f) if !f.is_empty() => Ok(PathBuf::from(f)),
            _ => Err(format!(
                "report format '{format}' needs a file: {format}=FILE"
            )),
        };
        match format {
            "junit" => need_file().map(ReportSpec::Junit),
            "json" => need_file().map(ReportSpec::Json),
            "tap" if file.is_none() => Ok(ReportSpec::Tap(None)),
            "tap" => need_file().map(|f| ReportSpec::Tap(Some(f))),
            _ => Err(format!("unknown report format '{format}': {EXPECTED}")),
        }
    }
}

impl ReportSpec {
    /// The file written, or `None` for stdout.
    /// The file written, or `None` for stdout (no file, or `-`).
    pub fn path(&self) -> Option<&Path> {
        let path = match self {
            ReportSpec::Junit(p) | ReportSpec::Json(p) => Some(p.as_path()),
            ReportSpec::Tap(p) => p.as_deref(),
        };
        path.filter(|p| *p != Path::new("-"))
    }

    /// `junit`, `tap` or `json`.
    pub fn format(&self) -> &'static str {
        match self {
            ReportSpec::Junit(_) => "junit",
            ReportSpec::Tap(_) => "tap",
            ReportSpec::Json(_) => "json",
        }
    }

    /// True when the report takes stdout, so the runner must keep its own lines off it.
    pub fn uses_stdout(&self) -> bool {
        self.path().is_none()
    }

    fn reporter(&self) -> &'static dyn Reporter {
        match self {
            ReportSpec::Junit(_) => &JunitReport,
            ReportSpec::Tap(_) => &TapReport,
            ReportSpec::Json(_) => &JsonReport,
        }
    }
}

/// Writes every report; one that fails does not stop the others. Errors name the file.
pub fn write_reports(
    specs: &[ReportSpec],
    files: &[FileResult],
    total: Duration,
) -> Result<(), String> {
    write_some(specs.iter(), files, total)
}

/// Rewrites the reports that go to files (not stdout) with the files run so far.
pub fn write_report_files(
    specs: &[ReportSpec],
    files: &[FileResult],
    total: Duration,
) -> Result<(), String> {
    // Only regular files: stdout, a device or a FIFO gets the report once, at the end.
    let rewritable = |s: &&ReportSpec| s.path().is_some_and(|p| regular_target(p).is_some());
    write_some(specs.iter().filter(rewritable), files, total)
}

/// The regular file a report path stands for (following symlinks, even to a file not made
/// yet), or `None` when it names a device, a FIFO or the like, which is written in place and
/// never replaced.
fn regular_target(path: &Path) -> Option<std::path::PathBuf> {
    // What the kernel opens (through `/dev/stdout`'s magic links, too).
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => return Some(fs::canonicalize(path).unwrap_or(path.into())),
        Ok(_) => return None,
        Err(_) => {}
    }
    // Not there yet: the file a (dangling) symlink names is made.
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&path).ok()?;
                path = match path.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Ok(meta) if meta.is_file() => return Some(path),
            Ok(_) => return None,
            Err(_) => return Some(path),
        }
    }
    None
}

fn write_some<'a>(
    specs: impl Iterator<Item = &'a ReportSpec>,
    files: &[FileResult],
    total: Duration,
) -> Result<(), String> {
    let errors: Vec<String> = specs
        .filter_map(|spec| write_one(spec, files, total).err())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

fn write_one(spec: &ReportSpec, files: &[FileResult], total: Duration) -> Result<(), String> {
    let reporter = spec.reporter();
    match spec.path() {
        None => {
            let mut out = io::stdout().lock();
            (reporter.write(files, total, &mut out)).and_then(|()| out.flush())
        }
        Some(path) => write_file(path, |out| reporter.write(files, total, out)),
    }
    .map_err(|e| match spec.path() {
        Some(path) => format!("cannot write report {}: {e}", path.display()),
        None => format!("cannot write report to stdout: {e}"),
    })
}

/// Creates the file (and its folder, as CI paths like `reports/junit.xml` expect), then
/// writes. The new report replaces the old one whole (a temporary file renamed over it, beside
/// the file a symlink points to), so a run killed while writing still leaves the last complete
/// report.
fn write_file(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let Some(path) = regular_target(path) else {
        // `/dev/stdout`, a FIFO: written to, never replaced by a file.
        let mut out = BufWriter::new(crate::fifo::create_for_writing(path)?);
        write(&mut out)?;
        return out.flush();
    };
    let path = path.as_path();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.udpsh-{}.tmp", std::process::id()));
    let written = (|| {
        let mut out = BufWriter::new(fs::File::create(&temp)?);
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// The one-line reason a test did not pass (escaped: it may quote the network), with a
/// default when the runner gave none.
fn message<'a>(c: &Case<'a>) -> Cow<'a, str> {
    Cow::Borrowed(match (c.failure(), c.status()) {
        (Some(f), _) => return one_line(&f.message),
        (None, Status::Passed) => "",
        (None, Status::Failed) => "assertion failed",
        (None, Status::Error) => "runtime error",
        (None, Status::Timeout) => "timed out",
        (None, Status::Interrupted) => "interrupted",
        (None, Status::Skipped) => return one_line(c.skip_reason().unwrap_or("skipped")),
    })
}

/// Counts per status, in the order reports list them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    passed: usize,
    failed: usize,
    errors: usize,
    timeouts: usize,
    interrupted: usize,
    skipped: usize,
    /// Passed on a retry (also counted in `passed`).
    flaky: usize,
}

impl Counts {
    fn of(files: &[FileResult]) -> Counts {
        let mut c = Counts::default();
        for case in all_cases(files) {
            *match case.status() {
                Status::Passed => &mut c.passed,
                Status::Failed => &mut c.failed,
                Status::Error => &mut c.errors,
                Status::Timeout => &mut c.timeouts,
                Status::Interrupted => &mut c.interrupted,
                Status::Skipped => &mut c.skipped,
            } += 1;
            if case.case.is_flaky() {
                c.flaky += 1;
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ReportSpec, String> {
        s.parse()
    }

    #[test]
    fn parses_the_cli_forms() {
        assert_eq!(
            parse("junit=out/j.xml"),
            Ok(ReportSpec::Junit("out/j.xml".into()))
        );
        assert_eq!(parse("json=r.json"), Ok(ReportSpec::Json("r.json".into())));
        assert_eq!(parse("tap"), Ok(ReportSpec::Tap(None)));
        assert_eq!(
            parse("tap=t.tap"),
            Ok(ReportSpec::Tap(Some("t.tap".into())))
        );
        assert!(parse("tap").unwrap().uses_stdout());
        assert!(!parse("tap=t.tap").unwrap().uses_stdout());
    }

    #[test]
    fn rejects_unknown_formats_and_missing_files() {
        let unknown = "unknown report format 'xml': expected junit=FILE, tap or json=FILE";
        assert_eq!(parse("xml"), Err(unknown.into()));
        assert_eq!(parse("xml=a.xml"), Err(unknown.into()));
        let junit = "report format 'junit' needs a file: junit=FILE";
        assert_eq!(parse("junit"), Err(junit.into()));
        assert_eq!(parse("junit="), Err(junit.into()));
        assert_eq!(
            parse("json"),
            Err("report format 'json' needs a file: json=FILE".into())
        );
        assert_eq!(
            parse("tap="),
            Err("report format 'tap' needs a file: tap=FILE".into())
        );
    }

    #[test]
    fn writes_every_report_into_new_folders() {
        let dir = tempfile::tempdir().unwrap();
        let junit = dir.path().join("reports/junit.xml");
        let json = dir.path().join("reports/run.json");
        let tap = dir.path().join("run.tap");
        let specs = [
            ReportSpec::Junit(junit.clone()),
            ReportSpec::Json(json.clone()),
            ReportSpec::Tap(Some(tap.clone())),
        ];
        write_reports(&specs, &sample::suite(), Duration::from_millis(2310)).unwrap();
        for file in [junit, json, tap] {
            assert!(!fs::read_to_string(file).unwrap().is_empty());
        }
    }

    #[test]
    fn devices_and_symlinks_are_written_through_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
        };
        let specs = [
            ReportSpec::Json(link.clone()),
            ReportSpec::Junit(fifo.clone()),
            ReportSpec::Json("/dev/null".into()),
        ];
        write_report_files(&specs, &sample::suite(), Duration::ZERO).unwrap();
        write_reports(&specs, &sample::suite(), Duration::ZERO).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(fs::read_to_string(&target).unwrap().contains("\"summary\""));
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert!(
            fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        // The FIFO got the report once, at the end, not after each file.
        let xml = reader.join().unwrap();
        assert_eq!(xml.matches("<testsuites").count(), 1);
        assert!(parse("junit=-").unwrap().uses_stdout());
    }

    #[test]
    fn names_the_file_and_os_error_and_writes_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, "").unwrap();
        let bad = blocker.join("junit.xml");
        let good = dir.path().join("run.json");
        let specs = [
            ReportSpec::Junit(bad.clone()),
            ReportSpec::Json(good.clone()),
        ];
        let err = write_reports(&specs, &sample::suite(), Duration::ZERO).unwrap_err();
        assert!(
            err.starts_with(&format!("cannot write report {}: ", bad.display())),
            "{err}"
        );
        assert!(err.contains("os error"), "{err}");
        assert!(good.exists());
    }

    #[test]
    fn counts_each_status() {
        let c = Counts::of(&sample::suite());
        let expected = Counts {
            passed: 2,
            failed: 1,
            errors: 1,
            timeouts: 1,
            interrupted: 0,
            skipped: 0,
            flaky: 0,
        };
        assert_eq!(c, expected);
    }
}
