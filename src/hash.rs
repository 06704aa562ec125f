//! Hashers for part checksums (SHA-256) and read set ETags.

use md5::Md5;
use sha2::{Digest, Sha256, Sha512};

/// A digest algorithm chosen at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// MD5.
    Md5,
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

/// An incremental MD5, SHA-256 or SHA-512 (the one shape every hasher of the crate builds on:
/// the JS `Hasher`, the workers' kernel, the FASTQ ETag).
#[derive(Clone)]
pub enum AnyHasher {
    /// MD5 state.
    Md5(Md5),
    /// SHA-256 state.
    Sha256(Sha256),
    /// SHA-512 state.
    Sha512(Sha512),
}

impl AnyHasher {
    /// A hasher of `algorithm` that has seen no bytes.
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Md5 => AnyHasher::Md5(Md5::new()),
            Algorithm::Sha256 => AnyHasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => AnyHasher::Sha512(Sha512::new()),
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            AnyHasher::Md5(h) => h.update(bytes),
            AnyHasher::Sha256(h) => h.update(bytes),
            AnyHasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest as lowercase hex.
    pub fn finish_hex(self) -> String {
        match self {
            AnyHasher::Md5(h) => to_hex(&h.finalize()),
            AnyHasher::Sha256(h) => to_hex(&h.finalize()),
            AnyHasher::Sha512(h) => to_hex(&h.finalize()),
        }
    }
}

/// Incremental SHA-256, fed in chunks of any size.
#[derive(Default, Clone)]
pub struct Sha256Hasher(Sha256);

impl Sha256Hasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest as lowercase hex (the local store's part `checksum` format).
    pub fn finish_hex(self) -> String {
        to_hex(&self.0.finalize())
    }
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_in_uneven_chunks_matches_the_fips_vector() {
        let mut h = Sha256Hasher::new();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
