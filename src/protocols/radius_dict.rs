//! The RADIUS attributes udpsh knows by name (RFC 2865, 2866, 2869, 3162, 3579, 5176), with
//! how their values read, and the names of enumerated values, as FreeRADIUS's dictionary
//! spells them. Any other attribute is `Attr-N` with its raw bytes.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Text,
    /// Bytes.
    Octets,
    /// A 32-bit unsigned integer, maybe with value names.
    Integer,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// Seconds since 1970, 32 bits.
    Date,
    /// User-Password: hidden with the secret (RFC 2865 §5.2).
    Password,
}

use Kind::*;

pub const ATTRIBUTES: &[(&str, u8, Kind)] = &[
    ("User-Name", 1, Text),
    ("User-Password", 2, Password),
    ("CHAP-Password", 3, Octets),
    ("NAS-IP-Address", 4, Ipv4),
    ("NAS-Port", 5, Integer),
    ("Service-Type", 6, Integer),
    ("Framed-Protocol", 7, Integer),
    ("Framed-IP-Address", 8, Ipv4),
    ("Framed-IP-Netmask", 9, Ipv4),
    ("Framed-Routing", 10, Integer),
    ("Filter-Id", 11, Text),
    ("Framed-MTU", 12, Integer),
    ("Framed-Compression", 13, Integer),
    ("Login-IP-Host", 14, Ipv4),
    ("Login-Service", 15, Integer),
    ("Login-TCP-Port", 16, Integer),
    ("Reply-Message", 18, Text),
    ("Callback-Number", 19, Text),
    ("Callback-Id", 20, Text),
    ("Framed-Route", 22, Text),
    ("Framed-IPX-Network", 23, Integer),
    ("State", 24, Octets),
    ("Class", 25, Octets),
    ("Vendor-Specific", 26, Octets),
    ("Session-Timeout", 27, Integer),
    ("Idle-Timeout", 28, Integer),
    ("Termination-Action", 29, Integer),
    ("Called-Station-Id", 30, Text),
    ("Calling-Station-Id", 31, Text),
    ("NAS-Identifier", 32, Text),
    ("Proxy-State", 33, Octets),
    ("Login-LAT-Service", 34, Text),
    ("Login-LAT-Node", 35, Text),
    ("Login-LAT-Group", 36, Octets),
    ("Framed-AppleTalk-Link", 37, Integer),
    ("Framed-AppleTalk-Network", 38, Integer),
    ("Framed-AppleTalk-Zone", 39, Text),
    ("Acct-Status-Type", 40, Integer),
    ("Acct-Delay-Time", 41, Integer),
    ("Acct-Input-Octets", 42, Integer),
    ("Acct-Output-Octets", 43, Integer),
    ("Acct-Session-Id", 44, Text),
    ("Acct-Authentic", 45, Integer),
    ("Acct-Session-Time", 46, Integer),
    ("Acct-Input-Packets", 47, Integer),
    ("Acct-Output-Packets", 48, Integer),
    ("Acct-Terminate-Cause", 49, Integer),
    ("Acct-Multi-Session-Id", 50, Text),
    ("Acct-Link-Count", 51, Integer),
    ("Acct-Input-Gigawords", 52, Integer),
    ("Acct-Output-Gigawords", 53, Integer),
    ("Event-Timestamp", 55, Date),
    ("CHAP-Challenge", 60, Octets),
    ("NAS-Port-Type", 61, Integer),
    ("Port-Limit", 62, Integer),
    ("Login-LAT-Port", 63, Text),
    ("Tunnel-Type", 64, Octets),
    ("Tunnel-Medium-Type", 65, Octets),
    ("Acct-Tunnel-Connection", 68, Text),
    ("Connect-Info", 77, Text),
    ("EAP-Message", 79, Octets),
    ("Message-Authenticator", 80, Octets),
    ("Acct-Interim-Interval", 85, Integer),
    ("NAS-Port-Id", 87, Text),
    ("Framed-Pool", 88, Text),
    ("Chargeable-User-Identity", 89, Octets),
    ("NAS-IPv6-Address", 95, Ipv6),
    ("Framed-Interface-Id", 96, Octets),
    ("Framed-IPv6-Prefix", 97, Octets),
    ("Login-IPv6-Host", 98, Ipv6),
    ("Framed-IPv6-Route", 99, Text),
    ("Framed-IPv6-Pool", 100, Text),
    ("Error-Cause", 101, Integer),
];

/// Names of the values of enumerated attributes.
pub const VALUES: &[(&str, &[(u32, &str)])] = &[
    (
        "Service-Type",
        &[
            (1, "Login-User"),
            (2, "Framed-User"),
            (3, "Callback-Login-User"),
            (4, "Callback-Framed-User"),
            (5, "Outbound-User"),
            (6, "Administrative-User"),
            (7, "NAS-Prompt-User"),
            (8, "Authenticate-Only"),
            (9, "Callback-NAS-Prompt"),
            (10, "Call-Check"),
            (11, "Callback-Administrative"),
        ],
    ),
    (
        "Framed-Protocol",
        &[
            (1, "PPP"),
            (2, "SLIP"),
            (3, "ARAP"),
            (4, "Gandalf-SLML"),
            (5, "Xylogics-IPX-SLIP"),
            (6, "X.75-Synchronous"),
        ],
    ),
    (
        "Termination-Action",
        &[(0, "Default"), (1, "RADIUS-Request")],
    ),
    (
        "Acct-Status-Type",
        &[
            (1, "Start"),
            (2, "Stop"),
            (3, "Interim-Update"),
            (7, "Accounting-On"),
            (8, "Accounting-Off"),
        ],
    ),
    (
        "Acct-Authentic",
        &[(1, "RADIUS"), (2, "Local"), (3, "Remote")],
    ),
    (
        "Acct-Terminate-Cause",
        &[
            (1, "User-Request"),
            (2, "Lost-Carrier"),
            (3, "Lost-Service"),
            (4, "Idle-Timeout"),
            (5, "Session-Timeout"),
            (6, "Admin-Reset"),
            (7, "Admin-Reboot"),
            (8, "Port-Error"),
            (9, "NAS-Error"),
            (10, "NAS-Request"),
            (11, "NAS-Reboot"),
            (12, "Port-Unneeded"),
            (13, "Port-Preempted"),
            (14, "Port-Suspended"),
            (15, "Service-Unavailable"),
            (16, "Callback"),
            (17, "User-Error"),
            (18, "Host-Request"),
        ],
    ),
    (
        "NAS-Port-Type",
        &[
            (0, "Async"),
            (1, "Sync"),
            (2, "ISDN"),
            (3, "ISDN-V120"),
            (4, "ISDN-V110"),
            (5, "Virtual"),
            (15, "Ethernet"),
            (16, "xDSL"),
            (17, "Cable"),
            (18, "Wireless-Other"),
            (19, "Wireless-802.11"),
        ],
    ),
];

/// Packet codes (RFC 2865, 2866, 5176, 5997).
pub const CODES: &[(u8, &str)] = &[
    (1, "Access-Request"),
    (2, "Access-Accept"),
    (3, "Access-Reject"),
    (4, "Accounting-Request"),
    (5, "Accounting-Response"),
    (11, "Access-Challenge"),
    (12, "Status-Server"),
    (13, "Status-Client"),
    (40, "Disconnect-Request"),
    (41, "Disconnect-ACK"),
    (42, "Disconnect-NAK"),
    (43, "CoA-Request"),
    (44, "CoA-ACK"),
    (45, "CoA-NAK"),
];

/// An attribute by name (any case), or `Attr-N` for any number: (number, kind).
pub fn attribute(name: &str) -> Option<(u8, Kind)> {
    if let Some(n) = name.strip_prefix("Attr-").and_then(|n| n.parse().ok()) {
        return Some(
            ATTRIBUTES
                .iter()
                .find(|a| a.1 == n)
                .map_or((n, Octets), |a| (n, a.2)),
        );
    }
    ATTRIBUTES
        .iter()
        .find(|a| a.0.eq_ignore_ascii_case(name))
        .map(|a| (a.1, a.2))
}

/// The name of attribute `number` (`Attr-N` when udpsh does not know it), and its kind.
pub fn attribute_name(number: u8) -> (String, Kind) {
    ATTRIBUTES
        .iter()
        .find(|a| a.1 == number)
        .map_or((format!("Attr-{number}"), Octets), |a| {
            (a.0.to_string(), a.2)
        })
}

fn values_of(attribute: &str) -> &'static [(u32, &'static str)] {
    VALUES
        .iter()
        .find(|v| v.0 == attribute)
        .map_or(&[], |v| v.1)
}

/// `Service-Type` `Framed-User` → 2.
pub fn value_number(attribute: &str, name: &str) -> Option<u32> {
    values_of(attribute)
        .iter()
        .find(|v| v.1.eq_ignore_ascii_case(name))
        .map(|v| v.0)
}

pub fn value_name(attribute: &str, number: u32) -> Option<&'static str> {
    values_of(attribute)
        .iter()
        .find(|v| v.0 == number)
        .map(|v| v.1)
}

pub fn code_number(name: &str) -> Option<u8> {
    CODES
        .iter()
        .find(|c| c.1.eq_ignore_ascii_case(name))
        .map(|c| c.0)
}

pub fn code_name(code: u8) -> String {
    CODES
        .iter()
        .find(|c| c.0 == code)
        .map_or(format!("Code-{code}"), |c| c.1.to_string())
}
