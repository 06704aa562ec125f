//! Read set ETags and sequence statistics.
//!
//! FASTQ: the family's digest (MD5 / SHA-256 / SHA-512, lowercase hex) of the decompressed
//! FASTQ of each source, multi-member gzip included, as HealthOmics documents; while hashing,
//! reads and bases are counted and the record structure is checked.
//! BAM, uBAM, CRAM: the family's digest of the uploaded file bytes as they are (the service
//! hashes the alignment records in SAM form; the local store does not decode BAM/CRAM).

use std::io::{self, BufReader, Read};

use flate2::read::MultiGzDecoder;
use md5::Md5;
use sha2::{Digest, Sha256, Sha512};

/// The hash of an ETag family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `MD5up`
    Md5,
    /// `SHA256up`
    Sha256,
    /// `SHA512up`
    Sha512,
}

impl Family {
    /// From the store's `eTagAlgorithmFamily`.
    pub fn parse(s: &str) -> Family {
        match s {
            "SHA256up" => Family::Sha256,
            "SHA512up" => Family::Sha512,
            _ => Family::Md5,
        }
    }

    /// The `etag.algorithm` value for a file type (`FASTQ_MD5up`, `BAM_SHA256up`, ...).
    /// uBAM reports the BAM algorithm (the reference lists no UBAM_ values).
    pub fn algorithm(self, file_type: &str) -> String {
        let prefix = match file_type {
            "FASTQ" => "FASTQ",
            "CRAM" => "CRAM",
            _ => "BAM",
        };
        let suffix = match self {
            Family::Md5 => "MD5up",
            Family::Sha256 => "SHA256up",
            Family::Sha512 => "SHA512up",
        };
        format!("{prefix}_{suffix}")
    }

    fn hasher(self) -> Hasher {
        match self {
            Family::Md5 => Hasher::Md5(Md5::new()),
            Family::Sha256 => Hasher::Sha256(Sha256::new()),
            Family::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }
}

enum Hasher {
    Md5(Md5),
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(b),
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }
    fn hex(self) -> String {
        match self {
            Hasher::Md5(h) => hex::encode(h.finalize()),
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}

/// What hashing one source gave.
#[derive(Debug, Clone, Default)]
pub struct SourceSummary {
    /// Hex digest.
    pub etag: String,
    /// FASTQ records (0 for BAM/CRAM).
    pub reads: u64,
    /// Bases in those records.
    pub bases: u64,
}

/// Why a source cannot become a read set; the text becomes the read set's `statusMessage`.
pub type ContentError = String;

/// Hashes one gzipped FASTQ source, counting records and bases. `label` (`SOURCE1`) names the
/// source in error messages.
pub fn fastq(input: impl Read, family: Family, label: &str) -> Result<SourceSummary, ContentError> {
    let mut input = BufReader::with_capacity(1 << 20, input);
    let mut magic = [0u8; 2];
    let got = read_full(&mut input, &mut magic).map_err(|e| format!("{label}: cannot read: {e}"))?;
    if got < 2 || magic != [0x1f, 0x8b] {
        return Err(format!("{label} is not gzip-compressed: FASTQ sources must be .fastq.gz"));
    }
    let mut decoder = MultiGzDecoder::new(io::Cursor::new(magic).chain(input));
    let mut hasher = family.hasher();
    let mut buf = vec![0u8; 1 << 20];
    let mut counter = FastqCounter::default();
    loop {
        let n = match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(format!("{label} is not valid gzip: {e}")),
        };
        hasher.update(&buf[..n]);
        counter.feed(&buf[..n]).map_err(|e| format!("{label} is not valid FASTQ: {e}"))?;
    }
    let (reads, bases) = counter.finish().map_err(|e| format!("{label} is not valid FASTQ: {e}"))?;
    Ok(SourceSummary { etag: hasher.hex(), reads, bases })
}

/// Hashes a BAM/uBAM/CRAM source as uploaded, after a check of its magic bytes
/// (BGZF gzip for BAM and uBAM, `CRAM` for CRAM).
pub fn alignment(input: impl Read, family: Family, file_type: &str, label: &str) -> Result<SourceSummary, ContentError> {
    let mut input = BufReader::with_capacity(1 << 20, input);
    let mut magic = [0u8; 4];
    let got = read_full(&mut input, &mut magic).map_err(|e| format!("{label}: cannot read: {e}"))?;
    let ok = match file_type {
        "CRAM" => got == 4 && &magic == b"CRAM",
        _ => got >= 2 && magic[..2] == [0x1f, 0x8b],
    };
    if !ok {
        return Err(format!("{label} is not a {file_type} file (unexpected leading bytes)"));
    }
    let mut hasher = family.hasher();
    hasher.update(&magic[..got]);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buf).map_err(|e| format!("{label}: cannot read: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(SourceSummary { etag: hasher.hex(), reads: 0, bases: 0 })
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Counts FASTQ records line by line across chunk boundaries.
#[derive(Default)]
struct FastqCounter {
    line: u64,
    line_len: u64,
    line_start: Option<u8>,
    bases: u64,
}

impl FastqCounter {
    fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        for &b in chunk {
            if b == b'\n' {
                self.end_line()?;
            } else {
                if self.line_start.is_none() {
                    self.line_start = Some(b);
                }
                if b != b'\r' {
                    self.line_len += 1;
                }
            }
        }
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), String> {
        let record = self.line / 4 + 1;
        match self.line % 4 {
            0 if self.line_start != Some(b'@') => return Err(format!("record {record} does not start with '@'")),
            1 => self.bases += self.line_len,
            2 if self.line_start != Some(b'+') => return Err(format!("record {record} has no '+' line")),
            _ => {}
        }
        self.line += 1;
        self.line_len = 0;
        self.line_start = None;
        Ok(())
    }

    fn finish(mut self) -> Result<(u64, u64), String> {
        if self.line_start.is_some() {
            self.end_line()?;
        }
        if self.line == 0 {
            return Err("it holds no records".into());
        }
        if self.line % 4 != 0 {
            return Err(format!("the last record ({}) is truncated", self.line / 4 + 1));
        }
        Ok((self.line / 4, self.bases))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gz(b: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn fastq_digest_is_of_the_decompressed_text_across_gzip_members() {
        let text = b"@r1\nACGT\n+\nIIII\n@r2\nAC\n+\nII\n";
        let mut two = gz(&text[..16]);
        two.extend(gz(&text[16..]));
        let s = fastq(&two[..], Family::Md5, "SOURCE1").unwrap();
        assert_eq!(s.etag, hex::encode(Md5::digest(text)));
        assert_eq!((s.reads, s.bases), (2, 6));
    }

    #[test]
    fn plain_text_fastq_is_refused_as_not_gzip() {
        let e = fastq(&b"@r1\nACGT\n+\nIIII\n"[..], Family::Md5, "SOURCE1").unwrap_err();
        assert!(e.contains("not gzip"), "{e}");
    }

    #[test]
    fn truncated_record_is_refused() {
        let e = fastq(&gz(b"@r1\nACGT\n+\n")[..], Family::Sha256, "SOURCE2").unwrap_err();
        assert!(e.contains("SOURCE2") && e.contains("truncated"), "{e}");
    }
}
