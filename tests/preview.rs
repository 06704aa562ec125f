//! Read set previews against fixtures written by an independent writer (pysam / htslib, see
//! tests/fixtures/make.py): first FASTQ reads, BAM / uBAM / CRAM headers, in any chunking, and
//! the errors for truncated, damaged and wrong data.

use std::io::Write;

use readset_upload::preview::{
    AlignmentFormat, AlignmentHeader, BamHeaderReader, CramHeaderReader, FastqPreview, FastqRead, FastqSample,
    PreviewError, PreviewErrorKind,
};
use readset_upload::{Error, ErrorKind};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The reads make.py wrote, from its own listing (not parsed from the FASTQ).
fn expected_reads() -> Vec<FastqRead> {
    String::from_utf8(fixture("reads.expected.tsv"))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            FastqRead { name: f[0].into(), sequence: f[1].into(), quality: f[2].into() }
        })
        .collect()
}

fn header_lines(name: &str, tag: &str) -> Vec<String> {
    String::from_utf8(fixture(name)).unwrap().lines().filter(|l| l.starts_with(tag)).map(String::from).collect()
}

/// Pushes `data` in `chunk`-byte pieces until the preview says it has enough; returns the
/// sample and the bytes pushed.
fn fastq(data: &[u8], max_reads: usize, chunk: usize, at_eof: bool) -> (Result<FastqSample, PreviewError>, usize) {
    let mut p = FastqPreview::new(max_reads);
    let mut pushed = 0;
    for c in data.chunks(chunk.max(1)) {
        pushed += c.len();
        match p.push(c) {
            Ok(true) => return (p.finish(at_eof), pushed),
            Ok(false) => {}
            Err(e) => {
                // The error sticks, and finish reports it too.
                assert_eq!(p.push(b"@r\nA\n+\nI\n").unwrap_err(), e);
                assert_eq!(p.finish(at_eof).unwrap_err(), e);
                return (Err(e), pushed);
            }
        }
    }
    (p.finish(at_eof), pushed)
}

fn bam(data: &[u8], chunk: usize, at_eof: bool) -> Result<AlignmentHeader, PreviewError> {
    let mut r = BamHeaderReader::new();
    for c in data.chunks(chunk.max(1)) {
        if r.push(c)? {
            // Enough: more bytes change nothing.
            assert!(r.push(b"garbage").unwrap());
            break;
        }
    }
    r.finish(at_eof)
}

fn cram(data: &[u8], chunk: usize, at_eof: bool) -> Result<AlignmentHeader, PreviewError> {
    let mut r = CramHeaderReader::new();
    for c in data.chunks(chunk.max(1)) {
        if r.push(c)? {
            assert!(r.push(b"garbage").unwrap());
            break;
        }
    }
    r.finish(at_eof)
}

const CHUNKS: [usize; 4] = [1, 7, 4096, usize::MAX];

#[test]
fn the_first_reads_of_a_bgzip_fastq_equal_the_fixture_whatever_the_chunking() {
    let gz = fixture("reads.fastq.gz");
    let want = expected_reads();
    for chunk in CHUNKS {
        let (s, pushed) = fastq(&gz, 5, chunk, false);
        let s = s.unwrap();
        assert_eq!(s.reads, want[..5], "chunk {chunk}");
        assert!(s.complete && !s.end_of_data && s.gzip);
        assert!(s.compressed_bytes_read <= pushed as u64);
        if chunk < 4096 {
            // Five reads lie in the first two 700-byte BGZF blocks.
            assert!(pushed < gz.len() / 2, "{pushed} of {}", gz.len());
        }
    }
}

#[test]
fn all_reads_of_small_files_in_every_form_and_chunking() {
    let want = expected_reads();
    for name in ["reads.fastq.gz", "reads.fastq"] {
        let data = fixture(name);
        for chunk in CHUNKS {
            let (s, pushed) = fastq(&data, 1000, chunk, true);
            let s = s.unwrap_or_else(|e| panic!("{name} chunk {chunk}: {e}"));
            assert_eq!(s.reads, want, "{name} chunk {chunk}");
            assert!(s.complete && s.end_of_data);
            assert_eq!((s.compressed_bytes_read, pushed), (data.len() as u64, data.len()));
            assert_eq!(s.gzip, name.ends_with(".gz"));
        }
    }
}

#[test]
fn crlf_line_ends_are_accepted() {
    let data = fixture("reads.crlf.fastq");
    let n = data.iter().filter(|&&b| b == b'\n').count() / 4;
    assert!(n >= 5);
    for chunk in CHUNKS {
        let s = fastq(&data, 1000, chunk, true).0.unwrap();
        assert_eq!(s.reads, expected_reads()[..n], "chunk {chunk}");
    }
}

#[test]
fn push_says_enough_as_soon_as_the_reads_are_parsed_and_ignores_the_rest() {
    let gz = fixture("reads.fastq.gz");
    let mut p = FastqPreview::new(3);
    let mut at = None;
    for (i, c) in gz.chunks(7).enumerate() {
        if p.push(c).unwrap() {
            at = Some(i);
            break;
        }
    }
    let at = at.expect("push never said enough");
    // One chunk fewer is not enough: the true came at the first possible chunk.
    let (s, _) = fastq(&gz[..at * 7], 3, 7, false);
    assert!(s.unwrap().reads.len() < 3);
    assert!(p.push(&[0xff; 100]).unwrap(), "bytes after enough are ignored, even garbage");
    let s = p.finish(true).unwrap();
    assert_eq!(s.reads, expected_reads()[..3]);
    assert!(s.compressed_bytes_read <= (at as u64 + 1) * 7);
    assert!(!s.end_of_data);
}

#[test]
fn zero_reads_asked_is_enough_at_once() {
    let mut p = FastqPreview::new(0);
    assert!(p.push(b"").unwrap());
    assert!(p.finish(false).unwrap().reads.is_empty());
}

/// Truncated at every offset: a partial result that is a prefix of the fixture's reads, or at
/// the end of the data an error naming the read and the bytes read; never a panic or a wrong read.
fn truncation_everywhere(data: &[u8]) {
    let want = expected_reads();
    let mut errors = 0;
    for cut in 0..=data.len() {
        let part = &data[..cut];
        let s = fastq(part, 1000, usize::MAX, false).0.unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        assert_eq!(s.reads, want[..s.reads.len()], "cut {cut}");
        assert!(!s.complete);
        match fastq(part, 1000, usize::MAX, true).0 {
            Ok(t) => {
                assert_eq!(t.reads, want[..t.reads.len()], "cut {cut}");
                assert!(t.reads.len() >= s.reads.len());
                assert!(t.end_of_data);
            }
            Err(e) => {
                errors += 1;
                assert_eq!(e.kind, PreviewErrorKind::Truncated, "cut {cut}: {e}");
                let n = s.reads.len() + 1;
                let msg = format!("the data ended inside read {n} (after {cut} compressed bytes");
                assert!(e.message.starts_with(&msg), "cut {cut}: {e}");
            }
        }
    }
    assert!(errors > data.len() / 2, "{errors} errors in {} cuts", data.len());
    // One cut fed byte by byte gives the same answer as whole.
    let cut = data.len() * 2 / 3;
    assert_eq!(fastq(&data[..cut], 1000, 1, true).0, fastq(&data[..cut], 1000, usize::MAX, true).0);
}

#[test]
fn a_bgzip_fastq_truncated_at_every_offset() {
    truncation_everywhere(&fixture("reads.fastq.gz"));
}

#[test]
fn a_plain_fastq_truncated_at_every_offset() {
    truncation_everywhere(&fixture("reads.fastq"));
}

#[test]
fn the_truncation_message_in_full() {
    let gz = fixture("reads.fastq.gz");
    let e = fastq(&gz[..1000], 1000, usize::MAX, true).0.unwrap_err();
    let n = fastq(&gz[..1000], 1000, usize::MAX, false).0.unwrap().reads.len();
    assert_eq!(e.message, format!("the data ended inside read {} (after 1000 compressed bytes)", n + 1));
    let e = fastq(b"@r1\nACGT\n+\nIIII\n@r2\nAC", 10, 3, true).0.unwrap_err();
    assert_eq!(e.message, "the data ended inside read 2 (after 22 compressed bytes)");
    let e = fastq(b"@r1\nACGT\n+\nII", 10, 3, true).0.unwrap_err();
    assert_eq!(e.message, "the data ended inside read 1 (after 13 compressed bytes)");
    // A last line without its newline is complete when it is as long as the sequence.
    let s = fastq(b"@r1\nACGT\n+\nIIII", 10, 3, true).0.unwrap();
    assert_eq!(s.reads.len(), 1);
}

/// Where the first member's deflate data lies (BGZF: 18-byte header, 8-byte trailer).
fn first_members(gz: &[u8], count: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for _ in 0..count {
        assert_eq!(&gz[at..at + 4], &[0x1f, 0x8b, 8, 4]);
        let bsize = u16::from_le_bytes([gz[at + 16], gz[at + 17]]) as usize + 1;
        out.push((at, at + bsize));
        at += bsize;
    }
    out
}

#[test]
fn a_flipped_byte_anywhere_in_the_first_members_gives_an_error_never_a_wrong_read() {
    let gz = fixture("reads.fastq.gz");
    let want = expected_reads();
    let (mut errors, mut corrupt, mut total) = (0, 0, 0);
    for (start, end) in first_members(&gz, 2) {
        for i in start..end {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut bad = gz.clone();
                bad[i] ^= mask;
                total += 1;
                match fastq(&bad, 1000, 64, true).0 {
                    Ok(s) => assert_eq!(s.reads, want, "byte {i} ^ {mask:#x} gave other reads"),
                    Err(e) => {
                        errors += 1;
                        if e.kind == PreviewErrorKind::Corrupt {
                            corrupt += 1;
                            assert!(e.message.starts_with("the gzip data is damaged: "), "{e}");
                            assert!(e.message.contains(&format!("(which starts at compressed byte {start})")), "{e}");
                        }
                    }
                }
            }
        }
    }
    // Only bits deflate ignores (the padding of a member's last byte, BGZF's unused header fields:
    // MTIME, XFL, OS) may go unnoticed.
    assert!(errors * 100 >= total * 95, "{errors} errors of {total} flips");
    assert!(corrupt * 2 > errors, "{corrupt} corrupt of {errors}");
    // The CRC itself.
    let (_, end) = first_members(&gz, 1)[0];
    let mut bad = gz.clone();
    bad[end - 8] ^= 1;
    let e = fastq(&bad, 1000, usize::MAX, true).0.unwrap_err();
    assert_eq!(e.message, "the gzip data is damaged: a CRC-32 mismatch in gzip member 1 (which starts at compressed byte 0)");
}

#[test]
fn garbage_after_the_last_gzip_member_is_refused() {
    let mut gz = fixture("reads.fastq.gz");
    let len = gz.len();
    gz.extend_from_slice(b"\0\0\0\0");
    let e = fastq(&gz, 1000, 5, true).0.unwrap_err();
    assert_eq!(e.kind, PreviewErrorKind::NotFastq);
    let members = first_members(&gz, 1).len(); // at least one
    assert!(members >= 1);
    assert!(e.message.starts_with("not gzip after gzip member "), "{e}");
    assert!(e.message.ends_with(&format!("the data at compressed byte {len} does not start a gzip member")), "{e}");
}

#[test]
fn text_that_is_not_fastq_is_named_as_such() {
    let cases: [(&[u8], &str); 7] = [
        (b"hello world\nfoo\n", "not FASTQ: a read must start with '@', this line starts with \"hello world\" (line 1, read 1)"),
        (b">chr1\nACGT\n", "not FASTQ: this looks like FASTA (it starts with '>'), not FASTQ"),
        (b"@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:3\n", "not FASTQ: this looks like a SAM header (it starts with @HD or @SQ), not FASTQ"),
        (b"@r1\nACGT\n-\nIIII\n", "not FASTQ: the line after the sequence must start with '+', it starts with \"-\" (multi-line FASTQ is not supported) (line 3, read 1)"),
        (b"@r1\nACGT\n+\nIII\n", "not FASTQ: the sequence has 4 bases but the quality line 3 characters (line 4, read 1)"),
        (b"@r1\nACGT\n+\nIIII\n\n@r2\nA\n+\nI\n", "not FASTQ: line 5 is blank, between reads 1 and 2"),
        (b"@r1\nAC GT\n+\nIIIII\n", "not FASTQ: the sequence line has the character \" \" (line 2, read 1)"),
    ];
    for (data, msg) in cases {
        for chunk in [1, 5, usize::MAX] {
            let e = fastq(data, 10, chunk, true).0.unwrap_err();
            assert_eq!(e.message, msg, "chunk {chunk}");
            assert_eq!(e.kind, PreviewErrorKind::NotFastq);
        }
    }
    // Trailing blank lines at the end of a file are fine.
    assert_eq!(fastq(b"@r1\nACGT\n+\nIIII\n\n\n", 10, 1, true).0.unwrap().reads.len(), 1);
}

#[test]
fn a_line_longer_than_a_mebibyte_is_refused_without_waiting_for_its_end() {
    let mut data = b"@r1\n".to_vec();
    data.extend(std::iter::repeat_n(b'A', (1 << 20) + 10));
    let e = fastq(&data, 10, 65536, false).0.unwrap_err();
    assert_eq!(e.kind, PreviewErrorKind::TooLarge);
    assert_eq!(e.message, "not FASTQ: a line of more than 1 MiB (line 2, read 1)");
}

#[test]
fn alignment_files_given_to_the_fastq_preview_are_named() {
    for chunk in CHUNKS {
        let e = fastq(&fixture("aligned.bam"), 10, chunk, true).0.unwrap_err();
        assert_eq!(e.message, "not FASTQ: this is a BAM file (it starts with BAM\\1)");
        let e = fastq(&fixture("aligned.cram"), 10, chunk, true).0.unwrap_err();
        assert_eq!(e.message, "not FASTQ: this is a CRAM file (it starts with CRAM)");
        let e = fastq(&fixture("unaligned.bam"), 10, chunk, true).0.unwrap_err();
        assert_eq!(e.message, "not FASTQ: this is a BAM file (it starts with BAM\\1)");
    }
}

fn check_aligned(h: &AlignmentHeader, sam: &str) {
    assert_eq!(h.hd.as_deref(), Some("@HD\tVN:1.6\tSO:coordinate"));
    assert_eq!(h.reference_count, 3);
    assert_eq!(h.sq_lines, 3);
    assert_eq!(h.read_groups, header_lines(sam, "@RG"));
    assert_eq!(h.read_groups.len(), 2);
    assert_eq!(h.programs, header_lines(sam, "@PG"));
    assert_eq!(h.programs.len(), 2);
    assert_eq!(h.comments, vec!["@CO\tmade by tests/fixtures/make.py".to_string()]);
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
}

#[test]
fn the_bam_header_whatever_the_chunking() {
    let data = fixture("aligned.bam");
    let text = fixture("aligned.bam.header.sam");
    for chunk in CHUNKS {
        let h = bam(&data, chunk, false).unwrap();
        assert_eq!(h.format, AlignmentFormat::Bam);
        assert_eq!(h.version, None);
        check_aligned(&h, "aligned.bam.header.sam");
        assert!(h.text_bytes >= text.len() && h.text_bytes <= text.len() + 1, "{} vs {}", h.text_bytes, text.len());
        assert!(h.compressed_bytes_read <= data.len() as u64);
    }
}

#[test]
fn the_ubam_header_has_one_read_group_and_no_references() {
    let data = fixture("unaligned.bam");
    for chunk in CHUNKS {
        let h = bam(&data, chunk, true).unwrap();
        assert_eq!(h.hd.as_deref(), Some("@HD\tVN:1.6\tSO:queryname"));
        assert_eq!((h.reference_count, h.sq_lines), (0, 0));
        assert_eq!(h.read_groups, vec!["@RG\tID:A\tSM:sample1\tLB:lib1\tPL:ILLUMINA".to_string()]);
        assert!(h.programs.is_empty() && h.comments.is_empty() && h.warnings.is_empty());
    }
}

#[test]
fn a_bam_truncated_at_every_offset_gives_the_header_or_says_where_it_ended() {
    for name in ["aligned.bam", "unaligned.bam"] {
        let data = fixture(name);
        let full = bam(&data, usize::MAX, true).unwrap();
        let mut oks = 0;
        for cut in 0..=data.len() {
            match bam(&data[..cut], usize::MAX, true) {
                Ok(h) => {
                    oks += 1;
                    assert!(h.compressed_bytes_read <= cut as u64);
                    assert_eq!(AlignmentHeader { compressed_bytes_read: 0, ..h }, AlignmentHeader { compressed_bytes_read: 0, ..full.clone() }, "{name} cut {cut}");
                }
                Err(e) => {
                    assert_eq!(e.kind, PreviewErrorKind::Truncated, "{name} cut {cut}: {e}");
                    assert_eq!(e.message, format!("the data ended inside the BAM header (after {cut} compressed bytes)"));
                }
            }
            let e = bam(&data[..cut.min(10)], 3, false).unwrap_err();
            assert!(e.message.starts_with("more data is needed to read the BAM header"), "{e}");
        }
        assert!(oks > 0);
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn bam_bytes(text: &[u8], n_ref: i32, l_text: i32) -> Vec<u8> {
    let mut b = b"BAM\x01".to_vec();
    b.extend(l_text.to_le_bytes());
    b.extend(text);
    b.extend(n_ref.to_le_bytes());
    gzip(&b)
}

#[test]
fn bam_header_sizes_and_counts_are_checked() {
    let text = b"@HD\tVN:1.6\n@SQ\tSN:a\tLN:1\n@SQ\tSN:b\tLN:2\n\0\0";
    let h = bam(&bam_bytes(text, 3, text.len() as i32), 1, true).unwrap();
    assert_eq!((h.reference_count, h.sq_lines), (3, 2));
    assert_eq!(h.warnings, vec!["the binary header lists 3 references but the header text has 2 @SQ lines".to_string()]);
    assert_eq!(h.text_bytes, text.len());
    let e = bam(&bam_bytes(b"", 0, -1), 7, true).unwrap_err();
    assert_eq!(e.message, "the BAM header text length is -1 bytes: not between 0 and 64 MiB");
    let e = bam(&bam_bytes(b"", 0, 64 << 20 | 1), 7, true).unwrap_err();
    assert_eq!((e.kind, e.message.as_str()), (PreviewErrorKind::TooLarge, "the BAM header text length is 67108865 bytes: not between 0 and 64 MiB"));
    let e = bam(&bam_bytes(b"", -5, 0), 7, true).unwrap_err();
    assert_eq!(e.message, "the BAM header lists -5 references: not between 0 and 100000000");
}

#[test]
fn a_bam_header_over_several_bgzf_blocks_is_read_and_nothing_after_it() {
    let mut text = b"@HD\tVN:1.6\tSO:coordinate\n".to_vec();
    for i in 0..4000 {
        text.extend(format!("@SQ\tSN:contig_{i}\tLN:{}\n", 1000 + i).as_bytes());
    }
    text.extend(b"@RG\tID:x\tSM:y\n");
    let mut raw = b"BAM\x01".to_vec();
    raw.extend((text.len() as i32).to_le_bytes());
    raw.extend(&text);
    raw.extend(4000i32.to_le_bytes());
    raw.extend([0xab; 64]); // the start of the reference entries: never needed
    let mut file = Vec::new();
    for block in raw.chunks(30_000) {
        file.extend(gzip(block));
    }
    let header_end = file.len();
    file.extend(b"this is not BGZF: never read");
    for chunk in CHUNKS {
        let h = bam(&file, chunk, true).unwrap();
        assert_eq!((h.reference_count, h.sq_lines, h.text_bytes), (4000, 4000, text.len()));
        assert_eq!(h.read_groups, vec!["@RG\tID:x\tSM:y".to_string()]);
        assert!(h.compressed_bytes_read <= header_end as u64, "chunk {chunk}");
    }
}

#[test]
fn a_fastq_in_one_big_gzip_member_is_previewed_from_its_first_bytes() {
    // As `gzip` (not bgzip) writes it: one member for the whole file.
    let text: Vec<u8> = (0..100_000).flat_map(|i| format!("@read{i}\nACGTACGTAC\n+\nIIIIIIIIII\n").into_bytes()).collect();
    let gz = gzip(&text);
    let mut p = FastqPreview::new(3);
    assert!(p.push(&gz).unwrap());
    let s = p.finish(false).unwrap();
    assert_eq!(s.reads.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["read0", "read1", "read2"]);
    // Only the first 64 KiB step of output was inflated, not the 3.7 MB of text.
    assert!(s.compressed_bytes_read * 10 < gz.len() as u64, "{} of {}", s.compressed_bytes_read, gz.len());
}

#[test]
fn what_is_not_bam_is_named() {
    let e = bam(&fixture("reads.fastq.gz"), 1, true).unwrap_err();
    assert_eq!(e.kind, PreviewErrorKind::NotBam);
    assert_eq!(e.message, "not BAM: the first bytes (after BGZF decompression) are 40 4d 30 3a 31 37 3a 46 (\"@M0:17:F\")");
    for chunk in CHUNKS {
        let e = bam(&fixture("reads.fastq"), chunk, true).unwrap_err();
        assert_eq!(e.message, "not BAM: the first bytes are 40 4d 30 3a (\"@M0:\"): this looks like FASTQ or SAM text");
        let e = bam(&fixture("aligned.cram"), chunk, true).unwrap_err();
        assert_eq!(e.message, "not BAM: the first bytes are 43 52 41 4d (\"CRAM\"): this is a CRAM file");
    }
    let e = bam(b"BA", 1, true).unwrap_err();
    assert_eq!(e.message, "not BAM: the first bytes are 42 41 (\"BA\")");
    let e = bam(b"", 1, true).unwrap_err();
    assert_eq!(e.message, "the data ended inside the BAM header (after 0 compressed bytes)");
}

#[test]
fn a_damaged_bam_header_block_is_an_error() {
    let data = fixture("aligned.bam");
    let mut errors = 0;
    for i in 18..60 {
        let mut bad = data.clone();
        bad[i] ^= 0xff;
        if let Err(e) = bam(&bad, 5, true) {
            errors += 1;
            assert!(matches!(e.kind, PreviewErrorKind::Corrupt | PreviewErrorKind::NotBam | PreviewErrorKind::TooLarge | PreviewErrorKind::Truncated), "{e}");
        }
    }
    assert!(errors >= 40, "{errors}");
}

#[test]
fn the_cram_header_whatever_the_chunking() {
    let data = fixture("aligned.cram");
    for chunk in CHUNKS {
        let h = cram(&data, chunk, false).unwrap();
        assert_eq!(h.format, AlignmentFormat::Cram);
        assert_eq!(h.version.as_deref(), Some("3.1")); // htslib 1.21 writes CRAM 3.1
        check_aligned(&h, "aligned.cram.header.sam");
        assert!(h.compressed_bytes_read < data.len() as u64);
    }
}

#[test]
fn a_cram_truncated_at_every_offset_gives_the_header_or_says_where_it_ended() {
    let data = fixture("aligned.cram");
    let full = cram(&data, usize::MAX, true).unwrap();
    for cut in 0..=data.len() {
        match cram(&data[..cut], usize::MAX, true) {
            Ok(h) => assert_eq!(h, full, "cut {cut}"),
            Err(e) => {
                assert_eq!(e.kind, PreviewErrorKind::Truncated, "cut {cut}: {e}");
                assert_eq!(e.message, format!("the data ended inside the CRAM header (after {cut} compressed bytes)"));
            }
        }
    }
    for i in 26..200 {
        let mut bad = data.clone();
        bad[i] ^= 0x10;
        let e = cram(&bad, 9, true).unwrap_err();
        assert!(matches!(e.kind, PreviewErrorKind::Corrupt | PreviewErrorKind::TooLarge | PreviewErrorKind::Truncated), "byte {i}: {e}");
    }
}

fn itf8(v: u32) -> Vec<u8> {
    match v {
        0..=0x7f => vec![v as u8],
        0x80..=0x3fff => vec![0x80 | (v >> 8) as u8, v as u8],
        _ => vec![0xc0 | (v >> 16) as u8, (v >> 8) as u8, v as u8],
    }
}

fn crc(b: &[u8]) -> [u8; 4] {
    let mut c = flate2::Crc::new();
    c.update(b);
    c.sum().to_le_bytes()
}

/// A CRAM 3.1 file definition and header container whose one block is stored with `method`.
fn cram_with(method: u8, text: &[u8]) -> Vec<u8> {
    cram_version(3, 1, method, text)
}

/// The same for CRAM `major.minor` (no CRC-32s before 3.0).
fn cram_version(major: u8, minor: u8, method: u8, text: &[u8]) -> Vec<u8> {
    let crc = |b: &[u8]| if major >= 3 { crc(b).to_vec() } else { Vec::new() };
    let mut payload = (text.len() as i32).to_le_bytes().to_vec();
    payload.extend(text);
    let raw = payload.len() as u32;
    if method == 1 {
        payload = gzip(&payload);
    }
    let mut block = vec![method, 0, 0];
    block.extend(itf8(payload.len() as u32));
    block.extend(itf8(raw));
    block.extend(&payload);
    let c = crc(&block);
    block.extend(c);
    let mut head = (block.len() as i32).to_le_bytes().to_vec();
    head.extend([0, 0, 0, 0, 0, 0, 1, 1, 0]); // ref, start, span, records, counter, bases, 1 block, 1 landmark (0)
    let c = crc(&head);
    head.extend(c);
    let mut f = vec![b'C', b'R', b'A', b'M', major, minor];
    f.extend(b"made-in-the-test\0\0\0\0");
    f.extend(head);
    f.extend(block);
    f
}

#[test]
fn cram_headers_stored_raw_or_gzip_are_read_and_other_methods_are_named() {
    let text = b"@HD\tVN:1.6\n@SQ\tSN:x\tLN:5\n@RG\tID:a\n";
    // Also one of 20 000 bytes, whose sizes take 3-byte ITF8s.
    let long: Vec<u8> = [&text[..], &b"@CO\tpadding padding padding padding padding\n".repeat(500)].concat();
    for chunk in [1, 1000, usize::MAX] {
        for method in [0, 1] {
            let h = cram(&cram_with(method, &long), chunk, true).unwrap();
            assert_eq!((h.text_bytes, h.comments.len(), h.reference_count), (long.len(), 500, 1));
        }
    }
    for method in [0, 1] {
        for chunk in [1, 3, usize::MAX] {
            let h = cram(&cram_with(method, text), chunk, true).unwrap();
            assert_eq!(h.version.as_deref(), Some("3.1"));
            assert_eq!((h.reference_count, h.sq_lines, h.text_bytes), (1, 1, text.len()));
            assert_eq!(h.read_groups, vec!["@RG\tID:a".to_string()]);
        }
    }
    for (m, name) in [(4, "rANS 4x8"), (5, "rANS Nx16"), (3, "lzma"), (2, "bzip2"), (9, "unknown method 9")] {
        let e = cram(&cram_with(m, text), 2, true).unwrap_err();
        assert_eq!(e.kind, PreviewErrorKind::Unsupported);
        assert_eq!(e.message, format!("CRAM header compressed with {name}: not previewed (only raw and gzip are)"));
    }
    let mut bad = cram_with(0, text);
    let n = bad.len();
    bad[n - 6] ^= 1;
    assert_eq!(cram(&bad, 4, true).unwrap_err().message, "the CRAM header is damaged: the header block's CRC-32 does not match");
    let mut bad = cram_with(0, text);
    bad[30] ^= 1;
    assert_eq!(cram(&bad, 4, true).unwrap_err().message, "the CRAM header is damaged: the header container's CRC-32 does not match");
    let mut v4 = cram_with(0, text);
    v4[4] = 4;
    assert_eq!(cram(&v4, 4, true).unwrap_err().message, "CRAM version 4.1: not previewed (CRAM 2.1, 3.0 and 3.1 are)");
}

#[test]
fn a_cram_2_1_header_without_crcs_is_read() {
    let text = b"@HD\tVN:1.4\n@SQ\tSN:x\tLN:5\n@SQ\tSN:y\tLN:5\n";
    let h = cram(&cram_version(2, 1, 1, text), 3, true).unwrap();
    assert_eq!((h.version.as_deref(), h.reference_count), (Some("2.1"), 2));
}

#[test]
fn what_is_not_cram_is_named() {
    let e = cram(&fixture("aligned.bam"), 1, true).unwrap_err();
    assert_eq!(e.kind, PreviewErrorKind::NotCram);
    assert_eq!(e.message, "not CRAM: the first bytes are 1f 8b 08 04 00 00 00 00 (\"........\"): gzip data (a gzipped FASTQ or a BAM)");
    let e = cram(b"CRA", 1, true).unwrap_err();
    assert_eq!(e.message, "the data ended inside the CRAM header (after 3 compressed bytes)");
    let e = cram(b"@r1\n", 1, true).unwrap_err();
    assert_eq!(e.message, "not CRAM: the first bytes are 40 72 31 0a (\"@r1.\"): this looks like FASTQ or SAM text");
}

#[test]
fn preview_errors_reach_js_as_protocol_errors() {
    let e = fastq(b"hello\n", 1, 1, true).0.unwrap_err();
    let err: Error = e.clone().into();
    assert_eq!((err.kind, err.code()), (ErrorKind::Protocol, "protocol"));
    assert_eq!(err.message, e.message);
    assert!(!err.retryable());
}

#[test]
fn results_serialize_with_camel_case_names() {
    let s = fastq(&fixture("reads.fastq.gz"), 2, 100, false).0.unwrap();
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["reads"][0]["sequence"], expected_reads()[0].sequence.as_str());
    assert_eq!(v["compressedBytesRead"], s.compressed_bytes_read);
    assert_eq!((v["complete"].as_bool(), v["endOfData"].as_bool()), (Some(true), Some(false)));
    let h = bam(&fixture("aligned.bam"), 100, true).unwrap();
    let v = serde_json::to_value(&h).unwrap();
    assert_eq!(v["format"], "BAM");
    assert_eq!(v["referenceCount"], 3);
    assert_eq!(v["readGroups"].as_array().unwrap().len(), 2);
    assert_eq!(v["sqLines"], 3);
    assert!(v["textBytes"].is_number() && v["compressedBytesRead"].is_number());
    assert_eq!(serde_json::to_value(PreviewErrorKind::NotFastq).unwrap(), "not_fastq");
}
