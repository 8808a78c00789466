//! CoAP (RFC 7252) requests and replies; coap-lite does the wire work. Codes as text
//! ("2.05"), options by name.

use coap_lite::{CoapOption, MessageClass, MessageType, Packet};

#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    Int(u64),
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub version: u8,
    pub mtype: String,
    pub code: String,
    pub mid: u16,
    pub token: Vec<u8>,
    pub options: Vec<(String, OptionValue)>,
    pub payload: Vec<u8>,
}

/// A method's code: GET 0.01, POST 0.02, PUT 0.03, DELETE 0.04 (and FETCH, PATCH, iPATCH).
pub fn method_code(method: &str) -> Option<u8> {
    Some(match method.to_ascii_uppercase().as_str() {
        "GET" => 1,
        "POST" => 2,
        "PUT" => 3,
        "DELETE" => 4,
        "FETCH" => 5,
        "PATCH" => 6,
        "IPATCH" => 7,
        _ => return None,
    })
}

/// A confirmable request for `path` ("/a/b?x=1" → Uri-Path a, b and Uri-Query x=1).
pub fn request(
    method: &str,
    path: &str,
    mid: u16,
    token: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    build(&Request {
        method,
        path,
        confirmable: true,
        mid,
        token,
        options: &[],
        payload,
    })
}

/// A request of any type, with options besides the path's: (number, value bytes).
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub confirmable: bool,
    pub mid: u16,
    pub token: &'a [u8],
    pub options: &'a [(u16, Vec<u8>)],
    pub payload: &'a [u8],
}

pub fn build(r: &Request) -> Result<Vec<u8>, String> {
    let method = r.method;
    let code = method_code(method).ok_or_else(|| {
        format!("'{method}' is not a CoAP method (GET, POST, PUT, DELETE, FETCH, PATCH, iPATCH)")
    })?;
    if r.token.len() > 8 {
        return Err(format!(
            "a CoAP token is at most 8 bytes, got {}",
            r.token.len()
        ));
    }
    let mut p = Packet::new();
    p.header.set_version(1);
    p.header.set_type(if r.confirmable {
        MessageType::Confirmable
    } else {
        MessageType::NonConfirmable
    });
    p.header.code = MessageClass::from(code);
    p.header.message_id = r.mid;
    p.set_token(r.token.to_vec());
    let (path, query) = r.path.split_once('?').unwrap_or((r.path, ""));
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        p.add_option(CoapOption::UriPath, segment.as_bytes().to_vec());
    }
    for q in query.split('&').filter(|s| !s.is_empty()) {
        p.add_option(CoapOption::UriQuery, q.as_bytes().to_vec());
    }
    for (number, value) in r.options {
        p.add_option(CoapOption::from(*number), value.clone());
    }
    p.payload = r.payload.to_vec();
    p.to_bytes()
        .map_err(|e| format!("cannot build the CoAP message: {e}"))
}

/// The options numbers udpsh names (RFC 7252 §5.10, 7641, 7959, 7967, 8613).
const NUMBERS: &[u16] = &[
    1, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 17, 20, 23, 27, 28, 35, 39, 60, 258,
];

/// An option's number from its name ("Accept", "Content-Format", "Option2049").
pub fn option_number(name: &str) -> Option<u16> {
    if let Some(n) = name.strip_prefix("Option").and_then(|n| n.parse().ok()) {
        return Some(n);
    }
    NUMBERS
        .iter()
        .copied()
        .find(|n| option_name(*n).eq_ignore_ascii_case(name))
}

/// An unsigned option value in the fewest bytes (zero is no bytes, RFC 7252 §3.2).
pub fn uint_bytes(v: u64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take_while(|x| **x == 0).count();
    b[skip..].to_vec()
}

pub const OBSERVE: u16 = 6;
pub const BLOCK2: u16 = 23;
pub const BLOCK1: u16 = 27;
pub const SIZE1: u16 = 60;

/// A Block1 or Block2 value (RFC 7959 §2.2). Written here: coap-lite's `BlockValue` keeps
/// NUM in a u16 and shifts it in a u16, so from block 4096 on its NUM wraps silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub num: u32,
    pub more: bool,
    /// Size exponent: blocks of 2^(szx + 4) bytes, 16 to 1024.
    pub szx: u8,
}

impl Block {
    pub const MAX_NUM: u32 = (1 << 20) - 1;

    pub fn size(self) -> usize {
        1 << (self.szx + 4)
    }

    /// The exponent of a block size of 16, 32, ... 1024 bytes.
    pub fn szx_for(size: usize) -> Option<u8> {
        (0..7u8).find(|szx| 1usize << (szx + 4) == size)
    }

    pub fn to_uint(self) -> u64 {
        u64::from(self.num) << 4 | u64::from(self.more) << 3 | u64::from(self.szx)
    }

    /// From an option's value; `None` for a NUM past 20 bits or the BERT exponent 7.
    pub fn from_uint(v: u64) -> Option<Block> {
        let szx = (v & 7) as u8;
        let num = u32::try_from(v >> 4)
            .ok()
            .filter(|n| *n <= Block::MAX_NUM)?;
        (szx < 7).then_some(Block {
            num,
            more: v & 8 != 0,
            szx,
        })
    }

    /// The option of this number in a parsed message, read as a block.
    pub fn in_message(msg: &Message, name: &str) -> Option<Block> {
        msg.options.iter().find_map(|(n, v)| match v {
            OptionValue::Int(i) if n == name => Block::from_uint(*i),
            _ => None,
        })
    }
}

fn option_name(number: u16) -> String {
    match CoapOption::from(number) {
        CoapOption::Unknown(n) => format!("Option{n}"),
        CoapOption::IfMatch => "If-Match".into(),
        CoapOption::UriHost => "Uri-Host".into(),
        CoapOption::ETag => "ETag".into(),
        CoapOption::IfNoneMatch => "If-None-Match".into(),
        CoapOption::Observe => "Observe".into(),
        CoapOption::UriPort => "Uri-Port".into(),
        CoapOption::LocationPath => "Location-Path".into(),
        CoapOption::Oscore => "OSCORE".into(),
        CoapOption::UriPath => "Uri-Path".into(),
        CoapOption::ContentFormat => "Content-Format".into(),
        CoapOption::MaxAge => "Max-Age".into(),
        CoapOption::UriQuery => "Uri-Query".into(),
        CoapOption::Accept => "Accept".into(),
        CoapOption::LocationQuery => "Location-Query".into(),
        CoapOption::Block2 => "Block2".into(),
        CoapOption::Block1 => "Block1".into(),
        CoapOption::ProxyUri => "Proxy-Uri".into(),
        CoapOption::ProxyScheme => "Proxy-Scheme".into(),
        CoapOption::Size1 => "Size1".into(),
        CoapOption::Size2 => "Size2".into(),
        CoapOption::NoResponse => "No-Response".into(),
    }
}

/// Options whose value is an unsigned integer (RFC 7252 §5.10, 7641, 7959).
const UINT_OPTIONS: &[u16] = &[6, 7, 12, 14, 17, 23, 27, 28, 60, 258];

fn option_value(number: u16, raw: &[u8]) -> OptionValue {
    if UINT_OPTIONS.contains(&number) && raw.len() <= 8 {
        return OptionValue::Int(raw.iter().fold(0u64, |v, b| v << 8 | u64::from(*b)));
    }
    match std::str::from_utf8(raw) {
        Ok(text) if [3, 8, 11, 15, 20, 35, 39].contains(&number) => OptionValue::Text(text.into()),
        _ => OptionValue::Bytes(raw.to_vec()),
    }
}

pub fn parse(b: &[u8]) -> Result<Message, String> {
    let p = Packet::from_bytes(b).map_err(|e| format!("not a CoAP message: {e}"))?;
    let code = u8::from(p.header.code);
    let mut options = Vec::new();
    for (number, values) in p.options() {
        for v in values {
            options.push((option_name(*number), option_value(*number, v)));
        }
    }
    Ok(Message {
        version: p.header.get_version(),
        mtype: match p.header.get_type() {
            MessageType::Confirmable => "CON",
            MessageType::NonConfirmable => "NON",
            MessageType::Acknowledgement => "ACK",
            MessageType::Reset => "RST",
        }
        .into(),
        code: format!("{}.{:02}", code >> 5, code & 0x1f),
        mid: p.header.message_id,
        token: p.get_token().to_vec(),
        options,
        payload: p.payload.clone(),
    })
}

/// Whether `reply` answers our request `mid` with `token`: a response with our token
/// (piggybacked on the ACK, or sent apart later), or a Reset of the request. An empty ACK
/// only says that the response will come apart.
pub fn answers(reply: &Message, mid: u16, token: &[u8]) -> bool {
    match reply.mtype.as_str() {
        "RST" => reply.mid == mid,
        _ => reply.code != "0.00" && reply.token == token,
    }
}

/// The empty ACK that confirms a response sent apart as CON (RFC 7252 §5.2.2).
pub fn empty_ack(mid: u16) -> Vec<u8> {
    let [hi, lo] = mid.to_be_bytes();
    vec![0x60, 0, hi, lo]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_request_is_byte_exact() {
        let b = request("GET", "/.well-known/core", 0x1234, &[0xab], b"").unwrap();
        let mut want = vec![0x41, 0x01, 0x12, 0x34, 0xab, 0xbb];
        want.extend_from_slice(b".well-known");
        want.push(0x04);
        want.extend_from_slice(b"core");
        assert_eq!(b, want);
        assert!(request("BREW", "/", 1, &[], b"").is_err());
        assert!(request("GET", "/", 1, &[0; 9], b"").is_err());
    }

    #[test]
    fn block_values_keep_every_num_bit() {
        let b = Block {
            num: 5000,
            more: true,
            szx: 6,
        };
        assert_eq!(b.size(), 1024);
        assert_eq!(uint_bytes(b.to_uint()), vec![0x01, 0x38, 0x8e]);
        assert_eq!(Block::from_uint(b.to_uint()), Some(b));
        assert_eq!(Block::from_uint(0x0f), None);
        assert_eq!(Block::from_uint(1 << 24), None);
        assert_eq!(Block::szx_for(64), Some(2));
        assert_eq!(Block::szx_for(100), None);
        assert_eq!(uint_bytes(0), Vec::<u8>::new());
        assert_eq!(option_number("accept"), Some(17));
        assert_eq!(option_number("Option2049"), Some(2049));
        assert_eq!(option_number("Nope"), None);
    }

    #[test]
    fn a_non_request_with_options_is_byte_exact() {
        let b = build(&Request {
            method: "GET",
            path: "/t",
            confirmable: false,
            mid: 1,
            token: &[],
            options: &[(OBSERVE, vec![]), (BLOCK2, uint_bytes(2))],
            payload: b"",
        })
        .unwrap();
        assert_eq!(
            b,
            vec![0x50, 0x01, 0x00, 0x01, 0x60, 0x51, b't', 0xc1, 0x02]
        );
    }

    #[test]
    fn coap_server_reply_parses() {
        // libcoap's coap-server-notls answering the request above.
        let m = parse(include_bytes!("../../fixtures/protocols/coap_core.bin")).unwrap();
        assert_eq!(
            (m.mtype.as_str(), m.code.as_str(), m.mid),
            ("ACK", "2.05", 0x1234)
        );
        assert_eq!(m.token, vec![0xab]);
        assert!(
            m.options
                .contains(&("Content-Format".into(), OptionValue::Int(40))),
            "{:?}",
            m.options
        );
        assert!(String::from_utf8_lossy(&m.payload).contains("</time>"));
        assert!(parse(&[0x41]).is_err());
    }

    #[test]
    fn a_reply_is_matched_by_token_or_reset() {
        let reply = |mtype: &str, code: &str, mid: u16, token: &[u8]| Message {
            version: 1,
            mtype: mtype.into(),
            code: code.into(),
            mid,
            token: token.to_vec(),
            options: Vec::new(),
            payload: Vec::new(),
        };
        assert!(answers(&reply("ACK", "2.05", 7, &[1, 2]), 7, &[1, 2]));
        // A separate response: its own message id, our token.
        assert!(answers(&reply("CON", "2.05", 99, &[1, 2]), 7, &[1, 2]));
        assert!(!answers(&reply("ACK", "0.00", 7, &[]), 7, &[1, 2]));
        assert!(!answers(&reply("ACK", "2.05", 7, &[9]), 7, &[1, 2]));
        assert!(answers(&reply("RST", "0.00", 7, &[]), 7, &[1, 2]));
        assert!(!answers(&reply("RST", "0.00", 8, &[]), 7, &[1, 2]));
        let ack = parse(&empty_ack(0xbeef)).unwrap();
        assert_eq!(
            (ack.mtype.as_str(), ack.code.as_str(), ack.mid),
            ("ACK", "0.00", 0xbeef)
        );
    }
}
