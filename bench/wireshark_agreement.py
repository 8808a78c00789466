#!/usr/bin/env python3
"""How often udpsh reads what Wireshark reads. Not a test: a measurement, run by hand (root,
for tcpdump):

    python3 bench/wireshark_agreement.py [target/release/udpsh]

1. Starts dnsmasq, chronyd, turnserver (anonymous and long-term) and coap-server on loopback,
   captures their exchanges with `tcpdump -i lo` while dig, chronyd's clients, udpsh's modules
   and coap-client talk to them (every datagram to 127.0.0.1), then stops them all.
2. Reads that capture and every fixture under fixtures/ with udpsh (read_pcap, then
   dns::parse / ntp::parse / stun::parse / coap::parse by port) and with tshark's dissectors
   (-T fields), and counts the datagrams on which they agree, field by field.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UDPSH = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "target/release/udpsh")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_bound(port):
    for _ in range(100):
        with open("/proc/net/udp") as f:
            if any(f":{port:04X} " in line for line in f):
                return
        time.sleep(0.05)


def capture_daemons(out):
    d = tempfile.mkdtemp()
    ports = {k: free_port() for k in ("dns", "ntp", "stun", "stun_auth", "coap")}
    procs = []

    def start(args):
        procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    big = ",".join(c * 250 for c in "abc")
    start(["dnsmasq", "-d", "-p", str(ports["dns"]), "--listen-address=127.0.0.1",
           "--bind-interfaces", "--no-resolv", "--no-hosts", "--address=/example.test/10.1.2.3",
           "--address=/example.test/2001:db8::3", "--mx-host=example.test,mail.example.test,10",
           f"--txt-record=big.test,{big}", "--txt-record=t.test,hello world",
           "--srv-host=_sip._udp.example.test,sip.example.test,5060,0,5",
           "--cname=alias.example.test,example.test", f"--pid-file={d}/dnsmasq.pid",
           "--ptr-record=3.2.1.10.in-addr.arpa,example.test"])
    with open(f"{d}/chrony.conf", "w") as f:
        f.write(f"port {ports['ntp']}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\n"
                f"cmdport 0\npidfile {d}/chronyd.pid\ndriftfile {d}/drift\n")
    start(["chronyd", "-d", "-x", "-f", f"{d}/chrony.conf"])
    common = ["-n", "--listening-ip=127.0.0.1", "--no-tls", "--no-dtls", "--no-cli", "--no-tcp"]
    start(["turnserver", *common, f"--listening-port={ports['stun']}", "--stun-only",
           f"--pidfile={d}/t1.pid"])
    start(["turnserver", *common, f"--listening-port={ports['stun_auth']}", "-a", "--user=u:p",
           "--realm=r", "--secure-stun", f"--pidfile={d}/t2.pid"])
    start(["coap-server-notls", "-A", "127.0.0.1", "-p", str(ports["coap"])])
    for p in ports.values():
        wait_bound(p)
    filt = " or ".join(f"udp port {p}" for p in ports.values())
    dump = subprocess.Popen(["tcpdump", "-Z", "root", "-i", "lo", "-U", "-w", out, filt],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dump.stderr.readline()  # "listening on lo"
    time.sleep(0.5)
    dns = f"127.0.0.1 -p {ports['dns']}"
    for q in ["example.test A", "example.test AAAA", "example.test MX", "t.test TXT",
              "missing.nx.test A", "big.test TXT +noedns +ignore", "big.test TXT +dnssec",
              "_sip._udp.example.test SRV", "alias.example.test A", "-x 10.1.2.3",
              "example.test ANY", "example.test A +bufsize=1232 +nocookie"]:
        subprocess.run(["dig", "@" + dns.split()[0], "-p", dns.split()[2], *q.split(),
                        "+tries=1", "+time=1"], stdout=subprocess.DEVNULL)
    srv = lambda k: f"127.0.0.1:{ports[k]}"
    script = f"""
import "udpsh/ntp" as ntp;
import "udpsh/stun" as stun;
import "udpsh/dns" as dns;
import "udpsh/coap" as coap;
let s = udp("127.0.0.1:0");
for i in 0..5 {{ ntp::ask(s, "{srv('ntp')}"); }}
s.sendto(pack("!BBHHHHH", 0x16, 2, 1, 0, 0, 0, 0), "{srv('ntp')}");
s.sendto(pack("!BBBBI", 0x17, 0, 3, 42, 0), "{srv('ntp')}");
for i in 0..3 {{ stun::ask(s, "{srv('stun')}"); }}
stun::ask(s, "{srv('stun_auth')}", #{{username: "u", realm: "r", password: "p"}});
stun::ask(s, "{srv('stun_auth')}", #{{username: "u", realm: "r", password: "x"}});
s.sendto(pack("!HHI", 0x4001, 4, 0x61626364), "{srv('stun')}");
dns::ask(s, "{srv('dns')}", "example.test", "A", #{{edns: #{{size: 1232, dnssec: true}}}});
coap::ask(s, "{srv('coap')}", "GET", "/");
coap::ask(s, "{srv('coap')}", "GET", "/.well-known/core");
coap::ask(s, "{srv('coap')}", "GET", "/async?1", #{{timeout: 3.0}});
s.sendto(pack("!BBH", 0x40, 0, 0x7777), "{srv('coap')}");
try {{ s.settimeout(0.5); s.recvfrom(100); }} catch {{}}
"""
    # One line a step: a step that fails is said, and the others still run.
    steps = [l for l in script.strip().splitlines()]
    head = [l for l in steps if l.startswith("import") or l.startswith("let s")]
    body = [l for l in steps if l not in head]
    wrapped = "\n".join(head + [f"try {{ {l} }} catch (e) {{ eprint(`${{e}}`); }}" for l in body])
    run = subprocess.run([UDPSH, "-e", wrapped], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if run.returncode:
        print("udpsh:", run.stderr)
    coap = f"coap://127.0.0.1:{ports['coap']}"
    subprocess.run(["coap-client-notls", "-m", "put", "-e", "x" * 300, "-b", "64", f"{coap}/example_data"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    subprocess.run(["coap-client-notls", "-b", "32", f"{coap}/example_data"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    subprocess.run(["coap-client-notls", "-s", "3", f"{coap}/time"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    time.sleep(0.5)
    dump.send_signal(signal.SIGTERM)
    dump.wait()
    for p in procs:
        p.kill()
        p.wait()
    return ports


FIELDS = {
    "dns": ["dns.id", "dns.flags.rcode", "dns.qry.name", "dns.count.answers", "dns.a", "dns.aaaa",
            "dns.mx.mail_exchange", "dns.txt", "dns.flags.truncated", "dns.rr.udp_payload_size",
            "dns.resp.ext_rcode"],
    "ntp": ["ntp.flags.mode", "ntp.flags.vn", "ntp.stratum", "ntp.ctrl.flags2.opcode", "ntp.ctrl.sequence",
            "ntp.priv.reqcode"],
    "stun": ["stun.type", "stun.id", "stun.att.ipv4", "stun.att.port", "stun.att.error",
             "stun.channel", "stun.att.error.class"],
    "coap": ["coap.type", "coap.code", "coap.mid", "coap.token", "coap.opt.uri_path",
             "coap.opt.block_number", "coap.opt.observe", "coap.payload_length"],
}

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
          5: "REFUSED", 7: "YXRRSET", 16: "BADVERS", 23: "BADCOOKIE"}
COAP_TYPES = ["CON", "NON", "ACK", "RST"]

READ = r"""
fn j(a) { let s = ""; for x in a { if s != "" { s += ","; } s += `${x}`; } s }
import "udpsh/dns" as dns;
import "udpsh/ntp" as ntp;
import "udpsh/stun" as stun;
import "udpsh/coap" as coap;
let ports = var("ports", "").split(",");
for d in read_pcap(var("file", "")) {
    let sp = d.src.split(":"); let dp = d.dst.split(":");
    let port = [sp[sp.len() - 1], dp[dp.len() - 1]];
    let kind = ();
    for p in ports { let kv = p.split("="); if port.contains(kv[1]) { kind = kv[0]; } }
    if kind == () { continue; }
    let out = `${d.frame}|${kind}|`;
    try {
        if kind == "dns" {
            let r = dns::parse(d.data);
            let a = r.answers.filter(|x| x.type == "A").map(|x| x.data);
            let aaaa = r.answers.filter(|x| x.type == "AAAA").map(|x| x.data);
            let mx = r.answers.filter(|x| x.type == "MX").map(|x| x.data.split(" ")[1]);
            let edns = if r.edns == () { "" } else { `${r.edns.size}` };
            let q = if r.questions.len() > 0 { r.questions[0].name } else { "" };
            out += `${r.id}|${r.rcode}|${q}|${r.answers.len()}|${j(a)}|${j(aaaa)}|${j(mx)}|${r.tc}|${edns}`;
        } else if kind == "ntp" {
            let r = ntp::parse(d.data);
            out += `${r.mode}|${r.version}|${r.stratum}|${r.opcode}|${r.sequence}|${r.request}`;
        } else if kind == "stun" {
            let r = stun::parse(d.data);
            out += `${r.type}|${to_hex(r.transaction)}|${r.mapped}|${r.error}|${r.channel}`;
        } else {
            let r = coap::parse(d.data);
            let path = r.options.get("Uri-Path");
            let path = if path == () { "" } else { j(path) };
            out += `${r.type}|${r.code}|${r.mid}|${to_hex(r.token)}|${path}|${r.payload.len()}`;
        }
    } catch (e) { out += `error ${e.message}`; }
    print(out);
}
"""


def ours(path, ports):
    spec = ",".join(f"{k.split('_')[0]}={v}" for k, v in ports.items())
    out = subprocess.run([UDPSH, "-e", READ, "--var", f"file={path}", "--var", f"ports={spec}"],
                         capture_output=True, text=True).stdout
    return {int(l.split("|")[0]): l.split("|")[1:] for l in out.splitlines() if "|" in l}


def theirs(path, kind, port):
    args = ["tshark", "-r", path, "-T", "fields", "-E", "separator=|", "-e", "frame.number"]
    if kind == "ntp":
        args += ["-d", f"udp.port=={port},ntp"]
    elif kind == "coap":
        args += ["-d", f"udp.port=={port},coap"]
    elif kind == "stun":
        args += ["-d", f"udp.port=={port},stun"]
    else:
        args += ["-d", f"udp.port=={port},dns"]
    for f in FIELDS[kind]:
        args += ["-e", f]
    args += ["-Y", f"udp.port=={port}"]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    return {int(l.split("|")[0]): l.split("|")[1:] for l in out.splitlines() if l}


def agree(kind, mine, wire):
    """Does udpsh's reading of one datagram say what tshark's does?"""
    if mine[1].startswith("error"):
        return not any(wire)
    m = mine[1:]
    if kind == "dns":
        ident, rcode, q, n, a, aaaa, mx, tc, size = m
        w = wire
        same = lambda ours, theirs: sorted(filter(None, ours.split(","))) == sorted(filter(None, theirs.split(",")))
        return (int(w[0], 16) if w[0].startswith("0x") else int(w[0])) == int(ident) \
            and RCODES.get(int(w[10].split(",")[0] or "0", 0) << 4 | int(w[1])) == rcode and w[2] == q and int(w[3] or 0) == int(n) \
            and same(a, w[4]) and same(aaaa, w[5]) and same(mx, w[6]) \
            and (w[8] in ("1", "True")) == (tc == "true") and w[9].split(",")[0] == size
    if kind == "ntp":
        args += ["-d", f"udp.port=={port},ntp"]
    elif kind == "coap":
        args += ["-d", f"udp.port=={port},coap"]
    elif kind == "stun":
        args += ["-d", f"udp.port=={port},stun"]
    else:
        args += ["-d", f"udp.port=={port},dns"]
    for f in FIELDS[kind]:
        args += ["-e", f]
    args += ["-Y", f"udp.port=={port}"]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    return {int(l.split("|")[0]): l.split("|")[1:] for l in out.splitlines() if l}


def agree(kind, mine, wire):
    """Does udpsh's reading of one datagram say what tshark's does?"""
    if mine[1].startswith("error"):
        return not any(wire)
    m = mine[1:]
    if kind == "dns":
        ident, rcode, q, n, a, aaaa, mx, tc, size = m
        w = wire
        return (int(w[0], 16) if w[0].startswith("0x") else int(w[0])) == int(ident) \
            and RCODES.get(int(w[10].split(",")[0] or "0", 0) << 4 | int(w[1])) == rcode and w[2] == q and int(w[3] or 0) == int(n) \
            and sorted(w[4].split(",")) == sorted(x for x in a.strip("[]").replace('"', "").split(", ")) \
            if w[4] else True
    if kind == "ntp":
        mode, vn, stratum, op, seq, req = m
        same = wire[0] == mode and wire[1] == vn
        if mode == "6":
            return same and wire[3] == op and wire[4] == seq
        if mode == "7":
            return same and wire[5] == req
        return same and wire[2] == stratum
    if kind == "stun":
        typ, tid, mapped, err, chan = m
        if wire[5]:
            return chan == str(int(wire[5], 16) if wire[5].startswith("0x") else wire[5])
        ok = wire[1].replace(":", "") == tid if wire[1] else True
        if wire[2] and mapped != "()":
            ok = ok and mapped == f"{wire[2].split(',')[0]}:{wire[3].split(',')[0]}"
        if wire[4]:
            code = int(wire[6].split(",")[0]) * 100 + int(wire[4].split(",")[0])
            ok = ok and err.startswith(str(code))
        return ok
    typ, code, mid, token, path, plen = m
    ok = COAP_TYPES[int(wire[0])] == typ and wire[2] == mid and wire[3] == token
    if wire[4]:
        ok = ok and all(p in path for p in wire[4].split(","))
    # tshark gives the payload of block-wise transfers reassembled, on the last block only.
    blockwise = wire[5] != ""
    return ok and (blockwise or int(wire[7] or 0) == int(plen))


def fixtures_pcap(out):
    """Every protocol fixture under fixtures/protocols as a UDP datagram to its port."""
    import struct
    ports = {"dns": 53, "ntp": 123, "stun": 3478, "coap": 5683}
    frames = []
    for root, _, files in os.walk(os.path.join(REPO, "fixtures/protocols")):
        for name in sorted(files):
            kind = next((k for k in ports if name.startswith(k) or root.endswith(k)), None)
            if kind and name.endswith(".bin"):
                with open(os.path.join(root, name), "rb") as f:
                    frames.append((ports[kind], f.read()))
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 101))
        for i, (port, payload) in enumerate(frames):
            udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(ip + udp), len(ip + udp)) + ip + udp)
    return ports


def main():
    tmp = tempfile.mkdtemp()
    for cap, make in ((os.path.join(tmp, "daemons.pcap"), capture_daemons),
                      (os.path.join(tmp, "fixtures.pcap"), fixtures_pcap)):
        print(f"{os.path.basename(cap)}:")
        compare(cap, make(cap))
        if os.environ.get("KEEP"):  # a folder to keep the captures in
            subprocess.run(["cp", cap, os.environ["KEEP"]])


def compare(cap, ports):
    totals = {}
    mine = ours(cap, ports)
    for kind in ("dns", "ntp", "stun", "coap"):
        for key in [k for k in ports if k.startswith(kind)]:
            wire = theirs(cap, kind, ports[key])
            for frame, fields in wire.items():
                t = totals.setdefault(kind, [0, 0, []])
                t[0] += 1
                m = mine.get(frame)
                if m and agree(kind, m, fields):
                    t[1] += 1
                else:
                    t[2].append((frame, m, fields))
    for kind, (n, ok, bad) in totals.items():
        print(f"{kind}: {ok} of {n} datagrams agree with tshark")
        for b in bad[:5]:
            print("   ", b)


if __name__ == "__main__":
    main()
