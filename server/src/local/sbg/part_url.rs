//! Signed storage URLs: the part upload URLs and the file download URLs.
//!
//! A URL carries `expires` (unix seconds), a random `nonce` and `signature`, the hex
//! HMAC-SHA256 under the store's secret key of
//! `"{METHOD}\n{path}\n{expires}\n{nonce}"`, where the path names the upload and part number
//! (or the file). So a URL cannot be forged, moved to another part, upload or file, or
//! given a later expiry; the nonce makes every issued URL distinct, which lets the store
//! refuse a second use of the same part URL.

use std::io::Write;
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of the generated secret key, in bytes.
const KEY_LEN: usize = 32;

/// The query of a signed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Unix seconds after which the URL is refused.
    pub expires: i64,
    /// Random, per issued URL.
    pub nonce: String,
    /// Hex HMAC-SHA256.
    pub signature: String,
}

impl Signed {
    /// `expires=..&nonce=..&signature=..`
    pub fn query(&self) -> String {
        format!("expires={}&nonce={}&signature={}", self.expires, self.nonce, self.signature)
    }
}

/// Signs and verifies storage URLs with the store's secret key.
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { key: <redacted> }")
    }
}

/// The path a part URL is for (also what its signature covers).
pub fn part_path(upload_id: &str, part_number: u32) -> String {
    format!("/v2/_storage/parts/{upload_id}/{part_number}")
}

/// The path a download URL is for (also what its signature covers).
pub fn file_path(file_id: &str) -> String {
    format!("/v2/_storage/files/{file_id}")
}

impl Signer {
    /// A signer with the given key.
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    /// The key kept at `path` (hex), created with fresh random bytes the first time so URLs
    /// issued before a restart stay valid after it.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path) {
            let key = hex::decode(text.trim())
                .map_err(|e| anyhow::anyhow!("signing key {} is not hex ({e}); delete it to make a new one", path.display()))?;
            anyhow::ensure!(key.len() >= 16, "signing key {} is shorter than 16 bytes; delete it to make a new one", path.display());
            return Ok(Self::new(key));
        }
        let key = super::ids::random_bytes(KEY_LEN);
        let tmp = path.with_extension("tmp");
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            f.write_all(hex::encode(&key).as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(Self::new(key))
    }

    fn mac(&self, method: &str, path: &str, expires: i64, nonce: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(format!("{method}\n{path}\n{expires}\n{nonce}").as_bytes());
        mac
    }

    /// Signs `method path` until `expires` with a fresh nonce.
    pub fn sign(&self, method: &str, path: &str, expires: i64) -> Signed {
        let nonce = super::ids::nonce();
        let signature = hex::encode(self.mac(method, path, expires, &nonce).finalize().into_bytes());
        Signed { expires, nonce, signature }
    }

    /// True when `signed` was made by [`Signer::sign`] for exactly this method and path
    /// (compared in constant time). Expiry is checked by the caller, after this.
    pub fn verify(&self, method: &str, path: &str, signed: &Signed) -> bool {
        let Ok(given) = hex::decode(&signed.signature) else { return false };
        self.mac(method, path, signed.expires, &signed.nonce).verify_slice(&given).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    #[test]
    fn a_signature_verifies_only_for_its_own_part_method_and_expiry() {
        let s = signer();
        let p1 = part_path("abc", 1);
        let signed = s.sign("PUT", &p1, 1000);
        assert!(s.verify("PUT", &p1, &signed));
        assert!(!s.verify("PUT", &part_path("abc", 2), &signed), "moved to part 2");
        assert!(!s.verify("PUT", &part_path("abd", 1), &signed), "moved to another upload");
        assert!(!s.verify("GET", &p1, &signed), "other method");
        assert!(!s.verify("PUT", &p1, &Signed { expires: 2000, ..signed.clone() }), "later expiry");
        assert!(!s.verify("PUT", &p1, &Signed { nonce: "00".into(), ..signed.clone() }), "other nonce");
        assert!(!s.verify("PUT", &p1, &Signed { signature: "zz".into(), ..signed.clone() }), "not hex");
        assert!(!Signer::new(b"another key of 16+ bytes".to_vec()).verify("PUT", &p1, &signed), "other key");
    }

    #[test]
    fn every_issued_url_is_distinct() {
        let s = signer();
        let p = part_path("abc", 1);
        assert_ne!(s.sign("PUT", &p, 1000), s.sign("PUT", &p, 1000));
    }
}
