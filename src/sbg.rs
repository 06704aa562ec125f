//! Seven Bridges / CAVATICA multipart uploads (API v2) as plain data.
//!
//! The protocol: init (`POST /upload/multipart`) returns the `part_size` to use; for every
//! attempt at a part, a fresh signed part URL (`GET /upload/multipart/{id}/part/{n}`) says which
//! `method`, `headers` and `success_codes` to use and which response headers to collect
//! (`report.headers`); the collected headers are reported back (one part, or many at once),
//! then the upload is completed. Resume reads the reported parts from
//! `GET /upload/multipart/{id}?list_parts=true`.
//!
//! This module builds the API requests (reusing [`crate::omics::Request`]: method, path, query, JSON
//! body), parses the answers, plans the parts, decides when to send a batch of reports and
//! reads the `X-RateLimit-*` headers. The driver's Seven Bridges target
//! ([`crate::upload::sevenbridges`]) runs the flow.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, ErrorKind};
use crate::omics::{encode, Method, Request};
use crate::plan::{Part, Source};

/// The platform's smallest part (except the last), 5 MiB: the default requested part size.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// The platform's largest part, 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The most parts one upload may have.
pub const MAX_PARTS: u64 = 10_000;
/// The most parts sent in one bulk report (one API call).
pub const MAX_REPORT_BATCH: usize = 100;
/// Reports waiting before a batch is sent while the rate budget is comfortable: a resume then
/// re-sends at most this many parts.
pub const DEFAULT_REPORT_BATCH: usize = 8;
/// Below this many remaining API calls in the window, reports wait for a full
/// [`MAX_REPORT_BATCH`] (or the end of the upload) to spare the budget.
pub const LOW_RATE_BUDGET: u64 = 100;

/// Where the file goes: a project (`owner/project`) or a parent folder ID, and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `owner/project`, when uploading to a project's root.
    pub project: Option<String>,
    /// A folder ID, when uploading into a folder.
    pub parent: Option<String>,
    /// The file name.
    pub name: String,
    /// Replace a file of the same name.
    pub overwrite: bool,
}

impl Target {
    /// Checks the target before any network call: exactly one of `project` / `parent`, a
    /// project of the form `owner/project`, a non-empty name without `/`.
    pub fn validate(&self) -> Result<(), Error> {
        match (&self.project, &self.parent) {
            (Some(_), Some(_)) => return Err(Error::invalid_input("give either `project` or `parent`, not both")),
            (None, None) => return Err(Error::invalid_input("`project` (owner/project) or `parent` (a folder ID) is required")),
            (Some(p), None) => {
                let ok = p.split_once('/').is_some_and(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'));
                if !ok {
                    return Err(Error::invalid_input(format!("`project` must be `owner/project` (got {p:?})")));
                }
            }
            (None, Some(f)) => {
                if f.trim().is_empty() {
                    return Err(Error::invalid_input("`parent` is empty"));
                }
            }
        }
        if self.name.is_empty() || self.name.len() > 255 || self.name.contains('/') || self.name == "." || self.name == ".." {
            return Err(Error::invalid_input(format!(
                "`name` must be 1..255 characters without `/` (got {:?})",
                self.name
            )));
        }
        Ok(())
    }
}

/// Largest accepted `concurrency`.
pub const MAX_CONCURRENCY: u32 = 32;
/// Default parts in flight.
pub const DEFAULT_CONCURRENCY: u32 = 4;

/// The JSON options of a Seven Bridges upload (see the TypeScript `SevenBridgesUploadOptions`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadSpec {
    /// The proxy's Seven Bridges API base, e.g. `http://127.0.0.1:8080/sbg/v2`.
    pub endpoint: Option<String>,
    /// Bearer token for the proxy.
    pub token: Option<String>,
    /// Destination project, `owner/project`.
    pub project: Option<String>,
    /// Destination folder ID (instead of `project`).
    pub parent: Option<String>,
    /// File name; default the `File`'s name.
    pub name: Option<String>,
    /// Replace a file of the same name (default false).
    pub overwrite: Option<bool>,
    /// Part size asked for at init (default 5 MiB); the server's answer wins.
    pub part_size: Option<u64>,
    /// Parts in flight (default 4, 1..=32).
    pub concurrency: Option<u32>,
    /// Retry policy.
    pub retry: Option<crate::retry::RetryConfig>,
    /// Resume this upload instead of starting one.
    pub upload_id: Option<String>,
    /// Continue the upload saved in this browser for the same file, destination and name
    /// (after a reload): `true`, `"auto"` (the same) or `false` (default).
    pub resume: Option<crate::validate::ResumeOption>,
    /// A part attempt without upload progress for this long is aborted and retried
    /// (default 60,000; 0: never).
    pub stall_timeout_ms: Option<u64>,
    /// The `File` (read by the boundary).
    pub file: Option<serde::de::IgnoredAny>,
    /// The `AbortSignal` (read by the boundary).
    pub signal: Option<serde::de::IgnoredAny>,
    /// The progress callback (read by the boundary).
    pub on_progress: Option<serde::de::IgnoredAny>,
}

/// [`UploadSpec`] checked, before any network call.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSpec {
    /// API base without trailing `/`.
    pub endpoint: String,
    /// Bearer token.
    pub token: Option<String>,
    /// Destination.
    pub target: Target,
    /// Requested part size.
    pub part_size: u64,
    /// Parts in flight.
    pub concurrency: u32,
    /// Retry policy.
    pub retry: crate::retry::RetryConfig,
    /// Upload to resume.
    pub upload_id: Option<String>,
    /// Look for a saved upload of the same file to continue.
    pub resume: bool,
    /// Stall timeout of a part attempt (0: none).
    pub stall_timeout_ms: u64,
}

impl UploadSpec {
    /// Checks the options; `file_name` is the `File`'s name (the default `name`).
    pub fn validate(self, file_name: &str) -> Result<ValidSpec, Error> {
        let endpoint = crate::validate::check_endpoint(self.endpoint.as_deref())?;
        let target = Target {
            project: self.project,
            parent: self.parent,
            name: self.name.unwrap_or_else(|| file_name.to_string()),
            overwrite: self.overwrite.unwrap_or(false),
        };
        target.validate()?;
        let part_size = self.part_size.unwrap_or(MIN_PART_SIZE);
        if !(1..=MAX_PART_SIZE).contains(&part_size) {
            return Err(Error::invalid_input(format!("`partSize` must be 1 to {MAX_PART_SIZE} bytes (got {part_size})")));
        }
        let concurrency = self.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(Error::invalid_input(format!("`concurrency` must be 1 to {MAX_CONCURRENCY} (got {concurrency})")));
        }
        if let Some(id) = &self.upload_id {
            if id.is_empty() || id.len() > 256 || !id.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
                return Err(Error::invalid_input(format!("`uploadId` {id:?} is not an upload ID")));
            }
        }
        Ok(ValidSpec {
            endpoint,
            token: self.token,
            target,
            part_size,
            concurrency,
            retry: self.retry.unwrap_or_default(),
            upload_id: self.upload_id,
            resume: crate::validate::resume_wanted(self.resume),
            stall_timeout_ms: self.stall_timeout_ms.unwrap_or(crate::validate::DEFAULT_STALL_TIMEOUT_MS),
        })
    }
}

fn request(operation: &'static str, method: Method, path: String) -> Request {
    Request { operation, method, path, query: Vec::new(), body: None, upload_id: None }
}

fn upload_path(upload_id: &str) -> String {
    format!("/upload/multipart/{}", encode(upload_id))
}

/// `POST /upload/multipart[?overwrite=true]` with `{project|parent, name, size, part_size}`.
pub fn init(target: &Target, size: u64, part_size: u64) -> Request {
    let mut body = json!({ "name": target.name, "size": size, "part_size": part_size });
    if let Some(p) = &target.project {
        body["project"] = json!(p);
    }
    if let Some(p) = &target.parent {
        body["parent"] = json!(p);
    }
    let mut r = request("InitMultipartUpload", Method::Post, "/upload/multipart".into());
    if target.overwrite {
        r.query.push(("overwrite", "true".into()));
    }
    r.body = Some(body);
    r
}

/// `GET /upload/multipart/{id}/part/{n}`: a fresh part URL (one per attempt).
pub fn part_url(upload_id: &str, part_number: u32) -> Request {
    request("GetPartUploadUrl", Method::Get, format!("{}/part/{part_number}", upload_path(upload_id)))
}

/// `GET /upload/multipart/{id}?list_parts=true`: the upload with its reported parts (resume).
pub fn details(upload_id: &str) -> Request {
    let mut r = request("GetMultipartUpload", Method::Get, upload_path(upload_id));
    r.query.push(("list_parts", "true".into()));
    r
}

/// `POST /upload/multipart/{id}/part` `{part_number, response: {headers}}`: report one part.
pub fn report_one(upload_id: &str, report: &Report) -> Request {
    let mut r = request("ReportUploadedPart", Method::Post, format!("{}/part", upload_path(upload_id)));
    r.body = Some(serde_json::to_value(report).unwrap_or(Value::Null));
    r
}

/// `POST /upload/multipart/{id}` `{parts: [...]}`: report many parts in one call.
pub fn report_many(upload_id: &str, reports: &[Report]) -> Request {
    let mut r = request("ReportUploadedParts", Method::Post, upload_path(upload_id));
    r.body = Some(json!({ "parts": reports }));
    r
}

/// The request reporting `reports`: the single form for one part, the bulk form otherwise.
pub fn report(upload_id: &str, reports: &[Report]) -> Request {
    match reports {
        [one] => report_one(upload_id, one),
        many => report_many(upload_id, many),
    }
}

/// `POST /upload/multipart/{id}/complete`.
pub fn complete(upload_id: &str) -> Request {
    request("CompleteMultipartUpload", Method::Post, format!("{}/complete", upload_path(upload_id)))
}

/// `DELETE /upload/multipart/{id}`.
pub fn abort(upload_id: &str) -> Request {
    request("AbortMultipartUpload", Method::Delete, upload_path(upload_id))
}

/// `GET /files/{id}/download_info`.
pub fn download_info(file_id: &str) -> Request {
    request("GetDownloadInfo", Method::Get, format!("/files/{}/download_info", encode(file_id)))
}

/// `GET /files?project=owner/project` (the caller adds `offset` and `limit`).
pub fn list_files(project: &str) -> Request {
    let mut r = request("ListFiles", Method::Get, "/files".into());
    r.query.push(("project", project.to_owned()));
    r
}

/// A page of `GET /files`: its items and whether a `next` link follows.
#[derive(Debug, Clone, Deserialize)]
pub struct FilePage {
    /// The files of this page.
    #[serde(default)]
    pub items: Vec<Value>,
    /// `{href, rel, method}` links; `rel: "next"` when more pages follow.
    #[serde(default)]
    pub links: Vec<Value>,
}

impl FilePage {
    /// The offset of the next page after this one (read at `offset`), when the answer links
    /// one and this page was not empty (an empty page with a `next` link would loop).
    pub fn next_offset(&self, offset: u64) -> Option<u64> {
        let linked = self.links.iter().any(|l| l.get("rel").and_then(Value::as_str) == Some("next"));
        (linked && !self.items.is_empty()).then(|| offset + self.items.len() as u64)
    }
}

/// The answer to init (fields the engine uses).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct InitResponse {
    /// The upload's ID.
    pub upload_id: String,
    /// The part size to use: every part but the last has exactly this many bytes.
    pub part_size: u64,
}

/// A part URL answer, with `success_codes` read from wherever it appears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartUrl {
    /// HTTP method of the part upload (usually `PUT`).
    pub method: String,
    /// The signed URL.
    pub url: String,
    /// When the URL stops working (ISO 8601), as sent.
    pub expires: Option<String>,
    /// Headers the upload request must carry.
    pub headers: Vec<(String, String)>,
    /// Statuses that mean success; empty: any 2xx.
    pub success_codes: Vec<u16>,
    /// Response headers to collect and report.
    pub report_headers: Vec<String>,
}

#[derive(Deserialize)]
struct RawReport {
    #[serde(default)]
    headers: Vec<String>,
    #[serde(default)]
    success_codes: Option<Vec<u16>>,
}

#[derive(Deserialize)]
struct RawPartUrl {
    #[serde(default)]
    method: Option<String>,
    url: String,
    #[serde(default)]
    expires: Option<Value>,
    #[serde(default)]
    headers: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    report: Option<RawReport>,
    #[serde(default)]
    success_codes: Option<Vec<u16>>,
}

fn protocol(operation: &'static str, message: String) -> Error {
    Error::new(ErrorKind::Protocol, message).in_operation(operation)
}

impl PartUrl {
    /// Parses a part URL answer. `success_codes` is accepted at the top level (the API table)
    /// and inside `report` (the API example); both lists are merged. `method` defaults to PUT.
    pub fn parse(body: &str) -> Result<PartUrl, Error> {
        const OP: &str = "GetPartUploadUrl";
        let raw: RawPartUrl = crate::json::from_str(body)
            .map_err(|e| protocol(OP, format!("the part URL answer cannot be read: {e}")))?;
        if !(raw.url.starts_with("https://") || raw.url.starts_with("http://")) {
            return Err(protocol(OP, format!("the part URL {:?} is not an http(s) URL", raw.url)));
        }
        let method = raw.method.unwrap_or_else(|| "PUT".into()).to_ascii_uppercase();
        if !matches!(method.as_str(), "PUT" | "POST") {
            return Err(protocol(OP, format!("the part URL asks for method {method}, which cannot carry a part")));
        }
        let mut headers = Vec::new();
        for (k, v) in raw.headers.unwrap_or_default() {
            let v = match v {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                other => return Err(protocol(OP, format!("part URL header {k} has a value that is not text: {other}"))),
            };
            headers.push((k, v));
        }
        let (report_headers, inner_codes) = match raw.report {
            Some(r) => (r.headers, r.success_codes),
            None => (Vec::new(), None),
        };
        let mut success_codes: Vec<u16> = raw.success_codes.into_iter().chain(inner_codes).flatten().collect();
        success_codes.sort_unstable();
        success_codes.dedup();
        let expires = raw.expires.map(|v| match v {
            Value::String(s) => s,
            other => other.to_string(),
        });
        Ok(PartUrl { method, url: raw.url, expires, headers, success_codes, report_headers })
    }

    /// Whether `status` counts as a successful part upload.
    pub fn is_success(&self, status: u16) -> bool {
        if self.success_codes.is_empty() {
            (200..300).contains(&status)
        } else {
            self.success_codes.contains(&status)
        }
    }

    /// Collects the `report.headers` from a successful storage answer; `header` reads one
    /// response header (`None` when absent, or hidden from a browser by CORS).
    pub fn collect(&self, header: impl Fn(&str) -> Option<String>) -> Result<BTreeMap<String, String>, Error> {
        let mut out = BTreeMap::new();
        for name in &self.report_headers {
            match header(name) {
                Some(v) => {
                    out.insert(name.clone(), v);
                }
                None => return Err(missing_report_header(name)),
            }
        }
        Ok(out)
    }
}

/// The error for a response header the storage did not let us read.
pub fn missing_report_header(name: &str) -> Error {
    Error::new(
        ErrorKind::MissingReportHeader,
        format!(
            "the storage answered the part upload without a readable `{name}` header, which must be reported to \
             Seven Bridges: the storage's CORS configuration must expose it (Access-Control-Expose-Headers: {name})"
        ),
    )
}

/// What is reported for one uploaded part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The part number, 1-based.
    pub part_number: u32,
    /// The collected response headers.
    pub response: ReportResponse,
}

/// The `response` of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReportResponse {
    /// Header name to value, as collected.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// One reported part in the upload details.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedPart {
    /// The part number.
    pub part_number: u32,
    /// Its size, when the server tells it.
    #[serde(default)]
    pub size: Option<u64>,
}

/// The upload details with `list_parts=true` (fields the engine uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UploadDetails {
    /// The upload's ID.
    pub upload_id: String,
    /// Destination project, if the server says.
    #[serde(default)]
    pub project: Option<String>,
    /// Destination file name.
    #[serde(default)]
    pub name: Option<String>,
    /// The file size the upload was started with.
    pub size: u64,
    /// The part size the upload uses.
    pub part_size: u64,
    /// Parts already reported.
    #[serde(default)]
    pub parts: Vec<ListedPart>,
}

impl UploadDetails {
    /// Checks that the upload can continue with a file of `size` bytes.
    pub fn check_resumable(&self, size: u64, name: &str) -> Result<(), Error> {
        if self.size != size {
            return Err(Error::invalid_input(format!(
                "upload {} was started for {} bytes but the file has {size}: resume it with the same file",
                self.upload_id, self.size
            )));
        }
        if let Some(n) = &self.name {
            if n != name {
                return Err(Error::invalid_input(format!(
                    "upload {} writes the file {n:?}, not {name:?}: resume it with the same name",
                    self.upload_id
                )));
            }
        }
        Ok(())
    }
}

/// Parses a JSON answer of `operation` into `T`, as a `protocol` error when it does not fit.
pub fn parse<T: for<'de> Deserialize<'de>>(operation: &'static str, body: &str) -> Result<T, Error> {
    crate::json::from_str(body).map_err(|e| protocol(operation, format!("the answer cannot be read: {e}")))
}

/// Cuts `size` bytes into parts of `part_size` (the last holds the rest; an empty file has one
/// empty part, as the API expects). Fails on a part size of 0 or more than 10,000 parts.
pub fn plan(size: u64, part_size: u64) -> Result<Vec<Part>, Error> {
    if part_size == 0 {
        return Err(Error::new(ErrorKind::Protocol, "the server returned a part_size of 0"));
    }
    let count = size.div_ceil(part_size).max(1);
    if count > MAX_PARTS {
        return Err(Error::new(
            ErrorKind::Protocol,
            format!("part_size {part_size} would cut {size} bytes into {count} parts; at most {MAX_PARTS} are allowed"),
        ));
    }
    Ok(crate::plan::cut(Source::Source1, size, part_size))
}

/// The `X-RateLimit-*` headers of an API answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Calls allowed per window.
    pub limit: Option<u64>,
    /// Calls left in the current window.
    pub remaining: u64,
    /// When the window resets, Unix seconds.
    pub reset: Option<u64>,
}

impl RateLimit {
    /// Reads the headers; `None` without a readable `X-RateLimit-Remaining`.
    pub fn parse(limit: Option<&str>, remaining: Option<&str>, reset: Option<&str>) -> Option<RateLimit> {
        let num = |v: Option<&str>| v.and_then(|s| s.trim().parse::<u64>().ok());
        Some(RateLimit { limit: num(limit), remaining: num(remaining)?, reset: num(reset) })
    }

    /// Milliseconds until the window resets, seen at `now_ms` (Unix ms); `None` if unknown.
    pub fn reset_in_ms(&self, now_ms: u64) -> Option<u64> {
        self.reset.map(|r| r.saturating_mul(1000).saturating_sub(now_ms))
    }
}

/// A storage answer that is not one of the part URL's `success_codes`, as an error, and whether
/// it says the URL expired (then a fresh URL is fetched and the part sent again at once).
/// Storage errors are S3-style XML (`<Error><Code>..</Code><Message>..</Message></Error>`).
pub fn storage_error(status: u16, body: &str, retry_after: Option<&str>) -> (Error, bool) {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find(&format!("</{name}>"))? + start;
        Some(body[start..end].trim().to_string())
    };
    let code = tag("Code");
    let text = tag("Message").unwrap_or_else(|| body.trim().chars().take(200).collect());
    let expired = status == 403 && text.to_ascii_lowercase().contains("expired");
    let mut e = Error::from_http(status, None, "", retry_after).in_operation("UploadPart");
    e.message = match &code {
        Some(c) => format!("the storage refused the part upload (HTTP {status} {c}): {text}"),
        None => format!("the storage refused the part upload (HTTP {status}): {text}"),
    };
    e.error_type = code;
    (e, expired)
}

/// Whether the reports waiting now should be sent in one call.
///
/// `pending`: reports waiting; `uploads_left`: parts not yet uploaded or in flight (0 at the
/// end: always send); `rate`: the last `X-RateLimit-*` seen. With a comfortable budget, reports
/// go in batches of [`DEFAULT_REPORT_BATCH`] so little is re-sent after a crash; with a low
/// budget they wait for [`MAX_REPORT_BATCH`].
pub fn should_send_reports(pending: usize, uploads_left: usize, rate: Option<RateLimit>) -> bool {
    if pending == 0 {
        return false;
    }
    if uploads_left == 0 || pending >= MAX_REPORT_BATCH {
        return true;
    }
    let low = rate.is_some_and(|r| r.remaining < LOW_RATE_BUDGET);
    !low && pending >= DEFAULT_REPORT_BATCH
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_pages_follow_the_next_link_and_never_loop_on_an_empty_page() {
        let r = list_files("owner/proj");
        assert_eq!(r.url("http://p/sbg/v2"), "http://p/sbg/v2/files?project=owner%2Fproj");
        let page: FilePage = parse("ListFiles", r#"{"items":[{"id":"a"},{"id":"b"}],"links":[{"rel":"next","href":"x","method":"GET"}]}"#).unwrap();
        assert_eq!(page.next_offset(100), Some(102));
        let last: FilePage = parse("ListFiles", r#"{"items":[{"id":"a"}],"links":[]}"#).unwrap();
        assert_eq!(last.next_offset(0), None);
        let empty: FilePage = parse("ListFiles", r#"{"items":[],"links":[{"rel":"next"}]}"#).unwrap();
        assert_eq!(empty.next_offset(5), None);
    }

    use super::*;

    fn target() -> Target {
        Target { project: Some("demo/readset-upload".into()), parent: None, name: "a.bam".into(), overwrite: false }
    }

    #[test]
    fn init_sends_project_name_size_and_requested_part_size_and_overwrite_as_query() {
        let r = init(&Target { overwrite: true, ..target() }, 11, 5);
        assert_eq!(r.method, Method::Post);
        assert_eq!(r.url("http://h/sbg/v2/"), "http://h/sbg/v2/upload/multipart?overwrite=true");
        assert_eq!(r.body.unwrap(), json!({"project": "demo/readset-upload", "name": "a.bam", "size": 11, "part_size": 5}));
        let p = init(&Target { project: None, parent: Some("f1".into()), ..target() }, 1, 5);
        assert_eq!(p.url("e"), "e/upload/multipart");
        assert_eq!(p.body.unwrap()["parent"], "f1");
    }

    #[test]
    fn targets_need_exactly_one_destination_and_a_plain_name() {
        assert!(target().validate().is_ok());
        let both = Target { parent: Some("x".into()), ..target() };
        assert!(both.validate().unwrap_err().message.contains("not both"));
        let none = Target { project: None, ..target() };
        assert_eq!(none.validate().unwrap_err().code(), "invalid_input");
        let bad = Target { project: Some("noslash".into()), ..target() };
        assert!(bad.validate().unwrap_err().message.contains("owner/project"));
        let name = Target { name: "a/b".into(), ..target() };
        assert!(name.validate().unwrap_err().message.contains("`name`"));
    }

    #[test]
    fn upload_calls_have_the_documented_paths() {
        assert_eq!(part_url("u 1", 3).url("e"), "e/upload/multipart/u%201/part/3");
        assert_eq!(details("u").url("e"), "e/upload/multipart/u?list_parts=true");
        assert_eq!(complete("u").url("e"), "e/upload/multipart/u/complete");
        assert_eq!(abort("u").method, Method::Delete);
        assert_eq!(download_info("f").url("e"), "e/files/f/download_info");
    }

    #[test]
    fn one_report_uses_the_single_form_and_several_the_bulk_form() {
        let rep = |n| Report {
            part_number: n,
            response: ReportResponse { headers: [("ETag".to_string(), format!("\"e{n}\""))].into() },
        };
        let one = report("u", &[rep(1)]);
        assert_eq!(one.url("e"), "e/upload/multipart/u/part");
        assert_eq!(one.body.unwrap(), json!({"part_number": 1, "response": {"headers": {"ETag": "\"e1\""}}}));
        let many = report("u", &[rep(1), rep(2)]);
        assert_eq!(many.url("e"), "e/upload/multipart/u");
        assert_eq!(many.body.unwrap()["parts"][1]["response"]["headers"]["ETag"], "\"e2\"");
    }

    #[test]
    fn success_codes_are_read_at_the_top_level_and_inside_report() {
        let top = PartUrl::parse(r#"{"method":"PUT","url":"https://s/p","expires":"2030-01-01T00:00:00Z","headers":{},"success_codes":[201],"report":{"headers":["ETag"]}}"#).unwrap();
        assert_eq!(top.success_codes, vec![201]);
        assert!(top.is_success(201) && !top.is_success(200));
        let inner = PartUrl::parse(r#"{"method":"PUT","url":"https://s/p","headers":{},"report":{"success_codes":[200],"headers":["ETag"]}}"#).unwrap();
        assert_eq!(inner.success_codes, vec![200]);
        assert!(!inner.is_success(204));
        let both = PartUrl::parse(r#"{"url":"http://s/p","success_codes":[200],"report":{"success_codes":[200,204]}}"#).unwrap();
        assert_eq!(both.success_codes, vec![200, 204]);
        let none = PartUrl::parse(r#"{"url":"http://s/p"}"#).unwrap();
        assert!(none.is_success(204) && !none.is_success(301), "no list: any 2xx");
    }

    #[test]
    fn part_url_keeps_method_headers_and_report_headers() {
        let u = PartUrl::parse(r#"{"method":"put","url":"http://s/p?sig=1","expires":"x","headers":{"x-local-part-token":"abc","x-n":5},"report":{"headers":["ETag","x-extra"]}}"#).unwrap();
        assert_eq!(u.method, "PUT");
        assert_eq!(u.headers, vec![("x-local-part-token".into(), "abc".into()), ("x-n".into(), "5".into())]);
        assert_eq!(u.report_headers, vec!["ETag".to_string(), "x-extra".to_string()]);
        assert_eq!(u.expires.as_deref(), Some("x"));
    }

    #[test]
    fn malformed_part_urls_are_protocol_errors() {
        for body in [r#"{"method":"PUT"}"#, r#"{"url":"ftp://x"}"#, r#"{"url":"http://x","method":"GET"}"#, "nope"] {
            let e = PartUrl::parse(body).unwrap_err();
            assert_eq!(e.code(), "protocol", "{body}");
            assert_eq!(e.operation, Some("GetPartUploadUrl"));
        }
    }

    #[test]
    fn a_report_header_the_browser_cannot_read_is_a_clear_error_naming_it_and_the_fix() {
        let u = PartUrl::parse(r#"{"url":"http://s","report":{"headers":["ETag"]}}"#).unwrap();
        let got = u.collect(|h| (h == "ETag").then(|| "\"abc\"".to_string())).unwrap();
        assert_eq!(got.get("ETag").map(String::as_str), Some("\"abc\""));
        let e = u.collect(|_| None).unwrap_err();
        assert_eq!(e.code(), "missing_report_header");
        assert!(e.message.contains("`ETag`") && e.message.contains("Access-Control-Expose-Headers: ETag"), "{}", e.message);
        assert!(!e.retryable());
    }

    #[test]
    fn plan_uses_the_server_part_size_and_gives_an_empty_file_one_part() {
        let p = plan(11, 5).unwrap();
        assert_eq!(p.iter().map(|p| (p.number, p.start, p.end)).collect::<Vec<_>>(), vec![(1, 0, 5), (2, 5, 10), (3, 10, 11)]);
        assert_eq!(plan(10, 5).unwrap().len(), 2);
        assert_eq!(plan(0, 5).unwrap().iter().map(|p| p.len()).collect::<Vec<_>>(), vec![0]);
        assert_eq!(plan(1, 0).unwrap_err().code(), "protocol");
        assert!(plan(10_001, 1).unwrap_err().message.contains("10001 parts"));
    }

    #[test]
    fn details_list_reported_parts_and_refuse_another_file() {
        let d: UploadDetails = parse(
            "GetMultipartUpload",
            r#"{"upload_id":"u","project":"a/b","name":"x.bam","size":11,"part_size":5,"parts":[{"part_number":2,"size":5,"response":{"headers":{"ETag":"e"}}}]}"#,
        )
        .unwrap();
        assert_eq!(d.parts, vec![ListedPart { part_number: 2, size: Some(5) }]);
        assert!(d.check_resumable(11, "x.bam").is_ok());
        assert!(d.check_resumable(12, "x.bam").unwrap_err().message.contains("11 bytes"));
        assert!(d.check_resumable(11, "y.bam").unwrap_err().message.contains("same name"));
        assert_eq!(parse::<UploadDetails>("GetMultipartUpload", "{}").unwrap_err().code(), "protocol");
    }

    #[test]
    fn rate_limit_headers_are_read_and_give_the_wait_until_reset() {
        let r = RateLimit::parse(Some("1000"), Some(" 998 "), Some("1700000300")).unwrap();
        assert_eq!(r, RateLimit { limit: Some(1000), remaining: 998, reset: Some(1_700_000_300) });
        assert_eq!(r.reset_in_ms(1_700_000_000_000), Some(300_000));
        assert_eq!(r.reset_in_ms(1_800_000_000_000), Some(0));
        assert_eq!(RateLimit::parse(Some("1000"), None, None), None);
        assert_eq!(RateLimit::parse(None, Some("x"), None), None);
    }

    #[test]
    fn reports_are_batched_more_when_the_rate_budget_is_low_and_always_sent_at_the_end() {
        let plenty = RateLimit::parse(None, Some("900"), None);
        let low = RateLimit::parse(None, Some("50"), None);
        assert!(!should_send_reports(0, 0, None), "nothing to send");
        assert!(should_send_reports(1, 0, low), "the end flushes whatever waits");
        assert!(!should_send_reports(DEFAULT_REPORT_BATCH - 1, 5, plenty));
        assert!(should_send_reports(DEFAULT_REPORT_BATCH, 5, plenty));
        assert!(should_send_reports(DEFAULT_REPORT_BATCH, 5, None));
        assert!(!should_send_reports(DEFAULT_REPORT_BATCH, 5, low), "low budget: wait for a bigger batch");
        assert!(should_send_reports(MAX_REPORT_BATCH, 5, low));
    }

    #[test]
    fn storage_errors_keep_the_xml_code_and_tell_an_expired_url_apart() {
        let (e, expired) = storage_error(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", None);
        assert!(expired);
        assert_eq!((e.code(), e.status, e.error_type.as_deref()), ("forbidden", Some(403), Some("AccessDenied")));
        assert!(e.message.contains("Request has expired"), "{}", e.message);
        let (forged, expired) = storage_error(403, "<Error><Code>SignatureDoesNotMatch</Code><Message>bad signature</Message></Error>", None);
        assert!(!expired && !forged.retryable());
        let (server, _) = storage_error(503, "busy", None);
        assert!(server.retryable() && server.message.contains("busy"));
        let (slow, _) = storage_error(429, "<Error><Code>SlowDown</Code></Error>", Some("2"));
        assert_eq!((slow.code(), slow.retry_after_ms), ("throttled", Some(2000)), "the storage's Retry-After is kept");
    }

    #[test]
    fn options_default_the_name_to_the_file_and_refuse_bad_values_by_name() {
        let spec: UploadSpec = serde_json::from_str(r#"{"endpoint":"http://p/sbg/v2/","project":"a/b","file":{}}"#).unwrap();
        let v = spec.validate("r.bam").unwrap();
        assert_eq!((v.endpoint.as_str(), v.target.name.as_str(), v.part_size, v.concurrency), ("http://p/sbg/v2", "r.bam", MIN_PART_SIZE, 4));
        let bad = |json: &str| {
            let s: UploadSpec = serde_json::from_str(json).unwrap();
            s.validate("f").unwrap_err().message
        };
        assert!(bad(r#"{"project":"a/b"}"#).contains("`endpoint`"));
        assert!(bad(r#"{"endpoint":"ftp://x","project":"a/b"}"#).contains("http://"));
        assert!(bad(r#"{"endpoint":"http://x","project":"a/b","concurrency":0}"#).contains("`concurrency`"));
        assert!(bad(r#"{"endpoint":"http://x","project":"a/b","partSize":0}"#).contains("`partSize`"));
        assert!(bad(r#"{"endpoint":"http://x","project":"a/b","uploadId":"a/b"}"#).contains("`uploadId`"));
        assert!(serde_json::from_str::<UploadSpec>(r#"{"projekt":"a/b"}"#).is_err(), "misspelt options are refused");
    }
}
