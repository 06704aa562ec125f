//! Every error the Seven Bridges emulation answers with, mapped to HTTP in one place.
//!
//! API routes answer like the platform: `{status, code, message, more_info}` with the
//! platform's codes (1000 rate limit, 3002 project, 5xxx files, 8000..8015 uploads).
//! Storage routes (the signed part and download URLs) answer like S3, which is what the
//! real platform's part URLs point at: an XML `<Error>` with `Code` and `Message`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Where `more_info` points: the README section that lists every code this store uses.
const MORE_INFO: &str = "README.md#seven-bridges-local: error codes";

/// An API error: HTTP status, platform code and a message saying what to do.
#[derive(Debug)]
pub struct SbgError {
    status: StatusCode,
    code: u32,
    message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    status: u16,
    code: u32,
    message: &'a str,
    more_info: &'a str,
}

impl SbgError {
    fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// Missing or wrong `X-SBG-Auth-Token` (401, code 401).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 401, message)
    }

    /// Over the request budget of the current window (429, code 1000).
    pub fn rate_limited(limit: u32, reset_unix: i64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            1000,
            format!(
                "Rate limit exceeded! {limit} requests per window; the window resets at {} \
                 (X-RateLimit-Reset, unix seconds {reset_unix}).",
                super::clock::iso_seconds(reset_unix)
            ),
        )
    }

    /// Unknown (or already completed or aborted) upload (404, code 8003).
    pub fn upload_not_found(upload_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            8003,
            format!("Requested upload does not exist: `{upload_id}` (it may have been completed or aborted)."),
        )
    }

    /// A file of that name is already in the project and `overwrite=true` was not given
    /// (409, code 8004).
    pub fn file_exists(project: &str, name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            8004,
            format!(
                "Requested file already exists: `{name}` in project `{project}`. \
                 Pass ?overwrite=true to replace it, or choose another name."
            ),
        )
    }

    /// Completion refused: parts missing, unreported, of the wrong size or changed (400,
    /// code 8007). The message names the parts.
    pub fn complete_failed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 8007, format!("Failed to complete upload: {}", message.into()))
    }

    /// `project` is not `owner/name` (400, code 8010).
    pub fn malformed_project(project: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            8010,
            format!("Malformed project id `{project}`. Expecting `owner/project` (letters, digits, `-`, `_`, `.`)."),
        )
    }

    /// Part number missing, not a number or outside 1..=parts of the upload (400, code 8012).
    pub fn bad_part_number(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 8012, format!("Part number is missing or invalid: {}", message.into()))
    }

    /// The init body is not valid (400, code 8013).
    pub fn bad_init(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 8013, format!("Invalid `init` request: {}", message.into()))
    }

    /// A part report is not valid: unparsable, part not uploaded, or ETag not the stored
    /// part's (400, code 8014). The message names the part.
    pub fn bad_report(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 8014, format!("Invalid `part` report: {}", message.into()))
    }

    /// The bulk report body is not `{parts: [...]}` (400, code 8015).
    pub fn bad_parts_list(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            8015,
            format!("Invalid list of parts. Expecting an object with `parts`: [ array of part reports ]. {}", message.into()),
        )
    }

    /// Nothing was ever uploaded into this project (404, code 3002).
    pub fn project_not_found(project: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            3002,
            format!("Requested project does not exist: `{project}` (a project exists once an upload into it starts)."),
        )
    }

    /// Unknown file id (404, code 5002).
    pub fn file_not_found(id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, 5002, format!("Requested file does not exist: `{id}`."))
    }

    /// `GET /files` without a well-formed `?project=owner/project` (400, code 5005).
    pub fn bad_files_query(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            5005,
            format!("Malformed project query parameter. Expecting `?project=owner/project`: {}", message.into()),
        )
    }

    /// A general bad request, e.g. `offset`/`limit` not numbers (400, code 90000).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 90000, format!("Bad request: {}", message.into()))
    }

    /// Something failed inside the store (500, code 8000). The cause is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "sbg: internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            8000,
            "Upload service is currently unavailable (internal error in the local store; see its log).",
        )
    }
}

impl From<rusqlite::Error> for SbgError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(format!("sqlite: {e}"))
    }
}

impl From<std::io::Error> for SbgError {
    fn from(e: std::io::Error) -> Self {
        Self::internal(format!("io: {e}"))
    }
}

impl IntoResponse for SbgError {
    fn into_response(self) -> Response {
        let body = Body {
            status: self.status.as_u16(),
            code: self.code,
            message: &self.message,
            more_info: MORE_INFO,
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// An error of the storage routes (signed part PUT, signed download), shaped like S3's.
#[derive(Debug)]
pub struct StorageError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl StorageError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// The URL's `expires` has passed (403 AccessDenied, message says expired).
    pub fn expired(expired_at_unix: i64) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            format!(
                "Request has expired: this URL expired at {}. Get a fresh URL and try again.",
                super::clock::iso_seconds(expired_at_unix)
            ),
        )
    }

    /// The signature does not cover this request (tampered, or issued for another part).
    pub fn signature_mismatch(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            format!(
                "The request signature does not match: this URL was not issued for {what}, or it was altered. \
                 Use the URL exactly as the API returned it."
            ),
        )
    }

    /// The query lacks `expires`, `nonce` or `signature`.
    pub fn missing_auth(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "AccessDenied", message)
    }

    /// The part URL was already used for a successful upload.
    pub fn already_used() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "This part URL has already been used for a successful upload; a part URL is good for one upload. \
             Get a fresh part URL for every attempt.",
        )
    }

    /// A header listed in the part URL's `headers` was not sent (or has another value).
    pub fn missing_header(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MissingRequiredHeader",
            format!(
                "Header `{name}` is missing or wrong: send every header listed in `headers` of the part URL response, \
                 with its value."
            ),
        )
    }

    /// The upload is gone (completed or aborted) or never existed.
    pub fn no_such_upload(upload_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NoSuchUpload",
            format!("The upload `{upload_id}` does not exist (it may have been completed or aborted)."),
        )
    }

    /// The file is gone.
    pub fn no_such_file(id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NoSuchKey", format!("The file `{id}` does not exist."))
    }

    /// A `Range` that starts at or past the end of the file (S3's `416 InvalidRange`).
    pub fn invalid_range(size: u64) -> Self {
        Self::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            format!("The requested range is not satisfiable: the file has {size} bytes."),
        )
    }

    /// The body is larger than the upload's part size.
    pub fn too_large(part_size: u64) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            format!("The part is larger than the upload's part size of {part_size} bytes."),
        )
    }

    /// The body ended before `Content-Length` bytes arrived (or the connection broke).
    pub fn incomplete(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "IncompleteBody", message)
    }

    /// Something failed inside the store; the cause is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "sbg storage: internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "We encountered an internal error. Please try again.")
    }
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        Self::internal(format!("io: {e}"))
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(format!("sqlite: {e}"))
    }
}

impl IntoResponse for StorageError {
    fn into_response(self) -> Response {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message></Error>",
            self.code,
            xml_escape(&self.message)
        );
        (self.status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
