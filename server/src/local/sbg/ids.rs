//! Random identifiers: upload ids, file ids, URL nonces, the signing key.

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The OS generator failing means the machine cannot make secrets at all: nothing sensible
    // to fall back on.
    getrandom::fill(&mut buf).expect("operating system random number generator failed");
    buf
}

/// A new upload id: 64 lowercase hex characters (the platform's are 64 characters too).
pub fn upload_id() -> String {
    hex::encode(random_bytes(32))
}

/// A new file id: 24 lowercase hex characters, the platform's file id form.
pub fn file_id() -> String {
    hex::encode(random_bytes(12))
}

/// A nonce that makes every issued URL unique: 16 hex characters.
pub fn nonce() -> String {
    hex::encode(random_bytes(8))
}

/// True when `s` looks like an id made here (lowercase hex of the given length), so it is
/// safe to use in a file name.
pub fn is_hex_id(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
