//! Input checks, done before any network call.
//!
//! [`UploadSpec`] is the JSON part of the JS options (everything but the `File` objects, the
//! `AbortSignal` and the progress callback); [`FileInfo`] describes each file. [`validate`]
//! checks them against the HealthOmics constraints (lengths, ID patterns, file types, pairs,
//! reference, extensions, sizes, part size) and returns a [`ValidUpload`]: the Create body and
//! the part plan, ready for the engine. Every refusal is an `invalid_input` error naming the
//! option and what to do.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::error::Error;
use crate::omics::CreateUpload;
use crate::plan::{plan_parts, Part, Source, MAX_PART_SIZE};
use crate::retry::RetryConfig;

/// Default number of parts in flight.
pub const DEFAULT_CONCURRENCY: u32 = 4;
/// Largest accepted `concurrency`.
pub const MAX_CONCURRENCY: u32 = 32;
/// Default bytes read from a file into wasm memory at once for hashing (4 MiB).
pub const DEFAULT_CHUNK_SIZE: u64 = 4 * 1024 * 1024;
/// Default interval between read set status polls after completion, in milliseconds.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 1000;
/// Default time to wait for the read set to leave `PROCESSING_UPLOAD`: one hour.
pub const DEFAULT_ACTIVE_TIMEOUT_MS: u64 = 3_600_000;

/// The read set file types HealthOmics accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// Gzip-compressed FASTQ (one file, or an R1/R2 pair).
    Fastq,
    /// Aligned BAM (needs `referenceArn`).
    Bam,
    /// CRAM (needs `referenceArn`).
    Cram,
    /// Unaligned BAM.
    Ubam,
}

impl FileType {
    /// Reads `FASTQ`, `BAM`, `CRAM` or `UBAM`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "FASTQ" => Some(FileType::Fastq),
            "BAM" => Some(FileType::Bam),
            "CRAM" => Some(FileType::Cram),
            "UBAM" => Some(FileType::Ubam),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Fastq => "FASTQ",
            FileType::Bam => "BAM",
            FileType::Cram => "CRAM",
            FileType::Ubam => "UBAM",
        }
    }

    /// File name endings accepted for this type (lowercase). uBAM files are usually named
    /// `.bam`, so both `.bam` and `.ubam` are accepted for `UBAM`.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FileType::Fastq => &[".fastq.gz", ".fq.gz"],
            FileType::Bam => &[".bam"],
            FileType::Cram => &[".cram"],
            FileType::Ubam => &[".bam", ".ubam"],
        }
    }
}

/// `verifyPartChecksums`: `true`, `false` or `"auto"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum VerifyOption {
    /// Always compare (`true`: a checksum that is not hex SHA-256 fails the part) or never (`false`).
    Flag(bool),
    /// `"auto"`: compare when the returned checksum looks like hex SHA-256 (the local store).
    Mode(String),
}

/// How part checksums returned by the store are checked against the part's SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyParts {
    /// Compare when the checksum is 64 hex characters; otherwise keep it as opaque (AWS).
    Auto,
    /// Always compare; a checksum that differs (in any format) fails the part.
    Always,
    /// Never compare.
    Never,
}

/// The `resume` option: `true`/`false` or `"auto"` (same as `true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ResumeOption {
    /// `true` or `false`.
    Flag(bool),
    /// `"auto"`.
    Mode(ResumeMode),
}

/// String forms of the `resume` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResumeMode {
    /// Resume when a saved upload matches, create otherwise.
    Auto,
}

/// Default of `stallTimeoutMs`.
pub const DEFAULT_STALL_TIMEOUT_MS: u64 = 60_000;

/// The JSON options of an upload (see the TypeScript `UploadOptions`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadSpec {
    /// Base URL of the HealthOmics API, e.g. `http://127.0.0.1:8080/omics`.
    pub endpoint: Option<String>,
    /// Bearer token for the proxy.
    pub token: Option<String>,
    /// Destination sequence store.
    pub sequence_store_id: Option<String>,
    /// `FASTQ`, `BAM`, `CRAM` or `UBAM`.
    pub source_file_type: Option<String>,
    /// Read set name.
    pub name: Option<String>,
    /// Subject ID.
    pub subject_id: Option<String>,
    /// Sample ID.
    pub sample_id: Option<String>,
    /// Reference ARN (BAM, CRAM).
    pub reference_arn: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Provenance.
    pub generated_from: Option<String>,
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// Idempotency token for Create; generated when absent.
    pub client_token: Option<String>,
    /// Part size in bytes (default and maximum 104,857,600).
    pub part_size: Option<u64>,
    /// Parts in flight (default 4, 1..=32).
    pub concurrency: Option<u32>,
    /// Bytes read into wasm memory at once for hashing (default 4 MiB).
    pub chunk_size: Option<u64>,
    /// Hash in Web Workers, one per core but one (default true); `false` hashes on the main thread.
    pub hash_in_workers: Option<bool>,
    /// Retry policy.
    pub retry: Option<RetryConfig>,
    /// Continue this existing upload instead of creating one.
    pub upload_id: Option<String>,
    /// `true` or `"auto"`: continue the upload saved in IndexedDB for the same files, store
    /// and part size, if any (default false: always create).
    pub resume: Option<ResumeOption>,
    /// Abort and retry a part attempt with no upload progress for this long, in milliseconds
    /// (default 60,000; 0 disables).
    pub stall_timeout_ms: Option<u64>,
    /// Compare returned part checksums with the parts' SHA-256.
    pub verify_part_checksums: Option<VerifyOption>,
    /// Compute the FASTQ ETag while uploading and compare it with the read set's (default true).
    pub verify_etag: Option<bool>,
    /// Wait for the read set to become ACTIVE (default true).
    pub wait_for_active: Option<bool>,
    /// Interval between status polls, in milliseconds (default 1000).
    pub poll_interval_ms: Option<u64>,
    /// How long to wait for ACTIVE, in milliseconds (default one hour).
    pub active_timeout_ms: Option<u64>,
    /// The `File` objects (read by the boundary, ignored here).
    pub files: Option<IgnoredAny>,
    /// The `AbortSignal` (read by the boundary).
    pub signal: Option<IgnoredAny>,
    /// The progress callback (read by the boundary).
    pub on_progress: Option<IgnoredAny>,
}

/// What the checks need to know about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The file name (`File.name`), for the extension check and messages.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
}

/// A checked upload: everything the engine needs besides the files themselves.
#[derive(Debug, Clone)]
pub struct ValidUpload {
    /// API base URL, without a trailing `/`.
    pub endpoint: String,
    /// Bearer token, if any.
    pub token: Option<String>,
    /// Destination store.
    pub store_id: String,
    /// File type.
    pub file_type: FileType,
    /// The Create body (with a client token).
    pub create: CreateUpload,
    /// Parts of each source, in order; `plans[0]` is SOURCE1.
    pub plans: Vec<Vec<Part>>,
    /// Part size used.
    pub part_size: u64,
    /// Parts in flight.
    pub concurrency: u32,
    /// Hashing read size.
    pub chunk_size: u64,
    /// Hash in Web Workers when the page allows it.
    pub hash_in_workers: bool,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Upload to continue, if resuming.
    pub upload_id: Option<String>,
    /// Look up a saved upload in IndexedDB to continue.
    pub resume: bool,
    /// Stall timeout of a part attempt (0: none).
    pub stall_timeout_ms: u64,
    /// Part checksum checking.
    pub verify_parts: VerifyParts,
    /// Whether to compute and compare the FASTQ ETag.
    pub verify_etag: bool,
    /// Whether to wait for ACTIVE.
    pub wait_for_active: bool,
    /// Poll interval.
    pub poll_interval_ms: u64,
    /// Poll deadline.
    pub active_timeout_ms: u64,
}

impl ValidUpload {
    /// Total bytes of all sources.
    pub fn total_bytes(&self) -> u64 {
        self.plans.iter().flatten().map(Part::len).sum()
    }

    /// Total number of parts of all sources.
    pub fn total_parts(&self) -> usize {
        self.plans.iter().map(Vec::len).sum()
    }
}

/// The `endpoint` option, checked once for every entry point: required, an http(s) URL;
/// returned without a trailing `/`.
pub fn check_endpoint(endpoint: Option<&str>) -> Result<String, Error> {
    let endpoint = endpoint.filter(|e| !e.is_empty()).ok_or_else(|| Error::invalid_input("`endpoint` is required"))?;
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(Error::invalid_input(format!("`endpoint` must be an http:// or https:// URL (got {endpoint:?})")));
    }
    Ok(endpoint.trim_end_matches('/').to_string())
}

/// Whether the `resume` option asks to look for a saved upload.
pub fn resume_wanted(resume: Option<ResumeOption>) -> bool {
    !matches!(resume, None | Some(ResumeOption::Flag(false)))
}

fn required(value: &Option<String>, option: &str) -> Result<String, Error> {
    match value {
        Some(v) if !v.is_empty() => Ok(v.clone()),
        _ => Err(Error::invalid_input(format!("`{option}` is required"))),
    }
}

/// Length in characters within `min..=max`, no control characters (the reference's pattern
/// `[\p{L}|\p{M}|\p{Z}|\p{S}|\p{N}|\p{P}]+` excludes them).
fn text(value: &str, option: &str, min: usize, max: usize) -> Result<(), Error> {
    let n = value.chars().count();
    if n < min || n > max {
        let what = if min == 0 { format!("at most {max}") } else { format!("{min} to {max}") };
        return Err(Error::invalid_input(format!("`{option}` must be {what} characters long (it has {n})")));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Error::invalid_input(format!("`{option}` contains the control character {:?}", c)));
    }
    Ok(())
}

fn optional_text(value: &Option<String>, option: &str, max: usize) -> Result<Option<String>, Error> {
    match value {
        Some(v) => text(v, option, 1, max).map(|_| Some(v.clone())),
        None => Ok(None),
    }
}

/// A HealthOmics ID: `[0-9]+`, 10 to 36 digits.
pub fn check_id(value: &str, option: &str) -> Result<(), Error> {
    if (10..=36).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!("`{option}` must be 10 to 36 digits (got {value:?})")))
    }
}

/// Checks the options and files; returns the checked upload or the first problem found.
/// `default_client_token` is used when the options carry none (a fresh random token).
pub fn validate(spec: &UploadSpec, files: &[FileInfo], default_client_token: &str) -> Result<ValidUpload, Error> {
    let endpoint = check_endpoint(spec.endpoint.as_deref())?;
    let store_id = required(&spec.sequence_store_id, "sequenceStoreId")?;
    check_id(&store_id, "sequenceStoreId")?;
    if let Some(id) = &spec.upload_id {
        check_id(id, "uploadId")?;
    }

    let type_name = required(&spec.source_file_type, "sourceFileType")?;
    let file_type = FileType::parse(&type_name).ok_or_else(|| {
        Error::invalid_input(format!("`sourceFileType` must be FASTQ, BAM, CRAM or UBAM (got {type_name:?})"))
    })?;

    let name = required(&spec.name, "name")?;
    text(&name, "name", 1, 127)?;
    let subject_id = required(&spec.subject_id, "subjectId")?;
    text(&subject_id, "subjectId", 1, 127)?;
    let sample_id = required(&spec.sample_id, "sampleId")?;
    text(&sample_id, "sampleId", 1, 127)?;
    let description = optional_text(&spec.description, "description", 255)?;
    let generated_from = optional_text(&spec.generated_from, "generatedFrom", 127)?;
    let reference_arn = optional_text(&spec.reference_arn, "referenceArn", 127)?;
    if let Some(arn) = &reference_arn {
        if !arn.starts_with("arn:") {
            return Err(Error::invalid_input(format!("`referenceArn` must be an ARN starting with \"arn:\" (got {arn:?})")));
        }
    }
    if matches!(file_type, FileType::Bam | FileType::Cram) && reference_arn.is_none() {
        return Err(Error::invalid_input(format!(
            "`referenceArn` is required for {}: give the ARN of the reference the reads are aligned to",
            file_type.as_str()
        )));
    }
    let client_token = optional_text(&spec.client_token, "clientToken", 127)?.unwrap_or_else(|| default_client_token.to_string());
    if let Some(tags) = &spec.tags {
        for (k, v) in tags {
            text(k, "tags key", 1, 128)?;
            text(v, &format!("tags[{k:?}]"), 0, 256)?;
        }
    }

    match files.len() {
        0 => return Err(Error::invalid_input("`files` must hold one file, or two (R1 and R2) for a FASTQ pair")),
        1 => {}
        2 if file_type == FileType::Fastq => {
            if files[0] == files[1] {
                return Err(Error::invalid_input(format!(
                    "`files` holds the same file twice ({:?}): a pair needs the R1 and the R2 file",
                    files[0].name
                )));
            }
        }
        2 => {
            return Err(Error::invalid_input(format!(
                "pairs are FASTQ only: a {} read set takes exactly one file",
                file_type.as_str()
            )))
        }
        n => return Err(Error::invalid_input(format!("`files` holds {n} files: give one, or two (R1 and R2) for a FASTQ pair"))),
    }

    let part_size = spec.part_size.unwrap_or(MAX_PART_SIZE);
    let mut plans = Vec::with_capacity(files.len());
    for (i, (file, source)) in files.iter().zip([Source::Source1, Source::Source2]).enumerate() {
        let lower = file.name.to_ascii_lowercase();
        let exts = file_type.extensions();
        if !exts.iter().any(|e| lower.ends_with(e)) {
            let hint = if file_type == FileType::Fastq && (lower.ends_with(".fastq") || lower.ends_with(".fq")) {
                " (FASTQ must be gzip-compressed: upload the .gz file)"
            } else {
                ""
            };
            return Err(Error::invalid_input(format!(
                "files[{i}] {:?} does not end in {} as a {} file must{hint}",
                file.name,
                exts.join(" or "),
                file_type.as_str()
            )));
        }
        if file.size == 0 {
            return Err(Error::invalid_input(format!("files[{i}] {:?} is empty", file.name)));
        }
        let plan = plan_parts(source, file.size, Some(part_size))
            .map_err(|e| Error::invalid_input(format!("files[{i}] {:?}: {e}", file.name)))?;
        plans.push(plan);
    }

    let concurrency = spec.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
        return Err(Error::invalid_input(format!("`concurrency` must be 1 to {MAX_CONCURRENCY} (got {concurrency})")));
    }
    let chunk_size = spec.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE);
    if !(1024..=64 * 1024 * 1024).contains(&chunk_size) {
        return Err(Error::invalid_input(format!("`chunkSize` must be 1 KiB to 64 MiB (got {chunk_size})")));
    }
    let verify_parts = match &spec.verify_part_checksums {
        None => VerifyParts::Auto,
        Some(VerifyOption::Flag(true)) => VerifyParts::Always,
        Some(VerifyOption::Flag(false)) => VerifyParts::Never,
        Some(VerifyOption::Mode(m)) if m == "auto" => VerifyParts::Auto,
        Some(VerifyOption::Mode(m)) => {
            return Err(Error::invalid_input(format!("`verifyPartChecksums` must be true, false or \"auto\" (got {m:?})")))
        }
    };
    let retry = spec.retry.clone().unwrap_or_default();
    if retry.max_attempts == 0 {
        return Err(Error::invalid_input("`retry.maxAttempts` must be at least 1"));
    }

    Ok(ValidUpload {
        endpoint,
        token: spec.token.clone().filter(|t| !t.is_empty()),
        store_id,
        file_type,
        create: CreateUpload {
            source_file_type: file_type.as_str().to_string(),
            name,
            subject_id,
            sample_id,
            reference_arn,
            description,
            generated_from,
            tags: spec.tags.clone(),
            client_token: Some(client_token),
        },
        plans,
        part_size,
        concurrency,
        chunk_size,
        hash_in_workers: spec.hash_in_workers.unwrap_or(true),
        retry,
        upload_id: spec.upload_id.clone(),
        resume: resume_wanted(spec.resume),
        stall_timeout_ms: spec.stall_timeout_ms.unwrap_or(DEFAULT_STALL_TIMEOUT_MS),
        verify_parts,
        verify_etag: spec.verify_etag.unwrap_or(true) && file_type == FileType::Fastq,
        wait_for_active: spec.wait_for_active.unwrap_or(true),
        poll_interval_ms: spec.poll_interval_ms.unwrap_or(DEFAULT_POLL_INTERVAL_MS).max(10),
        active_timeout_ms: spec.active_timeout_ms.unwrap_or(DEFAULT_ACTIVE_TIMEOUT_MS),
    })
}

/// Checks that a FASTQ file starts with the gzip signature (`1f 8b`); `head` is its first
/// bytes. HealthOmics takes FASTQ gzip-compressed only.
pub fn check_gzip_signature(index: usize, name: &str, head: &[u8]) -> Result<(), Error> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "files[{index}] {name:?} is not gzip-compressed (it does not start with the gzip signature 1f 8b): FASTQ must be gzip-compressed"
        )))
    }
}

/// Whether a part checksum is to be compared with the part's SHA-256 (lowercase hex).
pub fn should_compare(mode: VerifyParts, checksum: &str) -> bool {
    match mode {
        VerifyParts::Never => false,
        VerifyParts::Always => true,
        VerifyParts::Auto => checksum.len() == 64 && checksum.bytes().all(|b| b.is_ascii_hexdigit()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> UploadSpec {
        UploadSpec {
            endpoint: Some("http://127.0.0.1:8080/omics/".into()),
            token: Some("t".into()),
            sequence_store_id: Some("1234567890".into()),
            source_file_type: Some("FASTQ".into()),
            name: Some("run".into()),
            subject_id: Some("subject".into()),
            sample_id: Some("sample".into()),
            ..Default::default()
        }
    }

    fn file(name: &str, size: u64) -> FileInfo {
        FileInfo { name: name.into(), size }
    }

    fn err(spec: &UploadSpec, files: &[FileInfo]) -> String {
        let e = validate(spec, files, "tok").unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        e.message
    }

    #[test]
    fn a_fastq_pair_is_planned_per_source_with_the_requested_part_size() {
        let mut s = spec();
        s.part_size = Some(100);
        let v = validate(&s, &[file("a_R1.fastq.gz", 250), file("a_R2.FQ.GZ", 100)], "tok").unwrap();
        assert_eq!(v.endpoint, "http://127.0.0.1:8080/omics");
        assert_eq!(v.plans[0].len(), 3);
        assert_eq!(v.plans[1].len(), 1);
        assert_eq!(v.plans[1][0].source, Source::Source2);
        assert_eq!((v.total_bytes(), v.total_parts()), (350, 4));
        assert_eq!(v.create.client_token.as_deref(), Some("tok"));
        assert!(v.verify_etag);
        assert_eq!(v.verify_parts, VerifyParts::Auto);
    }

    #[test]
    fn missing_metadata_is_named() {
        for (field, clear) in [
            ("name", (|s: &mut UploadSpec| s.name = None) as fn(&mut UploadSpec)),
            ("subjectId", |s| s.subject_id = None),
            ("sampleId", |s| s.sample_id = Some(String::new())),
            ("sequenceStoreId", |s| s.sequence_store_id = None),
            ("sourceFileType", |s| s.source_file_type = None),
            ("endpoint", |s| s.endpoint = None),
        ] {
            let mut s = spec();
            clear(&mut s);
            assert_eq!(err(&s, &[file("a.fq.gz", 1)]), format!("`{field}` is required"));
        }
    }

    #[test]
    fn a_pair_of_bam_files_is_refused_because_pairs_are_fastq_only() {
        let mut s = spec();
        s.source_file_type = Some("UBAM".into());
        assert!(err(&s, &[file("a.bam", 5), file("b.bam", 5)]).contains("pairs are FASTQ only"));
    }

    #[test]
    fn bam_and_cram_need_a_reference_arn_but_ubam_does_not() {
        for t in ["BAM", "CRAM"] {
            let mut s = spec();
            s.source_file_type = Some(t.into());
            let name = format!("x.{}", t.to_lowercase());
            assert!(err(&s, &[file(&name, 5)]).contains("`referenceArn` is required for"), "{t}");
            s.reference_arn = Some("arn:aws:omics:us-east-1:123456789012:referenceStore/1234567890/reference/1234567890".into());
            assert!(validate(&s, &[file(&name, 5)], "tok").is_ok(), "{t}");
        }
        let mut s = spec();
        s.source_file_type = Some("UBAM".into());
        assert!(validate(&s, &[file("reads.bam", 5)], "tok").is_ok());
        assert!(validate(&s, &[file("reads.ubam", 5)], "tok").is_ok());
    }

    #[test]
    fn empty_files_and_unsupported_extensions_are_refused() {
        assert!(err(&spec(), &[file("a.fastq.gz", 0)]).contains("is empty"));
        assert!(err(&spec(), &[file("a.fastq", 10)]).contains("FASTQ must be gzip-compressed"));
        assert!(err(&spec(), &[file("a.txt", 10)]).contains("does not end in .fastq.gz or .fq.gz"));
        assert!(err(&spec(), &[]).contains("`files` must hold one file"));
        assert!(err(&spec(), &[file("a.fq.gz", 1), file("a.fq.gz", 1)]).contains("same file twice"));
    }

    #[test]
    fn lengths_and_ids_follow_the_reference() {
        let mut s = spec();
        s.name = Some("n".repeat(128));
        assert!(err(&s, &[file("a.fq.gz", 1)]).contains("`name` must be 1 to 127 characters long (it has 128)"));
        let mut s = spec();
        s.description = Some("d".repeat(256));
        assert!(err(&s, &[file("a.fq.gz", 1)]).contains("`description` must be 1 to 255"));
        let mut s = spec();
        s.sequence_store_id = Some("12345".into());
        assert!(err(&s, &[file("a.fq.gz", 1)]).contains("10 to 36 digits"));
        let mut s = spec();
        s.tags = Some([("k".to_string(), "v".repeat(257))].into());
        assert!(err(&s, &[file("a.fq.gz", 1)]).contains("at most 256"));
        let mut s = spec();
        s.tags = Some([(String::new(), "v".into())].into());
        assert!(err(&s, &[file("a.fq.gz", 1)]).contains("`tags key` must be 1 to 128"));
        let mut s = spec();
        s.name = Some("a\nb".into());
        assert!(err(&s, &[file("a.fq.gz", 1)]).contains("control character"));
        let mut s = spec();
        s.source_file_type = Some("SAM".into());
        assert!(err(&s, &[file("a.sam", 1)]).contains("must be FASTQ, BAM, CRAM or UBAM"));
    }

    #[test]
    fn resume_accepts_true_false_and_auto_and_refuses_other_strings() {
        let read = |j: &str| serde_json::from_str::<UploadSpec>(j);
        assert_eq!(read(r#"{"resume":"auto"}"#).unwrap().resume, Some(ResumeOption::Mode(ResumeMode::Auto)));
        assert_eq!(read(r#"{"resume":true}"#).unwrap().resume, Some(ResumeOption::Flag(true)));
        assert!(read(r#"{"resume":"always"}"#).is_err());
        assert_eq!(read(r#"{"stallTimeoutMs":5000}"#).unwrap().stall_timeout_ms, Some(5000));
    }

    #[test]
    fn part_size_is_validated_against_the_healthomics_limits() {
        let mut s = spec();
        s.part_size = Some(MAX_PART_SIZE + 1);
        assert!(err(&s, &[file("a.fq.gz", 10)]).contains("above the HealthOmics maximum"));
        s.part_size = Some(1);
        assert!(err(&s, &[file("a.fq.gz", 10_001)]).contains("at most 10000"));
    }

    #[test]
    fn spec_reads_camel_case_json_and_refuses_unknown_options() {
        let s: UploadSpec = serde_json::from_str(
            r#"{"endpoint":"http://x","sequenceStoreId":"1","partSize":65536,"verifyPartChecksums":"auto","files":[{}],"onProgress":null}"#,
        )
        .unwrap();
        assert_eq!(s.part_size, Some(65536));
        assert_eq!(s.verify_part_checksums, Some(VerifyOption::Mode("auto".into())));
        let e = serde_json::from_str::<UploadSpec>(r#"{"partsize":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `partsize`"), "{e}");
    }

    #[test]
    fn fastq_must_start_with_the_gzip_signature() {
        assert!(check_gzip_signature(0, "a.fq.gz", &[0x1f, 0x8b, 8, 0]).is_ok());
        let e = check_gzip_signature(1, "b.fq.gz", b"@r1\n").unwrap_err();
        assert!(e.message.contains("files[1] \"b.fq.gz\" is not gzip-compressed"), "{}", e.message);
        assert!(check_gzip_signature(0, "c.fq.gz", &[0x1f]).is_err());
    }

    #[test]
    fn only_hex_sha256_checksums_are_compared_in_auto_mode() {
        let hex = "a".repeat(64);
        assert!(should_compare(VerifyParts::Auto, &hex));
        assert!(!should_compare(VerifyParts::Auto, "q2FmZ29vZA=="));
        assert!(should_compare(VerifyParts::Always, "q2FmZ29vZA=="));
        assert!(!should_compare(VerifyParts::Never, &hex));
    }
}
