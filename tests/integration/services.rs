//! udpsh/radius, udpsh/snmp and udpsh/sip against FreeRADIUS, snmpd and Kamailio, each
//! started here on a free loopback port with a config written into a temp dir and stopped
//! by PID when the test ends (as the daemons of protocols.rs).

use std::path::Path;

use crate::protocols::{Server, installed, run, start, strings};
use crate::support::{Udpsh, free_port, wait_bound};

/// FreeRADIUS 3 with a client 127.0.0.1 (secret testing123), a user alice (password
/// wonderland, Reply-Message "Hello, alice"), and an accounting port answered `ok`. The
/// accounting address is the script's `acct`.
pub(crate) fn freeradius() -> Option<Server> {
    if !installed("freeradius") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let (auth, acct) = (free_port(), free_port());
    write_radius_config(dir.path(), auth, acct);
    let args = strings(&["-X", "-d", &dir.path().display().to_string()]);
    let mut server = start("freeradius", &args, auth, dir, format!("127.0.0.1:{auth}"));
    wait_bound(acct);
    server.extra.push(("acct", format!("127.0.0.1:{acct}")));
    Some(server)
}

fn write_radius_config(dir: &Path, auth: u16, acct: u16) {
    let d = dir.display();
    let conf = format!(
        r#"prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
libdir = /usr/lib/freeradius
confdir = {d}
raddbdir = {d}
modconfdir = {d}
logdir = {d}
run_dir = {d}
db_dir = {d}
radacctdir = {d}
pidfile = {d}/radiusd.pid
name = freeradius
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
log {{
  destination = stderr
}}
security {{
  allow_core_dumps = no
  status_server = yes
}}
client local {{
  ipaddr = 127.0.0.1
  secret = testing123
}}
modules {{
  files {{
    filename = {d}/users
  }}
  pap {{
  }}
  always ok {{
    rcode = ok
  }}
}}
server default {{
  listen {{
    type = auth
    ipaddr = 127.0.0.1
    port = {auth}
  }}
  listen {{
    type = acct
    ipaddr = 127.0.0.1
    port = {acct}
  }}
  authorize {{
    files
    pap
  }}
  authenticate {{
    Auth-Type PAP {{
      pap
    }}
  }}
  accounting {{
    ok
  }}
}}
"#
    );
    std::fs::write(dir.join("radiusd.conf"), conf).unwrap();
    std::fs::write(
        dir.join("users"),
        "alice Cleartext-Password := \"wonderland\"\n      Reply-Message := \"Hello, alice\"\n",
    )
    .unwrap();
}

/// snmpd with a read-only community `public` for 127.0.0.1 and sysLocation "udpsh test lab";
/// its persistent state in the temp dir too.
pub(crate) fn snmpd() -> Option<Server> {
    if !installed("snmpd") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("snmpd.conf");
    std::fs::write(
        &conf,
        format!(
            "rocommunity public 127.0.0.1\nsysLocation udpsh test lab\n[snmp] persistentDir {}\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let args = strings(&[
        "-f",
        "-Lo",
        "-C",
        "-c",
        &conf.display().to_string(),
        "-p",
        &dir.path().join("snmpd.pid").display().to_string(),
        &format!("udp:127.0.0.1:{port}"),
    ]);
    Some(start(
        "snmpd",
        &args,
        port,
        dir,
        format!("127.0.0.1:{port}"),
    ))
}

/// Kamailio answering OPTIONS with 200 (and the request's Subject as X-Seen-Subject) and
/// MESSAGE with 100 then 202, statelessly; anything else 501.
pub(crate) fn kamailio() -> Option<Server> {
    if !installed("kamailio") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = dir.path().join("kamailio.cfg");
    std::fs::write(
        &cfg,
        format!(
            r#"#!KAMAILIO
debug=2
log_stderror=yes
children=1
disable_tcp=yes
listen=udp:127.0.0.1:{port}
loadmodule "sl.so"
loadmodule "textops.so"
loadmodule "pv.so"
request_route {{
    if (method == "OPTIONS") {{
        append_to_reply("X-Seen-Subject: $hdr(Subject)\r\n");
        sl_send_reply("200", "OK");
        exit;
    }}
    if (method == "MESSAGE") {{
        sl_send_reply("100", "Trying");
        sl_send_reply("202", "Accepted");
        exit;
    }}
    sl_send_reply("501", "Not Implemented");
}}
"#
        ),
    )
    .unwrap();
    let d = dir.path().display().to_string();
    let args = strings(&[
        "-DD",
        "-E",
        "-f",
        &cfg.display().to_string(),
        "-P",
        &format!("{d}/kamailio.pid"),
        "-Y",
        &d,
    ]);
    Some(start(
        "kamailio",
        &args,
        port,
        dir,
        format!("127.0.0.1:{port}"),
    ))
}

/// A script run with the server's address and its other vars.
pub(crate) fn script(name: &str, source: &str, server: &Server) -> Udpsh {
    let mut u = Udpsh::script(name, source).var("server", &server.addr);
    for (k, v) in &server.extra {
        u = u.var(k, v);
    }
    u
}

#[test]
fn radius_against_freeradius() {
    let Some(server) = freeradius() else {
        return;
    };
    run("radius.rhai", &server);
    script(
        "radius_more.rhai",
        r#"
import "udpsh/radius" as radius;
let s = udp();
let srv = var("server", "");
// A Message-Authenticator FreeRADIUS checks: with the right secret it answers...
let r = radius::ask(s, srv, "testing123", #{"User-Name": "alice", "User-Password": "wonderland", "Message-Authenticator": true});
assert_eq(r.code, "Access-Accept");
assert(r.valid);
// ...with a wrong one it drops the request (its Message-Authenticator fails).
try {
    radius::ask(s, srv, "wrong", #{"User-Name": "alice", "User-Password": "wonderland", "Message-Authenticator": true}, #{timeout: 0.3, retries: 0});
    assert(false, "answered");
} catch (e) { assert_eq(e.kind, "timeout"); }
// Accounting: the Request Authenticator is a hash FreeRADIUS checks.
let a = radius::ask(s, var("acct", ""), "testing123",
    #{"User-Name": "alice", "Acct-Status-Type": "Start", "Acct-Session-Id": "s1", "NAS-IP-Address": "127.0.0.1"},
    #{code: "Accounting-Request"});
assert_eq(a.code, "Accounting-Response");
assert(a.valid);
assert_eq(radius::ask(s, srv, "testing123", #{}, #{code: "Status-Server"}).code, "Access-Accept");
// The request as a server would read it: the password back, nothing to check without a
// Message-Authenticator.
let q = radius::request("Access-Request", #{"User-Name": "bob", "User-Password": "pw", "NAS-Port": 3}, "k");
let p = radius::parse(q, "k");
assert_eq(p.attrs["User-Password"], "pw");
assert_eq(p.attrs["NAS-Port"], 3);
assert_eq(p.valid, ());
let reply = radius::reply(q, "Access-Accept", #{"Reply-Message": ["one", "two"]}, "k");
let back = radius::parse(reply, "k", q);
assert(back.valid);
assert_eq(back.attrs["Reply-Message"], ["one", "two"]);
assert(!radius::parse(reply, "other", q).valid);
"#,
        &server,
    )
    .output()
    .success();
}

#[test]
fn snmp_against_snmpd() {
    let Some(server) = snmpd() else {
        return;
    };
    run("snmp.rhai", &server);
    script(
        "snmp_more.rhai",
        r#"
import "udpsh/snmp" as snmp;
let s = udp();
let srv = var("server", "");
let next = snmp::getnext(s, srv, "public", "1.3.6.1.2.1.1.6");
assert_eq([next.oid, next.type], ["1.3.6.1.2.1.1.6.0", "OCTET STRING"]);
assert_eq(snmp::get(s, srv, "public", "1.3.6.1.2.1.1.1.1").type, "noSuchInstance");
assert_eq(snmp::getnext(s, srv, "public", "1.9").type, "endOfMibView");
let c = snmp::get(s, srv, "public", "1.3.6.1.2.1.31.1.1.1.6.1");
assert_eq(c.type, "Counter64");
assert(c.value >= 0);
assert_eq(snmp::get(s, srv, "public", "1.3.6.1.2.1.1.2.0").value, "1.3.6.1.4.1.8072.3.2.10");
// A community the agent does not know gets no answer at all.
try { snmp::get(s, srv, "nope", "1.3.6.1.2.1.1.6.0", #{timeout: 0.3, retries: 0}); assert(false); }
catch (e) { assert_eq(e.kind, "timeout"); }
try { snmp::get(s, srv, "public", "1.3.x"); assert(false); } catch (e) { assert_eq(e.kind, "value"); }
"#,
        &server,
    )
    .output()
    .success();
}

#[test]
fn sip_against_kamailio() {
    let Some(server) = kamailio() else {
        return;
    };
    run("sip.rhai", &server);
    let out = script(
        "sip_more.rhai",
        r#"
import "udpsh/sip" as sip;
let s = udp();
let srv = var("server", "");
// 100 Trying comes first and is passed over: the final response is the answer.
let r = sip::ask(s, srv, "MESSAGE", "sip:ping@127.0.0.1", #{body: "hi"});
assert_eq([r.status, r.reason, r.method], [202, "Accepted", "MESSAGE"]);
// Via names the socket's own address; Kamailio adds rport and received.
assert_contains(r.headers["via"], `rport=${s.local_addr.split(":")[1]}`);
assert_eq(sip::ask(s, srv, "INFO", "sip:ping@127.0.0.1").status, 501);
// A request built apart and sent by hand gets the same answer.
let q = sip::request("OPTIONS", "sip:ping@127.0.0.1");
assert_eq(sip::parse(s.request(q, srv).data).status, 200);
"#,
        &server,
    )
    .arg("-v")
    .output()
    .success();
    assert_eq!(out.stdout_count("SIP/2.0 100 Trying"), 1, "{}", out.dump());
}
