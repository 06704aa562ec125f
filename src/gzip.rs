//! gzip (RFC 1952) for the FASTQ ETag and the read set previews: a streaming gunzip of
//! concatenated members with bounded output ([`Gunzip`]), over flate2's raw inflate
//! (miniz_oxide), and the CRC-32 that checks each member ([`Crc32`]).
//!
//! Both are written out here rather than taken from flate2's `GzDecoder` and crc32fast: the
//! caller controls how much is inflated and learns whether the data stopped on a member
//! boundary, and the CRC's slice-by-16 tables are computed once at first use instead of
//! shipping as 16 KB of data in every page's download (BENCHMARKS.md "Package size").

use std::fmt;
use std::sync::OnceLock;

use flate2::{Decompress, FlushDecompress, Status};

/// Decompressed bytes produced per step: bounds what is inflated beyond the point of need.
pub(crate) const STEP: usize = 64 << 10;
/// The longest gzip member header accepted (names and comments included, BGZF's extra field too).
const MAX_GZIP_HEADER: usize = 12 + 65_535 + 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GzState {
    Header,
    Body,
    Trailer,
}

/// Why the gzip layer stopped; the callers phrase it for their format.
#[derive(Debug)]
pub(crate) enum GzError {
    /// Member `member` (0-based) does not start with the gzip magic.
    NotGzip { member: u64, at: u64 },
    /// Damaged data in the member starting at compressed byte `start`.
    Corrupt { member: u64, start: u64, what: &'static str },
}

/// A streaming gunzip of concatenated members (RFC 1952), written out so the caller controls
/// how much is inflated and knows whether the data stopped on a member boundary.
pub(crate) struct Gunzip {
    state: GzState,
    head: Vec<u8>,
    trailer: [u8; 8],
    trailer_len: usize,
    inflate: Decompress,
    crc: Crc32,
    /// Members started so far.
    members: u64,
    /// Compressed bytes consumed.
    consumed: u64,
    /// Where the current member starts.
    member_start: u64,
    /// Inflate output before it is copied to the caller (allocated once, at the first member).
    scratch: Vec<u8>,
    /// An error found in the same step as output: reported on the next call, once the caller
    /// has seen that output (so the chunking never decides between a result and an error).
    pending: Option<GzError>,
}

impl fmt::Debug for Gunzip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gunzip").field("state", &self.state).field("members", &self.members).field("consumed", &self.consumed).finish()
    }
}

impl Gunzip {
    pub(crate) fn new() -> Self {
        Gunzip {
            state: GzState::Header,
            head: Vec::new(),
            trailer: [0; 8],
            trailer_len: 0,
            inflate: Decompress::new(false),
            crc: Crc32::new(),
            members: 0,
            consumed: 0,
            member_start: 0,
            scratch: Vec::new(),
            pending: None,
        }
    }

    /// Members started so far.
    pub(crate) fn members(&self) -> u64 {
        self.members
    }

    /// True when no member is open: the data may end here.
    pub(crate) fn at_boundary(&self) -> bool {
        self.state == GzState::Header && self.head.is_empty()
    }

    fn corrupt(&self, what: &'static str) -> GzError {
        GzError::Corrupt { member: self.members, start: self.member_start, what }
    }

    /// Consumes a prefix of `input` and appends at most `room` decompressed bytes to `out`.
    /// Returns the bytes consumed; call again (also with empty input) while it makes progress.
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>, room: usize) -> Result<usize, GzError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        let mut pos = 0;
        let mut produced = 0;
        loop {
            match self.state {
                GzState::Header => {
                    if pos == input.len() {
                        break;
                    }
                    if self.head.is_empty() {
                        self.member_start = self.consumed;
                    }
                    let avail = &input[pos..];
                    let old = self.head.len();
                    let parsed = if old == 0 {
                        gzip_header_len(&avail[..avail.len().min(MAX_GZIP_HEADER)])
                    } else {
                        // A header split across pushes: parse the saved start with the new bytes.
                        let take = avail.len().min(MAX_GZIP_HEADER - old);
                        self.head.extend_from_slice(&avail[..take]);
                        let r = gzip_header_len(&self.head);
                        self.head.truncate(old);
                        r
                    };
                    match parsed {
                        Err(()) => {
                            let mut start = self.head.iter().chain(avail.iter());
                            let magic = start.next() == Some(&0x1f) && start.next() == Some(&0x8b);
                            return Err(if magic {
                                self.corrupt("a bad gzip member header")
                            } else {
                                GzError::NotGzip { member: self.members, at: self.member_start }
                            });
                        }
                        Ok(Some(n)) => {
                            let used = n - old;
                            pos += used;
                            self.consumed += used as u64;
                            self.head.clear();
                            self.members += 1;
                            self.inflate.reset(false);
                            self.crc.reset();
                            self.state = GzState::Body;
                        }
                        Ok(None) => {
                            let take = avail.len().min(MAX_GZIP_HEADER - old);
                            if old + take >= MAX_GZIP_HEADER {
                                return Err(self.corrupt("a gzip member header longer than 69 KiB"));
                            }
                            self.head.extend_from_slice(&avail[..take]);
                            pos += take;
                            self.consumed += take as u64;
                        }
                    }
                }
                GzState::Body => {
                    if produced >= room {
                        break;
                    }
                    let (in0, out0) = (self.inflate.total_in(), self.inflate.total_out());
                    if self.scratch.is_empty() {
                        self.scratch = vec![0; STEP];
                    }
                    let want = (room - produced).min(STEP);
                    let status = self.inflate.decompress(&input[pos..], &mut self.scratch[..want], FlushDecompress::None);
                    let used = (self.inflate.total_in() - in0) as usize;
                    let made = (self.inflate.total_out() - out0) as usize;
                    self.crc.update(&self.scratch[..made]);
                    out.extend_from_slice(&self.scratch[..made]);
                    pos += used;
                    self.consumed += used as u64;
                    produced += made;
                    match status {
                        Ok(Status::StreamEnd) => {
                            self.state = GzState::Trailer;
                            self.trailer_len = 0;
                            if produced > 0 {
                                // The caller parses this member's output before its CRC is checked,
                                // whatever the chunking.
                                break;
                            }
                        }
                        Ok(_) => {
                            if used == 0 && made == 0 {
                                break;
                            }
                        }
                        Err(_) => {
                            let e = self.corrupt("damaged deflate data");
                            if produced == 0 {
                                return Err(e);
                            }
                            self.pending = Some(e);
                            break;
                        }
                    }
                }
                GzState::Trailer => {
                    if pos == input.len() {
                        break;
                    }
                    let take = (8 - self.trailer_len).min(input.len() - pos);
                    self.trailer[self.trailer_len..self.trailer_len + take].copy_from_slice(&input[pos..pos + take]);
                    self.trailer_len += take;
                    pos += take;
                    self.consumed += take as u64;
                    if self.trailer_len == 8 {
                        let crc = u32::from_le_bytes([self.trailer[0], self.trailer[1], self.trailer[2], self.trailer[3]]);
                        let size = u32::from_le_bytes([self.trailer[4], self.trailer[5], self.trailer[6], self.trailer[7]]);
                        if crc != self.crc.sum() {
                            return Err(self.corrupt("a CRC-32 mismatch"));
                        }
                        if size != self.crc.amount() {
                            return Err(self.corrupt("a length mismatch"));
                        }
                        self.state = GzState::Header;
                    }
                }
            }
        }
        Ok(pos)
    }
}

/// The length of the gzip member header at the start of `h`: `Ok(None)` when more bytes are
/// needed, `Err` when it is not a gzip header.
pub(crate) fn gzip_header_len(h: &[u8]) -> Result<Option<usize>, ()> {
    if h.first().is_some_and(|&b| b != 0x1f) || h.get(1).is_some_and(|&b| b != 0x8b) {
        return Err(());
    }
    if h.get(2).is_some_and(|&b| b != 8) || h.get(3).is_some_and(|&b| b & 0xe0 != 0) {
        return Err(());
    }
    if h.len() < 10 {
        return Ok(None);
    }
    let flags = h[3];
    let mut n = 10;
    if flags & 4 != 0 {
        if h.len() < n + 2 {
            return Ok(None);
        }
        n += 2 + u16::from_le_bytes([h[n], h[n + 1]]) as usize;
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            match h.get(n..).and_then(|t| t.iter().position(|&b| b == 0)) {
                Some(i) => n += i + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & 2 != 0 {
        n += 2;
    }
    Ok((h.len() >= n).then_some(n))
}


// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, as gzip uses it), slice-by-16 as crc32fast's portable path

/// The 16 tables of slice-by-16 CRC-32, computed at first use (16 KiB, a few microseconds).
fn crc_tables() -> &'static [[u32; 256]; 16] {
    static TABLES: OnceLock<Box<[[u32; 256]; 16]>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new([[0u32; 256]; 16]);
        for i in 0..256 {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            t[0][i] = c;
        }
        for i in 0..256 {
            for k in 1..16 {
                let prev = t[k - 1][i];
                t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            }
        }
        t
    })
}

/// A running CRC-32 and the length it covers (mod 2^32, as gzip's trailer stores it).
#[derive(Debug, Clone, Default)]
pub struct Crc32 {
    crc: u32,
    amount: u32,
}

impl Crc32 {
    /// The CRC of no bytes.
    pub fn new() -> Self {
        Crc32::default()
    }

    /// Back to the CRC of no bytes.
    pub fn reset(&mut self) {
        *self = Crc32::default();
    }

    /// The CRC so far.
    pub fn sum(&self) -> u32 {
        self.crc
    }

    /// Bytes covered so far, mod 2^32.
    pub fn amount(&self) -> u32 {
        self.amount
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        let t = crc_tables();
        let mut c = !self.crc;
        let mut blocks = bytes.chunks_exact(16);
        for b in &mut blocks {
            c = t[0x0][b[15] as usize]
                ^ t[0x1][b[14] as usize]
                ^ t[0x2][b[13] as usize]
                ^ t[0x3][b[12] as usize]
                ^ t[0x4][b[11] as usize]
                ^ t[0x5][b[10] as usize]
                ^ t[0x6][b[9] as usize]
                ^ t[0x7][b[8] as usize]
                ^ t[0x8][b[7] as usize]
                ^ t[0x9][b[6] as usize]
                ^ t[0xa][b[5] as usize]
                ^ t[0xb][b[4] as usize]
                ^ t[0xc][(b[3] ^ (c >> 24) as u8) as usize]
                ^ t[0xd][(b[2] ^ (c >> 16) as u8) as usize]
                ^ t[0xe][(b[1] ^ (c >> 8) as u8) as usize]
                ^ t[0xf][(b[0] ^ c as u8) as usize];
        }
        for &b in blocks.remainder() {
            c = t[0][((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
        }
        self.crc = !c;
        self.amount = self.amount.wrapping_add(bytes.len() as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_equals_flate2s_for_every_length_and_split() {
        let mut x = 0x1234_5678u32;
        let data: Vec<u8> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for len in (0..64).chain([255, 256, 1000, 4999, 5000]) {
            let mut want = flate2::Crc::new();
            want.update(&data[..len]);
            let mut got = Crc32::new();
            let (a, b) = data[..len].split_at(len / 3);
            got.update(a);
            got.update(b);
            assert_eq!((got.sum(), got.amount()), (want.sum(), want.amount()), "length {len}");
        }
        let mut c = Crc32::new();
        c.update(b"123456789");
        assert_eq!(c.sum(), 0xcbf4_3926, "the CRC-32 check value");
        c.reset();
        assert_eq!((c.sum(), c.amount()), (0, 0));
    }
}
