//! The library's hashers for JS: whole-buffer hashing (`Hasher`), the FASTQ ETag pipeline
//! (`FastqEtagHasher`), and `hashBlob`, which hashes a `Blob` in the worker pool. Portals use them to check a file before or after an upload (e.g. in
//! their own Web Worker); the benchmark measures them against other implementations.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use std::rc::Rc;

use super::control::Control;
use super::js_error::to_js;
use super::pool::{self, HashError, JobSpec};
use crate::error::Error;
use crate::etag::{EtagFamily, FastqEtag};
use crate::hash::{Algorithm, AnyHasher};
use crate::kernel::Kind;

/// An incremental hash: `new Hasher("MD5" | "SHA-256" | "SHA-512")`, then `update(bytes)` any
/// number of times, then `digestHex()` once.
#[wasm_bindgen]
pub struct Hasher {
    inner: Option<AnyHasher>,
}

#[wasm_bindgen]
impl Hasher {
    /// A hasher for `algorithm` (`"MD5"`, `"SHA-256"` or `"SHA-512"`, as WebCrypto names them).
    #[wasm_bindgen(constructor)]
    pub fn new(algorithm: &str) -> Result<Hasher, JsValue> {
        let inner = match algorithm {
            "MD5" => AnyHasher::new(Algorithm::Md5),
            "SHA-256" => AnyHasher::new(Algorithm::Sha256),
            "SHA-512" => AnyHasher::new(Algorithm::Sha512),
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
        self.inner.as_mut().ok_or_else(finished)?.update(bytes);
        Ok(())
    }

    /// The digest as lowercase hex; the hasher cannot be fed afterwards.
    #[wasm_bindgen(js_name = digestHex)]
    pub fn digest_hex(&mut self) -> Result<String, JsValue> {
        Ok(self.inner.take().ok_or_else(finished)?.finish_hex())
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

#[wasm_bindgen]
extern "C" {
    /// `HashBlobOptions` (TypeScript).
    #[wasm_bindgen(typescript_type = "HashBlobOptions")]
    pub type HashBlobOptionsArg;
}

/// Hashes a whole `Blob` / `File` off the main thread: `hashBlob(blob, algorithm, options?)`.
///
/// `algorithm` is `"MD5"`, `"SHA-256"`, `"SHA-512"`, or a FASTQ ETag (`"FASTQ_MD5up"`,
/// `"FASTQ_SHA256up"`, `"FASTQ_SHA512up"`: gunzip, then hash, as the store computes it).
/// The blob is read in `options.chunkSize` slices (default 4 MiB) by a worker of the upload
/// pool, so several calls run in parallel, one per core; `options.inWorker: false` (or a page
/// where workers cannot run) hashes on the main thread; `options.readStallMs` (default 3000)
/// abandons a worker read pending that long and restarts it at the same offset. Resolves to
/// `{ hex, inWorker, readRestarts, uncompressedBytes? }` (`uncompressedBytes` for FASTQ ETags); rejects with
/// `invalid_input` for an unknown algorithm, an unreadable blob or bad gzip.
#[wasm_bindgen(js_name = hashBlob, unchecked_return_type = "Promise<HashBlobResult>")]
pub fn hash_blob(
    blob: web_sys::Blob,
    #[wasm_bindgen(unchecked_param_type = "HashAlgorithm")] algorithm: String,
    options: Option<HashBlobOptionsArg>,
) -> js_sys::Promise {
    let options: Option<Object> = options.map(JsCast::unchecked_into);
    let kind = match algorithm.as_str() {
        "MD5" => Some(Kind::Md5),
        "SHA-256" => Some(Kind::Sha256),
        "SHA-512" => Some(Kind::Sha512),
        "FASTQ_MD5up" => Some(Kind::FastqMd5),
        "FASTQ_SHA256up" => Some(Kind::FastqSha256),
        "FASTQ_SHA512up" => Some(Kind::FastqSha512),
        _ => None,
    };
    let opt = |k: &str| options.as_ref().and_then(|o| Reflect::get(o, &k.into()).ok()).filter(|v| !v.is_undefined());
    let chunk = opt("chunkSize").map(|v| v.as_f64().unwrap_or(-1.0));
    let in_worker = opt("inWorker").map(|v| v.as_bool());
    let stall = opt("readStallMs").map(|v| v.as_f64().unwrap_or(-1.0));
    // Undocumented test hook: every n-th worker read hangs until the stall watchdog cancels it.
    let simulate_stall_every = opt("_stallEveryNthRead").and_then(|v| v.as_f64()).map_or(0, |n| n.clamp(0.0, 1e9) as u32);
    // Undocumented test hook: read as engines without BYOB reads do (WebKit), in any engine.
    let no_byob = opt("_noByob").is_some_and(|v| v.is_truthy());
    // Undocumented benchmark hook: the largest blob WebCrypto hashes (0: always the wasm kernel).
    // The two hooks above test the streaming reader, so they turn WebCrypto off too.
    let default_one_shot = if no_byob || simulate_stall_every > 0 { 0 } else { pool::ONE_SHOT_MAX_BYTES };
    let one_shot_max = opt("_oneShotMaxBytes").and_then(|v| v.as_f64()).map_or(default_one_shot, |n| n.clamp(0.0, 1e15) as u64);
    wasm_bindgen_futures::future_to_promise(async move {
        let kind = kind.ok_or_else(|| {
            to_js(&Error::invalid_input(format!(
                "unknown algorithm {algorithm:?}: use \"MD5\", \"SHA-256\", \"SHA-512\", \"FASTQ_MD5up\", \"FASTQ_SHA256up\" or \"FASTQ_SHA512up\""
            )))
        })?;
        let chunk = match chunk {
            None => crate::blob::READ_CHUNK,
            Some(c) if (1024.0..=67_108_864.0).contains(&c) && c.fract() == 0.0 => c as u64,
            Some(c) => return Err(to_js(&Error::invalid_input(format!("`chunkSize` must be 1 KiB to 64 MiB (got {c})")))),
        };
        let use_workers = match in_worker {
            None => true,
            Some(Some(b)) => b,
            Some(None) => return Err(to_js(&Error::invalid_input("`inWorker` must be a boolean"))),
        };
        let read_stall_ms = match stall {
            None => pool::DEFAULT_READ_STALL_MS,
            Some(ms) if (1.0..=3_600_000.0).contains(&ms) && ms.fract() == 0.0 => ms as u32,
            Some(ms) => return Err(to_js(&Error::invalid_input(format!("`readStallMs` must be 1 to 3600000 (got {ms})")))),
        };
        let fastq = matches!(kind, Kind::FastqMd5 | Kind::FastqSha256 | Kind::FastqSha512);
        let job = JobSpec { kind, chunk, dedicated: fastq, use_workers, read_stall_ms, simulate_stall_every, no_byob, one_shot_max };
        let d = pool::hash_blob(&blob, &job, Rc::new(|_| {}), &Control::default()).await.map_err(|e| {
            to_js(&match e {
                HashError::Read { at, detail } => Error::invalid_input(format!("the blob could not be read at byte {at}: {detail}")),
                HashError::Input(m) => Error::invalid_input(m),
                HashError::Aborted => Error::aborted(),
            })
        })?;
        let (text, worker, web_crypto) = (d.text, d.in_worker, d.web_crypto);
        let out = Object::new();
        let (hex, bytes) = match text.split_once(' ') {
            Some((h, n)) => (h.to_string(), n.parse::<u64>().ok().map(|n| n as f64)),
            None => (text, None),
        };
        let _ = Reflect::set(&out, &"hex".into(), &hex.into());
        let _ = Reflect::set(&out, &"inWorker".into(), &worker.into());
        let _ = Reflect::set(&out, &"readRestarts".into(), &d.read_restarts.into());
        let _ = Reflect::set(&out, &"webCrypto".into(), &web_crypto.into());
        if let Some(n) = bytes {
            let _ = Reflect::set(&out, &"uncompressedBytes".into(), &n.into());
        }
        Ok(out.into())
    })
}
