//! How a reply is paired with its request (`pair`): by a DNS id, a CoAP message id and
//! token, a STUN transaction id — each written fresh into every request's copy, so one
//! constant request can be sent a million times and still be paired — by a byte range that
//! request and reply share, or by order (the oldest unanswered request of the socket).
//!
//! What is written: a DNS id and a CoAP message id are the request's number on its client
//! socket (`k`, 16 bits: 65,536 in flight per socket); a CoAP token holds the low bytes of the
//! request's index in the whole run (`i`); a STUN transaction id is a tag of this process and
//! `i`; a byte range of a constant request holds the low bytes of `i` (big-endian). So a peer
//! or a capture shows which request of the schedule each one is.

use crate::replay::{ByteRange, parse_ignore};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pairing {
    /// The oldest unanswered request of the client socket the reply came to.
    Order,
    Dns,
    Coap,
    Stun,
    /// These bytes (`start..end`) of request and reply are equal.
    Bytes {
        start: usize,
        end: usize,
    },
}

/// What a request is numbered with.
#[derive(Clone, Copy, Debug)]
pub struct Stamp {
    /// Its number on its client socket.
    pub k: u64,
    /// Its index in the whole run.
    pub i: u64,
    /// This process's tag (STUN).
    pub tag: u32,
}

/// What a reply says about which request it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'a> {
    /// Pair by order.
    Oldest,
    /// The low 16 bits of `k` on the socket it came to.
    Client16(u16),
    /// The low `bits` bits of `i` (64: all of it).
    Global { value: u64, bits: u32 },
    /// Request bytes to look up (a range of requests that vary).
    Bytes(&'a [u8]),
    /// Not a reply (a CoAP empty ACK: the response comes apart).
    Ignore,
    /// Too short or foreign: answers no request of ours.
    Unknown,
}

const DNS_HEADER: usize = 12;
const STUN_HEADER: usize = 20;
const STUN_MAGIC: [u8; 4] = 0x2112_A442u32.to_be_bytes();
/// Widest range whose value a constant request is stamped with (a u64).
const STAMP_MAX: usize = 8;

impl Pairing {
    /// `order`, `dns`, `coap`, `stun`, `bytes:A-B` (inclusive, as `--ignore-bytes 0-1`).
    pub fn parse(text: &str) -> Result<Pairing, String> {
        match text.trim() {
            "order" => Ok(Pairing::Order),
            "dns" => Ok(Pairing::Dns),
            "coap" => Ok(Pairing::Coap),
            "stun" => Ok(Pairing::Stun),
            other => {
                let range = other.strip_prefix("bytes:").ok_or_else(|| {
                    format!("'{other}' is not a pairing: dns, coap, stun, bytes:A-B or order")
                })?;
                Pairing::bytes(parse_ignore(range)?)
            }
        }
    }

    /// A closed byte range (`8-` has no end, so it names no fixed bytes).
    pub fn bytes(range: ByteRange) -> Result<Pairing, String> {
        match range.end {
            Some(end) if end > range.start => Ok(Pairing::Bytes {
                start: range.start,
                end,
            }),
            _ => Err(format!(
                "bytes:{range}: give both ends of the range, e.g. bytes:0-3"
            )),
        }
    }

    /// Whether requests are stamped per client socket (16-bit ids): then at most 65,536 of
    /// one socket may be in flight.
    pub fn per_client_ids(&self) -> bool {
        matches!(self, Pairing::Dns | Pairing::Coap)
    }

    /// How many whole-run indexes a constant request's range tells apart (`None`: all).
    pub fn global_span(&self, constant: bool) -> Option<u64> {
        match self {
            Pairing::Bytes { start, end } if constant && end - start < STAMP_MAX => {
                Some(1u64 << (8 * (end - start)))
            }
            _ => None,
        }
    }

    /// Writes the request's number into it; says why when the request cannot hold it.
    /// `constant`: every request is the same blob (a byte range is then stamped too).
    pub fn stamp(&self, req: &mut [u8], s: Stamp, constant: bool) -> Result<(), String> {
        match self {
            Pairing::Order => Ok(()),
            Pairing::Dns => {
                if req.len() < DNS_HEADER {
                    return Err(format!(
                        "pair dns: a request of {} bytes is no DNS message (its header has 12)",
                        req.len()
                    ));
                }
                req[0..2].copy_from_slice(&(s.k as u16).to_be_bytes());
                Ok(())
            }
            Pairing::Coap => {
                let tkl = coap_token_len(req).ok_or_else(|| {
                    "pair coap: the request is no CoAP message (version 1, token of 0–8 bytes)"
                        .to_string()
                })?;
                req[2..4].copy_from_slice(&(s.k as u16).to_be_bytes());
                let token = s.i.to_be_bytes();
                req[4..4 + tkl].copy_from_slice(&token[8 - tkl..]);
                Ok(())
            }
            Pairing::Stun => {
                if req.len() < STUN_HEADER || req[4..8] != STUN_MAGIC {
                    return Err(
                        "pair stun: the request is no STUN message (20-byte header with the magic cookie)"
                            .into(),
                    );
                }
                req[8..12].copy_from_slice(&s.tag.to_be_bytes());
                req[12..20].copy_from_slice(&s.i.to_be_bytes());
                Ok(())
            }
            Pairing::Bytes { start, end } => {
                if req.len() < *end {
                    return Err(format!(
                        "pair bytes:{}-{}: a request of {} bytes has no byte {}",
                        start,
                        end - 1,
                        req.len(),
                        end - 1
                    ));
                }
                if constant {
                    let width = (end - start).min(STAMP_MAX);
                    let value = s.i.to_be_bytes();
                    req[*start..*end].fill(0);
                    req[end - width..*end].copy_from_slice(&value[STAMP_MAX - width..]);
                }
                Ok(())
            }
        }
    }

    /// Which request `reply` answers, as far as its bytes tell. `constant` as for `stamp`.
    pub fn key<'a>(&self, reply: &'a [u8], tag: u32, constant: bool) -> Key<'a> {
        match self {
            Pairing::Order => Key::Oldest,
            Pairing::Dns if reply.len() >= DNS_HEADER => {
                Key::Client16(u16::from_be_bytes([reply[0], reply[1]]))
            }
            Pairing::Coap => match coap_token_len(reply) {
                // An empty ACK (code 0.00) only says the response will come apart.
                Some(_) if reply[1] == 0 && reply[0] >> 4 & 3 == 2 => Key::Ignore,
                Some(_) => Key::Client16(u16::from_be_bytes([reply[2], reply[3]])),
                None => Key::Unknown,
            },
            Pairing::Stun
                if reply.len() >= STUN_HEADER
                    && reply[4..8] == STUN_MAGIC
                    && reply[8..12] == tag.to_be_bytes() =>
            {
                Key::Global {
                    value: u64::from_be_bytes(reply[12..20].try_into().unwrap_or_default()),
                    bits: 64,
                }
            }
            Pairing::Bytes { start, end } if reply.len() >= *end => {
                let range = &reply[*start..*end];
                if !constant {
                    return Key::Bytes(range);
                }
                let width = (end - start).min(STAMP_MAX);
                let mut value = [0u8; STAMP_MAX];
                value[STAMP_MAX - width..].copy_from_slice(&range[range.len() - width..]);
                Key::Global {
                    value: u64::from_be_bytes(value),
                    bits: (8 * width) as u32,
                }
            }
            _ => Key::Unknown,
        }
    }

    /// Whether `reply`, paired by its key with the request of index `i`, carries the rest of
    /// what that request was stamped with (a CoAP token).
    pub fn confirms(&self, reply: &[u8], i: u64) -> bool {
        match (self, coap_token_len(reply)) {
            (Pairing::Coap, Some(tkl)) => {
                let token = i.to_be_bytes();
                reply[4..4 + tkl] == token[8 - tkl..]
            }
            _ => true,
        }
    }
}

impl std::fmt::Display for Pairing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pairing::Order => f.write_str("order"),
            Pairing::Dns => f.write_str("dns"),
            Pairing::Coap => f.write_str("coap"),
            Pairing::Stun => f.write_str("stun"),
            Pairing::Bytes { start, end } => write!(f, "bytes:{}-{}", start, end - 1),
        }
    }
}

/// The token length of a CoAP message (version 1, TKL ≤ 8, the token present).
fn coap_token_len(b: &[u8]) -> Option<usize> {
    let first = *b.first()?;
    let tkl = usize::from(first & 0x0f);
    (first >> 6 == 1 && tkl <= 8 && b.len() >= 4 + tkl).then_some(tkl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::{coap, dns, stun};

    fn stamp(k: u64, i: u64) -> Stamp {
        Stamp { k, i, tag: 0xfeed }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(Pairing::parse("dns"), Ok(Pairing::Dns));
        assert_eq!(
            Pairing::parse("bytes:0-3"),
            Ok(Pairing::Bytes { start: 0, end: 4 })
        );
        assert_eq!(
            Pairing::parse("bytes:6"),
            Ok(Pairing::Bytes { start: 6, end: 7 })
        );
        assert_eq!(
            Pairing::parse("bytes:0-3").unwrap().to_string(),
            "bytes:0-3"
        );
        assert!(
            Pairing::parse("bytes:8-")
                .unwrap_err()
                .contains("both ends")
        );
        assert!(
            Pairing::parse("match")
                .unwrap_err()
                .contains("not a pairing")
        );
    }

    #[test]
    fn a_dns_query_gets_a_fresh_id_per_socket_number() {
        let q = dns::query(0x1234, "a.test", "A", None).unwrap();
        let mut copy = q.clone();
        Pairing::Dns
            .stamp(&mut copy, stamp(70_000, 9), false)
            .unwrap();
        assert_eq!(&copy[0..2], &(70_000u64 as u16).to_be_bytes());
        assert_eq!(copy[2..], q[2..], "only the id changes");
        assert_eq!(
            Pairing::Dns.key(&copy, 0, false),
            Key::Client16(70_000u64 as u16)
        );
        assert!(Pairing::Dns.stamp(&mut [0; 5], stamp(1, 1), false).is_err());
    }

    #[test]
    fn coap_gets_message_id_and_token_and_empty_acks_are_no_reply() {
        let mut req = coap::request("GET", "/x", 7, &[1, 2, 3, 4], b"").unwrap();
        Pairing::Coap
            .stamp(&mut req, stamp(300, 0x0a0b0c0d0e), false)
            .unwrap();
        let msg = coap::parse(&req).unwrap();
        assert_eq!((msg.mid, msg.token), (300, vec![0x0b, 0x0c, 0x0d, 0x0e]));
        assert!(Pairing::Coap.confirms(&req, 0x0a0b0c0d0e));
        assert!(!Pairing::Coap.confirms(&req, 0x0a0b0c0d0f));
        assert_eq!(Pairing::Coap.key(&req, 0, false), Key::Client16(300));
        assert_eq!(
            Pairing::Coap.key(&coap::empty_ack(300), 0, false),
            Key::Ignore
        );
    }

    #[test]
    fn stun_transaction_holds_tag_and_index() {
        let mut req = stun::binding([0; 12]);
        Pairing::Stun.stamp(&mut req, stamp(1, 77), false).unwrap();
        assert_eq!(
            Pairing::Stun.key(&req, 0xfeed, false),
            Key::Global {
                value: 77,
                bits: 64
            }
        );
        // another process's (or a stray) transaction answers none of ours
        assert_eq!(Pairing::Stun.key(&req, 0xbeef, false), Key::Unknown);
    }

    #[test]
    fn a_constant_request_has_its_index_in_the_range() {
        let pair = Pairing::Bytes { start: 2, end: 4 };
        let mut req = b"ab--cd".to_vec();
        pair.stamp(&mut req, stamp(0, 0x10203), true).unwrap();
        assert_eq!(&req, b"ab\x02\x03cd");
        assert_eq!(
            pair.key(&req, 0, true),
            Key::Global {
                value: 0x203,
                bits: 16
            }
        );
        assert_eq!(pair.global_span(true), Some(65_536));
        // requests that vary are looked up by their bytes, unchanged
        let mut varied = b"ab--cd".to_vec();
        pair.stamp(&mut varied, stamp(0, 5), false).unwrap();
        assert_eq!(&varied, b"ab--cd");
        assert_eq!(pair.key(&varied, 0, false), Key::Bytes(b"--"));
        assert!(
            pair.stamp(&mut [0; 3], stamp(0, 0), true)
                .unwrap_err()
                .contains("no byte 3")
        );
    }
}
