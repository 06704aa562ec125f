//! Part planning: how a source file is cut into multipart-upload parts.
//!
//! HealthOmics accepts parts of at most 104,857,600 bytes (100 MiB), numbered 1..=10,000
//! separately for each source (`SOURCE1`, `SOURCE2`). Planning is plain data: a [`Part`] is a
//! byte range of one source; the `Blob` is sliced only right before a part is sent.

use std::fmt;

/// Largest part HealthOmics accepts, and the default part size: 100 MiB.
pub const MAX_PART_SIZE: u64 = 104_857_600;

/// Largest number of parts per source.
pub const MAX_PARTS: u32 = 10_000;

/// Which file of a read set a part belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Source {
    /// The first (or only) file: mate 1 of a FASTQ pair, or the BAM/CRAM/uBAM file.
    #[serde(rename = "SOURCE1")]
    Source1,
    /// Mate 2 of a FASTQ pair.
    #[serde(rename = "SOURCE2")]
    Source2,
}

impl Source {
    /// The wire name used by HealthOmics (`SOURCE1` / `SOURCE2`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Source1 => "SOURCE1",
            Source::Source2 => "SOURCE2",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One part of one source: bytes `start..end` of that source, sent as part `number`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// The source file this part is cut from.
    pub source: Source,
    /// The part number, 1-based, counted separately per source.
    pub number: u32,
    /// First byte (inclusive).
    pub start: u64,
    /// Last byte (exclusive).
    pub end: u64,
}

impl Part {
    /// Length of the part in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the part holds no bytes (never true for a planned part).
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// Why a file could not be planned into parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The file holds no bytes; HealthOmics has nothing to store.
    #[error("the file is empty: a read set source must hold at least one byte")]
    EmptyFile,
    /// A part size of zero was requested.
    #[error("part size must be at least 1 byte")]
    ZeroPartSize,
    /// A part size above the HealthOmics maximum was requested.
    #[error("part size {0} bytes is above the HealthOmics maximum of 104857600 bytes (100 MiB)")]
    PartTooLarge(u64),
    /// The file would need more parts than allowed at the requested part size.
    #[error("a file of {size} bytes needs {parts} parts of {part_size} bytes; at most 10000 are allowed: use a larger part size")]
    TooManyParts {
        /// File size in bytes.
        size: u64,
        /// Requested part size in bytes.
        part_size: u64,
        /// Parts that would be needed.
        parts: u64,
    },
}

/// Cuts a source of `size` bytes into parts of `part_size` bytes (default
/// [`MAX_PART_SIZE`]); the last part holds the remainder.
pub fn plan_parts(source: Source, size: u64, part_size: Option<u64>) -> Result<Vec<Part>, PlanError> {
    let part_size = part_size.unwrap_or(MAX_PART_SIZE);
    if part_size == 0 {
        return Err(PlanError::ZeroPartSize);
    }
    if part_size > MAX_PART_SIZE {
        return Err(PlanError::PartTooLarge(part_size));
    }
    if size == 0 {
        return Err(PlanError::EmptyFile);
    }
    let parts = size.div_ceil(part_size);
    if parts > u64::from(MAX_PARTS) {
        return Err(PlanError::TooManyParts { size, part_size, parts });
    }
    Ok(cut(source, size, part_size))
}

/// The arithmetic of every target's plan: `size` bytes in parts of `part_size` (at least 1),
/// numbered from 1, the last holding the remainder; an empty source is one empty part (what
/// Seven Bridges expects). Callers check their service's limits first.
pub fn cut(source: Source, size: u64, part_size: u64) -> Vec<Part> {
    let part_size = part_size.max(1);
    let count = size.div_ceil(part_size).max(1);
    (0..count)
        .map(|i| {
            let start = i * part_size;
            Part { source, number: i as u32 + 1, start, end: (start + part_size).min(size) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn file_of_250_mib_in_100_mib_parts_gives_two_full_parts_and_a_remainder() {
        let parts = plan_parts(Source::Source1, 250 * MIB, Some(100 * MIB)).unwrap();
        let ranges: Vec<_> = parts.iter().map(|p| (p.number, p.start, p.end)).collect();
        assert_eq!(
            ranges,
            vec![(1, 0, 100 * MIB), (2, 100 * MIB, 200 * MIB), (3, 200 * MIB, 250 * MIB)]
        );
        assert!(parts.iter().all(|p| p.source == Source::Source1));
    }

    #[test]
    fn default_part_size_is_the_healthomics_maximum() {
        let parts = plan_parts(Source::Source2, MAX_PART_SIZE + 1, None).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].len(), MAX_PART_SIZE);
        assert_eq!(parts[1].len(), 1);
        assert_eq!(parts[1].source, Source::Source2);
    }

    #[test]
    fn small_file_is_one_part() {
        let parts = plan_parts(Source::Source1, 1234, None).unwrap();
        assert_eq!(parts, vec![Part { source: Source::Source1, number: 1, start: 0, end: 1234 }]);
    }

    #[test]
    fn one_terabyte_file_fits_in_default_parts_with_u64_sizes() {
        let size = 1_000_000_000_000u64;
        let parts = plan_parts(Source::Source1, size, None).unwrap();
        assert_eq!(parts.len(), 9537);
        assert_eq!(parts.last().unwrap().end, size);
        assert_eq!(parts.last().unwrap().number, 9537);
    }

    #[test]
    fn one_tebibyte_needs_more_than_ten_thousand_parts_and_is_refused() {
        let err = plan_parts(Source::Source1, 1u64 << 40, None).unwrap_err();
        assert_eq!(err, PlanError::TooManyParts { size: 1 << 40, part_size: MAX_PART_SIZE, parts: 10486 });
        assert!(err.to_string().contains("at most 10000"));
    }

    #[test]
    fn bad_part_sizes_and_empty_files_are_refused() {
        assert_eq!(plan_parts(Source::Source1, 10, Some(0)), Err(PlanError::ZeroPartSize));
        assert_eq!(
            plan_parts(Source::Source1, 10, Some(MAX_PART_SIZE + 1)),
            Err(PlanError::PartTooLarge(MAX_PART_SIZE + 1))
        );
        assert_eq!(plan_parts(Source::Source1, 0, None), Err(PlanError::EmptyFile));
    }
}
