//! The hashes and HMACs that scripts (`md5`, `sha1`, `sha256`, `hmac`) and the wire formats
//! (RADIUS authenticators) use: RustCrypto's md-5, sha1, sha2 and hmac, nothing hand-written.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Md5,
    Sha1,
    Sha256,
}

impl Alg {
    pub const NAMES: &str = "\"md5\", \"sha1\" or \"sha256\"";

    /// "md5", "sha1", "sha256" (any case, "sha-256" too).
    pub fn from_name(name: &str) -> Option<Alg> {
        match name.to_ascii_lowercase().replace('-', "").as_str() {
            "md5" => Some(Alg::Md5),
            "sha1" => Some(Alg::Sha1),
            "sha256" => Some(Alg::Sha256),
            _ => None,
        }
    }
}

pub fn digest(alg: Alg, data: &[u8]) -> Vec<u8> {
    match alg {
        Alg::Md5 => Md5::digest(data).to_vec(),
        Alg::Sha1 => Sha1::digest(data).to_vec(),
        Alg::Sha256 => Sha256::digest(data).to_vec(),
    }
}

/// MD5 of several pieces, as RADIUS joins code, id, length, authenticator, attributes and
/// secret.
pub fn md5_of(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC (RFC 2104); a key of any length is taken, as the RFC says.
pub fn hmac(alg: Alg, key: &[u8], data: &[u8]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
        // Infallible: HMAC takes keys of every length (longer ones are hashed first).
        let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
            return Vec::new();
        };
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
    match alg {
        Alg::Md5 => run::<Hmac<Md5>>(key, data),
        Alg::Sha1 => run::<Hmac<Sha1>>(key, data),
        Alg::Sha256 => run::<Hmac<Sha256>>(key, data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn digests_match_the_published_vectors() {
        assert_eq!(
            hex(&digest(Alg::Md5, b"")),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            hex(&digest(Alg::Sha1, b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&digest(Alg::Sha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(md5_of(&[b"a", b"bc"]).to_vec(), digest(Alg::Md5, b"abc"));
    }

    #[test]
    fn hmac_matches_rfc_2202_and_4231() {
        // RFC 2202 test case 2, RFC 4231 test case 2.
        assert_eq!(
            hex(&hmac(Alg::Md5, b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        assert_eq!(
            hex(&hmac(Alg::Sha1, b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex(&hmac(Alg::Sha256, b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // A key longer than the block is hashed first (RFC 2202 test case 6).
        assert_eq!(
            hex(&hmac(
                Alg::Md5,
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        );
        assert_eq!(Alg::from_name("SHA-256"), Some(Alg::Sha256));
        assert_eq!(Alg::from_name("crc"), None);
    }
}
