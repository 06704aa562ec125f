//! The whole-source ETag of a gzipped FASTQ, as a HealthOmics store computes it.
//!
//! For `FASTQ_*up` the ETag is the hash of the uncompressed FASTQ (`zcat x.fastq.gz | md5sum`).
//! [`FastqEtag`] takes the compressed bytes in order, in chunks of any size, decompresses them
//! incrementally (every gzip member, as `zcat` does) and hashes the output with the store's
//! family: MD5, SHA-256 or SHA-512. Memory stays at the decoder's window plus one output buffer.

use crate::error::Error;
use crate::gzip::{GzError, Gunzip, STEP};
use crate::hash::{Algorithm, AnyHasher};

/// A store's ETag algorithm family (`eTagAlgorithmFamily` of `GetSequenceStore`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtagFamily {
    /// `MD5up`, the HealthOmics default.
    Md5,
    /// `SHA256up`.
    Sha256,
    /// `SHA512up`.
    Sha512,
}

impl EtagFamily {
    /// Reads the family name; an absent value means the default `MD5up`. Unknown names give `None`.
    pub fn from_store(value: Option<&str>) -> Option<Self> {
        match value.unwrap_or("MD5up") {
            "MD5up" => Some(EtagFamily::Md5),
            "SHA256up" => Some(EtagFamily::Sha256),
            "SHA512up" => Some(EtagFamily::Sha512),
            _ => None,
        }
    }

    /// The digest the family uses.
    pub fn algorithm(self) -> Algorithm {
        match self {
            EtagFamily::Md5 => Algorithm::Md5,
            EtagFamily::Sha256 => Algorithm::Sha256,
            EtagFamily::Sha512 => Algorithm::Sha512,
        }
    }

    /// The read set ETag `algorithm` for FASTQ in this family, e.g. `FASTQ_MD5up`.
    pub fn fastq_algorithm(self) -> &'static str {
        match self {
            EtagFamily::Md5 => "FASTQ_MD5up",
            EtagFamily::Sha256 => "FASTQ_SHA256up",
            EtagFamily::Sha512 => "FASTQ_SHA512up",
        }
    }
}

/// The finished ETag of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Etag {
    /// e.g. `FASTQ_MD5up`.
    pub algorithm: &'static str,
    /// Lowercase hex digest of the uncompressed FASTQ.
    pub hex: String,
    /// Bytes of uncompressed FASTQ hashed.
    pub uncompressed_bytes: u64,
}

/// Incremental ETag of one gzipped FASTQ source; feed it the file's bytes in order.
pub struct FastqEtag {
    family: EtagFamily,
    gz: Gunzip,
    hash: AnyHasher,
    /// Decompressed bytes hashed so far.
    bytes: u64,
    /// One step's decompressed output, hashed and cleared after each step (at most `STEP`).
    out: Vec<u8>,
    compressed_bytes: u64,
}

impl FastqEtag {
    /// A pipeline that has seen no bytes.
    pub fn new(family: EtagFamily) -> Self {
        let hash = AnyHasher::new(family.algorithm());
        FastqEtag { family, gz: Gunzip::new(), hash, bytes: 0, out: Vec::new(), compressed_bytes: 0 }
    }

    /// Compressed bytes fed so far.
    pub fn compressed_bytes(&self) -> u64 {
        self.compressed_bytes
    }

    /// Inflates and hashes `input` (empty: what the inflater still holds) until no step makes
    /// progress.
    fn pump(&mut self, mut input: &[u8]) -> Result<(), Error> {
        loop {
            let used = self.gz.feed(input, &mut self.out, STEP).map_err(|e| self.corrupt(e))?;
            let made = self.out.len();
            if made > 0 {
                self.hash.update(&self.out);
                self.bytes += made as u64;
                self.out.clear();
            }
            input = &input[used..];
            if used == 0 && made == 0 {
                return Ok(());
            }
        }
    }

    /// Feeds the next compressed bytes of the source. Fails when they are not gzip.
    pub fn update(&mut self, compressed: &[u8]) -> Result<(), Error> {
        self.pump(compressed)?;
        self.compressed_bytes += compressed.len() as u64;
        Ok(())
    }

    /// Ends the stream and returns the ETag. Fails when the gzip stream is empty or truncated.
    pub fn finish(mut self) -> Result<Etag, Error> {
        self.pump(&[])?;
        if !self.gz.at_boundary() {
            return Err(Error::invalid_input(format!(
                "the FASTQ is not valid gzip: it ends inside a gzip member, after {} compressed bytes (truncated?)",
                self.compressed_bytes
            )));
        }
        if self.gz.members() == 0 {
            return Err(Error::invalid_input("the FASTQ is not valid gzip: it holds no gzip member"));
        }
        Ok(Etag { algorithm: self.family.fastq_algorithm(), hex: self.hash.finish_hex(), uncompressed_bytes: self.bytes })
    }

    fn corrupt(&self, e: GzError) -> Error {
        let (at, what) = match e {
            GzError::NotGzip { member: 0, at } => (at, "it does not start with the gzip magic 1f 8b".to_string()),
            GzError::NotGzip { member, at } => (at, format!("gzip member {} does not start with the gzip magic 1f 8b", member + 1)),
            GzError::Corrupt { member, start, what } => (start, format!("{what} in gzip member {member}")),
        };
        Error::invalid_input(format!("the FASTQ is not valid gzip (FASTQ must be gzip-compressed) near compressed byte {at}: {what}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::to_hex;
    use flate2::write::GzEncoder;
    use std::io::Write;
    use md5::{Digest, Md5};
    use flate2::Compression;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn etag_in_chunks(family: EtagFamily, gz: &[u8], chunk: usize) -> Etag {
        let mut t = FastqEtag::new(family);
        for c in gz.chunks(chunk) {
            t.update(c).unwrap();
        }
        t.finish().unwrap()
    }

    const FASTQ: &[u8] = b"@r1\nACGT\n+\nIIII\n@r2\nTTGA\n+\nIIII\n";

    #[test]
    fn md5_etag_equals_md5_of_the_uncompressed_fastq() {
        let e = etag_in_chunks(EtagFamily::Md5, &gzip(FASTQ), 7);
        assert_eq!(e.algorithm, "FASTQ_MD5up");
        assert_eq!(e.hex, to_hex(&Md5::digest(FASTQ)));
        assert_eq!(e.uncompressed_bytes, FASTQ.len() as u64);
    }

    #[test]
    fn md5_of_known_text_matches_rfc_1321() {
        let e = etag_in_chunks(EtagFamily::Md5, &gzip(b"abc"), 1);
        assert_eq!(e.hex, "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn sha256_and_sha512_families_hash_the_uncompressed_bytes() {
        let gz = gzip(b"abc");
        assert_eq!(
            etag_in_chunks(EtagFamily::Sha256, &gz, 3).hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let e = etag_in_chunks(EtagFamily::Sha512, &gz, 5);
        assert_eq!(e.algorithm, "FASTQ_SHA512up");
        assert!(e.hex.starts_with("ddaf35a193617aba"), "{}", e.hex);
        assert_eq!(e.hex.len(), 128);
    }

    #[test]
    fn every_gzip_member_is_decompressed_whatever_the_chunk_boundaries() {
        // Three members, as bgzip or `cat a.gz b.gz` produce; large enough to span many chunks.
        let a: Vec<u8> = FASTQ.repeat(3000);
        let b: Vec<u8> = b"@x\nNNNN\n+\n####\n".repeat(2000);
        let mut gz = gzip(&a);
        gz.extend(gzip(&b));
        gz.extend(gzip(FASTQ));
        let whole: Vec<u8> = [a.as_slice(), b.as_slice(), FASTQ].concat();
        let want = to_hex(&Md5::digest(&whole));
        for chunk in [1, 13, 4096, gz.len()] {
            let e = etag_in_chunks(EtagFamily::Md5, &gz, chunk);
            assert_eq!(e.hex, want, "chunk size {chunk}");
            assert_eq!(e.uncompressed_bytes, whole.len() as u64);
        }
    }

    #[test]
    fn data_that_is_not_gzip_is_refused() {
        let mut t = FastqEtag::new(EtagFamily::Md5);
        let err = t.update(b"@r1\nACGT\n+\nIIII\n").unwrap_err();
        assert_eq!(err.code(), "invalid_input");
        assert!(err.message.contains("gzip"), "{}", err.message);
    }

    #[test]
    fn a_truncated_gzip_stream_is_refused_at_the_end() {
        let gz = gzip(&FASTQ.repeat(100));
        let mut t = FastqEtag::new(EtagFamily::Md5);
        t.update(&gz[..gz.len() - 10]).unwrap();
        assert_eq!(t.finish().unwrap_err().code(), "invalid_input");
    }

    /// What flate2's `MultiGzDecoder` (the decoder this pipeline used before its own gunzip)
    /// makes of `gz`: the MD5 of the output, or None when it refuses the stream.
    fn flate2_md5(gz: &[u8]) -> Option<String> {
        let mut d = flate2::write::MultiGzDecoder::new(Vec::new());
        d.write_all(gz).ok()?;
        d.try_finish().ok()?;
        Some(to_hex(&Md5::digest(d.finish().ok()?)))
    }

    fn our_md5(gz: &[u8], chunk: usize) -> Option<String> {
        let mut t = FastqEtag::new(EtagFamily::Md5);
        for c in gz.chunks(chunk.max(1)) {
            t.update(c).ok()?;
        }
        t.finish().ok().map(|e| e.hex)
    }

    #[test]
    fn accepts_and_refuses_exactly_what_flate2_does_truncated_or_damaged_anywhere() {
        let mut gz = gzip(&FASTQ.repeat(40));
        gz.extend(gzip(b"@x\nNNNN\n+\n####\n"));
        assert_eq!(our_md5(&gz, 7), flate2_md5(&gz));
        assert!(our_md5(&gz, 7).is_some());
        for cut in 0..gz.len() {
            assert_eq!(our_md5(&gz[..cut], 5), flate2_md5(&gz[..cut]), "cut at {cut}");
        }
        for at in 0..gz.len() {
            for flip in [0x01u8, 0x80] {
                let mut bad = gz.clone();
                bad[at] ^= flip;
                // A flipped bit in a header's optional fields may still be a valid stream: all
                // that matters is that both decoders agree.
                assert_eq!(our_md5(&bad, 11), flate2_md5(&bad), "bit {flip:#x} flipped at byte {at}");
            }
        }
    }

    #[test]
    fn a_damaged_member_is_refused_naming_where_it_starts() {
        let one = gzip(&FASTQ.repeat(10));
        let mut gz = one.clone();
        gz.extend(&one);
        let n = gz.len();
        gz[n - 6] ^= 0xff; // the second member's CRC-32
        let mut t = FastqEtag::new(EtagFamily::Md5);
        let e = t.update(&gz).and_then(|_| t.finish().map(|_| ())).unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        assert!(e.message.contains(&format!("near compressed byte {}: a CRC-32 mismatch in gzip member 2", one.len())), "{}", e.message);
        let mut t = FastqEtag::new(EtagFamily::Md5);
        t.update(&one).unwrap();
        let e = t.update(b"garbage").unwrap_err();
        assert!(e.message.contains("gzip member 2 does not start with the gzip magic"), "{}", e.message);
        let e = FastqEtag::new(EtagFamily::Md5).finish().unwrap_err();
        assert!(e.message.contains("no gzip member"), "{}", e.message);
    }

    #[test]
    fn store_families_map_to_algorithms_and_default_to_md5() {
        assert_eq!(EtagFamily::from_store(None), Some(EtagFamily::Md5));
        assert_eq!(EtagFamily::from_store(Some("SHA256up")).unwrap().fastq_algorithm(), "FASTQ_SHA256up");
        assert_eq!(EtagFamily::from_store(Some("CRC32")), None);
    }
}
