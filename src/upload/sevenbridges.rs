//! The Seven Bridges target: init (or the upload's reported parts on resume), a fresh signed
//! part URL for every attempt, the storage's answer judged by the URL's `success_codes` and
//! `report.headers`, confirmed parts reported in batches, then complete.
//!
//! An expired URL is replaced and the part sent again at once, on a budget of its own; other
//! failures follow the retry policy. Reports wait and go out together (see
//! [`crate::sbg::should_send_reports`]); only reported parts count on resume, which trusts the
//! server's list.

use std::cell::{Cell, RefCell};

use serde::Serialize;

use super::call::Api;
use super::control::Control;
use super::driver::{Confirmations, Opened, Refused, Target};
use super::io::{Body, HttpRequest, HttpResponse, Io, Phase, Saved};
use super::queue::Priority;
use crate::error::{Error, ErrorKind};
use crate::omics::Request;
use crate::plan::Part;
use crate::sbg::{self, InitResponse, PartUrl, RateLimit, Report, ReportResponse, UploadDetails, ValidSpec};

/// The rate-limit headers read from every API answer.
const RATE_HEADERS: [&str; 3] = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"];

/// What a Seven Bridges upload resolves with.
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

/// One file uploaded into a Seven Bridges project (or folder).
pub struct SevenBridges {
    /// The checked options.
    pub spec: ValidSpec,
    size: u64,
    part_size: Cell<u64>,
    skipped: Cell<usize>,
    rate: Cell<Option<RateLimit>>,
    api_calls: Cell<u32>,
    pending: RefCell<Vec<Report>>,
}

impl SevenBridges {
    /// The target for a file of `size` bytes.
    pub fn new(spec: ValidSpec, size: u64) -> Self {
        SevenBridges {
            part_size: Cell::new(spec.part_size),
            spec,
            size,
            skipped: Cell::new(0),
            rate: Cell::new(None),
            api_calls: Cell::new(0),
            pending: RefCell::new(Vec::new()),
        }
    }

    /// API calls made so far.
    pub fn api_calls(&self) -> u32 {
        self.api_calls.get()
    }

    /// One API attempt: counts it, reads the rate-limit headers; a 429 without `Retry-After`
    /// waits until the rate window resets when the server says when.
    async fn once<I: Io>(&self, api: &Api<'_, I>, req: &Request, priority: Priority) -> Result<String, Error> {
        let mut http = HttpRequest::api(&self.spec.endpoint, self.spec.token.as_deref(), req);
        http.read_headers = RATE_HEADERS.map(String::from).to_vec();
        self.api_calls.set(self.api_calls.get() + 1);
        let r = api.exchange(&http, priority).await?;
        let h = |i: usize| r.headers.get(i).cloned().flatten();
        if let Some(rate) = RateLimit::parse(h(0).as_deref(), h(1).as_deref(), h(2).as_deref()) {
            self.rate.set(Some(rate));
        }
        if r.is_ok() {
            return Ok(r.body);
        }
        let mut e = r.error(req.operation);
        if e.kind == ErrorKind::Throttled && e.retry_after_ms.is_none() {
            e.retry_after_ms = self.rate.get().and_then(|rate| rate.reset_in_ms(api.io.now_ms() as u64));
        }
        Err(e)
    }

    async fn call<I: Io>(&self, api: &Api<'_, I>, req: &Request, priority: Priority) -> Result<String, Error> {
        api.retrying(|| self.once(api, req, priority)).await
    }

    /// Sends the waiting reports in one call (single or bulk form). The batch leaves the
    /// waiting list while it is sent (so batches sent at once never overlap) and goes back to
    /// it when the call fails.
    async fn send_reports<I: Io>(&self, api: &Api<'_, I>, upload_id: &str) -> Result<(), Error> {
        let batch: Vec<Report> = std::mem::take(&mut *self.pending.borrow_mut());
        if batch.is_empty() {
            return Ok(());
        }
        let sent = self.call(api, &sbg::report(upload_id, &batch), Priority::Part).await;
        if sent.is_err() {
            self.pending.borrow_mut().extend(batch);
        }
        sent.map(|_| ())
    }
}

impl Target for SevenBridges {
    type Confirmation = Report;
    type Attempt = PartUrl;
    type Output = SbgUploadResult;

    async fn prepare<I: Io>(&self, _api: &Api<'_, I>) -> Result<(), Error> {
        Ok(())
    }

    async fn open<I: Io>(&self, api: &Api<'_, I>, resume: Option<&Saved>) -> Result<Opened<Report>, Error> {
        if let Some(r) = resume {
            let id = &r.upload_id;
            let body = self.call(api, &sbg::details(id), Priority::Create).await?;
            let details: UploadDetails = sbg::parse("GetMultipartUpload", &body)?;
            details.check_resumable(self.size, &self.spec.target.name)?;
            let parts = sbg::plan(self.size, details.part_size)?;
            let mut listed = Confirmations::new();
            for p in details.parts {
                let planned = parts.get((p.part_number as usize).wrapping_sub(1)).ok_or_else(|| {
                    Error::new(ErrorKind::Protocol, format!("upload {id} lists part {} but the file has {} parts", p.part_number, parts.len()))
                })?;
                // A part listed with another size is not trusted: it is sent again.
                if p.size.is_none_or(|s| s == planned.len()) {
                    listed.insert((planned.source, p.part_number), Report { part_number: p.part_number, response: ReportResponse::default() });
                }
            }
            self.part_size.set(details.part_size);
            self.skipped.set(listed.len());
            return Ok(Opened { upload_id: id.clone(), parts, listed });
        }
        let req = sbg::init(&self.spec.target, self.size, self.spec.part_size);
        let body = self.call(api, &req, Priority::Create).await?;
        let init: InitResponse = sbg::parse(req.operation, &body)?;
        self.part_size.set(init.part_size);
        let parts = sbg::plan(self.size, init.part_size)?;
        Ok(Opened { upload_id: init.upload_id, parts, listed: Confirmations::new() })
    }

    fn saved(&self, upload_id: &str) -> Saved {
        Saved { upload_id: upload_id.to_owned(), grant: None }
    }

    fn checks_sha256(&self, _report: &Report) -> bool {
        // The storage's ETag is opaque: a hash nothing checks would only cost CPU.
        false
    }

    fn check_sha256(&self, _part: &Part, _report: &Report, _sha256: &str) -> Result<(), Error> {
        Ok(())
    }

    async fn part_request<I: Io>(&self, api: &Api<'_, I>, upload_id: &str, part: &Part) -> Result<(HttpRequest, PartUrl), Error> {
        let body = self.call(api, &sbg::part_url(upload_id, part.number), Priority::Part).await?;
        let url = PartUrl::parse(&body)?;
        let http = HttpRequest {
            operation: "UploadPart",
            method: url.method.clone(),
            url: url.url.clone(),
            bearer: None,
            headers: url.headers.clone(),
            body: Body::Part(*part),
            read_headers: url.report_headers.clone(),
        };
        Ok((http, url))
    }

    fn judge(&self, part: &Part, url: &PartUrl, response: HttpResponse) -> Result<Report, Refused> {
        if !url.is_success(response.status) {
            let (error, renew_now) = sbg::storage_error(response.status, &response.body, response.retry_after.as_deref());
            return Err(Refused { error, renew_now });
        }
        let headers = url
            .collect(|name| {
                let i = url.report_headers.iter().position(|h| h == name)?;
                response.headers.get(i).cloned().flatten()
            })
            .map_err(|e| e.in_operation("UploadPart"))?;
        Ok(Report { part_number: part.number, response: ReportResponse { headers } })
    }

    async fn confirmed<I: Io>(&self, api: &Api<'_, I>, upload_id: &str, _part: &Part, report: &Report, left: usize) -> Result<(), Error> {
        self.pending.borrow_mut().push(report.clone());
        let waiting = self.pending.borrow().len();
        if sbg::should_send_reports(waiting, left, self.rate.get()) {
            self.send_reports(api, upload_id).await?;
        }
        Ok(())
    }

    async fn salvage<I: Io>(&self, api: &Api<'_, I>, upload_id: &str) {
        let _ = self.send_reports(api, upload_id).await;
    }

    async fn alongside<I: Io>(&self, _api: &Api<'_, I>) -> Result<(), Error> {
        Ok(())
    }

    async fn finish<I: Io>(&self, api: &Api<'_, I>, _control: &Control, upload_id: &str, parts: &[Part], confirmed: &Confirmations<Report>) -> Result<SbgUploadResult, Error> {
        if confirmed.len() != parts.len() {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!("cannot complete: {} of {} parts confirmed", confirmed.len(), parts.len()),
            ));
        }
        self.send_reports(api, upload_id).await?;
        let body = self.call(api, &sbg::complete(upload_id), Priority::Complete).await?;
        let file: serde_json::Value = sbg::parse("CompleteMultipartUpload", &body)?;
        let file_id = file.get("id").and_then(|v| v.as_str()).map(str::to_owned).ok_or_else(|| {
            Error::new(ErrorKind::Protocol, "the completion answer has no file `id`").in_operation("CompleteMultipartUpload")
        })?;
        api.io.forget(upload_id).await;
        api.io.phase(Phase::Done);
        Ok(SbgUploadResult {
            file_id,
            upload_id: upload_id.to_owned(),
            part_size: self.part_size.get(),
            parts: parts.len(),
            parts_skipped: self.skipped.get(),
            bytes: self.size,
            api_calls: self.api_calls.get(),
            rate_limit_remaining: self.rate.get().map(|r| r.remaining),
            file,
        })
    }

    async fn abort<I: Io>(&self, api: &Api<'_, I>, upload_id: &str) -> Result<(), Error> {
        self.call(api, &sbg::abort(upload_id), Priority::Complete).await.map(|_| ())
    }
}
