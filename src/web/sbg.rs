//! The Seven Bridges upload engine (browser side): init or resume, send parts to fresh signed
//! part URLs in parallel, report them in batches, complete.
//!
//! Every attempt at a part first fetches a new part URL (they expire within minutes and work
//! once), then sends the `Blob` slice with the URL's `method` and `headers`, checks the status
//! against its `success_codes` and reads the `report.headers` from the answer. An expired URL is
//! replaced and the part sent again at once, on a budget of its own; other failures follow the
//! retry policy. Reports wait and go out together (see [`crate::sbg::should_send_reports`]);
//! only reported parts count on resume, which trusts the server's list.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

use futures::stream::{self, StreamExt};
use serde::Serialize;
use web_sys::Blob;

use super::client::Client;
use super::control::Control;
use super::http::{self, Body};
use super::progress::{PartState, Phase, Progress};
use super::timer::{now_ms, sleep};
use crate::error::{Error, ErrorKind, PartRef};
use crate::omics::Request;
use crate::plan::Part;
use crate::sbg::{self, InitResponse, PartUrl, RateLimit, Report, ReportResponse, UploadDetails, ValidSpec};

/// The rate-limit headers read from every API answer.
fn rate_headers() -> Vec<String> {
    ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"].map(String::from).to_vec()
}

/// What `start()` resolves with.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SbgUploadResult {
    /// The new file's ID.
    pub file_id: String,
    /// The multipart upload that created it.
    pub upload_id: String,
    /// The part size the server chose.
    pub part_size: u64,
    /// Number of parts.
    pub parts: usize,
    /// Parts found already reported on resume (not sent again).
    pub parts_skipped: usize,
    /// Bytes of the file.
    pub bytes: u64,
    /// API calls made (each counts against the rate limit).
    pub api_calls: u32,
    /// The last `X-RateLimit-Remaining` seen, if the answers carried it.
    pub rate_limit_remaining: Option<u64>,
    /// The file as the completion answered it, unchanged.
    pub file: serde_json::Value,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbgStage {
    /// `start()` not called yet.
    Idle,
    /// Init, parts, reports.
    Running,
    /// Completion sent: abort has no server effect any more.
    Completing,
    /// Ended (success or error).
    Finished,
}

/// One Seven Bridges upload, shared (`Rc`) between the JS handle and the running future.
pub struct SbgEngine {
    spec: ValidSpec,
    file: Blob,
    size: u64,
    client: Client,
    /// Pause / resume / abort.
    pub control: Control,
    /// Progress counters and the JS callback.
    pub progress: Progress,
    upload_id: RefCell<Option<String>>,
    rate: Cell<Option<RateLimit>>,
    api_calls: Cell<u32>,
    pending: RefCell<Vec<Report>>,
    stage: Cell<SbgStage>,
    server_aborted: Cell<bool>,
    completion_sent: Cell<bool>,
}

impl SbgEngine {
    /// An engine for `file` (`size` bytes) with checked `spec`.
    pub fn new(spec: ValidSpec, file: Blob, size: u64, progress: Progress) -> Self {
        // The client is reused for its endpoint, token and backoff; it addresses no store.
        let client = Client::new(spec.endpoint.clone(), spec.token.clone(), String::new(), spec.retry.clone());
        let upload_id = RefCell::new(spec.upload_id.clone());
        SbgEngine {
            spec,
            file,
            size,
            client,
            control: Control::default(),
            progress,
            upload_id,
            rate: Cell::new(None),
            api_calls: Cell::new(0),
            pending: RefCell::new(Vec::new()),
            stage: Cell::new(SbgStage::Idle),
            server_aborted: Cell::new(false),
            completion_sent: Cell::new(false),
        }
    }

    /// The upload ID, once known.
    pub fn upload_id(&self) -> Option<String> {
        self.upload_id.borrow().clone()
    }

    /// Where the run is.
    pub fn stage(&self) -> SbgStage {
        self.stage.get()
    }

    /// Runs the whole upload. Errors after init carry the upload ID (keep it to resume).
    pub async fn run(self: Rc<Self>) -> Result<SbgUploadResult, Error> {
        self.stage.set(SbgStage::Running);
        let result = self.clone().run_inner().await;
        self.stage.set(SbgStage::Finished);
        result.map_err(|mut e| {
            if e.upload_id.is_none() {
                e.upload_id = self.upload_id();
            }
            e
        })
    }

    async fn run_inner(self: Rc<Self>) -> Result<SbgUploadResult, Error> {
        self.progress.phase(Phase::Preparing);
        let (upload_id, part_size, done) = self.init_or_resume().await?;
        let parts = sbg::plan(self.size, part_size)?;
        self.progress.parts_total(parts.len());
        let mut todo = Vec::new();
        for part in &parts {
            if done.contains(&part.number) {
                self.progress.part(part, PartState::Skipped);
            } else {
                todo.push(*part);
            }
        }
        let skipped = parts.len() - todo.len();
        self.progress.phase(Phase::Uploading);
        let mut left = todo.len();
        let concurrency = self.spec.concurrency.max(1) as usize;
        let mut uploads = stream::iter(todo.into_iter().map(|part| {
            let engine = self.clone();
            let id = upload_id.clone();
            async move { engine.send_part(&id, part).await }
        }))
        .buffer_unordered(concurrency);
        let mut failure = None;
        while let Some(outcome) = uploads.next().await {
            left -= 1;
            match outcome {
                Ok(report) => {
                    self.pending.borrow_mut().push(report);
                    let waiting = self.pending.borrow().len();
                    if sbg::should_send_reports(waiting, left, self.rate.get()) {
                        if let Err(e) = self.send_reports(&upload_id).await {
                            failure = Some(e);
                            break;
                        }
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(uploads);
        if let Some(e) = failure {
            // Parts that made it are reported, so a resume does not send them again.
            if !self.control.is_aborted() {
                let _ = self.send_reports(&upload_id).await;
            }
            return Err(e);
        }
        self.send_reports(&upload_id).await?;

        self.control.wait_running().await?;
        self.progress.phase(Phase::Completing);
        self.stage.set(SbgStage::Completing);
        self.completion_sent.set(true);
        let body = self.api(&self.control, &sbg::complete(&upload_id)).await?;
        let file: serde_json::Value = sbg::parse("CompleteMultipartUpload", &body)?;
        let file_id = file.get("id").and_then(|v| v.as_str()).map(str::to_owned).ok_or_else(|| {
            Error::new(ErrorKind::Protocol, "the completion answer has no file `id`").in_operation("CompleteMultipartUpload")
        })?;
        self.progress.phase(Phase::Done);
        Ok(SbgUploadResult {
            file_id,
            upload_id,
            part_size,
            parts: parts.len(),
            parts_skipped: skipped,
            bytes: self.size,
            api_calls: self.api_calls.get(),
            rate_limit_remaining: self.rate.get().map(|r| r.remaining),
            file,
        })
    }

    /// Init (with the requested part size), or resume: the upload's details with its reported
    /// parts. Returns the upload ID, the part size to use and the parts already reported.
    async fn init_or_resume(&self) -> Result<(String, u64, BTreeSet<u32>), Error> {
        if let Some(id) = self.upload_id() {
            self.progress.upload_id(&id);
            let body = self.api(&self.control, &sbg::details(&id)).await?;
            let details: UploadDetails = sbg::parse("GetMultipartUpload", &body)?;
            details.check_resumable(self.size, &self.spec.target.name)?;
            let plan = sbg::plan(self.size, details.part_size)?;
            let mut done = BTreeSet::new();
            for p in details.parts {
                let planned = plan.get((p.part_number as usize).wrapping_sub(1)).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Protocol,
                        format!("upload {id} lists part {} but the file has {} parts", p.part_number, plan.len()),
                    )
                })?;
                // A part listed with another size is not trusted: it is sent again.
                if p.size.is_none_or(|s| s == planned.len()) {
                    done.insert(p.part_number);
                }
            }
            return Ok((id, details.part_size, done));
        }
        let req = sbg::init(&self.spec.target, self.size, self.spec.part_size);
        let body = self.api(&self.control, &req).await?;
        let init: InitResponse = sbg::parse(req.operation, &body)?;
        *self.upload_id.borrow_mut() = Some(init.upload_id.clone());
        self.progress.upload_id(&init.upload_id);
        if self.control.is_aborted() {
            let _ = self.abort_on_server().await;
            return Err(Error::aborted());
        }
        Ok((init.upload_id, init.part_size, BTreeSet::new()))
    }

    /// Sends the waiting reports in one call (single or bulk form), retrying per the policy.
    async fn send_reports(&self, upload_id: &str) -> Result<(), Error> {
        let batch: Vec<Report> = self.pending.borrow().clone();
        if batch.is_empty() {
            return Ok(());
        }
        // Reports must go out even while paused or after a failure; only abort stops them.
        let fresh = Control::default();
        let control = if self.control.is_aborted() { &self.control } else { &fresh };
        self.api(control, &sbg::report(upload_id, &batch)).await?;
        self.pending.borrow_mut().drain(..batch.len());
        Ok(())
    }

    /// One attempt loop for a part: fresh URL, send, check, collect the report headers.
    async fn send_part(self: Rc<Self>, upload_id: &str, part: Part) -> Result<Report, Error> {
        let pref = PartRef { source: part.source, number: part.number };
        let slice = self
            .file
            .slice_with_f64_and_f64(part.start as f64, part.end as f64)
            .map_err(|e| Error::invalid_input(format!("cannot slice the file: {e:?}")))?;
        let mut backoff = self.client.backoff();
        let mut expired_left = self.client.retry.max_attempts.max(1);
        loop {
            self.control.wait_running().await.map_err(|e| e.for_part(pref))?;
            let outcome = self.attempt(upload_id, &part, &slice).await.map_err(|(e, expired)| (e.for_part(pref), expired));
            let outcome = match outcome {
                Ok(report) => Ok(report),
                Err((e, _)) if e.kind == ErrorKind::Aborted => {
                    if self.control.is_aborted() {
                        return Err(Error::aborted().for_part(pref));
                    }
                    // Paused: the attempt was cut short on purpose and does not count.
                    self.progress.part(&part, PartState::Retrying);
                    continue;
                }
                Err((_, true)) if expired_left > 1 => {
                    // The URL expired before it was used: a fresh one, at once.
                    expired_left -= 1;
                    self.progress.part(&part, PartState::Retrying);
                    continue;
                }
                Err((e, _)) => Err(e),
            };
            match backoff.next_delay(&outcome) {
                None => {
                    return match outcome {
                        Ok(report) => {
                            self.progress.part(&part, PartState::Done);
                            Ok(report)
                        }
                        Err(e) => {
                            self.progress.part(&part, PartState::Failed);
                            Err(e)
                        }
                    }
                }
                Some(ms) => {
                    self.progress.part(&part, PartState::Retrying);
                    self.control.unless_aborted(sleep(ms)).await.map_err(|e| e.for_part(pref))?;
                }
            }
        }
    }

    /// Fetches a part URL and sends the part to it once. The flag says whether the storage
    /// refused the URL as expired.
    async fn attempt(self: &Rc<Self>, upload_id: &str, part: &Part, slice: &Blob) -> Result<Report, (Error, bool)> {
        let body = self.api(&self.control, &sbg::part_url(upload_id, part.number)).await.map_err(|e| (e, false))?;
        let url = PartUrl::parse(&body).map_err(|e| (e, false))?;
        self.progress.part(part, PartState::Uploading);
        let engine = self.clone();
        let p = *part;
        let on_progress = Box::new(move |sent: f64| engine.progress.part_bytes(&p, sent as u64));
        let (response, values) = http::send_with_headers(
            &self.control,
            &url.method,
            &url.url,
            None,
            &url.headers,
            Body::Blob(slice),
            true,
            Some(on_progress),
            &url.report_headers,
        )
        .await
        .map_err(|e| (e.in_operation("UploadPart"), false))?;
        if !url.is_success(response.status) {
            return Err(sbg::storage_error(response.status, &response.body));
        }
        let headers = url
            .collect(|name| {
                let i = url.report_headers.iter().position(|h| h == name)?;
                values.get(i).cloned().flatten()
            })
            .map_err(|e| (e.in_operation("UploadPart"), false))?;
        Ok(Report { part_number: part.number, response: ReportResponse { headers } })
    }

    /// One API call with retries; 429 waits until the rate window resets when the server says
    /// when. Records the `X-RateLimit-*` headers.
    async fn api(&self, control: &Control, req: &Request) -> Result<String, Error> {
        let mut backoff = self.client.backoff();
        loop {
            let outcome = self.api_once(control, req).await;
            if control.is_aborted() {
                return Err(Error::aborted());
            }
            match backoff.next_delay(&outcome) {
                None => return outcome,
                Some(ms) => control.unless_aborted(sleep(ms)).await?,
            }
        }
    }

    async fn api_once(&self, control: &Control, req: &Request) -> Result<String, Error> {
        let body = match req.body_text() {
            Some(t) => Body::Json(t),
            None => Body::Empty,
        };
        let url = req.url(&self.client.endpoint);
        self.api_calls.set(self.api_calls.get() + 1);
        let (r, v) = http::send_with_headers(
            control,
            req.method.as_str(),
            &url,
            self.client.token.as_deref(),
            &[],
            body,
            false,
            None,
            &rate_headers(),
        )
        .await
        .map_err(|e| e.in_operation(req.operation))?;
        if let Some(rate) = RateLimit::parse(v[0].as_deref(), v[1].as_deref(), v[2].as_deref()) {
            self.rate.set(Some(rate));
        }
        if (200..300).contains(&r.status) {
            return Ok(r.body);
        }
        let mut e = Error::from_http(r.status, r.error_type.as_deref(), &r.body, r.retry_after.as_deref()).in_operation(req.operation);
        if e.kind == ErrorKind::Throttled && e.retry_after_ms.is_none() {
            e.retry_after_ms = self.rate.get().and_then(|rate| rate.reset_in_ms(now_ms() as u64));
        }
        Err(e)
    }

    /// Aborts the upload on the server (`DELETE`), once, unless completion began.
    pub async fn abort_on_server(&self) -> Result<(), Error> {
        if self.completion_sent.get() {
            return Ok(());
        }
        let Some(id) = self.upload_id() else { return Ok(()) };
        if self.server_aborted.replace(true) {
            return Ok(());
        }
        let fresh = Control::default();
        self.api(&fresh, &sbg::abort(&id)).await.map(|_| ())
    }
}
