//! The hashing kernel that Web Workers run: plain `extern "C"` exports over the library's own
//! hashers, with no wasm-bindgen imports, so a worker can instantiate the package's
//! `WebAssembly.Module` on its own (its imports stubbed) and hash `Blob` slices off the main
//! thread. One wasm file serves both: no second module to ship, locate or keep in step.
//!
//! [`KernelHasher`] is the logic (plain Rust, tested natively); on wasm the `rsu_*` exports wrap
//! it with raw pointers. The worker protocol lives in `src/web/hash_worker.js`.

use crate::etag::{EtagFamily, FastqEtag};
use crate::hash::{Algorithm, AnyHasher};

/// What a kernel hasher computes; the numbers are the wire values of the worker protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// MD5 of the bytes.
    Md5 = 1,
    /// SHA-256 of the bytes (a part checksum).
    Sha256 = 2,
    /// SHA-512 of the bytes.
    Sha512 = 3,
    /// The FASTQ ETag, `MD5up` family (gunzip, then MD5).
    FastqMd5 = 11,
    /// The FASTQ ETag, `SHA256up` family.
    FastqSha256 = 12,
    /// The FASTQ ETag, `SHA512up` family.
    FastqSha512 = 13,
}

impl Kind {
    /// The kind with wire value `n`, if any.
    pub fn from_u32(n: u32) -> Option<Kind> {
        Some(match n {
            1 => Kind::Md5,
            2 => Kind::Sha256,
            3 => Kind::Sha512,
            11 => Kind::FastqMd5,
            12 => Kind::FastqSha256,
            13 => Kind::FastqSha512,
            _ => return None,
        })
    }

    /// The FASTQ ETag kind of a store's family.
    pub fn fastq(family: EtagFamily) -> Kind {
        match family {
            EtagFamily::Md5 => Kind::FastqMd5,
            EtagFamily::Sha256 => Kind::FastqSha256,
            EtagFamily::Sha512 => Kind::FastqSha512,
        }
    }
}

// The plain hashers stay inline (the common case, one per part); the ETag pipeline is boxed.
#[allow(clippy::large_enum_variant)]
enum State {
    Plain(AnyHasher),
    Fastq(Box<FastqEtag>),
    Failed(String),
}

/// One incremental hash in a worker: `update` in order, then `finish` once.
pub struct KernelHasher {
    state: State,
}

impl KernelHasher {
    /// A hasher of `kind` that has seen no bytes.
    pub fn new(kind: Kind) -> Self {
        let state = match kind {
            Kind::Md5 => State::Plain(AnyHasher::new(Algorithm::Md5)),
            Kind::Sha256 => State::Plain(AnyHasher::new(Algorithm::Sha256)),
            Kind::Sha512 => State::Plain(AnyHasher::new(Algorithm::Sha512)),
            Kind::FastqMd5 => State::Fastq(Box::new(FastqEtag::new(EtagFamily::Md5))),
            Kind::FastqSha256 => State::Fastq(Box::new(FastqEtag::new(EtagFamily::Sha256))),
            Kind::FastqSha512 => State::Fastq(Box::new(FastqEtag::new(EtagFamily::Sha512))),
        };
        KernelHasher { state }
    }

    /// Feeds the next bytes; `false` once the input was rejected (the reason comes from `finish`).
    pub fn update(&mut self, bytes: &[u8]) -> bool {
        match &mut self.state {
            State::Plain(h) => h.update(bytes),
            State::Fastq(e) => {
                if let Err(err) = e.update(bytes) {
                    self.state = State::Failed(err.message);
                }
            }
            State::Failed(_) => {}
        }
        !matches!(self.state, State::Failed(_))
    }

    /// `Ok(text)`: the lowercase hex digest, and for a FASTQ ETag `"<hex> <uncompressed bytes>"`;
    /// `Err(message)` when the input was rejected (not gzip, truncated).
    pub fn finish(self) -> Result<String, String> {
        match self.state {
            State::Plain(h) => Ok(h.finish_hex()),
            State::Fastq(e) => e.finish().map(|t| format!("{} {}", t.hex, t.uncompressed_bytes)).map_err(|e| e.message),
            State::Failed(m) => Err(m),
        }
    }
}

/// The raw exports a hash worker calls (wasm only). Pointers come from `rsu_alloc` and
/// `rsu_hasher_new` of the same instance; the worker frees what it allocates.
#[cfg(target_arch = "wasm32")]
mod exports {
    use super::{Kind, KernelHasher};

    /// Allocates `len` bytes of wasm memory for the worker's read buffer.
    #[no_mangle]
    pub extern "C" fn rsu_alloc(len: usize) -> *mut u8 {
        let mut v: Vec<u8> = Vec::with_capacity(len.max(1));
        let p = v.as_mut_ptr();
        std::mem::forget(v);
        p
    }

    /// Frees a buffer from `rsu_alloc(len)`.
    ///
    /// # Safety
    /// `ptr` and `len` must be exactly what `rsu_alloc` got and returned, freed once.
    #[no_mangle]
    pub unsafe extern "C" fn rsu_free(ptr: *mut u8, len: usize) {
        drop(Vec::from_raw_parts(ptr, 0, len.max(1)));
    }

    /// A new hasher of wire kind `kind`, or null for an unknown kind.
    #[no_mangle]
    pub extern "C" fn rsu_hasher_new(kind: u32) -> *mut KernelHasher {
        match Kind::from_u32(kind) {
            Some(k) => Box::into_raw(Box::new(KernelHasher::new(k))),
            None => std::ptr::null_mut(),
        }
    }

    /// Feeds `len` bytes at `ptr`; 1 if accepted, 0 if the input was rejected.
    ///
    /// # Safety
    /// `h` is a live hasher from `rsu_hasher_new`; `ptr..ptr+len` lies in wasm memory.
    #[no_mangle]
    pub unsafe extern "C" fn rsu_hasher_update(h: *mut KernelHasher, ptr: *const u8, len: usize) -> u32 {
        u32::from((*h).update(std::slice::from_raw_parts(ptr, len)))
    }

    /// Ends hasher `h` (freed here) and writes its UTF-8 result into `out` (at most `cap`
    /// bytes). Returns the length written: positive for a digest, negative for an error message.
    ///
    /// # Safety
    /// `h` is a live hasher from `rsu_hasher_new`, not used again; `out..out+cap` lies in wasm memory.
    #[no_mangle]
    pub unsafe extern "C" fn rsu_hasher_finish(h: *mut KernelHasher, out: *mut u8, cap: usize) -> i32 {
        let (text, ok) = match Box::from_raw(h).finish() {
            Ok(t) => (t, true),
            Err(m) => (m, false),
        };
        let n = text.len().min(cap);
        std::ptr::copy_nonoverlapping(text.as_ptr(), out, n);
        if ok {
            n as i32
        } else {
            -(n as i32)
        }
    }

    /// Drops hasher `h` without a result (a cancelled job).
    ///
    /// # Safety
    /// `h` is a live hasher from `rsu_hasher_new`, not used again.
    #[no_mangle]
    pub unsafe extern "C" fn rsu_hasher_drop(h: *mut KernelHasher) {
        drop(Box::from_raw(h));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::to_hex;
    use md5::{Digest, Md5};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn wire_kinds_round_trip_and_unknown_ones_are_refused() {
        for k in [Kind::Md5, Kind::Sha256, Kind::Sha512, Kind::FastqMd5, Kind::FastqSha256, Kind::FastqSha512] {
            assert_eq!(Kind::from_u32(k as u32), Some(k));
        }
        assert_eq!(Kind::from_u32(0), None);
        assert_eq!(Kind::from_u32(4), None);
    }

    #[test]
    fn digests_in_uneven_chunks_match_known_vectors() {
        let cases = [
            (Kind::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            (Kind::Sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (Kind::Sha512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        ];
        for (kind, want) in cases {
            let mut h = KernelHasher::new(kind);
            assert!(h.update(b"a"));
            assert!(h.update(b"bc"));
            assert_eq!(h.finish().unwrap(), want, "{kind:?}");
        }
    }

    #[test]
    fn fastq_etag_reports_hex_and_uncompressed_size() {
        let fastq = b"@r1\nACGT\n+\nIIII\n".repeat(1000);
        let gz = gzip(&fastq);
        let mut h = KernelHasher::new(Kind::fastq(EtagFamily::Md5));
        for chunk in gz.chunks(7) {
            assert!(h.update(chunk));
        }
        let mut md5 = Md5::new();
        md5.update(&fastq);
        assert_eq!(h.finish().unwrap(), format!("{} {}", to_hex(&md5.finalize()), fastq.len()));
    }

    #[test]
    fn non_gzip_input_is_rejected_with_the_reason_at_finish() {
        let mut h = KernelHasher::new(Kind::FastqSha256);
        assert!(!h.update(b"@r1\nACGT\n+\nIIII\n this is not gzip at all"));
        assert!(!h.update(b"more"), "a rejected hasher stays rejected");
        let err = h.finish().unwrap_err();
        assert!(err.contains("not valid gzip"), "{err}");
    }

    #[test]
    fn truncated_gzip_is_rejected_at_finish() {
        let gz = gzip(&b"@r1\nACGT\n+\nIIII\n".repeat(100));
        let mut h = KernelHasher::new(Kind::FastqMd5);
        assert!(h.update(&gz[..gz.len() / 2]));
        assert!(h.finish().unwrap_err().contains("gzip"));
    }
}
