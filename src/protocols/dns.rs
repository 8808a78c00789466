//! DNS queries and replies, as text a person reads: `rcode` "NXDOMAIN", a record's `type` "A",
//! its `data` "10.1.2.3", "10 mail.example.test", or whatever the type's presentation format
//! is, as dig prints it ([`rdata`]).
//!
//! The wire is read here, not by a crate: measured on fixtures/protocols/dns/ (one reply per
//! class of record data, dig's output beside each), simple-dns refused 2 of 9 replies (an
//! unknown class, an SVCB it could not read), read BADVERS as NOERROR and BADCOOKIE as
//! YXRRSET, and printed DNSSEC records as Rust debug text; hickory-proto 0.26 refused 1 (a
//! record of length 0), read BADVERS as BADSIG, and printed 17 of 36 records as dig does
//! (octal escapes, lossy TXT, unquoted strings, lowercase hex). Neither prints what dig does,
//! so the record data must be formatted from the wire anyway; what is left — a header, names
//! with compression pointers, and records — is the few lines below.

mod rdata;
mod types;

pub use types::{rcode_name, type_code, type_name};

#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    pub name: String,
    pub qtype: String,
    pub class: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub name: String,
    pub rtype: String,
    pub class: String,
    pub ttl: u32,
    pub data: String,
}

/// The OPT record of EDNS (RFC 6891).
#[derive(Clone, Debug, PartialEq)]
pub struct Edns {
    /// The sender's UDP payload size.
    pub size: u16,
    /// The DO bit: DNSSEC records wanted.
    pub dnssec: bool,
    pub version: u8,
    /// The upper 8 bits of the 12-bit RCODE (the message's `rcode` already combines them).
    pub rcode: u8,
    /// (code, data) of each option: 10 COOKIE, 3 NSID, 8 CLIENT-SUBNET, ...
    pub options: Vec<(u16, Vec<u8>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: u16,
    pub opcode: String,
    /// With the extended bits of EDNS: "BADVERS", "BADCOOKIE".
    pub rcode: String,
    /// Set header flags by their usual names: qr aa tc rd ra ad cd.
    pub flags: Vec<&'static str>,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    /// Without the OPT record, which is `edns`.
    pub additional: Vec<Record>,
    pub edns: Option<Edns>,
}

/// What `query` adds as an OPT record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EdnsQuery {
    pub size: u16,
    pub dnssec: bool,
}

/// A recursive query for `name` (type by name), with id `id`, and an OPT record if asked.
pub fn query(id: u16, name: &str, qtype: &str, edns: Option<EdnsQuery>) -> Result<Vec<u8>, String> {
    let code = type_code(qtype).ok_or_else(|| format!("'{qtype}' is not a DNS record type"))?;
    let mut out = Vec::with_capacity(64);
    let additional = u16::from(edns.is_some());
    for field in [id, 0x0100, 1, 0, 0, additional] {
        out.extend_from_slice(&field.to_be_bytes());
    }
    out.extend(encode_name(name)?);
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    if let Some(e) = edns {
        out.push(0); // the root
        out.extend_from_slice(&41u16.to_be_bytes());
        out.extend_from_slice(&e.size.to_be_bytes());
        let ttl: u32 = if e.dnssec { 0x8000 } else { 0 };
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
    }
    Ok(out)
}

/// A name in presentation form (`\.` and `\DDD` escapes allowed) on the wire: labels of 1 to
/// 63 bytes, 255 in all (an empty label, `a..b`, would silently become `a.b`).
fn encode_name(name: &str) -> Result<Vec<u8>, String> {
    let bad = |why: String| format!("'{name}' is not a domain name: {why}");
    let mut labels: Vec<Vec<u8>> = vec![Vec::new()];
    if name == "." || name.is_empty() {
        return Ok(vec![0]); // the root
    }
    let mut bytes = name.bytes();
    while let Some(b) = bytes.next() {
        let label = labels.last_mut().expect("one label at least");
        match b {
            b'.' => labels.push(Vec::new()),
            b'\\' => {
                let first = bytes.next().ok_or_else(|| bad("it ends with \\".into()))?;
                if first.is_ascii_digit() {
                    let digits = [Some(first), bytes.next(), bytes.next()];
                    let text: Option<String> = digits
                        .iter()
                        .map(|d| d.filter(u8::is_ascii_digit).map(char::from))
                        .collect();
                    let value = text.and_then(|t| t.parse::<u8>().ok());
                    label.push(
                        value.ok_or_else(|| bad("\\DDD needs three digits, 0 to 255".into()))?,
                    );
                } else {
                    label.push(first);
                }
            }
            _ => label.push(b),
        }
    }
    // "example.test." and "." end at the root.
    if labels.last().is_some_and(Vec::is_empty) {
        labels.pop();
    }
    let mut out = Vec::new();
    for label in &labels {
        if label.is_empty() {
            return Err(bad("an empty label".into()));
        }
        if label.len() > 63 {
            let start = String::from_utf8_lossy(&label[..8]);
            return Err(bad(format!(
                "the label '{start}…' has {} bytes, more than 63",
                label.len()
            )));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    if out.len() > 255 {
        return Err(bad(format!(
            "{} bytes on the wire, more than 255",
            out.len()
        )));
    }
    Ok(out)
}

/// A cursor over a whole message (names point anywhere in it).
pub(crate) struct Wire<'a> {
    pub msg: &'a [u8],
    pub at: usize,
}

impl<'a> Wire<'a> {
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let bytes = self
            .msg
            .get(self.at..self.at + n)
            .ok_or_else(|| format!("it ends at byte {} inside a field", self.msg.len()))?;
        self.at += n;
        Ok(bytes)
    }

    pub fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    pub fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    /// A name's labels, following compression pointers (each must point before the label
    /// that holds it, so a name always ends).
    pub fn labels(&mut self) -> Result<Vec<&'a [u8]>, String> {
        let mut labels = Vec::new();
        let (mut at, mut resume, mut wire_len) = (self.at, None, 1);
        loop {
            let len = *self
                .msg
                .get(at)
                .ok_or("a name runs past the end of the message")?;
            match len >> 6 {
                0 if len == 0 => break,
                0 => {
                    let label = self
                        .msg
                        .get(at + 1..at + 1 + usize::from(len))
                        .ok_or("a label runs past the end of the message")?;
                    wire_len += 1 + label.len();
                    if wire_len > 255 {
                        return Err("a name longer than 255 bytes".into());
                    }
                    labels.push(label);
                    at += 1 + usize::from(len);
                }
                3 => {
                    let low = *self.msg.get(at + 1).ok_or("a pointer cut short")?;
                    let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                    if target >= at {
                        return Err(format!("a compression pointer at byte {at} points forward"));
                    }
                    resume.get_or_insert(at + 2);
                    at = target;
                }
                _ => return Err(format!("an extended label type 0x{len:02x}")),
            }
        }
        self.at = resume.unwrap_or(at + 1);
        Ok(labels)
    }

    pub fn name(&mut self) -> Result<String, String> {
        Ok(rdata::name_text(&self.labels()?))
    }
}

const FLAG_NAMES: [(u16, &str); 7] = [
    (0x8000, "qr"),
    (0x0400, "aa"),
    (0x0200, "tc"),
    (0x0100, "rd"),
    (0x0080, "ra"),
    (0x0020, "ad"),
    (0x0010, "cd"),
];

pub fn parse(bytes: &[u8]) -> Result<Message, String> {
    parse_wire(bytes).map_err(|e| format!("not a DNS message: {e}"))
}

fn parse_wire(bytes: &[u8]) -> Result<Message, String> {
    if bytes.len() < 12 {
        return Err(format!("{} bytes, less than a 12-byte header", bytes.len()));
    }
    let mut w = Wire { msg: bytes, at: 0 };
    let id = w.u16()?;
    let flags = w.u16()?;
    let counts = [w.u16()?, w.u16()?, w.u16()?, w.u16()?];
    let mut questions = Vec::new();
    for _ in 0..counts[0] {
        let name = w.name()?;
        let (qtype, class) = (w.u16()?, w.u16()?);
        questions.push(Question {
            name,
            qtype: type_name(qtype),
            class: types::class_name(class),
        });
    }
    let mut sections: [Vec<Record>; 3] = Default::default();
    let mut edns = None;
    for (section, count) in sections.iter_mut().zip(&counts[1..]) {
        for _ in 0..*count {
            let labels = w.labels()?;
            let (rtype, class, ttl) = (w.u16()?, w.u16()?, w.u32()?);
            let len = usize::from(w.u16()?);
            let start = w.at;
            let data = w.take(len)?;
            if rtype == 41 && edns.is_none() {
                edns = Some(opt(class, ttl, data)?);
                continue;
            }
            section.push(Record {
                name: rdata::name_text(&labels),
                rtype: type_name(rtype),
                class: types::class_name(class),
                ttl,
                data: rdata::text(bytes, start, len, rtype, class),
            });
        }
    }
    let ext = edns.as_ref().map_or(0, |e: &Edns| u16::from(e.rcode));
    let [answers, authority, additional] = sections;
    Ok(Message {
        id,
        opcode: types::opcode_name((flags >> 11) & 0xf),
        rcode: rcode_name(ext << 4 | (flags & 0xf), edns.is_some()),
        flags: FLAG_NAMES
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| *n)
            .collect(),
        questions,
        answers,
        authority,
        additional,
        edns,
    })
}

/// The OPT record's class is the payload size; its TTL the extended RCODE (the high byte),
/// the version and the DO bit.
fn opt(class: u16, ttl: u32, data: &[u8]) -> Result<Edns, String> {
    let mut options = Vec::new();
    let mut w = Wire { msg: data, at: 0 };
    while w.at < data.len() {
        let (code, len) = (w.u16()?, usize::from(w.u16()?));
        options.push((
            code,
            w.take(len)
                .map_err(|_| "an EDNS option cut short")?
                .to_vec(),
        ));
    }
    Ok(Edns {
        size: class,
        dnssec: ttl & 0x8000 != 0,
        version: (ttl >> 16) as u8,
        rcode: (ttl >> 24) as u8,
        options,
    })
}

#[cfg(test)]
mod tests;
