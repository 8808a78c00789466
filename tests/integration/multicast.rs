//! Multicast, IPv4 and IPv6, inside network namespaces the tests create (never on the host's
//! network): the shipped discovery scripts of scripts/lan/ (SSDP, mDNS), membership and the
//! multicast options, and captures with the group as destination.

use std::process::Command;

use crate::netns::{Netns, namespaces_or_skip};
use crate::support::*;

/// A namespace where lo carries IPv4 multicast.
fn multicast_ns() -> Option<Netns> {
    let [ns] = namespaces_or_skip(["multicast"])?;
    ns.multicast_on_lo();
    Some(ns)
}

fn tshark() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_lan_discovery_scripts_pass_in_a_namespace() {
    let Some(ns) = multicast_ns() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("lan.pcapng");
    let pcap_arg = pcap.display().to_string();
    let out = Udpsh::new(&[
        "run",
        "-j",
        "4",
        "--var",
        "lan=true",
        "--pcap",
        &pcap_arg,
        "scripts/lan",
    ])
    .timeout(15)
    .in_netns(ns.name())
    .output()
    .success()
    .stdout_has("found uuid:udpsh-responder-1::urn:udpsh-test:device:echo:1 at 127.0.0.1:1900")
    .stdout_has("found uuid:udpsh-responder-2::urn:udpsh-test:device:echo:1 at 127.0.0.1:1900")
    .stdout_has(
        "found demo._udpsh._udp.local from 127.0.0.1:5353 (sent to 224.0.0.251:5353, TTL 255)",
    )
    .stdout_has("4 scripts: 4 passed");
    // The capture has the queries with their group as destination, and Wireshark reads the
    // mDNS answer as an mDNS answer.
    if !tshark() {
        eprintln!(
            "note: tshark not found, capture not decoded: {}",
            out.stdout
        );
        return;
    }
    let fields = Command::new("tshark")
        .args([
            "-r",
            &pcap_arg,
            "-T",
            "fields",
            "-e",
            "ip.dst",
            "-e",
            "udp.dstport",
        ])
        .args(["-e", "dns.flags.response", "-e", "dns.ptr.domain_name"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&fields.stdout);
    assert!(text.contains("239.255.255.250\t1900"), "{text}");
    assert!(text.contains("224.0.0.251\t5353\t0\t"), "the query: {text}");
    assert!(
        text.contains("224.0.0.251\t5353\t1\tdemo._udpsh._udp.local"),
        "the answer: {text}"
    );
}

#[test]
fn ipv4_membership_and_options() {
    let Some(ns) = multicast_ns() else { return };
    let script = r#"
        let group = "239.1.2.3";
        let r = udp("0.0.0.0:0");
        r.settimeout(1.0);
        r.join(group, "lo");
        let to = `${group}:${r.port}`;
        let s = udp();
        s.setmulticastif("127.0.0.1");
        s.setmulticastttl(3);
        s.sendto("one", to);
        let d = r.recvfrom();
        assert_eq(d.text, "one");
        assert_eq(d.dst, to);
        assert_eq(d.ttl, 3);
        print(`joined: ${d.text} to ${d.dst} ttl ${d.ttl}`);

        r.leave(group, "lo");
        s.sendto("after leave", to);
        try { r.recvfrom(); print("left: received"); } catch (e) { print(`left: ${e.kind}`); }

        r.join(group, "127.0.0.1");         // the interface by its address this time
        s.setmulticastif("lo");
        s.sendto("again", to);
        print(`rejoined: ${r.recvfrom().text}`);
        try { r.join("10.0.0.1"); } catch (e) { print(e.message); }
        try { r.join(group, "nosuch0"); } catch (e) { print(e.message); }
    "#;
    Udpsh::eval(script)
        .in_netns(ns.name())
        .output()
        .success()
        .stdout_has("joined: one to 239.1.2.3:")
        .stdout_has("ttl 3")
        .stdout_has("left: timeout")
        .stdout_has("rejoined: again")
        .stdout_has("10.0.0.1 is not a multicast group")
        .stdout_has("no network interface 'nosuch0'");
}

#[test]
fn ipv6_multicast_on_a_link() {
    let Some([ns]) = namespaces_or_skip(["multicast6"]) else {
        return;
    };
    // One veth pair inside the namespace: a link with IPv6 and multicast; `nodad` makes the
    // addresses usable at once.
    ns.ip(&["link", "set", "lo", "up"]);
    ns.ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    for (dev, addr) in [("v0", "fd00::1/64"), ("v1", "fd00::2/64")] {
        ns.ip(&["link", "set", dev, "up"]);
        ns.ip(&["addr", "add", addr, "dev", dev, "nodad"]);
    }
    let script = r#"
        let r = udp("[::]:0");
        r.settimeout(2.0);
        r.join("ff02::fb", "v0");
        let to = `[ff02::fb]:${r.port}`;
        let s = udp();                      // IPv6 from its first use
        s.setmulticastif("v0");
        s.setmulticastttl(1);
        s.sendto("hello six", to);
        let d = r.recvfrom();
        assert_eq(d.text, "hello six");
        assert_eq(d.dst, to);
        assert_eq(d.ttl, 1);
        print(`v6: ${d.text} from ${d.ip} to ${d.dst} hops ${d.ttl}`);
        s.setmulticastif("fd00::1");        // the interface by its address
        s.sendto("by address", to);
        print(`v6 by address: ${r.recvfrom().text}`);
        // Off lo, loop decides whether this host's own members hear it.
        s.setmulticastloop(false);
        s.sendto("not looped", to);
        r.settimeout(0.3);
        try { r.recvfrom(); print("loop off: received"); } catch (e) { print(`loop off: ${e.kind}`); }
        s.setmulticastloop(true);
        r.leave("ff02::fb", "v0");
        s.sendto("after leave", to);
        try { r.recvfrom(); print("v6 left: received"); } catch (e) { print(`v6 left: ${e.kind}`); }
        let v4 = udp("0.0.0.0:0");
        try { v4.join("ff02::fb", "v0"); } catch (e) { print(e.message); }
    "#;
    Udpsh::eval(script)
        .in_netns(ns.name())
        .output()
        .success()
        .stdout_has("v6: hello six from fd00::1 to [ff02::fb]:")
        .stdout_has("hops 1")
        .stdout_has("v6 by address: by address")
        .stdout_has("loop off: timeout")
        .stdout_has("v6 left: timeout")
        .stdout_has("this socket is IPv4");
}

#[test]
fn the_lan_scripts_skip_themselves_unless_asked() {
    // Safe on the host: each skips at its first line, before it makes a socket.
    Udpsh::new(&["run", "--timeout", "5", "scripts/lan"])
        .output()
        .success()
        .stdout_has("skip    scripts/lan/ssdp_discovery.rhai (it sends multicast off the host")
        .stdout_has("4 scripts: 0 passed, 4 skipped");
}

#[test]
fn a_multicast_send_is_recorded_with_its_interface_source_and_ttl() {
    let Some(ns) = multicast_ns() else { return };
    // A second interface with its own address, for setmulticastif to choose.
    ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
    ns.ip(&["addr", "add", "10.99.0.1/24", "dev", "va"]);
    ns.ip(&["link", "set", "va", "up", "multicast", "on"]);
    ns.ip(&["link", "set", "vb", "up"]);
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("mc.pcapng");
    Udpsh::eval(
        r#"let s = udp(); s.sendto("a", "239.7.7.7:5998");
           s.setmulticastif("10.99.0.1"); s.sendto("b", "239.7.7.7:5998");
           s.setmulticastttl(3); s.sendto("c", "239.7.7.7:5998");"#,
    )
    .arg("--pcap")
    .arg(pcap.display())
    .in_netns(ns.name())
    .output()
    .success();
    let bytes = std::fs::read(&pcap).unwrap();
    let mut reader = pcap_file::pcapng::PcapNgReader::new(&bytes[..]).unwrap();
    let mut seen = Vec::new();
    while let Some(block) = reader.next_block() {
        if let (pcap_file::pcapng::Block::EnhancedPacket(epb), _) = block.unwrap() {
            let ip = &epb.data[14..];
            seen.push(([ip[12], ip[13], ip[14], ip[15]], ip[8]));
        }
    }
    // The kernel's choices: loopback's route first, then the interface; TTL 1, then 3.
    assert_eq!(
        seen,
        [
            ([127, 0, 0, 1], 1),
            ([10, 99, 0, 1], 1),
            ([10, 99, 0, 1], 3)
        ]
    );
}
