//! What the driver needs from its platform, as traits: a transport, a clock, the online state,
//! hashing, persistence and progress events. The browser implements them with XHR, timers,
//! `navigator.onLine`, the worker pool and IndexedDB (`web::io`); tests with scripted fakes.
//!
//! Futures are `?Send` and may borrow: everything runs on one thread (the page's event loop).
//! Dropping a future returned here must cancel its work (the browser transport aborts the XHR).
#![allow(async_fn_in_trait)]

use std::rc::Rc;

use crate::error::{Error, ErrorKind};
use crate::etag::{Etag, EtagFamily};
use crate::omics::Request;
use crate::plan::{Part, Source};

/// The body of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body.
    Empty,
    /// A JSON document.
    Json(String),
    /// The bytes of a part, sliced from its source file by the transport just before sending.
    Part(Part),
}

/// One HTTP request, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The operation, named in errors (`UploadReadSetPart`, `GetPartUploadUrl` ...).
    pub operation: &'static str,
    /// HTTP method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Bearer token for `Authorization`, if any.
    pub bearer: Option<String>,
    /// Other request headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
    /// Response headers to read (in order; see [`HttpResponse::headers`]).
    pub read_headers: Vec<String>,
}

impl HttpRequest {
    /// A JSON API call: `req` under `endpoint`, with the bearer `token`.
    pub fn api(endpoint: &str, token: Option<&str>, req: &Request) -> Self {
        HttpRequest {
            operation: req.operation,
            method: req.method.as_str().to_string(),
            url: req.url(endpoint),
            bearer: token.map(str::to_owned),
            headers: Vec::new(),
            body: req.body_text().map_or(Body::Empty, Body::Json),
            read_headers: Vec::new(),
        }
    }

    /// Whether this request carries part bytes.
    pub fn is_part(&self) -> bool {
        matches!(self.body, Body::Part(_))
    }
}

/// A completed HTTP exchange (any status).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// Response text.
    pub body: String,
    /// `x-amzn-ErrorType`, when readable.
    pub error_type: Option<String>,
    /// `Retry-After`, when readable.
    pub retry_after: Option<String>,
    /// The values of the request's `read_headers`, in order (`None`: absent or hidden by CORS).
    pub headers: Vec<Option<String>>,
}

impl HttpResponse {
    /// Whether the status is 2xx.
    pub fn is_ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The mapped error of a non-2xx answer.
    pub fn error(&self, operation: &'static str) -> Error {
        Error::from_http(self.status, self.error_type.as_deref(), &self.body, self.retry_after.as_deref()).in_operation(operation)
    }

    /// The body of a 2xx answer, or the mapped error.
    pub fn ok_body(self, operation: &'static str) -> Result<String, Error> {
        if self.is_ok() {
            Ok(self.body)
        } else {
            Err(self.error(operation))
        }
    }
}

/// Sends HTTP requests.
pub trait Transport {
    /// Sends `req` once; `on_progress` receives the body bytes sent so far (parts). Fails only
    /// when no answer arrived (`network`); any HTTP status is a response. Dropping the future
    /// aborts the request.
    async fn send(&self, req: &HttpRequest, on_progress: Option<Box<dyn FnMut(u64)>>) -> Result<HttpResponse, Error>;
}

/// Time.
pub trait Clock {
    /// Milliseconds since the Unix epoch (the browser: `Date.now()`); rate-limit resets are
    /// read against it.
    fn now_ms(&self) -> f64;
    /// Resolves after `ms` milliseconds.
    async fn sleep(&self, ms: u64);
}

/// Whether the device is online.
pub trait Online {
    /// `navigator.onLine` in a browser.
    fn is_online(&self) -> bool;
    /// Resolves when the device may be back online, or after `ms` at the latest.
    async fn online_or_timeout(&self, ms: u64);
}

/// Hashing of file contents (the browser: the Web Worker pool).
pub trait Hashing {
    /// The hex SHA-256 of `part`; `on_bytes` receives bytes hashed as they are.
    async fn part_sha256(&self, part: &Part, on_bytes: Rc<dyn Fn(u64)>) -> Result<String, Error>;
    /// The whole-source FASTQ ETag of `source` (gunzip and hash, in order).
    async fn fastq_etag(&self, source: Source, family: EtagFamily) -> Result<Etag, Error>;
    /// Checks what needs the file bytes before any network call (a FASTQ must be gzip).
    async fn check_contents(&self) -> Result<(), Error>;
    /// Hash jobs run so far: `(in workers, on the main thread)`.
    fn hash_jobs(&self) -> (u32, u32);
    /// Parts hashed at once at most (the browser: cores minus one).
    fn hash_parallelism(&self) -> usize;
}

/// What a saved upload gives back after a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The upload to continue.
    pub upload_id: String,
    /// The proxy's grant for it (HealthOmics through the signing proxy).
    pub grant: Option<String>,
}

/// The saved state of the upload in progress (the browser: IndexedDB, keyed by the files'
/// fingerprints). Best effort: failures are logged by the implementation, never returned.
pub trait Persist {
    /// The saved upload for these files, if any.
    async fn load(&self) -> Option<Saved>;
    /// Saves (or replaces) the upload's record.
    async fn save(&self, saved: &Saved);
    /// Counts a confirmed part in the saved record (a hint for portals: "37 of 80 parts
    /// sent"). Constant work per part: the record does not grow with the part count.
    async fn save_part(&self, part: &Part);
    /// Forgets the records of `upload_id` (completed, aborted, or found stale).
    async fn forget(&self, upload_id: &str);
}

/// What a part is doing (progress events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartState {
    /// Not started.
    Pending,
    /// Being read and hashed.
    Hashing,
    /// Hashed, waiting for a free upload slot.
    Hashed,
    /// Being sent.
    Uploading,
    /// Failed an attempt; waiting to try again.
    Retrying,
    /// Confirmed by the server.
    Done,
    /// Already on the server (resume): not sent again.
    Skipped,
    /// Failed for good.
    Failed,
}

/// The overall step of the upload (progress events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the store, creating or listing the upload.
    Preparing,
    /// Hashing and sending parts.
    Uploading,
    /// Completing the upload.
    Completing,
    /// Waiting for the read set to become ACTIVE.
    Processing,
    /// Comparing ETags.
    Verifying,
    /// Finished.
    Done,
}

/// Progress reporting.
pub trait Events {
    /// The phase changed.
    fn phase(&self, phase: Phase);
    /// The upload ID is known.
    fn upload_id(&self, id: &str);
    /// The number of parts is known (it may depend on the server's part size).
    fn parts_total(&self, total: usize);
    /// A part changed state.
    fn part(&self, part: &Part, state: PartState);
    /// Bytes of a part's body sent in its current attempt.
    fn part_bytes(&self, part: &Part, sent: u64);
    /// More bytes were hashed.
    fn hashed(&self, bytes: u64);
}

/// What API calls need: a transport, a clock and the online state.
pub trait Net: Transport + Clock + Online {}
impl<T: Transport + Clock + Online> Net for T {}

/// Everything the driver needs, on one value.
pub trait Io: Transport + Clock + Online + Hashing + Persist + Events {}
impl<T: Transport + Clock + Online + Hashing + Persist + Events> Io for T {}

/// The error for a part attempt that made no progress for `ms` milliseconds.
pub fn stalled(ms: u64) -> Error {
    Error::new(ErrorKind::Network, format!("no upload progress for {ms} ms: the attempt was aborted"))
}
