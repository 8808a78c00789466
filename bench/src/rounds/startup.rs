//! Start-up: `udpsh -e ''` against `python3 -c 'import socket'`, alternated.

use super::LIMIT;
use crate::child;
use crate::options::Config;
use crate::statistics::Results;

pub fn round(cfg: &Config, r: &mut Results) -> Result<(), String> {
    for _ in 0..5 {
        let mut udpsh = cfg.udpsh();
        udpsh.args(["-e", ""]);
        let out = child::run(&mut udpsh, LIMIT)?.ok()?;
        r.add(
            "start.udpsh",
            "udpsh -e ''",
            1,
            out.wall.as_secs_f64(),
            out.cpu.as_secs_f64(),
        );
        if let Some(mut py) = cfg.python() {
            py.args(["-c", "import socket"]);
            let out = child::run(&mut py, LIMIT)?.ok()?;
            r.add(
                "start.python",
                "python3 -c 'import socket'",
                1,
                out.wall.as_secs_f64(),
                out.cpu.as_secs_f64(),
            );
        }
    }
    Ok(())
}
