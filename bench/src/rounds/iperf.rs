//! iperf3's UDP client against its own server, for a datagrams-per-second yardstick.

use std::process::Command;
use std::time::Duration;

use super::LIMIT;
use crate::child;
use crate::options::Config;
use crate::statistics::Results;

pub fn round(cfg: &Config, r: &mut Results) -> Result<(), String> {
    // iperf3 talks TCP on its port for control, then sends UDP to the same number.
    let port = {
        let s = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        s.local_addr().map_err(|e| e.to_string())?.port()
    };
    let mut server = Command::new("iperf3");
    server.args(["-s", "-1", "-B", "127.0.0.1", "-p", &port.to_string()]);
    let server = child::start(&mut server, false, LIMIT)?;
    std::thread::sleep(Duration::from_millis(300));
    let mut client = Command::new("iperf3");
    client.args([
        "-u",
        "-c",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-l",
        "64",
        "-b",
        "0",
        "-t",
        &cfg.iperf_secs.to_string(),
        "-J",
    ]);
    let out = child::run(&mut client, LIMIT);
    let _ = server.stop();
    let out = out?.ok()?;
    let json: serde_json::Value = serde_json::from_str(&out.stdout).map_err(|e| e.to_string())?;
    let sum = &json["end"]["sum_sent"];
    let (Some(packets), Some(secs)) = (sum["packets"].as_f64(), sum["seconds"].as_f64()) else {
        return Err("no end.sum_sent in iperf3's JSON".into());
    };
    // Stored as the time 200k datagrams would take at its rate, to compare like for like.
    let per = cfg.sends;
    r.add(
        "iperf.udp",
        "iperf3 -u -l 64 -b 0",
        per,
        per as f64 * secs / packets,
        out.cpu.as_secs_f64(),
    );
    Ok(())
}
