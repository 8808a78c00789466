//! TFTP (RFC 1350) packets, octet mode: RRQ/WRQ, DATA, ACK, ERROR.

pub const BLOCK: usize = 512;

#[derive(Clone, Debug, PartialEq)]
pub enum Packet {
    Read { file: String, mode: String },
    Write { file: String, mode: String },
    Data { block: u16, data: Vec<u8> },
    Ack { block: u16 },
    Error { code: u16, message: String },
}

fn request(op: u16, file: &str) -> Result<Vec<u8>, String> {
    if file.is_empty() || file.contains('\0') {
        return Err(format!("'{file}' is not a TFTP file name"));
    }
    let mut out = op.to_be_bytes().to_vec();
    out.extend_from_slice(file.as_bytes());
    out.push(0);
    out.extend_from_slice(b"octet\0");
    Ok(out)
}

pub fn read_request(file: &str) -> Result<Vec<u8>, String> {
    request(1, file)
}

pub fn write_request(file: &str) -> Result<Vec<u8>, String> {
    request(2, file)
}

pub fn data(block: u16, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 3];
    out.extend_from_slice(&block.to_be_bytes());
    out.extend_from_slice(bytes);
    out
}

pub fn ack(block: u16) -> Vec<u8> {
    let mut out = vec![0, 4];
    out.extend_from_slice(&block.to_be_bytes());
    out
}

fn text(b: &[u8]) -> (String, &[u8]) {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    let rest = b.get(end + 1..).unwrap_or(&[]);
    (String::from_utf8_lossy(&b[..end]).into_owned(), rest)
}

pub fn parse(b: &[u8]) -> Result<Packet, String> {
    if b.len() < 4 && !(b.len() >= 2 && matches!(b[1], 1 | 2)) {
        return Err(format!(
            "a TFTP packet is at least 4 bytes, got {}",
            b.len()
        ));
    }
    let op = u16::from_be_bytes([b[0], b[1]]);
    let block = || u16::from_be_bytes([b[2], b[3]]);
    Ok(match op {
        1 | 2 => {
            let (file, rest) = text(&b[2..]);
            let (mode, _) = text(rest);
            if op == 1 {
                Packet::Read { file, mode }
            } else {
                Packet::Write { file, mode }
            }
        }
        3 => Packet::Data {
            block: block(),
            data: b[4..].to_vec(),
        },
        4 => Packet::Ack { block: block() },
        5 => Packet::Error {
            code: block(),
            message: text(&b[4..]).0,
        },
        op => return Err(format!("unknown TFTP opcode {op}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip() {
        assert_eq!(
            read_request("a.txt").unwrap(),
            b"\x00\x01a.txt\x00octet\x00"
        );
        assert_eq!(
            parse(&write_request("b").unwrap()).unwrap(),
            Packet::Write {
                file: "b".into(),
                mode: "octet".into()
            }
        );
        assert_eq!(
            parse(&data(7, b"xy")).unwrap(),
            Packet::Data {
                block: 7,
                data: b"xy".to_vec()
            }
        );
        assert_eq!(parse(&ack(9)).unwrap(), Packet::Ack { block: 9 });
        // in.tftpd's answer to a missing file.
        assert_eq!(
            parse(b"\x00\x05\x00\x01File not found\x00").unwrap(),
            Packet::Error {
                code: 1,
                message: "File not found".into()
            }
        );
        assert!(parse(b"\x00\x09\x00\x00").is_err());
        assert!(parse(b"\x00").is_err());
        assert!(read_request("").is_err());
    }
}
