//! SNMP v2c GetRequest / GetNextRequest and their Responses (RFC 1901, 3416); the BER is
//! rasn-snmp's. Values as plain Rust values with their SMI type names; noSuchObject,
//! noSuchInstance and endOfMibView are types (with no value), not errors.

use rasn::types::{Integer, ObjectIdentifier, OctetString};
use rasn_smi::v2::{ApplicationSyntax, SimpleSyntax};
use rasn_snmp::v2::{GetNextRequest, GetRequest, ObjectSyntax, Pdu, Pdus, VarBind, VarBindValue};
use rasn_snmp::v2c::Message;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Get,
    GetNext,
}

/// A variable's value; `Int` for INTEGER and the unsigned application types (their type
/// name says which).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i128),
    Bytes(Vec<u8>),
    Text(String),
    None,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    pub oid: String,
    /// "INTEGER", "OCTET STRING", "OBJECT IDENTIFIER", "IpAddress", "Counter32", "Gauge32",
    /// "TimeTicks", "Opaque", "Counter64", "NULL", "noSuchObject", "noSuchInstance",
    /// "endOfMibView".
    pub kind: &'static str,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    pub version: i64,
    pub community: Vec<u8>,
    pub pdu: &'static str,
    pub request_id: i32,
    pub error_status: u32,
    pub error_index: u32,
    pub bindings: Vec<Binding>,
}

/// RFC 3416's error-status names.
const ERRORS: [&str; 19] = [
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
];

pub fn error_name(status: u32) -> String {
    ERRORS
        .get(status as usize)
        .map_or_else(|| format!("error {status}"), |n| n.to_string())
}

/// "1.3.6.1.2.1.1.5.0" (a leading dot allowed) → arcs.
pub fn parse_oid(text: &str) -> Result<ObjectIdentifier, String> {
    let bad = || format!("'{text}' is not an OID (numbers with dots, like 1.3.6.1.2.1.1.5.0)");
    let arcs: Vec<u32> = text
        .trim()
        .trim_start_matches('.')
        .split('.')
        .map(|a| a.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    ObjectIdentifier::new(arcs).ok_or_else(bad)
}

pub fn oid_text(oid: &ObjectIdentifier) -> String {
    oid.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

/// Whether `oid` lies under `root` (or is it).
pub fn is_under(oid: &str, root: &str) -> bool {
    oid == root
        || oid
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('.'))
}

pub fn request(
    op: Op,
    community: &[u8],
    request_id: i32,
    oids: &[&str],
) -> Result<Vec<u8>, String> {
    let bindings = oids
        .iter()
        .map(|o| {
            Ok(VarBind {
                name: parse_oid(o)?,
                value: VarBindValue::Unspecified,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let pdu = Pdu {
        request_id,
        error_status: 0,
        error_index: 0,
        variable_bindings: bindings,
    };
    let data = match op {
        Op::Get => Pdus::GetRequest(GetRequest(pdu)),
        Op::GetNext => Pdus::GetNextRequest(GetNextRequest(pdu)),
    };
    let message = Message {
        version: Integer::from(1),
        community: OctetString::from_slice(community),
        data,
    };
    rasn::ber::encode(&message).map_err(|e| format!("cannot encode the SNMP request: {e}"))
}

fn int(v: &Integer) -> i128 {
    i128::try_from(v).unwrap_or(0)
}

fn text_or_bytes(b: &[u8]) -> Value {
    match std::str::from_utf8(b) {
        Ok(t) if !t.chars().any(|c| c.is_control() && !"\r\n\t".contains(c)) => {
            Value::Text(t.to_string())
        }
        _ => Value::Bytes(b.to_vec()),
    }
}

fn binding(vb: &VarBind) -> Binding {
    let (kind, value) = match &vb.value {
        VarBindValue::Unspecified => ("NULL", Value::None),
        VarBindValue::NoSuchObject => ("noSuchObject", Value::None),
        VarBindValue::NoSuchInstance => ("noSuchInstance", Value::None),
        VarBindValue::EndOfMibView => ("endOfMibView", Value::None),
        VarBindValue::Value(ObjectSyntax::Simple(s)) => match s {
            SimpleSyntax::Integer(i) => ("INTEGER", Value::Int(int(i))),
            SimpleSyntax::String(b) => ("OCTET STRING", text_or_bytes(b)),
            SimpleSyntax::ObjectId(o) => ("OBJECT IDENTIFIER", Value::Text(oid_text(o))),
        },
        VarBindValue::Value(ObjectSyntax::ApplicationWide(a)) => match a {
            ApplicationSyntax::Address(ip) => {
                let o = &ip.0;
                (
                    "IpAddress",
                    Value::Text(format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])),
                )
            }
            ApplicationSyntax::Counter(c) => ("Counter32", Value::Int(c.0.into())),
            ApplicationSyntax::Unsigned(g) => ("Gauge32", Value::Int(g.0.into())),
            ApplicationSyntax::Ticks(t) => ("TimeTicks", Value::Int(t.0.into())),
            ApplicationSyntax::Arbitrary(o) => ("Opaque", Value::Bytes(o.as_ref().to_vec())),
            ApplicationSyntax::BigCounter(c) => ("Counter64", Value::Int(c.0.into())),
        },
    };
    Binding {
        oid: oid_text(&vb.name),
        kind,
        value,
    }
}

pub fn parse(b: &[u8]) -> Result<Response, String> {
    let m: Message<Pdus> =
        rasn::ber::decode(b).map_err(|e| format!("not an SNMP v2c message: {e}"))?;
    let (pdu, name) = match &m.data {
        Pdus::Response(r) => (&r.0, "Response"),
        Pdus::GetRequest(r) => (&r.0, "GetRequest"),
        Pdus::GetNextRequest(r) => (&r.0, "GetNextRequest"),
        Pdus::SetRequest(r) => (&r.0, "SetRequest"),
        Pdus::InformRequest(r) => (&r.0, "InformRequest"),
        Pdus::Trap(r) => (&r.0, "SNMPv2-Trap"),
        Pdus::Report(r) => (&r.0, "Report"),
        Pdus::GetBulkRequest(_) => return Err("a GetBulkRequest is not read here".into()),
    };
    Ok(Response {
        version: i64::try_from(&m.version).unwrap_or(-1),
        community: m.community.to_vec(),
        pdu: name,
        request_id: pdu.request_id,
        error_status: pdu.error_status,
        error_index: pdu.error_index,
        bindings: pdu.variable_bindings.iter().map(binding).collect(),
    })
}

#[cfg(test)]
#[path = "snmp_tests.rs"]
mod tests;
