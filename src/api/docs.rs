//! The one table of the script API: a signature, a sentence and an example for every
//! function, method and property. `:help`, completion, hints and the README's API table all
//! come from it; a test checks that every name the engine registers has an entry.

/// What a name is called on, which decides where it completes and how `:help` groups it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum On {
    Socket,
    Datagram,
    Thread,
    Blob,
    Text,
    Array,
    Layout,
    Process,
    Proxy,
    /// What `load()` returns.
    Load,
}

/// A plain function, a method or property of a value, or a function of a built-in module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Function,
    Method(On),
    Property(On),
    /// `dns::ask(...)` after `import "udpsh/dns" as dns`.
    Module(&'static str),
}

pub struct Entry {
    pub name: &'static str,
    pub kind: Kind,
    pub signature: &'static str,
    pub summary: &'static str,
    pub example: &'static str,
}

impl Entry {
    /// What is typed after `name(`, for the hint: `bufsize) → datagram` (the first form).
    pub fn params(&self) -> Option<String> {
        let first = self.signature.split(" / ").next()?;
        let after = &first[first.find('(')? + 1..];
        let after = after.split("   (").next().unwrap_or(after).trim_end();
        match self.signature.rsplit_once(" → ") {
            Some((_, ret)) if !after.contains(" → ") => Some(format!("{after} → {ret}")),
            _ => Some(after.to_string()),
        }
    }

    pub fn is_call(&self) -> bool {
        !matches!(self.kind, Kind::Property(_))
    }
}

const fn entry(
    name: &'static str,
    kind: Kind,
    signature: &'static str,
    summary: &'static str,
    example: &'static str,
) -> Entry {
    Entry {
        name,
        kind,
        signature,
        summary,
        example,
    }
}

use Kind::*;
use On::*;

pub const ENTRIES: &[Entry] = &[
    entry(
        "udp",
        Function,
        "udp() / udp(port) / udp(\"host:port\") / udp(host, port) → socket",
        "A UDP socket: unbound (IPv4, or IPv6 from its first IPv6 use; the OS picks a port at the first send) or bound. IPv6 with \"[::1]:0\".",
        "let s = udp(\"127.0.0.1:0\");   // any free port\nlet server = udp(8888);         // 0.0.0.0:8888",
    ),
    entry(
        "var",
        Function,
        "var(name, default) → value",
        "A value given with --var NAME=VALUE, typed like the default (integer, number, true/false, hex bytes for a blob, one character, JSON for an array or map); else the default. A value that does not fit is a usage error before anything runs.",
        "let port = var(\"port\", 8888);",
    ),
    entry(
        "sleep",
        Function,
        "sleep(seconds)",
        "Pauses; Ctrl-C cuts it short.",
        "sleep(0.5);",
    ),
    entry(
        "now",
        Function,
        "now() → float",
        "Seconds since 1970, with sub-microsecond precision: for timing a round trip.",
        "let t = now(); s.sendto(\"ping\", peer); s.recvfrom(); print(now() - t);",
    ),
    entry(
        "hex",
        Function,
        "hex(text) → blob",
        "Bytes from hex digits; spaces, colons, dashes and a 0x prefix are allowed.",
        "s.sendto(hex(\"de ad be ef\"), \"127.0.0.1:9000\");",
    ),
    entry(
        "to_hex",
        Function,
        "to_hex(blob_or_string) → string",
        "The bytes as lowercase hex digits.",
        "to_hex(d.data)   // \"48656c6c6f\"",
    ),
    entry(
        "hexdump",
        Function,
        "hexdump(blob_or_string) → string",
        "An offset / hex / ASCII dump (also d.hexdump() on a datagram).",
        "hexdump(d.data)",
    ),
    // ---- binary data and protocol modules (issue 10) go here ----
    entry(
        "blob",
        Function,
        "blob(n) / blob(n, byte) → blob",
        "Bytes. A blob stays bytes: blob + string appends the string's UTF-8 bytes; b[2..6], b[6..] and b.slice(2, 4) are sub-blobs; pack/unpack turn values into bytes and back with Python struct codes: x pad, c char, b/B int8, ? bool, h/H 16-bit, i/I l/L 32-bit, q/Q 64-bit, f/d float, Ns bytes, Np pascal; counts like 3H; byte order ! > (network, the default with no prefix) < (little) = @ (native, no padding).",
        "let b = blob(4) + \"hi\";   // 6 bytes\nb[4..]                   // the bytes of \"hi\"",
    ),
    entry(
        "pack",
        Function,
        "pack(fmt, v1, v2, ...) / pack(fmt, [values]) → blob",
        "Values to bytes with Python struct codes; no prefix means network order. A value out of range, a wrong count or an Ns too long is an error of kind value.",
        "pack(\"!HHI\", 1, 2, 3)   // 00 01 00 02 00 00 00 03",
    ),
    entry(
        "unpack",
        Function,
        "unpack(fmt, blob) / blob.unpack(fmt) → array",
        "Bytes to values; the blob must be exactly calcsize(fmt) bytes.",
        "let h = unpack(\"!HH\", d.data[0..4]);   // [id, flags]\nlet id = h[0];",
    ),
    entry(
        "unpack_from",
        Function,
        "unpack_from(fmt, blob, offset) / blob.unpack_from(fmt, offset) → array",
        "Like unpack, from an offset; the blob may go on after.",
        "unpack_from(\"!I\", d.data, 4)[0]",
    ),
    entry(
        "calcsize",
        Function,
        "calcsize(fmt) → int",
        "The bytes a format takes.",
        "calcsize(\"!HHI\")   // 8",
    ),
    entry(
        "layout",
        Function,
        "layout(\"!H type, I seq, 2x, 8s tag\") → layout",
        "Named fields, one code and a name each: .pack(map), .unpack(blob) → map (with rest), .size. A missing or unknown field is an error naming it.",
        "let hdr = layout(\"!H type, I seq, 2x, 8s tag\");\nhdr.unpack(d.data).seq",
    ),
    entry(
        "pack",
        Method(Layout),
        "layout.pack(#{field: value, ...}) → blob",
        "The layout's bytes; rest (a blob or string) is appended.",
        "hdr.pack(#{type: 1, seq: 5, tag: \"pos\"})",
    ),
    entry(
        "unpack",
        Method(Layout),
        "layout.unpack(blob) / layout.unpack_from(blob, offset) → map",
        "Field name → value, and rest: the bytes after the layout.",
        "hdr.unpack(d.data).rest",
    ),
    entry(
        "size",
        Property(Layout),
        "layout.size → int",
        "The bytes the layout takes.",
        "hdr.size   // 16",
    ),
    entry(
        "fields",
        Property(Layout),
        "layout.fields → array",
        "The field names, in order.",
        "hdr.fields",
    ),
    entry(
        "slice",
        Method(Blob),
        "b.slice(start, len) / b.slice(range) → blob   (also b[2..6], b[6..])",
        "A sub-blob (or substring, or sub-array); a range outside the value is an error, never cut silently.",
        "d.data.slice(2, 4)",
    ),
    entry(
        "push",
        Method(Blob),
        "a.push(value) / b.push(byte)",
        "Appends a value to an array, or a byte to a blob; a value outside 0 to 255 is an error of kind value, not cut to its low 8 bits (b += 300 and b[0] = 300 are Rhai's own, which do cut).",
        "let b = blob();\nb.push(0x0a);   // 0a",
    ),
    entry(
        "insert",
        Method(Blob),
        "b.insert(index, byte)",
        "Inserts a byte before index (negative: from the end); 0 to 255, else an error.",
        "let b = hex(\"02 03\");\nb.insert(0, 1);   // 01 02 03",
    ),
    entry(
        "pad",
        Method(Blob),
        "b.pad(len, byte)",
        "Grows the blob to len bytes with the byte (0 to 255); a longer blob is left as it is.",
        "let b = hex(\"01\");\nb.pad(4, 0);   // 01 00 00 00",
    ),
    entry(
        "append",
        Method(Text),
        "s.append(blob)   (also s += blob)",
        "Joins a blob's bytes to a text when they are UTF-8; bytes that are not are an error (write let out = s + b: text + bytes is a blob).",
        "let s = \"GET \";\ns += hex(\"2f\");   // \"GET /\"",
    ),
    entry(
        "parse_be_int",
        Method(Blob),
        "b.parse_be_int(start, len) / b.parse_be_int(range) → int",
        "A big-endian unsigned integer of 1 to 8 bytes (8 bytes: the integer's own bits).",
        "hex(\"12 34\").parse_be_int(0, 2)   // 0x1234",
    ),
    entry(
        "parse_le_int",
        Method(Blob),
        "b.parse_le_int(start, len) / b.parse_le_int(range) → int",
        "A little-endian unsigned integer of 1 to 8 bytes.",
        "hex(\"34 12\").parse_le_int(0, 2)   // 0x1234",
    ),
    entry(
        "write_be",
        Method(Blob),
        "b.write_be(start, len, value) / b.write_be(range, value)",
        "Writes a big-endian integer of 1 to 8 bytes; a value that does not fit is an error.",
        "let b = blob(2); b.write_be(0, 2, 0x1234);",
    ),
    entry(
        "write_le",
        Method(Blob),
        "b.write_le(start, len, value) / b.write_le(range, value)",
        "Writes a little-endian integer of 1 to 8 bytes.",
        "let b = blob(2); b.write_le(0, 2, 0x1234);",
    ),
    entry(
        "inet_aton",
        Function,
        "inet_aton(\"10.1.2.3\") → blob",
        "An IPv4 address as 4 bytes.",
        "inet_aton(\"10.1.2.3\")",
    ),
    entry(
        "inet_ntoa",
        Function,
        "inet_ntoa(blob) → string",
        "4 bytes as an IPv4 address.",
        "inet_ntoa(d.data[16..20])",
    ),
    entry(
        "inet_pton",
        Function,
        "inet_pton(text) → blob",
        "An IPv4 (4 bytes) or IPv6 (16 bytes) address.",
        "inet_pton(\"::1\")",
    ),
    entry(
        "inet_ntop",
        Function,
        "inet_ntop(blob) → string",
        "4 or 16 bytes as an address.",
        "inet_ntop(r[4..20])",
    ),
    entry(
        "to_base64",
        Function,
        "to_base64(data) → string",
        "Standard base64 with padding.",
        "to_base64(\"hello\")   // \"aGVsbG8=\"",
    ),
    entry(
        "from_base64",
        Function,
        "from_base64(text) → blob",
        "Decodes base64 (spaces ignored); bad input is an error of kind value.",
        "from_base64(\"aGVsbG8=\")",
    ),
    entry(
        "crc32",
        Function,
        "crc32(data) → int",
        "The IEEE CRC-32 (as zlib.crc32) of a blob or string.",
        "crc32(\"123456789\")   // 0xcbf43926",
    ),
    entry(
        "md5",
        Function,
        "md5(data) → blob",
        "The MD5 digest (16 bytes) of a blob or string (RustCrypto's md-5).",
        "to_hex(md5(\"abc\"))   // \"900150983cd24fb0d6963f7d28e17f72\"",
    ),
    entry(
        "sha1",
        Function,
        "sha1(data) → blob",
        "The SHA-1 digest (20 bytes) of a blob or string.",
        "sha1(\"abc\").len()   // 20",
    ),
    entry(
        "sha256",
        Function,
        "sha256(data) → blob",
        "The SHA-256 digest (32 bytes) of a blob or string.",
        "to_hex(sha256(\"abc\"))",
    ),
    entry(
        "hmac",
        Function,
        "hmac(alg, key, data) → blob",
        "HMAC (RFC 2104) with \"md5\", \"sha1\" or \"sha256\"; key and data blobs or strings.",
        "hmac(\"sha256\", \"key\", \"message\")",
    ),
    entry(
        "random_bytes",
        Function,
        "random_bytes(n) → blob",
        "n random bytes: from the OS, or repeatable with udpsh run --seed N. At most the blob limit (an eighth of --max-memory).",
        "let nonce = random_bytes(16);",
    ),
    entry(
        "random_int",
        Function,
        "random_int(lo, hi) → int",
        "A random integer from lo to hi, both included (uniform; OS or --seed). lo > hi is an error of kind value.",
        "let port = random_int(20000, 30000);",
    ),
    entry(
        "join",
        Method(Array),
        "a.join(sep) → string or blob",
        "The items joined with sep between them, as Python's sep.join(a): strings give a string; a blob among the items (or as sep) gives a blob. Other items are an error of kind value.",
        "[\"a\", \"b\"].join(\",\")   // \"a,b\"",
    ),
    entry(
        "query",
        Module("dns"),
        "dns::query(name) / dns::query(name, type) / dns::query(name, type, #{edns}) → blob",
        "A recursive query (random id, RD set); type \"A\" (the default), \"AAAA\", \"MX\", ...; edns: true or #{size: 1232, dnssec: true} adds an OPT record (EDNS0, the DO bit).",
        "import \"udpsh/dns\" as dns;\ns.sendto(dns::query(\"example.test\", \"A\"), srv);",
    ),
    entry(
        "parse",
        Module("dns"),
        "dns::parse(blob) → map",
        "#{id, opcode, rcode, flags, tc, edns, questions, answers, authority, additional}; each record #{name, type, class, ttl, data}, texts (\"NXDOMAIN\", \"A\", \"10 mail.example.test\"), data as dig prints it (RRSIG, SVCB, CAA...; unknown types as \\# 3 010203). edns: #{size, dnssec, version, rcode, options: [#{code, data}]} or (); rcode includes EDNS's extended bits (BADVERS, BADCOOKIE).",
        "dns::parse(d.data).answers[0].data",
    ),
    entry(
        "ask",
        Module("dns"),
        "dns::ask(sock, server, name) / dns::ask(sock, server, name, type) / dns::ask(..., type, #{timeout, retries, edns}) → map",
        "Sends a query (type A unless given) with s.request, takes the response with the same id (resending on timeout), returns it parsed as dns::parse does, with rtt and tries.",
        "dns::ask(s, srv, \"example.test\", \"A\").answers[0].data",
    ),
    entry(
        "request",
        Module("ntp"),
        "ntp::request() → blob",
        "A 48-byte client request (version 4, mode 3) stamped with now.",
        "import \"udpsh/ntp\" as ntp;\ns.sendto(ntp::request(), srv);",
    ),
    entry(
        "parse",
        Module("ntp"),
        "ntp::parse(blob) → map",
        "#{leap, version, mode, stratum, poll, precision, root_delay, root_dispersion, ref_id, reference, origin, receive, transmit}; times as float Unix seconds. A control message (mode 6, ntpq) is #{mode, version, response, error, more, opcode, op, sequence, status, association, offset, count, data}, a private one (mode 7, ntpdc) #{mode, version, response, more, authenticated, sequence, implementation, request, error, items, item_size, data}.",
        "ntp::parse(d.data).stratum",
    ),
    entry(
        "ask",
        Module("ntp"),
        "ntp::ask(sock, server) / ntp::ask(sock, server, #{timeout, retries}) → map",
        "A request by s.request and the reply that echoes its time, parsed, plus offset and delay in seconds (RFC 5905, from the send time and the kernel's receive time), rtt and tries.",
        "ntp::ask(s, srv).offset",
    ),
    entry(
        "binding",
        Module("stun"),
        "stun::binding() / stun::binding(#{username, password, realm, nonce}) → blob",
        "A Binding Request with a fresh transaction id; with a password, signed: USERNAME (REALM and NONCE when given), MESSAGE-INTEGRITY (key: the password, or MD5(username:realm:password) with a realm) and FINGERPRINT.",
        "import \"udpsh/stun\" as stun;\ns.sendto(stun::binding(), srv);",
    ),
    entry(
        "parse",
        Module("stun"),
        "stun::parse(blob) / stun::parse(blob, #{username, realm, password}) → map",
        "#{type, transaction, classic, mapped, software, error, username, realm, nonce, integrity, fingerprint}; mapped is the XOR-MAPPED-ADDRESS as \"ip:port\"; integrity is true or false when a password is given (() without); classic: an RFC 3489 message (16-byte transaction). TURN ChannelData gives #{type: \"ChannelData\", channel, data}.",
        "stun::parse(d.data).mapped",
    ),
    entry(
        "ask",
        Module("stun"),
        "stun::ask(sock, server) / stun::ask(sock, server, #{timeout, retries, username, realm, password}) → map",
        "A Binding Request by s.request and its response (same transaction id), parsed, with rtt and tries. With long-term credentials a 401 (or 438) is answered once with the server's realm and nonce; the response's integrity is checked.",
        "stun::ask(s, srv).mapped",
    ),
    entry(
        "get",
        Module("coap"),
        "coap::get(path) → blob",
        "A CoAP CON GET (fresh message id and token).",
        "import \"udpsh/coap\" as coap;\ns.sendto(coap::get(\"/.well-known/core\"), srv);",
    ),
    entry(
        "request",
        Module("coap"),
        "coap::request(method, path) / coap::request(method, path, payload) / coap::request(method, path, #{type, token, options, payload}) → blob",
        "A request with any method (GET, POST, PUT, DELETE, ...): CON unless type is \"NON\"; token a blob of 0 to 8 bytes (default 4 random); options by name (an integer, a string, a blob, or true for an empty one).",
        "coap::request(\"GET\", \"/time\", #{type: \"NON\", options: #{Accept: 0}})",
    ),
    entry(
        "parse",
        Module("coap"),
        "coap::parse(blob) → map",
        "#{version, type, code, mid, token, options, payload}; code as text (\"2.05\"), options by name (the repeatable ones, Uri-Path, Uri-Query, Location-Path, Location-Query, ETag, If-Match, always arrays), payload a blob.",
        "coap::parse(d.data).code",
    ),
    entry(
        "ask",
        Module("coap"),
        "coap::ask(sock, server, method, path) / coap::ask(..., path, #{timeout, retries, type, token, options, block}) / coap::ask(..., path, payload) / coap::ask(..., payload, #{...}) → map",
        "A request by s.request and its response (same token; a response sent apart after an empty ACK is waited for and confirmed), parsed, with rtt and tries. Block-wise (RFC 7959): a payload larger than a block goes in Block1 blocks, and a GET's Block2 response is fetched to its end; payload is the whole body and blocks the number of exchanges. block (16 to 1024, default 1024) sets the block size.",
        "coap::ask(s, srv, \"GET\", \"/.well-known/core\").code",
    ),
    entry(
        "observe",
        Module("coap"),
        "coap::observe(sock, server, path, n) / coap::observe(..., n, #{timeout, retries, type, token, options}) → array",
        "Observes a resource (RFC 7641): a GET with Observe 0, then notifications (CON ones confirmed) until n have come, the registration's response being the first; then a GET with Observe 1 ends it. Each a map as coap::parse gives; each wait lasts timeout times tries.",
        "let n = coap::observe(s, srv, \"/time\", 3);\nassert(n[2].options.Observe > n[1].options.Observe);",
    ),
    entry(
        "request",
        Module("radius"),
        "radius::request(code, #{attrs}, secret) → blob",
        "A RADIUS request (code \"Access-Request\", \"Accounting-Request\", \"Status-Server\", \"CoA-Request\", ... or a number) with attributes by name (text, numbers, value names like \"Framed-User\", IP addresses, blobs; an array repeats one), a random id, User-Password hidden (RFC 2865), accounting authenticators hashed (RFC 2866); \"Message-Authenticator\": true adds one (RFC 3579).",
        "import \"udpsh/radius\" as radius;\nlet q = radius::request(\"Access-Request\", #{\"User-Name\": \"alice\", \"User-Password\": \"pw\"}, \"secret\");",
    ),
    entry(
        "parse",
        Module("radius"),
        "radius::parse(blob) / radius::parse(request, secret) / radius::parse(reply, secret, request) → map",
        "#{code, id, authenticator, attrs, valid}: attrs by name (a repeated one an array); with the secret, a request's User-Password is shown in clear and valid checks its authenticators (() when it carries none to check); with the request too, valid checks the reply's id, Response Authenticator and Message-Authenticator.",
        "radius::parse(d.data, \"secret\", q).valid",
    ),
    entry(
        "reply",
        Module("radius"),
        "radius::reply(request, code, #{attrs}, secret) → blob",
        "A response to a request blob (for a mock server: serve() rules), with its Response Authenticator, and a Message-Authenticator when asked.",
        "radius::reply(d.data, \"Access-Accept\", #{\"Reply-Message\": \"hi\"}, \"secret\")",
    ),
    entry(
        "ask",
        Module("radius"),
        "radius::ask(sock, server, secret, #{attrs}) / radius::ask(..., #{attrs}, #{timeout, retries, code}) → map",
        "An Access-Request (or code) by s.request, the reply with its id, parsed, valid when it checks out with the secret; rtt and tries.",
        "radius::ask(s, srv, \"testing123\", #{\"User-Name\": \"alice\", \"User-Password\": \"pw\"}).code",
    ),
    entry(
        "get",
        Module("snmp"),
        "snmp::get(sock, server, community, oid) / snmp::get(..., oid, #{timeout, retries}) → map",
        "An SNMP v2c GetRequest by s.request (request id matched): #{oid, type, value, rtt, tries}; type \"INTEGER\", \"OCTET STRING\", \"Counter64\", ... or \"noSuchObject\", \"noSuchInstance\", \"endOfMibView\" (value ()). An error-status is an error of kind snmp.",
        "import \"udpsh/snmp\" as snmp;\nsnmp::get(s, srv, \"public\", \"1.3.6.1.2.1.1.5.0\").value",
    ),
    entry(
        "getnext",
        Module("snmp"),
        "snmp::getnext(sock, server, community, oid) / snmp::getnext(..., oid, #{timeout, retries}) → map",
        "A GetNextRequest: the variable after oid, as snmp::get gives it.",
        "snmp::getnext(s, srv, \"public\", \"1.3.6.1.2.1.1\").oid",
    ),
    entry(
        "walk",
        Module("snmp"),
        "snmp::walk(sock, server, community, oid) / snmp::walk(..., oid, #{timeout, retries}) → array",
        "Every variable under oid, by GetNext until the agent leaves the subtree or ends its MIB: [#{oid, type, value}].",
        "snmp::walk(s, srv, \"public\", \"1.3.6.1.2.1.1\").len()",
    ),
    entry(
        "parse",
        Module("snmp"),
        "snmp::parse(blob) → map",
        "An SNMP v2c message: #{version, community, pdu, request_id, error, error_index, bindings}; error \"noError\", \"tooBig\", ...; bindings as snmp::get gives them.",
        "snmp::parse(d.data).bindings[0].value",
    ),
    entry(
        "request",
        Module("sip"),
        "sip::request(method, uri) / sip::request(method, uri, #{headers, body}) → blob",
        "A SIP request with CRLF line ends: Via (a fresh z9hG4bK branch, rport), Max-Forwards, From (a tag), To, Call-ID, CSeq 1, Contact for INVITE/REGISTER/SUBSCRIBE/REFER, Content-Length counted; headers replace these by name or come after them.",
        "import \"udpsh/sip\" as sip;\ns.sendto(sip::request(\"OPTIONS\", \"sip:ping@127.0.0.1\"), srv);",
    ),
    entry(
        "parse",
        Module("sip"),
        "sip::parse(blob) → map",
        "#{status, reason, method, uri, headers, body}: status and reason for a response (method from its CSeq), method and uri for a request; header names in lower case, compact forms spelled out, repeats joined with \", \".",
        "sip::parse(d.data).headers[\"call-id\"]",
    ),
    entry(
        "ask",
        Module("sip"),
        "sip::ask(sock, server, method, uri) / sip::ask(..., uri, #{timeout, retries, headers, body}) → map",
        "A request by s.request (Via naming the socket's address) and its final response, matched by Call-ID and CSeq, 1xx passed over; parsed, with rtt and tries.",
        "sip::ask(s, srv, \"OPTIONS\", \"sip:ping@127.0.0.1\").status",
    ),
    entry(
        "rfc5424",
        Module("syslog"),
        "syslog::rfc5424(#{facility, severity, app, msg, host, procid, msgid, time}) → string",
        "A syslog line (RFC 5424): facility and severity by name (\"local3\", \"warning\") or number (default user, info), time float Unix seconds (default now, UTC to the microsecond), host the machine's name, app udpsh.",
        "import \"udpsh/syslog\" as syslog;\ns.sendto(syslog::rfc5424(#{facility: \"local3\", severity: \"warning\", msg: \"disk full\"}), srv);",
    ),
    entry(
        "rfc3164",
        Module("syslog"),
        "syslog::rfc3164(#{facility, severity, app, msg, host, procid, time}) → string",
        "A BSD syslog line (RFC 3164): <PRI>Mmm dd hh:mm:ss host app[procid]: msg, the time in local time.",
        "syslog::rfc3164(#{facility: \"auth\", severity: \"err\", msg: \"denied\"})",
    ),
    entry(
        "parse",
        Module("syslog"),
        "syslog::parse(data) → map",
        "A syslog message (RFC 5424 or 3164, by syslog_loose): #{format, facility, severity, time, host, app, procid, msgid, structured, msg}; absent fields ().",
        "syslog::parse(d.data).severity",
    ),
    entry(
        "get",
        Module("tftp"),
        "tftp::get(sock, server, file) / tftp::get(..., #{timeout, retries}) → blob",
        "Reads a file: octet mode, 512-byte blocks, following the server's transfer port; each block a s.request (resent on timeout). A TFTP ERROR is kind tftp with the server's code and text.",
        "import \"udpsh/tftp\" as tftp;\ntftp::get(s, srv, \"boot.bin\")",
    ),
    entry(
        "put",
        Module("tftp"),
        "tftp::put(sock, server, file, data) / tftp::put(..., #{timeout, retries}) → int",
        "Writes a file (the server must allow it, in.tftpd -c); returns the bytes sent.",
        "tftp::put(s, srv, \"up.bin\", blob(1300))",
    ),
    entry(
        "read_file",
        Function,
        "read_file(path) → blob",
        "A file's bytes, relative to the current directory.",
        "let data = read_file(\"fixtures/test.txt\");",
    ),
    entry(
        "write_file",
        Function,
        "write_file(path, data) → int",
        "Writes a string or blob to a file; returns the bytes written.",
        "write_file(\"out.bin\", d.data);",
    ),
    entry(
        "script_dir",
        Function,
        "script_dir() → string",
        "The running script's folder (\".\" in the REPL).",
        "read_file(script_dir() + \"/fixtures/test.txt\")",
    ),
    entry(
        "input",
        Function,
        "input() / input(prompt) → string or ()",
        "A line from stdin, like Python's input(); () at the end of input.",
        "let msg = input(\"message: \");",
    ),
    entry(
        "spawn",
        Function,
        "spawn(|| { ... }) / spawn(\"file.rhai\", #{vars}) → thread",
        "Runs a closure or another script on a thread of its own; join() waits for its result.",
        "let t = spawn(|| { let d = server.recvfrom(); d.text });\nclient.sendto(\"hi\", server.local_addr);\nt.join()",
    ),
    entry(
        "join",
        Method(Thread),
        "thread.join() → value",
        "Waits for a spawned thread and returns its result (or raises its error).",
        "let t = spawn(|| 42); t.join()",
    ),
    entry(
        "finished",
        Property(Thread),
        "thread.finished → bool",
        "True once the spawned thread has ended (join() will not wait).",
        "let t = spawn(|| 42); sleep(0.1); t.finished",
    ),
    entry(
        "assert",
        Function,
        "assert(condition, message)",
        "Fails with the message when the condition is false.",
        "assert(d.len > 0, \"empty datagram\");",
    ),
    entry(
        "assert_eq",
        Function,
        "assert_eq(actual, expected) / assert_eq(actual, expected, message)",
        "Fails, showing both values, when they differ; a blob equals the string of its bytes.",
        "assert_eq(d.text, \"你好\");",
    ),
    entry(
        "assert_ne",
        Function,
        "assert_ne(actual, unexpected)",
        "Fails when the values are equal.",
        "assert_ne(d.port, 0);",
    ),
    entry(
        "assert_contains",
        Function,
        "assert_contains(haystack, needle) / assert_contains(haystack, needle, message)",
        "Text in text; bytes in bytes (a blob, or a string as its UTF-8 bytes, on either side); an element in an array; a key in a map.",
        "assert_contains(r.payload, \"</time>\");",
    ),
    entry(
        "assert_match",
        Function,
        "assert_match(text, regex) / assert_match(text, regex, message)",
        "Fails unless the regular expression (regex crate syntax) matches somewhere in the text.",
        "assert_match(d.text, \"^OK [0-9]+$\");",
    ),
    entry(
        "assert_approx",
        Function,
        "assert_approx(actual, expected, tolerance) / assert_approx(..., message)",
        "Fails unless |actual - expected| <= tolerance.",
        "assert_approx(r.offset, 0.0, 0.05);",
    ),
    entry(
        "test",
        Function,
        "test(name, || { ... }) / test(name, #{tags, timeout, retries}, || { ... })",
        "One test case of the file, in every report: runs the closure now, in the script's scope; a failure is reported and the next test runs. Code outside test() is the file's set-up. tags are for --tag/--skip-tag, timeout (seconds) stops only this test, retries tries it again.",
        "test(\"A record\", || {\n    assert_eq(dns::ask(s, srv, \"example.test\", \"A\").answers[0].data, \"10.1.2.3\");\n});",
    ),
    entry(
        "skip",
        Function,
        "skip() / skip(reason)",
        "Skips the rest of this test (inside test()) or of the file (outside): reported as skipped with the reason, never a failure.",
        "if !installed { skip(\"snmpd is not installed\") }",
    ),
    entry(
        "skip_if",
        Function,
        "skip_if(condition, reason)",
        "skip(reason) when the condition is true.",
        "skip_if(var(\"server\", \"\") == \"\", \"no --var server given\");",
    ),
    entry(
        "bind",
        Method(Socket),
        "s.bind(\"host:port\") / s.bind(host, port) / s.bind(port)",
        "Binds the socket, like Python's socket.bind.",
        "let s = udp(); s.bind(\"127.0.0.1:0\"); s.local_addr",
    ),
    entry(
        "local_addr",
        Property(Socket),
        "s.local_addr → string or ()",
        "The address the socket is bound to; () before its first bind or send.",
        "s.local_addr   // \"127.0.0.1:40312\"",
    ),
    entry(
        "port",
        Property(Socket),
        "s.port → int   /   d.port → int",
        "The socket's own port (0 if unbound), or the port a datagram came from.",
        "let peer = udp(0); peer.port",
    ),
    entry(
        "settimeout",
        Method(Socket),
        "s.settimeout(seconds) / s.settimeout(())",
        "How long recvfrom waits before raising a timeout error; () blocks forever (the default).",
        "s.settimeout(2.5);\ntry { s.recvfrom() } catch (e) { print(e.kind) }   // timeout",
    ),
    entry(
        "gettimeout",
        Method(Socket),
        "s.gettimeout() → float or ()",
        "The timeout set with settimeout, in seconds.",
        "s.gettimeout()",
    ),
    entry(
        "setbroadcast",
        Method(Socket),
        "s.setbroadcast(on)",
        "SO_BROADCAST: needed to send to a broadcast address.",
        "s.setbroadcast(true);",
    ),
    entry(
        "setreuse",
        Method(Socket),
        "s.setreuse(on)",
        "SO_REUSEADDR and SO_REUSEPORT, before bind: several sockets on one port.",
        "let s = udp(); s.setreuse(true); s.bind(7788);",
    ),
    entry(
        "sendto",
        Method(Socket),
        "s.sendto(data, \"host:port\") / s.sendto(data, host, port) → int",
        "Sends one datagram (a string as UTF-8, or a blob); returns the bytes sent.",
        "s.sendto(\"Hello\", \"127.0.0.1:8888\");\ns.sendto(hex(\"01 02\"), \"127.0.0.1\", 8888);",
    ),
    entry(
        "broadcast",
        Method(Socket),
        "s.broadcast(data, port) / s.broadcast(data, host, port) → int",
        "Sets SO_BROADCAST and sends to 255.255.255.255 (or the given broadcast address).",
        "s.broadcast(\"Hi\", \"127.255.255.255\", 7788);",
    ),
    entry(
        "recvfrom",
        Method(Socket),
        "s.recvfrom(bufsize) / s.recvfrom() → datagram",
        "Waits for one datagram, up to the socket's timeout. A datagram longer than bufsize is cut, and d.truncated says so. Ctrl-C stops the wait.",
        "let d = s.recvfrom(1024);\nprint(d.text + \" from \" + d.addr);",
    ),
    entry(
        "recv",
        Method(Socket),
        "s.recv(bufsize) / s.recv() → blob",
        "Like recvfrom, but only the data (for a connected socket, as Python's recv).",
        "let data = s.recv(1024);",
    ),
    entry(
        "collect",
        Method(Socket),
        "s.collect(seconds) / s.collect(#{count: n, timeout: seconds}) → array",
        "Every datagram that arrives within the window (or until count of them).",
        "let replies = s.collect(2.0);\nreplies.len()",
    ),
    // ---- sockets of real networks and the service under test (issue 11) go here ----
    entry(
        "connect",
        Method(Socket),
        "s.connect(\"host:port\") / s.connect(host, port)",
        "Fixes the peer: send() goes there and only its datagrams are received; an ICMP refusal shows at the next receive.",
        "let s = udp(); s.connect(\"127.0.0.1:53\"); s.send(q); s.recv(512)",
    ),
    entry(
        "send",
        Method(Socket),
        "s.send(data) → int",
        "Sends one datagram to the connected peer (see connect); returns the bytes sent.",
        "s.connect(\"127.0.0.1:9000\"); s.send(\"ping\");",
    ),
    entry(
        "peer_addr",
        Property(Socket),
        "s.peer_addr → string or ()",
        "The connected peer, \"ip:port\"; () when not connected.",
        "s.peer_addr",
    ),
    entry(
        "request",
        Method(Socket),
        "s.request(data, \"host:port\") / s.request(data, addr, #{timeout, retries, accept}) → datagram",
        "Sends and waits for a reply, resending after each timeout (default: the socket's timeout or 1 s, 2 retries). A reply that accept(d) rejects is skipped. The reply has rtt (seconds from the last send) and tries. After the last try: kind timeout; an ICMP refusal: kind refused at once.",
        "let r = s.request(q, server, #{timeout: 0.5, retries: 3, accept: |d| d.data[0..2] == q[0..2]});\nprint(r.rtt);",
    ),
    entry(
        "select",
        Function,
        "select([sockets], seconds) / select([sockets]) → array",
        "The sockets that have a datagram (or a refusal) waiting, as soon as one has; [] when the timeout passes first. () or no timeout waits without end.",
        "let ready = select([a, b], 1.0);\nfor s in ready { print(s.recvfrom()) }",
    ),
    entry(
        "recv_any",
        Function,
        "recv_any([sockets], seconds) / recv_any([sockets]) → datagram",
        "The first datagram to arrive on any of the sockets; d.sock is the one it came on. Kind timeout when none comes in time.",
        "let d = recv_any([a, b], 1.0);\nd.sock.sendto(\"ack\", d.addr);",
    ),
    entry(
        "setttl",
        Method(Socket),
        "s.setttl(ttl)",
        "The IP TTL (IPv6 hop limit) of unicast datagrams sent, 1 to 255.",
        "s.setttl(1);   // never past the first router",
    ),
    entry(
        "settos",
        Method(Socket),
        "s.settos(tos)",
        "The IP TOS byte (IPv6 traffic class) of datagrams sent: DSCP << 2, e.g. 0xb8 for EF.",
        "s.settos(0xb8);",
    ),
    entry(
        "setrcvbuf",
        Method(Socket),
        "s.setrcvbuf(bytes) → int",
        "Sets SO_RCVBUF and returns what the kernel set: twice the request, capped by net.core.rmem_max.",
        "s.setrcvbuf(1 << 22)",
    ),
    entry(
        "getrcvbuf",
        Method(Socket),
        "s.getrcvbuf() → int",
        "The receive buffer size the kernel uses (SO_RCVBUF).",
        "s.getrcvbuf()",
    ),
    entry(
        "setsndbuf",
        Method(Socket),
        "s.setsndbuf(bytes) → int",
        "Sets SO_SNDBUF and returns what the kernel set (doubled, capped by net.core.wmem_max).",
        "s.setsndbuf(1 << 20)",
    ),
    entry(
        "getsndbuf",
        Method(Socket),
        "s.getsndbuf() → int",
        "The send buffer size the kernel uses (SO_SNDBUF).",
        "s.getsndbuf()",
    ),
    entry(
        "join",
        Method(Socket),
        "s.join(group) / s.join(group, interface)",
        "Joins a multicast group (IPv4 or IPv6) on an interface (name or address) or where the kernel routes it; bind the group's port first.",
        "let s = udp(\"0.0.0.0:1900\"); s.join(\"239.255.255.250\");\nlet m = udp(\"[::]:5353\"); m.join(\"ff02::fb\", \"eth0\");",
    ),
    entry(
        "leave",
        Method(Socket),
        "s.leave(group) / s.leave(group, interface)",
        "Leaves a multicast group joined before.",
        "s.leave(\"239.255.255.250\");",
    ),
    entry(
        "setmulticastttl",
        Method(Socket),
        "s.setmulticastttl(ttl)",
        "TTL (IPv6 hops) of multicast datagrams sent; 1 (the default) stays on the link.",
        "s.setmulticastttl(1);",
    ),
    entry(
        "setmulticastloop",
        Method(Socket),
        "s.setmulticastloop(on)",
        "Whether multicast this host sends also reaches its own members (on by default).",
        "s.setmulticastloop(false);",
    ),
    entry(
        "setmulticastif",
        Method(Socket),
        "s.setmulticastif(interface)",
        "The interface multicast leaves by: a name (\"lo\", \"eth0\") or one of its addresses.",
        "s.setmulticastif(\"lo\");",
    ),
    entry(
        "start",
        Function,
        "start(program) / start(program, [args]) → process",
        "Starts a program (the service under test) as a child; stdout and stderr are kept. It is stopped (TERM, then KILL after 2 s) when the script ends, fails, times out or is interrupted. A missing program is kind file.",
        "let d = start(\"dnsmasq\", [\"-d\", \"-p\", \"5353\", \"--listen-address=127.0.0.1\"]);",
    ),
    entry(
        "wait_udp",
        Function,
        "wait_udp(\"host:port\", seconds) / wait_udp(port, seconds)",
        "Waits until a UDP socket is bound there (read from /proc/net/udp and udp6; the any-address counts). Kind timeout if none is in time; port 0, which nothing is ever bound to, is kind value at once.",
        "wait_udp(\"127.0.0.1:5353\", 5.0);",
    ),
    entry(
        "output",
        Method(Process),
        "p.output() → string",
        "What the process wrote to stdout and stderr so far (the last 1 MiB).",
        "assert_contains(d.output(), \"started\");",
    ),
    entry(
        "alive",
        Method(Process),
        "p.alive() → bool",
        "Whether the process is still running.",
        "assert(d.alive(), d.output());",
    ),
    entry(
        "stop",
        Method(Process),
        "p.stop() / p.stop(grace) → int",
        "Stops the process (and its process group): TERM, then KILL after grace seconds (2); returns its exit status.",
        "d.stop();",
    ),
    entry(
        "wait",
        Method(Process),
        "p.wait() / p.wait(seconds) → int",
        "Waits for the process to exit and returns its exit code (minus the signal number if a signal ended it, as Python's subprocess); with seconds, kind timeout if it runs longer.",
        "let p = start(\"true\"); assert_eq(p.wait(), 0);",
    ),
    entry(
        "pid",
        Property(Process),
        "p.pid → int",
        "The process id.",
        "print(d.pid);",
    ),
    entry(
        "blast",
        Method(Socket),
        "s.blast(data, \"host:port\", count) / s.blast(data, addr, count, #{rate, bps, sample, batch}) → map",
        "Sends count copies from native code in batches (sendmmsg), as fast as the kernel takes them or paced by rate (datagrams/s) or bps; returns #{count, bytes, seconds, rate, bps, recorded}.",
        "s.blast(\"x\", \"127.0.0.1:9000\", 10000, #{rate: 5000})",
    ),
    entry(
        "drops",
        Property(Socket),
        "s.drops → int",
        "How many datagrams the kernel dropped at this socket because its receive buffer was full (counted once collect has run).",
        "let all = s.collect(2.0); s.drops",
    ),
    entry(
        "close",
        Method(Socket),
        "s.close()",
        "Closes the socket; later calls on it fail.",
        "s.close();",
    ),
    entry(
        "watch",
        Method(Socket),
        "s.watch() / s.watch(|d| format) / s.watch(#{compact, filter, format})   (REPL; also :watch s)",
        "Prints every datagram the socket receives above the prompt, like nc -u -l, while you type: one line each with compact: true, the value of format(d) if given, only those where filter(d) is true. A line you run has the socket to itself. Under udpsh run it does nothing (and unwatch drops the datagrams waiting), so saved sessions replay.",
        "let s = udp(\"127.0.0.1:9000\"); s.watch();\ns.watch(|d| hdr.unpack(d.data));\ns.watch(#{compact: true, filter: |d| d.port == 5000});",
    ),
    entry(
        "unwatch",
        Method(Socket),
        "s.unwatch()   (REPL; also :unwatch s)",
        "Stops watching the socket. Under udpsh run it drops the datagrams waiting on it, which the REPL's watch would have taken.",
        "s.unwatch();",
    ),
    // ---- impairment proxy and replay (issue 12) go here ----
    entry(
        "proxy",
        Function,
        "proxy(upstream) / proxy(upstream, #{loss, delay, jitter, dup, reorder, seed, up, down, listen, pcap}) → proxy",
        "Forwards UDP to upstream on a thread of its own, each client through its own upstream socket (like a NAT), dropping, delaying, duplicating and reordering as told; per direction with up: #{..} / down: #{..}. Probabilities 0-1 or \"5%\", times in seconds or \"20ms\". The same seed gives the same decisions. Stops when the script ends.",
        "let p = proxy(server.local_addr, #{loss: 0.1, delay: 0.02, seed: 7});\nclient.sendto(\"hi\", p.addr);",
    ),
    entry(
        "addr",
        Property(Proxy),
        "p.addr → string",
        "The address clients send to (listen, default 127.0.0.1 on a free port).",
        "c.sendto(\"ping\", p.addr);",
    ),
    entry(
        "set",
        Method(Proxy),
        "p.set(#{loss, delay, jitter, dup, reorder, seed, up, down})",
        "Changes the given settings (the others stay) for every datagram from now on, including those already waiting in the proxy's sockets: an outage, then a recovery.",
        "p.set(#{loss: 1.0});   // outage\np.set(#{loss: 0.0});   // back",
    ),
    entry(
        "stats",
        Method(Proxy),
        "p.stats() → #{up, down, clients, seed}",
        "Counts per direction: received, forwarded, dropped, duplicated, reordered, delayed, queued, errors; received == forwarded + dropped, always.",
        "let s = p.stats(); assert_eq(s.up.received, s.up.forwarded + s.up.dropped);",
    ),
    entry(
        "close",
        Method(Proxy),
        "p.close() → map",
        "Stops the proxy after sending every datagram it still delays; returns the final stats.",
        "let final = p.close();",
    ),
    entry(
        "read_pcap",
        Function,
        "read_pcap(path) / read_pcap(path, #{src, dst, sport, dport, port, details}) → array",
        "The UDP datagrams of a pcap or pcapng file (udpsh, tcpdump, Wireshark; Ethernet with VLAN, PPPoE, MPLS, NSH; Linux SLL/SLL2, raw IP, BSD loopback, PPP, 802.11 with radiotap/PPI, NFLOG, PKTAP; IPv4 and IPv6), each #{frame, time, src, dst, data, len, comment}. IP fragments are reassembled; cut packets and other protocols are skipped; a file cut mid-record gives its complete records and a warning; with details: true the result is #{datagrams, damaged, skipped} (damaged: where the file is cut, or ()). A file of an unknown link type only is an error naming it.",
        "let qs = read_pcap(\"golden.pcapng\", #{dport: 53});\nqs[0].data",
    ),
    entry(
        "replay",
        Function,
        "replay(path, #{to, speed, check, ignore, filter, wait}) → #{sent, replies, matched, mismatched, missing, extra}",
        "Resends a capture's client side to `to` with its recorded spacing (speed 2.0 = twice as fast, \"max\" = no waiting). With check: true, each live reply is compared with the recorded one (ignore: byte ranges masked); a difference fails as an assertion with a hexdump diff naming the frames, a missing reply as a timeout.",
        "replay(\"dns.pcap\", #{to: \"127.0.0.1:5353\", check: true, ignore: [0..2]})",
    ),
    // ---- fuzzing (issue 24) ----
    entry(
        "fuzz",
        Function,
        "fuzz(target, #{seeds, layout, protocol, process, alive, cases, duration, seed, restart, out, every, hang, probe, max_len, trials}) → #{cases, rate, restarts, crashes, ...}",
        "Sends mutated seeds to target from native code (the same seed, the same cases): bit and byte flips, interesting integers, insertions, deletions, splices; field by field with a layout; by structure with protocol \"dns\", \"coap\" or \"stun\". A crash — process: p died (\"signal\", \"exit\") or printed an ASan/UBSan report (\"sanitizer\"), the port refused (\"refused\"), no answer within hang seconds or alive() false (\"hang\") — is pinned by replay with restarts, minimized (ddmin over the datagrams, then the bytes) and written to out as crash-<hash>.rhai, a test() that fails until the bug is fixed, and crash-<hash>.pcapng. alive runs between batches (every cases), not per case; restart: true starts p again and goes on.",
        "let p = start(\"./server\", [\"9000\"]);\nwait_udp(9000, 5.0);\nlet f = fuzz(\"127.0.0.1:9000\", #{seeds: [hex(\"01 00 05 68 65 6c 6c 6f\")], process: p, cases: 100000, seed: 1, restart: true});\nassert_eq(f.crashes.len(), 0);",
    ),
    entry(
        "data",
        Property(Datagram),
        "d.data → blob   (also d[0])",
        "The payload bytes.",
        "d.data",
    ),
    entry(
        "text",
        Property(Datagram),
        "d.text → string",
        "The payload as UTF-8 text (invalid bytes become �).",
        "d.text",
    ),
    entry(
        "addr",
        Property(Datagram),
        "d.addr → string   (also d[1])",
        "The sender, \"ip:port\": where to send a reply.",
        "s.sendto(\"pong\", d.addr);",
    ),
    entry(
        "ip",
        Property(Datagram),
        "d.ip → string",
        "The sender's IP address.",
        "d.ip",
    ),
    entry(
        "port",
        Property(Datagram),
        "d.port → int",
        "The sender's port.",
        "d.port",
    ),
    entry(
        "len",
        Property(Datagram),
        "d.len → int",
        "The datagram's real length, even when it was truncated.",
        "d.len",
    ),
    entry(
        "truncated",
        Property(Datagram),
        "d.truncated → bool",
        "True when the datagram was longer than the recvfrom buffer.",
        "let d = s.recvfrom(4); d.truncated",
    ),
    entry(
        "time",
        Property(Datagram),
        "d.time → float",
        "When the kernel received it (SO_TIMESTAMPNS), Unix seconds like now(); captures use it too.",
        "let age = now() - d.time;",
    ),
    entry(
        "dst",
        Property(Datagram),
        "d.dst → string",
        "Where it was sent, \"ip:port\": our address, a multicast group, a broadcast address (IP_PKTINFO).",
        "assert_eq(d.dst, \"239.255.255.250:1900\");",
    ),
    entry(
        "ttl",
        Property(Datagram),
        "d.ttl → int",
        "The IP TTL (IPv6 hop limit) it arrived with.",
        "d.ttl",
    ),
    entry(
        "tos",
        Property(Datagram),
        "d.tos → int",
        "The IP TOS byte (IPv6 traffic class) it arrived with.",
        "assert_eq(d.tos, 0xb8);",
    ),
    entry(
        "sock",
        Property(Datagram),
        "d.sock → socket",
        "The socket that received it (for recv_any).",
        "let d = recv_any([a, b], 1.0); d.sock.sendto(\"ack\", d.addr);",
    ),
    entry(
        "rtt",
        Property(Datagram),
        "r.rtt → float",
        "For a request's reply: seconds from the last send to the reply's arrival (kernel time); () otherwise.",
        "let r = s.request(q, server); print(r.rtt);",
    ),
    entry(
        "tries",
        Property(Datagram),
        "r.tries → int",
        "For a request's reply: how many sends it took; () otherwise.",
        "r.tries",
    ),
    entry(
        "hexdump",
        Method(Datagram),
        "d.hexdump() → string",
        "The payload as an offset / hex / ASCII dump.",
        "d.hexdump()",
    ),
    // ---- load with latency (issue 22) ----
    entry(
        "load",
        Function,
        "load(target, #{request, rate, duration, count, clients, pair, timeout, warmup, check, sample, segment}) → map",
        "Open-loop load: request i leaves at start + i / rate whether or not replies came, from `clients` sockets (default 1000/s for 10 s, 8 clients). request: a blob or string, an array (in turn) or |i| blob; pair: \"dns\", \"coap\", \"stun\" (a fresh id in each copy), [0..2] / \"bytes:0-1\" (these bytes equal), \"order\" (default). Returns #{sent, received, lost, late, duplicate, refused, bad, errors, unmatched, rate, throughput, behind, seconds, latency, service, timeline, histogram}: sent = received + lost; latency (from each request's due time) and service (from its send) are #{min, mean, stdev, p50, p90, p99, p999, p9999, max} in seconds. A check: |d| bool closure (and a request closure) runs per datagram in the script.",
        "let r = load(\"127.0.0.1:5353\", #{request: hex(\"00 01\"), rate: 2000, duration: 1.0, timeout: 0.5});\nassert(r.latency.p99 < 0.005);  assert_eq(r.sent, r.received + r.lost);",
    ),
    entry(
        "save",
        Method(Load),
        "r.histogram.save(path)",
        "Writes load()'s latency histogram as HdrHistogram's compressed V2 encoding in base64 (what udpsh load --json holds), for HdrHistogram's tools or a later merge.",
        "r.histogram.save(\"latency.hgrm.b64\");",
    ),
];

/// The entries named `name` (a name may be a function and a field, like `port`).
pub fn lookup(name: &str) -> Vec<&'static Entry> {
    let in_module = |module: &str, e: &&Entry| matches!(e.kind, Kind::Module(m) if m == module);
    // `dns::ask`: that module's function only.
    if let Some((module, function)) = name.split_once("::") {
        return ENTRIES
            .iter()
            .filter(|e| e.name == function && in_module(module, e))
            .collect();
    }
    let found: Vec<_> = ENTRIES.iter().filter(|e| e.name == name).collect();
    if !found.is_empty() {
        return found;
    }
    // `dns`: every function of the module.
    ENTRIES.iter().filter(|e| in_module(name, e)).collect()
}

/// A subject of `:help TOPIC` that no single entry covers.
pub struct Topic {
    pub name: &'static str,
    /// One line, for the list of topics.
    pub summary: &'static str,
    pub text: &'static str,
}

pub const TOPICS: &[Topic] = &[
    Topic {
        name: "blob",
        summary: "bytes: making, slicing, appending, comparing",
        text: "A blob is bytes, as Python's bytes. Make one with blob(n), blob(n, byte), hex(\"de ad\"), \"text\".to_blob(), pack(...), or take d.data of a datagram.
b.len()  b[0] (an integer)  b[2..6]  b[6..]  b.slice(2, 4) (sub-blobs)
b + \"text\" and b += \"text\" append the UTF-8 bytes and stay a blob; \"text\" + b is a blob too; b.push(0x0a) appends a byte; b1 + b2 joins.
A byte is 0 to 255: b.push(300), b.insert(i, 300), b.pad(n, 300) and blob(n, 300) are errors, not 0x2c (b += 300 and b[0] = 300 are Rhai's own and keep the low 8 bits).
s += b (or s = s + b) on a text s joins b's bytes as text when they are UTF-8, and is an error when they are not: write let out = s + b.
A blob never == a string in Rhai (d.data == \"PONG\" is false; udpsh run and check warn of it): compare d.text == \"PONG\", or d.data == \"PONG\".to_blob(); assert_eq(blob, string) compares the string's UTF-8 bytes.
to_hex(b)  hexdump(b)  b.as_string() (text, lossy)  b.parse_be_int(0, 2)  b.write_be(0, 2, v)
assert_eq(b1, b2) shows the first differing offset. :help pack for struct codes.",
    },
    Topic {
        name: "pack",
        summary: "Python struct codes: pack, unpack, calcsize, layout",
        text: "pack(fmt, v1, v2, ...) → blob, unpack(fmt, blob) → array, unpack_from(fmt, blob, offset), calcsize(fmt), as Python's struct.
Codes: x pad byte, c char, b/B int8, ? bool, h/H 16-bit, i/I l/L 32-bit, q/Q 64-bit, f/d float, Ns N bytes (padded with zeros, never cut), Np pascal string; a count repeats: 3H.
Byte order: ! or > network (big-endian; also what no prefix means), < little, = and @ native; never any alignment padding.
A value out of range, a wrong count or a blob of the wrong length is an error of kind value saying what was expected.
Named fields: let hdr = layout(\"!H type, I seq, 2x, 8s tag\"); hdr.unpack(d.data) → #{type, seq, tag, rest}; hdr.pack(#{type: 1, seq: 5, tag: \"pos\"}); hdr.size.",
    },
    Topic {
        name: "errors",
        summary: "error kinds, what raises them, how to catch them",
        text: "Every udpsh error has a kind and a message; try { ... } catch (e) { ... } catches it, with e.kind and e.message.
Rhai's own errors (an index out of range, an unknown function, a wrong type) are caught as a map with no kind (e.kind is ()): e.message is Rhai's text, e.error its name (\"ErrorArrayBounds\", \"ErrorFunctionNotFound\", \"ErrorMismatchDataType\", ...), e.line and e.position where it happened, and by error: e.index and e.length, e.function, e.variable, e.property, e.requested and e.actual. Tell them apart with \"error\" in e. Not caught, udpsh says them in its own words: an index out of range as kind index, the rest as kind script.
In udpsh run an uncaught assertion ends the script with exit 1, any other error with exit 3.
The kinds:",
    },
    Topic {
        name: "try",
        summary: "catching an error: try / catch / throw",
        text: "try { s.recvfrom(1024) } catch (e) { print(e.kind) }
try is a statement, not an expression: `let r = try ...` does not parse; assign inside the blocks instead:
  let r = (); try { r = s.recvfrom(1024).text } catch (e) { r = e.kind }
At the REPL a try/catch line shows the value of the block that ran.
e.kind is \"timeout\", \"refused\", \"value\", ... (:help errors); e.message says what happened. A Rhai error ([1][5], an unknown function) has no kind: e.error names it (\"ErrorArrayBounds\"), e.message says it. throw \"text\" or throw #{kind: \"value\", message: \"...\"} raises one.",
    },
    Topic {
        name: "strings",
        summary: "text: templates, splitting, searching, bytes",
        text: "\"text\" or `backticks` (which span lines and fill in ${x}): `port ${p}`. + joins strings; a number needs x.to_string() or a template.
s.len()  s.contains(\"x\")  s.starts_with(\"x\")  s.ends_with(\"x\")  s.index_of(\"x\")  s.split(\",\")  s.sub_string(0, 3)  s[0..3]  s.replace(\"a\", \"b\")  s.to_upper()  s.to_lower()  parse_int(s)  parse_float(s)
trim() changes the string in place and returns (): s.trim(); then use s.
Bytes: s.to_blob() (UTF-8), and sendto sends a string as its UTF-8 bytes; a datagram's d.text is its payload as text.",
    },
    Topic {
        name: "arrays",
        summary: "lists: push, map, filter, for loops",
        text: "let a = [1, 2, 3];  a.push(4);  a.pop();  a.len();  a[0];  a[1..3];  a.contains(2);  a.index_of(2)
a.map(|x| x * 2)  a.filter(|x| x > 1)  a.reduce(|sum, x| sum + x, 0)  a.sort()  a.reverse()  a.insert(0, x)  a.remove(0)
[\"a\", \"b\"].join(\", \") (strings → a string; with a blob among them → a blob)
for x in a { print(x) }   for i in 0..a.len() { print(a[i]) }
s.collect(2.0) returns an array of datagrams; unpack returns an array of values.",
    },
    Topic {
        name: "modules",
        summary: "import \"udpsh/dns\" and the other built-in protocol modules",
        text: "import \"udpsh/dns\" as dns; then dns::query(...), dns::parse(...), dns::ask(...). Built in: udpsh/dns, udpsh/ntp, udpsh/stun, udpsh/coap, udpsh/tftp, udpsh/radius, udpsh/snmp, udpsh/sip, udpsh/syslog (:help dns::ask and so on, or complete dns::<Tab>).
import \"helpers\" as h; loads helpers.rhai from the importing script's folder (the current folder at the REPL).
At the REPL an import stays for the rest of the session.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Names the engine knows but people never call by name.
    const NOT_DOCUMENTED: &[&str] = &["to_string", "to_debug"];

    #[test]
    fn every_registered_name_has_an_entry() {
        let engine = crate::api::compiler();
        let mut missing = Vec::new();
        for signature in engine.gen_fn_signatures(false) {
            let name = signature.split('(').next().unwrap_or_default();
            let name = name
                .trim_start_matches("get$")
                .trim_start_matches("set$")
                .to_string();
            let is_operator = !name.starts_with(|c: char| c.is_alphabetic() || c == '_');
            if is_operator || name.starts_with("index$") || NOT_DOCUMENTED.contains(&name.as_str())
            {
                continue;
            }
            if lookup(&name).is_empty() && !missing.contains(&name) {
                missing.push(name);
            }
        }
        assert!(
            missing.is_empty(),
            "registered but not in api::docs: {missing:?}"
        );
    }

    #[test]
    fn every_example_compiles() {
        let engine = crate::api::compiler();
        for e in ENTRIES {
            if let Err(d) = crate::api::source::compile(&engine, e.example, e.name) {
                panic!(
                    "the example of {} does not compile: {}\n{}",
                    e.name, d.message, e.example
                );
            }
        }
    }

    #[test]
    fn a_module_or_a_qualified_name_finds_module_functions() {
        let names = |found: Vec<&Entry>| found.iter().map(|e| e.signature).collect::<Vec<_>>();
        let dns = names(lookup("dns"));
        assert_eq!(dns.len(), 3, "{dns:?}");
        assert!(dns.iter().all(|s| s.starts_with("dns::")), "{dns:?}");
        let ask = names(lookup("ntp::ask"));
        assert_eq!(ask.len(), 1);
        assert!(ask[0].starts_with("ntp::ask("), "{ask:?}");
        assert!(lookup("ntp::nothing").is_empty());
        assert!(lookup("nothing").is_empty());
    }
}
