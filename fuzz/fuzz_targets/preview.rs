//! Fuzz target `preview`: arbitrary bytes, in arbitrary chunks, into the read set preview parsers
//! (`readset_upload::preview`).
//!
//! Invariants: no parser panics or loops; the chunking never changes a result (reads, headers,
//! error messages), except where damaged gzip data is found in one step with the output before
//! it; a FASTQ preview of `gzip(data)` gives exactly the reads of the plain `data`; every read
//! has as many qualities as bases.
#![no_main]

use std::io::Write;

use readset_upload::preview::{
    AlignmentHeader, BamHeaderReader, CramHeaderReader, FastqPreview, FastqSample, PreviewError, PreviewErrorKind,
};

/// Splits `data` into chunks whose sizes follow a small generator seeded by `seed`.
fn chunks(data: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut x = seed as u32 | 1;
    while !rest.is_empty() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = match x >> 29 {
            0 => rest.len(),
            1..=3 => 1 + (x >> 8) as usize % 4,
            _ => 1 + (x >> 8) as usize % 300,
        }
        .min(rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    out
}

fn fastq(parts: &[&[u8]], max: usize, at_eof: bool) -> Result<FastqSample, PreviewError> {
    let mut p = FastqPreview::new(max);
    for c in parts {
        if p.push(c)? {
            break;
        }
    }
    p.finish(at_eof)
}

fn header<R>(parts: &[&[u8]], at_eof: bool, mut r: R, push: fn(&mut R, &[u8]) -> Result<bool, PreviewError>, finish: fn(R, bool) -> Result<AlignmentHeader, PreviewError>) -> Result<AlignmentHeader, PreviewError> {
    for c in parts {
        if push(&mut r, c)? {
            break;
        }
    }
    finish(r, at_eof).map(|h| AlignmentHeader { compressed_bytes_read: 0, ..h })
}

fn bam(parts: &[&[u8]], at_eof: bool) -> Result<AlignmentHeader, PreviewError> {
    header(parts, at_eof, BamHeaderReader::new(), BamHeaderReader::push, BamHeaderReader::finish)
}

fn cram(parts: &[&[u8]], at_eof: bool) -> Result<AlignmentHeader, PreviewError> {
    header(parts, at_eof, CramHeaderReader::new(), CramHeaderReader::push, CramHeaderReader::finish)
}

fn corrupt<T>(r: &Result<T, PreviewError>) -> bool {
    matches!(r, Err(e) if e.kind == PreviewErrorKind::Corrupt)
}

/// Equal, unless one side met damaged gzip data (where that is noticed may depend on chunking).
fn same<T: PartialEq + std::fmt::Debug>(a: &Result<T, PreviewError>, b: &Result<T, PreviewError>) {
    if !corrupt(a) && !corrupt(b) {
        assert_eq!(a, b);
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn check_reads(s: &FastqSample, max: usize) {
    assert!(s.reads.len() <= max);
    for r in &s.reads {
        assert_eq!(r.sequence.len(), r.quality.len());
    }
}

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let [seed, flags, data @ ..] = input else { return };
    let max = (flags % 8) as usize;
    let at_eof = flags & 8 != 0;
    let whole: Vec<&[u8]> = if data.is_empty() { Vec::new() } else { vec![data] };
    let parts = chunks(data, *seed);

    let a = fastq(&whole, max, at_eof);
    let b = fastq(&parts, max, at_eof);
    let strip = |r: Result<FastqSample, PreviewError>| r.map(|s| FastqSample { compressed_bytes_read: 0, ..s });
    if let Ok(s) = &a {
        check_reads(s, max);
    }
    same(&strip(a.clone()), &strip(b));
    if data.first().is_some_and(|&b| b != 0x1f) {
        // The same text gzipped: the same reads (or the same text error).
        let gz = gzip(data);
        let c = fastq(&chunks(&gz, seed.wrapping_add(1)), max, at_eof);
        match (&a, &c) {
            (Ok(x), Ok(y)) => assert_eq!((&x.reads, x.complete, x.end_of_data), (&y.reads, y.complete, y.end_of_data)),
            (Err(x), Err(y)) => assert_eq!(x.kind, y.kind),
            _ => panic!("plain {a:?} but gzip {c:?}"),
        }
    }

    same(&bam(&whole, at_eof), &bam(&parts, at_eof));
    // Valid BGZF around arbitrary content reaches the header parsing.
    let gz = gzip(data);
    same(&bam(&[&gz[..]], at_eof), &bam(&chunks(&gz, *seed), at_eof));
    same(&cram(&whole, at_eof), &cram(&parts, at_eof));
});
