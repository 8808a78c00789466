//! SIP requests and responses over UDP (RFC 3261 §7, §8.1.1, §18, §20, §25), written here:
//! the text format is a start line, `Name: value` lines and a body, and rsip (the one Rust
//! SIP crate) was last released in 2022 on md-5 0.9, sha2 0.9 and uuid 0.8.

/// RFC 3261 §7.3.3's compact header forms, and RFC 3515's `r`, RFC 3892's `b`.
const COMPACT: &[(&str, &str)] = &[
    ("i", "call-id"),
    ("m", "contact"),
    ("e", "content-encoding"),
    ("l", "content-length"),
    ("c", "content-type"),
    ("f", "from"),
    ("s", "subject"),
    ("k", "supported"),
    ("t", "to"),
    ("v", "via"),
    ("o", "event"),
    ("u", "allow-events"),
    ("r", "refer-to"),
    ("b", "referred-by"),
    ("x", "session-expires"),
];

/// A header name in lower case, the compact forms spelled out.
pub fn canonical(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    COMPACT
        .iter()
        .find(|(short, _)| *short == lower)
        .map_or(lower, |(_, long)| long.to_string())
}

/// What a new request carries; the caller draws the random parts.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub method: String,
    pub uri: String,
    /// `host:port` for Via's sent-by and Contact.
    pub local: String,
    pub branch: String,
    pub call_id: String,
    pub tag: String,
    pub cseq: u32,
    /// The caller's headers: replace a default of the same name, else come after them.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

fn check_line(what: &str, s: &str) -> Result<(), String> {
    if s.contains(['\r', '\n']) {
        return Err(format!(
            "SIP {what} '{}' has a line break in it",
            s.escape_debug()
        ));
    }
    Ok(())
}

/// The request's bytes, CRLF line ends, Content-Length counted.
pub fn request(spec: &Spec) -> Result<Vec<u8>, String> {
    let method = spec.method.to_ascii_uppercase();
    if !is_token(&method) {
        return Err(format!("'{}' is not a SIP method", spec.method));
    }
    if spec.uri.is_empty() || spec.uri.contains(char::is_whitespace) {
        return Err(format!("'{}' is not a SIP URI", spec.uri.escape_debug()));
    }
    let local = &spec.local;
    let mut headers: Vec<(String, String)> = vec![
        (
            "Via".into(),
            format!("SIP/2.0/UDP {local};rport;branch={}", spec.branch),
        ),
        ("Max-Forwards".into(), "70".into()),
        (
            "From".into(),
            format!("<sip:udpsh@{local}>;tag={}", spec.tag),
        ),
        ("To".into(), format!("<{}>", spec.uri)),
        ("Call-ID".into(), spec.call_id.clone()),
        ("CSeq".into(), format!("{} {method}", spec.cseq)),
    ];
    if matches!(
        method.as_str(),
        "INVITE" | "REGISTER" | "SUBSCRIBE" | "REFER"
    ) {
        headers.push(("Contact".into(), format!("<sip:udpsh@{local}>")));
    }
    headers.push(("User-Agent".into(), "udpsh".into()));
    if !spec.body.is_empty() {
        headers.push(("Content-Type".into(), "text/plain".into()));
    }
    for (name, value) in &spec.headers {
        if !is_token(name) {
            return Err(format!(
                "'{}' is not a SIP header name",
                name.escape_debug()
            ));
        }
        check_line("header value", value)?;
        let key = canonical(name);
        if key == "content-length" {
            return Err("Content-Length is counted by udpsh from the body".into());
        }
        match headers.iter_mut().find(|(n, _)| canonical(n) == key) {
            Some(h) => *h = (name.clone(), value.clone()),
            None => headers.push((name.clone(), value.clone())),
        }
    }
    let mut text = format!("{method} {} SIP/2.0\r\n", spec.uri);
    for (name, value) in &headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n", spec.body.len()));
    let mut b = text.into_bytes();
    b.extend_from_slice(&spec.body);
    Ok(b)
}

/// A request or a response as read: `status` for a response, `method`/`uri` for a request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Message {
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub method: Option<String>,
    pub uri: Option<String>,
    /// Lower-case names, compact forms spelled out, repeats joined with ", " (RFC 3261 §7.3.1).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        let key = canonical(name);
        self.headers
            .iter()
            .find(|(n, _)| *n == key)
            .map(|(_, v)| v.as_str())
    }

    /// CSeq's number and method.
    pub fn cseq(&self) -> Option<(u32, String)> {
        let (n, m) = self
            .header("cseq")?
            .trim()
            .split_once(char::is_whitespace)?;
        Some((n.parse().ok()?, m.trim().to_string()))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn parse(b: &[u8]) -> Result<Message, String> {
    let (head, rest) = match find(b, b"\r\n\r\n") {
        Some(i) => (&b[..i], &b[i + 4..]),
        None => match find(b, b"\n\n") {
            Some(i) => (&b[..i], &b[i + 2..]),
            None => (b, &b[b.len()..]),
        },
    };
    let head = std::str::from_utf8(head).map_err(|_| "a SIP header is not UTF-8 text")?;
    let mut lines = head.lines();
    let start = lines.next().unwrap_or_default().trim_end();
    let mut m = Message::default();
    if let Some(rest) = start.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let code: u16 = code
            .parse()
            .ok()
            .filter(|c| (100..700).contains(c))
            .ok_or_else(|| format!("not a SIP status line: '{}'", start.escape_debug()))?;
        m.status = Some(code);
        m.reason = Some(reason.to_string());
    } else {
        let parts: Vec<&str> = start.split(' ').collect();
        match parts.as_slice() {
            [method, uri, "SIP/2.0"] if is_token(method) => {
                m.method = Some(method.to_string());
                m.uri = Some(uri.to_string());
            }
            _ => return Err(format!("not a SIP message: '{}'", start.escape_debug())),
        }
    }
    let mut raw: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // A folded line continues the header above (RFC 3261 §7.3.1).
            if let Some(last) = raw.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("not a SIP header line: '{}'", line.escape_debug()))?;
        raw.push((canonical(name), value.trim().to_string()));
    }
    for (name, value) in raw {
        match m.headers.iter_mut().find(|(n, _)| *n == name) {
            Some(h) => {
                h.1.push_str(", ");
                h.1.push_str(&value);
            }
            None => m.headers.push((name, value)),
        }
    }
    m.body = match m
        .header("content-length")
        .map(|l| l.trim().parse::<usize>())
    {
        Some(Ok(n)) if n <= rest.len() => rest[..n].to_vec(),
        Some(Ok(n)) => {
            return Err(format!(
                "Content-Length says {n} bytes, the datagram has {} after the headers",
                rest.len()
            ));
        }
        Some(Err(_)) => return Err("Content-Length is not a number".into()),
        None => rest.to_vec(),
    };
    if m.method.is_none() {
        m.method = m.cseq().map(|(_, method)| method);
    }
    Ok(m)
}

/// Whether `reply` is the final response to our request: same Call-ID and CSeq, not 1xx.
pub fn answers(reply: &Message, call_id: &str, cseq: &(u32, String)) -> bool {
    reply.status.is_some_and(|s| s >= 200)
        && reply.header("call-id") == Some(call_id)
        && reply.cseq().as_ref() == Some(cseq)
}

#[cfg(test)]
#[path = "sip_tests.rs"]
mod tests;
