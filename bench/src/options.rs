//! The command line, turned once into a plain [`Config`] that the rounds and the report read.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const USAGE: &str = "\
usage: bench/run [--rounds N] [--quick] [--only GROUPS] [--udpsh PATH] [--python PATH] [--readme|--no-readme]
  GROUPS: comma-separated among send, echo, startup, proxy, replay, memory, blast, pace, iperf,
          instructions, load, fuzz (default all)
  --quick: fewer rounds and datagrams (a smoke run; ratios are noisier)
  --readme: rewrite the performance table of README.md (the default for a full run)";

/// What to run and how much of it.
pub struct Config {
    pub rounds: usize,
    /// Datagrams of the send loops and blasts.
    pub sends: u64,
    /// Round trips per echo run.
    pub trips: u64,
    /// Datagrams of the big recorded run (memory).
    pub recorded: u64,
    /// Seconds of each paced blast, and its rates.
    pub pace_secs: f64,
    pub rates: Vec<u64>,
    /// Seconds of each iperf3 run.
    pub iperf_secs: u64,
    /// Seconds each fuzzer runs per round.
    pub fuzz_secs: f64,
    pub groups: Vec<String>,
    /// Whether the performance table of README.md is rewritten from this run.
    pub readme: bool,
    pub root: PathBuf,
    pub udpsh: PathBuf,
    pub python: Option<PathBuf>,
    pub tmp: PathBuf,
}

const GROUPS: [&str; 12] = [
    "send",
    "echo",
    "startup",
    "proxy",
    "replay",
    "memory",
    "blast",
    "pace",
    "iperf",
    "instructions",
    "load",
    "fuzz",
];

impl Config {
    pub fn parse(args: &[String]) -> Result<Config, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("no repository root")?
            .to_path_buf();
        let mut cfg = Config {
            // The pcap ratio swung 0.69–0.89 over 3 rounds on a shared machine; 11 settle it.
            rounds: 11,
            sends: 200_000,
            trips: 20_000,
            recorded: 1_000_000,
            pace_secs: 5.0,
            // 0: unlimited, for the capacity the paced runs must stay under.
            rates: vec![0, 20_000, 100_000],
            iperf_secs: 2,
            fuzz_secs: 5.0,
            groups: GROUPS.iter().map(|g| g.to_string()).collect(),
            readme: true,
            udpsh: root.join("target/release/udpsh"),
            python: None,
            tmp: std::env::temp_dir().join(format!("udpsh-bench-{}", std::process::id())),
            root,
        };
        let mut python = None;
        let mut readme = None;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--rounds" => {
                    cfg.rounds = value()?
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or("--rounds needs a number above 0")?;
                }
                "--quick" => {
                    cfg.rounds = 3;
                    cfg.sends = 50_000;
                    cfg.trips = 5_000;
                    cfg.recorded = 200_000;
                    cfg.pace_secs = 2.0;
                    cfg.iperf_secs = 1;
                    cfg.fuzz_secs = 2.0;
                    cfg.readme = false;
                }
                "--only" => {
                    let only = value()?;
                    cfg.groups = only.split(',').map(|g| g.trim().to_string()).collect();
                    if let Some(bad) = cfg.groups.iter().find(|g| !GROUPS.contains(&g.as_str())) {
                        return Err(format!("unknown group '{bad}'"));
                    }
                    cfg.readme = false;
                }
                "--udpsh" => cfg.udpsh = PathBuf::from(value()?),
                "--python" => python = Some(PathBuf::from(value()?)),
                "--readme" => readme = Some(true),
                "--no-readme" => readme = Some(false),
                "-h" | "--help" => return Err("udpsh benchmarks".into()),
                other => return Err(format!("unknown argument '{other}'")),
            }
        }
        if !cfg.udpsh.is_file() {
            return Err(format!(
                "{} not found: build it first (bench/run does)",
                cfg.udpsh.display()
            ));
        }
        cfg.python = python.or_else(find_python);
        if let Some(readme) = readme {
            cfg.readme = readme;
        }
        Ok(cfg)
    }

    pub fn wants(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    pub fn udpsh(&self) -> Command {
        let mut cmd = Command::new(&self.udpsh);
        cmd.current_dir(&self.root);
        cmd
    }

    pub fn python(&self) -> Option<Command> {
        let mut cmd = Command::new(self.python.as_ref()?);
        cmd.current_dir(&self.root);
        Some(cmd)
    }

    pub fn me(&self) -> Command {
        Command::new(std::env::current_exe().expect("own path"))
    }
}

/// The interpreter itself rather than a `python3` shim (pyenv's would add 100 ms to start-up).
fn find_python() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && path.is_file()).then_some(path)
}
