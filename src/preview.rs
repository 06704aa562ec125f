//! Previews of a stored read set: the first reads of a FASTQ, the header of a BAM, uBAM or CRAM.
//!
//! The viewer fetches the start of a read set (one ranged `GetReadSet` part, streamed) and pushes
//! the bytes into one of these parsers as they arrive, in chunks of any size:
//!
//! - [`FastqPreview`]: gzip (every member, as bgzip and pigz write them) or plain FASTQ; keeps
//!   the first `max_reads` records and says when it has them, so the caller stops reading.
//! - [`BamHeaderReader`]: the BAM / uBAM header (BGZF): `@HD`, `@SQ` count, `@RG`, `@PG`, `@CO`.
//! - [`CramHeaderReader`]: the CRAM 2.1 / 3.x file definition and the SAM header of its header
//!   container, when that block is stored raw or gzip.
//!
//! Each parser inflates only what it needs, holds at most one line (FASTQ) or one header
//! ([`MAX_HEADER_TEXT`]) plus a decompression window, never panics on any input, and turns bad or
//! truncated data into a [`PreviewError`] that says what is wrong and where.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::gzip::{Crc32, GzError, Gunzip, STEP};

/// The longest FASTQ line accepted (1 MiB); a longer one is refused as not FASTQ.
pub const MAX_FASTQ_LINE: usize = 1 << 20;
/// The largest SAM header text accepted in a BAM or CRAM header (64 MiB).
pub const MAX_HEADER_TEXT: usize = 64 << 20;
/// The most references (`n_ref`) accepted in a BAM header.
pub const MAX_REFERENCES: usize = 100_000_000;


/// What went wrong, for callers that branch on it (the message says it for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviewErrorKind {
    /// The data is not FASTQ (or not gzip-compressed FASTQ).
    NotFastq,
    /// The data is not a BAM file.
    NotBam,
    /// The data is not a CRAM file.
    NotCram,
    /// The compressed data is damaged (bad deflate data, CRC or length mismatch, bad CRAM CRC).
    Corrupt,
    /// The data ended before what the preview needs (inside a read, a gzip member or the header).
    Truncated,
    /// A size in the data is beyond the preview's limits (a line, the header text, `n_ref`).
    TooLarge,
    /// Valid data this preview does not decode (a CRAM header compressed with rANS, ...).
    Unsupported,
}

/// A preview failure: a kind and a sentence a scientist can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewError {
    /// What went wrong.
    pub kind: PreviewErrorKind,
    /// What went wrong and where, e.g. "the data ended inside read 3 (after 812 compressed bytes)".
    pub message: String,
}

impl PreviewError {
    fn new(kind: PreviewErrorKind, message: impl Into<String>) -> Self {
        PreviewError { kind, message: message.into() }
    }
}

impl fmt::Display for PreviewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PreviewError {}

/// Preview failures reach JS as `protocol` errors: the store returned data this library cannot
/// read as the read set's file type (the store itself accepted it, so it is not an input check).
impl From<PreviewError> for Error {
    fn from(e: PreviewError) -> Self {
        Error::new(ErrorKind::Protocol, e.message)
    }
}

// ---------------------------------------------------------------------------------------------
// FASTQ

/// One FASTQ record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FastqRead {
    /// The header line without its `@`, comment included (e.g. `M0:1:FC:1:1101:10:20 1:N:0:ACGT`).
    pub name: String,
    /// The bases.
    pub sequence: String,
    /// The qualities (Phred+33 characters), as long as the sequence.
    pub quality: String,
}

/// The first reads of a FASTQ source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FastqSample {
    /// The reads, in file order.
    pub reads: Vec<FastqRead>,
    /// Bytes of the source (compressed, when gzip) consumed to get them: inflating goes in
    /// steps of 64 KiB of text, so this may run up to one step past the last read.
    pub compressed_bytes_read: u64,
    /// Whether the data was gzip-compressed.
    pub gzip: bool,
    /// True when nothing more would be shown by reading further: `max_reads` reads were found,
    /// or the source ended (then it holds only these reads).
    pub complete: bool,
    /// True when the source ended within the preview: `reads` are all the reads it has.
    pub end_of_data: bool,
}

#[derive(Debug)]
enum Coding {
    /// Fewer than two bytes seen: gzip or not is not known yet.
    Unknown(Vec<u8>),
    Plain,
    Gzip(Box<Gunzip>),
}

/// The record parser over decompressed lines.
#[derive(Debug, Default)]
struct Records {
    /// Which line of the record comes next (0 = the `@` line).
    line: u8,
    line_no: u64,
    name: String,
    sequence: String,
    reads: Vec<FastqRead>,
    blank_line: Option<u64>,
}

impl Records {
    fn read_no(&self) -> usize {
        self.reads.len() + 1
    }

    fn not_fastq(&self, what: &str) -> PreviewError {
        PreviewError::new(
            PreviewErrorKind::NotFastq,
            format!("not FASTQ: {what} (line {}, read {})", self.line_no, self.read_no()),
        )
    }

    fn take(&mut self, line: &[u8]) -> Result<(), PreviewError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.line_no += 1;
        match self.line {
            0 => {
                if line.is_empty() {
                    self.blank_line.get_or_insert(self.line_no);
                    return Ok(());
                }
                if let Some(b) = self.blank_line {
                    return Err(PreviewError::new(
                        PreviewErrorKind::NotFastq,
                        format!("not FASTQ: line {b} is blank, between reads {} and {}", self.reads.len(), self.read_no()),
                    ));
                }
                if self.line_no == 1 {
                    if let Some(w) = describe_start(line) {
                        return Err(PreviewError::new(PreviewErrorKind::NotFastq, format!("not FASTQ: {w}")));
                    }
                }
                if line[0] != b'@' {
                    return Err(self.not_fastq(&format!("a read must start with '@', this line starts with {}", quote(line))));
                }
                self.name = String::from_utf8_lossy(&line[1..]).into_owned();
                self.line = 1;
            }
            1 => {
                if let Some(&b) = line.iter().find(|&&b| !(b.is_ascii_alphabetic() || b == b'.' || b == b'-' || b == b'*')) {
                    return Err(self.not_fastq(&format!("the sequence line has the character {}", quote(&[b]))));
                }
                self.sequence = String::from_utf8_lossy(line).into_owned();
                self.line = 2;
            }
            2 => {
                if line.first() != Some(&b'+') {
                    return Err(self.not_fastq(&format!(
                        "the line after the sequence must start with '+', it starts with {} (multi-line FASTQ is not supported)",
                        quote(line)
                    )));
                }
                self.line = 3;
            }
            _ => {
                if line.len() != self.sequence.len() {
                    return Err(self.not_fastq(&format!(
                        "the sequence has {} bases but the quality line {} characters",
                        self.sequence.len(),
                        line.len()
                    )));
                }
                if let Some(&b) = line.iter().find(|&&b| !(33..=126).contains(&b)) {
                    return Err(self.not_fastq(&format!("the quality line has the character {}", quote(&[b]))));
                }
                let quality = String::from_utf8_lossy(line).into_owned();
                self.reads.push(FastqRead { name: std::mem::take(&mut self.name), sequence: std::mem::take(&mut self.sequence), quality });
                self.line = 0;
            }
        }
        Ok(())
    }
}

/// The first reads of one FASTQ source, from its bytes pushed in order.
///
/// ```
/// use readset_upload::preview::FastqPreview;
/// let mut p = FastqPreview::new(1);
/// assert!(p.push(b"@r1\nACGT\n+\nIIII\n@r2\n").unwrap()); // one read is enough: stop reading
/// let sample = p.finish(false).unwrap();
/// assert_eq!(sample.reads[0].sequence, "ACGT");
/// ```
#[derive(Debug)]
pub struct FastqPreview {
    max_reads: usize,
    coding: Coding,
    /// Decompressed text not yet parsed, from `start`; `scanned` bytes of it hold no newline.
    text: Vec<u8>,
    start: usize,
    scanned: usize,
    records: Records,
    consumed: u64,
    failed: Option<PreviewError>,
}

impl FastqPreview {
    /// A preview that keeps the first `max_reads` reads (memory grows with it: the caller picks
    /// a small number, e.g. 10).
    pub fn new(max_reads: usize) -> Self {
        FastqPreview {
            max_reads,
            coding: Coding::Unknown(Vec::new()),
            text: Vec::new(),
            start: 0,
            scanned: 0,
            records: Records::default(),
            consumed: 0,
            failed: None,
        }
    }

    fn done(&self) -> bool {
        self.records.reads.len() >= self.max_reads
    }

    /// Feeds the next bytes of the source. Returns `Ok(true)` once `max_reads` reads are parsed:
    /// the caller stops reading (further bytes are ignored). After an error, every call returns
    /// the same error.
    pub fn push(&mut self, chunk: &[u8]) -> Result<bool, PreviewError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.push_inner(chunk);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    fn push_inner(&mut self, chunk: &[u8]) -> Result<bool, PreviewError> {
        if self.done() {
            return Ok(true);
        }
        let mut rest = chunk;
        if let Coding::Unknown(seen) = &mut self.coding {
            let take = rest.len().min(2 - seen.len());
            seen.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if seen.len() < 2 && seen.first().is_none_or(|&b| b == 0x1f) {
                return Ok(false);
            }
            let seen = std::mem::take(seen);
            self.decide(seen.starts_with(&[0x1f, 0x8b]));
            self.ingest(&seen)?;
        }
        self.ingest(rest)?;
        Ok(self.done())
    }

    fn decide(&mut self, gzip: bool) {
        self.coding = if gzip { Coding::Gzip(Box::new(Gunzip::new())) } else { Coding::Plain };
    }

    fn ingest(&mut self, mut rest: &[u8]) -> Result<(), PreviewError> {
        loop {
            if self.done() {
                return Ok(());
            }
            let before = self.text.len();
            let used = match &mut self.coding {
                Coding::Unknown(_) => 0,
                Coding::Plain => {
                    let n = rest.len().min(STEP);
                    self.text.extend_from_slice(&rest[..n]);
                    n
                }
                Coding::Gzip(gz) => match gz.feed(rest, &mut self.text, STEP) {
                    Ok(n) => n,
                    Err(e) => return Err(self.gzip_error(e)),
                },
            };
            self.consumed += used as u64;
            rest = &rest[used..];
            let made = self.text.len() - before;
            if made > 0 {
                self.parse(false)?;
            }
            if used == 0 && made == 0 {
                return Ok(());
            }
        }
    }

    fn gzip_error(&self, e: GzError) -> PreviewError {
        match e {
            GzError::NotGzip { member: 0, .. } => not_gzip_at_start(),
            GzError::NotGzip { member, at } => PreviewError::new(
                PreviewErrorKind::NotFastq,
                format!("not gzip after gzip member {member}: the data at compressed byte {at} does not start a gzip member"),
            ),
            GzError::Corrupt { member, start, what } => PreviewError::new(
                PreviewErrorKind::Corrupt,
                format!("the gzip data is damaged: {what} in gzip member {} (which starts at compressed byte {start})", member.max(1)),
            ),
        }
    }

    /// Parses the complete lines in `text`; at the end of the data, also a last line without
    /// its newline.
    fn parse(&mut self, at_eof: bool) -> Result<(), PreviewError> {
        while !self.done() {
            let avail = &self.text[self.start..];
            match avail[self.scanned..].iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let end = self.start + self.scanned + i;
                    if end - self.start > MAX_FASTQ_LINE {
                        return Err(self.too_long());
                    }
                    let line = &self.text[self.start..end];
                    self.records.take(line)?;
                    self.start = end + 1;
                    self.scanned = 0;
                }
                None => {
                    self.scanned = avail.len();
                    if avail.len() > MAX_FASTQ_LINE {
                        return Err(self.too_long());
                    }
                    if at_eof && !avail.is_empty() {
                        let end = self.text.len();
                        let line = &self.text[self.start..end];
                        let bare = line.strip_suffix(b"\r").unwrap_or(line);
                        if self.records.line == 3 && bare.len() < self.records.sequence.len() {
                            // A quality line cut short: the data ended inside this read.
                            break;
                        }
                        self.records.take(line)?;
                        self.start = end;
                        self.scanned = 0;
                    }
                    break;
                }
            }
        }
        self.text.drain(..self.start);
        self.start = 0;
        Ok(())
    }

    fn too_long(&self) -> PreviewError {
        PreviewError::new(
            PreviewErrorKind::TooLarge,
            format!(
                "not FASTQ: a line of more than {} MiB (line {}, read {})",
                MAX_FASTQ_LINE >> 20,
                self.records.line_no + 1,
                self.records.read_no()
            ),
        )
    }

    /// Ends the preview. `at_eof` says the source ended (rather than the caller stopping early):
    /// then a source that ends inside a read or inside a gzip member is an error, while one that
    /// ends on a record boundary with fewer reads than asked is a small file.
    pub fn finish(mut self, at_eof: bool) -> Result<FastqSample, PreviewError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if at_eof && !self.done() {
            if let Coding::Unknown(seen) = &mut self.coding {
                // One byte: 1f is the start of a gzip magic cut short, anything else plain text.
                let seen = std::mem::take(seen);
                self.decide(seen == [0x1f]);
                self.ingest(&seen)?;
            }
            let gz_open = matches!(&self.coding, Coding::Gzip(g) if !g.at_boundary());
            if !gz_open {
                self.parse(true)?;
            }
            if !self.done() && (gz_open || self.records.line != 0) {
                let inside = if gz_open && self.records.line == 0 && self.text.is_empty() {
                    ", inside a gzip member"
                } else {
                    ""
                };
                return Err(PreviewError::new(
                    PreviewErrorKind::Truncated,
                    format!(
                        "the data ended inside read {} (after {} compressed bytes{inside})",
                        self.records.read_no(),
                        self.consumed
                    ),
                ));
            }
        }
        let complete = self.done() || at_eof;
        let end_of_data = at_eof && !self.done();
        Ok(FastqSample {
            gzip: matches!(self.coding, Coding::Gzip(_)),
            reads: self.records.reads,
            compressed_bytes_read: self.consumed,
            complete,
            end_of_data,
        })
    }
}

/// The FASTQ reader only builds a gunzip once the magic was seen, so member 0 always has it.
fn not_gzip_at_start() -> PreviewError {
    PreviewError::new(PreviewErrorKind::NotFastq, "not gzip: the data does not start with the gzip magic 1f 8b")
}

// ---------------------------------------------------------------------------------------------
// BAM, uBAM, CRAM headers

/// The alignment file formats whose header is previewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AlignmentFormat {
    /// BAM or uBAM (`"BAM"` in JS).
    #[serde(rename = "BAM")]
    Bam,
    /// CRAM (`"CRAM"` in JS).
    #[serde(rename = "CRAM")]
    Cram,
}

/// The SAM header of a BAM, uBAM or CRAM read set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlignmentHeader {
    /// BAM (also uBAM) or CRAM.
    pub format: AlignmentFormat,
    /// The CRAM version (`"3.0"`, `"3.1"`), `None` for BAM.
    pub version: Option<String>,
    /// The `@HD` line, when there is one.
    pub hd: Option<String>,
    /// The number of references: BAM's binary `n_ref` (0 for uBAM), CRAM's `@SQ` count.
    pub reference_count: usize,
    /// The number of `@SQ` lines in the header text.
    pub sq_lines: usize,
    /// The `@RG` lines.
    pub read_groups: Vec<String>,
    /// The `@PG` lines.
    pub programs: Vec<String>,
    /// The `@CO` lines.
    pub comments: Vec<String>,
    /// The length of the header text (BAM `l_text`, CRAM's header block text).
    pub text_bytes: usize,
    /// Bytes of the file consumed to read the header: BAM up to where inflating stopped, inside
    /// the BGZF block that holds `n_ref`; CRAM exactly to the end of the header block.
    pub compressed_bytes_read: u64,
    /// Inconsistencies worth showing, e.g. a BAM whose `n_ref` differs from its `@SQ` count.
    pub warnings: Vec<String>,
}

impl AlignmentHeader {
    fn from_text(format: AlignmentFormat, text: &[u8]) -> Self {
        let mut h = AlignmentHeader {
            format,
            version: None,
            hd: None,
            reference_count: 0,
            sq_lines: 0,
            read_groups: Vec::new(),
            programs: Vec::new(),
            comments: Vec::new(),
            text_bytes: text.len(),
            compressed_bytes_read: 0,
            warnings: Vec::new(),
        };
        // l_text may count trailing NULs (padding); they are not header lines.
        let end = text.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        for line in text[..end].split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let owned = || String::from_utf8_lossy(line).into_owned();
            match line.get(..3) {
                Some(b"@HD") if h.hd.is_none() => h.hd = Some(owned()),
                Some(b"@SQ") => h.sq_lines += 1,
                Some(b"@RG") => h.read_groups.push(owned()),
                Some(b"@PG") => h.programs.push(owned()),
                Some(b"@CO") => h.comments.push(owned()),
                _ => {}
            }
        }
        h
    }
}

/// "(\"...\")"-style rendering of the first bytes, for messages: hex plus printable text.
fn hex_and_text(b: &[u8]) -> String {
    let b = &b[..b.len().min(8)];
    let mut s = String::new();
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push(char::from_digit((x >> 4) as u32, 16).unwrap_or('?'));
        s.push(char::from_digit((x & 15) as u32, 16).unwrap_or('?'));
    }
    s.push_str(" (");
    s.push_str(&quote(b));
    s.push(')');
    s
}

/// A line's start, quoted, non-printable bytes as `.`.
fn quote(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &x in b.iter().take(20) {
        s.push(if (0x20..0x7f).contains(&x) { x as char } else { '.' });
    }
    if b.len() > 20 {
        s.push_str("...");
    }
    s.push('"');
    s
}

/// What a file that starts with `b` probably is, when recognisable.
fn describe_start(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"BAM\x01") {
        Some("this is a BAM file (it starts with BAM\\1)")
    } else if b.starts_with(b"CRAM") {
        Some("this is a CRAM file (it starts with CRAM)")
    } else if b.starts_with(&[0x1f, 0x8b]) {
        Some("this is gzip data inside gzip (compressed twice)")
    } else if b.starts_with(b">") {
        Some("this looks like FASTA (it starts with '>'), not FASTQ")
    } else if b.starts_with(b"@HD\t") || b.starts_with(b"@SQ\t") {
        Some("this looks like a SAM header (it starts with @HD or @SQ), not FASTQ")
    } else {
        None
    }
}

/// Why a BAM or CRAM reader saw the wrong first bytes: a hint for the common confusions.
fn hint(b: &[u8]) -> &'static str {
    if b.starts_with(b"CRAM") {
        ": this is a CRAM file"
    } else if b.starts_with(b"BAM\x01") {
        ": an uncompressed BAM (a BAM file is BGZF-compressed)"
    } else if b.starts_with(b"@") {
        ": this looks like FASTQ or SAM text"
    } else if b.starts_with(&[0x1f, 0x8b]) {
        ": gzip data (a gzipped FASTQ or a BAM)"
    } else {
        ""
    }
}

fn le_i32(b: &[u8]) -> i32 {
    i32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The header of a BAM or uBAM read set, from its bytes pushed in order.
///
/// Reads the BGZF members up to the end of `n_ref` (magic `BAM\1`, `l_text`, the header text,
/// `n_ref`) and no further: the reference entries that follow are not needed.
#[derive(Debug)]
pub struct BamHeaderReader {
    first: Vec<u8>,
    gz: Option<Box<Gunzip>>,
    data: Vec<u8>,
    /// Decompressed bytes needed: 8 (magic and `l_text`), then up to the end of `n_ref`.
    need: usize,
    consumed: u64,
    header: Option<AlignmentHeader>,
    failed: Option<PreviewError>,
}

impl Default for BamHeaderReader {
    fn default() -> Self {
        Self::new()
    }
}

impl BamHeaderReader {
    /// A reader that has seen no bytes.
    pub fn new() -> Self {
        BamHeaderReader { first: Vec::new(), gz: None, data: Vec::new(), need: 8, consumed: 0, header: None, failed: None }
    }

    /// Feeds the next bytes of the file. Returns `Ok(true)` once the header is read: the caller
    /// stops reading. After an error, every call returns the same error.
    pub fn push(&mut self, chunk: &[u8]) -> Result<bool, PreviewError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.push_inner(chunk, false);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    fn not_bam(b: &[u8], after_gzip: bool) -> PreviewError {
        let when = if after_gzip { " (after BGZF decompression)" } else { "" };
        PreviewError::new(
            PreviewErrorKind::NotBam,
            format!("not BAM: the first bytes{when} are {}{}", hex_and_text(b), if after_gzip { "" } else { hint(b) }),
        )
    }

    fn push_inner(&mut self, chunk: &[u8], at_eof: bool) -> Result<bool, PreviewError> {
        if self.header.is_some() {
            return Ok(true);
        }
        let mut rest = chunk;
        if self.gz.is_none() {
            // Four raw bytes decide (and show, if wrong) what this is, whatever the chunking.
            let take = rest.len().min(4 - self.first.len());
            self.first.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.first.len() < 4 && !at_eof {
                return Ok(false);
            }
            let gzip_start = [0x1f, 0x8b, 8];
            let cut_short = at_eof && !self.first.is_empty() && gzip_start.starts_with(&self.first);
            if !self.first.starts_with(&[0x1f, 0x8b]) && !cut_short {
                return Err(Self::not_bam(&self.first, false));
            }
            self.gz = Some(Box::new(Gunzip::new()));
            let first = std::mem::take(&mut self.first);
            self.ingest(&first)?;
        }
        self.ingest(rest)?;
        Ok(self.header.is_some())
    }

    fn ingest(&mut self, mut rest: &[u8]) -> Result<(), PreviewError> {
        let Some(gz) = self.gz.as_mut() else { return Ok(()) };
        while self.header.is_none() {
            let before = self.data.len();
            let used = gz.feed(rest, &mut self.data, self.need - before).map_err(|e| match e {
                GzError::NotGzip { member, at } => PreviewError::new(
                    PreviewErrorKind::NotBam,
                    format!("not BAM: the data at compressed byte {at} (after BGZF block {member}) is not a BGZF block"),
                ),
                GzError::Corrupt { member, start, what } => PreviewError::new(
                    PreviewErrorKind::Corrupt,
                    format!("the BAM data is damaged: {what} in BGZF block {} (which starts at compressed byte {start})", member.max(1)),
                ),
            })?;
            self.consumed += used as u64;
            rest = &rest[used..];
            let made = self.data.len() - before;
            if self.data.len() == self.need {
                if self.need == 8 {
                    if !self.data.starts_with(b"BAM\x01") {
                        return Err(Self::not_bam(&self.data, true));
                    }
                    let l_text = le_i32(&self.data[4..8]);
                    if l_text < 0 || l_text as usize > MAX_HEADER_TEXT {
                        return Err(PreviewError::new(
                            PreviewErrorKind::TooLarge,
                            format!("the BAM header text length is {l_text} bytes: not between 0 and {} MiB", MAX_HEADER_TEXT >> 20),
                        ));
                    }
                    self.need = 8 + l_text as usize + 4;
                } else {
                    let n_ref = le_i32(&self.data[self.need - 4..]);
                    if n_ref < 0 || n_ref as usize > MAX_REFERENCES {
                        return Err(PreviewError::new(
                            PreviewErrorKind::TooLarge,
                            format!("the BAM header lists {n_ref} references: not between 0 and {MAX_REFERENCES}"),
                        ));
                    }
                    let mut h = AlignmentHeader::from_text(AlignmentFormat::Bam, &self.data[8..self.need - 4]);
                    h.reference_count = n_ref as usize;
                    if h.sq_lines != h.reference_count {
                        h.warnings.push(format!(
                            "the binary header lists {} references but the header text has {} @SQ lines",
                            h.reference_count, h.sq_lines
                        ));
                    }
                    h.compressed_bytes_read = self.consumed;
                    self.header = Some(h);
                    self.data = Vec::new();
                }
                continue;
            }
            if used == 0 && made == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Ends the reader and returns the header. Fails when the header is incomplete: with
    /// `at_eof` (the file ended) as truncated, otherwise as "more data is needed".
    pub fn finish(mut self, at_eof: bool) -> Result<AlignmentHeader, PreviewError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.header.is_none() && at_eof && self.gz.is_none() && !self.first.is_empty() {
            self.push_inner(&[], true)?;
        }
        match self.header {
            Some(h) => Ok(h),
            None => Err(truncated_header("BAM", at_eof, self.consumed + self.first.len() as u64)),
        }
    }
}

fn truncated_header(format: &str, at_eof: bool, consumed: u64) -> PreviewError {
    let why = if at_eof { "the data ended inside" } else { "more data is needed to read" };
    PreviewError::new(PreviewErrorKind::Truncated, format!("{why} the {format} header (after {consumed} compressed bytes)"))
}

/// An ITF8 integer at the start of `b`: (value, length), `None` when `b` is too short.
fn itf8(b: &[u8]) -> Option<(i32, usize)> {
    let first = *b.first()?;
    let n = (first.leading_ones() as usize).min(4);
    let b0 = first as u32;
    let rest = b.get(1..=n)?;
    let v = match n {
        0 => b0,
        1 => ((b0 & 0x3f) << 8) | rest[0] as u32,
        2 => ((b0 & 0x1f) << 16) | (rest[0] as u32) << 8 | rest[1] as u32,
        3 => ((b0 & 0x0f) << 24) | (rest[0] as u32) << 16 | (rest[1] as u32) << 8 | rest[2] as u32,
        _ => ((b0 & 0x0f) << 28) | (rest[0] as u32) << 20 | (rest[1] as u32) << 12 | (rest[2] as u32) << 4 | (rest[3] as u32 & 0x0f),
    };
    Some((v as i32, n + 1))
}

/// An LTF8 integer at the start of `b`: (value, length), `None` when `b` is too short.
fn ltf8(b: &[u8]) -> Option<(i64, usize)> {
    let b0 = *b.first()?;
    let n = b0.leading_ones() as usize;
    let rest = b.get(1..=n)?;
    let mut v: u64 = if n >= 7 { 0 } else { (b0 & (0x7f >> n)) as u64 };
    for &x in rest {
        v = (v << 8) | x as u64;
    }
    Some((v as i64, n + 1))
}

/// The name of a CRAM block compression method.
fn cram_method(m: u8) -> String {
    let name = match m {
        2 => "bzip2",
        3 => "lzma",
        4 => "rANS 4x8",
        5 => "rANS Nx16",
        6 => "the adaptive arithmetic coder",
        7 => "fqzcomp",
        8 => "the name tokeniser",
        _ => return format!("unknown method {m}"),
    };
    name.to_string()
}

/// The header of a CRAM read set, from its bytes pushed in order.
///
/// Reads the 26-byte file definition (`CRAM`, major, minor, file id) and the header container's
/// first block, which holds the SAM header text; checks the CRC-32s of CRAM 3.
#[derive(Debug, Default)]
pub struct CramHeaderReader {
    data: Vec<u8>,
    /// Bytes needed before the next parse attempt can succeed.
    need: usize,
    header: Option<AlignmentHeader>,
    failed: Option<PreviewError>,
}

/// Where a CRAM parse stands.
enum CramStep {
    Need(usize),
    Done(AlignmentHeader),
}

impl CramHeaderReader {
    /// A reader that has seen no bytes.
    pub fn new() -> Self {
        CramHeaderReader { data: Vec::new(), need: 8, header: None, failed: None }
    }

    /// Feeds the next bytes of the file. Returns `Ok(true)` once the header is read: the caller
    /// stops reading. After an error, every call returns the same error.
    pub fn push(&mut self, chunk: &[u8]) -> Result<bool, PreviewError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.header.is_some() {
            return Ok(true);
        }
        let mut rest = chunk;
        while self.header.is_none() && !rest.is_empty() {
            let take = rest.len().min(self.need.saturating_sub(self.data.len()));
            self.data.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.data.len() < self.need {
                break;
            }
            match parse_cram(&self.data) {
                Ok(CramStep::Need(n)) => self.need = n.max(self.data.len() + 1),
                Ok(CramStep::Done(h)) => {
                    self.header = Some(h);
                    self.data = Vec::new();
                }
                Err(e) => {
                    self.failed = Some(e.clone());
                    return Err(e);
                }
            }
        }
        Ok(self.header.is_some())
    }

    /// Ends the reader and returns the header. Fails when the header is incomplete: with
    /// `at_eof` (the file ended) as truncated, otherwise as "more data is needed".
    pub fn finish(self, at_eof: bool) -> Result<AlignmentHeader, PreviewError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if let Some(h) = self.header {
            return Ok(h);
        }
        if at_eof && self.data.len() >= 4 && !self.data.starts_with(b"CRAM") {
            return Err(not_cram(&self.data));
        }
        Err(truncated_header("CRAM", at_eof, self.data.len() as u64))
    }
}

fn not_cram(b: &[u8]) -> PreviewError {
    PreviewError::new(PreviewErrorKind::NotCram, format!("not CRAM: the first bytes are {}{}", hex_and_text(b), hint(b)))
}

fn cram_corrupt(what: &str) -> PreviewError {
    PreviewError::new(PreviewErrorKind::Corrupt, format!("the CRAM header is damaged: {what}"))
}

/// Parses the CRAM file definition and header block from `d`, or says how many bytes it needs.
fn parse_cram(d: &[u8]) -> Result<CramStep, PreviewError> {
    if d.len() >= 4 && !d.starts_with(b"CRAM") {
        return Err(not_cram(d));
    }
    if d.len() < 26 {
        return Ok(CramStep::Need(26));
    }
    let (major, minor) = (d[4], d[5]);
    if !(2..=3).contains(&major) {
        return Err(PreviewError::new(
            PreviewErrorKind::Unsupported,
            format!("CRAM version {major}.{minor}: not previewed (CRAM 2.1, 3.0 and 3.1 are)"),
        ));
    }
    let crc = major >= 3;
    // The container header: length, ref id, start, span, records (ITF8), record counter and
    // bases (LTF8; ITF8 counter in 2.1), block count, landmarks, then CRC-32 in CRAM 3.
    let c = &d[26..];
    let short = || Ok(CramStep::Need(d.len() + 1));
    if c.len() < 4 {
        return short();
    }
    let length = le_i32(c);
    if length < 0 || length as usize > MAX_HEADER_TEXT + (1 << 20) {
        return Err(cram_corrupt(&format!("its header container claims {length} bytes")));
    }
    let mut p = 4;
    // ref id, start, span, records (ITF8); record counter, bases (LTF8); blocks (ITF8); landmarks.
    for i in 0..7 {
        let len = if i == 4 || i == 5 { ltf8(&c[p..]).map(|x| x.1) } else { itf8(&c[p..]).map(|x| x.1) };
        let Some(len) = len else { return short() };
        p += len;
    }
    let Some((n_landmarks, len)) = itf8(&c[p..]) else { return short() };
    p += len;
    if !(0..=1_000_000).contains(&n_landmarks) {
        return Err(cram_corrupt(&format!("its header container has {n_landmarks} landmarks")));
    }
    for _ in 0..n_landmarks {
        let Some((_, l)) = itf8(&c[p..]) else { return short() };
        p += l;
    }
    if crc {
        if c.len() < p + 4 {
            return short();
        }
        let want = le_i32(&c[p..]) as u32;
        if crc32(&c[..p]) != want {
            return Err(cram_corrupt("the header container's CRC-32 does not match"));
        }
        p += 4;
    }
    // The first block: method, content type, content id, compressed and raw sizes, data, CRC.
    let b = &c[p..];
    if b.len() < 2 {
        return short();
    }
    let (method, content_type) = (b[0], b[1]);
    let mut q = 2;
    let mut sizes = [0i32; 3];
    for s in &mut sizes {
        let Some((v, l)) = itf8(&b[q..]) else { return short() };
        *s = v;
        q += l;
    }
    let [_, comp, raw] = sizes;
    if comp < 0 || raw < 0 || comp as usize > MAX_HEADER_TEXT + 4 || raw as usize > MAX_HEADER_TEXT + 4 {
        return Err(PreviewError::new(
            PreviewErrorKind::TooLarge,
            format!("the CRAM header block is {comp} bytes ({raw} uncompressed): not between 0 and {} MiB", MAX_HEADER_TEXT >> 20),
        ));
    }
    let end = q + comp as usize + if crc { 4 } else { 0 };
    if b.len() < end {
        return Ok(CramStep::Need(26 + p + end));
    }
    let payload = &b[q..q + comp as usize];
    if crc {
        let want = le_i32(&b[end - 4..]) as u32;
        if crc32(&b[..end - 4]) != want {
            return Err(cram_corrupt("the header block's CRC-32 does not match"));
        }
    }
    if content_type != 0 {
        return Err(cram_corrupt(&format!("the first block has content type {content_type}, not FILE_HEADER (0)")));
    }
    let inflated;
    let body: &[u8] = match method {
        0 => payload,
        1 => {
            let mut out = Vec::new();
            let mut gz = Gunzip::new();
            let mut rest = payload;
            while out.len() <= raw as usize {
                let before = out.len();
                let n = gz.feed(rest, &mut out, STEP).map_err(|_| cram_corrupt("its gzip-compressed header block is damaged"))?;
                rest = &rest[n..];
                if n == 0 && out.len() == before {
                    break;
                }
            }
            if !gz.at_boundary() || out.len() != raw as usize {
                return Err(cram_corrupt("its gzip-compressed header block does not inflate to the size it states"));
            }
            inflated = out;
            &inflated
        }
        m => {
            return Err(PreviewError::new(
                PreviewErrorKind::Unsupported,
                format!("CRAM header compressed with {}: not previewed (only raw and gzip are)", cram_method(m)),
            ))
        }
    };
    if body.len() < 4 {
        return Err(cram_corrupt("its header block is too short for the header text length"));
    }
    let l_text = le_i32(body);
    if l_text < 0 || l_text as usize > body.len() - 4 {
        return Err(cram_corrupt(&format!("the header text length {l_text} exceeds its block ({} bytes)", body.len())));
    }
    let mut h = AlignmentHeader::from_text(AlignmentFormat::Cram, &body[4..4 + l_text as usize]);
    h.version = Some(format!("{major}.{minor}"));
    h.reference_count = h.sq_lines;
    h.compressed_bytes_read = (26 + p + end) as u64;
    Ok(CramStep::Done(h))
}

fn crc32(b: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(b);
    c.sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gzip::gzip_header_len;
    use std::io::Write;

    fn gzip_with(data: &[u8], name: Option<&str>, comment: Option<&str>, extra: Option<&[u8]>) -> Vec<u8> {
        let mut b = flate2::GzBuilder::new();
        if let Some(n) = name {
            b = b.filename(n);
        }
        if let Some(c) = comment {
            b = b.comment(c);
        }
        if let Some(x) = extra {
            b = b.extra(x);
        }
        let mut e = b.write(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn itf8_and_ltf8_read_every_length_form() {
        assert_eq!(itf8(&[0x05]), Some((5, 1)));
        assert_eq!(itf8(&[0x81, 0x61]), Some((0x161, 2)));
        assert_eq!(itf8(&[0xc1, 0x02, 0x03]), Some((0x10203, 3)));
        assert_eq!(itf8(&[0xe1, 0x02, 0x03, 0x04]), Some((0x1020304, 4)));
        assert_eq!(itf8(&[0xff, 0xff, 0xff, 0xff, 0x0f]), Some((-1, 5)));
        assert_eq!(itf8(&[0xf1, 0x23, 0x45, 0x67, 0x08]), Some((0x1234_5678, 5)));
        assert_eq!(itf8(&[0xe1, 0x02]), None);
        assert_eq!(itf8(&[]), None);
        assert_eq!(ltf8(&[0x7f]), Some((0x7f, 1)));
        assert_eq!(ltf8(&[0x81, 0x00]), Some((0x100, 2)));
        assert_eq!(ltf8(&[0xfe, 1, 2, 3, 4, 5, 6, 7]), Some((0x01_0203_0405_0607, 8)));
        assert_eq!(ltf8(&[0xff, 0, 0, 0, 0, 0, 0, 0, 9]), Some((9, 9)));
        assert_eq!(ltf8(&[0xff, 0]), None);
    }

    #[test]
    fn gzip_members_with_names_comments_and_extra_fields_in_any_chunking() {
        let text = b"@a\nAC\n+\nII\n@b\nGT\n+\n#I\n";
        let mut gz = gzip_with(&text[..7], Some("reads_1.fastq"), Some("a comment"), Some(b"BC\x02\x00xx"));
        gz.extend(gzip_with(&text[7..], None, None, None));
        for chunk in [1, 2, 3, 5, gz.len()] {
            let mut p = FastqPreview::new(5);
            for c in gz.chunks(chunk) {
                assert!(!p.push(c).unwrap());
            }
            let s = p.finish(true).unwrap();
            let names: Vec<_> = s.reads.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(names, ["a", "b"], "chunk {chunk}");
            assert_eq!(s.reads[1].quality, "#I");
            assert!(s.end_of_data && s.gzip);
        }
    }

    #[test]
    fn the_gzip_header_parser_waits_for_whole_headers_and_refuses_bad_ones() {
        let gz = gzip_with(b"x", Some("n"), None, Some(b"ab"));
        let n = gzip_header_len(&gz).unwrap().unwrap();
        assert_eq!(n, 10 + 2 + 2 + 2);
        for cut in 0..n {
            assert_eq!(gzip_header_len(&gz[..cut]), Ok(None), "cut {cut}");
        }
        assert_eq!(gzip_header_len(b"\x1f\x8b\x07"), Err(()));
        assert_eq!(gzip_header_len(b"\x1f\x8b\x08\x20"), Err(()));
        assert_eq!(gzip_header_len(b"PK"), Err(()));
    }

    #[test]
    fn a_gzip_stream_cut_inside_a_member_says_so() {
        let gz = gzip_with(b"@a\nAC\n+\nII\n", None, None, None);
        let mut p = FastqPreview::new(5);
        p.push(&gz[..gz.len() - 3]).unwrap();
        let e = p.finish(true).unwrap_err();
        let want = format!("the data ended inside read 2 (after {} compressed bytes, inside a gzip member)", gz.len() - 3);
        assert_eq!((e.kind, e.message), (PreviewErrorKind::Truncated, want));
    }

    #[test]
    fn a_single_gzip_magic_byte_at_the_end_is_a_truncation_not_text() {
        let mut p = FastqPreview::new(5);
        p.push(&[0x1f]).unwrap();
        assert_eq!(p.finish(true).unwrap_err().kind, PreviewErrorKind::Truncated);
        let mut b = BamHeaderReader::new();
        b.push(&[0x1f, 0x8b]).unwrap();
        assert_eq!(b.finish(true).unwrap_err().message, "the data ended inside the BAM header (after 2 compressed bytes)");
    }

    #[test]
    fn hex_and_text_shows_at_most_eight_bytes() {
        assert_eq!(hex_and_text(b"BAM\x01\x00\x00\x00\x00\xff"), "42 41 4d 01 00 00 00 00 (\"BAM.....\")");
    }
}
