//! The library's hashers for JS: whole-buffer hashing (`Hasher`) and the FASTQ ETag pipeline
//! (`FastqEtagHasher`). Portals use them to check a file before or after an upload (e.g. in
//! their own Web Worker); the benchmark measures them against other implementations.

use js_sys::{Object, Reflect};
use md5::Md5;
use sha2::{Digest, Sha256, Sha512};
use wasm_bindgen::prelude::*;

use super::js_error::to_js;
use crate::error::Error;
use crate::etag::{EtagFamily, FastqEtag};
use crate::hash::to_hex;

enum Any {
    Md5(Md5),
    Sha256(Sha256),
    Sha512(Sha512),
}

/// An incremental hash: `new Hasher("MD5" | "SHA-256" | "SHA-512")`, then `update(bytes)` any
/// number of times, then `digestHex()` once.
#[wasm_bindgen]
pub struct Hasher {
    inner: Option<Any>,
}

#[wasm_bindgen]
impl Hasher {
    /// A hasher for `algorithm` (`"MD5"`, `"SHA-256"` or `"SHA-512"`, as WebCrypto names them).
    #[wasm_bindgen(constructor)]
    pub fn new(algorithm: &str) -> Result<Hasher, JsValue> {
        let inner = match algorithm {
            "MD5" => Any::Md5(Md5::new()),
            "SHA-256" => Any::Sha256(Sha256::new()),
            "SHA-512" => Any::Sha512(Sha512::new()),
            other => {
                return Err(to_js(&Error::invalid_input(format!(
                    "unknown hash algorithm {other:?}: use \"MD5\", \"SHA-256\" or \"SHA-512\""
                ))))
            }
        };
        Ok(Hasher { inner: Some(inner) })
    }

    /// Feeds more bytes (a `Uint8Array`; copied into wasm memory by the binding).
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        match self.inner.as_mut().ok_or_else(finished)? {
            Any::Md5(h) => h.update(bytes),
            Any::Sha256(h) => h.update(bytes),
            Any::Sha512(h) => h.update(bytes),
        }
        Ok(())
    }

    /// The digest as lowercase hex; the hasher cannot be fed afterwards.
    #[wasm_bindgen(js_name = digestHex)]
    pub fn digest_hex(&mut self) -> Result<String, JsValue> {
        Ok(match self.inner.take().ok_or_else(finished)? {
            Any::Md5(h) => to_hex(&h.finalize()),
            Any::Sha256(h) => to_hex(&h.finalize()),
            Any::Sha512(h) => to_hex(&h.finalize()),
        })
    }
}

fn finished() -> JsValue {
    to_js(&Error::invalid_input("this hasher already returned its digest; create a new one"))
}

/// The ETag of a gzipped FASTQ as a HealthOmics store computes it:
/// `new FastqEtagHasher("MD5up" | "SHA256up" | "SHA512up")`, `update(compressedBytes)` in file
/// order, then `finish()` -> `{ algorithm, hex, uncompressedBytes }`.
#[wasm_bindgen]
pub struct FastqEtagHasher {
    inner: Option<FastqEtag>,
}

#[wasm_bindgen]
impl FastqEtagHasher {
    /// A pipeline for the store's `eTagAlgorithmFamily` (`"MD5up"`, `"SHA256up"`, `"SHA512up"`).
    #[wasm_bindgen(constructor)]
    pub fn new(family: &str) -> Result<FastqEtagHasher, JsValue> {
        let family = EtagFamily::from_store(Some(family)).ok_or_else(|| {
            to_js(&Error::invalid_input(format!(
                "unknown ETag algorithm family {family:?}: use \"MD5up\", \"SHA256up\" or \"SHA512up\""
            )))
        })?;
        Ok(FastqEtagHasher { inner: Some(FastqEtag::new(family)) })
    }

    /// Feeds the next compressed bytes of the file. Rejects data that is not gzip.
    pub fn update(&mut self, compressed: &[u8]) -> Result<(), JsValue> {
        let inner = self.inner.as_mut().ok_or_else(finished)?;
        inner.update(compressed).map_err(|e| to_js(&e))
    }

    /// Ends the stream: `{ algorithm: "FASTQ_MD5up", hex, uncompressedBytes }`. Rejects a
    /// truncated gzip stream.
    #[wasm_bindgen(unchecked_return_type = "{ algorithm: string; hex: string; uncompressedBytes: number }")]
    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        let etag = self.inner.take().ok_or_else(finished)?.finish().map_err(|e| to_js(&e))?;
        let out = Object::new();
        let _ = Reflect::set(&out, &"algorithm".into(), &etag.algorithm.into());
        let _ = Reflect::set(&out, &"hex".into(), &etag.hex.into());
        let _ = Reflect::set(&out, &"uncompressedBytes".into(), &(etag.uncompressed_bytes as f64).into());
        Ok(out.into())
    }
}
