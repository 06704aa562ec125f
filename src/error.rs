//! The one error type of the library, and the codes the JS side branches on.
//!
//! Every failure, whatever step it comes from (input checks, HTTP, hashing, completion), ends as
//! an [`Error`]: a [`ErrorKind`] (whose [`ErrorKind::code`] is the stable string JS sees), a
//! message a user can act on, and where known the HTTP status, the HealthOmics operation and the
//! part. HTTP responses are mapped to kinds in one place: [`Error::from_http`].

use std::fmt;

use crate::plan::Source;

/// What kind of failure this is; decides the `code` seen by JS and whether a retry may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The options or files were refused before any network call (`invalid_input`).
    InvalidInput,
    /// The service refused the request as malformed (HTTP 400 and other client errors: `validation`).
    Validation,
    /// The token is missing, expired or wrong (HTTP 401: `auth`).
    Auth,
    /// The token may not do this (HTTP 403: `forbidden`).
    Forbidden,
    /// The store, upload or read set does not exist (HTTP 404: `not_found`).
    NotFound,
    /// A service quota was exceeded (HTTP 402: `quota`).
    Quota,
    /// Too many requests (HTTP 429 or a `ThrottlingException`: `throttled`); retryable.
    Throttled,
    /// The request never got an HTTP answer (offline, refused, CORS, reset: `network`); retryable.
    Network,
    /// The service failed (HTTP 5xx, 408: `server`); retryable.
    Server,
    /// The caller aborted the upload (`aborted`).
    Aborted,
    /// The checksum the store returned for a part is not the part's SHA-256 (`checksum_mismatch`).
    ChecksumMismatch,
    /// The read set's ETag differs from the one computed while uploading (`etag_mismatch`).
    EtagMismatch,
    /// The store finished the read set as `UPLOAD_FAILED` (`upload_failed`).
    UploadFailed,
    /// The read set did not leave `PROCESSING_UPLOAD` within the allowed time (`timeout`).
    Timeout,
    /// The service answered something this library cannot read (`protocol`).
    Protocol,
    /// A storage answer lacks a header that must be reported (Seven Bridges `report.headers`),
    /// typically because the storage's CORS does not expose it (`missing_report_header`).
    MissingReportHeader,
    /// A read set job ended `FAILED` or `CANCELLED` (`job_failed`; `waitForJob`).
    JobFailed,
}

impl ErrorKind {
    /// The stable string code exposed to JS as `error.code`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Validation => "validation",
            ErrorKind::Auth => "auth",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Quota => "quota",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Network => "network",
            ErrorKind::Server => "server",
            ErrorKind::Aborted => "aborted",
            ErrorKind::ChecksumMismatch => "checksum_mismatch",
            ErrorKind::EtagMismatch => "etag_mismatch",
            ErrorKind::UploadFailed => "upload_failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Protocol => "protocol",
            ErrorKind::MissingReportHeader => "missing_report_header",
            ErrorKind::JobFailed => "job_failed",
        }
    }

    /// Whether trying the same request again may succeed.
    pub fn retryable(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Network | ErrorKind::Server)
    }
}

/// A part of one source, as named in errors and progress events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartRef {
    /// The source the part belongs to.
    pub source: Source,
    /// The part number (1-based, per source).
    pub number: u32,
}

/// A failure of the library, with everything JS needs to decide what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// A sentence a user can act on (for service errors: the service's own message).
    pub message: String,
    /// The HTTP status, when the failure is an HTTP answer.
    pub status: Option<u16>,
    /// The HealthOmics operation that failed (e.g. `UploadReadSetPart`).
    pub operation: Option<&'static str>,
    /// The part concerned, for part uploads.
    pub part: Option<PartRef>,
    /// The service's error type (`x-amzn-ErrorType`, e.g. `ValidationException`), when sent.
    pub error_type: Option<String>,
    /// The server's `Retry-After` in milliseconds, when sent with a throttling answer.
    pub retry_after_ms: Option<u64>,
    /// The multipart upload concerned, when one was created (keep it to resume).
    pub upload_id: Option<String>,
    /// The read set concerned (ETag mismatch, upload failed, timeout).
    pub read_set_id: Option<String>,
    /// The read set job concerned (`job_failed`).
    pub job_id: Option<String>,
    /// Attempts made at the request that failed, the first included (when it was retried
    /// per the retry policy).
    pub attempts: Option<u32>,
}

impl Error {
    /// An error of `kind` with `message` and no HTTP context.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            status: None,
            operation: None,
            part: None,
            error_type: None,
            retry_after_ms: None,
            upload_id: None,
            read_set_id: None,
            job_id: None,
            attempts: None,
        }
    }

    /// An input check failure (before any network call).
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// The upload was aborted by the caller.
    pub fn aborted() -> Self {
        Self::new(ErrorKind::Aborted, "the upload was aborted")
    }

    /// Maps a non-2xx HTTP answer to an error. `error_type` is the `x-amzn-ErrorType` header
    /// (AWS may append `:http://...` to it), `body` the response text, whose JSON `message`
    /// (or `Message`) becomes the error message.
    pub fn from_http(status: u16, error_type: Option<&str>, body: &str, retry_after: Option<&str>) -> Self {
        let error_type = error_type
            .map(|t| t.split(':').next().unwrap_or(t).trim().to_string())
            .filter(|t| !t.is_empty());
        let kind = match (status, error_type.as_deref()) {
            (_, Some("ThrottlingException")) | (429, _) => ErrorKind::Throttled,
            (401, _) => ErrorKind::Auth,
            (402, _) | (_, Some("ServiceQuotaExceededException")) => ErrorKind::Quota,
            (403, _) => ErrorKind::Forbidden,
            (404, _) => ErrorKind::NotFound,
            (408, _) | (500..=599, _) => ErrorKind::Server,
            _ => ErrorKind::Validation,
        };
        let message = service_message(body).unwrap_or_else(|| {
            let mut m = format!("HTTP {status}");
            if let Some(t) = &error_type {
                m.push_str(&format!(" {t}"));
            }
            let text = body.trim();
            if !text.is_empty() {
                let cut: String = text.chars().take(200).collect();
                m.push_str(&format!(": {cut}"));
            }
            m
        });
        Error {
            kind,
            message,
            status: Some(status),
            operation: None,
            part: None,
            error_type,
            retry_after_ms: retry_after.and_then(parse_retry_after),
            upload_id: None,
            read_set_id: None,
            job_id: None,
            attempts: None,
        }
    }

    /// The same error, naming the HealthOmics operation that failed.
    pub fn in_operation(mut self, operation: &'static str) -> Self {
        self.operation = Some(operation);
        self
    }

    /// The same error, naming how many attempts were made.
    pub fn after_attempts(mut self, attempts: u32) -> Self {
        self.attempts = Some(attempts);
        self
    }

    /// The same error, naming the part concerned.
    pub fn for_part(mut self, part: PartRef) -> Self {
        self.part = Some(part);
        self
    }

    /// The same error, naming the read set job concerned.
    pub fn for_job(mut self, job_id: &str) -> Self {
        self.job_id = Some(job_id.to_string());
        self
    }

    /// The same error, naming the read set concerned.
    pub fn for_read_set(mut self, read_set_id: &str) -> Self {
        self.read_set_id = Some(read_set_id.to_string());
        self
    }

    /// The stable code JS branches on (see [`ErrorKind::code`]).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// Whether trying again may succeed (see [`ErrorKind::retryable`]).
    pub fn retryable(&self) -> bool {
        self.kind.retryable()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(op) = self.operation {
            write!(f, "{op}: ")?;
        }
        if let Some(p) = self.part {
            write!(f, "part {} of {}: ", p.number, p.source)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The `message` of an AWS restJson error body, if it has one.
fn service_message(body: &str) -> Option<String> {
    let v: serde_json::Value = crate::json::from_str(body).ok()?;
    let m = v.get("message").or_else(|| v.get("Message"))?.as_str()?;
    (!m.trim().is_empty()).then(|| m.to_string())
}

/// `Retry-After` in delta-seconds (the form the proxy sends), as milliseconds; a fraction
/// (`1.5`) is kept to the millisecond. HTTP dates and anything else are ignored. Read by hand:
/// `f64::from_str` would add 4 KB to the package for this one header.
fn parse_retry_after(value: &str) -> Option<u64> {
    let (whole, frac) = value.trim().split_once('.').unwrap_or((value.trim(), ""));
    if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: u64 = frac.bytes().chain(std::iter::repeat(b'0')).take(3).fold(0, |n, d| n * 10 + u64::from(d - b'0'));
    Some(whole.parse::<u64>().ok()? * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_exception_keeps_the_service_message_and_is_not_retryable() {
        let e = Error::from_http(
            400,
            Some("ValidationException:http://internal.amazon.com/coral/com.amazonaws.omics/"),
            r#"{"message":"partNumber must be between 1 and 10000"}"#,
            None,
        );
        assert_eq!(e.code(), "validation");
        assert_eq!(e.message, "partNumber must be between 1 and 10000");
        assert_eq!(e.error_type.as_deref(), Some("ValidationException"));
        assert_eq!(e.status, Some(400));
        assert!(!e.retryable());
    }

    #[test]
    fn statuses_map_to_codes_and_retryability() {
        let cases = [
            (401, "auth", false),
            (402, "quota", false),
            (403, "forbidden", false),
            (404, "not_found", false),
            (408, "server", true),
            (429, "throttled", true),
            (500, "server", true),
            (502, "server", true),
            (503, "server", true),
            (413, "validation", false),
        ];
        for (status, code, retryable) in cases {
            let e = Error::from_http(status, None, "", None);
            assert_eq!((e.code(), e.retryable()), (code, retryable), "status {status}");
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds_with_fractions_and_anything_else_is_ignored() {
        for (v, ms) in [("2", Some(2000)), (" 3 ", Some(3000)), ("1.5", Some(1500)), ("0.0004", Some(0)), ("1.", Some(1000)), ("120.25", Some(120_250))] {
            assert_eq!(parse_retry_after(v), ms, "{v:?}");
        }
        for v in ["", ".", ".5", "-1", "1e3", "+2", "1.5.2", "NaN", "inf", "Wed, 21 Oct 2015 07:28:00 GMT", "9999999999999"] {
            assert_eq!(parse_retry_after(v), None, "{v:?}");
        }
    }

    #[test]
    fn throttling_exception_is_throttled_whatever_the_status_and_keeps_retry_after() {
        let e = Error::from_http(400, Some("ThrottlingException"), r#"{"Message":"slow down"}"#, Some("2"));
        assert_eq!(e.kind, ErrorKind::Throttled);
        assert_eq!(e.message, "slow down");
        assert_eq!(e.retry_after_ms, Some(2000));
    }

    #[test]
    fn a_body_that_is_not_json_still_gives_a_readable_message() {
        let e = Error::from_http(502, None, "upstream unreachable", None);
        assert_eq!(e.message, "HTTP 502: upstream unreachable");
    }

    #[test]
    fn display_names_operation_and_part() {
        let e = Error::from_http(404, Some("ResourceNotFoundException"), r#"{"message":"no such upload"}"#, None)
            .in_operation("UploadReadSetPart")
            .for_part(PartRef { source: Source::Source2, number: 3 });
        assert_eq!(e.to_string(), "UploadReadSetPart: part 3 of SOURCE2: no such upload");
    }
}
